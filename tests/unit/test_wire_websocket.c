/*
 * WebSocket opening handshake: request checks, Sec-WebSocket-Accept, base64, response heads.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include "wire/websocket.h"

#define NPM_PROTOCOLS                                                                             \
  "qmux-02.moq-lite-05,qmux-01.moq-lite-05,qmux-00.moq-lite-05,qmux-02.moq-lite-04,qmux-01.moq-" \
  "lite-04,qmux-00.moq-lite-04,qmux-02.moq-lite-03,qmux-01.moq-lite-03,qmux-00.moq-lite-03,qmux-" \
  "02.moql,qmux-01.moql,qmux-00.moql,qmux-01.moqt-20,qmux-01.moqt-18,qmux-02.moqt-17,qmux-01."   \
  "moqt-17,qmux-00.moqt-17,qmux-02.moqt-16,qmux-01.moqt-16,qmux-00.moqt-16,qmux-02.moqt-15,qmux-" \
  "01.moqt-15,qmux-00.moqt-15,qmux-02,qmux-01,qmux-00,webtransport"

/* spec/npm-client.md 2.1, Node 20 + ws. */
static const char npm_upgrade[] =
    "GET /anon HTTP/1.1\r\n"
    "sec-websocket-version: 13\r\n"
    "sec-websocket-key: iTTnUyjP3J0gTZr+vPiF5w==\r\n"
    "connection: Upgrade\r\n"
    "upgrade: websocket\r\n"
    "sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"
    "sec-websocket-protocol: " NPM_PROTOCOLS "\r\n"
    "host: 127.0.0.1:4443\r\n"
    "\r\n";

static void parse(const char *s, moqc__http1_request *req) {
  moqc__http1_init(req);
  assert_int_equal(moqc__http1_parse(req, (const uint8_t *)s, strlen(s)), 0);
}

static void test_ws_accept_rfc6455(void **state) {
  char out[MOQC__WS_ACCEPT_LEN];
  (void)state;
  /* RFC 6455 1.3 example. */
  assert_int_equal(moqc__ws_accept(moqc_str_c("dGhlIHNhbXBsZSBub25jZQ=="), out), 0);
  assert_memory_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", MOQC__WS_ACCEPT_LEN);
  /* The npm client's key of spec/npm-client.md 2.1 (value checked with an independent SHA-1). */
  assert_int_equal(moqc__ws_accept(moqc_str_c("iTTnUyjP3J0gTZr+vPiF5w=="), out), 0);
  assert_memory_equal(out, "ybFawi1Ub93hpAKM0y5viq3zTAw=", MOQC__WS_ACCEPT_LEN);
  {
    char big[80];
    memset(big, 'A', sizeof(big));
    moqc_str k = {big, sizeof(big)};
    assert_int_equal(moqc__ws_accept(k, out), MOQC_ERR_INVALID_ARGUMENT);
  }
}

static void test_ws_base64(void **state) {
  /* RFC 4648 10 test vectors. */
  static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                    "Zm9vYmFy"};
  char out[16];
  uint8_t dec[16];
  (void)state;
  for (size_t i = 0; i < 7; i++) {
    size_t n = moqc__base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
    assert_int_equal(n, strlen(enc[i]));
    assert_memory_equal(out, enc[i], n);
    assert_int_equal(moqc__base64_decode(moqc_str_c(enc[i]), dec, sizeof(dec)),
                     (moqc_ssize)strlen(plain[i]));
    assert_memory_equal(dec, plain[i], strlen(plain[i]));
  }
  assert_int_equal(moqc__base64_decode(moqc_str_c("Zm9"), dec, sizeof(dec)), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__base64_decode(moqc_str_c("Zh=="), dec, sizeof(dec)),
                   MOQC_ERR_MALFORMED); /* unused bits set */
  assert_int_equal(moqc__base64_decode(moqc_str_c("Zm=v"), dec, sizeof(dec)), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__base64_decode(moqc_str_c("Z==="), dec, sizeof(dec)), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__base64_decode(moqc_str_c("Zg==Zg=="), dec, sizeof(dec)),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__base64_decode(moqc_str_c("Zm 9"), dec, sizeof(dec)), MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__base64_decode(moqc_str_c("Zm9vYmFy"), dec, 5), MOQC_ERR_NOBUF);
}

static void test_ws_check_npm(void **state) {
  moqc__http1_request req;
  moqc__ws_upgrade u;
  int status = 0;
  const char *err = NULL;
  (void)state;
  parse(npm_upgrade, &req);
  assert_int_equal(moqc__ws_check_upgrade(&req, &u, &status, &err), 0);
  assert_true(moqc_str_eq(u.key, moqc_str_c("iTTnUyjP3J0gTZr+vPiF5w==")));
  assert_int_equal(u.n_protocols, 1);
  assert_true(moqc_str_eq(u.protocols[0], moqc_str_c(NPM_PROTOCOLS)));
  assert_int_equal(u.origin.len, 0);
}

