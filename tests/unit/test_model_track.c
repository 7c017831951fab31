/*
 * Model: tracks (group rules, finish, retention, subscribers' cursors, fetch,
 * datagrams, subscription aggregate, used/unused, cache pool).
 */
#include "test_model_util.h"

#include "eager_viewer.h"

#define MS MOQC_MILLISECONDS

typedef struct ftrack {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
} ftrack;

static void ftrack_open(ftrack *f, const moqc_track_info *info) {
  assert_int_equal(moqc_broadcast_new(&f->bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(f->bp, &f->bc), 0);
  assert_int_equal(
      moqc_broadcast_producer_create_track(f->bp, "t", info, &f->tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(f->bc, "t", &f->tc), 0);
}

static void ftrack_close(ftrack *f) {
  moqc_track_consumer_del(f->tc);
  moqc_track_producer_del(f->tp);
  moqc_broadcast_consumer_del(f->bc);
  moqc_broadcast_producer_del(f->bp);
}

static moqc_track_subscriber *sub_from(ftrack *f, bool has_start,
                                       uint64_t start, bool has_end,
                                       uint64_t end) {
  moqc_subscription s;
  moqc_track_subscriber *ts;
  moqc_subscription_default(&s);
  s.has_start = has_start;
  s.start = start;
  s.has_end = has_end;
  s.end = end;
  assert_int_equal(moqc_track_consumer_subscribe(f->tc, &s, &ts, NULL), 0);
  return ts;
}

/* Creates group seq holding one frame, finished. */
static void put(ftrack *f, uint64_t seq, moqc_tstamp now) {
  moqc_group_producer *gp;
  uint8_t b = (uint8_t)seq;
  assert_int_equal(moqc_track_producer_create_group(f->tp, seq, now, &gp), 0);
  assert_int_equal(moqc_group_producer_write_frame(gp, &b, 1, seq), 0);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
}

/* Expects next_group (or recv_group) to hand out seq. */
static void expect_next(moqc_track_subscriber *s, bool recv, uint64_t seq) {
  moqc_group_consumer *gc;
  int rv = recv ? moqc_track_subscriber_recv_group(s, &gc, NULL)
                : moqc_track_subscriber_next_group(s, &gc, NULL);
  assert_int_equal(rv, 0);
  assert_int_equal(moqc_group_consumer_sequence(gc), seq);
  moqc_group_consumer_del(gc);
}

static int next_rv(moqc_track_subscriber *s, bool recv, moqc_waker *w) {
  moqc_group_consumer *gc = NULL;
  int rv = recv ? moqc_track_subscriber_recv_group(s, &gc, w)
                : moqc_track_subscriber_next_group(s, &gc, w);
  moqc_group_consumer_del(gc);
  return rv;
}

static void test_track_group_rules(void **state) {
  ftrack f;
  moqc_group_producer *gp, *gp2;
  (void)state;
  ftrack_open(&f, NULL);
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp), 0);
  assert_int_equal(moqc_group_producer_sequence(gp), 0);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 5, 0, &gp), 0);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 5, 0, &gp2),
                   MOQC_ERR_DUPLICATE);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp), 0);
  assert_int_equal(moqc_group_producer_sequence(gp), 6);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 3, 0, &gp),
                   0); /* lower is fine */
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp), 0);
  assert_int_equal(moqc_group_producer_sequence(gp), 7);
  moqc_group_producer_del(gp);
  /* Finish: final = max + 1; lower sequences may still arrive, not at or past
   * final. */
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  assert_int_equal(moqc_track_producer_finish(f.tp), MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 8, 0, &gp),
                   MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp),
                   MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 4, 0, &gp), 0);
  moqc_group_producer_del(gp);
  ftrack_close(&f);
}

static void test_track_finish_empty_and_overflow(void **state) {
  ftrack f;
  moqc_group_producer *gp;
  (void)state;
  ftrack_open(&f, NULL);
  assert_int_equal(moqc_track_producer_create_group(f.tp, UINT64_MAX, 0, &gp),
                   0);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp),
                   MOQC_ERR_BOUNDS_EXCEEDED);
  assert_int_equal(
      moqc_track_producer_write_datagram(f.tp, (const uint8_t *)"d", 1, 0, 0),
      MOQC_ERR_BOUNDS_EXCEEDED);
  ftrack_close(&f);

  ftrack_open(&f, NULL);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0); /* empty: final 0 */
  assert_int_equal(moqc_track_producer_create_group(f.tp, 0, 0, &gp),
                   MOQC_ERR_CLOSED);
  ftrack_close(&f);
}

