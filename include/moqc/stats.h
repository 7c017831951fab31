/*
 * moqc: the stats layer. It owns the usage sinks of the model, resolves
 * sessions to sinks, and turns them into readouts (spec/metering.md 6 and 7,
 * spec/upstream-model.md 3 and 4).
 *
 * - moqc_stats_registry: every sink by (absolute path, tier label, direction),
 * the session presence counters by (tier, auth root), the excluded prefixes.
 * Thread-safe.
 * - moqc_stats_session: a session's attribution context (implements
 * moqc_usage_ctx). Thread-safe.
 * - Readouts: snapshot (totals per tier and role, for /metrics; never reclaims)
 * and report (per path and tier detail, for the stats broadcast; reclaims what
 * only the registry references).
 * - Exports: Prometheus text format 0.0.4 with upstream's metric names, a JSON
 * readout, and the per-drain emission of the stats broadcast's tracks
 * (moqc_stats_emitter).
 *
 * Everything here is pure: no I/O, no clock, no thread of its own. Role names
 * on every export: "publisher" = egress (the node sends), "subscriber" =
 * ingress (the node receives).
 *
 * Since 0.1.0.
 */
#ifndef MOQC_STATS_H
#define MOQC_STATS_H

#include <moqc/mem.h>
#include <moqc/path.h>
#include <moqc/usage.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The stats counter list (STYLE.md 2.8): the same X-macro as
 * MOQC_USAGE_FOREACH, which generates the counters struct, the JSON keys and
 * the Prometheus names.
 */
#define MOQC_STATS_FOREACH(XX) MOQC_USAGE_FOREACH(XX)

/** The default excluded prefix, also the stats broadcast's prefix. */
#define MOQC_STATS_DEFAULT_PREFIX ".stats"

/* ---- Registry
 * --------------------------------------------------------------------------------
 */

typedef struct moqc_stats_registry moqc_stats_registry;

/**
 * Creates an enabled registry with one reference owned by the caller. exclude
 * lists n_exclude normalized path prefixes whose paths get NULL sinks
 * (segment-boundary match); exclude == NULL means the default, {".stats"}; a
 * non-NULL exclude with n_exclude == 0 excludes nothing. The strings are
 * copied. mem (NULL = default) must outlive the registry and everything derived
 * from it. Returns 0, MOQC_ERR_INVALID_ARGUMENT for a prefix that is not
 * normalized, or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_stats_registry_new(moqc_stats_registry **out,
                                        const moqc_str *exclude,
                                        size_t n_exclude, const moqc_mem *mem);
/**
 * Creates a disabled registry: every sink it hands out is NULL, sessions count
 * nothing, readouts are empty. Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_stats_registry_new_disabled(moqc_stats_registry **out,
                                                 const moqc_mem *mem);
/** Adds a reference (NULL allowed). Thread-safe. */
MOQC_EXTERN void moqc_stats_registry_incref(moqc_stats_registry *reg);
/**
 * Drops a reference (NULL allowed); the last frees the registry and its
 * references to sinks. Sinks still held elsewhere stay valid until their last
 * holder drops them. Thread-safe.
 */
MOQC_EXTERN void moqc_stats_registry_decref(moqc_stats_registry *reg);
/** Returns true unless reg is NULL or disabled. */
MOQC_EXTERN bool moqc_stats_registry_enabled(const moqc_stats_registry *reg);
/** Returns true when path lies under one of reg's excluded prefixes.
 * Thread-safe. */
MOQC_EXTERN bool moqc_stats_registry_excluded(const moqc_stats_registry *reg,
                                              moqc_str path);
/**
 * Resolves the sink of (tier, dir, absolute path) into *out with a new
 * reference owned by the caller, creating the entry on first use. *out is NULL
 * (and 0 returned) when reg is NULL or disabled or the path is excluded.
 * Returns 0 or MOQC_ERR_NOMEM. Thread-safe.
 */
MOQC_EXTERN int moqc_stats_registry_sink(moqc_stats_registry *reg,
                                         moqc_str tier, moqc_direction dir,
                                         moqc_str path, moqc_usage **out);

/* ---- Session context
 * ------------------------------------------------------------------------- */

typedef struct moqc_stats_session moqc_stats_session;

/**
 * Creates a session's stats context for (tier label, auth root) on reg (which
 * it references), with one reference owned by the caller. Counts presence:
 * sessions +1 for (tier, root) now, sessions_closed +1 when the last reference
 * goes; every scope handed out holds a reference, so presence ends only when
 * the session and every model handle derived from it are gone. On a NULL or
 * disabled registry the context is a valid no-op (its scopes are NULL). Returns
 * 0 or MOQC_ERR_NOMEM. Thread-safe.
 */
