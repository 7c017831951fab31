/*
 * A group stream whose frame header arrives in pieces: the stop code must not depend on where
 * the transport split the bytes. Over QMux the @moq/net publisher writes the timestamp and the
 * size of a lite-05 frame as separate STREAM frames, so the session reads them in two calls; a
 * size above 32 MiB must still be refused with 27 (frame too large), not 5 (decode error).
 */
#include "test_session_harness.h"

/* S subscribes to demo/bbb/video of a raw lite-05 publisher R (as in test_session_wire.c). */
static void subscribe_to_raw(raw_link *l, node *S, viewer *v) {
  raw_peer *R = &l->raw;
  raw_open(R, true, "01 0B 01 05 08 C0 00 0A 0B 0C 0D 0E 0F", true);
  raw_pump(l);
  raw_expect(R, 0, "01 09 00 C0 00 11 11 22 22 33 33", false);
  raw_send(R, 0, "09 C0 00 0A 0B 0C 0D 0E 0F 01 0B 01 08 64 65 6D 6F 2F 62 62 62 00", false);
  raw_pump(l);
  viewer_new(v, S, "demo/bbb", "video");
  assert_int_equal(viewer_subscribe(v), MOQC_ERR_PENDING);
  raw_pump(l);
  raw_send(R, 4, "06 01 00 67 10 43 E8", true);
  raw_pump(l);
  assert_int_equal(viewer_subscribe(v), 0);
  raw_pump(l);
}

static void run_split(const char *first, const char *second, int want_code) {
  node S;
  node_new(&S, ID_S);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_S, &S);
  raw_peer *R = &l.raw;
  viewer v;
  subscribe_to_raw(&l, &S, &v);
  moqc_stream_id id = raw_open(R, true, first, false);
  raw_pump(&l);
  assert_false(raw_get(R, id, false)->stopped);
  raw_send(R, id, second, false);
  raw_pump(&l);
  assert_true(raw_get(R, id, false)->stopped);
  assert_int_equal(raw_get(R, id, false)->stop_code, want_code);
  /* A good group on another stream still arrives; the session stays up. */
  moqc_stream_id good = raw_open(R, true, "00 02 00 03 47 D0 03 AA BB CC", true);
  raw_pump(&l);
  assert_true(raw_get(R, good, false)->fin_sent);
  assert_false(moqc_session_is_closed(l.s));
  viewer_del(&v);
  raw_link_del(&l);
  node_del(&S);
}

/* GROUP{sub 0, seq 5} and the timestamp first, then a size of 32 MiB + 1. */
static void test_oversize_after_timestamp(void **state) {
  (void)state;
  run_split("00 02 00 05 00", "82 00 00 01", 27);
}

/* The size varint itself split in two. */
static void test_oversize_split_varint(void **state) {
  (void)state;
  run_split("00 02 00 05 00 82 00", "00 01", 27);
}

/* The same bytes in one piece (already right before the fix). */
static void test_oversize_whole(void **state) {
  (void)state;
  run_split("00 02 00 05", "00 82 00 00 01", 27);
}

/* A timestamp delta beyond 2^53 split from its size is still a decode error (5). */
static void test_bad_delta_split(void **state) {
  (void)state;
  run_split("00 02 00 05 C0 7F FF FF", "FF FF FF FF 01", 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oversize_after_timestamp),
      cmocka_unit_test(test_oversize_split_varint),
      cmocka_unit_test(test_oversize_whole),
      cmocka_unit_test(test_bad_delta_split),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
