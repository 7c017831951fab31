/*
 * Usage sinks: bumps, readout, NULL sinks, field table, scope and context
 * helpers.
 */
#include "testutil.h"

#include <moqc/moqc.h>

static void test_usage_bumps(void **state) {
  moqc_usage *u;
  moqc_usage_counters c;
  (void)state;

  assert_int_equal(moqc_usage_new(&u, NULL), 0);
  moqc_usage_read(u, &c);
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    assert_int_equal(moqc_usage_counters_get(&c, i), 0);
  }
  moqc_usage_add_groups(u, 2);
  moqc_usage_add_frames(u, 5);
  moqc_usage_add_bytes(u, 1000);
  moqc_usage_add_bytes(u, 0);
  moqc_usage_add_datagram(u, 7);
  moqc_usage_add_fetch(u);
  moqc_usage_add_fetch(u);
  moqc_usage_open_subscription(u);
  moqc_usage_open_subscription(u);
  moqc_usage_close_subscription(u);
  moqc_usage_open_broadcast(u);
  moqc_usage_close_broadcast(u);
  moqc_usage_open_announce(u, 4);
  moqc_usage_close_announce(u, 4);
  moqc_usage_open_announce(u, 4);
  moqc_usage_read(u, &c);
  assert_int_equal(c.groups, 3);
  assert_int_equal(c.frames, 6);
  assert_int_equal(c.bytes, 1007);
  assert_int_equal(c.datagrams, 1);
  assert_int_equal(c.fetches, 2);
  assert_int_equal(c.subscriptions, 2);
  assert_int_equal(c.subscriptions_closed, 1);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(c.broadcasts_closed, 1);
  assert_int_equal(c.announced, 2);
  assert_int_equal(c.announced_closed, 1);
  assert_int_equal(c.announced_bytes, 12);
  assert_false(moqc_usage_counters_idle(&c));
  moqc_usage_close_subscription(u);
  moqc_usage_close_announce(u, 4);
  moqc_usage_read(u, &c);
  assert_true(moqc_usage_counters_idle(&c));
  assert_int_equal(c.announced_bytes, 16);
  moqc_usage_decref(u);
}

static void test_usage_refcount(void **state) {
  moqc_usage *u;
  (void)state;

  assert_int_equal(moqc_usage_new(&u, NULL), 0);
  assert_int_equal(moqc_usage_refcount(u), 1);
  moqc_usage_incref(u);
  assert_int_equal(moqc_usage_refcount(u), 2);
  moqc_usage_decref(u);
  assert_int_equal(moqc_usage_refcount(u), 1);
  moqc_usage_decref(u); /* frees; ASan checks no leak and no double free */
  assert_int_equal(moqc_usage_refcount(NULL), 0);
}

static void test_usage_null_sink_is_noop(void **state) {
  moqc_usage_counters c;
  (void)state;

  moqc_usage_add_groups(NULL, 1);
  moqc_usage_add_frames(NULL, 1);
  moqc_usage_add_bytes(NULL, 1);
  moqc_usage_add_datagram(NULL, 1);
  moqc_usage_add_fetch(NULL);
  moqc_usage_open_subscription(NULL);
  moqc_usage_close_subscription(NULL);
  moqc_usage_open_broadcast(NULL);
  moqc_usage_close_broadcast(NULL);
  moqc_usage_open_announce(NULL, 3);
  moqc_usage_close_announce(NULL, 3);
  moqc_usage_incref(NULL);
  moqc_usage_decref(NULL);
  memset(&c, 0xff, sizeof(c));
  moqc_usage_read(NULL, &c);
  assert_int_equal(c.bytes, 0);
  assert_int_equal(c.broadcasts_closed, 0);
}

/* The field table follows MOQC_USAGE_FOREACH and the stats JSON schema order.
 */
static void test_usage_field_table(void **state) {
  static const char *const want[] = {"announced",
                                     "announced_closed",
                                     "announced_bytes",
                                     "broadcasts",
                                     "broadcasts_closed",
                                     "subscriptions",
                                     "subscriptions_closed",
                                     "fetches",
                                     "bytes",
                                     "frames",
                                     "groups",
                                     "datagrams"};
  moqc_usage_counters c;
  (void)state;

  assert_int_equal(MOQC_USAGE_FIELD_COUNT, 12);
  assert_int_equal(sizeof(moqc_usage_counters), 12 * sizeof(uint64_t));
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    assert_string_equal(moqc_usage_field_name(i), want[i]);
  }
  assert_null(moqc_usage_field_name(-1));
  assert_null(moqc_usage_field_name(MOQC_USAGE_FIELD_COUNT));
  /* Closed counters pair with their open counters; no other field is a closed
   * counter. */
  assert_int_equal(
      moqc_usage_field_closed_of(MOQC_USAGE_FIELD_announced_closed),
      MOQC_USAGE_FIELD_announced);
  assert_int_equal(
      moqc_usage_field_closed_of(MOQC_USAGE_FIELD_broadcasts_closed),
      MOQC_USAGE_FIELD_broadcasts);
  assert_int_equal(
      moqc_usage_field_closed_of(MOQC_USAGE_FIELD_subscriptions_closed),
      MOQC_USAGE_FIELD_subscriptions);
  int closed = 0;
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    if (moqc_usage_field_closed_of(i) != MOQC_USAGE_FIELD_NONE) {
      closed++;
    }
  }
  assert_int_equal(closed, 3);
  /* get(i) reads the i-th struct member. */
  uint64_t *raw = (uint64_t *)&c;
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    raw[i] = (uint64_t)(100 + i);
  }
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    assert_int_equal(moqc_usage_counters_get(&c, i), 100 + i);
  }
  assert_int_equal(moqc_usage_counters_get(&c, MOQC_USAGE_FIELD_COUNT), 0);
  moqc_usage_counters sum = c;
  moqc_usage_counters_add(&sum, &c);
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    assert_int_equal(moqc_usage_counters_get(&sum, i), 2 * (100 + i));
  }
  /* Prometheus names: upstream's, announce counters not exported. */
  static const char *const prom[] = {NULL,
                                     NULL,
                                     NULL,
                                     "viewers_opened_total",
                                     "viewers_closed_total",
                                     "subscriptions_opened_total",
                                     "subscriptions_closed_total",
                                     "fetches_total",
                                     "bytes_total",
                                     "frames_total",
                                     "groups_total",
                                     "datagrams_total"};
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    if (prom[i] == NULL) {
      assert_null(moqc_usage_field_prom_name(i));
      assert_null(moqc_usage_field_prom_help(i));
    } else {
      assert_string_equal(moqc_usage_field_prom_name(i), prom[i]);
      assert_non_null(moqc_usage_field_prom_help(i));
    }
  }
  assert_null(moqc_usage_field_prom_name(MOQC_USAGE_FIELD_COUNT));
  assert_string_equal(moqc_direction_role(MOQC_DIRECTION_EGRESS), "publisher");
  assert_string_equal(moqc_direction_role(MOQC_DIRECTION_INGRESS),
                      "subscriber");
}

