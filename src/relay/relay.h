/*
 * moqc-relay: the running relay — one origin, the metering registry, and its workers: one libuv
 * loop each, with its own QUIC endpoint, WebTransport server and web listener on the shared
 * ports (SO_REUSEPORT: the kernel spreads clients over them) and the sessions it accepted.
 * Worker 0 runs on the main loop, beside the signals, the stats broadcast and the internal
 * listener; the others run on threads of their own. The model and the stats registry are the
 * only state two workers share; everything in a worker is touched by its thread only.
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

#include "auth.h"
#include "config.h"

typedef struct relay relay;
typedef struct relay_worker relay_worker;
typedef struct relay_conn relay_conn;
typedef struct relay_fetch relay_fetch;

/** One client session, over WebSocket (ws) or raw QUIC (quic). */
struct relay_conn {
  relay *r;
  /** The worker whose loop runs this connection. */
  relay_worker *w;
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
  /** The client's verified token (has_token), which scopes the session instead of the public
   * prefixes. */
  relay_token token;
  bool has_token;
  /** Fires at the token's exp and closes the session as unauthorized (NULL: no expiry). */
  uv_timer_t *expiry;
};

/** One event loop and what runs on it. Touched by its own thread only (after start-up). */
struct relay_worker {
  relay *r;
  unsigned index;
  uv_loop_t *loop;
  /** The loop of a worker with a thread of its own (index > 0). */
  uv_loop_t own_loop;
  uv_thread_t thread;
  bool loop_init;      /* own_loop exists */
  bool thread_started; /* thread runs own_loop (joined in relay_free) */
  bool handles_init;   /* wake and stop exist (worker_stop closes them) */
  bool stopping;
  /** Base views of the origin for this thread: every path allowed, untagged. */
  moqc_origin_producer *producer;
  moqc_origin_consumer *consumer;
  moqc_quic_endpoint *quic;
  /** WebTransport (ALPN h3) on the same UDP endpoint. */
  moqc_wt_server *wt;
  moqc_http_server *web;
  /** Fires wake (uv_async_send) when a pending model call may proceed; used by /fetch. */
  uv_async_t wake;
  moqc_waker *waker;
  /** relay_stop, asked from the main thread. */
  uv_async_t stop;
  relay_conn *conns;
  relay_fetch *fetches;
};

