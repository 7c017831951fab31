/*
 * Groups waiting for stream credit (settings.group_wait_max, pub_subscribe.c): a publisher
 * session whose peer grants only a few uni streams keeps a bounded queue of groups per
 * subscription and sends them in sequence order as the peer frees streams. The bounds (count,
 * and the subscription's max latency) drop the oldest waiting groups and keep the newest; a
 * dropped group's frames are never read, so egress metering counts only what was sent; ending
 * the subscription or closing the session releases every waiting group (ASan: no leaks).
 *
 * The "stall": groups are produced and the publisher session polled directly on an advancing
 * clock, with nothing transmitted, so the group streams it opened stay open and use up the
 * peer's stream limit. Pumping then delivers them; each freed stream lets a waiting group go.
 */
#include "test_session_harness.h"

#include <moqc/stats.h>

#define F 2 /* frames per group */
#define B 3 /* pub_group writes 3-byte frames */
#define QGROUPS 20
#define MS MOQC_MILLISECONDS

/* The publisher (node P, client) and the subscriber (node S, server) on one pair whose sides
 * may each have max_uni uni streams open; the publisher's session has group_wait_max wait_max
 * and meters egress into ctx. */
typedef struct qlink {
  moqc_stats_registry *reg;
  moqc_stats_session *ctx;
  node P, S;
  tlink l;
  pub p;
  viewer v;
} qlink;

