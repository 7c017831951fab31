/*
 * moqc: the WebSocket transport on libuv — an HTTP/1.1 listener with routes, WebSocket upgrades
 * carrying QMux (spec/moq-lite-wire.md 1.3), and the matching client.
 *
 * Server: moqc_http_server_new + moqc_http_server_listen accept TCP connections, read each
 * request head with a strict parser (line, header and head size limits; a head timeout that
 * drops slow clients; a cap on concurrent connections) and hand every request to the route
 * callback. The route answers with moqc_http_respond (or the streaming moqc_http_respond_start /
 * _write / _end), or turns a WebSocket upgrade into a QMux connection with moqc_ws_accept.
 *
 * A QMux connection (moqc_ws_conn) implements moqc_transport_ops for one stream application (a
 * session): take moqc_ws_conn_transport() to create the session, then moqc_ws_conn_attach() it.
 * Bytes that arrive before the attach wait (within flow control). The connection calls the
 * application's closed() when it ends for any reason other than the application's own close(),
 * then, once every libuv handle is closed, the owner's on_close callback; after on_close returns
 * the connection's memory is freed, so the application must be deleted (or detached from every
 * waker) by then. The transport's wake operation is thread-safe and harmless after the socket is
 * gone, as long as on_close has not returned.
 *
 * Client: moqc_ws_connect dials ws://host:port/path (or wss:// over TLS) offering a list of
 * subprotocols, checks the 101 answer (Sec-WebSocket-Accept, a protocol we offered, no extension)
 * and reports the connection to on_connect.
 *
 * TLS: with moqc_http_server_settings.tls the listener serves only https:// and wss://.
 *
 * Liveness: every connection sends WebSocket Pings (ping_interval_ms) and closes after
 * idle_timeout_ms without receiving anything; on qmux-01/02 QX_PING keep-alives run as well.
 *
 * Backpressure: a connection stops reading while more than 1 MiB waits for its socket (a peer
 * that sends but does not read), pulls stream data from the application only while less than
 * max_send_buffer waits, and closes a peer that makes it queue more than 1 MiB of control frames.
 *
 * Signals: as in every libuv program, the process must ignore SIGPIPE (a peer closing during a
 * write would otherwise kill it); the library never changes signal dispositions.
 *
 * Threads: everything here runs on the loop's thread (one thread at a time), except the
 * transport's wake operation. Added in 0.1.
 */
#ifndef MOQC_TRANSPORT_H
#define MOQC_TRANSPORT_H

#include <uv.h>

#include <moqc/mem.h>
#include <moqc/path.h>
#include <moqc/quic.h>
#include <moqc/session.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- QMux connection settings -------------------------------------------------------------- */

/** QMux settings of a WebSocket connection. moqc_ws_settings_default fills every field. */
typedef struct moqc_ws_settings {
  /** Connection receive window (initial_max_data); credit is returned as the app consumes. */
  uint64_t max_data;
  /** Per-stream receive window (the three initial_max_stream_data parameters). */
  uint64_t max_stream_data;
  /**
   * Concurrent streams the peer may open, per kind; raised as its streams finish (default 100
   * bidi, 1000 uni: moq-lite opens a uni stream per group, and the window must cover a stall).
   */
  uint64_t max_streams_bidi;
  uint64_t max_streams_uni;
  /**
   * Idle timeout in milliseconds: advertised as max_idle_timeout on qmux-01/02, and on every
   * format the connection closes when nothing at all arrived for this long; 0 disables ours.
   */
  uint64_t idle_timeout_ms;
  /** Interval of WebSocket Ping frames (as moq-relay: browsers answer them), in ms; 0 = none. */
  uint64_t ping_interval_ms;
  /** Advertise max_datagram_frame_size 16382 on qmux-01/02 (false: 0, refuse datagrams). */
  bool datagrams;
  /** Bytes waiting for the socket beyond which no more stream data is pulled from the app. */
  size_t max_send_buffer;
  /**
   * wss:// client only: how the server certificate is verified (default: system roots and the
   * URL's host name; MOQC_TLS_VERIFY_PIN for a self-signed relay). The pointed-to data is copied.
   */
  moqc_tls_verify verify;
  /** Log hook (may be NULL); referenced. */
  const moqc_log *log;
} moqc_ws_settings;

