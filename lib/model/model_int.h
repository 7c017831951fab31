/*
 * Private state of the pub/sub model (include/moqc/model.h).
 *
 * Locking: one mutex per broadcast (moqc__core) protects the broadcast and
 * every track, group and frame state created under it. Handles hold an atomic
 * reference to the core plus a reference (a plain counter, changed under the
 * lock) to the state they point at. Wakers to fire are collected under the lock
 * into a moqc__wake batch and fired after unlocking, so no user callback ever
 * runs while a model lock is held.
 */
#ifndef MOQC_MODEL_INT_H
#define MOQC_MODEL_INT_H

#include <moqc/model.h>

#include <pthread.h>
#include <stdatomic.h>

/* ---- Waiter lists ------------------------------------------------------- */

/* One registration: a waker reference and the handle that registered it. */
typedef struct moqc__wnode {
  struct moqc__wnode *next;
  moqc_waker *waker;
  const void *owner;
} moqc__wnode;

/* The waiters of one state. gen counts drains, so a handle can tell it is still
 * registered. */
typedef struct moqc__wlist {
  moqc__wnode *head;
  uint64_t gen;
} moqc__wlist;

/* Where a handle last registered a waker (to skip duplicates and to unregister
 * on delete). */
typedef struct moqc__wreg {
  moqc__wlist *list;
  uint64_t gen;
  moqc_waker *waker;
} moqc__wreg;

/* Wakers drained under a lock, fired after unlocking. */
typedef struct moqc__wake {
  moqc__wnode *head;
} moqc__wake;

/*
 * Registers w on list for owner unless already registered (reg tracks that).
 * Call under the lock. w may be NULL (nothing is registered). Returns 0 or
 * MOQC_ERR_NOMEM.
 */
int moqc__wlist_add(moqc__wlist *list, moqc__wreg *reg, const void *owner,
                    moqc_waker *w, const moqc_mem *mem);
/* Moves every registration of list into batch (no allocation). Call under the
 * lock. */
void moqc__wlist_drain(moqc__wlist *list, moqc__wake *batch);
/* Removes owner's registrations recorded in reg, unfired. Under the lock. */
void moqc__wlist_remove(moqc__wreg *reg, const void *owner,
                        const moqc_mem *mem);
/* Drops every registration of list unfired (the state is being freed). */
void moqc__wlist_clear(moqc__wlist *list, const moqc_mem *mem);
/* Fires every waker of batch, drops their references and frees the nodes. Call
 * unlocked. */
void moqc__wake_fire(moqc__wake *batch, const moqc_mem *mem);
/* Drops the references of batch without firing and frees the nodes. */
void moqc__wake_discard(moqc__wake *batch, const moqc_mem *mem);

/* ---- Cache pool --------------------------------------------------------- */

/* Bytes charged per cached group on top of its frame bytes. */
#define MOQC__GROUP_OVERHEAD 256

/* ---- States ------------------------------------------------------------- */

typedef struct moqc__core moqc__core;
typedef struct moqc__track moqc__track;
typedef struct moqc__group moqc__group;
typedef struct moqc__frame moqc__frame;
typedef struct moqc__psub moqc__psub;

struct moqc__frame {
  moqc__group *group; /* the group caching it, NULL once evicted or cleared */
  size_t refs;
  moqc_rcbuf *buf;
  uint64_t size;
  uint64_t written;
  uint64_t timestamp;
  bool finished;
  int err;
  moqc__wlist wait;
};

struct moqc__group {
  moqc__core *core;
  moqc__track *track; /* NULL once the track dropped the group (evicted,
                         cleared, freed) */
  size_t refs;
  size_t producers;
  uint64_t sequence;
  moqc__frame **frames; /* cached frames; frames[0] has index `offset` */
  size_t nframes;
  size_t cap;
  uint64_t offset; /* frames evicted from the front */
  uint64_t cached_bytes;
  uint64_t charged; /* bytes charged to the pool */
  bool finished;
  int err;
  moqc_tstamp inserted;
  moqc__wlist wait;
};

/* A queued fetch of one sequence, shared by every consumer fetching it. */
typedef struct moqc__fetch {
  struct moqc__fetch *next;
  uint64_t sequence;
  size_t refs; /* consumers waiting on it */
  bool popped; /* handed to a dynamic handler */
  int err;     /* rejection */
} moqc__fetch;

typedef struct moqc__datagram {
  uint64_t sequence;
  uint64_t timestamp;
  moqc_rcbuf *payload;
  moqc_tstamp at;
} moqc__datagram;

/* The preference of one subscriber (pending or resolved), linked into its
 * track. */
struct moqc__psub {
  moqc__psub *prev, *next;
  moqc_subscription sub;
};

