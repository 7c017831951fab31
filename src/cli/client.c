/*
 * The connection shared by every `moqc` command (see client.h).
 */
#include "client.h"

#include "wt_fetch.h"
#include "wt_plan.h"

#include <netdb.h>
#include <netinet/in.h>
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
  if (c->closing && c->ws == NULL && c->qc == NULL && c->wt == NULL && !c->connecting) {
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
  return cli_client_init_pool(c, loop, opts, cbs, user_data, NULL);
}

int cli_client_init_pool(cli_client *c, uv_loop_t *loop, const cli_opts *opts,
                         const cli_client_cbs *cbs, void *user_data, moqc_cache_pool *pool) {
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
  os.cache_pool = pool;
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

/* Creates the client session over t once the connection is up (version from alpn). */
static int client_session_start(cli_client *c, moqc_transport *t, moqc_str alpn,
                                const char *setup_path) {
  moqc_session_settings ss;
  int rv;

  moqc_session_settings_default(&ss);
  ss.perspective = MOQC_SESSION_CLIENT;
  ss.version = client_version(alpn);
  ss.origin_id = moqc_origin_id(c->origin);
  ss.announce_prefix = c->plan_mirror ? c->plan_prefix : NULL;
  ss.setup_path = setup_path;
  ss.log = c->log;
  rv = moqc_session_new(&c->session, &ss, t, c->plan_publish ? c->cons : NULL,
                        c->plan_mirror ? c->prod : NULL, NULL);
  if (rv != 0) {
    c->session = NULL;
    fprintf(stderr, "moqc: session: %s\n", moqc_strerror(rv));
  }
  return rv;
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
  moqc_transport t;
  int rv;

  c->connecting = false;
  if (status != 0) {
    fprintf(stderr, "moqc: cannot connect to %s: %s\n", c->opts->url_text, moqc_strerror(status));
    c->reported = true;
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
  t = moqc_ws_conn_transport(conn);
  rv = client_session_start(c, &t, moqc_ws_conn_alpn(conn), NULL);
  if (rv != 0) {
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

/* ---- Raw QUIC (moql://) -------------------------------------------------------------------- */

static int client_quic_connected(moqc_quic_conn *qc, const char *alpn, void *user_data,
                                 void *conn_user_data) {
  cli_client *c = user_data;
  char path[CLI_PATH_MAX];
  moqc_transport t;
  size_t n;
  int rv;

  (void)conn_user_data;
  c->connecting = false;
  if (c->closing) {
    return MOQC_ERR_CANCEL; /* interrupted during the handshake: close */
  }
  /* The SETUP Path: the URL's path and query (the relay roots the session there; the query
   * carries tokens), as spec/moq-lite-wire.md says for URI-less bindings. */
  n = strnlen(c->opts->url.path, sizeof(path) - 1);
  memcpy(path, c->opts->url.path, n);
  path[n] = '\0';
  t = moqc_quic_conn_transport(qc);
  rv = client_session_start(c, &t, moqc_str_c(alpn), path);
  if (rv == 0 && (rv = moqc_quic_conn_attach(qc, moqc_session_app_ops(), c->session)) != 0) {
    moqc_session_del(c->session);
    c->session = NULL;
  }
  if (rv != 0) {
    c->closing = true;
    c->close_err = rv;
    return rv;
  }
  if (c->opts->verbose) {
    fprintf(stderr, "moqc: connected to %s (quic %s)\n", c->opts->url_text, alpn);
  }
  rv = moqc_session_start(c->session, cli_now());
  if (rv != 0) {
    fprintf(stderr, "moqc: session start: %s\n", moqc_strerror(rv));
    return 0; /* the session closed the transport: on_close follows */
  }
  if (c->cbs.ready != NULL) {
    c->cbs.ready(c);
  }
  return 0;
}

static void client_quic_closed(moqc_quic_conn *qc, int err, uint64_t app_code, bool remote,
                               void *user_data, void *conn_user_data) {
  cli_client *c = user_data;
  int serr = c->session != NULL ? moqc_session_error(c->session) : 0;

  (void)qc;
  (void)conn_user_data;
  if (err != 0 && c->connecting && !c->closing) {
    fprintf(stderr, "moqc: cannot connect to %s: %s\n", c->opts->url_text, moqc_strerror(err));
    c->reported = true;
  } else if (c->opts->verbose) {
    fprintf(stderr, "moqc: quic connection closed by %s: code %llu%s%s\n",
            remote ? "the relay" : "us", (unsigned long long)app_code, err != 0 ? ", " : "",
            err != 0 ? moqc_strerror(err) : "");
  }
  c->connecting = false;
  if (serr == 0) {
    serr = err;
  }
  if (serr == 0 && c->closing) {
    serr = c->close_err;
  }
  moqc_session_del(c->session);
  c->session = NULL;
  c->qc = NULL;
  moqc_quic_endpoint_del(c->qep); /* allowed inside on_close; freed as the loop runs */
  c->qep = NULL;
  client_gone(c, serr);
}

static int client_quic_connect(cli_client *c) {
  const cli_opts *o = c->opts;
  moqc_quic_callbacks cb;
  moqc_quic_settings qs;
  moqc_quic_connect_params params;
  struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
  struct sockaddr_storage bind_addr;
  uv_getaddrinfo_t req;
  char port[8];
  int rv;

  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  snprintf(port, sizeof(port), "%d", o->url.port);
  rv = uv_getaddrinfo(c->loop, &req, NULL, o->url.host, port, &hints); /* synchronous */
  if (rv != 0) {
    fprintf(stderr, "moqc: cannot resolve %s: %s\n", o->url.host, uv_strerror(rv));
    return MOQC_ERR_IO;
  }
  res = req.addrinfo;
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET || (ai->ai_family == AF_INET6 && pick == NULL)) {
      pick = ai; /* prefer IPv4, as the WebSocket client does */
      if (ai->ai_family == AF_INET) {
        break;
      }
    }
  }
  if (pick == NULL) {
    uv_freeaddrinfo(res);
    fprintf(stderr, "moqc: no address for %s\n", o->url.host);
    return MOQC_ERR_IO;
  }
  memset(&bind_addr, 0, sizeof(bind_addr));
  bind_addr.ss_family = (sa_family_t)pick->ai_family;
  moqc_quic_settings_default(&qs);
  qs.alpns = "moq-lite-05,moq-lite-04,moq-lite-03,moql";
  qs.log = &c->log;
  memset(&cb, 0, sizeof(cb));
  cb.on_connection = client_quic_connected;
  cb.on_close = client_quic_closed;
  rv = moqc_quic_endpoint_new(&c->qep, c->loop, (const struct sockaddr *)&bind_addr, &qs, &cb, c);
  if (rv != 0) {
    uv_freeaddrinfo(res);
    fprintf(stderr, "moqc: quic endpoint: %s\n", moqc_strerror(rv));
    return rv;
  }
  memset(&params, 0, sizeof(params));
  /* No SNI for an address literal (RFC 6066); the name is checked only in system mode. */
  params.server_name =
      o->url.ipv6 || strspn(o->url.host, "0123456789.") == strlen(o->url.host) ? NULL : o->url.host;
  if (o->tls_disable_verify) {
    params.verify.mode = MOQC_TLS_VERIFY_NONE;
  } else if (o->tls_fingerprint != NULL) {
    params.verify.mode = MOQC_TLS_VERIFY_PIN;
    params.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])o->fingerprint;
    params.verify.npins = 1;
  } else {
    params.verify.mode = MOQC_TLS_VERIFY_SYSTEM;
  }
  rv = moqc_quic_connect(c->qep, pick->ai_addr, &params, &c->qc);
  uv_freeaddrinfo(res);
  if (rv != 0) {
    fprintf(stderr, "moqc: cannot dial %s: %s\n", o->url_text, moqc_strerror(rv));
    moqc_quic_endpoint_del(c->qep);
    c->qep = NULL;
    c->qc = NULL;
    return rv;
  }
  c->connecting = true;
  return 0;
}

