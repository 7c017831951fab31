/*
 * moqc: the pub/sub model. A broadcast is made of tracks, a track of groups, a
 * group of frames.
 *
 * Every level is a producer/consumer pair of handles over one shared state.
 * Handles are heap objects owned by whoever received them and released with
 * their _del function (every _del accepts NULL). Any handle may be used from
 * any thread, but one handle by one thread at a time; the shared state behind
 * it is protected inside the model (one mutex per broadcast, covering its
 * tracks, groups and frames; atomics for the usage counters and buffer
 * refcounts). A handle keeps what it points at alive: a group consumer stays
 * readable after its track is gone.
 *
 * Nothing here blocks. A call that would have to wait returns MOQC_ERR_PENDING
 * and, if a waker was given, registers it (the model takes its own reference):
 * the waker fires once, possibly on another thread, when the call may succeed;
 * then poll again. Wakes may be spurious. Polling again before the wake does
 * not register twice. Deleting the handle cancels its registration. Calls
 * return MOQC_END (a positive value) when a stream of results ends normally. No
 * model call invokes a user callback (waker, scope
 * viewer_open/viewer_close/decref) while holding a model lock; only the scope's
 * incref (which must be a plain atomic increment) may run under it. Every model
 * call may be made from inside a waker callback, including moqc_waker_close on
 * that same waker.
 *
 * Metering: a broadcast carries its ingress usage scope for life; consumer
 * handles carry the egress scope stamped by the origin at hand-off
 * (moqc_broadcast_consumer_with_usage). See usage.h and docs/METERING.md.
 */
#ifndef MOQC_MODEL_H
#define MOQC_MODEL_H

#include <moqc/error.h>
#include <moqc/mem.h>
#include <moqc/path.h>
#include <moqc/rcbuf.h>
#include <moqc/time.h>
#include <moqc/usage.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Returned (positive) when a sequence of results has ended normally. */
#define MOQC_END 1

/** The largest frame the model accepts; larger declared sizes are refused
 * before allocating. */
#define MOQC_MAX_FRAME_SIZE ((uint64_t)32 * 1024 * 1024)
/** The most frame bytes a group caches. */
#define MOQC_MAX_GROUP_CACHE ((uint64_t)32 * 1024 * 1024)
/** The default retention of groups older than the latest: 5 s. */
#define MOQC_DEFAULT_RETENTION (5 * MOQC_SECONDS)
/** The largest datagram payload. */
#define MOQC_MAX_DATAGRAM_SIZE 65535

/* ---- Wakers ------------------------------------------------------------- */

typedef struct moqc_waker moqc_waker;
/** A track's fetch handler (see "Fetch handlers" below). */
typedef struct moqc_track_dynamic moqc_track_dynamic;

/**
 * Called when a pending call may now succeed. Must be quick and thread-safe; it
 * runs on the thread that changed the state (a writer), after the model
 * released its locks.
 */
typedef void (*moqc_wake_cb)(void *user_data);

/**
 * Creates a waker calling cb(user_data), with one reference owned by the caller
 * (release it with moqc_waker_close, or moqc_waker_decref when no call can be
 * running). mem may be NULL. Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_waker_new(moqc_waker **out, moqc_wake_cb cb,
                               void *user_data, const moqc_mem *mem);
/**
 * Calls the callback unless the waker is closed. Thread-safe. The callback
 * never runs twice at once: a wake arriving while it runs makes it run once
 * more after it returns.
 */
MOQC_EXTERN void moqc_waker_wake(moqc_waker *w);
/**
 * Closes the waker: once this returns, the callback is not running and never
 * runs again (it waits for a call running on another thread). Then drops the
 * caller's reference. w may be NULL. May be called from inside the waker's own
 * callback: the running call then simply finishes.
 */
MOQC_EXTERN void moqc_waker_close(moqc_waker *w);
/** Adds a reference. Thread-safe. */
MOQC_EXTERN void moqc_waker_incref(moqc_waker *w);
/** Drops a reference. w may be NULL. Thread-safe. */
MOQC_EXTERN void moqc_waker_decref(moqc_waker *w);

/* ---- Frames ------------------------------------------------------------- */

typedef struct moqc_frame_producer moqc_frame_producer;
typedef struct moqc_frame_consumer moqc_frame_consumer;

/**
 * Writes the next chunk of a frame created with a declared size. The bytes are
 * copied into the frame's preallocated buffer and become readable at once.
 * Returns 0, MOQC_ERR_WRONG_SIZE if the chunk exceeds the remaining size,
 * MOQC_ERR_CLOSED after finish or abort. Counts len ingress bytes.
 */
