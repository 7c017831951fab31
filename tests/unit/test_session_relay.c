/*
 * End to end in process: a publisher session -> a relay origin -> K subscriber sessions, each
 * pair joined by the in-memory transport (lite-05 unless a test says otherwise).
 */
#include "test_session_harness.h"

#include "eager_viewer.h"

#define K 3

static const uint64_t sub_ids[K + 1] = {0x1001, 0x1002, 0x1003, 0x1004};

typedef struct relay {
  uint32_t version;
  node P, R, S[K + 1];
  tlink up;         /* P (client) <-> R (server) */
  tlink down[K + 1]; /* S[i] (client) <-> R (server) */
  tlink *all[K + 2];
  size_t nlinks;
  pub p;
} relay;

static void relay_pump(relay *r) { pump(r->all, r->nlinks); }

/* Lets every clock run past the sessions' end linger (the delayed Subscribe FIN, 500 ms by
 * default), hop by hop: the publisher's end reaches the relay, then the relay's the viewers. */
static void relay_linger(relay *r) {
  for (int hop = 0; hop < 2; hop++) {
    for (size_t i = 0; i < r->nlinks; i++) {
      moqc__mem_advance(r->all[i]->pair, 501 * MOQC_MILLISECONDS);
    }
    relay_pump(r);
  }
}

static void relay_add_sub(relay *r, int i) {
  node_new(&r->S[i], sub_ids[i]);
  link_new(&r->down[i], r->version, &r->S[i], sub_ids[i], &r->R, ID_R, NULL);
  r->all[r->nlinks++] = &r->down[i];
}

/* The publisher's node and the relay's, joined; nothing published yet. */
static void relay_init(relay *r, uint32_t version) {
  memset(r, 0, sizeof(*r));
  r->version = version;
  node_new(&r->P, ID_P);
  node_new(&r->R, ID_R);
  link_new(&r->up, version, &r->P, ID_P, &r->R, ID_R, NULL);
  r->all[r->nlinks++] = &r->up;
}

static void relay_new(relay *r, uint32_t version, int subs) {
  relay_init(r, version);
  for (int i = 0; i < subs; i++) {
    relay_add_sub(r, i);
  }
  pub_new(&r->p, &r->P, "demo/bbb", "video");
  relay_pump(r);
}

static void relay_del(relay *r) {
  for (size_t i = 0; i < r->nlinks; i++) {
    link_del(r->all[i]);
  }
  if (r->p.tp != NULL) {
    pub_del(&r->p);
  }
  node_del(&r->P);
  node_del(&r->R);
  for (int i = 0; i <= K; i++) {
    if (r->S[i].origin != NULL) {
      node_del(&r->S[i]);
    }
  }
}

/* Takes the next announce event of a cursor: returns 1 active, 0 ended, -1 none. */
static int next_announce(moqc_origin_announced *cur, const char *path, size_t *hops,
                         uint64_t *hop_ids) {
  moqc_origin_announce ev;
  if (moqc_origin_announced_next(cur, &ev, NULL) != 0) {
    return -1;
  }
  assert_true(moqc_str_eq(ev.path, moqc_str_c(path)));
  if (hops != NULL) {
    *hops = ev.hop_count;
    memcpy(hop_ids, ev.hops, ev.hop_count * sizeof(uint64_t));
  }
  int active = ev.broadcast != NULL;
  moqc_broadcast_consumer_del(ev.broadcast);
  return active;
}

static void subscribe_all(relay *r, viewer *v, int n) {
  for (int i = 0; i < n; i++) {
    viewer_new(&v[i], &r->S[i], "demo/bbb", "video");
    viewer_subscribe(&v[i]);
  }
  relay_pump(r);
  for (int i = 0; i < n; i++) {
    assert_int_equal(viewer_subscribe(&v[i]), 0);
  }
}

