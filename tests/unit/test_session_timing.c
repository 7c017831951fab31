/*
 * Media-timing scenarios on the injected clock (STYLE.md 2.10, item 3): publisher -> relay ->
 * subscriber with one-way delays, frames every 33 ms in 100 ms groups, per-frame latency
 * bounds; then a congested last hop where stale groups are reset and the newest stays fresh.
 */
#include "test_session_harness.h"

#define STEP MOQC_MILLISECONDS
#define DELAY (20 * MOQC_MILLISECONDS)

typedef struct scene {
  node P, R, S;
  tlink up, down;
  pub p;
  viewer v;
  moqc_group_producer *gp;
  moqc_group_consumer *open[64];
  int nopen;
  uint64_t frames;
  uint64_t max_latency_ms;
  uint64_t groups_seen;
  uint64_t groups_aborted;
  uint64_t last_group_done;
  uint64_t newest_seen;
} scene;

static void scene_new(scene *sc, size_t down_window) {
  memset(sc, 0, sizeof(*sc));
  node_new(&sc->P, ID_P);
  node_new(&sc->R, ID_R);
  node_new(&sc->S, ID_S);
  moqc__mem_settings ms;
  moqc__mem_settings_default(&ms);
  ms.delay = DELAY;
  ms.start = 0;
  link_new(&sc->up, MOQC_SESSION_VERSION_LITE_05, &sc->P, ID_P, &sc->R, ID_R, &ms);
  if (down_window != 0) {
    ms.stream_window = down_window;
  }
  link_new(&sc->down, MOQC_SESSION_VERSION_LITE_05, &sc->S, ID_S, &sc->R, ID_R, &ms);
  pub_new(&sc->p, &sc->P, "demo/bbb", "video");
}

static moqc_tstamp scene_now(scene *sc) { return moqc__mem_now(sc->up.pair); }

/* One millisecond: publish what is due, move the clock, pump both hops, read. budget limits the
 * bytes the relay may send per millisecond on the last hop. */
static void scene_step(scene *sc, size_t budget, bool publish, uint64_t *published_groups) {
  moqc_tstamp now = scene_now(sc);
  uint64_t ms = now / MOQC_MILLISECONDS;
  if (publish && ms % 100 == 0) {
    if (sc->gp != NULL) {
      moqc_group_producer_finish(sc->gp);
      moqc_group_producer_del(sc->gp);
    }
    assert_int_equal(moqc_track_producer_append_group(sc->p.tp, now, &sc->gp), 0);
    (*published_groups)++;
  }
  if (publish && ms % 100 < 99 && ms % 33 == 0) {
    uint8_t payload[400];
    memset(payload, (int)(ms & 0xff), sizeof(payload));
    assert_int_equal(moqc_group_producer_write_frame(sc->gp, payload, sizeof(payload), ms), 0);
  }
  moqc__mem_pump(sc->up.pair, SIZE_MAX, 8);
  for (int i = 0; i < 4; i++) {
    moqc__mem_pump(sc->down.pair, 0, 1); /* polls, expiries and due deliveries only */
    moqc__mem_transmit(sc->down.pair, MOQC__MEM_CLIENT, SIZE_MAX);
  }
  /* The relay may send budget bytes per millisecond. */
  moqc__mem_transmit(sc->down.pair, MOQC__MEM_SERVER, budget);
  /* The subscriber reads every frame as soon as it is there. */
  moqc_group_consumer *gc;
  while (sc->v.ts != NULL && sc->nopen < 64 &&
         moqc_track_subscriber_recv_group(sc->v.ts, &gc, sc->v.w) == 0) {
    sc->open[sc->nopen++] = gc;
    sc->groups_seen++;
    if (moqc_group_consumer_sequence(gc) > sc->newest_seen) {
      sc->newest_seen = moqc_group_consumer_sequence(gc);
    }
  }
  for (int i = 0; i < sc->nopen;) {
    moqc_rcbuf *buf;
    uint64_t ts;
    int rv;
    while ((rv = moqc_group_consumer_read_frame(sc->open[i], &buf, &ts, sc->v.w)) == 0) {
      uint64_t lat = ms - ts;
      if (lat > sc->max_latency_ms) {
        sc->max_latency_ms = lat;
      }
      sc->frames++;
      moqc_rcbuf_decref(buf);
    }
    if (rv == MOQC_ERR_PENDING) {
      i++;
      continue;
    }
    if (rv == MOQC_END) {
      sc->last_group_done = moqc_group_consumer_sequence(sc->open[i]);
    } else {
      sc->groups_aborted++;
    }
    moqc_group_consumer_del(sc->open[i]);
    sc->open[i] = sc->open[--sc->nopen];
  }
  moqc__mem_advance(sc->up.pair, STEP);
  moqc__mem_advance(sc->down.pair, STEP);
}

