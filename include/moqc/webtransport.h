/*
 * moqc: WebTransport over HTTP/3 (draft-02 as Chromium 156 speaks it; spec/dependencies.md 2,
 * spec/moq-lite-wire.md 1.2) on top of the QUIC endpoint of <moqc/quic.h>.
 *
 * One WebTransport session per QUIC connection (ALPN "h3"), which is what MoQ uses. The HTTP/3
 * layer is hand-written: our control stream with the SETTINGS Chromium needs (ENABLE_CONNECT_
 * PROTOCOL, H3_DATAGRAM under both codepoints, ENABLE_WEBTRANSPORT, max sessions), the peer's
 * control stream and SETTINGS, QPACK without dynamic table (nghttp3 decodes header blocks; no
 * encoder or decoder stream is needed), the extended CONNECT (:protocol webtransport) with the
 * `wt-available-protocols` / `wt-protocol` negotiation, the capsules on the CONNECT stream
 * (CLOSE_WEBTRANSPORT_SESSION), WebTransport stream headers (bidi 0x41, uni 0x54) and HTTP
 * datagrams (quarter stream id prefix).
 *
 * A WebTransport session (moqc_wt_conn) implements moqc_transport_ops for one stream application
 * (a moq-lite session), exactly like the QUIC and WebSocket transports: take
 * moqc_wt_conn_transport() to create the session, then moqc_wt_conn_attach() it. The
 * application sees stream ids in QUIC numbering (the ids of the QUIC streams that carry them)
 * and only its own bytes: stream headers are added and removed below it. Stream reset and stop
 * codes are mapped into and out of the WebTransport application error space
 * (0x52e4a40fa8db + n + n / 0x1e); a session close travels as CLOSE_WEBTRANSPORT_SESSION with
 * the application's code (truncated to 32 bits) and reason.
 *
 * Server: a moqc_wt_server receives each CONNECT through its request callback (path, authority,
 * origin, offered protocols, any header) and answers it with moqc_wt_accept (200, a chosen
 * protocol or none = legacy handshake) or moqc_wt_refuse (a 4xx/5xx status). The server either
 * owns a UDP endpoint (moqc_wt_server_listen) or adopts "h3" connections of an endpoint the
 * embedder shares with raw QUIC (moqc_wt_server_adopt + moqc_wt_server_conn_closed).
 *
 * Client: moqc_wt_connect dials https://host:port/path?query with certificate verification
 * against the system roots, a CA file or pinned SHA-256 fingerprints, offers protocols and
 * reports the session (and the protocol the server chose) to its callback.
 *
 * Lifetime: a moqc_wt_conn lives until its owner's close callback (moqc_wt_close_cb) returns;
 * the application must be deleted by then. The application's closed() op is called when the
 * session ends for any reason other than the application's own close().
 *
 * Threads: everything runs on the libuv loop's thread, except the transport's wake operation,
 * which is thread-safe while the connection lives.
 */
#ifndef MOQC_WEBTRANSPORT_H
#define MOQC_WEBTRANSPORT_H

#include <moqc/common.h>
#include <moqc/error.h>
#include <moqc/mem.h>
#include <moqc/path.h>
#include <moqc/quic.h>
#include <moqc/session.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

/** The ALPN of HTTP/3 (what a shared endpoint must offer for WebTransport). */
#define MOQC_WT_ALPN "h3"

/** A WebTransport session over one QUIC connection. One thread (the loop's). */
typedef struct moqc_wt_conn moqc_wt_conn;

/** A CONNECT request waiting for moqc_wt_accept or moqc_wt_refuse. */
typedef struct moqc_wt_request moqc_wt_request;

