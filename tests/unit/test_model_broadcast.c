/*
 * Model: wakers and broadcasts (lookup, requests, dynamic handlers, closing).
 */
#include "test_model_util.h"

static void test_waker_wake_and_close(void **state) {
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  moqc_waker_wake(k.w);
  moqc_waker_wake(k.w);
  assert_int_equal(tm_wake_take(&k), 2);
  moqc_waker_incref(k.w);
  moqc_waker_close(k.w); /* drops one of the two references */
  moqc_waker_wake(k.w);
  assert_int_equal(tm_wake_take(&k), 0);
  moqc_waker_decref(k.w);
  moqc_waker_decref(NULL);
  moqc_waker_close(NULL);
}

typedef struct self_closer {
  moqc_waker *w;
  int calls;
} self_closer;

static void self_close_cb(void *ud) {
  self_closer *s = ud;
  s->calls++;
  moqc_waker_wake(
      s->w); /* re-entrant wake while running: coalesced, runs once more */
  if (s->calls == 2) {
    moqc_waker_incref(s->w);
    moqc_waker_close(s->w); /* allowed from inside the callback */
  }
}

static void test_waker_close_inside_callback(void **state) {
  self_closer s = {NULL, 0};
  (void)state;
  assert_int_equal(moqc_waker_new(&s.w, self_close_cb, &s, NULL), 0);
  moqc_waker_wake(s.w);
  /* First run re-woke itself, the second run closed the waker: no third run. */
  assert_int_equal(s.calls, 2);
  moqc_waker_wake(s.w);
  assert_int_equal(s.calls, 2);
  moqc_waker_decref(s.w);
}

static void test_broadcast_clone_and_closed(void **state) {
  moqc_broadcast_producer *bp, *bp2;
  moqc_broadcast_consumer *bc, *bc2, *other;
  moqc_broadcast_producer *obp;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_new(&obp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_consumer_clone(bc, &bc2), 0);
  assert_int_equal(moqc_broadcast_producer_consume(obp, &other), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, bc2));
  assert_false(moqc_broadcast_consumer_is_clone(bc, other));
  assert_null(moqc_broadcast_consumer_usage(bc));

  assert_int_equal(moqc_broadcast_consumer_closed(bc, k.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, k.w),
                   MOQC_ERR_PENDING); /* no dup */
  assert_int_equal(moqc_broadcast_producer_clone(bp, &bp2), 0);
  moqc_broadcast_producer_del(bp);
  assert_int_equal(tm_wake_take(&k), 0); /* a clone keeps it open */
  moqc_broadcast_producer_del(bp2);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, NULL), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_broadcast_consumer_closed(bc2, NULL), MOQC_ERR_DROPPED);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(bc2);
  moqc_broadcast_consumer_del(other);
  moqc_broadcast_producer_del(obp);
  moqc_broadcast_consumer_del(NULL);
  moqc_broadcast_producer_del(NULL);
  moqc_waker_close(k.w);
}

static void test_broadcast_finish_abort(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp, *tp2;
  moqc_track_consumer *tc;
  (void)state;
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "video", NULL, &tp),
                   0);
  moqc_broadcast_producer_finish(bp);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, NULL), MOQC_END);
  /* Existing tracks stay readable; no new tracks. */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "video", &tc), 0);
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "audio", &tc),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "audio", NULL, &tp2),
      MOQC_ERR_CLOSED);
  moqc_broadcast_producer_abort(
      bp, MOQC_ERR_UNAUTHORIZED); /* already closed: no change */
  assert_int_equal(moqc_broadcast_consumer_closed(bc, NULL), MOQC_END);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);

  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  moqc_broadcast_producer_abort(bp, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, NULL),
                   MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "x", &tc),
                   MOQC_ERR_UNAUTHORIZED);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);
}

static void test_broadcast_insert_lookup_remove(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp, *dup;
  moqc_track_consumer *tc;
  moqc_track_info info;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  moqc_track_info_default(&info);
  info.priority = 7;
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "video", &info, &tp), 0);
  assert_string_equal(moqc_track_producer_name(tp), "video");
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "video", &info, &dup),
      MOQC_ERR_DUPLICATE);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "video", &tc), 0);
  assert_string_equal(moqc_track_consumer_name(tc), "video");
  memset(&info, 0, sizeof(info));
  assert_int_equal(moqc_track_consumer_info(tc, &info, k.w), 0);
  assert_int_equal(info.priority, 7);
  assert_int_equal(info.timescale, MOQC_TIMESCALE_MILLI);
  moqc_track_consumer_del(tc);
  /* No dynamic handler: unknown names are not found. */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "audio", &tc),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_broadcast_producer_remove_track(bp, "audio"),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_broadcast_producer_remove_track(bp, "video"), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "video", &tc),
                   MOQC_ERR_NOT_FOUND);
  /* Removed from the lookup: the name can be created again while the old track
   * lives. */
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "video", NULL, &dup), 0);
  moqc_track_producer_del(dup);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);
  moqc_waker_close(k.w);
}

