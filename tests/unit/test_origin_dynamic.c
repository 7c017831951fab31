/*
 * Origin dynamic broadcast requests (spec/upstream-model.md 2.3
 * request_broadcast, 5.5).
 */
#include "test_origin_util.h"

#include "eager_viewer.h"
#include "model/origin_internal.h"

typedef struct fx {
  moqc_origin *o;
  moqc_origin_producer *p;
  moqc_origin_consumer *c;
} fx;

static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof(*f));

  assert_int_equal(moqc_origin_new(&f->o, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(f->o, &f->p), 0);
  assert_int_equal(moqc_origin_consumer_new(f->o, &f->c), 0);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx *f = *state;
  moqc_origin_consumer_del(f->c);
  moqc_origin_producer_del(f->p);
  assert_int_equal(f->o->root.nkids, 0);
  assert_null(f->o->qhead);
  assert_null(f->o->handlers);
  assert_int_equal(atomic_load(&f->o->refs), 1);
  moqc_origin_decref(f->o);
  free(f);
  return 0;
}

static moqc_origin_request *treq(moqc_origin_consumer *c, const char *path) {
  moqc_origin_request *r = NULL;
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(c, moqc_str_c(path), &r), 0);
  return r;
}

static void test_unroutable_without_handler(void **state) {
  fx *f = *state;
  moqc_origin_request *r;

  assert_int_equal(
      moqc_origin_consumer_request_broadcast(f->c, moqc_str_c("x"), &r),
      MOQC_ERR_UNROUTABLE);
}

static void test_served_not_announced(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_announced *a;
  moqc_origin_request *r;
  moqc_broadcast_consumer *bc;
  tw wr, wd;
  tbc b;

  tw_init(&wr);
  tw_init(&wd);
  tbc_new(&b);
  assert_int_equal(moqc_origin_consumer_announced(f->c, &a), 0);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, wd.w), MOQC_ERR_PENDING);
  r = treq(f->c, "/on//demand/");
  assert_int_equal(atomic_load(&wd.fired), 1);
  assert_int_equal(moqc_origin_request_poll(r, &bc, wr.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  assert_true(moqc_str_eq(moqc_origin_broadcast_request_path(br),
                          moqc_str_c("on/demand")));
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL) == MOQC_ERR_PENDING,
                   1);
  assert_int_equal(atomic_load(&wr.fired), 0);
  assert_int_equal(moqc_origin_broadcast_request_accept(br, b.c), 0);
  assert_int_equal(atomic_load(&wr.fired), 1);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b.c));
  moqc_broadcast_consumer_del(bc);
  /* Every poll gives the result again. */
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), 0);
  moqc_broadcast_consumer_del(bc);
  /* Served broadcasts are not announced, and are not found by path. */
  tnone(a);
  assert_int_equal(moqc_origin_consumer_consume_broadcast(
                       f->c, moqc_str_c("on/demand"), &bc),
                   MOQC_ERR_NOT_FOUND);
  moqc_origin_request_del(r);
  moqc_origin_dynamic_del(d);
  moqc_origin_announced_del(a);
  tbc_free(&b);
  tw_free(&wr);
  tw_free(&wd);
}

static void test_requests_coalesce(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br, *br2;
  moqc_origin_request *r1, *r2, *r3;
  moqc_broadcast_consumer *bc;
  moqc_origin_consumer *rc;
  tw w1, w2;
  tbc b;

  tw_init(&w1);
  tw_init(&w2);
  tbc_new(&b);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  assert_int_equal(moqc_origin_consumer_with_root(f->c, moqc_str_c("a"), &rc),
                   0);
  r1 = treq(f->c, "a/x");
  r2 = treq(rc, "x"); /* the same absolute path through another root */
  r3 = treq(f->c, "a/y");
  assert_int_equal(moqc_origin_request_poll(r1, &bc, w1.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_request_poll(r2, &bc, w2.w), MOQC_ERR_PENDING);
  /* One request per absolute path, FIFO. */
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  assert_true(
      moqc_str_eq(moqc_origin_broadcast_request_path(br), moqc_str_c("a/x")));
  assert_int_equal(moqc_origin_dynamic_next(d, &br2, NULL), 0);
  assert_true(
      moqc_str_eq(moqc_origin_broadcast_request_path(br2), moqc_str_c("a/y")));
  {
    moqc_origin_broadcast_request *none = NULL;
    assert_int_equal(moqc_origin_dynamic_next(d, &none, NULL),
                     MOQC_ERR_PENDING);
    assert_null(none);
  }
  assert_int_equal(moqc_origin_broadcast_request_accept(br, b.c), 0);
  assert_int_equal(atomic_load(&w1.fired), 1);
  assert_int_equal(atomic_load(&w2.fired), 1);
  assert_int_equal(moqc_origin_request_poll(r1, &bc, NULL), 0);
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(moqc_origin_request_poll(r2, &bc, NULL), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b.c));
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(moqc_origin_request_poll(r3, &bc, NULL), MOQC_ERR_PENDING);
  moqc_origin_broadcast_request_del(br2);
  assert_int_equal(moqc_origin_request_poll(r3, &bc, NULL), MOQC_ERR_DROPPED);
  moqc_origin_request_del(r1);
  moqc_origin_request_del(r2);
  moqc_origin_request_del(r3);
  moqc_origin_consumer_del(rc);
  moqc_origin_dynamic_del(d);
  tbc_free(&b);
  tw_free(&w1);
  tw_free(&w2);
}

