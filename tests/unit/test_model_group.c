/*
 * Model: groups (ordered frames, cache bound and LAGGED, finish/abort/drop,
 * random access).
 */
#include "test_model_util.h"

static void write_str(moqc_group_producer *gp, const char *s, uint64_t ts) {
  assert_int_equal(
      moqc_group_producer_write_frame(gp, (const uint8_t *)s, strlen(s), ts),
      0);
}

static void expect_frame(moqc_group_consumer *gc, const char *s, uint64_t ts) {
  moqc_rcbuf *buf;
  uint64_t got = 0;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &got, NULL), 0);
  assert_int_equal(moqc_rcbuf_len(buf), strlen(s));
  assert_memory_equal(moqc_rcbuf_data(buf), s, strlen(s));
  assert_int_equal(got, ts);
  moqc_rcbuf_decref(buf);
}

static void test_group_basic_frame_reading(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_consumer *fc;
  moqc_rcbuf *buf;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  assert_int_equal(moqc_group_consumer_next_frame(gc, &fc, k.w),
                   MOQC_ERR_PENDING);
  write_str(gp, "one", 1);
  assert_int_equal(tm_wake_take(&k), 1);
  write_str(gp, "two", 2);
  write_str(gp, "three", 3);
  assert_int_equal(moqc_group_producer_frame_count(gp), 3);
  assert_int_equal(moqc_group_consumer_next_frame(gc, &fc, NULL), 0);
  assert_int_equal(moqc_frame_consumer_read_all(fc, &buf, NULL), 0);
  assert_memory_equal(moqc_rcbuf_data(buf), "one", 3);
  moqc_rcbuf_decref(buf);
  moqc_frame_consumer_del(fc);
  expect_frame(gc, "two", 2);
  expect_frame(gc, "three", 3);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL),
                   MOQC_END);
  assert_int_equal(moqc_group_consumer_next_frame(gc, &fc, NULL), MOQC_END);
  assert_int_equal(moqc_group_producer_finish(gp), MOQC_ERR_CLOSED);
  assert_int_equal(
      moqc_group_producer_write_frame(gp, (const uint8_t *)"x", 1, 0),
      MOQC_ERR_CLOSED);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
  moqc_waker_close(k.w);
}

static void test_group_read_frame_waits_for_chunks(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_producer *fp;
  moqc_rcbuf *buf;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  assert_int_equal(moqc_group_producer_create_frame(gp, 4, 7, &fp), 0);
  assert_int_equal(moqc_frame_producer_write(fp, (const uint8_t *)"ab", 2), 0);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_write(fp, (const uint8_t *)"cd", 2), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_finish(fp), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  expect_frame(gc, "abcd", 7);
  moqc_frame_producer_del(fp);
  /* Deleting a consumer parked on a frame unregisters it. */
  assert_int_equal(moqc_group_producer_create_frame(gp, 1, 8, &fp), 0);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, k.w),
                   MOQC_ERR_PENDING);
  moqc_group_consumer_del(gc);
  assert_int_equal(moqc_frame_producer_write(fp, (const uint8_t *)"e", 1), 0);
  assert_int_equal(tm_wake_take(&k), 0);
  moqc_frame_producer_del(fp);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
  moqc_waker_close(k.w);
}

static void test_group_get_frame_by_index(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_consumer *fc;
  moqc_rcbuf *buf;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  write_str(gp, "a", 0);
  assert_int_equal(moqc_group_consumer_get_frame(gc, 2, &fc, k.w),
                   MOQC_ERR_PENDING);
  write_str(gp, "b", 0);
  write_str(gp, "c", 0);
  assert_true(tm_wake_take(&k) >= 1);
  assert_int_equal(moqc_group_consumer_get_frame(gc, 2, &fc, NULL), 0);
  assert_int_equal(moqc_frame_consumer_read_all(fc, &buf, NULL), 0);
  assert_memory_equal(moqc_rcbuf_data(buf), "c", 1);
  moqc_rcbuf_decref(buf);
  moqc_frame_consumer_del(fc);
  /* The cursor did not move. */
  expect_frame(gc, "a", 0);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  assert_int_equal(moqc_group_consumer_get_frame(gc, 3, &fc, NULL), MOQC_END);
  {
    uint64_t n = 0;
    assert_int_equal(moqc_group_consumer_finished(gc, &n, NULL), 0);
    assert_int_equal(n, 3);
  }
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
  moqc_waker_close(k.w);
}

