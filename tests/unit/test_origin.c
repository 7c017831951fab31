/*
 * Origin: announce/unannounce, late joiners, duplicate publishers, views (root
 * and scope), coalescing, hops and loops (spec/upstream-model.md 2 and 5.5).
 */
#include "test_origin_util.h"

#include "model/origin_internal.h"

typedef struct fx {
  moqc_origin *o;
  moqc_origin_producer *p;
  moqc_origin_consumer *c;
} fx;

static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof(*f));
  moqc_origin_settings s;

  moqc_origin_settings_default(&s);
  s.id = 7;
  assert_int_equal(moqc_origin_new(&f->o, &s), 0);
  assert_int_equal(moqc_origin_producer_new(f->o, &f->p), 0);
  assert_int_equal(moqc_origin_consumer_new(f->o, &f->c), 0);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx *f = *state;
  moqc_origin_consumer_del(f->c);
  moqc_origin_producer_del(f->p);
  /* Every handle is gone: the tree must be empty again. */
  assert_int_equal(f->o->root.nkids, 0);
  assert_null(f->o->qhead);
  assert_int_equal(atomic_load(&f->o->refs), 1);
  moqc_origin_decref(f->o);
  free(f);
  return 0;
}

static void test_origin_id(void **state) {
  moqc_origin_settings s;
  moqc_origin *o;
  (void)state;

  moqc_origin_settings_default(&s);
  s.random = 41;
  assert_int_equal(moqc_origin_new(&o, &s), 0);
  assert_int_equal(moqc_origin_id(o), 42);
  moqc_origin_decref(o);

  s.random = UINT64_MAX;
  assert_int_equal(moqc_origin_new(&o, &s), 0);
  assert_true(moqc_origin_id(o) >= 1 &&
              moqc_origin_id(o) < MOQC_ORIGIN_ID_LIMIT);
  assert_int_equal(moqc_origin_id(o),
                   1 + UINT64_MAX % (MOQC_ORIGIN_ID_LIMIT - 1));
  moqc_origin_decref(o);

  s.id = 99;
  assert_int_equal(moqc_origin_new(&o, &s), 0);
  assert_int_equal(moqc_origin_id(o), 99);
  moqc_origin_decref(o);

  assert_int_equal(moqc_origin_new_versioned(&o, 999, &s),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc_origin_new(&o, NULL), 0);
  assert_int_equal(moqc_origin_id(o), 1);
  moqc_origin_decref(o);
}

static void test_announce_unannounce(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g;
  moqc_broadcast_consumer *bc;
  tbc b;
  tw w;

  tw_init(&w);
  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  {
    moqc_origin_announce ev;
    assert_int_equal(moqc_origin_announced_next(a, &ev, w.w), MOQC_ERR_PENDING);
  }
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->c, moqc_str_c("foo"), &bc),
      MOQC_ERR_NOT_FOUND);
  g = tpub(f->p, "foo", &b, NULL);
  assert_int_equal(atomic_load(&w.fired), 1);
  tnext(a, "foo", true, &b);
  tnone(a);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->c, moqc_str_c("/foo/"), &bc),
      0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b.c));
  moqc_broadcast_consumer_del(bc);

  {
    moqc_origin_announce ev;
    assert_int_equal(moqc_origin_announced_next(a, &ev, w.w), MOQC_ERR_PENDING);
  }
  moqc_origin_publish_del(g);
  assert_int_equal(atomic_load(&w.fired), 2);
  tnext(a, "foo", false, NULL);
  tnone(a);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->c, moqc_str_c("foo"), &bc),
      MOQC_ERR_NOT_FOUND);
  /* The guard, not the broadcast, decides: the broadcast is still alive here.
   */
  moqc_origin_announced_del(a);
  tbc_free(&b);
  tw_free(&w);
}