static void test_track_next_group_order_and_late(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  s = sub_from(&f, false, 0, false, 0);
  assert_int_equal(next_rv(s, false, k.w), MOQC_ERR_PENDING);
  put(&f, 2, 0);
  assert_int_equal(tm_wake_take(&k), 1);
  put(&f, 1, 0);
  put(&f, 4, 0);
  put(&f, 3, 0);
  /* Sequence order from the smallest cached: 1, 2, 3, 4. */
  expect_next(s, false, 1);
  expect_next(s, false, 2);
  expect_next(s, false, 3);
  expect_next(s, false, 4);
  put(&f, 0, 0); /* late: below the cursor, skipped */
  assert_int_equal(next_rv(s, false, k.w), MOQC_ERR_PENDING);
  put(&f, 6, 0);
  expect_next(s, false, 6);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  assert_int_equal(next_rv(s, false, NULL), MOQC_END);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_recv_group_arrival_order(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  (void)state;
  ftrack_open(&f, NULL);
  s = sub_from(&f, false, 0, false, 0);
  put(&f, 2, 0);
  put(&f, 0, 0);
  put(&f, 1, 0);
  expect_next(s, true, 2);
  expect_next(s, true, 0);
  /* Independent cursors: next_group still starts from the smallest. */
  expect_next(s, false, 0);
  expect_next(s, true, 1);
  assert_int_equal(next_rv(s, true, NULL), MOQC_ERR_PENDING);
  /* Finishes without waiting for gaps. */
  put(&f, 5, 0);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  expect_next(s, true, 5);
  assert_int_equal(next_rv(s, true, NULL), MOQC_END);
  expect_next(s, false, 1);
  expect_next(s, false, 2);
  expect_next(s, false, 5);
  assert_int_equal(next_rv(s, false, NULL), MOQC_END);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
}

static void test_track_live_edge_and_start(void **state) {
  ftrack f;
  moqc_track_subscriber *live, *from1;
  uint64_t latest;
  (void)state;
  ftrack_open(&f, NULL);
  put(&f, 0, 0);
  put(&f, 1, 0);
  put(&f, 2, 0);
  /* Without a start the subscription begins at the latest group. */
  live = sub_from(&f, false, 0, false, 0);
  from1 = sub_from(&f, true, 1, false, 0);
  assert_int_equal(moqc_track_subscriber_latest(live, &latest), 0);
  assert_int_equal(latest, 2);
  expect_next(live, false, 2);
  expect_next(live, true, 2);
  expect_next(from1, false, 1);
  expect_next(from1, false, 2);
  expect_next(from1, true, 1);
  expect_next(from1, true, 2);
  moqc_track_subscriber_del(live);
  moqc_track_subscriber_del(from1);
  ftrack_close(&f);
}

static void test_track_end_cap(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  moqc_subscription sub;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, true, 1);
  put(&f, 0, 0);
  put(&f, 1, 0);
  put(&f, 2, 0);
  put(&f, 3, 0);
  expect_next(s, false, 0);
  expect_next(s, false, 1);
  /* Above the cap: parked, not ended, even once finished. */
  assert_int_equal(next_rv(s, false, k.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  tm_wake_take(&k);
  assert_int_equal(next_rv(s, false, k.w), MOQC_ERR_PENDING);
  /* Raising the cap makes cached groups eligible. */
  moqc_subscription_default(&sub);
  sub.has_start = true;
  sub.has_end = true;
  sub.end = 2;
  assert_int_equal(moqc_track_subscriber_update(s, &sub), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  expect_next(s, false, 2);
  sub.has_end = false;
  assert_int_equal(moqc_track_subscriber_update(s, &sub), 0);
  expect_next(s, false, 3);
  assert_int_equal(next_rv(s, false, NULL), MOQC_END);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_retention(void **state) {
  ftrack f;
  moqc_track_info info;
  moqc_track_subscriber *s;
  moqc_group_consumer *g0;
  moqc_rcbuf *buf;
  (void)state;
  moqc_track_info_default(&info);
  info.retention = 1000 * MS;
  ftrack_open(&f, &info);
  s = sub_from(&f, true, 0, false, 0);
  put(&f, 0, 0);
  assert_int_equal(moqc_track_subscriber_next_group(s, &g0, NULL), 0);
  put(&f, 1, 500 * MS);
  put(&f, 2, 999 * MS);  /* group 0 is 999 ms old: kept */
  put(&f, 3, 1000 * MS); /* group 0 is 1 s old: evicted and aborted with OLD */
  assert_int_equal(moqc_group_consumer_read_frame(g0, &buf, NULL, NULL),
                   MOQC_ERR_OLD);
  moqc_group_consumer_del(g0);
  /* A fetch of the evicted group misses; the others hit. */
  {
    moqc_group_consumer *gc;
    assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 0, &gc, NULL),
                     MOQC_ERR_NOT_FOUND);
    assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 1, &gc, NULL), 0);
    moqc_group_consumer_del(gc);
  }
  /* The latest group is kept however old. */
  put(&f, 4, 10000 * MS);
  {
    moqc_group_consumer *gc;
    assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 3, &gc, NULL),
                     MOQC_ERR_NOT_FOUND);
    assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 4, &gc, NULL), 0);
    moqc_group_consumer_del(gc);
  }
  /* The subscriber skips evicted groups. */
  expect_next(s, false, 4);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
}

