/*
 * Helpers for the model tests: a counting waker and a counting usage scope.
 */
#ifndef MOQC_TEST_MODEL_UTIL_H
#define MOQC_TEST_MODEL_UTIL_H

#include "testutil.h"

#include <moqc/model.h>
#include <moqc/usage.h>

#include <stdatomic.h>

/* A waker that counts its calls. */
typedef struct tm_wake {
  atomic_int count;
  moqc_waker *w;
} tm_wake;

static void tm_wake_cb(void *ud) { atomic_fetch_add(&((tm_wake *)ud)->count, 1); }

static inline void tm_wake_init(tm_wake *k) {
  atomic_init(&k->count, 0);
  assert_int_equal(moqc_waker_new(&k->w, tm_wake_cb, k, NULL), 0);
}

static inline int tm_wake_take(tm_wake *k) { return atomic_exchange(&k->count, 0); }

/* A scope counting viewer calls and references, with a real sink. */
typedef struct tm_scope {
  moqc_usage_scope base;
  atomic_int refs;
  atomic_int viewer_open;
  atomic_int viewer_close;
} tm_scope;

static void tm_scope_viewer_open(moqc_usage_scope *s) {
  atomic_fetch_add(&((tm_scope *)s)->viewer_open, 1);
}
static void tm_scope_viewer_close(moqc_usage_scope *s) {
  atomic_fetch_add(&((tm_scope *)s)->viewer_close, 1);
}
static void tm_scope_incref(moqc_usage_scope *s) { atomic_fetch_add(&((tm_scope *)s)->refs, 1); }
static void tm_scope_decref(moqc_usage_scope *s) { atomic_fetch_sub(&((tm_scope *)s)->refs, 1); }

static const moqc_usage_scope_ops tm_scope_ops = {tm_scope_viewer_open, tm_scope_viewer_close,
                                                  tm_scope_incref, tm_scope_decref};

/* Initializes a scope with a fresh sink; refs starts at 1 (the test's own). */
static inline void tm_scope_init(tm_scope *s, const char *path) {
  s->base.ops = &tm_scope_ops;
  assert_int_equal(moqc_usage_new(&s->base.sink, NULL), 0);
  s->base.path = moqc_str_c(path);
  atomic_init(&s->refs, 1);
  atomic_init(&s->viewer_open, 0);
  atomic_init(&s->viewer_close, 0);
}

/* Checks every handle released its reference, then frees the sink. */
static inline void tm_scope_free(tm_scope *s) {
  assert_int_equal(atomic_load(&s->refs), 1);
  moqc_usage_decref(s->base.sink);
}

static inline moqc_usage_counters tm_read(tm_scope *s) {
  moqc_usage_counters c;
  moqc_usage_read(s->base.sink, &c);
  return c;
}

#endif /* MOQC_TEST_MODEL_UTIL_H */
