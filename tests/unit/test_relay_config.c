/*
 * moqc-relay configuration: embedded default, TOML file, flags, precedence and errors.
 */
#include "testutil.h"

#include <unistd.h>

#include "config.h"

static int parse(relay_config *cfg, char *err, size_t errlen, bool *help, int argc, ...) {
  char *argv[32];
  va_list ap;
  int i;

  argv[0] = (char *)"moqc-relay";
  va_start(ap, argc);
  for (i = 1; i <= argc; i++) {
    argv[i] = va_arg(ap, char *);
  }
  va_end(ap);
  return relay_config_parse_args(cfg, argc + 1, argv, help, err, errlen);
}

static void test_default(void **state) {
  relay_config cfg;
  (void)state;
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_string_equal(cfg.server_bind, "[::]:4443");
  assert_string_equal(cfg.web_http_listen, "[::]:4443");
  assert_string_equal(cfg.internal_listen, "127.0.0.1:4444");
  assert_int_equal(cfg.tls_generate.count, 1);
  assert_string_equal(cfg.tls_generate.items[0], "localhost");
  assert_int_equal(cfg.auth_public.count, 1);
  assert_string_equal(cfg.auth_public.items[0], "");
  /* The default public "" is not the user's: --auth-key alone turns anonymous access off. */
  assert_false(cfg.auth_public_set);
  assert_null(cfg.auth_key);
  assert_true(cfg.stats_enabled);
  assert_string_equal(cfg.stats_prefix, ".stats");
  assert_int_equal(cfg.stats_interval, 1);
  assert_string_equal(cfg.log_level, "info");
  assert_int_equal(cfg.quic_idle_timeout_ms, 30000);
  assert_int_equal(cfg.quic_keep_alive_ms, 5000);
  assert_int_equal(cfg.http_head_timeout_ms, 10000);
  assert_int_equal(cfg.workers, 0); /* one per core */
  assert_int_equal(cfg.cache_duration_ms, 0);
  assert_int_equal(cfg.group_wait_max, 0);
  relay_config_free(&cfg);
}