static void run_fanout(uint32_t version) {
  relay r;
  relay_new(&r, version, K);
  /* Every subscriber sees the broadcast, with the hops P then R (lite-04/05). */
  for (int i = 0; i < K; i++) {
    moqc_origin_announced *cur;
    assert_int_equal(moqc_origin_consumer_announced(r.S[i].cons, &cur), 0);
    size_t hops;
    uint64_t ids[MOQC_ORIGIN_MAX_HOPS];
    assert_int_equal(next_announce(cur, "demo/bbb", &hops, ids), 1);
    if (version >= MOQC_SESSION_VERSION_LITE_04) {
      assert_int_equal(hops, 2);
      assert_int_equal(ids[0], ID_P);
      assert_int_equal(ids[1], ID_R);
    } else {
      assert_int_equal(hops, 0);
    }
    moqc_origin_announced_del(cur);
  }
  viewer v[K];
  subscribe_all(&r, v, K);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  for (int g = 0; g < 4; g++) {
    pub_group(&r.p, now, 3, 100 * (uint64_t)g);
  }
  relay_pump(&r);
  for (int i = 0; i < K; i++) {
    uint64_t seqs[8], frames[8];
    int n = viewer_read(&v[i], seqs, frames, 8);
    assert_int_equal(n, 4);
    uint64_t seen = 0;
    for (int j = 0; j < n; j++) {
      assert_int_equal(frames[j], 3);
      seen |= 1ULL << seqs[j];
    }
    assert_int_equal(seen, 0xF);
  }
  /* The relay holds one upstream subscription, however many viewers. */
  for (int i = 0; i < K; i++) {
    viewer_del(&v[i]);
  }
  relay_pump(&r);
  assert_int_equal(moqc_track_producer_used(r.p.tp, NULL), 0);
  relay_del(&r);
}

static void test_fanout_lite05(void **state) { run_fanout(MOQC_SESSION_VERSION_LITE_05); }
static void test_fanout_lite04(void **state) { run_fanout(MOQC_SESSION_VERSION_LITE_04); }
static void test_fanout_lite03(void **state) { run_fanout(MOQC_SESSION_VERSION_LITE_03); }
static void test_fanout_legacy(void **state) { run_fanout(MOQC_SESSION_VERSION_LEGACY); }

static void test_late_joiner_and_unannounce(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 1);
  viewer v0;
  subscribe_all(&r, &v0, 1);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  pub_group(&r.p, now, 2, 0);
  relay_pump(&r);

  /* A subscriber connecting later learns of the broadcast in its initial set. */
  relay_add_sub(&r, K);
  relay_pump(&r);
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(r.S[K].cons, &cur), 0);
  assert_int_equal(next_announce(cur, "demo/bbb", NULL, NULL), 1);
  viewer late;
  viewer_new(&late, &r.S[K], "demo/bbb", "video");
  viewer_subscribe(&late);
  relay_pump(&r);
  assert_int_equal(viewer_subscribe(&late), 0);
  pub_group(&r.p, now, 2, 100);
  relay_pump(&r);
  uint64_t seqs[8], frames[8];
  int n = viewer_read(&late, seqs, frames, 8);
  assert_true(n >= 1);
  assert_int_equal(seqs[n - 1], 1);

  /* The publisher unpublishes: the end reaches every subscriber. */
  pub_del(&r.p);
  memset(&r.p, 0, sizeof(r.p));
  relay_pump(&r);
  assert_int_equal(next_announce(cur, "demo/bbb", NULL, NULL), 0);
  moqc_origin_announced_del(cur);
  /* The viewers' track ended with an error (the producer went away). */
  moqc_group_consumer *gc;
  int rv;
  while ((rv = moqc_track_subscriber_recv_group(v0.ts, &gc, v0.w)) == 0) {
    moqc_group_consumer_del(gc);
  }
  assert_true(rv < 0 && rv != MOQC_ERR_PENDING);
  viewer_del(&v0);
  viewer_del(&late);
  relay_del(&r);
}

