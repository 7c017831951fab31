/*
 * Model: frames (declared size, chunked writes, zero-copy chunked reads, abort,
 * clones).
 */
#include "test_model_util.h"

typedef struct fframe {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_producer *fp;
  moqc_frame_consumer *fc;
} fframe;

static void fframe_open(fframe *f, uint64_t size) {
  tm_fixture_open(&f->fx, NULL, NULL, NULL);
  tm_group(&f->fx, &f->gp, &f->gc);
  assert_int_equal(moqc_group_producer_create_frame(f->gp, size, 42, &f->fp),
                   0);
  assert_int_equal(moqc_group_consumer_next_frame(f->gc, &f->fc, NULL), 0);
  assert_int_equal(moqc_frame_consumer_size(f->fc), size);
  assert_int_equal(moqc_frame_consumer_timestamp(f->fc), 42);
}

static void fframe_close(fframe *f) {
  moqc_frame_consumer_del(f->fc);
  moqc_frame_producer_del(f->fp);
  moqc_group_consumer_del(f->gc);
  moqc_group_producer_del(f->gp);
  tm_fixture_close(&f->fx);
}

static void test_frame_single_chunk_roundtrip(void **state) {
  fframe f;
  moqc_rcbuf *buf;
  size_t off, len;
  (void)state;
  fframe_open(&f, 5);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"hello", 5),
                   0);
  assert_int_equal(moqc_frame_producer_finish(f.fp), 0);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   0);
  assert_int_equal(off, 0);
  assert_int_equal(len, 5);
  assert_memory_equal(moqc_rcbuf_data(buf) + off, "hello", 5);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   MOQC_END);
  fframe_close(&f);
}

static void test_frame_streams_partial_writes_zero_copy(void **state) {
  fframe f;
  moqc_rcbuf *b1, *b2, *b3;
  moqc_frame_consumer *other;
  size_t off, len;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  fframe_open(&f, 6);
  assert_int_equal(moqc_group_consumer_get_frame(f.gc, 0, &other, NULL), 0);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &b1, &off, &len, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"ab", 2),
                   0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &b1, &off, &len, k.w),
                   0);
  assert_int_equal(off, 0);
  assert_int_equal(len, 2);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &b2, &off, &len, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"cdef", 4),
                   0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &b2, &off, &len, NULL),
                   0);
  assert_int_equal(off, 2);
  assert_int_equal(len, 4);
  assert_memory_equal(moqc_rcbuf_data(b2) + off, "cdef", 4);
  /* Zero copy: every reader gets the same buffer. */
  assert_ptr_equal(b1, b2);
  assert_int_equal(moqc_frame_consumer_read_chunk(other, &b3, &off, &len, NULL),
                   0);
  assert_ptr_equal(b1, b3);
  assert_int_equal(off, 0);
  assert_int_equal(len, 6);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &b2, &off, &len, k.w),
                   MOQC_ERR_PENDING);
  moqc_rcbuf_decref(b1);
  moqc_rcbuf_decref(b2);
  moqc_rcbuf_decref(b3);
  assert_int_equal(moqc_frame_producer_finish(f.fp), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &b2, &off, &len, NULL),
                   MOQC_END);
  moqc_frame_consumer_del(other);
  fframe_close(&f);
  moqc_waker_close(k.w);
}

static void test_frame_multi_chunk_read_all(void **state) {
  fframe f;
  moqc_rcbuf *buf;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  fframe_open(&f, 5);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"he", 2),
                   0);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"llo", 3),
                   0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_finish(f.fp), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, NULL), 0);
  assert_int_equal(moqc_rcbuf_len(buf), 5);
  assert_memory_equal(moqc_rcbuf_data(buf), "hello", 5);
  moqc_rcbuf_decref(buf);
  fframe_close(&f);
  moqc_waker_close(k.w);
}

static void test_frame_finish_checks_remaining(void **state) {
  fframe f;
  (void)state;
  fframe_open(&f, 5);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"he", 2),
                   0);
  assert_int_equal(moqc_frame_producer_finish(f.fp), MOQC_ERR_WRONG_SIZE);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"llo!", 4),
                   MOQC_ERR_WRONG_SIZE);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"llo", 3),
                   0);
  assert_int_equal(moqc_frame_producer_finish(f.fp), 0);
  assert_int_equal(moqc_frame_producer_finish(f.fp), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"x", 1),
                   MOQC_ERR_CLOSED);
  fframe_close(&f);
}

static void test_frame_rejects_oversized(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_frame_producer *fp = NULL;
  uint8_t tiny[1] = {0};
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  assert_int_equal(
      moqc_group_producer_create_frame(gp, MOQC_MAX_FRAME_SIZE + 1, 0, &fp),
      MOQC_ERR_FRAME_TOO_LARGE);
  assert_null(fp);
  assert_int_equal(moqc_group_producer_create_frame(gp, UINT64_MAX, 0, &fp),
                   MOQC_ERR_FRAME_TOO_LARGE);
  /* Refused before anything is read or allocated. */
  assert_int_equal(moqc_group_producer_write_frame(
                       gp, tiny, (size_t)MOQC_MAX_FRAME_SIZE + 1, 0),
                   MOQC_ERR_FRAME_TOO_LARGE);
  assert_int_equal(moqc_group_producer_frame_count(gp), 0);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
}

