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

static void tm_wake_cb(void *ud) {
  atomic_fetch_add(&((tm_wake *)ud)->count, 1);
}

static inline void tm_wake_init(tm_wake *k) {
  atomic_init(&k->count, 0);
  assert_int_equal(moqc_waker_new(&k->w, tm_wake_cb, k, NULL), 0);
}

static inline int tm_wake_take(tm_wake *k) {
  return atomic_exchange(&k->count, 0);
}

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
static void tm_scope_incref(moqc_usage_scope *s) {
  atomic_fetch_add(&((tm_scope *)s)->refs, 1);
}
static void tm_scope_decref(moqc_usage_scope *s) {
  atomic_fetch_sub(&((tm_scope *)s)->refs, 1);
}

static const moqc_usage_scope_ops tm_scope_ops = {
    tm_scope_viewer_open, tm_scope_viewer_close, tm_scope_incref,
    tm_scope_decref};

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

/* A broadcast with one track "t", its consumer and one subscriber (resolved).
 */
typedef struct tm_fixture {
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_track_producer *tp;
  moqc_track_consumer *tc;
  moqc_track_subscriber *sub;
} tm_fixture;

static inline void tm_fixture_open(tm_fixture *fx, moqc_usage_scope *ingress,
                                   moqc_usage_scope *egress,
                                   const moqc_track_info *info) {
  moqc_broadcast_consumer *plain;
  assert_int_equal(moqc_broadcast_new(&fx->bp, ingress, NULL), 0);
  assert_int_equal(moqc_broadcast_producer_consume(fx->bp, &plain), 0);
  assert_int_equal(moqc_broadcast_consumer_with_usage(plain, egress, &fx->bc),
                   0);
  moqc_broadcast_consumer_del(plain);
  assert_int_equal(
      moqc_broadcast_producer_create_track(fx->bp, "t", info, &fx->tp), 0);
  assert_int_equal(moqc_broadcast_consumer_track(fx->bc, "t", &fx->tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(fx->tc, NULL, &fx->sub, NULL),
                   0);
}

static inline void tm_fixture_close(tm_fixture *fx) {
  moqc_track_subscriber_del(fx->sub);
  moqc_track_consumer_del(fx->tc);
  moqc_track_producer_del(fx->tp);
  moqc_broadcast_consumer_del(fx->bc);
  moqc_broadcast_producer_del(fx->bp);
}

/* Appends a group and takes its consumer through the subscriber. */
static inline void tm_group(tm_fixture *fx, moqc_group_producer **gp,
                            moqc_group_consumer **gc) {
  assert_int_equal(moqc_track_producer_append_group(fx->tp, 0, gp), 0);
  assert_int_equal(moqc_track_subscriber_next_group(fx->sub, gc, NULL), 0);
  assert_int_equal(moqc_group_consumer_sequence(*gc),
                   moqc_group_producer_sequence(*gp));
}

#endif /* MOQC_TEST_MODEL_UTIL_H */
