/*
 * TOML subset reader: a moq-relay style configuration, lookups, and every error with its line,
 * column and key.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include "wire/toml.h"

/* Modelled on moq-relay's configuration sections (spec/relay-features.md 1.2). */
static const char relay_config[] =
    "# moq-relay style configuration\n"
    "[log]\n"
    "level = \"debug\"   # or info\n"
    "\n"
    "[server]\n"
    "bind = \"[::]:4443\"\n"
    "version = [\"moq-lite-05\", \"moq-lite-04\"]\n"
    "\n"
    "[server.tls]\n"
    "generate = [\"localhost\"]\n"
    "cert = [\n"
    "  \"cert.pem\",   # first\n"
    "  'C:\\certs\\other.pem',\n"
    "]\n"
    "key = \"key.pem\"\n"
    "\n"
    "[server.quic]\n"
    "max_streams = 10_000\n"
    "idle_timeout = \"30s\"\n"
    "gso = true\n"
    "mtu_discovery = false\n"
    "\n"
    "[web.http]\n"
    "listen = \"[::]:4443\"\n"
    "\n"
    "[web]\n"
    "ws = true\n"
    "\n"
    "[auth]\n"
    "public = \"anon\"\n"
    "\"key\" = \"root.jwk\"\n"
    "\n"
    "[cluster]\n"
    "connect = []\n"
    "linger = \"5s\"\n"
    "\n"
    "[stats]\n"
    "enabled = true\n"
    "prefix = \".stats\"\n"
    "interval = 1\n"
    "depth = 0x2\n"
    "node.name = \"relay-1\"\n"
    "node.weight = -3\n"
    "\n"
    "[cache]\n"
    "capacity = \"50%\"\r\n"
    "duration = \"5s\"\n"
    "escapes = \"tab\\there \\\"q\\\" \\u00e9\\U0001F600\"\n"
    "more = \"\\b\\n\\f\\r\\\\\\u0041\\u20AC\"\n";

static moqc__toml_doc *parse_ok(const char *text) {
  moqc__toml_doc *doc = NULL;
  moqc__toml_error err;
  int rv = moqc__toml_parse(text, strlen(text), NULL, &doc, &err);
  if (rv != 0) {
    print_error("unexpected error %d:%d %s: %s\n", err.line, err.column, err.key,
                err.message ? err.message : "");
  }
  assert_int_equal(rv, 0);
  return doc;
}

static bool str_is(moqc_str s, const char *c) { return moqc_str_eq(s, moqc_str_c(c)); }