MOQC_EXTERN int moqc_frame_producer_write(moqc_frame_producer *fp,
                                          const uint8_t *data, size_t len);
/**
 * Ends the frame. Returns 0, MOQC_ERR_WRONG_SIZE unless exactly the declared
 * size was written (the frame stays open), MOQC_ERR_CLOSED after finish or
 * abort.
 */
MOQC_EXTERN int moqc_frame_producer_finish(moqc_frame_producer *fp);
/**
 * Aborts the frame with err (non-negative becomes MOQC_ERR_CANCEL); readers
 * see err. No effect on a finished frame.
 */
MOQC_EXTERN void moqc_frame_producer_abort(moqc_frame_producer *fp, int err);
/** Releases the handle. An unfinished frame is aborted with MOQC_ERR_DROPPED.
 * fp may be NULL. */
MOQC_EXTERN void moqc_frame_producer_del(moqc_frame_producer *fp);

/** Returns the declared size of the frame. */
MOQC_EXTERN uint64_t moqc_frame_consumer_size(const moqc_frame_consumer *fc);
/** Returns the frame's timestamp in its track's timescale. */
MOQC_EXTERN uint64_t
moqc_frame_consumer_timestamp(const moqc_frame_consumer *fc);
/**
 * Reads the next available chunk without copying: *buf receives a new reference
 * to the frame's buffer (release with moqc_rcbuf_decref) and [*off, *off +
 * *len) the new bytes. Returns 0, MOQC_END after the last byte,
 * MOQC_ERR_PENDING, or the abort error.
 */
MOQC_EXTERN int moqc_frame_consumer_read_chunk(moqc_frame_consumer *fc,
                                               moqc_rcbuf **buf, size_t *off,
                                               size_t *len, moqc_waker *w);
/**
 * Waits for the whole frame and returns it: *buf gets a new reference to the
 * frame's buffer, which holds exactly the frame (whatever was read by chunks
 * before). Returns 0, MOQC_ERR_PENDING, or the abort error. Counts the egress
 * bytes not yet read through this handle.
 */
MOQC_EXTERN int moqc_frame_consumer_read_all(moqc_frame_consumer *fc,
                                             moqc_rcbuf **buf, moqc_waker *w);
/** Clones the consumer with an independent cursor copied from fc. Returns 0 or
 * MOQC_ERR_NOMEM. */
MOQC_EXTERN int moqc_frame_consumer_clone(const moqc_frame_consumer *fc,
                                          moqc_frame_consumer **out);
/** Releases the handle. fc may be NULL. */
MOQC_EXTERN void moqc_frame_consumer_del(moqc_frame_consumer *fc);

/* ---- Groups ------------------------------------------------------------- */

typedef struct moqc_group_producer moqc_group_producer;
typedef struct moqc_group_consumer moqc_group_consumer;

/** Returns the group's sequence number. */
MOQC_EXTERN uint64_t
moqc_group_producer_sequence(const moqc_group_producer *gp);
/**
 * Appends a whole frame, copying data. timestamp is in the track's timescale.
 * Returns 0, MOQC_ERR_FRAME_TOO_LARGE (checked before reading data or
 * allocating), MOQC_ERR_CLOSED (finished or aborted), MOQC_ERR_NOMEM. Counts
 * one ingress frame and len bytes. The group's cache keeps at most
 * MOQC_MAX_GROUP_CACHE declared bytes, evicting its oldest frames.
 */
MOQC_EXTERN int moqc_group_producer_write_frame(moqc_group_producer *gp,
                                                const uint8_t *data, size_t len,
                                                uint64_t timestamp);
/**
 * Appends a whole frame without copying: takes a new reference to buf (the
 * caller keeps its own). Errors as moqc_group_producer_write_frame.
 */
MOQC_EXTERN int moqc_group_producer_write_frame_buf(moqc_group_producer *gp,
                                                    moqc_rcbuf *buf,
                                                    uint64_t timestamp);
/**
 * Appends a frame of a declared size to be written in chunks through *out
 * (owned by the caller); readers see it at once and its bytes as written. A
 * size above MOQC_MAX_FRAME_SIZE is MOQC_ERR_FRAME_TOO_LARGE, before
 * allocating. Also MOQC_ERR_CLOSED, MOQC_ERR_NOMEM. Counts one ingress frame
 * now and the bytes per chunk written.
 */
MOQC_EXTERN int moqc_group_producer_create_frame(moqc_group_producer *gp,
                                                 uint64_t size,
                                                 uint64_t timestamp,
                                                 moqc_frame_producer **out);
