/*
 * The stats broadcast publisher (spec/upstream-model.md 4.2-4.6, 5.4) through
 * a real origin: known traffic moved by stats sessions, drained onto
 * .stats/node/<node>, read back by an origin consumer and parsed with jansson.
 */
#include "testutil.h"

#include <jansson.h>
#include <moqc/moqc.h>
#include <moqc/origin.h>

#define S(x) moqc_str_c(x)
#define SEC MOQC_SECONDS

/* A node: a registry excluding ".stats", an origin, untagged root handles. */
typedef struct node {
  moqc_stats_registry *reg;
  moqc_origin *origin;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
  moqc_stats_publisher *pub;
} node;

static void node_open_with(node *n, const moqc_stats_publisher_settings *s) {
  assert_int_equal(moqc_stats_registry_new(&n->reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_origin_new(&n->origin, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(n->origin, &n->prod), 0);
  assert_int_equal(moqc_origin_consumer_new(n->origin, &n->cons), 0);
  assert_int_equal(moqc_stats_publisher_new(&n->pub, n->reg, n->prod, s), 0);
}

static void node_open(node *n) {
  moqc_stats_publisher_settings s;
  moqc_stats_publisher_settings_default(&s);
  s.node = S("sjc/1");
  node_open_with(n, &s);
}

static void node_close(node *n) {
  moqc_stats_publisher_del(n->pub);
  moqc_origin_producer_del(n->prod);
  moqc_origin_consumer_del(n->cons);
  moqc_origin_decref(n->origin);
  moqc_stats_registry_decref(n->reg);
}

/* A reader of one stats track: its own consumer of the stats broadcast. */
typedef struct reader {
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
} reader;

/* Opens a reader of track on the stats broadcast through consumer c. */
static int reader_open(reader *r, moqc_origin_consumer *c, const char *track) {
  memset(r, 0, sizeof(*r));
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(c, S(".stats/node/sjc/1"), &r->bc),
      0);
  assert_int_equal(moqc_broadcast_consumer_track(r->bc, track, &r->tc), 0);
  return moqc_track_consumer_subscribe(r->tc, NULL, &r->ts, NULL);
}

/* Subscribes again after a PENDING reader_open. */
static int reader_poll(reader *r) {
  return moqc_track_consumer_subscribe(r->tc, NULL, &r->ts, NULL);
}

static void reader_close(reader *r) {
  moqc_track_subscriber_del(r->ts);
  moqc_track_consumer_del(r->tc);
  moqc_broadcast_consumer_del(r->bc);
  memset(r, 0, sizeof(*r));
}

/*
 * Reads the newest frame available (skipping older groups); returns a fresh
 * string, or NULL when no new group is there.
 */
static char *reader_latest(reader *r) {
  char *out = NULL;
  for (;;) {
    moqc_rcbuf *buf;
    uint64_t seq;
    int rv = moqc_track_subscriber_read_frame(r->ts, &buf, &seq, NULL, NULL);
    if (rv == MOQC_ERR_PENDING) {
      return out;
    }
    assert_int_equal(rv, 0);
    free(out);
    out = strndup((const char *)moqc_rcbuf_data(buf), moqc_rcbuf_len(buf));
    moqc_rcbuf_decref(buf);
  }
}

/* Reads the latest value of a stats track with a fresh subscription. */
static char *track_latest(node *n, const char *track) {
  reader r;
  assert_int_equal(reader_open(&r, n->cons, track), 0);
  char *s = reader_latest(&r);
  assert_non_null(s);
  reader_close(&r);
  return s;
}

static json_t *parse(const char *s) {
  json_error_t err;
  json_t *j = json_loads(s, 0, &err);
  assert_non_null(j);
  assert_true(json_is_object(j));
  return j;
}

static uint64_t field(json_t *doc, const char *key, const char *name) {
  json_t *o = json_object_get(doc, key);
  assert_non_null(o);
  json_t *v = json_object_get(o, name);
  assert_non_null(v);
  assert_true(json_is_integer(v));
  return (uint64_t)json_integer_value(v);
}

/* Checks every one of the twelve counters of doc[key], in schema order. */
static void check_traffic(json_t *doc, const char *key,
                          const uint64_t want[MOQC_USAGE_FIELD_COUNT]) {
  json_t *o = json_object_get(doc, key);
  assert_non_null(o);
  assert_int_equal(json_object_size(o), MOQC_USAGE_FIELD_COUNT);
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    uint64_t got = field(doc, key, moqc_usage_field_name(i));
    if (got != want[i]) {
      fail_msg("%s.%s = %llu, want %llu", key, moqc_usage_field_name(i),
               (unsigned long long)got, (unsigned long long)want[i]);
    }
  }
}

