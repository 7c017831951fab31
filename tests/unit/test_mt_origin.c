/*
 * Origin under threads: publishers churning their own and a shared contended
 * path while announce consumers (one tagged) drain their cursors with wakers,
 * and a prober consumes, requests and opens cursors. Each consumer checks that
 * its event stream is consistent (never active twice, never ended without being
 * active) and that the final state is empty; the tagged consumer's announced
 * counts must balance. Run under ThreadSanitizer too.
 */
#include "test_origin_util.h"

#include <sched.h>

#define NPUB 4
#define NCON 2
#define NPATH 8
#define ITER 20000

/* cmocka assertions must stay on the main thread: worker threads count failures
 * instead. */
static atomic_int mt_failures;
#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);    \
      atomic_fetch_add(&mt_failures, 1);                                       \
    }                                                                          \
  } while (0)

static void mt_bc_new(tbc *b) {
  CHECK(moqc_broadcast_new(&b->p, NULL, NULL) == 0);
  CHECK(moqc_broadcast_producer_consume(b->p, &b->c) == 0);
}

typedef struct shared {
  moqc_origin *o;
  moqc_origin_producer *p;
  moqc_origin_consumer *c;
  tctx ctx;
  atomic_int stop_probe;
} shared;

typedef struct pubarg {
  shared *s;
  int id;
} pubarg;

static void *pub_main(void *arg) {
  pubarg *pa = arg;
  moqc_origin_publish *g[NPATH] = {0}, *gs = NULL;
  uint64_t hops[2];
  moqc_origin_route route = {hops, 0, 0};
  char path[32];
  uint32_t x = 2463534242u + (uint32_t)pa->id;
  tbc b;
  int i;

  mt_bc_new(&b);
  hops[0] = 100 + (uint64_t)pa->id;
  hops[1] = 200 + (uint64_t)pa->id;
  for (i = 0; i < ITER; i++) {
    int k;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    k = (int)(x % NPATH);
    if (i % 64 == 0) {
      sched_yield(); /* let the consumers interleave */
    }
    if (g[k] != NULL) {
      moqc_origin_publish_del(g[k]);
      g[k] = NULL;
    } else {
      snprintf(path, sizeof(path), "t%d/p%d", pa->id, k);
      CHECK(moqc_origin_producer_publish(pa->s->p, moqc_str_c(path), b.c, NULL,
                                         &g[k]) == 0);
    }
    if (x % 3 == 0) {
      if (gs != NULL) {
        moqc_origin_publish_del(gs);
        gs = NULL;
      } else {
        route.count = (size_t)(x >> 8) % 3;
        CHECK((moqc_origin_producer_publish(pa->s->p, moqc_str_c("shared"), b.c,
                                            &route, &gs)) == 0);
      }
    }
  }
  for (i = 0; i < NPATH; i++) {
    moqc_origin_publish_del(g[i]);
  }
  moqc_origin_publish_del(gs);
  tbc_free(&b);
  return NULL;
}

typedef struct conarg {
  shared *s;
  bool tagged;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool woken;
  long events;
} conarg;

static void con_wake(void *ud) {
  conarg *ca = ud;
  pthread_mutex_lock(&ca->lock);
  ca->woken = true;
  pthread_cond_signal(&ca->cond);
  pthread_mutex_unlock(&ca->lock);
}

#define NSEEN 64

static void *con_main(void *arg) {
  conarg *ca = arg;
  moqc_origin_consumer *c = ca->s->c, *tc = NULL;
  moqc_origin_announced *a;
  moqc_waker *w;
  char names[NSEEN][32];
  bool active[NSEEN];
  int nnames = 0, i;
  bool done = false;

  if (ca->tagged) {
    CHECK((moqc_origin_consumer_with_usage(c, &ca->s->ctx.base, &tc)) == 0);
    c = tc;
  }
  CHECK((moqc_waker_new(&w, con_wake, ca, NULL)) == 0);
  CHECK((moqc_origin_consumer_announced(c, &a)) == 0);
  while (!done) {
    moqc_origin_announce ev;
    int rc = moqc_origin_announced_next(a, &ev, w);
    char path[32];
    if (rc == MOQC_ERR_PENDING) {
      pthread_mutex_lock(&ca->lock);
      while (!ca->woken) {
        pthread_cond_wait(&ca->cond, &ca->lock);
      }
      ca->woken = false;
      pthread_mutex_unlock(&ca->lock);
      continue;
    }
    CHECK((rc) == 0);
    ca->events++;
    CHECK(ev.path.len < sizeof(path));
    memcpy(path, ev.path.ptr, ev.path.len);
    path[ev.path.len] = '\0';
    for (i = 0; i < nnames && strcmp(names[i], path) != 0; i++) {
    }
    if (i == nnames) {
      CHECK(nnames < NSEEN);
      snprintf(names[nnames], sizeof(names[nnames]), "%s", path);
      active[nnames++] = false;
    }
    if (ev.broadcast != NULL) {
      CHECK(!(active[i]));
      active[i] = true;
      moqc_broadcast_consumer_del(ev.broadcast);
      done = strcmp(path, "zz/done") == 0;
    } else {
      CHECK(active[i]);
      active[i] = false;
    }
  }
  /* Everything else ended before the final marker was delivered. */
  for (i = 0; i < nnames; i++) {
    CHECK(active[i] == (strcmp(names[i], "zz/done") == 0));
  }
  moqc_origin_announced_del(a);
  moqc_waker_close(w);
  moqc_origin_consumer_del(tc);
  return NULL;
}

