/*
 * moqc: sessions and the abstract stream transport they speak through.
 *
 * A session is a sans-I/O state machine (STYLE.md 2.3): it never opens a socket, reads a clock,
 * starts a thread or owns a timer. It speaks streams, not QUIC, following the nghttp3 contract:
 *
 * - The transport (an adapter: QUIC, WebTransport, WebSocket + QMux, or the in-memory pair used in
 *   tests) implements moqc_transport_ops: open streams, reset them, stop them, send datagrams,
 *   close, and wake its own loop.
 * - The session implements moqc_stream_app_ops (moqc_session_app_ops() returns them) and the
 *   transport drives it: moqc_session_read_stream() hands received bytes in and returns the
 *   bytes consumed, which the transport credits back to flow control;
 *   moqc_session_writev_stream() pulls the next bytes to send (chosen by the session's
 *   priorities); the transport reports moqc_session_add_write_offset() when it took bytes and
 *   moqc_session_add_ack_offset() when the peer acknowledged them. Until acknowledged, the
 *   session keeps the referenced payload alive (rcbuf references from the model, never copied per
 *   viewer), so the transport may send straight from the vectors it was given.
 *
 * Stream ids follow QUIC numbering on every transport: bit 0 set = opened by the server, bit 1
 * set = unidirectional. Time is always the caller's (moqc_tstamp ts, monotonic nanoseconds).
 *
 * Threads: a session and its transport belong to one thread at a time, the one whose loop drives
 * them; no function here is thread-safe except moqc_transport_ops.wake, which the session calls
 * from model wakers that may run on any thread. No session function may be called from inside a
 * transport operation, and the session calls no transport operation re-entrantly.
 *
 * Everything here was added in 0.1.0. See docs/SESSION.md.
 */
#ifndef MOQC_SESSION_H
#define MOQC_SESSION_H

#include <moqc/error.h>
#include <moqc/mem.h>
#include <moqc/path.h>
#include <moqc/usage.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A stream id in QUIC numbering (62-bit, never negative for a real stream). */
typedef int64_t moqc_stream_id;

/** No stream: returned by writev when nothing is ready. */
#define MOQC_STREAM_NONE ((moqc_stream_id)-1)

/** Returns true when id names a unidirectional stream. */
#define MOQC_STREAM_IS_UNI(id) (((id)&2) != 0)
/** Returns true when id names a stream opened by the server. */
#define MOQC_STREAM_IS_SERVER(id) (((id)&1) != 0)

/** A byte range to send. base stays valid until the range is acknowledged. */
typedef struct moqc_vec {
  const uint8_t *base;
  size_t len;
} moqc_vec;

/* ---- The transport, as seen by a session ------------------------------------------------------ */

/**
 * What a transport can tell about its connection right now (moqc_transport_ops.get_stats). Each
 * estimate is valid only when its MOQC_TRANSPORT_STATS_* bit is set in valid; a valid 0 is a real
 * zero (nothing sent yet), not "unknown".
 */
typedef struct moqc_transport_stats {
  /** MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE: which fields below are known. */
  uint32_t valid;
  /** The smoothed round-trip time, in nanoseconds. */
  moqc_tstamp smoothed_rtt;
  /** The estimated rate the connection can send at, in bits per second. */
  uint64_t send_bitrate;
} moqc_transport_stats;

/** moqc_transport_stats.smoothed_rtt is known. */
#define MOQC_TRANSPORT_STATS_RTT 0x1U
/** moqc_transport_stats.send_bitrate is known. */
#define MOQC_TRANSPORT_STATS_BITRATE 0x2U

/**
 * The operations a transport implements for the session driving it. Every operation receives the
 * transport's user_data. None may call back into the session synchronously (the session is in the
 * middle of a call): a transport queues the effect and reports it later through the
 * moqc_session_* entry points. Copied at session creation.
 */
