/*
 * moqc bench: flag parsing, the summary math and the payload header decode.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cmd.h"
#include "payload.h"

static int parse(bench_opts *o, char *err, size_t errlen, int argc, ...) {
  char *argv[32];
  va_list ap;
  va_start(ap, argc);
  for (int i = 0; i < argc; i++) {
    argv[i] = va_arg(ap, char *);
  }
  va_end(ap);
  err[0] = '\0';
  return bench_parse(argc, argv, o, err, errlen);
}

static void test_defaults(void **state) {
  bench_opts o;
  char err[256];
  (void)state;

  assert_int_equal(
      parse(&o, err, sizeof(err), 2, "bench", "ws://127.0.0.1:4443/"),
      CLI_PARSE_OK);
  assert_string_equal(o.url_text, "ws://127.0.0.1:4443/");
  assert_int_equal(o.url.scheme, CLI_SCHEME_WS);
  assert_int_equal(o.url.port, 4443);
  assert_int_equal(o.publishers, 1);
  assert_int_equal(o.subscribers, 1);
  assert_true(o.fps == 30.0);
  assert_int_equal(o.frame_size, 10416);
  assert_int_equal(o.group_frames, 60);
  assert_true(o.duration_s == 10.0);
  assert_string_equal(o.prefix, "bench");
  assert_string_equal(o.track, "clock");
  assert_int_equal(o.threads, 1);
  assert_false(o.verify);
  assert_false(o.quiet);
  assert_false(o.tls_disable_verify);
  assert_null(o.tls_fingerprint);
}

static void test_flags(void **state) {
  bench_opts o;
  char err[256];
  (void)state;

  assert_int_equal(parse(&o, err, sizeof(err), 21, "bench", "--publishers", "3",
                         "--subscribers=250", "--fps", "59.94", "--frame-size",
                         "32", "--group-frames=1", "moql://[::1]:9000/x",
                         "--duration", "0.5", "--prefix=load", "--quiet",
                         "--verify", "--tls-disable-verify", "--connect-rate",
                         "50", "--idle=7", "--threads", "4"),
                   CLI_PARSE_OK);
  assert_int_equal(o.url.scheme, CLI_SCHEME_MOQL);
  assert_true(o.url.ipv6);
  assert_string_equal(o.url.host, "::1");
  assert_int_equal(o.publishers, 3);
  assert_int_equal(o.subscribers, 250);
  assert_true(fabs(o.fps - 59.94) < 1e-9);
  assert_int_equal(o.frame_size, 32);
  assert_int_equal(o.group_frames, 1);
  assert_true(o.duration_s == 0.5);
  assert_string_equal(o.prefix, "load");
  assert_true(o.quiet);
  assert_true(o.verify);
  assert_true(o.tls_disable_verify);
  assert_int_equal(o.connect_rate, 50);
  assert_int_equal(o.idle, 7);
  assert_int_equal(o.threads, 4);
  assert_false(o.force_websocket);
  assert_null(o.tls_root);
  assert_true(o.retention_s == 0);

  /* Zero subscribers is allowed (publish-only load); a fingerprint is parsed.
   */
  assert_int_equal(
      parse(&o, err, sizeof(err), 5, "bench", "ws://h/", "--subscribers", "0",
            "--tls-fingerprint="
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
      CLI_PARSE_OK);
  assert_int_equal(o.subscribers, 0);
  assert_int_equal(o.fingerprint[1], 0x11);
  assert_int_equal(o.fingerprint[31], 0xff);

  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--retention", "600"),
      CLI_PARSE_OK);
  assert_true(o.retention_s == 600.0);
  assert_int_equal(parse(&o, err, sizeof(err), 5, "bench", "http://h/",
                         "--websocket", "--tls-root", "/etc/ssl/roots.pem"),
                   CLI_PARSE_OK);
  assert_true(o.force_websocket);
  assert_string_equal(o.tls_root, "/etc/ssl/roots.pem");
  assert_int_equal(o.url.scheme, CLI_SCHEME_HTTP);
  assert_int_equal(parse(&o, err, sizeof(err), 3, "bench", "ws://h/", "--help"),
                   CLI_PARSE_HELP);
  assert_int_equal(parse(&o, err, sizeof(err), 2, "bench", "-h"),
                   CLI_PARSE_HELP);
}