static void test_late_joiner_gets_initial_set(void **state) {
  fx *f = *state;
  moqc_origin_announced *a, *sa;
  moqc_origin_consumer *sc;
  moqc_origin_publish *g[4];
  moqc_str pre = moqc_str_c("b");
  tbc b[4];
  int i;

  for (i = 0; i < 4; i++) {
    tbc_new(&b[i]);
  }
  g[0] = tpub(f->p, "x", &b[0], NULL);
  g[1] = tpub(f->p, "b/c", &b[1], NULL);
  g[2] = tpub(f->p, "a", &b[2], NULL);
  g[3] = tpub(f->p, "b-c", &b[3], NULL);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  /* Byte order of the path, whatever the publish order. */
  tnext(a, "a", true, &b[2]);
  tnext(a, "b-c", true, &b[3]);
  tnext(a, "b/c", true, &b[1]);
  tnext(a, "x", true, &b[0]);
  tnone(a);

  assert_int_equal(moqc_origin_consumer_scope(f->c, &pre, 1, &sc), 0);
  assert_int_equal(moqc_origin_consumer_announced(sc, &sa), 0);
  tnext(sa, "b/c", true, &b[1]);
  tnone(sa);
  moqc_origin_publish_del(g[0]);
  tnone(sa); /* outside its prefix */
  tnext(a, "x", false, NULL);
  for (i = 1; i < 4; i++) {
    moqc_origin_publish_del(g[i]);
  }
  tnext(sa, "b/c", false, NULL);
  tnone(sa);
  moqc_origin_announced_del(sa);
  moqc_origin_consumer_del(sc);
  moqc_origin_announced_del(a);
  for (i = 0; i < 4; i++) {
    tbc_free(&b[i]);
  }
}

static void test_duplicate_backups_in_order(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g[3];
  moqc_broadcast_consumer *bc;
  tbc b[3];
  int i;

  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  for (i = 0; i < 3; i++) {
    tbc_new(&b[i]);
    g[i] = tpub(f->p, "dup", &b[i], NULL);
  }
  /* Equal keys: the first stays active, the others wait silently. */
  tnext(a, "dup", true, &b[0]);
  tnone(a);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->c, moqc_str_c("dup"), &bc), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b[0].c));
  moqc_broadcast_consumer_del(bc);

  /* Removing a backup is silent. */
  moqc_origin_publish_del(g[1]);
  tnone(a);
  tbc c;
  tbc_new(&c);
  moqc_origin_publish *gc = tpub(f->p, "dup", &c, NULL);
  tnone(a);

  /* The active leaves: the earliest remaining backup is promoted, seen as ended
   * then active. */
  moqc_origin_publish_del(g[0]);
  tnext(a, "dup", false, NULL);
  tnext(a, "dup", true, &b[2]);
  tnone(a);
  moqc_origin_publish_del(g[2]);
  tnext(a, "dup", false, NULL);
  tnext(a, "dup", true, &c);
  moqc_origin_publish_del(gc);
  tnext(a, "dup", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  for (i = 0; i < 3; i++) {
    tbc_free(&b[i]);
  }
  tbc_free(&c);
}

static void test_duplicate_shorter_route_wins(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g1, *g2;
  uint64_t h2[] = {100, 200}, h1[] = {300};
  moqc_origin_route r2 = {h2, 2, 0}, r1 = {h1, 1, 0};
  moqc_origin_announce ev;
  tbc b1, b2;

  tbc_new(&b1);
  tbc_new(&b2);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g2 = tpub(f->p, "r", &b2, &r2);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  assert_int_equal(ev.hop_count, 2);
  assert_int_equal(ev.hops[0], 100);
  assert_int_equal(ev.hops[1], 200);
  assert_true(moqc_broadcast_consumer_is_clone(ev.broadcast, b2.c));
  moqc_broadcast_consumer_del(ev.broadcast);
  /* A shorter route replaces the active one: ended then active. */
  g1 = tpub(f->p, "r", &b1, &r1);
  tnext(a, "r", false, NULL);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  assert_int_equal(ev.hop_count, 1);
  assert_int_equal(ev.hops[0], 300);
  assert_true(moqc_broadcast_consumer_is_clone(ev.broadcast, b1.c));
  moqc_broadcast_consumer_del(ev.broadcast);
  /* The winner leaves: the longer route comes back. */
  moqc_origin_publish_del(g1);
  tnext(a, "r", false, NULL);
  tnext(a, "r", true, &b2);
  moqc_origin_publish_del(g2);
  tnext(a, "r", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b1);
  tbc_free(&b2);
}

static void test_newer_epoch_wins(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_route old = {NULL, 0, 10}, young = {NULL, 0, 20};
  moqc_origin_publish *g1, *g2;
  tbc b1, b2;

  tbc_new(&b1);
  tbc_new(&b2);
  g1 = tpub(f->p, "e", &b1, &old);
  g2 = tpub(f->p, "e", &b2, &young);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  tnext(a, "e", true, &b2);
  moqc_origin_publish_del(g2);
  tnext(a, "e", false, NULL);
  tnext(a, "e", true, &b1);
  moqc_origin_publish_del(g1);
  tnext(a, "e", false, NULL);
  moqc_origin_announced_del(a);
  tbc_free(&b1);
  tbc_free(&b2);
}

