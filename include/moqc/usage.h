/*
 * moqc: usage sinks, the metering primitive of the model (spec/metering.md).
 *
 * A sink (moqc_usage) is a refcounted set of 64-bit atomic counters for one
 * (tier, direction, broadcast path). The model bumps the sinks it is given; a
 * NULL sink is unmetered and costs no atomic operation. Bump functions are
 * public so that an application or a gateway can meter its own traffic into the
 * same sink.
 *
 * Attribution reaches the model through two small interfaces, implemented by
 * the stats layer (moqc_stats_session) or by an application:
 * - moqc_usage_scope: one sink plus the viewer refcount of one (session,
 * absolute path). Model handles hold a scope reference; the first live
 * subscription of a session to a path opens a viewer, the last one to close
 * closes it.
 * - moqc_usage_ctx: a session's attribution context; the origin asks it for a
 * scope when it hands a broadcast to the session (egress) or when the session
 * creates a broadcast (ingress).
 *
 * Thread-safe: counters are atomics (open and payload bumps relaxed, closed
 * bumps release; moqc_usage_read loads every closed counter with acquire
 * first).
 *
 * Since 0.1.0.
 */
#ifndef MOQC_USAGE_H
#define MOQC_USAGE_H

#include <moqc/mem.h>
#include <moqc/path.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every counter, in the order of the stats JSON schema: XX(field, closed_of,
 * prom, help).
 * - field: the struct member and the JSON key;
 * - closed_of: the open counter a *_closed counter pairs with, or NONE;
 * - prom: the Prometheus metric name after the "moq_relay_" prefix (upstream's
 * names), or NULL when the counter is not exported to Prometheus (announce
 * counters are not);
 * - help: the Prometheus HELP text (NULL when prom is NULL).
 * The struct, the JSON output and the Prometheus output are all generated from
 * this one list.
 */
#define MOQC_USAGE_FOREACH(XX)                                                 \
  XX(announced, NONE, NULL, NULL)                                              \
  XX(announced_closed, announced, NULL, NULL)                                  \
  XX(announced_bytes, NONE, NULL, NULL)                                        \
  XX(broadcasts, NONE, "viewers_opened_total",                                 \
     "Viewers opened: a session's first live "                                 \
     "subscription to a broadcast path")                                       \
  XX(broadcasts_closed, broadcasts, "viewers_closed_total",                    \
     "Viewers closed: a session's last live subscription to a broadcast path " \
     "ended")                                                                  \
  XX(subscriptions, NONE, "subscriptions_opened_total",                        \
     "Track subscriptions opened")                                             \
  XX(subscriptions_closed, subscriptions, "subscriptions_closed_total",        \
     "Track subscriptions closed")                                             \
  XX(fetches, NONE, "fetches_total", "Fetch requests")                         \
  XX(bytes, NONE, "bytes_total", "Payload bytes moved through the model")      \
  XX(frames, NONE, "frames_total", "Frames moved through the model")           \
  XX(groups, NONE, "groups_total", "Groups moved through the model")           \
  XX(datagrams, NONE, "datagrams_total", "Datagrams moved through the model")

/**
 * Field indexes in schema order: MOQC_USAGE_FIELD_<field> (e.g.
 * MOQC_USAGE_FIELD_bytes), then MOQC_USAGE_FIELD_COUNT. MOQC_USAGE_FIELD_NONE
 * (-1) is the closed_of of an open counter.
 */
typedef enum moqc_usage_field {
  MOQC_USAGE_FIELD_NONE = -1,
#define MOQC__USAGE_IDX(f, c, p, h) MOQC_USAGE_FIELD_##f,
  MOQC_USAGE_FOREACH(MOQC__USAGE_IDX)
#undef MOQC__USAGE_IDX
      MOQC_USAGE_FIELD_COUNT
} moqc_usage_field;

/** A readout of one sink: plain values, consistent in that no closed exceeds
 * its open. */
typedef struct moqc_usage_counters {
#define MOQC__USAGE_FIELD(f, c, p, h) uint64_t f;
  MOQC_USAGE_FOREACH(MOQC__USAGE_FIELD)
#undef MOQC__USAGE_FIELD
} moqc_usage_counters;