static void test_errors(void **state) {
  bench_opts o;
  char err[256];
  (void)state;

  assert_int_equal(parse(&o, err, sizeof(err), 1, "bench"), CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "URL"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 3, "bench", "ws://h/", "ws://g/"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "unexpected"));
  assert_int_equal(parse(&o, err, sizeof(err), 2, "bench", "ftp://h/"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "scheme"));
  assert_int_equal(parse(&o, err, sizeof(err), 3, "bench", "ws://h/", "--nope"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--nope"));
  assert_int_equal(parse(&o, err, sizeof(err), 3, "bench", "ws://h/", "--fps"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "needs a value"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--fps", "0"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--fps"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--fps", "-1"),
      CLI_PARSE_ERROR);
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--duration", "nan"),
      CLI_PARSE_ERROR);
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--publishers", "0"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--publishers"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--subscribers", "1x"),
      CLI_PARSE_ERROR);
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--subscribers", "-3"),
      CLI_PARSE_ERROR);
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--frame-size", "31"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--frame-size"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--threads", "0"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--threads"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--threads", "65"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "at most 64"));
  assert_int_equal(
      parse(&o, err, sizeof(err), 4, "bench", "ws://h/", "--group-frames", "0"),
      CLI_PARSE_ERROR);
  assert_int_equal(
      parse(&o, err, sizeof(err), 3, "bench", "ws://h/", "--quiet=1"),
      CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "no value"));
  assert_int_equal(parse(&o, err, sizeof(err), 4, "bench", "ws://h/",
                         "--tls-fingerprint", "abc"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--tls-fingerprint"));
  /* Too many connections in all. */
  assert_int_equal(parse(&o, err, sizeof(err), 6, "bench", "ws://h/",
                         "--publishers", "1000", "--subscribers", "1000"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "connections"));
  assert_int_equal(parse(&o, err, sizeof(err), 6, "bench", "ws://h/",
                         "--subscribers", "0", "--idle", "100000"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "connections"));
}

static void test_usage_lists_every_flag(void **state) {
  const char *u = bench_usage();
  static const char *flags[] = {"--publishers",
                                "--subscribers",
                                "--fps",
                                "--frame-size",
                                "--group-frames",
                                "--duration",
                                "--prefix",
                                "--track",
                                "--idle",
                                "--retention",
                                "--startup-timeout",
                                "--drain",
                                "--connect-rate",
                                "--threads",
                                "--verify",
                                "--quiet",
                                "--tls-fingerprint",
                                "--tls-disable-verify",
                                "--tls-root",
                                "--websocket",
                                "--verbose",
                                "--help"};
  (void)state;

  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
    assert_non_null(strstr(u, flags[i]));
  }
}

static void test_math(void **state) {
  bench_totals t;
  (void)state;

  memset(&t, 0, sizeof(t));
  assert_true(bench_delivered_fraction(&t) == 1.0); /* nothing expected */
  assert_int_equal(bench_lost_groups(&t), 0);
  t.expected_frames = 400;
  t.received_frames = 399;
  assert_true(fabs(bench_delivered_fraction(&t) - 0.9975) < 1e-12);
  t.expected_groups = 20;
  t.complete_groups = 18;
  assert_int_equal(bench_lost_groups(&t), 2);
  t.complete_groups = 21; /* never negative */
  assert_int_equal(bench_lost_groups(&t), 0);
  assert_true(bench_mbps(0, 0) == 0);
  assert_true(bench_mbps(1000, -1) == 0);
  assert_true(fabs(bench_mbps(312500, 1.0) - 2.5) < 1e-12);      /* 2.5 Mbps */
  assert_true(fabs(bench_mbps(1250000000, 10.0) - 1000) < 1e-9); /* 1 Gbps */
}

static void test_json(void **state) {
  bench_totals t;
  char buf[1024], small[16];
  size_t n;
  (void)state;

  memset(&t, 0, sizeof(t));
  t.publishers = 2;
  t.subscribers = 20;
  t.idle = 3;
  t.connected = 22;
  t.subscribed = 20;
  t.seconds = 2.0;
  t.sent_groups = 4;
  t.sent_frames = 120;
  t.sent_bytes = 250000;
  t.expected_frames = 1200;
  t.expected_groups = 40;
  t.received_groups = 40;
  t.received_frames = 1200;
  t.received_bytes = 2500000;
  t.complete_groups = 39;
  n = bench_json(&t, 0.5, 2.25, 3, buf, sizeof(buf));
  assert_true(n > 0 && n < sizeof(buf));
  assert_int_equal(strlen(buf), n);
  assert_non_null(strstr(buf, "\"sent_frames\":120,"));
  assert_non_null(strstr(buf, "\"idle\":3,"));
  assert_non_null(strstr(buf, "\"received_frames\":1200,"));
  assert_non_null(strstr(buf, "\"delivered_fraction\":1.000000,"));
  assert_non_null(strstr(buf, "\"lost_groups\":1,"));
  assert_non_null(strstr(buf, "\"ingress_mbps\":1.000,"));
  assert_non_null(strstr(buf, "\"egress_mbps\":10.000,"));
  assert_non_null(strstr(buf, "\"latency_p50_ms\":0.500,"));
  assert_non_null(strstr(buf, "\"latency_p99_ms\":2.250,"));
  assert_true(buf[0] == '{' && buf[n - 1] == '}');
  /* Cut short: the length it needs is still returned. */
  assert_int_equal(bench_json(&t, 0.5, 2.25, 3, small, sizeof(small)), n);
}

static void test_payload_header(void **state) {
  uint8_t buf[64];
  payload_info in = {123456789012ull, 1700000000123456ull, 77, 5};
  uint64_t fs, us, gs;
  (void)state;

  assert_int_equal(payload_write(buf, sizeof(buf), &in), 0);
  assert_int_equal(bench_payload_header(buf, sizeof(buf), &fs, &us, &gs), 0);
  assert_true(fs == in.frame_seq);
  assert_true(us == in.sent_us);
  assert_true(gs == in.group_seq);
  assert_int_equal(bench_payload_header(buf, PAYLOAD_HEADER, &fs, &us, &gs), 0);
  assert_int_equal(bench_payload_header(buf, PAYLOAD_HEADER - 1, &fs, &us, &gs),
                   -1);
  buf[0] ^= 1;
  assert_int_equal(bench_payload_header(buf, sizeof(buf), &fs, &us, &gs), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_usage_lists_every_flag),
      cmocka_unit_test(test_math),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_payload_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
