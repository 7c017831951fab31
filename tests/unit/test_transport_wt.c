/*
 * WebTransport over HTTP/3 on loopback: our client to our server (pinned certificate), protocol
 * negotiation, echo of bidi and uni streams and datagrams through a test application, reset
 * codes through the WebTransport error space, session close codes both ways, a refused CONNECT
 * (403 from the embedder) and malformed requests from a raw HTTP/3 client (405, 400).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <moqc/moqc.h>

#include "test_transport_wt_app.h"
#include "transport/h3_fields.h"
#include "transport/quic_internal.h"
#include "wire/h3.h"

static moqc_tls_cert *g_cert;

typedef struct env {
  uv_loop_t loop;
  uv_timer_t tick;
  moqc_wt_server *srv;
  struct sockaddr_in addr;
  /* server side */
  int requests;
  char req_path[256];
  size_t req_nprotos;
  char req_proto0[32];
  char req_origin[64];
  wapp *sapp;
  bool defer;
  moqc_wt_request *pending;
  int aborts;
  moqc_wt_conn *sconn;
  int sclosed;
  moqc_wt_close_info sinfo;
  /* client side */
  int connected;
  int cstatus, chttp;
  char cproto[32];
  wapp *capp;
  moqc_wt_conn *cconn;
  int cclosed;
  moqc_wt_close_info cinfo;
} env;

static void tick_cb(uv_timer_t *t) { (void)t; }

/* What the server's log said: the CONNECT line, and whether any line carried a token. */
typedef struct log_seen {
  bool connect_line;
  bool token;
} log_seen;

static void log_capture(void *ud, moqc_log_level level, const char *msg) {
  log_seen *l = ud;
  (void)level;
  l->connect_line = l->connect_line || strstr(msg, "wt: CONNECT /moq/root?...") != NULL;
  l->token = l->token || strstr(msg, "jwt=") != NULL;
}

static log_seen g_log_seen;
static moqc_log g_log = {log_capture, &g_log_seen, MOQC_LOG_TRACE};

static void server_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  env *e = ud;
  e->sclosed++;
  e->sinfo = *info;
  e->sconn = NULL;
}

static void client_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  env *e = ud;
  e->cclosed++;
  e->cinfo = *info;
  e->cconn = NULL;
}

static void copy_str(char *dst, size_t cap, moqc_str s) {
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  memcpy(dst, s.ptr, n);
  dst[n] = 0;
}

static void accept_now(env *e, moqc_wt_request *req);

static void on_request(void *ud, moqc_wt_request *req) {
  env *e = ud;
  e->requests++;
  copy_str(e->req_path, sizeof(e->req_path), moqc_wt_request_path(req));
  copy_str(e->req_origin, sizeof(e->req_origin), moqc_wt_request_origin(req));
  e->req_nprotos = moqc_wt_request_protocol_count(req);
  copy_str(e->req_proto0, sizeof(e->req_proto0), moqc_wt_request_protocol(req, 0));
  if (e->defer) {
    e->pending = req; /* answered later by the test */
    return;
  }
  if (strncmp(e->req_path, "/forbidden", 10) == 0) {
    assert_int_equal(moqc_wt_refuse(req, 200), MOQC_ERR_INVALID_ARGUMENT);
    assert_int_equal(moqc_wt_refuse(req, 403), 0);
    return;
  }
  accept_now(e, req);
}

static void accept_now(env *e, moqc_wt_request *req) {
  /* The server's choice: the second offered protocol when there is one. */
  const char *proto = NULL;
  char buf[32];
  if (e->req_nprotos >= 2) {
    copy_str(buf, sizeof(buf), moqc_wt_request_protocol(req, 1));
    proto = buf;
  }
  moqc_wt_conn *conn = NULL;
  assert_int_equal(moqc_wt_accept(req, proto, &conn), 0);
  assert_non_null(conn);
  e->sconn = conn;
  e->sapp->t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_wt_conn_attach(conn, &wapp_ops, e->sapp, server_closed, e), 0);
  assert_int_equal(moqc_wt_conn_attach(conn, &wapp_ops, e->sapp, server_closed, e),
                   MOQC_ERR_INVALID_ARGUMENT);
}

