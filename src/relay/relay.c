/*
 * moqc-relay: start-up and shutdown of the origin, the registry and the listeners.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "relay.h"

moqc_tstamp relay_now(const relay *r) {
  (void)r;
  return uv_hrtime();
}

int relay_parse_addr(const char *addr, char *host, size_t cap, int *port) {
  const char *colon, *h = addr;
  size_t hlen;
  char *end;
  long p;

  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (close == NULL || close[1] != ':') {
      return -1;
    }
    h = addr + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(addr, ':');
    if (colon == NULL) {
      return -1;
    }
    hlen = (size_t)(colon - addr);
  }
  if (hlen + 1 > cap) {
    return -1;
  }
  p = strtol(colon + 1, &end, 10);
  if (*end != '\0' || colon[1] == '\0' || p < 0 || p > 65535) {
    return -1;
  }
  if (hlen == 0) {
    memcpy(host, "::", 3);
  } else {
    memcpy(host, h, hlen);
    host[hlen] = '\0';
  }
  *port = (int)p;
  return 0;
}

int relay_auth_grant(const relay *r, moqc_str root, const relay_token *tok, relay_grant *g) {
  size_t i, n = 0;

  if (tok != NULL) {
    return relay_auth_scope(tok, root, g);
  }
  memset(g, 0, sizeof(*g));
  for (i = 0; i < r->n_public && n < RELAY_LIST_MAX; i++) {
    moqc_str p = r->public_prefixes[i], rest;
    if (moqc_path_has_prefix(root, p)) {
      /* The session's root lies inside a public prefix: everything under the root. */
      g->put[0] = moqc_str_c("");
      n = 1;
      break;
    }
    if (moqc_path_strip_prefix(p, root, &rest)) {
      /* A public prefix lies below the root: only that part. */
      g->put[n++] = rest;
    }
  }
  for (i = 0; i < n; i++) {
    g->get[i] = g->put[i];
  }
  g->n_put = g->n_get = n;
  return n == 0 ? MOQC_ERR_UNAUTHORIZED : 0;
}

int64_t relay_wall_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int relay_auth_request(const relay *r, moqc_str query, const char *what, relay_token *tok,
                       bool *has_token) {
  char *jwt = NULL, err[200];
  int rv;

  *has_token = false;
  memset(tok, 0, sizeof(*tok));
  rv = relay_auth_query_token(query, &jwt);
  if (rv < 0) {
    relay_logf(&r->log, MOQC_LOG_INFO, "%s: bad jwt parameter", what);
    return rv;
  }
  if (rv == 0) {
    return 0;
  }
  if (r->auth_key == NULL) {
    relay_logf(&r->log, MOQC_LOG_DEBUG, "%s: jwt ignored (no --auth-key)", what);
    free(jwt);
    return 0;
  }
  rv = relay_auth_verify(r->auth_key, jwt, strlen(jwt), relay_wall_ms() / 1000, tok, err,
                         sizeof(err));
  free(jwt);
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_INFO, "%s: token refused: %s", what,
               rv == MOQC_ERR_UNAUTHORIZED ? err : moqc_strerror(rv));
    return rv;
  }
  *has_token = true;
  return 0;
}

int relay_auth_admit(const relay *r, moqc_str query, moqc_str root, const char *what,
                     relay_token *tok, bool *has_token, relay_grant *g) {
  int rv = relay_auth_request(r, query, what, tok, has_token);

  if (rv == 0) {
    rv = relay_auth_grant(r, root, *has_token ? tok : NULL, g);
    if (rv != 0) {
      relay_logf(&r->log, MOQC_LOG_INFO, "%s: unauthorized root \"%.*s\"", what, (int)root.len,
                 root.ptr);
    }
  }
  return rv;
}

moqc_str relay_split_query(moqc_str *path) {
  const char *q = path->len > 0 ? memchr(path->ptr, '?', path->len) : NULL;
  moqc_str query = {"", 0};

  if (q != NULL) {
    query.ptr = q + 1;
    query.len = path->len - (size_t)(q - path->ptr) - 1;
    path->len = (size_t)(q - path->ptr);
  }
  return query;
}

