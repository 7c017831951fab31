/*
 * Model: metering points (spec/metering.md sections 3 and 4) with exact
 * numbers.
 */
#include "test_model_util.h"

enum { G = 3, F = 4, B = 100, K = 3 };

/* Writes G groups of F frames of B bytes, each frame in two chunks. */
static void write_traffic(moqc_track_producer *tp) {
  uint8_t data[B];
  for (int g = 0; g < G; g++) {
    moqc_group_producer *gp;
    assert_int_equal(moqc_track_producer_append_group(tp, 0, &gp), 0);
    for (int f = 0; f < F; f++) {
      moqc_frame_producer *fp;
      memset(data, g * F + f, sizeof(data));
      assert_int_equal(moqc_group_producer_create_frame(gp, B, 0, &fp), 0);
      assert_int_equal(moqc_frame_producer_write(fp, data, B / 2), 0);
      assert_int_equal(moqc_frame_producer_write(fp, data + B / 2, B - B / 2),
                       0);
      assert_int_equal(moqc_frame_producer_finish(fp), 0);
      moqc_frame_producer_del(fp);
    }
    assert_int_equal(moqc_group_producer_finish(gp), 0);
    moqc_group_producer_del(gp);
  }
}

/* Reads a whole group chunk by chunk; returns the bytes read. */
static uint64_t read_group(moqc_group_consumer *gc) {
  moqc_frame_consumer *fc;
  uint64_t total = 0;
  while (moqc_group_consumer_next_frame(gc, &fc, NULL) == 0) {
    moqc_rcbuf *buf;
    size_t off, len;
    while (moqc_frame_consumer_read_chunk(fc, &buf, &off, &len, NULL) == 0) {
      total += len;
      moqc_rcbuf_decref(buf);
    }
    moqc_frame_consumer_del(fc);
  }
  return total;
}

static void test_metering_known_traffic(void **state) {
  tm_scope ing, eg;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *plain, *bc[K];
  moqc_track_producer *tp;
  moqc_track_consumer *tc[K];
  moqc_track_subscriber *ts[K];
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&ing, "live/a");
  tm_scope_init(&eg, "live/a");
  assert_int_equal(moqc_broadcast_new(&bp, &ing.base, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &plain), 0);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts,
                   0); /* no track producer yet: no live publisher */
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "video", NULL, &tp),
                   0);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(c.subscriptions, 1);
  for (int k = 0; k < K; k++) {
    assert_int_equal(
        moqc_broadcast_consumer_with_usage(plain, &eg.base, &bc[k]), 0);
    assert_ptr_equal(moqc_broadcast_consumer_usage(bc[k]), &eg.base);
    assert_int_equal(moqc_broadcast_consumer_track(bc[k], "video", &tc[k]), 0);
    assert_int_equal(moqc_track_consumer_subscribe(tc[k], NULL, &ts[k], NULL),
                     0);
  }
  assert_int_equal(atomic_load(&eg.viewer_open), K);
  write_traffic(tp);
  for (int k = 0; k < K; k++) {
    moqc_group_consumer *gc;
    uint64_t bytes = 0;
    int groups = 0;
    while (moqc_track_subscriber_next_group(ts[k], &gc, NULL) == 0) {
      bytes += read_group(gc);
      groups++;
      moqc_group_consumer_del(gc);
    }
    assert_int_equal(groups, G);
    assert_int_equal(bytes, G * F * B);
  }
  c = tm_read(&ing);
  assert_int_equal(c.groups, G);
  assert_int_equal(c.frames, G * F);
  assert_int_equal(c.bytes, G * F * B);
  assert_int_equal(c.fetches, 0);
  assert_int_equal(c.datagrams, 0);
  c = tm_read(&eg);
  assert_int_equal(c.groups, K * G);
  assert_int_equal(c.frames, K * G * F);
  assert_int_equal(c.bytes, K * G * F * B);
  assert_int_equal(c.subscriptions, K);
  assert_int_equal(c.subscriptions_closed, 0);
  assert_int_equal(c.broadcasts,
                   0); /* viewers are the scope's business, via viewer_open */
  for (int k = 0; k < K; k++) {
    moqc_track_subscriber_del(ts[k]);
    moqc_track_consumer_del(tc[k]);
    moqc_broadcast_consumer_del(bc[k]);
  }
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions_closed, K);
  assert_int_equal(atomic_load(&eg.viewer_close), K);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts_closed, 0);
  moqc_track_producer_del(tp);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(c.broadcasts_closed, 1);
  assert_int_equal(c.subscriptions, 1);
  assert_int_equal(c.subscriptions_closed, 1);
  moqc_broadcast_consumer_del(plain);
  moqc_broadcast_producer_del(bp);
  tm_scope_free(&ing);
  tm_scope_free(&eg);
}

