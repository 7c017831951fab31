/*
 * QUIC endpoint on loopback: a server and clients on one libuv loop exchange
 * streams and datagrams; ALPN selection and refusal, certificate pinning, idle
 * timeout and keep-alive, resets, many streams, many connections, and large
 * transfers checked byte for byte (also through a lossy, reordering send
 * filter).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <moqc/moqc.h>

#include "transport/quic_test.h"
#include "counting_mem.h"
#include "quic_testutil.h"

#define MAXSID 512

typedef struct rxbuf {
  uint8_t *data;
  size_t len, cap;
  bool fin;
  bool was_reset;
  uint64_t reset_code;
} rxbuf;

typedef struct peer {
  moqc_quic_endpoint *ep;
  moqc_quic_conn *conn; /* the last connection seen */
  int connected;
  char alpn[64];
  int closed;
  int close_err;
  uint64_t close_app;
  bool close_remote;
  bool echo; /* echo bidi stream data and datagrams */
  bool
      verify; /* check stream bytes against pattern() instead of storing them */
  uint64_t verified;
  bool verify_failed;
  bool verify_fin;
  rxbuf rx[4][MAXSID];
  int dgrams;
  uint8_t dgram[64];
  size_t dgramlen;
  int resets;
  uint64_t reset_code;
  int stops;
  uint64_t stop_code;
  uint64_t acked;
  int stream_closes;
} peer;

typedef struct env {
  uv_loop_t loop;
  uv_timer_t tick;
  moqc_tls_cert *cert;
  peer server, client;
  struct sockaddr_in server_addr;
} env;


static uint8_t pattern(uint64_t off) {
  return (uint8_t)((off * 7) ^ (off >> 9) ^ (off >> 17));
}

static rxbuf *rx_of(peer *p, int64_t sid) {
  assert_true((sid >> 2) < MAXSID);
  return &p->rx[sid & 3][sid >> 2];
}

static int on_connection(moqc_quic_conn *conn, const char *alpn, void *ud,
                         void *cud) {
  peer *p = ud;
  p->connected++;
  p->conn = conn;
  snprintf(p->alpn, sizeof(p->alpn), "%s", alpn);
  return 0;
}

static moqc_ssize on_stream_data(moqc_quic_conn *conn, int64_t sid,
                                 const uint8_t *data, size_t len, bool fin,
                                 void *ud, void *cud) {
  peer *p = ud;
  if (p->verify) {
    for (size_t i = 0; i < len; i++) {
      if (data[i] != pattern(p->verified + i)) {
        p->verify_failed = true;
        break;
      }
    }
    p->verified += len;
    if (fin) {
      p->verify_fin = true;
    }
    return (moqc_ssize)len;
  }
  if (p->echo && !MOQC_STREAM_IS_UNI(sid)) {
    assert_int_equal(moqc_quic_conn_write_copy(conn, sid, data, len, fin), 0);
  }
  rxbuf *b = rx_of(p, sid);
  if (b->len + len > b->cap) {
    b->cap = (b->len + len) * 2 + 64;
    b->data = realloc(b->data, b->cap);
  }
  if (len > 0) {
    memcpy(b->data + b->len, data, len);
  }
  b->len += len;
  if (fin) {
    b->fin = true;
  }
  return (moqc_ssize)len;
}

static void on_stream_reset(moqc_quic_conn *conn, int64_t sid, uint64_t code,
                            void *ud, void *cud) {
  peer *p = ud;
  p->resets++;
  p->reset_code = code;
  rx_of(p, sid)->was_reset = true;
  rx_of(p, sid)->reset_code = code;
}

static void on_stream_stop(moqc_quic_conn *conn, int64_t sid, uint64_t code,
                           void *ud, void *cud) {
  peer *p = ud;
  p->stops++;
  p->stop_code = code;
}

static void on_stream_acked(moqc_quic_conn *conn, int64_t sid, uint64_t n,
                            void *ud, void *cud) {
  peer *p = ud;
  p->acked += n;
}

static void on_stream_close(moqc_quic_conn *conn, int64_t sid, void *ud,
                            void *cud) {
  peer *p = ud;
  p->stream_closes++;
}

static void on_datagram(moqc_quic_conn *conn, const uint8_t *data, size_t len,
                        void *ud, void *cud) {
  peer *p = ud;
  p->dgrams++;
  p->dgramlen = len < sizeof(p->dgram) ? len : sizeof(p->dgram);
  memcpy(p->dgram, data, p->dgramlen);
  if (p->echo) {
    assert_int_equal(moqc_quic_conn_send_datagram(conn, data, len), 0);
  }
}

static void on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote,
                     void *ud, void *cud) {
  peer *p = ud;
  p->closed++;
  p->close_err = err;
  p->close_app = app;
  p->close_remote = remote;
  if (p->conn == conn) {
    p->conn = NULL;
  }
}

static const moqc_quic_callbacks callbacks = {
    .on_connection = on_connection,
    .on_stream_data = on_stream_data,
    .on_stream_reset = on_stream_reset,
    .on_stream_stop = on_stream_stop,
    .on_stream_acked = on_stream_acked,
    .on_stream_close = on_stream_close,
    .on_datagram = on_datagram,
    .on_close = on_close,
};

static void tick_cb(uv_timer_t *t) {
  (void)t;
}

static void settings_for_test(moqc_quic_settings *s) {
  moqc_quic_settings_default(s);
  s->initial_rtt = 10 * MOQC_MILLISECONDS;
}

static void env_start(env *e, const moqc_quic_settings *server_settings,
                      const moqc_quic_settings *client_settings) {
  memset(e, 0, sizeof(*e));
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &e->tick);
  uv_timer_start(&e->tick, tick_cb, 5, 5);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings ss, cs;
  if (server_settings == NULL) {
    settings_for_test(&ss);
    server_settings = &ss;
  }
  if (client_settings == NULL) {
    settings_for_test(&cs);
    client_settings = &cs;
  }
  moqc_quic_settings sss = *server_settings;
  sss.cert = g_cert;
  e->server.echo = true;
  assert_int_equal(moqc_quic_endpoint_new(&e->server.ep, &e->loop,
                                          (struct sockaddr *)&a, &sss,
                                          &callbacks, &e->server),
                   0);
  assert_int_equal(
      moqc_quic_endpoint_new(&e->client.ep, &e->loop, (struct sockaddr *)&a,
                             client_settings, &callbacks, &e->client),
      0);
  e->server_addr = a;
  e->server_addr.sin_port = htons(moqc_quic_endpoint_port(e->server.ep));
  assert_true(moqc_quic_endpoint_port(e->server.ep) != 0);
}

static void free_peer(peer *p) {
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < MAXSID; i++) {
      free(p->rx[k][i].data);
    }
  }
}

static void env_stop(env *e) {
  moqc_quic_endpoint_del(e->client.ep);
  moqc_quic_endpoint_del(e->server.ep);
  uv_close((uv_handle_t *)&e->tick, NULL);
  assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  free_peer(&e->server);
  free_peer(&e->client);
}