/* A publishing session and a viewing session moving known traffic. */
typedef struct traffic {
  moqc_stats_session *sp, *sv;
  moqc_origin_producer *p;
  moqc_origin_consumer *c;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
} traffic;

static void traffic_open(node *n, traffic *t, const char *tier,
                         const char *root, const char *path) {
  assert_int_equal(moqc_stats_session_new(&t->sp, n->reg, S(tier), S(root)), 0);
  assert_int_equal(moqc_stats_session_new(&t->sv, n->reg, S(tier), S(root)), 0);
  assert_int_equal(moqc_origin_producer_with_usage(
                       n->prod, moqc_stats_session_ctx(t->sp), &t->p),
                   0);
  assert_int_equal(moqc_origin_consumer_with_usage(
                       n->cons, moqc_stats_session_ctx(t->sv), &t->c),
                   0);
  assert_int_equal(moqc_origin_producer_create_broadcast(t->p, S(path), NULL,
                                                         &t->bp, &t->guard),
                   0);
  assert_int_equal(
      moqc_broadcast_producer_create_track(t->bp, "video", NULL, &t->tp), 0);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(t->c, S(path), &t->bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(t->bc, "video", &t->tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(t->tc, NULL, &t->ts, NULL), 0);
}

/* Writes groups x frames x bytes and reads all of it back. */
static void traffic_move(traffic *t, int groups, int frames, size_t bytes) {
  uint8_t payload[256];
  assert_true(bytes <= sizeof(payload));
  memset(payload, 0x5a, bytes);
  for (int g = 0; g < groups; g++) {
    moqc_group_producer *gp;
    assert_int_equal(moqc_track_producer_append_group(t->tp, 0, &gp), 0);
    for (int f = 0; f < frames; f++) {
      assert_int_equal(moqc_group_producer_write_frame(gp, payload, bytes, 0),
                       0);
    }
    assert_int_equal(moqc_group_producer_finish(gp), 0);
    moqc_group_producer_del(gp);
  }
  for (int g = 0; g < groups; g++) {
    moqc_group_consumer *gc;
    assert_int_equal(moqc_track_subscriber_next_group(t->ts, &gc, NULL), 0);
    for (int f = 0; f < frames; f++) {
      moqc_rcbuf *buf;
      assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL), 0);
      assert_int_equal(moqc_rcbuf_len(buf), bytes);
      moqc_rcbuf_decref(buf);
    }
    moqc_group_consumer_del(gc);
  }
}

static void traffic_close(traffic *t) {
  moqc_track_subscriber_del(t->ts);
  moqc_track_consumer_del(t->tc);
  moqc_broadcast_consumer_del(t->bc);
  moqc_origin_consumer_del(t->c);
  moqc_track_producer_del(t->tp);
  moqc_origin_publish_del(t->guard);
  moqc_broadcast_producer_del(t->bp);
  moqc_origin_producer_del(t->p);
  moqc_stats_session_decref(t->sp);
  moqc_stats_session_decref(t->sv);
  memset(t, 0, sizeof(*t));
}

static void drain(node *n, moqc_tstamp now, size_t want_written) {
  size_t written = 99;
  assert_int_equal(moqc_stats_publisher_drain(n->pub, now, &written), 0);
  assert_int_equal(written, want_written);
}