/* ---- WebTransport (https://, and http:// in development mode) ------------------------------- */

static int client_ws_connect(cli_client *c);

static void client_wt_closed(void *user_data, moqc_wt_conn *conn, const moqc_wt_close_info *info) {
  cli_client *c = user_data;
  int err = c->session != NULL ? moqc_session_error(c->session) : 0;

  (void)conn;
  if (c->opts->verbose) {
    fprintf(stderr, "moqc: webtransport session closed by %s: code %llu%s%s\n",
            info->by_peer ? "the relay" : "us", (unsigned long long)info->code,
            info->err != 0 ? ", " : "", info->err != 0 ? moqc_strerror(info->err) : "");
  }
  if (err == 0 && info->err != 0 && info->err != MOQC_ERR_CLOSED) {
    err = info->err;
  }
  if (err == 0 && c->closing) {
    err = c->close_err;
  }
  moqc_session_del(c->session);
  c->session = NULL;
  c->wt = NULL;
  client_gone(c, err);
}

static void client_wt_connected(void *user_data, int status, int http_status, moqc_wt_conn *conn) {
  cli_client *c = user_data;
  moqc_transport t;
  moqc_str proto;
  int rv;

  c->connecting = false;
  if (status != 0 && c->dev_fallback && !c->closing) {
    if (c->opts->verbose || status == MOQC_ERR_UNAUTHORIZED) {
      fprintf(stderr, "moqc: WebTransport to %s failed (%s), using WebSocket\n",
              c->opts->url_text, moqc_strerror(status));
    }
    rv = client_ws_connect(c);
    if (rv != 0) {
      c->reported = true;
      c->closing = true;
      c->close_err = rv;
      uv_async_send(&c->async);
    }
    return;
  }
  if (status != 0) {
    if (http_status != 0) {
      fprintf(stderr, "moqc: cannot connect to %s: %s (HTTP %d)\n", c->opts->url_text,
              moqc_strerror(status), http_status);
    } else {
      fprintf(stderr, "moqc: cannot connect to %s: %s\n", c->opts->url_text,
              moqc_strerror(status));
    }
    c->reported = true;
    if (!c->closing) {
      c->closing = true;
      c->close_err = status;
    }
    uv_async_send(&c->async);
    return;
  }
  c->wt = conn;
  if (c->closing) {
    moqc_wt_conn_close(conn, 0, "interrupted"); /* client_wt_closed follows */
    return;
  }
  proto = moqc_wt_conn_protocol(conn);
  t = moqc_wt_conn_transport(conn);
  rv = client_session_start(c, &t, proto, NULL);
  if (rv != 0) {
    c->closing = true;
    c->close_err = rv;
    moqc_wt_conn_close(conn, (uint32_t)moqc_err_to_lite_code(rv), moqc_strerror(rv));
    return;
  }
  rv = moqc_wt_conn_attach(conn, moqc_session_app_ops(), c->session, client_wt_closed, c);
  if (rv != 0) {
    moqc_session_del(c->session);
    c->session = NULL;
    c->closing = true;
    c->close_err = rv;
    moqc_wt_conn_close(conn, 0, moqc_strerror(rv));
    return;
  }
  if (c->opts->verbose) {
    fprintf(stderr, "moqc: connected to %s (webtransport %.*s)\n", c->opts->url_text,
            (int)proto.len, proto.ptr);
  }
  rv = moqc_session_start(c->session, cli_now());
  if (rv != 0) {
    fprintf(stderr, "moqc: session start: %s\n", moqc_strerror(rv));
    return; /* the session closed the transport: client_wt_closed follows */
  }
  if (c->cbs.ready != NULL) {
    c->cbs.ready(c);
  }
}