typedef bool (*cond_fn)(env *e, void *arg);

/* Runs the loop until cond holds or ms elapse; returns whether cond held. */
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

static void run_for(env *e, uint64_t ms) {
  uint64_t deadline = uv_hrtime() + ms * 1000000ULL;
  while (uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_ONCE);
  }
}

static bool both_connected(env *e, void *arg) {
  return e->client.connected > 0 && e->server.connected > 0;
}

static bool client_closed(env *e, void *arg) {
  return e->client.closed > 0;
}

static bool both_closed(env *e, void *arg) {
  return e->client.closed > 0 && e->server.closed > 0;
}

static moqc_quic_conn *connect_ok(env *e, const char *alpns) {
  moqc_quic_connect_params p = quic_pin_params();
  p.alpns = alpns;
  moqc_quic_conn *c = NULL;
  assert_int_equal(moqc_quic_connect(e->client.ep,
                                     (struct sockaddr *)&e->server_addr, &p,
                                     &c),
                   0);
  assert_non_null(c);
  assert_true(run_until(e, both_connected, NULL, 3000));
  assert_ptr_equal(e->client.conn, c);
  return c;
}

/* ---- tests ---- */

static bool echo_done(env *e, void *arg) {
  int64_t sid = *(int64_t *)arg;
  rxbuf *b = rx_of(&e->client, sid);
  return b->fin && e->client.dgrams > 0 && rx_of(&e->client, 3)->fin;
}

static bool echo_fin_seen(env *e, void *arg) {
  return rx_of(&e->client, *(int64_t *)arg)->fin;
}

static void test_echo_stream_datagram_close(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_conn *c = connect_ok(&e, "moq-lite-03,moq-lite-05");
  /* The server's preference order wins. */
  assert_string_equal(e.client.alpn, "moq-lite-05");
  assert_string_equal(e.server.alpn, "moq-lite-05");
  assert_string_equal(moqc_quic_conn_alpn(c), "moq-lite-05");
  assert_false(moqc_quic_conn_is_server(c));
  assert_true(moqc_quic_conn_is_server(e.server.conn));
  char sni[64];
  assert_true(moqc_quic_conn_server_name(e.server.conn, sni, sizeof(sni)));
  assert_string_equal(sni, "localhost");
  assert_false(moqc_quic_conn_server_name(c, sni, sizeof(sni)));
  struct sockaddr_storage ra;
  size_t ralen = 0;
  moqc_quic_conn_remote_addr(e.server.conn, &ra, &ralen);
  assert_int_equal(ralen, sizeof(struct sockaddr_in));
  assert_int_equal(((struct sockaddr_in *)&ra)->sin_port,
                   htons(moqc_quic_endpoint_port(e.client.ep)));
  moqc_quic_conn_remote_addr(c, &ra, &ralen);
  assert_int_equal(((struct sockaddr_in *)&ra)->sin_port,
                   e.server_addr.sin_port);

  int64_t sid;
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
  assert_int_equal(sid, 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, sid, (const uint8_t *)"hello ", 6, false),
      0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, sid, (const uint8_t *)"world", 5, true), 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, sid, (const uint8_t *)"x", 1, false),
      MOQC_ERR_CLOSED);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, 99, (const uint8_t *)"x", 1, false),
      MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_quic_conn_send_datagram(c, (const uint8_t *)"ping", 4),
                   0);
  /* The server opens a uni stream to the client (id 3). */
  int64_t usid;
  assert_int_equal(moqc_quic_conn_open_stream(e.server.conn, true, &usid), 0);
  assert_int_equal(usid, 3);
  assert_int_equal(moqc_quic_conn_write_copy(e.server.conn, usid,
                                             (const uint8_t *)"uni", 3, true),
                   0);
  assert_true(run_until(&e, echo_done, &sid, 3000));
  rxbuf *b = rx_of(&e.client, sid);
  assert_int_equal(b->len, 11);
  assert_memory_equal(b->data, "hello world", 11);
  assert_int_equal(e.server.dgrams, 1);
  assert_int_equal(e.client.dgramlen, 4);
  assert_memory_equal(e.client.dgram, "ping", 4);
  assert_int_equal(rx_of(&e.client, 3)->len, 3);
  assert_memory_equal(rx_of(&e.client, 3)->data, "uni", 3);
  /* The client may not write on the server's uni stream. */
  assert_int_equal(
      moqc_quic_conn_write_copy(c, 3, (const uint8_t *)"x", 1, false),
      MOQC_ERR_NOT_FOUND);

  moqc_quic_conn_stats st;
  moqc_quic_conn_get_stats(c, &st);
  assert_true(st.packets_sent > 0 && st.packets_received > 0);
  assert_true(st.bytes_sent >= st.packets_sent * 20);
  assert_true(st.bytes_received >= st.packets_received * 20);
  assert_true(st.smoothed_rtt > 0);

  moqc_quic_conn_close(c, 42, "bye");
  assert_true(run_until(&e, both_closed, NULL, 3000));
  assert_int_equal(e.client.close_err, 0);
  assert_int_equal(e.client.close_app, 42);
  assert_false(e.client.close_remote);
  assert_int_equal(e.server.close_err, 0);
  assert_int_equal(e.server.close_app, 42);
  assert_true(e.server.close_remote);
  env_stop(&e);
}

#define NSTREAMS 300

static bool many_done(env *e, void *arg) {
  for (int i = 0; i < NSTREAMS; i++) {
    if (!e->client.rx[0][i].fin) {
      return false;
    }
  }
  return true;
}

static void test_many_streams(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  assert_string_equal(e.client.alpn, "moq-lite-05");
  for (int i = 0; i < NSTREAMS; i++) {
    int64_t sid;
    assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
    assert_int_equal(sid, 4 * i);
    size_t len = (size_t)(i * 37 % 5000) + 1;
    uint8_t *buf = malloc(len);
    for (size_t k = 0; k < len; k++) {
      buf[k] = (uint8_t)(i + k);
    }
    assert_int_equal(moqc_quic_conn_write_copy(c, sid, buf, len, true), 0);
    free(buf);
  }
  assert_true(run_until(&e, many_done, NULL, 5000));
  for (int i = 0; i < NSTREAMS; i++) {
    size_t len = (size_t)(i * 37 % 5000) + 1;
    rxbuf *b = &e.client.rx[0][i];
    assert_int_equal(b->len, len);
    for (size_t k = 0; k < len; k++) {
      assert_int_equal(b->data[k], (uint8_t)(i + k));
    }
  }
  /* Streams closed on both sides once both FINs were acknowledged. */
  run_for(&e, 50);
  assert_true(e.client.stream_closes >= NSTREAMS - 1);
  env_stop(&e);
}

typedef struct bulk {
  size_t total;
  moqc_rcbuf *first;
} bulk;

static bool bulk_done(env *e, void *arg) {
  bulk *b = arg;
  return e->server.verify_fin && e->client.acked == b->total;
}