static void test_track_retention_keeps_max_sequence(void **state) {
  ftrack f;
  moqc_track_info info;
  moqc_group_consumer *gc;
  (void)state;
  moqc_track_info_default(&info);
  info.retention = 100 * MS;
  ftrack_open(&f, &info);
  put(&f, 9, 0); /* max sequence, first in arrival order */
  put(&f, 3, 50 * MS);
  put(&f, 4, 500 * MS); /* 9 is old but the max: kept; 3 expired */
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 9, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 3, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 4, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  ftrack_close(&f);
}

static void test_track_retention_zero_keeps_new_group(void **state) {
  ftrack f;
  moqc_track_info info;
  moqc_group_producer *gp;
  moqc_group_consumer *gc;
  (void)state;
  moqc_track_info_default(&info);
  info.retention = 0;
  ftrack_open(&f, &info);
  put(&f, 5, 10 * MS);
  /* A lower sequence inserted with zero retention survives its own insert. */
  assert_int_equal(moqc_track_producer_create_group(f.tp, 3, 20 * MS, &gp), 0);
  assert_int_equal(
      moqc_group_producer_write_frame(gp, (const uint8_t *)"z", 1, 0), 0);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 3, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  /* The next insert expires it (not the max, 5). */
  put(&f, 4, 30 * MS);
  assert_int_equal(
      moqc_group_producer_write_frame(gp, (const uint8_t *)"z", 1, 0),
      MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 3, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 5, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  ftrack_close(&f);
}

static void test_track_abort_and_drop(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  moqc_group_consumer *gc;
  moqc_group_producer *gp;
  moqc_track_info info;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  put(&f, 0, 0);
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp), 0);
  assert_int_equal(moqc_track_subscriber_next_group(s, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  assert_int_equal(moqc_track_subscriber_next_group(s, &gc, NULL),
                   0); /* group 1, open */
  moqc_track_producer_abort(f.tp, MOQC_ERR_TIMEOUT);
  /* The open group is aborted with the track, the cache is cleared. */
  {
    moqc_rcbuf *buf;
    assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL),
                     MOQC_ERR_TIMEOUT);
  }
  moqc_group_consumer_del(gc);
  moqc_group_producer_del(gp);
  assert_int_equal(next_rv(s, false, NULL), MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 0, &gc, NULL),
                   MOQC_ERR_TIMEOUT);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 9, 0, &gp),
                   MOQC_ERR_CLOSED);
  assert_int_equal(moqc_track_consumer_info(f.tc, &info, NULL),
                   0); /* info stays known */
  moqc_track_subscriber_del(s);
  ftrack_close(&f);

  /* Dropped unfinished: DROPPED, cache cleared. */
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  put(&f, 0, 0);
  assert_int_equal(next_rv(s, true, k.w), 0);
  assert_int_equal(next_rv(s, true, k.w), MOQC_ERR_PENDING);
  moqc_track_producer_del(f.tp);
  f.tp = NULL;
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(next_rv(s, false, NULL), MOQC_ERR_DROPPED);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 0, &gc, NULL),
                   MOQC_ERR_DROPPED);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);

  /* Dropped after finish: readers drain the cache, then END. */
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  put(&f, 0, 0);
  put(&f, 1, 0);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  moqc_track_producer_del(f.tp);
  f.tp = NULL;
  expect_next(s, false, 0);
  expect_next(s, false, 1);
  assert_int_equal(next_rv(s, false, NULL), MOQC_END);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_fetch(void **state) {
  ftrack f;
  moqc_track_consumer *tc2;
  moqc_track_dynamic *td;
  moqc_group_consumer *gc, *gc2;
  moqc_group_producer *gp;
  uint64_t seq;
  tm_wake kf, kd;
  (void)state;
  tm_wake_init(&kf);
  tm_wake_init(&kd);
  ftrack_open(&f, NULL);
  put(&f, 3, 0);
  /* Cache hit. */
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 3, &gc, NULL), 0);
  assert_int_equal(moqc_group_consumer_sequence(gc), 3);
  moqc_group_consumer_del(gc);
  /* Miss with no handler. */
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 1, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);
  /* Miss with a handler: queued, coalesced, served by creating the group. */
  assert_int_equal(moqc_track_producer_dynamic(f.tp, &td), 0);
  assert_int_equal(moqc_track_dynamic_requested_group(td, &seq, kd.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_consumer_clone(f.tc, &tc2), 0);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 1, &gc, kf.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(tm_wake_take(&kd), 1);
  assert_int_equal(moqc_track_consumer_fetch_group(tc2, 1, &gc2, kf.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_dynamic_requested_group(td, &seq, NULL), 0);
  assert_int_equal(seq, 1);
  assert_int_equal(moqc_track_dynamic_requested_group(td, &seq, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 1, 0, &gp), 0);
  assert_true(tm_wake_take(&kf) >= 1);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 1, &gc, NULL), 0);
  assert_int_equal(moqc_track_consumer_fetch_group(tc2, 1, &gc2, NULL), 0);
  assert_int_equal(
      moqc_group_producer_write_frame(gp, (const uint8_t *)"z", 1, 0), 0);
  {
    moqc_rcbuf *buf;
    assert_int_equal(moqc_group_consumer_read_frame(gc2, &buf, NULL, NULL), 0);
    moqc_rcbuf_decref(buf);
  }
  moqc_group_consumer_del(gc);
  moqc_group_consumer_del(gc2);
  moqc_group_producer_del(gp);
  /* Rejection. */
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 0, &gc, kf.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_dynamic_requested_group(td, &seq, NULL), 0);
  assert_int_equal(seq, 0);
  moqc_track_dynamic_reject_group(td, 0, MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 0, &gc, NULL),
                   MOQC_ERR_UNAUTHORIZED);
  /* Handler gone: pending fetches fail NOT_FOUND. */
  assert_int_equal(moqc_track_consumer_fetch_group(tc2, 2, &gc, kf.w),
                   MOQC_ERR_PENDING);
  moqc_track_dynamic_del(td);
  assert_int_equal(moqc_track_consumer_fetch_group(tc2, 2, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);
  /* Past the final sequence. */
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 4, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);
  moqc_track_consumer_del(tc2);
  ftrack_close(&f);
  moqc_waker_close(kf.w);
  moqc_waker_close(kd.w);
}

