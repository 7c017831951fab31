/*
 * moqc: the origin, a tree of broadcasts keyed by path
 * (spec/upstream-model.md 2.1-2.4).
 *
 * An origin holds every broadcast published into one node. Producer handles
 * publish into it, consumer handles learn what is announced
 * (moqc_origin_announced cursors), consume announced broadcasts by path, or ask
 * a dynamic handler for broadcasts that are not announced.
 *
 * Handles carry a view of the origin:
 * - a root: every path given to a handle is relative to its root (joined on
 * input) and every path it reports is relative to it (stripped on output);
 * - the allowed prefixes (absolute): publishing, consuming, requesting and
 * announcing are limited to paths under one of them (used to apply auth
 * grants);
 * - an optional usage context (moqc_usage_ctx, usage.h): a tagged handle, and
 * every handle derived from it, meters into it. A tagged consumer stamps the
 * egress scope of the absolute path on every broadcast consumer it hands out
 * (announce delivery, consume by path, dynamic request) and counts
 * announced/announced_closed per announce cursor; a tagged producer bakes the
 * ingress scope into broadcasts made by moqc_origin_producer_create_broadcast
 * and counts announced while they are published. Untagged handles meter
 * nothing.
 *
 * Paths are normalized on input ("/a//b/" is "a/b") and have at most
 * MOQC_PATH_MAX_PARTS segments once joined to the root
 * (MOQC_ERR_BOUNDS_EXCEEDED).
 *
 * Duplicate publishers of one path: the active one is the lowest key (hop
 * count, then newest epoch, then FNV-1a-64 hash of the absolute path and the
 * hop ids); on equal keys the earlier stays. The others wait as backups; when
 * the active one leaves, the best backup (earliest on equal keys) is promoted
 * and cursors see the path end and then become active again. The last one gone
 * ends the path. Publishing a broadcast that shares its state with one already
 * published at the path (moqc_broadcast_consumer_is_clone) adds a guard to the
 * existing publication.
 *
 * Threads: the origin and the state behind every handle are thread-safe; each
 * handle is used by one thread at a time. Nothing blocks: calls that must wait
 * return MOQC_ERR_PENDING and register the given waker (model.h), which fires
 * once, possibly on another thread. No origin call invokes a waker, usage
 * context or scope operation while holding the origin's lock, and every origin
 * call may be made from inside a waker callback. The allocator (moqc_mem) may
 * be called with the lock held. Deleting a handle never blocks on other
 * threads.
 *
 * Since 0.1.0.
 */
#ifndef MOQC_ORIGIN_H
#define MOQC_ORIGIN_H

#include <moqc/model.h>
#include <moqc/usage.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The most ids a hop list may hold (MOQC_ERR_TOO_MANY_ORIGINS beyond). */
#define MOQC_ORIGIN_MAX_HOPS 32

/**
 * Origin ids drawn at random lie in [1, MOQC_ORIGIN_ID_LIMIT), for JavaScript
 * integer safety.
 */
#define MOQC_ORIGIN_ID_LIMIT ((uint64_t)1 << 53)

/** The current version of moqc_origin_settings, passed by moqc_origin_new. */
#define MOQC_ORIGIN_SETTINGS_V1 1
#define MOQC_ORIGIN_SETTINGS_VERSION MOQC_ORIGIN_SETTINGS_V1

/** Settings of an origin, copied at creation. */
typedef struct moqc_origin_settings {
  /** This origin's id; 0 (default) draws one from random. */
  uint64_t id;
  /**
   * A random value supplied by the caller, used only when id is 0: the id
   * becomes 1 + random % (MOQC_ORIGIN_ID_LIMIT - 1). The model reads no clock
   * and no global RNG.
   */
  uint64_t random;
  /**
   * The allocator of the origin and every handle derived from it (NULL =
   * default).
   */
  const moqc_mem *mem;
  /**
   * The byte budget charged with the groups cached by every broadcast created
   * through moqc_origin_producer_create_broadcast (NULL = unbounded; the origin
   * takes its own reference). Over budget, writers evict their own oldest
   * groups (MOQC_ERR_EVICTED).
   */
  moqc_cache_pool *cache_pool;
} moqc_origin_settings;