/** Returns the number of frames appended so far. */
MOQC_EXTERN uint64_t
moqc_group_producer_frame_count(const moqc_group_producer *gp);
/** Ends the group: no more frames. Returns 0 or MOQC_ERR_CLOSED. */
MOQC_EXTERN int moqc_group_producer_finish(moqc_group_producer *gp);
/**
 * Aborts the group with err (non-negative becomes MOQC_ERR_CANCEL): unfinished
 * frames are aborted too and the cached frames cleared.
 */
MOQC_EXTERN void moqc_group_producer_abort(moqc_group_producer *gp, int err);
/**
 * Releases the handle. The last producer of an unfinished group aborts it with
 * MOQC_ERR_DROPPED. gp may be NULL.
 */
MOQC_EXTERN void moqc_group_producer_del(moqc_group_producer *gp);

/** Returns the group's sequence number. */
MOQC_EXTERN uint64_t
moqc_group_consumer_sequence(const moqc_group_consumer *gc);
/**
 * Hands out the next frame for chunked reading (*out owned by the caller).
 * Returns 0, MOQC_END at the end of a finished group, MOQC_ERR_PENDING,
 * MOQC_ERR_LAGGED when the frame was evicted from the group's cache (the cursor
 * then jumps to the oldest cached frame, so the next call continues there), or
 * the abort error (an aborted group's cache is cleared: frames not yet handed
 * out are gone; frame consumers already handed out keep working). Counts one
 * egress frame.
 */
MOQC_EXTERN int moqc_group_consumer_next_frame(moqc_group_consumer *gc,
                                               moqc_frame_consumer **out,
                                               moqc_waker *w);
/**
 * Reads the next whole frame: *buf gets a new reference, *timestamp its
 * timestamp (may be NULL). Waits (PENDING) until the frame is complete. Returns
 * as moqc_group_consumer_next_frame; an aborted frame returns its error and is
 * skipped. Counts one egress frame and its bytes.
 */
MOQC_EXTERN int moqc_group_consumer_read_frame(moqc_group_consumer *gc,
                                               moqc_rcbuf **buf,
                                               uint64_t *timestamp,
                                               moqc_waker *w);
/**
 * Random access to frame index (waits for it). Returns as next_frame (LAGGED
 * for an evicted index, MOQC_END past the end of a finished group); does not
 * move the cursor.
 */
MOQC_EXTERN int moqc_group_consumer_get_frame(moqc_group_consumer *gc,
                                              uint64_t index,
                                              moqc_frame_consumer **out,
                                              moqc_waker *w);
/**
 * Stores the final frame count once the group is finished. Returns 0,
 * MOQC_ERR_PENDING, or the abort error.
 */
MOQC_EXTERN int moqc_group_consumer_finished(moqc_group_consumer *gc,
                                             uint64_t *count, moqc_waker *w);
/**
 * Clones with the same cursor and egress scope; the clone does not count the
 * group again (its frame reads do count). Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_group_consumer_clone(const moqc_group_consumer *gc,
                                          moqc_group_consumer **out);
/** Releases the handle. gc may be NULL. */
MOQC_EXTERN void moqc_group_consumer_del(moqc_group_consumer *gc);

/* ---- Tracks ------------------------------------------------------------- */

/** Publisher properties of a track, fixed for its life. */
typedef struct moqc_track_info {
  /** Timestamp units per second (default MOQC_TIMESCALE_MILLI). */
  moqc_timescale timescale;
  /** How long groups older than the latest stay cached, in ns (default 5 s). */
  moqc_tstamp retention;
  /** Publisher priority, a tie-break after subscriber priority (default 0). */
  uint8_t priority;
  /** Whether groups should be delivered in order (default false). */
  bool ordered;
} moqc_track_info;

/** Fills info with the defaults. */
MOQC_EXTERN void moqc_track_info_default(moqc_track_info *info);

/** A subscriber's preferences. */
typedef struct moqc_subscription {
  uint8_t priority;
  bool ordered;
  /** Maximum latency (staleness) in ns; clamped to the track's retention. */
  moqc_tstamp latency_max;
  bool has_start;
  uint64_t start;
  bool has_end;
  uint64_t end;
} moqc_subscription;

/** Fills sub with the defaults: priority 0, unordered, latency = retention,
 * unbounded. */
MOQC_EXTERN void moqc_subscription_default(moqc_subscription *sub);

/**
 * Folds b into a by the aggregate rules: priority max, ordered AND, latency
 * max, start min of explicit starts, end unbounded if either is unbounded else
 * max.
 */
MOQC_EXTERN void moqc_subscription_fold(moqc_subscription *a,
                                        const moqc_subscription *b);