static void test_subscription_end(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 2);
  viewer v[2];
  subscribe_all(&r, v, 2);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  pub_group(&r.p, now, 1, 0);
  pub_group(&r.p, now, 1, 1);
  assert_int_equal(moqc_track_producer_finish(r.p.tp), 0);
  relay_pump(&r);
  /* Every group is delivered, but the subscriptions stay open for the end linger. */
  moqc_group_consumer *gc;
  for (int i = 0; i < 2; i++) {
    uint64_t seqs[8], frames[8];
    assert_int_equal(viewer_read(&v[i], seqs, frames, 8), 2);
    assert_int_equal(moqc_track_subscriber_recv_group(v[i].ts, &gc, v[i].w), MOQC_ERR_PENDING);
  }
  relay_linger(&r);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(moqc_track_subscriber_recv_group(v[i].ts, &gc, v[i].w), MOQC_END);
    viewer_del(&v[i]);
  }
  relay_del(&r);
}

static void test_subscriber_leaving(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 2);
  viewer v[2];
  subscribe_all(&r, v, 2);
  assert_int_equal(moqc_track_producer_used(r.p.tp, NULL), 1);
  /* One viewer's session goes away entirely: the other keeps the upstream alive. */
  viewer_del(&v[0]);
  moqc_session_close(r.down[0].c, 0, NULL);
  relay_pump(&r);
  assert_true(moqc_session_is_closed(r.down[0].s));
  assert_int_equal(moqc_track_producer_used(r.p.tp, NULL), 1);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  pub_group(&r.p, now, 1, 0);
  relay_pump(&r);
  uint64_t seqs[8], frames[8];
  assert_int_equal(viewer_read(&v[1], seqs, frames, 8), 1);
  /* The last one leaves: the relay cancels upstream. */
  viewer_del(&v[1]);
  relay_pump(&r);
  assert_int_equal(moqc_track_producer_used(r.p.tp, NULL), 0);
  relay_del(&r);
}

static void test_publisher_leaving(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 1);
  viewer v;
  subscribe_all(&r, &v, 1);
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(r.S[0].cons, &cur), 0);
  assert_int_equal(next_announce(cur, "demo/bbb", NULL, NULL), 1);
  /* The publisher's connection drops. */
  moqc_session_close(r.up.c, 0, NULL);
  relay_pump(&r);
  assert_true(moqc_session_is_closed(r.up.s));
  assert_int_equal(next_announce(cur, "demo/bbb", NULL, NULL), 0);
  moqc_group_consumer *gc;
  int rv = moqc_track_subscriber_recv_group(v.ts, &gc, v.w);
  assert_true(rv < 0 && rv != MOQC_ERR_PENDING);
  /* The relay's announce set is empty again. */
  moqc_origin_announced *rc;
  assert_int_equal(moqc_origin_consumer_announced(r.R.cons, &rc), 0);
  assert_int_equal(next_announce(rc, "", NULL, NULL), -1);
  moqc_origin_announced_del(rc);
  moqc_origin_announced_del(cur);
  viewer_del(&v);
  assert_false(moqc_session_is_closed(r.down[0].s));
  relay_del(&r);
}