static void qlink_new(qlink *q, uint64_t max_uni, size_t wait_max) {
  memset(q, 0, sizeof(*q));
  assert_int_equal(moqc_stats_registry_new(&q->reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_stats_session_new(&q->ctx, q->reg, moqc_str_c("sub"), moqc_str_c("")), 0);
  node_new(&q->P, ID_P);
  node_new(&q->S, ID_S);
  moqc__mem_settings ms;
  moqc__mem_settings_default(&ms);
  ms.max_streams_uni = max_uni;
  tlink *l = &q->l;
  assert_int_equal(moqc__mem_pair_new(&l->pair, &ms, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.origin_id = ID_P;
  st.group_wait_max = wait_max;
  if (getenv("SESSION_LOG") != NULL) {
    st.log.write = test_log;
    st.log.level = MOQC_LOG_TRACE;
    st.log.user_data = (void *)"pub";
  }
  moqc_transport tc = moqc__mem_transport(l->pair, MOQC__MEM_CLIENT);
  assert_int_equal(moqc_session_new(&l->c, &st, &tc, q->P.cons, NULL,
                                    moqc_stats_session_ctx(q->ctx)),
                   0);
  st.perspective = MOQC_SESSION_SERVER;
  st.origin_id = ID_S;
  st.group_wait_max = 0;
  st.log.user_data = (void *)"sub";
  moqc_transport ts = moqc__mem_transport(l->pair, MOQC__MEM_SERVER);
  assert_int_equal(moqc_session_new(&l->s, &st, &ts, NULL, q->S.prod, NULL), 0);
  moqc__mem_attach(l->pair, MOQC__MEM_CLIENT, moqc_session_app_ops(), l->c);
  moqc__mem_attach(l->pair, MOQC__MEM_SERVER, moqc_session_app_ops(), l->s);
  moqc_tstamp now = moqc__mem_now(l->pair);
  assert_int_equal(moqc_session_start(l->s, now), 0);
  assert_int_equal(moqc_session_start(l->c, now), 0);
  pub_new(&q->p, &q->P, "demo/bbb", "video");
  pump1(l);
}

/* Subscribes v with sub, pumping until the remote track's info let the subscription resolve. */
static void viewer_subscribe_with(qlink *q, viewer *v, const moqc_subscription *sub) {
  for (int i = 0; i < 3 && v->ts == NULL; i++) {
    int rv = moqc_track_consumer_subscribe(v->tc, sub, &v->ts, v->w);
    assert_true(rv == 0 || rv == MOQC_ERR_PENDING);
    pump1(&q->l);
  }
  assert_non_null(v->ts);
}

/* The viewer on S subscribes (latency_ms 0: the default, the track's retention) and the
 * subscription reaches the publisher. */
static void qlink_subscribe(qlink *q, uint64_t latency_ms, bool ordered) {
  viewer_new(&q->v, &q->S, "demo/bbb", "video");
  moqc_subscription sub;
  moqc_subscription_default(&sub);
  sub.ordered = ordered;
  if (latency_ms != 0) {
    sub.latency_max = latency_ms * MS;
  }
  viewer_subscribe_with(q, &q->v, &sub);
}

static void qlink_del(qlink *q) {
  if (q->v.w != NULL) {
    viewer_del(&q->v);
  }
  pub_del(&q->p);
  link_del(&q->l);
  node_del(&q->P);
  node_del(&q->S);
  moqc_stats_session_decref(q->ctx);
  moqc_stats_registry_decref(q->reg);
}

/* Uni streams open on the pair (setup streams and group streams not yet finished). */
static size_t qlink_streams(qlink *q) { return moqc__mem_stream_count(q->l.pair); }

/*
 * The stall: n groups of F frames, step apart on the clock, each handed to the publisher
 * session by a direct poll while nothing is transmitted. Returns how many group streams the
 * publisher could open (its free stream credit).
 */
static size_t stall(qlink *q, int n, moqc_tstamp step) {
  size_t before = qlink_streams(q);
  for (int g = 0; g < n; g++) {
    if (g > 0) {
      moqc__mem_advance(q->l.pair, step);
    }
    moqc_tstamp now = moqc__mem_now(q->l.pair);
    pub_group(&q->p, now, F, (uint64_t)g);
    assert_int_equal(moqc_session_poll(q->l.c, now), 0);
  }
  return qlink_streams(q) - before;
}

static void egress(qlink *q, moqc_usage_counters *out) {
  moqc_usage *u;
  assert_int_equal(moqc_stats_registry_sink(q->reg, moqc_str_c("sub"), MOQC_DIRECTION_EGRESS,
                                            moqc_str_c("demo/bbb"), &u),
                   0);
  assert_non_null(u);
  moqc_usage_read(u, out);
  moqc_usage_decref(u);
}

/* Asserts that the viewer got exactly the groups want[0..n) (ascending), each with F frames: in
 * that order when the subscription is ordered; otherwise in any order (the write path sends the
 * newest open group first). */
static void expect_groups(qlink *q, const uint64_t *want, int n, bool ordered) {
  uint64_t seqs[QGROUPS + 4], frames[QGROUPS + 4];
  int got = viewer_read(&q->v, seqs, frames, QGROUPS + 4);
  for (int i = 0; i < got; i++) {
    print_message("  got group %llu (%llu frames)\n", (unsigned long long)seqs[i],
                  (unsigned long long)frames[i]);
    assert_int_equal(frames[i], F);
  }
  assert_int_equal(got, n);
  if (!ordered) {
    for (int i = 1; i < got; i++) {
      for (int j = i; j > 0 && seqs[j - 1] > seqs[j]; j--) {
        uint64_t t = seqs[j];
        seqs[j] = seqs[j - 1];
        seqs[j - 1] = t;
      }
    }
  }
  for (int i = 0; i < n; i++) {
    assert_int_equal(seqs[i], want[i]);
  }
}

/* The publisher's free stream credit with a limit of 4 uni streams per side (the lite-05 Setup
 * streams are finished by then). */
#define CREDIT 4

/*
 * 20 groups while only 4 streams are free, at most 8 waiting: groups 0..3 take the streams at
 * once, 4..11 are dropped as the queue overflows (oldest first), 12..19 wait and all arrive in
 * order once the streams free (an ordered subscription: the write path keeps sequence order). Egress frames and bytes count only the 12 groups sent.
 */
static void test_count_bound(void **state) {
  qlink q;
  qlink_new(&q, 4, 8);
  qlink_subscribe(&q, 0, true);
  assert_int_equal(stall(&q, QGROUPS, 1 * MS), CREDIT);
  pump1(&q.l);
  uint64_t want[CREDIT + 8];
  int n = 0;
  for (uint64_t g = 0; g < CREDIT; g++) {
    want[n++] = g;
  }
  for (uint64_t g = QGROUPS - 8; g < QGROUPS; g++) {
    want[n++] = g;
  }
  expect_groups(&q, want, n, true);

  moqc_usage_counters out;
  egress(&q, &out);
  /* The model counts a group when it hands it to the subscription (spec/metering.md 3), sent
   * or not; frames and bytes only when read, which a dropped waiting group never is. */
  assert_int_equal(out.groups, QGROUPS);
  assert_int_equal(out.frames, (uint64_t)n * F);
  assert_int_equal(out.bytes, (uint64_t)n * F * B);
  assert_int_equal(out.subscriptions, 1);
  qlink_del(&q);
}

/* group_wait_max 1: only the newest group waits (0..3 took the streams, 19 waited). */
static void test_bound_one_keeps_newest(void **state) {
  qlink q;
  qlink_new(&q, 4, 1);
  qlink_subscribe(&q, 0, true);
  assert_int_equal(stall(&q, QGROUPS, 1 * MS), CREDIT);
  pump1(&q.l);
  uint64_t want[CREDIT + 1] = {0, 1, 2, 3, QGROUPS - 1};
  expect_groups(&q, want, CREDIT + 1, true);
  moqc_usage_counters out;
  egress(&q, &out);
  assert_int_equal(out.frames, (CREDIT + 1) * F);
  qlink_del(&q);
}

/* The default bound (64) holds every group of the stall: all 20 arrive, in order. */
static void test_default_bound_keeps_all(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 0, false);
  assert_int_equal(stall(&q, QGROUPS, 1 * MS), CREDIT);
  pump1(&q.l);
  uint64_t want[QGROUPS];
  for (int g = 0; g < QGROUPS; g++) {
    want[g] = (uint64_t)g;
  }
  expect_groups(&q, want, QGROUPS, false);
  moqc_usage_counters out;
  egress(&q, &out);
  assert_int_equal(out.groups, QGROUPS);
  assert_int_equal(out.frames, QGROUPS * F);
  assert_int_equal(out.bytes, QGROUPS * F * B);
  qlink_del(&q);
}

/*
 * A subscriber max latency of 50 ms, groups 10 ms apart: when group 19 arrives (at 190 ms),
 * waiting groups that arrived more than 50 ms earlier are dropped (14..19 stay, 14 being exactly
 * 50 ms old), as the groups in flight (0..3, never transmitted, so backlogged) are reset.
 */
static void test_latency_bound(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 50, false);
  assert_int_equal(stall(&q, QGROUPS, 10 * MS), CREDIT);
  pump1(&q.l);
  uint64_t want[6];
  for (int i = 0; i < 6; i++) {
    want[i] = (uint64_t)(14 + i);
  }
  expect_groups(&q, want, 6, false);
  moqc_usage_counters out;
  egress(&q, &out);
  /* Read and sent: 0..3 (then reset as too old; their bytes left the model) and 14..19. */
  assert_int_equal(out.frames, (CREDIT + 6) * F);
  assert_int_equal(out.bytes, (CREDIT + 6) * F * B);
  qlink_del(&q);
}

/*
 * A waiting group already older than the budget when the streams free is still sent when it is
 * the newest (nothing newer to prefer); older ones are dropped at that point too.
 */
static void test_latency_checked_when_credit_returns(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 50, false);
  /* 7 groups 5 ms apart: 0..3 take the streams, 4..6 wait (all within 50 ms). */
  assert_int_equal(stall(&q, 7, 5 * MS), CREDIT);
  /* The stall lasts: by the time the streams free, every waiting group is over 50 ms old. */
  moqc__mem_advance(q.l.pair, 200 * MS);
  pump1(&q.l);
  uint64_t want[CREDIT + 1] = {0, 1, 2, 3, 6};
  expect_groups(&q, want, CREDIT + 1, false);
  qlink_del(&q);
}

