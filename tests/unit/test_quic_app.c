/*
 * The QUIC connection as the stream transport of an application
 * (moqc_stream_app_ops): a test application on each side, bidi echo of a large
 * stream, a uni stream, datagrams, stream resets, a wake from another thread,
 * and a close by the application seen by the peer's application.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <uv.h>

#include <moqc/moqc.h>

#include "test_transport_ws_app.h"
#include "transport/quic_test.h"
#include "quic_testutil.h"

typedef struct side {
  moqc_quic_endpoint *ep;
  moqc_quic_conn *conn;
  tapp *app;
  int connected, closed, close_err;
  uint64_t close_app;
  bool close_remote;
} side;

typedef struct env {
  uv_loop_t loop;
  uv_timer_t tick;
  side server, client;
  struct sockaddr_in server_addr;
} env;

/* When set, the server's application uses these ops instead of tapp_ops. */
static const moqc_stream_app_ops *g_server_ops;
/* The application the server's wake_read wakes after each read. */
static tapp *g_wake_target;

static int on_connection(moqc_quic_conn *conn, const char *alpn, void *ud,
                         void *cud) {
  side *s = ud;
  s->connected++;
  s->conn = conn;
  s->app->t = moqc_quic_conn_transport(conn);
  moqc_stream_app_ops partial = tapp_ops;
  partial.poll = NULL;
  assert_int_equal(moqc_quic_conn_attach(conn, &partial, s->app),
                   MOQC_ERR_INVALID_ARGUMENT);
  const moqc_stream_app_ops *ops = &tapp_ops;
  if (g_server_ops != NULL && moqc_quic_conn_is_server(conn)) {
    ops = g_server_ops;
  }
  assert_int_equal(moqc_quic_conn_attach(conn, ops, s->app), 0);
  assert_int_equal(moqc_quic_conn_attach(conn, ops, s->app),
                   MOQC_ERR_INVALID_ARGUMENT);
  return 0;
}

static void on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote,
                     void *ud, void *cud) {
  side *s = ud;
  s->closed++;
  s->close_err = err;
  s->close_app = app;
  s->close_remote = remote;
  s->conn = NULL;
}

static const moqc_quic_callbacks callbacks = {.on_connection = on_connection,
                                              .on_close = on_close};

static void tick_cb(uv_timer_t *t) {
  (void)t;
}

static void env_start(env *e) {
  memset(e, 0, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 5, 5);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings s;
  moqc_quic_settings_default(&s);
  s.initial_rtt = 10 * MOQC_MILLISECONDS;
  s.max_stream_data =
      64 * 1024; /* small windows: flow control blocks and unblocks */
  s.max_stream_window = 64 * 1024;
  e->server.app = calloc(1, sizeof(tapp));
  e->client.app = calloc(1, sizeof(tapp));
  e->server.app->echo = true;
  moqc_quic_settings ss = s;
  ss.cert = g_cert;
  assert_int_equal(moqc_quic_endpoint_new(&e->server.ep, &e->loop,
                                          (struct sockaddr *)&a, &ss,
                                          &callbacks, &e->server),
                   0);
  assert_int_equal(moqc_quic_endpoint_new(&e->client.ep, &e->loop,
                                          (struct sockaddr *)&a, &s, &callbacks,
                                          &e->client),
                   0);
  e->server_addr = a;
  e->server_addr.sin_port = htons(moqc_quic_endpoint_port(e->server.ep));
}