static uint64_t fnv_route(const char *path, const uint64_t *hops, size_t n) {
  uint64_t h = 0x420C0DECB00BULL;
  size_t i, k;
  for (i = 0; path[i]; i++) {
    h ^= (uint8_t)path[i];
    h *= 0x100000001b3ULL;
  }
  for (i = 0; i < n; i++) {
    for (k = 0; k < 8; k++) {
      h ^= (uint8_t)(hops[i] >> (8 * k));
      h *= 0x100000001b3ULL;
    }
  }
  return h;
}

static void test_deterministic_tiebreak(void **state) {
  uint64_t ha[] = {11, 12}, hb[] = {21, 22}, hc[] = {5};
  moqc_origin_route ra = {ha, 2, 0}, rb = {hb, 2, 0}, rc = {hc, 1, 0};
  bool a_wins = fnv_route("t", ha, 2) < fnv_route("t", hb, 2);
  int order;
  (void)state;

  assert_true(fnv_route("t", ha, 2) != fnv_route("t", hb, 2));
  for (order = 0; order < 2; order++) {
    moqc_origin *o;
    moqc_origin_producer *p;
    moqc_origin_consumer *c;
    moqc_origin_publish *g1, *g2, *g3;
    moqc_broadcast_consumer *bc;
    tbc ba, bb, bcc;

    assert_int_equal(moqc_origin_new(&o, NULL), 0);
    assert_int_equal(moqc_origin_producer_new(o, &p), 0);
    assert_int_equal(moqc_origin_consumer_new(o, &c), 0);
    tbc_new(&ba);
    tbc_new(&bb);
    tbc_new(&bcc);
    if (order == 0) {
      g1 = tpub(p, "t", &ba, &ra);
      g2 = tpub(p, "t", &bb, &rb);
    } else {
      g2 = tpub(p, "t", &bb, &rb);
      g1 = tpub(p, "t", &ba, &ra);
    }
    assert_int_equal(
        moqc_origin_consumer_consume_broadcast(c, moqc_str_c("t"), &bc), 0);
    assert_true(moqc_broadcast_consumer_is_clone(bc, a_wins ? ba.c : bb.c));
    moqc_broadcast_consumer_del(bc);
    /* A shorter chain always wins, published first or last. */
    g3 = tpub(p, "t", &bcc, &rc);
    assert_int_equal(
        moqc_origin_consumer_consume_broadcast(c, moqc_str_c("t"), &bc), 0);
    assert_true(moqc_broadcast_consumer_is_clone(bc, bcc.c));
    moqc_broadcast_consumer_del(bc);
    moqc_origin_publish_del(g3);
    assert_int_equal(
        moqc_origin_consumer_consume_broadcast(c, moqc_str_c("t"), &bc), 0);
    assert_true(moqc_broadcast_consumer_is_clone(bc, a_wins ? ba.c : bb.c));
    moqc_broadcast_consumer_del(bc);
    moqc_origin_publish_del(g1);
    moqc_origin_publish_del(g2);
    tbc_free(&ba);
    tbc_free(&bb);
    tbc_free(&bcc);
    moqc_origin_consumer_del(c);
    moqc_origin_producer_del(p);
    moqc_origin_decref(o);
  }
}

static void test_double_publish(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g1, *g2;
  moqc_broadcast_consumer *bc, *clone;
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g1 = tpub(f->p, "d", &b, NULL);
  /* The same broadcast again, through another consumer of it: one announcement.
   */
  assert_int_equal(moqc_broadcast_consumer_clone(b.c, &clone), 0);
  assert_int_equal(
      moqc_origin_producer_publish(f->p, moqc_str_c("d"), clone, NULL, &g2), 0);
  moqc_broadcast_consumer_del(clone);
  tnext(a, "d", true, &b);
  tnone(a);
  assert_int_equal(f->o->root.kids[0]->nbackups, 0);
  moqc_origin_publish_del(g1);
  tnone(a);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(f->c, moqc_str_c("d"), &bc), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_origin_publish_del(g2);
  tnext(a, "d", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b);
}

