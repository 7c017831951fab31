/*
 * Model under threads: one writer, several readers parked on wakers (condition
 * variables signalled from the waker callback), every byte checked; waker close
 * racing with wakes. Run under ThreadSanitizer too.
 */
#include "test_model_util.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

enum { MT_GROUPS = 150, MT_FRAMES = 6, MT_READERS = 4, MT_CHUNK = 400 };

static size_t mt_frame_size(int g, int f) {
  return (size_t)(1 + ((g * MT_FRAMES + f) * 389) % 2500);
}

static uint8_t mt_byte(int g, int f, size_t i) {
  return (uint8_t)(g * 131 + f * 17 + (int)i);
}

/* A parking spot: the waker sets the flag and signals. */
typedef struct mt_park {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool flag;
  moqc_waker *w;
} mt_park;

static void mt_park_cb(void *ud) {
  mt_park *p = ud;
  pthread_mutex_lock(&p->lock);
  p->flag = true;
  pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static void mt_park_init(mt_park *p) {
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->flag = false;
  assert_int_equal(moqc_waker_new(&p->w, mt_park_cb, p, NULL), 0);
}

static void mt_park_wait(mt_park *p) {
  pthread_mutex_lock(&p->lock);
  while (!p->flag) {
    pthread_cond_wait(&p->cond, &p->lock);
  }
  p->flag = false;
  pthread_mutex_unlock(&p->lock);
}

static void mt_park_free(mt_park *p) {
  moqc_waker_close(p->w);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
}

typedef struct mt_reader {
  pthread_t thread;
  moqc_track_subscriber *sub;
  bool arrival; /* recv_group instead of next_group */
  mt_park park;
  int groups;
  uint64_t bytes;
  int errors;
} mt_reader;

static void *mt_reader_main(void *arg) {
  mt_reader *r = arg;
  for (;;) {
    moqc_group_consumer *gc;
    int rv = r->arrival
                 ? moqc_track_subscriber_recv_group(r->sub, &gc, r->park.w)
                 : moqc_track_subscriber_next_group(r->sub, &gc, r->park.w);
    if (rv == MOQC_ERR_PENDING) {
      mt_park_wait(&r->park);
      continue;
    }
    if (rv == MOQC_END) {
      break;
    }
    if (rv != 0) {
      r->errors++;
      break;
    }
    int g = (int)moqc_group_consumer_sequence(gc);
    if (!r->arrival && g != r->groups) {
      r->errors++;
    }
    int f = 0;
    for (;;) {
      moqc_frame_consumer *fc;
      rv = moqc_group_consumer_next_frame(gc, &fc, r->park.w);
      if (rv == MOQC_ERR_PENDING) {
        mt_park_wait(&r->park);
        continue;
      }
      if (rv != 0) {
        if (rv != MOQC_END) {
          r->errors++;
        }
        break;
      }
      size_t pos = 0;
      if (moqc_frame_consumer_size(fc) != mt_frame_size(g, f)) {
        r->errors++;
      }
      for (;;) {
        moqc_rcbuf *buf;
        size_t off, len;
        rv = moqc_frame_consumer_read_chunk(fc, &buf, &off, &len, r->park.w);
        if (rv == MOQC_ERR_PENDING) {
          mt_park_wait(&r->park);
          continue;
        }
        if (rv != 0) {
          if (rv != MOQC_END) {
            r->errors++;
          }
          break;
        }
        if (off != pos) {
          r->errors++;
        }
        const uint8_t *d = moqc_rcbuf_data(buf);
        for (size_t i = 0; i < len; i++) {
          if (d[off + i] != mt_byte(g, f, off + i)) {
            r->errors++;
            break;
          }
        }
        pos += len;
        r->bytes += len;
        moqc_rcbuf_decref(buf);
      }
      if (pos != mt_frame_size(g, f)) {
        r->errors++;
      }
      moqc_frame_consumer_del(fc);
      f++;
    }
    if (f != MT_FRAMES) {
      r->errors++;
    }
    moqc_group_consumer_del(gc);
    r->groups++;
  }
  return NULL;
}

typedef struct mt_writer {
  moqc_track_producer *tp;
  uint64_t bytes;
} mt_writer;

static void *mt_writer_main(void *arg) {
  mt_writer *w = arg;
  uint8_t chunk[MT_CHUNK];
  for (int g = 0; g < MT_GROUPS; g++) {
    moqc_group_producer *gp;
    if (moqc_track_producer_append_group(w->tp, 0, &gp) != 0) {
      return NULL;
    }
    for (int f = 0; f < MT_FRAMES; f++) {
      moqc_frame_producer *fp;
      size_t size = mt_frame_size(g, f);
      if (moqc_group_producer_create_frame(gp, size, (uint64_t)g, &fp) != 0) {
        return NULL;
      }
      for (size_t pos = 0; pos < size;) {
        size_t n = size - pos < MT_CHUNK ? size - pos : MT_CHUNK;
        for (size_t i = 0; i < n; i++) {
          chunk[i] = mt_byte(g, f, pos + i);
        }
        if (moqc_frame_producer_write(fp, chunk, n) != 0) {
          return NULL;
        }
        pos += n;
        w->bytes += n;
      }
      moqc_frame_producer_finish(fp);
      moqc_frame_producer_del(fp);
    }
    moqc_group_producer_finish(gp);
    moqc_group_producer_del(gp);
  }
  moqc_track_producer_finish(w->tp);
  return NULL;
}

static void test_mt_writer_readers(void **state) {
  tm_scope ing, eg;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *plain, *bc;
  moqc_track_consumer *tc;
  mt_reader readers[MT_READERS];
  mt_writer writer = {NULL, 0};
  pthread_t wt;
  uint64_t expect = 0;
  moqc_subscription sub;
  moqc_usage_counters c;
  (void)state;
  for (int g = 0; g < MT_GROUPS; g++) {
    for (int f = 0; f < MT_FRAMES; f++) {
      expect += mt_frame_size(g, f);
    }
  }
  tm_scope_init(&ing, "mt");
  tm_scope_init(&eg, "mt");
  assert_int_equal(moqc_broadcast_new(&bp, &ing.base, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &plain), 0);
  assert_int_equal(moqc_broadcast_consumer_with_usage(plain, &eg.base, &bc), 0);
  assert_int_equal(
      moqc_broadcast_producer_create_track(bp, "t", NULL, &writer.tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  moqc_subscription_default(&sub);
  sub.has_start = true;
  for (int i = 0; i < MT_READERS; i++) {
    memset(&readers[i], 0, sizeof(readers[i]));
    readers[i].arrival = (i % 2) == 1;
    mt_park_init(&readers[i].park);
    assert_int_equal(
        moqc_track_consumer_subscribe(tc, &sub, &readers[i].sub, NULL), 0);
  }
  for (int i = 0; i < MT_READERS; i++) {
    assert_int_equal(
        pthread_create(&readers[i].thread, NULL, mt_reader_main, &readers[i]),
        0);
  }
  assert_int_equal(pthread_create(&wt, NULL, mt_writer_main, &writer), 0);
  pthread_join(wt, NULL);
  assert_int_equal(writer.bytes, expect);
  for (int i = 0; i < MT_READERS; i++) {
    pthread_join(readers[i].thread, NULL);
    assert_int_equal(readers[i].errors, 0);
    assert_int_equal(readers[i].groups, MT_GROUPS);
    assert_int_equal(readers[i].bytes, expect);
    moqc_track_subscriber_del(readers[i].sub);
    mt_park_free(&readers[i].park);
  }
  c = tm_read(&ing);
  assert_int_equal(c.groups, MT_GROUPS);
  assert_int_equal(c.frames, MT_GROUPS * MT_FRAMES);
  assert_int_equal(c.bytes, expect);
  c = tm_read(&eg);
  assert_int_equal(c.groups, MT_READERS * MT_GROUPS);
  assert_int_equal(c.frames, MT_READERS * MT_GROUPS * MT_FRAMES);
  assert_int_equal(c.bytes, MT_READERS * expect);
  assert_int_equal(c.subscriptions, MT_READERS);
  assert_int_equal(c.subscriptions_closed, MT_READERS);
  moqc_track_consumer_del(tc);
  moqc_track_producer_del(writer.tp);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(plain);
  moqc_broadcast_producer_del(bp);
  tm_scope_free(&ing);
  tm_scope_free(&eg);
}

/* A writer that drops its track mid-stream: parked readers wake and see
 * DROPPED. */
static void *mt_dropper_main(void *arg) {
  moqc_track_producer *tp = arg;
  for (int g = 0; g < 20; g++) {
    moqc_track_producer_write_frame(tp, (const uint8_t *)"x", 1, 0, 0);
  }
  moqc_track_producer_del(tp);
  return NULL;
}

static void *mt_drain_main(void *arg) {
  mt_reader *r = arg;
  for (;;) {
    moqc_group_consumer *gc;
    int rv = moqc_track_subscriber_next_group(r->sub, &gc, r->park.w);
    if (rv == MOQC_ERR_PENDING) {
      mt_park_wait(&r->park);
      continue;
    }
    if (rv != 0) {
      r->errors = rv;
      break;
    }
    r->groups++;
    moqc_group_consumer_del(gc);
  }
  return NULL;
}

static void test_mt_drop_wakes_readers(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  mt_reader readers[2];
  pthread_t wt;
  (void)state;
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  for (int i = 0; i < 2; i++) {
    memset(&readers[i], 0, sizeof(readers[i]));
    mt_park_init(&readers[i].park);
    assert_int_equal(
        moqc_track_consumer_subscribe(tc, NULL, &readers[i].sub, NULL), 0);
    assert_int_equal(
        pthread_create(&readers[i].thread, NULL, mt_drain_main, &readers[i]),
        0);
  }
  assert_int_equal(pthread_create(&wt, NULL, mt_dropper_main, tp), 0);
  pthread_join(wt, NULL);
  for (int i = 0; i < 2; i++) {
    pthread_join(readers[i].thread, NULL);
    assert_int_equal(readers[i].errors, MOQC_ERR_DROPPED);
    moqc_track_subscriber_del(readers[i].sub);
    mt_park_free(&readers[i].park);
  }
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
}

/* waker_close racing with wakes from another thread. */
typedef struct mt_slow {
  atomic_int running;
  atomic_int calls;
  atomic_bool stop;
  moqc_waker *w;
} mt_slow;

static void mt_slow_cb(void *ud) {
  mt_slow *s = ud;
  struct timespec ts = {0, 200000};
  atomic_store(&s->running, 1);
  atomic_fetch_add(&s->calls, 1);
  nanosleep(&ts, NULL);
  atomic_store(&s->running, 0);
}

static void *mt_waking_main(void *arg) {
  mt_slow *s = arg;
  while (!atomic_load(&s->stop)) {
    moqc_waker_wake(s->w);
  }
  return NULL;
}

static void test_mt_waker_close_waits(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    mt_slow s;
    pthread_t th;
    struct timespec ts = {0, 500000};
    atomic_init(&s.running, 0);
    atomic_init(&s.calls, 0);
    atomic_init(&s.stop, false);
    assert_int_equal(moqc_waker_new(&s.w, mt_slow_cb, &s, NULL), 0);
    moqc_waker_incref(s.w); /* the waking thread's reference */
    assert_int_equal(pthread_create(&th, NULL, mt_waking_main, &s), 0);
    nanosleep(&ts, NULL);
    moqc_waker_close(s.w);
    /* Once close returned the callback is not running and never runs again. */
    assert_int_equal(atomic_load(&s.running), 0);
    int calls = atomic_load(&s.calls);
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&s.calls), calls);
    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    moqc_waker_decref(s.w);
  }
}

