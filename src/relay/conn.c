/*
 * moqc-relay: one moq-lite session per client connection, wired to the origin through views
 * scoped by auth and tagged with the session's metering context.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

/* The going-away code of a clean relay shutdown: moq-lite has none, so cancel (0). */
#define RELAY_GOING_AWAY 0

static void conn_unlink(relay_conn *c) {
  relay_worker *w = c->w;

  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else if (w->conns == c) {
    w->conns = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  c->prev = c->next = NULL;
}

relay_conn *relay_conn_new(relay_worker *w, char *root) {
  relay_conn *c = calloc(1, sizeof(*c));

  if (c == NULL) {
    free(root);
    return NULL;
  }
  c->r = w->r;
  c->w = w;
  c->id = __atomic_add_fetch(&w->r->next_conn_id, 1, __ATOMIC_RELAXED);
  c->root = root;
  c->next = w->conns;
  if (w->conns != NULL) {
    w->conns->prev = c;
  }
  w->conns = c;
  return c;
}

static void conn_expiry_closed(uv_handle_t *h) { free(h); }

void relay_conn_free(relay_conn *c) {
  conn_unlink(c);
  if (c->expiry != NULL) {
    c->expiry->data = NULL;
    uv_close((uv_handle_t *)c->expiry, conn_expiry_closed);
    c->expiry = NULL;
  }
  relay_token_free(&c->token);
  moqc_session_del(c->session);
  moqc_stats_session_decref(c->stats);
  free(c->root);
  free(c);
}

void relay_conn_closed(relay_conn *c, bool by_peer, uint64_t code, const char *what) {
  int err = c->session != NULL ? moqc_session_error(c->session) : 0;

  relay_logf(&c->r->log, MOQC_LOG_INFO, "conn %llu closed: %s code %llu (%s)%s%s",
             (unsigned long long)c->id, by_peer ? "peer" : "local", (unsigned long long)code,
             what, err != 0 ? ", session: " : "", err != 0 ? moqc_strerror(err) : "");
  relay_conn_free(c);
}

static void on_ws_close(void *user_data, moqc_ws_conn *ws, const moqc_ws_close_info *info) {
  (void)ws;
  relay_conn_closed(user_data, info->by_peer, info->code, info->what);
}

uint32_t relay_version_of_alpn(moqc_str alpn) {
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

/* The token's exp passed: the session ends as unauthorized (its close frees c). */
static void conn_on_expiry(uv_timer_t *t) {
  relay_conn *c = t->data;

  if (c == NULL || c->session == NULL) {
    return;
  }
  relay_logf(&c->r->log, MOQC_LOG_INFO, "conn %llu: token expired", (unsigned long long)c->id);
  moqc_session_close(c->session, MOQC_ERR_UNAUTHORIZED, "token expired");
}

/* Starts the timer that closes c at its token's exp (none without a token or an exp). */
static int conn_arm_expiry(relay_conn *c) {
  int64_t left;

  /* An exp too far out to count in milliseconds never comes. */
  if (!c->has_token || c->token.exp == 0 || c->token.exp > INT64_MAX / 1000 - 1 ||
      c->expiry != NULL) {
    return 0;
  }
  c->expiry = malloc(sizeof(*c->expiry));
  if (c->expiry == NULL) {
    return MOQC_ERR_NOMEM;
  }
  uv_timer_init(c->w->loop, c->expiry);
  c->expiry->data = c;
  left = c->token.exp * 1000 - relay_wall_ms();
  uv_timer_start(c->expiry, conn_on_expiry, left > 0 ? (uint64_t)left : 0, 0);
  return 0;
}

/*
 * Builds what a session rooted at c->root uses: its stats context (presence counted for the
 * root) and the origin views rooted there and scoped by auth. Returns 0 with all three set,
 * MOQC_ERR_UNAUTHORIZED when the root allows nothing, or MOQC_ERR_NOMEM (nothing set).
 */
static int conn_views(relay_conn *c, moqc_stats_session **stats, moqc_origin_consumer **publish,
                      moqc_origin_producer **mirror) {
  relay *r = c->r;
  relay_grant g;
  moqc_origin_producer *rooted_p = NULL;
  moqc_origin_consumer *rooted_c = NULL;
  int rv;

  *stats = NULL;
  *publish = NULL;
  *mirror = NULL;
  rv = relay_auth_grant(r, moqc_str_c(c->root), c->has_token ? &c->token : NULL, &g);
  if (rv != 0) {
    return rv;
  }
  /* A role the grant leaves empty gets no view: the session neither mirrors what the client
   * announces (no put) nor offers it anything (no get). */
  if (g.n_put > 0) {
    rv = moqc_origin_producer_with_root(c->w->producer, moqc_str_c(c->root), &rooted_p);
    if (rv == 0) {
      rv = moqc_origin_producer_scope(rooted_p, g.put, g.n_put, mirror);
    }
  }
  if (rv == 0 && g.n_get > 0) {
    rv = moqc_origin_consumer_with_root(c->w->consumer, moqc_str_c(c->root), &rooted_c);
    if (rv == 0) {
      rv = moqc_origin_consumer_scope(rooted_c, g.get, g.n_get, publish);
    }
  }
  if (rv == 0) {
    rv = moqc_stats_session_new(stats, r->registry, moqc_str_c(""), moqc_str_c(c->root));
  }
  moqc_origin_producer_del(rooted_p);
  moqc_origin_consumer_del(rooted_c);
  if (rv != 0) {
    moqc_origin_producer_del(*mirror);
    moqc_origin_consumer_del(*publish);
    *stats = NULL;
    *publish = NULL;
    *mirror = NULL;
  }
  return rv;
}

/* lite-05 over raw QUIC: the client's SETUP names the root; root, scope and meter the session. */
static void conn_on_setup(moqc_session *s, moqc_str path, void *user_data) {
  relay_conn *c = user_data;
  relay *r = c->r;
  moqc_stats_session *stats;
  moqc_origin_consumer *publish;
  moqc_origin_producer *mirror;
  /* The query is for tokens, as on a WebTransport CONNECT. */
  moqc_str query = relay_split_query(&path);
  char *root, what[32];
  int rv;

  snprintf(what, sizeof(what), "conn %llu", (unsigned long long)c->id);
  relay_token_free(&c->token);
  rv = relay_auth_request(r, query, what, &c->token, &c->has_token);
  if (rv != 0) {
    moqc_session_close(s, rv, rv == MOQC_ERR_UNAUTHORIZED ? "unauthorized" : "refused");
    return;
  }
  root = relay_path_decode(path);
  if (root == NULL) {
    relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: bad SETUP path", (unsigned long long)c->id);
    moqc_session_close(s, MOQC_ERR_PROTOCOL_VIOLATION, "bad SETUP path");
    return;
  }
  free(c->root);
  c->root = root;
  rv = conn_views(c, &stats, &publish, &mirror);
  if (rv == 0) {
    rv = moqc_session_attach_origins(s, publish, mirror, moqc_stats_session_ctx(stats));
  }
  if (rv == 0) {
    rv = conn_arm_expiry(c);
  }
  moqc_origin_producer_del(mirror);
  moqc_origin_consumer_del(publish);
  if (rv != 0) {
    moqc_stats_session_decref(stats);
    relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: SETUP root \"%s\" refused: %s",
               (unsigned long long)c->id, c->root, moqc_strerror(rv));
    moqc_session_close(s, rv, rv == MOQC_ERR_UNAUTHORIZED ? "unauthorized" : "refused");
    return;
  }
  moqc_stats_session_decref(c->stats);
  c->stats = stats;
  relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: SETUP root \"%s\"", (unsigned long long)c->id,
             c->root);
}