static void test_broadcast_weak_lookup(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc, *old;
  (void)state;
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &old), 0);
  /* The track lives as long as its producers: dropping it removes it from the
   * lookup. */
  moqc_track_producer_del(tp);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc),
                   MOQC_ERR_NOT_FOUND);
  {
    moqc_track_subscriber *s;
    assert_int_equal(moqc_track_consumer_subscribe(old, NULL, &s, NULL), 0);
    moqc_group_consumer *g;
    assert_int_equal(moqc_track_subscriber_next_group(s, &g, NULL),
                     MOQC_ERR_DROPPED);
    moqc_track_subscriber_del(s);
  }
  moqc_track_consumer_del(old);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);
}

static void test_broadcast_requests(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_consumer *a1, *a2, *b1;
  moqc_track_request *ra, *rb, *none;
  moqc_track_producer *tp;
  moqc_track_subscriber *s1, *s2;
  moqc_track_info info;
  tm_wake kd, ks;
  (void)state;
  tm_wake_init(&kd);
  tm_wake_init(&ks);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &none, kd.w),
                   MOQC_ERR_PENDING);

  assert_int_equal(moqc_broadcast_consumer_track(bc, "a", &a1), 0);
  assert_int_equal(tm_wake_take(&kd), 1);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "b", &b1), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "a", &a2),
                   0); /* coalesced */
  assert_int_equal(moqc_track_consumer_info(a1, &info, NULL), MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_consumer_subscribe(a1, NULL, &s1, ks.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_consumer_subscribe(a2, NULL, &s2, ks.w),
                   MOQC_ERR_PENDING);

  /* FIFO, one request per name. */
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &ra, NULL), 0);
  assert_string_equal(moqc_track_request_name(ra), "a");
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &rb, NULL), 0);
  assert_string_equal(moqc_track_request_name(rb), "b");
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &none, NULL),
                   MOQC_ERR_PENDING);

  moqc_track_info_default(&info);
  info.priority = 3;
  assert_int_equal(moqc_track_request_accept(ra, &info, &tp), 0);
  assert_true(tm_wake_take(&ks) >= 1);
  assert_int_equal(moqc_track_consumer_subscribe(a1, NULL, &s1, NULL), 0);
  assert_int_equal(moqc_track_consumer_subscribe(a2, NULL, &s2, NULL), 0);
  moqc_track_subscriber_info(s1, &info);
  assert_int_equal(info.priority, 3);

  moqc_track_request_reject(rb, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_track_consumer_info(b1, &info, NULL),
                   MOQC_ERR_UNAUTHORIZED);
  {
    moqc_track_subscriber *sb;
    assert_int_equal(moqc_track_consumer_subscribe(b1, NULL, &sb, NULL),
                     MOQC_ERR_UNAUTHORIZED);
  }
  moqc_track_consumer_del(b1);
  /* The rejected name is requested again as a new request. */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "b", &b1), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &rb, NULL), 0);
  assert_string_equal(moqc_track_request_name(rb), "b");
  moqc_track_request_reject(rb, MOQC_ERR_NOT_FOUND);
  moqc_track_consumer_del(b1);

  /* Last handler gone: queued requests are rejected with DROPPED, new names not
   * found. */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "c", &b1), 0);
  moqc_broadcast_dynamic_del(dyn);
  assert_int_equal(moqc_track_consumer_info(b1, &info, NULL), MOQC_ERR_DROPPED);
  moqc_track_consumer_del(b1);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "d", &b1),
                   MOQC_ERR_NOT_FOUND);

  moqc_track_subscriber_del(s1);
  moqc_track_subscriber_del(s2);
  moqc_track_consumer_del(a1);
  moqc_track_consumer_del(a2);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);
  moqc_waker_close(kd.w);
  moqc_waker_close(ks.w);
}

static void test_broadcast_create_fulfils_request(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_consumer *tc;
  moqc_track_request *r;
  moqc_track_producer *tp;
  moqc_track_subscriber *s;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "cat", &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &s, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "cat", NULL, &tp),
                   0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &s, NULL), 0);
  /* Fulfilled: the queue is empty. */
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &r, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(
      moqc_track_producer_write_frame(tp, (const uint8_t *)"hi", 2, 0, 0), 0);
  {
    moqc_group_consumer *g;
    moqc_rcbuf *buf;
    assert_int_equal(moqc_track_subscriber_next_group(s, &g, NULL), 0);
    assert_int_equal(moqc_group_consumer_read_frame(g, &buf, NULL, NULL), 0);
    assert_memory_equal(moqc_rcbuf_data(buf), "hi", 2);
    moqc_rcbuf_decref(buf);
    moqc_group_consumer_del(g);
  }
  moqc_track_subscriber_del(s);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(tp);
  moqc_broadcast_dynamic_del(dyn);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);
  moqc_waker_close(k.w);
}

