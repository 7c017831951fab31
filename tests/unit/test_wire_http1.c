/*
 * Strict incremental HTTP/1.1 request parser, query helpers and response writer.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include "wire/http1.h"

/* spec/npm-client.md 2.1: the upgrade request Node 20 + ws sends (header order as received). */
static const char npm_upgrade[] =
    "GET /anon HTTP/1.1\r\n"
    "sec-websocket-version: 13\r\n"
    "sec-websocket-key: iTTnUyjP3J0gTZr+vPiF5w==\r\n"
    "connection: Upgrade\r\n"
    "upgrade: websocket\r\n"
    "sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"
    "sec-websocket-protocol: "
    "qmux-02.moq-lite-05,qmux-01.moq-lite-05,qmux-00.moq-lite-05,qmux-02.moq-lite-04,qmux-01.moq-"
    "lite-04,qmux-00.moq-lite-04,qmux-02.moq-lite-03,qmux-01.moq-lite-03,qmux-00.moq-lite-03,qmux-"
    "02.moql,qmux-01.moql,qmux-00.moql,qmux-01.moqt-20,qmux-01.moqt-18,qmux-02.moqt-17,qmux-01."
    "moqt-17,qmux-00.moqt-17,qmux-02.moqt-16,qmux-01.moqt-16,qmux-00.moqt-16,qmux-02.moqt-15,qmux-"
    "01.moqt-15,qmux-00.moqt-15,qmux-02,qmux-01,qmux-00,webtransport\r\n"
    "host: 127.0.0.1:4443\r\n"
    "\r\n";

/* Parses in one call. */
static int parse_whole(const char *s, size_t n, moqc__http1_request *req) {
  moqc__http1_init(req);
  return moqc__http1_parse(req, (const uint8_t *)s, n);
}

/*
 * Feeds s one byte at a time through a buffer that moves on every call (a fresh copy), and
 * checks that the result equals the one-call result: same return, same error, same fields.
 */
static int parse_bytewise_same(const char *s, size_t n) {
  moqc__http1_request whole, inc;
  int rw = parse_whole(s, n, &whole), ri = MOQC_ERR_INCOMPLETE;
  uint8_t *copy = NULL;
  size_t k;

  moqc__http1_init(&inc);
  for (k = 1; k <= n; k++) {
    free(copy);
    copy = malloc(k);
    assert_non_null(copy);
    memcpy(copy, s, k);
    ri = moqc__http1_parse(&inc, copy, k);
    if (ri != MOQC_ERR_INCOMPLETE) {
      break;
    }
  }
  assert_int_equal(ri, rw);
  if (rw == MOQC_ERR_MALFORMED) {
    assert_string_equal(inc.error, whole.error);
    assert_int_equal(inc.status, whole.status);
  } else if (rw == 0) {
    assert_int_equal(inc.head_len, whole.head_len);
    /* the incremental parse stopped right at the end of the head */
    assert_int_equal(k, whole.head_len);
    assert_int_equal(inc.n_headers, whole.n_headers);
    assert_int_equal(inc.version_minor, whole.version_minor);
    assert_int_equal(inc.content_length, whole.content_length);
    assert_int_equal(inc.method.ptr - (const char *)copy, whole.method.ptr - s);
    assert_int_equal(inc.path.len, whole.path.len);
    assert_int_equal(inc.query.len, whole.query.len);
    for (size_t i = 0; i < whole.n_headers; i++) {
      assert_int_equal(inc.headers[i].name.ptr - (const char *)copy,
                       whole.headers[i].name.ptr - s);
      assert_int_equal(inc.headers[i].value.len, whole.headers[i].value.len);
    }
  }
  free(copy);
  return rw;
}

static bool str_is(moqc_str s, const char *c) { return moqc_str_eq(s, moqc_str_c(c)); }