/* Sends total bytes of pattern() on one uni stream in rcbufs of chunk bytes;
 * the server checks them. */
static void bulk_transfer(env *e, size_t total, size_t chunk, uint64_t ms) {
  moqc_quic_conn *c = connect_ok(e, NULL);
  e->server.verify = true;
  int64_t sid;
  assert_int_equal(moqc_quic_conn_open_stream(c, true, &sid), 0);
  bulk b = {total, NULL};
  for (size_t off = 0; off < total; off += chunk) {
    size_t n = total - off < chunk ? total - off : chunk;
    moqc_rcbuf *buf;
    /* Write each buffer with an offset of 16 bytes to exercise ranges. */
    assert_int_equal(moqc_rcbuf_new(&buf, n + 16, NULL), 0);
    uint8_t *d = moqc_rcbuf_data_mut(buf);
    for (size_t k = 0; k < n; k++) {
      d[16 + k] = pattern(off + k);
    }
    assert_int_equal(moqc_quic_conn_write(c, sid, buf, 16, n, off + n == total),
                     0);
    if (off == 0) {
      b.first = buf; /* keep our reference to watch the library drop its own */
      assert_int_equal(moqc_rcbuf_refcount(buf), 2);
    } else {
      moqc_rcbuf_decref(buf);
    }
  }
  assert_int_equal(moqc_quic_conn_stream_unacked(c, sid), total);
  assert_int_equal(moqc_quic_conn_write(c, sid, b.first, 0, 1 << 21, false),
                   MOQC_ERR_CLOSED); /* FIN queued */
  assert_true(run_until(e, bulk_done, &b, ms));
  /* Paced bursts: deadlines under a millisecond away were served by the
   * endpoint's next-iteration pass, not by zero timers of the connection. */
  assert_true(moqc__quic_conn_timer_soon(c) > 0);
  assert_false(e->server.verify_failed);
  assert_int_equal(e->server.verified, total);
  assert_int_equal(moqc_quic_conn_stream_unacked(c, sid), 0);
  /* Acknowledged: the library released its reference. */
  assert_int_equal(moqc_rcbuf_refcount(b.first), 1);
  moqc_rcbuf_decref(b.first);
}

static void test_large_transfer(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  bulk_transfer(&e, 24u << 20, 1u << 20, 10000);
  env_stop(&e);
}

/* The same with UDP segmentation offloads off on both sides (plain
 * sendmmsg/recvmmsg). */
static void test_transfer_without_offloads(void **state) {
  moqc_quic_settings s;
  settings_for_test(&s);
  s.no_gso = true;
  env e;
  env_start(&e, &s, &s);
  bulk_transfer(&e, 6u << 20, 1u << 20, 10000);
  env_stop(&e);
}

typedef struct lossy {
  uint32_t rng;
  unsigned drops, delays, passes;
} lossy;

static int lossy_filter(void *ud, const uint8_t *pkt, size_t len) {
  lossy *l = ud;
  l->rng = l->rng * 1103515245u + 12345u;
  unsigned r = (l->rng >> 16) % 100;
  if (r < 3) {
    l->drops++;
    return MOQC__QUIC_FILTER_DROP;
  }
  if (r < 8) {
    l->delays++;
    return MOQC__QUIC_FILTER_DELAY;
  }
  l->passes++;
  return MOQC__QUIC_FILTER_PASS;
}

static void test_loss_and_reordering(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  lossy ls = {1, 0, 0, 0}, lc = {7, 0, 0, 0};
  moqc__quic_endpoint_set_send_filter(e.server.ep, lossy_filter, &ls);
  moqc__quic_endpoint_set_send_filter(e.client.ep, lossy_filter, &lc);
  /* Small buffers: packets carry several ranges, retransmissions split them. */
  bulk_transfer(&e, 4u << 20, 1000, 15000);
  /* The filter really dropped and reordered packets both ways. */
  assert_true(lc.drops > 10 && lc.delays > 10);
  assert_true(ls.drops > 0 && ls.delays > 0);
  env_stop(&e);
}

static bool server_got_256k(env *e, void *arg) {
  return rx_of(&e->server, *(int64_t *)arg)->len >= 256 * 1024;
}

/* Drops every third datagram. */
static int drop_third(void *ud, const uint8_t *pkt, size_t len) {
  unsigned *n = ud;
  return ++*n % 3 == 0 ? MOQC__QUIC_FILTER_DROP : MOQC__QUIC_FILTER_PASS;
}

static bool server_saw_reset(env *e, void *arg) {
  return rx_of(&e->server, *(int64_t *)arg)->was_reset;
}

/*
 * A stream reset while much of its data is in flight on a lossy link: ngtcp2
 * 0.12 still retransmits a reset stream's lost data until its RESET_STREAM is
 * acknowledged, reading the buffers it was given. The endpoint must keep what
 * it sent until then (ASan catches a read of released chunks); the reset still
 * arrives and the connection carries on.
 */
static void test_reset_with_data_in_flight(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  e.server.echo = false;
  unsigned sent = 0;
  moqc__quic_endpoint_set_send_filter(e.client.ep, drop_third, &sent);
  int64_t sid;
  assert_int_equal(moqc_quic_conn_open_stream(c, true, &sid), 0);
  uint8_t *buf = malloc(4096);
  for (size_t i = 0; i < 4096; i++) {
    buf[i] = pattern(i);
  }
  /* 2 MiB in 4 KiB copies: the endpoint owns every chunk. */
  for (int i = 0; i < 512; i++) {
    assert_int_equal(moqc_quic_conn_write_copy(c, sid, buf, 4096, false), 0);
  }
  free(buf);
  assert_true(run_until(&e, server_got_256k, &sid, 5000));
  assert_int_equal(moqc_quic_conn_reset_stream(c, sid, 5), 0);
  assert_true(run_until(&e, server_saw_reset, &sid, 3000));
  assert_int_equal(rx_of(&e.server, sid)->reset_code, 5);
  run_for(&e, 300); /* retransmissions and the RESET_STREAM's acknowledgement */
  assert_true(sent > 0);
  assert_int_equal(e.client.closed, 0);
  env_stop(&e);
}

static void test_unknown_alpn_refused(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_connect_params p = quic_pin_params();
  p.alpns = "not-moq,also-not";
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(&e, client_closed, NULL, 3000));
  assert_int_equal(e.client.close_err, MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(e.client.connected, 0);
  run_for(&e, 20);
  assert_int_equal(e.server.connected, 0);
  assert_int_equal(e.server.closed, 0);
  env_stop(&e);
}

static void test_pin_mismatch(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  uint8_t wrong[1][32];
  memcpy(wrong[0], moqc_tls_cert_fingerprint(g_cert), 32);
  wrong[0][0] ^= 0x80;
  moqc_quic_connect_params p = quic_pin_params();
  p.verify.pins = (const uint8_t(*)[32])wrong;
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(&e, client_closed, NULL, 3000));
  assert_int_equal(e.client.close_err, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(e.client.connected, 0);
  run_for(&e, 20);
  assert_int_equal(e.server.connected, 0);
  env_stop(&e);
}

