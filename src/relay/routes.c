/*
 * moqc-relay: HTTP routes. Public: /health, /certificate.sha256, /announced[/prefix],
 * /fetch/<broadcast>/<track>[?group=N|latest], and the WebSocket upgrade on any other path.
 * Internal: /metrics (Prometheus), /health, /stats (JSON readout of the metering registry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

static const moqc_http_header text_plain[] = {{"Content-Type", "text/plain; charset=utf-8"}};

static void respond_text(moqc_http_request *req, int status, const char *body) {
  moqc_http_respond(req, status, text_plain, 1, body, strlen(body));
}

static bool path_is(moqc_str path, const char *route) {
  return moqc_str_eq(path, moqc_str_c(route));
}

/* Lists the broadcasts announced under prefix, one absolute path per line. */
static void route_announced(relay_worker *w, moqc_http_request *req, moqc_str rest) {
  moqc_origin_consumer *view = NULL, *allowed = NULL;
  moqc_origin_announced *cursor = NULL;
  char *prefix = relay_path_decode(rest);
  char *body = NULL;
  size_t len = 0, cap = 0;
  int rv;

  if (prefix == NULL) {
    respond_text(req, 400, "bad path\n");
    return;
  }
  /* Only what the request's token (or the public prefixes) may subscribe to. */
  rv = relay_auth_http_view(w, req, &allowed);
  if (rv != 0) {
    respond_text(req, rv == MOQC_ERR_UNAUTHORIZED ? 401 : 500,
                 rv == MOQC_ERR_UNAUTHORIZED ? "unauthorized\n" : moqc_strerror(rv));
    free(prefix);
    return;
  }
  rv = moqc_origin_consumer_with_root(allowed, moqc_str_c(prefix), &view);
  moqc_origin_consumer_del(allowed);
  if (rv == MOQC_ERR_UNAUTHORIZED) {
    /* Nothing allowed under this prefix: nothing to list. */
    moqc_http_respond(req, 200, text_plain, 1, "", 0);
    free(prefix);
    return;
  }
  if (rv == 0) {
    rv = moqc_origin_consumer_announced(view, &cursor);
  }
  while (rv == 0) {
    moqc_origin_announce ev;
    size_t need;
    rv = moqc_origin_announced_next(cursor, &ev, NULL);
    if (rv != 0) {
      break;
    }
    if (ev.broadcast == NULL) {
      continue;
    }
    moqc_broadcast_consumer_del(ev.broadcast);
    need = strlen(prefix) + 1 + ev.path.len + 1;
    if (len + need + 1 > cap) {
      char *grown;
      cap = (len + need + 1) * 2;
      grown = realloc(body, cap);
      if (grown == NULL) {
        rv = MOQC_ERR_NOMEM;
        break;
      }
      body = grown;
    }
    len += (size_t)snprintf(body + len, cap - len, "%s%s%.*s\n", prefix,
                            *prefix != '\0' && ev.path.len > 0 ? "/" : "", (int)ev.path.len,
                            ev.path.ptr);
  }
  moqc_origin_announced_del(cursor);
  moqc_origin_consumer_del(view);
  if (rv == MOQC_ERR_PENDING) {
    moqc_http_respond(req, 200, text_plain, 1, body, len);
  } else {
    respond_text(req, 500, moqc_strerror(rv));
  }
  free(body);
  free(prefix);
}

void relay_route_public(void *user_data, moqc_http_request *req) {
  relay_worker *w = user_data;
  relay *r = w->r;
  moqc_str path = moqc_http_request_path(req), rest;

  if (moqc_http_request_is_upgrade(req)) {
    relay_conn_accept(w, req);
    return;
  }
  if (!moqc_str_eq(moqc_http_request_method(req), moqc_str_c("GET"))) {
    respond_text(req, 405, "method not allowed\n");
    return;
  }
  if (path_is(path, "/health")) {
    respond_text(req, 200, "ok\n");
  } else if (path_is(path, "/certificate.sha256")) {
    if (r->cert == NULL) {
      respond_text(req, 404, "no certificate\n");
    } else {
      respond_text(req, 200, r->fingerprint);
    }
  } else if (path_is(path, "/announced")) {
    rest.ptr = "";
    rest.len = 0;
    route_announced(w, req, rest);
  } else if (moqc_path_strip_prefix(path, moqc_str_c("/announced"), &rest) && path.len > 10 &&
             path.ptr[10] == '/') {
    route_announced(w, req, rest);
  } else if (moqc_path_strip_prefix(path, moqc_str_c("/fetch"), &rest) && path.len > 6 &&
             path.ptr[6] == '/') {
    relay_fetch_start(w, req, rest);
  } else {
    respond_text(req, 404, "not found: this is a Media over QUIC relay; connect with a MoQ "
                           "client (WebSocket upgrade on any other path)\n");
  }
}

void relay_route_internal(void *user_data, moqc_http_request *req) {
  static const moqc_http_header prom[] = {
      {"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}};
  static const moqc_http_header json[] = {{"Content-Type", "application/json"}};
  relay *r = user_data;
  moqc_str path = moqc_http_request_path(req);
  char *out = NULL;
  size_t len = 0;
  int rv;

  if (!moqc_str_eq(moqc_http_request_method(req), moqc_str_c("GET"))) {
    respond_text(req, 405, "method not allowed\n");
    return;
  }
  if (path_is(path, "/health")) {
    respond_text(req, 200, "ok\n");
  } else if (path_is(path, "/metrics")) {
    moqc_stats_snapshot *snap = NULL;
    rv = moqc_stats_registry_snapshot(r->registry, &snap);
    if (rv == 0) {
      rv = moqc_stats_prometheus_alloc(snap, NULL, &out, &len);
    }
    moqc_stats_snapshot_del(snap);
    if (rv != 0) {
      respond_text(req, 500, moqc_strerror(rv));
      return;
    }
    moqc_http_respond(req, 200, prom, 1, out, len);
    moqc_mem_free(NULL, out);
  } else if (path_is(path, "/stats")) {
    moqc_stats_report *rep = NULL;
    rv = moqc_stats_registry_detail(r->registry, &rep);
    if (rv == 0) {
      rv = moqc_stats_json_alloc(rep, NULL, &out, &len);
    }
    moqc_stats_report_del(rep);
    if (rv != 0) {
      respond_text(req, 500, moqc_strerror(rv));
      return;
    }
    moqc_http_respond(req, 200, json, 1, out, len);
    moqc_mem_free(NULL, out);
  } else {
    respond_text(req, 404, "not found\n");
  }
}
