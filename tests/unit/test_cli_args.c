/*
 * moqc client: URL parsing and the flags of every command.
 */
#include "testutil.h"

#include "args.h"

static int parse(cli_opts *o, char *err, size_t errlen, int argc, ...) {
  char *argv[32];
  va_list ap;
  va_start(ap, argc);
  for (int i = 0; i < argc; i++) {
    argv[i] = va_arg(ap, char *);
  }
  va_end(ap);
  err[0] = '\0';
  return cli_parse(argc, argv, o, err, errlen);
}

static void test_url_schemes(void **state) {
  cli_url u;
  char err[256], ws[512];
  (void)state;

  assert_int_equal(cli_url_parse("ws://127.0.0.1:4443/anon", &u, err, sizeof(err)), 0);
  assert_int_equal(u.scheme, CLI_SCHEME_WS);
  assert_string_equal(u.host, "127.0.0.1");
  assert_int_equal(u.port, 4443);
  assert_string_equal(u.path, "/anon");
  assert_false(u.ipv6);
  assert_true(cli_url_supported(&u));
  assert_int_equal(cli_url_ws(&u, ws, sizeof(ws)), 0);
  assert_string_equal(ws, "ws://127.0.0.1:4443/anon");

  /* http:// is the WebSocket transport too; default port 80, default path "/". */
  assert_int_equal(cli_url_parse("HTTP://relay.example.com", &u, err, sizeof(err)), 0);
  assert_int_equal(u.scheme, CLI_SCHEME_HTTP);
  assert_string_equal(u.host, "relay.example.com");
  assert_int_equal(u.port, 80);
  assert_string_equal(u.path, "/");
  assert_true(cli_url_supported(&u));
  assert_int_equal(cli_url_ws(&u, ws, sizeof(ws)), 0);
  assert_string_equal(ws, "ws://relay.example.com:80/");

  /* A query stays with the path. */
  assert_int_equal(cli_url_parse("http://h:1/a/b?jwt=x.y", &u, err, sizeof(err)), 0);
  assert_string_equal(u.path, "/a/b?jwt=x.y");
  assert_int_equal(cli_url_parse("ws://h:2?jwt=1", &u, err, sizeof(err)), 0);
  assert_string_equal(u.path, "/?jwt=1");

  /* IPv6 literals keep their brackets only in the dialled URL. */
  assert_int_equal(cli_url_parse("ws://[::1]:9000/x", &u, err, sizeof(err)), 0);
  assert_true(u.ipv6);
  assert_string_equal(u.host, "::1");
  assert_int_equal(u.port, 9000);
  assert_int_equal(cli_url_ws(&u, ws, sizeof(ws)), 0);
  assert_string_equal(ws, "ws://[::1]:9000/x");
  assert_int_equal(cli_url_ws(&u, ws, 10), -1); /* too small */

  /* https:// is WebTransport (default 443). */
  assert_int_equal(cli_url_parse("https://localhost/anon", &u, err, sizeof(err)), 0);
  assert_int_equal(u.scheme, CLI_SCHEME_HTTPS);
  assert_int_equal(u.port, 443);
  assert_true(cli_url_supported(&u));
  /* moql:// is raw QUIC. */
  assert_int_equal(cli_url_parse("moql://localhost:4443", &u, err, sizeof(err)), 0);
  assert_int_equal(u.scheme, CLI_SCHEME_MOQL);
  assert_int_equal(u.port, 4443);
  assert_string_equal(u.path, "/");
  assert_true(cli_url_supported(&u));
}

