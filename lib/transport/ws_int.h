/*
 * Internal state of the libuv WebSocket transport, shared by tcp_conn.c (the TCP connection:
 * reading, writing, closing), http_server.c (listener and HTTP requests), ws_conn.c (WebSocket
 * framing with wslay and the QMux engine) and ws_client.c (dialing).
 *
 * One struct, moqc_ws_conn, is every TCP connection: it starts as an HTTP connection (server)
 * or a dialing client and becomes a WebSocket connection after the 101, keeping its uv handles.
 */
#ifndef MOQC_TRANSPORT_WS_INT_H
#define MOQC_TRANSPORT_WS_INT_H

#include <pthread.h>

#include <gnutls/gnutls.h>
#include <moqc/transport.h>
#include <wslay/wslay.h>

#include "transport/ws_qmux.h"
#include "wire/http1.h"

/** Connection modes. */
#define MOQC__CONN_HTTP 0
#define MOQC__CONN_CLIENT_HANDSHAKE 1
#define MOQC__CONN_WS 2

/** Bytes waiting for the socket beyond which a connection stops reading (a peer that sends
 * but does not read); reading resumes below half of it. */
#define MOQC__TCP_MAX_PENDING (1024U * 1024U)

/** Size of the per-connection read buffer. */
#define MOQC__CONN_READ_BUF 16384U

struct moqc_http_request {
  moqc_ws_conn *conn;
  moqc__http1_request parsed;
  bool active;
  /* A streamed response is running (chunked when HTTP/1.1). */
  bool streaming;
  bool chunked;
  /* The connection closes after this response. */
  bool close_after;
  void (*on_abort)(void *ud);
  void *abort_ud;
};

struct moqc_http_server {
  uv_loop_t *loop;
  const moqc_mem *mem;
  moqc_http_server_settings st;
  uv_tcp_t listener;
  bool listening;
  bool closing;
  int port;
  /* Live connections (a doubly linked list) and handles still closing. */
  moqc_ws_conn *conns;
  size_t nconns;
  int pending_closes;
  void (*done)(void *);
  void *done_ud;
};

struct moqc_ws_conn {
  uv_loop_t *loop;
  const moqc_mem *mem;
  moqc_http_server *srv;
  moqc_ws_conn *prev;
  moqc_ws_conn *next;
  int mode;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_async_t async;
  bool async_init;
  int handles_open;
  bool closing;
  /* Graceful close: shut down once pending writes drain. */
  bool close_after_write;
  bool shutdown_started;
  uv_shutdown_t shutdown_req;
  bool reading;
  /* Reading stopped because too much waits for the socket. */
  bool read_paused;
  /* Bytes handed to uv_write and not yet completed. */
  size_t pending_write;
  int pending_reqs;
  uint8_t rbuf[MOQC__CONN_READ_BUF];
  /* HTTP and client handshake: the head being read (and bytes that followed it), an allocation
   * of MOQC__HTTP1_MAX_HEAD bytes freed once the connection speaks WebSocket. */
  uint8_t *head;
  size_t head_len;
  /* HTTP: waiting for the next request of a keep-alive connection (keep-alive timer armed); its
   * first byte switches to the head timeout. */
  bool keepalive_idle;
  moqc_http_request req;
  /* Client: the handshake. */
  char key[32];
  moqc_str offered[64];
  size_t n_offered;
  char *offered_buf;
  moqc_ws_connect_cb on_connect;
  void *connect_ud;
  char *request;
  size_t request_len;
  uv_connect_t connect_req;
  uv_getaddrinfo_t gai_req;
  /* TLS (NULL tls: plain TCP). */
  gnutls_session_t tls;
  gnutls_certificate_credentials_t tls_cred;
  struct moqc__tls_peer *tls_peer;
  bool tls_done;
  bool use_tls;
  const uint8_t *tls_in;
  size_t tls_in_len;
  uint8_t *tls_pending;
  size_t tls_pending_len;
  size_t tls_pending_cap;
  char host[256];
  /* WebSocket. */
  moqc_ws_settings ws;
  wslay_event_context_ptr wslay;
  moqc__wsq *engine;
  moqc__qmux_choice choice;
  const uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_len;
  size_t out_cap;
  bool ws_close_queued;
  bool in_process;
  /* HTTP: inside the parse loop (a response ending there must not re-enter it). */
  bool parsing;
  uint64_t mask_state;
  /* Loop time (ms) of the last bytes received and of the last Ping sent. */
  uint64_t last_recv_ms;
  uint64_t last_ping_ms;
  /* Guards async_live so wake may run on any thread. */
  pthread_mutex_t wake_lock;
  bool wake_lock_init;
  bool async_live;
  moqc_ws_close_cb on_close;
  void *close_ud;
  moqc_ws_close_info info;
  bool info_set;
};