typedef struct moqc_transport_ops {
  /**
   * Opens a locally initiated stream (uni when uni is true) and stores its id. Returns 0, or
   * MOQC_ERR_WOULD_BLOCK when the peer's stream limit is reached (the session retries after the
   * next moqc_session_poll), or MOQC_ERR_CLOSED once the transport is closing.
   */
  int (*open_stream)(void *user_data, bool uni, moqc_stream_id *id);
  /**
   * Tells the transport that a stream has new data (or a FIN) to pull with
   * moqc_session_writev_stream. Never fails; may be a no-op for a transport that always polls.
   */
  void (*resume_stream)(void *user_data, moqc_stream_id id);
  /**
   * Abandons the sending side of a stream with a moq-lite wire code (RESET_STREAM). Unacknowledged
   * data is dropped by the session right after this call. Returns 0 or MOQC_ERR_NOT_FOUND.
   */
  int (*reset_stream)(void *user_data, moqc_stream_id id, uint64_t code);
  /** Asks the peer to stop sending on a stream (STOP_SENDING) with a wire code. Returns 0 or
   * MOQC_ERR_NOT_FOUND. */
  int (*stop_sending)(void *user_data, moqc_stream_id id, uint64_t code);
  /**
   * Sends one unreliable datagram; data is copied. Returns 0, or MOQC_ERR_FRAME_TOO_LARGE /
   * MOQC_ERR_UNSUPPORTED (the datagram is dropped; not an error for the session).
   */
  int (*send_datagram)(void *user_data, const uint8_t *data, size_t len);
  /**
   * Closes the whole connection with a moq-lite wire code and a reason (reason[0..reason_len),
   * copied). The session makes no transport call afterwards.
   */
  void (*close)(void *user_data, uint64_t code, const char *reason, size_t reason_len);
  /**
   * Thread-safe: asks the transport's loop to call moqc_session_poll soon. Called from model
   * wakers, possibly on another thread, possibly while the loop is inside a session call; never
   * after moqc_session_del returned (the session closes its waker first). A transport should
   * also poll the session when the peer grants more streams, since a session refused with
   * MOQC_ERR_WOULD_BLOCK retries on poll.
   */
  void (*wake)(void *user_data);
  /**
   * Optional (NULL = the transport cannot measure its path): fills *out with the connection's
   * current estimates (smoothed RTT, send bitrate) and returns 0, or returns an error (e.g.
   * MOQC_ERR_CLOSED, MOQC_ERR_UNSUPPORTED) when it cannot measure now. Never blocks; called from
   * the transport's own thread only. The session announces Probe level Report in its lite-05
   * SETUP and answers a peer's Probe stream with PROBE messages only when this succeeds.
   */
  int (*get_stats)(void *user_data, moqc_transport_stats *out);
} moqc_transport_ops;

/** A transport handle: its operations and their user_data. Copied at session creation. */
typedef struct moqc_transport {
  const moqc_transport_ops *ops;
  void *user_data;
} moqc_transport;

/* ---- A stream application, as seen by a transport ----------------------------------------------- */

/**
 * The operations a transport calls on the stream application it carries (a session, or a test
 * double). moqc_session_app_ops() returns the session's implementation, where app is the
 * moqc_session. Each mirrors the moqc_session_* function of the same name: see those for the
 * contract. A transport must not call them re-entrantly from inside a moqc_transport_ops call.
 */
typedef struct moqc_stream_app_ops {
  moqc_ssize (*read_stream)(void *app, moqc_stream_id id, const uint8_t *data, size_t len,
                            bool fin, moqc_tstamp ts);
  moqc_ssize (*writev_stream)(void *app, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                              size_t veccnt, moqc_tstamp ts);
  int (*add_write_offset)(void *app, moqc_stream_id id, size_t n);
  int (*add_ack_offset)(void *app, moqc_stream_id id, uint64_t n);
  int (*block_stream)(void *app, moqc_stream_id id);
  int (*unblock_stream)(void *app, moqc_stream_id id);
  int (*recv_reset)(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts);
  int (*recv_stop_sending)(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts);
  int (*close_stream)(void *app, moqc_stream_id id, moqc_tstamp ts);
  int (*recv_datagram)(void *app, const uint8_t *data, size_t len, moqc_tstamp ts);
  int (*poll)(void *app, moqc_tstamp ts);
  moqc_tstamp (*get_expiry)(void *app);
  int (*handle_expiry)(void *app, moqc_tstamp ts);
  void (*closed)(void *app, uint64_t code, const char *reason, size_t reason_len);
} moqc_stream_app_ops;

/* ---- moq-lite sessions -------------------------------------------------------------------------- */

typedef struct moqc_origin_producer moqc_origin_producer;
typedef struct moqc_origin_consumer moqc_origin_consumer;

/** A moq-lite session (client or server, publisher and subscriber at once). Opaque. */
typedef struct moqc_session moqc_session;

/** Which end of the connection the session is. */
typedef enum moqc_session_perspective {
  MOQC_SESSION_CLIENT = 0,
  MOQC_SESSION_SERVER = 1
} moqc_session_perspective;

/** Version selection: pinned by ALPN / subprotocol, or negotiated by the legacy handshake. */
#define MOQC_SESSION_VERSION_LEGACY 0U
#define MOQC_SESSION_VERSION_LITE_03 3U
#define MOQC_SESSION_VERSION_LITE_04 4U
#define MOQC_SESSION_VERSION_LITE_05 5U