int relay_conn_session(relay_conn *c, const moqc_transport *transport, uint32_t version) {
  relay *r = c->r;
  moqc_origin_producer *mirror = NULL;
  moqc_origin_consumer *publish = NULL;
  moqc_session_settings ss;
  bool await_setup = c->root_from_setup && version == MOQC_SESSION_VERSION_LITE_05;
  int rv = 0;

  if (!await_setup) {
    rv = conn_views(c, &c->stats, &publish, &mirror);
  }
  if (rv == 0) {
    moqc_session_settings_default(&ss);
    ss.perspective = MOQC_SESSION_SERVER;
    ss.version = version;
    ss.origin_id = moqc_origin_id(r->origin);
    ss.announce_prefix = "";
    ss.log = r->log;
    ss.group_wait_max = (size_t)r->cfg->group_wait_max;
    if (await_setup) {
      ss.on_setup = conn_on_setup;
      ss.user_data = c;
    }
    rv = moqc_session_new(&c->session, &ss, transport, publish, mirror,
                          c->stats != NULL ? moqc_stats_session_ctx(c->stats) : NULL);
    if (rv != 0) {
      c->session = NULL;
    }
  }
  if (rv == 0 && !await_setup) {
    rv = conn_arm_expiry(c);
  }
  moqc_origin_producer_del(mirror);
  moqc_origin_consumer_del(publish);
  return rv;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = (char)(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *relay_path_decode(moqc_str path) {
  char *out = malloc(path.len + 1);
  size_t i, n = 0;
  moqc_str raw;

  if (out == NULL) {
    return NULL;
  }
  for (i = 0; i < path.len; i++) {
    char c = path.ptr[i];
    if (c == '%') {
      int hi = i + 2 < path.len ? hexval(path.ptr[i + 1]) : -1;
      int lo = i + 2 < path.len ? hexval(path.ptr[i + 2]) : -1;
      if (hi < 0 || lo < 0 || (hi | lo) == 0) {
        free(out);
        return NULL;
      }
      c = (char)(hi << 4 | lo);
      i += 2;
    }
    out[n++] = c;
  }
  raw.ptr = out;
  raw.len = n;
  n = moqc_path_normalize(out, raw);
  out[n] = '\0';
  if (moqc_path_count_parts(moqc_str_c(out)) > MOQC_PATH_MAX_PARTS) {
    free(out);
    return NULL;
  }
  return out;
}

void relay_conn_accept(relay_worker *w, moqc_http_request *req) {
  relay *r = w->r;
  static const moqc_http_header text[] = {{"Content-Type", "text/plain"}};
  moqc_transport transport;
  relay_grant grant;
  relay_token tok;
  bool has_token = false;
  relay_conn *c;
  char *root = relay_path_decode(moqc_http_request_path(req));
  int rv;

  if (root == NULL) {
    moqc_http_respond(req, 400, text, 1, "bad path\n", 9);
    return;
  }
  /* Refuse before upgrading a bad token or a root that allows nothing. */
  rv = relay_auth_admit(r, moqc_http_request_query(req), moqc_str_c(root), "websocket", &tok,
                        &has_token, &grant);
  if (rv != 0) {
    if (rv == MOQC_ERR_NOMEM) {
      moqc_http_respond(req, 500, text, 1, "out of memory\n", 14);
    } else {
      moqc_http_respond(req, 401, text, 1, "unauthorized\n", 13);
    }
    relay_token_free(&tok);
    free(root);
    return;
  }
  c = relay_conn_new(w, root);
  if (c == NULL) {
    relay_token_free(&tok);
    moqc_http_respond(req, 500, text, 1, "out of memory\n", 14);
    return;
  }
  c->token = tok; /* taken */
  c->has_token = has_token;
  rv = moqc_ws_accept(req, &c->ws);
  if (rv != 0) {
    relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: upgrade refused: %s",
               (unsigned long long)c->id, moqc_strerror(rv));
    relay_conn_free(c);
    return;
  }
  transport = moqc_ws_conn_transport(c->ws);
  rv = relay_conn_session(c, &transport, relay_version_of_alpn(moqc_ws_conn_alpn(c->ws)));
  if (rv != 0) {
    moqc_ws_conn_attach(c->ws, NULL, NULL, on_ws_close, c);
    moqc_ws_conn_close(c->ws, moqc_err_to_lite_code(rv), moqc_strerror(rv));
    return;
  }
  moqc_ws_conn_attach(c->ws, moqc_session_app_ops(), c->session, on_ws_close, c);
  relay_logf(&r->log, MOQC_LOG_INFO, "conn %llu: websocket %.*s root \"%s\" (worker %u)",
             (unsigned long long)c->id, (int)moqc_ws_conn_protocol(c->ws).len,
             moqc_ws_conn_protocol(c->ws).ptr, c->root, w->index);
  moqc_session_start(c->session, relay_now(r));
}

void relay_conn_close_all(relay_worker *w) {
  relay_conn *c, *next;

  for (c = w->conns; c != NULL; c = next) {
    next = c->next;
    if (c->session != NULL) {
      moqc_session_close(c->session, RELAY_GOING_AWAY, "relay shutting down");
    } else if (c->ws != NULL) {
      moqc_ws_conn_close(c->ws, RELAY_GOING_AWAY, "relay shutting down");
    }
  }
}
