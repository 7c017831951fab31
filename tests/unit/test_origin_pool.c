/*
 * Origin: the cache budget of its settings is charged by every broadcast created through
 * create_broadcast (the relay's --cache-capacity).
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/origin.h>

static void test_create_broadcast_charges_the_pool(void **state) {
  moqc_origin_settings os;
  moqc_origin *o;
  moqc_origin_producer *p;
  moqc_cache_pool *pool;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  uint8_t data[1000] = {0};
  (void)state;
  /* Room for about two 1000-byte groups (each also charged some overhead). */
  assert_int_equal(moqc_cache_pool_new(&pool, 2600, NULL), 0);
  moqc_origin_settings_default(&os);
  os.cache_pool = pool;
  assert_int_equal(moqc_origin_new(&o, &os), 0);
  assert_int_equal(moqc_origin_producer_new(o, &p), 0);
  assert_int_equal(moqc_origin_producer_create_broadcast(p, moqc_str_c("a/b"), NULL, &bp, &guard), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_track_producer_write_frame(tp, data, sizeof(data), 0, 0), 0);
  assert_true(moqc_cache_pool_used(pool) >= sizeof(data));
  for (int i = 0; i < 10; i++) {
    assert_int_equal(moqc_track_producer_write_frame(tp, data, sizeof(data), 0, 0), 0);
    assert_true(moqc_cache_pool_used(pool) <= 2600);
  }
  assert_int_equal(moqc_track_producer_finish(tp), 0);
  moqc_track_producer_del(tp);
  moqc_origin_publish_del(guard);
  moqc_broadcast_producer_del(bp);
  /* Everything released: nothing is charged any more. */
  assert_int_equal(moqc_cache_pool_used(pool), 0);
  moqc_origin_producer_del(p);
  moqc_origin_decref(o);
  moqc_cache_pool_decref(pool);
}

static void test_no_pool_is_unbounded(void **state) {
  moqc_origin *o;
  moqc_origin_producer *p;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_group_consumer *gc;
  uint8_t data[1000] = {0};
  (void)state;
  assert_int_equal(moqc_origin_new(&o, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(o, &p), 0);
  assert_int_equal(moqc_origin_producer_create_broadcast(p, moqc_str_c("a"), NULL, &bp, &guard), 0);
  assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
  assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(moqc_track_producer_write_frame(tp, data, sizeof(data), 0, 0), 0);
  }
  /* Within the retention window every group is still cached. */
  assert_int_equal(moqc_track_consumer_fetch_group(tc, 0, &gc, NULL), 0);
  moqc_group_consumer_del(gc);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  moqc_track_producer_del(tp);
  moqc_origin_publish_del(guard);
  moqc_broadcast_producer_del(bp);
  moqc_origin_producer_del(p);
  moqc_origin_decref(o);
}

/* Writes one 100-byte single-frame group at now; returns 0 or the error. */
static int write_at(moqc_track_producer *tp, moqc_tstamp now) {
  uint8_t data[100] = {0};
  return moqc_track_producer_write_frame(tp, data, sizeof(data), 0, now);
}

/* Whether group seq is still cached (a fetch resolves at once). */
static bool cached(moqc_track_consumer *tc, uint64_t seq) {
  moqc_group_consumer *gc = NULL;
  int rv = moqc_track_consumer_fetch_group(tc, seq, &gc, NULL);
  moqc_group_consumer_del(gc);
  return rv == 0;
}

/* The pool's max age (the relay's --cache-duration) caps every track's retention (5 s by
 * default here): a group other than the latest goes once it is older; 0 leaves the retention. */
static void test_pool_max_age_caps_retention(void **state) {
  (void)state;
  for (int capped = 0; capped < 2; capped++) {
    moqc_origin_settings os;
    moqc_origin *o;
    moqc_origin_producer *p;
    moqc_cache_pool *pool;
    moqc_broadcast_producer *bp;
    moqc_origin_publish *guard;
    moqc_track_producer *tp;
    moqc_broadcast_consumer *bc;
    moqc_track_consumer *tc;
    assert_int_equal(moqc_cache_pool_new(&pool, UINT64_MAX, NULL), 0);
    moqc_cache_pool_set_max_age(pool, capped ? 1 * MOQC_SECONDS : 0);
    moqc_origin_settings_default(&os);
    os.cache_pool = pool;
    assert_int_equal(moqc_origin_new(&o, &os), 0);
    assert_int_equal(moqc_origin_producer_new(o, &p), 0);
    assert_int_equal(
        moqc_origin_producer_create_broadcast(p, moqc_str_c("a"), NULL, &bp, &guard), 0);
    assert_int_equal(moqc_broadcast_producer_create_track(bp, "t", NULL, &tp), 0);
    assert_int_equal(moqc_broadcast_producer_consume(bp, &bc), 0);
    assert_int_equal(moqc_broadcast_consumer_track(bc, "t", &tc), 0);
    moqc_tstamp t0 = 100 * MOQC_SECONDS;
    assert_int_equal(write_at(tp, t0), 0);
    /* Alone, the latest group stays whatever its age. */
    assert_int_equal(write_at(tp, t0 + 500 * MOQC_MILLISECONDS), 0);
    assert_true(cached(tc, 0));
    assert_int_equal(write_at(tp, t0 + 2 * MOQC_SECONDS), 0);
    /* 2 s after group 0: past the 1 s cap, within the 5 s retention. */
    assert_int_equal(cached(tc, 0), !capped);
    assert_int_equal(cached(tc, 1), !capped);
    assert_true(cached(tc, 2));
    assert_int_equal(write_at(tp, t0 + 6 * MOQC_SECONDS), 0);
    assert_false(cached(tc, 0)); /* past the retention either way */
    assert_true(cached(tc, 3));
    moqc_track_consumer_del(tc);
    moqc_broadcast_consumer_del(bc);
    moqc_track_producer_del(tp);
    moqc_origin_publish_del(guard);
    moqc_broadcast_producer_del(bp);
    moqc_origin_producer_del(p);
    moqc_origin_decref(o);
    moqc_cache_pool_decref(pool);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_broadcast_charges_the_pool),
      cmocka_unit_test(test_no_pool_is_unbounded),
      cmocka_unit_test(test_pool_max_age_caps_retention),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