/**
 * Returns the name of field i in schema order ("announced" ... "datagrams"), or
 * NULL when i is out of range. Pure.
 */
MOQC_EXTERN const char *moqc_usage_field_name(int i);
/**
 * Returns the Prometheus metric name of field i without the "moq_relay_" prefix
 * ("bytes_total"), or NULL when the field is not exported or i is out of range.
 * Pure.
 */
MOQC_EXTERN const char *moqc_usage_field_prom_name(int i);
/** Returns the Prometheus HELP text of field i, or NULL as
 * moqc_usage_field_prom_name. Pure. */
MOQC_EXTERN const char *moqc_usage_field_prom_help(int i);
/** Returns the index of the open counter that field i closes, or
 * MOQC_USAGE_FIELD_NONE. Pure. */
MOQC_EXTERN int moqc_usage_field_closed_of(int i);
/** Returns field i of c (0 when i is out of range). Pure. */
MOQC_EXTERN uint64_t moqc_usage_counters_get(const moqc_usage_counters *c,
                                             int i);
/** Adds every field of b into a (wrapping on overflow). Pure. */
MOQC_EXTERN void moqc_usage_counters_add(moqc_usage_counters *a,
                                         const moqc_usage_counters *b);
/**
 * Returns true when c is idle: announced, subscriptions and broadcasts each
 * equal their closed counter (upstream Traffic::is_idle). Pure.
 */
MOQC_EXTERN bool moqc_usage_counters_idle(const moqc_usage_counters *c);

/** Traffic direction. Exports name EGRESS "publisher" and INGRESS "subscriber"
 * (upstream). */
typedef enum moqc_direction {
  MOQC_DIRECTION_INGRESS = 0,
  MOQC_DIRECTION_EGRESS = 1
} moqc_direction;

/** Returns the export role of dir: "publisher" for egress, "subscriber" for
 * ingress. Pure. */
MOQC_EXTERN const char *moqc_direction_role(moqc_direction dir);

typedef struct moqc_usage moqc_usage;

/**
 * Creates a sink with all counters 0 and one reference owned by the caller. mem
 * (NULL = default) must outlive the sink. Returns 0 or MOQC_ERR_NOMEM.
 * Thread-safe.
 */
MOQC_EXTERN int moqc_usage_new(moqc_usage **out, const moqc_mem *mem);
/** Adds a reference. u may be NULL. Thread-safe. */
MOQC_EXTERN void moqc_usage_incref(moqc_usage *u);
/** Drops a reference; the last frees. u may be NULL. Thread-safe. */
MOQC_EXTERN void moqc_usage_decref(moqc_usage *u);
/**
 * Returns the reference count (0 for NULL), loaded with acquire. The registry
 * reclaims sinks that only it references. Thread-safe.
 */
MOQC_EXTERN uint32_t moqc_usage_refcount(const moqc_usage *u);

/**
 * Reads every counter into *out: closed counters with acquire first, then the
 * rest relaxed, so no closed value exceeds its open value. A NULL sink reads
 * all zeros. Thread-safe.
 */
MOQC_EXTERN void moqc_usage_read(const moqc_usage *u, moqc_usage_counters *out);

/*
 * Bumps. Each is a no-op (no atomic operation) for a NULL sink; n == 0 bumps
 * nothing. Open and payload bumps are relaxed; *_closed bumps are release. All
 * are thread-safe.
 */