struct moqc__track {
  moqc__core *core;
  moqc__track *lprev, *lnext; /* broadcast lookup */
  moqc__track *qnext;         /* broadcast request queue */
  bool in_lookup;
  bool queued;      /* waiting in the request queue for a dynamic handler */
  size_t refs;      /* every handle and the queue */
  size_t producers; /* producer handles, request handles, the queue */
  size_t consumers; /* track consumers and subscribers */
  size_t dynamics;  /* live fetch handlers (moqc_track_dynamic) */
  char *name;
  bool has_info;
  moqc_track_info info;
  bool token;  /* holds an ingress publisher token */
  bool closed; /* every producer gone */
  int err;     /* abort or rejection error */
  bool finished;
  uint64_t final_seq;
  bool has_max;
  uint64_t max_seq;
  moqc__group **groups; /* cached groups in arrival order; NULL = tombstone */
  size_t ngroups, gcap;
  uint64_t arrival_base; /* arrival index of groups[0] */
  moqc__psub *subs;      /* every live subscription preference */
  bool agg_has;
  moqc_subscription agg;
  moqc__fetch *fetches;
  moqc__datagram *dgrams; /* ring */
  size_t dhead, dcount, dcap;
  uint64_t dbase;    /* datagram index of the oldest buffered */
  moqc__wlist wait;  /* consumer side */
  moqc__wlist pwait; /* producer side: subscription aggregate changes */
  moqc__wlist uwait; /* producer side: used / unused changes */
  moqc__wlist fwait; /* fetch handlers: new fetch requests */
  moqc__wlist rwait; /* subscriber read_frame: first frames of cached groups */
};

struct moqc__core {
  atomic_uint refs;
  pthread_mutex_t lock;
  const moqc_mem *mem;
  moqc_usage_scope *ingress;
  moqc_usage *isink;
  moqc_cache_pool *pool;
  size_t producers;
  size_t dynamics;
  bool closed;
  int close_err;     /* MOQC_END after finish, else an error */
  size_t publishers; /* ingress tokens */
  moqc__track *lookup;
  moqc__track *qhead, *qtail;
  moqc__wlist wait; /* closed(), requested_track() */
};

/* ---- Core --------------------------------------------------------------- */

void moqc__core_incref(moqc__core *c);
void moqc__core_decref(moqc__core *c);
static inline void moqc__lock(moqc__core *c) {
  pthread_mutex_lock(&c->lock);
}
static inline void moqc__unlock(moqc__core *c) {
  pthread_mutex_unlock(&c->lock);
}
/* Unlocks, fires batch, discards dead. */
void moqc__unlock_fire(moqc__core *c, moqc__wake *batch);

/* Takes / releases an ingress publisher token. Under the lock. */
void moqc__publisher_take(moqc__core *c);
void moqc__publisher_release(moqc__core *c);

/* Scope helpers: a reference and the cached sink. */
static inline moqc_usage *moqc__scope_sink(moqc_usage_scope *s) {
  return s ? s->sink : NULL;
}

/* ---- Frame -------------------------------------------------------------- */

/* A new frame state (refs 1). buf is adopted when given, else a buffer of size
 * is allocated. */
int moqc__frame_new(moqc__core *c, uint64_t size, uint64_t ts, moqc_rcbuf *buf,
                    moqc__frame **out);
void moqc__frame_unref(moqc__core *c, moqc__frame *f);
void moqc__frame_abort(moqc__frame *f, int err, moqc__wake *batch);
/* Makes a frame consumer handle over f (takes a state ref). Under the lock. */
int moqc__frame_consumer_make(moqc__core *c, moqc__frame *f,
                              moqc_usage_scope *scope,
                              moqc_frame_consumer **out);

/* ---- Group -------------------------------------------------------------- */

int moqc__group_new(moqc__core *c, moqc__track *t, uint64_t seq,
                    moqc_tstamp now, moqc__group **out);
void moqc__group_unref(moqc__core *c, moqc__group *g);
/* Aborts g (if not already ended) with err, clearing its frames. */
void moqc__group_abort(moqc__core *c, moqc__group *g, int err,
                       moqc__wake *batch);
/* Appends frame f (the group's ref moves into the cache). */
int moqc__group_append(moqc__core *c, moqc__group *g, moqc__frame *f,
                       moqc__wake *batch);
int moqc__group_producer_make(moqc__core *c, moqc__group *g,
                              moqc_group_producer **out);
int moqc__group_consumer_make(moqc__core *c, moqc__group *g,
                              moqc_usage_scope *scope,
                              moqc_group_consumer **out);

/* ---- Track -------------------------------------------------------------- */

int moqc__track_new(moqc__core *c, const char *name, moqc__track **out);
void moqc__track_unref(moqc__core *c, moqc__track *t);
/* Sets the info (accept / create). */
void moqc__track_set_info(moqc__track *t, const moqc_track_info *info,
                          moqc__wake *batch);
/* Ends the track with err (rejection or abort), clearing its cache. */
void moqc__track_fail(moqc__core *c, moqc__track *t, int err,
                      moqc__wake *batch);
