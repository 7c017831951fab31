/*
 * The connection shared by every `moqc` command (see client.h).
 */
#include "client.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

moqc_tstamp cli_now(void) { return uv_hrtime(); }

uint64_t cli_wall_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void client_log(void *user_data, moqc_log_level level, const char *msg) {
  (void)user_data;
  fprintf(stderr, "moqc: [%s] %s\n", moqc_log_level_name(level), msg);
}

/* Model wakers may fire on any thread and inside session calls: only signal the loop. */
static void client_wake(void *user_data) {
  cli_client *c = user_data;
  uv_async_send(&c->async);
}

static void client_release(cli_client *c) {
  moqc_waker_close(c->waker);
  c->waker = NULL;
  moqc_origin_producer_del(c->prod);
  c->prod = NULL;
  moqc_origin_consumer_del(c->cons);
  c->cons = NULL;
  moqc_origin_decref(c->origin);
  c->origin = NULL;
  uv_close((uv_handle_t *)&c->async, NULL);
  uv_close((uv_handle_t *)&c->sigint, NULL);
  uv_close((uv_handle_t *)&c->sigterm, NULL);
  uv_close((uv_handle_t *)&c->timer, NULL);
}

/* The connection is gone: tell the command, then release everything. */
static void client_gone(cli_client *c, int err) {
  if (c->gone) {
    return;
  }
  c->gone = true;
  if (c->cbs.closed != NULL) {
    c->cbs.closed(c, err);
  }
  client_release(c);
}

static void client_async(uv_async_t *a) {
  cli_client *c = a->data;

  if (c->gone) {
    return;
  }
  if (c->closing && c->ws == NULL && !c->connecting) {
    client_gone(c, c->close_err);
    return;
  }
  if (!c->closing && c->cbs.work != NULL) {
    c->cbs.work(c);
  }
}

static void client_signal(uv_signal_t *s, int signum) {
  cli_client *c = s->data;

  (void)signum;
  c->signals++;
  if (c->cbs.signal != NULL && !c->gone) {
    c->cbs.signal(c, c->signals);
  }
}

static void client_timeout(uv_timer_t *t) {
  cli_client *c = t->data;

  if (c->cbs.timeout != NULL && !c->gone) {
    c->cbs.timeout(c);
  }
}

int cli_client_init(cli_client *c, uv_loop_t *loop, const cli_opts *opts,
                    const cli_client_cbs *cbs, void *user_data) {
  moqc_origin_settings os;
  uint64_t random = 0;
  int rv;

  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->opts = opts;
  c->cbs = *cbs;
  c->user_data = user_data;
  if (opts->verbose) {
    c->log.write = client_log;
    c->log.level = MOQC_LOG_DEBUG;
  }
  if (uv_random(NULL, NULL, &random, sizeof(random), 0, NULL) != 0) {
    random = uv_hrtime() ^ (uint64_t)uv_os_getpid() << 32;
  }
  moqc_origin_settings_default(&os);
  os.random = random;
  rv = moqc_origin_new(&c->origin, &os);
  if (rv == 0) {
    rv = moqc_origin_producer_new(c->origin, &c->prod);
  }
  if (rv == 0) {
    rv = moqc_origin_consumer_new(c->origin, &c->cons);
  }
  if (rv == 0) {
    rv = moqc_waker_new(&c->waker, client_wake, c, NULL);
  }
  if (rv != 0) {
    moqc_origin_producer_del(c->prod);
    moqc_origin_consumer_del(c->cons);
    moqc_origin_decref(c->origin);
    return rv;
  }
  uv_async_init(loop, &c->async, client_async);
  c->async.data = c;
  uv_signal_init(loop, &c->sigint);
  uv_signal_init(loop, &c->sigterm);
  c->sigint.data = c->sigterm.data = c;
  uv_signal_start(&c->sigint, client_signal, SIGINT);
  uv_signal_start(&c->sigterm, client_signal, SIGTERM);
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  if (opts->timeout_s > 0) {
    uv_timer_start(&c->timer, client_timeout, (uint64_t)(opts->timeout_s * 1000.0 + 0.5), 0);
  }
  return 0;
}

static uint32_t client_version(moqc_str alpn) {
  if (moqc_str_eq(alpn, moqc_str_c("moq-lite-05"))) {
    return MOQC_SESSION_VERSION_LITE_05;
  }
  if (moqc_str_eq(alpn, moqc_str_c("moq-lite-04"))) {
    return MOQC_SESSION_VERSION_LITE_04;
  }
  if (moqc_str_eq(alpn, moqc_str_c("moq-lite-03"))) {
    return MOQC_SESSION_VERSION_LITE_03;
  }
  return MOQC_SESSION_VERSION_LEGACY;
}

