/*
 * The QMux connection engine of the WebSocket transport (spec/moq-lite-wire.md 1.3).
 *
 * It turns WebSocket binary messages into stream events for a stream application (a session or
 * a test double, driven through moqc_stream_app_ops) and implements moqc_transport_ops for it.
 * It does no I/O and reads no clock: the WebSocket glue (ws_conn.c) feeds it each received
 * message with moqc__wsq_recv_message, pulls each message to send with moqc__wsq_produce, runs
 * moqc__wsq_service when woken, and fires moqc__wsq_handle_expiry at moqc__wsq_get_expiry.
 *
 * What it does for every QMux format (qmux-00/01/02; the legacy "webtransport" format has no
 * parameters and no flow control):
 *   - sends QX_TRANSPORT_PARAMETERS as the very first message; all send credit is 0 until the
 *     peer's arrive;
 *   - reassembles STREAM frames by offset (duplicates and overlaps trimmed; a gap, a changed
 *     final size or data past a final size closes the connection);
 *   - per-stream and connection flow control both ways: credit returned with MAX_STREAM_DATA /
 *     MAX_DATA as the application consumes (at half a window), MAX_STREAMS raised as peer
 *     streams close; the peer's credit honoured (block_stream / unblock_stream);
 *   - RESET_STREAM and STOP_SENDING both ways (a STOP_SENDING the application does not answer
 *     with a reset is answered with RESET_STREAM carrying the same code);
 *   - DATAGRAM (qmux-01/02, when both sides advertise max_datagram_frame_size);
 *   - QX_PING answered; a keep-alive QX_PING sent after idle/3 without sending; the connection
 *     closed after the idle timeout without receiving (qmux-01/02);
 *   - records up to the peer's max_record_size (qmux-01/02), one frame of at most 16384 bytes per
 *     message on qmux-00 and the legacy format;
 *   - peer violations close the connection with the QUIC transport error code in
 *     CONNECTION_CLOSE: FLOW_CONTROL_ERROR (credit exceeded), STREAM_LIMIT_ERROR, STREAM_STATE_ERROR,
 *     FINAL_SIZE_ERROR, FRAME_ENCODING_ERROR (undecodable frame), TRANSPORT_PARAMETER_ERROR,
 *     PROTOCOL_VIOLATION.
 *
 * Application callbacks: the engine never calls the application from inside a
 * moqc_transport_ops call. The application may call any transport operation from inside its
 * callbacks (they only queue). closed() is called once when the connection ends for any reason
 * other than the application's own close(); no application call follows it.
 *
 * One thread at a time (the loop's), except the transport's wake operation, which forwards to
 * the glue's thread-safe wake hook.
 */
#ifndef MOQC_TRANSPORT_WS_QMUX_H
#define MOQC_TRANSPORT_WS_QMUX_H

#include <moqc/session.h>

#include "wire/qmux.h"

/* QUIC transport error codes (RFC 9000 20.1) sent in CONNECTION_CLOSE. */
#define MOQC__WSQ_NO_ERROR 0x00U
#define MOQC__WSQ_INTERNAL_ERROR 0x01U
#define MOQC__WSQ_FLOW_CONTROL_ERROR 0x03U
#define MOQC__WSQ_STREAM_LIMIT_ERROR 0x04U
#define MOQC__WSQ_STREAM_STATE_ERROR 0x05U
#define MOQC__WSQ_FINAL_SIZE_ERROR 0x06U
#define MOQC__WSQ_FRAME_ENCODING_ERROR 0x07U
#define MOQC__WSQ_TRANSPORT_PARAMETER_ERROR 0x08U
#define MOQC__WSQ_PROTOCOL_VIOLATION 0x0aU

/** The largest message the engine produces (and the buffer moqc__wsq_produce needs). */
#define MOQC__WSQ_MESSAGE_MAX 16384U

/** Settings of one engine. moqc__wsq_settings_default fills every field. */
typedef struct moqc__wsq_settings {
  /** The wire format chosen by the subprotocol. */
  moqc__qmux_format format;
  /** True on the server side (our streams get the 0x1 bit). */
  bool is_server;
  /**
   * Our transport parameters: windows (initial_max_data = connection window, the stream data
   * values = per-stream windows, kept constant as credit is returned), stream limits (the number
   * of concurrent peer streams), idle timeout, datagram size. max_record_size is what we accept.
   */
  moqc__qmux_params local;
  /**
   * The most bytes of control frames and datagrams that may wait to be sent. A peer that makes
   * us queue more (pings while not reading) is closed with INTERNAL_ERROR. Queued datagrams
   * beyond half of it are dropped instead.
   */
  size_t max_queued;
  /** Thread-safe hook: asks the glue to call moqc__wsq_service soon. Required. */
  void (*wake)(void *glue);
  void *glue;
  /**
   * The path estimates behind moqc_transport_ops.get_stats (the glue's socket: TCP_INFO). NULL:
   * the engine cannot measure. Called on the engine's thread.
   */
  int (*stats)(void *glue, moqc_transport_stats *out);
} moqc__wsq_settings;