/* A toy scope and context, to check the helper dispatch. */
typedef struct toy_scope {
  moqc_usage_scope base;
  int refs, opens, closes;
} toy_scope;

static void toy_open(moqc_usage_scope *s) {
  ((toy_scope *)s)->opens++;
}
static void toy_close(moqc_usage_scope *s) {
  ((toy_scope *)s)->closes++;
}
static void toy_inc(moqc_usage_scope *s) {
  ((toy_scope *)s)->refs++;
}
static void toy_dec(moqc_usage_scope *s) {
  ((toy_scope *)s)->refs--;
}
static const moqc_usage_scope_ops toy_scope_ops = {toy_open, toy_close, toy_inc,
                                                   toy_dec};

typedef struct toy_ctx {
  moqc_usage_ctx base;
  toy_scope scope;
  int refs;
  moqc_direction last_dir;
} toy_ctx;

static moqc_usage_scope *toy_ctx_scope(moqc_usage_ctx *c, moqc_direction dir,
                                       moqc_str path) {
  toy_ctx *t = (toy_ctx *)c;
  t->last_dir = dir;
  t->scope.base.path = path;
  t->scope.refs++;
  return &t->scope.base;
}
static void toy_ctx_inc(moqc_usage_ctx *c) {
  ((toy_ctx *)c)->refs++;
}
static void toy_ctx_dec(moqc_usage_ctx *c) {
  ((toy_ctx *)c)->refs--;
}
static const moqc_usage_ctx_ops toy_ctx_ops = {toy_ctx_scope, toy_ctx_inc,
                                               toy_ctx_dec};

static void test_usage_scope_ctx_helpers(void **state) {
  toy_ctx ctx = {.base = {&toy_ctx_ops},
                 .scope = {.base = {&toy_scope_ops, NULL, {0}}}};
  (void)state;

  moqc_usage_scope *s =
      moqc_usage_ctx_scope(&ctx.base, MOQC_DIRECTION_EGRESS, moqc_str_c("a/b"));
  assert_ptr_equal(s, &ctx.scope.base);
  assert_int_equal(ctx.last_dir, MOQC_DIRECTION_EGRESS);
  assert_true(moqc_str_eq(s->path, moqc_str_c("a/b")));
  assert_int_equal(ctx.scope.refs, 1);
  moqc_usage_scope_incref(s);
  assert_int_equal(ctx.scope.refs, 2);
  moqc_usage_scope_viewer_open(s);
  moqc_usage_scope_viewer_close(s);
  assert_int_equal(ctx.scope.opens, 1);
  assert_int_equal(ctx.scope.closes, 1);
  assert_null(moqc_usage_scope_sink(s));
  moqc_usage_scope_decref(s);
  moqc_usage_scope_decref(s);
  assert_int_equal(ctx.scope.refs, 0);
  moqc_usage_ctx_incref(&ctx.base);
  assert_int_equal(ctx.refs, 1);
  moqc_usage_ctx_decref(&ctx.base);
  assert_int_equal(ctx.refs, 0);

  /* NULL everywhere is a no-op. */
  assert_null(
      moqc_usage_ctx_scope(NULL, MOQC_DIRECTION_INGRESS, moqc_str_c("x")));
  moqc_usage_ctx_incref(NULL);
  moqc_usage_ctx_decref(NULL);
  moqc_usage_scope_incref(NULL);
  moqc_usage_scope_decref(NULL);
  moqc_usage_scope_viewer_open(NULL);
  moqc_usage_scope_viewer_close(NULL);
  assert_null(moqc_usage_scope_sink(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_usage_bumps),
      cmocka_unit_test(test_usage_refcount),
      cmocka_unit_test(test_usage_null_sink_is_noop),
      cmocka_unit_test(test_usage_field_table),
      cmocka_unit_test(test_usage_scope_ctx_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
