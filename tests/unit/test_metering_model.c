/*
 * spec/metering.md section 8 through the real model and origin, attributed by
 * stats session contexts: known traffic gives exact totals on both sides.
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/origin.h>

#define S(x) moqc_str_c(x)

/* A node: a registry, an origin, untagged root handles. */
typedef struct node {
  moqc_stats_registry *reg;
  moqc_origin *origin;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
} node;

static void node_open(node *n) {
  assert_int_equal(moqc_stats_registry_new(&n->reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_origin_new(&n->origin, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(n->origin, &n->prod), 0);
  assert_int_equal(moqc_origin_consumer_new(n->origin, &n->cons), 0);
}

static void node_close(node *n) {
  moqc_origin_producer_del(n->prod);
  moqc_origin_consumer_del(n->cons);
  moqc_origin_decref(n->origin);
  moqc_stats_registry_decref(n->reg);
}

/* A publishing session: a tagged producer handle, one broadcast, its tracks. */
typedef struct publisher {
  moqc_stats_session *s;
  moqc_origin_producer *p;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
} publisher;

static void publisher_open(node *n, publisher *pub, const char *path) {
  assert_int_equal(moqc_stats_session_new(&pub->s, n->reg, S(""), S("")), 0);
  assert_int_equal(moqc_origin_producer_with_usage(
                       n->prod, moqc_stats_session_ctx(pub->s), &pub->p),
                   0);
  assert_int_equal(moqc_origin_producer_create_broadcast(pub->p, S(path), NULL,
                                                         &pub->bp, &pub->guard),
                   0);
}

static void publisher_close(publisher *pub) {
  moqc_origin_publish_del(pub->guard);
  moqc_broadcast_producer_del(pub->bp);
  moqc_origin_producer_del(pub->p);
  moqc_stats_session_decref(pub->s);
}

/* A viewing session: a tagged consumer handle and the broadcast it was handed.
 */
typedef struct viewer {
  moqc_stats_session *s;
  moqc_origin_consumer *c;
  moqc_broadcast_consumer *bc;
} viewer;

static void viewer_open(node *n, viewer *v, const char *path) {
  assert_int_equal(moqc_stats_session_new(&v->s, n->reg, S(""), S("")), 0);
  assert_int_equal(moqc_origin_consumer_with_usage(
                       n->cons, moqc_stats_session_ctx(v->s), &v->c),
                   0);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(v->c, S(path), &v->bc), 0);
}

static void viewer_close(viewer *v) {
  moqc_broadcast_consumer_del(v->bc);
  moqc_origin_consumer_del(v->c);
  moqc_stats_session_decref(v->s);
}

static moqc_track_subscriber *subscribe(viewer *v, const char *track,
                                        moqc_track_consumer **tc) {
  moqc_track_subscriber *ts;
  assert_int_equal(moqc_broadcast_consumer_track(v->bc, track, tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(*tc, NULL, &ts, NULL), 0);
  return ts;
}

/* Writes groups x frames x bytes on tp. */
static void write_groups(moqc_track_producer *tp, int groups, int frames,
                         size_t bytes) {
  uint8_t payload[4096];
  assert_true(bytes <= sizeof(payload));
  memset(payload, 0xab, bytes);
  for (int g = 0; g < groups; g++) {
    moqc_group_producer *gp;
    assert_int_equal(moqc_track_producer_append_group(tp, 0, &gp), 0);
    for (int f = 0; f < frames; f++) {
      assert_int_equal(
          moqc_group_producer_write_frame(gp, payload, bytes, (uint64_t)f), 0);
    }
    assert_int_equal(moqc_group_producer_finish(gp), 0);
    moqc_group_producer_del(gp);
  }
}

/* Reads every frame of gc; returns the frame count and adds the bytes to
 * *bytes. */
static int read_group(moqc_group_consumer *gc, uint64_t *bytes) {
  int frames = 0;
  for (;;) {
    moqc_rcbuf *buf;
    int rv = moqc_group_consumer_read_frame(gc, &buf, NULL, NULL);
    if (rv == MOQC_END) {
      return frames;
    }
    assert_int_equal(rv, 0);
    *bytes += moqc_rcbuf_len(buf);
    moqc_rcbuf_decref(buf);
    frames++;
  }
}

/* Reads every available group of ts to the end; returns the group count. */
static int read_all(moqc_track_subscriber *ts, int *frames, uint64_t *bytes) {
  int groups = 0;
  for (;;) {
    moqc_group_consumer *gc;
    int rv = moqc_track_subscriber_next_group(ts, &gc, NULL);
    if (rv == MOQC_ERR_PENDING || rv == MOQC_END) {
      return groups;
    }
    assert_int_equal(rv, 0);
    *frames += read_group(gc, bytes);
    moqc_group_consumer_del(gc);
    groups++;
  }
}

static moqc_usage_counters sink(node *n, moqc_direction dir, const char *path) {
  moqc_usage *u;
  moqc_usage_counters c;
  assert_int_equal(moqc_stats_registry_sink(n->reg, S(""), dir, S(path), &u),
                   0);
  moqc_usage_read(u, &c);
  moqc_usage_decref(u);
  return c;
}

#define G 3
#define F 4
#define B 100
#define K 3

static void test_known_traffic_exact_totals(void **state) {
  (void)state;
  node n;
  publisher pub;
  viewer v[K];
  moqc_track_consumer *tc[K];
  moqc_track_subscriber *ts[K];
  moqc_track_producer *tp;
  moqc_track_info info;

  node_open(&n);
  publisher_open(&n, &pub, "live/demo");
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(pub.bp, "video", &info, &tp), 0);
  for (int k = 0; k < K; k++) {
    viewer_open(&n, &v[k], "live/demo");
    ts[k] = subscribe(&v[k], "video", &tc[k]);
  }
  write_groups(tp, G, F, B);
  for (int k = 0; k < K; k++) {
    int frames = 0;
    uint64_t bytes = 0;
    assert_int_equal(read_all(ts[k], &frames, &bytes), G);
    assert_int_equal(frames, G * F);
    assert_int_equal(bytes, G * F * B);
  }

  moqc_usage_counters in = sink(&n, MOQC_DIRECTION_INGRESS, "live/demo");
  moqc_usage_counters eg = sink(&n, MOQC_DIRECTION_EGRESS, "live/demo");
  /* Ingress once per write. */
  assert_int_equal(in.groups, G);
  assert_int_equal(in.frames, G * F);
  assert_int_equal(in.bytes, G * F * B);
  assert_int_equal(in.broadcasts, 1); /* one live publisher */
  assert_int_equal(in.broadcasts_closed, 0);
  assert_int_equal(in.subscriptions, 1); /* one live track producer */
  assert_int_equal(in.announced, 1);
  assert_int_equal(in.announced_bytes, strlen("live/demo"));
  /* Egress once per reading consumer. */
  assert_int_equal(eg.groups, K * G);
  assert_int_equal(eg.frames, K * G * F);
  assert_int_equal(eg.bytes, K * G * F * B);
  assert_int_equal(eg.broadcasts, K);
  assert_int_equal(eg.broadcasts_closed, 0);
  assert_int_equal(eg.subscriptions, K);
  assert_int_equal(eg.fetches, 0);
  assert_int_equal(eg.datagrams, 0);

  /* The viewers leave: viewers closed K. */
  for (int k = 0; k < K; k++) {
    moqc_track_subscriber_del(ts[k]);
    moqc_track_consumer_del(tc[k]);
    viewer_close(&v[k]);
  }
  eg = sink(&n, MOQC_DIRECTION_EGRESS, "live/demo");
  assert_int_equal(eg.broadcasts_closed, K);
  assert_int_equal(eg.subscriptions_closed, K);
  /* The publisher leaves: publishers closed 1. */
  moqc_track_producer_del(tp);
  publisher_close(&pub);
  in = sink(&n, MOQC_DIRECTION_INGRESS, "live/demo");
  assert_int_equal(in.broadcasts_closed, 1);
  assert_int_equal(in.subscriptions_closed, 1);
  assert_int_equal(in.announced_closed, 1);
  assert_int_equal(in.announced_bytes, 2 * strlen("live/demo"));
  assert_int_equal(in.bytes, G * F * B); /* unchanged by the readers */

  /* Readouts agree: snapshot totals and presence, every session closed. */
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(n.reg, &snap), 0);
  assert_int_equal(snap->n_traffic, 2);
  assert_int_equal(snap->traffic[0].c.bytes, K * G * F * B);
  assert_int_equal(snap->traffic[1].c.bytes, G * F * B);
  assert_int_equal(snap->sessions[0].p.sessions, K + 1);
  assert_int_equal(snap->sessions[0].p.sessions_closed, K + 1);
  moqc_stats_snapshot_del(snap);
  node_close(&n);
}

