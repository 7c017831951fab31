/*
 * moq-lite sessions over the in-memory transport: handshakes, announcements, track info,
 * subscriptions and groups, between real origins.
 */
#include "test_session_harness.h"

/* ---- Handshakes ------------------------------------------------------------------------------ */

static void test_handshake_lite05(void **state) {
  tlink l;
  link_new(&l, MOQC_SESSION_VERSION_LITE_05, NULL, ID_P, NULL, ID_R, NULL);
  pump1(&l);
  assert_false(moqc_session_is_closed(l.c));
  assert_false(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_version(l.c), 5);
  assert_int_equal(moqc_session_version(l.s), 5);
  assert_int_equal(moqc_session_peer_origin(l.s), ID_P);
  assert_int_equal(moqc_session_peer_origin(l.c), ID_R);
  /* Both Setup streams finished and were forgotten. */
  assert_int_equal(moqc__mem_stream_count(l.pair), 0);
  assert_int_equal(moqc_session_get_expiry(l.s), UINT64_MAX);
  link_del(&l);
}

static void test_handshake_legacy(void **state) {
  tlink l;
  link_new(&l, MOQC_SESSION_VERSION_LEGACY, NULL, ID_P, NULL, ID_R, NULL);
  assert_int_equal(moqc_session_version(l.c), 0);
  pump1(&l);
  assert_int_equal(moqc_session_version(l.c), 2);
  assert_int_equal(moqc_session_version(l.s), 2);
  assert_false(moqc_session_is_closed(l.c));
  /* The session stream stays open all session. */
  assert_int_equal(moqc__mem_stream_count(l.pair), 1);
  moqc_session_close(l.c, 0, NULL);
  pump1(&l);
  assert_true(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_error(l.s), 0);
  link_del(&l);
}

static void test_setup_timeout(void **state) {
  moqc__mem_pair *pair;
  assert_int_equal(moqc__mem_pair_new(&pair, NULL, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.setup_timeout = 2 * MOQC_SECONDS;
  moqc_transport ts = moqc__mem_transport(pair, MOQC__MEM_SERVER);
  moqc_session *s;
  assert_int_equal(moqc_session_new(&s, &st, &ts, NULL, NULL, NULL), 0);
  moqc__mem_attach(pair, MOQC__MEM_SERVER, moqc_session_app_ops(), s);
  moqc_tstamp now = moqc__mem_now(pair);
  assert_int_equal(moqc_session_start(s, now), 0);
  assert_int_equal(moqc_session_get_expiry(s), now + 2 * MOQC_SECONDS);
  moqc__mem_advance(pair, MOQC_SECONDS);
  moqc__mem_pump(pair, SIZE_MAX, 5);
  assert_false(moqc_session_is_closed(s));
  moqc__mem_advance(pair, MOQC_SECONDS);
  moqc__mem_pump(pair, SIZE_MAX, 5);
  assert_true(moqc_session_is_closed(s));
  assert_int_equal(moqc_session_error(s), MOQC_ERR_TIMEOUT);
  uint64_t code;
  assert_true(moqc__mem_closed(pair, MOQC__MEM_SERVER, &code, NULL));
  assert_int_equal(code, 3);
  moqc_session_del(s);
  moqc__mem_pair_del(pair);
}

/* ---- Publishing through a relay ---------------------------------------------------------------- */

static void test_publish_to_relay(void **state) {
  node P, R;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  tlink l;
  link_new(&l, MOQC_SESSION_VERSION_LITE_05, &P, ID_P, &R, ID_R, NULL);
  pub p;
  pub_new(&p, &P, "demo/bbb", "video");
  pump1(&l);

  /* R mirrors P's broadcast, with P as its one hop. */
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(R.cons, &cur), 0);
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, moqc_str_c("demo/bbb")));
  assert_non_null(ev.broadcast);
  assert_int_equal(ev.hop_count, 1);
  assert_int_equal(ev.hops[0], ID_P);
  moqc_broadcast_consumer_del(ev.broadcast);

  /* A viewer on R: the track is requested from P on demand. */
  viewer v;
  viewer_new(&v, &R, "demo/bbb", "video");
  assert_int_equal(viewer_subscribe(&v), MOQC_ERR_PENDING);
  pump1(&l);
  assert_int_equal(viewer_subscribe(&v), 0);
  moqc_track_info info;
  moqc_track_subscriber_info(v.ts, &info);
  assert_int_equal(info.priority, 1);
  assert_int_equal(info.timescale, MOQC_TIMESCALE_MILLI);
  pump1(&l);

  moqc_tstamp now = moqc__mem_now(l.pair);
  pub_group(&p, now, 3, 1000);
  pub_group(&p, now, 2, 2000);
  pump1(&l);
  uint64_t seqs[8], frames[8];
  int n = viewer_read(&v, seqs, frames, 8);
  /* Both groups arrive, newest first (the publisher sends the newest group first). */
  assert_int_equal(n, 2);
  assert_int_equal(seqs[0], 1);
  assert_int_equal(frames[0], 2);
  assert_int_equal(seqs[1], 0);
  assert_int_equal(frames[1], 3);

  /* Timestamps survive the wire (zigzag deltas in the track timescale). */
  pub_group(&p, now, 2, 5000);
  pump1(&l);
  moqc_group_consumer *gc;
  assert_int_equal(moqc_track_subscriber_recv_group(v.ts, &gc, v.w), 0);
  moqc_rcbuf *buf;
  uint64_t ts;
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
  assert_int_equal(ts, 5000);
  moqc_rcbuf_decref(buf);
  assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
  assert_int_equal(ts, 5033);
  moqc_rcbuf_decref(buf);
  moqc_group_consumer_del(gc);

  /* The viewer leaves: R cancels the upstream subscription, P sees no user. */
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 1);
  viewer_del(&v);
  pump1(&l);
  assert_int_equal(moqc_track_producer_used(p.tp, NULL), 0);

  /* P unpublishes: R's mirror ends. */
  pub_del(&p);
  pump1(&l);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_true(moqc_str_eq(ev.path, moqc_str_c("demo/bbb")));
  assert_null(ev.broadcast);
  moqc_origin_announced_del(cur);
  assert_false(moqc_session_is_closed(l.c));
  link_del(&l);
  node_del(&P);
  node_del(&R);
}

