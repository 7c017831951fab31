/*
 * Model under allocation failure: a scenario touching every allocating path is
 * run with the N-th allocation failing, for every N until it completes. Each
 * failing call must return MOQC_ERR_NOMEM (never crash or abort), and after
 * cleanup nothing may be left allocated.
 */
#include "test_model_util.h"

typedef struct oom_alloc {
  long countdown; /* allocations left before failing; < 0 = never fail */
  long live;
  bool failed;
} oom_alloc;

/* Counts an allocation; returns false (and records it) once the countdown has
 * run out: from then on every allocation fails. */
static bool oom_take(oom_alloc *a) {
  if (a->countdown == 0) {
    a->failed = true;
    return false;
  }
  if (a->countdown > 0) {
    a->countdown--;
  }
  return true;
}

static void *oom_malloc(size_t n, void *ud) {
  oom_alloc *a = ud;
  if (!oom_take(a)) {
    return NULL;
  }
  void *p = malloc(n);
  if (p != NULL) {
    a->live++;
  }
  return p;
}

static void oom_free(void *p, void *ud) {
  oom_alloc *a = ud;
  if (p != NULL) {
    a->live--;
    free(p);
  }
}

static void *oom_calloc(size_t nmemb, size_t size, void *ud) {
  void *p;
  if (size != 0 && nmemb > SIZE_MAX / size) {
    return NULL;
  }
  p = oom_malloc(nmemb * size, ud);
  if (p != NULL) {
    memset(p, 0, nmemb * size);
  }
  return p;
}

static void *oom_realloc(void *old, size_t n, void *ud) {
  oom_alloc *a = ud;
  if (!oom_take(a)) {
    return NULL;
  }
  void *p = realloc(old, n);
  if (p != NULL && old == NULL) {
    a->live++;
  }
  return p;
}

static void oom_wake_cb(void *ud) {
  (*(int *)ud)++;
}

#define STEP(call, want)                                                       \
  do {                                                                         \
    int rv_ = (call);                                                          \
    if (rv_ == MOQC_ERR_NOMEM) {                                               \
      goto out;                                                                \
    }                                                                          \
    assert_int_equal(rv_, (want));                                             \
  } while (0)