/* A pin matches only a certificate that is valid now: an expired one is refused like a wrong
 * pin, as browsers refuse it for serverCertificateHashes. */
static void test_pin_expired_certificate(void **state) {
  moqc_tls_cert *expired, *saved = g_cert;
  env e;
  /* Valid for one day, thirty days ago. */
  assert_int_equal(moqc_tls_cert_generate(&expired, NULL, 0,
                                          (int64_t)time(NULL) - 30 * 86400,
                                          86400, NULL),
                   0);
  g_cert = expired;
  env_start(&e, NULL, NULL);
  moqc_quic_connect_params p = quic_pin_params();
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(&e, client_closed, NULL, 3000));
  assert_int_equal(e.client.close_err, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(e.client.connected, 0);
  env_stop(&e);
  g_cert = saved;
  moqc_tls_cert_del(expired);
}

static void test_ca_file_verification(void **state) {
  char cpem[4096];
  moqc_ssize n = moqc_tls_cert_export_pem(g_cert, false, cpem, sizeof(cpem));
  assert_true(n > 0);
  char path[] = "/tmp/moqc_quic_ca_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, cpem, (size_t)n), n);
  close(fd);

  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_connect_params p;
  memset(&p, 0, sizeof(p));
  p.server_name = "localhost";
  p.verify.mode = MOQC_TLS_VERIFY_CA_FILE;
  p.verify.ca_file = path;
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(&e, both_connected, NULL, 3000));
  env_stop(&e);

  /* The right root but the wrong name. */
  env_start(&e, NULL, NULL);
  p.server_name = "other.example";
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(&e, client_closed, NULL, 3000));
  assert_int_equal(e.client.close_err, MOQC_ERR_UNAUTHORIZED);
  env_stop(&e);
  unlink(path);

  /* The system roots do not trust a self-signed certificate. */
  env_start(&e, NULL, NULL);
  p.verify.mode = MOQC_TLS_VERIFY_SYSTEM;
  p.verify.ca_file = NULL;
  p.server_name = "localhost";
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   0);
  assert_true(run_until(&e, client_closed, NULL, 3000));
  assert_int_equal(e.client.close_err, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(e.server.connected, 0);
  env_stop(&e);

  /* A CA file that does not exist fails at once, without a callback. */
  p.verify.mode = MOQC_TLS_VERIFY_CA_FILE;
  env_start(&e, NULL, NULL);
  p.verify.ca_file = "/nonexistent/ca.pem";
  assert_int_equal(moqc_quic_connect(e.client.ep,
                                     (struct sockaddr *)&e.server_addr, &p,
                                     NULL),
                   MOQC_ERR_IO);
  assert_int_equal(moqc_quic_endpoint_conn_count(e.client.ep), 0);
  env_stop(&e);
}

static void test_idle_timeout(void **state) {
  moqc_quic_settings s;
  settings_for_test(&s);
  s.idle_timeout = 300 * MOQC_MILLISECONDS;
  env e;
  env_start(&e, &s, &s);
  connect_ok(&e, NULL);
  uint64_t t0 = uv_hrtime();
  assert_true(run_until(&e, both_closed, NULL, 3000));
  uint64_t took = (uv_hrtime() - t0) / 1000000ULL;
  assert_true(took >= 250);
  assert_int_equal(e.client.close_err, MOQC_ERR_TIMEOUT);
  assert_int_equal(e.server.close_err, MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_quic_endpoint_conn_count(e.client.ep), 0);
  assert_int_equal(moqc_quic_endpoint_conn_count(e.server.ep), 0);
  env_stop(&e);

  /* With keep-alive on the client, the connection outlives the idle timeout. */
  moqc_quic_settings k = s;
  k.keep_alive = 100 * MOQC_MILLISECONDS;
  env_start(&e, &s, &k);
  connect_ok(&e, NULL);
  run_for(&e, 900);
  assert_int_equal(e.client.closed, 0);
  assert_int_equal(e.server.closed, 0);
  env_stop(&e);
}

/* The connection timer is started again only when the deadline moves earlier:
 * write passes that leave ngtcp2's expiry where it was do not touch libuv's
 * timer heap, and the connection still times out on time. */
static void test_timer_not_rearmed(void **state) {
  (void)state;
  moqc_quic_settings s;
  settings_for_test(&s);
  s.idle_timeout = 400 * MOQC_MILLISECONDS;
  env e;
  env_start(&e, &s, &s);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  run_for(&e, 60); /* handshake acknowledged, nothing left to send */
  assert_int_equal(e.client.closed, 0);
  moqc__quic_conn_write_pass(c);
  uint64_t starts = moqc__quic_conn_timer_starts(c);
  assert_true(starts > 0);
  for (int i = 0; i < 1000; i++) {
    moqc__quic_conn_write_pass(c);
  }
  assert_int_equal(moqc__quic_conn_timer_starts(c), starts);
  /* A stream write moves the deadline earlier (pacing, then loss detection):
   * the next-iteration pass serves the pacing time, then the timer is started
   * again for the loss-detection deadline. */
  int64_t sid;
  uint64_t soon = moqc__quic_conn_timer_soon(c);
  assert_int_equal(moqc_quic_conn_open_stream(c, true, &sid), 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, sid, (const uint8_t *)"abc", 3, true), 0);
  moqc__quic_conn_write_pass(c);
  run_for(&e, 20);
  assert_true(moqc__quic_conn_timer_soon(c) > soon);
  assert_true(moqc__quic_conn_timer_starts(c) > starts);
  /* Idle expiry still closes both sides, a little after 400 ms. */
  uint64_t t0 = uv_hrtime();
  assert_true(run_until(&e, both_closed, NULL, 3000));
  uint64_t took = (uv_hrtime() - t0) / 1000000ULL;
  assert_true(took >= 300);
  assert_int_equal(e.client.close_err, MOQC_ERR_TIMEOUT);
  assert_int_equal(e.server.close_err, MOQC_ERR_TIMEOUT);
  env_stop(&e);
}

/* Echoes len bytes on a new bidi stream of c and waits for them to come back. */
static void echo_roundtrip(env *e, moqc_quic_conn *c, size_t len) {
  int64_t sid;
  uint8_t buf[2000];
  assert_true(len <= sizeof(buf));
  for (size_t i = 0; i < len; i++) {
    buf[i] = (uint8_t)(i * 7 + 1);
  }
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
  assert_int_equal(moqc_quic_conn_write_copy(c, sid, buf, len, true), 0);
  assert_true(run_until(e, echo_fin_seen, &sid, 3000));
  rxbuf *b = rx_of(&e->client, sid);
  assert_int_equal(b->len, len);
  assert_memory_equal(b->data, buf, len);
}

/* Retries a key update of c until ngtcp2 allows one (the previous one must be
 * confirmed first). */
static void key_update(env *e, moqc_quic_conn *c) {
  int rv = -1;
  for (int i = 0; i < 100 && rv != 0; i++) {
    rv = moqc__quic_conn_initiate_key_update(c);
    if (rv != 0) {
      run_for(e, 10);
    }
  }
  assert_int_equal(rv, 0);
}

