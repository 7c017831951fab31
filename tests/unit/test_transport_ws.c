/*
 * The libuv WebSocket transport over loopback: the HTTP listener and its routes, head timeout,
 * size limits, the upgrade and subprotocol selection, moqc client <-> server QMux streams with
 * an echo application (many streams, a large transfer through small windows, resets and stops),
 * and misbehaving raw clients (stream-limit flood, garbage after the upgrade) closed while a
 * good connection keeps working. Raw clients run on a helper thread with blocking sockets; the
 * loop runs on the test's thread.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <moqc/moqc.h>
#include <moqc/transport.h>

#include "test_transport_ws_app.h"

/* ---- Environment: a loop, a server, its routes --------------------------------------------- */

#define MAX_SERVER_APPS 16

typedef struct env {
  uv_loop_t loop;
  moqc_http_server *srv;
  int port;
  uv_async_t stop;
  uv_timer_t guard;
  bool timed_out;
  /* Server-side applications, one per accepted WebSocket. */
  tapp *apps[MAX_SERVER_APPS];
  moqc_ws_conn *conns[MAX_SERVER_APPS];
  moqc_ws_close_info infos[MAX_SERVER_APPS];
  bool conn_closed[MAX_SERVER_APPS];
  int napps;
  int routes;
  int upgrades_refused;
  moqc_str last_alpn;
  moqc_http_request *pending;
} env;

static void env_on_server_close(void *ud, moqc_ws_conn *conn, const moqc_ws_close_info *info) {
  env *e = ud;
  for (int i = 0; i < e->napps; i++) {
    if (e->conns[i] == conn) {
      e->conn_closed[i] = true;
      e->infos[i] = *info;
      e->conns[i] = NULL;
    }
  }
}

static void env_route(void *ud, moqc_http_request *req) {
  env *e = ud;
  __atomic_fetch_add(&e->routes, 1, __ATOMIC_RELEASE);
  moqc_str path = moqc_http_request_path(req);
  if (moqc_http_request_is_upgrade(req)) {
    moqc_ws_conn *conn;
    if (moqc_ws_accept(req, &conn) != 0) {
      e->upgrades_refused++;
      return;
    }
    assert_true(e->napps < MAX_SERVER_APPS);
    tapp *a = calloc(1, sizeof(*a));
    a->echo = true;
    a->t = moqc_ws_conn_transport(conn);
    int i = e->napps++;
    e->apps[i] = a;
    e->conns[i] = conn;
    e->last_alpn = moqc_ws_conn_alpn(conn);
    moqc_ws_conn_attach(conn, &tapp_ops, a, env_on_server_close, e);
    return;
  }
  if (path.len == 7 && memcmp(path.ptr, "/health", 7) == 0) {
    moqc_http_header h[] = {{"Content-Type", "text/plain"}};
    assert_int_equal(moqc_http_respond(req, 200, h, 1, "ok", 2), 0);
  } else if (path.len == 7 && memcmp(path.ptr, "/stream", 7) == 0) {
    assert_int_equal(moqc_http_respond_start(req, 200, NULL, 0), 0);
    assert_int_equal(moqc_http_respond_write(req, "a", 1), 0);
    assert_int_equal(moqc_http_respond_write(req, "bb", 2), 0);
    moqc_http_respond_end(req);
  } else if (path.len == 4 && memcmp(path.ptr, "/big", 4) == 0) {
    static uint8_t big[1 << 20];
    memset(big, 'b', sizeof(big));
    assert_int_equal(moqc_http_respond(req, 200, NULL, 0, big, sizeof(big)), 0);
  } else if (path.len == 6 && memcmp(path.ptr, "/later", 6) == 0) {
    e->pending = req; /* Answered from the loop later (see test_http_routes). */
  } else {
    assert_int_equal(moqc_http_respond(req, 404, NULL, 0, "no", 2), 0);
  }
}

static void env_on_stop(uv_async_t *a) { uv_stop(a->loop); }

static void env_on_guard(uv_timer_t *t) {
  env *e = t->data;
  e->timed_out = true;
  uv_stop(t->loop);
}

static const char *env_host = "127.0.0.1";

static void env_init(env *e, moqc_http_server_settings *st) {
  memset(e, 0, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_async_init(&e->loop, &e->stop, env_on_stop);
  uv_timer_init(&e->loop, &e->guard);
  e->guard.data = e;
  st->route = env_route;
  st->user_data = e;
  assert_int_equal(moqc_http_server_new(&e->srv, &e->loop, st, NULL), 0);
  assert_int_equal(moqc_http_server_listen(e->srv, env_host, 0), 0);
  e->port = moqc_http_server_port(e->srv);
  assert_true(e->port > 0);
}

static void env_settings(moqc_http_server_settings *st) { moqc_http_server_settings_default(st); }

static bool server_freed;
static void env_on_server_freed(void *ud) { server_freed = true; }

static void env_free(env *e) {
  server_freed = false;
  moqc_http_server_del(e->srv, env_on_server_freed, NULL);
  uv_close((uv_handle_t *)&e->stop, NULL);
  uv_close((uv_handle_t *)&e->guard, NULL);
  for (int i = 0; i < 500 && uv_run(&e->loop, UV_RUN_NOWAIT) != 0; i++) {
    usleep(1000);
  }
  uv_run(&e->loop, UV_RUN_DEFAULT);
  assert_true(server_freed);
  for (int i = 0; i < e->napps; i++) {
    /* Every accepted connection reported its close. */
    assert_true(e->conn_closed[i]);
    tapp_free(e->apps[i]);
    free(e->apps[i]);
  }
  assert_int_equal(uv_loop_close(&e->loop), 0);
}

/* Runs the loop until cond(arg) holds (checked every 5 ms) or ms pass. Returns cond's value. */
static bool env_run_until(env *e, bool (*cond)(void *), void *arg, uint64_t ms) {
  uint64_t start = uv_now(&e->loop);
  while (!cond(arg)) {
    uv_update_time(&e->loop);
    if (uv_now(&e->loop) - start > ms) {
      return false;
    }
    uv_timer_start(&e->guard, env_on_guard, 5, 0);
    uv_run(&e->loop, UV_RUN_ONCE);
  }
  uv_timer_stop(&e->guard);
  return true;
}

/* Runs fn(arg) on a helper thread while the loop runs here; returns when fn returned. */
typedef struct thread_job {
  env *e;
  void *(*fn)(void *);
  void *arg;
  volatile int finished;
} thread_job;

static void *thread_main(void *p) {
  thread_job *j = p;
  j->fn(j->arg);
  __atomic_store_n(&j->finished, 1, __ATOMIC_RELEASE);
  uv_async_send(&j->e->stop);
  return NULL;
}

static bool job_done(void *p) {
  thread_job *j = p;
  return __atomic_load_n(&j->finished, __ATOMIC_ACQUIRE) != 0;
}

static void env_run_thread(env *e, void *(*fn)(void *), void *arg) {
  thread_job j = {e, fn, arg, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, thread_main, &j), 0);
  assert_true(env_run_until(e, job_done, &j, 8000));
  pthread_join(th, NULL);
}

