/*
 * moq-lite sessions over WebTransport on loopback: a publisher node dials the relay node with
 * moqc_wt_connect (offering moq-lite-05/04/03/moql, or nothing = the legacy handshake), the
 * relay accepts the CONNECT with the first offered protocol, the wire version follows the
 * negotiated protocol, the relay mirrors the announced broadcast, a viewer on the relay
 * subscribes and reads whole groups; then the publisher's session closes and the relay's hears.
 */
#include "test_session_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include <uv.h>

#include "transport/quic_internal.h"
#include "transport/quic_test.h"

static moqc_tls_cert *g_cert;

static uint32_t version_for(moqc_str p) {
  if (p.len == 11 && memcmp(p.ptr, "moq-lite-05", 11) == 0) {
    return MOQC_SESSION_VERSION_LITE_05;
  }
  if (p.len == 11 && memcmp(p.ptr, "moq-lite-04", 11) == 0) {
    return MOQC_SESSION_VERSION_LITE_04;
  }
  if (p.len == 11 && memcmp(p.ptr, "moq-lite-03", 11) == 0) {
    return MOQC_SESSION_VERSION_LITE_03;
  }
  return MOQC_SESSION_VERSION_LEGACY;
}

typedef struct wside {
  node *n;
  uint64_t origin_id;
  moqc_session *sess;
  moqc_wt_conn *conn;
  int connected, closed;
  uint64_t close_code;
  char proto[32];
} wside;

typedef struct wenv {
  uv_loop_t loop;
  uv_timer_t tick;
  moqc_wt_server *srv;
  wside pub_side, relay_side;
} wenv;

static void tick_cb(uv_timer_t *t) { (void)t; }

static void side_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  wside *w = ud;
  w->closed++;
  w->close_code = info->code;
  moqc_session_del(w->sess); /* before the connection's memory goes */
  w->sess = NULL;
}

static void side_start(wside *w, moqc_wt_conn *conn, moqc_session_perspective persp) {
  moqc_str p = moqc_wt_conn_protocol(conn);
  snprintf(w->proto, sizeof(w->proto), "%.*s", (int)p.len, p.ptr);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = persp;
  st.version = version_for(p);
  st.origin_id = w->origin_id;
  if (getenv("WT_DEBUG")) { st.log.write = test_log; st.log.user_data = persp == MOQC_SESSION_SERVER ? "R" : "P"; st.log.level = MOQC_LOG_TRACE; }
  w->conn = conn;
  moqc_transport t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_session_new(&w->sess, &st, &t, w->n->cons, w->n->prod, NULL), 0);
  assert_int_equal(moqc_wt_conn_attach(conn, moqc_session_app_ops(), w->sess, side_closed, w), 0);
  assert_int_equal(moqc_session_start(w->sess, uv_hrtime()), 0);
  w->connected++;
}

static void on_request(void *ud, moqc_wt_request *req) {
  wenv *e = ud;
  char proto[32];
  const char *choice = NULL;
  /* The relay's rule: the first protocol in the client's list that it supports. */
  for (size_t i = 0; i < moqc_wt_request_protocol_count(req) && choice == NULL; i++) {
    moqc_str p = moqc_wt_request_protocol(req, i);
    if (version_for(p) != MOQC_SESSION_VERSION_LEGACY) {
      snprintf(proto, sizeof(proto), "%.*s", (int)p.len, p.ptr);
      choice = proto;
    }
  }
  moqc_wt_conn *conn;
  assert_int_equal(moqc_wt_accept(req, choice, &conn), 0);
  side_start(&e->relay_side, conn, MOQC_SESSION_SERVER);
}

static void on_connect(void *ud, int status, int http_status, moqc_wt_conn *conn) {
  wenv *e = ud;
  assert_int_equal(status, 0);
  assert_int_equal(http_status, 200);
  side_start(&e->pub_side, conn, MOQC_SESSION_CLIENT);
}