/** Fills s: 1 MiB, 256 KiB, 100 + 100 streams, 30 s idle, 10 s pings, datagrams on, 256 KiB
 * buffer, no log. */
MOQC_EXTERN void moqc_ws_settings_default(moqc_ws_settings *s);

/** A QMux-over-WebSocket connection. One thread (the loop's). */
typedef struct moqc_ws_conn moqc_ws_conn;

/** How a connection ended, passed to on_close. */
typedef struct moqc_ws_close_info {
  /** The QMux close code (QUIC transport code when app is false). */
  uint64_t code;
  /** True for APPLICATION_CLOSE, false for CONNECTION_CLOSE or a lost socket. */
  bool app;
  /** True when the peer closed or the socket dropped, false when we closed. */
  bool by_peer;
  /** A short static description ("flow control", "socket closed", ...). Never NULL. */
  const char *what;
} moqc_ws_close_info;

/**
 * Called once when a connection is fully closed (every handle closed). conn is freed when it
 * returns; the application must not be used by the transport afterwards (it is not).
 */
typedef void (*moqc_ws_close_cb)(void *user_data, moqc_ws_conn *conn,
                                 const moqc_ws_close_info *info);

/** The transport handle for the application (valid until on_close returns). */
MOQC_EXTERN moqc_transport moqc_ws_conn_transport(moqc_ws_conn *conn);

/**
 * Attaches the stream application (ops referenced, not copied: they must outlive the
 * connection) and the owner's close callback (may be NULL). Call once, on the loop's thread.
 * Buffered bytes are delivered on the next loop iteration.
 */
MOQC_EXTERN void moqc_ws_conn_attach(moqc_ws_conn *conn, const moqc_stream_app_ops *ops,
                                     void *app, moqc_ws_close_cb on_close, void *user_data);

/**
 * The selected moq ALPN ("moq-lite-05"; empty for a bare qmux-0X / "webtransport" / no
 * subprotocol, which means the legacy SETUP handshake). Static storage.
 */
MOQC_EXTERN moqc_str moqc_ws_conn_alpn(const moqc_ws_conn *conn);

/** The exact subprotocol token negotiated ("qmux-01.moq-lite-05"), or empty. Static storage. */
MOQC_EXTERN moqc_str moqc_ws_conn_protocol(const moqc_ws_conn *conn);

/**
 * Closes the connection without the application (shutdown): APPLICATION_CLOSE with code and
 * reason (copied), then the WebSocket close. The application is not told; on_close follows.
 */
MOQC_EXTERN void moqc_ws_conn_close(moqc_ws_conn *conn, uint64_t code, const char *reason);

/* ---- HTTP server ------------------------------------------------------------------------------ */

/** One request, valid from the route callback until its response ends or it is aborted. */
typedef struct moqc_http_request moqc_http_request;

/** A header to send (name and value must not hold CR, LF or other controls). */
typedef struct moqc_http_header {
  const char *name;
  const char *value;
} moqc_http_header;

/**
 * The route callback: called once per request on the loop's thread. It must eventually answer
 * with moqc_http_respond, moqc_http_respond_start ... _end, or moqc_ws_accept (synchronously or
 * later); until then no further request is read from that connection.
 */
typedef void (*moqc_http_route_cb)(void *user_data, moqc_http_request *req);

