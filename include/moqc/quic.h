/*
 * moqc: TLS identities and a QUIC endpoint (ngtcp2 + GnuTLS) on a libuv loop.
 *
 * Two parts:
 *
 * - TLS identities (moqc_tls_cert): load a PEM certificate chain and key, or
 * generate an ECDSA P-256 self-signed certificate valid for at most 14 days
 * (the WebTransport serverCertificateHashes rule) and read its SHA-256
 * fingerprint. Client verification against the system roots, a CA file, or
 * pinned fingerprints (moqc_tls_verify).
 * - A QUIC endpoint (moqc_quic_endpoint): one UDP socket, polled with uv_poll_t
 * and batched with recvmmsg/sendmmsg, that accepts many server connections and
 * opens client connections. Each connection (moqc_quic_conn) offers a small
 * stream API: open streams, write rcbuf ranges (zero-copy: the reference is
 * kept until the peer acknowledges the bytes), finish, reset, stop, datagrams
 * and close with an application code. Events arrive through
 * moqc_quic_callbacks.
 *
 * Instead of the stream API, a connection can carry a stream application (a
 * moq-lite session, <moqc/session.h>): moqc_quic_conn_transport gives the
 * session its moqc_transport, moqc_quic_conn_attach makes the connection drive
 * it (read_stream, pulled writev_stream ranges sent zero-copy, write and ack
 * offsets, flow-control blocking, resets, stops, datagrams, poll, expiry).
 *
 * Threads: an endpoint, its connections and their callbacks belong to the
 * thread running the libuv loop given at creation; no function here is
 * thread-safe except the wake operation of an attached application's
 * transport. The moqc_tls_cert functions are thread-safe on distinct objects,
 * and a moqc_tls_cert may be shared read-only by endpoints on several threads
 * once created. Added in 0.1.
 */
#ifndef MOQC_QUIC_H
#define MOQC_QUIC_H

#include <moqc/common.h>
#include <moqc/error.h>
#include <moqc/mem.h>
#include <moqc/rcbuf.h>
#include <moqc/session.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;
struct sockaddr_storage;
struct uv_loop_s;

/* ---- TLS identities and verification
 * ----------------------------------------------------------- */

/** Length of a SHA-256 certificate fingerprint in bytes, and of its lower-case
 * hex form. */
#define MOQC_TLS_FINGERPRINT_LEN 32
#define MOQC_TLS_FINGERPRINT_HEX_LEN 64

/** The longest validity of a generated certificate: 14 days (Chromium rejects
 * longer ones for serverCertificateHashes). */
#define MOQC_TLS_MAX_VALIDITY_SECONDS (14U * 24U * 3600U)

/**
 * A server identity: a certificate chain and its private key, ready for TLS,
 * with the SHA-256 fingerprint of the leaf certificate's DER. Immutable once
 * created.
 */
typedef struct moqc_tls_cert moqc_tls_cert;

/**
 * Generates an ECDSA P-256 key and a self-signed X.509v3 certificate for names
 * (DNS names or IP literals such as "127.0.0.1" or "::1"; the first one is also
 * the common name). names may be NULL when nnames is 0, which means
 * {"localhost"}. The certificate is valid from now_unix - 60 s for
 * validity_seconds in total, capped at MOQC_TLS_MAX_VALIDITY_SECONDS (0 also
 * means the cap). now_unix is the wall-clock time in seconds since the epoch,
 * supplied by the caller. mem may be NULL and must outlive the certificate.
 * Returns 0, MOQC_ERR_INVALID_ARGUMENT (an empty or overlong name),
 * MOQC_ERR_NOMEM or MOQC_ERR_INTERNAL (GnuTLS failed); *out is set only on
 * success.
 */
MOQC_EXTERN int moqc_tls_cert_generate(moqc_tls_cert **out,
                                       const char *const *names, size_t nnames,
                                       int64_t now_unix,
                                       uint32_t validity_seconds,
                                       const moqc_mem *mem);

/**
 * Loads a PEM certificate chain (leaf first) and its PEM private key from
 * memory. The bytes are copied. Returns 0, MOQC_ERR_MALFORMED (not PEM, or the
 * key does not match), MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_tls_cert_load_pem(moqc_tls_cert **out,
                                       const char *cert_pem, size_t cert_len,
                                       const char *key_pem, size_t key_len,
                                       const moqc_mem *mem);

/**
 * Loads a PEM certificate chain and key from two files. Returns 0, MOQC_ERR_IO
 * (a file cannot be read), or the errors of moqc_tls_cert_load_pem.
 */
