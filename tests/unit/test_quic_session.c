/*
 * moq-lite sessions over real QUIC on loopback: a publisher node connects to a
 * relay node with ALPN moq-lite-05, the relay mirrors the announced broadcast,
 * a viewer on the relay subscribes and reads the groups; then the publisher's
 * session closes and the relay's session hears it.
 */
#include "test_session_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <uv.h>

#include "transport/quic_test.h"
#include "quic_testutil.h"

typedef struct qside {
  node *n;
  uint64_t origin_id;
  moqc_session_perspective perspective;
  moqc_quic_endpoint *ep;
  moqc_session *sess;
  int connected, closed;
  uint64_t close_app;
  char alpn[32];
} qside;


static uint32_t version_for_alpn(const char *alpn) {
  if (strcmp(alpn, "moq-lite-05") == 0) {
    return MOQC_SESSION_VERSION_LITE_05;
  }
  if (strcmp(alpn, "moq-lite-04") == 0) {
    return MOQC_SESSION_VERSION_LITE_04;
  }
  if (strcmp(alpn, "moq-lite-03") == 0) {
    return MOQC_SESSION_VERSION_LITE_03;
  }
  return MOQC_SESSION_VERSION_LEGACY;
}

static int on_connection(moqc_quic_conn *conn, const char *alpn, void *ud,
                         void *cud) {
  qside *q = ud;
  q->connected++;
  snprintf(q->alpn, sizeof(q->alpn), "%s", alpn);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = q->perspective;
  st.version = version_for_alpn(alpn);
  st.origin_id = q->origin_id;
  moqc_transport t = moqc_quic_conn_transport(conn);
  int rv = moqc_session_new(&q->sess, &st, &t, q->n->cons, q->n->prod, NULL);
  if (rv != 0) {
    return rv;
  }
  rv = moqc_quic_conn_attach(conn, moqc_session_app_ops(), q->sess);
  if (rv == 0) {
    rv = moqc_session_start(q->sess, uv_hrtime());
  }
  return rv;
}

static void on_close(moqc_quic_conn *conn, int err, uint64_t app, bool remote,
                     void *ud, void *cud) {
  qside *q = ud;
  q->closed++;
  q->close_app = app;
  moqc_session_del(q->sess); /* before the connection's memory goes */
  q->sess = NULL;
}

static const moqc_quic_callbacks callbacks = {.on_connection = on_connection,
                                              .on_close = on_close};

static void tick_cb(uv_timer_t *t) {
  (void)t;
}

typedef struct qenv {
  uv_loop_t loop;
  uv_timer_t tick;
  qside pub_side, relay_side;
} qenv;

static void step(qenv *e) {
  uv_run(&e->loop, UV_RUN_ONCE);
}

typedef struct lossy {
  uint32_t rng;
  unsigned drops, delays;
} lossy;

/* Deterministic: every 17th datagram is dropped, every 11th held back and sent
 * after the next one. */
static int lossy_filter(void *ud, const uint8_t *pkt, size_t len) {
  lossy *l = ud;
  l->rng++;
  if (l->rng % 17 == 5) {
    l->drops++;
    return MOQC__QUIC_FILTER_DROP;
  }
  if (l->rng % 11 == 3) {
    l->delays++;
    return MOQC__QUIC_FILTER_DELAY;
  }
  return MOQC__QUIC_FILTER_PASS;
}

/* Publisher -> relay over QUIC, groups of frames read by a relay viewer. With
 * lossy, both endpoints drop about 3% and reorder about 5% of their datagrams:
 * retransmissions come from the sessions' own buffers, which must stay valid
 * until acknowledged (ASan checks). */
