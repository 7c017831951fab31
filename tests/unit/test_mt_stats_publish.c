/*
 * The stats publisher draining while other threads move traffic through the
 * model and read the stats tracks: every document a reader sees parses, never
 * shows a closed counter above its open one, never goes backwards for a live
 * path, and once the traffic is gone the final documents hold the exact
 * totals, then {}. Run it under ThreadSanitizer as well.
 */
#include "testutil.h"

#include <jansson.h>
#include <moqc/moqc.h>
#include <moqc/origin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#define S(x) moqc_str_c(x)
#define WRITERS 2
#define GROUPS 300
#define BYTES 50

typedef struct node {
  moqc_stats_registry *reg;
  moqc_origin *origin;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
  moqc_stats_publisher *pub;
} node;

typedef struct writer {
  node *n;
  char path[16];
  moqc_stats_session *sp, *sv;
  moqc_origin_producer *p;
  moqc_origin_consumer *c;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
} writer;

static atomic_int writers_done;
static atomic_bool stop_readers;

static void writer_open(writer *w) {
  node *n = w->n;
  assert_int_equal(moqc_stats_session_new(&w->sp, n->reg, S(""), S("acme")), 0);
  assert_int_equal(moqc_stats_session_new(&w->sv, n->reg, S(""), S("acme")), 0);
  assert_int_equal(moqc_origin_producer_with_usage(
                       n->prod, moqc_stats_session_ctx(w->sp), &w->p),
                   0);
  assert_int_equal(moqc_origin_consumer_with_usage(
                       n->cons, moqc_stats_session_ctx(w->sv), &w->c),
                   0);
  assert_int_equal(moqc_origin_producer_create_broadcast(w->p, S(w->path), NULL,
                                                         &w->bp, &w->guard),
                   0);
  assert_int_equal(
      moqc_broadcast_producer_create_track(w->bp, "video", NULL, &w->tp), 0);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(w->c, S(w->path), &w->bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(w->bc, "video", &w->tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(w->tc, NULL, &w->ts, NULL), 0);
}

static void writer_close(writer *w) {
  moqc_track_subscriber_del(w->ts);
  moqc_track_consumer_del(w->tc);
  moqc_broadcast_consumer_del(w->bc);
  moqc_origin_consumer_del(w->c);
  moqc_track_producer_del(w->tp);
  moqc_origin_publish_del(w->guard);
  moqc_broadcast_producer_del(w->bp);
  moqc_origin_producer_del(w->p);
  moqc_stats_session_decref(w->sp);
  moqc_stats_session_decref(w->sv);
}

static void *writer_run(void *arg) {
  writer *w = arg;
  uint8_t payload[BYTES];
  memset(payload, 7, sizeof(payload));
  for (int g = 0; g < GROUPS; g++) {
    moqc_group_consumer *gc;
    moqc_rcbuf *buf;
    if (moqc_track_producer_write_frame(w->tp, payload, sizeof(payload), 0,
                                        0) != 0 ||
        moqc_track_subscriber_next_group(w->ts, &gc, NULL) != 0) {
      abort();
    }
    if (moqc_group_consumer_read_frame(gc, &buf, NULL, NULL) != 0) {
      abort();
    }
    moqc_rcbuf_decref(buf);
    moqc_group_consumer_del(gc);
    if (g % 16 == 0) {
      sched_yield();
    }
  }
  atomic_fetch_add(&writers_done, 1);
  return NULL;
}

/* Checks one document seen by a reader; *last_bytes tracks each path. */
static int reader_check(const char *text, uint64_t last_bytes[WRITERS]) {
  json_error_t err;
  json_t *doc = json_loads(text, 0, &err);
  const char *key;
  json_t *v;

  if (doc == NULL || !json_is_object(doc)) {
    return -1;
  }
  json_object_foreach(doc, key, v) {
    int w = key[strlen(key) - 1] - '0';
    uint64_t c[MOQC_USAGE_FIELD_COUNT];
    if (w < 0 || w >= WRITERS) {
      json_decref(doc);
      return -2;
    }
    for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
      c[i] = (uint64_t)json_integer_value(
          json_object_get(v, moqc_usage_field_name(i)));
    }
    for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
      int open = moqc_usage_field_closed_of(i);
      if (open >= 0 && c[i] > c[open]) {
        json_decref(doc);
        return -3; /* closed above open */
      }
    }
    if (c[MOQC_USAGE_FIELD_bytes] < last_bytes[w]) {
      json_decref(doc);
      return -4; /* a live path went backwards */
    }
    last_bytes[w] = c[MOQC_USAGE_FIELD_bytes];
  }
  json_decref(doc);
  return 0;
}

typedef struct reader_arg {
  node *n;
  const char *track;
  atomic_int seen;
  int error;
} reader_arg;

/* Waits (at most 10 s) until every reader has seen at least n documents. */
static bool readers_saw(reader_arg *ra, int count, int n) {
  for (int spins = 0; spins < 10000; spins++) {
    bool all = true;
    for (int i = 0; i < count; i++) {
      all = all && atomic_load(&ra[i].seen) >= n;
    }
    if (all) {
      return true;
    }
    usleep(1000);
  }
  return false;
}