static void test_path_and_initial_documents(void **state) {
  (void)state;
  node n;
  node_open(&n);
  assert_true(
      moqc_str_eq(moqc_stats_publisher_path(n.pub), S(".stats/node/sjc/1")));
  /* The stats broadcast is announced. */
  moqc_origin_announced *a;
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_consumer_announced(n.cons, &a), 0);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, S(".stats/node/sjc/1")));
  assert_non_null(ev.broadcast);
  moqc_broadcast_consumer_del(ev.broadcast);
  moqc_origin_announced_del(a);
  /* The default tier's tracks exist and hold {} at once, before any drain. */
  const char *tracks[] = {"publisher.json", "subscriber.json", "sessions.json"};
  for (int i = 0; i < 3; i++) {
    char *s = track_latest(&n, tracks[i]);
    assert_string_equal(s, "{}");
    free(s);
  }
  /* A first drain with nothing metered writes nothing: {} is already there. */
  drain(&n, 1 * SEC, 0);
  node_close(&n);
}

#define G 2
#define F 3
#define B 100

static void test_drain_exact_counters_then_final_then_empty(void **state) {
  (void)state;
  node n;
  traffic t;
  reader rp, rs, rx;

  node_open(&n);
  traffic_open(&n, &t, "", "acme", "acme/live");
  traffic_move(&t, G, F, B);
  /* Long-lived readers of the three default tracks, at {} now. */
  assert_int_equal(reader_open(&rp, n.cons, "publisher.json"), 0);
  assert_int_equal(reader_open(&rs, n.cons, "subscriber.json"), 0);
  assert_int_equal(reader_open(&rx, n.cons, "sessions.json"), 0);
  char *s = reader_latest(&rp);
  assert_string_equal(s, "{}");
  free(s);
  free(reader_latest(&rs));
  free(reader_latest(&rx));

  drain(&n, 1 * SEC, 3);
  /* Egress (publisher.json): one viewer read everything once. */
  s = reader_latest(&rp);
  assert_non_null(s);
  json_t *doc = parse(s);
  assert_int_equal(json_object_size(doc), 1);
  const uint64_t eg[MOQC_USAGE_FIELD_COUNT] = {0, 0, 0,         1,     0, 1,
                                               0, 0, G * F * B, G * F, G, 0};
  check_traffic(doc, "acme/live", eg);
  json_decref(doc);
  free(s);
  /* Ingress (subscriber.json): written once; announced with 9 path bytes. */
  s = reader_latest(&rs);
  doc = parse(s);
  assert_int_equal(json_object_size(doc), 1);
  const uint64_t in[MOQC_USAGE_FIELD_COUNT] = {1, 0, 9,         1,     0, 1,
                                               0, 0, G * F * B, G * F, G, 0};
  check_traffic(doc, "acme/live", in);
  json_decref(doc);
  free(s);
  /* Sessions per root. */
  s = reader_latest(&rx);
  doc = parse(s);
  assert_int_equal(json_object_size(doc), 1);
  assert_int_equal(field(doc, "acme", "sessions"), 2);
  assert_int_equal(field(doc, "acme", "sessions_closed"), 0);
  json_decref(doc);
  free(s);
  /* A fresh subscriber gets the same latest value. */
  s = track_latest(&n, "publisher.json");
  doc = parse(s);
  check_traffic(doc, "acme/live", eg);
  json_decref(doc);
  free(s);

  /* No change: nothing new is written. */
  drain(&n, 2 * SEC, 0);
  assert_null(reader_latest(&rp));
  assert_null(reader_latest(&rs));
  assert_null(reader_latest(&rx));

  /* The traffic goes away: the final values once, then {}. */
  traffic_close(&t);
  drain(&n, 3 * SEC, 3);
  s = reader_latest(&rp);
  doc = parse(s);
  const uint64_t eg_final[MOQC_USAGE_FIELD_COUNT] = {
      0, 0, 0, 1, 1, 1, 1, 0, G * F * B, G * F, G, 0};
  check_traffic(doc, "acme/live", eg_final);
  json_decref(doc);
  free(s);
  s = reader_latest(&rs);
  doc = parse(s);
  const uint64_t in_final[MOQC_USAGE_FIELD_COUNT] = {
      1, 1, 18, 1, 1, 1, 1, 0, G * F * B, G * F, G, 0};
  check_traffic(doc, "acme/live", in_final);
  json_decref(doc);
  free(s);
  s = reader_latest(&rx);
  doc = parse(s);
  assert_int_equal(field(doc, "acme", "sessions"), 2);
  assert_int_equal(field(doc, "acme", "sessions_closed"), 2);
  json_decref(doc);
  free(s);

  drain(&n, 4 * SEC, 3);
  reader *all[] = {&rp, &rs, &rx};
  for (int i = 0; i < 3; i++) {
    s = reader_latest(all[i]);
    assert_string_equal(s, "{}");
    free(s);
  }
  drain(&n, 5 * SEC, 0);
  for (int i = 0; i < 3; i++) {
    assert_null(reader_latest(all[i]));
    reader_close(all[i]);
  }
  /* Everything was reclaimed by the drains. */
  moqc_stats_report *rep;
  assert_int_equal(moqc_stats_registry_detail(n.reg, &rep), 0);
  assert_int_equal(rep->n_entries, 0);
  assert_int_equal(rep->n_sessions, 0);
  moqc_stats_report_del(rep);
  node_close(&n);
}