static void *probe_main(void *arg) {
  shared *s = arg;
  moqc_origin_dynamic *d;
  long n = 0;

  CHECK((moqc_origin_producer_dynamic(s->p, &d)) == 0);
  while (!atomic_load(&s->stop_probe) || n < 100) {
    moqc_broadcast_consumer *bc;
    moqc_origin_announced *a;
    moqc_origin_request *r;
    moqc_origin_broadcast_request *br;
    int rc =
        moqc_origin_consumer_consume_broadcast(s->c, moqc_str_c("shared"), &bc);
    CHECK(rc == 0 || rc == MOQC_ERR_NOT_FOUND);
    if (rc == 0) {
      moqc_broadcast_consumer_del(bc);
    }
    CHECK((moqc_origin_consumer_request_broadcast(s->c, moqc_str_c("t1/p1"),
                                                  &r)) == 0);
    if (moqc_origin_dynamic_next(d, &br, NULL) == 0) {
      moqc_origin_broadcast_request_reject(br, MOQC_ERR_NOT_FOUND);
    }
    rc = moqc_origin_request_poll(r, &bc, NULL);
    CHECK(rc == 0 || rc == MOQC_ERR_PENDING || rc == MOQC_ERR_NOT_FOUND);
    if (rc == 0) {
      moqc_broadcast_consumer_del(bc);
    }
    moqc_origin_request_del(r);
    CHECK((moqc_origin_consumer_announced(s->c, &a)) == 0);
    moqc_origin_announced_del(a);
    n++;
  }
  moqc_origin_dynamic_del(d);
  return NULL;
}

static void test_mt_publishers_and_cursors(void **state) {
  shared s;
  pthread_t pt[NPUB], ct[NCON], probe;
  pubarg pa[NPUB];
  conarg ca[NCON];
  moqc_origin_publish *g;
  tbc done;
  int i;
  (void)state;

  memset(&s, 0, sizeof(s));
  tctx_init(&s.ctx);
  assert_int_equal(moqc_origin_new(&s.o, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(s.o, &s.p), 0);
  assert_int_equal(moqc_origin_consumer_new(s.o, &s.c), 0);
  for (i = 0; i < NCON; i++) {
    memset(&ca[i], 0, sizeof(ca[i]));
    ca[i].s = &s;
    ca[i].tagged = i == 0;
    pthread_mutex_init(&ca[i].lock, NULL);
    pthread_cond_init(&ca[i].cond, NULL);
    pthread_create(&ct[i], NULL, con_main, &ca[i]);
  }
  pthread_create(&probe, NULL, probe_main, &s);
  for (i = 0; i < NPUB; i++) {
    pa[i].s = &s;
    pa[i].id = i;
    pthread_create(&pt[i], NULL, pub_main, &pa[i]);
  }
  for (i = 0; i < NPUB; i++) {
    pthread_join(pt[i], NULL);
  }
  tbc_new(&done);
  g = tpub(s.p, "zz/done", &done, NULL);
  for (i = 0; i < NCON; i++) {
    pthread_join(ct[i], NULL);
    assert_true(ca[i].events > 0);
    printf("consumer %d: %ld events\n", i, ca[i].events);
    pthread_mutex_destroy(&ca[i].lock);
    pthread_cond_destroy(&ca[i].cond);
  }
  atomic_store(&s.stop_probe, 1);
  pthread_join(probe, NULL);
  assert_int_equal(atomic_load(&mt_failures), 0);
  moqc_origin_publish_del(g);
  tbc_free(&done);

  /* The tagged cursor is gone: every announced count it opened is closed. */
  for (i = 0; i < s.ctx.n; i++) {
    moqc_usage_counters k;
    moqc_usage_read(s.ctx.e[i].sink, &k);
    assert_int_equal(s.ctx.e[i].dir, MOQC_DIRECTION_EGRESS);
    assert_true(k.announced > 0);
    assert_int_equal(k.announced, k.announced_closed);
    assert_int_equal(k.announced_bytes,
                     2 * k.announced * strlen(s.ctx.e[i].path));
  }
  assert_true(s.ctx.n > 0);
  moqc_origin_consumer_del(s.c);
  moqc_origin_producer_del(s.p);
  moqc_origin_decref(s.o);
  tctx_free(&s.ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mt_publishers_and_cursors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