static void test_toml_relay_config(void **state) {
  moqc__toml_doc *doc = parse_ok(relay_config);
  const moqc__toml_node *root = moqc__toml_root(doc), *n;
  moqc__toml_error err;
  moqc_str s, list[4];
  size_t count;
  int64_t i;
  bool b;
  unsigned line, col;
  (void)state;

  assert_int_equal(moqc__toml_type_of(root), MOQC__TOML_TABLE);
  assert_int_equal(moqc__toml_count(root), 7); /* log server web auth cluster stats cache */
  assert_int_equal(moqc__toml_get_string(root, "log.level", &s, &err), 0);
  assert_true(str_is(s, "debug"));
  assert_int_equal(moqc__toml_get_string(root, "server.bind", &s, &err), 0);
  assert_true(str_is(s, "[::]:4443"));
  assert_int_equal(moqc__toml_get_strings(root, "server.version", list, 4, &count, &err), 0);
  assert_int_equal(count, 2);
  assert_true(str_is(list[0], "moq-lite-05"));
  assert_true(str_is(list[1], "moq-lite-04"));
  assert_int_equal(moqc__toml_get_strings(root, "server.tls.cert", list, 4, &count, &err), 0);
  assert_int_equal(count, 2);
  assert_true(str_is(list[0], "cert.pem"));
  assert_true(str_is(list[1], "C:\\certs\\other.pem"));
  /* A single string is a one-element list. */
  assert_int_equal(moqc__toml_get_strings(root, "server.tls.key", list, 4, &count, &err), 0);
  assert_int_equal(count, 1);
  assert_true(str_is(list[0], "key.pem"));
  assert_int_equal(moqc__toml_get_int(root, "server.quic.max_streams", 1, 100000, &i, &err), 0);
  assert_int_equal(i, 10000);
  assert_int_equal(moqc__toml_get_bool(root, "server.quic.gso", &b, &err), 0);
  assert_true(b);
  assert_int_equal(moqc__toml_get_bool(root, "server.quic.mtu_discovery", &b, &err), 0);
  assert_false(b);
  assert_int_equal(moqc__toml_get_string(root, "web.http.listen", &s, &err), 0);
  assert_true(str_is(s, "[::]:4443"));
  assert_int_equal(moqc__toml_get_bool(root, "web.ws", &b, &err), 0);
  assert_true(b);
  assert_int_equal(moqc__toml_get_string(root, "auth.key", &s, &err), 0);
  assert_true(str_is(s, "root.jwk"));
  n = moqc__toml_get(root, "cluster.connect");
  assert_int_equal(moqc__toml_type_of(n), MOQC__TOML_ARRAY);
  assert_int_equal(moqc__toml_count(n), 0);
  assert_int_equal(moqc__toml_get_int(root, "stats.depth", 0, 8, &i, &err), 0);
  assert_int_equal(i, 2);
  assert_int_equal(moqc__toml_get_string(root, "stats.node.name", &s, &err), 0);
  assert_true(str_is(s, "relay-1"));
  assert_int_equal(moqc__toml_get_int(root, "stats.node.weight", INT64_MIN, INT64_MAX, &i, &err),
                   0);
  assert_int_equal(i, -3);
  assert_int_equal(moqc__toml_get_string(root, "cache.capacity", &s, &err), 0);
  assert_true(str_is(s, "50%"));
  assert_int_equal(moqc__toml_get_string(root, "cache.escapes", &s, &err), 0);
  assert_true(str_is(s, "tab\there \"q\" \xc3\xa9\xf0\x9f\x98\x80"));
  assert_int_equal(moqc__toml_get_string(root, "cache.more", &s, &err), 0);
  assert_true(str_is(s, "\b\n\f\r\\A\xe2\x82\xac"));
  /* Absent keys. */
  assert_int_equal(moqc__toml_get_string(root, "server.nope", &s, &err), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__toml_get_string(root, "log.level.deeper", &s, &err),
                   MOQC_ERR_NOT_FOUND);
  assert_null(moqc__toml_get(root, "nothing"));
  /* Positions: "max_streams" is on line 18, column 1; [server.tls] table header on line 9. */
  moqc__toml_pos(moqc__toml_get(root, "server.quic.max_streams"), &line, &col);
  assert_int_equal(line, 18);
  assert_int_equal(col, 1);
  moqc__toml_pos(moqc__toml_get(root, "server.tls"), &line, &col);
  assert_int_equal(line, 9);
  moqc__toml_pos(moqc__toml_get(root, "cache.duration"), &line, &col);
  assert_int_equal(line, 47);
  /* Iteration in file order. */
  n = moqc__toml_get(root, "server.quic");
  assert_int_equal(moqc__toml_count(n), 4);
  assert_non_null(moqc__toml_at(n, 1, &s));
  assert_true(str_is(s, "idle_timeout"));
  assert_null(moqc__toml_at(n, 4, &s));
  assert_true(str_is(moqc__toml_key(moqc__toml_at(root, 0, NULL)), "log"));
  /* Typed errors report the key, its line and column. */
  assert_int_equal(moqc__toml_get_int(root, "server.bind", 0, 10, &i, &err),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(err.line, 6);
  assert_int_equal(err.column, 1);
  assert_string_equal(err.key, "server.bind");
  assert_string_equal(err.message, "expected an integer");
  assert_int_equal(moqc__toml_get_int(root, "server.quic.max_streams", 1, 1000, &i, &err),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(err.message, "integer out of range");
  assert_string_equal(err.key, "server.quic.max_streams");
  assert_int_equal(moqc__toml_get_bool(root, "log.level", &b, &err), MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(err.message, "expected a boolean");
  assert_int_equal(moqc__toml_get_string(root, "server.version", &s, &err),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(err.message, "expected a string");
  assert_int_equal(moqc__toml_get_strings(root, "server.quic.gso", list, 4, &count, &err),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(err.message, "expected an array of strings");
  assert_int_equal(moqc__toml_get_strings(root, "server.version", list, 1, &count, &err),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(err.message, "too many elements");
  assert_int_equal(err.line, 7);
  /* Unknown-key rejection, as the relay does per section. */
  {
    static const char *const server_keys[] = {"bind", "version", "tls", "quic"};
    static const char *const quic_keys[] = {"max_streams", "idle_timeout", "gso"};
    assert_int_equal(moqc__toml_check_keys(moqc__toml_get(root, "server"), server_keys, 4, &err),
                     0);
    assert_int_equal(moqc__toml_check_keys(moqc__toml_get(root, "server.quic"), quic_keys, 3,
                                           &err),
                     MOQC_ERR_NOT_FOUND);
    assert_string_equal(err.key, "server.quic.mtu_discovery");
    assert_string_equal(err.message, "unknown key");
    assert_int_equal(err.line, 21);
    assert_int_equal(err.column, 1);
    assert_int_equal(moqc__toml_check_keys(moqc__toml_get(root, "stats"), quic_keys, 3, &err),
                     MOQC_ERR_NOT_FOUND);
    assert_string_equal(err.key, "stats.enabled");
  }
  moqc__toml_del(doc);
}

static void test_toml_values(void **state) {
  static const char text[] =
      "\xef\xbb\xbf"
      "a = 0\n"
      "b = -9223372036854775808\n"
      "c = +9223372036854775807\n"
      "d = 0xDEAD_beef\n"
      "e = 0o755\n"
      "f = 0b1010\n"
      "g = 1_000\n"
      "h = ''\n"
      "i = \"\"\n"
      "j = [1, 2, 3,]\n"
      "k = [true, false]\n"
      "'quoted.key' = 1\n"
      "\"\" = 2\n"
      "l.m.n = 3\n"
      "l.m.o = 4\n"
      "p = [ # comment\n"
      "  'x' , # another\n"
      "\n"
      "  \"y\"\n"
      "  ]\n"
      "[ q . 'r s' ]\n"
      "t=1#c\n";
  moqc__toml_doc *doc = parse_ok(text);
  const moqc__toml_node *root = moqc__toml_root(doc), *n;
  int64_t v;
  moqc_str s;
  (void)state;
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "a"), &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "b"), &v), 0);
  assert_true(v == INT64_MIN);
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "c"), &v), 0);
  assert_true(v == INT64_MAX);
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "d"), &v), 0);
  assert_int_equal(v, 0xdeadbeef);
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "e"), &v), 0);
  assert_int_equal(v, 0755);
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "f"), &v), 0);
  assert_int_equal(v, 10);
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "g"), &v), 0);
  assert_int_equal(v, 1000);
  assert_int_equal(moqc__toml_string(moqc__toml_get(root, "h"), &s), 0);
  assert_int_equal(s.len, 0);
  assert_int_equal(moqc__toml_string(moqc__toml_get(root, "i"), &s), 0);
  assert_int_equal(s.len, 0);
  n = moqc__toml_get(root, "j");
  assert_int_equal(moqc__toml_count(n), 3);
  assert_int_equal(moqc__toml_int(moqc__toml_at(n, 2, NULL), &v), 0);
  assert_int_equal(v, 3);
  assert_int_equal(moqc__toml_type_of(moqc__toml_at(moqc__toml_get(root, "k"), 1, NULL)),
                   MOQC__TOML_BOOL);
  assert_non_null(moqc__toml_child(root, moqc_str_c("quoted.key")));
  assert_null(moqc__toml_get(root, "quoted.key"));
  assert_non_null(moqc__toml_child(root, moqc_str_c("")));
  assert_int_equal(moqc__toml_int(moqc__toml_get(root, "l.m.o"), &v), 0);
  assert_int_equal(v, 4);
  n = moqc__toml_get(root, "p");
  assert_int_equal(moqc__toml_count(n), 2);
  assert_int_equal(moqc__toml_string(moqc__toml_at(n, 1, NULL), &s), 0);
  assert_true(str_is(s, "y"));
  n = moqc__toml_child(moqc__toml_get(root, "q"), moqc_str_c("r s"));
  assert_int_equal(moqc__toml_type_of(n), MOQC__TOML_TABLE);
  assert_int_equal(moqc__toml_int(moqc__toml_child(n, moqc_str_c("t")), &v), 0);
  assert_int_equal(v, 1);
  /* Wrong-type reads. */
  assert_int_equal(moqc__toml_string(moqc__toml_get(root, "a"), &s), MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc__toml_int(NULL, &v), MOQC_ERR_INVALID_ARGUMENT);
  moqc__toml_del(doc);
  /* The empty document and a comment-only document. */
  doc = parse_ok("");
  assert_int_equal(moqc__toml_count(moqc__toml_root(doc)), 0);
  moqc__toml_del(doc);
  doc = parse_ok("# nothing\n\n   \t\n");
  moqc__toml_del(doc);
}

