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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_payload_roundtrip),
      cmocka_unit_test(test_payload_detects_every_byte),
      cmocka_unit_test(test_summary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