typedef struct moqc_track_producer moqc_track_producer;
typedef struct moqc_track_consumer moqc_track_consumer;
typedef struct moqc_track_subscriber moqc_track_subscriber;
typedef struct moqc_track_request moqc_track_request;

/** Returns the track name (NUL-terminated, valid as long as the handle). */
MOQC_EXTERN const char *moqc_track_producer_name(const moqc_track_producer *tp);
/**
 * Creates group sequence (owned by the caller). now drives retention: on every
 * insert, cached groups older than the track's retention (by insertion time)
 * are evicted and aborted with MOQC_ERR_OLD, except the group with the highest
 * sequence, which is always kept; with a cache pool over capacity, this track's
 * oldest groups are aborted with MOQC_ERR_EVICTED. A group fetched through
 * moqc_track_dynamic is served by creating it here. Returns 0,
 * MOQC_ERR_DUPLICATE if cached, MOQC_ERR_CLOSED if at or past the final
 * sequence, aborted or closed, MOQC_ERR_NOMEM. Counts one ingress group.
 */
MOQC_EXTERN int moqc_track_producer_create_group(moqc_track_producer *tp,
                                                 uint64_t sequence,
                                                 moqc_tstamp now,
                                                 moqc_group_producer **out);
/**
 * Creates the group after the highest sequence so far (0 first), as
 * create_group. MOQC_ERR_BOUNDS_EXCEEDED when the highest is UINT64_MAX.
 */
MOQC_EXTERN int moqc_track_producer_append_group(moqc_track_producer *tp,
                                                 moqc_tstamp now,
                                                 moqc_group_producer **out);
/**
 * Appends a group holding one frame (copied) and finishes it (the
 * single-frame-group idiom). Errors as append_group and
 * moqc_group_producer_write_frame.
 */
MOQC_EXTERN int moqc_track_producer_write_frame(moqc_track_producer *tp,
                                                const uint8_t *data, size_t len,
                                                uint64_t timestamp,
                                                moqc_tstamp now);
/**
 * Writes a datagram (payload copied): it takes the next sequence of the same
 * namespace as groups and is buffered for 50 ms of the caller's clock (now),
 * best effort, for subscribers' moqc_track_subscriber_recv_datagram. Returns 0,
 * MOQC_ERR_FRAME_TOO_LARGE above MOQC_MAX_DATAGRAM_SIZE,
 * MOQC_ERR_BOUNDS_EXCEEDED, MOQC_ERR_CLOSED, MOQC_ERR_NOMEM. Counts one ingress
 * datagram (with its group, frame and bytes).
 */
MOQC_EXTERN int moqc_track_producer_write_datagram(moqc_track_producer *tp,
                                                   const uint8_t *data,
                                                   size_t len,
                                                   uint64_t timestamp,
                                                   moqc_tstamp now);
/**
 * Finishes the track: final sequence = highest + 1 (0 when empty). Lower
 * sequences may still be created. Readers drain the cache, then get MOQC_END.
 * Twice (or after abort) is MOQC_ERR_CLOSED.
 */
MOQC_EXTERN int moqc_track_producer_finish(moqc_track_producer *tp);
/**
 * Aborts the track with err (a non-negative err becomes MOQC_ERR_CANCEL):
 * cached groups are aborted and dropped, pending fetches and subscribers see
 * err, later writes MOQC_ERR_CLOSED.
 */
MOQC_EXTERN void moqc_track_producer_abort(moqc_track_producer *tp, int err);
/**
 * Reports whether any consumer uses the track (track consumers and subscribers,
 * not the broadcast's weak lookup): returns 1 when used, 0 when unused. With a
 * waker, registers it to fire when the answer changes (relays cancel upstream
 * when unused). Or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_track_producer_used(moqc_track_producer *tp,
                                         moqc_waker *w);
/**
 * Stores the aggregate of all live subscriptions (resolved or pending) in *out,
 * folded with moqc_subscription_fold and its latency clamped to the track's
 * retention. Returns 0, or MOQC_END when there is no live subscriber. With a
 * waker, registers it to fire only when the aggregate actually changes
 * (including becoming none).
 */
MOQC_EXTERN int moqc_track_producer_subscription(moqc_track_producer *tp,
                                                 moqc_subscription *out,
                                                 moqc_waker *w);
/** Makes a consumer of this track (owned by the caller, unmetered). */
MOQC_EXTERN int moqc_track_producer_consume(moqc_track_producer *tp,
                                            moqc_track_consumer **out);
/** Another writer handle on the same track. MOQC_ERR_CLOSED once every producer
 * is gone. */
MOQC_EXTERN int moqc_track_producer_clone(const moqc_track_producer *tp,
                                          moqc_track_producer **out);