static void test_metering_fetch(void **state) {
  tm_scope eg;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *plain, *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_group_consumer *gc, *clone;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&eg, "x");
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &plain), 0);
  assert_int_equal(moqc_broadcast_consumer_with_usage(plain, &eg.base, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  write_traffic(tp);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 1, &gc, NULL), 0);
  assert_int_equal(read_group(gc), F * B);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 99, &clone, NULL),
                   MOQC_ERR_NOT_FOUND);
  c = tm_read(&eg);
  assert_int_equal(c.fetches,
                   2); /* counted at request time, even when not found */
  assert_int_equal(c.groups, 0);
  assert_int_equal(c.frames, F);
  assert_int_equal(c.bytes, F * B);
  assert_int_equal(c.subscriptions, 0);
  assert_int_equal(atomic_load(&eg.viewer_open),
                   0); /* fetches are not viewers */
  moqc_group_consumer_del(gc);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(plain);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  tm_scope_free(&eg);
}

static void test_metering_viewer_per_subscription(void **state) {
  tm_scope eg;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *plain, *bc;
  moqc_track_producer *a, *b;
  moqc_track_consumer *ta, *tb;
  moqc_track_subscriber *sa, *sb;
  moqc_track_info info;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&eg, "x");
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &plain), 0);
  assert_int_equal(moqc_broadcast_consumer_with_usage(plain, &eg.base, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "a", NULL, &a), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "b", NULL, &b), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "a", &ta), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "b", &tb), 0);
  /* Lookups and info probes are not viewers. */
  assert_int_equal(moqc_track_consumer_info(ta, &info, NULL), 0);
  assert_int_equal(atomic_load(&eg.viewer_open), 0);
  assert_int_equal(moqc_track_consumer_subscribe(ta, NULL, &sa, NULL), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tb, NULL, &sb, NULL), 0);
  /* Two subscriptions to one scope: two viewer_open calls (the scope dedups per
   * session). */
  assert_int_equal(atomic_load(&eg.viewer_open), 2);
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions, 2);
  /* The subscription counts for its whole life, not the lookup handle's. */
  moqc_track_consumer_del(ta);
  moqc_track_consumer_del(tb);
  assert_int_equal(atomic_load(&eg.viewer_close), 0);
  moqc_track_subscriber_del(sa);
  assert_int_equal(atomic_load(&eg.viewer_close), 1);
  moqc_track_subscriber_del(sb);
  assert_int_equal(atomic_load(&eg.viewer_close), 2);
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions_closed, 2);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(plain);
  moqc_track_producer_del(a);
  moqc_track_producer_del(b);
  moqc_broadcast_producer_del(bp);
  tm_scope_free(&eg);
}

