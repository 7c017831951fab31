/*
 * The Probe stream over real QUIC and over WebTransport on loopback: a server session
 * (moq-lite-05) announces Probe level Report in its SETUP, and a client test double that opens a
 * Probe stream receives PROBE messages carrying the connection's real estimates (non-zero bitrate
 * and RTT, from ngtcp2's connection statistics; WebTransport forwards to its QUIC connection).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <uv.h>

#include <moqc/moqc.h>
#include <moqc/session.h>
#include <moqc/webtransport.h>

#include "quic_testutil.h"
#include "test_probe_double.h"
#include "wire/lite.h"

typedef struct side {
  moqc_quic_endpoint *ep;
  moqc_session *sess; /* server */
  dbl d;              /* client */
  bool server;
  int connected, closed;
} side;

static int on_connection(moqc_quic_conn *conn, const char *alpn, void *ud, void *cud) {
  (void)cud;
  side *q = ud;
  q->connected++;
  assert_string_equal(alpn, "moq-lite-05");
  if (!q->server) {
    q->d.tp = moqc_quic_conn_transport(conn);
    return moqc_quic_conn_attach(conn, &dbl_ops, &q->d);
  }
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.version = MOQC_SESSION_VERSION_LITE_05;
  moqc_transport t = moqc_quic_conn_transport(conn);
  int rv = moqc_session_new(&q->sess, &st, &t, NULL, NULL, NULL);
  if (rv == 0) {
    rv = moqc_quic_conn_attach(conn, moqc_session_app_ops(), q->sess);
  }
  if (rv == 0) {
    rv = moqc_session_start(q->sess, uv_hrtime());
  }
  return rv;
}

static void on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote, void *ud,
                     void *cud) {
  (void)conn, (void)err, (void)app, (void)remote, (void)cud;
  side *q = ud;
  q->closed++;
  moqc_session_del(q->sess);
  q->sess = NULL;
}

static const moqc_quic_callbacks callbacks = {.on_connection = on_connection,
                                              .on_close = on_close};

static void tick_cb(uv_timer_t *t) { (void)t; }

/* The server's SETUP as the double received it, or false while incomplete. */
static bool got_setup(dbl *d, moqc__lite_setup *m) {
  for (size_t i = 0; i < d->n; i++) {
    dstream *s = &d->st[i];
    if (MOQC_STREAM_IS_UNI(s->id) && MOQC_STREAM_IS_SERVER(s->id) && s->fin_in) {
      const uint8_t *p = s->in, *end = s->in + s->in_len;
      uint64_t type;
      assert_int_equal(moqc__lite_decode_stream_type(&p, end, &type), 0);
      assert_int_equal(type, MOQC_LITE_UNI_SETUP);
      assert_int_equal(moqc__lite_decode_setup(&p, end, MOQC_LITE_05, m), 0);
      return true;
    }
  }
  return false;
}

/* Over a connected double (client) and server session: the client's SETUP, a Probe stream, the
 * server's SETUP with Probe Report, PROBEs with real estimates, and the FIN exchange. */
static void probe_check(uv_loop_t *loop, dbl *d) {
  /* The client's SETUP (no parameters), then a Probe stream. */
  uint8_t buf[16];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_setup m;
  memset(&m, 0, sizeof(m));
  assert_int_equal(moqc__lite_encode_stream_type(&w, MOQC_LITE_UNI_SETUP), 0);
  assert_true(moqc__lite_encode_setup(&w, MOQC_LITE_05, &m) >= 0);
  dstream *su = dbl_open(d, true, buf, (size_t)moqc__writer_result(&w));
  su->fin_out = true;
  static const uint8_t type = MOQC_LITE_BIDI_PROBE;
  dstream *ps = dbl_open(d, false, &type, 1);
  moqc_stream_id probe_id = ps->id;

  /* The server's SETUP says Report; PROBEs arrive with real estimates. Run ~300 ms so that
   * several samples happen (a PROBE only when a value moved, so at least the first). */
  moqc__lite_setup ss;
  bool have_setup = false;
  uint64_t deadline = uv_hrtime() + 300000000ULL;
  while (uv_hrtime() < deadline) {
    uv_run(loop, UV_RUN_ONCE);
    have_setup = have_setup || got_setup(d, &ss);
  }
  assert_true(have_setup);
  assert_true(ss.present & MOQC_LITE_SETUP_HAS_PROBE);
  assert_int_equal(ss.probe, MOQC_LITE_PROBE_REPORT);
  ps = dbl_find(d, probe_id, false);
  assert_non_null(ps);
  assert_false(ps->fin_in);
  assert_false(ps->reset_in);
  const uint8_t *p = ps->in, *end = ps->in + ps->in_len;
  int n = 0;
  while (p < end) {
    moqc__lite_probe pr;
    assert_int_equal(moqc__lite_decode_probe(&p, end, MOQC_LITE_05, &pr), 0);
    /* Loopback: the RTT rounds to 0 ms and is sent as 1; the rate is a real estimate. */
    assert_true(pr.rtt_ms >= 1);
    assert_true(pr.rtt_ms < 1000);
    assert_true(pr.bitrate > 1000);
    if (getenv("PROBE_LOG") != NULL) {
      fprintf(stderr, "PROBE bitrate %llu rtt %llu ms\n", (unsigned long long)pr.bitrate,
              (unsigned long long)pr.rtt_ms);
    }
    n++;
  }
  assert_true(n >= 1);

  /* The client ends the stream; the server's FIN follows. */
  ps->fin_out = true;
  d->tp.ops->resume_stream(d->tp.user_data, probe_id);
  deadline = uv_hrtime() + 2000000000ULL;
  while (!ps->fin_in && uv_hrtime() < deadline) {
    uv_run(loop, UV_RUN_ONCE);
  }
  assert_true(ps->fin_in);
}