/* Single-frame groups read with the read_frame shortcut, plus fetches, under
 * threads. */
typedef struct mt_sf {
  moqc_track_producer *tp;
  moqc_track_subscriber *sub;
  moqc_track_consumer *tc;
  mt_park park;
  int got;
  int errors;
} mt_sf;

enum { MT_SF_GROUPS = 400 };

static void *mt_sf_writer(void *arg) {
  mt_sf *x = arg;
  for (int g = 0; g < MT_SF_GROUPS; g++) {
    uint8_t b[3] = {(uint8_t)g, (uint8_t)(g >> 8), 0x5a};
    moqc_track_producer_write_frame(x->tp, b, sizeof(b), (uint64_t)g, 0);
  }
  moqc_track_producer_finish(x->tp);
  return NULL;
}

static void *mt_sf_reader(void *arg) {
  mt_sf *x = arg;
  uint64_t last = 0;
  for (;;) {
    moqc_rcbuf *buf;
    uint64_t seq, ts;
    int rv =
        moqc_track_subscriber_read_frame(x->sub, &buf, &seq, &ts, x->park.w);
    if (rv == MOQC_ERR_PENDING) {
      mt_park_wait(&x->park);
      continue;
    }
    if (rv != 0) {
      if (rv != MOQC_END) {
        x->errors++;
      }
      break;
    }
    const uint8_t *d = moqc_rcbuf_data(buf);
    if (moqc_rcbuf_len(buf) != 3 || d[0] != (uint8_t)seq ||
        d[1] != (uint8_t)(seq >> 8) || d[2] != 0x5a || ts != seq ||
        (x->got > 0 && seq <= last)) {
      x->errors++;
    }
    last = seq;
    moqc_rcbuf_decref(buf);
    /* Fetch the same group again through the consumer: a cache hit. */
    moqc_group_consumer *gc;
    if (moqc_track_consumer_fetch_group(x->tc, seq, &gc, NULL) == 0) {
      if (moqc_group_consumer_sequence(gc) != seq) {
        x->errors++;
      }
      moqc_group_consumer_del(gc);
    }
    x->got++;
  }
  return NULL;
}

