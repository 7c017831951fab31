/*
 * Real Chromium against moqc's WebTransport server (fails when chromium is missing: the
 * set-up script installs it).
 *
 * The test runs, on one libuv loop: a WebTransport server (generated ECDSA P-256 certificate,
 * pinned by the page with serverCertificateHashes) whose sessions carry the echo application,
 * and an HTTP server (moqc_http_server) that serves tests/browser/wt_smoke.html with the port and
 * hash filled in and receives the page's one-line result on /result. Headless Chromium is
 * started on the page (as root in a sandbox: --no-sandbox, fresh profile), and the test waits
 * for the result: a session, bidi/uni/datagram echo, and the page's close code 4242 seen by the
 * server's application.
 *
 * A second test bundles @moq/net 0.3.4 with esbuild (tests/interop/node_modules; fails when
 * missing) and runs a real MoQ exchange from the page over WebTransport: the server's sessions
 * are moq-lite sessions on a node R (an origin, as in the relay); the page publishes
 * browser/clock, which a viewer on R reads, and subscribes to demo/bbb published on R in C.
 */
#include "test_session_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <moqc/moqc.h>

#include "test_transport_wt_app.h"

typedef struct benv {
  uv_loop_t loop;
  uv_timer_t tick;
  moqc_tls_cert *cert;
  moqc_wt_server *srv;
  moqc_http_server *http;
  uint16_t wt_port;
  char *page;
  size_t page_len;
  char result[1024];
  bool have_result;
  wapp *sapp;
  moqc_wt_conn *sconn;
  int sessions, requests, sclosed;
  char offered[256];
  moqc_wt_close_info sinfo;
  uv_process_t proc;
  bool proc_running;
  /* MoQ mode */
  bool moq;
  bool done;
  char *bundle;
  size_t bundle_len;
  node R;
  moqc_session *sess;
  char proto[32];
  pub p;
  uint64_t next_group_at;
  int groups_sent;
  moqc_waker *w;
  moqc_broadcast_consumer *bbc;
  moqc_track_consumer *btc;
  moqc_track_subscriber *bts;
  int browser_frames;
  char first_browser_frame[64];
} benv;

static void tick_cb(uv_timer_t *t) { (void)t; }

static void on_session_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  benv *e = ud;
  e->sclosed++;
  e->sinfo = *info;
  e->sconn = NULL;
  moqc_session_del(e->sess); /* before the connection's memory goes */
  e->sess = NULL;
}

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

/* MoQ mode: accept with the first protocol of the client's list we speak (as moq-relay) and
 * run a moq-lite server session on node R. */
static void on_moq_request(benv *e, moqc_wt_request *req) {
  const char *choice = NULL;
  for (size_t i = 0; i < moqc_wt_request_protocol_count(req) && choice == NULL; i++) {
    moqc_str p = moqc_wt_request_protocol(req, i);
    if (version_for(p) != MOQC_SESSION_VERSION_LEGACY) {
      snprintf(e->proto, sizeof(e->proto), "%.*s", (int)p.len, p.ptr);
      choice = e->proto;
    }
  }
  moqc_wt_conn *conn;
  assert_int_equal(moqc_wt_accept(req, choice, &conn), 0);
  e->sessions++;
  e->sconn = conn;
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.version = version_for(moqc_str_c(e->proto));
  st.origin_id = ID_R;
  moqc_transport t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_session_new(&e->sess, &st, &t, e->R.cons, e->R.prod, NULL), 0);
  assert_int_equal(moqc_wt_conn_attach(conn, moqc_session_app_ops(), e->sess, on_session_closed,
                                       e),
                   0);
  assert_int_equal(moqc_session_start(e->sess, uv_hrtime()), 0);
}

