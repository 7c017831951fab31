/*
 * moqc: the connection every command shares — a libuv loop, a local origin, one moq-lite client
 * session over WebTransport (https://), the WebSocket transport (ws://), raw QUIC (moql://) or,
 * for http://, WebTransport pinned to the relay's /certificate.sha256 with a WebSocket fallback
 * (wt_plan.h); SIGINT/SIGTERM handling, an optional overall timeout,
 * and one waker that turns model wake-ups into a call of the command's work function on the
 * loop (never from inside a session call).
 *
 * Lifecycle: cli_client_init, cli_client_connect (the session starts once the WebSocket is up),
 * then the command reacts to callbacks; cli_client_close closes the session (the transport
 * flushes and sends APPLICATION_CLOSE) and, once the connection is gone, releases every handle
 * so the loop runs dry. The command must release its own model handles in on_closed.
 */
#ifndef MOQC_CLI_CLIENT_H
#define MOQC_CLI_CLIENT_H

#include <moqc/moqc.h>
#include <moqc/quic.h>
#include <moqc/webtransport.h>
#include <uv.h>

#include "args.h"

typedef struct cli_client cli_client;

/** What a command plugs into the client. Every callback runs on the loop's thread. */
typedef struct cli_client_cbs {
  /** The session started (the WebSocket is up). */
  void (*ready)(cli_client *c);
  /** A model waker fired, or cli_client_kick was called: poll the model. */
  void (*work)(cli_client *c);
  /** SIGINT or SIGTERM (count is 1 for the first, 2 for the next...). */
  void (*signal)(cli_client *c, int count);
  /** The --timeout expired. */
  void (*timeout)(cli_client *c);
  /**
   * The connection is gone (err 0: a clean close by us or the peer; otherwise the error) and the
   * session deleted. Release model handles here.
   */
  void (*closed)(cli_client *c, int err);
} cli_client_cbs;

struct cli_client {
  uv_loop_t *loop;
  const cli_opts *opts;
  cli_client_cbs cbs;
  void *user_data;
  moqc_log log;
  moqc_origin *origin;
  moqc_origin_producer *prod; /* the local origin, to publish into or mirror into */
  moqc_origin_consumer *cons;
  moqc_ws_conn *ws;
  moqc_quic_endpoint *qep; /* moql:// */
  moqc_quic_conn *qc;
  moqc_wt_conn *wt; /* https://, or http:// when WebTransport won */
  bool dev_fallback; /* http://: a failed WebTransport attempt falls back to ws:// */
  uint8_t dev_pin[32]; /* http://: the fingerprint from /certificate.sha256 */
  moqc_session *session;
  moqc_waker *waker; /* hand this to model calls */
  uv_async_t async;
  uv_signal_t sigint, sigterm;
  uv_timer_t timer; /* the overall timeout */
  int signals;
  bool plan_publish, plan_mirror; /* what cli_client_connect asked for */
  const char *plan_prefix;
  bool connecting, closing, gone;
  bool reported; /* the failure was already printed (a connect error): commands stay quiet */
  int close_err;
};

/**
 * Prepares c on loop: the local origin (random id), the waker, the signal handlers and, when
 * opts->timeout_s > 0, the timeout. Returns 0 or a negative moqc error (then nothing to free).
 */
int cli_client_init(cli_client *c, uv_loop_t *loop, const cli_opts *opts,
                    const cli_client_cbs *cbs, void *user_data);

/**
 * As cli_client_init, charging the groups cached by the local origin (the broadcasts it
 * publishes or mirrors) to pool (NULL = unbounded; the origin takes its own reference). Over the
 * pool's capacity, a track's oldest cached groups are evicted when a group is inserted.
 */
int cli_client_init_pool(cli_client *c, uv_loop_t *loop, const cli_opts *opts,
                         const cli_client_cbs *cbs, void *user_data, moqc_cache_pool *pool);

/**
 * Dials opts->url. publish: offer the local origin to the relay; mirror: mirror what the relay
 * announces under announce_prefix (NULL = ask for nothing) into the local origin. Returns 0 or a
 * negative error (unsupported scheme: MOQC_ERR_UNSUPPORTED; then call cli_client_close).
 */
int cli_client_connect(cli_client *c, bool publish, bool mirror, const char *announce_prefix);

/** Calls the work callback soon, on the loop. */
void cli_client_kick(cli_client *c);

/**
 * Closes the session with err (0: clean) and reason; when the connection is gone (at once if
 * there is none), calls closed and releases every handle of c. Idempotent.
 */
void cli_client_close(cli_client *c, int err, const char *reason);

/** Monotonic time in nanoseconds, as the library expects. */
moqc_tstamp cli_now(void);

/** Wall-clock time in microseconds since the epoch (the payload's send time). */
uint64_t cli_wall_us(void);

#endif /* MOQC_CLI_CLIENT_H */
