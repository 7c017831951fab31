/*
 * Model: random access to a track's groups through a subscriber (get_group): cached groups,
 * waiting for one that has not arrived, the end of the track, and egress metering.
 */
#include "test_model_util.h"

static void put(moqc_track_producer *tp, uint64_t seq, const char *payload) {
  moqc_group_producer *gp;
  assert_int_equal(moqc_track_producer_create_group(tp, seq, 0, &gp), 0);
  assert_int_equal(moqc_group_producer_write_frame(gp, (const uint8_t *)payload,
                                                   strlen(payload), 0),
                   0);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
}

static void expect_group(moqc_track_subscriber *ts, uint64_t seq, const char *payload) {
  moqc_group_consumer *gc;
  moqc_rcbuf *buf;
  assert_int_equal(moqc_track_subscriber_get_group(ts, seq, &gc, NULL), 0);
  assert_int_equal(moqc_group_consumer_sequence(gc), seq);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL), 0);
  assert_int_equal(moqc_rcbuf_len(buf), strlen(payload));
  assert_memory_equal(moqc_rcbuf_data(buf), payload, strlen(payload));
  moqc_rcbuf_decref(buf);
  moqc_group_consumer_del(gc);
}

static void test_cached_and_waiting(void **state) {
  tm_scope egress;
  tm_wake wake;
  tm_fixture fx;
  moqc_group_consumer *gc;
  moqc_usage_counters u;
  (void)state;
  tm_scope_init(&egress, "b");
  tm_wake_init(&wake);
  tm_fixture_open(&fx, NULL, &egress.base, NULL);
  put(fx.tp, 3, "three");
  put(fx.tp, 7, "seven");
  /* Random access in any order, cursors untouched. */
  expect_group(fx.sub, 7, "seven");
  expect_group(fx.sub, 3, "three");
  /* A group that has not arrived: pending, then the waker fires when it does. */
  assert_int_equal(moqc_track_subscriber_get_group(fx.sub, 5, &gc, wake.w), MOQC_ERR_PENDING);
  assert_int_equal(tm_wake_take(&wake), 0);
  put(fx.tp, 5, "five");
  assert_true(tm_wake_take(&wake) >= 1);
  expect_group(fx.sub, 5, "five");
  /* Each hand-out counts one egress group, and the frames and bytes read. */
  u = tm_read(&egress);
  assert_int_equal(u.groups, 3);
  assert_int_equal(u.frames, 3);
  assert_int_equal(u.bytes, strlen("seven") + strlen("three") + strlen("five"));
  tm_fixture_close(&fx);
  moqc_waker_close(wake.w);
  tm_scope_free(&egress);
}

static void test_end_of_track(void **state) {
  tm_fixture fx;
  tm_wake wake;
  moqc_group_consumer *gc;
  (void)state;
  tm_wake_init(&wake);
  tm_fixture_open(&fx, NULL, NULL, NULL);
  put(fx.tp, 0, "zero");
  put(fx.tp, 1, "one");
  assert_int_equal(moqc_track_subscriber_get_group(fx.sub, 4, &gc, wake.w), MOQC_ERR_PENDING);
  /* Finishing at 2 wakes the waiter; sequences at or above the end are over. */
  assert_int_equal(moqc_track_producer_finish(fx.tp), 0);
  assert_true(tm_wake_take(&wake) >= 1);
  assert_int_equal(moqc_track_subscriber_get_group(fx.sub, 4, &gc, NULL), MOQC_END);
  assert_int_equal(moqc_track_subscriber_get_group(fx.sub, 2, &gc, NULL), MOQC_END);
  expect_group(fx.sub, 1, "one");
  tm_fixture_close(&fx);
  moqc_waker_close(wake.w);
}

static void test_abort(void **state) {
  tm_fixture fx;
  moqc_group_consumer *gc;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  moqc_track_producer_abort(fx.tp, MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_subscriber_get_group(fx.sub, 0, &gc, NULL), MOQC_ERR_NOT_FOUND);
  tm_fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cached_and_waiting),
      cmocka_unit_test(test_end_of_track),
      cmocka_unit_test(test_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