static const struct {
  const char *text;
  unsigned line, column;
  const char *key, *message;
} errors[] = {
    {"[server]\nbind = \"a\"\nbind = \"b\"\n", 3, 1, "server.bind", "duplicate key"},
    {"[a]\nx = 1\n[a]\n", 3, 2, "a", "table defined twice"},
    {"[server]\nbind = nope\n", 2, 8, "server.bind", "invalid value"},
    {"[server]\nbind = \"open\n", 2, 8, "server.bind", "unterminated string"},
    {"[stats]\ninterval = 1.5\n", 2, 12, "stats.interval", "floats are not supported"},
    {"x = 1e3\n", 1, 5, "x", "floats are not supported"},
    {"x = -inf\n", 1, 5, "x", "floats are not supported"},
    {"x = nan\n", 1, 5, "x", "floats are not supported"},
    {"when = 1979-05-27\n", 1, 8, "when", "dates and times are not supported"},
    {"at = 07:32:00\n", 1, 6, "at", "dates and times are not supported"},
    {"[auth]\npublic = { subscribe = \"a\" }\n", 2, 10, "auth.public",
     "inline tables are not supported"},
    {"[cluster]\nx = 1\n[[peer]]\n", 3, 1, "cluster", "arrays of tables are not supported"},
    {"v = [[1], [2]]\n", 1, 6, "v", "nested arrays are not supported"},
    {"v = [1, \"a\"]\n", 1, 9, "v", "array elements must have the same type"},
    {"s = \"\"\"multi\nline\"\"\"\n", 1, 5, "s", "multi-line strings are not supported"},
    {"s = '''x'''\n", 1, 5, "s", "multi-line strings are not supported"},
    {"[a]\nkey value\n", 2, 5, "a.key", "expected '=' after key"},
    {"[a]\nkey =\n", 2, 6, "a.key", "missing value"},
    {"n = 9223372036854775808\n", 1, 5, "n", "integer out of range"},
    {"n = -9223372036854775809\n", 1, 5, "n", "integer out of range"},
    {"n = 012\n", 1, 5, "n", "leading zeros are not allowed"},
    {"n = 1__0\n", 1, 7, "n", "invalid number"},
    {"n = _1\n", 1, 5, "n", "invalid value"},
    {"n = 1_\n", 1, 5, "n", "invalid number"},
    {"n = 0x\n", 1, 5, "n", "invalid number"},
    {"n = 12abc\n", 1, 5, "n", "invalid number"},
    {"n = +0x10\n", 1, 5, "n", "invalid number"},
    {"s = \"a\\qb\"\n", 1, 7, "s", "invalid escape"},
    {"s = \"\\uD800\"\n", 1, 6, "s", "invalid unicode escape"},
    {"s = \"\\u12\"\n", 1, 6, "s", "invalid unicode escape"},
    {"s = \"a\x01\"\n", 1, 7, "s", "control character in string"},
    {"s = 'a\x7f'\n", 1, 7, "s", "control character in string"},
    {"x = 1\r\ny = 2\rz = 3\n", 2, 6, "y", "bare CR"},
    {"\r\n\r", 2, 1, "", "bare CR"},
    {"x = 1 2\n", 1, 7, "x", "expected end of line after value"},
    {"[a] b = 1\n", 1, 5, "a", "expected end of line after table header"},
    {"[a\n", 1, 3, "a", "expected ']' after table name"},
    {"[]\n", 1, 2, "", "expected a key"},
    {"= 1\n", 1, 1, "", "expected a key"},
    {"a.b.c.d.e.f.g.h.i = 1\n", 1, 17, "a.b.c.d.e.f.g.h", "keys nested too deep"},
    {"[a.b.c.d]\ne.f.g.h.i = 1\n", 2, 9, "a.b.c.d.e.f.g.h", "keys nested too deep"},
    {"a = 1\n[a.b]\n", 2, 2, "a", "key already has a value"},
    {"a = 1\na.b = 2\n", 2, 1, "a", "key already has a value"},
    {"[a.b]\nx = 1\n[a]\nb.y = 2\n", 4, 1, "a.b", "cannot add to a table defined elsewhere"},
    {"[x]\na.b = 1\n[x.a]\n", 3, 4, "x.a", "table defined twice"},
    {"v = [1,\n2,\n", 1, 5, "v", "unterminated array"},
    {"v = [1 2]\n", 1, 8, "v", "expected ',' or ']' in array"},
    {"v = [1", 1, 5, "v", "unterminated array"},
    {"v = [1,\r2]\n", 1, 8, "", "bare CR"},
    {"x = 1 # bad \x01 comment\n", 1, 13, "", "control character in comment"},
    {"ok = 1\nbad = \"\xc3\x28\"\n", 2, 8, "", "invalid UTF-8"},
};