static void test_http1_npm_upgrade(void **state) {
  moqc__http1_request req;
  size_t n = sizeof(npm_upgrade) - 1, idx = 0;
  const moqc__http1_header *h;
  (void)state;
  assert_int_equal(parse_whole(npm_upgrade, n, &req), 0);
  assert_int_equal(req.head_len, n);
  assert_true(str_is(req.method, "GET"));
  assert_true(str_is(req.target, "/anon"));
  assert_true(str_is(req.path, "/anon"));
  assert_int_equal(req.query.len, 0);
  assert_int_equal(req.version_minor, 1);
  assert_int_equal(req.n_headers, 7);
  assert_true(str_is(req.host, "127.0.0.1:4443"));
  assert_int_equal(req.content_length, -1);
  h = moqc__http1_header_get(&req, "Sec-WebSocket-Key");
  assert_non_null(h);
  assert_true(str_is(h->value, "iTTnUyjP3J0gTZr+vPiF5w=="));
  h = moqc__http1_header_get(&req, "SEC-WEBSOCKET-EXTENSIONS");
  assert_true(str_is(h->value, "permessage-deflate; client_max_window_bits"));
  assert_true(moqc__http1_list_has(moqc__http1_header_get(&req, "connection")->value, "upgrade"));
  h = moqc__http1_header_next(&req, "sec-websocket-protocol", &idx);
  assert_non_null(h);
  assert_int_equal(h->value.len, 431);
  assert_null(moqc__http1_header_next(&req, "sec-websocket-protocol", &idx));
  assert_null(moqc__http1_header_get(&req, "origin"));
  assert_int_equal(parse_bytewise_same(npm_upgrade, n), 0);
  /* Bytes after the head (a pipelined WebSocket frame) are not part of it. */
  {
    char buf[sizeof(npm_upgrade) + 4];
    memcpy(buf, npm_upgrade, n);
    memcpy(buf + n, "\x82\x00xy", 4);
    assert_int_equal(parse_whole(buf, n + 4, &req), 0);
    assert_int_equal(req.head_len, n);
  }
}