MOQC_EXTERN int moqc_tls_cert_load_pem_files(moqc_tls_cert **out,
                                             const char *cert_path,
                                             const char *key_path,
                                             const moqc_mem *mem);

/**
 * Writes the leaf certificate (key = false) or the private key (key = true) as
 * PEM into buf[0..cap) with a terminating NUL. Returns the length without the
 * NUL, or MOQC_ERR_NOBUF when cap is too small, or MOQC_ERR_INTERNAL.
 */
MOQC_EXTERN moqc_ssize moqc_tls_cert_export_pem(const moqc_tls_cert *cert,
                                                bool key, char *buf,
                                                size_t cap);

/** Frees a certificate. cert may be NULL. Every endpoint using it must be
 * deleted first. */
MOQC_EXTERN void moqc_tls_cert_del(moqc_tls_cert *cert);

/** Returns the SHA-256 of the leaf certificate's DER (MOQC_TLS_FINGERPRINT_LEN
 * bytes). */
MOQC_EXTERN const uint8_t *moqc_tls_cert_fingerprint(const moqc_tls_cert *cert);

/**
 * Writes the fingerprint as 64 lower-case hex digits plus a NUL into out: the
 * text served at /certificate.sha256.
 */
MOQC_EXTERN void
moqc_tls_cert_fingerprint_hex(const moqc_tls_cert *cert,
                              char out[MOQC_TLS_FINGERPRINT_HEX_LEN + 1]);

/** Returns the leaf certificate's DER bytes and stores their length in *len. */
MOQC_EXTERN const uint8_t *moqc_tls_cert_der(const moqc_tls_cert *cert,
                                             size_t *len);

/**
 * Parses a SHA-256 fingerprint written as 64 hex digits (either case; ':'
 * separators allowed). Returns 0 or MOQC_ERR_MALFORMED (out untouched).
 */
MOQC_EXTERN int
moqc_tls_fingerprint_parse(const char *hex,
                           uint8_t out[MOQC_TLS_FINGERPRINT_LEN]);

/** How a client verifies the server certificate. */
typedef enum moqc_tls_verify_mode {
  /** The system trust store plus the server name (the default). */
  MOQC_TLS_VERIFY_SYSTEM = 0,
  /** The PEM roots in ca_file plus the server name. */
  MOQC_TLS_VERIFY_CA_FILE = 1,
  /** The SHA-256 of the leaf certificate must equal one of pins
     (serverCertificateHashes). */
  MOQC_TLS_VERIFY_PIN = 2,
  /** No verification at all: tests only. */
  MOQC_TLS_VERIFY_NONE = 3
} moqc_tls_verify_mode;

/** Client verification settings. The pointed-to data is copied by
 * moqc_quic_connect. */
typedef struct moqc_tls_verify {
  moqc_tls_verify_mode mode;
  /** For MOQC_TLS_VERIFY_CA_FILE: a PEM file of trusted roots. */
  const char *ca_file;
  /** For MOQC_TLS_VERIFY_PIN: npins fingerprints of MOQC_TLS_FINGERPRINT_LEN
   * bytes each. */
  const uint8_t (*pins)[MOQC_TLS_FINGERPRINT_LEN];
  size_t npins;
} moqc_tls_verify;

/* ---- QUIC endpoint
 * -----------------------------------------------------------------------------
 */

typedef struct moqc_quic_endpoint moqc_quic_endpoint;
typedef struct moqc_quic_conn moqc_quic_conn;

/** The ALPN list a server offers by default, in order of preference. */
#define MOQC_QUIC_DEFAULT_ALPNS "moq-lite-05,moq-lite-04,moq-lite-03,moql,h3"

/**
 * Endpoint settings. Fill with moqc_quic_settings_default, then change fields.
 * Copied at creation (the strings and the certificate are referenced: they must
 * outlive the endpoint).
 */