static void on_request(void *ud, moqc_wt_request *req) {
  benv *e = ud;
  e->requests++;
  size_t n = moqc_wt_request_protocol_count(req);
  e->offered[0] = 0;
  for (size_t i = 0; i < n; i++) {
    moqc_str p = moqc_wt_request_protocol(req, i);
    size_t l = strlen(e->offered);
    snprintf(e->offered + l, sizeof(e->offered) - l, "%s%.*s", i ? "," : "", (int)p.len, p.ptr);
  }
  if (e->moq) {
    on_moq_request(e, req);
    return;
  }
  moqc_str path = moqc_wt_request_path(req);
  if (path.len < 12 || memcmp(path.ptr, "/smoke/root?", 12) != 0) {
    moqc_wt_refuse(req, 404);
    return;
  }
  char proto[64];
  const char *choice = NULL;
  if (n > 0) {
    moqc_str p = moqc_wt_request_protocol(req, 0);
    snprintf(proto, sizeof(proto), "%.*s", (int)p.len, p.ptr);
    choice = proto;
  }
  moqc_wt_conn *conn;
  assert_int_equal(moqc_wt_accept(req, choice, &conn), 0);
  e->sessions++;
  e->sconn = conn;
  wapp_free(e->sapp);
  memset(e->sapp, 0, sizeof(*e->sapp));
  e->sapp->echo = true;
  e->sapp->t = moqc_wt_conn_transport(conn);
  assert_int_equal(moqc_wt_conn_attach(conn, &wapp_ops, e->sapp, on_session_closed, e), 0);
}

static void on_http(void *ud, moqc_http_request *req) {
  benv *e = ud;
  moqc_str path = moqc_http_request_path(req);
  if (path.len == 7 && memcmp(path.ptr, "/result", 7) == 0) {
    moqc_str q = moqc_http_request_query(req);
    /* Percent-decode the query: the page's message. */
    char msg[sizeof(e->result)];
    size_t o = 0;
    for (size_t i = 0; i < q.len && o + 1 < sizeof(msg); i++) {
      char c = q.ptr[i];
      if (c == '%' && i + 2 < q.len) {
        char h[3] = {q.ptr[i + 1], q.ptr[i + 2], 0};
        c = (char)strtol(h, NULL, 16);
        i += 2;
      }
      msg[o++] = c;
    }
    msg[o] = 0;
    if (strcmp(msg, "DONE") == 0) {
      e->done = true;
    } else {
      memcpy(e->result, msg, o + 1);
      e->have_result = true;
    }
    moqc_http_respond(req, 204, NULL, 0, NULL, 0);
    return;
  }
  if (path.len == 7 && memcmp(path.ptr, "/moq.js", 7) == 0 && e->bundle != NULL) {
    moqc_http_header h = {"Content-Type", "text/javascript"};
    moqc_http_respond(req, 200, &h, 1, e->bundle, e->bundle_len);
    return;
  }
  if (path.len == 1 && path.ptr[0] == '/') {
    moqc_http_header h = {"Content-Type", "text/html"};
    moqc_http_respond(req, 200, &h, 1, e->page, e->page_len);
    return;
  }
  moqc_http_respond(req, 404, NULL, 0, NULL, 0);
}

/* Reads the page and fills in the port and hash. */
static char *load_page(benv *e, const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/tests/browser/%s", MOQC_SOURCE_DIR, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char raw[32768];
  size_t n = fread(raw, 1, sizeof(raw) - 1, f);
  fclose(f);
  raw[n] = 0;
  char hash[MOQC_TLS_FINGERPRINT_HEX_LEN + 1];
  char port[16];
  moqc_tls_cert_fingerprint_hex(e->cert, hash);
  snprintf(port, sizeof(port), "%u", (unsigned)e->wt_port);
  char *out = malloc(n + 256);
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    if (strncmp(raw + i, "%HASH%", 6) == 0) {
      memcpy(out + o, hash, strlen(hash));
      o += strlen(hash);
      i += 6;
    } else if (strncmp(raw + i, "%WTPORT%", 8) == 0) {
      memcpy(out + o, port, strlen(port));
      o += strlen(port);
      i += 8;
    } else {
      out[o++] = raw[i++];
    }
  }
  *len = o;
  return out;
}