static void test_misbehaving_peer(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 2);
  viewer v[2];
  subscribe_all(&r, v, 2);
  /* A third client speaks garbage on its Announce stream. */
  raw_link bad;
  memset(&bad, 0, sizeof(bad));
  assert_int_equal(moqc__mem_pair_new(&bad.pair, NULL, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.origin_id = ID_R;
  moqc_transport t = moqc__mem_transport(bad.pair, MOQC__MEM_SERVER);
  assert_int_equal(moqc_session_new(&bad.s, &st, &t, r.R.cons, r.R.prod, NULL), 0);
  moqc__mem_attach(bad.pair, MOQC__MEM_SERVER, moqc_session_app_ops(), bad.s);
  bad.raw.tp = moqc__mem_transport(bad.pair, MOQC__MEM_CLIENT);
  moqc__mem_attach(bad.pair, MOQC__MEM_CLIENT, &raw_ops, &bad.raw);
  assert_int_equal(moqc_session_start(bad.s, moqc__mem_now(bad.pair)), 0);
  raw_open(&bad.raw, true, "01 0B 01 05 08 C0 00 00 00 00 00 00 77", true);
  raw_pump(&bad);
  /* The relay asked the client for announces on bidi 1; the answer is malformed. */
  raw_send(&bad.raw, 1, "09 C0 00 00 00 00 00 00 77 01 03 07 00 00", false);
  raw_pump(&bad);
  assert_true(moqc_session_is_closed(bad.s));
  assert_int_equal(moqc_session_error(bad.s), MOQC_ERR_DECODE);
  assert_true(bad.raw.closed);
  assert_int_equal(bad.raw.close_code, 5);
  /* Everyone else carries on. */
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  pub_group(&r.p, now, 2, 0);
  relay_pump(&r);
  for (int i = 0; i < 2; i++) {
    uint64_t seqs[8], frames[8];
    assert_int_equal(viewer_read(&v[i], seqs, frames, 8), 1);
    viewer_del(&v[i]);
  }
  raw_link_del(&bad);
  relay_del(&r);
}

/* Groups arrive out of order on the upstream link (a shuffled arrival of streams). */
static void test_groups_out_of_order(void **state) {
  relay r;
  memset(&r, 0, sizeof(r));
  r.version = MOQC_SESSION_VERSION_LITE_05;
  node_new(&r.P, ID_P);
  node_new(&r.R, ID_R);
  moqc__mem_settings ms;
  moqc__mem_settings_default(&ms);
  ms.reorder = true;
  ms.seed = 7;
  link_new(&r.up, r.version, &r.P, ID_P, &r.R, ID_R, &ms);
  r.all[r.nlinks++] = &r.up;
  relay_add_sub(&r, 0);
  pub_new(&r.p, &r.P, "demo/bbb", "video");
  relay_pump(&r);
  viewer v;
  subscribe_all(&r, &v, 1);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  for (int g = 0; g < 8; g++) {
    pub_group(&r.p, now, 2, (uint64_t)g);
  }
  relay_pump(&r);
  uint64_t seqs[16], frames[16];
  int n = viewer_read(&v, seqs, frames, 16);
  assert_int_equal(n, 8);
  uint64_t seen = 0;
  for (int j = 0; j < n; j++) {
    seen |= 1ULL << seqs[j];
    assert_int_equal(frames[j], 2);
  }
  assert_int_equal(seen, 0xFF);
  viewer_del(&v);
  relay_del(&r);
}

/* A congested downstream link: the newest group goes first, though the relay learned of the
 * groups oldest first. */
static void test_newest_first_under_congestion(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 1);
  pub lp;
  pub_new(&lp, &r.R, "local/cam", "video");
  relay_pump(&r);
  viewer v;
  viewer_new(&v, &r.S[0], "local/cam", "video");
  viewer_subscribe(&v);
  relay_pump(&r);
  assert_int_equal(viewer_subscribe(&v), 0);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  for (int g = 0; g < 4; g++) {
    pub_group(&lp, now, 3, (uint64_t)g);
  }
  /* The relay's session queues the four groups (in the order it learns of them). */
  assert_int_equal(moqc_session_poll(r.down[0].s, now), 0);
  /* The relay->subscriber link carries 16 bytes per round. */
  uint64_t order[8];
  int got = 0;
  for (int round = 0; round < 200 && got < 4; round++) {
    moqc__mem_transmit(r.down[0].pair, MOQC__MEM_SERVER, 16);
    moqc__mem_transmit(r.down[0].pair, MOQC__MEM_CLIENT, SIZE_MAX);
    uint64_t seqs[8], frames[8];
    int n = viewer_read(&v, seqs, frames, 8);
    for (int j = 0; j < n; j++) {
      order[got++] = seqs[j];
    }
  }
  assert_int_equal(got, 4);
  assert_int_equal(order[0], 3);
  assert_int_equal(order[1], 2);
  assert_int_equal(order[2], 1);
  assert_int_equal(order[3], 0);
  viewer_del(&v);
  pub_del(&lp);
  relay_del(&r);
}