/** How a session ended, passed to the owner's close callback. */
typedef struct moqc_wt_close_info {
  /** The session close code: from CLOSE_WEBTRANSPORT_SESSION, or the QUIC application code. */
  uint64_t code;
  /** 0 for a session closed by either side, or the library error that ended the connection
   * (MOQC_ERR_TIMEOUT, MOQC_ERR_UNAUTHORIZED for a failed certificate check, MOQC_ERR_TRANSPORT,
   * MOQC_ERR_PROTOCOL_VIOLATION for an HTTP/3 error, MOQC_ERR_CLOSED when shut down). */
  int err;
  /** True when the peer ended it. */
  bool by_peer;
  /** The HTTP status of the CONNECT (200 when a session was established; 0 if none came). */
  int http_status;
} moqc_wt_close_info;

/**
 * Called once when the QUIC connection under a session is gone. conn is freed when it returns;
 * the application must be deleted (or never used again) by then.
 */
typedef void (*moqc_wt_close_cb)(void *user_data, moqc_wt_conn *conn,
                                 const moqc_wt_close_info *info);

/** The transport handle for the application (valid until the close callback returns). */
MOQC_EXTERN moqc_transport moqc_wt_conn_transport(moqc_wt_conn *conn);

/**
 * Attaches the stream application (ops referenced: they must outlive the connection; app is
 * passed to every op) and the owner's close callback (may be NULL; it replaces the one given
 * at connect time when not NULL). Call once, after moqc_wt_accept or in the client's connect
 * callback. Stream bytes of the session that arrived earlier (bounded by max_early_bytes) are
 * delivered on the next loop iteration; earlier datagrams were dropped. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT (already attached) or MOQC_ERR_CLOSED.
 */
MOQC_EXTERN int moqc_wt_conn_attach(moqc_wt_conn *conn, const moqc_stream_app_ops *ops,
                                    void *app, moqc_wt_close_cb on_close, void *user_data);

/** The negotiated protocol ("moq-lite-05"), or empty for none (the legacy handshake). Valid
 * while conn is. */
MOQC_EXTERN moqc_str moqc_wt_conn_protocol(const moqc_wt_conn *conn);

/** The CONNECT :path (with the query), as the client sent it. Valid while conn is. */
MOQC_EXTERN moqc_str moqc_wt_conn_path(const moqc_wt_conn *conn);

/** The QUIC connection carrying the session (for statistics). */
MOQC_EXTERN moqc_quic_conn *moqc_wt_conn_quic(const moqc_wt_conn *conn);

/**
 * Asks the peer to wind the session down (DRAIN_WEBTRANSPORT_SESSION; a server also sends
 * GOAWAY so that no new request comes on this connection), e.g. before a relay restarts. The
 * session keeps working. Returns 0 (also when already sent) or MOQC_ERR_CLOSED / MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_wt_conn_drain(moqc_wt_conn *conn);

/** True once the peer asked to wind the session down (DRAIN_WEBTRANSPORT_SESSION or GOAWAY). */
MOQC_EXTERN bool moqc_wt_conn_draining(const moqc_wt_conn *conn);

/**
 * Closes the session without the application (shutdown): CLOSE_WEBTRANSPORT_SESSION with code
 * and reason (copied, at most 1024 bytes), then the QUIC connection. The application is not
 * told; the close callback follows.
 */
MOQC_EXTERN void moqc_wt_conn_close(moqc_wt_conn *conn, uint32_t code, const char *reason);

/* ---- Server ------------------------------------------------------------------------------------- */

/** The request callback: one call per CONNECT. Answer with moqc_wt_accept / moqc_wt_refuse,
 * now or later (then set moqc_wt_request_on_abort). */
typedef void (*moqc_wt_request_cb)(void *user_data, moqc_wt_request *req);

/** Settings of a server. moqc_wt_server_settings_default fills every field. */
typedef struct moqc_wt_server_settings {
  /** Receives every CONNECT. Required. */
  moqc_wt_request_cb on_request;
  void *user_data;
  /** The largest request header section accepted (bytes); larger ones get 431. */
  size_t max_header_size;
  /** Bytes buffered per session stream that arrives before the application is attached. */
  size_t max_early_bytes;
  /** Time the session gets to deliver a close before the QUIC connection closes anyway, ns. */
  moqc_tstamp close_linger;
  /** Log hook (may be NULL); referenced. */
  const moqc_log *log;
} moqc_wt_server_settings;

