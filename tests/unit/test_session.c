/*
 * moq-lite sessions over the in-memory transport: handshakes, announcements, track info,
 * subscriptions and groups, between real origins.
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/origin.h>
#include <moqc/session.h>

#include "transport/mem.h"

#define ID_P 0x00123456789ABCDEULL
#define ID_R 0x00000A0B0C0D0E0FULL
#define ID_S 0x0000111122223333ULL

typedef struct node {
  moqc_origin *origin;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
} node;

typedef struct link {
  moqc__mem_pair *pair;
  moqc_session *c;
  moqc_session *s;
} link;

static void test_log(void *ud, moqc_log_level level, const char *msg) {
  fprintf(stderr, "[%s] %s\n", (const char *)ud, msg);
}

static void node_new(node *n, uint64_t id) {
  moqc_origin_settings os;
  moqc_origin_settings_default(&os);
  os.id = id;
  assert_int_equal(moqc_origin_new(&n->origin, &os), 0);
  assert_int_equal(moqc_origin_producer_new(n->origin, &n->prod), 0);
  assert_int_equal(moqc_origin_consumer_new(n->origin, &n->cons), 0);
}

static void node_del(node *n) {
  moqc_origin_producer_del(n->prod);
  moqc_origin_consumer_del(n->cons);
  moqc_origin_decref(n->origin);
}

/* Joins a client (node c) and a server (node s) with sessions of version v. Either node may be
 * NULL (no origin on that side). */