static void test_http1_valid_forms(void **state) {
  static const struct {
    const char *req, *path, *query, *host;
    int minor;
    int64_t clen;
    bool chunked;
  } cases[] = {
      {"GET /fetch/demo%2Fbbb/video?group=5&jwt=abc HTTP/1.1\r\nHost: r.example\r\n\r\n",
       "/fetch/demo%2Fbbb/video", "group=5&jwt=abc", "r.example", 1, -1, false},
      {"GET /certificate.sha256 HTTP/1.1\r\nHost: localhost:4443\r\n"
       "Origin: http://127.0.0.1:8081\r\n\r\n",
       "/certificate.sha256", "", "localhost:4443", 1, -1, false},
      {"GET / HTTP/1.0\r\n\r\n", "/", "", "", 0, -1, false},
      {"\r\n\r\nGET /health HTTP/1.1\r\nHost: h\r\n\r\n", "/health", "", "h", 1, -1, false},
      {"GET http://relay.example:8080/announced/demo?x HTTP/1.1\r\nHost: relay.example:8080\r\n\r\n",
       "/announced/demo", "x", "relay.example:8080", 1, -1, false},
      {"GET https://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", "/", "q=1", "h", 1, -1, false},
      {"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "*", "", "h", 1, -1, false},
      {"POST /x HTTP/1.1\r\nHost: [::1]:443\r\nContent-Length: 5\r\n\r\nhello", "/x", "",
       "[::1]:443", 1, 5, false},
      {"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", "/x", "", "h", 1,
       -1, true},
      {"GET /a HTTP/1.1\r\nHost:h\r\nX-Empty:\r\nX-Pad: \t v  \t\r\n\r\n", "/a", "", "h", 1,
       -1, false},
      {"GET /a HTTP/1.1\r\nHost: \r\n\r\n", "/a", "", "", 1, -1, false},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    moqc__http1_request req;
    const char *r = cases[i].req;
    size_t n = strlen(r);
    print_message("valid #%zu\n", i);
    assert_int_equal(parse_whole(r, n, &req), 0);
    assert_true(str_is(req.path, cases[i].path));
    assert_true(str_is(req.query, cases[i].query));
    assert_true(str_is(req.host, cases[i].host));
    assert_int_equal(req.version_minor, cases[i].minor);
    assert_int_equal(req.content_length, cases[i].clen);
    assert_int_equal(req.chunked, cases[i].chunked);
    if (cases[i].clen > 0) {
      assert_int_equal(req.head_len + (size_t)cases[i].clen, n);
    } else {
      assert_int_equal(req.head_len, n);
    }
    assert_int_equal(parse_bytewise_same(r, n), 0);
  }
  {
    moqc__http1_request req;
    const char *r = "GET /a HTTP/1.1\r\nHost:h\r\nX-Empty:\r\nX-Pad: \t v  \t\r\n\r\n";
    assert_int_equal(parse_whole(r, strlen(r), &req), 0);
    assert_true(str_is(moqc__http1_header_get(&req, "x-empty")->value, ""));
    assert_true(str_is(moqc__http1_header_get(&req, "x-pad")->value, "v"));
  }
}

static const struct {
  const char *req;
  int status;
  const char *error;
} rejects[] = {
    {"GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "obsolete line folding"},
    {"GET /a HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "bare CR"},
    {"GET /a\r HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare CR"},
    {"GET\r /a HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare CR"},
    {"GET /a HTTP/1.1\nHost: h\r\n\r\n", 400, "bare LF"},
    {"GET /a HTTP/1.1\r\nHost: h\n\r\n", 400, "bare LF"},
    {"GET /a HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", 400, "control character in header value"},
    {"GET /a HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400, "control character in header value"},
    {"GE(T /a HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid method"},
    {" GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid method"},
    {"GET  /a HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request target"},
    {"GET /a\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request target"},
    {"GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, "fragment in request target"},
    {"GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "unsupported request target form"},
    {"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "unsupported request target form"},
    {"GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, "asterisk target outside OPTIONS"},
    {"GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "empty authority in absolute target"},
    {"GET /a HTTP/2.0\r\nHost: h\r\n\r\n", 505, "unsupported HTTP version"},
    {"GET /a HTTP/1.2\r\nHost: h\r\n\r\n", 505, "unsupported HTTP version"},
    {"GET /a HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "invalid HTTP version"},
    {"GET /a http/1.1\r\nHost: h\r\n\r\n", 400, "invalid HTTP version"},
    {"GET /a\r\nHost: h\r\n\r\n", 400, "invalid request target"},
    {"GET /a HTTP/1.1\r\nHost : h\r\n\r\n", 400, "whitespace before colon"},
    {"GET /a HTTP/1.1\r\nHost\r: h\r\n\r\n", 400, "bare CR"},
    {"GET /a HTTP/1.1\r\nHo(st: h\r\n\r\n", 400, "invalid header name"},
    {"GET /a HTTP/1.1\r\n: h\r\n\r\n", 400, "empty header name"},
    {"GET /a HTTP/1.1\r\nHost h\r\n\r\n", 400, "whitespace before colon"},
    {"GET /a HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", 400, "duplicate Host"},
    {"GET /a HTTP/1.1\r\nHost: h/x\r\n\r\n", 400, "invalid Host"},
    {"GET /a HTTP/1.1\r\n\r\n", 400, "missing Host"},
    {"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400,
     "duplicate Content-Length"},
    {"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1,1\r\n\r\n", 400,
     "invalid Content-Length"},
    {"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length"},
    {"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 9007199254740992\r\n\r\n", 400,
     "invalid Content-Length"},
    {"GET /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "Transfer-Encoding on GET or HEAD"},
    {"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
     400, "Transfer-Encoding with Content-Length"},
    {"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
     "unsupported Transfer-Encoding"},
    {"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "Transfer-Encoding in HTTP/1.0"},
    {"\r\n\r\n\r\n\r\n\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n", 400,
     "too many empty lines before the request line"},
};

static void test_http1_rejects(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
    moqc__http1_request req;
    size_t n = strlen(rejects[i].req);
    print_message("reject #%zu: %s\n", i, rejects[i].error);
    assert_int_equal(parse_whole(rejects[i].req, n, &req), MOQC_ERR_MALFORMED);
    assert_string_equal(req.error, rejects[i].error);
    assert_int_equal(req.status, rejects[i].status);
    assert_int_equal(parse_bytewise_same(rejects[i].req, n), MOQC_ERR_MALFORMED);
  }
  /* A NUL byte in a header value (strlen cannot carry it). */
  {
    static const char r[] = "GET /a HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    moqc__http1_request req;
    assert_int_equal(parse_whole(r, sizeof(r) - 1, &req), MOQC_ERR_MALFORMED);
    assert_string_equal(req.error, "control character in header value");
    assert_int_equal(parse_bytewise_same(r, sizeof(r) - 1), MOQC_ERR_MALFORMED);
  }
}

/* Builds "GET /<pad> HTTP/1.1" with a request line of exactly line_len bytes, then headers. */
static size_t build(char *buf, size_t cap, size_t line_len, size_t n_headers, size_t hdr_len) {
  size_t n = 0;
  assert_true(line_len >= 16);
  n += (size_t)snprintf(buf, cap, "GET /");
  memset(buf + n, 'a', line_len - 14);
  n += line_len - 14;
  n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\nHost: h\r\n");
  for (size_t i = 0; i < n_headers; i++) {
    /* "X-nnnn: vvv" of exactly hdr_len bytes */
    int w = snprintf(buf + n, cap - n, "X-%04zu: ", i);
    assert_true(hdr_len >= (size_t)w);
    memset(buf + n + w, 'v', hdr_len - (size_t)w);
    n += hdr_len;
    memcpy(buf + n, "\r\n", 2);
    n += 2;
  }
  memcpy(buf + n, "\r\n", 2);
  return n + 2;
}

static void expect_limit(const char *buf, size_t n, int rv, int status, const char *error) {
  moqc__http1_request req;
  assert_int_equal(parse_whole(buf, n, &req), rv);
  if (rv != 0) {
    assert_int_equal(req.status, status);
    assert_string_equal(req.error, error);
  }
  assert_int_equal(parse_bytewise_same(buf, n), rv);
}

static void test_http1_limits(void **state) {
  static char buf[40000];
  size_t n;
  (void)state;
  /* Request line: 8192 bytes pass, 8193 fail with 414 (also before the line ends). */
  n = build(buf, sizeof(buf), 8192, 0, 0);
  expect_limit(buf, n, 0, 0, NULL);
  n = build(buf, sizeof(buf), 8193, 0, 0);
  expect_limit(buf, n, MOQC_ERR_MALFORMED, 414, "request line too long");
  {
    moqc__http1_request req;
    n = build(buf, sizeof(buf), 9000, 0, 0);
    moqc__http1_init(&req);
    assert_int_equal(moqc__http1_parse(&req, (const uint8_t *)buf, 8194), MOQC_ERR_MALFORMED);
    assert_int_equal(req.status, 414);
    moqc__http1_init(&req);
    assert_int_equal(moqc__http1_parse(&req, (const uint8_t *)buf, 8193), MOQC_ERR_INCOMPLETE);
  }
  /* A header line: 8192 pass, 8193 fail with 431. */
  n = build(buf, sizeof(buf), 16, 1, 8192);
  expect_limit(buf, n, 0, 0, NULL);
  n = build(buf, sizeof(buf), 16, 1, 8193);
  expect_limit(buf, n, MOQC_ERR_MALFORMED, 431, "header line too long");
  /* 64 headers (Host + 63) pass, 65 fail. */
  n = build(buf, sizeof(buf), 16, 63, 10);
  expect_limit(buf, n, 0, 0, NULL);
  n = build(buf, sizeof(buf), 16, 64, 10);
  expect_limit(buf, n, MOQC_ERR_MALFORMED, 431, "too many headers");
  /* Whole head: 16384 bytes pass, one more fails. Head = 18 + 2 + 9 + k*(h+2) + 2. */
  {
    /* request line 16 + CRLF = 18, "Host: h" + CRLF = 9, final CRLF 2: 29 + 2 headers. */
    size_t h = (16384 - 29) / 2 - 2; /* 8175 */
    size_t extra = 16384 - 29 - 2 * (h + 2);
    n = build(buf, sizeof(buf), 16 + extra, 2, h);
    assert_int_equal(n, 16384);
    expect_limit(buf, n, 0, 0, NULL);
    n = build(buf, sizeof(buf), 17 + extra, 2, h);
    assert_int_equal(n, 16385);
    expect_limit(buf, n, MOQC_ERR_MALFORMED, 431, "request head too large");
  }
  /* Lots of short lines without an end: fails once past 16 KiB, without waiting. */
  {
    moqc__http1_request req;
    n = build(buf, sizeof(buf), 16, 60, 300);
    assert_true(n > 18000);
    moqc__http1_init(&req);
    assert_int_equal(moqc__http1_parse(&req, (const uint8_t *)buf, 800), MOQC_ERR_INCOMPLETE);
    assert_int_equal(moqc__http1_parse(&req, (const uint8_t *)buf, n), MOQC_ERR_MALFORMED);
    assert_int_equal(req.status, 431);
    assert_string_equal(req.error, "request head too large");
  }
}

static void test_http1_incomplete(void **state) {
  moqc__http1_request req;
  size_t n = sizeof(npm_upgrade) - 1;
  (void)state;
  /* Every proper prefix is incomplete. */
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(parse_whole(npm_upgrade, k, &req), MOQC_ERR_INCOMPLETE);
  }
}

static void test_http1_query(void **state) {
  char out[64];
  moqc_str v;
  uint64_t u;
  (void)state;
  assert_int_equal(moqc__http1_pct_decode(out, sizeof(out), moqc_str_c("a%2Fb+c%41"), true), 6);
  assert_memory_equal(out, "a/b cA", 6);
  assert_int_equal(moqc__http1_pct_decode(out, sizeof(out), moqc_str_c("a+b"), false), 3);
  assert_memory_equal(out, "a+b", 3);
  assert_int_equal(moqc__http1_pct_decode(out, sizeof(out), moqc_str_c("%4"), false),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_pct_decode(out, sizeof(out), moqc_str_c("a%"), false),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_pct_decode(out, sizeof(out), moqc_str_c("%zz"), false),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_pct_decode(out, sizeof(out), moqc_str_c("%00"), false),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_pct_decode(out, 2, moqc_str_c("abc"), false), MOQC_ERR_NOBUF);
  assert_int_equal(moqc__http1_query_get(moqc_str_c("group=5&jwt=a.b.c"), "jwt", &v), 0);
  assert_true(str_is(v, "a.b.c"));
  assert_int_equal(moqc__http1_query_get(moqc_str_c("x&gr%6Fup=latest&group=2"), "group", &v), 0);
  assert_true(str_is(v, "latest"));
  assert_int_equal(moqc__http1_query_get(moqc_str_c("flag&b="), "flag", &v), 0);
  assert_int_equal(v.len, 0);
  assert_int_equal(moqc__http1_query_get(moqc_str_c("flag&b="), "b", &v), 0);
  assert_int_equal(v.len, 0);
  assert_int_equal(moqc__http1_query_get(moqc_str_c("groups=1"), "group", &v),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__http1_query_get(moqc_str_c(""), "group", &v), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__http1_parse_u64(moqc_str_c("18446744073709551615"), UINT64_MAX, &u), 0);
  assert_int_equal(u, UINT64_MAX);
  assert_int_equal(moqc__http1_parse_u64(moqc_str_c("18446744073709551616"), UINT64_MAX, &u),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_u64(moqc_str_c("11"), 10, &u), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_u64(moqc_str_c("+1"), 10, &u), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_u64(moqc_str_c(""), 10, &u), MOQC_ERR_MALFORMED);
}

static void test_http1_fetch(void **state) {
  char buf[64];
  moqc__http1_fetch f;
  (void)state;
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/demo/bbb/video"),
                                           moqc_str_c("group=12&jwt=x"), buf, sizeof(buf), &f),
                   0);
  assert_true(str_is(f.broadcast, "demo/bbb"));
  assert_true(str_is(f.track, "video"));
  assert_false(f.latest);
  assert_int_equal(f.group, 12);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/demo%2Fbbb/vid%20eo"),
                                           moqc_str_c("group=latest"), buf, sizeof(buf), &f),
                   0);
  assert_true(str_is(f.broadcast, "demo/bbb"));
  assert_true(str_is(f.track, "vid eo"));
  assert_true(f.latest);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/a/t"), moqc_str_c(""), buf,
                                           sizeof(buf), &f),
                   0);
  assert_true(f.latest);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/announced/a"), moqc_str_c(""), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/onlytrack"), moqc_str_c(""), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/a/"), moqc_str_c(""), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/a/t%2Fx"), moqc_str_c(""), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/a/t"), moqc_str_c("group=-1"), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/a/t"),
                                           moqc_str_c("group=4611686018427387904"), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/a%zz/t"), moqc_str_c(""), buf,
                                           sizeof(buf), &f),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__http1_parse_fetch(moqc_str_c("/fetch/abcdef/t"), moqc_str_c(""), buf, 4,
                                           &f),
                   MOQC_ERR_NOBUF);
}