/** How the connection ended (moqc__wsq_close_info). */
typedef struct moqc__wsq_close_info {
  /** The wire code (a QUIC transport code when app is false). */
  uint64_t code;
  /** True for APPLICATION_CLOSE, false for CONNECTION_CLOSE. */
  bool app;
  /** True when the peer closed, false when we did. */
  bool by_peer;
  /** A short static description for logs when we closed ("flow control", ...), else "". */
  const char *what;
} moqc__wsq_close_info;

typedef struct moqc__wsq moqc__wsq;

/** Fills s: the format's default parameters (qmux.h) without reset_stream_at, 1 MiB queue. */
void moqc__wsq_settings_default(moqc__wsq_settings *s, moqc__qmux_format format, bool is_server);

/** Creates an engine (settings copied). Returns 0, MOQC_ERR_INVALID_ARGUMENT or NOMEM. */
int moqc__wsq_new(moqc__wsq **out, const moqc__wsq_settings *settings, const moqc_mem *mem);

/** Frees the engine and every stream. The application is not told. c may be NULL. */
void moqc__wsq_del(moqc__wsq *c);

/** Attaches the stream application (ops copied by reference; they must outlive the engine). */
void moqc__wsq_attach(moqc__wsq *c, const moqc_stream_app_ops *ops, void *app);

/** Detaches the application: no further application calls are made. */
void moqc__wsq_detach(moqc__wsq *c);

/** The transport handle to give the application (valid as long as the engine). */
moqc_transport moqc__wsq_transport(moqc__wsq *c);

/**
 * Handles one received WebSocket binary message (copied as needed). An empty message is a no-op.
 * A peer violation queues CONNECTION_CLOSE and tells the application. Returns 0, or
 * MOQC_ERR_CLOSED when the connection is over (closed now or before), or MOQC_ERR_NOMEM.
 */
int moqc__wsq_recv_message(moqc__wsq *c, const uint8_t *data, size_t len, moqc_tstamp ts);

/**
 * Closes the connection from the transport's side for a reason outside QMux (a text message, a
 * WebSocket protocol error, the socket dropped): CONNECTION_CLOSE with code is queued when
 * send is true, and the application is told. No-op when already closed.
 */
void moqc__wsq_abort(moqc__wsq *c, uint64_t code, bool send, const char *what);

/**
 * Writes the next message to send into buf (cap >= MOQC__WSQ_MESSAGE_MAX). Pulls stream data from
 * the application within flow control. Returns its length, 0 when there is nothing to send, or
 * a negative error (MOQC_ERR_NOBUF for a short buffer).
 */
moqc_ssize moqc__wsq_produce(moqc__wsq *c, uint8_t *buf, size_t cap, moqc_tstamp ts);

/** Runs pending work: polls a woken application and hands it buffered stream data. */
void moqc__wsq_service(moqc__wsq *c, moqc_tstamp ts);

/** The next time moqc__wsq_handle_expiry must run (UINT64_MAX: none). */
moqc_tstamp moqc__wsq_get_expiry(moqc__wsq *c);

/** Runs timers due at ts: idle timeout, keep-alive ping, the application's expiry. */
void moqc__wsq_handle_expiry(moqc__wsq *c, moqc_tstamp ts);

/** Returns true once the connection is over (closed, close frame produced or not needed). */
bool moqc__wsq_is_closed(const moqc__wsq *c);

/** Returns true when the close is decided and every message up to the close frame produced. */
bool moqc__wsq_is_drained(const moqc__wsq *c);

/** How the connection ended; valid once moqc__wsq_is_closed. */
moqc__wsq_close_info moqc__wsq_close_info_get(const moqc__wsq *c);

/** Returns how many streams the engine holds (live, not yet closed on both sides). */
size_t moqc__wsq_stream_count(const moqc__wsq *c);

#endif /* MOQC_TRANSPORT_WS_QMUX_H */