static void test_track_fetch_aborts_with_track(void **state) {
  ftrack f;
  moqc_track_dynamic *td;
  moqc_group_consumer *gc;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  assert_int_equal(moqc_track_producer_dynamic(f.tp, &td), 0);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 7, &gc, k.w),
                   MOQC_ERR_PENDING);
  moqc_track_producer_abort(f.tp, MOQC_ERR_TIMEOUT);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_consumer_fetch_group(f.tc, 7, &gc, NULL),
                   MOQC_ERR_TIMEOUT);
  moqc_track_dynamic_del(td);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_datagrams(void **state) {
  ftrack f;
  moqc_track_subscriber *s, *lag;
  moqc_group_producer *gp;
  moqc_rcbuf *p;
  uint64_t seq, ts;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  lag = sub_from(&f, true, 0, false, 0);
  assert_int_equal(moqc_track_subscriber_recv_datagram(s, &seq, &ts, &p, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(
      moqc_track_producer_write_datagram(f.tp, (const uint8_t *)"d0", 2, 10, 0),
      0);
  assert_int_equal(tm_wake_take(&k), 1);
  /* Same sequence namespace as groups. */
  assert_int_equal(moqc_track_producer_append_group(f.tp, 0, &gp), 0);
  assert_int_equal(moqc_group_producer_sequence(gp), 1);
  moqc_group_producer_del(gp);
  assert_int_equal(moqc_track_producer_write_datagram(
                       f.tp, (const uint8_t *)"d2", 2, 12, 20 * MS),
                   0);
  assert_int_equal(moqc_track_subscriber_recv_datagram(s, &seq, &ts, &p, NULL),
                   0);
  assert_int_equal(seq, 0);
  assert_int_equal(ts, 10);
  assert_memory_equal(moqc_rcbuf_data(p), "d0", 2);
  moqc_rcbuf_decref(p);
  assert_int_equal(moqc_track_subscriber_recv_datagram(s, &seq, &ts, &p, NULL),
                   0);
  assert_int_equal(seq, 2);
  moqc_rcbuf_decref(p);
  /* 50 ms buffer: d0 and d2 drop once d3 arrives 71 ms after d2; the laggard
   * skips them. */
  assert_int_equal(moqc_track_producer_write_datagram(
                       f.tp, (const uint8_t *)"d3", 2, 13, 71 * MS),
                   0);
  assert_int_equal(
      moqc_track_subscriber_recv_datagram(lag, &seq, &ts, &p, NULL), 0);
  assert_int_equal(seq, 3);
  moqc_rcbuf_decref(p);
  {
    uint8_t big[MOQC_MAX_DATAGRAM_SIZE + 1] = {0};
    assert_int_equal(
        moqc_track_producer_write_datagram(f.tp, big, sizeof(big), 0, 80 * MS),
        MOQC_ERR_FRAME_TOO_LARGE);
  }
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  assert_int_equal(
      moqc_track_subscriber_recv_datagram(lag, &seq, &ts, &p, NULL), MOQC_END);
  moqc_track_subscriber_del(s);
  moqc_track_subscriber_del(lag);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static moqc_subscription mk(uint8_t prio, bool ordered, uint64_t lat_ms,
                            int start, int end) {
  moqc_subscription s;
  moqc_subscription_default(&s);
  s.priority = prio;
  s.ordered = ordered;
  s.latency_max = lat_ms * MS;
  s.has_start = start >= 0;
  s.start = start >= 0 ? (uint64_t)start : 0;
  s.has_end = end >= 0;
  s.end = end >= 0 ? (uint64_t)end : 0;
  return s;
}

static void test_subscription_fold_rules(void **state) {
  moqc_subscription a, b;
  (void)state;
  /* combined priority: max */
  a = mk(1, false, 10, -1, -1);
  b = mk(5, false, 10, -1, -1);
  moqc_subscription_fold(&a, &b);
  assert_int_equal(a.priority, 5);
  /* combined ordered: AND (two ordered stay ordered) */
  a = mk(0, true, 10, -1, -1);
  b = mk(0, true, 10, -1, -1);
  moqc_subscription_fold(&a, &b);
  assert_true(a.ordered);
  b = mk(0, false, 10, -1, -1);
  moqc_subscription_fold(&a, &b);
  assert_false(a.ordered);
  /* combined latency: max */
  a = mk(0, false, 10, -1, -1);
  b = mk(0, false, 30, -1, -1);
  moqc_subscription_fold(&a, &b);
  assert_int_equal(a.latency_max, 30 * MS);
  /* combined start: min of explicit; none only if all none */
  a = mk(0, false, 10, -1, -1);
  b = mk(0, false, 10, 7, -1);
  moqc_subscription_fold(&a, &b);
  assert_true(a.has_start);
  assert_int_equal(a.start, 7);
  b = mk(0, false, 10, 4, -1);
  moqc_subscription_fold(&a, &b);
  assert_int_equal(a.start, 4);
  /* combined end: unbounded if any unbounded, else max */
  a = mk(0, false, 10, -1, 5);
  b = mk(0, false, 10, -1, 9);
  moqc_subscription_fold(&a, &b);
  assert_true(a.has_end);
  assert_int_equal(a.end, 9);
  b = mk(0, false, 10, -1, -1);
  moqc_subscription_fold(&a, &b);
  assert_false(a.has_end);
}

static void test_track_subscription_aggregate(void **state) {
  ftrack f;
  moqc_track_info info;
  moqc_subscription agg, s1 = mk(2, true, 100, 3, -1),
                         s2 = mk(6, true, 9000, 1, 8);
  moqc_track_subscriber *a, *b;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  moqc_track_info_default(&info);
  info.retention = 1000 * MS;
  ftrack_open(&f, &info);
  assert_int_equal(moqc_track_producer_subscription(f.tp, &agg, k.w), MOQC_END);
  assert_int_equal(moqc_track_consumer_subscribe(f.tc, &s1, &a, NULL), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_subscription(f.tp, &agg, k.w), 0);
  assert_int_equal(agg.priority, 2);
  assert_true(agg.ordered);
  assert_int_equal(agg.start, 3);
  assert_false(agg.has_end);
  assert_int_equal(moqc_track_consumer_subscribe(f.tc, &s2, &b, NULL), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_subscription(f.tp, &agg, k.w), 0);
  assert_int_equal(agg.priority, 6);
  assert_true(agg.ordered);
  assert_int_equal(agg.latency_max, 1000 * MS); /* clamped to the retention */
  assert_int_equal(agg.start, 1);
  assert_false(agg.has_end);
  /* An update that does not change the aggregate does not notify. */
  s2.priority = 5;
  assert_int_equal(moqc_track_subscriber_update(b, &s2), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_subscription(f.tp, &agg, k.w), 0);
  assert_int_equal(agg.priority, 5);
  s2.has_start = true; /* unchanged */
  assert_int_equal(moqc_track_subscriber_update(b, &s2), 0);
  assert_int_equal(tm_wake_take(&k), 0);
  moqc_track_subscriber_del(a);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_subscription(f.tp, &agg, k.w), 0);
  assert_true(agg.has_end);
  assert_int_equal(agg.end, 8);
  moqc_track_subscriber_del(b);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_subscription(f.tp, &agg, NULL),
                   MOQC_END);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_pending_subscribe_counts(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_request *r;
  moqc_track_consumer *tc;
  moqc_track_subscriber *s;
  moqc_track_producer *tp;
  moqc_subscription want = mk(9, false, 10, -1, -1), agg;
  (void)state;
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_reserve_track(bp, "r", &r), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "r", &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, &want, &s, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_track_request_accept(r, NULL, &tp), 0);
  /* The pending subscriber's preference counted before it resolved. */
  assert_int_equal(moqc_track_producer_subscription(tp, &agg, NULL), 0);
  assert_int_equal(agg.priority, 9);
  assert_int_equal(moqc_track_consumer_subscribe(tc, &want, &s, NULL), 0);
  moqc_track_subscriber_del(s);
  /* A consumer dropped with a pending subscribe releases it. */
  moqc_track_consumer_del(tc);
  assert_int_equal(moqc_track_producer_subscription(tp, &agg, NULL), MOQC_END);
  moqc_track_producer_del(tp);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
}

static void test_track_used_unused(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc, *tc2;
  moqc_track_subscriber *s;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_track_producer_used(tp, k.w), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_used(tp, k.w), 1);
  assert_int_equal(moqc_track_consumer_clone(tc, &tc2), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc2, NULL, &s, NULL), 0);
  moqc_track_consumer_del(tc);
  moqc_track_consumer_del(tc2);
  assert_int_equal(tm_wake_take(&k), 0); /* the subscriber still uses it */
  assert_int_equal(moqc_track_producer_used(tp, k.w), 1);
  moqc_track_subscriber_del(s);
  assert_int_equal(tm_wake_take(&k), 1);
  assert_int_equal(moqc_track_producer_used(tp, NULL), 0);
  moqc_track_producer_del(tp);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
  moqc_waker_close(k.w);
}