/* A new local subscriber with a higher priority re-ranks the relay's upstream subscription. */
static void test_subscribe_update_upstream(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 0);
  viewer v1, v2;
  viewer_new(&v1, &r.R, "demo/bbb", "video");
  viewer_subscribe(&v1);
  relay_pump(&r);
  assert_int_equal(viewer_subscribe(&v1), 0);
  moqc_subscription agg;
  assert_int_equal(moqc_track_producer_subscription(r.p.tp, &agg, NULL), 0);
  assert_int_equal(agg.priority, 0);
  viewer_new(&v2, &r.R, "demo/bbb", "video");
  moqc_subscription pref;
  moqc_subscription_default(&pref);
  pref.priority = 5;
  int rv = moqc_track_consumer_subscribe(v2.tc, &pref, &v2.ts, v2.w);
  if (rv == MOQC_ERR_PENDING) {
    relay_pump(&r);
    rv = moqc_track_consumer_subscribe(v2.tc, &pref, &v2.ts, v2.w);
  }
  assert_int_equal(rv, 0);
  relay_pump(&r);
  assert_int_equal(moqc_track_producer_subscription(r.p.tp, &agg, NULL), 0);
  assert_int_equal(agg.priority, 5);
  /* The high-priority viewer leaves: back to 0. */
  viewer_del(&v2);
  relay_pump(&r);
  assert_int_equal(moqc_track_producer_subscription(r.p.tp, &agg, NULL), 0);
  assert_int_equal(agg.priority, 0);
  viewer_del(&v1);
  relay_del(&r);
}

/* lite-05 datagrams travel publisher -> relay -> subscriber. */
static void test_datagrams(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 1);
  viewer v;
  subscribe_all(&r, &v, 1);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  assert_int_equal(moqc_track_producer_write_datagram(r.p.tp, (const uint8_t *)"ping", 4, 42, now),
                   0);
  relay_pump(&r);
  uint64_t seq, ts;
  moqc_rcbuf *payload;
  assert_int_equal(moqc_track_subscriber_recv_datagram(v.ts, &seq, &ts, &payload, v.w), 0);
  assert_int_equal(ts, 42);
  assert_int_equal(moqc_rcbuf_len(payload), 4);
  assert_memory_equal(moqc_rcbuf_data(payload), "ping", 4);
  moqc_rcbuf_decref(payload);
  assert_int_equal(moqc_track_subscriber_recv_datagram(v.ts, &seq, &ts, &payload, v.w),
                   MOQC_ERR_PENDING);
  viewer_del(&v);
  relay_del(&r);
}

/* With one uni stream of credit the relay's groups wait for it and all arrive, in order (the
 * queue is bounded: test_session_group_queue.c). */
static void test_stream_credit_waits(void **state) {
  relay r;
  relay_init(&r, MOQC_SESSION_VERSION_LITE_05);
  node_new(&r.S[0], sub_ids[0]);
  moqc__mem_settings ms;
  moqc__mem_settings_default(&ms);
  ms.max_streams_uni = 1;
  link_new(&r.down[0], r.version, &r.S[0], sub_ids[0], &r.R, ID_R, &ms);
  r.all[r.nlinks++] = &r.down[0];
  pub_new(&r.p, &r.P, "demo/bbb", "video");
  pub lp;
  pub_new(&lp, &r.R, "local/cam", "video");
  relay_pump(&r);
  viewer v;
  viewer_new(&v, &r.S[0], "local/cam", "video");
  viewer_subscribe(&v);
  relay_pump(&r);
  assert_int_equal(viewer_subscribe(&v), 0);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  for (int g = 0; g < 5; g++) {
    pub_group(&lp, now, 2, (uint64_t)g);
  }
  relay_pump(&r);
  uint64_t seqs[8], frames[8];
  int n = viewer_read(&v, seqs, frames, 8);
  /* Group 0 took the one stream; 1..4 waited for it in turn. */
  assert_int_equal(n, 5);
  for (int g = 0; g < 5; g++) {
    assert_int_equal(seqs[g], g);
    assert_int_equal(frames[g], 2);
  }
  viewer_del(&v);
  pub_del(&lp);
  relay_del(&r);
}

/* A group stream lost as a whole upstream: the others still arrive. */
static bool lose_p_stream_10(void *ud, int side, moqc_stream_id id) {
  (void)ud;
  return side == MOQC__MEM_CLIENT && id == 10;
}