static void *reader_run(void *arg) {
  reader_arg *ra = arg;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
  uint64_t last[WRITERS] = {0};

  if (moqc_origin_consumer_consume_broadcast(ra->n->cons, S(".stats/node/mt"),
                                             &bc) != 0 ||
      moqc_broadcast_consumer_track(bc, ra->track, &tc) != 0 ||
      moqc_track_consumer_subscribe(tc, NULL, &ts, NULL) != 0) {
    ra->error = -10;
    return NULL;
  }
  while (!atomic_load(&stop_readers)) {
    moqc_rcbuf *buf;
    uint64_t seq;
    int rv = moqc_track_subscriber_read_frame(ts, &buf, &seq, NULL, NULL);
    if (rv == MOQC_ERR_PENDING) {
      sched_yield();
      continue;
    }
    if (rv != 0) {
      ra->error = rv;
      break;
    }
    char *text =
        strndup((const char *)moqc_rcbuf_data(buf), moqc_rcbuf_len(buf));
    moqc_rcbuf_decref(buf);
    int bad = reader_check(text, last);
    free(text);
    if (bad != 0) {
      ra->error = bad;
      break;
    }
    atomic_fetch_add(&ra->seen, 1);
  }
  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  return NULL;
}

static char *latest(node *n, const char *track) {
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
  moqc_rcbuf *buf;
  uint64_t seq;
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(n->cons, S(".stats/node/mt"), &bc),
      0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, track, &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &ts, NULL), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(ts, &buf, &seq, NULL, NULL),
                   0);
  char *out = strndup((const char *)moqc_rcbuf_data(buf), moqc_rcbuf_len(buf));
  moqc_rcbuf_decref(buf);
  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  return out;
}

static void test_drain_under_concurrent_traffic(void **state) {
  (void)state;
  node n;
  writer w[WRITERS];
  pthread_t wt[WRITERS], rt[2];
  reader_arg ra[2] = {{&n, "publisher.json", 0, 0},
                      {&n, "subscriber.json", 0, 0}};
  moqc_stats_publisher_settings set;
  moqc_tstamp now = 0;
  int drains = 0;

  atomic_store(&writers_done, 0);
  atomic_store(&stop_readers, false);
  assert_int_equal(moqc_stats_registry_new(&n.reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_origin_new(&n.origin, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(n.origin, &n.prod), 0);
  assert_int_equal(moqc_origin_consumer_new(n.origin, &n.cons), 0);
  moqc_stats_publisher_settings_default(&set);
  set.node = S("mt");
  assert_int_equal(moqc_stats_publisher_new(&n.pub, n.reg, n.prod, &set), 0);
  for (int i = 0; i < WRITERS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].n = &n;
    snprintf(w[i].path, sizeof(w[i].path), "acme/w%d", i);
    writer_open(&w[i]);
  }
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pthread_create(&rt[i], NULL, reader_run, &ra[i]), 0);
  }
  /* Each reader holds its subscription (it has read the first {}) before traffic starts, so it
   * sees every later document in order whatever the scheduling. */
  assert_true(readers_saw(ra, 2, 1));
  for (int i = 0; i < WRITERS; i++) {
    assert_int_equal(pthread_create(&wt[i], NULL, writer_run, &w[i]), 0);
  }
  while (atomic_load(&writers_done) < WRITERS) {
    now += MOQC_MILLISECONDS;
    assert_int_equal(moqc_stats_publisher_drain(n.pub, now, NULL), 0);
    drains++;
    sched_yield();
  }
  for (int i = 0; i < WRITERS; i++) {
    pthread_join(wt[i], NULL);
    writer_close(&w[i]);
  }
  /* Everything is closed: the final values, exactly. */
  now += MOQC_MILLISECONDS;
  assert_int_equal(moqc_stats_publisher_drain(n.pub, now, NULL), 0);
  char *s = latest(&n, "publisher.json");
  json_t *doc = json_loads(s, 0, NULL);
  assert_non_null(doc);
  for (int i = 0; i < WRITERS; i++) {
    json_t *e = json_object_get(doc, w[i].path);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "bytes")),
                     GROUPS * BYTES);
    assert_int_equal(json_integer_value(json_object_get(e, "groups")), GROUPS);
    assert_int_equal(json_integer_value(json_object_get(e, "broadcasts")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(e, "broadcasts_closed")), 1);
  }
  json_decref(doc);
  free(s);
  now += MOQC_MILLISECONDS;
  assert_int_equal(moqc_stats_publisher_drain(n.pub, now, NULL), 0);
  s = latest(&n, "subscriber.json");
  assert_string_equal(s, "{}");
  free(s);
  /* The drains after the initial {} wrote newer documents on both tracks. */
  assert_true(readers_saw(ra, 2, 2));
  atomic_store(&stop_readers, true);
  for (int i = 0; i < 2; i++) {
    pthread_join(rt[i], NULL);
    assert_int_equal(ra[i].error, 0);
  }
  assert_true(drains > 0);
  moqc_stats_publisher_del(n.pub);
  moqc_origin_producer_del(n.prod);
  moqc_origin_consumer_del(n.cons);
  moqc_origin_decref(n.origin);
  moqc_stats_registry_decref(n.reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drain_under_concurrent_traffic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