/** Allocates a connection on loop and initialises its tcp handle and timer. Returns NULL on
 * failure. */
moqc_ws_conn *moqc__tcp_new(uv_loop_t *loop, moqc_http_server *srv, const moqc_mem *mem);
/** Starts reading (the data goes to moqc__tcp_on_data). Returns 0 or MOQC_ERR_IO. */
int moqc__tcp_start_read(moqc_ws_conn *c);
/** Queues bytes (copied) to the peer, through TLS when the connection has it. Returns 0,
 * MOQC_ERR_NOMEM, MOQC_ERR_IO or MOQC_ERR_CLOSED. */
int moqc__tcp_write(moqc_ws_conn *c, const void *data, size_t len);
/** Queues bytes (copied) to the socket as they are. Returns 0, MOQC_ERR_NOMEM, MOQC_ERR_IO or
 * MOQC_ERR_CLOSED. */
int moqc__tcp_write_raw(moqc_ws_conn *c, const void *data, size_t len);
/** Hands received plaintext to the connection's mode. */
void moqc__tcp_dispatch(moqc_ws_conn *c, const uint8_t *data, size_t len);

/* TLS over the connection (tcp_tls.c). */
/** Makes c a TLS server with cert. Returns 0, MOQC_ERR_NOMEM or MOQC_ERR_INTERNAL. */
int moqc__tls_server_start(moqc_ws_conn *c, const moqc_tls_cert *cert);
/** Makes c a TLS client verifying host as verify says. Returns 0 or an error. */
int moqc__tls_client_start(moqc_ws_conn *c, const moqc_tls_verify *verify, const char *host);
/** Advances a client handshake (sends the ClientHello). Returns 0 or MOQC_ERR_IO. */
int moqc__tls_kick(moqc_ws_conn *c);
/** Feeds raw bytes; decrypted data goes to moqc__tcp_dispatch. Returns 0, MOQC_ERR_CLOSED (the
 * peer closed TLS) or MOQC_ERR_IO (handshake or record failure). */
int moqc__tls_on_raw(moqc_ws_conn *c, const uint8_t *data, size_t len);
/** Encrypts and queues plaintext (held until the handshake is done). */
int moqc__tls_write(moqc_ws_conn *c, const void *data, size_t len);
/** Sends close_notify when the handshake is done. */
void moqc__tls_bye(moqc_ws_conn *c);
/** Frees the TLS state of c. */
void moqc__tls_free(moqc_ws_conn *c);
/** Closes the connection at once (pending writes may be lost). */
void moqc__tcp_close(moqc_ws_conn *c);
/** Closes once every pending write went out (bounded by a short timer). */
void moqc__tcp_close_graceful(moqc_ws_conn *c);
/** (Re)arms the connection timer to fire after ms milliseconds (0 stops it). */
void moqc__tcp_timer(moqc_ws_conn *c, uint64_t ms);

/** Ends the current HTTP request and goes on with the connection (or closes it). */
void moqc__http_end(moqc_http_request *req);
/** Frees a closing server once its listener and every connection are gone. */
void moqc__http_server_maybe_free(moqc_http_server *srv);

/* Dispatch by mode (implemented in http_server.c / ws_client.c / ws_conn.c). */
void moqc__http_on_data(moqc_ws_conn *c, const uint8_t *data, size_t len);
void moqc__http_on_timer(moqc_ws_conn *c);
void moqc__http_on_eof(moqc_ws_conn *c);
void moqc__http_on_writable(moqc_ws_conn *c);
void moqc__http_on_finalize(moqc_ws_conn *c);
void moqc__client_on_data(moqc_ws_conn *c, const uint8_t *data, size_t len);
void moqc__client_on_eof(moqc_ws_conn *c);
void moqc__ws_on_data(moqc_ws_conn *c, const uint8_t *data, size_t len);
void moqc__ws_on_timer(moqc_ws_conn *c);
void moqc__ws_on_eof(moqc_ws_conn *c);
void moqc__ws_on_writable(moqc_ws_conn *c);
void moqc__ws_on_finalize(moqc_ws_conn *c);

/**
 * Fills st with the QMux engine settings of a connection with WebSocket settings ws (windows,
 * stream limits, idle timeout, datagrams) in format, on the server or client side; wake and glue
 * are left NULL for the caller.
 */
void moqc__ws_engine_settings(moqc__wsq_settings *st, const moqc_ws_settings *ws,
                              moqc__qmux_format format, bool is_server);

/**
 * Turns c into a WebSocket connection carrying QMux format choice (server or client side),
 * then feeds it the bytes that followed the handshake. Returns 0 or MOQC_ERR_NOMEM (c closed).
 */
int moqc__ws_start(moqc_ws_conn *c, const moqc__qmux_choice *choice, bool is_server,
                   const uint8_t *rest, size_t rest_len);

#endif /* MOQC_TRANSPORT_WS_INT_H */
