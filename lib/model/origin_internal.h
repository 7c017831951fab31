/*
 * Private structures of the origin (include/moqc/origin.h). Everything
 * reachable from a moqc_origin is protected by its lock unless a field says
 * otherwise.
 */
#ifndef MOQC_MODEL_ORIGIN_INTERNAL_H
#define MOQC_MODEL_ORIGIN_INTERNAL_H

#include <moqc/origin.h>

#include <pthread.h>
#include <stdatomic.h>

typedef struct origin_node origin_node;
typedef struct origin_pub origin_pub;
typedef struct origin_req origin_req;

/* One publication: a broadcast at a path with its route. Refcounted with an
 * atomic. */
struct origin_pub {
  atomic_size_t refs;
  /* The origin's own untagged clone of the published consumer. */
  moqc_broadcast_consumer *bc;
  const moqc_mem *mem;
  uint64_t hops[MOQC_ORIGIN_MAX_HOPS];
  size_t nhops;
  uint64_t epoch;
  uint64_t hash;
  /* Publish guards sharing this publication (a double publish adds one). */
  size_t guards;
  /* Links a publication whose last reference was dropped under the lock. */
  origin_pub *dead_next;
};

/* A node of the path tree. The root node has the empty path and is never freed.
 */
struct origin_node {
  origin_node *parent;
  /* The absolute path, NUL-terminated; the segment is path + seg_off. */
  char *path;
  size_t len;
  size_t seg_off;
  origin_node **kids; /* sorted by segment bytes */
  size_t nkids, capkids;
  origin_pub *active;
  origin_pub **backups; /* in arrival order */
  size_t nbackups, capbackups;
  moqc_origin_announced **cursors; /* cursors registered on this prefix */
  size_t ncursors, capcursors;
  origin_req *req; /* the pending dynamic request for this path */
  size_t pins; /* cursor entries, guards and requests referring to the node */
};

struct moqc_origin {
  atomic_size_t refs;
  uint64_t id;
  const moqc_mem *mem;
  moqc_cache_pool *pool; /* budget of broadcasts made by create_broadcast */
  pthread_mutex_t lock;
  origin_node root;
  /* Dynamic handlers and the FIFO of queued requests. */
  moqc_origin_dynamic *handlers;
  origin_req *qhead, *qtail;
};

/* The view every handle carries: root, allowed absolute prefixes, usage
 * context. */
typedef struct origin_view {
  moqc_origin *o;
  char *root;
  size_t root_len;
  moqc_str *allowed; /* one allocation holding the array and the bytes */
  size_t nallowed;
  moqc_usage_ctx *ctx;
} origin_view;

struct moqc_origin_producer {
  origin_view v;
};

struct moqc_origin_consumer {
  origin_view v;
};

struct moqc_origin_publish {
  moqc_origin *o;
  origin_node *node;
  origin_pub *pub;
  moqc_usage_scope
      *ingress;   /* announced on create_broadcast through a tagged producer */
  size_t abs_len; /* the absolute path length, for announced_bytes */
};

/* Pending states of a cursor entry (the coalescing table of
 * spec/upstream-model.md 2.3). */
enum {
  ORIGIN_PEND_ANNOUNCE = 1,
  ORIGIN_PEND_UNANNOUNCE,
  ORIGIN_PEND_UNANNOUNCE_ANNOUNCE,
  ORIGIN_PEND_RESTART
};

/* Events fanned out to cursors. */
typedef enum origin_event {
  ORIGIN_EV_ANNOUNCE = 1,
  ORIGIN_EV_RESTART,
  ORIGIN_EV_UNANNOUNCE
} origin_event;

typedef struct origin_pending {
  origin_node *node;
  int state;
  origin_pub *pub; /* NULL for UNANNOUNCE */
} origin_pending;

typedef struct origin_guard {
  origin_node *node;
  moqc_usage_scope *scope;
} origin_guard;

struct moqc_origin_announced {
  moqc_origin *o;
  moqc_usage_ctx *ctx;
  char *root;
  size_t root_len;
  origin_node **regs;
  size_t nregs;
  origin_pending *pending; /* sorted by node path bytes */
  size_t npending, cappending;
  origin_guard
      *guards; /* open announced counts of a tagged cursor, sorted by path */
  size_t nguards, capguards;
  moqc_waker *waker;
  bool lost; /* an event could not be stored (out of memory while removing) */
  char *out_path; /* the last delivered relative path */
  size_t out_cap;
};