/** groups += n. */
MOQC_EXTERN void moqc_usage_add_groups(moqc_usage *u, uint64_t n);
/** frames += n. */
MOQC_EXTERN void moqc_usage_add_frames(moqc_usage *u, uint64_t n);
/** bytes += n (payload bytes as the model holds them). */
MOQC_EXTERN void moqc_usage_add_bytes(moqc_usage *u, uint64_t n);
/** One datagram of len bytes: datagrams+1, groups+1, frames+1, bytes+len. */
MOQC_EXTERN void moqc_usage_add_datagram(moqc_usage *u, uint64_t len);
/** fetches += 1 (egress, at request time). */
MOQC_EXTERN void moqc_usage_add_fetch(moqc_usage *u);
/** subscriptions += 1. */
MOQC_EXTERN void moqc_usage_open_subscription(moqc_usage *u);
/** subscriptions_closed += 1 (release). */
MOQC_EXTERN void moqc_usage_close_subscription(moqc_usage *u);
/** broadcasts += 1 (a viewer on egress, a publisher on ingress). */
MOQC_EXTERN void moqc_usage_open_broadcast(moqc_usage *u);
/** broadcasts_closed += 1 (release). */
MOQC_EXTERN void moqc_usage_close_broadcast(moqc_usage *u);
/** announced+1 and announced_bytes += path_len. */
MOQC_EXTERN void moqc_usage_open_announce(moqc_usage *u, uint64_t path_len);
/** announced_bytes += path_len, then announced_closed+1 (release). */
MOQC_EXTERN void moqc_usage_close_announce(moqc_usage *u, uint64_t path_len);

typedef struct moqc_usage_scope moqc_usage_scope;

/** The operations of a scope; the implementer supplies them. All must be
 * thread-safe. */
typedef struct moqc_usage_scope_ops {
  /** A live subscription to the scope's path resolved (may open a viewer). */
  void (*viewer_open)(moqc_usage_scope *scope);
  /** A live subscription ended (may close the viewer). */
  void (*viewer_close)(moqc_usage_scope *scope);
  void (*incref)(moqc_usage_scope *scope);
  void (*decref)(moqc_usage_scope *scope);
} moqc_usage_scope_ops;

/**
 * A resolved attribution for one (session, direction, absolute path).
 * Implementers embed it as the first member of their own struct. sink may be
 * NULL (unmetered, yet viewer calls still go to ops); path is the absolute
 * broadcast path, valid as long as the scope.
 */
struct moqc_usage_scope {
  const moqc_usage_scope_ops *ops;
  moqc_usage *sink;
  moqc_str path;
};

/** Adds a reference to scope (NULL allowed). Thread-safe. */
MOQC_EXTERN void moqc_usage_scope_incref(moqc_usage_scope *scope);
/** Drops a reference to scope (NULL allowed). Thread-safe. */
MOQC_EXTERN void moqc_usage_scope_decref(moqc_usage_scope *scope);
/** Calls scope's viewer_open (NULL scope or NULL op: nothing). Thread-safe. */
MOQC_EXTERN void moqc_usage_scope_viewer_open(moqc_usage_scope *scope);
/** Calls scope's viewer_close (NULL scope or NULL op: nothing). Thread-safe. */
MOQC_EXTERN void moqc_usage_scope_viewer_close(moqc_usage_scope *scope);
/** Returns scope's sink, or NULL for a NULL scope (unmetered). */
MOQC_EXTERN moqc_usage *moqc_usage_scope_sink(const moqc_usage_scope *scope);

typedef struct moqc_usage_ctx moqc_usage_ctx;

/** The operations of a session's attribution context. All must be thread-safe.
 */
typedef struct moqc_usage_ctx_ops {
  /**
   * Resolves (direction, absolute path) to a scope with a new reference, or
   * NULL when the path is not metered (disabled registry, excluded prefix) or
   * on out-of-memory.
   */
  moqc_usage_scope *(*scope)(moqc_usage_ctx *ctx, moqc_direction dir,
                             moqc_str abs_path);
  void (*incref)(moqc_usage_ctx *ctx);
  void (*decref)(moqc_usage_ctx *ctx);
} moqc_usage_ctx_ops;

/** A session's attribution context. Implementers embed it as the first member.
 */
struct moqc_usage_ctx {
  const moqc_usage_ctx_ops *ops;
};

/** Resolves a scope through ctx (NULL ctx gives NULL). The caller owns the
 * returned reference. */
MOQC_EXTERN moqc_usage_scope *moqc_usage_ctx_scope(moqc_usage_ctx *ctx,
                                                   moqc_direction dir,
                                                   moqc_str abs_path);
/** Adds a reference to ctx (NULL allowed). */
MOQC_EXTERN void moqc_usage_ctx_incref(moqc_usage_ctx *ctx);
/** Drops a reference to ctx (NULL allowed). */
MOQC_EXTERN void moqc_usage_ctx_decref(moqc_usage_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_USAGE_H */
