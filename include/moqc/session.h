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
 * from model wakers that may run on any thread.
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
   * wakers, possibly on another thread, possibly after the session is gone (so the transport's
   * user_data must outlive every waker; the in-memory pair and the adapters keep a flag).
   */
  void (*wake)(void *user_data);
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

#ifdef __cplusplus
}
#endif

#endif /* MOQC_SESSION_H */