static void test_http1_response(void **state) {
  char out[256];
  moqc__writer w;
  moqc__http1_header h[2] = {{{"Content-Type", 12}, {"text/plain", 10}},
                             {{"X-Bad", 5}, {"a\r\nSet-Cookie: x", 16}}};
  static const char want[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/plain\r\n"
                             "Content-Length: 64\r\n"
                             "Access-Control-Allow-Origin: *\r\n"
                             "\r\n";
  static const char want404[] = "HTTP/1.1 404 Not Found\r\n"
                                "Content-Length: 0\r\n"
                                "Connection: close\r\n"
                                "\r\n";
  (void)state;
  moqc__writer_init(&w, (uint8_t *)out, sizeof(out));
  moqc__http1_response_simple(&w, 200, "text/plain", 64, "*", false);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want) - 1));
  assert_memory_equal(out, want, sizeof(want) - 1);
  moqc__writer_init(&w, (uint8_t *)out, sizeof(out));
  moqc__http1_response_simple(&w, 404, NULL, 0, NULL, true);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want404) - 1));
  assert_memory_equal(out, want404, sizeof(want404) - 1);
  moqc__writer_init(&w, (uint8_t *)out, 20);
  moqc__http1_response_simple(&w, 200, "text/plain", 64, "*", false);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
  /* No header injection. */
  moqc__writer_init(&w, (uint8_t *)out, sizeof(out));
  moqc__http1_response_head(&w, 200, h, 2);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  h[1].name = moqc_str_c("Bad Name");
  h[1].value = moqc_str_c("v");
  moqc__writer_init(&w, (uint8_t *)out, sizeof(out));
  moqc__http1_response_head(&w, 200, h, 2);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  moqc__writer_init(&w, (uint8_t *)out, sizeof(out));
  moqc__http1_response_head(&w, 99, h, 1);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  assert_string_equal(moqc__http1_reason(431), "Request Header Fields Too Large");
  assert_string_equal(moqc__http1_reason(799), "Unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http1_npm_upgrade), cmocka_unit_test(test_http1_valid_forms),
      cmocka_unit_test(test_http1_rejects),     cmocka_unit_test(test_http1_limits),
      cmocka_unit_test(test_http1_incomplete),  cmocka_unit_test(test_http1_query),
      cmocka_unit_test(test_http1_fetch),       cmocka_unit_test(test_http1_response),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
