/*
 * moqc client: synthetic payloads and the subscription summary.
 */
#include "testutil.h"

#include "payload.h"
#include "summary.h"

static void test_payload_roundtrip(void **state) {
  uint8_t buf[100];
  payload_info in = {12345, 1700000000000000ULL, 77, 3}, out;
  (void)state;
  assert_int_equal(payload_write(buf, sizeof(buf), &in), 0);
  assert_int_equal(payload_check(buf, sizeof(buf), &out), 0);
  assert_int_equal(out.frame_seq, 12345);
  assert_int_equal(out.sent_us, 1700000000000000ULL);
  assert_int_equal(out.group_seq, 77);
  assert_int_equal(out.frame_index, 3);
  /* Exactly the header is a valid frame; shorter is not. */
  assert_int_equal(payload_write(buf, PAYLOAD_HEADER, &in), 0);
  assert_int_equal(payload_check(buf, PAYLOAD_HEADER, &out), 0);
  assert_int_equal(payload_write(buf, PAYLOAD_HEADER - 1, &in), -1);
  assert_int_equal(payload_check(buf, PAYLOAD_HEADER - 1, &out), -1);
}

static void test_payload_detects_every_byte(void **state) {
  uint8_t buf[64];
  payload_info in = {9, 1, 2, 0}, out;
  (void)state;
  for (size_t i = 0; i < sizeof(buf); i++) {
    assert_int_equal(payload_write(buf, sizeof(buf), &in), 0);
    buf[i] ^= 0x01;
    /* A flipped header byte other than magic changes the fields; a flipped filler byte fails. */
    if (i < 4 || i >= PAYLOAD_HEADER) {
      assert_int_equal(payload_check(buf, sizeof(buf), &out), -1);
    }
  }
}

static void test_summary(void **state) {
  summary s;
  uint8_t buf[40];
  uint64_t prev = UINT64_MAX;
  payload_info in = {0, 1000000, 5, 0};
  char json[512];
  (void)state;
  summary_init(&s);
  summary_group(&s, 5);
  for (uint64_t seq = 0; seq < 10; seq++) {
    if (seq == 4 || seq == 5) {
      continue; /* two lost frames */
    }
    in.frame_seq = seq;
    payload_write(buf, sizeof(buf), &in);
    /* Latencies 1..10 ms. */
    assert_int_equal(summary_frame(&s, buf, sizeof(buf), 1000000 + (seq + 1) * 1000, true, &prev),
                     0);
  }
  buf[39] ^= 0xff;
  assert_int_equal(summary_frame(&s, buf, sizeof(buf), 0, true, &prev), -1);
  assert_int_equal(s.groups, 1);
  assert_int_equal(s.frames, 9);
  assert_int_equal(s.bytes, 9 * 40);
  assert_int_equal(s.bad_frames, 1);
  assert_int_equal(s.gaps, 2);
  /* Samples: 1,2,3,4,7,8,9,10 ms. */
  assert_true(summary_latency_ms(&s, 50) == 4.0);
  assert_true(summary_latency_ms(&s, 100) == 10.0);
  assert_true(summary_latency_ms(&s, 0) == 1.0);
  summary_json(&s, json, sizeof(json));
  assert_non_null(strstr(json, "\"frames\":9"));
  assert_non_null(strstr(json, "\"gaps\":2"));
  assert_non_null(strstr(json, "\"latency_p50_ms\":4.000"));
  summary_free(&s);
}

/* The npm peers' format (tests/interop/payload.mjs), byte for byte. */
static void test_payload_npm(void **state) {
  uint8_t buf[64];
  uint64_t g = 0, f = 0;
  (void)state;
  /* framePayload(3, 1, 12) in payload.mjs: "g3f1:" then (3*31 + 1*7 + i) & 0xff for i = 5.. */
  static const uint8_t want[12] = {'g', '3', 'f', '1', ':', 105, 106, 107, 108, 109, 110, 111};
  assert_int_equal(payload_write_npm(buf, 12, 3, 1), 0);
  assert_memory_equal(buf, want, 12);
  assert_int_equal(payload_check_npm(buf, 12, &g, &f), 0);
  assert_int_equal(g, 3);
  assert_int_equal(f, 1);
  /* Exactly the header is a frame; shorter cannot be written or checked. */
  assert_int_equal(payload_write_npm(buf, 5, 3, 1), 0);
  assert_int_equal(payload_check_npm(buf, 5, &g, &f), 0);
  assert_int_equal(payload_write_npm(buf, 4, 3, 1), -1);
  assert_int_equal(payload_check_npm(buf, 4, &g, &f), -1);
  /* Large numbers (the filler wraps mod 256 as the JS bitwise and does). */
  assert_int_equal(payload_write_npm(buf, sizeof(buf), 123456789012ULL, 4294967297ULL), 0);
  assert_int_equal(payload_check_npm(buf, sizeof(buf), &g, &f), 0);
  assert_int_equal(g, 123456789012ULL);
  assert_int_equal(f, 4294967297ULL);
  /* Every flipped byte is caught. */
  for (size_t i = 0; i < sizeof(buf); i++) {
    assert_int_equal(payload_write_npm(buf, sizeof(buf), 7, 2), 0);
    buf[i] ^= 0x01;
    g = f = 99;
    int rv = payload_check_npm(buf, sizeof(buf), &g, &f);
    /* A flipped digit may still parse as another (group, frame), but then the filler is wrong. */
    assert_int_equal(rv, -1);
    assert_int_equal(g, 99); /* untouched on failure */
  }
  /* Non-canonical headers are refused: leading zeros, missing parts, a synthetic moqc frame. */
  static const char *bad[] = {"g03f1:", "gf1:xx", "g3f:xx", "g3x1:x", "g3f1xx", "x3f1:x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(payload_check_npm((const uint8_t *)bad[i], strlen(bad[i]), &g, &f), -1);
  }
  payload_info in = {1, 2, 3, 4};
  assert_int_equal(payload_write(buf, sizeof(buf), &in), 0);
  assert_int_equal(payload_check_npm(buf, sizeof(buf), &g, &f), -1);
  assert_int_equal(payload_write_npm(buf, sizeof(buf), 1, 1), 0);
  assert_int_equal(payload_check(buf, sizeof(buf), &in), -1);
}

static void test_summary_json_keys(void **state) {
  summary s;
  char json[512];
  (void)state;
  summary_init(&s);
  summary_group(&s, 9);
  summary_group(&s, 4);
  s.aborted_groups = 1;
  assert_int_equal(summary_frame(&s, (const uint8_t *)"abc", 3, 0, false, &(uint64_t){UINT64_MAX}),
                   0);
  assert_int_equal(s.first_group, 4);
  assert_int_equal(s.last_group, 9);
  size_t n = summary_json(&s, json, sizeof(json));
  assert_int_equal(n, strlen(json));
  assert_non_null(strstr(json, "{\"groups\":2,\"frames\":1,\"bytes\":3,\"bad_frames\":0,"));
  assert_non_null(strstr(json, "\"aborted_groups\":1"));
  assert_non_null(strstr(json, "\"latency_max_ms\":0.000}"));
  summary_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_payload_roundtrip),
      cmocka_unit_test(test_payload_detects_every_byte),
      cmocka_unit_test(test_summary),
      cmocka_unit_test(test_payload_npm),
      cmocka_unit_test(test_summary_json_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
