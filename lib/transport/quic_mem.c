/*
 * A per-connection allocator for ngtcp2 that remembers every live allocation.
 *
 * ngtcp2 before 1.6 (Debian's 0.12 included; upstream issue #1244) can hand a
 * malloc'd stream frame back to its per-connection object pool when a frame
 * that was merged for retransmission shrinks again. The pool never frees it, so
 * each such frame would leak when the connection is deleted. Every allocation
 * made for a connection is therefore linked into a list; what is still on the
 * list after ngtcp2_conn_del is released by moqc__conn_mem_free. The cost is a
 * small header per allocation and no extra work on the hot path beyond
 * linking.
 */
#include "transport/quic_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

/* The header in front of each allocation, sized to keep max_align_t
 * alignment. */
typedef union conn_mem_hdr {
  struct {
    union conn_mem_hdr *prev, *next;
    size_t size;    /* what the caller asked for */
    uint32_t seq;   /* the allocation's order, for memory tests */
    uint8_t phase;  /* MOQC__MEM_PHASE_* when it was made */
  } l;
  max_align_t align;
} conn_mem_hdr;

static void conn_mem_link(moqc__conn_mem *m, conn_mem_hdr *h) {
  conn_mem_hdr *head = m->head;
  h->l.prev = NULL;
  h->l.next = head;
  h->l.seq = m->seq++;
  h->l.phase = m->phase;
  if (head != NULL) {
    head->l.prev = h;
  }
  m->head = h;
  m->live++;
  m->live_bytes += h->l.size;
  if (m->live_bytes > m->peak_bytes) {
    m->peak_bytes = m->live_bytes;
  }
}

static void conn_mem_unlink(moqc__conn_mem *m, conn_mem_hdr *h) {
  if (h->l.prev != NULL) {
    h->l.prev->l.next = h->l.next;
  } else {
    m->head = h->l.next;
  }
  if (h->l.next != NULL) {
    h->l.next->l.prev = h->l.prev;
  }
  m->live--;
  m->live_bytes -= h->l.size;
}

/*
 * ngtcp2 0.12 takes its object pools (ngtcp2_objalloc / ngtcp2_balloc: one per
 * ksl, gaptr and frame, entry and stream kind) in blocks of 4-12 KiB and bump-
 * allocates from each block's start; an idle connection uses only the first
 * few hundred bytes of most of them (test_quic_idle_mem lists them). A block
 * malloc carves out of memory that was used before (the GnuTLS session freed
 * after the handshake, earlier connections) is resident from the start, every
 * page of it. The whole pages inside a fresh block hold nothing anyone may
 * read (malloc'd memory is indeterminate and the allocator keeps no data
 * inside a live block), so they are handed back to the kernel: they cost RSS
 * again only once ngtcp2 writes into them. Linux MADV_DONTNEED; one madvise
 * per block that holds a whole page, none on the hot path (blocks are taken
 * while a connection grows, not per packet once its pools are warm). Idle
 * raw-QUIC session in the relay: 71.3 -> 62.3 KiB RSS (docs/PERFORMANCE.md).
 */
/* The most blocks a connection drops pages of: the pools and trackers an idle
 * connection keeps are all taken while it is set up (test_quic_idle_mem
 * counts its calls). A busy connection's later blocks (a ksl block per
 * stream's acknowledged ranges, 8 KiB, gone with the stream) would pay a
 * system call and page faults for memory that is short-lived. */
#define MOQC__CONN_MEM_MAX_DROPS 16U

static void conn_mem_drop_pages(moqc__conn_mem *m, void *p, size_t n) {
#if defined(__linux__) && defined(MADV_DONTNEED)
  size_t page = m->page;
  if (page == 0 || n <= page || m->drops >= MOQC__CONN_MEM_MAX_DROPS) {
    return;
  }
  uintptr_t b = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
  uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
  if (e > b) {
    m->drops++;
    (void)madvise((void *)b, (size_t)(e - b), MADV_DONTNEED);
  }
#else
  (void)m;
  (void)p;
  (void)n;
#endif
}

static void *conn_mem_malloc(size_t size, void *ud) {
  moqc__conn_mem *m = ud;
  if (size > SIZE_MAX - sizeof(conn_mem_hdr)) {
    return NULL;
  }
  conn_mem_hdr *h = moqc_mem_malloc(m->base, sizeof(*h) + size);
  if (h == NULL) {
    return NULL;
  }
  h->l.size = size;
  conn_mem_link(m, h);
  conn_mem_drop_pages(m, h + 1, size);
  return h + 1;
}

