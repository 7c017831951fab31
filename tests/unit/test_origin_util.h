/*
 * Helpers shared by the origin tests: a counting waker, a small usage context
 * with real sinks, and short-hands for publishing and taking announce events.
 */
#ifndef MOQC_TEST_ORIGIN_UTIL_H
#define MOQC_TEST_ORIGIN_UTIL_H

#include "testutil.h"

#include <moqc/moqc.h>

#include <pthread.h>
#include <stdatomic.h>

/* ---- Counting waker ------------------------------------------------------ */

typedef struct tw {
  moqc_waker *w;
  atomic_int fired;
} tw;

static void tw_cb(void *ud) {
  atomic_fetch_add(&((tw *)ud)->fired, 1);
}

static inline void tw_init(tw *t) {
  atomic_init(&t->fired, 0);
  assert_int_equal(moqc_waker_new(&t->w, tw_cb, t, NULL), 0);
}

static inline void tw_free(tw *t) {
  moqc_waker_close(t->w);
}

/* ---- Test usage context: one real sink per (direction, absolute path) ---- */

#define TCTX_MAX 32

typedef struct tctx tctx;

typedef struct tscope {
  moqc_usage_scope base;
  atomic_int refs;
  tctx *ctx;
  char path[128];
} tscope;

struct tctx {
  moqc_usage_ctx base;
  atomic_int refs;
  pthread_mutex_t lock;
  struct {
    moqc_direction dir;
    char path[128];
    moqc_usage *sink;
  } e[TCTX_MAX];
  int n;
  atomic_int scope_calls[2]; /* per direction */
  atomic_int live_scopes;
  atomic_int viewers;
};

static void tscope_viewer_open(moqc_usage_scope *s) {
  atomic_fetch_add(&((tscope *)s)->ctx->viewers, 1);
}
static void tscope_viewer_close(moqc_usage_scope *s) {
  atomic_fetch_sub(&((tscope *)s)->ctx->viewers, 1);
}
static void tscope_incref(moqc_usage_scope *s) {
  atomic_fetch_add(&((tscope *)s)->refs, 1);
}
static void tscope_decref(moqc_usage_scope *s) {
  tscope *t = (tscope *)s;
  if (atomic_fetch_sub(&t->refs, 1) == 1) {
    atomic_fetch_sub(&t->ctx->live_scopes, 1);
    moqc_usage_decref(s->sink);
    free(t);
  }
}
static const moqc_usage_scope_ops tscope_ops = {
    tscope_viewer_open, tscope_viewer_close, tscope_incref, tscope_decref};

/* Returns the sink of (dir, path), creating it. */
static inline moqc_usage *tctx_sink(tctx *c, moqc_direction dir,
                                    const char *path) {
  moqc_usage *u = NULL;
  int i;
  pthread_mutex_lock(&c->lock);
  for (i = 0; i < c->n; i++) {
    if (c->e[i].dir == dir && strcmp(c->e[i].path, path) == 0) {
      u = c->e[i].sink;
    }
  }
  if (u == NULL && c->n < TCTX_MAX) {
    assert_int_equal(moqc_usage_new(&u, NULL), 0);
    c->e[c->n].dir = dir;
    snprintf(c->e[c->n].path, sizeof(c->e[c->n].path), "%s", path);
    c->e[c->n].sink = u;
    c->n++;
  }
  pthread_mutex_unlock(&c->lock);
  return u;
}

static moqc_usage_scope *tctx_scope(moqc_usage_ctx *ctx, moqc_direction dir,
                                    moqc_str abs) {
  tctx *c = (tctx *)ctx;
  tscope *s = calloc(1, sizeof(*s));
  char path[128];

  assert_non_null(s);
  assert_true(abs.len < sizeof(path));
  memcpy(path, abs.ptr, abs.len);
  path[abs.len] = '\0';
  atomic_fetch_add(&c->scope_calls[dir], 1);
  atomic_fetch_add(&c->live_scopes, 1);
  atomic_init(&s->refs, 1);
  s->ctx = c;
  memcpy(s->path, path, abs.len + 1);
  s->base.ops = &tscope_ops;
  s->base.sink = tctx_sink(c, dir, path);
  moqc_usage_incref(s->base.sink);
  s->base.path.ptr = s->path;
  s->base.path.len = abs.len;
  return &s->base;
}
static void tctx_incref(moqc_usage_ctx *ctx) {
  atomic_fetch_add(&((tctx *)ctx)->refs, 1);
}
static void tctx_decref(moqc_usage_ctx *ctx) {
  atomic_fetch_sub(&((tctx *)ctx)->refs, 1);
}
static const moqc_usage_ctx_ops tctx_ops = {tctx_scope, tctx_incref,
                                            tctx_decref};

static inline void tctx_init(tctx *c) {
  memset(c, 0, sizeof(*c));
  c->base.ops = &tctx_ops;
  atomic_init(&c->refs, 1);
  pthread_mutex_init(&c->lock, NULL);
}

/* Frees the sinks; every reference taken by the model must be gone. */
static inline void tctx_free(tctx *c) {
  int i;
  assert_int_equal(atomic_load(&c->refs), 1);
  assert_int_equal(atomic_load(&c->live_scopes), 0);
  for (i = 0; i < c->n; i++) {
    assert_int_equal(moqc_usage_refcount(c->e[i].sink), 1);
    moqc_usage_decref(c->e[i].sink);
  }
  pthread_mutex_destroy(&c->lock);
}

static inline moqc_usage_counters tctx_read(tctx *c, moqc_direction dir,
                                            const char *path) {
  moqc_usage_counters k;
  moqc_usage_read(tctx_sink(c, dir, path), &k);
  return k;
}

/* ---- Origin short-hands -------------------------------------------------- */

/* A broadcast producer and one untagged consumer of it. */
typedef struct tbc {
  moqc_broadcast_producer *p;
  moqc_broadcast_consumer *c;
} tbc;

static inline void tbc_new(tbc *b) {
  assert_int_equal(moqc_broadcast_new(&b->p, NULL, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(b->p, &b->c), 0);
}

static inline void tbc_free(tbc *b) {
  moqc_broadcast_consumer_del(b->c);
  moqc_broadcast_producer_del(b->p);
}

static inline moqc_origin_publish *tpub(moqc_origin_producer *p,
                                        const char *path, const tbc *b,
                                        const moqc_origin_route *route) {
  moqc_origin_publish *g = NULL;
  assert_int_equal(
      moqc_origin_producer_publish(p, moqc_str_c(path), b->c, route, &g), 0);
  assert_non_null(g);
  return g;
}

/* Takes the next event and checks its path and whether it is active (and, if b,
 * which broadcast). */
static inline void tnext(moqc_origin_announced *a, const char *path,
                         bool active, const tbc *b) {
  moqc_origin_announce ev;
  memset(&ev, 0, sizeof(ev));
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  if (strlen(path) != ev.path.len ||
      memcmp(path, ev.path.ptr, ev.path.len) != 0) {
    fail_msg("expected path '%s', got '%.*s'", path, (int)ev.path.len,
             ev.path.ptr);
  }
  if (active) {
    assert_non_null(ev.broadcast);
    if (b != NULL) {
      assert_true(moqc_broadcast_consumer_is_clone(ev.broadcast, b->c));
    }
    moqc_broadcast_consumer_del(ev.broadcast);
  } else {
    assert_null(ev.broadcast);
  }
}

static inline void tnone(moqc_origin_announced *a) {
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), MOQC_ERR_PENDING);
}

#endif /* MOQC_TEST_ORIGIN_UTIL_H */