/* Returns true when the scenario ran to the end. */
static bool oom_scenario(const moqc_mem *mem, tm_scope *ing, tm_scope *eg) {
  bool done = false;
  moqc_waker *w = NULL;
  moqc_broadcast_producer *bp = NULL;
  moqc_broadcast_consumer *plain = NULL, *bc = NULL;
  moqc_broadcast_dynamic *dyn = NULL;
  moqc_track_producer *tp = NULL, *tp2 = NULL;
  moqc_track_consumer *tc = NULL, *tc2 = NULL;
  moqc_track_subscriber *sub = NULL, *sub2 = NULL;
  moqc_track_request *req = NULL;
  moqc_track_dynamic *td = NULL, *td3 = NULL;
  moqc_track_producer *tp3 = NULL;
  moqc_track_consumer *tc3 = NULL;
  moqc_track_subscriber *sub3 = NULL;
  moqc_group_consumer *fetched3 = NULL;
  moqc_group_producer *gp = NULL, *gp2 = NULL;
  moqc_group_consumer *gc = NULL, *gc2 = NULL, *fetched = NULL;
  moqc_frame_producer *fp = NULL;
  moqc_frame_consumer *fc = NULL, *fc2 = NULL;
  moqc_rcbuf *buf = NULL;
  size_t off, len;
  uint64_t seq;
  static int wakes;

  STEP(moqc_waker_new(&w, oom_wake_cb, &wakes, mem), 0);
  STEP(moqc_broadcast_new(&bp, &ing->base, mem), 0);
  STEP(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
  STEP(moqc_broadcast_producer_consume(bp, &plain), 0);
  STEP(moqc_broadcast_consumer_with_usage(plain, &eg->base, &bc), 0);
  STEP(moqc_broadcast_consumer_closed(bc, w), MOQC_ERR_PENDING);
  STEP(moqc_broadcast_producer_create_track(bp, "a", NULL, &tp), 0);
  STEP(moqc_broadcast_consumer_track(bc, "a", &tc), 0);
  STEP(moqc_track_consumer_subscribe(tc, NULL, &sub, NULL), 0);
  STEP(moqc_track_subscriber_next_group(sub, &gc, w), MOQC_ERR_PENDING);
  STEP(moqc_track_producer_append_group(tp, 0, &gp), 0);
  STEP(moqc_track_subscriber_next_group(sub, &gc, w), 0);
  STEP(moqc_group_consumer_next_frame(gc, &fc, w), MOQC_ERR_PENDING);
  STEP(moqc_group_producer_create_frame(gp, 10, 0, &fp), 0);
  STEP(moqc_group_consumer_next_frame(gc, &fc, w), 0);
  STEP(moqc_frame_consumer_read_chunk(fc, &buf, &off, &len, w),
       MOQC_ERR_PENDING);
  STEP(moqc_frame_producer_write(fp, (const uint8_t *)"01234", 5), 0);
  STEP(moqc_frame_producer_write(fp, (const uint8_t *)"56789", 5), 0);
  STEP(moqc_frame_producer_finish(fp), 0);
  STEP(moqc_frame_consumer_read_chunk(fc, &buf, &off, &len, w), 0);
  moqc_rcbuf_decref(buf);
  buf = NULL;
  STEP(moqc_frame_consumer_clone(fc, &fc2), 0);
  STEP(moqc_group_consumer_clone(gc, &gc2), 0);
  STEP(moqc_group_producer_write_frame(gp, (const uint8_t *)"x", 1, 0), 0);
  STEP(moqc_group_consumer_read_frame(gc2, &buf, NULL, w), 0);
  moqc_rcbuf_decref(buf);
  buf = NULL;
  STEP(moqc_group_producer_finish(gp), 0);
  STEP(moqc_track_producer_write_frame(tp, (const uint8_t *)"y", 1, 0, 0), 0);
  STEP(moqc_track_producer_write_datagram(tp, (const uint8_t *)"d", 1, 0, 0),
       0);
  STEP(moqc_track_subscriber_recv_datagram(sub, &seq, NULL, &buf, w), 0);
  moqc_rcbuf_decref(buf);
  buf = NULL;
  STEP(moqc_track_consumer_fetch_group(tc, 0, &fetched, w), 0);
  /* A dynamic request, accepted, with a fetch served through a handler. */
  STEP(moqc_broadcast_consumer_track(bc, "b", &tc2), 0);
  STEP(moqc_track_consumer_subscribe(tc2, NULL, &sub2, w), MOQC_ERR_PENDING);
  STEP(moqc_broadcast_dynamic_requested_track(dyn, &req, w), 0);
  {
    moqc_track_request *r = req;
    req = NULL;
    STEP(moqc_track_request_accept(r, NULL, &tp2), 0);
  }
  STEP(moqc_track_consumer_subscribe(tc2, NULL, &sub2, w), 0);
  STEP(moqc_track_producer_dynamic(tp2, &td), 0);
  moqc_group_consumer_del(fetched);
  fetched = NULL;
  STEP(moqc_track_consumer_fetch_group(tc2, 4, &fetched, w), MOQC_ERR_PENDING);
  STEP(moqc_track_dynamic_requested_group(td, &seq, w), 0);
  STEP(moqc_track_producer_create_group(tp2, seq, 0, &gp2), 0);
  STEP(moqc_track_consumer_fetch_group(tc2, 4, &fetched, w), 0);
  /* The same with the fetch handler registered by the accept. */
  STEP(moqc_broadcast_consumer_track(bc, "c", &tc3), 0);
  STEP(moqc_track_consumer_subscribe(tc3, NULL, &sub3, w), MOQC_ERR_PENDING);
  STEP(moqc_broadcast_dynamic_requested_track(dyn, &req, w), 0);
  {
    moqc_track_request *r = req;
    req = NULL;
    STEP(moqc_track_request_accept_dynamic(r, NULL, &tp3, &td3), 0);
  }
  STEP(moqc_track_consumer_fetch_group(tc3, 2, &fetched3, w), MOQC_ERR_PENDING);
  STEP(moqc_track_dynamic_requested_group(td3, &seq, w), 0);
  assert_int_equal(seq, 2);
  done = true;
out:
  if (req != NULL) {
    moqc_track_request_reject(req, MOQC_ERR_CANCEL);
  }
  moqc_frame_consumer_del(fc);
  moqc_frame_consumer_del(fc2);
  moqc_frame_producer_del(fp);
  moqc_group_consumer_del(gc);
  moqc_group_consumer_del(gc2);
  moqc_group_consumer_del(fetched);
  moqc_group_producer_del(gp);
  moqc_group_producer_del(gp2);
  moqc_track_dynamic_del(td);
  moqc_track_dynamic_del(td3);
  moqc_group_consumer_del(fetched3);
  moqc_track_subscriber_del(sub3);
  moqc_track_consumer_del(tc3);
  moqc_track_producer_del(tp3);
  moqc_track_subscriber_del(sub);
  moqc_track_subscriber_del(sub2);
  moqc_track_consumer_del(tc);
  moqc_track_consumer_del(tc2);
  moqc_track_producer_del(tp);
  moqc_track_producer_del(tp2);
  moqc_broadcast_dynamic_del(dyn);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(plain);
  moqc_broadcast_producer_del(bp);
  moqc_waker_close(w);
  return done;
}

static void test_model_oom_every_allocation(void **state) {
  oom_alloc a;
  moqc_mem mem = {&a, oom_malloc, oom_free, oom_calloc, oom_realloc};
  long n;
  (void)state;
  for (n = 0; n < 10000; n++) {
    tm_scope ing, eg;
    bool done;
    tm_scope_init(&ing, "p");
    tm_scope_init(&eg, "p");
    a.countdown = n;
    a.live = 0;
    a.failed = false;
    done = oom_scenario(&mem, &ing, &eg);
    assert_int_equal(a.live, 0);
    {
      moqc_usage_counters c = tm_read(&eg);
      /* Whatever failed, the pairs closed. */
      assert_int_equal(c.subscriptions, c.subscriptions_closed);
      assert_int_equal(atomic_load(&eg.viewer_open),
                       atomic_load(&eg.viewer_close));
      c = tm_read(&ing);
      assert_int_equal(c.broadcasts, c.broadcasts_closed);
      assert_int_equal(c.subscriptions, c.subscriptions_closed);
    }
    tm_scope_free(&ing);
    tm_scope_free(&eg);
    if (done) {
      assert_false(a.failed);
      break;
    }
    assert_true(a.failed);
  }
  assert_true(n > 20); /* the scenario does allocate */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_oom_every_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