static void test_mt_read_frame_and_fetch(void **state) {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_subscription sub;
  mt_sf x;
  pthread_t wt, rt;
  (void)state;
  memset(&x, 0, sizeof(x));
  assert_int_equal(moqc_broadcast_new(&bp, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "sf", NULL, &x.tp),
                   0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "sf", &x.tc), 0);
  moqc_subscription_default(&sub);
  sub.has_start = true;
  assert_int_equal(moqc_track_consumer_subscribe(x.tc, &sub, &x.sub, NULL), 0);
  mt_park_init(&x.park);
  assert_int_equal(pthread_create(&rt, NULL, mt_sf_reader, &x), 0);
  assert_int_equal(pthread_create(&wt, NULL, mt_sf_writer, &x), 0);
  pthread_join(wt, NULL);
  pthread_join(rt, NULL);
  assert_int_equal(x.errors, 0);
  /* The reader may skip nothing here: every group is complete when inserted. */
  assert_int_equal(x.got, MT_SF_GROUPS);
  moqc_track_subscriber_del(x.sub);
  moqc_track_consumer_del(x.tc);
  moqc_track_producer_del(x.tp);
  mt_park_free(&x.park);
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_producer_del(bp);
}

/* Churn: tracks created, fed and dropped while readers and a request handler
 * come and go. */
