/*
 * Origin metering: egress stamping at every hand-off of a tagged consumer,
 * announced counts per cursor, ingress scope and announced counts of broadcasts
 * created through a tagged producer, and nothing at all for untagged handles
 * (spec/metering.md 2 and 4).
 */
#include "test_origin_util.h"

typedef struct fx {
  moqc_origin *o;
  moqc_origin_producer *p, *tp;
  moqc_origin_consumer *c, *tc;
  tctx ctx;
} fx;

static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof(*f));

  tctx_init(&f->ctx);
  assert_int_equal(moqc_origin_new(&f->o, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(f->o, &f->p), 0);
  assert_int_equal(moqc_origin_consumer_new(f->o, &f->c), 0);
  assert_int_equal(moqc_origin_producer_with_usage(f->p, &f->ctx.base, &f->tp),
                   0);
  assert_int_equal(moqc_origin_consumer_with_usage(f->c, &f->ctx.base, &f->tc),
                   0);
  assert_int_equal(atomic_load(&f->ctx.refs), 3);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx *f = *state;
  moqc_origin_consumer_del(f->tc);
  moqc_origin_consumer_del(f->c);
  moqc_origin_producer_del(f->tp);
  moqc_origin_producer_del(f->p);
  moqc_origin_decref(f->o);
  tctx_free(&f->ctx);
  free(f);
  return 0;
}

#define EG MOQC_DIRECTION_EGRESS
#define IN MOQC_DIRECTION_INGRESS

static void assert_announced(fx *f, moqc_direction dir, const char *path,
                             uint64_t open, uint64_t closed) {
  moqc_usage_counters k = tctx_read(&f->ctx, dir, path);
  assert_int_equal(k.announced, open);
  assert_int_equal(k.announced_closed, closed);
  assert_int_equal(k.announced_bytes, (open + closed) * strlen(path));
}

static void test_egress_announce_counts(void **state) {
  fx *f = *state;
  moqc_origin_announced *ta, *ua;
  moqc_origin_publish *g;
  moqc_origin_announce ev;
  tbc b;

  tbc_new(&b);
  g = tpub(f->p, "room/a", &b, NULL);
  assert_int_equal(moqc_origin_consumer_announced(f->tc, &ta), 0);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &ua), 0);
  assert_int_equal(moqc_origin_announced_next(ta, &ev, NULL), 0);
  assert_non_null(ev.broadcast);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 1);
  assert_announced(f, EG, "room/a", 1, 0);
  /* One scope: held by the stamped consumer and by the cursor's announced
   * guard. */
  assert_int_equal(atomic_load(&f->ctx.live_scopes), 1);
  moqc_broadcast_consumer_del(ev.broadcast);
  assert_int_equal(atomic_load(&f->ctx.live_scopes), 1);

  /* The untagged cursor meters nothing. */
  tnext(ua, "room/a", true, &b);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 1);
  assert_announced(f, EG, "room/a", 1, 0);

  moqc_origin_publish_del(g);
  tnext(ta, "room/a", false, NULL);
  assert_announced(f, EG, "room/a", 1, 1);
  assert_int_equal(atomic_load(&f->ctx.live_scopes), 0);
  tnext(ua, "room/a", false, NULL);

  /* Deleting the cursor while active closes the count. */
  g = tpub(f->p, "room/a", &b, NULL);
  tnext(ta, "room/a", true, &b);
  assert_announced(f, EG, "room/a", 2, 1);
  moqc_origin_announced_del(ta);
  assert_announced(f, EG, "room/a", 2, 2);
  /* A pending, never delivered announce is not counted. */
  assert_int_equal(moqc_origin_consumer_announced(f->tc, &ta), 0);
  moqc_origin_announced_del(ta);
  assert_announced(f, EG, "room/a", 2, 2);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 2);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[IN]), 0);
  moqc_origin_publish_del(g);
  moqc_origin_announced_del(ua);
  tbc_free(&b);
}