typedef struct moqc_quic_settings {
  /** Server identity; NULL makes a client-only endpoint that drops unknown
   * Initial packets. */
  const moqc_tls_cert *cert;
  /** Comma-separated ALPN list: the server's preference order, or what a client
   * offers. */
  const char *alpns;
  /** Idle timeout (transport parameter), ns. Default 30 s. */
  moqc_tstamp idle_timeout;
  /** Send a PING when nothing was sent for this long (0 = off), ns. Default 0.
   */
  moqc_tstamp keep_alive;
  /** Initial RTT estimate, ns. Default 50 ms (use ~10 ms on loopback;
   * spec/dependencies.md 1.4). */
  moqc_tstamp initial_rtt;
  /** Handshake timeout, ns. Default 10 s. */
  moqc_tstamp handshake_timeout;
  /** Initial per-stream receive window, bytes. Default 4 MiB. */
  uint64_t max_stream_data;
  /** Initial connection receive window, bytes. Default 16 MiB. */
  uint64_t max_data;
  /** Receive windows grow automatically up to these, bytes. Defaults 16 MiB and
   * 64 MiB. */
  uint64_t max_stream_window;
  uint64_t max_window;
  /** Streams the peer may open, per direction. Default 1000 each. */
  uint64_t max_streams_bidi;
  uint64_t max_streams_uni;
  /** Largest DATAGRAM frame accepted (0 disables datagrams). Default 1200. */
  uint64_t max_datagram_frame_size;
  /** Bind with SO_REUSEPORT, so that one endpoint per thread can share a port
   * (the kernel spreads peers over them by address hash). Default off. */
  bool reuse_port;
  /**
   * With reuse_port, endpoints sharing one port can steer by connection id:
   * this endpoint is number steer_index of steer_count (2..256), bound in index
   * order (0 first, nothing else on the port). The connection ids it issues
   * carry its index (first byte modulo steer_count), and endpoint 0 attaches a
   * socket filter to the port that hands each datagram to the endpoint its
   * destination connection id names. A client whose address changes (NAT
   * rebinding, migration) then stays with its connection; without steering the
   * kernel picks by address hash and such a client is lost. A kernel that
   * refuses the filter (before Linux 4.5) leaves the address hash, with a
   * warning in the log. Default 0 (off).
   */
  uint32_t steer_index;
  uint32_t steer_count;
  /** Validate client addresses with a Retry round trip before any connection
   * state is created (RFC 9000 8.1; costs one RTT per handshake, protects
   * against spoofed floods). Default off. */
  bool retry;
  /** Connections a server accepts at once; Initial packets beyond are dropped.
   * Default 10000. */
  size_t max_connections;
  /** Do not use UDP segmentation offloads: GSO to send runs of datagrams in one
   * call, GRO to receive coalesced ones (both on by default, and off by
   * themselves where the kernel refuses them). */
  bool no_gso;
  /** Log hook (may be NULL); referenced. */
  const moqc_log *log;
  /** Allocator (may be NULL); referenced. */
  const moqc_mem *mem;
} moqc_quic_settings;

/** Fills s with the defaults documented on each field. */
MOQC_EXTERN void moqc_quic_settings_default(moqc_quic_settings *s);

/**
 * Events of an endpoint. Every callback receives the endpoint's user_data and
 * the connection's own user data (moqc_quic_conn_set_user_data; NULL until
 * set). Any callback may be NULL. Inside a callback every moqc_quic_conn_* call
 * is allowed; effects (data, close) are sent when the callback returns.
 * moqc_quic_endpoint_del is allowed only inside on_close.
 */