typedef struct mt_churn {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_broadcast_dynamic *dyn;
  atomic_bool stop;
  atomic_int reads;
  atomic_int errors;
  atomic_int rounds; /* tracks the writer created */
} mt_churn;

/* Waits for a wake or 2 ms, whichever first (so stop is always noticed). */
static void mt_park_wait_brief(mt_park *p) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 2000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&p->lock);
  while (!p->flag) {
    if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0) {
      break;
    }
  }
  p->flag = false;
  pthread_mutex_unlock(&p->lock);
}

static void *mt_churn_writer(void *arg) {
  mt_churn *x = arg;
  for (int round = 0; round < 150;) {
    moqc_track_producer *tp;
    if (moqc_broadcast_producer_create_track(x->bp, "t", NULL, &tp) != 0) {
      sched_yield(); /* a request popped by the handler holds the name */
      continue;
    }
    round++;
    atomic_fetch_add(&x->rounds, 1);
    for (int g = 0; g < 4; g++) {
      moqc_track_producer_write_frame(tp, (const uint8_t *)"abc", 3, 0,
                                      (moqc_tstamp)round * MOQC_MILLISECONDS);
    }
    if (round % 2 == 0) {
      moqc_track_producer_finish(tp);
    }
    moqc_track_producer_del(tp);
  }
  atomic_store(&x->stop, true);
  return NULL;
}