MOQC_EXTERN int moqc_stats_session_new(moqc_stats_session **out,
                                       moqc_stats_registry *reg, moqc_str tier,
                                       moqc_str root);
/** The session as a moqc_usage_ctx (the same object; pass it to the origin).
 * Never NULL for s. */
MOQC_EXTERN moqc_usage_ctx *moqc_stats_session_ctx(moqc_stats_session *s);
/** Adds a reference (NULL allowed). Thread-safe. */
MOQC_EXTERN void moqc_stats_session_incref(moqc_stats_session *s);
/** Drops a reference (NULL allowed). Thread-safe. */
MOQC_EXTERN void moqc_stats_session_decref(moqc_stats_session *s);
/**
 * Resolves (dir, absolute path) to the session's scope for it, with a new
 * reference owned by the caller (same as moqc_usage_ctx_scope on the context).
 * One scope object exists per (session, dir, path) at a time; it carries the
 * registry sink and, on egress, the session's viewer refcount for the path:
 * viewer_open 0 -> 1 bumps broadcasts, viewer_close 1 -> 0 bumps
 * broadcasts_closed. Ingress scopes ignore viewer calls. Returns NULL when the
 * path is not metered (disabled registry, excluded prefix) or on out-of-memory.
 * Thread-safe.
 */
MOQC_EXTERN moqc_usage_scope *moqc_stats_session_scope(moqc_stats_session *s,
                                                       moqc_direction dir,
                                                       moqc_str abs_path);

/* ---- Readouts
 * --------------------------------------------------------------------------------
 */

/** Session presence counters: live sessions = sessions - sessions_closed. */
typedef struct moqc_stats_presence {
  uint64_t sessions;
  uint64_t sessions_closed;
} moqc_stats_presence;

/** Totals of one (tier, role). */
typedef struct moqc_stats_traffic_row {
  moqc_str tier;
  moqc_direction dir;
  moqc_usage_counters c;
} moqc_stats_traffic_row;

/** Presence totals of one tier. */
typedef struct moqc_stats_tier_sessions {
  moqc_str tier;
  moqc_stats_presence p;
} moqc_stats_tier_sessions;

/**
 * Host rollup. traffic: sorted by tier label (bytewise), publisher (egress)
 * before subscriber (ingress), both roles for every tier present. sessions:
 * sorted by tier label. Strings point into the snapshot. Totals include the
 * final values of entries reclaimed by earlier reports, so they never decrease
 * while the registry lives.
 */
typedef struct moqc_stats_snapshot {
  moqc_stats_traffic_row *traffic;
  size_t n_traffic;
  moqc_stats_tier_sessions *sessions;
  size_t n_sessions;
  const moqc_mem *mem;
} moqc_stats_snapshot;

/**
 * Builds a snapshot of reg into *out (owned by the caller, free with
 * moqc_stats_snapshot_del). Never reclaims. A NULL or disabled registry gives
 * an empty snapshot. Returns 0 or MOQC_ERR_NOMEM. Thread-safe.
 */
MOQC_EXTERN int moqc_stats_registry_snapshot(moqc_stats_registry *reg,
                                             moqc_stats_snapshot **out);
/** Frees a snapshot (NULL allowed). */
MOQC_EXTERN void moqc_stats_snapshot_del(moqc_stats_snapshot *snap);

/** Detail of one (path, tier): both roles. */
typedef struct moqc_stats_traffic_entry {
  moqc_str path;
  moqc_str tier;
  moqc_usage_counters publisher;  /**< egress */
  moqc_usage_counters subscriber; /**< ingress */
  /**
   * True when this report reclaimed the entry: these values are final, and a
   * later entry for the same (path, tier) starts a new segment from zero (sum
   * across segments).
   */
  bool reclaimed;
} moqc_stats_traffic_entry;

/** Presence of one (tier, auth root). */
typedef struct moqc_stats_session_entry {
  moqc_str tier;
  moqc_str root;
  moqc_stats_presence presence;
  bool reclaimed; /**< as moqc_stats_traffic_entry.reclaimed */
} moqc_stats_session_entry;

/**
 * Per-entry detail. entries sorted by (tier, path), sessions by (tier, root);
 * strings point into the report.
 */