static void test_named_tier_appears_lazily(void **state) {
  (void)state;
  node n;
  traffic t;
  reader r;

  node_open(&n);
  traffic_open(&n, &t, "region/sjc", "acme", "acme/b");
  traffic_move(&t, 1, 1, 7);
  drain(&n, 1 * SEC, 3); /* the tier's three tracks, first write each */
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 0);
  /* The tier's tracks exist now: a subscription resolves at once. */
  assert_int_equal(reader_open(&r, n.cons, "region/sjc/subscriber.json"), 0);
  char *s = reader_latest(&r);
  json_t *doc = parse(s);
  const uint64_t in[MOQC_USAGE_FIELD_COUNT] = {1, 0, 6, 1, 0, 1,
                                               0, 0, 7, 1, 1, 0};
  check_traffic(doc, "acme/b", in);
  json_decref(doc);
  free(s);
  reader_close(&r);
  s = track_latest(&n, "region/sjc/sessions.json");
  doc = parse(s);
  assert_int_equal(field(doc, "acme", "sessions"), 2);
  json_decref(doc);
  free(s);
  s = track_latest(&n, "region/sjc/publisher.json");
  doc = parse(s);
  assert_int_equal(field(doc, "acme/b", "bytes"), 7);
  json_decref(doc);
  free(s);
  /* The default tier saw nothing. */
  s = track_latest(&n, "subscriber.json");
  assert_string_equal(s, "{}");
  free(s);
  s = track_latest(&n, "sessions.json");
  assert_string_equal(s, "{}");
  free(s);
  traffic_close(&t);
  node_close(&n);
}

static int wakes;
static void on_wake(void *ud) {
  (void)ud;
  wakes++;
}

static void test_requested_tier_track_resolves_then_adopted(void **state) {
  (void)state;
  node n;
  reader r;
  moqc_waker *w;
  moqc_stats_publisher_settings set;

  wakes = 0;
  assert_int_equal(moqc_waker_new(&w, on_wake, NULL, NULL), 0);
  moqc_stats_publisher_settings_default(&set);
  set.node = S("/sjc//1/");
  set.wake = w;
  node_open_with(&n, &set);
  moqc_waker_decref(w); /* the publisher keeps its own reference */
  assert_true(
      moqc_str_eq(moqc_stats_publisher_path(n.pub), S(".stats/node/sjc/1")));
  /* The tier "gold" never recorded: its track does not exist yet. */
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 0), 0);
  assert_int_equal(reader_open(&r, n.cons, "gold/sessions.json"),
                   MOQC_ERR_PENDING);
  assert_true(wakes > 0); /* the relay would now call serve */
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 1 * SEC), 0);
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 1);
  assert_int_equal(reader_poll(&r), 0);
  char *s = reader_latest(&r);
  assert_string_equal(s, "{}");
  free(s);
  /* A second consumer of the same name reuses the track. */
  s = track_latest(&n, "gold/sessions.json");
  assert_string_equal(s, "{}");
  free(s);
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 1);

  /* The tier records: the drain adopts the requested track. */
  moqc_stats_session *sess;
  assert_int_equal(moqc_stats_session_new(&sess, n.reg, S("gold"), S("x")), 0);
  /* gold/sessions.json changes; gold/publisher.json and gold/subscriber.json
   * are made now and get {} as their first group. */
  drain(&n, 2 * SEC, 3);
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 0);
  s = reader_latest(&r);
  json_t *doc = parse(s);
  assert_int_equal(field(doc, "x", "sessions"), 1);
  assert_int_equal(field(doc, "x", "sessions_closed"), 0);
  json_decref(doc);
  free(s);
  s = track_latest(&n, "gold/publisher.json");
  assert_string_equal(s, "{}");
  free(s);
  moqc_stats_session_decref(sess);
  reader_close(&r);
  /* Adopted tracks are permanent: no consumer is needed. */
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 3 * SEC), 0);
  s = track_latest(&n, "gold/sessions.json");
  assert_string_equal(s, "{\"x\":{\"sessions\":1,\"sessions_closed\":0}}");
  free(s);
  node_close(&n);
}