/* A server releases its GnuTLS session once the handshake has completed:
 * streams, key updates started by either side and the SNI still work; a client
 * keeps its session. */
static void test_tls_released_after_handshake(void **state) {
  (void)state;
  env e;
  env_start(&e, NULL, NULL);
  e.server.echo = true;
  moqc_quic_conn *c = connect_ok(&e, NULL);
  run_for(&e, 30);
  moqc__quic_mem_stats st;
  moqc__quic_conn_mem_stats(e.server.conn, &st);
  assert_false(st.has_tls);
  moqc__quic_conn_mem_stats(c, &st);
  assert_true(st.has_tls);
  char sni[64];
  assert_true(moqc_quic_conn_server_name(e.server.conn, sni, sizeof(sni)));
  assert_string_equal(sni, "localhost");
  char small[4];
  assert_true(moqc_quic_conn_server_name(e.server.conn, small, sizeof(small)));
  assert_string_equal(small, "loc");
  echo_roundtrip(&e, c, 1500);
  /* Key updates from the client, then from the server, then the client again:
   * the new keys come from ngtcp2's derivation, not from the session. */
  key_update(&e, c);
  echo_roundtrip(&e, c, 1200);
  key_update(&e, e.server.conn);
  echo_roundtrip(&e, c, 900);
  key_update(&e, c);
  echo_roundtrip(&e, c, 300);
  /* Each update went to keys made ready only then (quic_keys.c): three
   * updates, a context each way on both sides. */
  moqc__quic_conn_mem_stats(e.server.conn, &st);
  assert_true(st.keys_built >= 6);
  moqc__quic_conn_mem_stats(c, &st);
  assert_true(st.keys_built >= 6);
  assert_int_equal(e.client.closed, 0);
  assert_int_equal(e.server.closed, 0);
  env_stop(&e);
}

/* After the server released its session, CRYPTO data from the client (which a
 * QUIC client never has to send: no KeyUpdate messages, no client certificate)
 * closes the connection with unexpected_message instead of reaching a freed
 * session. */
static void test_post_handshake_crypto_refused(void **state) {
  (void)state;
  static const uint8_t key_update_msg[] = {24, 0, 0, 1, 0}; /* TLS KeyUpdate */
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  run_for(&e, 30);
  moqc__quic_mem_stats st;
  moqc__quic_conn_mem_stats(e.server.conn, &st);
  assert_false(st.has_tls);
  assert_int_equal(
      moqc__quic_conn_submit_crypto(c, key_update_msg, sizeof(key_update_msg)),
      0);
  assert_true(run_until(&e, both_closed, NULL, 3000));
  assert_int_equal(e.server.close_err, MOQC_ERR_TRANSPORT);
  assert_false(e.server.close_remote);
  assert_int_equal(e.client.close_err, MOQC_ERR_TRANSPORT);
  assert_true(e.client.close_remote);
  env_stop(&e);
}

static bool reset_seen(env *e, void *arg) {
  return e->server.resets > 0 && e->client.stops > 0;
}

static void test_reset_and_stop(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  e.server.echo = false;
  int64_t a, b;
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &a), 0);
  assert_int_equal(moqc_quic_conn_open_stream(c, true, &b), 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, a, (const uint8_t *)"abc", 3, false), 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, b, (const uint8_t *)"def", 3, false), 0);
  assert_true(run_until(&e, both_connected, NULL, 100));
  run_for(&e, 30);
  assert_int_equal(rx_of(&e.server, b)->len, 3);
  /* Client resets a; server asks the client to stop sending on b. */
  assert_int_equal(moqc_quic_conn_reset_stream(c, a, 7), 0);
  assert_int_equal(moqc_quic_conn_stop_stream(e.server.conn, b, 9), 0);
  assert_int_equal(moqc_quic_conn_stop_stream(e.server.conn, 1000, 9),
                   MOQC_ERR_NOT_FOUND);
  assert_true(run_until(&e, reset_seen, NULL, 3000));
  assert_true(rx_of(&e.server, a)->was_reset);
  assert_int_equal(rx_of(&e.server, a)->reset_code, 7);
  assert_int_equal(e.client.stop_code, 9);
  /* ngtcp2 answered the STOP_SENDING with a RESET_STREAM carrying the same
   * code. */
  run_for(&e, 30);
  assert_true(rx_of(&e.server, b)->was_reset);
  assert_int_equal(rx_of(&e.server, b)->reset_code, 9);
  /* b's sending side is gone: writing fails. */
  assert_true(moqc_quic_conn_write_copy(c, b, (const uint8_t *)"x", 1, false) <
              0);
  assert_true(moqc_quic_conn_write_copy(c, a, (const uint8_t *)"x", 1, false) <
              0);
  env_stop(&e);
}

/* The server allows 8 bidi streams at once; 60 sequential-ish streams need
 * renewed credit. */
static void test_stream_limit_renewal(void **state) {
  moqc_quic_settings ss;
  settings_for_test(&ss);
  ss.max_streams_bidi = 8;
  env e;
  env_start(&e, &ss, NULL);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  int opened = 0, blocked = 0;
  uint64_t deadline = uv_hrtime() + 4000000000ULL;
  while (uv_hrtime() < deadline) {
    while (opened < 60) {
      int64_t sid;
      int rv = moqc_quic_conn_open_stream(c, false, &sid);
      if (rv == MOQC_ERR_WOULD_BLOCK) {
        blocked++;
        break;
      }
      assert_int_equal(rv, 0);
      uint8_t b = (uint8_t)opened;
      assert_int_equal(moqc_quic_conn_write_copy(c, sid, &b, 1, true), 0);
      opened++;
    }
    int fins = 0;
    for (int i = 0; i < 60; i++) {
      fins += e.client.rx[0][i].fin;
    }
    if (fins == 60) {
      break;
    }
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  assert_int_equal(opened, 60);
  assert_true(blocked > 0); /* the limit was really hit */
  for (int i = 0; i < 60; i++) {
    assert_true(e.client.rx[0][i].fin);
    assert_int_equal(e.client.rx[0][i].len, 1);
    assert_int_equal(e.client.rx[0][i].data[0], i);
  }
  env_stop(&e);
}

/* Raw datagrams to the server: an unknown version gets Version Negotiation, a
 * short header for an unknown connection gets a stateless reset, garbage gets
 * nothing. */
static bool raw_roundtrip(env *e, int fd, const uint8_t *pkt, size_t len,
                          uint8_t *out, ssize_t *outlen) {
  assert_int_equal(sendto(fd, pkt, len, 0, (struct sockaddr *)&e->server_addr,
                          sizeof(e->server_addr)),
                   (ssize_t)len);
  uint64_t deadline = uv_hrtime() + 300000000ULL;
  while (uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_NOWAIT);
    *outlen = recv(fd, out, 2048, MSG_DONTWAIT);
    if (*outlen > 0) {
      return true;
    }
    usleep(1000);
  }
  return false;
}