typedef struct moqc_stats_report {
  moqc_stats_traffic_entry *entries;
  size_t n_entries;
  moqc_stats_session_entry *sessions;
  size_t n_sessions;
  const moqc_mem *mem;
} moqc_stats_report;

/**
 * Builds the detail report of reg into *out (free with moqc_stats_report_del),
 * then reclaims every path entry whose sinks only the registry references and
 * every presence entry only the registry references: their values in this
 * report are final, so a closed entry is reported exactly once, and no bump can
 * land on a reclaimed sink. On error nothing is reclaimed. A NULL or disabled
 * registry gives an empty report. Returns 0 or MOQC_ERR_NOMEM. Thread-safe;
 * meant for one drainer (the stats broadcast).
 */
MOQC_EXTERN int moqc_stats_registry_report(moqc_stats_registry *reg,
                                           moqc_stats_report **out);
/** As moqc_stats_registry_report, but never reclaims (for read-only readouts
 * such as HTTP). */
MOQC_EXTERN int moqc_stats_registry_detail(moqc_stats_registry *reg,
                                           moqc_stats_report **out);
/** Frees a report (NULL allowed). */
MOQC_EXTERN void moqc_stats_report_del(moqc_stats_report *rep);

/* ---- Exports
 * ---------------------------------------------------------------------------------
 */

/**
 * Writes snap in Prometheus text format 0.0.4 into buf (capacity cap),
 * NUL-terminated: moq_relay_<name>{tier="...",role="publisher|subscriber"} for
 * every exported counter of MOQC_USAGE_FOREACH, then
 * moq_relay_sessions_opened_total / _closed_total {tier="..."}, each metric
 * with its HELP and TYPE lines; label values escaped. Returns the length
 * without the NUL, or MOQC_ERR_NOBUF when cap is too small (buf contents then
 * unspecified). Pure.
 */
MOQC_EXTERN moqc_ssize moqc_stats_prometheus(const moqc_stats_snapshot *snap,
                                             char *buf, size_t cap);
/**
 * As moqc_stats_prometheus into a fresh NUL-terminated string *out (free with
 * moqc_mem_free(mem, *out)); *len gets the length. Returns 0 or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_stats_prometheus_alloc(const moqc_stats_snapshot *snap,
                                            const moqc_mem *mem, char **out,
                                            size_t *len);

/**
 * Writes the JSON readout of rep into buf, NUL-terminated:
 * {"tiers": {"<tier>": {"publisher": {"<path>": {counters}}, "subscriber":
 * {...}, "sessions": {"<root>": {"sessions": n, "sessions_closed": n}}}}}. The
 * default tier is the key
 * "", counters are in schema order (MOQC_USAGE_FOREACH), a role whose counters
 * are all zero for a path is left out (an unused slot). Returns the length or
 * MOQC_ERR_NOBUF. Pure.
 */
MOQC_EXTERN moqc_ssize moqc_stats_json(const moqc_stats_report *rep, char *buf,
                                       size_t cap);
/** As moqc_stats_json into a fresh string (free with moqc_mem_free). Returns 0
 * or NOMEM. */
MOQC_EXTERN int moqc_stats_json_alloc(const moqc_stats_report *rep,
                                      const moqc_mem *mem, char **out,
                                      size_t *len);

/* ---- Stats broadcast emission (spec/upstream-model.md 4.4)
 * ------------------------------------ */

typedef struct moqc_stats_emitter moqc_stats_emitter;

/** Which document of a tier a frame belongs to. */
typedef enum moqc_stats_doc {
  MOQC_STATS_DOC_PUBLISHER = 0, /**< "publisher.json": egress traffic by path */
  MOQC_STATS_DOC_SUBSCRIBER =
      1,                      /**< "subscriber.json": ingress traffic by path */
  MOQC_STATS_DOC_SESSIONS = 2 /**< "sessions.json": presence by auth root */
} moqc_stats_doc;

/** One track's document after a drain. */
typedef struct moqc_stats_frame {
  moqc_str tier; /**< tier label ("" = default) */
  moqc_stats_doc doc;
  moqc_str track; /**< "publisher.json" on the default tier,
                     "<tier>/publisher.json" otherwise */
  moqc_str json;  /**< the whole document, e.g. {} or {"room/cam":{...}} */
  bool write; /**< true when the document differs from the last one written (or
                 is the first) */
} moqc_stats_frame;

/** The result of one drain: three frames per known tier, tiers sorted, default
 * tier first. */
