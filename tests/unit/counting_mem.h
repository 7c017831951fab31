/*
 * A counting allocator for memory tests: every allocation carries a size
 * header, so the live allocations and bytes of whatever was given it as
 * moqc_mem (user data: a `counting`) are known at any time.
 */
#ifndef MOQC_TESTS_COUNTING_MEM_H
#define MOQC_TESTS_COUNTING_MEM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct counting {
  long live;
  long bytes; /* live bytes, from a size header */
  long total; /* allocations ever made */
} counting;

typedef union cnt_hdr {
  size_t size;
  max_align_t align;
} cnt_hdr;

static inline void *cnt_malloc(size_t n, void *ud) {
  counting *c = ud;
  cnt_hdr *h = malloc(sizeof(*h) + n);
  if (h == NULL) {
    return NULL;
  }
  h->size = n;
  c->live++;
  c->total++;
  c->bytes += (long)n;
  return h + 1;
}

static inline void cnt_free(void *p, void *ud) {
  counting *c = ud;
  if (p == NULL) {
    return;
  }
  cnt_hdr *h = (cnt_hdr *)p - 1;
  c->live--;
  c->bytes -= (long)h->size;
  free(h);
}

static inline void *cnt_calloc(size_t n, size_t size, void *ud) {
  void *p = cnt_malloc(n * size, ud);
  if (p != NULL) {
    memset(p, 0, n * size);
  }
  return p;
}

static inline void *cnt_realloc(void *p, size_t n, void *ud) {
  counting *c = ud;
  if (p == NULL) {
    return cnt_malloc(n, ud);
  }
  cnt_hdr *h = (cnt_hdr *)p - 1;
  size_t old = h->size;
  cnt_hdr *nh = realloc(h, sizeof(*nh) + n);
  if (nh == NULL) {
    return NULL;
  }
  nh->size = n;
  c->bytes += (long)n - (long)old;
  return nh + 1;
}

#endif /* MOQC_TESTS_COUNTING_MEM_H */