/* ---- Blocking raw-socket helpers (helper thread) ------------------------------------------- */

static int raw_connect(int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static void raw_send(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

/* Reads until the peer closes, the buffer is full, or the timeout. Returns bytes read; *eof
 * tells whether the peer closed. */
static size_t raw_read_all(int fd, char *buf, size_t cap, bool *eof) {
  size_t n = 0;
  *eof = false;
  while (n < cap - 1) {
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r == 0) {
      *eof = true;
      break;
    }
    if (r < 0) {
      if (errno == ECONNRESET) {
        *eof = true;
      }
      break;
    }
    n += (size_t)r;
  }
  buf[n] = 0;
  return n;
}

/* Reads one HTTP response head (up to CRLF CRLF) into buf. Returns its length or 0. */
static size_t raw_read_head(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n < cap - 1) {
    ssize_t r = recv(fd, buf + n, 1, 0);
    if (r <= 0) {
      break;
    }
    n++;
    if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0) {
      buf[n] = 0;
      return n;
    }
  }
  buf[n] = 0;
  return 0;
}

static bool raw_read_exact(int fd, uint8_t *buf, size_t len) {
  size_t n = 0;
  while (n < len) {
    ssize_t r = recv(fd, buf + n, len - n, 0);
    if (r <= 0) {
      return false;
    }
    n += (size_t)r;
  }
  return true;
}

/* Reads one unmasked WebSocket frame from the server. Returns the payload length or -1. */
static ssize_t raw_read_frame(int fd, uint8_t *opcode, uint8_t *payload, size_t cap) {
  uint8_t h[2];
  if (!raw_read_exact(fd, h, 2)) {
    return -1;
  }
  *opcode = h[0] & 0x0f;
  uint64_t len = h[1] & 0x7f;
  if (len == 126) {
    uint8_t x[2];
    if (!raw_read_exact(fd, x, 2)) {
      return -1;
    }
    len = (uint64_t)x[0] << 8 | x[1];
  } else if (len == 127) {
    uint8_t x[8];
    if (!raw_read_exact(fd, x, 8)) {
      return -1;
    }
    len = 0;
    for (int i = 0; i < 8; i++) {
      len = len << 8 | x[i];
    }
  }
  if (len > cap || !raw_read_exact(fd, payload, (size_t)len)) {
    return -1;
  }
  return (ssize_t)len;
}

/* Sends one masked binary WebSocket frame. */
static void raw_send_frame(int fd, uint8_t opcode, const uint8_t *payload, size_t len) {
  uint8_t buf[16 + 70000];
  size_t n = 0;
  buf[n++] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    buf[n++] = (uint8_t)(0x80 | len);
  } else {
    buf[n++] = 0x80 | 126;
    buf[n++] = (uint8_t)(len >> 8);
    buf[n++] = (uint8_t)len;
  }
  const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  memcpy(buf + n, mask, 4);
  n += 4;
  for (size_t i = 0; i < len; i++) {
    buf[n++] = payload[i] ^ mask[i & 3];
  }
  raw_send(fd, buf, n);
}

static const char upgrade_fmt[] = "GET /anon HTTP/1.1\r\n"
                                  "Host: 127.0.0.1\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: %d\r\n"
                                  "Sec-WebSocket-Extensions: permessage-deflate; "
                                  "client_max_window_bits\r\n"
                                  "Sec-WebSocket-Protocol: %s\r\n"
                                  "\r\n";

/* Upgrades fd offering protocols; returns the response head in head. */
static void raw_upgrade(int fd, int version, const char *protocols, char *head, size_t cap) {
  char req[1024];
  int n = snprintf(req, sizeof(req), upgrade_fmt, version, protocols);
  raw_send(fd, req, (size_t)n);
  raw_read_head(fd, head, cap);
}

/* ---- HTTP tests ----------------------------------------------------------------------------- */

typedef struct http_case {
  int port;
  char out[3][4096];
} http_case;