static void test_broadcast_reserve(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_request *r, *dup;
  moqc_track_consumer *tc;
  moqc_track_producer *tp;
  moqc_track_info info;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_reserve_track(bp, "r", &r), 0);
  assert_int_equal(moqc_broadcast_producer_reserve_track(bp, "r", &dup),
                   MOQC_ERR_DUPLICATE);
  /* Visible at once, without a dynamic handler. */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "r", &tc), 0);
  assert_int_equal(moqc_track_consumer_info(tc, &info, k.w), MOQC_ERR_PENDING);
  moqc_track_info_default(&info);
  info.timescale = MOQC_TIMESCALE_MICRO;
  assert_int_equal(moqc_track_request_accept(r, &info, &tp), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  memset(&info, 0, sizeof(info));
  assert_int_equal(moqc_track_consumer_info(tc, &info, NULL), 0);
  assert_int_equal(info.timescale, MOQC_TIMESCALE_MICRO);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(tp);
  moqc_broadcast_producer_del(bp);
  moqc_broadcast_consumer_del(bc);
  moqc_waker_close(k.w);
}

static void test_broadcast_dynamic_keeps_alive(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_consumer *tc;
  moqc_track_request *r;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  moqc_broadcast_producer_del(bp);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, k.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "x", &tc), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &r, NULL), 0);
  moqc_broadcast_dynamic_del(dyn);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, NULL), MOQC_ERR_DROPPED);
  /* A request popped before the handler left can still be answered. */
  moqc_track_request_reject(r, MOQC_ERR_NOT_FOUND);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_waker_close(k.w);
}

static void test_broadcast_consumer_del_unregisters(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc, *bc2;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc2), 0);
  assert_int_equal(moqc_broadcast_consumer_closed(bc, k.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_broadcast_consumer_closed(bc2, k.w), MOQC_ERR_PENDING);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
  assert_int_equal(tm_wake_take(&k), 1); /* only bc2's registration remained */
  moqc_broadcast_consumer_del(bc2);
  moqc_waker_close(k.w);
}

static void test_broadcast_stale_producer_rerequested(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_producer *tp, *tp2;
  moqc_track_consumer *old, *fresh;
  moqc_track_request *r;
  moqc_track_subscriber *s;
  (void)state;
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &old), 0);
  moqc_track_producer_del(tp);
  /* The closed track is not handed out again: a new request is queued instead.
   */
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &fresh), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &r, NULL), 0);
  assert_string_equal(moqc_track_request_name(r), "t");
  assert_int_equal(moqc_track_request_accept(r, NULL, &tp2), 0);
  assert_int_equal(
      moqc_track_producer_write_frame(tp2, (const uint8_t *)"n", 1, 0, 0), 0);
  assert_int_equal(moqc_track_consumer_subscribe(fresh, NULL, &s, NULL), 0);
  {
    moqc_group_consumer *g;
    assert_int_equal(moqc_track_subscriber_next_group(s, &g, NULL), 0);
    moqc_group_consumer_del(g);
  }
  moqc_track_subscriber_del(s);
  assert_int_equal(moqc_track_consumer_subscribe(old, NULL, &s, NULL), 0);
  {
    moqc_group_consumer *g;
    assert_int_equal(moqc_track_subscriber_next_group(s, &g, NULL),
                     MOQC_ERR_DROPPED);
  }
  moqc_track_subscriber_del(s);
  moqc_track_consumer_del(old);
  moqc_track_consumer_del(fresh);
  moqc_track_producer_del(tp2);
  moqc_broadcast_dynamic_del(dyn);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
}

static void test_broadcast_requested_unused(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  moqc_track_consumer *tc;
  moqc_track_request *r;
  moqc_track_producer *tp;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &r, NULL), 0);
  assert_int_equal(moqc_track_request_accept(r, NULL, &tp), 0);
  assert_int_equal(moqc_track_producer_used(tp, k.w), 1);
  moqc_track_consumer_del(tc);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_used(tp, NULL), 0);
  moqc_track_producer_del(tp);
  moqc_broadcast_dynamic_del(dyn);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
  moqc_waker_close(k.w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_waker_wake_and_close),
      cmocka_unit_test(test_waker_close_inside_callback),
      cmocka_unit_test(test_broadcast_clone_and_closed),
      cmocka_unit_test(test_broadcast_finish_abort),
      cmocka_unit_test(test_broadcast_insert_lookup_remove),
      cmocka_unit_test(test_broadcast_weak_lookup),
      cmocka_unit_test(test_broadcast_requests),
      cmocka_unit_test(test_broadcast_create_fulfils_request),
      cmocka_unit_test(test_broadcast_reserve),
      cmocka_unit_test(test_broadcast_dynamic_keeps_alive),
      cmocka_unit_test(test_broadcast_consumer_del_unregisters),
      cmocka_unit_test(test_broadcast_stale_producer_rerequested),
      cmocka_unit_test(test_broadcast_requested_unused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