static void test_stateless_replies(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  uint8_t pkt[1200], out[2048];
  ssize_t n = 0;
  /* Long header, version 0x1a2a3a4a, DCID 8 bytes, SCID 8 bytes, padded to
   * 1200. */
  memset(pkt, 0, sizeof(pkt));
  pkt[0] = 0xc0;
  pkt[1] = 0x1a, pkt[2] = 0x2a, pkt[3] = 0x3a, pkt[4] = 0x4a;
  pkt[5] = 8;
  memset(pkt + 6, 0x11, 8);
  pkt[14] = 8;
  memset(pkt + 15, 0x22, 8);
  assert_true(raw_roundtrip(&e, fd, pkt, sizeof(pkt), out, &n));
  assert_true(n >= 7 + 16 + 4);
  assert_true((out[0] & 0x80) != 0);
  assert_int_equal(out[1] | out[2] | out[3] | out[4], 0); /* version 0: VN */
  assert_int_equal(out[5], 8);
  assert_memory_equal(out + 6, pkt + 15, 8); /* DCID = our SCID */
  bool v1 = false;
  for (ssize_t i = 7 + 16; i + 4 <= n; i += 4) {
    v1 = v1 ||
         (out[i] == 0 && out[i + 1] == 0 && out[i + 2] == 0 && out[i + 3] == 1);
  }
  assert_true(v1);

  /* Short header to an unknown 16-byte connection id: a smaller stateless
   * reset. */
  memset(pkt, 0x5a, 100);
  pkt[0] = 0x41;
  assert_true(raw_roundtrip(&e, fd, pkt, 100, out, &n));
  assert_true(n >= 41 && n < 100);
  assert_int_equal(out[0] & 0xc0, 0x40);

  /* A tiny garbage datagram gets no answer and changes nothing. */
  assert_false(raw_roundtrip(&e, fd, (const uint8_t *)"xx", 2, out, &n));
  assert_int_equal(moqc_quic_endpoint_conn_count(e.server.ep), 0);
  close(fd);
  env_stop(&e);
}

static void test_handshake_timeout(void **state) {
  moqc_quic_settings s;
  settings_for_test(&s);
  s.handshake_timeout = 300 * MOQC_MILLISECONDS;
  env e;
  env_start(&e, NULL, &s);
  /* A port where nobody answers. */
  struct sockaddr_in nowhere = e.server_addr;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t alen = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &alen);
  nowhere.sin_port = a.sin_port;
  moqc_quic_connect_params p = quic_pin_params();
  assert_int_equal(
      moqc_quic_connect(e.client.ep, (struct sockaddr *)&nowhere, &p, NULL), 0);
  uint64_t t0 = uv_hrtime();
  assert_true(run_until(&e, client_closed, NULL, 3000));
  assert_true((uv_hrtime() - t0) / 1000000ULL >= 250);
  assert_int_equal(e.client.close_err, MOQC_ERR_TIMEOUT);
  assert_int_equal(e.client.connected, 0);
  close(fd);
  env_stop(&e);
}

/* IPv6 on ::1, and a dual-stack server on [::] reached by an IPv4 client. */
static void test_ipv6(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  peer *srv = calloc(1, sizeof(peer)), *cli = calloc(1, sizeof(peer)),
       *cli4 = calloc(1, sizeof(peer));
  srv->echo = true;
  struct sockaddr_in6 a6;
  memset(&a6, 0, sizeof(a6));
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_any;
  moqc_quic_settings s;
  settings_for_test(&s);
  moqc_quic_settings ss = s;
  ss.cert = g_cert;
  if (moqc_quic_endpoint_new(&srv->ep, &loop, (struct sockaddr *)&a6, &ss,
                             &callbacks, srv) != 0) {
    free(srv), free(cli), free(cli4);
    uv_loop_close(&loop);
    skip();
  }
  struct sockaddr_in6 lo6 = a6;
  lo6.sin6_addr = in6addr_loopback;
  assert_int_equal(moqc_quic_endpoint_new(&cli->ep, &loop,
                                          (struct sockaddr *)&lo6, &s,
                                          &callbacks, cli),
                   0);
  struct sockaddr_in a4;
  memset(&a4, 0, sizeof(a4));
  a4.sin_family = AF_INET;
  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_quic_endpoint_new(&cli4->ep, &loop,
                                          (struct sockaddr *)&a4, &s,
                                          &callbacks, cli4),
                   0);
  struct sockaddr_in6 dst6 = lo6;
  dst6.sin6_port = htons(moqc_quic_endpoint_port(srv->ep));
  struct sockaddr_in dst4 = a4;
  dst4.sin_port = dst6.sin6_port;
  moqc_quic_connect_params p = quic_pin_params();
  /* Families must match the endpoint's. */
  assert_int_equal(
      moqc_quic_connect(cli->ep, (struct sockaddr *)&dst4, &p, NULL),
      MOQC_ERR_INVALID_ARGUMENT);
  p.server_name = "::1";
  assert_int_equal(
      moqc_quic_connect(cli->ep, (struct sockaddr *)&dst6, &p, NULL), 0);
  p.server_name = "127.0.0.1";
  assert_int_equal(
      moqc_quic_connect(cli4->ep, (struct sockaddr *)&dst4, &p, NULL), 0);
  uint64_t deadline = uv_hrtime() + 3000000000ULL;
  int64_t sid6 = -1, sid4 = -1;
  while (uv_hrtime() < deadline && !(sid6 >= 0 && rx_of(cli, sid6)->fin &&
                                     sid4 >= 0 && rx_of(cli4, sid4)->fin)) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (sid6 < 0 && cli->conn != NULL) {
      assert_int_equal(moqc_quic_conn_open_stream(cli->conn, false, &sid6), 0);
      assert_int_equal(moqc_quic_conn_write_copy(
                           cli->conn, sid6, (const uint8_t *)"six", 3, true),
                       0);
    }
    if (sid4 < 0 && cli4->conn != NULL) {
      assert_int_equal(moqc_quic_conn_open_stream(cli4->conn, false, &sid4), 0);
      assert_int_equal(moqc_quic_conn_write_copy(
                           cli4->conn, sid4, (const uint8_t *)"four", 4, true),
                       0);
    }
    usleep(200);
  }
  assert_true(sid6 >= 0 && sid4 >= 0);
  assert_memory_equal(rx_of(cli, sid6)->data, "six", 3);
  assert_memory_equal(rx_of(cli4, sid4)->data, "four", 4);
  assert_int_equal(srv->connected, 2);
  moqc_quic_endpoint_del(cli->ep);
  moqc_quic_endpoint_del(cli4->ep);
  moqc_quic_endpoint_del(srv->ep);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  free_peer(srv), free_peer(cli), free_peer(cli4);
  free(srv), free(cli), free(cli4);
}