/** Releases the handle; the last producer of an unfinished track aborts it with
 * DROPPED. */
MOQC_EXTERN void moqc_track_producer_del(moqc_track_producer *tp);

/** Returns the track name. */
MOQC_EXTERN const char *moqc_track_consumer_name(const moqc_track_consumer *tc);
/**
 * Waits for the track's info (a dynamically requested track learns it when
 * accepted). Returns 0, MOQC_ERR_PENDING, or the error that rejected or aborted
 * the track.
 */
MOQC_EXTERN int moqc_track_consumer_info(moqc_track_consumer *tc,
                                         moqc_track_info *out, moqc_waker *w);
/**
 * Subscribes with preferences sub (NULL = defaults). The preference counts
 * towards the aggregate at once. Resolves to *out (owned by the caller) when
 * the track's info is known. Returns 0, MOQC_ERR_PENDING (call again; a new sub
 * replaces the pending preference), or the rejection error. Without an explicit
 * start the subscriber begins at the latest group at resolution (the live
 * edge), or at 0 when there is none. A resolved subscription counts once in
 * metering (egress subscriptions +1 and the scope's viewer_open; both close
 * when the subscriber is deleted).
 */
MOQC_EXTERN int moqc_track_consumer_subscribe(moqc_track_consumer *tc,
                                              const moqc_subscription *sub,
                                              moqc_track_subscriber **out,
                                              moqc_waker *w);
/**
 * Fetches a group by sequence (*out owned by the caller). A cached group
 * resolves at once. A miss is MOQC_ERR_NOT_FOUND at or past the final sequence
 * or when no moqc_track_dynamic handler lives; otherwise it is queued for the
 * handler (coalesced with other fetches of the sequence) and returns
 * MOQC_ERR_PENDING until served or rejected. On a requested track not accepted
 * yet, it waits for the accept. Counts one egress fetch at the first call for a
 * sequence (even if it ends not found), and frames and bytes as read, never a
 * group. Also the track's abort error.
 */
MOQC_EXTERN int moqc_track_consumer_fetch_group(moqc_track_consumer *tc,
                                                uint64_t sequence,
                                                moqc_group_consumer **out,
                                                moqc_waker *w);
/** Clones the consumer (same egress scope). Returns 0 or MOQC_ERR_NOMEM. */
MOQC_EXTERN int moqc_track_consumer_clone(const moqc_track_consumer *tc,
                                          moqc_track_consumer **out);
/** Releases the handle. */
MOQC_EXTERN void moqc_track_consumer_del(moqc_track_consumer *tc);

/**
 * The next group in sequence order: the smallest cached sequence above the last
 * returned (and at least the start), not above the end. Late arrivals below the
 * cursor are skipped; groups above the end stay cached and become eligible if
 * moqc_track_subscriber_update raises it (until then the call is PENDING, even
 * on a finished track). Returns 0, MOQC_END when the track finished and nothing
 * remains, MOQC_ERR_PENDING, or the abort error (MOQC_ERR_DROPPED when the last
 * producer left unfinished). Counts one egress group per group handed out.
 */
MOQC_EXTERN int moqc_track_subscriber_next_group(moqc_track_subscriber *ts,
                                                 moqc_group_consumer **out,
                                                 moqc_waker *w);
/**
 * Random access: hands out the group with this sequence (*out owned by the
 * caller) once it is cached, without moving the cursors. Counts one egress
 * group, like a group handed out by next_group. Returns 0; MOQC_END when the
 * track finished at or below sequence, or every producer is gone without it;
 * MOQC_ERR_PENDING while it may still arrive (the waker fires when the track
 * changes); or the track's abort error.
 */
MOQC_EXTERN int moqc_track_subscriber_get_group(moqc_track_subscriber *ts,
                                                uint64_t sequence,
                                                moqc_group_consumer **out,
                                                moqc_waker *w);

/**
 * The single-frame-group shortcut, on next_group's cursor: the first frame of
 * the smallest eligible group whose first frame is complete (*buf a new
 * reference, *sequence its group, *timestamp may be NULL). A stalled group
 * (first frame still being written) is skipped when a newer one is ready;
 * groups that can never yield a first frame (aborted, empty, evicted) are
 * skipped. Returns as next_group. Counts one egress group, one frame and its
 * bytes.
 */
MOQC_EXTERN int moqc_track_subscriber_read_frame(moqc_track_subscriber *ts,
                                                 moqc_rcbuf **buf,
                                                 uint64_t *sequence,
                                                 uint64_t *timestamp,
                                                 moqc_waker *w);
/**
 * Every cached group at or above the start once, in arrival order (a cursor
 * independent of next_group's). Returns as next_group.
 */