typedef struct moqc_quic_callbacks {
  /**
   * The handshake completed; alpn is the negotiated protocol (NUL-terminated,
   * valid until on_close). Return 0, or a negative code to close the
   * connection.
   */
  int (*on_connection)(moqc_quic_conn *conn, const char *alpn, void *user_data,
                       void *conn_user_data);
  /**
   * Stream data at the stream's next offset (data may be NULL when len is 0 and
   * fin is set). Returns the bytes to credit back to flow control now (0..len);
   * the rest must be credited later with moqc_quic_conn_extend_stream_offset. A
   * negative return closes the connection.
   */
  moqc_ssize (*on_stream_data)(moqc_quic_conn *conn, int64_t stream_id,
                               const uint8_t *data, size_t len, bool fin,
                               void *user_data, void *conn_user_data);
  /** The peer reset a stream (RESET_STREAM) with app_code. */
  void (*on_stream_reset)(moqc_quic_conn *conn, int64_t stream_id,
                          uint64_t app_code, void *user_data,
                          void *conn_user_data);
  /**
   * The peer asked us to stop sending (STOP_SENDING) with app_code. ngtcp2
   * answers with RESET_STREAM by itself and tells only when the stream closes,
   * so this comes with the stream's close (for a bidirectional stream, once its
   * receiving side ended too). Writes fail with MOQC_ERR_CLOSED from the first
   * packet ngtcp2 refused.
   */
  void (*on_stream_stop)(moqc_quic_conn *conn, int64_t stream_id,
                         uint64_t app_code, void *user_data,
                         void *conn_user_data);
  /** n more bytes of stream_id were acknowledged by the peer (in order). */
  void (*on_stream_acked)(moqc_quic_conn *conn, int64_t stream_id, uint64_t n,
                          void *user_data, void *conn_user_data);
  /** A stream is fully closed in both directions; its id will not be reported
   * again. */
  void (*on_stream_close)(moqc_quic_conn *conn, int64_t stream_id,
                          void *user_data, void *conn_user_data);
  /** The peer raised its stream limit: moqc_quic_conn_open_stream may succeed
   * again. */
  void (*on_streams_available)(moqc_quic_conn *conn, bool uni, void *user_data,
                               void *conn_user_data);
  /** A DATAGRAM arrived; data is valid only during the call. */
  void (*on_datagram)(moqc_quic_conn *conn, const uint8_t *data, size_t len,
                      void *user_data, void *conn_user_data);
  /**
   * The connection is gone; conn is invalid after the call. err is 0 for a
   * close with an application code (app_code; remote tells who closed),
   * MOQC_ERR_TIMEOUT for an idle or handshake timeout, MOQC_ERR_UNAUTHORIZED
   * when certificate verification failed, MOQC_ERR_UNKNOWN_ALPN when no ALPN
   * matched, MOQC_ERR_TRANSPORT for other transport errors. Called for every
   * client connection and for every server connection that reached
   * on_connection.
   */
  void (*on_close)(moqc_quic_conn *conn, int err, uint64_t app_code,
                   bool remote, void *user_data, void *conn_user_data);
} moqc_quic_callbacks;

/**
 * Creates an endpoint: a non-blocking UDP socket bound to addr (IPv4 or IPv6;
 * port 0 picks a free port), polled on loop. settings and callbacks are copied.
 * Returns 0, MOQC_ERR_INVALID_ARGUMENT (bad address, empty ALPN list),
 * MOQC_ERR_IO (socket or bind failed), MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_quic_endpoint_new(moqc_quic_endpoint **out,
                                       struct uv_loop_s *loop,
                                       const struct sockaddr *addr,
                                       const moqc_quic_settings *settings,
                                       const moqc_quic_callbacks *callbacks,
                                       void *user_data);

/**
 * Closes every connection (CONNECTION_CLOSE with app_code 0, without calling
 * on_close or any attached application's closed) and the socket, then frees the
 * endpoint once libuv has closed its handles: the caller must run the loop
 * afterwards (uv_run) for the memory to be released. Applications still
 * attached must be deleted before the loop runs again (they must not use their
 * transport any more); closing them first (moqc_session_close, then on_close)
 * is cleaner. ep may be NULL. Not inside a callback other than on_close.
 */
MOQC_EXTERN void moqc_quic_endpoint_del(moqc_quic_endpoint *ep);

/** Returns the bound local port (host order). */
MOQC_EXTERN uint16_t moqc_quic_endpoint_port(const moqc_quic_endpoint *ep);

/** Returns the number of live connections (handshaking, open or closing). */
MOQC_EXTERN size_t moqc_quic_endpoint_conn_count(const moqc_quic_endpoint *ep);

/** Per-connection options of moqc_quic_connect. */
typedef struct moqc_quic_connect_params {
  /** Server name for SNI and verification (may be NULL: no SNI, name not
   * checked). */
  const char *server_name;
  /** ALPN list to offer (comma-separated); NULL uses the endpoint's list. */
  const char *alpns;
  /** How to verify the server. */
  moqc_tls_verify verify;
  /** The initial user data of the connection. */
  void *conn_user_data;
} moqc_quic_connect_params;