static void env_stop(env *e) {
  moqc_quic_endpoint_del(e->client.ep);
  moqc_quic_endpoint_del(e->server.ep);
  uv_close((uv_handle_t *)&e->tick, NULL);
  assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  tapp_free(e->server.app);
  tapp_free(e->client.app);
  free(e->server.app);
  free(e->client.app);
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

static bool both_connected(env *e, void *arg) {
  return e->client.connected > 0 && e->server.connected > 0;
}

static void connect_pinned(env *e) {
  moqc_quic_connect_params p = quic_pin_params();
  assert_int_equal(moqc_quic_connect(e->client.ep,
                                     (struct sockaddr *)&e->server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(e, both_connected, NULL, 3000));
}

#define BIG (512u * 1024u)

typedef struct echo_arg {
  moqc_stream_id bidi, uni;
} echo_arg;

static bool echo_done(env *e, void *arg) {
  echo_arg *a = arg;
  tstream *b = tapp_stream(e->client.app, a->bidi);
  tstream *u = tapp_stream(e->server.app, a->uni);
  return b->rx_fin && u->rx_fin && e->client.app->dgrams > 0 && b->closed;
}

static void *wake_thread(void *arg) {
  moqc_transport *t = arg;
  t->ops->wake(t->user_data);
  return NULL;
}

static bool polled(env *e, void *arg) {
  return e->client.app->polls > *(int *)arg;
}

static void test_app_echo(void **state) {
  env e;
  env_start(&e);
  connect_pinned(&e);
  tapp *c = e.client.app;
  echo_arg a;
  assert_int_equal(c->t.ops->open_stream(c->t.user_data, false, &a.bidi), 0);
  assert_int_equal(c->t.ops->open_stream(c->t.user_data, true, &a.uni), 0);
  assert_int_equal(a.bidi, 0);
  assert_int_equal(a.uni, 2);
  uint8_t *big = malloc(BIG);
  for (size_t i = 0; i < BIG; i++) {
    big[i] = tapp_byte(a.bidi, i);
  }
  tapp_queue(c, a.bidi, big, BIG, true);
  tapp_queue(c, a.uni, "uni-data", 8, true);
  free(big);
  /* The server echoes datagrams? No: the test app only records them; send one
   * each way. */
  assert_int_equal(
      c->t.ops->send_datagram(c->t.user_data, (const uint8_t *)"dg", 2), 0);
  tapp *s = e.server.app;
  bool server_dgram = false;
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  while (!echo_done(&e, &a) && uv_hrtime() < deadline) {
    if (!server_dgram && s->dgrams > 0) {
      assert_int_equal(
          s->t.ops->send_datagram(s->t.user_data, (const uint8_t *)"gd", 2), 0);
      server_dgram = true;
    }
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_true(echo_done(&e, &a));
  tstream *b = tapp_stream(c, a.bidi);
  assert_int_equal(b->rx_len, BIG);
  for (size_t i = 0; i < BIG; i++) {
    if (b->rx[i] != tapp_byte(a.bidi, i)) {
      fail_msg("byte %zu differs", i);
    }
  }
  /* 64 KiB windows and 512 KiB each way: flow control blocked the senders. */
  assert_true(c->total_blocks + s->total_blocks > 0);
  tstream *u = tapp_stream(s, a.uni);
  assert_int_equal(u->rx_len, 8);
  assert_memory_equal(u->rx, "uni-data", 8);
  assert_int_equal(c->last_dgram_len, 2);
  assert_memory_equal(c->last_dgram, "gd", 2);

  /* A wake from another thread makes the connection poll the application on its
   * loop. */
  int before = c->polls;
  uint64_t direct0, async0, direct1, async1;
  moqc__quic_conn_wakes(e.client.conn, &direct0, &async0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wake_thread, &c->t), 0);
  pthread_join(th, NULL);
  assert_true(run_until(&e, polled, &before, 2000));
  /* It went through the async handle. */
  moqc__quic_conn_wakes(e.client.conn, &direct1, &async1);
  assert_true(async1 > async0);
  assert_int_equal(direct1, direct0);

  /* The client application closes: the server application hears the code. */
  c->t.ops->close(c->t.user_data, 77, "app bye", 7);
  deadline = uv_hrtime() + 3000000000ULL;
  while ((!s->closed || e.client.closed == 0) && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_true(s->closed);
  assert_int_equal(s->close_code, 77);
  assert_string_equal(s->close_reason, "app bye");
  assert_false(c->closed); /* its own close is not reported back */
  assert_int_equal(e.client.closed, 1);
  assert_int_equal(e.client.close_app, 77);
  assert_int_equal(e.server.closed, 1);
  assert_true(e.server.close_remote);
  env_stop(&e);
}

/* The server's read_stream, which also wakes another application of the same
 * loop: what a relay does when a publisher's frame wakes its subscribers. */
static moqc_ssize wake_read(void *ud, moqc_stream_id id, const uint8_t *data,
                            size_t len, bool fin, moqc_tstamp ts) {
  moqc_ssize n = tapp_read(ud, id, data, len, fin, ts);
  if (g_wake_target != NULL) {
    g_wake_target->t.ops->wake(g_wake_target->t.user_data);
  }
  return n;
}

static bool stream_echoed(env *e, void *arg) {
  tstream *b = tapp_stream(e->client.app, *(moqc_stream_id *)arg);
  return b->rx_fin;
}

/* A wake issued on the loop's thread, from inside a QUIC callback, marks the
 * connection for the write pass directly: no uv_async_send, and the woken
 * application is polled. */
static void test_app_same_thread_wake(void **state) {
  moqc_stream_app_ops ops = tapp_ops;
  ops.read_stream = wake_read;
  g_server_ops = &ops;
  env e;
  env_start(&e);
  connect_pinned(&e);
  tapp *c = e.client.app;
  g_wake_target = c;
  int polls = c->polls;
  uint64_t direct0, async0, direct1, async1;
  moqc__quic_conn_wakes(e.client.conn, &direct0, &async0);
  moqc_stream_id sid;
  assert_int_equal(c->t.ops->open_stream(c->t.user_data, false, &sid), 0);
  tapp_queue(c, sid, "hello", 5, true);
  assert_true(run_until(&e, stream_echoed, &sid, 3000));
  moqc__quic_conn_wakes(e.client.conn, &direct1, &async1);
  assert_true(direct1 > direct0);
  assert_int_equal(async1, async0);
  assert_true(c->polls > polls);
  assert_int_equal(tapp_stream(c, sid)->rx_len, 5);
  g_wake_target = NULL;
  g_server_ops = NULL;
  env_stop(&e);
}

static bool reset_seen(env *e, void *arg) {
  moqc_stream_id *ids = arg;
  return tapp_stream(e->server.app, ids[0])->reset &&
         tapp_stream(e->client.app, ids[1])->stopped;
}

static void test_app_reset_stop(void **state) {
  env e;
  env_start(&e);
  connect_pinned(&e);
  tapp *c = e.client.app, *s = e.server.app;
  s->echo = false;
  moqc_stream_id ids[2];
  assert_int_equal(c->t.ops->open_stream(c->t.user_data, true, &ids[0]), 0);
  assert_int_equal(c->t.ops->open_stream(c->t.user_data, true, &ids[1]), 0);
  tapp_queue(c, ids[0], "abc", 3, false);
  tapp_queue(c, ids[1], "def", 3, false);
  uint64_t deadline = uv_hrtime() + 2000000000ULL;
  while ((tapp_stream(s, ids[0])->rx_len < 3 ||
          tapp_stream(s, ids[1])->rx_len < 3) &&
         uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(tapp_stream(s, ids[1])->rx_len, 3);
  tapp_stream(c, ids[0])->tx_reset = true;
  assert_int_equal(c->t.ops->reset_stream(c->t.user_data, ids[0], 11), 0);
  assert_int_equal(s->t.ops->stop_sending(s->t.user_data, ids[1], 12), 0);
  assert_true(run_until(&e, reset_seen, ids, 3000));
  assert_int_equal(tapp_stream(s, ids[0])->reset_code, 11);
  assert_int_equal(tapp_stream(c, ids[1])->stop_code, 12);
  assert_true(tapp_stream(c, ids[1])->closed);
  env_stop(&e);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_app_echo),
      cmocka_unit_test(test_app_reset_stop),
      cmocka_unit_test(test_app_same_thread_wake),
  };
  return cmocka_run_group_tests(tests, quic_cert_setup, quic_cert_teardown);
}