static void scene_subscribe(scene *sc, uint64_t latency_ms) {
  uint64_t none = 0;
  /* Setups, announce requests and answers cross two 20 ms hops: give them 200 ms. */
  for (int i = 0; i < 200; i++) {
    scene_step(sc, SIZE_MAX, false, &none);
  }
  viewer_new(&sc->v, &sc->S, "demo/bbb", "video");
  moqc_subscription pref;
  moqc_subscription_default(&pref);
  if (latency_ms != 0) {
    pref.latency_max = latency_ms * MOQC_MILLISECONDS;
  }
  int rv = MOQC_ERR_PENDING;
  for (int i = 0; i < 200 && rv == MOQC_ERR_PENDING; i++) {
    rv = moqc_track_consumer_subscribe(sc->v.tc, &pref, &sc->v.ts, sc->v.w);
    scene_step(sc, SIZE_MAX, false, &none);
  }
  assert_int_equal(rv, 0);
  /* Start publishing on a group boundary. */
  while (scene_now(sc) / MOQC_MILLISECONDS % 100 != 0) {
    scene_step(sc, SIZE_MAX, false, &none);
  }
}

static void scene_del(scene *sc) {
  for (int i = 0; i < sc->nopen; i++) {
    moqc_group_consumer_del(sc->open[i]);
  }
  if (sc->gp != NULL) {
    moqc_group_producer_del(sc->gp);
  }
  viewer_del(&sc->v);
  link_del(&sc->down);
  link_del(&sc->up);
  pub_del(&sc->p);
  node_del(&sc->P);
  node_del(&sc->R);
  node_del(&sc->S);
}

/* Two 20 ms hops, no congestion: every frame arrives 40 ms after it was written. */
static void test_latency_two_hops(void **state) {
  scene sc;
  scene_new(&sc, 0);
  scene_subscribe(&sc, 0);
  uint64_t groups = 0;
  for (int i = 0; i < 1000; i++) {
    scene_step(&sc, SIZE_MAX, true, &groups);
  }
  /* Let the last frames land. */
  for (int i = 0; i < 100; i++) {
    scene_step(&sc, SIZE_MAX, false, &groups);
  }
  assert_int_equal(groups, 10);
  assert_int_equal(sc.groups_seen, 10);
  assert_int_equal(sc.frames, 10 * 3);
  assert_int_equal(sc.max_latency_ms, 40);
  assert_int_equal(sc.groups_aborted, 0);
  scene_del(&sc);
}

/* The last hop carries two thirds of what the stream needs. Newest-first keeps what does arrive
 * fresh: the newest group always takes the link, older groups are preempted and reset once
 * older than the subscriber's 300 ms, and no frame arrives more than about a group late. (Under
 * such sustained overload few groups complete: freshness wins over completeness, by design.) */
static void test_congested_last_hop(void **state) {
  scene sc;
  scene_new(&sc, 0);
  scene_subscribe(&sc, 300);
  uint64_t groups = 0;
  /* 3 frames x 400 bytes per 100 ms need 12 bytes/ms; give 8. */
  for (int i = 0; i < 2000; i++) {
    scene_step(&sc, 8, true, &groups);
  }
  assert_int_equal(groups, 20);
  /* Stale groups were reset (code 2, old); the newest keep arriving, their frames fresh. */
  assert_true(sc.groups_aborted >= 10);
  assert_true(sc.newest_seen >= 19);
  assert_true(sc.frames >= 15);
  assert_true(sc.max_latency_ms <= 120);
  scene_del(&sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_latency_two_hops),
      cmocka_unit_test(test_congested_last_hop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