static void test_track_cache_pool_evicts_own_oldest(void **state) {
  moqc_cache_pool *pool;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_group_consumer *gc;
  moqc_rcbuf *buf;
  uint8_t data[1000] = {0};
  (void)state;
  /* Room for about two 1000-byte groups (plus 256 bytes overhead each). */
  assert_int_equal(moqc_cache_pool_new(&pool, 2600, NULL), 0);
  assert_int_equal(moqc_broadcast_new_with_pool(&bp, NULL, pool, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  assert_int_equal(
      moqc_track_producer_write_frame(tp, data, sizeof(data), 0, 0), 0);
  assert_int_equal(moqc_cache_pool_used(pool), 1256);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 0, &gc, NULL), 0);
  assert_int_equal(
      moqc_track_producer_write_frame(tp, data, sizeof(data), 0, 0), 0);
  assert_int_equal(
      moqc_track_producer_write_frame(tp, data, sizeof(data), 0, 0), 0);
  /* Over capacity at the third insert: the writer evicted its oldest group. */
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, NULL),
                   MOQC_ERR_EVICTED);
  moqc_group_consumer_del(gc);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 0, &gc, NULL),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 2, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  assert_true(moqc_cache_pool_used(pool) <= 2600);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(
      tp); /* unfinished: the cache is cleared and uncharged */
  assert_int_equal(moqc_cache_pool_used(pool), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
  moqc_cache_pool_decref(pool);
}