static void test_toml_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
    moqc__toml_doc *doc = NULL;
    moqc__toml_error err;
    print_message("error #%zu: %s\n", i, errors[i].message);
    memset(&err, 0, sizeof(err));
    assert_int_equal(moqc__toml_parse(errors[i].text, strlen(errors[i].text), NULL, &doc, &err),
                     MOQC_ERR_MALFORMED);
    assert_null(doc);
    print_message("  got %u:%u '%s' %s\n", err.line, err.column, err.key, err.message);
    assert_string_equal(err.message, errors[i].message);
    assert_string_equal(err.key, errors[i].key);
    assert_int_equal(err.line, errors[i].line);
    assert_int_equal(err.column, errors[i].column);
  }
}

static void test_toml_bounds(void **state) {
  static char big[MOQC__TOML_MAX_SIZE + 2];
  moqc__toml_doc *doc = NULL;
  moqc__toml_error err;
  size_t n = 0;
  (void)state;
  /* File size. */
  memset(big, '#', sizeof(big));
  assert_int_equal(moqc__toml_parse(big, MOQC__TOML_MAX_SIZE + 1, NULL, &doc, &err),
                   MOQC_ERR_MALFORMED);
  assert_string_equal(err.message, "file too large");
  /* Array length: 1024 elements pass, 1025 fail. */
  n = (size_t)snprintf(big, sizeof(big), "v = [");
  for (int i = 0; i < 1024; i++) {
    n += (size_t)snprintf(big + n, sizeof(big) - n, "%d,", i);
  }
  memcpy(big + n, "]\n", 3);
  assert_int_equal(moqc__toml_parse(big, n + 2, NULL, &doc, &err), 0);
  assert_int_equal(moqc__toml_count(moqc__toml_get(moqc__toml_root(doc), "v")), 1024);
  moqc__toml_del(doc);
  doc = NULL;
  n += (size_t)snprintf(big + n, sizeof(big) - n, "7]\n");
  assert_int_equal(moqc__toml_parse(big, n, NULL, &doc, &err), MOQC_ERR_MALFORMED);
  assert_string_equal(err.message, "array too long");
  assert_string_equal(err.key, "v");
  /* Key length. */
  memset(big, 'k', 129);
  memcpy(big + 129, " = 1\n", 6);
  assert_int_equal(moqc__toml_parse(big, 134, NULL, &doc, &err), MOQC_ERR_MALFORMED);
  assert_string_equal(err.message, "key too long");
  memcpy(big + 128, " = 1\n", 6);
  assert_int_equal(moqc__toml_parse(big, 133, NULL, &doc, &err), 0);
  moqc__toml_del(doc);
  doc = NULL;
  /* String length: 65536 pass, 65537 fail. */
  memcpy(big, "s = \"", 5);
  memset(big + 5, 'x', 65537);
  memcpy(big + 5 + 65537, "\"\n", 2);
  assert_int_equal(moqc__toml_parse(big, 5 + 65537 + 2, NULL, &doc, &err), MOQC_ERR_MALFORMED);
  assert_string_equal(err.message, "string too long");
  memcpy(big + 5 + 65536, "\"\n", 2);
  assert_int_equal(moqc__toml_parse(big, 5 + 65536 + 2, NULL, &doc, &err), 0);
  moqc__toml_del(doc);
  doc = NULL;
  /* Node count. */
  n = 0;
  for (int i = 0; i < 20000; i++) {
    n += (size_t)snprintf(big + n, sizeof(big) - n, "k%d=1\n", i);
  }
  assert_int_equal(moqc__toml_parse(big, n, NULL, &doc, &err), MOQC_ERR_MALFORMED);
  assert_string_equal(err.message, "too many keys and values");
  assert_int_equal(err.line, MOQC__TOML_MAX_NODES); /* root + 16383 keys fit */
}