/** The current version of moqc_session_settings, passed by moqc_session_new. */
#define MOQC_SESSION_SETTINGS_V1 1
#define MOQC_SESSION_SETTINGS_VERSION MOQC_SESSION_SETTINGS_V1

/** Settings of a session, copied at creation (strings included). */
typedef struct moqc_session_settings {
  /** Client or server (default client). */
  moqc_session_perspective perspective;
  /**
   * The wire version: MOQC_SESSION_VERSION_LITE_03/04/05 when the ALPN, wt-protocol or WebSocket
   * subprotocol pinned it; MOQC_SESSION_VERSION_LEGACY (0) for the `moql` legacy handshake,
   * which picks lite-02 or lite-01 (default LITE_05).
   */
  uint32_t version;
  /** This node's origin (hop) id, sent in SETUP and ANNOUNCE_OK and used for loop detection;
   * 0 = none (then loops are not detected). Keep it below 2^53. */
  uint64_t origin_id;
  /** lite-05 client on raw QUIC: the SETUP Path parameter; NULL = not sent. */
  const char *setup_path;
  /**
   * The prefix (relative to the producer handle's root) whose broadcasts the session asks the
   * peer to announce; NULL = do not ask (the session mirrors nothing). Default "".
   */
  const char *announce_prefix;
  /** A server waits this long for the client's SETUP (lite-05) or CLIENT_SETUP (legacy), then
   * closes with MOQC_ERR_TIMEOUT; 0 = forever. Default 10 s. */
  moqc_tstamp setup_timeout;
  /** The largest control message (and buffered partial message) accepted; default 64 KiB. */
  size_t max_message_size;
  /** Bytes queued ahead per group stream before the session stops reading the model for it;
   * default 64 KiB. */
  size_t group_queue_bytes;
  /**
   * A mirrored track nobody consumes any more stays (with its TRACK_INFO) this long before it
   * is dropped, so a TRACK followed by a SUBSCRIBE does not ask upstream twice; default 2 s,
   * 0 = drop at once. The upstream subscription itself ends with the last local subscriber.
   */
  moqc_tstamp track_linger;
  /**
   * After a track ended and every group of a subscription was acknowledged by the peer's
   * transport, the Subscribe stream stays open this long before the FIN that ends the
   * subscription; default 500 ms, 0 = at once. A reader that lags behind its transport's
   * acknowledgments gets that time to read the last frames: @moq/net drops the frames of a group
   * it has not read yet when the subscription ends, which over WebTransport (independent
   * streams) lost the last frame of a track about one time in three.
   */
  moqc_tstamp end_linger;
  /** The log hook (copied; NULL write = silent). */
  moqc_log log;
  /** The allocator of the session (NULL = default; must outlive it). */
  const moqc_mem *mem;
  /**
   * lite-05 server only (may be NULL): called once when the client's SETUP arrives, before the
   * session serves anything, with the SETUP Path parameter (empty when absent; valid during the
   * call). On raw QUIC this is the request path: the callback may root and scope the session
   * with moqc_session_attach_origins, or refuse it with moqc_session_close.
   */
  void (*on_setup)(moqc_session *s, moqc_str path, void *user_data);
  /** Passed to on_setup. */
  void *user_data;
  /**
   * false (default): protocol violations on Track, Subscribe, Fetch, Group and unknown streams
   * reset or stop that stream only, as spec/moq-lite-wire.md 4.1 and 5.2 say and the published
   * clients do. true: any peer violation (malformed message, unknown stream type, oversize or
   * truncated frame) closes the whole session with the error's wire code.
   */
  bool strict;
  /**
   * Groups of one subscription that may wait for stream credit (the peer's MAX_STREAMS for uni
   * streams: one stream per group) at most; 0 = MOQC_SESSION_GROUP_WAIT_DEFAULT (256); values
   * above 65536 count as 65536. Waiting groups get streams in sequence order as the peer frees
   * them (across subscriptions: higher subscriber priority, then publisher priority, first).
   * Beyond the bound the oldest waiting group is dropped (the newest is always kept); a
   * subscription with a max latency (SUBSCRIBE Max Latency > 0) also drops waiting groups older
   * than it once a newer group exists. 1 = only the newest waits (the JS publisher keeps none).
   * A waiting group holds a model group reference until it is sent or dropped; a dropped group's
   * frames are never read, so they are not metered as egress (its egress `groups` count was made
   * when the model handed it over, spec/metering.md 3). See docs/SESSION.md.
   */
  size_t group_wait_max;
} moqc_session_settings;