static void expect_read_frame(moqc_track_subscriber *s, uint64_t seq) {
  moqc_rcbuf *buf;
  uint64_t got = 99, ts = 99;
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &got, &ts, NULL),
                   0);
  assert_int_equal(got, seq);
  assert_int_equal(ts, seq);
  assert_int_equal(moqc_rcbuf_len(buf), 1);
  assert_int_equal(moqc_rcbuf_data(buf)[0], (uint8_t)seq);
  moqc_rcbuf_decref(buf);
}

static void test_track_read_frame_in_order(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  moqc_rcbuf *buf;
  uint64_t seq;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, k.w),
                   MOQC_ERR_PENDING);
  put(&f, 1, 0);
  assert_int_equal(tm_wake_take(&k), 1);
  put(&f, 0, 0);
  expect_read_frame(s, 0);
  expect_read_frame(s, 1);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, k.w),
                   MOQC_ERR_PENDING);
  put(&f, 2, 0);
  assert_int_equal(tm_wake_take(&k), 1);
  expect_read_frame(s, 2);
  /* Shares next_group's cursor. */
  put(&f, 3, 0);
  expect_next(s, false, 3);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, NULL),
                   MOQC_END);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_read_frame_waits_for_stalled(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  moqc_group_producer *gp;
  moqc_frame_producer *fp;
  moqc_rcbuf *buf;
  uint64_t seq;
  tm_wake k;
  (void)state;
  tm_wake_init(&k);
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 0, 0, &gp), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, k.w),
                   MOQC_ERR_PENDING);
  tm_wake_take(&k);
  assert_int_equal(moqc_group_producer_create_frame(gp, 1, 0, &fp), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, k.w),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_frame_producer_write(fp, (const uint8_t *)"\0", 1), 0);
  assert_int_equal(moqc_frame_producer_finish(fp), 0);
  assert_int_equal(tm_wake_take(&k), 1); /* the first frame completed */
  expect_read_frame(s, 0);
  moqc_frame_producer_del(fp);
  moqc_group_producer_del(gp);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
  moqc_waker_close(k.w);
}