struct relay {
  uv_loop_t *loop;
  relay_config *cfg;
  moqc_log log;
  moqc_origin *origin;
  /** Every path allowed, untagged: the main thread's base (the stats broadcast). */
  moqc_origin_producer *producer;
  moqc_stats_registry *registry;
  /** The stats broadcast <prefix>/node/<node>, drained every stats interval (NULL when off). */
  moqc_stats_publisher *stats_pub;
  uv_timer_t stats_timer;
  moqc_http_server *internal;
  /** TLS identity of the QUIC listener (and the /certificate.sha256 answer). */
  moqc_tls_cert *cert;
  char fingerprint[MOQC_TLS_FINGERPRINT_HEX_LEN + 1];
  relay_worker *workers;
  size_t nworkers;
  uv_signal_t sigint, sigterm;
  uv_async_t wake;
  /** Fires wake (uv_async_send) when the stats broadcast has a request to serve. */
  moqc_waker *waker;
  /** Connection ids, shared by the workers (atomic). */
  uint64_t next_conn_id;
  int handles_open;
  bool handles_init; /* the signal and wake handles exist (relay_stop closes them) */
  bool stopping;
  /** --auth-key, loaded at start (NULL: tokens are ignored). Read-only afterwards. */
  relay_auth_key *auth_key;
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

/**
 * Begins a clean stop: every worker closes its sessions with a going-away code and its
 * listeners (workers on their own threads are asked through their stop handle). Main thread.
 * Idempotent.
 */
void relay_stop(relay *r);

/** Joins the worker threads and frees what relay_start created; call after the main loop has run
 * dry. */
void relay_free(relay *r);

/** Splits "host:port", "[v6]:port" or ":port" into host (cap bytes) and port. 0 or -1. */
int relay_parse_addr(const char *addr, char *host, size_t cap, int *port);

/**
 * What a session rooted at root (normalized) may publish and subscribe to: the scope of tok
 * (see relay_auth_scope), or without a token (tok NULL) the public prefixes in both roles.
 * Returns 0 with *g filled (views into root, tok or the public prefixes), or
 * MOQC_ERR_UNAUTHORIZED when nothing is allowed. Any worker thread.
 */
int relay_auth_grant(const relay *r, moqc_str root, const relay_token *tok, relay_grant *g);

/**
 * Reads the jwt parameter of a URL query (without '?') and verifies it with --auth-key at the
 * current wall-clock time. Returns 0 with *tok filled and *has_token true, 0 with *has_token false
 * when there is no token or no --auth-key (a token is then ignored), MOQC_ERR_UNAUTHORIZED (the
 * reason logged with what, e.g. "conn 7") or MOQC_ERR_NOMEM. Any worker thread.
 */
int relay_auth_request(const relay *r, moqc_str query, const char *what, relay_token *tok,
                       bool *has_token);

/**
 * relay_auth_request then relay_auth_grant for a session rooted at root: the token of query (if
 * any) and what it (or the public prefixes) allows there. Returns 0 with *tok (free with
 * relay_token_free; zeroed without a token), *has_token and *g (views into root, *tok or the
 * public prefixes), MOQC_ERR_UNAUTHORIZED (a bad token, or nothing allowed under root; logged
 * with what) or MOQC_ERR_NOMEM. *tok needs relay_token_free whatever the result.
 */
int relay_auth_admit(const relay *r, moqc_str query, moqc_str root, const char *what,
                     relay_token *tok, bool *has_token, relay_grant *g);

/**
 * Splits "path?query" in place: *path keeps what is before the first '?', and the query after it
 * is returned (empty when there is none).
 */
moqc_str relay_split_query(moqc_str *path);

/**
 * What an HTTP read route (/announced, /fetch) of w may see for req: w's base consumer (root
 * "") scoped to the get prefixes of the request's jwt, or to the public prefixes without one.
 * Returns 0 with *out (owned by the caller), MOQC_ERR_UNAUTHORIZED (bad token, or nothing to
 * read) or MOQC_ERR_NOMEM. w's thread.
 */
int relay_auth_http_view(relay_worker *w, moqc_http_request *req, moqc_origin_consumer **out);

/** The wall-clock time in milliseconds since the Unix epoch (token expiry). */
int64_t relay_wall_ms(void);

/* routes.c */
/** The web listener's routes; user_data is the worker. */
void relay_route_public(void *user_data, moqc_http_request *req);
/** The internal listener's routes; user_data is the relay. */
void relay_route_internal(void *user_data, moqc_http_request *req);
/* fetch.c */
/** Starts a /fetch request on w; rest is the path after "/fetch/". */
void relay_fetch_start(relay_worker *w, moqc_http_request *req, moqc_str rest);
/* Polls w's pending /fetch requests (called when its waker fired). */
void relay_fetch_poll_all(relay_worker *w);
/* Ends every pending /fetch of w (at stop). */
void relay_fetch_abort_all(relay_worker *w);

/* conn.c */
/** Percent-decodes and normalizes a URL path into a new string (NULL: bad escape, NUL, too deep). */
char *relay_path_decode(moqc_str path);
/** Accepts a WebSocket upgrade on w for a session rooted at the request's path. */
void relay_conn_accept(relay_worker *w, moqc_http_request *req);
/** Closes every session of w with the going-away code. */
void relay_conn_close_all(relay_worker *w);
/** Makes a connection record rooted at root (taken), linked into w. NULL: no memory. */
relay_conn *relay_conn_new(relay_worker *w, char *root);
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
/** Loads or generates the TLS identity (--tls-cert/--tls-key or --tls-generate). 0 or -1. */
int relay_quic_load_cert(relay *r);
/**
 * Listens on UDP (--server-bind) on w's loop; port overrides the configured port when >= 0 (the
 * port worker 0 bound, for the others). With several workers the socket is bound with
 * SO_REUSEPORT. 0 or -1 after logging why.
 */
int relay_quic_start(relay_worker *w, int port);
/** Closes every QUIC session of w and its endpoint. */
void relay_quic_stop(relay_worker *w);

/* log.c */
/** A log hook writing "time level message" lines to stderr. */
void relay_log_init(moqc_log *log, moqc_log_level level);
/** Formats a line and passes it to log when level is enabled. */
void relay_logf(const moqc_log *log, moqc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MOQC_RELAY_RELAY_H */