/* An allocator that fails after a budget of calls. */
static int alloc_budget;
static void *fail_malloc(size_t n, void *u) {
  (void)u;
  return alloc_budget-- > 0 ? malloc(n) : NULL;
}
static void fail_free(void *p, void *u) {
  (void)u;
  free(p);
}
static void *fail_calloc(size_t a, size_t b, void *u) {
  (void)u;
  return alloc_budget-- > 0 ? calloc(a, b) : NULL;
}
static void *fail_realloc(void *p, size_t n, void *u) {
  (void)u;
  return alloc_budget-- > 0 ? realloc(p, n) : NULL;
}

static void test_toml_nomem(void **state) {
  const moqc_mem mem = {NULL, fail_malloc, fail_free, fail_calloc, fail_realloc};
  char text[4096];
  size_t n = 0;
  int ok = 0;
  (void)state;
  for (int i = 0; i < 200; i++) {
    n += (size_t)snprintf(text + n, sizeof(text) - n, "k%d = %d\n", i, i);
  }
  for (int budget = 0; budget < 10; budget++) {
    moqc__toml_doc *doc = NULL;
    int rv;
    alloc_budget = budget;
    rv = moqc__toml_parse(text, n, &mem, &doc, NULL);
    if (rv == 0) {
      ok++;
      assert_int_equal(moqc__toml_count(moqc__toml_root(doc)), 200);
      moqc__toml_del(doc);
    } else {
      assert_int_equal(rv, MOQC_ERR_NOMEM);
      assert_null(doc);
    }
  }
  assert_true(ok > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_toml_relay_config), cmocka_unit_test(test_toml_values),
      cmocka_unit_test(test_toml_errors),       cmocka_unit_test(test_toml_bounds),
      cmocka_unit_test(test_toml_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
