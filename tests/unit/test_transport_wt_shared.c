/*
 * The relay's pattern: one QUIC endpoint offering the moq ALPNs and "h3". Raw QUIC connections
 * carry an application directly; "h3" connections are adopted by the WebTransport server
 * (moqc_wt_server_adopt / moqc_wt_server_conn_closed). Both kinds run at once on one UDP port,
 * with the endpoint dropping about 3% and reordering about 5% of what it sends, so WebTransport
 * stream headers and HTTP/3 frames are retransmitted from their buffers (ASan checks lifetimes).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include <uv.h>

#include <moqc/moqc.h>

#include "test_transport_wt_app.h"
#include "transport/quic_test.h"

static moqc_tls_cert *g_cert;

typedef struct senv {
  uv_loop_t loop;
  uv_timer_t tick;
  moqc_quic_endpoint *ep;
  moqc_wt_server *wt;
  wapp raw_server_app, wt_server_app;
  int raw_conns, raw_closed, wt_requests, wt_sessions, wt_closed;
  /* clients */
  moqc_quic_endpoint *raw_client_ep;
  wapp raw_client_app, wt_client_app;
  bool raw_client_connected, wt_client_connected;
  moqc_wt_conn *wt_client;
  uint32_t rng;
  unsigned drops, delays;
} senv;

static void tick_cb(uv_timer_t *t) { (void)t; }

static int lossy(void *ud, const uint8_t *pkt, size_t len) {
  senv *e = ud;
  e->rng++;
  if (e->rng % 31 == 7) {
    e->drops++;
    return MOQC__QUIC_FILTER_DROP;
  }
  if (e->rng % 19 == 3) {
    e->delays++;
    return MOQC__QUIC_FILTER_DELAY;
  }
  return MOQC__QUIC_FILTER_PASS;
}

/* ---- the shared server endpoint ---- */

static int srv_on_connection(moqc_quic_conn *conn, const char *alpn, void *ud, void *cud) {
  senv *e = ud;
  if (strcmp(alpn, MOQC_WT_ALPN) == 0) {
    return moqc_wt_server_adopt(e->wt, conn);
  }
  e->raw_conns++;
  e->raw_server_app.t = moqc_quic_conn_transport(conn);
  return moqc_quic_conn_attach(conn, &wapp_ops, &e->raw_server_app);
}

static void srv_on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote, void *ud,
                         void *cud) {
  senv *e = ud;
  if (strcmp(moqc_quic_conn_alpn(conn), MOQC_WT_ALPN) == 0) {
    moqc_wt_server_conn_closed(conn, cud, err, app, remote);
    return;
  }
  e->raw_closed++;
}

static void wt_session_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  ((senv *)ud)->wt_closed++;
}

static void on_request(void *ud, moqc_wt_request *req) {
  senv *e = ud;
  e->wt_requests++;
  moqc_wt_conn *conn;
  assert_int_equal(moqc_wt_accept(req, "moq-lite-05", &conn), 0);
  e->wt_sessions++;
  e->wt_server_app.t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_wt_conn_attach(conn, &wapp_ops, &e->wt_server_app, wt_session_closed, e),
                   0);
}

/* ---- clients ---- */

static int raw_on_connection(moqc_quic_conn *conn, const char *alpn, void *ud, void *cud) {
  senv *e = ud;
  assert_string_equal(alpn, "moq-lite-05");
  e->raw_client_connected = true;
  e->raw_client_app.t = moqc_quic_conn_transport(conn);
  return moqc_quic_conn_attach(conn, &wapp_ops, &e->raw_client_app);
}

static void raw_on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote, void *ud,
                         void *cud) {}

static void wt_on_connect(void *ud, int status, int http_status, moqc_wt_conn *conn) {
  senv *e = ud;
  assert_int_equal(status, 0);
  e->wt_client_connected = true;
  e->wt_client = conn;
  e->wt_client_app.t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_wt_conn_attach(conn, &wapp_ops, &e->wt_client_app, NULL, NULL), 0);
}

static wstream *find(wapp *a, moqc_stream_id id) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->s[i].id == id) {
      return &a->s[i];
    }
  }
  return NULL;
}