static void client_ws_closed(void *user_data, moqc_ws_conn *conn, const moqc_ws_close_info *info) {
  cli_client *c = user_data;
  int err = c->session != NULL ? moqc_session_error(c->session) : 0;

  (void)conn;
  if (c->opts->verbose) {
    fprintf(stderr, "moqc: connection closed by %s: code %llu (%s)\n",
            info->by_peer ? "the relay" : "us", (unsigned long long)info->code, info->what);
  }
  if (err == 0 && !info->app) {
    err = MOQC_ERR_TRANSPORT; /* the socket dropped without an APPLICATION_CLOSE */
  }
  if (err == 0 && c->closing) {
    err = c->close_err;
  }
  moqc_session_del(c->session);
  c->session = NULL;
  c->ws = NULL;
  client_gone(c, err);
}

static void client_connected(void *user_data, int status, moqc_ws_conn *conn) {
  cli_client *c = user_data;
  moqc_session_settings ss;
  moqc_transport t;
  int rv;

  c->connecting = false;
  if (status != 0) {
    fprintf(stderr, "moqc: cannot connect to %s: %s\n", c->opts->url_text, moqc_strerror(status));
    if (!c->closing) {
      c->closing = true;
      c->close_err = status;
    }
    uv_async_send(&c->async);
    return;
  }
  c->ws = conn;
  if (c->closing) {
    moqc_ws_conn_attach(conn, NULL, NULL, client_ws_closed, c);
    moqc_ws_conn_close(conn, 0, "interrupted");
    return;
  }
  moqc_session_settings_default(&ss);
  ss.perspective = MOQC_SESSION_CLIENT;
  ss.version = client_version(moqc_ws_conn_alpn(conn));
  ss.origin_id = moqc_origin_id(c->origin);
  ss.announce_prefix = c->plan_mirror ? c->plan_prefix : NULL;
  ss.log = c->log;
  t = moqc_ws_conn_transport(conn);
  rv = moqc_session_new(&c->session, &ss, &t, c->plan_publish ? c->cons : NULL,
                        c->plan_mirror ? c->prod : NULL, NULL);
  if (rv != 0) {
    c->session = NULL;
    fprintf(stderr, "moqc: session: %s\n", moqc_strerror(rv));
    c->closing = true;
    c->close_err = rv;
    moqc_ws_conn_attach(conn, NULL, NULL, client_ws_closed, c);
    moqc_ws_conn_close(conn, moqc_err_to_lite_code(rv), moqc_strerror(rv));
    return;
  }
  moqc_ws_conn_attach(conn, moqc_session_app_ops(), c->session, client_ws_closed, c);
  if (c->opts->verbose) {
    moqc_str p = moqc_ws_conn_protocol(conn);
    fprintf(stderr, "moqc: connected to %s (%.*s)\n", c->opts->url_text, (int)p.len, p.ptr);
  }
  rv = moqc_session_start(c->session, cli_now());
  if (rv != 0) {
    fprintf(stderr, "moqc: session start: %s\n", moqc_strerror(rv));
    return; /* the session closed the transport: client_ws_closed follows */
  }
  if (c->cbs.ready != NULL) {
    c->cbs.ready(c);
  }
}

int cli_client_connect(cli_client *c, bool publish, bool mirror, const char *announce_prefix) {
  char url[CLI_HOST_MAX + CLI_PATH_MAX + 32];
  moqc_ws_settings ws;
  int rv;

  if (!cli_url_supported(&c->opts->url)) {
    fprintf(stderr, "moqc: %s: the %s transport is not available yet (use ws:// or http://)\n",
            c->opts->url_text,
            c->opts->url.scheme == CLI_SCHEME_HTTPS ? "WebTransport (https://)"
                                                    : "raw QUIC (moql://)");
    return MOQC_ERR_UNSUPPORTED;
  }
  if (cli_url_ws(&c->opts->url, url, sizeof(url)) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  c->plan_publish = publish;
  c->plan_mirror = mirror;
  c->plan_prefix = announce_prefix;
  moqc_ws_settings_default(&ws);
  ws.log = &c->log;
  rv = moqc_ws_connect(c->loop, url, NULL, 0, &ws, client_connected, c, NULL);
  if (rv != 0) {
    fprintf(stderr, "moqc: cannot dial %s: %s\n", url, moqc_strerror(rv));
    return rv;
  }
  c->connecting = true;
  return 0;
}

void cli_client_kick(cli_client *c) {
  if (!c->gone) {
    uv_async_send(&c->async);
  }
}

void cli_client_close(cli_client *c, int err, const char *reason) {
  if (c->closing || c->gone) {
    return;
  }
  c->closing = true;
  c->close_err = err;
  if (c->session != NULL) {
    moqc_session_close(c->session, err, reason);
  } else if (c->ws != NULL) {
    moqc_ws_conn_close(c->ws, 0, reason != NULL ? reason : "");
  } else if (!c->connecting) {
    uv_async_send(&c->async); /* nothing to close: finish on the loop */
  }
}