int relay_auth_http_view(relay_worker *w, moqc_http_request *req, moqc_origin_consumer **out) {
  relay_token tok;
  relay_grant g;
  bool has_token = false;
  int rv;

  *out = NULL;
  rv = relay_auth_admit(w->r, moqc_http_request_query(req), moqc_str_c(""), "http", &tok,
                        &has_token, &g);
  if (rv == 0 && g.n_get == 0) {
    rv = MOQC_ERR_UNAUTHORIZED;
  }
  if (rv == 0) {
    rv = moqc_origin_consumer_scope(w->consumer, g.get, g.n_get, out);
  }
  relay_token_free(&tok);
  return rv;
}

static void on_signal(uv_signal_t *sig, int signum) {
  relay *r = sig->data;

  relay_logf(&r->log, MOQC_LOG_INFO, "signal %d: stopping", signum);
  relay_stop(r);
}

/* The main loop's wake: the stats broadcast has a track request to serve. */
static void on_wake(uv_async_t *async) {
  relay *r = async->data;

  if (r->stats_pub != NULL) {
    moqc_stats_publisher_serve(r->stats_pub, relay_now(r));
  }
}

static void on_stats_tick(uv_timer_t *t) {
  relay *r = t->data;
  size_t written = 0;
  int rv = moqc_stats_publisher_drain(r->stats_pub, relay_now(r), &written);

  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_WARN, "stats: drain failed: %s", moqc_strerror(rv));
  } else if (written > 0) {
    relay_logf(&r->log, MOQC_LOG_DEBUG, "stats: %zu documents written", written);
  }
}

static int start_stats(relay *r) {
  moqc_stats_publisher_settings set;
  int rv;

  moqc_stats_publisher_settings_default(&set);
  set.prefix = moqc_str_c(r->cfg->stats_prefix);
  set.node = moqc_str_c(r->cfg->stats_node);
  set.wake = r->waker;
  rv = moqc_stats_publisher_new(&r->stats_pub, r->registry, r->producer, &set);
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "stats: cannot publish the stats broadcast: %s",
               moqc_strerror(rv));
    return -1;
  }
  relay_logf(&r->log, MOQC_LOG_INFO, "stats broadcast %.*s every %llu s",
             (int)moqc_stats_publisher_path(r->stats_pub).len,
             moqc_stats_publisher_path(r->stats_pub).ptr,
             (unsigned long long)r->cfg->stats_interval);
  uv_timer_init(r->loop, &r->stats_timer);
  r->stats_timer.data = r;
  r->handles_open++;
  /* The first tick fires at once, then every interval. */
  uv_timer_start(&r->stats_timer, on_stats_tick, 0, r->cfg->stats_interval * 1000);
  return 0;
}

/* A model waker: may run on any thread. */
static void wake_loop(void *ud) { uv_async_send(ud); }

static void on_handle_closed(uv_handle_t *h) {
  relay *r = h->data;
  r->handles_open--;
}

static void on_server_gone(void *ud) {
  relay *r = ud;
  r->handles_open--;
}

static void on_worker_handle_closed(uv_handle_t *h) { (void)h; }

/*
 * Listens on addr (port overrides its port when >= 0) on loop, with route(user_data); reuse_port
 * for a listener shared by the workers. Returns 0, or -1 after logging why.
 */