/** Fills s with the defaults: id 0, random 0 (so id 1), default allocator, no
 * cache budget. */
MOQC_EXTERN void moqc_origin_settings_default(moqc_origin_settings *s);

/** The route of a publication: where it came from. */
typedef struct moqc_origin_route {
  /**
   * Origin ids the broadcast passed through, oldest first (may be NULL when
   * count is 0).
   */
  const uint64_t *hops;
  /** Number of ids in hops, at most MOQC_ORIGIN_MAX_HOPS. */
  size_t count;
  /**
   * The publisher's epoch (for instance milliseconds since 2020-01-01 from the
   * wire); among equal hop counts the larger (newer) epoch wins. 0 = unknown.
   */
  uint64_t epoch;
} moqc_origin_route;

typedef struct moqc_origin moqc_origin;
typedef struct moqc_origin_producer moqc_origin_producer;
typedef struct moqc_origin_consumer moqc_origin_consumer;
typedef struct moqc_origin_publish moqc_origin_publish;
typedef struct moqc_origin_announced moqc_origin_announced;
typedef struct moqc_origin_dynamic moqc_origin_dynamic;
typedef struct moqc_origin_request moqc_origin_request;
typedef struct moqc_origin_broadcast_request moqc_origin_broadcast_request;

/* ---- Origin -------------------------------------------------------------- */

/**
 * Creates an origin (one reference owned by the caller) from settings (NULL =
 * defaults; copied). Use the moqc_origin_new macro. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT for an unknown settings version, or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_new_versioned(moqc_origin **out,
                                          int settings_version,
                                          const moqc_origin_settings *settings);
#define moqc_origin_new(out, settings)                                         \
  moqc_origin_new_versioned((out), MOQC_ORIGIN_SETTINGS_VERSION, (settings))

/** Returns the origin's id (non-zero). Thread-safe. */
MOQC_EXTERN uint64_t moqc_origin_id(const moqc_origin *o);
/** Adds a reference. Thread-safe. */
MOQC_EXTERN void moqc_origin_incref(moqc_origin *o);
/**
 * Drops a reference. Handles hold their own reference, so the origin lives
 * until the last handle and reference are gone. o may be NULL. Thread-safe.
 */
MOQC_EXTERN void moqc_origin_decref(moqc_origin *o);

/**
 * Makes a producer handle with the empty root, every path allowed, untagged
 * (*out owned by the caller). Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_new(moqc_origin *o,
                                         moqc_origin_producer **out);
/**
 * Makes a consumer handle like moqc_origin_producer_new. Returns 0 or
 * MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_consumer_new(moqc_origin *o,
                                         moqc_origin_consumer **out);

/* ---- Producer handles ---------------------------------------------------- */

/**
 * Publishes bc at path (relative to the handle's root). The origin keeps its
 * own clone of bc; the caller keeps bc. route may be NULL (no hops, epoch 0);
 * its hops are copied. *out is the guard (owned by the caller): deleting it
 * removes this publication, whatever the broadcast's own state. Errors:
 * MOQC_ERR_UNAUTHORIZED (path outside the allowed prefixes),
 * MOQC_ERR_BOUNDS_EXCEEDED (more than MOQC_PATH_MAX_PARTS segments),
 * MOQC_ERR_TOO_MANY_ORIGINS (more than MOQC_ORIGIN_MAX_HOPS hops),
 * MOQC_ERR_LOOP (the hops contain this origin's id: refused), MOQC_ERR_NOMEM.
 * On error nothing is published.
 */
MOQC_EXTERN int moqc_origin_producer_publish(moqc_origin_producer *p,
                                             moqc_str path,
                                             const moqc_broadcast_consumer *bc,
                                             const moqc_origin_route *route,
                                             moqc_origin_publish **out);