static void test_requested_quota_and_release(void **state) {
  (void)state;
  node n;
  reader r[3];
  moqc_stats_publisher_settings set;

  moqc_stats_publisher_settings_default(&set);
  set.node = S("sjc/1");
  set.max_requested = 2;
  node_open_with(&n, &set);
  const char *names[] = {"a/publisher.json", "b/subscriber.json",
                         "c/sessions.json"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(reader_open(&r[i], n.cons, names[i]), MOQC_ERR_PENDING);
  }
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 0), 0);
  assert_int_equal(reader_poll(&r[0]), 0);
  assert_int_equal(reader_poll(&r[1]), 0);
  assert_int_equal(reader_poll(&r[2]), MOQC_ERR_BOUNDS_EXCEEDED);
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 2);
  reader_close(&r[2]);
  /* The first reader leaves: its track is released, the quota comes back. */
  reader_close(&r[0]);
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 0), 0);
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 1);
  assert_int_equal(reader_open(&r[2], n.cons, names[2]), MOQC_ERR_PENDING);
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 0), 0);
  assert_int_equal(reader_poll(&r[2]), 0);
  char *s = reader_latest(&r[2]);
  assert_string_equal(s, "{}");
  free(s);
  /* A released name can be requested again. */
  assert_int_equal(reader_open(&r[0], n.cons, names[0]), MOQC_ERR_PENDING);
  assert_int_equal(moqc_stats_publisher_serve(n.pub, 0), 0);
  assert_int_equal(reader_poll(&r[0]), MOQC_ERR_BOUNDS_EXCEEDED);
  reader_close(&r[0]);
  reader_close(&r[1]);
  reader_close(&r[2]);
  node_close(&n);
}

static void test_malformed_track_names_rejected(void **state) {
  (void)state;
  node n;
  node_open(&n);
  const char *bad[] = {"foo.json",
                       "publisher.json.z",
                       "gold/publisher.json.z",
                       "/publisher.json",
                       "gold//publisher.json",
                       "gold/publisher.json/",
                       "/gold/publisher.json",
                       "gold/",
                       "publisher",
                       "goldpublisher.json",
                       "gold/Publisher.json",
                       "video"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    reader r;
    assert_int_equal(reader_open(&r, n.cons, bad[i]), MOQC_ERR_PENDING);
    assert_int_equal(moqc_stats_publisher_serve(n.pub, 0), 0);
    int rv = reader_poll(&r);
    if (rv != MOQC_ERR_NOT_FOUND) {
      fail_msg("%s: %d", bad[i], rv);
    }
    reader_close(&r);
  }
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 0);
  /* Drains serve queued requests too. */
  reader r;
  assert_int_equal(reader_open(&r, n.cons, "x.json"), MOQC_ERR_PENDING);
  drain(&n, 1 * SEC, 0);
  assert_int_equal(reader_poll(&r), MOQC_ERR_NOT_FOUND);
  reader_close(&r);
  node_close(&n);
}