static void test_one_session_several_tracks_is_one_viewer(void **state) {
  (void)state;
  node n;
  publisher pub;
  viewer v;
  moqc_track_producer *video, *audio;
  moqc_track_consumer *tc1, *tc2, *tc3;
  moqc_track_info info;

  node_open(&n);
  publisher_open(&n, &pub, "demo");
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(pub.bp, "video", &info, &video), 0);
  assert_int_equal(
      moqc_broadcast_producer_create_track(pub.bp, "audio", &info, &audio), 0);
  viewer_open(&n, &v, "demo");
  moqc_track_subscriber *s1 = subscribe(&v, "video", &tc1);
  moqc_track_subscriber *s2 = subscribe(&v, "audio", &tc2);
  /* A second hand-off of the same broadcast to the same session: still the same
   * viewer. */
  moqc_broadcast_consumer *again;
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(v.c, S("demo"), &again), 0);
  moqc_track_subscriber *s3;
  assert_int_equal(moqc_broadcast_consumer_track(again, "video", &tc3), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc3, NULL, &s3, NULL), 0);

  moqc_usage_counters eg = sink(&n, MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(eg.broadcasts, 1);
  assert_int_equal(eg.subscriptions, 3);
  moqc_usage_counters in = sink(&n, MOQC_DIRECTION_INGRESS, "demo");
  assert_int_equal(in.broadcasts, 1); /* one publisher with two tracks */
  assert_int_equal(in.subscriptions, 2);

  moqc_track_subscriber_del(s1);
  moqc_track_subscriber_del(s2);
  eg = sink(&n, MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(eg.broadcasts_closed, 0); /* s3 still live */
  moqc_track_subscriber_del(s3);
  eg = sink(&n, MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(eg.broadcasts_closed, 1);
  assert_int_equal(eg.subscriptions_closed, 3);

  moqc_track_consumer_del(tc1);
  moqc_track_consumer_del(tc2);
  moqc_track_consumer_del(tc3);
  moqc_broadcast_consumer_del(again);
  viewer_close(&v);
  moqc_track_producer_del(video);
  moqc_track_producer_del(audio);
  publisher_close(&pub);
  node_close(&n);
}

static void test_fetch_counts_fetches_frames_bytes_not_groups(void **state) {
  (void)state;
  node n;
  publisher pub;
  viewer v;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_track_info info;

  node_open(&n);
  publisher_open(&n, &pub, "demo");
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(pub.bp, "video", &info, &tp), 0);
  write_groups(tp, 2, 3, 10);
  viewer_open(&n, &v, "demo");
  assert_int_equal(moqc_broadcast_consumer_track(v.bc, "video", &tc), 0);
  moqc_group_consumer *gc;
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 1, &gc, NULL), 0);
  uint64_t bytes = 0;
  assert_int_equal(read_group(gc, &bytes), 3);
  assert_int_equal(bytes, 30);
  moqc_group_consumer_del(gc);
  /* A fetch that ends not-found still counts. */
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 7, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);

  moqc_usage_counters eg = sink(&n, MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(eg.fetches, 2);
  assert_int_equal(eg.frames, 3);
  assert_int_equal(eg.bytes, 30);
  assert_int_equal(eg.groups, 0);
  assert_int_equal(eg.subscriptions, 0);
  assert_int_equal(eg.broadcasts, 0); /* a fetch is not a viewer */
  assert_int_equal(sink(&n, MOQC_DIRECTION_INGRESS, "demo").fetches, 0);

  moqc_track_consumer_del(tc);
  viewer_close(&v);
  moqc_track_producer_del(tp);
  publisher_close(&pub);
  node_close(&n);
}