static void test_with_root(void **state) {
  fx *f = *state;
  moqc_origin_producer *rp, *rp2;
  moqc_origin_consumer *rc, *rc2;
  moqc_origin_announced *a, *ra;
  moqc_origin_publish *g;
  moqc_broadcast_consumer *bc;
  tbc b;

  tbc_new(&b);
  assert_int_equal(
      moqc_origin_producer_with_root(f->p, moqc_str_c("room"), &rp), 0);
  assert_true(moqc_str_eq(moqc_origin_producer_root(rp), moqc_str_c("room")));
  /* A trailing slash names the same root. */
  assert_int_equal(
      moqc_origin_producer_with_root(f->p, moqc_str_c("/room/"), &rp2), 0);
  assert_true(moqc_str_eq(moqc_origin_producer_root(rp2), moqc_str_c("room")));
  assert_int_equal(
      moqc_origin_consumer_with_root(f->c, moqc_str_c("room/"), &rc), 0);
  assert_int_equal(
      moqc_origin_consumer_with_root(rc, moqc_str_c("alice"), &rc2), 0);
  assert_true(
      moqc_str_eq(moqc_origin_consumer_root(rc2), moqc_str_c("room/alice")));
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  assert_int_equal(moqc_origin_consumer_announced(rc, &ra), 0);

  g = tpub(rp, "alice", &b, NULL);
  tnext(a, "room/alice", true, &b);
  tnext(ra, "alice", true, &b);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(rc, moqc_str_c("alice"), &bc), 0);
  moqc_broadcast_consumer_del(bc);
  /* The root itself as a path. */
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(rc2, moqc_str_c(""), &bc), 0);
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(rc, moqc_str_c("room/alice"), &bc),
      MOQC_ERR_NOT_FOUND);
  moqc_origin_publish_del(g);
  tnext(ra, "alice", false, NULL);
  tnext(a, "room/alice", false, NULL);

  moqc_origin_announced_del(ra);
  moqc_origin_announced_del(a);
  moqc_origin_consumer_del(rc2);
  moqc_origin_consumer_del(rc);
  moqc_origin_producer_del(rp2);
  moqc_origin_producer_del(rp);
  tbc_free(&b);
}

static void test_scope_permissions(void **state) {
  fx *f = *state;
  moqc_origin_producer *sp, *sp2, *sp3, *rp;
  moqc_origin_publish *g;
  moqc_str demo[] = {moqc_str_c("demo/")},
           narrow[] = {moqc_str_c("demo/foo"), moqc_str_c("anon")};
  moqc_str other[] = {moqc_str_c("anon")}, all[] = {moqc_str_c("")};
  moqc_str dedup[] = {moqc_str_c("demo"), moqc_str_c("demo/foo"),
                      moqc_str_c("anon")};
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_producer_scope(f->p, dedup, 3, &sp), 0);
  assert_int_equal(moqc_origin_producer_allowed_count(sp), 2);
  assert_true(
      moqc_str_eq(moqc_origin_producer_allowed(sp, 0), moqc_str_c("anon")));
  assert_true(
      moqc_str_eq(moqc_origin_producer_allowed(sp, 1), moqc_str_c("demo")));
  moqc_origin_producer_del(sp);

  assert_int_equal(moqc_origin_producer_scope(f->p, demo, 1, &sp), 0);
  assert_int_equal(moqc_origin_producer_allowed_count(sp), 1);
  assert_true(
      moqc_str_eq(moqc_origin_producer_allowed(sp, 0), moqc_str_c("demo")));
  assert_int_equal(
      moqc_origin_producer_publish(sp, moqc_str_c("other/x"), b.c, NULL, &g),
      MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(
      moqc_origin_producer_publish(sp, moqc_str_c("demox"), b.c, NULL, &g),
      MOQC_ERR_UNAUTHORIZED);
  g = tpub(sp, "demo/x", &b, NULL);
  moqc_origin_publish_del(g);
  g = tpub(sp, "demo", &b, NULL);
  moqc_origin_publish_del(g);

  /* Narrowing keeps the intersection; disjoint scopes give nothing. */
  assert_int_equal(moqc_origin_producer_scope(sp, narrow, 2, &sp2), 0);
  assert_int_equal(moqc_origin_producer_allowed_count(sp2), 1);
  assert_true(moqc_str_eq(moqc_origin_producer_allowed(sp2, 0),
                          moqc_str_c("demo/foo")));
  assert_int_equal(
      moqc_origin_producer_publish(sp2, moqc_str_c("demo/x"), b.c, NULL, &g),
      MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_origin_producer_scope(sp, other, 1, &sp3),
                   MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(moqc_origin_producer_scope(sp, other, 0, &sp3),
                   MOQC_ERR_UNAUTHORIZED);
  /* Asking for everything does not widen. */
  assert_int_equal(moqc_origin_producer_scope(sp, all, 1, &sp3), 0);
  assert_int_equal(moqc_origin_producer_allowed_count(sp3), 1);
  assert_true(
      moqc_str_eq(moqc_origin_producer_allowed(sp3, 0), moqc_str_c("demo")));
  moqc_origin_producer_del(sp3);

  /* with_root inside the scope: paths relative to the root, the scope kept. */
  assert_int_equal(moqc_origin_producer_with_root(sp2, moqc_str_c("demo"), &rp),
                   0);
  assert_true(
      moqc_str_eq(moqc_origin_producer_allowed(rp, 0), moqc_str_c("demo/foo")));
  assert_int_equal(
      moqc_origin_producer_publish(rp, moqc_str_c("bar"), b.c, NULL, &g),
      MOQC_ERR_UNAUTHORIZED);
  g = tpub(rp, "foo/bar", &b, NULL);
  moqc_origin_publish_del(g);
  moqc_origin_producer_del(rp);
  /* A root deeper than the scope narrows to the root. */
  assert_int_equal(
      moqc_origin_producer_with_root(sp2, moqc_str_c("demo/foo/deep"), &rp), 0);
  assert_true(moqc_str_eq(moqc_origin_producer_allowed(rp, 0),
                          moqc_str_c("demo/foo/deep")));
  moqc_origin_producer_del(rp);
  /* A root outside the scope is refused. */
  assert_int_equal(moqc_origin_producer_with_root(sp2, moqc_str_c("anon"), &rp),
                   MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(
      moqc_origin_producer_with_root(sp2, moqc_str_c("demo/foobar"), &rp),
      MOQC_ERR_UNAUTHORIZED);
  moqc_origin_producer_del(sp2);
  moqc_origin_producer_del(sp);
  tbc_free(&b);
}

static void test_consumer_scope_filters_announces(void **state) {
  fx *f = *state;
  moqc_str pre[] = {moqc_str_c("a"), moqc_str_c("c/")};
  moqc_origin_consumer *sc;
  moqc_origin_announced *a;
  moqc_origin_publish *g[3];
  moqc_broadcast_consumer *bc;
  moqc_origin_request *r;
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_scope(f->c, pre, 2, &sc), 0);
  assert_int_equal(moqc_origin_consumer_announced(sc, &a), 0);
  g[0] = tpub(f->p, "a/1", &b, NULL);
  g[1] = tpub(f->p, "b/1", &b, NULL);
  g[2] = tpub(f->p, "c/1", &b, NULL);
  tnext(a, "a/1", true, &b);
  tnext(a, "c/1", true, &b);
  tnone(a);
  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(sc, moqc_str_c("b/1"), &bc),
      MOQC_ERR_UNAUTHORIZED);
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(sc, moqc_str_c("b/1"), &r),
      MOQC_ERR_UNAUTHORIZED);
  for (int i = 0; i < 3; i++) {
    moqc_origin_publish_del(g[i]);
  }
  tnext(a, "a/1", false, NULL);
  tnext(a, "c/1", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  moqc_origin_consumer_del(sc);
  tbc_free(&b);
}