/**
 * Creates a broadcast and publishes it at path: *bp is the new producer and
 * *guard the publish guard (both owned by the caller). When the handle is
 * tagged, the broadcast's ingress scope is moqc_usage_ctx_scope(ctx,
 * MOQC_DIRECTION_INGRESS, absolute path), and that scope counts announced +1
 * now (the broadcast is live in the origin, active or waiting as a backup) and
 * announced_closed +1 when the guard is deleted. Deleting the guard does not
 * end the broadcast, and ending the broadcast does not remove the publication:
 * delete both. Errors as moqc_origin_producer_publish; on error nothing is
 * created.
 */
MOQC_EXTERN int moqc_origin_producer_create_broadcast(
    moqc_origin_producer *p, moqc_str path, const moqc_origin_route *route,
    moqc_broadcast_producer **bp, moqc_origin_publish **guard);
/**
 * As moqc_origin_producer_create_broadcast, with a dynamic track handler
 * (moqc_broadcast_producer_dynamic; *dyn, owned by the caller) registered
 * before the broadcast is published. A consumer that finds the broadcast
 * through the origin, on any thread and even from inside a waker fired by
 * this very publication, finds it with the handler: a request for an unknown
 * track queues instead of failing MOQC_ERR_NOT_FOUND. (Calling
 * moqc_broadcast_producer_dynamic after moqc_origin_producer_create_broadcast
 * leaves a window in which such a request fails.) Errors as
 * moqc_origin_producer_publish; on error nothing is created.
 */
MOQC_EXTERN int moqc_origin_producer_create_dynamic_broadcast(
    moqc_origin_producer *p, moqc_str path, const moqc_origin_route *route,
    moqc_broadcast_producer **bp, moqc_broadcast_dynamic **dyn,
    moqc_origin_publish **guard);
/**
 * Narrows the handle to prefixes (relative to its root, normalized here): the
 * new handle allows the intersection with the current allowed prefixes. Returns
 * 0, MOQC_ERR_UNAUTHORIZED when the intersection is empty (no handle made),
 * MOQC_ERR_BOUNDS_EXCEEDED, MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_scope(const moqc_origin_producer *p,
                                           const moqc_str *prefixes,
                                           size_t count,
                                           moqc_origin_producer **out);
/**
 * Makes a handle whose root is the current root joined with prefix, allowing
 * the intersection of the current allowed prefixes with the new root. Returns
 * 0, MOQC_ERR_UNAUTHORIZED when nothing under the new root is allowed,
 * MOQC_ERR_BOUNDS_EXCEEDED, MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_with_root(const moqc_origin_producer *p,
                                               moqc_str prefix,
                                               moqc_origin_producer **out);
/**
 * Makes a handle tagged with ctx (NULL = untagged); the handle takes its own
 * reference to ctx. Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_with_usage(const moqc_origin_producer *p,
                                                moqc_usage_ctx *ctx,
                                                moqc_origin_producer **out);
/**
 * Another handle with the same root, prefixes and context. Returns 0 or
 * MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_clone(const moqc_origin_producer *p,
                                           moqc_origin_producer **out);
/**
 * A consumer handle with the same root, prefixes and context. Returns 0 or
 * MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_consume(const moqc_origin_producer *p,
                                             moqc_origin_consumer **out);
/**
 * Registers a dynamic handler serving requests for broadcasts under the
 * handle's allowed prefixes that are not announced (*out owned by the caller).
 * Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_producer_dynamic(const moqc_origin_producer *p,
                                             moqc_origin_dynamic **out);
/**
 * Returns the handle's root (absolute, normalized; valid as long as the
 * handle).
 */
MOQC_EXTERN moqc_str moqc_origin_producer_root(const moqc_origin_producer *p);
/** Returns the number of allowed prefixes. */
MOQC_EXTERN size_t
moqc_origin_producer_allowed_count(const moqc_origin_producer *p);
/**
 * Returns allowed prefix i (absolute, in length-then-byte order, valid as long
 * as the handle), or the empty string when i is out of range.
 */
MOQC_EXTERN moqc_str moqc_origin_producer_allowed(const moqc_origin_producer *p,
                                                  size_t i);
/** Releases the handle; publications keep their own guards. p may be NULL. */
MOQC_EXTERN void moqc_origin_producer_del(moqc_origin_producer *p);

/**
 * Removes the publication (the path ends or a backup is promoted) and releases
 * the guard. guard may be NULL.
 */