static const char *find_chromium(void) {
  static const char *cands[] = {"/usr/lib/chromium/chromium", "/usr/bin/chromium"};
  const char *env = getenv("MOQC_CHROMIUM");
  if (env != NULL && access(env, X_OK) == 0) {
    return env;
  }
  for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
    if (access(cands[i], X_OK) == 0) {
      return cands[i];
    }
  }
  return NULL;
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  benv *e = p->data;
  e->proc_running = false;
  uv_close((uv_handle_t *)p, NULL);
}

/* Starts the loop, the WebTransport server and the HTTP server serving page. */
static benv *benv_start(const char *page, bool moq) {
  benv *e = calloc(1, sizeof(*e));
  e->moq = moq;
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 10, 10);
  e->sapp = calloc(1, sizeof(wapp));
  const char *names[] = {"127.0.0.1", "localhost"};
  assert_int_equal(moqc_tls_cert_generate(&e->cert, names, 2, (int64_t)time(NULL), 0, NULL), 0);
  if (moq) {
    node_new(&e->R, ID_R);
  }
  moqc_wt_server_settings ws;
  moqc_wt_server_settings_default(&ws);
  ws.on_request = on_request;
  ws.user_data = e;
  assert_int_equal(moqc_wt_server_new(&e->srv, &ws, NULL), 0);
  moqc_quic_settings qs;
  moqc_quic_settings_default(&qs);
  qs.cert = e->cert;
  qs.initial_rtt = 10 * MOQC_MILLISECONDS;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_wt_server_listen(e->srv, &e->loop, (struct sockaddr *)&a, &qs), 0);
  e->wt_port = moqc_wt_server_port(e->srv);
  e->page = load_page(e, page, &e->page_len);
  moqc_http_server_settings hs;
  moqc_http_server_settings_default(&hs);
  hs.route = on_http;
  hs.user_data = e;
  assert_int_equal(moqc_http_server_new(&e->http, &e->loop, &hs, NULL), 0);
  assert_int_equal(moqc_http_server_listen(e->http, "127.0.0.1", 0), 0);
  return e;
}

static void benv_stop(benv *e) {
  moqc_wt_server_del(e->srv);
  moqc_http_server_del(e->http, NULL, NULL);
  uv_close((uv_handle_t *)&e->tick, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  if (e->moq) {
    node_del(&e->R);
  }
  moqc_tls_cert_del(e->cert);
  wapp_free(e->sapp);
  free(e->sapp);
  free(e->page);
  free(e->bundle);
  free(e);
}

/* Runs headless Chromium on the page until done(e) or the deadline; tick(e) runs each turn.
 * Then ends the browser (its whole process group) and removes its profile. */
static void run_chromium(benv *e, const char *chromium, bool (*done)(benv *e),
                         void (*tick)(benv *e), unsigned seconds) {
  char profile[] = "/tmp/moqc-wt-chromium-XXXXXX";
  assert_non_null(mkdtemp(profile));
  char udd[128], url[128];
  snprintf(udd, sizeof(udd), "--user-data-dir=%s", profile);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", moqc_http_server_port(e->http));
  char *args[] = {(char *)chromium,
                  "--headless",
                  "--no-sandbox",
                  "--disable-gpu",
                  "--no-first-run",
                  "--disable-background-networking",
                  "--disable-component-update",
                  "--disable-sync",
                  "--disable-dev-shm-usage",
                  udd,
                  url,
                  NULL};
  uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_IGNORE},
                                   {.flags = UV_IGNORE}};
  uv_process_options_t po;
  memset(&po, 0, sizeof(po));
  po.file = chromium;
  po.args = args;
  po.exit_cb = on_exit_cb;
  po.flags = UV_PROCESS_DETACHED; /* its own process group: ended as a whole below */
  po.stdio_count = 3;
  po.stdio = stdio;
  e->proc.data = e;
  assert_int_equal(uv_spawn(&e->loop, &e->proc, &po), 0);
  e->proc_running = true;
  int pid = e->proc.pid;
  uint64_t deadline = uv_hrtime() + (uint64_t)seconds * 1000000000ULL;
  while (!done(e) && uv_hrtime() < deadline && e->proc_running) {
    uv_run(&e->loop, UV_RUN_ONCE);
    if (tick != NULL) {
      tick(e);
    }
  }
  uint64_t settle = uv_hrtime() + 200000000ULL;
  while (uv_hrtime() < settle) {
    uv_run(&e->loop, UV_RUN_NOWAIT);
    uv_sleep(5);
  }
  if (e->proc_running) {
    kill(-pid, SIGTERM);
    uint64_t d2 = uv_hrtime() + 3000000000ULL;
    while (e->proc_running && uv_hrtime() < d2) {
      uv_run(&e->loop, UV_RUN_NOWAIT);
      uv_sleep(10);
    }
    if (e->proc_running) {
      kill(-pid, SIGKILL);
      while (e->proc_running) {
        uv_run(&e->loop, UV_RUN_ONCE);
      }
    }
  }
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", profile);
  assert_int_equal(system(cmd), 0);
}