static void *http_client(void *p) {
  http_case *h = p;
  int fd = raw_connect(h->port, 2000);
  bool eof;
  /* Two requests on one keep-alive connection, then a close. */
  static const char r1[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  raw_send(fd, r1, sizeof(r1) - 1);
  raw_read_head(fd, h->out[0], sizeof(h->out[0]));
  char body[3] = {0};
  raw_read_exact(fd, (uint8_t *)body, 2);
  strcat(h->out[0], body);
  static const char r2[] = "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  raw_send(fd, r2, sizeof(r2) - 1);
  raw_read_all(fd, h->out[1], sizeof(h->out[1]), &eof);
  if (!eof) {
    strcpy(h->out[1], "no eof");
  }
  close(fd);
  /* A request answered later by the loop; two pipelined requests. */
  fd = raw_connect(h->port, 2000);
  static const char r3[] = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  raw_send(fd, r3, sizeof(r3) - 1);
  raw_read_all(fd, h->out[2], sizeof(h->out[2]), &eof);
  close(fd);
  return NULL;
}

static void *answer_later_thread(void *p) { return p; }

static bool pending_set(void *p) { return ((env *)p)->pending != NULL; }

static void test_http_routes(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  http_case h;
  memset(&h, 0, sizeof(h));
  h.port = e.port;
  thread_job j = {&e, http_client, &h, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, thread_main, &j), 0);
  /* Answer /later once it arrives, from the loop. */
  assert_true(env_run_until(&e, pending_set, &e, 3000));
  moqc_http_header hd[] = {{"X-Later", "1"}};
  assert_int_equal(moqc_http_respond(e.pending, 200, hd, 1, "later", 5), 0);
  assert_true(env_run_until(&e, job_done, &j, 5000));
  pthread_join(th, NULL);
  (void)answer_later_thread;
  assert_non_null(strstr(h.out[0], "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(h.out[0], "Access-Control-Allow-Origin: *\r\n"));
  assert_non_null(strstr(h.out[0], "Content-Length: 2\r\n"));
  assert_non_null(strstr(h.out[0], "\r\n\r\nok"));
  assert_non_null(strstr(h.out[1], "Transfer-Encoding: chunked\r\n"));
  assert_non_null(strstr(h.out[1], "\r\n\r\n1\r\na\r\n2\r\nbb\r\n0\r\n\r\n"));
  assert_non_null(strstr(h.out[2], "X-Later: 1\r\n"));
  char *second = strstr(h.out[2], "later");
  assert_non_null(second);
  assert_non_null(strstr(second, "HTTP/1.1 404"));
  assert_int_equal(e.routes, 4);
  env_free(&e);
}

/* Over 16 KiB pipelined behind a pending request: answered, then the connection closes. */
static void *overflow_client(void *p) {
  http_case *h = p;
  int fd = raw_connect(h->port, 3000);
  static char req[40000];
  int n = snprintf(req, sizeof(req), "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  while (n < 30000) {
    n += snprintf(req + n, sizeof(req) - (size_t)n, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  raw_send(fd, req, (size_t)n);
  bool eof;
  raw_read_all(fd, h->out[0], sizeof(h->out[0]), &eof);
  if (!eof) {
    strcpy(h->out[0], "no eof");
  }
  close(fd);
  return NULL;
}

static void test_pipeline_overflow(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  http_case h;
  memset(&h, 0, sizeof(h));
  h.port = e.port;
  thread_job j = {&e, overflow_client, &h, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, thread_main, &j), 0);
  assert_true(env_run_until(&e, pending_set, &e, 3000));
  /* Let the pipelined bytes arrive (and overflow) before answering. */
  for (int i = 0; i < 100; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(moqc_http_respond(e.pending, 200, NULL, 0, "later", 5), 0);
  assert_true(env_run_until(&e, job_done, &j, 5000));
  pthread_join(th, NULL);
  assert_non_null(strstr(h.out[0], "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(h.out[0], "Connection: close\r\n"));
  assert_non_null(strstr(h.out[0], "later"));
  assert_null(strstr(h.out[0], "\r\n\r\nok"));
  assert_int_equal(e.routes, 1);
  env_free(&e);
}

typedef struct slow_case {
  int port;
  double closed_after_ms;
  bool eof;
  char out[1024];
} slow_case;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void *slow_client(void *p) {
  slow_case *s = p;
  int fd = raw_connect(s->port, 3000);
  double t0 = now_ms();
  raw_send(fd, "GET /health HTTP/1.1\r\n", 22);
  usleep(100 * 1000);
  raw_send(fd, "Host: x\r\n", 9); /* Still no end of head. */
  raw_read_all(fd, s->out, sizeof(s->out), &s->eof);
  s->closed_after_ms = now_ms() - t0;
  close(fd);
  return NULL;
}

static void test_head_timeout(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.head_timeout_ms = 400;
  env_init(&e, &st);
  slow_case s;
  memset(&s, 0, sizeof(s));
  s.port = e.port;
  env_run_thread(&e, slow_client, &s);
  /* Dropped without an answer, after the head timeout and well before the read timeout. */
  assert_true(s.eof);
  assert_int_equal(strlen(s.out), 0);
  assert_true(s.closed_after_ms >= 350);
  assert_true(s.closed_after_ms < 2500);
  assert_int_equal(e.routes, 0);
  env_free(&e);
}

typedef struct big_case {
  int port;
  char out[2][2048];
} big_case;

static void *big_client(void *p) {
  big_case *b = p;
  bool eof;
  static char req[32768];
  /* One header line over the 8 KiB line limit. */
  int fd = raw_connect(b->port, 2000);
  int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
  memset(req + n, 'a', 9000);
  n += 9000;
  n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n\r\n");
  raw_send(fd, req, (size_t)n);
  raw_read_all(fd, b->out[0], sizeof(b->out[0]), &eof);
  close(fd);
  /* Many header lines adding up beyond the head limit. */
  fd = raw_connect(b->port, 2000);
  n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 40; i++) {
    n += snprintf(req + n, sizeof(req) - (size_t)n, "X-H%d: %0500d\r\n", i, 0);
  }
  n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
  raw_send(fd, req, (size_t)n);
  raw_read_all(fd, b->out[1], sizeof(b->out[1]), &eof);
  close(fd);
  return NULL;
}

static void test_oversize_head(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  big_case b;
  memset(&b, 0, sizeof(b));
  b.port = e.port;
  env_run_thread(&e, big_client, &b);
  assert_non_null(strstr(b.out[0], "HTTP/1.1 431"));
  assert_non_null(strstr(b.out[1], "HTTP/1.1 431"));
  assert_int_equal(e.routes, 0);
  env_free(&e);
}

/* A client pipelining requests for 1 MiB bodies without reading: the server stops reading
 * (and answering) until the socket drains, then serves every request. */
typedef struct pipe_case {
  env *e;
  int port;
  int routes_while_stalled;
  size_t got;
} pipe_case;

static void *pipe_client(void *p) {
  pipe_case *k = p;
  int fd = raw_connect(k->port, 3000);
  static char req[100 * 64];
  size_t n = 0;
  for (int i = 0; i < 100; i++) {
    n += (size_t)snprintf(req + n, sizeof(req) - n, "GET /big HTTP/1.1\r\nHost: x\r\n%s\r\n",
                          i == 99 ? "Connection: close\r\n" : "");
  }
  raw_send(fd, req, n);
  usleep(400 * 1000);
  k->routes_while_stalled = __atomic_load_n(&k->e->routes, __ATOMIC_ACQUIRE);
  static char buf[1 << 16];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) {
      break;
    }
    k->got += (size_t)r;
  }
  close(fd);
  return NULL;
}

static void test_pipelined_backpressure(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  pipe_case k = {&e, e.port, 0, 0};
  env_run_thread(&e, pipe_client, &k);
  /* Far fewer than 100 answered while the client did not read (kernel buffers hold a few). */
  assert_true(k.routes_while_stalled < 40);
  assert_int_equal(e.routes, 100);
  assert_true(k.got > 100u * (1u << 20));
  env_free(&e);
}

/* ---- Upgrade and subprotocol selection -------------------------------------------------------- */

typedef struct up_case {
  int port;
  char head[5][2048];
  uint8_t first[256];
  ssize_t first_len;
  uint8_t first_op;
} up_case;

static void *up_client(void *p) {
  up_case *u = p;
  int fd = raw_connect(u->port, 2000);
  raw_upgrade(fd, 13,
              "qmux-02.moq-lite-05, qmux-01.moq-lite-05, qmux-00.moq-lite-05, qmux-00, "
              "webtransport",
              u->head[0], sizeof(u->head[0]));
  u->first_len = raw_read_frame(fd, &u->first_op, u->first, sizeof(u->first));
  close(fd);
  fd = raw_connect(u->port, 2000);
  raw_upgrade(fd, 13, "qmux-00, webtransport", u->head[1], sizeof(u->head[1]));
  close(fd);
  fd = raw_connect(u->port, 2000);
  raw_upgrade(fd, 13, "foo, bar", u->head[2], sizeof(u->head[2]));
  close(fd);
  fd = raw_connect(u->port, 2000);
  raw_upgrade(fd, 12, "qmux-01.moq-lite-05", u->head[3], sizeof(u->head[3]));
  close(fd);
  fd = raw_connect(u->port, 2000);
  raw_upgrade(fd, 13, "qmux-01.moq-lite-04, qmux-01.moq-lite-03", u->head[4],
              sizeof(u->head[4]));
  close(fd);
  return NULL;
}

static void test_upgrade_selection(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  up_case u;
  memset(&u, 0, sizeof(u));
  u.port = e.port;
  env_run_thread(&e, up_client, &u);
  /* RFC 6455 sample key; moq-relay's preference; no extension although deflate was offered. */
  assert_non_null(strstr(u.head[0], "HTTP/1.1 101 "));
  assert_non_null(strstr(u.head[0], "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  assert_non_null(strstr(u.head[0], "Sec-WebSocket-Protocol: qmux-01.moq-lite-05\r\n"));
  assert_null(strstr(u.head[0], "Extensions"));
  /* The server's first message is its transport parameters, in one binary frame. */
  assert_int_equal(u.first_op, 2);
  assert_true(u.first_len > 10);
  static const uint8_t tp[] = {0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a};
  assert_memory_equal(u.first, tp, sizeof(tp));
  assert_non_null(strstr(u.head[1], "Sec-WebSocket-Protocol: qmux-00\r\n"));
  assert_non_null(strstr(u.head[2], "HTTP/1.1 400"));
  assert_non_null(strstr(u.head[3], "HTTP/1.1 426"));
  assert_non_null(strstr(u.head[3], "Sec-WebSocket-Version: 13"));
  assert_non_null(strstr(u.head[4], "Sec-WebSocket-Protocol: qmux-01.moq-lite-04\r\n"));
  assert_int_equal(e.upgrades_refused, 2);
  assert_int_equal(e.napps, 3);
  env_free(&e);
}

/* ---- moqc client <-> server ----------------------------------------------------------------- */

typedef struct client {
  tapp app;
  moqc_ws_conn *conn;
  int status;
  bool connected;
  bool closed;
  moqc_ws_close_info info;
  moqc_str protocol;
} client;

static void client_on_close(void *ud, moqc_ws_conn *conn, const moqc_ws_close_info *info) {
  client *c = ud;
  c->closed = true;
  c->info = *info;
  c->conn = NULL;
}

static void client_on_connect(void *ud, int status, moqc_ws_conn *conn) {
  client *c = ud;
  c->status = status;
  if (status != 0) {
    return;
  }
  c->connected = true;
  c->conn = conn;
  c->protocol = moqc_ws_conn_protocol(conn);
  c->app.t = moqc_ws_conn_transport(conn);
  moqc_ws_conn_attach(conn, &tapp_ops, &c->app, client_on_close, c);
}

static bool client_ready(void *p) {
  client *c = p;
  return c->connected || c->status != 0;
}

static bool client_gone(void *p) { return ((client *)p)->closed; }

static void client_connect_host(env *e, client *c, const moqc_ws_settings *ws, const char *host) {
  char url[64];
  snprintf(url, sizeof(url), "ws://%s:%d/anon?x=1", host, e->port);
  memset(c, 0, sizeof(*c));
  assert_int_equal(moqc_ws_connect(&e->loop, url, NULL, 0, ws, client_on_connect, c, NULL), 0);
  assert_true(env_run_until(e, client_ready, c, 3000));
  assert_int_equal(c->status, 0);
  /* Wait for the server's parameters so streams can be opened. */
  for (int i = 0; i < 50; i++) {
    uv_run(&e->loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

static void client_connect(env *e, client *c, const moqc_ws_settings *ws) {
  client_connect_host(e, c, ws, "127.0.0.1");
}

/* A ws:// client that must fail to connect (e.g. against a TLS port). */
static void client_connect_fail(env *e, client *c, int port) {
  char url[64];
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", port);
  memset(c, 0, sizeof(*c));
  assert_int_equal(moqc_ws_connect(&e->loop, url, NULL, 0, NULL, client_on_connect, c, NULL), 0);
  assert_true(env_run_until(e, client_ready, c, 5000));
  assert_true(c->status != 0);
}

static void client_close(env *e, client *c) {
  if (c->conn != NULL) {
    moqc_ws_conn_close(c->conn, 0, "done");
  }
  assert_true(env_run_until(e, client_gone, c, 3000));
  tapp_free(&c->app);
}

typedef struct echo_check {
  client *c;
  moqc_stream_id *ids;
  int n;
  size_t size;
} echo_check;

static bool echoes_done(void *p) {
  echo_check *k = p;
  for (int i = 0; i < k->n; i++) {
    tstream *s = tapp_stream(&k->c->app, k->ids[i]);
    if (!s->rx_fin) {
      return false;
    }
  }
  return true;
}

/* Opens n bidi streams carrying size bytes each and checks the echo byte for byte. */
static void echo_streams(env *e, client *c, int n, size_t size) {
  moqc_stream_id *ids = calloc((size_t)n, sizeof(*ids));
  uint8_t *data = malloc(size > 0 ? size : 1);
  int opened = 0;
  echo_check k = {c, ids, 0, size};
  while (opened < n) {
    int rv = c->app.t.ops->open_stream(c->app.t.user_data, false, &ids[opened]);
    if (rv == MOQC_ERR_WOULD_BLOCK) {
      /* The stream limit: let earlier streams finish (MAX_STREAMS grows as they close). */
      k.n = opened;
      assert_true(env_run_until(e, echoes_done, &k, 5000));
      continue;
    }
    assert_int_equal(rv, 0);
    for (size_t i = 0; i < size; i++) {
      data[i] = tapp_byte(ids[opened], i);
    }
    tapp_queue(&c->app, ids[opened], data, size, true);
    opened++;
  }
  k.n = n;
  assert_true(env_run_until(e, echoes_done, &k, 8000));
  for (int s = 0; s < n; s++) {
    tstream *t = tapp_stream(&c->app, ids[s]);
    assert_int_equal(t->rx_len, size);
    for (size_t i = 0; i < size; i++) {
      if (t->rx[i] != tapp_byte(ids[s], i)) {
        fail_msg("stream %d byte %zu differs", (int)ids[s], i);
      }
    }
  }
  free(ids);
  free(data);
}

static void test_client_server_echo(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  /* Small windows on both sides so flow control is exercised throughout. */
  st.ws.max_stream_data = 8192;
  st.ws.max_data = 20000;
  st.ws.max_streams_bidi = 8;
  env_init(&e, &st);
  moqc_ws_settings ws;
  moqc_ws_settings_default(&ws);
  ws.max_stream_data = 4096;
  ws.max_data = 16384;
  client c;
  client_connect(&e, &c, &ws);
  assert_int_equal(c.protocol.len, strlen("qmux-01.moq-lite-05"));
  assert_memory_equal(c.protocol.ptr, "qmux-01.moq-lite-05", c.protocol.len);
  assert_int_equal(e.last_alpn.len, 11);
  /* Many small streams: more than the server's limit of 8. */
  echo_streams(&e, &c, 60, 100);
  /* A large transfer on 3 streams through the small windows, with a slow server reader. */
  e.apps[0]->read_chunk = 3000;
  echo_streams(&e, &c, 3, 700000);
  assert_true(c.app.total_blocks > 0);
  /* Server-opened streams: a uni stream and a bidi stream the client echoes. */
  {
    tapp *sa = e.apps[0];
    sa->read_chunk = 0;
    sa->echo = false; /* Only the client echoes now (else the bytes would bounce forever). */
    c.app.echo = true;
    moqc_stream_id u, b;
    assert_int_equal(sa->t.ops->open_stream(sa->t.user_data, true, &u), 0);
    assert_int_equal(sa->t.ops->open_stream(sa->t.user_data, false, &b), 0);
    assert_int_equal(u, 3);
    assert_int_equal(b, 1);
    static uint8_t big[150000];
    for (size_t i = 0; i < sizeof(big); i++) {
      big[i] = tapp_byte(u, i);
    }
    tapp_queue(sa, u, big, sizeof(big), true);
    tapp_queue(sa, b, big, 50000, true);
    echo_check k = {&c, &u, 1, 0};
    assert_true(env_run_until(&e, echoes_done, &k, 5000));
    tstream *cu = tapp_stream(&c.app, u);
    assert_int_equal(cu->rx_len, sizeof(big));
    assert_memory_equal(cu->rx, big, sizeof(big));
    tstream *sb = tapp_stream(sa, b);
    for (int i = 0; i < 500 && !sb->rx_fin; i++) {
      uv_run(&e.loop, UV_RUN_NOWAIT);
      usleep(1000);
    }
    assert_true(sb->rx_fin);
    assert_int_equal(sb->rx_len, 50000);
    assert_memory_equal(sb->rx, big, 50000);
    c.app.echo = false;
  }
  /* Path estimates from TCP_INFO, on both sides, after a megabyte each way: the kernel's
   * smoothed RTT (at least its 1 us granularity on loopback) and one window per RTT. */
  {
    moqc_transport_stats ss, cs;
    assert_non_null(e.apps[0]->t.ops->get_stats);
    assert_int_equal(e.apps[0]->t.ops->get_stats(e.apps[0]->t.user_data, &ss), 0);
    assert_int_equal(c.app.t.ops->get_stats(c.app.t.user_data, &cs), 0);
    assert_int_equal(ss.valid, MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE);
    assert_int_equal(cs.valid, MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE);
    assert_true(ss.smoothed_rtt >= 1000 && ss.smoothed_rtt < 1 * MOQC_SECONDS);
    assert_true(ss.send_bitrate > 1000000); /* a loopback window per RTT: far above 1 Mbit/s */
    assert_true(cs.smoothed_rtt >= 1000 && cs.send_bitrate > 1000000);
  }
  /* Datagrams both ways. */
  assert_int_equal(c.app.t.ops->send_datagram(c.app.t.user_data, (const uint8_t *)"ping", 4), 0);
  tapp *srv = e.apps[0];
  for (int i = 0; i < 100 && srv->dgrams == 0; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(srv->dgrams, 1);
  assert_memory_equal(srv->last_dgram, "ping", 4);
  client_close(&e, &c);
  assert_false(c.info.by_peer);
  /* The server side heard the APPLICATION_CLOSE. */
  for (int i = 0; i < 200 && !e.conn_closed[0]; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_true(e.conn_closed[0]);
  assert_true(e.infos[0].by_peer);
  assert_true(e.infos[0].app);
  assert_true(srv->closed);
  env_free(&e);
}

static bool srv_app_reset(void *p) {
  env *e = p;
  return e->napps > 0 && e->apps[0]->n > 0 && e->apps[0]->s[0].reset;
}

static bool client_stopped(void *p) {
  client *c = p;
  for (size_t i = 0; i < c->app.n; i++) {
    if (c->app.s[i].stopped) {
      return true;
    }
  }
  return false;
}

static void test_reset_stop_over_socket(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  client c;
  client_connect_host(&e, &c, NULL, "localhost"); /* resolved with getaddrinfo */
  moqc_stream_id a, b;
  assert_int_equal(c.app.t.ops->open_stream(c.app.t.user_data, true, &a), 0);
  tapp_queue(&c.app, a, "abc", 3, false);
  for (int i = 0; i < 50; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(c.app.t.ops->reset_stream(c.app.t.user_data, a, 42), 0);
  tapp_stream(&c.app, a)->tx_reset = true;
  assert_true(env_run_until(&e, srv_app_reset, &e, 2000));
  assert_int_equal(e.apps[0]->s[0].reset_code, 42);
  /* Server asks the client to stop a bidi stream. */
  assert_int_equal(c.app.t.ops->open_stream(c.app.t.user_data, false, &b), 0);
  tapp_queue(&c.app, b, "xyz", 3, false);
  tapp *srv = e.apps[0];
  for (int i = 0; i < 100 && srv->n < 2; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(srv->t.ops->stop_sending(srv->t.user_data, b, 17), 0);
  assert_true(env_run_until(&e, client_stopped, &c, 2000));
  assert_int_equal(tapp_stream(&c.app, b)->stop_code, 17);
  client_close(&e, &c);
  env_free(&e);
}

/* ---- Misbehaving clients ---------------------------------------------------------------------- */

typedef struct bad_case {
  int port;
  int kind; /* 0: stream-limit flood; 1: garbage after the upgrade; 2: oversize message; 3: text */
  char head[2048];
  bool got_close;
  uint64_t close_code;
  int ws_close_status;
  bool eof;
} bad_case;

static void *bad_client(void *p) {
  bad_case *b = p;
  int fd = raw_connect(b->port, 3000);
  raw_upgrade(fd, 13, "qmux-01.moq-lite-05", b->head, sizeof(b->head));
  if (b->kind == 0) {
    /* Our parameters (empty), then 150 uni streams against a limit of 100. */
    uint8_t tp[] = {0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x00};
    raw_send_frame(fd, 2, tp, sizeof(tp));
    for (uint64_t i = 0; i < 150; i++) {
      uint8_t f[16];
      uint64_t id = i * 4 + 2;
      size_t n = 0;
      f[n++] = 0x0e;
      f[n++] = (uint8_t)(0x40 | (id >> 8));
      f[n++] = (uint8_t)id;
      f[n++] = 0x00;
      f[n++] = 0x01;
      f[n++] = 0xaa;
      raw_send_frame(fd, 2, f, n);
    }
  } else if (b->kind == 1) {
    static const char junk[] = "GARBAGE\r\n\r\nthis is not a websocket frame at all";
    raw_send(fd, junk, sizeof(junk) - 1);
  } else if (b->kind == 2) {
    static uint8_t big[20000];
    raw_send_frame(fd, 2, big, sizeof(big)); /* over max_record_size 16382 */
  } else {
    raw_send_frame(fd, 1, (const uint8_t *)"hello", 5); /* text */
  }
  /* Read frames until the connection ends; note a CONNECTION_CLOSE. */
  for (;;) {
    uint8_t op;
    uint8_t payload[70000];
    ssize_t n = raw_read_frame(fd, &op, payload, sizeof(payload));
    if (n < 0) {
      break;
    }
    if (op == 2 && n >= 2 && payload[0] == 0x1c) {
      b->got_close = true;
      b->close_code = payload[1];
    }
    if (op == 8 && n >= 2) {
      b->ws_close_status = payload[0] << 8 | payload[1];
    }
  }
  char rest[16];
  raw_read_all(fd, rest, sizeof(rest), &b->eof);
  b->eof = true;
  close(fd);
  return NULL;
}

static void run_bad(int kind) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.ws.max_streams_uni = 100; /* the flood (kind 0) opens 150 */
  env_init(&e, &st);
  client good;
  client_connect(&e, &good, NULL);
  echo_streams(&e, &good, 2, 1000);
  bad_case b;
  memset(&b, 0, sizeof(b));
  b.port = e.port;
  b.kind = kind;
  env_run_thread(&e, bad_client, &b);
  assert_non_null(strstr(b.head, "HTTP/1.1 101"));
  if (kind == 0) {
    assert_true(b.got_close);
    assert_int_equal(b.close_code, 0x04); /* STREAM_LIMIT_ERROR */
    assert_int_equal(b.ws_close_status, 1002);
  } else if (kind == 2) {
    assert_int_equal(b.ws_close_status, 1009); /* message too big */
  } else if (kind == 3) {
    assert_true(b.got_close);
    assert_int_equal(b.close_code, 0x0a); /* PROTOCOL_VIOLATION */
    assert_int_equal(b.ws_close_status, 1003);
  }
  /* Only the bad connection closed; the good one keeps working. */
  for (int i = 0; i < 200 && !e.conn_closed[1]; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_true(e.conn_closed[1]);
  assert_false(e.conn_closed[0]);
  assert_false(good.closed);
  if (kind == 0) {
    assert_int_equal(e.infos[1].code, 0x04);
    assert_false(e.infos[1].by_peer);
  }
  echo_streams(&e, &good, 5, 50000);
  client_close(&e, &good);
  env_free(&e);
}

static void test_stream_limit_flood(void **state) { run_bad(0); }
static void test_garbage_after_upgrade(void **state) { run_bad(1); }
static void test_oversize_message(void **state) { run_bad(2); }
static void test_text_message(void **state) { run_bad(3); }

/* WebSocket Pings and the idle timeout: a silent raw client is pinged, then dropped; a moqc client
 * on qmux-00 (no QMux keep-alive) answers the Pings and stays. */
typedef struct silent_case {
  int port;
  int pings;
  bool eof;
  double closed_after_ms;
  char head[2048];
} silent_case;

static void *silent_client(void *p) {
  silent_case *k = p;
  int fd = raw_connect(k->port, 3000);
  double t0 = now_ms();
  raw_upgrade(fd, 13, "qmux-00.moq-lite-05", k->head, sizeof(k->head));
  for (;;) {
    uint8_t op;
    uint8_t payload[20000];
    ssize_t n = raw_read_frame(fd, &op, payload, sizeof(payload));
    if (n < 0) {
      break;
    }
    if (op == 9) {
      k->pings++;
    }
  }
  k->eof = true;
  k->closed_after_ms = now_ms() - t0;
  close(fd);
  return NULL;
}

static void test_ping_and_idle(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.ws.ping_interval_ms = 150;
  st.ws.idle_timeout_ms = 700;
  env_init(&e, &st);
  client good;
  memset(&good, 0, sizeof(good));
  char url[64];
  snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", e.port);
  moqc_str offer[] = {moqc_str_c("qmux-00.moq-lite-05")};
  assert_int_equal(moqc_ws_connect(&e.loop, url, offer, 1, NULL, client_on_connect, &good, NULL),
                   0);
  assert_true(env_run_until(&e, client_ready, &good, 3000));
  assert_int_equal(good.status, 0);
  silent_case k;
  memset(&k, 0, sizeof(k));
  k.port = e.port;
  env_run_thread(&e, silent_client, &k);
  assert_true(k.eof);
  assert_true(k.pings >= 2);
  assert_true(k.closed_after_ms >= 600);
  assert_true(k.closed_after_ms < 3000);
  for (int i = 0; i < 200 && !e.conn_closed[1]; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_true(e.conn_closed[1]);
  assert_string_equal(e.infos[1].what, "idle timeout");
  /* The good client answered every Ping, so it is still there. */
  assert_false(good.closed);
  assert_false(e.conn_closed[0]);
  echo_streams(&e, &good, 2, 1000);
  client_close(&e, &good);
  env_free(&e);
}

/* A server on the IPv6 any-address (dual stack) answers IPv4 clients; bad addresses are refused. */
static void *health_client(void *p) {
  http_case *h = p;
  int fd = raw_connect(h->port, 2000);
  static const char r1[] = "GET /health HTTP/1.0\r\n\r\n";
  raw_send(fd, r1, sizeof(r1) - 1);
  bool eof;
  raw_read_all(fd, h->out[0], sizeof(h->out[0]), &eof);
  close(fd);
  return NULL;
}

static void test_dual_stack_listen(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_host = "::";
  env_init(&e, &st);
  env_host = "127.0.0.1";
  http_case h;
  memset(&h, 0, sizeof(h));
  h.port = e.port;
  env_run_thread(&e, health_client, &h);
  assert_non_null(strstr(h.out[0], "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(h.out[0], "Connection: close\r\n"));
  assert_non_null(strstr(h.out[0], "\r\n\r\nok"));
  moqc_http_server *other;
  moqc_http_server_settings_default(&st);
  st.route = env_route;
  assert_int_equal(moqc_http_server_new(&other, &e.loop, &st, NULL), 0);
  assert_int_equal(moqc_http_server_listen(other, "not an address", 0), MOQC_ERR_INVALID_ARGUMENT);
  /* The port is taken by e.srv. */
  assert_int_equal(moqc_http_server_listen(other, "::", e.port), MOQC_ERR_IO);
  moqc_http_server_del(other, NULL, NULL);
  env_free(&e);
}

/* The connection cap: connections beyond it are closed at once. */
typedef struct cap_case {
  int port;
  bool eof[3];
} cap_case;

static void *cap_client(void *p) {
  cap_case *k = p;
  int fds[3];
  for (int i = 0; i < 3; i++) {
    fds[i] = raw_connect(k->port, 500);
    usleep(50 * 1000);
  }
  for (int i = 0; i < 3; i++) {
    char buf[64];
    raw_read_all(fds[i], buf, sizeof(buf), &k->eof[i]);
    close(fds[i]);
  }
  return NULL;
}

static void test_connection_cap(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.max_connections = 2;
  env_init(&e, &st);
  cap_case k;
  memset(&k, 0, sizeof(k));
  k.port = e.port;
  env_run_thread(&e, cap_client, &k);
  assert_false(k.eof[0]);
  assert_false(k.eof[1]);
  assert_true(k.eof[2]);
  env_free(&e);
}

/* ---- Wake from another thread ---------------------------------------------------------------- */

typedef struct waker {
  moqc_transport t;
  pthread_t th;
  int stop;
  long n;
  client *c;
} waker;

static void *waker_main(void *p) {
  waker *w = p;
  while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
    w->t.ops->wake(w->t.user_data);
    if (++w->n % 64 == 0) {
      usleep(50);
    }
  }
  return NULL;
}

/* The owner's close callback: the last moment the waker may run, so it is stopped here. */
static void waker_on_close(void *ud, moqc_ws_conn *conn, const moqc_ws_close_info *info) {
  waker *w = ud;
  __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
  pthread_join(w->th, NULL);
  client_on_close(w->c, conn, info);
}

static bool polled_enough(void *p) { return ((client *)p)->app.polls > 50; }

static void test_wake_from_thread(void **state) {
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  env_init(&e, &st);
  client c;
  client_connect(&e, &c, NULL);
  waker w;
  memset(&w, 0, sizeof(w));
  w.t = c.app.t;
  w.c = &c;
  moqc_ws_conn_attach(c.conn, &tapp_ops, &c.app, waker_on_close, &w);
  assert_int_equal(pthread_create(&w.th, NULL, waker_main, &w), 0);
  /* Wakes from the thread become polls on the loop. */
  assert_true(env_run_until(&e, polled_enough, &c, 3000));
  /* The server closes the connection while the thread keeps waking. */
  moqc_ws_conn_close(e.conns[0], 0, "bye");
  assert_true(env_run_until(&e, client_gone, &c, 3000));
  assert_true(w.stop);
  assert_true(w.n > 50);
  assert_true(c.info.by_peer);
  tapp_free(&c.app);
  env_free(&e);
}

/* ---- The npm client (@moq/net 0.3.4 from tests/interop) against the server ------------------- */

static const char npm_script[] =
    "if (typeof Promise.withResolvers !== 'function') {\n"
    "  Promise.withResolvers = () => { let resolve, reject;\n"
    "    const promise = new Promise((a, b) => { resolve = a; reject = b; });\n"
    "    return { promise, resolve, reject }; };\n"
    "}\n"
    "if (typeof Set.prototype.difference !== 'function') {\n"
    "  Object.defineProperty(Set.prototype, 'difference', { value(o) {\n"
    "    const r = new Set(); for (const v of this) if (!o.has(v)) r.add(v); return r; },\n"
    "    writable: true, configurable: true });\n"
    "}\n"
    "console.debug = console.info = () => {};\n"
    "const WebSocket = (await import('ws')).default;\n"
    "if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = WebSocket;\n"
    "const Moq = await import('@moq/net');\n"
    "const url = new URL(`${process.env.MOQC_SCHEME}://127.0.0.1:${process.env.MOQC_PORT}/anon`);\n"
    "const timeout = new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 5000));\n"
    "const conn = await Promise.race([Moq.Connection.connect(url), timeout]);\n"
    "console.error(`npm client: ${conn.version} over ${conn.transport}`);\n"
    "await new Promise((r) => setTimeout(r, 300));\n"
    "conn.close();\n"
    "await new Promise((r) => setTimeout(r, 300));\n"
    "process.exit(conn.version === 'moq-lite-05' && conn.transport === 'websocket' ? 0 : 2);\n";

typedef struct npm_run {
  bool exited;
  int64_t status;
} npm_run;

static void npm_on_exit(uv_process_t *p, int64_t status, int sig) {
  npm_run *r = p->data;
  r->exited = true;
  r->status = sig != 0 ? -sig : status;
  uv_close((uv_handle_t *)p, NULL);
}

static bool npm_done(void *p) { return ((npm_run *)p)->exited; }

static void run_npm(const moqc_tls_cert *tls) {
  char dir[1024];
  snprintf(dir, sizeof(dir), "%s/tests/interop/node_modules/@moq/net", MOQC_SOURCE_DIR);
  if (access(dir, R_OK) != 0 || access("/usr/bin/node", X_OK) != 0) {
    skip();
  }
  snprintf(dir, sizeof(dir), "%s/tests/interop", MOQC_SOURCE_DIR);
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.tls = tls;
  env_init(&e, &st);
  char port_env[32];
  snprintf(port_env, sizeof(port_env), "MOQC_PORT=%d", e.port);
  char *args[] = {"/usr/bin/node", "--input-type=module", "-e", (char *)npm_script, NULL};
  /* Over TLS the self-signed certificate is accepted by turning Node's verification off. */
  char *envp[] = {port_env, "PATH=/usr/bin:/bin", tls != NULL ? "MOQC_SCHEME=https" : "MOQC_SCHEME=http",
                  "NODE_TLS_REJECT_UNAUTHORIZED=0", NULL};
  if (tls == NULL) {
    envp[3] = NULL;
  }
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE}, {.flags = UV_INHERIT_FD, .data.fd = 2}, {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t opt;
  memset(&opt, 0, sizeof(opt));
  opt.file = args[0];
  opt.args = args;
  opt.env = envp;
  opt.cwd = dir;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  opt.exit_cb = npm_on_exit;
  uv_process_t proc;
  npm_run run = {false, 0};
  proc.data = &run;
  assert_int_equal(uv_spawn(&e.loop, &proc, &opt), 0);
  assert_true(env_run_until(&e, npm_done, &run, 20000));
  assert_int_equal(run.status, 0);
  /* The server saw the client's upgrade, parameters and its SETUP uni stream (id 2, type 0x01),
   * then the client's APPLICATION_CLOSE. */
  assert_int_equal(e.napps, 1);
  assert_int_equal(e.last_alpn.len, 11);
  assert_memory_equal(e.last_alpn.ptr, "moq-lite-05", 11);
  tstream *setup = tapp_stream(e.apps[0], 2);
  assert_true(setup->rx_len >= 2);
  assert_int_equal(setup->rx[0], 0x01);
  for (int i = 0; i < 200 && !e.conn_closed[0]; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_true(e.conn_closed[0]);
  assert_true(e.infos[0].app);
  assert_int_equal(e.infos[0].code, 0);
  env_free(&e);
}

static void test_npm_client_handshake(void **state) { run_npm(NULL); }

/* ---- TLS: https routes and wss:// ----------------------------------------------------------- */

static moqc_tls_cert *tls_cert(void) {
  static const char *const names[] = {"localhost", "127.0.0.1"};
  moqc_tls_cert *cert;
  assert_int_equal(moqc_tls_cert_generate(&cert, names, 2, (int64_t)time(NULL), 0, NULL), 0);
  return cert;
}

static void test_npm_client_wss(void **state) {
  moqc_tls_cert *cert = tls_cert();
  run_npm(cert);
  moqc_tls_cert_del(cert);
}

static void test_wss_echo_and_pins(void **state) {
  moqc_tls_cert *cert = tls_cert();
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.tls = cert;
  env_init(&e, &st);
  moqc_ws_settings ws;
  moqc_ws_settings_default(&ws);
  ws.verify.mode = MOQC_TLS_VERIFY_PIN;
  ws.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])moqc_tls_cert_fingerprint(cert);
  ws.verify.npins = 1;
  client c;
  memset(&c, 0, sizeof(c));
  char url[64];
  snprintf(url, sizeof(url), "wss://127.0.0.1:%d/anon", e.port);
  assert_int_equal(moqc_ws_connect(&e.loop, url, NULL, 0, &ws, client_on_connect, &c, NULL), 0);
  assert_true(env_run_until(&e, client_ready, &c, 3000));
  assert_int_equal(c.status, 0);
  for (int i = 0; i < 50; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  echo_streams(&e, &c, 3, 200000);
  client_close(&e, &c);
  for (int i = 0; i < 200 && !e.conn_closed[0]; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_true(e.conn_closed[0]);
  assert_true(e.infos[0].app);
  /* A wrong pin: the handshake fails and the client is told; no upgrade reached the route. */
  uint8_t wrong[MOQC_TLS_FINGERPRINT_LEN];
  memset(wrong, 0x5a, sizeof(wrong));
  ws.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])wrong;
  client bad;
  memset(&bad, 0, sizeof(bad));
  assert_int_equal(moqc_ws_connect(&e.loop, url, NULL, 0, &ws, client_on_connect, &bad, NULL), 0);
  assert_true(env_run_until(&e, client_ready, &bad, 3000));
  assert_int_equal(bad.status, MOQC_ERR_IO);
  assert_int_equal(e.napps, 1);
  /* A plain ws:// client against the TLS port fails too. */
  client plain;
  client_connect_fail(&e, &plain, e.port);
  env_free(&e);
  moqc_tls_cert_del(cert);
}

typedef struct curl_case {
  int port;
  char out[4096];
} curl_case;

static void *curl_client(void *p) {
  curl_case *k = p;
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "curl -sk -i --max-time 5 https://127.0.0.1:%d/health", k->port);
  FILE *f = popen(cmd, "r");
  if (f != NULL) {
    size_t n = fread(k->out, 1, sizeof(k->out) - 1, f);
    k->out[n] = 0;
    pclose(f);
  }
  return NULL;
}

static void test_https_route(void **state) {
  if (access("/usr/bin/curl", X_OK) != 0) {
    skip();
  }
  moqc_tls_cert *cert = tls_cert();
  env e;
  moqc_http_server_settings st;
  env_settings(&st);
  st.tls = cert;
  env_init(&e, &st);
  curl_case k;
  memset(&k, 0, sizeof(k));
  k.port = e.port;
  env_run_thread(&e, curl_client, &k);
  assert_non_null(strstr(k.out, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(k.out, "\r\n\r\nok"));
  env_free(&e);
  moqc_tls_cert_del(cert);
}

int main(void) {
  /* A peer closing while the server writes must not kill the process (as in every libuv
   * program, the binary ignores SIGPIPE; the library never touches signal dispositions). */
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_routes),
      cmocka_unit_test(test_pipeline_overflow),
      cmocka_unit_test(test_head_timeout),
      cmocka_unit_test(test_oversize_head),
      cmocka_unit_test(test_pipelined_backpressure),
      cmocka_unit_test(test_upgrade_selection),
      cmocka_unit_test(test_client_server_echo),
      cmocka_unit_test(test_reset_stop_over_socket),
      cmocka_unit_test(test_stream_limit_flood),
      cmocka_unit_test(test_garbage_after_upgrade),
      cmocka_unit_test(test_oversize_message),
      cmocka_unit_test(test_text_message),
      cmocka_unit_test(test_connection_cap),
      cmocka_unit_test(test_dual_stack_listen),
      cmocka_unit_test(test_ping_and_idle),
      cmocka_unit_test(test_wake_from_thread),
      cmocka_unit_test(test_npm_client_handshake),
      cmocka_unit_test(test_npm_client_wss),
      cmocka_unit_test(test_wss_echo_and_pins),
      cmocka_unit_test(test_https_route),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