typedef struct moqc_stats_emission {
  moqc_stats_frame *frames;
  size_t n_frames;
  const moqc_mem *mem;
} moqc_stats_emission;

/**
 * Creates an emitter: the change-detection state of one stats broadcast. The
 * default tier's three tracks exist from the start. Returns 0 or
 * MOQC_ERR_NOMEM. Not thread-safe (one drainer).
 */
MOQC_EXTERN int moqc_stats_emitter_new(moqc_stats_emitter **out,
                                       const moqc_mem *mem);
/** Frees an emitter (NULL allowed). */
MOQC_EXTERN void moqc_stats_emitter_del(moqc_stats_emitter *e);
/**
 * Applies one drain's report (from moqc_stats_registry_report) and builds every
 * track's document: an entry (path, tier, role) is included iff it is live (not
 * idle) or changed since it was last included (an entry never included compares
 * against zeros, so unused slots never appear); sessions are live while
 * sessions > sessions_closed. A tier first seen in a report gets its three
 * tracks, kept for the emitter's life; a track with no entries this drain holds
 * {}. A frame is marked write only when its document differs from the last one
 * written on that track. Change state is forgotten for entries absent from the
 * report. On error (MOQC_ERR_NOMEM) the emitter state is unchanged. The
 * emission is owned by the caller (moqc_stats_emission_del).
 */
MOQC_EXTERN int moqc_stats_emitter_drain(moqc_stats_emitter *e,
                                         const moqc_stats_report *rep,
                                         moqc_stats_emission **out);
/** Frees an emission (NULL allowed). */
MOQC_EXTERN void moqc_stats_emission_del(moqc_stats_emission *em);

/* ==== Stats broadcast publisher (spec/upstream-model.md 4) ===============
 *
 * Publishes the documents of moqc_stats_emitter as the stats broadcast
 * <prefix>/node[/<node>] into an origin: per tier the plain JSON tracks
 * publisher.json, subscriber.json and sessions.json ("<tier>/publisher.json"
 * on a named tier), each change written as a new group holding one frame.
 * Sans-I/O: no clock, timer or thread; the relay calls
 * moqc_stats_publisher_drain from its own interval timer and
 * moqc_stats_publisher_serve when the settings' waker fires. The compressed
 * ".z" tracks of upstream are not produced. One thread at a time per publisher.
 * Since 0.1.0.
 */

typedef struct moqc_stats_publisher moqc_stats_publisher;
/* Declared in origin.h and model.h; repeated so this header stands alone. */
typedef struct moqc_origin_producer moqc_origin_producer;
typedef struct moqc_waker moqc_waker;

/** The default bound on requested-but-never-recorded tier tracks. */
#define MOQC_STATS_MAX_REQUESTED_TRACKS 64
/** The longest track name a request may have to be accepted. */
#define MOQC_STATS_MAX_TRACK_NAME 1024

/** The current version of moqc_stats_publisher_settings. */
#define MOQC_STATS_PUBLISHER_SETTINGS_V1 1
#define MOQC_STATS_PUBLISHER_SETTINGS_VERSION MOQC_STATS_PUBLISHER_SETTINGS_V1

/** Settings of a stats publisher, copied at creation. */
typedef struct moqc_stats_publisher_settings {
  /**
   * The broadcast prefix (ptr NULL = MOQC_STATS_DEFAULT_PREFIX). Normalized
   * here ("/.stats/" is ".stats"); must not be empty once normalized.
   */
  moqc_str prefix;
  /**
   * The node name, possibly several segments ("sjc/1"); normalized here
   * ("/sjc//1/" is "sjc/1"). Empty (or only slashes) = no node segment: the
   * broadcast is "<prefix>/node".
   */
  moqc_str node;
  /**
   * Optional (NULL = none; the publisher takes its own reference): fired,
   * possibly on another thread, when a consumer requests a track that does not
   * exist yet; the owner then calls moqc_stats_publisher_serve on its own
   * thread. Without it, requests are served at the next drain.
   */
  moqc_waker *wake;
  /**
   * How many requested tier tracks may wait for their tier to record
   * (default MOQC_STATS_MAX_REQUESTED_TRACKS); requests beyond are rejected.
   */
  size_t max_requested;
  /** The publisher's allocator (NULL = default); must outlive it. */
  const moqc_mem *mem;
} moqc_stats_publisher_settings;

/** Fills s with the defaults: ".stats", no node, no waker, 64, default mem. */
MOQC_EXTERN void
moqc_stats_publisher_settings_default(moqc_stats_publisher_settings *s);

