/*
 * moqc client: the transport plan of each URL and flag set, the WebTransport URL, the server
 * verification chosen by the flags, and the parsing of /certificate.sha256 answers.
 */
#include "testutil.h"

#include <moqc/error.h>

#include "args.h"
#include "wt_plan.h"

#define FP "9c11438d50b21d87b05b3475cce57ed3699510e4966ccf1b6c2991448c2dec1a"

static int plan_of(cli_plan *plan, char *err, size_t errlen, int argc, ...) {
  char *argv[16];
  cli_opts o;
  va_list ap;
  va_start(ap, argc);
  for (int i = 0; i < argc; i++) {
    argv[i] = va_arg(ap, char *);
  }
  va_end(ap);
  err[0] = '\0';
  if (cli_parse(argc, argv, &o, err, errlen) != CLI_PARSE_OK) {
    return -2;
  }
  return cli_plan_for(&o, plan, err, errlen);
}

static void test_plans(void **state) {
  cli_plan p;
  char err[256];
  (void)state;

  assert_int_equal(plan_of(&p, err, sizeof(err), 3, "sub", "ws://h:1/a", "b"), 0);
  assert_int_equal(p, CLI_PLAN_WS);
  assert_int_equal(plan_of(&p, err, sizeof(err), 3, "sub", "http://h:1/a", "b"), 0);
  assert_int_equal(p, CLI_PLAN_DEV);
  assert_int_equal(plan_of(&p, err, sizeof(err), 4, "sub", "http://h:1/a", "b", "--websocket"), 0);
  assert_int_equal(p, CLI_PLAN_WS);
  assert_int_equal(plan_of(&p, err, sizeof(err), 3, "pub", "https://h:1/a", "b"), 0);
  assert_int_equal(p, CLI_PLAN_WT);
  assert_int_equal(plan_of(&p, err, sizeof(err), 2, "announced", "moql://h:1/"), 0);
  assert_int_equal(p, CLI_PLAN_QUIC);
  /* The TLS flags go with https:// and moql://; a pin also with http:// (then used instead of
   * fetching /certificate.sha256). */
  assert_int_equal(
      plan_of(&p, err, sizeof(err), 5, "sub", "https://h:1/a", "b", "--tls-fingerprint", FP), 0);
  assert_int_equal(p, CLI_PLAN_WT);
  assert_int_equal(plan_of(&p, err, sizeof(err), 5, "sub", "https://h/a", "b", "--tls-root",
                           "/etc/ssl/certs/ca-certificates.crt"),
                   0);
  assert_int_equal(p, CLI_PLAN_WT);
  assert_int_equal(plan_of(&p, err, sizeof(err), 4, "sub", "https://h/a", "b", "--tls-disable-verify"),
                   0);
  assert_int_equal(
      plan_of(&p, err, sizeof(err), 5, "sub", "http://h:1/a", "b", "--tls-fingerprint", FP), 0);
  assert_int_equal(p, CLI_PLAN_DEV);
}

static void test_plan_errors(void **state) {
  cli_plan p;
  char err[256];
  (void)state;

  assert_int_equal(plan_of(&p, err, sizeof(err), 4, "sub", "https://h/a", "b", "--websocket"), -1);
  assert_non_null(strstr(err, "--websocket"));
  assert_int_equal(plan_of(&p, err, sizeof(err), 4, "sub", "moql://h/a", "b", "--websocket"), -1);
  assert_non_null(strstr(err, "--websocket"));
  assert_int_equal(plan_of(&p, err, sizeof(err), 5, "sub", "ws://h/a", "b", "--tls-fingerprint", FP),
                   -1);
  assert_non_null(strstr(err, "--tls-"));
  assert_int_equal(plan_of(&p, err, sizeof(err), 5, "sub", "http://h/a", "b", "--websocket",
                           "--tls-disable-verify"),
                   -1);
  assert_int_equal(plan_of(&p, err, sizeof(err), 7, "sub", "https://h/a", "b", "--tls-root", "x",
                           "--tls-fingerprint", FP),
                   -1);
  assert_non_null(strstr(err, "together"));
  assert_int_equal(plan_of(&p, err, sizeof(err), 5, "sub", "http://h/a", "b", "--tls-root", "x"),
                   -1);
  assert_non_null(strstr(err, "--tls-root"));
  /* Flag errors come from cli_parse: an empty --tls-root, --websocket with a value. */
  assert_int_equal(plan_of(&p, err, sizeof(err), 4, "sub", "https://h/a", "b", "--tls-root="), -2);
  assert_int_equal(plan_of(&p, err, sizeof(err), 4, "sub", "http://h/a", "b", "--websocket=1"), -2);
}