/* Request states. */
enum { ORIGIN_REQ_QUEUED = 1, ORIGIN_REQ_TAKEN, ORIGIN_REQ_DONE };

struct origin_req {
  size_t refs;       /* under the lock */
  origin_node *node; /* pinned while not done */
  int state;
  int err;
  origin_pub *result;
  origin_req *qprev, *qnext;
  moqc_origin_request *waiters;
  origin_req *dead_next;
};

struct moqc_origin_request {
  moqc_origin *o;
  origin_req *req;   /* NULL when ready was set at once */
  origin_pub *ready; /* the announced broadcast found at request time */
  moqc_usage_ctx *ctx;
  char *abs;
  size_t abs_len;
  moqc_waker *waker;
  moqc_origin_request *wprev, *wnext;
};

struct moqc_origin_dynamic {
  origin_view v;
  moqc_waker *waker;
  moqc_origin_dynamic *prev, *next;
};

struct moqc_origin_broadcast_request {
  moqc_origin *o;
  origin_req *req;
  char *rel;
  size_t rel_len;
};

/* Work deferred until the lock is released: wakers to fire, objects to free. */
typedef struct origin_defer {
  const moqc_mem *mem;
  moqc_waker **wakers;
  size_t nwakers, capwakers;
  moqc_waker *inline_wakers[16];
  origin_pub *dead_pubs;
  origin_req *dead_reqs;
  moqc_waker *drop_waker; /* a replaced registration: released without waking */
} origin_defer;

/* origin.c */
void moqc__origin_lock(moqc_origin *o);
void moqc__origin_unlock(moqc_origin *o);
void moqc__origin_defer_init(origin_defer *d, const moqc_mem *mem);
int moqc__origin_defer_reserve(origin_defer *d, size_t extra);
void moqc__origin_defer_take(origin_defer *d, moqc_waker **slot);
void moqc__origin_defer_run(origin_defer *d);
int moqc__origin_register_waker(moqc_waker **slot, moqc_waker *w,
                                origin_defer *d);
origin_node *moqc__origin_node_find(moqc_origin *o, moqc_str abs);
int moqc__origin_node_get(moqc_origin *o, moqc_str abs, origin_node **out);
void moqc__origin_node_prune(moqc_origin *o, origin_node *n);
void moqc__origin_pub_incref(origin_pub *p);
void moqc__origin_pub_decref(origin_pub *p);
void moqc__origin_pub_decref_locked(origin_pub *p, origin_defer *d);
int moqc__origin_publish(const origin_view *v, moqc_str path,
                         const moqc_broadcast_consumer *bc,
                         const moqc_origin_route *route,
                         moqc_usage_scope *ingress, moqc_origin_publish **out);
int moqc__origin_stamp(moqc_usage_ctx *ctx, moqc_str abs,
                       const moqc_broadcast_consumer *bc,
                       moqc_usage_scope **scope_out,
                       moqc_broadcast_consumer **out);

/* origin_view.c */
int moqc__origin_view_root(origin_view *v, moqc_origin *o);
int moqc__origin_view_copy(origin_view *dst, const origin_view *src);
int moqc__origin_view_scope(origin_view *dst, const origin_view *src,
                            const moqc_str *prefixes, size_t count);
int moqc__origin_view_with_root(origin_view *dst, const origin_view *src,
                                moqc_str prefix);
void moqc__origin_view_set_ctx(origin_view *v, moqc_usage_ctx *ctx);
void moqc__origin_view_free(origin_view *v);
int moqc__origin_view_resolve(const origin_view *v, moqc_str path, char **abs,
                              size_t *abs_len);
bool moqc__origin_view_allows(const origin_view *v, moqc_str abs);
moqc_str moqc__origin_strip_root(const char *root, size_t root_len,
                                 moqc_str abs);

/* origin_announce.c */
int moqc__origin_fanout_reserve(moqc_origin *o, origin_node *n,
                                origin_defer *d);
void moqc__origin_fanout(moqc_origin *o, origin_node *n, origin_event ev,
                         origin_pub *pub, origin_defer *d);

/* origin_dynamic.c */
void moqc__origin_req_resolve_locked(moqc_origin *o, origin_req *r,
                                     origin_pub *pub, int err, origin_defer *d);
size_t moqc__origin_req_waiter_count(const origin_req *r);
void moqc__origin_req_free(origin_req *r, const moqc_mem *mem);

#endif /* MOQC_MODEL_ORIGIN_INTERNAL_H */