static void test_url_errors(void **state) {
  static const struct {
    const char *url;
    const char *msg;
  } bad[] = {
      {"ftp://h/x", "unknown scheme"},
      {"127.0.0.1:4443", "unknown scheme"},
      {"ws://", "no host"},
      {"ws:///path", "no host"},
      {"ws://h:/x", "bad port"},
      {"ws://h:0/x", "out of range"},
      {"ws://h:65536/x", "out of range"},
      {"ws://h:99999999999999999999/x", "out of range"},
      {"ws://h:12ab/x", "unexpected 'a'"},
      {"ws://[::1/x", "unterminated"},
      {"ws://[zz]/x", "bad IPv6"},
      {"ws://h@x/", "unexpected '@'"},
      {"ws://h/a b", "bad character"},
      {"ws://h/a#frag", "bad character"},
  };
  cli_url u;
  char err[256];
  (void)state;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(cli_url_parse(bad[i].url, &u, err, sizeof(err)), -1);
    if (strstr(err, bad[i].msg) == NULL) {
      fail_msg("%s: got \"%s\", want \"%s\"", bad[i].url, err, bad[i].msg);
    }
  }
  /* Over-long host and path. */
  char longurl[2200];
  memset(longurl, 'a', sizeof(longurl));
  memcpy(longurl, "ws://", 5);
  longurl[sizeof(longurl) - 1] = '\0';
  assert_int_equal(cli_url_parse(longurl, &u, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "host too long"));
  memcpy(longurl, "ws://h/", 7);
  assert_int_equal(cli_url_parse(longurl, &u, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "path too long"));
}

static void test_fingerprint(void **state) {
  static const char hex[] = "679e91800e57af1efc3045dee97db4951d9dd074e78d2cd28dfb84129d76100f";
  uint8_t fp[32];
  cli_opts o;
  char err[256], colons[128];
  (void)state;

  assert_int_equal(cli_fingerprint_parse(hex, fp), 0);
  assert_int_equal(fp[0], 0x67);
  assert_int_equal(fp[1], 0x9e);
  assert_int_equal(fp[31], 0x0f);
  /* Upper case and colon-separated pairs (as openssl prints it) are the same. */
  size_t n = 0;
  for (size_t i = 0; i < 64; i += 2) {
    colons[n++] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    colons[n++] = (char)(hex[i + 1] >= 'a' ? hex[i + 1] - 32 : hex[i + 1]);
    colons[n++] = i + 2 < 64 ? ':' : '\0';
  }
  uint8_t fp2[32];
  assert_int_equal(cli_fingerprint_parse(colons, fp2), 0);
  assert_memory_equal(fp, fp2, 32);
  /* Too short, too long, odd, not hex, empty, stray colons. */
  assert_int_equal(cli_fingerprint_parse("679e", fp), -1);
  char longer[80];
  snprintf(longer, sizeof(longer), "%s00", hex);
  assert_int_equal(cli_fingerprint_parse(longer, fp), -1);
  snprintf(longer, sizeof(longer), "%.63s", hex);
  assert_int_equal(cli_fingerprint_parse(longer, fp), -1);
  snprintf(longer, sizeof(longer), "%.62sxz", hex);
  assert_int_equal(cli_fingerprint_parse(longer, fp), -1);
  assert_int_equal(cli_fingerprint_parse("", fp), -1);
  snprintf(longer, sizeof(longer), ":%s", hex);
  assert_int_equal(cli_fingerprint_parse(longer, fp), -1);
  snprintf(longer, sizeof(longer), "%s:", hex);
  assert_int_equal(cli_fingerprint_parse(longer, fp), -1);
  snprintf(longer, sizeof(longer), "%s\n", hex);
  assert_int_equal(cli_fingerprint_parse(longer, fp), -1);

  /* As flags of every command. */
  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "moql://h:1/", "b", "--tls-fingerprint",
                         hex),
                   CLI_PARSE_OK);
  assert_string_equal(o.tls_fingerprint, hex);
  assert_int_equal(o.fingerprint[0], 0x67);
  assert_false(o.tls_disable_verify);
  assert_int_equal(parse(&o, err, sizeof(err), 3, "announced", "moql://h:1/", "--tls-disable-verify"),
                   CLI_PARSE_OK);
  assert_true(o.tls_disable_verify);
  assert_null(o.tls_fingerprint);
  assert_int_equal(parse(&o, err, sizeof(err), 5, "pub", "moql://h:1/", "b", "--tls-fingerprint",
                         "abc"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--tls-fingerprint: \"abc\" is not 64 hex digits"));
}

