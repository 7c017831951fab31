/*
 * moqc-relay: the running relay — one origin, the metering registry, the listeners and the
 * sessions. Everything here runs on one libuv loop (one thread); the model and the stats
 * registry are the only state other threads could touch.
 */
#ifndef MOQC_RELAY_RELAY_H
#define MOQC_RELAY_RELAY_H

#include <moqc/moqc.h>
#include <moqc/origin.h>
#include <moqc/quic.h>
#include <moqc/webtransport.h>
#include <moqc/session.h>
#include <moqc/stats.h>
#include <moqc/transport.h>

#include <uv.h>

#include "config.h"

typedef struct relay relay;
typedef struct relay_conn relay_conn;
typedef struct relay_fetch relay_fetch;

/** One client session, over WebSocket (ws) or raw QUIC (quic). */
struct relay_conn {
  relay *r;
  relay_conn *prev, *next;
  moqc_ws_conn *ws;
  moqc_quic_conn *quic;
  moqc_wt_conn *wt;
  moqc_session *session;
  moqc_stats_session *stats;
  uint64_t id;
  char *root;
  /**
   * Raw QUIC: the root comes from the lite-05 SETUP Path parameter, so a lite-05 session gets
   * its views (and its stats context) only when SETUP arrives (relay_conn_session).
   */
  bool root_from_setup;
};

struct relay {
  uv_loop_t *loop;
  relay_config *cfg;
  moqc_log log;
  moqc_origin *origin;
  /** Every path allowed, untagged: the base the per-session views derive from. */
  moqc_origin_producer *producer;
  moqc_origin_consumer *consumer;
  moqc_stats_registry *registry;
  /** The stats broadcast <prefix>/node/<node>, drained every stats interval (NULL when off). */
  moqc_stats_publisher *stats_pub;
  uv_timer_t stats_timer;
  moqc_http_server *web;
  moqc_http_server *internal;
  /** TLS identity of the QUIC listener (and the /certificate.sha256 answer). */
  moqc_tls_cert *cert;
  char fingerprint[MOQC_TLS_FINGERPRINT_HEX_LEN + 1];
  moqc_quic_endpoint *quic;
  /** WebTransport (ALPN h3) on the same UDP endpoint. */
  moqc_wt_server *wt;
  uv_signal_t sigint, sigterm;
  uv_async_t wake;
  /** Fires wake (uv_async_send) when a pending model call may proceed; used by /fetch. */
  moqc_waker *waker;
  relay_conn *conns;
  relay_fetch *fetches;
  uint64_t next_conn_id;
  int handles_open;
  bool handles_init; /* the signal and wake handles exist (relay_stop closes them) */
  bool stopping;
  /** The public prefixes, normalized (views into cfg). */
  moqc_str public_prefixes[RELAY_LIST_MAX];
  size_t n_public;
};

/** The current time for sessions and the model: the loop's monotonic clock, in ns. */
moqc_tstamp relay_now(const relay *r);

/**
 * Starts the relay on loop with cfg (referenced; must outlive the relay): origin, registry,
 * listeners, signals. Returns 0, or -1 after logging why.
 */
int relay_start(relay *r, uv_loop_t *loop, relay_config *cfg);

/** Begins a clean stop: sessions closed with a going-away code, listeners closed. Idempotent. */
void relay_stop(relay *r);

/** Frees what relay_start created; call after the loop has run dry. */
void relay_free(relay *r);

/** Splits "host:port", "[v6]:port" or ":port" into host (cap bytes) and port. 0 or -1. */
int relay_parse_addr(const char *addr, char *host, size_t cap, int *port);

/**
 * Computes the prefixes (relative to root) a session rooted at root may publish and subscribe
 * under, from the public prefixes. Returns how many (0 = nothing allowed); out[i] may point into
 * root or the public prefixes.
 */
size_t relay_auth_allowed(const relay *r, moqc_str root, moqc_str *out, size_t cap);

/* routes.c */
void relay_route_public(void *user_data, moqc_http_request *req);
void relay_route_internal(void *user_data, moqc_http_request *req);
/* fetch.c */
/** Starts a /fetch request; rest is the path after "/fetch/". */
void relay_fetch_start(relay *r, moqc_http_request *req, moqc_str rest);
/* Polls pending /fetch requests (called when a waker fired). */
void relay_fetch_poll_all(relay *r);
/* Ends every pending /fetch (at stop). */
void relay_fetch_abort_all(relay *r);

/* conn.c */
/** Percent-decodes and normalizes a URL path into a new string (NULL: bad escape, NUL, too deep). */
char *relay_path_decode(moqc_str path);
/** Accepts a WebSocket upgrade for a session rooted at the request's path. */
void relay_conn_accept(relay *r, moqc_http_request *req);
/** Closes every session with the going-away code. */
void relay_conn_close_all(relay *r);
/** Makes a connection record rooted at root (taken), linked into the relay. NULL: no memory. */
relay_conn *relay_conn_new(relay *r, char *root);
/**
 * Creates and starts the session of c over transport with the wire version (a
 * MOQC_SESSION_VERSION_*), scoped by auth to c->root. With c->root_from_setup and lite-05, the
 * session starts without views and is rooted, scoped and metered when the client's SETUP names
 * its path (a root that allows nothing then closes it with the unauthorized code). Returns 0,
 * MOQC_ERR_UNAUTHORIZED when the root allows nothing, or another error; the caller closes the
 * transport on error.
 */
int relay_conn_session(relay_conn *c, const moqc_transport *transport, uint32_t version);
/** Logs how c ended (by_peer, the close code, what closed it), then frees it. */
void relay_conn_closed(relay_conn *c, bool by_peer, uint64_t code, const char *what);
/** Unlinks and frees c and its session. */
void relay_conn_free(relay_conn *c);
/** Maps an ALPN or subprotocol suffix to a session version (legacy for unknown). */
uint32_t relay_version_of_alpn(moqc_str alpn);

/* quic.c */
/** Loads or generates the TLS identity and listens on UDP (--server-bind). 0 or -1. */
int relay_quic_start(relay *r);
/** Closes every QUIC session and the endpoint. */
void relay_quic_stop(relay *r);

/* log.c */
/** A log hook writing "time level message" lines to stderr. */
void relay_log_init(moqc_log *log, moqc_log_level level);
/** Formats a line and passes it to log when level is enabled. */
void relay_logf(const moqc_log *log, moqc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MOQC_RELAY_RELAY_H */