/** Fills s: no callback, 16 KiB headers, 64 KiB early bytes per stream, 1 s linger, no log. */
MOQC_EXTERN void moqc_wt_server_settings_default(moqc_wt_server_settings *s);

/** A WebTransport server. One thread (the loop's). */
typedef struct moqc_wt_server moqc_wt_server;

/**
 * Creates a server (settings copied). mem may be NULL and must outlive the server. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT (no request callback) or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_wt_server_new(moqc_wt_server **out, const moqc_wt_server_settings *settings,
                                   const moqc_mem *mem);

/**
 * Makes the server own a QUIC endpoint on loop bound to addr, offering ALPN "h3" with quic's
 * settings (NULL = defaults; cert is required; alpns is replaced by "h3"). Returns 0, or the
 * errors of moqc_quic_endpoint_new; MOQC_ERR_INVALID_ARGUMENT when already listening.
 */
MOQC_EXTERN int moqc_wt_server_listen(moqc_wt_server *srv, struct uv_loop_s *loop,
                                      const struct sockaddr *addr,
                                      const moqc_quic_settings *quic);

/** The bound UDP port of a listening server (0 when not listening). */
MOQC_EXTERN uint16_t moqc_wt_server_port(const moqc_wt_server *srv);

/**
 * For an endpoint shared with raw QUIC: hands a connection whose ALPN is "h3" to the server.
 * Call it from the endpoint's on_connection. The server sets the connection's user data to its
 * own state and attaches itself; from then the embedder must forward the endpoint's on_close
 * for this connection to moqc_wt_server_conn_closed. Returns 0, MOQC_ERR_NOMEM or the errors of
 * moqc_quic_conn_attach (return them from on_connection to refuse the connection).
 */
MOQC_EXTERN int moqc_wt_server_adopt(moqc_wt_server *srv, moqc_quic_conn *conn);

/**
 * Forwards the endpoint's on_close for an adopted connection (conn_user_data is the value the
 * endpoint passed). Tells the application and the owner, then frees the session state.
 */
MOQC_EXTERN void moqc_wt_server_conn_closed(moqc_quic_conn *conn, void *conn_user_data, int err,
                                            uint64_t app_code, bool remote);

/** The number of live WebTransport connections (handshaking HTTP/3, pending or in session). */
MOQC_EXTERN size_t moqc_wt_server_conn_count(const moqc_wt_server *srv);

/**
 * Deletes the server: every connection is closed (H3_NO_ERROR) and its owner's close callback
 * runs (err MOQC_ERR_CLOSED) or its pending request is aborted, then its own endpoint (if any)
 * is deleted; run the loop afterwards so libuv can release the handles. For adopted
 * connections, delete the shared endpoint after the server. srv may be NULL. Not inside one of
 * the server's own callbacks.
 */
MOQC_EXTERN void moqc_wt_server_del(moqc_wt_server *srv);

/** The CONNECT :path, still percent-encoded, with the query ("/anon?jwt=x"). */
MOQC_EXTERN moqc_str moqc_wt_request_path(const moqc_wt_request *req);
/** The :authority ("host:port"). */
MOQC_EXTERN moqc_str moqc_wt_request_authority(const moqc_wt_request *req);
/** The origin header (empty when absent). */
MOQC_EXTERN moqc_str moqc_wt_request_origin(const moqc_wt_request *req);
/** The number of protocols offered in wt-available-protocols (0 when absent). */
MOQC_EXTERN size_t moqc_wt_request_protocol_count(const moqc_wt_request *req);
/** The i-th offered protocol, in the client's order (empty when i is out of range). */
MOQC_EXTERN moqc_str moqc_wt_request_protocol(const moqc_wt_request *req, size_t i);
/** The first header named name (lower-case) in *value. Returns true when present. */
MOQC_EXTERN bool moqc_wt_request_header(const moqc_wt_request *req, const char *name,
                                        moqc_str *value);