/* The full server handshake on the npm client's request gives exactly this 101 head. */
static void test_ws_handshake_npm(void **state) {
  static const char want[] = "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: ybFawi1Ub93hpAKM0y5viq3zTAw=\r\n"
                             "Sec-WebSocket-Protocol: qmux-01.moq-lite-05\r\n"
                             "\r\n";
  moqc__http1_request req;
  moqc__qmux_choice c;
  uint8_t out[512];
  moqc__writer w;
  int status = 0;
  (void)state;
  parse(npm_upgrade, &req);
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status), 0);
  assert_int_equal(status, 101);
  assert_int_equal(c.format, MOQC__QMUX_01);
  assert_true(moqc_str_eq(c.alpn, moqc_str_c("moq-lite-05")));
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want) - 1));
  assert_memory_equal(out, want, sizeof(want) - 1);
  /* Short buffer. */
  moqc__writer_init(&w, out, 50);
  assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status), 0);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
}

/* @moq/lite 0.2.2 offers "qmux-00, webtransport" and a browser adds Origin; a client with no
 * subprotocol gets no Sec-WebSocket-Protocol header. */
static void test_ws_handshake_variants(void **state) {
  static const char lite022[] = "GET /anon?jwt=x HTTP/1.1\r\n"
                                "Host: localhost:4443\r\n"
                                "Connection: keep-alive, Upgrade\r\n"
                                "Upgrade: WebSocket\r\n"
                                "Origin: http://127.0.0.1:8081\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Protocol: qmux-00\r\n"
                                "Sec-WebSocket-Protocol: webtransport\r\n"
                                "\r\n";
  static const char want_lite[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                  "Sec-WebSocket-Protocol: qmux-00\r\n"
                                  "\r\n";
  static const char none[] = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                             "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  static const char want_none[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                  "\r\n";
  static const char nomatch[] = "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
                                "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Protocol: chat\r\n\r\n";
  static const char want_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
  moqc__http1_request req;
  moqc__ws_upgrade u;
  moqc__qmux_choice c;
  uint8_t out[512];
  moqc__writer w;
  int status;
  (void)state;
  parse(lite022, &req);
  assert_int_equal(moqc__ws_check_upgrade(&req, &u, NULL, NULL), 0);
  assert_int_equal(u.n_protocols, 2);
  assert_true(moqc_str_eq(u.origin, moqc_str_c("http://127.0.0.1:8081")));
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status), 0);
  assert_int_equal(c.format, MOQC__QMUX_00);
  assert_int_equal(c.alpn.len, 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want_lite) - 1));
  assert_memory_equal(out, want_lite, sizeof(want_lite) - 1);

  parse(none, &req);
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status), 0);
  assert_int_equal(c.format, MOQC__QMUX_WEBTRANSPORT);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want_none) - 1));
  assert_memory_equal(out, want_none, sizeof(want_none) - 1);

  parse(nomatch, &req);
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status), MOQC_ERR_MALFORMED);
  assert_int_equal(status, 400);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want_400) - 1));
  assert_memory_equal(out, want_400, sizeof(want_400) - 1);
}

static void test_ws_check_rejects(void **state) {
  static const struct {
    const char *req;
    int rv, status;
  } cases[] = {
      /* Not an upgrade: plain HTTP. */
      {"GET /health HTTP/1.1\r\nHost: h\r\n\r\n", MOQC_ERR_NOT_FOUND, 0},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
       MOQC_ERR_NOT_FOUND, 0},
      {"POST / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Content-Length: 0\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      {"GET / HTTP/1.0\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       MOQC_ERR_MALFORMED, 426},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       MOQC_ERR_MALFORMED, 426},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      /* 24 characters, but 17 bytes would not fit: "AAAAAAAAAAAAAAAAAAAAAA==" decodes to 16,
       * a 24-char key without padding decodes to 18. */
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n\r\n",
       MOQC_ERR_MALFORMED, 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n",
       0, 0},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    moqc__http1_request req;
    moqc__ws_upgrade u;
    int status = 0;
    const char *err = NULL;
    print_message("case %zu\n", i);
    parse(cases[i].req, &req);
    assert_int_equal(moqc__ws_check_upgrade(&req, &u, &status, &err), cases[i].rv);
    if (cases[i].rv == MOQC_ERR_MALFORMED) {
      assert_int_equal(status, cases[i].status);
      assert_non_null(err);
    }
  }
  /* 426 responses tell the client the version. */
  {
    static const char want[] = "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n"
                               "Connection: close\r\nSec-WebSocket-Version: 13\r\n\r\n";
    moqc__http1_request req;
    moqc__qmux_choice c;
    uint8_t out[256];
    moqc__writer w;
    int status = 0;
    parse(cases[5].req, &req);
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status),
                     MOQC_ERR_MALFORMED);
    assert_int_equal(status, 426);
    assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(sizeof(want) - 1));
    assert_memory_equal(out, want, sizeof(want) - 1);
    parse(cases[0].req, &req);
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__ws_server_handshake(&req, NULL, 0, &w, &c, &status),
                     MOQC_ERR_NOT_FOUND);
    assert_int_equal(moqc__writer_result(&w), 0);
  }
  /* A protocol that is not a token is refused by the writer. */
  {
    uint8_t out[256];
    moqc__writer w;
    moqc__writer_init(&w, out, sizeof(out));
    moqc__ws_response_101(&w, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", moqc_str_c("a\r\nX: y"));
    assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ws_accept_rfc6455),     cmocka_unit_test(test_ws_base64),
      cmocka_unit_test(test_ws_check_npm),          cmocka_unit_test(test_ws_handshake_npm),
      cmocka_unit_test(test_ws_handshake_variants), cmocka_unit_test(test_ws_check_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