static void test_track_name_parse(void **state) {
  (void)state;
  moqc_str tier;
  moqc_stats_doc doc;
  assert_true(moqc_stats_track_name_parse(S("publisher.json"), &tier, &doc));
  assert_int_equal(tier.len, 0);
  assert_int_equal(doc, MOQC_STATS_DOC_PUBLISHER);
  assert_true(
      moqc_stats_track_name_parse(S("region/sjc/sessions.json"), &tier, &doc));
  assert_true(moqc_str_eq(tier, S("region/sjc")));
  assert_int_equal(doc, MOQC_STATS_DOC_SESSIONS);
  assert_true(moqc_stats_track_name_parse(S("x/subscriber.json"), NULL, &doc));
  assert_int_equal(doc, MOQC_STATS_DOC_SUBSCRIBER);
  assert_true(moqc_stats_track_name_parse(S("a/publisher.json/sessions.json"),
                                          &tier, NULL));
  assert_true(moqc_str_eq(tier, S("a/publisher.json")));
  assert_false(moqc_stats_track_name_parse(S(""), NULL, NULL));
  assert_false(moqc_stats_track_name_parse(S("sessions.json.z"), NULL, NULL));
  assert_false(moqc_stats_track_name_parse(S("/sessions.json"), NULL, NULL));
  assert_false(moqc_stats_track_name_parse(S("a//sessions.json"), NULL, NULL));
  char longname[MOQC_STATS_MAX_TRACK_NAME + 2];
  memset(longname, 'a', sizeof(longname));
  memcpy(longname + sizeof(longname) - 15, "/sessions.json", 15);
  assert_int_equal(strlen(longname), MOQC_STATS_MAX_TRACK_NAME + 1);
  assert_false(moqc_stats_track_name_parse(S(longname), NULL, NULL));
  assert_true(moqc_stats_track_name_parse(S(longname + 1), NULL, NULL));
}

static void test_reading_stats_meters_nothing(void **state) {
  (void)state;
  node n;
  traffic t;
  moqc_stats_session *watcher;
  moqc_origin_consumer *wc;

  node_open(&n);
  traffic_open(&n, &t, "", "acme", "acme/live");
  traffic_move(&t, 1, 2, 10);
  drain(&n, 1 * SEC, 3);
  /* A tagged session watches the stats broadcast: announce, consume, read,
   * fetch. */
  assert_int_equal(moqc_stats_session_new(&watcher, n.reg, S(""), S("ops")), 0);
  assert_int_equal(moqc_origin_consumer_with_usage(
                       n.cons, moqc_stats_session_ctx(watcher), &wc),
                   0);
  moqc_origin_consumer *scoped;
  moqc_origin_announced *a;
  moqc_origin_announce ev;
  const moqc_str stats_prefix = S(".stats");
  assert_int_equal(moqc_origin_consumer_scope(wc, &stats_prefix, 1, &scoped),
                   0);
  assert_int_equal(moqc_origin_consumer_announced(scoped, &a), 0);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, S(".stats/node/sjc/1")));
  moqc_broadcast_consumer_del(ev.broadcast);
  moqc_origin_announced_del(a); /* delivered and closed: nothing counted */
  moqc_origin_consumer_del(scoped);
  const char *tracks[] = {"publisher.json", "subscriber.json", "sessions.json"};
  for (int i = 0; i < 3; i++) {
    reader r;
    assert_int_equal(reader_open(&r, wc, tracks[i]), 0);
    assert_null(moqc_broadcast_consumer_usage(r.bc));
    char *s = reader_latest(&r);
    assert_non_null(s);
    free(s);
    moqc_group_consumer *gc;
    assert_int_equal(moqc_track_consumer_fetch_group(r.tc, 1, &gc, NULL), 0);
    moqc_group_consumer_del(gc);
    reader_close(&r);
  }
  moqc_origin_consumer_del(wc);
  moqc_stats_session_decref(watcher);

  /* No entry under .stats anywhere; only acme/live is metered. */
  moqc_stats_report *rep;
  assert_int_equal(moqc_stats_registry_detail(n.reg, &rep), 0);
  for (size_t i = 0; i < rep->n_entries; i++) {
    assert_false(moqc_path_has_prefix(rep->entries[i].path, S(".stats")));
  }
  assert_int_equal(rep->n_entries, 1);
  assert_true(moqc_str_eq(rep->entries[0].path, S("acme/live")));
  moqc_stats_report_del(rep);
  /* And the next drain writes only the watcher's presence, no .stats path. */
  drain(&n, 2 * SEC, 1);
  char *s = track_latest(&n, "sessions.json");
  json_t *doc = parse(s);
  assert_int_equal(field(doc, "ops", "sessions"), 1);
  assert_int_equal(field(doc, "ops", "sessions_closed"), 1);
  json_decref(doc);
  free(s);
  s = track_latest(&n, "publisher.json");
  doc = parse(s);
  assert_int_equal(json_object_size(doc), 1);
  assert_non_null(json_object_get(doc, "acme/live"));
  json_decref(doc);
  free(s);
  traffic_close(&t);
  node_close(&n);
}