static int listen_http(relay *r, uv_loop_t *loop, moqc_http_server **out, const char *addr,
                       int port_override, bool reuse_port, moqc_http_route_cb route,
                       void *user_data, const char *what) {
  moqc_http_server_settings s;
  char host[128];
  int port, rv;

  if (relay_parse_addr(addr, host, sizeof(host), &port) != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "%s: bad address \"%s\" (want host:port)", what, addr);
    return -1;
  }
  if (port_override >= 0) {
    port = port_override;
  }
  moqc_http_server_settings_default(&s);
  s.route = route;
  s.user_data = user_data;
  s.head_timeout_ms = r->cfg->http_head_timeout_ms;
  s.log = &r->log;
  s.ws.log = &r->log;
  s.reuse_port = reuse_port;
  rv = moqc_http_server_new(out, loop, &s, NULL);
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "%s: %s", what, moqc_strerror(rv));
    return -1;
  }
  rv = moqc_http_server_listen(*out, host, port);
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "%s: cannot listen on %s: %s", what, addr,
               moqc_strerror(rv));
    return -1;
  }
  if (port_override < 0) {
    relay_logf(&r->log, MOQC_LOG_INFO, "%s listening on %s (port %d)", what, addr,
               moqc_http_server_port(*out));
  }
  return 0;
}

static void worker_on_wake(uv_async_t *async) { relay_fetch_poll_all(async->data); }

/* Closes what w runs: sessions (going away), listeners, /fetch requests, handles. w's thread. */
static void worker_stop(relay_worker *w) {
  if (w->stopping) {
    return;
  }
  w->stopping = true;
  relay_conn_close_all(w);
  relay_quic_stop(w);
  relay_fetch_abort_all(w);
  if (w->web != NULL) {
    moqc_http_server_del(w->web, NULL, NULL);
    w->web = NULL;
  }
  if (!w->handles_init) {
    return;
  }
  if (w->waker != NULL) {
    moqc_waker_close(w->waker);
    w->waker = NULL;
  }
  uv_close((uv_handle_t *)&w->wake, on_worker_handle_closed);
  uv_close((uv_handle_t *)&w->stop, on_worker_handle_closed);
}

static void worker_on_stop(uv_async_t *async) { worker_stop(async->data); }

static void worker_run(void *arg) {
  relay_worker *w = arg;

  uv_run(w->loop, UV_RUN_DEFAULT);
}

/*
 * Sets up worker w on its loop (from the main thread, before its loop runs): base views, wake and
 * stop handles, the QUIC endpoint and the web listener. quic_port and web_port (>= 0) are the
 * ports worker 0 bound. Returns 0, or -1 after logging why.
 */
static int worker_start(relay_worker *w, int quic_port, int web_port) {
  relay *r = w->r;
  bool shared = r->nworkers > 1;

  if (moqc_origin_producer_new(r->origin, &w->producer) != 0 ||
      moqc_origin_consumer_new(r->origin, &w->consumer) != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: out of memory");
    return -1;
  }
  uv_async_init(w->loop, &w->wake, worker_on_wake);
  uv_async_init(w->loop, &w->stop, worker_on_stop);
  w->wake.data = w->stop.data = w;
  w->handles_init = true;
  if (moqc_waker_new(&w->waker, wake_loop, &w->wake, NULL) != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: out of memory");
    return -1;
  }
  if (relay_quic_start(w, quic_port) != 0) {
    return -1;
  }
  if (r->cfg->web_http_listen != NULL &&
      listen_http(r, w->loop, &w->web, r->cfg->web_http_listen, web_port, shared,
                  relay_route_public, w, "web") != 0) {
    return -1;
  }
  return 0;
}

/* Makes the workers; worker 0 binds first (the configured ports may be 0), the others bind the
 * ports it got, then get their threads. Returns 0, or -1 after logging why. */