/* Pending Announce (unseen) + unannounce: both vanish. */
static void test_coalesce_announce_unannounce(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  moqc_origin_publish_del(tpub(f->p, "x", &b, NULL));
  tnone(a);
  assert_int_equal(a->npending, 0);
  moqc_origin_announced_del(a);
  tbc_free(&b);
}

/* Seen active, then unannounce + announce(new): ended then active(new). */
static void test_coalesce_unannounce_announce(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g;
  tbc b1, b2, b3;

  tbc_new(&b1);
  tbc_new(&b2);
  tbc_new(&b3);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g = tpub(f->p, "x", &b1, NULL);
  tnext(a, "x", true, &b1);
  moqc_origin_publish_del(g);
  g = tpub(f->p, "x", &b2, NULL);
  moqc_origin_publish_del(g);
  g = tpub(f->p, "x", &b3, NULL);
  tnext(a, "x", false, NULL);
  tnext(a, "x", true, &b3);
  tnone(a);
  moqc_origin_publish_del(g);
  moqc_origin_announced_del(a);
  tbc_free(&b1);
  tbc_free(&b2);
  tbc_free(&b3);
}

/* Pending Announce (unseen) + restart: a single announce of the new broadcast.
 */
static void test_coalesce_announce_restart(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g1, *g2;
  uint64_t hops[] = {1, 2};
  moqc_origin_route far = {hops, 2, 0};
  tbc b1, b2;

  tbc_new(&b1);
  tbc_new(&b2);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g1 = tpub(f->p, "x", &b1, &far);
  g2 = tpub(f->p, "x", &b2, NULL);
  tnext(a, "x", true, &b2);
  tnone(a);
  moqc_origin_publish_del(g2);
  moqc_origin_publish_del(g1);
  tnext(a, "x", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b1);
  tbc_free(&b2);
}

