/*
 * Threads: a publisher thread writes groups into the origin while the main thread drives the
 * sessions (publisher -> relay -> subscriber) over the in-memory pairs. Model wakers fire on
 * the publisher thread and reach the sessions only through the transports' thread-safe wake;
 * the sessions themselves are touched by the main thread alone. Run it under TSan too.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "test_session_harness.h"

#define GROUPS 60

typedef struct pub_thread {
  moqc_track_producer *tp;
  atomic_int done;
} pub_thread;

static void *publisher(void *arg) {
  pub_thread *pt = arg;
  for (int g = 0; g < GROUPS; g++) {
    moqc_group_producer *gp;
    if (moqc_track_producer_append_group(pt->tp, MOQC_SECONDS, &gp) != 0) {
      break;
    }
    for (int f = 0; f < 2; f++) {
      uint8_t data[3] = {(uint8_t)g, (uint8_t)f, 0xAA};
      moqc_group_producer_write_frame(gp, data, sizeof(data), (uint64_t)(g * 100 + f));
    }
    moqc_group_producer_finish(gp);
    moqc_group_producer_del(gp);
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, NULL);
  }
  atomic_store(&pt->done, 1);
  return NULL;
}

static void test_publisher_thread(void **state) {
  node P, R, S;
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  node_new(&S, ID_S);
  tlink up, down;
  link_new(&up, MOQC_SESSION_VERSION_LITE_05, &P, ID_P, &R, ID_R, NULL);
  link_new(&down, MOQC_SESSION_VERSION_LITE_05, &S, ID_S, &R, ID_R, NULL);
  tlink *all[2] = {&up, &down};
  pub p;
  pub_new(&p, &P, "demo/bbb", "video");
  pump(all, 2);
  viewer v;
  viewer_new(&v, &S, "demo/bbb", "video");
  viewer_subscribe(&v);
  pump(all, 2);
  assert_int_equal(viewer_subscribe(&v), 0);

  pub_thread pt = {p.tp, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, publisher, &pt), 0);
  uint64_t seen[GROUPS] = {0};
  int got = 0;
  for (int i = 0; i < 200000 && got < GROUPS; i++) {
    moqc__mem_pump(up.pair, SIZE_MAX, 4);
    moqc__mem_pump(down.pair, SIZE_MAX, 4);
    uint64_t seqs[16], frames[16];
    int n = viewer_read(&v, seqs, frames, 16);
    for (int j = 0; j < n; j++) {
      assert_true(seqs[j] < GROUPS);
      if (!seen[seqs[j]]) {
        seen[seqs[j]] = 1;
        got++;
      }
    }
    if (n == 0) {
      struct timespec ts = {0, 50 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  pthread_join(th, NULL);
  assert_int_equal(atomic_load(&pt.done), 1);
  assert_int_equal(got, GROUPS);
  viewer_del(&v);
  link_del(&down);
  link_del(&up);
  pub_del(&p);
  node_del(&P);
  node_del(&R);
  node_del(&S);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_publisher_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
