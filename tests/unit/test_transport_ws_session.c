/*
 * moq-lite sessions over the WebSocket transport on loopback: a publisher node dials a relay
 * node's HTTP listener (ws://), the relay's route accepts the upgrade and attaches a server
 * session, the relay mirrors the announced broadcast, a viewer on the relay subscribes and reads
 * the groups; then the publisher's session closes and the relay's session hears it. Run with the
 * default offer (qmux-01.moq-lite-05) and with bare qmux-00 (legacy handshake, moq-lite-02).
 */
#include "test_session_harness.h"

#include <signal.h>

#include <moqc/transport.h>
#include <uv.h>

typedef struct wside {
  node *n;
  uint64_t origin_id;
  moqc_session_perspective perspective;
  moqc_session *sess;
  int connected, closed;
  moqc_ws_close_info info;
  char alpn[32];
} wside;

typedef struct wenv {
  uv_loop_t loop;
  uv_timer_t tick;
  moqc_http_server *srv;
  wside pub_side, relay_side;
} wenv;

static uint32_t version_for_alpn(moqc_str alpn) {
  if (alpn.len == 11 && memcmp(alpn.ptr, "moq-lite-05", 11) == 0) {
    return MOQC_SESSION_VERSION_LITE_05;
  }
  if (alpn.len == 11 && memcmp(alpn.ptr, "moq-lite-04", 11) == 0) {
    return MOQC_SESSION_VERSION_LITE_04;
  }
  if (alpn.len == 11 && memcmp(alpn.ptr, "moq-lite-03", 11) == 0) {
    return MOQC_SESSION_VERSION_LITE_03;
  }
  return MOQC_SESSION_VERSION_LEGACY; /* "moql", a bare qmux-0X or webtransport */
}

static void on_close(void *ud, moqc_ws_conn *conn, const moqc_ws_close_info *info) {
  wside *w = ud;
  w->closed++;
  w->info = *info;
  moqc_session_del(w->sess); /* before the connection's memory goes */
  w->sess = NULL;
}

static void start_session(wside *w, moqc_ws_conn *conn) {
  w->connected++;
  moqc_str alpn = moqc_ws_conn_alpn(conn);
  snprintf(w->alpn, sizeof(w->alpn), "%.*s", (int)alpn.len, alpn.ptr);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = w->perspective;
  st.version = version_for_alpn(alpn);
  st.origin_id = w->origin_id;
  moqc_transport t = moqc_ws_conn_transport(conn);
  assert_int_equal(moqc_session_new(&w->sess, &st, &t, w->n->cons, w->n->prod, NULL), 0);
  moqc_ws_conn_attach(conn, moqc_session_app_ops(), w->sess, on_close, w);
  assert_int_equal(moqc_session_start(w->sess, uv_hrtime()), 0);
}

static void route(void *ud, moqc_http_request *req) {
  wenv *e = ud;
  moqc_ws_conn *conn;
  if (!moqc_http_request_is_upgrade(req)) {
    moqc_http_respond(req, 404, NULL, 0, NULL, 0);
    return;
  }
  if (moqc_ws_accept(req, &conn) == 0) {
    start_session(&e->relay_side, conn);
  }
}

static void on_connect(void *ud, int status, moqc_ws_conn *conn) {
  wside *w = ud;
  assert_int_equal(status, 0);
  start_session(w, conn);
}

static void tick_cb(uv_timer_t *t) { (void)t; }

static void step(wenv *e) { uv_run(&e->loop, UV_RUN_ONCE); }

static void run(const moqc_str *offer, size_t n_offer, const char *want_alpn,
                uint32_t want_version) {
  wenv e;
  memset(&e, 0, sizeof(e));
  node P, R;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  assert_int_equal(uv_loop_init(&e.loop), 0);
  uv_timer_init(&e.loop, &e.tick);
  uv_timer_start(&e.tick, tick_cb, 2, 2);
  e.pub_side = (wside){.n = &P, .origin_id = ID_P, .perspective = MOQC_SESSION_CLIENT};
  e.relay_side = (wside){.n = &R, .origin_id = ID_R, .perspective = MOQC_SESSION_SERVER};

  moqc_http_server_settings hs;
  moqc_http_server_settings_default(&hs);
  hs.route = route;
  hs.user_data = &e;
  assert_int_equal(moqc_http_server_new(&e.srv, &e.loop, &hs, NULL), 0);
  assert_int_equal(moqc_http_server_listen(e.srv, "127.0.0.1", 0), 0);
  char url[64];
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/anon", moqc_http_server_port(e.srv));

  pub p;
  pub_new(&p, &P, "demo/bbb", "video");
  assert_int_equal(
      moqc_ws_connect(&e.loop, url, offer, n_offer, NULL, on_connect, &e.pub_side, NULL), 0);

  /* A viewer on the relay: the track is requested from the publisher on demand. */
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  viewer v;
  bool have_viewer = false;
  int rv = MOQC_ERR_PENDING;
  while (uv_hrtime() < deadline) {
    step(&e);
    if (!have_viewer && e.relay_side.sess != NULL &&
        moqc_session_version(e.relay_side.sess) == want_version) {
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
  assert_string_equal(e.pub_side.alpn, want_alpn);
  assert_string_equal(e.relay_side.alpn, want_alpn);
  assert_true(have_viewer);
  assert_int_equal(rv, 0);

  /* Let the subscription reach the publisher, then publish groups. */
  deadline = uv_hrtime() + 3000000000ULL;
  while (moqc_track_producer_used(p.tp, NULL) == 0 && uv_hrtime() < deadline) {
    step(&e);
  }
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 1);
  pub_group(&p, uv_hrtime(), 3, 1000);
  pub_group(&p, uv_hrtime(), 2, 2000);
  uint64_t seqs[8], frames[8];
  int got = 0;
  deadline = uv_hrtime() + 3000000000ULL;
  while (got < 2 && uv_hrtime() < deadline) {
    step(&e);
    got += viewer_read(&v, seqs + got, frames + got, 8 - got);
  }
  assert_int_equal(got, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(frames[i], seqs[i] == 0 ? 3 : 2);
  }
  viewer_del(&v);

  /* The publisher's session closes cleanly: the relay's session closes too. */
  moqc_session_close(e.pub_side.sess, 0, "done");
  deadline = uv_hrtime() + 3000000000ULL;
  while ((e.pub_side.closed == 0 || e.relay_side.closed == 0) && uv_hrtime() < deadline) {
    step(&e);
  }
  assert_int_equal(e.pub_side.closed, 1);
  assert_int_equal(e.relay_side.closed, 1);
  assert_true(e.relay_side.info.app);
  assert_true(e.relay_side.info.by_peer);
  assert_int_equal(e.relay_side.info.code, 0);

  pub_del(&p);
  moqc_http_server_del(e.srv, NULL, NULL);
  uv_close((uv_handle_t *)&e.tick, NULL);
  assert_int_equal(uv_run(&e.loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e.loop), 0);
  node_del(&P);
  node_del(&R);
}

static void test_session_over_ws_lite05(void **state) {
  run(NULL, 0, "moq-lite-05", MOQC_SESSION_VERSION_LITE_05);
}

static void test_session_over_ws_legacy(void **state) {
  /* What @moq/lite 0.2.2 offers: bare qmux-00 selects the legacy SETUP handshake. */
  moqc_str offer[] = {moqc_str_c("qmux-00"), moqc_str_c("webtransport")};
  run(offer, 2, "", 2);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_over_ws_lite05),
      cmocka_unit_test(test_session_over_ws_legacy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
