/*
 * Write scheduling through real sessions: a SUBSCRIBE_UPDATE that raises a subscription's
 * priority re-ranks the publisher's group streams already queued (lib/session/pub_subscribe.c
 * re-files them in the ready heap). The publisher's pick is compared with a brute-force scan of
 * its streams in the scheduling order.
 */
#include "test_session_harness.h"

#include "session/session_int.h"
#include "session_sched_ref.h"


/* The publisher session's next stream, checked against the scan; NULL when none. */
static sess_stream *checked_pick(moqc_session *s, moqc_tstamp now) {
  sess_stream *best = NULL;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    if (ref_wants_write(st) && (best == NULL || ref_before(st, best))) {
      best = st;
    }
  }
  moqc_vec v[4];
  moqc_stream_id id;
  bool fin;
  assert_true(moqc_session_writev_stream(s, &id, &fin, v, 4, now) >= 0);
  if (best == NULL) {
    assert_true(id == MOQC_STREAM_NONE);
  } else {
    assert_true(id == best->id);
  }
  return best;
}

static int subscribe(tlink *l, viewer *v) {
  for (int i = 0; i < 10; i++) {
    int rv = viewer_subscribe(v);
    if (rv != MOQC_ERR_PENDING) {
      return rv;
    }
    pump1(l);
  }
  return MOQC_ERR_PENDING;
}

static void test_update_reranks_queued_groups(void **state) {
  (void)state;
  node P, S;
  node_new(&P, ID_P);
  node_new(&S, ID_S);
  /* The viewer's node S is the client; the publisher's node P the server. */
  tlink l;
  link_new(&l, MOQC_SESSION_VERSION_LITE_05, &S, ID_S, &P, ID_P, NULL);
  pub video, audio;
  pub_new(&video, &P, "demo/bbb", "video");
  moqc_track_info info;
  moqc_track_info_default(&info);
  info.priority = 1; /* as video's: only the subscriber priority tells them apart */
  assert_int_equal(moqc_broadcast_producer_create_track(video.bp, "audio", &info, &audio.tp), 0);
  pump1(&l);
  viewer vv, va;
  viewer_new(&vv, &S, "demo/bbb", "video");
  viewer_new(&va, &S, "demo/bbb", "audio");
  assert_int_equal(subscribe(&l, &vv), 0);
  assert_int_equal(subscribe(&l, &va), 0);
  pump1(&l);

  /* Queue groups on the publisher without letting it send: video 0..1, audio 0..3. */
  moqc_tstamp now = moqc__mem_now(l.pair);
  for (int g = 0; g < 2; g++) {
    pub_group(&video, now, 3, 0);
  }
  for (int g = 0; g < 4; g++) {
    pub_group(&audio, now, 3, 0);
  }
  assert_int_equal(moqc_session_poll(l.s, now), 0);
  sess_stream *pick = checked_pick(l.s, now);
  /* Control streams go first (SUBSCRIBE_OK, queued with the first group): let exactly their
   * bytes out. */
  while (pick != NULL && pick->sclass == SESS_CLASS_CONTROL) {
    assert_true(moqc__mem_transmit(l.pair, MOQC__MEM_SERVER, (size_t)moqc__sess_unwritten(pick)) >= 0);
    pick = checked_pick(l.s, now);
  }
  assert_non_null(pick);
  /* Equal priorities: the newest group of either track, audio's group 3. */
  assert_int_equal(pick->sclass, SESS_CLASS_GROUP);
  assert_int_equal(pick->sequence, 3);
  size_t groups = 0;
  for (size_t i = 0; i < l.s->nstreams; i++) {
    groups += l.s->streams[i]->sclass == SESS_CLASS_GROUP && ref_wants_write(l.s->streams[i]);
  }
  assert_true(groups >= 2);

  /* The video viewer raises its priority: SUBSCRIBE_UPDATE reaches the publisher only. */
  moqc_subscription pref;
  moqc_subscription_default(&pref);
  pref.priority = 9;
  assert_int_equal(moqc_track_subscriber_update(vv.ts, &pref), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(moqc_session_poll(l.c, now), 0);
    assert_true(moqc__mem_transmit(l.pair, MOQC__MEM_CLIENT, SIZE_MAX) >= 0);
  }
  pick = checked_pick(l.s, now);
  assert_non_null(pick);
  assert_int_equal(pick->sub_priority, 9);
  assert_int_equal(pick->sequence, 1); /* video's newest group */

  /* Back down below audio's: audio's newest group again. */
  pref.priority = 0;
  assert_int_equal(moqc_track_subscriber_update(vv.ts, &pref), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(moqc_session_poll(l.c, now), 0);
    assert_true(moqc__mem_transmit(l.pair, MOQC__MEM_CLIENT, SIZE_MAX) >= 0);
  }
  pick = checked_pick(l.s, now);
  assert_non_null(pick);
  assert_int_equal(pick->sub_priority, 0);
  assert_int_equal(pick->sequence, 3);

  /* Everything is delivered in the end. */
  pump1(&l);
  assert_null(checked_pick(l.s, now));
  uint64_t seqs[8], frames[8];
  assert_int_equal(viewer_read(&vv, seqs, frames, 8), 2);
  assert_int_equal(viewer_read(&va, seqs, frames, 8), 4);

  viewer_del(&vv);
  viewer_del(&va);
  moqc_track_producer_del(audio.tp);
  pub_del(&video);
  link_del(&l);
  node_del(&P);
  node_del(&S);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_update_reranks_queued_groups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