static void test_datagrams_counted_both_sides(void **state) {
  (void)state;
  node n;
  publisher pub;
  viewer v;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_track_info info;

  node_open(&n);
  publisher_open(&n, &pub, "demo");
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(pub.bp, "dg", &info, &tp), 0);
  viewer_open(&n, &v, "demo");
  moqc_track_subscriber *ts = subscribe(&v, "dg", &tc);
  assert_int_equal(
      moqc_track_producer_write_datagram(tp, (const uint8_t *)"hello", 5, 0, 0),
      0);
  moqc_rcbuf *payload;
  uint64_t seq;
  assert_int_equal(
      moqc_track_subscriber_recv_datagram(ts, &seq, NULL, &payload, NULL), 0);
  assert_int_equal(moqc_rcbuf_len(payload), 5);
  moqc_rcbuf_decref(payload);
  for (int d = 0; d < 2; d++) {
    moqc_usage_counters c = sink(&n, (moqc_direction)d, "demo");
    assert_int_equal(c.datagrams, 1);
    assert_int_equal(c.groups, 1);
    assert_int_equal(c.frames, 1);
    assert_int_equal(c.bytes, 5);
  }
  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  viewer_close(&v);
  moqc_track_producer_del(tp);
  publisher_close(&pub);
  node_close(&n);
}