static void test_lost_group_stream(void **state) {
  relay r;
  memset(&r, 0, sizeof(r));
  r.version = MOQC_SESSION_VERSION_LITE_05;
  node_new(&r.P, ID_P);
  node_new(&r.R, ID_R);
  moqc__mem_settings ms;
  moqc__mem_settings_default(&ms);
  ms.lose = lose_p_stream_10;
  link_new(&r.up, r.version, &r.P, ID_P, &r.R, ID_R, &ms);
  r.all[r.nlinks++] = &r.up;
  relay_add_sub(&r, 0);
  pub_new(&r.p, &r.P, "demo/bbb", "video");
  relay_pump(&r);
  viewer v;
  subscribe_all(&r, &v, 1);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  /* One group per pump: P's uni streams are 2 (setup), 6, 10, 14. */
  uint64_t seen = 0;
  for (int g = 0; g < 3; g++) {
    pub_group(&r.p, now, 2, (uint64_t)g);
    relay_pump(&r);
    uint64_t seqs[8], frames[8];
    int n = viewer_read(&v, seqs, frames, 8);
    for (int j = 0; j < n; j++) {
      seen |= 1ULL << seqs[j];
    }
  }
  assert_int_equal(seen, 0x5); /* groups 0 and 2; group 1 was lost */
  assert_false(moqc_session_is_closed(r.up.s));
  viewer_del(&v);
  relay_del(&r);
}

/* Two relays mirroring each other (cluster style): announcements do not loop back, and when
 * the publisher leaves both relays forget the broadcast (lite-04 and lite-05 hop ids). */
static void run_relay_pair(uint32_t version) {
  node P, R1, R2;
  node_new(&P, ID_P);
  node_new(&R1, 0x7001);
  node_new(&R2, 0x7002);
  tlink up, mesh;
  link_new(&up, version, &P, ID_P, &R1, 0x7001, NULL);
  link_new(&mesh, version, &R1, 0x7001, &R2, 0x7002, NULL);
  tlink *all[2] = {&up, &mesh};
  pub p;
  pub_new(&p, &P, "demo/bbb", "video");
  pump(all, 2);
  moqc_broadcast_consumer *bc;
  assert_int_equal(moqc_origin_consumer_consume_broadcast(R2.cons, moqc_str_c("demo/bbb"), &bc),
                   0);
  moqc_broadcast_consumer_del(bc);
  /* R1 holds exactly one route: P's (R2's copy was filtered or dropped as a loop). */
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(R1.cons, &cur), 0);
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_int_equal(ev.hop_count, 1);
  assert_int_equal(ev.hops[0], ID_P);
  moqc_broadcast_consumer_del(ev.broadcast);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), MOQC_ERR_PENDING);
  /* A viewer on R2 gets data through R1. */
  viewer v;
  viewer_new(&v, &R2, "demo/bbb", "video");
  viewer_subscribe(&v);
  pump(all, 2);
  assert_int_equal(viewer_subscribe(&v), 0);
  pub_group(&p, moqc__mem_now(up.pair), 2, 0);
  pump(all, 2);
  uint64_t seqs[4], frames[4];
  assert_int_equal(viewer_read(&v, seqs, frames, 4), 1);
  viewer_del(&v);
  /* The publisher leaves: no ghost survives on either relay. */
  pub_del(&p);
  pump(all, 2);
  assert_int_equal(moqc_origin_consumer_consume_broadcast(R1.cons, moqc_str_c("demo/bbb"), &bc),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_origin_consumer_consume_broadcast(R2.cons, moqc_str_c("demo/bbb"), &bc),
                   MOQC_ERR_NOT_FOUND);
  moqc_origin_announced_del(cur);
  link_del(&mesh);
  link_del(&up);
  node_del(&P);
  node_del(&R1);
  node_del(&R2);
}

static void test_relay_pair_lite05(void **state) { run_relay_pair(MOQC_SESSION_VERSION_LITE_05); }
static void test_relay_pair_lite04(void **state) { run_relay_pair(MOQC_SESSION_VERSION_LITE_04); }