static void test_pub_flags(void **state) {
  cli_opts o;
  char err[256];
  (void)state;

  /* Defaults. */
  assert_int_equal(parse(&o, err, sizeof(err), 3, "pub", "ws://h:1/anon", "bbb"), CLI_PARSE_OK);
  assert_int_equal(o.cmd, CLI_CMD_PUB);
  assert_string_equal(o.broadcast, "bbb");
  assert_string_equal(o.url_text, "ws://h:1/anon");
  assert_string_equal(o.track, "clock");
  assert_int_equal(o.groups, 0);
  assert_int_equal(o.frames_per_group, 30);
  assert_int_equal(o.frame_size, 1024);
  assert_true(o.fps == 30.0);
  assert_false(o.use_stdin);
  assert_false(o.wait_subscriber);
  assert_int_equal(o.linger_ms, 2000);

  /* Every flag, in both spellings, flags before and between positionals. */
  assert_int_equal(parse(&o, err, sizeof(err), 16, "pub", "--track", "video", "ws://h:1/",
                         "--groups=5", "b/c", "--frames-per-group", "2", "--frame-size=64",
                         "--fps", "12.5", "--wait-subscriber", "--delay=100", "--linger", "50",
                         "--verbose"),
                   CLI_PARSE_OK);
  assert_string_equal(o.track, "video");
  assert_string_equal(o.broadcast, "b/c");
  assert_int_equal(o.groups, 5);
  assert_int_equal(o.frames_per_group, 2);
  assert_int_equal(o.frame_size, 64);
  assert_true(o.fps == 12.5);
  assert_true(o.wait_subscriber);
  assert_int_equal(o.delay_ms, 100);
  assert_int_equal(o.linger_ms, 50);
  assert_true(o.verbose);
  assert_int_equal(o.payload, CLI_CHECK_MOQC);
  assert_int_equal(parse(&o, err, sizeof(err), 5, "pub", "ws://h/", "b", "--payload", "npm"),
                   CLI_PARSE_OK);
  assert_int_equal(o.payload, CLI_CHECK_NPM);
  assert_int_equal(parse(&o, err, sizeof(err), 4, "pub", "ws://h/", "b", "--payload=moqc"),
                   CLI_PARSE_OK);
  assert_int_equal(o.payload, CLI_CHECK_MOQC);

  /* --stdin allows frames below the synthetic header size. */
  assert_int_equal(
      parse(&o, err, sizeof(err), 6, "pub", "ws://h/", "b", "--stdin", "--frame-size", "1"),
      CLI_PARSE_OK);
  assert_true(o.use_stdin);
  assert_int_equal(o.frame_size, 1);

  /* "--" ends the flags: a broadcast may start with a dash. */
  assert_int_equal(parse(&o, err, sizeof(err), 4, "pub", "ws://h/", "--", "-odd"), CLI_PARSE_OK);
  assert_string_equal(o.broadcast, "-odd");

  assert_int_equal(parse(&o, err, sizeof(err), 4, "pub", "ws://h/", "b", "--help"),
                   CLI_PARSE_HELP);
  assert_int_equal(o.cmd, CLI_CMD_PUB);
  assert_int_equal(parse(&o, err, sizeof(err), 2, "pub", "-h"), CLI_PARSE_HELP);
}

static void test_pub_flag_errors(void **state) {
  static const struct {
    int argc;
    const char *argv[8];
    const char *msg;
  } bad[] = {
      {4, {"pub", "ws://h/", "b", "--groups"}, "--groups needs a value"},
      {5, {"pub", "ws://h/", "b", "--groups", "-1"}, "--groups: \"-1\" is not"},
      {5, {"pub", "ws://h/", "b", "--groups", "3x"}, "--groups: \"3x\" is not"},
      {5, {"pub", "ws://h/", "b", "--groups", ""}, "--groups: \"\" is not"},
      {5, {"pub", "ws://h/", "b", "--frames-per-group", "0"}, "--frames-per-group: 0 is out of range"},
      {5, {"pub", "ws://h/", "b", "--frame-size", "0"}, "--frame-size: 0 is out of range"},
      {5, {"pub", "ws://h/", "b", "--frame-size", "31"}, "--frame-size: 31 is below 32"},
      {5, {"pub", "ws://h/", "b", "--frame-size", "99999999"}, "--frame-size: 99999999 is out of range"},
      {5, {"pub", "ws://h/", "b", "--fps", "fast"}, "--fps: \"fast\" is not a number"},
      {5, {"pub", "ws://h/", "b", "--fps", "-2"}, "--fps: \"-2\" is not a number"},
      {5, {"pub", "ws://h/", "b", "--fps", "nan"}, "--fps: \"nan\" is not a number"},
      {5, {"pub", "ws://h/", "b", "--fps", "1e9"}, "--fps: \"1e9\" is not a number"},
      {5, {"pub", "ws://h/", "b", "--track", ""}, "--track: empty value"},
      {5, {"pub", "ws://h/", "b", "--payload", "json"}, "--payload: unknown format \"json\""},
      {4, {"pub", "ws://h/", "b", "--stdin=yes"}, "--stdin takes no value"},
      {4, {"pub", "ws://h/", "b", "--count=3"}, "unknown flag \"--count\" for pub"},
      {4, {"pub", "ws://h/", "b", "-x"}, "unknown flag \"-x\""},
      {6, {"pub", "ws://h/", "b", "--stdin", "--groups", "2"}, "--groups cannot be used with --stdin"},
      {2, {"pub", "ws://h/"}, "missing BROADCAST"},
      {1, {"pub"}, "missing URL"},
      {4, {"pub", "ws://h/", "b", "extra"}, "unexpected argument \"extra\""},
      {3, {"pub", "ws://h/", ""}, "BROADCAST is empty"},
      {3, {"pub", "gopher://h/", "b"}, "unknown scheme"},
      {3, {"publish", "ws://h/", "b"}, "unknown command \"publish\""},
  };
  cli_opts o;
  char err[256];
  (void)state;

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(cli_parse(bad[i].argc, (char **)bad[i].argv, &o, err, sizeof(err)),
                     CLI_PARSE_ERROR);
    if (strstr(err, bad[i].msg) == NULL) {
      fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].msg);
    }
  }
}