/**
 * Default of moqc_session_settings.group_wait_max: 256 groups, about 100 ms at 2,500 groups/s
 * and 256 ms at 1,000, so a relay stall of that order on a busy machine plus a browser's wait for
 * MAX_STREAMS loses nothing (64 did not always cover a 100 ms stall at 1,000 groups/s on a
 * loaded 2-core machine); at most 256 model group references and a 6 KiB array per subscription,
 * allocated only once credit runs out.
 */
#define MOQC_SESSION_GROUP_WAIT_DEFAULT 256

/** Fills s with the defaults listed above. */
MOQC_EXTERN void moqc_session_settings_default(moqc_session_settings *s);

/**
 * Creates a session over transport (copied) with settings (copied; NULL = defaults). Use the
 * moqc_session_new macro.
 *
 * - publish (may be NULL: nothing is offered to the peer): what the peer may announce-list,
 *   track-info and subscribe to. The session keeps its own clone; when usage is given the clone
 *   is tagged with it, so egress is metered by the origin at hand-off.
 * - mirror (may be NULL: nothing the peer announces is mirrored): where the broadcasts the peer
 *   announces are published, with their hop lists; local demand for their tracks becomes remote
 *   subscriptions. The session keeps its own clone, tagged with usage when given (ingress).
 * - usage (may be NULL): the session's attribution context; the session takes a reference and
 *   writes no counter itself.
 *
 * The session does nothing on the transport until moqc_session_start. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT (unknown settings version, version or perspective), or
 * MOQC_ERR_NOMEM. One thread at a time.
 */
MOQC_EXTERN int moqc_session_new_versioned(moqc_session **out, int settings_version,
                                           const moqc_session_settings *settings,
                                           const moqc_transport *transport,
                                           const moqc_origin_consumer *publish,
                                           const moqc_origin_producer *mirror,
                                           moqc_usage_ctx *usage);
#define moqc_session_new(out, settings, transport, publish, mirror, usage)      \
  moqc_session_new_versioned((out), MOQC_SESSION_SETTINGS_VERSION, (settings), (transport), \
                             (publish), (mirror), (usage))

/**
 * Starts the session: a lite-05 endpoint opens its Setup stream, a legacy client opens the
 * CLIENT_SETUP stream, and (once the version is known) the subscriber half opens its Announce
 * stream. Returns 0, or a fatal error (the session closed the transport).
 */
MOQC_EXTERN int moqc_session_start(moqc_session *s, moqc_tstamp ts);

/**
 * Closes the session with err (0 = clean close, wire code 0; otherwise moqc_err_to_lite_code)
 * and a reason (NUL-terminated, may be NULL). Every model handle the session holds is released:
 * mirrored broadcasts end, local subscriptions served to the peer end. Idempotent.
 */
MOQC_EXTERN void moqc_session_close(moqc_session *s, int err, const char *reason);

/** Frees the session (closing it first with 0 if still open). s may be NULL. */
MOQC_EXTERN void moqc_session_del(moqc_session *s);

/** Returns true once the session is closed (by either side or by moqc_session_close). */
MOQC_EXTERN bool moqc_session_is_closed(const moqc_session *s);

/**
 * Returns the error that closed the session: 0 for a clean close or while open; a local protocol
 * error (MOQC_ERR_DECODE...), or for a close by the peer moqc_err_from_lite_code of its code.
 */
MOQC_EXTERN int moqc_session_error(const moqc_session *s);

/** Returns the negotiated wire version (1..5), or 0 while the legacy handshake runs. */
MOQC_EXTERN uint32_t moqc_session_version(const moqc_session *s);

/** Returns the peer's origin id from its lite-05 SETUP (0 when unknown). */
MOQC_EXTERN uint64_t moqc_session_peer_origin(const moqc_session *s);

/**
 * Replaces the session's origin handles and usage context (same meaning and ownership as in
 * moqc_session_new; each may be NULL), for a server that learns the request path from the
 * client's SETUP (settings.on_setup). Allowed only before the session serves (before start, or
 * inside on_setup). Returns 0, MOQC_ERR_INVALID_ARGUMENT once serving, or MOQC_ERR_NOMEM
 * (handles unchanged).
 */
MOQC_EXTERN int moqc_session_attach_origins(moqc_session *s, const moqc_origin_consumer *publish,
                                            const moqc_origin_producer *mirror,
                                            moqc_usage_ctx *usage);