/* A track the publisher does not have: the refusal travels back through the relay. */
static void test_not_found_through_relay(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 1);
  viewer v;
  viewer_new(&v, &r.S[0], "demo/bbb", "audio");
  int rv = viewer_subscribe(&v);
  assert_int_equal(rv, MOQC_ERR_PENDING);
  relay_pump(&r);
  rv = moqc_track_consumer_subscribe(v.tc, NULL, &v.ts, v.w);
  assert_int_equal(rv, MOQC_ERR_NOT_FOUND);
  /* The sessions carry on: the existing track still works. */
  viewer ok;
  viewer_new(&ok, &r.S[0], "demo/bbb", "video");
  viewer_subscribe(&ok);
  relay_pump(&r);
  assert_int_equal(viewer_subscribe(&ok), 0);
  assert_false(moqc_session_is_closed(r.up.s));
  assert_false(moqc_session_is_closed(r.down[0].s));
  viewer_del(&ok);
  viewer_del(&v);
  relay_del(&r);
}

/* lite-05 fetch-through: a local fetch at the relay of a group it never cached goes upstream
 * as FETCH; a group the publisher lacks fails with NOT_FOUND. */
static void test_fetch_through_relay(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 0);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  for (int g = 0; g < 3; g++) {
    pub_group(&r.p, now, 2, 10 * (uint64_t)g);
  }
  relay_pump(&r);
  viewer v;
  viewer_new(&v, &r.R, "demo/bbb", "video");
  moqc_group_consumer *gc = NULL;
  int rv = moqc_track_consumer_fetch_group(v.tc, 1, &gc, v.w);
  for (int i = 0; i < 5 && rv == MOQC_ERR_PENDING; i++) {
    relay_pump(&r);
    rv = moqc_track_consumer_fetch_group(v.tc, 1, &gc, v.w);
  }
  assert_int_equal(rv, 0);
  relay_pump(&r);
  assert_int_equal(moqc_group_consumer_sequence(gc), 1);
  moqc_rcbuf *buf;
  uint64_t ts;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
  assert_int_equal(ts, 10);
  assert_int_equal(moqc_rcbuf_data(buf)[0], 1);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
  assert_int_equal(ts, 43);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), MOQC_END);
  moqc_group_consumer_del(gc);
  /* A group the publisher does not have. */
  rv = moqc_track_consumer_fetch_group(v.tc, 9, &gc, v.w);
  for (int i = 0; i < 5 && rv == MOQC_ERR_PENDING; i++) {
    relay_pump(&r);
    rv = moqc_track_consumer_fetch_group(v.tc, 9, &gc, v.w);
  }
  if (rv == 0) {
    /* Served as a group that then aborts with the upstream's refusal. */
    relay_pump(&r);
    rv = moqc_group_consumer_read_frame(gc, &buf, &ts, v.w);
    moqc_group_consumer_del(gc);
  }
  assert_int_equal(rv, MOQC_ERR_NOT_FOUND);
  assert_false(moqc_session_is_closed(r.up.s));
  viewer_del(&v);
  relay_del(&r);
}

/* The publisher ends its track and unannounces at once: the unannounce (a control stream) can
 * reach the relay before SUBSCRIBE_END, yet viewers still get every group and a clean end. */
static void test_unannounce_right_after_end(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 2);
  viewer v[2];
  subscribe_all(&r, v, 2);
  moqc_tstamp now = moqc__mem_now(r.up.pair);
  pub_group(&r.p, now, 3, 0);
  pub_group(&r.p, now, 3, 100);
  assert_int_equal(moqc_track_producer_finish(r.p.tp), 0);
  pub_del(&r.p);
  memset(&r.p, 0, sizeof(r.p));
  relay_pump(&r);
  relay_linger(&r);
  for (int i = 0; i < 2; i++) {
    uint64_t seqs[4], frames[4];
    int n = viewer_read(&v[i], seqs, frames, 4);
    assert_int_equal(n, 2);
    assert_int_equal(frames[0], 3);
    assert_int_equal(frames[1], 3);
    moqc_group_consumer *gc;
    assert_int_equal(moqc_track_subscriber_recv_group(v[i].ts, &gc, v[i].w), MOQC_END);
    viewer_del(&v[i]);
  }
  /* The broadcast is gone everywhere. */
  moqc_broadcast_consumer *bc;
  assert_int_equal(moqc_origin_consumer_consume_broadcast(r.R.cons, moqc_str_c("demo/bbb"), &bc),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(r.S[0].cons, moqc_str_c("demo/bbb"), &bc),
      MOQC_ERR_NOT_FOUND);
  relay_pump(&r);
  relay_del(&r);
}