MOQC_EXTERN int moqc_track_subscriber_recv_group(moqc_track_subscriber *ts,
                                                 moqc_group_consumer **out,
                                                 moqc_waker *w);
/**
 * The next buffered datagram: *payload gets a new reference to the datagram's
 * buffer (release with moqc_rcbuf_decref), *timestamp may be NULL. Datagrams
 * are buffered for 50 ms; a lagging reader silently skips those already
 * dropped. Returns 0, MOQC_END once the track is finished or closed and nothing
 * is buffered, MOQC_ERR_PENDING, or the abort error.
 */
MOQC_EXTERN int moqc_track_subscriber_recv_datagram(moqc_track_subscriber *ts,
                                                    uint64_t *sequence,
                                                    uint64_t *timestamp,
                                                    moqc_rcbuf **payload,
                                                    moqc_waker *w);
/**
 * Replaces the subscriber's preferences (the aggregate follows; a raised start
 * moves the cursors forward, a raised end releases parked groups). Returns 0 or
 * MOQC_ERR_INVALID_ARGUMENT.
 */
MOQC_EXTERN int moqc_track_subscriber_update(moqc_track_subscriber *ts,
                                             const moqc_subscription *sub);
/** Stores the track info. */
MOQC_EXTERN void moqc_track_subscriber_info(const moqc_track_subscriber *ts,
                                            moqc_track_info *out);
/** Stores the highest sequence seen; returns MOQC_ERR_NOT_FOUND when there is
 * none. */
MOQC_EXTERN int moqc_track_subscriber_latest(const moqc_track_subscriber *ts,
                                             uint64_t *sequence);
/** Releases the subscription (closing its metering). */
MOQC_EXTERN void moqc_track_subscriber_del(moqc_track_subscriber *ts);

/** The name asked for. */
MOQC_EXTERN const char *moqc_track_request_name(const moqc_track_request *req);
/**
 * Accepts the request with info (NULL = defaults): every waiting subscriber
 * resolves. *out is the new producer (owned by the caller). The request handle
 * is consumed either way. Returns 0, MOQC_ERR_INVALID_ARGUMENT (bad timescale),
 * the error that already failed the track (the broadcast closed, ...) or
 * MOQC_ERR_NOMEM; on error waiting subscribers see the error.
 */
MOQC_EXTERN int moqc_track_request_accept(moqc_track_request *req,
                                          const moqc_track_info *info,
                                          moqc_track_producer **out);
/**
 * As moqc_track_request_accept, with a fetch handler (*fetch, owned by the
 * caller; see moqc_track_dynamic below) registered before any waiting
 * consumer learns of the track: a consumer that fetches an uncached group the
 * moment it gets the track, on any thread, queues instead of failing
 * MOQC_ERR_NOT_FOUND. (moqc_track_producer_dynamic after accepting leaves a
 * window in which such a fetch fails.) The request handle is consumed either
 * way; on error *fetch is NULL and waiting subscribers see the error. Errors as
 * moqc_track_request_accept.
 */
MOQC_EXTERN int moqc_track_request_accept_dynamic(moqc_track_request *req,
                                                  const moqc_track_info *info,
                                                  moqc_track_producer **out,
                                                  moqc_track_dynamic **fetch);
/**
 * Rejects the request with err (non-negative becomes MOQC_ERR_CANCEL); waiting
 * subscribers see err. The handle is consumed.
 */
MOQC_EXTERN void moqc_track_request_reject(moqc_track_request *req, int err);

/* ---- Fetch handlers ----------------------------------------------------- */

/**
 * A handler serving fetches of groups that are not cached. While a track has a
 * live handler, a fetch miss below the final sequence is queued (coalesced by
 * sequence) instead of failing with MOQC_ERR_NOT_FOUND; the handler serves it
 * by creating the group on a track producer (moqc_track_producer_create_group),
 * which resolves every fetch of that sequence. One thread at a time per handle
 * (moqc_track_dynamic, declared at the top).
 *
 * moqc_track_producer_dynamic makes a fetch handler for the producer's track
 * (*out owned by the caller).
 */
MOQC_EXTERN int moqc_track_producer_dynamic(moqc_track_producer *tp,
                                            moqc_track_dynamic **out);
/**
 * Pops the next requested sequence, in no particular order. Returns 0,
 * MOQC_ERR_PENDING (registering w on new requests), MOQC_END once the track is
 * closed, or the abort error.
 */
MOQC_EXTERN int moqc_track_dynamic_requested_group(moqc_track_dynamic *td,
                                                   uint64_t *sequence,
                                                   moqc_waker *w);