static void conn_mem_free(void *ptr, void *ud) {
  moqc__conn_mem *m = ud;
  if (ptr == NULL) {
    return;
  }
  conn_mem_hdr *h = (conn_mem_hdr *)ptr - 1;
  conn_mem_unlink(m, h);
  moqc_mem_free(m->base, h);
}

/* Zeroed by the base allocator's calloc, not by a memset here: calloc knows
 * when the memory is fresh from the kernel and already zero, so pages ngtcp2
 * never writes need not become resident. (Dropping the inner pages of the
 * 8 KiB connection object as conn_mem_drop_pages does, zeroing only the
 * partial end pages, was tried: the relay's idle RSS did not move.) */
static void *conn_mem_calloc(size_t nmemb, size_t size, void *ud) {
  moqc__conn_mem *m = ud;
  if (size != 0 && nmemb > SIZE_MAX / size) {
    return NULL;
  }
  size_t n = nmemb * size;
  if (n > SIZE_MAX - sizeof(conn_mem_hdr)) {
    return NULL;
  }
  conn_mem_hdr *h = moqc_mem_calloc(m->base, 1, sizeof(*h) + n);
  if (h == NULL) {
    return NULL;
  }
  h->l.size = n;
  conn_mem_link(m, h);
  return h + 1;
}

static void *conn_mem_realloc(void *ptr, size_t size, void *ud) {
  moqc__conn_mem *m = ud;
  if (ptr == NULL) {
    return conn_mem_malloc(size, ud);
  }
  if (size == 0) {
    conn_mem_free(ptr, ud);
    return NULL;
  }
  if (size > SIZE_MAX - sizeof(conn_mem_hdr)) {
    return NULL;
  }
  conn_mem_hdr *h = (conn_mem_hdr *)ptr - 1;
  conn_mem_unlink(m, h);
  conn_mem_hdr *n = moqc_mem_realloc(m->base, h, sizeof(*n) + size);
  if (n == NULL) {
    conn_mem_link(m, h); /* The old block is still valid and still ours. */
    return NULL;
  }
  n->l.size = size;
  conn_mem_link(m, n);
  return n + 1;
}

void moqc__conn_mem_init(moqc__conn_mem *m, const moqc_mem *base) {
  memset(m, 0, sizeof(*m));
  m->base = base;
  m->ng.user_data = m;
  m->ng.malloc = conn_mem_malloc;
  m->ng.free = conn_mem_free;
  m->ng.calloc = conn_mem_calloc;
  m->ng.realloc = conn_mem_realloc;
#if defined(__linux__)
  long page = sysconf(_SC_PAGESIZE);
  m->page = page > 0 ? (size_t)page : 0;
#endif
}

size_t moqc__conn_mem_free(moqc__conn_mem *m) {
  size_t n = 0;
  conn_mem_hdr *h = m->head;
  while (h != NULL) {
    conn_mem_hdr *next = h->l.next;
    moqc_mem_free(m->base, h);
    h = next;
    n++;
  }
  m->head = NULL;
  m->live = 0;
  m->live_bytes = 0;
  return n;
}

void moqc__quic_conn_mem_stats(const moqc_quic_conn *conn,
                               moqc__quic_mem_stats *st) {
  st->ngtcp2_allocs = conn->ngmem.live;
  st->ngtcp2_bytes = conn->ngmem.live_bytes;
  st->ngtcp2_peak_bytes = conn->ngmem.peak_bytes;
  st->has_tls = conn->tls != NULL;
  st->page_drops = conn->ngmem.drops;
  st->keys_waiting = conn->keys_waiting;
  st->keys_built = conn->keys_built;
}

size_t moqc__quic_conn_mem_blocks(const moqc_quic_conn *conn,
                                  moqc__quic_mem_block *out, size_t cap) {
  size_t n = conn->ngmem.live;
  size_t i = n;
  /* The list is newest first: fill out from the back. */
  for (const conn_mem_hdr *h = conn->ngmem.head; h != NULL; h = h->l.next) {
    i--;
    if (i < cap) {
      out[i].ptr = h + 1;
      out[i].size = h->l.size;
      out[i].seq = h->l.seq;
      out[i].phase = h->l.phase;
    }
  }
  return n;
}