/* Raw QUIC: the server learns the request path from the client's SETUP and roots the session. */
typedef struct setup_ctx {
  node *R;
  char path[64];
  int calls;
} setup_ctx;

static void on_setup_root(moqc_session *s, moqc_str path, void *ud) {
  setup_ctx *c = ud;
  c->calls++;
  snprintf(c->path, sizeof(c->path), "%.*s", (int)path.len, path.ptr);
  if (moqc_str_eq(path, moqc_str_c("forbidden"))) {
    moqc_session_close(s, MOQC_ERR_UNAUTHORIZED, "not allowed");
    return;
  }
  moqc_origin_consumer *c2;
  moqc_origin_producer *p2;
  assert_int_equal(moqc_origin_consumer_with_root(c->R->cons, path, &c2), 0);
  assert_int_equal(moqc_origin_producer_with_root(c->R->prod, path, &p2), 0);
  assert_int_equal(moqc_session_attach_origins(s, c2, p2, NULL), 0);
  moqc_origin_consumer_del(c2);
  moqc_origin_producer_del(p2);
}

static void run_setup_path(const char *path, setup_ctx *ctx, node *P, tlink *l) {
  assert_int_equal(moqc__mem_pair_new(&l->pair, NULL, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.origin_id = ID_P;
  st.setup_path = path;
  moqc_transport tc = moqc__mem_transport(l->pair, MOQC__MEM_CLIENT);
  assert_int_equal(moqc_session_new(&l->c, &st, &tc, P->cons, P->prod, NULL), 0);
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.origin_id = ID_R;
  st.on_setup = on_setup_root;
  st.user_data = ctx;
  moqc_transport ts = moqc__mem_transport(l->pair, MOQC__MEM_SERVER);
  assert_int_equal(moqc_session_new(&l->s, &st, &ts, NULL, NULL, NULL), 0);
  moqc__mem_attach(l->pair, MOQC__MEM_CLIENT, moqc_session_app_ops(), l->c);
  moqc__mem_attach(l->pair, MOQC__MEM_SERVER, moqc_session_app_ops(), l->s);
  assert_int_equal(moqc_session_start(l->s, moqc__mem_now(l->pair)), 0);
  assert_int_equal(moqc_session_start(l->c, moqc__mem_now(l->pair)), 0);
  pump1(l);
}

static void test_setup_path_roots_session(void **state) {
  node P, R;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  pub p;
  pub_new(&p, &P, "bbb", "video");
  setup_ctx ctx = {&R, "", 0};
  tlink l;
  run_setup_path("anon", &ctx, &P, &l);
  assert_int_equal(ctx.calls, 1);
  assert_string_equal(ctx.path, "anon");
  moqc_broadcast_consumer *bc;
  assert_int_equal(moqc_origin_consumer_consume_broadcast(R.cons, moqc_str_c("anon/bbb"), &bc),
                   0);
  moqc_broadcast_consumer_del(bc);
  /* Serving has begun: the handles can no longer change. */
  assert_int_equal(moqc_session_attach_origins(l.s, NULL, NULL, NULL), MOQC_ERR_INVALID_ARGUMENT);
  link_del(&l);

  tlink l2;
  run_setup_path("forbidden", &ctx, &P, &l2);
  assert_true(moqc_session_is_closed(l2.s));
  assert_true(moqc_session_is_closed(l2.c));
  assert_int_equal(moqc_session_error(l2.c), MOQC_ERR_UNAUTHORIZED);
  link_del(&l2);
  pub_del(&p);
  node_del(&P);
  node_del(&R);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_lite05),
      cmocka_unit_test(test_handshake_legacy),
      cmocka_unit_test(test_setup_timeout),
      cmocka_unit_test(test_publish_to_relay),
      cmocka_unit_test(test_setup_path_roots_session),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