/* Drops one producer; the last one closes the track. */
void moqc__track_producer_drop(moqc__core *c, moqc__track *t,
                               moqc__wake *batch);
int moqc__track_producer_make(moqc__core *c, moqc__track *t,
                              moqc_track_producer **out);
int moqc__track_consumer_make(moqc__core *c, moqc__track *t,
                              moqc_usage_scope *scope,
                              moqc_track_consumer **out, moqc__wake *batch);
/* Consumer count bookkeeping (used / unused notification). */
void moqc__track_consumers_add(moqc__track *t, moqc__wake *batch);
void moqc__track_consumers_sub(moqc__track *t, moqc__wake *batch);
int moqc__track_request_make(moqc__core *c, moqc__track *t,
                             moqc_track_request **out);
/* Inserts a new group into the cache (retention and pool run here). */
int moqc__track_insert_group(moqc__core *c, moqc__track *t, uint64_t seq,
                             moqc_tstamp now, moqc__group **out,
                             moqc__wake *batch);
/* Recomputes the subscription aggregate and wakes the producer side on change.
 */
void moqc__track_agg_update(moqc__track *t, moqc__wake *batch);
/* Pool bookkeeping: charge or release bytes of a group. */
void moqc__pool_charge(moqc__core *c, moqc__group *g, uint64_t bytes);
void moqc__pool_release(moqc__core *c, moqc__group *g);

/* Wakes read_frame waiters of the track caching g (if any). Under the lock. */
void moqc__group_notify_track(moqc__group *g, moqc__wake *batch);

/* Frees the cached groups (aborting them with err) and datagrams of t. */
void moqc__track_clear_cache(moqc__core *c, moqc__track *t, int err,
                             moqc__wake *batch);

/* ---- Handles ------------------------------------------------------------ */

struct moqc_frame_producer {
  moqc__core *core;
  moqc__frame *frame;
  moqc_usage *isink; /* the broadcast's ingress sink, cached for per-chunk bumps */
};

struct moqc_frame_consumer {
  moqc__core *core;
  moqc__frame *frame;
  moqc_usage_scope *scope;
  moqc_usage *esink;
  uint64_t cursor;
  moqc__wreg reg;
};

struct moqc_group_producer {
  moqc__core *core;
  moqc__group *group;
};

struct moqc_group_consumer {
  moqc__core *core;
  moqc__group *group;
  moqc_usage_scope *scope;
  moqc_usage *esink;
  uint64_t cursor;
  moqc__frame
      *wframe; /* the frame whose list read_frame waits on (a reference) */
  moqc__wreg reg;
};

struct moqc_track_producer {
  moqc__core *core;
  moqc__track *track;
  moqc__wreg reg;  /* subscription() */
  moqc__wreg ureg; /* used() */
};

struct moqc_track_request {
  moqc__core *core;
  moqc__track *track;
};

struct moqc_track_dynamic {
  moqc__core *core;
  moqc__track *track;
  moqc__wreg reg;
};

struct moqc_track_subscriber {
  moqc__core *core;
  moqc__track *track;
  moqc_usage_scope *scope;
  moqc_usage *esink;
  moqc__psub psub;
  bool resolved;
  bool seq_done;     /* next_group returned UINT64_MAX */
  uint64_t start;    /* effective start */
  uint64_t next_min; /* next_group cursor */
  uint64_t arrival;  /* recv_group cursor (arrival index) */
  uint64_t dgram;    /* recv_datagram cursor */
  moqc__wreg reg;
};

struct moqc_track_consumer {
  moqc__core *core;
  moqc__track *track;
  moqc_usage_scope *scope;
  moqc_usage *esink;
  moqc_track_subscriber *pending;
  bool fetching;
  uint64_t fetch_seq;
  moqc__fetch *fetch;
  moqc__wreg reg;
};

/* Subscriber internals (subscriber.c). */
int moqc__subscriber_new(moqc__core *c, moqc__track *t, moqc_usage_scope *scope,
                         const moqc_subscription *sub,
                         moqc_track_subscriber **out, moqc__wake *batch);
/* Resolves a pending subscriber (the track's info is known). Under the lock. */
void moqc__subscriber_resolve(moqc_track_subscriber *s);
/* Detaches a subscriber from its track (under the lock), then frees it
 * (unlocked). */
void moqc__subscriber_detach(moqc_track_subscriber *s, moqc__wake *batch);
void moqc__subscriber_free(moqc_track_subscriber *s);
/* Drops the consumer's pending fetch. Under the lock. */
void moqc__fetch_release(moqc__core *c, moqc_track_consumer *tc);

/* ---- Broadcast ---------------------------------------------------------- */

/* Removes t from the lookup and the request queue. Under the lock. */
void moqc__broadcast_unlink(moqc__core *c, moqc__track *t);

#endif /* MOQC_MODEL_INT_H */