/* Opened and closed within one interval: surfaced once with its final counts.
 */
static void test_short_lived_traffic_is_surfaced_once(void **state) {
  (void)state;
  node n;
  traffic t;
  reader r;

  node_open(&n);
  assert_int_equal(reader_open(&r, n.cons, "publisher.json"), 0);
  free(reader_latest(&r));
  drain(&n, 1 * SEC, 0);
  traffic_open(&n, &t, "", "acme", "acme/short");
  traffic_move(&t, 1, 1, 123);
  traffic_close(&t);
  drain(&n, 2 * SEC, 3);
  char *s = reader_latest(&r);
  json_t *doc = parse(s);
  const uint64_t eg[MOQC_USAGE_FIELD_COUNT] = {0, 0, 0,   1, 1, 1,
                                               1, 0, 123, 1, 1, 0};
  check_traffic(doc, "acme/short", eg);
  json_decref(doc);
  free(s);
  drain(&n, 3 * SEC, 3);
  s = reader_latest(&r);
  assert_string_equal(s, "{}");
  free(s);
  reader_close(&r);
  node_close(&n);
}

/* A request queued before its tier's first traffic, both handled by one drain:
 * the request is accepted, then adopted by the tier's documents. */
static void test_request_racing_first_traffic_is_fulfilled(void **state) {
  (void)state;
  node n;
  traffic t;
  reader r;

  node_open(&n);
  assert_int_equal(reader_open(&r, n.cons, "race/subscriber.json"),
                   MOQC_ERR_PENDING);
  traffic_open(&n, &t, "race", "acme", "acme/r");
  traffic_move(&t, 2, 1, 5);
  drain(&n, 1 * SEC, 3);
  assert_int_equal(moqc_stats_publisher_requested(n.pub), 0);
  assert_int_equal(reader_poll(&r), 0);
  char *s = reader_latest(&r);
  json_t *doc = parse(s);
  assert_int_equal(field(doc, "acme/r", "bytes"), 10);
  assert_int_equal(field(doc, "acme/r", "groups"), 2);
  json_decref(doc);
  free(s);
  reader_close(&r);
  traffic_close(&t);
  node_close(&n);
}

/* Paths are bytes: a document stays valid JSON whatever they hold. */
static void test_documents_parse_with_any_path_bytes(void **state) {
  (void)state;
  node n;
  traffic t;

  node_open(&n);
  traffic_open(&n, &t, "", "r\"oot", "bad\xff\x01/caf\xc3\xa9/\xed\xa0\x80");
  traffic_move(&t, 1, 1, 3);
  drain(&n, 1 * SEC, 3);
  char *s = track_latest(&n, "subscriber.json");
  json_t *doc = parse(s);
  assert_int_equal(field(doc,
                         "bad\xef\xbf\xbd\x01/caf\xc3\xa9/"
                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
                         "bytes"),
                   3);
  json_decref(doc);
  free(s);
  s = track_latest(&n, "sessions.json");
  doc = parse(s);
  assert_int_equal(field(doc, "r\"oot", "sessions"), 2);
  json_decref(doc);
  free(s);
  traffic_close(&t);
  node_close(&n);
}