static void test_metering_null_scopes(void **state) {
  tm_scope eg;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *plain, *metered, *unmetered;
  moqc_track_producer *tp;
  moqc_track_consumer *tm, *tu;
  moqc_track_subscriber *sm, *su;
  moqc_group_consumer *gc;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&eg, "x");
  /* Unmetered ingress: nothing to count, nothing breaks. */
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &plain), 0);
  assert_int_equal(
      moqc_broadcast_consumer_with_usage(plain, &eg.base, &metered), 0);
  /* Restamping with NULL gives an unmetered consumer of the same broadcast. */
  assert_int_equal(
      moqc_broadcast_consumer_with_usage(metered, NULL, &unmetered), 0);
  assert_true(moqc_broadcast_consumer_is_clone(metered, unmetered));
  assert_null(moqc_broadcast_consumer_usage(unmetered));
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(metered, "t", &tm), 0);
  assert_int_equal(moqc_broadcast_consumer_track(unmetered, "t", &tu), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tm, NULL, &sm, NULL), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tu, NULL, &su, NULL), 0);
  write_traffic(tp);
  while (moqc_track_subscriber_next_group(su, &gc, NULL) == 0) {
    assert_int_equal(read_group(gc), F * B);
    moqc_group_consumer_del(gc);
  }
  moqc_track_subscriber_del(su);
  c = tm_read(&eg);
  assert_int_equal(c.groups, 0);
  assert_int_equal(c.bytes, 0);
  assert_int_equal(c.subscriptions, 1); /* only the metered subscription */
  assert_int_equal(c.subscriptions_closed, 0);
  assert_int_equal(atomic_load(&eg.viewer_open), 1);
  assert_int_equal(atomic_load(&eg.viewer_close), 0);
  /* Clones of a metered group consumer carry the scope but do not recount the
   * group. */
  assert_int_equal(moqc_track_subscriber_next_group(sm, &gc, NULL), 0);
  {
    moqc_group_consumer *clone;
    assert_int_equal(moqc_group_consumer_clone(gc, &clone), 0);
    assert_int_equal(read_group(clone), F * B);
    moqc_group_consumer_del(clone);
  }
  moqc_group_consumer_del(gc);
  c = tm_read(&eg);
  assert_int_equal(c.groups, 1);
  assert_int_equal(c.frames, F);
  assert_int_equal(c.bytes, F * B);
  moqc_track_subscriber_del(sm);
  moqc_track_consumer_del(tm);
  moqc_track_consumer_del(tu);
  moqc_broadcast_consumer_del(metered);
  moqc_broadcast_consumer_del(unmetered);
  moqc_broadcast_consumer_del(plain);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  tm_scope_free(&eg);
}

static void test_metering_publisher_tokens(void **state) {
  tm_scope ing;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_producer *a, *b, *a2, *d;
  moqc_track_request *r, *rd;
  moqc_track_consumer *tc;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&ing, "pub");
  assert_int_equal(moqc_broadcast_new(&bp, &ing.base, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "a", NULL, &a), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "b", NULL, &b), 0);
  assert_int_equal(moqc_track_producer_clone(a, &a2),
                   0); /* a clone mints no token */
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(c.subscriptions, 2);
  moqc_track_producer_del(a);
  moqc_track_producer_del(b);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts_closed, 0);
  assert_int_equal(c.subscriptions_closed, 1);
  moqc_track_producer_del(a2);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts_closed, 1);
  assert_int_equal(c.subscriptions_closed, 2);
  /* Reserve takes the token; accepting keeps it (no double count). */
  assert_int_equal(moqc_broadcast_producer_reserve_track(bp, "r", &r), 0);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 2);
  assert_int_equal(c.subscriptions, 3);
  assert_int_equal(moqc_track_request_accept(r, NULL, &a), 0);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 2);
  assert_int_equal(c.subscriptions, 3);
  /* A dynamic request takes its token at accept. */
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "dyn", &tc), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &rd, NULL), 0);
  c = tm_read(&ing);
  assert_int_equal(c.subscriptions, 3);
  assert_int_equal(moqc_track_request_accept(rd, NULL, &d), 0);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 2); /* still the same live publisher */
  assert_int_equal(c.subscriptions, 4);
  moqc_track_producer_del(a);
  moqc_track_producer_del(d);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts_closed, 2);
  assert_int_equal(c.subscriptions_closed, 4);
  /* A rejected dynamic request never minted a producer. */
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "no", &tc), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &rd, NULL), 0);
  moqc_track_request_reject(rd, MOQC_ERR_NOT_FOUND);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, 2);
  assert_int_equal(c.subscriptions, 4);
  moqc_track_consumer_del(tc);
  moqc_broadcast_dynamic_del(dyn);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
  tm_scope_free(&ing);
}