static void test_track_read_frame_skips_stalled_and_dead(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  moqc_group_producer *stalled, *aborted, *empty;
  moqc_frame_producer *fp;
  moqc_rcbuf *buf;
  uint64_t seq;
  (void)state;
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, false, 0);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 0, 0, &stalled), 0);
  assert_int_equal(moqc_group_producer_create_frame(stalled, 4, 0, &fp), 0);
  assert_int_equal(moqc_frame_producer_write(fp, (const uint8_t *)"ab", 2), 0);
  put(&f, 1, 0);
  /* Group 0 is stalled while group 1 is ready: skip 0. */
  expect_read_frame(s, 1);
  assert_int_equal(moqc_frame_producer_write(fp, (const uint8_t *)"cd", 2), 0);
  assert_int_equal(moqc_frame_producer_finish(fp), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, NULL),
                   MOQC_ERR_PENDING);
  /* Aborted and empty finished groups never block. */
  assert_int_equal(moqc_track_producer_create_group(f.tp, 2, 0, &aborted), 0);
  assert_int_equal(moqc_track_producer_create_group(f.tp, 3, 0, &empty), 0);
  moqc_group_producer_abort(aborted, MOQC_ERR_CANCEL);
  assert_int_equal(moqc_group_producer_finish(empty), 0);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, NULL),
                   MOQC_END);
  moqc_frame_producer_del(fp);
  moqc_group_producer_del(stalled);
  moqc_group_producer_del(aborted);
  moqc_group_producer_del(empty);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
}