static void test_egress_restart_counts(void **state) {
  fx *f = *state;
  moqc_origin_announced *ta;
  moqc_origin_publish *g1, *g2;
  uint64_t far[] = {5, 6};
  moqc_origin_route r = {far, 2, 0};
  tbc b1, b2;

  tbc_new(&b1);
  tbc_new(&b2);
  assert_int_equal(moqc_origin_consumer_announced(f->tc, &ta), 0);
  g1 = tpub(f->p, "r", &b1, &r);
  tnext(ta, "r", true, &b1);
  g2 = tpub(f->p, "r", &b2, NULL);
  tnext(ta, "r", false, NULL);
  assert_announced(f, EG, "r", 1, 1);
  tnext(ta, "r", true, &b2);
  assert_announced(f, EG, "r", 2, 1);
  moqc_origin_publish_del(g1); /* a backup leaves: nothing */
  tnone(ta);
  assert_announced(f, EG, "r", 2, 1);
  moqc_origin_publish_del(g2);
  tnext(ta, "r", false, NULL);
  assert_announced(f, EG, "r", 2, 2);
  moqc_origin_announced_del(ta);
  assert_announced(f, EG, "r", 2, 2);
  tbc_free(&b1);
  tbc_free(&b2);
}

static void test_egress_root_uses_absolute_path(void **state) {
  fx *f = *state;
  moqc_origin_consumer *rc;
  moqc_origin_announced *ra;
  moqc_origin_publish *g;
  tbc b;

  tbc_new(&b);
  /* Derived handles inherit the context. */
  assert_int_equal(
      moqc_origin_consumer_with_root(f->tc, moqc_str_c("room"), &rc), 0);
  assert_int_equal(moqc_origin_consumer_announced(rc, &ra), 0);
  g = tpub(f->p, "room/alice", &b, NULL);
  tnext(ra, "alice", true, &b);
  assert_announced(f, EG, "room/alice", 1, 0);
  moqc_origin_publish_del(g);
  tnext(ra, "alice", false, NULL);
  assert_announced(f, EG, "room/alice", 1, 1);
  moqc_origin_announced_del(ra);
  moqc_origin_consumer_del(rc);
  tbc_free(&b);
}

/* Subscribes to track name of bc and returns the subscriber. */
static moqc_track_subscriber *tsub(moqc_broadcast_consumer *bc,
                                   const char *name) {
  moqc_track_consumer *tc;
  moqc_track_subscriber *s;
  assert_int_equal(moqc_broadcast_consumer_track(bc, name, &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &s, NULL), 0);
  moqc_track_consumer_del(tc);
  return s;
}

static void test_egress_stamp_on_consume(void **state) {
  fx *f = *state;
  moqc_origin_publish *g;
  moqc_broadcast_consumer *bc, *ubc;
  moqc_track_producer *trk;
  moqc_track_subscriber *s, *us;
  moqc_usage_counters k;
  moqc_track_info info;
  tbc b;

  tbc_new(&b);
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(b.p, "video", &info, &trk), 0);
  g = tpub(f->p, "cam", &b, NULL);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->tc, moqc_str_c("cam"), &bc), 0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 1);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->c, moqc_str_c("cam"), &ubc), 0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 1);
  s = tsub(bc, "video");
  us = tsub(ubc, "video");
  k = tctx_read(&f->ctx, EG, "cam");
  /* Only the stamped consumer's subscription counts, as one viewer. */
  assert_int_equal(k.subscriptions, 1);
  assert_int_equal(atomic_load(&f->ctx.viewers), 1);
  assert_int_equal(k.announced,
                   0); /* consuming by path is not an announcement */
  assert_int_equal(
      moqc_track_producer_write_frame(trk, (const uint8_t *)"abcd", 4, 0, 0),
      0);
  {
    moqc_group_consumer *gc;
    moqc_rcbuf *buf;
    assert_int_equal(moqc_track_subscriber_next_group(s, &gc, NULL), 0);
    assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL), 0);
    moqc_rcbuf_decref(buf);
    moqc_group_consumer_del(gc);
    assert_int_equal(moqc_track_subscriber_next_group(us, &gc, NULL), 0);
    assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL), 0);
    moqc_rcbuf_decref(buf);
    moqc_group_consumer_del(gc);
  }
  k = tctx_read(&f->ctx, EG, "cam");
  assert_int_equal(k.groups, 1);
  assert_int_equal(k.frames, 1);
  assert_int_equal(k.bytes, 4);
  moqc_track_subscriber_del(s);
  moqc_track_subscriber_del(us);
  k = tctx_read(&f->ctx, EG, "cam");
  assert_int_equal(k.subscriptions_closed, 1);
  assert_int_equal(atomic_load(&f->ctx.viewers), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(ubc);
  moqc_origin_publish_del(g);
  moqc_track_producer_del(trk);
  tbc_free(&b);
}