/**
 * Hands received stream bytes in: data[0..len), then the end of the stream when fin. A stream
 * id not seen before is a new peer-opened stream. Returns the bytes consumed, always len for an
 * open session (partial messages are buffered, at most max_message_size per stream, and
 * frame payloads go straight into the model); the transport credits them to flow control.
 * Protocol errors reset the stream or close the session as spec/moq-lite-wire.md 5.2 says and
 * still return len. Returns a negative error only when fatal (MOQC_ERR_NOMEM): the transport
 * then closes the connection. data is only read during the call.
 */
MOQC_EXTERN moqc_ssize moqc_session_read_stream(moqc_session *s, moqc_stream_id id,
                                                const uint8_t *data, size_t len, bool fin,
                                                moqc_tstamp ts);

/**
 * Pulls the next bytes to send: stores the stream in *id (MOQC_STREAM_NONE when nothing is
 * ready), up to veccnt ranges in vec, and *fin when the ranges end the stream. Streams are chosen
 * by priority: control streams first, then group streams by subscriber priority, then publisher
 * priority, then newest group first (oldest first for an ordered subscription). Blocked streams
 * are skipped. The ranges stay valid until acknowledged with moqc_session_add_ack_offset (or
 * until the stream is reset or closed). Returns the number of ranges (0 with *fin true is a bare
 * FIN), or a fatal error.
 */
MOQC_EXTERN moqc_ssize moqc_session_writev_stream(moqc_session *s, moqc_stream_id *id,
                                                  bool *fin, moqc_vec *vec, size_t veccnt,
                                                  moqc_tstamp ts);

/**
 * Reports that the transport took n more bytes of stream id from the ranges last returned (the
 * FIN counts as taken when n covers every byte offered with it). Returns 0, or
 * MOQC_ERR_INVALID_ARGUMENT when n exceeds what was offered.
 */
MOQC_EXTERN int moqc_session_add_write_offset(moqc_session *s, moqc_stream_id id, size_t n);

/** Reports that the peer acknowledged n more bytes of stream id, in order; the session drops
 * its references to them. Returns 0. */
MOQC_EXTERN int moqc_session_add_ack_offset(moqc_session *s, moqc_stream_id id, uint64_t n);

/** Marks stream id flow-control blocked (writev skips it) / unblocked. Return 0. */
MOQC_EXTERN int moqc_session_block_stream(moqc_session *s, moqc_stream_id id);
MOQC_EXTERN int moqc_session_unblock_stream(moqc_session *s, moqc_stream_id id);

/** The peer reset its sending side of stream id with a wire code. Returns 0 or a fatal error. */
MOQC_EXTERN int moqc_session_recv_reset(moqc_session *s, moqc_stream_id id, uint64_t code,
                                        moqc_tstamp ts);
/** The peer asked us to stop sending on stream id. Returns 0 or a fatal error. */
MOQC_EXTERN int moqc_session_recv_stop_sending(moqc_session *s, moqc_stream_id id,
                                               uint64_t code, moqc_tstamp ts);
/** Both directions of stream id are finished in the transport; the session forgets it. */
MOQC_EXTERN int moqc_session_close_stream(moqc_session *s, moqc_stream_id id, moqc_tstamp ts);
/** A datagram arrived (lite-05 datagrams; currently dropped). Returns 0. */
MOQC_EXTERN int moqc_session_recv_datagram(moqc_session *s, const uint8_t *data, size_t len,
                                           moqc_tstamp ts);
/**
 * Does the work model wakers asked for (new announces, groups, frames, subscription changes).
 * The transport calls it on its own thread after moqc_transport_ops.wake. Returns 0 or a fatal
 * error.
 */
MOQC_EXTERN int moqc_session_poll(moqc_session *s, moqc_tstamp ts);
/** Returns when moqc_session_handle_expiry must next be called (UINT64_MAX = never). */
MOQC_EXTERN moqc_tstamp moqc_session_get_expiry(const moqc_session *s);
/** Handles timers due at ts (the setup timeout, lingering unused tracks, delayed Subscribe FINs,
 * the 100 ms samples of a Probe stream). Returns 0 or a fatal error. */
MOQC_EXTERN int moqc_session_handle_expiry(moqc_session *s, moqc_tstamp ts);
/** The transport's connection closed (by the peer, with a wire code and reason). */
MOQC_EXTERN void moqc_session_closed(moqc_session *s, uint64_t code, const char *reason,
                                     size_t reason_len);

/** The session's moqc_stream_app_ops (app = the moqc_session). Static; never NULL. */
MOQC_EXTERN const moqc_stream_app_ops *moqc_session_app_ops(void);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_SESSION_H */