static void test_flags(void **state) {
  relay_config cfg;
  char err[256] = "";
  bool help;
  (void)state;
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 8, "--server-bind", "127.0.0.1:5000",
                         "--auth-public=anon", "--auth-public", "demo", "--stats-enabled=false",
                         "--stats-interval", "5"),
                   0);
  assert_false(help);
  assert_string_equal(cfg.server_bind, "127.0.0.1:5000");
  /* The first --auth-public replaces the default list; later ones add. */
  assert_int_equal(cfg.auth_public.count, 2);
  assert_string_equal(cfg.auth_public.items[0], "anon");
  assert_string_equal(cfg.auth_public.items[1], "demo");
  assert_true(cfg.auth_public_set);
  assert_false(cfg.stats_enabled);
  assert_int_equal(cfg.stats_interval, 5);
  /* A bare boolean flag means true. */
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--stats-enabled"), 0);
  assert_true(cfg.stats_enabled);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 5, "--server-quic-idle-timeout", "2000",
                         "--server-quic-keep-alive=0", "--web-http-head-timeout", "4000"),
                   0);
  assert_int_equal(cfg.quic_idle_timeout_ms, 2000);
  assert_int_equal(cfg.quic_keep_alive_ms, 0);
  assert_int_equal(cfg.http_head_timeout_ms, 4000);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--server-group-wait", "1"), 0);
  assert_int_equal(cfg.group_wait_max, 1);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--server-group-wait=65537"), -1);
  assert_non_null(strstr(err, "server-group-wait"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--cache-duration", "1500"), 0);
  assert_int_equal(cfg.cache_duration_ms, 1500);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--server-workers=0"), 0);
  assert_int_equal(cfg.workers, 0);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--server-workers", "64"), 0);
  assert_int_equal(cfg.workers, 64);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--server-workers=65"), -1);
  assert_non_null(strstr(err, "server-workers"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--help"), 0);
  assert_true(help);
  relay_config_free(&cfg);
}

static void test_flag_errors(void **state) {
  relay_config cfg;
  char err[256];
  bool help;
  (void)state;
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--no-such-flag"), -1);
  assert_non_null(strstr(err, "--no-such-flag"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--stats-interval", "0"), -1);
  assert_non_null(strstr(err, "--stats-interval"));
  /* Timeouts have floors: a 10 ms idle timeout or head timeout would drop every peer. */
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--server-quic-idle-timeout", "10"), -1);
  assert_non_null(strstr(err, "--server-quic-idle-timeout"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--web-http-head-timeout", "0"), -1);
  assert_non_null(strstr(err, "--web-http-head-timeout"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--stats-interval", "12x"), -1);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--stats-enabled=maybe"), -1);
  assert_non_null(strstr(err, "--stats-enabled"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "--server-bind"), -1);
  assert_non_null(strstr(err, "needs a value"));
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "a.toml", "b.toml"), -1);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 1, "/nonexistent/relay.toml"), -1);
  assert_non_null(strstr(err, "/nonexistent/relay.toml"));
  relay_config_free(&cfg);
}

static const char sample[] = "# A moq-relay style config.\n"
                             "[log]\n"
                             "level = \"debug\"\n"
                             "\n"
                             "[server]\n"
                             "bind = \"[::]:9443\"\n"
                             "workers = 4\n"
                             "\n"
                             "[server.tls]\n"
                             "generate = [\"localhost\", \"relay.example\"]\n"
                             "\n"
                             "[server.quic]\n"
                             "idle_timeout = 15000\n"
                             "keep_alive = 1000\n"
                             "\n"
                             "[web.http]\n"
                             "head_timeout = 3000\n"
                             "\n"
                             "[auth]\n"
                             "public = \"anon\"\n"
                             "\n"
                             "[stats]\n"
                             "enabled = true\n"
                             "interval = 2\n"
                             "node = \"sjc/1\"\n"
                             "\n"
                             "[cluster]\n"
                             "connect = []\n";

static void test_toml(void **state) {
  relay_config cfg;
  char err[256] = "";
  (void)state;
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_int_equal(relay_config_load_toml(&cfg, "relay.toml", sample, strlen(sample), err,
                                          sizeof(err)),
                   0);
  assert_string_equal(cfg.log_level, "debug");
  assert_string_equal(cfg.server_bind, "[::]:9443");
  assert_int_equal(cfg.workers, 4);
  assert_int_equal(cfg.tls_generate.count, 2);
  assert_string_equal(cfg.tls_generate.items[1], "relay.example");
  assert_int_equal(cfg.quic_idle_timeout_ms, 15000);
  assert_int_equal(cfg.quic_keep_alive_ms, 1000);
  assert_int_equal(cfg.http_head_timeout_ms, 3000);
  assert_int_equal(cfg.auth_public.count, 1);
  assert_string_equal(cfg.auth_public.items[0], "anon");
  assert_true(cfg.auth_public_set);
  assert_int_equal(cfg.stats_interval, 2);
  assert_string_equal(cfg.stats_node, "sjc/1");
  assert_int_equal(cfg.cluster_connect.count, 0);
  /* Untouched keys keep the default. */
  assert_string_equal(cfg.internal_listen, "127.0.0.1:4444");
  relay_config_free(&cfg);
}

static void expect_toml_error(const char *text, const char *needle) {
  relay_config cfg;
  char err[256] = "";
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_int_equal(relay_config_load_toml(&cfg, "bad.toml", text, strlen(text), err, sizeof(err)),
                   -1);
  if (strstr(err, needle) == NULL) {
    fail_msg("error \"%s\" does not name \"%s\"", err, needle);
  }
  relay_config_free(&cfg);
}

static void test_toml_errors(void **state) {
  (void)state;
  expect_toml_error("[server]\nbindd = \"x\"\n", "bad.toml:2:1: server.bindd: unknown key");
  expect_toml_error("[nope]\nx = 1\n", "nope.x: unknown key");
  expect_toml_error("[stats]\ninterval = \"fast\"\n", "stats.interval: expected an integer");
  expect_toml_error("[stats]\ninterval = 0\n", "stats.interval: expected a whole number");
  expect_toml_error("[stats]\nenabled = 1\n", "stats.enabled: expected true or false");
  expect_toml_error("[server]\nbind = 4443\n", "server.bind: expected a string");
  expect_toml_error("[server.tls]\ngenerate = [1]\n", "expected an array of strings");
  expect_toml_error("[server\n", "bad.toml:1:");
}

static void test_file_then_flags(void **state) {
  relay_config cfg;
  char path[] = "/tmp/moqc-relay-config-XXXXXX";
  char err[256] = "";
  bool help;
  int fd = mkstemp(path);
  (void)state;
  assert_true(fd >= 0);
  assert_int_equal(write(fd, sample, strlen(sample)), (ssize_t)strlen(sample));
  close(fd);
  assert_int_equal(relay_config_default(&cfg), 0);
  /* The file is applied first wherever it stands; flags win. */
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 3, "--server-bind", "[::1]:1", path), 0);
  assert_string_equal(cfg.server_bind, "[::1]:1");
  assert_string_equal(cfg.log_level, "debug");
  unlink(path);
  relay_config_free(&cfg);
}

/* [auth] key and an explicitly empty public list (no anonymous access). */
static void test_toml_auth(void **state) {
  relay_config cfg;
  char err[256] = "";
  bool help;
  static const char text[] = "[auth]\nkey = \"/etc/moqc/root.jwk\"\npublic = []\n";
  (void)state;
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_int_equal(relay_config_load_toml(&cfg, "auth.toml", text, strlen(text), err, sizeof(err)),
                   0);
  assert_string_equal(cfg.auth_key, "/etc/moqc/root.jwk");
  assert_int_equal(cfg.auth_public.count, 0);
  assert_true(cfg.auth_public_set);
  relay_config_free(&cfg);
  assert_int_equal(relay_config_default(&cfg), 0);
  assert_int_equal(parse(&cfg, err, sizeof(err), &help, 2, "--auth-key", "k.jwk"), 0);
  assert_string_equal(cfg.auth_key, "k.jwk");
  assert_false(cfg.auth_public_set);
  relay_config_free(&cfg);
}

static void test_usage_lists_flags(void **state) {
  char buf[8192];
  size_t n;
  const char *flags[] = {"--server-bind",   "--tls-cert",       "--tls-key",
                         "--tls-generate",  "--web-http-listen", "--internal-listen",
                         "--auth-key",      "--auth-public",     "--stats-enabled",
                         "--stats-prefix",  "--stats-interval",  "--stats-node",
                         "--cluster-connect", "--cluster-node",  "--log-level",
                         "--cache-capacity", "--server-quic-idle-timeout",
                         "--server-quic-keep-alive", "--web-http-head-timeout", "--help"};
  (void)state;
  n = relay_config_usage(buf, sizeof(buf), "moqc-relay");
  assert_true(n > 0 && n < sizeof(buf));
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
    if (strstr(buf, flags[i]) == NULL) {
      fail_msg("--help lacks %s", flags[i]);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default),      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_flag_errors),  cmocka_unit_test(test_toml),
      cmocka_unit_test(test_toml_errors),  cmocka_unit_test(test_file_then_flags),
      cmocka_unit_test(test_usage_lists_flags), cmocka_unit_test(test_toml_auth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
