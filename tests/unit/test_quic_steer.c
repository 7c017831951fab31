/*
 * Endpoints sharing one UDP port (SO_REUSEPORT), as the relay's workers do,
 * steering by connection id: every connection id an endpoint issues names it,
 * and the port's filter hands each datagram to the endpoint its destination id
 * names. Clients then change their address (a NAT rebinding: each client moves
 * to a fresh socket while its connection keeps its path) and every connection
 * must still carry a stream both ways. With the kernel's address hash alone,
 * about half of them would land on the other endpoint and stall.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include <uv.h>

#include <moqc/moqc.h>

#include "transport/quic_internal.h"
#include "transport/quic_test.h"
#include "quic_testutil.h"

#define NSERVERS 2
#define NCLIENTS 16

typedef struct peer {
  int index; /* a server endpoint's steer index; -1 for clients */
  int connected;
  moqc_quic_conn *conns[NCLIENTS];
  int nconns;
  uint8_t rx[64];
  size_t rxlen;
  bool fin;
  int closed;
} peer;


static int on_connection(moqc_quic_conn *conn, const char *alpn, void *ud,
                         void *cud) {
  peer *p = ud;
  (void)alpn;
  (void)cud;
  p->connected++;
  if (p->nconns < NCLIENTS) {
    p->conns[p->nconns++] = conn;
  }
  return 0;
}

/* Servers echo bidi stream data; clients keep what comes back. */
static moqc_ssize on_stream_data(moqc_quic_conn *conn, int64_t sid,
                                 const uint8_t *data, size_t len, bool fin,
                                 void *ud, void *cud) {
  peer *p = ud;
  (void)cud;
  if (p->index >= 0) {
    assert_int_equal(moqc_quic_conn_write_copy(conn, sid, data, len, fin), 0);
    return (moqc_ssize)len;
  }
  assert_true(p->rxlen + len <= sizeof(p->rx));
  memcpy(p->rx + p->rxlen, data, len);
  p->rxlen += len;
  p->fin = p->fin || fin;
  return (moqc_ssize)len;
}

static void on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote,
                     void *ud, void *cud) {
  peer *p = ud;
  (void)conn;
  (void)err;
  (void)app;
  (void)remote;
  (void)cud;
  p->closed++;
}

static const moqc_quic_callbacks callbacks = {
    .on_connection = on_connection,
    .on_stream_data = on_stream_data,
    .on_close = on_close,
};

typedef struct env {
  uv_loop_t loop;
  moqc_quic_endpoint *servers[NSERVERS];
  peer server_peers[NSERVERS];
  moqc_quic_endpoint *clients[NCLIENTS];
  peer client_peers[NCLIENTS];
} env;

static void tick_cb(uv_timer_t *t) { (void)t; }

static int connected_clients(env *e) {
  int n = 0;
  for (int i = 0; i < NCLIENTS; i++) {
    n += e->client_peers[i].connected > 0 && e->client_peers[i].nconns > 0;
  }
  return n;
}

/* Connections both sides have seen complete. */
static int connected_both(env *e) {
  int servers = 0;
  for (int k = 0; k < NSERVERS; k++) {
    servers += e->server_peers[k].connected;
  }
  int clients = connected_clients(e);
  return servers < clients ? servers : clients;
}

static int echoed_clients(env *e) {
  int n = 0;
  for (int i = 0; i < NCLIENTS; i++) {
    n += e->client_peers[i].fin;
  }
  return n;
}

static void run_until(env *e, int (*count)(env *), int want, uint64_t ms) {
  uint64_t deadline = uv_hrtime() + ms * 1000000ULL;
  while (count(e) < want && uv_hrtime() < deadline) {
    uv_run(&e->loop, UV_RUN_ONCE);
  }
}