static void link_new(link *l, uint32_t v, node *c, uint64_t cid, node *s, uint64_t sid,
                     const moqc__mem_settings *ms) {
  memset(l, 0, sizeof(*l));
  assert_int_equal(moqc__mem_pair_new(&l->pair, ms, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.version = v;
  st.origin_id = cid;
  if (getenv("SESSION_LOG") != NULL) {
    st.log.write = test_log;
    st.log.level = MOQC_LOG_TRACE;
    st.log.user_data = (void *)"client";
  }
  moqc_transport tc = moqc__mem_transport(l->pair, MOQC__MEM_CLIENT);
  assert_int_equal(moqc_session_new(&l->c, &st, &tc, c ? c->cons : NULL, c ? c->prod : NULL,
                                    NULL),
                   0);
  st.perspective = MOQC_SESSION_SERVER;
  st.origin_id = sid;
  st.log.user_data = (void *)"server";
  moqc_transport ts = moqc__mem_transport(l->pair, MOQC__MEM_SERVER);
  assert_int_equal(moqc_session_new(&l->s, &st, &ts, s ? s->cons : NULL, s ? s->prod : NULL,
                                    NULL),
                   0);
  moqc__mem_attach(l->pair, MOQC__MEM_CLIENT, moqc_session_app_ops(), l->c);
  moqc__mem_attach(l->pair, MOQC__MEM_SERVER, moqc_session_app_ops(), l->s);
  moqc_tstamp now = moqc__mem_now(l->pair);
  assert_int_equal(moqc_session_start(l->s, now), 0);
  assert_int_equal(moqc_session_start(l->c, now), 0);
}

static void link_del(link *l) {
  moqc_session_del(l->c);
  moqc_session_del(l->s);
  moqc__mem_pair_del(l->pair);
}

static void pump(link **links, size_t n) {
  for (int round = 0; round < 50; round++) {
    moqc_ssize moved = 0;
    for (size_t i = 0; i < n; i++) {
      moqc_ssize r = moqc__mem_pump(links[i]->pair, SIZE_MAX, 20);
      assert_true(r >= 0);
      moved += r;
    }
    if (moved == 0) {
      return;
    }
  }
}

static void pump1(link *l) { pump(&l, 1); }

static void noop_wake(void *ud) { (void)ud; }

/* ---- Handshakes ------------------------------------------------------------------------------ */

static void test_handshake_lite05(void **state) {
  link l;
  link_new(&l, MOQC_SESSION_VERSION_LITE_05, NULL, ID_P, NULL, ID_R, NULL);
  pump1(&l);
  assert_false(moqc_session_is_closed(l.c));
  assert_false(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_version(l.c), 5);
  assert_int_equal(moqc_session_version(l.s), 5);
  assert_int_equal(moqc_session_peer_origin(l.s), ID_P);
  assert_int_equal(moqc_session_peer_origin(l.c), ID_R);
  /* Both Setup streams finished and were forgotten. */
  assert_int_equal(moqc__mem_stream_count(l.pair), 0);
  assert_int_equal(moqc_session_get_expiry(l.s), UINT64_MAX);
  link_del(&l);
}

static void test_handshake_legacy(void **state) {
  link l;
  link_new(&l, MOQC_SESSION_VERSION_LEGACY, NULL, ID_P, NULL, ID_R, NULL);
  assert_int_equal(moqc_session_version(l.c), 0);
  pump1(&l);
  assert_int_equal(moqc_session_version(l.c), 2);
  assert_int_equal(moqc_session_version(l.s), 2);
  assert_false(moqc_session_is_closed(l.c));
  /* The session stream stays open all session. */
  assert_int_equal(moqc__mem_stream_count(l.pair), 1);
  moqc_session_close(l.c, 0, NULL);
  pump1(&l);
  assert_true(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_error(l.s), 0);
  link_del(&l);
}

static void test_setup_timeout(void **state) {
  moqc__mem_pair *pair;
  assert_int_equal(moqc__mem_pair_new(&pair, NULL, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.setup_timeout = 2 * MOQC_SECONDS;
  moqc_transport ts = moqc__mem_transport(pair, MOQC__MEM_SERVER);
  moqc_session *s;
  assert_int_equal(moqc_session_new(&s, &st, &ts, NULL, NULL, NULL), 0);
  moqc__mem_attach(pair, MOQC__MEM_SERVER, moqc_session_app_ops(), s);
  moqc_tstamp now = moqc__mem_now(pair);
  assert_int_equal(moqc_session_start(s, now), 0);
  assert_int_equal(moqc_session_get_expiry(s), now + 2 * MOQC_SECONDS);
  moqc__mem_advance(pair, MOQC_SECONDS);
  moqc__mem_pump(pair, SIZE_MAX, 5);
  assert_false(moqc_session_is_closed(s));
  moqc__mem_advance(pair, MOQC_SECONDS);
  moqc__mem_pump(pair, SIZE_MAX, 5);
  assert_true(moqc_session_is_closed(s));
  assert_int_equal(moqc_session_error(s), MOQC_ERR_TIMEOUT);
  uint64_t code;
  assert_true(moqc__mem_closed(pair, MOQC__MEM_SERVER, &code, NULL));
  assert_int_equal(code, 3);
  moqc_session_del(s);
  moqc__mem_pair_del(pair);
}

/* ---- Publishing through a relay ---------------------------------------------------------------- */

typedef struct pub {
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
} pub;

static void pub_new(pub *p, node *n, const char *path, const char *track) {
  assert_int_equal(moqc_origin_producer_create_broadcast(n->prod, moqc_str_c(path), NULL, &p->bp,
                                                         &p->guard),
                   0);
  moqc_track_info info;
  moqc_track_info_default(&info);
  info.priority = 1;
  assert_int_equal(moqc_broadcast_producer_create_track(p->bp, track, &info, &p->tp), 0);
}

static void pub_del(pub *p) {
  moqc_track_producer_del(p->tp);
  moqc_origin_publish_del(p->guard);
  moqc_broadcast_producer_del(p->bp);
}

static void pub_group(pub *p, moqc_tstamp now, int frames, uint64_t ts0) {
  moqc_group_producer *gp;
  assert_int_equal(moqc_track_producer_append_group(p->tp, now, &gp), 0);
  for (int i = 0; i < frames; i++) {
    uint8_t data[3] = {(uint8_t)moqc_group_producer_sequence(gp), (uint8_t)i, 0xAA};
    assert_int_equal(moqc_group_producer_write_frame(gp, data, sizeof(data), ts0 + 33 * (uint64_t)i),
                     0);
  }
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
}

/* A local viewer of one track. */
typedef struct viewer {
  moqc_waker *w;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
} viewer;

static void viewer_new(viewer *v, node *n, const char *path, const char *track) {
  memset(v, 0, sizeof(*v));
  assert_int_equal(moqc_waker_new(&v->w, noop_wake, NULL, NULL), 0);
  assert_int_equal(moqc_origin_consumer_consume_broadcast(n->cons, moqc_str_c(path), &v->bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(v->bc, track, &v->tc), 0);
}

static int viewer_subscribe(viewer *v) {
  if (v->ts != NULL) {
    return 0;
  }
  return moqc_track_consumer_subscribe(v->tc, NULL, &v->ts, v->w);
}

/* Reads every available whole group; stores sequences and frame counts. Returns groups read. */
static int viewer_read(viewer *v, uint64_t *seqs, uint64_t *frames, int max) {
  int n = 0;
  moqc_group_consumer *gc;
  while (n < max && moqc_track_subscriber_recv_group(v->ts, &gc, v->w) == 0) {
    seqs[n] = moqc_group_consumer_sequence(gc);
    uint64_t count = 0;
    moqc_rcbuf *buf;
    uint64_t ts;
    while (moqc_group_consumer_read_frame(gc, &buf, &ts, v->w) == 0) {
      assert_int_equal(moqc_rcbuf_len(buf), 3);
      assert_int_equal(moqc_rcbuf_data(buf)[0], (uint8_t)seqs[n]);
      assert_int_equal(moqc_rcbuf_data(buf)[1], (uint8_t)count);
      moqc_rcbuf_decref(buf);
      count++;
    }
    frames[n] = count;
    moqc_group_consumer_del(gc);
    n++;
  }
  return n;
}

static void viewer_del(viewer *v) {
  moqc_track_subscriber_del(v->ts);
  moqc_track_consumer_del(v->tc);
  moqc_broadcast_consumer_del(v->bc);
  moqc_waker_close(v->w);
}

static void test_publish_to_relay(void **state) {
  node P, R;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  link l;
  link_new(&l, MOQC_SESSION_VERSION_LITE_05, &P, ID_P, &R, ID_R, NULL);
  pub p;
  pub_new(&p, &P, "demo/bbb", "video");
  pump1(&l);

  /* R mirrors P's broadcast, with P as its one hop. */
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(R.cons, &cur), 0);
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, moqc_str_c("demo/bbb")));
  assert_non_null(ev.broadcast);
  assert_int_equal(ev.hop_count, 1);
  assert_int_equal(ev.hops[0], ID_P);
  moqc_broadcast_consumer_del(ev.broadcast);

  /* A viewer on R: the track is requested from P on demand. */
  viewer v;
  viewer_new(&v, &R, "demo/bbb", "video");
  assert_int_equal(viewer_subscribe(&v), MOQC_ERR_PENDING);
  pump1(&l);
  assert_int_equal(viewer_subscribe(&v), 0);
  moqc_track_info info;
  moqc_track_subscriber_info(v.ts, &info);
  assert_int_equal(info.priority, 1);
  assert_int_equal(info.timescale, MOQC_TIMESCALE_MILLI);
  pump1(&l);

  moqc_tstamp now = moqc__mem_now(l.pair);
  pub_group(&p, now, 3, 1000);
  pub_group(&p, now, 2, 2000);
  pump1(&l);
  uint64_t seqs[8], frames[8];
  int n = viewer_read(&v, seqs, frames, 8);
  /* Both groups arrive, newest first (the publisher sends the newest group first). */
  assert_int_equal(n, 2);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(frames[0], 2);
  assert_int_equal(seqs[1], 0);
  assert_int_equal(frames[1], 3);

  /* Timestamps survive the wire (zigzag deltas in the track timescale). */
  pub_group(&p, now, 2, 5000);
  pump1(&l);
  moqc_group_consumer *gc;
  assert_int_equal(moqc_track_subscriber_recv_group(v.ts, &gc, v.w), 0);
  moqc_rcbuf *buf;
  uint64_t ts;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
  assert_int_equal(ts, 5000);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
  assert_int_equal(ts, 5033);
  moqc_rcbuf_decref(buf);
  moqc_group_consumer_del(gc);

  /* The viewer leaves: R cancels the upstream subscription, P sees no user. */
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 1);
  viewer_del(&v);
  pump1(&l);
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 0);

  /* P unpublishes: R's mirror ends. */
  pub_del(&p);
  pump1(&l);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, moqc_str_c("demo/bbb")));
  assert_null(ev.broadcast);
  moqc_origin_announced_del(cur);
  assert_false(moqc_session_is_closed(l.c));
  link_del(&l);
  node_del(&P);
  node_del(&R);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_lite05),
      cmocka_unit_test(test_handshake_legacy),
      cmocka_unit_test(test_setup_timeout),
      cmocka_unit_test(test_publish_to_relay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