/** Fails every pending fetch of sequence with err (a non-negative err means
 * NOT_FOUND). */
MOQC_EXTERN void moqc_track_dynamic_reject_group(moqc_track_dynamic *td,
                                                 uint64_t sequence, int err);
/** Releases the handler; the last one fails pending fetches with
 * MOQC_ERR_NOT_FOUND. */
MOQC_EXTERN void moqc_track_dynamic_del(moqc_track_dynamic *td);

/* ---- Cache pool --------------------------------------------------------- */

/**
 * A byte budget shared by the group caches of many broadcasts (thread-safe,
 * refcounted). Every cached group is charged its frame bytes plus 256 bytes.
 * While the pool is over capacity, a writer inserting a group pays the debt by
 * aborting its own track's oldest cached groups (never the latest) with
 * MOQC_ERR_EVICTED.
 */
typedef struct moqc_cache_pool moqc_cache_pool;

/** Creates a pool of capacity bytes with one reference. Returns 0 or
 * MOQC_ERR_NOMEM. */
MOQC_EXTERN int moqc_cache_pool_new(moqc_cache_pool **out, uint64_t capacity,
                                    const moqc_mem *mem);
/** Adds a reference (p may be NULL). */
MOQC_EXTERN void moqc_cache_pool_incref(moqc_cache_pool *p);
/** Drops a reference; the last frees (p may be NULL). */
MOQC_EXTERN void moqc_cache_pool_decref(moqc_cache_pool *p);
/** Changes the capacity; takes effect at the next group insert. */
MOQC_EXTERN void moqc_cache_pool_set_capacity(moqc_cache_pool *p,
                                              uint64_t capacity);
/**
 * Caps how long every track charged to p keeps a group that is not its latest:
 * the track's retention or max_age (ns), whichever is shorter (0 = no cap, the
 * default). Takes effect at the next group insert. Thread-safe.
 */
MOQC_EXTERN void moqc_cache_pool_set_max_age(moqc_cache_pool *p,
                                             moqc_tstamp max_age);
/** Returns the bytes currently charged. */
MOQC_EXTERN uint64_t moqc_cache_pool_used(const moqc_cache_pool *p);

/* ---- Broadcasts --------------------------------------------------------- */

typedef struct moqc_broadcast_producer moqc_broadcast_producer;
typedef struct moqc_broadcast_consumer moqc_broadcast_consumer;
typedef struct moqc_broadcast_dynamic moqc_broadcast_dynamic;

/**
 * Creates a broadcast (*out owned by the caller). ingress is the scope its
 * writes are metered into, fixed for life (NULL = unmetered; the broadcast
 * takes its own reference). mem may be NULL and must outlive every handle.
 * Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_broadcast_new(moqc_broadcast_producer **out,
                                   moqc_usage_scope *ingress,
                                   const moqc_mem *mem);

/**
 * As moqc_broadcast_new, charging the groups cached by every track of the
 * broadcast to pool (NULL = unbounded; the broadcast takes its own reference).
 */
MOQC_EXTERN int moqc_broadcast_new_with_pool(moqc_broadcast_producer **out,
                                             moqc_usage_scope *ingress,
                                             moqc_cache_pool *pool,
                                             const moqc_mem *mem);
/**
 * Creates a track (*out owned by the caller); info NULL = defaults. The
 * broadcast keeps only a weak lookup entry: the track lives as long as its
 * producers. A request for the name queued by a consumer (and not yet popped by
 * a handler) is fulfilled instead. Returns 0, MOQC_ERR_DUPLICATE if a live
 * track or a popped request has the name, MOQC_ERR_CLOSED after finish or
 * abort, MOQC_ERR_INVALID_ARGUMENT, MOQC_ERR_NOMEM. Takes an ingress publisher
 * token.
 */
MOQC_EXTERN int moqc_broadcast_producer_create_track(
    moqc_broadcast_producer *bp, const char *name, const moqc_track_info *info,
    moqc_track_producer **out);
/**
 * Makes a request visible to consumers at once, to be accepted later (no
 * dynamic handler is involved). Errors as create_track. Takes an ingress
 * publisher token.
 */
MOQC_EXTERN int moqc_broadcast_producer_reserve_track(
    moqc_broadcast_producer *bp, const char *name, moqc_track_request **out);
/**
 * Removes a track from the lookup (the track itself lives on with its handles).
 * MOQC_ERR_NOT_FOUND if absent.
 */
MOQC_EXTERN int
moqc_broadcast_producer_remove_track(moqc_broadcast_producer *bp,
                                     const char *name);