static void test_shared_endpoint_lossy(void **state) {
  senv *e = calloc(1, sizeof(*e));
  e->raw_server_app.echo = true;
  e->wt_server_app.echo = true;
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 2, 2);
  moqc_wt_server_settings ws;
  moqc_wt_server_settings_default(&ws);
  ws.on_request = on_request;
  ws.user_data = e;
  assert_int_equal(moqc_wt_server_new(&e->wt, &ws, NULL), 0);

  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  moqc_quic_settings ss = qs;
  ss.cert = g_cert; /* alpns: MOQC_QUIC_DEFAULT_ALPNS, ending with h3 */
  moqc_quic_callbacks scb = {.on_connection = srv_on_connection, .on_close = srv_on_close};
  assert_int_equal(moqc_quic_endpoint_new(&e->ep, &e->loop, (struct sockaddr *)&a, &ss, &scb, e),
                   0);
  moqc__quic_endpoint_set_send_filter(e->ep, lossy, e);
  uint16_t port = moqc_quic_endpoint_port(e->ep);

  /* A raw QUIC client (moq-lite-05) and a WebTransport client on the same port. */
  moqc_quic_callbacks ccb = {.on_connection = raw_on_connection, .on_close = raw_on_close};
  assert_int_equal(
      moqc_quic_endpoint_new(&e->raw_client_ep, &e->loop, (struct sockaddr *)&a, &qs, &ccb, e), 0);
  struct sockaddr_in ra = a;
  ra.sin_port = htons(port);
  moqc_quic_connect_params cp;
  memset(&cp, 0, sizeof(cp));
  cp.alpns = "moq-lite-05";
  cp.verify.mode = MOQC_TLS_VERIFY_PIN;
  cp.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])moqc_tls_cert_fingerprint(g_cert);
  cp.verify.npins = 1;
  assert_int_equal(moqc_quic_connect(e->raw_client_ep, (struct sockaddr *)&ra, &cp, NULL), 0);

  char url[64];
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/shared", (unsigned)port);
  moqc_wt_connect_params wp;
  memset(&wp, 0, sizeof(wp));
  wp.url = url;
  wp.protocols = moqc_wt_default_protocols(&wp.n_protocols);
  wp.verify = cp.verify;
  wp.quic = &qs;
  assert_int_equal(moqc_wt_connect(&e->loop, &wp, wt_on_connect, e, NULL), 0);

  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  while ((!e->raw_client_connected || !e->wt_client_connected) && uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_ONCE);
  }
  assert_true(e->raw_client_connected);
  assert_true(e->wt_client_connected);
  assert_int_equal(e->raw_conns, 1);
  assert_int_equal(e->wt_sessions, 1);
  assert_int_equal(moqc_wt_server_conn_count(e->wt), 1);

  /* 300 KB each way on both, and a few uni streams on WebTransport. */
  size_t len = 300000;
  uint8_t *big = malloc(len);
  for (size_t i = 0; i < len; i++) {
    big[i] = (uint8_t)(i * 7 + (i >> 9));
  }
  moqc_stream_id rid = wapp_send(&e->raw_client_app, false, big, len, true);
  moqc_stream_id wid = wapp_send(&e->wt_client_app, false, big, len, true);
  for (int i = 0; i < 5; i++) {
    wapp_send(&e->wt_client_app, true, big + i * 1000, 1000, true);
  }
  deadline = uv_hrtime() + 15000000000ULL;
  wstream *rs = NULL, *ws2 = NULL;
  size_t unis = 0;
  while (uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_ONCE);
    rs = find(&e->raw_client_app, rid);
    ws2 = find(&e->wt_client_app, wid);
    unis = 0;
    for (size_t i = 0; i < e->wt_client_app.n; i++) {
      wstream *s = &e->wt_client_app.s[i];
      if (MOQC_STREAM_IS_UNI(s->id) && MOQC_STREAM_IS_SERVER(s->id) && s->rx_fin &&
          s->rx_len == 1000) {
        unis++;
      }
    }
    if (rs != NULL && rs->rx_fin && ws2 != NULL && ws2->rx_fin && unis == 5) {
      break;
    }
  }
  assert_non_null(rs);
  assert_non_null(ws2);
  assert_true(rs->rx_fin);
  assert_true(ws2->rx_fin);
  assert_int_equal(rs->rx_len, len);
  assert_int_equal(ws2->rx_len, len);
  assert_memory_equal(rs->rx, big, len);
  assert_memory_equal(ws2->rx, big, len);
  assert_int_equal(unis, 5);
  assert_true(e->drops > 0 && e->delays > 0);
  free(big);

  /* The WebTransport session closes; the raw connection is unaffected. */
  moqc_wt_conn_close(e->wt_client, 3, "bye");
  deadline = uv_hrtime() + 5000000000ULL;
  while (e->wt_closed == 0 && uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_ONCE);
  }
  assert_int_equal(e->wt_closed, 1);
  assert_true(e->wt_server_app.closed);
  assert_int_equal(e->wt_server_app.close_code, 3);
  assert_int_equal(moqc_wt_server_conn_count(e->wt), 0);
  assert_int_equal(e->raw_closed, 0);
  /* The raw connection still echoes. */
  moqc_stream_id r2 = wapp_send(&e->raw_client_app, false, "after", 5, true);
  deadline = uv_hrtime() + 3000000000ULL;
  while (uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_ONCE);
    rs = find(&e->raw_client_app, r2);
    if (rs != NULL && rs->rx_fin) {
      break;
    }
  }
  assert_non_null(rs);
  assert_int_equal(rs->rx_len, 5);

  /* Shutdown order for a shared endpoint: the WebTransport server first. */
  moqc_wt_server_del(e->wt);
  moqc_quic_endpoint_del(e->raw_client_ep);
  moqc_quic_endpoint_del(e->ep);
  uv_close((uv_handle_t *)&e->tick, NULL);
  assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  wapp_free(&e->raw_server_app);
  wapp_free(&e->wt_server_app);
  wapp_free(&e->raw_client_app);
  wapp_free(&e->wt_client_app);
  free(e);
}

static int group_setup(void **state) {
  const char *names[] = {"127.0.0.1"};
  return moqc_tls_cert_generate(&g_cert, names, 1, (int64_t)time(NULL), 0, NULL);
}

static int group_teardown(void **state) {
  moqc_tls_cert_del(g_cert);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shared_endpoint_lossy),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