/**
 * Starts a client connection to remote. The connection is reported by
 * on_connection once the handshake completes, or by on_close if it fails.
 * Returns 0 (stores the connection in *out, which may be NULL),
 * MOQC_ERR_INVALID_ARGUMENT, MOQC_ERR_IO (a CA file cannot be read),
 * MOQC_ERR_NOMEM, MOQC_ERR_INTERNAL. If it fails, no callback is called.
 */
MOQC_EXTERN int moqc_quic_connect(moqc_quic_endpoint *ep,
                                  const struct sockaddr *remote,
                                  const moqc_quic_connect_params *params,
                                  moqc_quic_conn **out);

/** Sets the connection's user data (passed to every callback). */
MOQC_EXTERN void moqc_quic_conn_set_user_data(moqc_quic_conn *conn,
                                              void *conn_user_data);

/** Returns the connection's user data. */
MOQC_EXTERN void *moqc_quic_conn_get_user_data(const moqc_quic_conn *conn);

/** Returns the negotiated ALPN (NUL-terminated), or "" before the handshake
 * completed. */
MOQC_EXTERN const char *moqc_quic_conn_alpn(const moqc_quic_conn *conn);

/**
 * Copies the peer's current address (it may change when the peer migrates) into
 * *addr and its length into *len (at most sizeof(struct sockaddr_storage)).
 */
MOQC_EXTERN void moqc_quic_conn_remote_addr(const moqc_quic_conn *conn,
                                            struct sockaddr_storage *addr,
                                            size_t *len);

/**
 * Copies the server name the client asked for (TLS SNI) into out
 * (NUL-terminated, at most cap - 1 bytes). Returns true when there was one
 * (server side), false otherwise (out is then "").
 */
MOQC_EXTERN bool moqc_quic_conn_server_name(const moqc_quic_conn *conn,
                                            char *out, size_t cap);

/** Returns true for a connection accepted by this endpoint's server side. */
MOQC_EXTERN bool moqc_quic_conn_is_server(const moqc_quic_conn *conn);

/**
 * Opens a stream (unidirectional when uni is true) and stores its id. Allowed
 * once the handshake completed. Returns 0, MOQC_ERR_WOULD_BLOCK (the peer's
 * stream limit is reached; wait for on_streams_available), MOQC_ERR_CLOSED
 * (closing), MOQC_ERR_PENDING (handshake not done), MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_quic_conn_open_stream(moqc_quic_conn *conn, bool uni,
                                           int64_t *stream_id);

/**
 * Queues buf[off..off+len) on a stream, and a FIN after it when fin is true.
 * Zero-copy: takes its own reference on buf and drops it once the peer
 * acknowledged every byte of the range (or the stream or connection is gone);
 * the bytes must not change meanwhile. len may be 0 (buf may then be NULL) to
 * send only a FIN. Returns 0, MOQC_ERR_NOT_FOUND (no such stream, or we may not
 * send on it), MOQC_ERR_CLOSED (FIN already queued, stream reset, or the
 * connection is closing), MOQC_ERR_INVALID_ARGUMENT (range outside buf),
 * MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_quic_conn_write(moqc_quic_conn *conn, int64_t stream_id,
                                     moqc_rcbuf *buf, size_t off, size_t len,
                                     bool fin);

/** Like moqc_quic_conn_write for a copy of data[0..len) (one allocation). */
MOQC_EXTERN int moqc_quic_conn_write_copy(moqc_quic_conn *conn,
                                          int64_t stream_id,
                                          const uint8_t *data, size_t len,
                                          bool fin);

/** Queues a FIN on a stream. Same errors as moqc_quic_conn_write. */
MOQC_EXTERN int moqc_quic_conn_finish(moqc_quic_conn *conn, int64_t stream_id);

/**
 * Returns the bytes queued on a stream and not yet acknowledged (sent or not),
 * or 0 for an unknown stream. Use it to bound what a writer keeps in flight.
 */
MOQC_EXTERN uint64_t moqc_quic_conn_stream_unacked(const moqc_quic_conn *conn,
                                                   int64_t stream_id);

/**
 * Abandons the sending side of a stream (RESET_STREAM with app_code) and
 * releases its queued buffers. Returns 0 or MOQC_ERR_NOT_FOUND.
 */