/**
 * Called if the connection dies before a deferred request is answered; req is invalid
 * afterwards.
 */
MOQC_EXTERN void moqc_wt_request_on_abort(moqc_wt_request *req, void (*cb)(void *ud), void *ud);

/**
 * Accepts a CONNECT: answers 200 with `wt-protocol: "<protocol>"` when protocol is not NULL
 * (it should be one the client offered) and `sec-webtransport-http3-draft: draft02`. The session
 * is then open: attach the application with moqc_wt_conn_attach (on_close may be given there).
 * req is invalid afterwards. Returns 0 (stores the connection in *out, which may be NULL),
 * MOQC_ERR_INVALID_ARGUMENT (a protocol that is not a token), MOQC_ERR_CLOSED (the connection
 * went away meanwhile) or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_wt_accept(moqc_wt_request *req, const char *protocol, moqc_wt_conn **out);

/**
 * Refuses a CONNECT with status (400..599, e.g. 401 or 403 for an unauthorized root, 404 for an
 * unknown path) and finishes the request stream; the QUIC connection stays open for another
 * CONNECT. req is invalid afterwards. Returns 0, MOQC_ERR_INVALID_ARGUMENT or MOQC_ERR_CLOSED.
 */
MOQC_EXTERN int moqc_wt_refuse(moqc_wt_request *req, int status);

/* ---- Client ------------------------------------------------------------------------------------ */

/**
 * Called once by moqc_wt_connect: status 0 with conn set (attach the application now; the
 * protocol the server chose is moqc_wt_conn_protocol), or a negative error with conn NULL:
 * MOQC_ERR_IO (name resolution or socket), MOQC_ERR_TIMEOUT, MOQC_ERR_UNAUTHORIZED (certificate
 * verification failed), MOQC_ERR_UNKNOWN_ALPN, MOQC_ERR_REMOTE (the server answered http_status
 * other than 2xx), MOQC_ERR_PROTOCOL_VIOLATION (an HTTP/3 error, or no WebTransport support),
 * MOQC_ERR_TRANSPORT.
 */
typedef void (*moqc_wt_connect_cb)(void *user_data, int status, int http_status,
                                   moqc_wt_conn *conn);

/** Options of moqc_wt_connect. Pointers are only read during the call. */
typedef struct moqc_wt_connect_params {
  /** "https://host:port/path?query" (host a name, an IPv4 or a [IPv6] literal; port 443 when
   * absent). Required. */
  const char *url;
  /** Protocols offered in wt-available-protocols, in order; NULL/0 = none (the legacy
   * handshake). */
  const moqc_str *protocols;
  size_t n_protocols;
  /** Server certificate verification (the server name is the URL's host). */
  moqc_tls_verify verify;
  /** The origin header to send (NULL = none). */
  const char *origin;
  /** QUIC settings (NULL = defaults; alpns is replaced by "h3", cert ignored). */
  const moqc_quic_settings *quic;
  /** Called when the session ends (after a successful connect); may be NULL. */
  moqc_wt_close_cb on_close;
  /** Log hook (may be NULL); referenced until the connection is gone. */
  const moqc_log *log;
} moqc_wt_connect_params;

/** The protocols @moq/net 0.3.4 offers over WebTransport for moq-lite (05, 04, 03, moql). */
MOQC_EXTERN const moqc_str *moqc_wt_default_protocols(size_t *n);

/**
 * Dials a WebTransport session on loop. The client owns a UDP endpoint bound to an ephemeral
 * port of the server's address family, freed after the session ends. on_connect is called
 * once (user_data is also passed to the close callback). Returns 0 (on_connect will be called),
 * MOQC_ERR_INVALID_ARGUMENT (bad URL, not https) or MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_wt_connect(struct uv_loop_s *loop, const moqc_wt_connect_params *params,
                                moqc_wt_connect_cb on_connect, void *user_data,
                                const moqc_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_WEBTRANSPORT_H */