static void test_unmetered_touches_nothing(void **state) {
  (void)state;
  node n;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  moqc_track_info info;

  node_open(&n);
  /* Untagged handles on a node whose registry is live: nothing is attributed.
   */
  assert_int_equal(moqc_origin_producer_create_broadcast(n.prod, S("demo"),
                                                         NULL, &bp, &guard),
                   0);
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "video", &info, &tp), 0);
  moqc_broadcast_consumer *bc;
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(n.cons, S("demo"), &bc), 0);
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
  assert_int_equal(moqc_broadcast_consumer_track(bc, "video", &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &ts, NULL), 0);
  write_groups(tp, 2, 2, 8);
  int frames = 0;
  uint64_t bytes = 0;
  assert_int_equal(read_all(ts, &frames, &bytes), 2);
  assert_int_equal(bytes, 32);
  assert_null(moqc_broadcast_consumer_usage(bc));

  moqc_stats_report *rep;
  assert_int_equal(moqc_stats_registry_detail(n.reg, &rep), 0);
  assert_int_equal(rep->n_entries, 0);
  assert_int_equal(rep->n_sessions, 0);
  moqc_stats_report_del(rep);

  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_track_producer_del(tp);
  moqc_origin_publish_del(guard);
  moqc_broadcast_producer_del(bp);
  node_close(&n);
}

static void test_excluded_stats_prefix_produces_no_entries(void **state) {
  (void)state;
  node n;
  publisher pub;
  viewer v;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_track_info info;

  node_open(&n);
  /* Tagged sessions, but the stats broadcast's own prefix is excluded. */
  publisher_open(&n, &pub, ".stats/node/sjc");
  moqc_track_info_default(&info);
  assert_int_equal(moqc_broadcast_producer_create_track(
                       pub.bp, "publisher.json", &info, &tp),
                   0);
  viewer_open(&n, &v, ".stats/node/sjc");
  assert_null(moqc_broadcast_consumer_usage(v.bc));
  moqc_track_subscriber *ts = subscribe(&v, "publisher.json", &tc);
  write_groups(tp, 2, 1, 20);
  int frames = 0;
  uint64_t bytes = 0;
  assert_int_equal(read_all(ts, &frames, &bytes), 2);
  assert_int_equal(bytes, 40);

  moqc_stats_report *rep;
  assert_int_equal(moqc_stats_registry_detail(n.reg, &rep), 0);
  assert_int_equal(rep->n_entries, 0);
  assert_int_equal(rep->n_sessions,
                   1); /* presence is still counted: roots are never excluded */
  moqc_stats_report_del(rep);

  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  viewer_close(&v);
  moqc_track_producer_del(tp);
  publisher_close(&pub);
  node_close(&n);
}