/* Seen active, restart + unannounce: just the end. Restart + restart: end,
 * latest. */
static void test_coalesce_restart(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g1, *g2, *g3;
  uint64_t h2[] = {1, 2}, h1[] = {3};
  moqc_origin_route r2 = {h2, 2, 0}, r1 = {h1, 1, 0};
  tbc b1, b2, b3;

  tbc_new(&b1);
  tbc_new(&b2);
  tbc_new(&b3);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g1 = tpub(f->p, "x", &b1, &r2);
  tnext(a, "x", true, &b1);
  g2 = tpub(f->p, "x", &b2, &r1);  /* restart */
  g3 = tpub(f->p, "x", &b3, NULL); /* restart again */
  assert_int_equal(a->npending, 1);
  tnext(a, "x", false, NULL);
  tnext(a, "x", true, &b3);
  tnone(a);
  moqc_origin_publish_del(g3); /* restart to b2 */
  moqc_origin_publish_del(g2); /* restart to b1 */
  moqc_origin_publish_del(g1); /* unannounce */
  tnext(a, "x", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b1);
  tbc_free(&b2);
  tbc_free(&b3);
}

/* Seen active, unannounce + announce + unannounce: just the end. */
static void test_coalesce_unannounce_announce_unannounce(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g;
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g = tpub(f->p, "x", &b, NULL);
  tnext(a, "x", true, &b);
  moqc_origin_publish_del(g);
  g = tpub(f->p, "x", &b, NULL);
  moqc_origin_publish_del(g);
  tnext(a, "x", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b);
}

static void test_coalesce_churn_bounded(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_origin_publish *g[4];
  char path[8];
  tbc b;
  int i, k;

  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "p%d", i);
    g[i] = tpub(f->p, path, &b, NULL);
  }
  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "p%d", i);
    tnext(a, path, true, &b);
  }
  for (k = 0; k < 1000; k++) {
    for (i = 0; i < 4; i++) {
      snprintf(path, sizeof(path), "p%d", i);
      moqc_origin_publish_del(g[i]);
      g[i] = tpub(f->p, path, &b, NULL);
      moqc_origin_publish_del(tpub(f->p, "tmp", &b, NULL));
    }
    /* Memory stays bounded by the distinct paths. */
    assert_true(a->npending <= 4);
    assert_true(a->cappending <= 8);
  }
  /* Each path: ended, then (next take, same smallest path) active again. */
  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "p%d", i);
    tnext(a, path, false, NULL);
    tnext(a, path, true, &b);
  }
  tnone(a);
  for (i = 0; i < 4; i++) {
    moqc_origin_publish_del(g[i]);
  }
  for (i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "p%d", i);
    tnext(a, path, false, NULL);
  }
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b);
}

static void test_consumer_clone_is_side_effect_free(void **state) {
  fx *f = *state;
  moqc_origin_consumer *c2;
  moqc_origin_announced *a, *a2;
  moqc_origin_publish *g;
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  g = tpub(f->p, "x", &b, NULL);
  assert_int_equal(moqc_origin_consumer_clone(f->c, &c2), 0);
  tnext(a, "x", true, &b);
  tnone(a);
  /* A cursor on the clone gets its own initial set; deleting it touches nothing
   * else. */
  assert_int_equal(moqc_origin_consumer_announced(c2, &a2), 0);
  tnext(a2, "x", true, &b);
  moqc_origin_announced_del(a2);
  moqc_origin_consumer_del(c2);
  tnone(a);
  moqc_origin_publish_del(g);
  tnext(a, "x", false, NULL);
  tnone(a);
  moqc_origin_announced_del(a);
  tbc_free(&b);
}