static void test_probe_over_quic(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_timer_t tick;
  side srv, cli;
  memset(&srv, 0, sizeof(srv));
  memset(&cli, 0, sizeof(cli));
  srv.server = true;
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, tick_cb, 2, 2);

  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings s;
  moqc_quic_settings_default(&s);
  s.initial_rtt = 10 * MOQC_MILLISECONDS;
  moqc_quic_settings rs = s;
  rs.cert = g_cert;
  assert_int_equal(
      moqc_quic_endpoint_new(&srv.ep, &loop, (struct sockaddr *)&a, &rs, &callbacks, &srv), 0);
  assert_int_equal(
      moqc_quic_endpoint_new(&cli.ep, &loop, (struct sockaddr *)&a, &s, &callbacks, &cli), 0);
  struct sockaddr_in ra = a;
  ra.sin_port = htons(moqc_quic_endpoint_port(srv.ep));
  moqc_quic_connect_params cp = quic_pin_params();
  cp.alpns = "moq-lite-05";
  assert_int_equal(moqc_quic_connect(cli.ep, (struct sockaddr *)&ra, &cp, NULL), 0);

  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  while ((cli.connected == 0 || srv.connected == 0) && uv_hrtime() < deadline) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  assert_int_equal(cli.connected, 1);
  assert_int_equal(srv.connected, 1);

  probe_check(&loop, &cli.d);

  /* Close from the server side; both connections go. */
  moqc_session_close(srv.sess, 0, "done");
  deadline = uv_hrtime() + 3000000000ULL;
  while ((cli.closed == 0 || srv.closed == 0) && uv_hrtime() < deadline) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  assert_int_equal(cli.closed, 1);
  assert_int_equal(srv.closed, 1);
  moqc_quic_endpoint_del(cli.ep);
  moqc_quic_endpoint_del(srv.ep);
  uv_close((uv_handle_t *)&tick, NULL);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- WebTransport ---- */

typedef struct wtenv {
  moqc_session *sess; /* server */
  dbl d;              /* client */
  int srv_closed, cli_closed, connected;
} wtenv;

static void wt_srv_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  (void)conn, (void)info;
  wtenv *e = ud;
  e->srv_closed++;
  moqc_session_del(e->sess);
  e->sess = NULL;
}

static void wt_cli_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  (void)conn, (void)info;
  wtenv *e = ud;
  e->cli_closed++;
}

static void wt_on_request(void *ud, moqc_wt_request *req) {
  wtenv *e = ud;
  moqc_wt_conn *conn;
  assert_int_equal(moqc_wt_accept(req, "moq-lite-05", &conn), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.version = MOQC_SESSION_VERSION_LITE_05;
  moqc_transport t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_session_new(&e->sess, &st, &t, NULL, NULL, NULL), 0);
  assert_int_equal(moqc_wt_conn_attach(conn, moqc_session_app_ops(), e->sess, wt_srv_closed, e),
                   0);
  assert_int_equal(moqc_session_start(e->sess, uv_hrtime()), 0);
}

static void wt_on_connect(void *ud, int status, int http_status, moqc_wt_conn *conn) {
  wtenv *e = ud;
  assert_int_equal(status, 0);
  assert_int_equal(http_status, 200);
  e->d.tp = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_wt_conn_attach(conn, &dbl_ops, &e->d, wt_cli_closed, e), 0);
  e->connected++;
}

static void test_probe_over_wt(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_timer_t tick;
  wtenv e;
  memset(&e, 0, sizeof(e));
  assert_int_equal(uv_loop_init(&loop), 0);
  uv_timer_init(&loop, &tick);
  uv_timer_start(&tick, tick_cb, 2, 2);
  moqc_wt_server *srv;
  moqc_wt_server_settings ws;
  moqc_wt_server_settings_default(&ws);
  ws.on_request = wt_on_request;
  ws.user_data = &e;
  assert_int_equal(moqc_wt_server_new(&srv, &ws, NULL), 0);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.cert = g_cert;
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_wt_server_listen(srv, &loop, (struct sockaddr *)&a, &qs), 0);

  char url[128];
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/anon", (unsigned)moqc_wt_server_port(srv));
  moqc_str proto = moqc_str_c("moq-lite-05");
  moqc_wt_connect_params cp;
  memset(&cp, 0, sizeof(cp));
  cp.url = url;
  cp.protocols = &proto;
  cp.n_protocols = 1;
  cp.verify.mode = MOQC_TLS_VERIFY_PIN;
  cp.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])moqc_tls_cert_fingerprint(g_cert);
  cp.verify.npins = 1;
  moqc_quic_settings cq;
  moqc_quic_settings_default(&cq);
  cq.initial_rtt = 10 * MOQC_MILLISECONDS;
  cp.quic = &cq;
  assert_int_equal(moqc_wt_connect(&loop, &cp, wt_on_connect, &e, NULL), 0);
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  while ((e.connected == 0 || e.sess == NULL) && uv_hrtime() < deadline) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  assert_int_equal(e.connected, 1);
  assert_non_null(e.sess);

  probe_check(&loop, &e.d);

  moqc_session_close(e.sess, 0, "done");
  deadline = uv_hrtime() + 3000000000ULL;
  while ((e.cli_closed == 0 || e.srv_closed == 0) && uv_hrtime() < deadline) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  assert_int_equal(e.cli_closed, 1);
  assert_int_equal(e.srv_closed, 1);
  moqc_wt_server_del(srv);
  uv_close((uv_handle_t *)&tick, NULL);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probe_over_quic),
      cmocka_unit_test(test_probe_over_wt),
  };
  return cmocka_run_group_tests(tests, quic_cert_setup, quic_cert_teardown);
}