/* Presence lasts while any handle derived from the session lives. */
static void test_presence_outlives_the_session_handle(void **state) {
  (void)state;
  node n;
  publisher pub;
  viewer v;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_track_info info;

  node_open(&n);
  publisher_open(&n, &pub, "demo");
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(pub.bp, "video", &info, &tp), 0);
  viewer_open(&n, &v, "demo");
  moqc_track_subscriber *ts = subscribe(&v, "video", &tc);
  /* The connection goes away, but its subscription handle is still alive. */
  moqc_broadcast_consumer_del(v.bc);
  moqc_origin_consumer_del(v.c);
  moqc_stats_session_decref(v.s);
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(n.reg, &snap), 0);
  assert_int_equal(snap->sessions[0].p.sessions, 2);
  assert_int_equal(snap->sessions[0].p.sessions_closed, 0);
  moqc_stats_snapshot_del(snap);
  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_stats_registry_snapshot(n.reg, &snap), 0);
  assert_int_equal(snap->sessions[0].p.sessions_closed, 1);
  assert_int_equal(snap->traffic[0].c.broadcasts_closed, 1);
  moqc_stats_snapshot_del(snap);
  moqc_track_producer_del(tp);
  publisher_close(&pub);
  node_close(&n);
}

/* The worked example of docs/METERING.md, number for number. */
static void test_docs_worked_example(void **state) {
  (void)state;
  node n;
  moqc_stats_session *sp, *sa, *sb;
  moqc_origin_producer *p;
  moqc_origin_consumer *ca, *cb;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_broadcast_consumer *ba, *bb;
  moqc_track_producer *video, *audio;
  moqc_track_consumer *tav, *taa, *tbv;
  moqc_track_info info;
  int frames = 0;
  uint64_t bytes = 0;

  node_open(&n);
  assert_int_equal(moqc_stats_session_new(&sp, n.reg, S(""), S("acme")), 0);
  assert_int_equal(moqc_stats_session_new(&sa, n.reg, S(""), S("acme")), 0);
  assert_int_equal(moqc_stats_session_new(&sb, n.reg, S(""), S("acme")), 0);
  assert_int_equal(
      moqc_origin_producer_with_usage(n.prod, moqc_stats_session_ctx(sp), &p),
      0);
  assert_int_equal(
      moqc_origin_consumer_with_usage(n.cons, moqc_stats_session_ctx(sa), &ca),
      0);
  assert_int_equal(
      moqc_origin_consumer_with_usage(n.cons, moqc_stats_session_ctx(sb), &cb),
      0);
  /* P publishes acme/live with two tracks. */
  assert_int_equal(moqc_origin_producer_create_broadcast(p, S("acme/live"),
                                                         NULL, &bp, &guard),
                   0);
  moqc_track_info_default(&info);
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "video", &info, &video), 0);
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "audio", &info, &audio), 0);
  /* A watches both tracks, B watches video. */
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(ca, S("acme/live"), &ba), 0);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(cb, S("acme/live"), &bb), 0);
  viewer va = {sa, ca, ba}, vb = {sb, cb, bb};
  moqc_track_subscriber *sav = subscribe(&va, "video", &tav);
  moqc_track_subscriber *saa = subscribe(&va, "audio", &taa);
  moqc_track_subscriber *sbv = subscribe(&vb, "video", &tbv);
  /* video: 2 groups x 3 frames x 100 bytes; audio: 1 group x 1 frame x 20
   * bytes. */
  write_groups(video, 2, 3, 100);
  write_groups(audio, 1, 1, 20);
  assert_int_equal(read_all(sav, &frames, &bytes), 2);
  assert_int_equal(read_all(saa, &frames, &bytes), 1);
  assert_int_equal(read_all(sbv, &frames, &bytes), 2);
  /* B fetches video group 0 again. */
  moqc_group_consumer *gc;
  assert_int_equal(moqc_track_consumer_fetch_group(tbv, 0, &gc, NULL), 0);
  frames += read_group(gc, &bytes);
  moqc_group_consumer_del(gc);
  assert_int_equal(frames, 7 + 6 + 3);
  assert_int_equal(bytes, 620 + 600 + 300);
  /* Everyone leaves. */
  moqc_track_subscriber_del(sav);
  moqc_track_subscriber_del(saa);
  moqc_track_subscriber_del(sbv);
  moqc_track_consumer_del(tav);
  moqc_track_consumer_del(taa);
  moqc_track_consumer_del(tbv);
  moqc_broadcast_consumer_del(ba);
  moqc_broadcast_consumer_del(bb);
  moqc_origin_consumer_del(ca);
  moqc_origin_consumer_del(cb);
  moqc_track_producer_del(video);
  moqc_track_producer_del(audio);
  moqc_origin_publish_del(guard);
  moqc_broadcast_producer_del(bp);
  moqc_origin_producer_del(p);
  moqc_stats_session_decref(sp);
  moqc_stats_session_decref(sa);
  moqc_stats_session_decref(sb);

  moqc_stats_report *rep;
  char *json;
  size_t len;
  assert_int_equal(moqc_stats_registry_report(n.reg, &rep), 0);
  assert_int_equal(moqc_stats_json_alloc(rep, NULL, &json, &len), 0);
  assert_string_equal(
      json,
      "{\"tiers\":{\"\":{"
      "\"publisher\":{\"acme/live\":{\"announced\":0,\"announced_closed\":0,"
      "\"announced_bytes\":0,\"broadcasts\":2,\"broadcasts_closed\":2,"
      "\"subscriptions\":3,"
      "\"subscriptions_closed\":3,\"fetches\":1,\"bytes\":1520,\"frames\":16,"
      "\"groups\":5,"
      "\"datagrams\":0}},"
      "\"subscriber\":{\"acme/live\":{\"announced\":1,\"announced_closed\":1,"
      "\"announced_bytes\":18,\"broadcasts\":1,\"broadcasts_closed\":1,"
      "\"subscriptions\":2,"
      "\"subscriptions_closed\":2,\"fetches\":0,\"bytes\":620,\"frames\":7,"
      "\"groups\":3,"
      "\"datagrams\":0}},"
      "\"sessions\":{\"acme\":{\"sessions\":3,\"sessions_closed\":3}}}}}");
  free(json);
  assert_true(rep->entries[0].reclaimed);
  moqc_stats_report_del(rep);
  /* Reclaimed, yet the host totals keep everything. */
  moqc_stats_snapshot *snap;
  char *prom;
  assert_int_equal(moqc_stats_registry_snapshot(n.reg, &snap), 0);
  assert_int_equal(moqc_stats_prometheus_alloc(snap, NULL, &prom, &len), 0);
  assert_non_null(strstr(
      prom, "\nmoq_relay_bytes_total{tier=\"\",role=\"publisher\"} 1520\n"));
  assert_non_null(strstr(
      prom, "\nmoq_relay_bytes_total{tier=\"\",role=\"subscriber\"} 620\n"));
  assert_non_null(strstr(
      prom,
      "\nmoq_relay_viewers_opened_total{tier=\"\",role=\"publisher\"} 2\n"));
  assert_non_null(strstr(
      prom, "\nmoq_relay_fetches_total{tier=\"\",role=\"publisher\"} 1\n"));
  assert_non_null(
      strstr(prom, "\nmoq_relay_sessions_closed_total{tier=\"\"} 3\n"));
  free(prom);
  moqc_stats_snapshot_del(snap);
  node_close(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_traffic_exact_totals),
      cmocka_unit_test(test_one_session_several_tracks_is_one_viewer),
      cmocka_unit_test(test_fetch_counts_fetches_frames_bytes_not_groups),
      cmocka_unit_test(test_datagrams_counted_both_sides),
      cmocka_unit_test(test_unmetered_touches_nothing),
      cmocka_unit_test(test_excluded_stats_prefix_produces_no_entries),
      cmocka_unit_test(test_presence_outlives_the_session_handle),
      cmocka_unit_test(test_docs_worked_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