static int count_retry(void *ud, const uint8_t *pkt, size_t len) {
  /* A QUIC v1 Retry: long header, type 3. */
  if (len > 0 && (pkt[0] & 0xf0) == 0xf0) {
    (*(int *)ud)++;
  }
  return MOQC__QUIC_FILTER_PASS;
}

/* With settings.retry the server answers the first Initial with a Retry; the
 * client follows it and the connection works. */
static void test_retry(void **state) {
  moqc_quic_settings s;
  settings_for_test(&s);
  s.retry = true;
  env e;
  env_start(&e, &s, NULL);
  int retries = 0;
  moqc__quic_endpoint_set_send_filter(e.server.ep, count_retry, &retries);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  assert_int_equal(retries, 1);
  int64_t sid;
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, sid, (const uint8_t *)"retry", 5, true), 0);
  assert_true(run_until(&e, echo_fin_seen, &sid, 3000));
  assert_memory_equal(rx_of(&e.client, sid)->data, "retry", 5);

  /* Raw Initials: without a token the answer is a Retry; a forged token gets
   * nothing. */
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  uint8_t pkt[1200], out[2048];
  ssize_t n;
  size_t off = 0;
  memset(pkt, 0, sizeof(pkt));
  pkt[off++] = 0xc0;
  pkt[off++] = 0, pkt[off++] = 0, pkt[off++] = 0, pkt[off++] = 1;
  pkt[off++] = 8;
  memset(pkt + off, 0x31, 8), off += 8;
  pkt[off++] = 8;
  memset(pkt + off, 0x32, 8), off += 8;
  size_t token_at = off;
  pkt[off++] = 0; /* no token */
  size_t plen =
      1200 - (off + 2); /* the Length field (2-byte varint), then the payload */
  pkt[off] = (uint8_t)(0x40 | (plen >> 8));
  pkt[off + 1] = (uint8_t)(plen & 0xff);
  assert_true(raw_roundtrip(&e, fd, pkt, sizeof(pkt), out, &n));
  assert_int_equal(out[0] & 0xf0, 0xf0);
  assert_memory_equal(out + 6, pkt + 15, 8); /* to the client's SCID */
  size_t before = moqc_quic_endpoint_conn_count(e.server.ep);
  /* The same Initial with a 32-byte token that looks like ours but is not. */
  memmove(pkt + token_at + 33, pkt + token_at + 1, 1200 - token_at - 33);
  pkt[token_at] = 32;
  pkt[token_at + 1] = 0xb6;
  memset(pkt + token_at + 2, 0x77, 31);
  pkt[token_at + 33] = 0x40 | (uint8_t)((1200 - token_at - 35) >> 8);
  pkt[token_at + 34] = (uint8_t)((1200 - token_at - 35) & 0xff);
  assert_false(raw_roundtrip(&e, fd, pkt, sizeof(pkt), out, &n));
  assert_int_equal(moqc_quic_endpoint_conn_count(e.server.ep), before);
  close(fd);
  env_stop(&e);
}

static void test_reuse_port(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings s;
  settings_for_test(&s);
  s.cert = g_cert;
  s.reuse_port = true;
  moqc_quic_endpoint *e1, *e2, *e3;
  assert_int_equal(moqc_quic_endpoint_new(&e1, &loop, (struct sockaddr *)&a, &s,
                                          &callbacks, NULL),
                   0);
  a.sin_port = htons(moqc_quic_endpoint_port(e1));
  assert_int_equal(moqc_quic_endpoint_new(&e2, &loop, (struct sockaddr *)&a, &s,
                                          &callbacks, NULL),
                   0);
  assert_int_equal(moqc_quic_endpoint_port(e2), moqc_quic_endpoint_port(e1));
  /* Without the option the port is taken. */
  s.reuse_port = false;
  assert_int_equal(moqc_quic_endpoint_new(&e3, &loop, (struct sockaddr *)&a, &s,
                                          &callbacks, NULL),
                   MOQC_ERR_IO);
  moqc_quic_endpoint_del(e1);
  moqc_quic_endpoint_del(e2);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* A server bound to 0.0.0.0 answers from the address the client used (127.0.0.2
 * here, while the kernel's own choice towards 127.0.0.1 would be 127.0.0.1). */
static void test_wildcard_bind_source_address(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  peer *srv = calloc(1, sizeof(peer)), *cli = calloc(1, sizeof(peer));
  srv->echo = true;
  struct sockaddr_in any;
  memset(&any, 0, sizeof(any));
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  moqc_quic_settings s;
  settings_for_test(&s);
  moqc_quic_settings ss = s;
  ss.cert = g_cert;
  assert_int_equal(moqc_quic_endpoint_new(&srv->ep, &loop,
                                          (struct sockaddr *)&any, &ss,
                                          &callbacks, srv),
                   0);
  struct sockaddr_in lo = any;
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(moqc_quic_endpoint_new(&cli->ep, &loop,
                                          (struct sockaddr *)&lo, &s,
                                          &callbacks, cli),
                   0);
  struct sockaddr_in dst = lo;
  dst.sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2 */
  dst.sin_port = htons(moqc_quic_endpoint_port(srv->ep));
  moqc_quic_connect_params p = quic_pin_params();
  assert_int_equal(
      moqc_quic_connect(cli->ep, (struct sockaddr *)&dst, &p, NULL), 0);
  uint64_t deadline = uv_hrtime() + 3000000000ULL;
  int64_t sid = -1;
  while (uv_hrtime() < deadline && !(sid >= 0 && rx_of(cli, sid)->fin)) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (sid < 0 && cli->conn != NULL) {
      assert_int_equal(moqc_quic_conn_open_stream(cli->conn, false, &sid), 0);
      assert_int_equal(moqc_quic_conn_write_copy(
                           cli->conn, sid, (const uint8_t *)"src", 3, true),
                       0);
    }
    usleep(200);
  }
  assert_true(cli->connected == 1);
  assert_true(sid >= 0 && rx_of(cli, sid)->fin);
  moqc_quic_endpoint_del(cli->ep);
  moqc_quic_endpoint_del(srv->ep);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  free_peer(srv), free_peer(cli);
  free(srv), free(cli);
}

/* Argument and state errors of the stream API. */
static void test_api_errors(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  moqc_quic_connect_params p = quic_pin_params();
  moqc_quic_conn *c = NULL;
  assert_int_equal(
      moqc_quic_connect(e.client.ep, (struct sockaddr *)&e.server_addr, &p, &c),
      0);
  int64_t sid;
  /* Before the handshake. */
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_quic_conn_send_datagram(c, (const uint8_t *)"x", 1),
                   MOQC_ERR_PENDING);
  assert_string_equal(moqc_quic_conn_alpn(c), "");
  assert_true(run_until(&e, both_connected, NULL, 3000));
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
  moqc_rcbuf *buf;
  assert_int_equal(
      moqc_rcbuf_new_copy(&buf, (const uint8_t *)"abcdef", 6, NULL), 0);
  /* Ranges outside the buffer. */
  assert_int_equal(moqc_quic_conn_write(c, sid, buf, 4, 3, false),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc_quic_conn_write(c, sid, buf, 7, 0, false), 0);
  assert_int_equal(moqc_quic_conn_write(c, sid, NULL, 0, 1, false),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc_rcbuf_refcount(buf), 1); /* nothing kept */
  assert_int_equal(moqc_quic_conn_write(c, sid, buf, 2, 3, false), 0);
  assert_int_equal(moqc_rcbuf_refcount(buf), 2);
  assert_int_equal(moqc_quic_conn_stream_unacked(c, sid), 3);
  assert_int_equal(moqc_quic_conn_stream_unacked(c, 1000), 0);
  /* Datagrams: too large, then a full queue. */
  uint8_t big[1400];
  memset(big, 1, sizeof(big));
  assert_int_equal(moqc_quic_conn_send_datagram(c, big, sizeof(big)),
                   MOQC_ERR_FRAME_TOO_LARGE);
  int rv = 0, queued = 0;
  while ((rv = moqc_quic_conn_send_datagram(c, big, 100)) == 0) {
    queued++;
  }
  assert_int_equal(rv, MOQC_ERR_WOULD_BLOCK);
  assert_true(queued >= 100);
  /* Unknown streams. */
  assert_int_equal(moqc_quic_conn_reset_stream(c, 1000, 1), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_quic_conn_extend_stream_offset(c, 1000, 1),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_quic_conn_finish(c, 1000), MOQC_ERR_NOT_FOUND);
  /* After close: everything refuses, a second close does nothing. */
  moqc_quic_conn_close(c, 9, "x");
  moqc_quic_conn_close(c, 10, "y");
  assert_int_equal(moqc_quic_conn_open_stream(c, true, &sid), MOQC_ERR_CLOSED);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, 0, (const uint8_t *)"z", 1, false),
      MOQC_ERR_CLOSED);
  assert_true(run_until(&e, both_closed, NULL, 3000));
  assert_int_equal(e.server.close_app, 9);
  assert_int_equal(moqc_rcbuf_refcount(buf), 1); /* released with the stream */
  moqc_rcbuf_decref(buf);
  env_stop(&e);
}