static void test_group_abort_propagates_and_clears(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_consumer *early, *fc;
  moqc_rcbuf *buf;
  uint64_t n;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  write_str(gp, "kept", 0);
  write_str(gp, "lost", 0);
  assert_int_equal(moqc_group_consumer_next_frame(gc, &early, NULL), 0);
  assert_int_equal(moqc_group_consumer_finished(gc, &n, k.w), MOQC_ERR_PENDING);
  moqc_group_producer_abort(gp, MOQC_ERR_TIMEOUT);
  assert_int_equal(tm_wake_take(&k), 1);
  /* Not yet drained: the error; the cache is gone. */
  assert_int_equal(moqc_group_consumer_next_frame(gc, &fc, NULL),
                   MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_group_consumer_get_frame(gc, 0, &fc, NULL),
                   MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_group_consumer_finished(gc, &n, NULL),
                   MOQC_ERR_TIMEOUT);
  /* A frame consumer already handed out keeps working. */
  assert_int_equal(moqc_frame_consumer_read_all(early, &buf, NULL), 0);
  assert_memory_equal(moqc_rcbuf_data(buf), "kept", 4);
  moqc_rcbuf_decref(buf);
  moqc_frame_consumer_del(early);
  assert_int_equal(
      moqc_group_producer_write_frame(gp, (const uint8_t *)"x", 1, 0),
      MOQC_ERR_CLOSED);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
  moqc_waker_close(k.w);
}

static void test_group_drop_unfinished_clears(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_rcbuf *buf;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  write_str(gp, "a", 0);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL),
                   MOQC_ERR_DROPPED);
  moqc_group_consumer_del(gc);
  tm_fixture_close(&fx);
}

static void test_group_drop_finished_keeps(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_rcbuf *buf;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  write_str(gp, "a", 0);
  write_str(gp, "b", 0);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
  expect_frame(gc, "a", 0);
  expect_frame(gc, "b", 0);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL),
                   MOQC_END);
  moqc_group_consumer_del(gc);
  tm_fixture_close(&fx);
}

static void test_group_eviction_drops_old_frames(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc, *late;
  moqc_frame_producer *f0, *f1, *f2;
  moqc_frame_consumer *fc;
  const uint64_t big = MOQC_MAX_GROUP_CACHE / 2 + 1;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  assert_int_equal(moqc_group_consumer_clone(gc, &late), 0);
  /* Declared sizes count; two frames over half the bound cannot both stay. */
  assert_int_equal(moqc_group_producer_create_frame(gp, big, 0, &f0), 0);
  assert_int_equal(moqc_group_consumer_next_frame(gc, &fc, NULL),
                   0); /* read before eviction */
  moqc_frame_consumer_del(fc);
  assert_int_equal(moqc_group_producer_create_frame(gp, big, 0, &f1), 0);
  assert_int_equal(moqc_group_producer_frame_count(gp), 2);
  assert_int_equal(moqc_group_consumer_get_frame(late, 0, &fc, NULL),
                   MOQC_ERR_LAGGED);
  assert_int_equal(moqc_group_consumer_next_frame(late, &fc, NULL),
                   MOQC_ERR_LAGGED);
  /* The lagging cursor jumped to the oldest cached frame. */
  assert_int_equal(moqc_group_consumer_next_frame(late, &fc, NULL), 0);
  moqc_frame_consumer_del(fc);
  assert_int_equal(moqc_group_consumer_next_frame(gc, &fc, NULL), 0);
  moqc_frame_consumer_del(fc);
  /* Small frames under the bound evict nothing more than needed. */
  assert_int_equal(moqc_group_producer_create_frame(gp, 10, 0, &f2), 0);
  assert_int_equal(moqc_group_consumer_get_frame(gc, 1, &fc, NULL), 0);
  moqc_frame_consumer_del(fc);
  assert_int_equal(moqc_group_consumer_get_frame(gc, 2, &fc, NULL), 0);
  moqc_frame_consumer_del(fc);
  moqc_frame_producer_del(f0);
  moqc_frame_producer_del(f1);
  moqc_frame_producer_del(f2);
  moqc_group_consumer_del(late);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
}

static void test_group_no_eviction_under_limit(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_producer *fp[4];
  moqc_frame_consumer *fc;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(moqc_group_producer_create_frame(
                         gp, MOQC_MAX_GROUP_CACHE / 4, 0, &fp[i]),
                     0);
  }
  for (uint64_t i = 0; i < 4; i++) {
    assert_int_equal(moqc_group_consumer_get_frame(gc, i, &fc, NULL), 0);
    moqc_frame_consumer_del(fc);
  }
  for (int i = 0; i < 4; i++) {
    moqc_frame_producer_del(fp[i]);
  }
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
}

static void test_group_clone_consumer_independent(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc, *clone;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  write_str(gp, "a", 0);
  write_str(gp, "b", 0);
  expect_frame(gc, "a", 0);
  assert_int_equal(moqc_group_consumer_clone(gc, &clone), 0);
  assert_int_equal(moqc_group_consumer_sequence(clone),
                   moqc_group_consumer_sequence(gc));
  expect_frame(gc, "b", 0);
  expect_frame(clone, "b", 0);
  moqc_group_consumer_del(clone);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group_basic_frame_reading),
      cmocka_unit_test(test_group_read_frame_waits_for_chunks),
      cmocka_unit_test(test_group_get_frame_by_index),
      cmocka_unit_test(test_group_abort_propagates_and_clears),
      cmocka_unit_test(test_group_drop_unfinished_clears),
      cmocka_unit_test(test_group_drop_finished_keeps),
      cmocka_unit_test(test_group_eviction_drops_old_frames),
      cmocka_unit_test(test_group_no_eviction_under_limit),
      cmocka_unit_test(test_group_clone_consumer_independent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