MOQC_EXTERN void moqc_origin_publish_del(moqc_origin_publish *guard);

/* ---- Consumer handles ---------------------------------------------------- */

/**
 * Opens an announce cursor over the handle's allowed prefixes (*out owned by
 * the caller). The cursor first delivers every active broadcast under them,
 * then changes; see moqc_origin_announced_next. Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_consumer_announced(const moqc_origin_consumer *c,
                                               moqc_origin_announced **out);
/**
 * Hands out the broadcast announced at path (relative to the root), stamped
 * with the handle's egress scope when tagged (*out owned by the caller).
 * Returns 0, MOQC_ERR_NOT_FOUND when nothing is announced there,
 * MOQC_ERR_UNAUTHORIZED, MOQC_ERR_BOUNDS_EXCEEDED, MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int
moqc_origin_consumer_consume_broadcast(const moqc_origin_consumer *c,
                                       moqc_str path,
                                       moqc_broadcast_consumer **out);
/**
 * Asks for the broadcast at path (relative to the root). When it is announced
 * the request is ready at once; otherwise it is queued for a dynamic handler
 * whose prefixes cover the path, coalesced with other requests for the same
 * absolute path. Broadcasts served this way are not announced. *out (owned by
 * the caller) is polled with moqc_origin_request_poll. Returns 0,
 * MOQC_ERR_UNROUTABLE when nothing is announced and no handler covers the path,
 * MOQC_ERR_UNAUTHORIZED, MOQC_ERR_BOUNDS_EXCEEDED, MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_consumer_request_broadcast(
    const moqc_origin_consumer *c, moqc_str path, moqc_origin_request **out);
/** As moqc_origin_producer_scope, for a consumer handle. */
MOQC_EXTERN int moqc_origin_consumer_scope(const moqc_origin_consumer *c,
                                           const moqc_str *prefixes,
                                           size_t count,
                                           moqc_origin_consumer **out);
/** As moqc_origin_producer_with_root, for a consumer handle. */
MOQC_EXTERN int moqc_origin_consumer_with_root(const moqc_origin_consumer *c,
                                               moqc_str prefix,
                                               moqc_origin_consumer **out);
/** As moqc_origin_producer_with_usage, for a consumer handle. */
MOQC_EXTERN int moqc_origin_consumer_with_usage(const moqc_origin_consumer *c,
                                                moqc_usage_ctx *ctx,
                                                moqc_origin_consumer **out);
/**
 * Another handle with the same view; making or deleting it has no other effect.
 */
MOQC_EXTERN int moqc_origin_consumer_clone(const moqc_origin_consumer *c,
                                           moqc_origin_consumer **out);
/**
 * Returns the handle's root (absolute, normalized; valid as long as the
 * handle).
 */
MOQC_EXTERN moqc_str moqc_origin_consumer_root(const moqc_origin_consumer *c);
/** Returns the number of allowed prefixes. */
MOQC_EXTERN size_t
moqc_origin_consumer_allowed_count(const moqc_origin_consumer *c);
/** Returns allowed prefix i as moqc_origin_producer_allowed. */
MOQC_EXTERN moqc_str moqc_origin_consumer_allowed(const moqc_origin_consumer *c,
                                                  size_t i);
/** Releases the handle. c may be NULL. */
MOQC_EXTERN void moqc_origin_consumer_del(moqc_origin_consumer *c);

/* ---- Announce cursors ---------------------------------------------------- */

/** One announce event, filled by moqc_origin_announced_next. */
typedef struct moqc_origin_announce {
  /**
   * The path relative to the consumer's root; valid until the next call on the
   * cursor.
   */
  moqc_str path;
  /**
   * The broadcast now active at the path (owned by the caller; stamped with the
   * egress scope when the consumer is tagged), or NULL when the path ended.
   */
  moqc_broadcast_consumer *broadcast;
  /** The hops of the active publication (0 when ended). */
  size_t hop_count;
  uint64_t hops[MOQC_ORIGIN_MAX_HOPS];
} moqc_origin_announce;