static int start_workers(relay *r) {
  int quic_port = -1, web_port = -1;
  size_t i;

  r->nworkers = r->cfg->workers > 0 ? (size_t)r->cfg->workers : uv_available_parallelism();
  if (r->nworkers == 0) {
    r->nworkers = 1;
  }
  r->workers = calloc(r->nworkers, sizeof(*r->workers));
  if (r->workers == NULL) {
    r->nworkers = 0;
    relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: out of memory");
    return -1;
  }
  for (i = 0; i < r->nworkers; i++) {
    relay_worker *w = &r->workers[i];
    w->r = r;
    w->index = (unsigned)i;
    if (i == 0) {
      w->loop = r->loop;
    } else {
      if (uv_loop_init(&w->own_loop) != 0) {
        relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: cannot create worker %zu's loop", i);
        return -1;
      }
      w->loop_init = true;
      w->loop = &w->own_loop;
    }
    if (worker_start(w, quic_port, web_port) != 0) {
      return -1;
    }
    if (i == 0) {
      quic_port = w->quic != NULL ? (int)moqc_quic_endpoint_port(w->quic) : -1;
      web_port = w->web != NULL ? moqc_http_server_port(w->web) : -1;
    }
  }
  for (i = 1; i < r->nworkers; i++) {
    relay_worker *w = &r->workers[i];
    if (uv_thread_create(&w->thread, worker_run, w) != 0) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: cannot start worker %zu's thread", i);
      return -1;
    }
    w->thread_started = true;
  }
  if (r->nworkers > 1) {
    relay_logf(&r->log, MOQC_LOG_INFO, "%zu workers (event-loop threads) share the ports",
               r->nworkers);
  }
  return 0;
}

int relay_start(relay *r, uv_loop_t *loop, relay_config *cfg) {
  moqc_origin_settings os;
  moqc_log_level level = MOQC_LOG_INFO;
  uint64_t random = 0;
  size_t i, n_public;
  int rv;

  memset(r, 0, sizeof(*r));
  r->loop = loop;
  r->cfg = cfg;
  if (moqc_log_level_parse(cfg->log_level, &level) != 0) {
    level = MOQC_LOG_INFO;
  }
  relay_log_init(&r->log, level);
  if (cfg->auth_key != NULL) {
    char err[300];
    if (relay_auth_key_load(&r->auth_key, cfg->auth_key, err, sizeof(err)) != 0) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "auth.key: cannot load the JWK %s", err);
      return -1;
    }
    relay_logf(&r->log, MOQC_LOG_INFO, "auth.key: %s (%s): clients pass ?jwt=",
               cfg->auth_key, relay_auth_key_describe(r->auth_key));
  }
  /* Settings whose feature is not built yet are refused rather than ignored. */
  if (cfg->cluster_connect.count > 0 || cfg->cluster_node != NULL) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "cluster: clustering is not built yet");
    return -1;
  }

  /* The embedded default's public "" is for a relay without a key. */
  n_public = cfg->auth_key != NULL && !cfg->auth_public_set ? 0 : cfg->auth_public.count;
  for (i = 0; i < n_public; i++) {
    char *p = cfg->auth_public.items[i];
    moqc_str in = moqc_str_c(p);
    r->public_prefixes[i].ptr = p;
    r->public_prefixes[i].len = moqc_path_normalize(p, in);
    p[r->public_prefixes[i].len] = '\0';
  }
  r->n_public = moqc_path_prefixes_normalize(r->public_prefixes, n_public);
  if (r->n_public == 0 && r->auth_key != NULL) {
    relay_logf(&r->log, MOQC_LOG_INFO, "no anonymous access: every client needs a token");
  }
  for (i = 0; i < r->n_public; i++) {
    if (r->public_prefixes[i].len == 0) {
      relay_logf(&r->log, MOQC_LOG_WARN,
                 "anonymous clients may publish and subscribe anywhere (auth.public = \"\")");
    } else {
      relay_logf(&r->log, MOQC_LOG_INFO, "anonymous access under \"%.*s\"",
                 (int)r->public_prefixes[i].len, r->public_prefixes[i].ptr);
    }
  }

  if (getrandom(&random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
    random = uv_hrtime();
  }
  moqc_origin_settings_default(&os);
  os.random = random;
  rv = 0;
  if (cfg->cache_capacity > 0 || cfg->cache_duration_ms > 0) {
    rv = moqc_cache_pool_new(&os.cache_pool,
                             cfg->cache_capacity > 0 ? cfg->cache_capacity : UINT64_MAX, NULL);
    if (rv == 0) {
      moqc_cache_pool_set_max_age(os.cache_pool, cfg->cache_duration_ms * MOQC_MILLISECONDS);
    }
  }
  if (rv == 0) {
    rv = moqc_origin_new(&r->origin, &os);
    moqc_cache_pool_decref(os.cache_pool); /* the origin holds its own reference */
  }
  if (rv == 0) {
    rv = moqc_origin_producer_new(r->origin, &r->producer);
  }
  if (rv == 0) {
    if (cfg->stats_enabled) {
      moqc_str exclude = moqc_str_c(cfg->stats_prefix);
      rv = moqc_stats_registry_new(&r->registry, &exclude, 1, NULL);
    } else {
      rv = moqc_stats_registry_new_disabled(&r->registry, NULL);
    }
  }
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: %s", moqc_strerror(rv));
    return -1;
  }
  relay_logf(&r->log, MOQC_LOG_INFO, "origin id %llu, metering %s",
             (unsigned long long)moqc_origin_id(r->origin), cfg->stats_enabled ? "on" : "off");

  uv_signal_init(loop, &r->sigint);
  uv_signal_init(loop, &r->sigterm);
  uv_async_init(loop, &r->wake, on_wake);
  r->sigint.data = r->sigterm.data = r->wake.data = r;
  r->handles_open += 3;
  r->handles_init = true;
  if (moqc_waker_new(&r->waker, wake_loop, &r->wake, NULL) != 0) {
    relay_logf(&r->log, MOQC_LOG_ERROR, "start-up: out of memory");
    return -1;
  }
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);

  if (relay_quic_load_cert(r) != 0 || start_workers(r) != 0) {
    return -1;
  }
  if (cfg->stats_enabled && start_stats(r) != 0) {
    return -1;
  }
  if (cfg->internal_listen != NULL) {
    r->handles_open++;
    if (listen_http(r, r->loop, &r->internal, cfg->internal_listen, -1, false,
                    relay_route_internal, r, "internal") != 0) {
      return -1;
    }
  }
  return 0;
}

