/*
 * Out-of-memory behaviour of the stats publisher: every allocation made with
 * its allocator (the publisher, its emitter, and the model broadcast, tracks
 * and groups it creates) fails in turn. Each call returns 0 or
 * MOQC_ERR_NOMEM, a failed creation publishes nothing, nothing leaks (ASan),
 * and the next drain without failures publishes the exact live counters.
 */
#include "test_failing_mem.h"

#include <moqc/moqc.h>
#include <moqc/origin.h>

#define S(x) moqc_str_c(x)

static bool ok_or_nomem(int rv) {
  return rv == 0 || rv == MOQC_ERR_NOMEM;
}

/* Reads the latest frame of a stats track into a fresh string. */
static char *latest(moqc_origin_consumer *c, const char *track) {
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
  moqc_rcbuf *buf;
  uint64_t seq;
  char *out;

  assert_int_equal(
      moqc_origin_consumer_consume_broadcast(c, S(".stats/node/n"), &bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(bc, track, &tc), 0);
  assert_int_equal(moqc_track_consumer_subscribe(tc, NULL, &ts, NULL), 0);
  assert_int_equal(moqc_track_subscriber_read_frame(ts, &buf, &seq, NULL, NULL),
                   0);
  out = strndup((const char *)moqc_rcbuf_data(buf), moqc_rcbuf_len(buf));
  moqc_rcbuf_decref(buf);
  moqc_track_subscriber_del(ts);
  moqc_track_consumer_del(tc);
  moqc_broadcast_consumer_del(bc);
  return out;
}

static void test_oom_new_serve_drain(void **state) {
  (void)state;
  moqc_stats_registry *reg;
  moqc_origin *o;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
  moqc_stats_session *sess;
  moqc_usage *u;
  moqc_stats_publisher_settings set;
  long n;

  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_origin_new(&o, NULL), 0);
  assert_int_equal(moqc_origin_producer_new(o, &prod), 0);
  assert_int_equal(moqc_origin_consumer_new(o, &cons), 0);
  /* Live traffic: a session and an egress sink with 42 bytes, both held. */
  assert_int_equal(moqc_stats_session_new(&sess, reg, S(""), S("acme")), 0);
  assert_int_equal(
      moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_EGRESS, S("a"), &u),
      0);
  moqc_usage_open_subscription(u);
  moqc_usage_add_bytes(u, 42);
  moqc_stats_publisher_settings_default(&set);
  set.node = S("n");
  set.mem = &fail_mem;

  for (n = 1; n < 10000; n++) {
    moqc_stats_publisher *pub = NULL;
    moqc_broadcast_consumer *bc = NULL;
    moqc_track_consumer *req = NULL;
    fail_at(n);
    int rv = moqc_stats_publisher_new(&pub, reg, prod, &set);
    assert_true(ok_or_nomem(rv));
    if (rv != 0) {
      fail_state.paused = true;
      /* Nothing is published after a failed creation. */
      assert_int_equal(
          moqc_origin_consumer_consume_broadcast(cons, S(".stats/node/n"), &bc),
          MOQC_ERR_NOT_FOUND);
      continue;
    }
    /* A request for a tier track, made without failures. */
    fail_state.paused = true;
    assert_int_equal(
        moqc_origin_consumer_consume_broadcast(cons, S(".stats/node/n"), &bc),
        0);
    assert_int_equal(
        moqc_broadcast_consumer_track(bc, "gold/publisher.json", &req), 0);
    fail_state.paused = false;
    assert_true(ok_or_nomem(moqc_stats_publisher_serve(pub, 0)));
    assert_true(ok_or_nomem(moqc_stats_publisher_drain(pub, 1, NULL)));
    assert_true(ok_or_nomem(moqc_stats_publisher_drain(pub, 2, NULL)));
    bool failed = fail_state.countdown == 0;
    /* Without failures the next drain converges on the exact live values. */
    fail_state.paused = true;
    assert_int_equal(moqc_stats_publisher_drain(pub, 3, NULL), 0);
    char *s = latest(cons, "publisher.json");
    assert_string_equal(
        s, "{\"a\":{\"announced\":0,\"announced_closed\":0,"
           "\"announced_bytes\":0,\"broadcasts\":0,\"broadcasts_closed\":0,"
           "\"subscriptions\":1,\"subscriptions_closed\":0,\"fetches\":0,"
           "\"bytes\":42,\"frames\":0,\"groups\":0,\"datagrams\":0}}");
    free(s);
    s = latest(cons, "sessions.json");
    assert_string_equal(s, "{\"acme\":{\"sessions\":1,\"sessions_closed\":0}}");
    free(s);
    moqc_track_consumer_del(req);
    moqc_broadcast_consumer_del(bc);
    moqc_stats_publisher_del(pub);
    if (!failed) {
      break; /* the whole scenario ran without reaching allocation n */
    }
  }
  assert_true(n > 20 && n < 10000);
  moqc_usage_close_subscription(u);
  moqc_usage_decref(u);
  moqc_stats_session_decref(sess);
  moqc_origin_consumer_del(cons);
  moqc_origin_producer_del(prod);
  moqc_origin_decref(o);
  moqc_stats_registry_decref(reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oom_new_serve_drain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