/* Every allocation of the endpoints and of ngtcp2 goes through settings.mem and
 * is returned. */
static void test_allocator_hook(void **state) {
  counting cnt = {0, 0, 0};
  moqc_mem mem = {&cnt, cnt_malloc, cnt_free, cnt_calloc, cnt_realloc};
  moqc_quic_settings s;
  settings_for_test(&s);
  s.mem = &mem;
  env e;
  env_start(&e, &s, &s);
  moqc_quic_conn *c = connect_ok(&e, NULL);
  long after_handshake = cnt.total;
  int64_t sid;
  assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
  assert_int_equal(
      moqc_quic_conn_write_copy(c, sid, (const uint8_t *)"abc", 3, true), 0);
  assert_true(run_until(&e, echo_fin_seen, &sid, 3000));
  moqc_quic_conn_close(c, 0, NULL);
  assert_true(run_until(&e, both_closed, NULL, 3000));
  assert_true(after_handshake > 50); /* ngtcp2's own allocations are counted */
  assert_true(cnt.live > 0);
  env_stop(&e);
  assert_int_equal(cnt.live, 0);
}

#define NCLIENTS 16

typedef struct multi {
  env *e;
  moqc_quic_endpoint *eps[NCLIENTS];
  peer peers[NCLIENTS];
} multi;

static bool multi_done(env *e, void *arg) {
  multi *m = arg;
  for (int i = 0; i < NCLIENTS; i++) {
    if (!m->peers[i].rx[0][0].fin) {
      return false;
    }
  }
  return true;
}

static void test_many_connections(void **state) {
  env e;
  env_start(&e, NULL, NULL);
  multi *m = calloc(1, sizeof(*m));
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings s;
  settings_for_test(&s);
  for (int i = 0; i < NCLIENTS; i++) {
    assert_int_equal(moqc_quic_endpoint_new(&m->eps[i], &e.loop,
                                            (struct sockaddr *)&a, &s,
                                            &callbacks, &m->peers[i]),
                     0);
    moqc_quic_connect_params p = quic_pin_params();
    assert_int_equal(moqc_quic_connect(m->eps[i],
                                       (struct sockaddr *)&e.server_addr, &p,
                                       NULL),
                     0);
  }
  /* Each client sends its index once connected. */
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  int sent = 0;
  bool started[NCLIENTS] = {false};
  while (sent < NCLIENTS && uv_hrtime() < deadline) {
    uv_run(&e.loop, UV_RUN_ONCE);
    for (int i = 0; i < NCLIENTS; i++) {
      if (!started[i] && m->peers[i].conn != NULL) {
        int64_t sid;
        uint8_t msg[2] = {'c', (uint8_t)i};
        assert_int_equal(
            moqc_quic_conn_open_stream(m->peers[i].conn, false, &sid), 0);
        assert_int_equal(
            moqc_quic_conn_write_copy(m->peers[i].conn, sid, msg, 2, true), 0);
        started[i] = true;
        sent++;
      }
    }
  }
  assert_int_equal(sent, NCLIENTS);
  assert_true(run_until(&e, multi_done, m, 5000));
  assert_int_equal(e.server.connected, NCLIENTS);
  assert_int_equal(moqc_quic_endpoint_conn_count(e.server.ep), NCLIENTS);
  for (int i = 0; i < NCLIENTS; i++) {
    assert_int_equal(m->peers[i].rx[0][0].len, 2);
    assert_int_equal(m->peers[i].rx[0][0].data[1], i);
    moqc_quic_endpoint_del(m->eps[i]);
    free_peer(&m->peers[i]);
  }
  free(m);
  env_stop(&e);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_stream_datagram_close),
      cmocka_unit_test(test_many_streams),
      cmocka_unit_test(test_large_transfer),
      cmocka_unit_test(test_transfer_without_offloads),
      cmocka_unit_test(test_loss_and_reordering),
      cmocka_unit_test(test_unknown_alpn_refused),
      cmocka_unit_test(test_pin_mismatch),
      cmocka_unit_test(test_pin_expired_certificate),
      cmocka_unit_test(test_ca_file_verification),
      cmocka_unit_test(test_idle_timeout),
      cmocka_unit_test(test_timer_not_rearmed),
      cmocka_unit_test(test_tls_released_after_handshake),
      cmocka_unit_test(test_post_handshake_crypto_refused),
      cmocka_unit_test(test_reset_and_stop),
      cmocka_unit_test(test_reset_with_data_in_flight),
      cmocka_unit_test(test_stream_limit_renewal),
      cmocka_unit_test(test_stateless_replies),
      cmocka_unit_test(test_ipv6),
      cmocka_unit_test(test_retry),
      cmocka_unit_test(test_api_errors),
      cmocka_unit_test(test_reuse_port),
      cmocka_unit_test(test_wildcard_bind_source_address),
      cmocka_unit_test(test_allocator_hook),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_many_connections),
  };
  return cmocka_run_group_tests(tests, quic_cert_setup, quic_cert_teardown);
}