static bool smoke_done(benv *e) { return e->have_result && e->sclosed > 0; }

static void test_chromium_smoke(void **state) {
  const char *chromium = find_chromium();
  if (chromium == NULL) {
    fail_msg("chromium is not installed (scripts/deps.sh installs it)");
  }
  benv *e = benv_start("wt_smoke.html", false);
  run_chromium(e, chromium, smoke_done, NULL, 40);
  print_message("page: %s\n", e->have_result ? e->result : "(no result)");
  print_message("offered protocols: %s\n", e->offered[0] ? e->offered : "(none)");
  assert_true(e->have_result);
  assert_true(strncmp(e->result, "OK ", 3) == 0);
  assert_non_null(strstr(e->result, "bidi=hello-bidi"));
  assert_non_null(strstr(e->result, "uni=hello-uni"));
  assert_non_null(strstr(e->result, "dgram=hello-dgram"));
  assert_non_null(strstr(e->result, "refused=yes")); /* our 404 failed the page's session */
  assert_int_equal(e->requests, 2);
  assert_int_equal(e->sessions, 1);
  /* The page's close code and reason reached the server's application. */
  assert_int_equal(e->sclosed, 1);
  assert_true(e->sapp->closed);
  assert_int_equal(e->sapp->close_code, 4242);
  assert_string_equal(e->sapp->close_reason, "done");
  assert_true(e->sinfo.by_peer);
  benv_stop(e);
}

/* ---- MoQ with @moq/net in the page ---- */

static bool load_bundle(benv *e) {
  char esbuild[1024], cmd[4096], out[] = "/tmp/moqc-wt-bundle-XXXXXX";
  snprintf(esbuild, sizeof(esbuild), "%s/tests/interop/node_modules/.bin/esbuild",
           MOQC_SOURCE_DIR);
  if (access(esbuild, X_OK) != 0) {
    return false;
  }
  int fd = mkstemp(out);
  assert_true(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof(cmd),
           "NODE_PATH='%s/tests/interop/node_modules' '%s' '%s/tests/browser/moq_entry.js' "
           "--bundle --format=iife --target=chrome120 --outfile='%s' --allow-overwrite "
           "--log-level=error",
           MOQC_SOURCE_DIR, esbuild, MOQC_SOURCE_DIR, out);
  int rv = system(cmd);
  FILE *f = fopen(out, "rb");
  if (rv == 0 && f != NULL) {
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    e->bundle = malloc((size_t)n);
    e->bundle_len = fread(e->bundle, 1, (size_t)n, f);
  }
  if (f != NULL) {
    fclose(f);
  }
  unlink(out);
  return rv == 0 && e->bundle_len > 0;
}