void relay_stop(relay *r) {
  size_t i;

  if (r->stopping) {
    return;
  }
  r->stopping = true;
  for (i = 0; i < r->nworkers; i++) {
    relay_worker *w = &r->workers[i];
    if (w->thread_started) {
      uv_async_send(&w->stop);
    } else if (w->loop != NULL) {
      /* Worker 0, or one whose thread never started: its loop is not running elsewhere. */
      worker_stop(w);
    }
  }
  if (r->stats_pub != NULL) {
    uv_close((uv_handle_t *)&r->stats_timer, on_handle_closed);
    moqc_stats_publisher_del(r->stats_pub);
    r->stats_pub = NULL;
  }
  if (r->internal != NULL) {
    moqc_http_server_del(r->internal, on_server_gone, r);
    r->internal = NULL;
  }
  if (!r->handles_init) {
    return;
  }
  uv_close((uv_handle_t *)&r->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&r->sigterm, on_handle_closed);
  if (r->waker != NULL) {
    moqc_waker_close(r->waker);
    r->waker = NULL;
  }
  uv_close((uv_handle_t *)&r->wake, on_handle_closed);
}

void relay_free(relay *r) {
  size_t i;

  for (i = 0; i < r->nworkers; i++) {
    relay_worker *w = &r->workers[i];
    if (w->thread_started) {
      uv_thread_join(&w->thread);
    } else if (w->loop_init) {
      uv_run(&w->own_loop, UV_RUN_DEFAULT);
    }
    if (w->loop_init && uv_loop_close(&w->own_loop) != 0) {
      relay_logf(&r->log, MOQC_LOG_ERROR, "worker %zu: handles left open at exit", i);
    }
    moqc_origin_producer_del(w->producer);
    moqc_origin_consumer_del(w->consumer);
  }
  free(r->workers);
  r->workers = NULL;
  r->nworkers = 0;
  moqc_origin_producer_del(r->producer);
  moqc_origin_decref(r->origin);
  moqc_stats_registry_decref(r->registry);
  moqc_tls_cert_del(r->cert);
  r->cert = NULL;
  relay_auth_key_free(r->auth_key);
  r->auth_key = NULL;
  r->producer = NULL;
  r->origin = NULL;
  r->registry = NULL;
}