/* Dials WebTransport; pin (when not NULL) overrides the flags' verification (http://). */
static int client_wt_connect(cli_client *c, const uint8_t *pin) {
  char url[CLI_HOST_MAX + CLI_PATH_MAX + 32];
  moqc_wt_connect_params p;
  moqc_quic_settings qs;
  int rv;

  if (cli_url_wt(&c->opts->url, url, sizeof(url)) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  memset(&p, 0, sizeof(p));
  p.url = url;
  p.protocols = moqc_wt_default_protocols(&p.n_protocols);
  cli_tls_verify_for(c->opts, &p.verify);
  if (pin != NULL) {
    p.verify.mode = MOQC_TLS_VERIFY_PIN;
    p.verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])pin;
    p.verify.npins = 1;
  }
  moqc_quic_settings_default(&qs);
  qs.log = &c->log;
  if (c->dev_fallback) {
    /* Development mode: a relay without WebTransport on that UDP port must not hold up the
     * WebSocket fallback for the default 10 s. */
    qs.handshake_timeout = CLI_DEV_WT_TIMEOUT_MS * (moqc_tstamp)1000000;
  }
  p.quic = &qs;
  p.on_close = client_wt_closed;
  p.log = &c->log;
  rv = moqc_wt_connect(c->loop, &p, client_wt_connected, c, NULL);
  if (rv != 0) {
    fprintf(stderr, "moqc: cannot dial %s: %s\n", url, moqc_strerror(rv));
    return rv;
  }
  c->connecting = true;
  return 0;
}