/*
 * The track ends while groups wait: the Subscribe stream's FIN (after end_linger) waits for
 * them, so the viewer gets every group, then the end.
 */
static void test_end_waits_for_queue(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 0, false);
  assert_int_equal(stall(&q, 10, 1 * MS), CREDIT);
  assert_int_equal(moqc_track_producer_finish(q.p.tp), 0);
  assert_int_equal(moqc_session_poll(q.l.c, moqc__mem_now(q.l.pair)), 0);
  pump1(&q.l);
  moqc__mem_advance(q.l.pair, 600 * MS); /* end_linger */
  pump1(&q.l);
  uint64_t want[10];
  for (int g = 0; g < 10; g++) {
    want[g] = (uint64_t)g;
  }
  expect_groups(&q, want, 10, false);
  moqc_group_consumer *gc;
  assert_int_equal(moqc_track_subscriber_recv_group(q.v.ts, &gc, q.v.w), MOQC_END);
  qlink_del(&q);
}

/*
 * The subscriber unsubscribes while groups wait: none of them is sent (their frames are never
 * read, so not metered), the subscription closes, and their references go (ASan).
 */
static void test_unsubscribe_drops_queue(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 0, false);
  size_t idle = qlink_streams(&q);
  assert_int_equal(stall(&q, 10, 1 * MS), CREDIT);
  viewer_del(&q.v);
  memset(&q.v, 0, sizeof(q.v));
  /* The unsubscribe reaches the publisher before any stream frees. */
  assert_int_equal(moqc_session_poll(q.l.s, moqc__mem_now(q.l.pair)), 0);
  assert_true(moqc__mem_transmit(q.l.pair, MOQC__MEM_SERVER, SIZE_MAX) > 0);
  pump1(&q.l);
  moqc_usage_counters out;
  egress(&q, &out);
  assert_int_equal(out.subscriptions_closed, 1);
  assert_int_equal(out.frames, CREDIT * F);
  assert_int_equal(out.bytes, CREDIT * F * B);
  /* No group stream was opened afterwards (those in flight were reset), and the Subscribe
   * stream is gone too: only the Announce stream is left. */
  assert_int_equal(qlink_streams(&q), idle - 1);
  qlink_del(&q);
}