/**
 * Takes the next event. Changes are coalesced per path
 * (spec/upstream-model.md 2.3) and delivered in byte order of the path; a
 * replaced broadcast is delivered as an end and then (next call) as active.
 * Memory is bounded by the number of distinct paths. A tagged cursor counts
 * egress announced (+ the absolute path length in announced_bytes) when it
 * delivers a path as active and announced_closed when it delivers its end.
 * Returns 0 with *out filled, MOQC_ERR_PENDING (the waker, when given, fires
 * when an event is queued), or MOQC_ERR_NOMEM: nothing was taken, call again;
 * if the cursor itself lost an event because memory ran out while a publication
 * was removed, it keeps returning MOQC_ERR_NOMEM and must be deleted and opened
 * again.
 */
MOQC_EXTERN int moqc_origin_announced_next(moqc_origin_announced *a,
                                           moqc_origin_announce *out,
                                           moqc_waker *w);
/**
 * Releases the cursor; every path it delivered as active and did not end yet
 * counts announced_closed on a tagged cursor. a may be NULL.
 */
MOQC_EXTERN void moqc_origin_announced_del(moqc_origin_announced *a);

/* ---- Dynamic requests ---------------------------------------------------- */

/**
 * Polls a broadcast request: stores the broadcast (owned by the caller, stamped
 * with the egress scope when the requesting handle was tagged) in *out and
 * returns 0; or MOQC_ERR_PENDING (the waker fires when it resolves);
 * MOQC_ERR_UNROUTABLE when every handler that could serve it is gone; the error
 * it was rejected with; MOQC_ERR_DROPPED when the handler dropped it;
 * MOQC_ERR_NOMEM. Once resolved, every poll gives the same result (a new
 * consumer each time).
 */
MOQC_EXTERN int moqc_origin_request_poll(moqc_origin_request *r,
                                         moqc_broadcast_consumer **out,
                                         moqc_waker *w);
/** Releases the request handle. r may be NULL. */
MOQC_EXTERN void moqc_origin_request_del(moqc_origin_request *r);

/**
 * Pops the oldest queued request under the handler's prefixes (*out owned by
 * the caller). Returns 0, or MOQC_ERR_PENDING (the waker fires when one is
 * queued), or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_origin_dynamic_next(moqc_origin_dynamic *d,
                                         moqc_origin_broadcast_request **out,
                                         moqc_waker *w);
/**
 * Another handler with the same prefixes; requests wait while any handler
 * lives.
 */
MOQC_EXTERN int moqc_origin_dynamic_clone(const moqc_origin_dynamic *d,
                                          moqc_origin_dynamic **out);
/**
 * Releases the handler. When no handler is left to cover a queued request, that
 * request fails with MOQC_ERR_UNROUTABLE; requests already popped stay
 * servable. d may be NULL.
 */
MOQC_EXTERN void moqc_origin_dynamic_del(moqc_origin_dynamic *d);

/**
 * The requested path, relative to the handler's root (valid as long as the
 * handle).
 */
MOQC_EXTERN moqc_str
moqc_origin_broadcast_request_path(const moqc_origin_broadcast_request *r);
/**
 * Serves the request with bc (the origin keeps a clone; the caller keeps bc).
 * Every waiting request handle resolves; the broadcast is not announced. The
 * request handle is consumed. Returns 0, or MOQC_ERR_NOMEM (the request is then
 * rejected with MOQC_ERR_NOMEM). Serving a request that already resolved (for
 * instance because the path got announced) does nothing.
 */
MOQC_EXTERN int
moqc_origin_broadcast_request_accept(moqc_origin_broadcast_request *r,
                                     const moqc_broadcast_consumer *bc);
/**
 * Rejects the request with err (negative); waiting handles see err. The handle
 * is consumed.
 */
MOQC_EXTERN void
moqc_origin_broadcast_request_reject(moqc_origin_broadcast_request *r, int err);
/**
 * Drops the request unanswered: waiting handles see MOQC_ERR_DROPPED. r may be
 * NULL.
 */
MOQC_EXTERN void
moqc_origin_broadcast_request_del(moqc_origin_broadcast_request *r);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_ORIGIN_H */