/* Each turn: publish a demo/bbb group every 100 ms once the page subscribed; subscribe to the
 * page's broadcast once R mirrors it, and read its frames. */
static void moq_tick(benv *e) {
  if (moqc_track_producer_used(e->p.tp, NULL) > 0 && uv_hrtime() >= e->next_group_at &&
      e->groups_sent < 100) {
    pub_group(&e->p, uv_hrtime(), 2, 1000 * (uint64_t)(e->groups_sent + 1));
    e->groups_sent++;
    e->next_group_at = uv_hrtime() + 100000000ULL;
  }
  if (e->bts == NULL) {
    if (e->bbc == NULL &&
        moqc_origin_consumer_consume_broadcast(e->R.cons, moqc_str_c("browser/clock"), &e->bbc) !=
            0) {
      return;
    }
    if (e->btc == NULL) {
      assert_int_equal(moqc_broadcast_consumer_track(e->bbc, "clock", &e->btc), 0);
    }
    if (moqc_track_consumer_subscribe(e->btc, NULL, &e->bts, e->w) != 0) {
      return;
    }
  }
  moqc_group_consumer *gc;
  while (moqc_track_subscriber_recv_group(e->bts, &gc, e->w) == 0) {
    moqc_rcbuf *buf;
    while (moqc_group_consumer_read_frame(gc, &buf, NULL, e->w) == 0) {
      if (e->browser_frames == 0) {
        size_t n = moqc_rcbuf_len(buf) < sizeof(e->first_browser_frame) - 1
                       ? moqc_rcbuf_len(buf)
                       : sizeof(e->first_browser_frame) - 1;
        memcpy(e->first_browser_frame, moqc_rcbuf_data(buf), n);
        e->first_browser_frame[n] = 0;
      }
      e->browser_frames++;
      moqc_rcbuf_decref(buf);
    }
    moqc_group_consumer_del(gc);
  }
}

static bool moq_done(benv *e) { return e->done && e->sclosed > 0; }

static void test_chromium_moq(void **state) {
  const char *chromium = find_chromium();
  if (chromium == NULL) {
    fail_msg("chromium is not installed (scripts/deps.sh installs it)");
  }
  benv *e = benv_start("moq_pubsub.html", true);
  if (!load_bundle(e)) {
    benv_stop(e);
    fail_msg("no esbuild / @moq/net in tests/interop/node_modules (scripts/deps.sh installs them)");
  }
  assert_int_equal(moqc_waker_new(&e->w, noop_wake, NULL, NULL), 0);
  pub_new(&e->p, &e->R, "demo/bbb", "video");
  run_chromium(e, chromium, moq_done, moq_tick, 45);
  print_message("page: %s\n", e->have_result ? e->result : "(no result)");
  print_message("offered protocols: %s; chosen: %s\n", e->offered[0] ? e->offered : "(none)",
                e->proto);
  print_message("browser frames read in C: %d (first \"%s\"); groups sent to the page: %d\n",
                e->browser_frames, e->first_browser_frame, e->groups_sent);
  assert_true(e->have_result);
  assert_true(strncmp(e->result, "OK version=moq-lite-05 transport=webtransport frames=", 52) == 0);
  /* The page read demo/bbb frames: {group, frame, 0xAA}. */
  assert_non_null(strstr(e->result, "00aa"));
  /* The C viewer read the page's frames "tick-N". */
  assert_true(e->browser_frames > 0);
  assert_true(strncmp(e->first_browser_frame, "tick-", 5) == 0);
  assert_true(e->done);
  assert_int_equal(e->sclosed, 1);
  moqc_track_subscriber_del(e->bts);
  moqc_track_consumer_del(e->btc);
  moqc_broadcast_consumer_del(e->bbc);
  moqc_waker_close(e->w);
  pub_del(&e->p);
  benv_stop(e);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chromium_smoke),
      cmocka_unit_test(test_chromium_moq),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