static void test_hops_loop_and_limits(void **state) {
  fx *f = *state;
  uint64_t hops[MOQC_ORIGIN_MAX_HOPS + 1];
  moqc_origin_route r = {hops, 0, 0};
  moqc_origin_publish *g;
  moqc_broadcast_producer *bp;
  char deep[3 * (MOQC_PATH_MAX_PARTS + 1) + 1];
  tbc b;
  int i;

  tbc_new(&b);
  for (i = 0; i <= MOQC_ORIGIN_MAX_HOPS; i++) {
    hops[i] = 1000 + (uint64_t)i;
  }
  r.count = MOQC_ORIGIN_MAX_HOPS + 1;
  assert_int_equal(
      moqc_origin_producer_publish(f->p, moqc_str_c("h"), b.c, &r, &g),
      MOQC_ERR_TOO_MANY_ORIGINS);
  r.count = MOQC_ORIGIN_MAX_HOPS;
  g = tpub(f->p, "h", &b, &r);
  moqc_origin_publish_del(g);
  /* Our own id in the chain is a loop: refused. */
  hops[3] = moqc_origin_id(f->o);
  r.count = 5;
  assert_int_equal(
      moqc_origin_producer_publish(f->p, moqc_str_c("h"), b.c, &r, &g),
      MOQC_ERR_LOOP);
  assert_int_equal(
      moqc_origin_producer_create_broadcast(f->p, moqc_str_c("h"), &r, &bp, &g),
      MOQC_ERR_LOOP);
  /* Paths: normalized, at most 32 segments. */
  deep[0] = '\0';
  for (i = 0; i < MOQC_PATH_MAX_PARTS + 1; i++) {
    strcat(deep, "/x/");
  }
  assert_int_equal(
      moqc_origin_producer_publish(f->p, moqc_str_c(deep), b.c, NULL, &g),
      MOQC_ERR_BOUNDS_EXCEEDED);
  deep[strlen(deep) - 3] = '\0';
  g = tpub(f->p, deep, &b, NULL);
  moqc_origin_publish_del(g);
  tbc_free(&b);
}

static void test_create_broadcast(void **state) {
  fx *f = *state;
  moqc_origin_announced *a;
  moqc_broadcast_producer *bp;
  moqc_broadcast_consumer *bc;
  moqc_origin_publish *g;
  moqc_origin_announce ev;

  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  assert_int_equal(moqc_origin_producer_create_broadcast(
                       f->p, moqc_str_c("//made//here"), NULL, &bp, &g),
                   0);
  assert_int_equal(moqc_origin_announced_next(a, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, moqc_str_c("made/here")));
  assert_non_null(ev.broadcast);
  assert_int_equal(moqc_broadcast_consumer_closed(ev.broadcast, NULL),
                   MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_consumer_consume_broadcast(
                       f->c, moqc_str_c("made/here"), &bc),
                   0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, ev.broadcast));
  moqc_broadcast_consumer_del(bc);
  moqc_broadcast_consumer_del(ev.broadcast);
  moqc_origin_publish_del(g);
  tnext(a, "made/here", false, NULL);
  moqc_broadcast_producer_del(bp);
  moqc_origin_announced_del(a);
}

/*
 * Out of memory: every failure leaves the origin as it was, and leaks nothing.
 */

static atomic_long oom_budget = -1; /* allocations left; negative = unlimited */

static bool oom_take(void) {
  long b = atomic_load(&oom_budget);
  if (b < 0) {
    return true;
  }
  while (b > 0 && !atomic_compare_exchange_weak(&oom_budget, &b, b - 1)) {
  }
  return b > 0;
}
static void *oom_malloc(size_t n, void *ud) {
  (void)ud;
  return oom_take() ? malloc(n) : NULL;
}
static void oom_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static void *oom_calloc(size_t a, size_t b, void *ud) {
  (void)ud;
  return oom_take() ? calloc(a, b) : NULL;
}
static void *oom_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  return oom_take() ? realloc(p, n) : NULL;
}
static const moqc_mem oom_mem = {NULL, oom_malloc, oom_free, oom_calloc,
                                 oom_realloc};