static void test_frame_abort_propagates(void **state) {
  fframe f;
  moqc_rcbuf *buf;
  size_t off, len;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  fframe_open(&f, 5);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, k.w),
                   MOQC_ERR_PENDING);
  moqc_frame_producer_abort(f.fp, MOQC_ERR_TIMEOUT);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, NULL),
                   MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"x", 1),
                   MOQC_ERR_CLOSED);
  fframe_close(&f);
  moqc_waker_close(k.w);
}

static void test_frame_producer_drop_unfinished(void **state) {
  fframe f;
  moqc_rcbuf *buf;
  (void)state;
  fframe_open(&f, 3);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"x", 1), 0);
  moqc_frame_producer_del(f.fp);
  f.fp = NULL;
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, NULL),
                   MOQC_ERR_DROPPED);
  fframe_close(&f);
}

static void test_frame_empty(void **state) {
  fframe f;
  moqc_rcbuf *buf;
  size_t off, len;
  (void)state;
  fframe_open(&f, 0);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_write(f.fp, NULL, 0), 0);
  assert_int_equal(moqc_frame_producer_finish(f.fp), 0);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   MOQC_END);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, NULL), 0);
  assert_int_equal(moqc_rcbuf_len(buf), 0);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_frame_producer_finish(f.fp), MOQC_ERR_CLOSED);
  fframe_close(&f);
}

static void test_frame_cloned_consumer_independent_cursor(void **state) {
  fframe f;
  moqc_frame_consumer *clone;
  moqc_rcbuf *buf;
  size_t off, len;
  (void)state;
  fframe_open(&f, 4);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"ab", 2),
                   0);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   0);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_frame_consumer_clone(f.fc, &clone), 0);
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"cd", 2),
                   0);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   0);
  assert_int_equal(off, 2);
  assert_int_equal(len, 2);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_frame_consumer_read_chunk(f.fc, &buf, &off, &len, NULL),
                   MOQC_ERR_PENDING);
  /* The clone starts where the original was when cloned. */
  assert_int_equal(
      moqc_frame_consumer_read_chunk(clone, &buf, &off, &len, NULL), 0);
  assert_int_equal(off, 2);
  assert_int_equal(len, 2);
  assert_memory_equal(moqc_rcbuf_data(buf) + off, "cd", 2);
  moqc_rcbuf_decref(buf);
  moqc_frame_consumer_del(clone);
  fframe_close(&f);
}

static void test_frame_consumer_del_unregisters(void **state) {
  fframe f;
  moqc_rcbuf *buf;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  fframe_open(&f, 2);
  assert_int_equal(moqc_frame_consumer_read_all(f.fc, &buf, k.w),
                   MOQC_ERR_PENDING);
  moqc_frame_consumer_del(f.fc);
  f.fc = NULL;
  assert_int_equal(moqc_frame_producer_write(f.fp, (const uint8_t *)"ab", 2),
                   0);
  assert_int_equal(moqc_frame_producer_finish(f.fp), 0);
  assert_int_equal(tm_wake_take(&k), 0);
  fframe_close(&f);
  moqc_waker_close(k.w);
}

static void test_frame_write_buf_zero_copy(void **state) {
  tm_fixture fx;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  moqc_rcbuf *src, *got;
  uint64_t ts = 0;
  (void)state;
  tm_fixture_open(&fx, NULL, NULL, NULL);
  tm_group(&fx, &gp, &gc);
  assert_int_equal(moqc_rcbuf_new_copy(&src, (const uint8_t *)"xyz", 3, NULL),
                   0);
  assert_int_equal(moqc_group_producer_write_frame_buf(gp, src, 9), 0);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &got, &ts, NULL), 0);
  assert_ptr_equal(got, src);
  assert_int_equal(ts, 9);
  moqc_rcbuf_decref(got);
  moqc_rcbuf_decref(src);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  tm_fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_single_chunk_roundtrip),
      cmocka_unit_test(test_frame_streams_partial_writes_zero_copy),
      cmocka_unit_test(test_frame_multi_chunk_read_all),
      cmocka_unit_test(test_frame_finish_checks_remaining),
      cmocka_unit_test(test_frame_rejects_oversized),
      cmocka_unit_test(test_frame_abort_propagates),
      cmocka_unit_test(test_frame_producer_drop_unfinished),
      cmocka_unit_test(test_frame_empty),
      cmocka_unit_test(test_frame_cloned_consumer_independent_cursor),
      cmocka_unit_test(test_frame_consumer_del_unregisters),
      cmocka_unit_test(test_frame_write_buf_zero_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