static void test_steering_survives_rebinding(void **state) {
  (void)state;
  env *e = calloc(1, sizeof(*e));
  uv_timer_t tick;
  assert_int_equal(uv_loop_init(&e->loop), 0);
  uv_timer_init(&e->loop, &tick);
  uv_timer_start(&tick, tick_cb, 5, 5);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  /* The servers: bound in index order, the first picks the port. */
  for (int k = 0; k < NSERVERS; k++) {
    moqc_quic_settings s;
    moqc_quic_settings_default(&s);
    s.initial_rtt = 10 * MOQC_MILLISECONDS;
    s.cert = g_cert;
    s.reuse_port = true;
    s.steer_index = (uint32_t)k;
    s.steer_count = NSERVERS;
    e->server_peers[k].index = k;
    assert_int_equal(moqc_quic_endpoint_new(&e->servers[k], &e->loop,
                                            (struct sockaddr *)&a, &s,
                                            &callbacks, &e->server_peers[k]),
                     0);
    a.sin_port = htons(moqc_quic_endpoint_port(e->servers[k]));
  }

  /* The clients, each on a socket of its own. */
  struct sockaddr_in local = a;
  local.sin_port = 0;
  for (int i = 0; i < NCLIENTS; i++) {
    moqc_quic_settings s;
    moqc_quic_settings_default(&s);
    s.initial_rtt = 10 * MOQC_MILLISECONDS;
    e->client_peers[i].index = -1;
    assert_int_equal(moqc_quic_endpoint_new(&e->clients[i], &e->loop,
                                            (struct sockaddr *)&local, &s,
                                            &callbacks, &e->client_peers[i]),
                     0);
    moqc_quic_connect_params p = quic_pin_params();
    assert_int_equal(
        moqc_quic_connect(e->clients[i], (struct sockaddr *)&a, &p, NULL), 0);
  }
  run_until(e, connected_both, NCLIENTS, 5000);
  assert_int_equal(connected_both(e), NCLIENTS);

  /* Every connection sits on the endpoint its ids name, and both endpoints
   * have some (the clients' first ids are random). */
  int total = 0;
  for (int k = 0; k < NSERVERS; k++) {
    peer *sp = &e->server_peers[k];
    assert_true(sp->nconns > 0);
    total += sp->nconns;
    for (int j = 0; j < sp->nconns; j++) {
      ngtcp2_cid ids[8];
      size_t n = ngtcp2_conn_get_num_scid(sp->conns[j]->conn);
      assert_true(n > 0 && n <= 8);
      assert_int_equal(ngtcp2_conn_get_scid(sp->conns[j]->conn, ids), n);
      for (size_t m = 0; m < n; m++) {
        assert_int_equal(ids[m].data[0] % NSERVERS, k);
      }
    }
  }
  assert_int_equal(total, NCLIENTS);

  /* Every client changes its address, then sends a stream to be echoed. */
  for (int i = 0; i < NCLIENTS; i++) {
    assert_int_equal(moqc__quic_endpoint_rebind(e->clients[i]), 0);
    moqc_quic_conn *c = e->client_peers[i].conns[0];
    int64_t sid;
    uint8_t msg[8] = {'s', 't', 'e', 'e', 'r', ' ', (uint8_t)i, '.'};
    assert_int_equal(moqc_quic_conn_open_stream(c, false, &sid), 0);
    assert_int_equal(moqc_quic_conn_write_copy(c, sid, msg, sizeof(msg), true),
                     0);
  }
  run_until(e, echoed_clients, NCLIENTS, 5000);
  for (int i = 0; i < NCLIENTS; i++) {
    peer *cp = &e->client_peers[i];
    assert_true(cp->fin);
    assert_int_equal(cp->rxlen, 8);
    assert_int_equal(cp->rx[6], i);
    assert_int_equal(cp->closed, 0);
  }
  /* No connection moved or was made anew. */
  for (int k = 0; k < NSERVERS; k++) {
    assert_int_equal(e->server_peers[k].connected, e->server_peers[k].nconns);
    assert_int_equal(e->server_peers[k].closed, 0);
  }

  for (int i = 0; i < NCLIENTS; i++) {
    moqc_quic_endpoint_del(e->clients[i]);
  }
  for (int k = 0; k < NSERVERS; k++) {
    moqc_quic_endpoint_del(e->servers[k]);
  }
  uv_close((uv_handle_t *)&tick, NULL);
  assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  free(e);
}

static void test_steering_settings_checked(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings s;
  moqc_quic_settings_default(&s);
  s.cert = g_cert;
  moqc_quic_endpoint *ep = NULL;
  /* Steering needs reuse_port, an index below the count, at most 256. */
  s.steer_count = 2;
  assert_int_equal(moqc_quic_endpoint_new(&ep, &loop, (struct sockaddr *)&a,
                                          &s, &callbacks, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  s.reuse_port = true;
  s.steer_index = 2;
  assert_int_equal(moqc_quic_endpoint_new(&ep, &loop, (struct sockaddr *)&a,
                                          &s, &callbacks, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  s.steer_index = 0;
  s.steer_count = 257;
  assert_int_equal(moqc_quic_endpoint_new(&ep, &loop, (struct sockaddr *)&a,
                                          &s, &callbacks, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  /* Ids of endpoint 3 of 5: first byte 3 modulo 5, whatever the random byte. */
  s.steer_index = 3;
  s.steer_count = 5;
  assert_int_equal(moqc_quic_endpoint_new(&ep, &loop, (struct sockaddr *)&a,
                                          &s, &callbacks, NULL),
                   0);
  for (int b = 0; b < 256; b++) {
    uint8_t cid[MOQC__QUIC_SCIDLEN] = {(uint8_t)b};
    moqc__ep_steer_cid(ep, cid);
    assert_int_equal(cid[0] % 5, 3);
  }
  moqc_quic_endpoint_del(ep);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_steering_survives_rebinding),
      cmocka_unit_test(test_steering_settings_checked),
  };
  return cmocka_run_group_tests(tests, quic_cert_setup, quic_cert_teardown);
}