static int client_ws_connect(cli_client *c) {
  char url[CLI_HOST_MAX + CLI_PATH_MAX + 32];
  moqc_ws_settings ws;
  int rv;

  if (cli_url_ws(&c->opts->url, url, sizeof(url)) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
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

int cli_client_connect(cli_client *c, bool publish, bool mirror, const char *announce_prefix) {
  char err[256];
  cli_plan plan;
  int rv;

  if (cli_plan_for(c->opts, &plan, err, sizeof(err)) != 0) {
    fprintf(stderr, "moqc: %s\n", err);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  c->plan_publish = publish;
  c->plan_mirror = mirror;
  c->plan_prefix = announce_prefix;
  switch (plan) {
  case CLI_PLAN_QUIC:
    return client_quic_connect(c);
  case CLI_PLAN_WT:
    return client_wt_connect(c, NULL);
  case CLI_PLAN_DEV:
    if (c->opts->tls_fingerprint != NULL || c->opts->tls_disable_verify) {
      c->dev_fallback = true; /* the flags say how to verify: no fetch */
      return client_wt_connect(c, NULL);
    }
    rv = cli_cert_fetch(&c->opts->url, CLI_DEV_FETCH_TIMEOUT_MS, c->dev_pin, err, sizeof(err));
    if (rv == 0 && cli_udp_port_closed(&c->opts->url, CLI_DEV_UDP_PROBE_MS)) {
      snprintf(err, sizeof(err), "nothing listens on UDP port %d", c->opts->url.port);
      rv = MOQC_ERR_IO;
    }
    if (rv == 0) {
      c->dev_fallback = true;
      return client_wt_connect(c, c->dev_pin);
    }
    if (c->opts->verbose) {
      fprintf(stderr, "moqc: no WebTransport at %s (%s), using WebSocket\n",
              c->opts->url_text, err);
    }
    return client_ws_connect(c);
  case CLI_PLAN_WS:
    break;
  }
  return client_ws_connect(c);
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
  } else if (c->wt != NULL) {
    moqc_wt_conn_close(c->wt, 0, reason != NULL ? reason : "");
  } else if (c->qc != NULL) {
    moqc_quic_conn_close(c->qc, 0, reason != NULL ? reason : "");
  } else if (c->ws != NULL) {
    moqc_ws_conn_close(c->ws, 0, reason != NULL ? reason : "");
  } else if (!c->connecting) {
    uv_async_send(&c->async); /* nothing to close: finish on the loop */
  }
}