static void on_connect(void *ud, int status, int http_status, moqc_wt_conn *conn) {
  env *e = ud;
  e->connected++;
  e->cstatus = status;
  e->chttp = http_status;
  if (conn != NULL) {
    e->cconn = conn;
    copy_str(e->cproto, sizeof(e->cproto), moqc_wt_conn_protocol(conn));
    e->capp->t = moqc_wt_conn_transport(conn);
    assert_int_equal(moqc_wt_conn_attach(conn, &wapp_ops, e->capp, NULL, NULL), 0);
  }
}

static void env_start(env *e) {
  memset(e, 0, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 5, 5);
  e->sapp = calloc(1, sizeof(wapp));
  e->capp = calloc(1, sizeof(wapp));
  e->sapp->echo = true;
  moqc_wt_server_settings ss;
  moqc_wt_server_settings_default(&ss);
  ss.on_request = on_request;
  ss.user_data = e;
  ss.log = &g_log;
  memset(&g_log_seen, 0, sizeof(g_log_seen));
  assert_int_equal(moqc_wt_server_new(&e->srv, &ss, NULL), 0);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.cert = g_cert;
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  memset(&e->addr, 0, sizeof(e->addr));
  e->addr.sin_family = AF_INET;
  e->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_wt_server_listen(e->srv, &e->loop, (struct sockaddr *)&e->addr, &qs), 0);
  e->addr.sin_port = htons(moqc_wt_server_port(e->srv));
  assert_true(moqc_wt_server_port(e->srv) > 0);
}

static void env_stop(env *e) {
  moqc_wt_server_del(e->srv);
  uv_close((uv_handle_t *)&e->tick, NULL);
  /* Client endpoints close themselves once their connection is gone. */
  uint64_t deadline = uv_hrtime() + 3000000000ULL;
  while (uv_run(&e->loop, UV_RUN_NOWAIT) != 0 && uv_hrtime() < deadline) {
    uv_sleep(1);
  }
  assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  wapp_free(e->sapp);
  wapp_free(e->capp);
  free(e->sapp);
  free(e->capp);
}

typedef bool (*cond_fn)(env *e, void *arg);

static bool run_until(env *e, cond_fn cond, void *arg, uint64_t ms) {
  uint64_t deadline = uv_hrtime() + ms * 1000000ULL;
  while (!cond(e, arg)) {
    if (uv_hrtime() > deadline) {
      return false;
    }
    uv_run(&e->loop, UV_RUN_ONCE);
  }
  return true;
}

static void connect_client(env *e, const char *path, const moqc_str *protos, size_t n) {
  char url[256];
  uint8_t pin[1][MOQC_TLS_FINGERPRINT_LEN];
  memcpy(pin[0], moqc_tls_cert_fingerprint(g_cert), MOQC_TLS_FINGERPRINT_LEN);
  snprintf(url, sizeof(url), "https://127.0.0.1:%u%s", (unsigned)ntohs(e->addr.sin_port), path);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  moqc_wt_connect_params p;
  memset(&p, 0, sizeof(p));
  p.url = url;
  p.protocols = protos;
  p.n_protocols = n;
  p.verify.mode = MOQC_TLS_VERIFY_PIN;
  p.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])pin;
  p.verify.npins = 1;
  p.origin = "http://localhost:1234";
  p.quic = &qs;
  p.on_close = client_closed;
  assert_int_equal(moqc_wt_connect(&e->loop, &p, on_connect, e, NULL), 0);
}

static bool connected(env *e, void *arg) { return e->connected > 0 && e->sconn != NULL; }
static bool client_reported(env *e, void *arg) { return e->connected > 0; }

static uint8_t pattern(size_t i, unsigned seed) { return (uint8_t)((i * 131u + seed) & 0xff); }