static void test_registry_must_exclude_the_prefix(void **state) {
  (void)state;
  moqc_stats_registry *reg;
  moqc_origin *o;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
  moqc_stats_publisher *pub;
  moqc_broadcast_consumer *bc;
  moqc_stats_publisher_settings set;
  const moqc_str other = S("other");

  assert_int_equal(moqc_origin_new(&o, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(o, &prod), 0);
  assert_int_equal(moqc_origin_consumer_new(o, &cons), 0);
  /* A registry that does not exclude ".stats": refused, nothing published. */
  assert_int_equal(moqc_stats_registry_new(&reg, &other, 1, NULL), 0);
  assert_int_equal(moqc_stats_publisher_new(&pub, reg, prod, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(cons, S(".stats/node"), &bc),
      MOQC_ERR_NOT_FOUND);
  /* A custom prefix that the registry excludes is fine; no node segment. */
  moqc_stats_publisher_settings_default(&set);
  set.prefix = S("/other/");
  set.node = S("///");
  assert_int_equal(moqc_stats_publisher_new(&pub, reg, prod, &set), 0);
  assert_true(moqc_str_eq(moqc_stats_publisher_path(pub), S("other/node")));
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(cons, S("other/node"), &bc), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_stats_publisher_del(pub);
  /* Unpublished on del. */
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(cons, S("other/node"), &bc),
      MOQC_ERR_NOT_FOUND);
  /* An empty prefix, a NULL registry or a bad version are refused. */
  set.prefix = S("/");
  assert_int_equal(moqc_stats_publisher_new(&pub, reg, prod, &set),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc_stats_publisher_new(&pub, NULL, prod, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(
      moqc_stats_publisher_new_versioned(&pub, reg, prod, 99, NULL),
      MOQC_ERR_INVALID_ARGUMENT);
  moqc_stats_registry_decref(reg);
  /* Under a root: the absolute path counts for the exclusion. */
  moqc_origin_producer *rooted;
  assert_int_equal(moqc_origin_producer_with_root(prod, S("x"), &rooted), 0);
  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_stats_publisher_new(&pub, reg, rooted, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
  moqc_stats_registry_decref(reg);
  const moqc_str xstats = S("x/.stats");
  assert_int_equal(moqc_stats_registry_new(&reg, &xstats, 1, NULL), 0);
  assert_int_equal(moqc_stats_publisher_new(&pub, reg, rooted, NULL), 0);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(cons, S("x/.stats/node"), &bc), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_stats_publisher_del(pub);
  moqc_stats_registry_decref(reg);
  moqc_origin_producer_del(rooted);
  moqc_origin_producer_del(prod);
  moqc_origin_consumer_del(cons);
  moqc_origin_decref(o);
}

static void test_del_finishes_tracks_and_unpublishes(void **state) {
  (void)state;
  node n;
  reader r;
  moqc_origin_announced *a;
  moqc_origin_announce ev;

  node_open(&n);
  assert_int_equal(moqc_origin_consumer_announced(n.cons, &a), 0);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  moqc_broadcast_consumer_del(ev.broadcast);
  assert_int_equal(reader_open(&r, n.cons, "publisher.json"), 0);
  free(reader_latest(&r));
  moqc_stats_publisher_del(n.pub);
  n.pub = NULL;
  /* The reader sees the end of the track; the path ends in the origin. */
  moqc_group_consumer *gc;
  assert_int_equal(moqc_track_subscriber_next_group(r.ts, &gc, NULL), MOQC_END);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, S(".stats/node/sjc/1")));
  assert_null(ev.broadcast);
  moqc_origin_announced_del(a);
  reader_close(&r);
  node_close(&n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_and_initial_documents),
      cmocka_unit_test(test_drain_exact_counters_then_final_then_empty),
      cmocka_unit_test(test_named_tier_appears_lazily),
      cmocka_unit_test(test_requested_tier_track_resolves_then_adopted),
      cmocka_unit_test(test_requested_quota_and_release),
      cmocka_unit_test(test_malformed_track_names_rejected),
      cmocka_unit_test(test_track_name_parse),
      cmocka_unit_test(test_reading_stats_meters_nothing),
      cmocka_unit_test(test_short_lived_traffic_is_surfaced_once),
      cmocka_unit_test(test_request_racing_first_traffic_is_fulfilled),
      cmocka_unit_test(test_documents_parse_with_any_path_bytes),
      cmocka_unit_test(test_registry_must_exclude_the_prefix),
      cmocka_unit_test(test_del_finishes_tracks_and_unpublishes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