/* A viewer on the relay's origin that asks for the track the moment the publisher's announce
 * is mirrored there (on a multi-worker relay: a viewer's session on another thread) finds
 * the mirror with its track handler: the request queues and is served, it is not told the
 * track does not exist (the mirror used to be published first and given its handler after). */
static void test_mirror_served_when_announced(void **state) {
  relay r;
  relay_init(&r, MOQC_SESSION_VERSION_LITE_05);
  relay_pump(&r);
  eager_viewer v;
  assert_int_equal(eager_viewer_start(&v, r.R.cons, "video"), 0);
  pub_new(&r.p, &r.P, "demo/bbb", "video");
  relay_pump(&r);
  assert_int_equal(v.lookup, 0);
  moqc_track_info info;
  assert_int_equal(moqc_track_consumer_info(v.tc, &info, NULL), 0);
  eager_viewer_del(&v);
  relay_del(&r);
}

/* lite-05: the relay's session accepts a viewer's track request with its fetch handler in
 * place, so a viewer that fetches an old group the moment the track is accepted (from
 * another worker) gets the fetch queued upstream, not "not found". */
static void test_track_fetchable_when_accepted(void **state) {
  relay r;
  relay_new(&r, MOQC_SESSION_VERSION_LITE_05, 0);
  moqc_origin_announced *cur;
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_consumer_announced(r.R.cons, &cur), 0);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_non_null(ev.broadcast);
  eager_fetcher e = {NULL, NULL, 1};
  moqc_waker *w;
  moqc_track_info info;
  assert_int_equal(moqc_broadcast_consumer_track(ev.broadcast, "video", &e.tc), 0);
  assert_int_equal(moqc_waker_new(&w, eager_fetcher_wake, &e, NULL), 0);
  assert_int_equal(moqc_track_consumer_info(e.tc, &info, w), MOQC_ERR_PENDING);
  relay_pump(&r);
  assert_int_equal(e.fetch, MOQC_ERR_PENDING);
  moqc_waker_close(w);
  moqc_group_consumer_del(e.gc);
  moqc_track_consumer_del(e.tc);
  moqc_broadcast_consumer_del(ev.broadcast);
  moqc_origin_announced_del(cur);
  relay_del(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fanout_lite05),
      cmocka_unit_test(test_fanout_lite04),
      cmocka_unit_test(test_fanout_lite03),
      cmocka_unit_test(test_fanout_legacy),
      cmocka_unit_test(test_late_joiner_and_unannounce),
      cmocka_unit_test(test_subscription_end),
      cmocka_unit_test(test_subscriber_leaving),
      cmocka_unit_test(test_publisher_leaving),
      cmocka_unit_test(test_misbehaving_peer),
      cmocka_unit_test(test_groups_out_of_order),
      cmocka_unit_test(test_newest_first_under_congestion),
      cmocka_unit_test(test_subscribe_update_upstream),
      cmocka_unit_test(test_datagrams),
      cmocka_unit_test(test_stream_credit_waits),
      cmocka_unit_test(test_lost_group_stream),
      cmocka_unit_test(test_relay_pair_lite05),
      cmocka_unit_test(test_relay_pair_lite04),
      cmocka_unit_test(test_not_found_through_relay),
      cmocka_unit_test(test_fetch_through_relay),
      cmocka_unit_test(test_unannounce_right_after_end),
      cmocka_unit_test(test_mirror_served_when_announced),
      cmocka_unit_test(test_track_fetchable_when_accepted),
  };
  if (getenv("TEST_FILTER") != NULL) {
    cmocka_set_test_filter(getenv("TEST_FILTER"));
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