typedef struct echo_ids {
  moqc_stream_id bidi, uni;
  size_t bidi_len, uni_len;
} echo_ids;

static wstream *find_stream(wapp *a, moqc_stream_id id) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->s[i].id == id) {
      return &a->s[i];
    }
  }
  return NULL;
}

/* The client got the whole bidi echo, a server uni stream with the uni bytes, and a datagram. */
static bool echo_done(env *e, void *arg) {
  echo_ids *ids = arg;
  wstream *b = find_stream(e->capp, ids->bidi);
  if (b == NULL || !b->rx_fin || b->rx_len != ids->bidi_len) {
    return false;
  }
  bool uni = false;
  for (size_t i = 0; i < e->capp->n; i++) {
    wstream *s = &e->capp->s[i];
    if (MOQC_STREAM_IS_UNI(s->id) && MOQC_STREAM_IS_SERVER(s->id) && s->rx_fin &&
        s->rx_len == ids->uni_len) {
      uni = true;
    }
  }
  return uni && e->capp->dgrams > 0;
}

static void test_echo(void **state) {
  env e;
  env_start(&e);
  moqc_str protos[] = {{"moq-lite-05", 11}, {"moq-lite-04", 11}, {"moql", 4}};
  connect_client(&e, "/moq/root?jwt=abc", protos, 3);
  assert_true(run_until(&e, connected, NULL, 5000));
  assert_int_equal(e.cstatus, 0);
  assert_int_equal(e.chttp, 200);
  assert_string_equal(e.req_path, "/moq/root?jwt=abc");
  /* The CONNECT is logged by its path only: a token in the query stays out of logs. */
  assert_true(g_log_seen.connect_line);
  assert_false(g_log_seen.token);
  assert_string_equal(e.req_origin, "http://localhost:1234");
  assert_int_equal(e.req_nprotos, 3);
  assert_string_equal(e.req_proto0, "moq-lite-05");
  assert_string_equal(e.cproto, "moq-lite-04"); /* the server's choice reached the client */
  moqc_str sp = moqc_wt_conn_protocol(e.sconn);
  assert_int_equal(sp.len, 11);
  assert_memory_equal(sp.ptr, "moq-lite-04", 11);
  moqc_str path = moqc_wt_conn_path(e.sconn);
  assert_int_equal(path.len, strlen("/moq/root?jwt=abc"));
  assert_non_null(moqc_wt_conn_quic(e.cconn));
  assert_int_equal(moqc_wt_server_conn_count(e.srv), 1);

  /* 200 KB on a bidi stream, 5000 bytes on a uni stream, one datagram. */
  echo_ids ids = {0};
  ids.bidi_len = 200000;
  ids.uni_len = 5000;
  uint8_t *big = malloc(ids.bidi_len);
  for (size_t i = 0; i < ids.bidi_len; i++) {
    big[i] = pattern(i, 1);
  }
  uint8_t uni[5000];
  for (size_t i = 0; i < sizeof(uni); i++) {
    uni[i] = pattern(i, 2);
  }
  ids.bidi = wapp_send(e.capp, false, big, ids.bidi_len, true);
  ids.uni = wapp_send(e.capp, true, uni, sizeof(uni), true);
  assert_int_not_equal(ids.bidi, MOQC_STREAM_NONE);
  assert_int_not_equal(ids.uni, MOQC_STREAM_NONE);
  assert_false(MOQC_STREAM_IS_UNI(ids.bidi));
  assert_true(MOQC_STREAM_IS_UNI(ids.uni));
  const char *dg = "hello-dgram";
  assert_int_equal(e.capp->t.ops->send_datagram(e.capp->t.user_data, (const uint8_t *)dg, 11), 0);
  /* Datagrams may be lost: send again until one comes back. */
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  while (!echo_done(&e, &ids) && uv_hrtime() < deadline) {
    run_until(&e, echo_done, &ids, 200);
    if (e.capp->dgrams == 0) {
      e.capp->t.ops->send_datagram(e.capp->t.user_data, (const uint8_t *)dg, 11);
    }
  }
  assert_true(echo_done(&e, &ids));
  wstream *b = find_stream(e.capp, ids.bidi);
  assert_memory_equal(b->rx, big, ids.bidi_len);
  for (size_t i = 0; i < e.capp->n; i++) {
    wstream *s = &e.capp->s[i];
    if (MOQC_STREAM_IS_UNI(s->id) && MOQC_STREAM_IS_SERVER(s->id)) {
      assert_memory_equal(s->rx, uni, sizeof(uni));
    }
  }
  /* The server application saw the streams under the same (QUIC) ids, without headers. */
  wstream *sb = find_stream(e.sapp, ids.bidi);
  assert_non_null(sb);
  assert_int_equal(sb->rx_len, ids.bidi_len);
  assert_memory_equal(sb->rx, big, ids.bidi_len);
  wstream *su = find_stream(e.sapp, ids.uni);
  assert_non_null(su);
  assert_int_equal(su->rx_len, sizeof(uni));
  assert_int_equal(e.capp->last_dgram_len, 11);
  assert_memory_equal(e.capp->last_dgram, dg, 11);
  assert_memory_equal(e.sapp->last_dgram, dg, 11);
  free(big);

  /* A reset code travels through the WebTransport error space and back. */
  moqc_stream_id r = wapp_send(e.capp, false, "abc", 3, false);
  assert_int_not_equal(r, MOQC_STREAM_NONE);
  bool got = false;
  deadline = uv_hrtime() + 3000000000ULL;
  while (!got && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    wstream *s = find_stream(e.sapp, r);
    got = s != NULL && s->rx_len == 3;
  }
  assert_true(got);
  assert_int_equal(e.capp->t.ops->reset_stream(e.capp->t.user_data, r, 77), 0);
  find_stream(e.capp, r)->tx_reset = true;
  got = false;
  deadline = uv_hrtime() + 3000000000ULL;
  while (!got && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    wstream *s = find_stream(e.sapp, r);
    got = s != NULL && s->reset;
  }
  assert_true(got);
  assert_int_equal(find_stream(e.sapp, r)->reset_code, 77);

  /* Client closes the session with a code and reason: the server's application sees both. */
  e.capp->t.ops->close(e.capp->t.user_data, 42, "bye", 3);
  deadline = uv_hrtime() + 5000000000ULL;
  while ((!e.sapp->closed || e.sclosed == 0 || e.cclosed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_true(e.sapp->closed);
  assert_int_equal(e.sapp->close_code, 42);
  assert_string_equal(e.sapp->close_reason, "bye");
  assert_false(e.capp->closed); /* it closed itself: not told */
  assert_int_equal(e.sclosed, 1);
  assert_int_equal(e.sinfo.code, 42);
  assert_true(e.sinfo.by_peer);
  assert_int_equal(e.sinfo.http_status, 200);
  assert_int_equal(e.cclosed, 1);
  assert_int_equal(e.cinfo.code, 42);
  assert_false(e.cinfo.by_peer);
  assert_int_equal(moqc_wt_server_conn_count(e.srv), 0);
  env_stop(&e);
}

static bool server_app_closed(env *e, void *arg) {
  (void)arg;
  return e->sapp->closed;
}

/*
 * Once the peer ends the session, the server resets the send side of the session's streams in
 * QUIC (WT_SESSION_GONE), as the WebTransport draft asks, while the connection lingers for the
 * close handshake: a stream left open (no FIN) is reset or already gone, not kept open.
 */
static void test_peer_close_resets_session_streams(void **state) {
  env e;
  env_start(&e);
  connect_client(&e, "/", NULL, 0);
  assert_true(run_until(&e, connected, NULL, 5000));
  static uint8_t data[20000];
  moqc_stream_id u = wapp_send(e.sapp, true, data, sizeof(data), false); /* no FIN */
  assert_int_not_equal(u, MOQC_STREAM_NONE);
  uint64_t until = uv_hrtime() + 50000000ULL;
  while (uv_hrtime() < until) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
  }
  moqc_quic_conn *sq = moqc_wt_conn_quic(e.sconn);
  const moqc__quic_stream *qs = moqc__stream_find(sq, u);
  assert_non_null(qs);
  assert_false(qs->reset);
  e.capp->t.ops->close(e.capp->t.user_data, 3, "bye", 3);
  assert_true(run_until(&e, server_app_closed, NULL, 3000));
  qs = moqc__stream_find(sq, u);
  assert_true(qs == NULL || qs->reset);
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  while ((e.sclosed == 0 || e.cclosed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(e.sclosed, 1);
  env_stop(&e);
}

static void test_server_close(void **state) {
  env e;
  env_start(&e);
  connect_client(&e, "/", NULL, 0);
  assert_true(run_until(&e, connected, NULL, 5000));
  assert_int_equal(e.req_nprotos, 0);
  assert_int_equal(strlen(e.cproto), 0); /* no protocol: the legacy handshake */
  /* A server-opened bidi stream reaches the client application. */
  moqc_stream_id id = wapp_send(e.sapp, false, "srv", 3, true);
  assert_true(MOQC_STREAM_IS_SERVER(id));
  uint64_t deadline = uv_hrtime() + 3000000000ULL;
  wstream *s = NULL;
  while ((s == NULL || !s->rx_fin) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    s = find_stream(e.capp, id);
  }
  assert_non_null(s);
  assert_int_equal(s->rx_len, 3);
  assert_memory_equal(s->rx, "srv", 3);
  /* The server asks the client to wind down (DRAIN + GOAWAY): the client sees it, the session
   * still works. */
  assert_false(moqc_wt_conn_draining(e.cconn));
  assert_int_equal(moqc_wt_conn_drain(e.sconn), 0);
  assert_int_equal(moqc_wt_conn_drain(e.sconn), 0);
  deadline = uv_hrtime() + 3000000000ULL;
  while (!moqc_wt_conn_draining(e.cconn) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_true(moqc_wt_conn_draining(e.cconn));
  assert_false(moqc_wt_conn_draining(e.sconn));
  assert_int_equal(moqc_wt_conn_drain(e.cconn), 0); /* and the other way: capsule only */
  deadline = uv_hrtime() + 3000000000ULL;
  while (!moqc_wt_conn_draining(e.sconn) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_true(moqc_wt_conn_draining(e.sconn));
  /* The server closes the session (as a relay would on shutdown of one client). */
  moqc_wt_conn_close(e.sconn, 7, "going away");
  deadline = uv_hrtime() + 5000000000ULL;
  while ((e.sclosed == 0 || e.cclosed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_true(e.capp->closed);
  assert_int_equal(e.capp->close_code, 7);
  assert_string_equal(e.capp->close_reason, "going away");
  assert_false(e.sapp->closed); /* closed by its owner: not told */
  assert_int_equal(e.cinfo.code, 7);
  assert_true(e.cinfo.by_peer);
  assert_int_equal(e.sinfo.code, 7);
  assert_false(e.sinfo.by_peer);
  env_stop(&e);
}

static void test_refused(void **state) {
  env e;
  env_start(&e);
  connect_client(&e, "/forbidden/x", NULL, 0);
  assert_true(run_until(&e, client_reported, NULL, 5000));
  assert_int_equal(e.cstatus, MOQC_ERR_REMOTE);
  assert_int_equal(e.chttp, 403);
  assert_null(e.cconn);
  assert_int_equal(e.requests, 1);
  assert_int_equal(e.cclosed, 0); /* no session: only the connect callback */
  env_stop(&e);
}

/* ---- a raw HTTP/3 client sending malformed requests ---- */

typedef struct raw {
  moqc_quic_endpoint *ep;
  moqc_quic_conn *conn;
  bool connected, closed;
  uint8_t rx[2][512];
  size_t rxlen[2];
  bool fin[2];
  int status[2];
} raw;

static int raw_on_connection(moqc_quic_conn *conn, const char *alpn, void *ud, void *cud) {
  raw *r = ud;
  uint8_t buf[128];
  moqc__writer w;
  moqc__h3_settings st;
  int64_t ctl, s0, s1;
  r->connected = true;
  r->conn = conn;
  assert_string_equal(alpn, "h3");
  assert_int_equal(moqc_quic_conn_open_stream(conn, true, &ctl), 0);
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__put_varint(&w, 0);
  moqc__h3_settings_server(&st, 1);
  moqc__h3_put_settings(&w, &st);
  assert_int_equal(moqc_quic_conn_write_copy(conn, ctl, buf, (size_t)moqc__writer_result(&w),
                                             false),
                   0);
  /* GET / (not CONNECT) -> 405; CONNECT without :protocol -> 400. */
  static const uint8_t get[] = {0x01, 0x10, 0x00, 0x00, 0xd1, 0xd7, 0xc1, 0x50, 0x09,
                                '1',  '2',  '7',  '.',  '0',  '.',  '0',  '.',  '1'};
  static const uint8_t connect[] = {0x01, 0x10, 0x00, 0x00, 0xcf, 0xd7, 0xc1, 0x50, 0x09,
                                    '1',  '2',  '7',  '.',  '0',  '.',  '0',  '.',  '1'};
  assert_int_equal(moqc_quic_conn_open_stream(conn, false, &s0), 0);
  assert_int_equal(moqc_quic_conn_write_copy(conn, s0, get, sizeof(get), true), 0);
  assert_int_equal(moqc_quic_conn_open_stream(conn, false, &s1), 0);
  assert_int_equal(moqc_quic_conn_write_copy(conn, s1, connect, sizeof(connect), true), 0);
  assert_int_equal(s0, 0);
  assert_int_equal(s1, 4);
  return 0;
}

static moqc_ssize raw_on_data(moqc_quic_conn *conn, int64_t id, const uint8_t *data, size_t len,
                              bool fin, void *ud, void *cud) {
  raw *r = ud;
  if (id == 0 || id == 4) {
    int i = (int)(id / 4);
    size_t n = len < sizeof(r->rx[i]) - r->rxlen[i] ? len : sizeof(r->rx[i]) - r->rxlen[i];
    memcpy(r->rx[i] + r->rxlen[i], data, n);
    r->rxlen[i] += n;
    r->fin[i] = r->fin[i] || fin;
  }
  return (moqc_ssize)len;
}

static void raw_on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote, void *ud,
                         void *cud) {
  raw *r = ud;
  r->closed = true;
  r->conn = NULL;
}

static int raw_status(const uint8_t *b, size_t len) {
  const uint8_t *p = b;
  moqc__h3_frame f;
  if (moqc__h3_frame_decode(&p, b + len, 4096, &f) != 0 || f.type != MOQC__H3_HEADERS) {
    return -1;
  }
  moqc__h3_fieldset fs;
  moqc_str v;
  moqc__h3_fieldset_init(&fs, 4096, NULL);
  int st = -1;
  if (moqc__h3_fields_decode(&fs, f.payload, f.len) == 0 &&
      moqc__h3_fieldset_get(&fs, ":status", &v) && v.len == 3) {
    st = (v.ptr[0] - '0') * 100 + (v.ptr[1] - '0') * 10 + (v.ptr[2] - '0');
  }
  moqc__h3_fieldset_free(&fs);
  return st;
}

static bool raw_done(env *e, void *arg) {
  raw *r = arg;
  return r->fin[0] && r->fin[1];
}

static void test_bad_requests(void **state) {
  env e;
  env_start(&e);
  raw r;
  memset(&r, 0, sizeof(r));
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.alpns = "h3";
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  moqc_quic_callbacks cb = {.on_connection = raw_on_connection,
                            .on_stream_data = raw_on_data,
                            .on_close = raw_on_close};
  struct sockaddr_in any;
  memset(&any, 0, sizeof(any));
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_quic_endpoint_new(&r.ep, &e.loop, (struct sockaddr *)&any, &qs, &cb, &r),
                   0);
  moqc_quic_connect_params cp;
  memset(&cp, 0, sizeof(cp));
  cp.verify.mode = MOQC_TLS_VERIFY_NONE;
  assert_int_equal(moqc_quic_connect(r.ep, (struct sockaddr *)&e.addr, &cp, NULL), 0);
  assert_true(run_until(&e, raw_done, &r, 5000));
  assert_int_equal(raw_status(r.rx[0], r.rxlen[0]), 405);
  assert_int_equal(raw_status(r.rx[1], r.rxlen[1]), 400);
  assert_int_equal(e.requests, 0); /* never reached the embedder */
  assert_false(r.closed);          /* the connection stays usable */
  moqc_quic_endpoint_del(r.ep);
  env_stop(&e);
}

/* A wrong pin fails the handshake; a host name is resolved (a dual-stack server answers
 * whichever address "localhost" gives first). */
static void test_pin_and_name(void **state) {
  env e;
  env_start(&e);
  char url[128];
  uint8_t pin[1][MOQC_TLS_FINGERPRINT_LEN];
  memset(pin, 0x5a, sizeof(pin));
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", (unsigned)ntohs(e.addr.sin_port));
  moqc_wt_connect_params p;
  memset(&p, 0, sizeof(p));
  p.url = url;
  p.verify.mode = MOQC_TLS_VERIFY_PIN;
  p.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])pin;
  p.verify.npins = 1;
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), 0);
  assert_true(run_until(&e, client_reported, NULL, 5000));
  assert_int_equal(e.cstatus, MOQC_ERR_UNAUTHORIZED);
  assert_null(e.cconn);
  assert_int_equal(e.requests, 0);
  /* Bad URLs are refused at once. */
  p.url = "http://127.0.0.1:1/x";
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), MOQC_ERR_INVALID_ARGUMENT);
  p.url = "https://127.0.0.1:99999/x";
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), MOQC_ERR_INVALID_ARGUMENT);
  p.url = "https:///x";
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), MOQC_ERR_INVALID_ARGUMENT);

  /* A second server on [::] (dual stack), dialled by name. */
  moqc_wt_server *srv6;
  moqc_wt_server_settings ss;
  moqc_wt_server_settings_default(&ss);
  ss.on_request = on_request;
  ss.user_data = &e;
  assert_int_equal(moqc_wt_server_new(&srv6, &ss, NULL), 0);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.cert = g_cert;
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  struct sockaddr_in6 a6;
  memset(&a6, 0, sizeof(a6));
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_any;
  assert_int_equal(moqc_wt_server_listen(srv6, &e.loop, (struct sockaddr *)&a6, &qs), 0);
  e.connected = 0;
  memcpy(pin[0], moqc_tls_cert_fingerprint(g_cert), MOQC_TLS_FINGERPRINT_LEN);
  snprintf(url, sizeof(url), "https://localhost:%u/named", (unsigned)moqc_wt_server_port(srv6));
  p.url = url;
  p.on_close = client_closed;
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), 0);
  assert_true(run_until(&e, connected, NULL, 5000));
  assert_int_equal(e.cstatus, 0);
  assert_string_equal(e.req_path, "/named");
  moqc_wt_conn_close(e.cconn, 0, NULL);
  uint64_t deadline = uv_hrtime() + 3000000000ULL;
  while ((e.cclosed == 0 || e.sclosed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(e.cclosed, 1);
  assert_int_equal(e.sclosed, 1);
  assert_true(e.sapp->closed);
  assert_int_equal(e.sapp->close_code, 0);

  /* Verification against a CA file (the self-signed certificate as the root) and the name. */
  char pem[4096];
  assert_true(moqc_tls_cert_export_pem(g_cert, false, pem, sizeof(pem)) > 0);
  char ca[] = "/tmp/moqc-wt-ca-XXXXXX";
  int fd = mkstemp(ca);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, pem, strlen(pem)), (ssize_t)strlen(pem));
  close(fd);
  memset(&p.verify, 0, sizeof(p.verify));
  p.verify.mode = MOQC_TLS_VERIFY_CA_FILE;
  p.verify.ca_file = ca;
  e.connected = 0;
  e.cclosed = e.sclosed = 0;
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), 0);
  assert_true(run_until(&e, client_reported, NULL, 5000));
  assert_int_equal(e.cstatus, 0);
  assert_non_null(e.cconn);
  moqc_wt_conn_close(e.cconn, 0, NULL);
  deadline = uv_hrtime() + 3000000000ULL;
  while ((e.cclosed == 0 || e.sclosed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  /* The same CA file does not vouch for another name. */
  snprintf(url, sizeof(url), "https://[::1]:%u/named", (unsigned)moqc_wt_server_port(srv6));
  e.connected = 0;
  assert_int_equal(moqc_wt_connect(&e.loop, &p, on_connect, &e, NULL), 0);
  assert_true(run_until(&e, client_reported, NULL, 5000));
  assert_int_equal(e.cstatus, MOQC_ERR_UNAUTHORIZED);
  unlink(ca);
  moqc_wt_server_del(srv6);
  env_stop(&e);
}

static void on_abort(void *ud) { ((env *)ud)->aborts++; }

static bool request_pending(env *e, void *arg) { return e->pending != NULL; }

/* The embedder answers later (asynchronous auth): nothing flows until then, then all works. */
static void test_deferred_accept(void **state) {
  env e;
  env_start(&e);
  e.defer = true;
  connect_client(&e, "/later", NULL, 0);
  assert_true(run_until(&e, request_pending, NULL, 5000));
  moqc_wt_request_on_abort(e.pending, on_abort, &e);
  moqc_str h;
  assert_true(moqc_wt_request_header(e.pending, ":authority", &h));
  assert_false(moqc_wt_request_header(e.pending, "x-missing", &h));
  uint64_t until = uv_hrtime() + 100000000ULL;
  while (uv_hrtime() < until) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(e.connected, 0); /* the client still waits for the answer */
  accept_now(&e, e.pending);
  e.pending = NULL;
  assert_true(run_until(&e, connected, NULL, 5000));
  assert_int_equal(e.cstatus, 0);
  moqc_stream_id id = wapp_send(e.capp, false, "ping", 4, true);
  uint64_t deadline = uv_hrtime() + 3000000000ULL;
  wstream *s = NULL;
  while ((s == NULL || !s->rx_fin) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    s = find_stream(e.capp, id);
  }
  assert_non_null(s);
  assert_int_equal(s->rx_len, 4);
  assert_int_equal(e.aborts, 0);
  env_stop(&e);
}

/* A deferred request whose connection goes away is aborted (the server is deleted here). */
static void test_deferred_abort(void **state) {
  env e;
  env_start(&e);
  e.defer = true;
  connect_client(&e, "/never", NULL, 0);
  assert_true(run_until(&e, request_pending, NULL, 5000));
  moqc_wt_request_on_abort(e.pending, on_abort, &e);
  moqc_wt_server_del(e.srv);
  e.srv = NULL;
  assert_int_equal(e.aborts, 1);
  assert_true(run_until(&e, client_reported, NULL, 5000));
  assert_true(e.cstatus < 0);
  assert_null(e.cconn);
  env_stop(&e);
}

static int group_setup(void **state) {
  const char *names[] = {"127.0.0.1", "localhost"};
  return moqc_tls_cert_generate(&g_cert, names, 2, (int64_t)time(NULL), 0, NULL);
}

static int group_teardown(void **state) {
  moqc_tls_cert_del(g_cert);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo),
      cmocka_unit_test(test_server_close),
      cmocka_unit_test(test_peer_close_resets_session_streams),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_pin_and_name),
      cmocka_unit_test(test_deferred_accept),
      cmocka_unit_test(test_deferred_abort),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