static void run_session(int ngroups, int nframes, bool lossy_link) {
  qenv e;
  memset(&e, 0, sizeof(e));
  node P, R;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  assert_int_equal(uv_loop_init(&e.loop), 0);
  uv_timer_init(&e.loop, &e.tick);
  uv_timer_start(&e.tick, tick_cb, 2, 2);

  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  moqc_quic_settings s;
  moqc_quic_settings_default(&s);
  s.initial_rtt = 10 * MOQC_MILLISECONDS;
  e.pub_side =
      (qside){.n = &P, .origin_id = ID_P, .perspective = MOQC_SESSION_CLIENT};
  e.relay_side =
      (qside){.n = &R, .origin_id = ID_R, .perspective = MOQC_SESSION_SERVER};
  moqc_quic_settings rs = s;
  rs.cert = g_cert;
  assert_int_equal(moqc_quic_endpoint_new(&e.relay_side.ep, &e.loop,
                                          (struct sockaddr *)&a, &rs,
                                          &callbacks, &e.relay_side),
                   0);
  assert_int_equal(moqc_quic_endpoint_new(&e.pub_side.ep, &e.loop,
                                          (struct sockaddr *)&a, &s, &callbacks,
                                          &e.pub_side),
                   0);
  struct sockaddr_in ra = a;
  ra.sin_port = htons(moqc_quic_endpoint_port(e.relay_side.ep));
  lossy l1 = {3, 0, 0}, l2 = {11, 0, 0};
  if (lossy_link) {
    moqc__quic_endpoint_set_send_filter(e.relay_side.ep, lossy_filter, &l1);
    moqc__quic_endpoint_set_send_filter(e.pub_side.ep, lossy_filter, &l2);
  }

  pub p;
  pub_new(&p, &P, "demo/bbb", "video");

  moqc_quic_connect_params cp = quic_pin_params();
  assert_int_equal(
      moqc_quic_connect(e.pub_side.ep, (struct sockaddr *)&ra, &cp, NULL), 0);

  /* A viewer on the relay: the track is requested from the publisher on demand.
   */
  uint64_t deadline = uv_hrtime() + 5000000000ULL;
  viewer v;
  bool have_viewer = false;
  int rv = MOQC_ERR_PENDING;
  while (uv_hrtime() < deadline) {
    step(&e);
    if (!have_viewer && e.relay_side.sess != NULL &&
        moqc_session_version(e.relay_side.sess) ==
            MOQC_SESSION_VERSION_LITE_05) {
      /* Wait for the mirror of demo/bbb to appear on R. */
      moqc_broadcast_consumer *bc = NULL;
      if (moqc_origin_consumer_consume_broadcast(R.cons, moqc_str_c("demo/bbb"),
                                                 &bc) == 0) {
        moqc_broadcast_consumer_del(bc);
        viewer_new(&v, &R, "demo/bbb", "video");
        have_viewer = true;
      }
    }
    if (have_viewer && (rv = viewer_subscribe(&v)) == 0) {
      break;
    }
  }
  assert_string_equal(e.pub_side.alpn, "moq-lite-05");
  assert_string_equal(e.relay_side.alpn, "moq-lite-05");
  assert_true(have_viewer);
  assert_int_equal(rv, 0);
  assert_int_equal(moqc_session_peer_origin(e.relay_side.sess), ID_P);

  /* Let the subscription reach the publisher, then publish two groups. */
  deadline = uv_hrtime() + 3000000000ULL;
  while (moqc_track_producer_used(p.tp, NULL) == 0 && uv_hrtime() < deadline) {
    step(&e);
  }
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 1);
  for (int g = 0; g < ngroups; g++) {
    pub_group(&p, uv_hrtime(), nframes, 1000 * (uint64_t)(g + 1));
  }
  /* Collect whole groups: keep each group open until MOQC_END, so a group
   * still arriving (slowly, over the lossy link) is read to its end. */
  moqc_group_consumer *open_g[64];
  uint64_t open_seq[64], open_frames[64];
  int nopen = 0, got = 0;
  bool seen[64] = {false};
  deadline = uv_hrtime() + 5000000000ULL;
  while (got < ngroups && uv_hrtime() < deadline) {
    step(&e);
    moqc_group_consumer *gc;
    while (nopen < 64 &&
           moqc_track_subscriber_recv_group(v.ts, &gc, v.w) == 0) {
      open_g[nopen] = gc;
      open_seq[nopen] = moqc_group_consumer_sequence(gc);
      open_frames[nopen] = 0;
      nopen++;
    }
    for (int i = 0; i < nopen;) {
      moqc_rcbuf *buf;
      int rv;
      while ((rv = moqc_group_consumer_read_frame(open_g[i], &buf, NULL,
                                                  v.w)) == 0) {
        assert_int_equal(moqc_rcbuf_len(buf), 3);
        assert_int_equal(moqc_rcbuf_data(buf)[0], (uint8_t)open_seq[i]);
        assert_int_equal(moqc_rcbuf_data(buf)[1], (uint8_t)open_frames[i]);
        moqc_rcbuf_decref(buf);
        open_frames[i]++;
      }
      if (rv == MOQC_ERR_PENDING) {
        i++;
        continue;
      }
      assert_int_equal(rv, MOQC_END);
      /* Every group arrived whole, once. */
      assert_int_equal(open_frames[i], nframes);
      assert_true(open_seq[i] < (uint64_t)ngroups);
      assert_false(seen[open_seq[i]]);
      seen[open_seq[i]] = true;
      got++;
      moqc_group_consumer_del(open_g[i]);
      open_g[i] = open_g[nopen - 1];
      open_seq[i] = open_seq[nopen - 1];
      open_frames[i] = open_frames[nopen - 1];
      nopen--;
    }
  }
  assert_int_equal(got, ngroups);
  assert_int_equal(nopen, 0);
  if (lossy_link) {
    assert_true(l1.drops > 0 && l2.drops > 0);
    assert_true(l1.delays > 0 && l2.delays > 0);
  }
  viewer_del(&v);

  /* The publisher's session closes cleanly: the relay's session closes too. */
  moqc_session_close(e.pub_side.sess, 0, "done");
  deadline = uv_hrtime() + 3000000000ULL;
  while ((e.pub_side.closed == 0 || e.relay_side.closed == 0) &&
         uv_hrtime() < deadline) {
    step(&e);
  }
  assert_int_equal(e.pub_side.closed, 1);
  assert_int_equal(e.relay_side.closed, 1);
  assert_int_equal(e.relay_side.close_app, 0);

  pub_del(&p);
  moqc_quic_endpoint_del(e.pub_side.ep);
  moqc_quic_endpoint_del(e.relay_side.ep);
  uv_close((uv_handle_t *)&e.tick, NULL);
  assert_int_equal(uv_run(&e.loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e.loop), 0);
  node_del(&P);
  node_del(&R);
}

static void test_session_over_quic(void **state) {
  run_session(2, 3, false);
}

static void test_session_over_lossy_quic(void **state) {
  run_session(40, 200, true);
}


int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_over_quic),
      cmocka_unit_test(test_session_over_lossy_quic),
  };
  return cmocka_run_group_tests(tests, quic_cert_setup, quic_cert_teardown);
}