/* Drops every third datagram, so that some stream data always waits to be retransmitted. */
static int drop_third(void *ud, const uint8_t *pkt, size_t len) {
  (void)pkt;
  (void)len;
  unsigned *n = ud;
  return ++*n % 3 == 0 ? MOQC__QUIC_FILTER_DROP : MOQC__QUIC_FILTER_PASS;
}

/*
 * lossy_close: once the viewer reads, the publisher's link drops every third datagram, 30
 * groups of 4 x 8000 bytes are published, and the relay closes the session while many of them
 * are in flight. The publisher's session is told (the peer closed) while its QUIC connection
 * lingers for the close handshake, and ngtcp2 0.12 still retransmits reset streams' lost data
 * from the session's buffers: they must outlive the session's end (ASan catches the read).
 */
static void run_mode(bool offer, uint32_t expect_version, const char *expect_proto,
                     bool lossy_close) {
  wenv e;
  memset(&e, 0, sizeof(e));
  node P, R;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  e.pub_side = (wside){.n = &P, .origin_id = ID_P};
  e.relay_side = (wside){.n = &R, .origin_id = ID_R};
  assert_int_equal(uv_loop_init(&e.loop), 0);
  uv_timer_init(&e.loop, &e.tick);
  uv_timer_start(&e.tick, tick_cb, 2, 2);

  moqc_wt_server_settings ws;
  moqc_wt_server_settings_default(&ws);
  ws.on_request = on_request;
  ws.user_data = &e;
  static moqc_log dl = {test_log, "WT-R", MOQC_LOG_TRACE};
  if (getenv("WT_DEBUG")) {
    ws.log = &dl;
  }
  assert_int_equal(moqc_wt_server_new(&e.srv, &ws, NULL), 0);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.cert = g_cert;
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_wt_server_listen(e.srv, &e.loop, (struct sockaddr *)&a, &qs), 0);

  pub p;
  pub_new(&p, &P, "demo/bbb", "video");

  char url[128];
  snprintf(url, sizeof(url), "https://127.0.0.1:%u/anon", (unsigned)moqc_wt_server_port(e.srv));
  moqc_wt_connect_params cp;
  memset(&cp, 0, sizeof(cp));
  cp.url = url;
  if (offer) {
    cp.protocols = moqc_wt_default_protocols(&cp.n_protocols);
  }
  cp.verify.mode = MOQC_TLS_VERIFY_PIN;
  cp.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])moqc_tls_cert_fingerprint(g_cert);
  cp.verify.npins = 1;
  moqc_quic_settings cq;
  moqc_quic_settings_default(&cq);
  cq.initial_rtt = 10 * MOQC_MILLISECONDS;
  cp.quic = &cq;
  static moqc_log cl = {test_log, "WT-P", MOQC_LOG_TRACE};
  if (getenv("WT_DEBUG")) {
    cp.log = &cl;
  }
  assert_int_equal(moqc_wt_connect(&e.loop, &cp, on_connect, &e, NULL), 0);

  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  viewer v;
  bool have_viewer = false;
  int rv = MOQC_ERR_PENDING;
  while (uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    if (!have_viewer && e.relay_side.sess != NULL &&
        moqc_session_version(e.relay_side.sess) == expect_version) {
      moqc_broadcast_consumer *bc = NULL;
      if (moqc_origin_consumer_consume_broadcast(R.cons, moqc_str_c("demo/bbb"), &bc) == 0) {
        moqc_broadcast_consumer_del(bc);
        viewer_new(&v, &R, "demo/bbb", "video");
        have_viewer = true;
      }
    }
    if (have_viewer && (rv = viewer_subscribe(&v)) == 0) {
      break;
    }
  }
  assert_string_equal(e.pub_side.proto, expect_proto);
  assert_string_equal(e.relay_side.proto, expect_proto);
  assert_true(have_viewer);
  assert_int_equal(rv, 0);
  assert_int_equal(moqc_session_version(e.pub_side.sess), expect_version);

  deadline = uv_hrtime() + 3000000000ULL;
  while (moqc_track_producer_used(p.tp, NULL) == 0 && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 1);
  if (lossy_close) {
    unsigned dropped = 0;
    moqc__quic_endpoint_set_send_filter(moqc_wt_conn_quic(e.pub_side.conn)->ep, drop_third,
                                        &dropped);
    static uint8_t big[8000];
    for (int g = 0; g < 30; g++) {
      moqc_group_producer *gp;
      assert_int_equal(moqc_track_producer_append_group(p.tp, uv_hrtime(), &gp), 0);
      for (int i = 0; i < 4; i++) {
        big[0] = (uint8_t)g;
        assert_int_equal(moqc_group_producer_write_frame(gp, big, sizeof(big), 1000), 0);
      }
      assert_int_equal(moqc_group_producer_finish(gp), 0);
      moqc_group_producer_del(gp);
    }
    uint64_t seqs[64], frames[64];
    int read = 0;
    deadline = uv_hrtime() + 3000000000ULL;
    while (read < 2 && uv_hrtime() < deadline) {
      uv_run(&e.loop, UV_RUN_ONCE);
      read += viewer_read(&v, seqs + read, frames + read, 64 - read);
    }
    assert_true(read >= 2);
    viewer_del(&v);
    moqc_session_close(e.relay_side.sess, 0, "enough");
    deadline = uv_hrtime() + 5000000000ULL;
    while ((e.pub_side.closed == 0 || e.relay_side.closed == 0) && uv_hrtime() < deadline) {
      uv_run(&e.loop, UV_RUN_ONCE);
    }
    assert_int_equal(e.pub_side.closed, 1);
    assert_int_equal(e.relay_side.closed, 1);
    assert_true(dropped > 0);
    goto done;
  }
  for (int g = 0; g < 3; g++) {
    pub_group(&p, uv_hrtime(), 4, 1000 * (uint64_t)(g + 1));
  }
  uint64_t seqs[16], frames[16];
  int got = 0;
  deadline = uv_hrtime() + 3000000000ULL;
  while (got < 3 && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    got += viewer_read(&v, seqs + got, frames + got, 16 - got);
  }
  assert_int_equal(got, 3);
  for (int i = 0; i < got; i++) {
    assert_int_equal(frames[i], 4);
  }
  viewer_del(&v);

  moqc_session_close(e.pub_side.sess, 0, "done");
  deadline = uv_hrtime() + 3000000000ULL;
  while ((e.pub_side.closed == 0 || e.relay_side.closed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(e.pub_side.closed, 1);
  assert_int_equal(e.relay_side.closed, 1);
  assert_int_equal(e.relay_side.close_code, 0);

done:
  pub_del(&p);
  moqc_wt_server_del(e.srv);
  uv_close((uv_handle_t *)&e.tick, NULL);
  assert_int_equal(uv_run(&e.loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e.loop), 0);
  node_del(&P);
  node_del(&R);
}

static void run(bool offer, uint32_t expect_version, const char *expect_proto) {
  run_mode(offer, expect_version, expect_proto, false);
}

static void test_peer_close_mid_transfer_lossy(void **state) {
  run_mode(true, MOQC_SESSION_VERSION_LITE_05, "moq-lite-05", true);
}

static void test_lite05_over_wt(void **state) {
  run(true, MOQC_SESSION_VERSION_LITE_05, "moq-lite-05");
}

/* No protocol offered: the legacy handshake picks lite-02 over WebTransport. */
static void test_legacy_over_wt(void **state) { run(false, 2, ""); }

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
      cmocka_unit_test(test_lite05_over_wt),
      cmocka_unit_test(test_peer_close_mid_transfer_lossy),
      cmocka_unit_test(test_legacy_over_wt),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
