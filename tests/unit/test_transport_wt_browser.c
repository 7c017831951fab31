/*
 * Real Chromium against moqc's WebTransport server (skipped when no chromium is installed).
 *
 * The test runs, on one libuv loop: a WebTransport server (generated ECDSA P-256 certificate,
 * pinned by the page with serverCertificateHashes) whose sessions carry the echo application,
 * and an HTTP server (moqc_http_server) that serves tests/browser/wt_smoke.html with the port and
 * hash filled in and receives the page's one-line result on /result. Headless Chromium is
 * started on the page (as root in a sandbox: --no-sandbox, fresh profile), and the test waits
 * for the result: a session, bidi/uni/datagram echo, and the page's close code 4242 seen by the
 * server's application.
 */
#include "testutil.h"

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
} benv;

static void tick_cb(uv_timer_t *t) { (void)t; }

static void on_session_closed(void *ud, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  benv *e = ud;
  e->sclosed++;
  e->sinfo = *info;
  e->sconn = NULL;
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
    size_t o = 0;
    for (size_t i = 0; i < q.len && o + 1 < sizeof(e->result); i++) {
      char c = q.ptr[i];
      if (c == '%' && i + 2 < q.len) {
        char h[3] = {q.ptr[i + 1], q.ptr[i + 2], 0};
        c = (char)strtol(h, NULL, 16);
        i += 2;
      }
      e->result[o++] = c;
    }
    e->result[o] = 0;
    e->have_result = true;
    moqc_http_respond(req, 204, NULL, 0, NULL, 0);
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
static char *load_page(benv *e, size_t *len) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/tests/browser/wt_smoke.html", MOQC_SOURCE_DIR);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char raw[16384];
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

static void test_chromium_smoke(void **state) {
  const char *chromium = find_chromium();
  if (chromium == NULL) {
    print_message("chromium not installed: skipped\n");
    skip();
  }
  benv *e = calloc(1, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 10, 10);
  e->sapp = calloc(1, sizeof(wapp));
  const char *names[] = {"127.0.0.1", "localhost"};
  assert_int_equal(moqc_tls_cert_generate(&e->cert, names, 2, (int64_t)time(NULL), 0, NULL), 0);

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
  e->page = load_page(e, &e->page_len);

  moqc_http_server_settings hs;
  moqc_http_server_settings_default(&hs);
  hs.route = on_http;
  hs.user_data = e;
  assert_int_equal(moqc_http_server_new(&e->http, &e->loop, &hs, NULL), 0);
  assert_int_equal(moqc_http_server_listen(e->http, "127.0.0.1", 0), 0);

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

  uint64_t deadline = uv_hrtime() + 40ULL * 1000000000ULL;
  while ((!e->have_result || e->sclosed == 0) && uv_hrtime() < deadline && e->proc_running) {
    uv_run(&e->loop, UV_RUN_ONCE);
  }
  /* Let the close settle a moment, then end the browser (its whole process group). */
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

  print_message("page: %s\n", e->have_result ? e->result : "(no result)");
  print_message("offered protocols: %s\n", e->offered[0] ? e->offered : "(none)");
  assert_true(e->have_result);
  assert_true(strncmp(e->result, "OK ", 3) == 0);
  assert_non_null(strstr(e->result, "bidi=hello-bidi"));
  assert_non_null(strstr(e->result, "uni=hello-uni"));
  assert_non_null(strstr(e->result, "dgram=hello-dgram"));
  assert_int_equal(e->requests, 1);
  assert_int_equal(e->sessions, 1);
  /* The page's close code and reason reached the server's application. */
  assert_int_equal(e->sclosed, 1);
  assert_true(e->sapp->closed);
  assert_int_equal(e->sapp->close_code, 4242);
  assert_string_equal(e->sapp->close_reason, "done");
  assert_true(e->sinfo.by_peer);

  moqc_wt_server_del(e->srv);
  moqc_http_server_del(e->http, NULL, NULL);
  uv_close((uv_handle_t *)&e->tick, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  moqc_tls_cert_del(e->cert);
  wapp_free(e->sapp);
  free(e->sapp);
  free(e->page);
  free(e);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chromium_smoke),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