static void test_sub_flags(void **state) {
  cli_opts o;
  char err[256];
  (void)state;

  assert_int_equal(parse(&o, err, sizeof(err), 3, "sub", "http://h:1/anon", "bbb"),
                   CLI_PARSE_OK);
  assert_int_equal(o.cmd, CLI_CMD_SUB);
  assert_int_equal(o.count, 0);
  assert_true(o.timeout_s == 0);
  assert_false(o.json);
  assert_false(o.quiet);
  assert_int_equal(o.check, CLI_CHECK_MOQC);

  assert_int_equal(parse(&o, err, sizeof(err), 10, "sub", "ws://h/", "b", "--count", "7",
                         "--timeout=2.5", "--json", "--check", "npm", "--track=t"),
                   CLI_PARSE_OK);
  assert_int_equal(o.count, 7);
  assert_true(o.timeout_s == 2.5);
  assert_true(o.json);
  assert_true(o.quiet); /* implied by --json */
  assert_int_equal(o.check, CLI_CHECK_NPM);
  assert_string_equal(o.track, "t");

  assert_int_equal(parse(&o, err, sizeof(err), 4, "sub", "ws://h/", "b", "--no-check"),
                   CLI_PARSE_OK);
  assert_int_equal(o.check, CLI_CHECK_NONE);
  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "ws://h/", "b", "--check", "none"),
                   CLI_PARSE_OK);
  assert_int_equal(o.check, CLI_CHECK_NONE);
  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "ws://h/", "b", "--check", "moqc"),
                   CLI_PARSE_OK);
  assert_int_equal(o.check, CLI_CHECK_MOQC);
  assert_int_equal(parse(&o, err, sizeof(err), 4, "sub", "ws://h/", "b", "--quiet"),
                   CLI_PARSE_OK);
  assert_true(o.quiet);
  assert_false(o.json);
  assert_null(o.output);
  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "ws://h/", "b", "--output", "f.bin"),
                   CLI_PARSE_OK);
  assert_string_equal(o.output, "f.bin");
  assert_false(o.quiet);
  assert_int_equal(parse(&o, err, sizeof(err), 4, "sub", "ws://h/", "b", "--output=-"),
                   CLI_PARSE_OK);
  assert_string_equal(o.output, "-");
  assert_true(o.quiet); /* payloads on stdout: no frame lines */

  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "ws://h/", "b", "--check", "crc"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--check: unknown mode \"crc\""));
  assert_int_equal(parse(&o, err, sizeof(err), 4, "sub", "ws://h/", "b", "--no-check=1"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--no-check takes no value"));
  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "ws://h/", "b", "--timeout", "soon"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "--timeout: \"soon\""));
  assert_int_equal(parse(&o, err, sizeof(err), 5, "sub", "ws://h/", "b", "--groups", "1"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "unknown flag \"--groups\" for sub"));
  assert_int_equal(parse(&o, err, sizeof(err), 4, "sub", "ws://h/", "b", "--help"),
                   CLI_PARSE_HELP);
}

