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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_broadcast_charges_the_pool),
      cmocka_unit_test(test_no_pool_is_unbounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