/* The session closes while groups wait: every waiting reference is released (ASan), the
 * subscription closes, nothing more is read. */
static void test_close_drops_queue(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 0, false);
  assert_int_equal(stall(&q, 10, 1 * MS), CREDIT);
  moqc_session_close(q.l.c, 0, "bye");
  moqc_usage_counters out;
  egress(&q, &out);
  assert_int_equal(out.subscriptions_closed, 1);
  assert_int_equal(out.frames, CREDIT * F);
  pump1(&q.l);
  qlink_del(&q);
}

/* Session teardown (moqc_session_del without a close first) with groups waiting. */
static void test_del_with_queue(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  qlink_subscribe(&q, 0, false);
  assert_int_equal(stall(&q, 10, 1 * MS), CREDIT);
  qlink_del(&q);
}

/*
 * Two subscriptions of one session wait for streams: the higher subscriber priority gets the
 * freed streams first (spec 5.1 write order), each in sequence order; then the other.
 */
static void test_priority_across_subscriptions(void **state) {
  qlink q;
  qlink_new(&q, 4, 0);
  moqc_track_info info;
  moqc_track_info_default(&info);
  moqc_track_producer *audio;
  assert_int_equal(moqc_broadcast_producer_create_track(q.p.bp, "audio", &info, &audio), 0);
  pub pa = q.p;
  pa.tp = audio;
  viewer va;
  viewer_new(&q.v, &q.S, "demo/bbb", "video");
  viewer_new(&va, &q.S, "demo/bbb", "audio");
  moqc_subscription sub;
  moqc_subscription_default(&sub);
  sub.ordered = true;
  sub.priority = 1;
  viewer_subscribe_with(&q, &va, &sub);
  sub.priority = 2;
  viewer_subscribe_with(&q, &q.v, &sub);

  /* Audio and video groups alternate: a0 v0 a1 v1 take the 4 streams, a2..a4 and v2..v4 wait. */
  size_t before = qlink_streams(&q);
  for (int g = 0; g < 5; g++) {
    moqc__mem_advance(q.l.pair, 1 * MS);
    moqc_tstamp now = moqc__mem_now(q.l.pair);
    pub_group(&pa, now, F, (uint64_t)g);
    pub_group(&q.p, now, F, (uint64_t)g);
    assert_int_equal(moqc_session_poll(q.l.c, now), 0);
  }
  assert_int_equal(qlink_streams(&q) - before, CREDIT);
  /* Deliver the 4 streams: they finish and free 4 slots; the publisher opens 4 more. */
  assert_true(moqc__mem_transmit(q.l.pair, MOQC__MEM_CLIENT, SIZE_MAX) > 0);
  assert_int_equal(moqc_session_poll(q.l.c, moqc__mem_now(q.l.pair)), 0);
  assert_true(moqc__mem_transmit(q.l.pair, MOQC__MEM_CLIENT, SIZE_MAX) > 0);
  /* Video (priority 2) went first: all of it, then audio's oldest waiting group. */
  uint64_t want_v[5] = {0, 1, 2, 3, 4};
  expect_groups(&q, want_v, 5, true);
  viewer vv = q.v;
  q.v = va;
  uint64_t want_a[3] = {0, 1, 2};
  expect_groups(&q, want_a, 3, true);
  /* The rest follows. */
  pump1(&q.l);
  uint64_t want_a2[2] = {3, 4};
  expect_groups(&q, want_a2, 2, true);
  q.v = vv;
  viewer_del(&va);
  moqc_track_producer_del(audio);
  qlink_del(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_bound),
      cmocka_unit_test(test_bound_one_keeps_newest),
      cmocka_unit_test(test_default_bound_keeps_all),
      cmocka_unit_test(test_latency_bound),
      cmocka_unit_test(test_latency_checked_when_credit_returns),
      cmocka_unit_test(test_end_waits_for_queue),
      cmocka_unit_test(test_priority_across_subscriptions),
      cmocka_unit_test(test_unsubscribe_drops_queue),
      cmocka_unit_test(test_close_drops_queue),
      cmocka_unit_test(test_del_with_queue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