static void test_track_read_frame_end_cap(void **state) {
  ftrack f;
  moqc_track_subscriber *s;
  moqc_rcbuf *buf;
  uint64_t seq;
  (void)state;
  ftrack_open(&f, NULL);
  s = sub_from(&f, true, 0, true, 0);
  put(&f, 0, 0);
  put(&f, 1, 0);
  assert_int_equal(moqc_track_producer_finish(f.tp), 0);
  expect_read_frame(s, 0);
  assert_int_equal(moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, NULL),
                   MOQC_ERR_PENDING);
  moqc_track_subscriber_del(s);
  ftrack_close(&f);
}

/* A consumer that fetches an uncached group the moment it learns its track
 * exists (from inside the waker the accept fires) queues the fetch on a track
 * accepted with moqc_track_request_accept_dynamic; on one accepted first and
 * given its handler after, the same fetch is told the group does not exist:
 * the window a relay session used to leave open to viewers on other workers. */
static void test_track_fetch_handler_before_accept(void **state) {
  (void)state;
  for (int two_steps = 0; two_steps <= 1; two_steps++) {
    moqc_broadcast_producer *bp;
    moqc_broadcast_consumer *bc;
    moqc_broadcast_dynamic *dyn;
    moqc_track_request *req;
    moqc_track_producer *tp;
    moqc_track_dynamic *td = NULL;
    moqc_track_info info;
    moqc_waker *w;
    eager_fetcher e = {NULL, NULL, 1};
    uint64_t seq;

    assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
    assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
    assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
    assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &e.tc), 0);
    assert_int_equal(moqc_waker_new(&w, eager_fetcher_wake, &e, NULL), 0);
    assert_int_equal(moqc_track_consumer_info(e.tc, &info, w), MOQC_ERR_PENDING);
    assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &req, NULL), 0);
    if (two_steps) {
      assert_int_equal(moqc_track_request_accept(req, NULL, &tp), 0);
      assert_int_equal(e.fetch, MOQC_ERR_NOT_FOUND);
      assert_int_equal(moqc_track_producer_dynamic(tp, &td), 0);
    } else {
      assert_int_equal(moqc_track_request_accept_dynamic(req, NULL, &tp, &td), 0);
      assert_int_equal(e.fetch, MOQC_ERR_PENDING);
      assert_int_equal(moqc_track_dynamic_requested_group(td, &seq, NULL), 0);
      assert_int_equal(seq, 5);
      moqc_track_dynamic_reject_group(td, 5, MOQC_ERR_NOT_FOUND);
    }
    moqc_waker_close(w);
    moqc_group_consumer_del(e.gc);
    moqc_track_consumer_del(e.tc);
    moqc_track_dynamic_del(td);
    moqc_track_producer_del(tp);
    moqc_broadcast_dynamic_del(dyn);
    moqc_broadcast_consumer_del(bc);
    moqc_broadcast_producer_del(bp);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_track_group_rules),
      cmocka_unit_test(test_track_finish_empty_and_overflow),
      cmocka_unit_test(test_track_next_group_order_and_late),
      cmocka_unit_test(test_track_recv_group_arrival_order),
      cmocka_unit_test(test_track_live_edge_and_start),
      cmocka_unit_test(test_track_end_cap),
      cmocka_unit_test(test_track_retention),
      cmocka_unit_test(test_track_retention_keeps_max_sequence),
      cmocka_unit_test(test_track_retention_zero_keeps_new_group),
      cmocka_unit_test(test_track_abort_and_drop),
      cmocka_unit_test(test_track_fetch),
      cmocka_unit_test(test_track_fetch_aborts_with_track),
      cmocka_unit_test(test_track_fetch_handler_before_accept),
      cmocka_unit_test(test_track_datagrams),
      cmocka_unit_test(test_subscription_fold_rules),
      cmocka_unit_test(test_track_subscription_aggregate),
      cmocka_unit_test(test_track_pending_subscribe_counts),
      cmocka_unit_test(test_track_used_unused),
      cmocka_unit_test(test_track_cache_pool_evicts_own_oldest),
      cmocka_unit_test(test_track_read_frame_in_order),
      cmocka_unit_test(test_track_read_frame_waits_for_stalled),
      cmocka_unit_test(test_track_read_frame_skips_stalled_and_dead),
      cmocka_unit_test(test_track_read_frame_end_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