static void test_egress_stamp_on_dynamic_request(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r, *ur;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *trk;
  moqc_track_subscriber *s;
  moqc_track_info info;
  tbc b;

  tbc_new(&b);
  moqc_track_info_default(&info);
  assert_int_equal(moqc_broadcast_producer_create_track(b.p, "t", &info, &trk),
                   0);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(f->tc, moqc_str_c("dyn"), &r), 0);
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(f->c, moqc_str_c("dyn"), &ur), 0);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  assert_int_equal(moqc_origin_broadcast_request_accept(br, b.c), 0);
  assert_int_equal(moqc_origin_request_poll(ur, &bc, NULL), 0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 0);
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), 0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 1);
  s = tsub(bc, "t");
  assert_int_equal(tctx_read(&f->ctx, EG, "dyn").subscriptions, 1);
  moqc_track_subscriber_del(s);
  moqc_broadcast_consumer_del(bc);
  moqc_origin_request_del(r);
  moqc_origin_request_del(ur);
  moqc_origin_dynamic_del(d);
  moqc_track_producer_del(trk);
  tbc_free(&b);
}

static void test_ingress_create_broadcast(void **state) {
  fx *f = *state;
  moqc_broadcast_producer *bp, *ubp;
  moqc_origin_publish *g, *ug;
  moqc_track_producer *trk;
  moqc_track_info info;
  moqc_usage_counters k;

  assert_int_equal(moqc_origin_producer_create_broadcast(
                       f->tp, moqc_str_c("live/x"), NULL, &bp, &g),
                   0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[IN]), 1);
  assert_announced(f, IN, "live/x", 1, 0);
  /* The ingress scope is baked into the broadcast: its writes count. */
  moqc_track_info_default(&info);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", &info, &trk),
                   0);
  assert_int_equal(
      moqc_track_producer_write_frame(trk, (const uint8_t *)"xyz", 3, 0, 0), 0);
  k = tctx_read(&f->ctx, IN, "live/x");
  assert_int_equal(k.subscriptions, 1);
  assert_int_equal(k.broadcasts, 1);
  assert_int_equal(k.groups, 1);
  assert_int_equal(k.frames, 1);
  assert_int_equal(k.bytes, 3);
  /* Nothing on the egress side of the path. */
  k = tctx_read(&f->ctx, EG, "live/x");
  assert_int_equal(k.announced + k.subscriptions + k.bytes, 0);
  moqc_track_producer_del(trk);
  moqc_origin_publish_del(g);
  assert_announced(f, IN, "live/x", 1, 1);
  moqc_broadcast_producer_del(bp);
  k = tctx_read(&f->ctx, IN, "live/x");
  assert_int_equal(k.subscriptions_closed, 1);
  assert_int_equal(k.broadcasts_closed, 1);

  /* Through an untagged producer: nothing. */
  assert_int_equal(moqc_origin_producer_create_broadcast(
                       f->p, moqc_str_c("live/y"), NULL, &ubp, &ug),
                   0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[IN]), 1);
  moqc_origin_publish_del(ug);
  moqc_broadcast_producer_del(ubp);
}

static void test_untagged_meters_nothing(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_origin_publish *g;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r;
  moqc_origin_consumer *derived;
  moqc_str pre = moqc_str_c("u");

  /* A handle derived from an untagged one stays untagged. */
  assert_int_equal(moqc_origin_consumer_scope(f->c, &pre, 1, &derived), 0);
  assert_int_equal(moqc_origin_consumer_announced(derived, &a), 0);
  assert_int_equal(moqc_origin_producer_create_broadcast(
                       f->p, moqc_str_c("u/1"), NULL, &bp, &g),
                   0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  {
    moqc_origin_announce ev;
    assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
    moqc_broadcast_consumer_del(ev.broadcast);
  }
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(derived, moqc_str_c("u/2"), &r),
      0);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  assert_int_equal(moqc_origin_broadcast_request_accept(br, bc), 0);
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_origin_publish_del(g);
  tnext(a, "u/1", false, NULL);
  moqc_origin_request_del(r);
  moqc_origin_dynamic_del(d);
  moqc_origin_announced_del(a);
  moqc_origin_consumer_del(derived);
  moqc_broadcast_producer_del(bp);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[EG]), 0);
  assert_int_equal(atomic_load(&f->ctx.scope_calls[IN]), 0);
  assert_int_equal(f->ctx.n, 0);
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
  const struct CMUnitTest tests[] = {
      T(test_egress_announce_counts),          T(test_egress_restart_counts),
      T(test_egress_root_uses_absolute_path),  T(test_egress_stamp_on_consume),
      T(test_egress_stamp_on_dynamic_request), T(test_ingress_create_broadcast),
      T(test_untagged_meters_nothing),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