/**
 * Creates a stats publisher (*out owned by the caller) draining reg (which it
 * references) into the broadcast <prefix>/node[/<node>], published through an
 * untagged clone of origin (the path is relative to origin's root; the caller
 * keeps origin). The default tier's three tracks exist at once, each holding
 * {} as its first group; the broadcast has a dynamic handler for requests of
 * tier tracks that do not exist yet (see moqc_stats_publisher_serve).
 * settings NULL = defaults; use the moqc_stats_publisher_new macro.
 * Errors: MOQC_ERR_INVALID_ARGUMENT for a NULL reg or origin, an unknown
 * settings version, an empty prefix, or an enabled registry that does not
 * exclude the broadcast's absolute path (the stats of the stats broadcast
 * would feed back into it: create the registry with the prefix among its
 * exclusions, which moqc_stats_registry_new(.., NULL, 0, ..) does for
 * ".stats"); MOQC_ERR_UNAUTHORIZED or MOQC_ERR_BOUNDS_EXCEEDED from the
 * origin; MOQC_ERR_NOMEM. On error nothing is published.
 */
MOQC_EXTERN int moqc_stats_publisher_new_versioned(
    moqc_stats_publisher **out, moqc_stats_registry *reg,
    const moqc_origin_producer *origin, int settings_version,
    const moqc_stats_publisher_settings *settings);
#define moqc_stats_publisher_new(out, reg, origin, settings)                   \
  moqc_stats_publisher_new_versioned((out), (reg), (origin),                   \
                                     MOQC_STATS_PUBLISHER_SETTINGS_VERSION,    \
                                     (settings))

/**
 * Returns the broadcast path, relative to the origin handle's root (valid as
 * long as the publisher).
 */
MOQC_EXTERN moqc_str moqc_stats_publisher_path(const moqc_stats_publisher *p);

/**
 * One interval tick (call it once at start-up too: upstream's first tick
 * fires at once): serves queued track requests, takes
 * moqc_stats_registry_report (which reclaims closed entries), runs the
 * emitter, and writes every document that differs from the last one written
 * on its track as a new group of one frame (timestamp now in milliseconds; now
 * also drives the tracks' group retention). A named tier's tracks are created
 * the first time it appears in a report (or adopted when they were
 * requested). Unchanged documents write nothing. *written (may be NULL) gets
 * the number of groups written. Returns 0 or MOQC_ERR_NOMEM: when the emitter
 * failed, the report is kept and emitted first at the next drain, so reclaimed
 * final values are not lost; a failed write is retried at the next drain with
 * the document of that drain.
 */
MOQC_EXTERN int moqc_stats_publisher_drain(moqc_stats_publisher *p,
                                           moqc_tstamp now, size_t *written);

/**
 * Serves the queued requests for tracks that do not exist: a name of the shape
 * [<tier>/]{publisher|subscriber|sessions}.json (tier non-empty and
 * normalized: no leading, trailing or double '/'; name at most
 * MOQC_STATS_MAX_TRACK_NAME bytes) is accepted and holds {} until its tier
 * records; other names are rejected MOQC_ERR_NOT_FOUND (".z" names included);
 * beyond max_requested waiting tracks, MOQC_ERR_BOUNDS_EXCEEDED. First
 * releases waiting requested tracks that no consumer uses any more (their
 * quota comes back). Returns 0 or MOQC_ERR_NOMEM (a request that could not be
 * served is rejected with it).
 */
MOQC_EXTERN int moqc_stats_publisher_serve(moqc_stats_publisher *p,
                                           moqc_tstamp now);

/** Returns the number of requested tier tracks waiting for their tier. */
MOQC_EXTERN size_t
moqc_stats_publisher_requested(const moqc_stats_publisher *p);

/**
 * Finishes every track, ends the broadcast and unpublishes it, then frees the
 * publisher (NULL allowed). A report kept after a failed drain is dropped.
 */
MOQC_EXTERN void moqc_stats_publisher_del(moqc_stats_publisher *p);

/**
 * Classifies a stats track name: returns true for
 * [<tier>/]{publisher|subscriber|sessions}.json with the rules of
 * moqc_stats_publisher_serve, storing the tier label ("" for the default tier)
 * in *tier and the document in *doc (either may be NULL). Pure.
 */
MOQC_EXTERN bool moqc_stats_track_name_parse(moqc_str name, moqc_str *tier,
                                             moqc_stats_doc *doc);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_STATS_H */