/** Settings of a server. moqc_http_server_settings_default fills every field. */
typedef struct moqc_http_server_settings {
  /** Receives every request. Required. */
  moqc_http_route_cb route;
  void *user_data;
  /** Concurrent connections (HTTP and WebSocket); more are closed at once. */
  size_t max_connections;
  /** Time a client has to send a complete request head, in milliseconds. */
  uint64_t head_timeout_ms;
  /** Time an HTTP keep-alive connection may sit between requests, in milliseconds. */
  uint64_t keepalive_timeout_ms;
  /** Access-Control-Allow-Origin added to every HTTP response (NULL: none). Referenced. */
  const char *cors_origin;
  /** The server's moq ALPN preference for WebSocket upgrades (NULL: moq-lite-05, -04, -03,
   * moql). Referenced. */
  const moqc_str *alpns;
  size_t n_alpns;
  /** QMux settings of accepted WebSocket connections. */
  moqc_ws_settings ws;
  /**
   * Serve HTTPS and wss:// with this certificate (NULL: plain HTTP and ws://). Referenced: it
   * must outlive the server. ALPN http/1.1 is negotiated.
   */
  const moqc_tls_cert *tls;
  /** Log hook (may be NULL). Referenced. */
  const moqc_log *log;
  /**
   * Bind with SO_REUSEPORT, so that one server per thread can listen on the same address (the
   * kernel spreads new connections over the listeners by address hash). Default off.
   */
  bool reuse_port;
} moqc_http_server_settings;

/** Fills s: no route, 1024 connections, 10 s head timeout, 30 s keep-alive, CORS "*", default
 * ALPNs and WebSocket settings, no log. */
MOQC_EXTERN void moqc_http_server_settings_default(moqc_http_server_settings *s);

/** An HTTP/1.1 server on one libuv loop. One thread (the loop's). */
typedef struct moqc_http_server moqc_http_server;

/**
 * Creates a server on loop (settings copied; the pointers inside are referenced). Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT (no route) or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_http_server_new(moqc_http_server **out, uv_loop_t *loop,
                                     const moqc_http_server_settings *settings,
                                     const moqc_mem *mem);

/**
 * Binds and listens on host ("127.0.0.1", "::", "0.0.0.0") and port (0: any free port; read it
 * with moqc_http_server_port). Returns 0, MOQC_ERR_INVALID_ARGUMENT for a bad address, or
 * MOQC_ERR_IO (the address is in use, ...).
 */
MOQC_EXTERN int moqc_http_server_listen(moqc_http_server *srv, const char *host, int port);

/** The bound port, or -1 before listening. */
MOQC_EXTERN int moqc_http_server_port(const moqc_http_server *srv);

/** The number of open connections (HTTP and WebSocket). */
MOQC_EXTERN size_t moqc_http_server_connections(const moqc_http_server *srv);

/**
 * Stops listening and closes every connection (WebSocket ones with APPLICATION_CLOSE 0; their
 * on_close callbacks run). The server is freed once every handle is closed, then done (may be
 * NULL) runs. srv must not be used after this call.
 */
MOQC_EXTERN void moqc_http_server_del(moqc_http_server *srv, void (*done)(void *), void *ud);

/* ---- Requests --------------------------------------------------------------------------------- */

/** The method ("GET"). Valid while req is. */
MOQC_EXTERN moqc_str moqc_http_request_method(const moqc_http_request *req);
/** The path, still percent-encoded ("/fetch/a%20b/t"). */
MOQC_EXTERN moqc_str moqc_http_request_path(const moqc_http_request *req);
/** The query without '?' (empty when absent). */
MOQC_EXTERN moqc_str moqc_http_request_query(const moqc_http_request *req);
/** The first header named name (case-insensitive) in *value. Returns true when present. */
MOQC_EXTERN bool moqc_http_request_header(const moqc_http_request *req, const char *name,
                                          moqc_str *value);
/** True when the request asks for a WebSocket upgrade (answer with moqc_ws_accept). */
MOQC_EXTERN bool moqc_http_request_is_upgrade(const moqc_http_request *req);

/**
 * Called if the connection drops before the response ends; req is invalid afterwards. Set it
 * when answering later (a long fetch), so the pending work can be cancelled.
 */