static void *mt_churn_reader(void *arg) {
  mt_churn *x = arg;
  mt_park park;
  mt_park_init(&park);
  while (!atomic_load(&x->stop)) {
    moqc_track_consumer *tc;
    moqc_track_subscriber *sub = NULL;
    if (moqc_broadcast_consumer_track(x->bc, "t", &tc) != 0) {
      continue;
    }
    for (;;) {
      int rv = moqc_track_consumer_subscribe(tc, NULL, &sub, park.w);
      if (rv == MOQC_ERR_PENDING && !atomic_load(&x->stop)) {
        mt_park_wait_brief(&park);
        continue;
      }
      if (rv != 0) {
        sub = NULL;
      }
      break;
    }
    while (sub != NULL && !atomic_load(&x->stop)) {
      moqc_group_consumer *gc;
      int rv = moqc_track_subscriber_recv_group(sub, &gc, park.w);
      if (rv == MOQC_ERR_PENDING) {
        mt_park_wait_brief(&park);
        continue;
      }
      if (rv != 0) {
        break;
      }
      moqc_rcbuf *buf;
      rv = moqc_group_consumer_read_frame(gc, &buf, NULL, NULL);
      if (rv == 0) {
        if (moqc_rcbuf_len(buf) != 3 && moqc_rcbuf_len(buf) != 1) {
          atomic_fetch_add(&x->errors, 1);
        }
        moqc_rcbuf_decref(buf);
        atomic_fetch_add(&x->reads, 1);
      }
      moqc_group_consumer_del(gc);
    }
    moqc_track_subscriber_del(sub);
    moqc_track_consumer_del(tc);
  }
  mt_park_free(&park);
  return NULL;
}

static void *mt_churn_handler(void *arg) {
  mt_churn *x = arg;
  mt_park park;
  int n = 0;
  mt_park_init(&park);
  while (!atomic_load(&x->stop)) {
    moqc_track_request *req;
    int rv = moqc_broadcast_dynamic_requested_track(x->dyn, &req, park.w);
    if (rv == MOQC_ERR_PENDING) {
      mt_park_wait_brief(&park);
      continue;
    }
    if (rv != 0) {
      break;
    }
    if (n++ % 2 == 0) {
      moqc_track_request_reject(req, MOQC_ERR_NOT_FOUND);
    } else {
      moqc_track_producer *tp;
      if (moqc_track_request_accept(req, NULL, &tp) == 0) {
        moqc_track_producer_write_frame(tp, (const uint8_t *)"r", 1, 0, 0);
        moqc_track_producer_del(tp);
      }
    }
  }
  mt_park_free(&park);
  return NULL;
}

static void test_mt_churn(void **state) {
  mt_churn x;
  pthread_t w, h, r[3];
  tm_scope ing, eg;
  moqc_broadcast_consumer *plain;
  moqc_usage_counters c;
  (void)state;
  tm_scope_init(&ing, "c");
  tm_scope_init(&eg, "c");
  atomic_init(&x.stop, false);
  atomic_init(&x.reads, 0);
  atomic_init(&x.errors, 0);
  atomic_init(&x.rounds, 0);
  assert_int_equal(moqc_broadcast_new(&x.bp, &ing.base, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(x.bp, &plain), 0);
  assert_int_equal(moqc_broadcast_consumer_with_usage(plain, &eg.base, &x.bc),
                   0);
  moqc_broadcast_consumer_del(plain);
  assert_int_equal(moqc_broadcast_producer_dynamic(x.bp, &x.dyn), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pthread_create(&r[i], NULL, mt_churn_reader, &x), 0);
  }
  assert_int_equal(pthread_create(&h, NULL, mt_churn_handler, &x), 0);
  assert_int_equal(pthread_create(&w, NULL, mt_churn_writer, &x), 0);
  pthread_join(w, NULL);
  for (int i = 0; i < 3; i++) {
    pthread_join(r[i], NULL);
  }
  pthread_join(h, NULL);
  assert_int_equal(atomic_load(&x.errors), 0);
  moqc_broadcast_dynamic_del(x.dyn);
  moqc_broadcast_consumer_del(x.bc);
  moqc_broadcast_producer_del(x.bp);
  /* Every pair closed, every reference returned. */
  c = tm_read(&eg);
  assert_int_equal(c.subscriptions, c.subscriptions_closed);
  assert_int_equal(atomic_load(&eg.viewer_open), atomic_load(&eg.viewer_close));
  assert_true(c.frames <= c.groups);
  c = tm_read(&ing);
  assert_int_equal(c.broadcasts, c.broadcasts_closed);
  assert_int_equal(c.subscriptions, c.subscriptions_closed);
  assert_int_equal(atomic_load(&x.rounds), 150);
  assert_true(c.groups >= (uint64_t)atomic_load(&x.rounds) * 4);
  tm_scope_free(&ing);
  tm_scope_free(&eg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mt_writer_readers),
      cmocka_unit_test(test_mt_drop_wakes_readers),
      cmocka_unit_test(test_mt_waker_close_waits),
      cmocka_unit_test(test_mt_read_frame_and_fetch),
      cmocka_unit_test(test_mt_churn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
