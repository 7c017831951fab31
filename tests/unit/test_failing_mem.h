/*
 * A moqc_mem allocator for out-of-memory tests that fails one chosen
 * allocation: fail_at(n) makes the n-th allocation from now return NULL (0 =
 * never). Every later allocation succeeds again. While fail_state.paused is
 * set, allocations neither count nor fail. One allocator per test program
 * (its state is file-static); not thread-safe.
 */
#ifndef MOQC_TEST_FAILING_MEM_H
#define MOQC_TEST_FAILING_MEM_H

#include "testutil.h"

#include <moqc/mem.h>

#include <stdbool.h>

typedef struct failing {
  long countdown; /* allocations left until the failing one; 0 = never */
  long calls;     /* allocations counted since fail_at */
  bool paused;
} failing;

/* Counts an allocation; returns false when this one must fail. */
static inline bool failing_take(failing *f) {
  if (f->paused) {
    return true;
  }
  f->calls++;
  if (f->countdown > 0 && --f->countdown == 0) {
    return false;
  }
  return true;
}

static inline void *f_malloc(size_t n, void *ud) {
  return failing_take(ud) ? malloc(n) : NULL;
}
static inline void f_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static inline void *f_calloc(size_t a, size_t b, void *ud) {
  return failing_take(ud) ? calloc(a, b) : NULL;
}
static inline void *f_realloc(void *p, size_t n, void *ud) {
  return failing_take(ud) ? realloc(p, n) : NULL;
}

static failing fail_state;
static const moqc_mem fail_mem = {&fail_state, f_malloc, f_free, f_calloc,
                                  f_realloc};

/* Makes the n-th allocation from now fail (0 = none) and restarts counting. */
static inline void fail_at(long n) {
  fail_state.countdown = n;
  fail_state.calls = 0;
  fail_state.paused = false;
}

#endif /* MOQC_TEST_FAILING_MEM_H */