static void test_announced_flags(void **state) {
  cli_opts o;
  char err[256];
  (void)state;

  assert_int_equal(parse(&o, err, sizeof(err), 2, "announced", "ws://h/anon"), CLI_PARSE_OK);
  assert_int_equal(o.cmd, CLI_CMD_ANNOUNCED);
  assert_string_equal(o.prefix, "");
  assert_false(o.follow);
  assert_int_equal(o.settle_ms, 300);
  assert_int_equal(parse(&o, err, sizeof(err), 6, "announced", "ws://h/", "demo", "--follow",
                         "--settle", "50"),
                   CLI_PARSE_OK);
  assert_string_equal(o.prefix, "demo");
  assert_true(o.follow);
  assert_int_equal(o.settle_ms, 50);
  assert_int_equal(parse(&o, err, sizeof(err), 4, "announced", "ws://h/", "a", "b"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "unexpected argument \"b\""));
  assert_int_equal(parse(&o, err, sizeof(err), 1, "announced"), CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "missing URL"));
  assert_int_equal(parse(&o, err, sizeof(err), 3, "announced", "ws://h/", "--json"),
                   CLI_PARSE_ERROR);
  assert_non_null(strstr(err, "unknown flag \"--json\" for announced"));
}

/* Every flag a command accepts appears in its --help text, and vice versa for the common ones. */
static void test_help_lists_flags(void **state) {
  static const char *pub_flags[] = {"--track", "--groups", "--frames-per-group", "--frame-size",
                                    "--fps", "--stdin", "--payload", "--tls-disable-verify", "--wait-subscriber", "--delay",
                                    "--linger", "--verbose", "--help"};
  static const char *sub_flags[] = {"--track", "--count", "--timeout", "--json", "--quiet",
                                    "--check", "--no-check", "--output", "--tls-fingerprint",
                                    "--tls-disable-verify", "--verbose", "--help"};
  static const char *ann_flags[] = {"--follow", "--settle", "--timeout", "--tls-fingerprint",
                                    "--tls-disable-verify", "--verbose", "--help"};
  cli_opts o;
  char err[256];
  (void)state;

  for (size_t i = 0; i < sizeof(pub_flags) / sizeof(pub_flags[0]); i++) {
    assert_non_null(strstr(cli_usage(CLI_CMD_PUB), pub_flags[i]));
  }
  for (size_t i = 0; i < sizeof(sub_flags) / sizeof(sub_flags[0]); i++) {
    assert_non_null(strstr(cli_usage(CLI_CMD_SUB), sub_flags[i]));
  }
  for (size_t i = 0; i < sizeof(ann_flags) / sizeof(ann_flags[0]); i++) {
    assert_non_null(strstr(cli_usage(CLI_CMD_ANNOUNCED), ann_flags[i]));
  }
  /* And each listed flag is accepted by the parser (value flags get a valid value). */
  for (size_t i = 0; i + 1 < sizeof(pub_flags) / sizeof(pub_flags[0]); i++) {
    const char *f = pub_flags[i];
    bool boolean = strcmp(f, "--stdin") == 0 || strcmp(f, "--wait-subscriber") == 0 ||
                   strcmp(f, "--verbose") == 0 || strcmp(f, "--tls-disable-verify") == 0;
    const char *v = strcmp(f, "--payload") == 0 ? "npm" : "40";
    int rv = boolean ? parse(&o, err, sizeof(err), 4, "pub", "ws://h/", "b", f)
                     : parse(&o, err, sizeof(err), 5, "pub", "ws://h/", "b", f, v);
    if (rv != CLI_PARSE_OK) {
      fail_msg("%s: %s", f, err);
    }
  }
  assert_non_null(strstr(cli_usage_main(), "announced"));
  assert_non_null(strstr(cli_usage_main(), "bench URL"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_url_schemes),     cmocka_unit_test(test_url_errors),
      cmocka_unit_test(test_pub_flags),       cmocka_unit_test(test_pub_flag_errors),
      cmocka_unit_test(test_sub_flags),       cmocka_unit_test(test_announced_flags),
      cmocka_unit_test(test_help_lists_flags), cmocka_unit_test(test_fingerprint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