static void test_url_wt(void **state) {
  cli_url u;
  char err[256], buf[512];
  (void)state;

  assert_int_equal(cli_url_parse("http://127.0.0.1:4443/anon?jwt=x", &u, err, sizeof(err)), 0);
  assert_int_equal(cli_url_wt(&u, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "https://127.0.0.1:4443/anon?jwt=x");
  assert_int_equal(cli_url_parse("https://[::1]/", &u, err, sizeof(err)), 0);
  assert_int_equal(cli_url_wt(&u, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "https://[::1]:443/");
  assert_int_equal(cli_url_wt(&u, buf, 18), -1); /* one byte short */
  assert_int_equal(cli_url_wt(&u, buf, 19), 0);
}

static void test_tls_verify(void **state) {
  char *a1[] = {"sub", "https://h/a", "b"};
  char *a2[] = {"sub", "https://h/a", "b", "--tls-fingerprint", FP};
  char *a3[] = {"sub", "https://h/a", "b", "--tls-root", "/tmp/roots.pem"};
  char *a4[] = {"sub", "https://h/a", "b", "--tls-disable-verify"};
  char err[256];
  moqc_tls_verify v;
  cli_opts o;
  (void)state;

  assert_int_equal(cli_parse(3, a1, &o, err, sizeof(err)), CLI_PARSE_OK);
  cli_tls_verify_for(&o, &v);
  assert_int_equal(v.mode, MOQC_TLS_VERIFY_SYSTEM);
  assert_int_equal(cli_parse(5, a2, &o, err, sizeof(err)), CLI_PARSE_OK);
  cli_tls_verify_for(&o, &v);
  assert_int_equal(v.mode, MOQC_TLS_VERIFY_PIN);
  assert_int_equal(v.npins, 1);
  assert_int_equal(v.pins[0][0], 0x9c);
  assert_int_equal(v.pins[0][31], 0x1a);
  assert_int_equal(cli_parse(5, a3, &o, err, sizeof(err)), CLI_PARSE_OK);
  cli_tls_verify_for(&o, &v);
  assert_int_equal(v.mode, MOQC_TLS_VERIFY_CA_FILE);
  assert_string_equal(v.ca_file, "/tmp/roots.pem");
  assert_int_equal(cli_parse(4, a4, &o, err, sizeof(err)), CLI_PARSE_OK);
  cli_tls_verify_for(&o, &v);
  assert_int_equal(v.mode, MOQC_TLS_VERIFY_NONE);
}

static void test_http_head(void **state) {
  static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" FP;
  static const char nf[] = "HTTP/1.0 404\r\n\r\n";
  int status = 0;
  size_t body = 0;
  (void)state;

  assert_int_equal(cli_http_head_parse(ok, strlen(ok), &status, &body), 0);
  assert_int_equal(status, 200);
  assert_int_equal(body, strlen(ok) - 64);
  assert_int_equal(cli_http_head_parse(nf, strlen(nf), &status, &body), 0);
  assert_int_equal(status, 404);
  assert_int_equal(body, strlen(nf));
  /* Every truncation of the head is incomplete, and leaves the outputs alone. */
  for (size_t n = 0; n < strlen(ok) - 64; n++) {
    status = -7;
    assert_int_equal(cli_http_head_parse(ok, n, &status, &body), MOQC_ERR_INCOMPLETE);
    assert_int_equal(status, -7);
  }
  static const char *bad[] = {
      "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n", "HTTP/1.1 2000 X\r\n\r\n",
      "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1\r\n\r\n",        "GET / HTTP/1.1\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(cli_http_head_parse(bad[i], strlen(bad[i]), &status, &body),
                     MOQC_ERR_MALFORMED);
  }
}

static void test_cert_body(void **state) {
  static const char colons[] = "9C:11:43:8D:50:B2:1D:87:B0:5B:34:75:CC:E5:7E:D3:69:95:10:E4:96:6C:"
                               "CF:1B:6C:29:91:44:8C:2D:EC:1A";
  uint8_t fp[32];
  (void)state;

  assert_int_equal(cli_cert_body_parse(FP, 64, fp), 0);
  assert_int_equal(fp[0], 0x9c);
  assert_int_equal(fp[31], 0x1a);
  assert_int_equal(cli_cert_body_parse(" \r\n" FP "\r\n", 69, fp), 0);
  assert_int_equal(fp[1], 0x11);
  assert_int_equal(cli_cert_body_parse(colons, strlen(colons), fp), 0);
  assert_int_equal(fp[30], 0xec);
  assert_int_equal(cli_cert_body_parse(FP, 63, fp), -1);      /* short */
  assert_int_equal(cli_cert_body_parse(FP "00", 66, fp), -1); /* long */
  assert_int_equal(cli_cert_body_parse("", 0, fp), -1);
  assert_int_equal(cli_cert_body_parse("\r\n", 2, fp), -1);
  assert_int_equal(cli_cert_body_parse("<html>not found</html>", 22, fp), -1);
  assert_int_equal(cli_cert_body_parse(FP "\0", 65, fp), -1); /* a NUL is not white space */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plans),      cmocka_unit_test(test_plan_errors),
      cmocka_unit_test(test_url_wt),     cmocka_unit_test(test_tls_verify),
      cmocka_unit_test(test_http_head),  cmocka_unit_test(test_cert_body),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