static void test_request_rejected(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r, *r2;
  moqc_broadcast_consumer *bc;
  tw w;

  tw_init(&w);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  r = treq(f->c, "x");
  assert_int_equal(moqc_origin_request_poll(r, &bc, w.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  moqc_origin_broadcast_request_reject(br, MOQC_ERR_NOT_FOUND);
  assert_int_equal(atomic_load(&w.fired), 1);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), MOQC_ERR_NOT_FOUND);
  /* A later request for the path is a new one. */
  r2 = treq(f->c, "x");
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  moqc_origin_broadcast_request_del(br); /* dropped unanswered */
  assert_int_equal(moqc_origin_request_poll(r2, &bc, NULL), MOQC_ERR_DROPPED);
  moqc_origin_request_del(r2);
  moqc_origin_request_del(r);
  moqc_origin_dynamic_del(d);
  tw_free(&w);
}

static void test_handler_dropped(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_request *r;
  moqc_broadcast_consumer *bc;
  tw w;

  tw_init(&w);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  r = treq(f->c, "x");
  assert_int_equal(moqc_origin_request_poll(r, &bc, w.w), MOQC_ERR_PENDING);
  moqc_origin_dynamic_del(d);
  assert_int_equal(atomic_load(&w.fired), 1);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), MOQC_ERR_UNROUTABLE);
  moqc_origin_request_del(r);
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(f->c, moqc_str_c("x"), &r),
      MOQC_ERR_UNROUTABLE);
  tw_free(&w);
}

static void test_accept_after_handler_dropped(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r;
  moqc_broadcast_consumer *bc;
  tbc b;

  tbc_new(&b);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  r = treq(f->c, "x");
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  moqc_origin_dynamic_del(d);
  /* Taken requests stay servable. */
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_broadcast_request_accept(br, b.c), 0);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), 0);
  moqc_broadcast_consumer_del(bc);
  moqc_origin_request_del(r);
  tbc_free(&b);
}

static void test_prefers_announced(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r, *r2;
  moqc_origin_publish *g;
  moqc_broadcast_consumer *bc;
  tbc b, b2;
  tw w;

  tw_init(&w);
  tbc_new(&b);
  tbc_new(&b2);
  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  g = tpub(f->p, "x", &b, NULL);
  r = treq(f->c, "x");
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b.c));
  moqc_broadcast_consumer_del(bc);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), MOQC_ERR_PENDING);
  moqc_origin_publish_del(g);
  moqc_origin_request_del(r);

  /* A pending request resolves with a broadcast announced meanwhile. */
  r2 = treq(f->c, "y");
  assert_int_equal(moqc_origin_request_poll(r2, &bc, w.w), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  g = tpub(f->p, "y", &b, NULL);
  assert_int_equal(atomic_load(&w.fired), 1);
  assert_int_equal(moqc_origin_request_poll(r2, &bc, NULL), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b.c));
  moqc_broadcast_consumer_del(bc);
  /* The handler's late answer changes nothing. */
  assert_int_equal(moqc_origin_broadcast_request_accept(br, b2.c), 0);
  assert_int_equal(moqc_origin_request_poll(r2, &bc, NULL), 0);
  assert_true(moqc_broadcast_consumer_is_clone(bc, b.c));
  moqc_broadcast_consumer_del(bc);
  moqc_origin_publish_del(g);
  moqc_origin_request_del(r2);
  moqc_origin_dynamic_del(d);
  tbc_free(&b);
  tbc_free(&b2);
  tw_free(&w);
}