static void test_metering_datagrams(void **state) {
  tm_scope ing, eg;
  tm_fixture fx;
  moqc_rcbuf *p;
  uint64_t seq;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&ing, "x");
  tm_scope_init(&eg, "x");
  tm_fixture_open(&fx, &ing.base, &eg.base, NULL);
  assert_int_equal(moqc_track_producer_write_datagram(
                       fx.tp, (const uint8_t *)"abc", 3, 0, 0),
                   0);
  assert_int_equal(
      moqc_track_producer_write_datagram(fx.tp, (const uint8_t *)"de", 2, 0, 0),
      0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(
        moqc_track_subscriber_recv_datagram(fx.sub, &seq, NULL, &p, NULL), 0);
    moqc_rcbuf_decref(p);
  }
  c = tm_read(&ing);
  assert_int_equal(c.datagrams, 2);
  assert_int_equal(c.groups, 2);
  assert_int_equal(c.frames, 2);
  assert_int_equal(c.bytes, 5);
  c = tm_read(&eg);
  assert_int_equal(c.datagrams, 2);
  assert_int_equal(c.groups, 2);
  assert_int_equal(c.frames, 2);
  assert_int_equal(c.bytes, 5);
  tm_fixture_close(&fx);
  tm_scope_free(&ing);
  tm_scope_free(&eg);
}

static void test_metering_pending_subscription(void **state) {
  tm_scope eg;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *plain, *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_consumer *tc, *rej;
  moqc_track_subscriber *s, *sr;
  moqc_track_request *r;
  moqc_track_producer *tp;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&eg, "x");
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &plain), 0);
  assert_int_equal(moqc_broadcast_consumer_with_usage(plain, &eg.base, &bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &s, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &s, NULL),
                   MOQC_ERR_PENDING);
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions, 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &r, NULL), 0);
  assert_int_equal(moqc_track_request_accept(r, NULL, &tp), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &s, NULL), 0);
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions, 1);
  assert_int_equal(atomic_load(&eg.viewer_open), 1);
  /* A rejected subscription never counts. */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "u", &rej), 0);
  assert_int_equal(moqc_track_consumer_subscribe(rej, NULL, &sr, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &r, NULL), 0);
  moqc_track_request_reject(r, MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_subscribe(rej, NULL, &sr, NULL),
                   MOQC_ERR_NOT_FOUND);
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions, 1);
  assert_int_equal(atomic_load(&eg.viewer_open), 1);
  moqc_track_consumer_del(rej);
  moqc_track_subscriber_del(s);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(tp);
  moqc_broadcast_dynamic_del(dyn);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(plain);
  moqc_broadcast_producer_del(bp);
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions_closed, 1);
  assert_int_equal(atomic_load(&eg.viewer_close), 1);
  tm_scope_free(&eg);
}

static void test_metering_read_frame_shortcut(void **state) {
  tm_scope eg;
  tm_fixture fx;
  moqc_rcbuf *buf;
  uint64_t seq;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&eg, "x");
  tm_fixture_open(&fx, NULL, &eg.base, NULL);
  assert_int_equal(
      moqc_track_producer_write_frame(fx.tp, (const uint8_t *)"abcd", 4, 0, 0),
      0);
  assert_int_equal(
      moqc_track_producer_write_frame(fx.tp, (const uint8_t *)"ef", 2, 0, 0),
      0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(
        moqc_track_subscriber_read_frame(fx.sub, &buf, &seq, NULL, NULL), 0);
    moqc_rcbuf_decref(buf);
  }
  c = tm_read(&eg);
  assert_int_equal(c.groups, 2);
  assert_int_equal(c.frames, 2);
  assert_int_equal(c.bytes, 6);
  tm_fixture_close(&fx);
  tm_scope_free(&eg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metering_known_traffic),
      cmocka_unit_test(test_metering_fetch),
      cmocka_unit_test(test_metering_viewer_per_subscription),
      cmocka_unit_test(test_metering_null_scopes),
      cmocka_unit_test(test_metering_publisher_tokens),
      cmocka_unit_test(test_metering_datagrams),
      cmocka_unit_test(test_metering_pending_subscription),
      cmocka_unit_test(test_metering_read_frame_shortcut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