MOQC_EXTERN int moqc_quic_conn_reset_stream(moqc_quic_conn *conn,
                                            int64_t stream_id,
                                            uint64_t app_code);

/** Asks the peer to stop sending on a stream (STOP_SENDING with app_code).
 * Returns 0 or MOQC_ERR_NOT_FOUND. */
MOQC_EXTERN int moqc_quic_conn_stop_stream(moqc_quic_conn *conn,
                                           int64_t stream_id,
                                           uint64_t app_code);

/**
 * Credits n more bytes of a stream back to flow control, for bytes that
 * on_stream_data did not report as consumed. Returns 0 or MOQC_ERR_NOT_FOUND.
 */
MOQC_EXTERN int moqc_quic_conn_extend_stream_offset(moqc_quic_conn *conn,
                                                    int64_t stream_id,
                                                    uint64_t n);

/**
 * Queues one DATAGRAM (data is copied). Returns 0, MOQC_ERR_UNSUPPORTED (the
 * peer accepts no datagrams), MOQC_ERR_FRAME_TOO_LARGE (larger than the peer
 * accepts or than one packet), MOQC_ERR_WOULD_BLOCK (too many queued; the
 * datagram is dropped), MOQC_ERR_PENDING (handshake not done), MOQC_ERR_CLOSED,
 * MOQC_ERR_NOMEM.
 */
MOQC_EXTERN int moqc_quic_conn_send_datagram(moqc_quic_conn *conn,
                                             const uint8_t *data, size_t len);

/**
 * Closes the connection with an application error code and a reason (copied,
 * truncated to 1000 bytes; may be NULL). on_close follows (err 0, remote false)
 * once the close was sent. Calling it again does nothing.
 */
MOQC_EXTERN void moqc_quic_conn_close(moqc_quic_conn *conn, uint64_t app_code,
                                      const char *reason);

/**
 * The transport handle for a stream application (a moq-lite session) carried by
 * conn: pass it to moqc_session_new, then attach the session with
 * moqc_quic_conn_attach. Valid until on_close returns. Its wake operation is
 * thread-safe (uv_async_send) once attached.
 */
MOQC_EXTERN moqc_transport moqc_quic_conn_transport(moqc_quic_conn *conn);

/**
 * Attaches a stream application (ops referenced: they must outlive the
 * connection; app is passed to every op). Call it from on_connection (so no
 * stream byte arrives before it) or later, once. From then on the connection
 * drives the application instead of the stream callbacks: read_stream gets the
 * bytes (its return value is credited to flow control; bytes it does not
 * consume are not offered again), writev_stream is pulled
 * whenever packets can be sent (its ranges are sent straight from its buffers
 * and acknowledged with add_ack_offset), block_stream / unblock_stream follow
 * flow control, recv_reset, recv_stop_sending (together with the stream's
 * close, as ngtcp2 reports stops), close_stream, recv_datagram, poll after wake
 * or new stream credit, get_expiry / handle_expiry on the connection's timer,
 * and closed when the connection ends other than by the application's own close
 * (on_close still follows: delete the session there at the latest). A negative
 * return from the application closes the connection with moqc_err_to_lite_code.
 * Do not use moqc_quic_conn_write on an attached connection. Returns 0,
 * MOQC_ERR_INVALID_ARGUMENT (already attached, or an op is NULL: all are
 * required), MOQC_ERR_CLOSED, MOQC_ERR_IO.
 */
MOQC_EXTERN int moqc_quic_conn_attach(moqc_quic_conn *conn,
                                      const moqc_stream_app_ops *ops,
                                      void *app);

/** Connection statistics. */
typedef struct moqc_quic_conn_stats {
  moqc_tstamp smoothed_rtt;
  moqc_tstamp min_rtt;
  uint64_t cwnd;
  uint64_t bytes_in_flight;
  uint64_t packets_sent;
  uint64_t packets_received;
  /** UDP payload bytes sent and received (QUIC packets, headers and all). */
  uint64_t bytes_sent;
  uint64_t bytes_received;
} moqc_quic_conn_stats;

/** Fills *st with the connection's current statistics. */
MOQC_EXTERN void moqc_quic_conn_get_stats(const moqc_quic_conn *conn,
                                          moqc_quic_conn_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_QUIC_H */