static void test_dynamic_clone_keeps_alive(void **state) {
  fx *f = *state;
  moqc_origin_dynamic *d, *d2;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r;
  moqc_broadcast_consumer *bc;

  assert_int_equal(moqc_origin_producer_dynamic(f->p, &d), 0);
  assert_int_equal(moqc_origin_dynamic_clone(d, &d2), 0);
  r = treq(f->c, "x");
  moqc_origin_dynamic_del(d);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_dynamic_next(d2, &br, NULL), 0);
  moqc_origin_broadcast_request_reject(br, MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), MOQC_ERR_NOT_FOUND);
  moqc_origin_request_del(r);
  moqc_origin_dynamic_del(d2);
}

static void test_scoped_handler(void **state) {
  fx *f = *state;
  moqc_str pre = moqc_str_c("cams");
  moqc_origin_producer *sp, *rp;
  moqc_origin_dynamic *d;
  moqc_origin_broadcast_request *br;
  moqc_origin_request *r, *r2;
  moqc_broadcast_consumer *bc;

  assert_int_equal(moqc_origin_producer_scope(f->p, &pre, 1, &sp), 0);
  assert_int_equal(moqc_origin_producer_with_root(sp, moqc_str_c("cams"), &rp),
                   0);
  assert_int_equal(moqc_origin_producer_dynamic(rp, &d), 0);
  assert_int_equal(
      moqc_origin_consumer_request_broadcast(f->c, moqc_str_c("mics/1"), &r),
      MOQC_ERR_UNROUTABLE);
  r = treq(f->c, "cams/1");
  /* The handler sees the path relative to its own root. */
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), 0);
  assert_true(
      moqc_str_eq(moqc_origin_broadcast_request_path(br), moqc_str_c("1")));
  moqc_origin_broadcast_request_reject(br, MOQC_ERR_NOT_FOUND);
  /* Requests nobody waits for any more are withdrawn. */
  r2 = treq(f->c, "cams/2");
  moqc_origin_request_del(r2);
  assert_int_equal(moqc_origin_dynamic_next(d, &br, NULL), MOQC_ERR_PENDING);
  assert_int_equal(moqc_origin_request_poll(r, &bc, NULL), MOQC_ERR_NOT_FOUND);
  moqc_origin_request_del(r);
  moqc_origin_dynamic_del(d);
  moqc_origin_producer_del(rp);
  moqc_origin_producer_del(sp);
}

/* A broadcast made with moqc_origin_producer_create_dynamic_broadcast has its
 * track handler before anyone can find it: the eager viewer's request queues
 * and reaches the handler. Made in two steps (create, then the handler), the
 * same viewer is told the track does not exist: the window a relay session
 * mirroring an announce used to leave open to viewers on other workers. */
static void test_dynamic_before_published(void **state) {
  fx *f = *state;
  moqc_broadcast_producer *bp;
  moqc_broadcast_dynamic *dyn;
  moqc_origin_publish *guard;
  moqc_track_request *req;

  for (int two_steps = 0; two_steps <= 1; two_steps++) {
    eager_viewer v;
    assert_int_equal(eager_viewer_start(&v, f->c, "video"), 0);
    if (two_steps) {
      assert_int_equal(moqc_origin_producer_create_broadcast(
                           f->p, moqc_str_c("live"), NULL, &bp, &guard),
                       0);
      assert_int_equal(v.lookup, MOQC_ERR_NOT_FOUND);
      assert_int_equal(moqc_broadcast_producer_dynamic(bp, &dyn), 0);
    } else {
      assert_int_equal(moqc_origin_producer_create_dynamic_broadcast(
                           f->p, moqc_str_c("live"), NULL, &bp, &dyn, &guard),
                       0);
      assert_int_equal(v.lookup, 0);
      assert_int_equal(moqc_broadcast_dynamic_requested_track(dyn, &req, NULL),
                       0);
      assert_string_equal(moqc_track_request_name(req), "video");
      moqc_track_request_reject(req, MOQC_ERR_NOT_FOUND);
    }
    eager_viewer_del(&v);
    moqc_broadcast_dynamic_del(dyn);
    moqc_origin_publish_del(guard);
    moqc_broadcast_producer_del(bp);
  }
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
  const struct CMUnitTest tests[] = {
      T(test_unroutable_without_handler),
      T(test_served_not_announced),
      T(test_requests_coalesce),
      T(test_request_rejected),
      T(test_handler_dropped),
      T(test_accept_after_handler_dropped),
      T(test_prefers_announced),
      T(test_dynamic_clone_keeps_alive),
      T(test_scoped_handler),
      T(test_dynamic_before_published),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