/** An unmetered consumer (owned by the caller). Returns 0 or MOQC_ERR_NOMEM. */
MOQC_EXTERN int moqc_broadcast_producer_consume(moqc_broadcast_producer *bp,
                                                moqc_broadcast_consumer **out);
/**
 * A handler for requests of unknown tracks (owned by the caller). While one
 * lives, consumers asking for an unknown name queue a request instead of
 * getting MOQC_ERR_NOT_FOUND, and the broadcast stays open even without
 * producers.
 */
MOQC_EXTERN int moqc_broadcast_producer_dynamic(moqc_broadcast_producer *bp,
                                                moqc_broadcast_dynamic **out);
/**
 * Ends the broadcast deliberately, even with other producer clones alive:
 * closed() reports MOQC_END, queued requests fail MOQC_ERR_NOT_FOUND, no new
 * tracks; existing tracks stay readable and writable.
 */
MOQC_EXTERN void moqc_broadcast_producer_finish(moqc_broadcast_producer *bp);
/**
 * Aborts the broadcast with err (non-negative becomes MOQC_ERR_CANCEL):
 * closed() and lookups of unknown names report err, queued requests fail with
 * err. Existing tracks are not aborted.
 */
MOQC_EXTERN void moqc_broadcast_producer_abort(moqc_broadcast_producer *bp,
                                               int err);
/** Another producer handle on the same broadcast. Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_broadcast_producer_clone(const moqc_broadcast_producer *bp,
                                              moqc_broadcast_producer **out);
/** Releases the handle; the last producer (and dynamic) closes the broadcast
 * with DROPPED. */
MOQC_EXTERN void moqc_broadcast_producer_del(moqc_broadcast_producer *bp);

/**
 * Pops the next queued track request, FIFO (*out owned by the caller; it stays
 * visible to consumers until accepted or rejected). Returns 0,
 * MOQC_ERR_PENDING, or once the broadcast is closed MOQC_END (finished) or the
 * close error.
 */
MOQC_EXTERN int
moqc_broadcast_dynamic_requested_track(moqc_broadcast_dynamic *d,
                                       moqc_track_request **out, moqc_waker *w);
/** Releases the handler; the last one rejects pending requests with
 * MOQC_ERR_DROPPED. */
MOQC_EXTERN void moqc_broadcast_dynamic_del(moqc_broadcast_dynamic *d);

/**
 * Looks up a track (*out owned by the caller, carrying bc's egress scope): a
 * live track or a pending request for the name (a track whose producers are all
 * gone is dropped from the lookup and not returned), else a new request queued
 * FIFO for a dynamic handler. Errors: the close error if the broadcast is
 * closed (MOQC_ERR_NOT_FOUND after finish), MOQC_ERR_NOT_FOUND with no handler,
 * MOQC_ERR_NOMEM. A lookup is not metered.
 */
MOQC_EXTERN int moqc_broadcast_consumer_track(moqc_broadcast_consumer *bc,
                                              const char *name,
                                              moqc_track_consumer **out);
/**
 * Reports whether the broadcast is closed. Returns MOQC_ERR_PENDING while open
 * (registering w, which may be NULL, to fire on close), MOQC_END after
 * moqc_broadcast_producer_finish, or the close error: MOQC_ERR_DROPPED when
 * every producer and dynamic handler is gone, or the abort error.
 */
MOQC_EXTERN int moqc_broadcast_consumer_closed(moqc_broadcast_consumer *bc,
                                               moqc_waker *w);
/** True when both handles share one broadcast (whatever their scopes). */
MOQC_EXTERN bool
moqc_broadcast_consumer_is_clone(const moqc_broadcast_consumer *a,
                                 const moqc_broadcast_consumer *b);
/** A clone carrying the same egress scope. Returns 0 or MOQC_ERR_NOMEM. */
MOQC_EXTERN int moqc_broadcast_consumer_clone(const moqc_broadcast_consumer *bc,
                                              moqc_broadcast_consumer **out);
/**
 * A clone stamped with the egress scope egress (NULL = unmetered); the clone
 * takes its own reference. Used by the origin at hand-off; an application may
 * stamp its own.
 */
MOQC_EXTERN int
moqc_broadcast_consumer_with_usage(const moqc_broadcast_consumer *bc,
                                   moqc_usage_scope *egress,
                                   moqc_broadcast_consumer **out);
/** Returns the egress scope the handle carries (borrowed; NULL when unmetered).
 */
MOQC_EXTERN moqc_usage_scope *
moqc_broadcast_consumer_usage(const moqc_broadcast_consumer *bc);
/** Releases the handle. bc may be NULL. */
MOQC_EXTERN void moqc_broadcast_consumer_del(moqc_broadcast_consumer *bc);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_MODEL_H */