MOQC_EXTERN void moqc_http_request_on_abort(moqc_http_request *req, void (*cb)(void *ud),
                                            void *ud);

/**
 * Answers with a whole response: status, headers (copied), Content-Length and the body (copied;
 * may be NULL when len is 0), plus the server's CORS header. Ends the request. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT (a header with control bytes, a bad status; a 500 is sent instead)
 * or MOQC_ERR_NOMEM (the connection is closed).
 */
MOQC_EXTERN int moqc_http_respond(moqc_http_request *req, int status,
                                  const moqc_http_header *headers, size_t n, const void *body,
                                  size_t len);

/**
 * Starts a streamed response (chunked on HTTP/1.1, close-delimited on HTTP/1.0). Returns 0 or an
 * error as moqc_http_respond. Then call moqc_http_respond_write any number of times and
 * moqc_http_respond_end once.
 */
MOQC_EXTERN int moqc_http_respond_start(moqc_http_request *req, int status,
                                        const moqc_http_header *headers, size_t n);
/** Sends a piece of a streamed body (copied). Returns 0, MOQC_ERR_NOMEM or MOQC_ERR_CLOSED. */
MOQC_EXTERN int moqc_http_respond_write(moqc_http_request *req, const void *data, size_t len);
/** Ends a streamed response; req is invalid afterwards. */
MOQC_EXTERN void moqc_http_respond_end(moqc_http_request *req);

/**
 * Accepts a WebSocket upgrade carrying QMux: checks the handshake (GET, Upgrade: websocket,
 * Connection: Upgrade, version 13, a 16-byte key), selects the subprotocol with the server's
 * ALPN preference (qmux-01.moq-lite-05 first; bare qmux-00 means the legacy handshake), never
 * negotiates an extension (permessage-deflate is refused by omission), answers 101 and starts
 * the QMux connection. On failure the request is answered (400, or 426 for a bad version) and
 * ended, and *out is untouched. Returns 0, MOQC_ERR_MALFORMED (not a valid upgrade, or no
 * offered subprotocol is supported), MOQC_ERR_INVALID_ARGUMENT (req already answered),
 * MOQC_ERR_NOMEM or MOQC_ERR_IO (the connection is closed). The route may accept any path. req
 * (and every view read from it: path, query, headers) is invalid once this returns.
 */
MOQC_EXTERN int moqc_ws_accept(moqc_http_request *req, moqc_ws_conn **out);

/* ---- Client ----------------------------------------------------------------------------------- */

/**
 * Called once by moqc_ws_connect: status 0 with conn set (the caller attaches its application),
 * or a negative error with conn NULL (MOQC_ERR_IO: connection failed; MOQC_ERR_PROTOCOL_VIOLATION:
 * not a valid 101 answer; MOQC_ERR_TIMEOUT).
 */
typedef void (*moqc_ws_connect_cb)(void *user_data, int status, moqc_ws_conn *conn);

/**
 * Dials url ("ws://host:port/path?query", or "wss://" over TLS verified as settings->verify
 * says; host a literal IPv4/IPv6 address or a name resolved with getaddrinfo on the loop)
 * offering protocols[0..n) in order (NULL/0: the list @moq/net 0.3.4 offers for moq-lite-05..03).
 * settings may be NULL (defaults). Returns 0 (on_connect will be called, possibly before this
 * returns), MOQC_ERR_INVALID_ARGUMENT (bad URL or verification settings) or MOQC_ERR_NOMEM. A
 * TLS failure (certificate refused) reaches on_connect as MOQC_ERR_IO.
 */
MOQC_EXTERN int moqc_ws_connect(uv_loop_t *loop, const char *url, const moqc_str *protocols,
                                size_t n, const moqc_ws_settings *settings,
                                moqc_ws_connect_cb on_connect, void *user_data,
                                const moqc_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_TRANSPORT_H */
