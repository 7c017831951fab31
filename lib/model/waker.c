/*
 * Wakers: a refcounted callback with a close that waits out a running call.
 *
 * The callback never runs under the waker's mutex: wake marks the waker
 * running, unlocks, calls, and re-runs once if another wake arrived meanwhile
 * (wakes coalesce). close marks the waker closed and waits on a condition
 * variable until no call is running, unless it is called from inside the
 * callback itself (then the running call just finishes).
 */
#include "model/model_int.h"

#include <moqc/error.h>

struct moqc_waker {
  atomic_uint refs;
  const moqc_mem *mem;
  moqc_wake_cb cb;
  void *user_data;
  pthread_mutex_t lock;
  pthread_cond_t idle;
  bool closed;
  bool running;
  bool again;
  pthread_t runner;
};

int moqc_waker_new(moqc_waker **out, moqc_wake_cb cb, void *user_data,
                   const moqc_mem *mem) {
  moqc_waker *w = moqc_mem_calloc(mem, 1, sizeof(*w));

  if (w == NULL) {
    return MOQC_ERR_NOMEM;
  }
  atomic_init(&w->refs, 1);
  w->mem = mem;
  w->cb = cb;
  w->user_data = user_data;
  if (pthread_mutex_init(&w->lock, NULL) != 0) {
    moqc_mem_free(mem, w);
    return MOQC_ERR_NOMEM;
  }
  if (pthread_cond_init(&w->idle, NULL) != 0) {
    pthread_mutex_destroy(&w->lock);
    moqc_mem_free(mem, w);
    return MOQC_ERR_NOMEM;
  }
  *out = w;
  return 0;
}

void moqc_waker_wake(moqc_waker *w) {
  pthread_mutex_lock(&w->lock);
  if (w->closed || w->cb == NULL) {
    pthread_mutex_unlock(&w->lock);
    return;
  }
  if (w->running) {
    w->again = true;
    pthread_mutex_unlock(&w->lock);
    return;
  }
  w->running = true;
  w->runner = pthread_self();
  do {
    w->again = false;
    pthread_mutex_unlock(&w->lock);
    w->cb(w->user_data);
    pthread_mutex_lock(&w->lock);
  } while (w->again && !w->closed);
  w->running = false;
  pthread_cond_broadcast(&w->idle);
  pthread_mutex_unlock(&w->lock);
}

void moqc_waker_close(moqc_waker *w) {
  if (w == NULL) {
    return;
  }
  pthread_mutex_lock(&w->lock);
  w->closed = true;
  while (w->running && !pthread_equal(w->runner, pthread_self())) {
    pthread_cond_wait(&w->idle, &w->lock);
  }
  pthread_mutex_unlock(&w->lock);
  moqc_waker_decref(w);
}

void moqc_waker_incref(moqc_waker *w) {
  atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
}

void moqc_waker_decref(moqc_waker *w) {
  if (w == NULL) {
    return;
  }
  if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1) {
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->lock);
    moqc_mem_free(w->mem, w);
  }
}