static void test_out_of_memory(void **state) {
  moqc_origin_settings s;
  moqc_origin *o;
  moqc_origin_producer *p, *sp;
  moqc_origin_consumer *c, *tc;
  moqc_origin_announced *a, *a2;
  moqc_origin_publish *g, *g2;
  moqc_origin_request *r;
  moqc_origin_dynamic *d;
  moqc_broadcast_consumer *bc;
  moqc_str pre = moqc_str_c("x/y");
  tctx ctx;
  tbc b, b2;
  long n;
  int rc;
  (void)state;

  tctx_init(&ctx);
  tbc_new(&b);
  tbc_new(&b2);
  moqc_origin_settings_default(&s);
  s.mem = &oom_mem;
  assert_int_equal(moqc_origin_new(&o, &s), 0);
  assert_int_equal(moqc_origin_producer_new(o, &p), 0);
  assert_int_equal(moqc_origin_consumer_new(o, &c), 0);
  assert_int_equal(moqc_origin_consumer_with_usage(c, &ctx.base, &tc), 0);
  assert_int_equal(moqc_origin_consumer_announced(tc, &a), 0);
  assert_int_equal(moqc_origin_producer_dynamic(p, &d), 0);

  /* Publishing (first and as a backup), opening a cursor, taking events,
   * requesting, scoping. */
  for (n = 0;; n++) {
    atomic_store(&oom_budget, n);
    rc = moqc_origin_producer_publish(p, moqc_str_c("x/y/z"), b.c, NULL, &g);
    atomic_store(&oom_budget, -1);
    if (rc == 0) {
      break;
    }
    assert_int_equal(rc, MOQC_ERR_NOMEM);
    assert_int_equal(
        moqc_origin_consumer_consume_broadcast(c, moqc_str_c("x/y/z"), &bc),
        MOQC_ERR_NOT_FOUND);
    tnone(a);
    assert_int_equal(o->root.nkids, 0);
  }
  assert_true(n > 0);
  for (n = 0;; n++) {
    atomic_store(&oom_budget, n);
    rc = moqc_origin_producer_publish(p, moqc_str_c("x/y/z"), b2.c, NULL, &g2);
    atomic_store(&oom_budget, -1);
    if (rc == 0) {
      break;
    }
    assert_int_equal(rc, MOQC_ERR_NOMEM);
  }
  for (n = 0;; n++) {
    atomic_store(&oom_budget, n);
    rc = moqc_origin_consumer_announced(c, &a2);
    atomic_store(&oom_budget, -1);
    if (rc == 0) {
      break;
    }
    assert_int_equal(rc, MOQC_ERR_NOMEM);
  }
  tnext(a2, "x/y/z", true, &b);
  for (n = 0;; n++) {
    moqc_origin_announce ev;
    atomic_store(&oom_budget, n);
    rc = moqc_origin_announced_next(a, &ev, NULL);
    atomic_store(&oom_budget, -1);
    if (rc == 0) {
      assert_true(moqc_broadcast_consumer_is_clone(ev.broadcast, b.c));
      moqc_broadcast_consumer_del(ev.broadcast);
      break;
    }
    assert_int_equal(rc, MOQC_ERR_NOMEM);
  }
  assert_int_equal(tctx_read(&ctx, MOQC_DIRECTION_EGRESS, "x/y/z").announced,
                   1);
  for (n = 0;; n++) {
    atomic_store(&oom_budget, n);
    rc = moqc_origin_consumer_request_broadcast(c, moqc_str_c("x/q"), &r);
    atomic_store(&oom_budget, -1);
    if (rc == 0) {
      break;
    }
    assert_int_equal(rc, MOQC_ERR_NOMEM);
    assert_null(o->qhead);
  }
  moqc_origin_request_del(r);
  for (n = 0;; n++) {
    atomic_store(&oom_budget, n);
    rc = moqc_origin_producer_scope(p, &pre, 1, &sp);
    atomic_store(&oom_budget, -1);
    if (rc == 0) {
      break;
    }
    assert_int_equal(rc, MOQC_ERR_NOMEM);
  }
  moqc_origin_producer_del(sp);

  moqc_origin_publish_del(g);
  tnext(a, "x/y/z", false, NULL);
  tnext(a, "x/y/z", true, &b2);
  moqc_origin_publish_del(g2);
  tnext(a, "x/y/z", false, NULL);
  /* a2 did not look meanwhile: restart + unannounce coalesce into the end. */
  tnext(a2, "x/y/z", false, NULL);
  tnone(a2);
  assert_int_equal(
      tctx_read(&ctx, MOQC_DIRECTION_EGRESS, "x/y/z").announced_closed, 2);
  moqc_origin_announced_del(a2);
  moqc_origin_announced_del(a);
  moqc_origin_dynamic_del(d);
  moqc_origin_consumer_del(tc);
  moqc_origin_consumer_del(c);
  moqc_origin_producer_del(p);
  assert_int_equal(o->root.nkids, 0);
  moqc_origin_decref(o);
  tbc_free(&b);
  tbc_free(&b2);
  tctx_free(&ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_origin_id),
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
      T(test_announce_unannounce),
      T(test_late_joiner_gets_initial_set),
      T(test_duplicate_backups_in_order),
      T(test_duplicate_shorter_route_wins),
      T(test_newer_epoch_wins),
      cmocka_unit_test(test_deterministic_tiebreak),
      T(test_double_publish),
      T(test_with_root),
      T(test_scope_permissions),
      T(test_consumer_scope_filters_announces),
      T(test_coalesce_announce_unannounce),
      T(test_coalesce_unannounce_announce),
      T(test_coalesce_announce_restart),
      T(test_coalesce_restart),
      T(test_coalesce_unannounce_announce_unannounce),
      T(test_coalesce_churn_bounded),
      T(test_consumer_clone_is_side_effect_free),
      T(test_hops_loop_and_limits),
      T(test_create_broadcast),
      cmocka_unit_test(test_out_of_memory),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
