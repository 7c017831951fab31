/*
 * The extended CONNECT: checks of a request (405 / 400 / 431 / 429), the
 * embedder's answer (moqc_wt_accept / moqc_wt_refuse, request accessors), and
 * the client's reading of the response.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

static bool wt_str_is(moqc_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

void moqc__wt_server_headers(moqc_wt_conn *c, moqc__wt_stream *s,
                             const uint8_t *blk, size_t len) {
  moqc_wt_request *r = &c->req;
  moqc_str method, protocol, scheme, v;
  int rv;

  if (c->state != MOQC__WT_H3 || r->active) {
    moqc__wt_refuse_stream(c, s, 429); /* one session per connection */
    return;
  }
  moqc__wt_req_data *d = moqc_mem_malloc(c->mem, sizeof(*d));
  if (d == NULL) {
    moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  r->d = d;
  d->nprotocols = 0;
  moqc__h3_fieldset_init(&d->fields, c->max_header_size, c->mem);
  rv = moqc__h3_fields_decode(&d->fields, blk, len);
  if (rv == MOQC_ERR_NOMEM) {
    moqc__wt_request_reset(c, r);
    moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  if (rv == MOQC_ERR_BOUNDS_EXCEEDED) {
    moqc__wt_request_reset(c, r);
    moqc__wt_refuse_stream(c, s, 431);
    return;
  }
  if (rv != 0) {
    moqc__wt_request_reset(c, r);
    moqc__wt_fail(c, MOQC__WT_QPACK_DECOMPRESSION_FAILED,
                  "QPACK decoding failed");
    return;
  }
  if (!moqc__h3_fieldset_get(&d->fields, ":method", &method) ||
      !wt_str_is(method, "CONNECT")) {
    moqc__wt_request_reset(c, r);
    moqc__wt_refuse_stream(c, s, 405);
    return;
  }
  if (!moqc__h3_fieldset_get(&d->fields, ":protocol", &protocol) ||
      !wt_str_is(protocol, "webtransport") ||
      !moqc__h3_fieldset_get(&d->fields, ":scheme", &scheme) ||
      !wt_str_is(scheme, "https") ||
      !moqc__h3_fieldset_get(&d->fields, ":path", &d->path) ||
      d->path.len == 0 || d->path.ptr[0] != '/' ||
      !moqc__h3_fieldset_get(&d->fields, ":authority", &d->authority)) {
    moqc__wt_request_reset(c, r);
    moqc__wt_refuse_stream(c, s, 400);
    return;
  }
  if (!moqc__h3_fieldset_get(&d->fields, "origin", &d->origin)) {
    d->origin.ptr = "";
    d->origin.len = 0;
  }
  if (moqc__h3_fieldset_get(&d->fields, "wt-available-protocols", &v) &&
      moqc__h3_sf_string_list(v, d->protocols, MOQC__H3_MAX_PROTOCOLS,
                              &d->nprotocols) != 0) {
    d->nprotocols = 0; /* an invalid list is ignored (as absent) */
  }
  r->conn = c;
  r->active = true;
  c->connect = s;
  c->session_id = s->id;
  c->state = MOQC__WT_REQUESTED;
  /* The path only: the query may carry a token (?jwt=), which logs must not keep. */
  const char *q =
      d->path.len > 0 ? memchr(d->path.ptr, '?', d->path.len) : NULL;
  size_t plen = q != NULL ? (size_t)(q - d->path.ptr) : d->path.len;
  MOQC_LOG(c->log, MOQC_LOG_DEBUG,
           "wt: CONNECT %.*s%s on stream %lld (%zu protocols)", (int)plen,
           d->path.ptr, q != NULL ? "?..." : "", (long long)s->id,
           d->nprotocols);
  if (c->on_request != NULL) {
    c->on_request(c);
  }
}

void moqc__wt_client_headers(moqc_wt_conn *c, moqc__wt_stream *s,
                             const uint8_t *blk, size_t len) {
  moqc__h3_fieldset fs;
  moqc_str status, v;
  int code = 0;
  moqc__h3_fieldset_init(&fs, c->max_header_size, c->mem);
  int rv = moqc__h3_fields_decode(&fs, blk, len);
  if (rv != 0 || !moqc__h3_fieldset_get(&fs, ":status", &status) ||
      status.len != 3) {
    moqc__h3_fieldset_free(&fs);
    moqc__wt_fail(c,
                  rv == MOQC_ERR_NOMEM ? MOQC__H3_INTERNAL_ERROR
                                       : MOQC__H3_MESSAGE_ERROR,
                  "bad response headers");
    return;
  }
  for (size_t i = 0; i < 3; i++) {
    if (status.ptr[i] < '0' || status.ptr[i] > '9') {
      moqc__h3_fieldset_free(&fs);
      moqc__wt_fail(c, MOQC__H3_MESSAGE_ERROR, "bad :status");
      return;
    }
    code = code * 10 + (status.ptr[i] - '0');
  }
  if (code < 200) {
    moqc__h3_fieldset_free(
        &fs); /* an interim response: the final one follows */
    s->got_headers = false;
    return;
  }
  c->http_status = code;
  if (code < 300) {
    moqc_str proto;
    if (moqc__h3_fieldset_get(&fs, "wt-protocol", &v) &&
        moqc__h3_sf_string(v, &proto) == 0 && proto.len < sizeof(c->protocol)) {
      memcpy(c->protocol, proto.ptr, proto.len);
      c->protocol_len = proto.len;
    }
    c->state = MOQC__WT_OPEN;
  } else {
    c->state = MOQC__WT_CLOSING;
    s->kind = MOQC__WTS_SKIP;
  }
  moqc__h3_fieldset_free(&fs);
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: CONNECT answered %d", code);
  if (c->on_response != NULL) {
    c->on_response(c, code);
  }
  if (code >= 300) {
    c->close_err = MOQC_ERR_REMOTE;
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "refused");
  }
}

/* An empty string for the accessors of a request that is no longer waiting. */
static const moqc_str wt_empty = {"", 0};

moqc_str moqc_wt_request_path(const moqc_wt_request *req) {
  return req->d != NULL ? req->d->path : wt_empty;
}
moqc_str moqc_wt_request_authority(const moqc_wt_request *req) {
  return req->d != NULL ? req->d->authority : wt_empty;
}
moqc_str moqc_wt_request_origin(const moqc_wt_request *req) {
  return req->d != NULL ? req->d->origin : wt_empty;
}
size_t moqc_wt_request_protocol_count(const moqc_wt_request *req) {
  return req->d != NULL ? req->d->nprotocols : 0;
}

moqc_str moqc_wt_request_protocol(const moqc_wt_request *req, size_t i) {
  return req->d != NULL && i < req->d->nprotocols ? req->d->protocols[i]
                                                  : wt_empty;
}

bool moqc_wt_request_header(const moqc_wt_request *req, const char *name,
                            moqc_str *value) {
  return req->d != NULL && moqc__h3_fieldset_get(&req->d->fields, name, value);
}

void moqc_wt_request_on_abort(moqc_wt_request *req, void (*cb)(void *ud),
                              void *ud) {
  req->abort_cb = cb;
  req->abort_ud = ud;
}

int moqc_wt_accept(moqc_wt_request *req, const char *protocol,
                   moqc_wt_conn **out) {
  moqc_wt_conn *c = req->conn;
  char quoted[80];
  moqc__h3_field fields[2];
  size_t n = 0;
  if (!req->active) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (protocol != NULL) {
    moqc_str p = moqc_str_c(protocol);
    if (!moqc__h3_protocol_valid(p)) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    quoted[0] = '"';
    memcpy(quoted + 1, p.ptr, p.len);
    quoted[p.len + 1] = '"';
    fields[n].name = moqc_str_c("wt-protocol");
    fields[n].value.ptr = quoted;
    fields[n].value.len = p.len + 2;
    n++;
  }
  fields[n].name = moqc_str_c("sec-webtransport-http3-draft");
  fields[n].value = moqc_str_c("draft02");
  n++;
  if (c->lower_closed || c->connect == NULL || c->state != MOQC__WT_REQUESTED) {
    return MOQC_ERR_CLOSED;
  }
  moqc_str rpath = req->d->path;
  char *path = moqc_mem_malloc(c->mem, rpath.len + 1);
  if (path == NULL) {
    return MOQC_ERR_NOMEM;
  }
  int rv = moqc__wt_respond(c, c->connect, 200, fields, n, false);
  if (rv != 0) {
    moqc_mem_free(c->mem, path);
    return rv;
  }
  memcpy(path, rpath.ptr, rpath.len);
  path[rpath.len] = '\0';
  c->path = path;
  c->path_len = rpath.len;
  if (protocol != NULL) {
    c->protocol_len = strlen(protocol);
    memcpy(c->protocol, protocol, c->protocol_len);
  }
  c->http_status = 200;
  c->state = MOQC__WT_OPEN;
  moqc__wt_request_reset(c, req); /* the session keeps none of the request */
  if (c->early_pending) {
    c->lower.ops->wake(c->lower.user_data);
  }
  if (out != NULL) {
    *out = c;
  }
  return 0;
}

int moqc_wt_refuse(moqc_wt_request *req, int status) {
  moqc_wt_conn *c = req->conn;
  if (!req->active || status < 400 || status > 599) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__wt_request_reset(c, req);
  if (c->lower_closed || c->connect == NULL || c->state != MOQC__WT_REQUESTED) {
    return MOQC_ERR_CLOSED;
  }
  moqc__wt_stream *s = c->connect;
  c->connect = NULL;
  c->session_id = -1;
  c->state = MOQC__WT_H3;
  c->http_status = status;
  /* Streams that arrived early for this session are refused too. */
  for (size_t b = 0; b < c->nbuckets; b++) {
    for (moqc__wt_stream *t = c->buckets[b]; t != NULL; t = t->hnext) {
      if (t->kind == MOQC__WTS_SESSION && !t->local) {
        moqc__wt_reject_stream(c, t, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
      }
    }
  }
  moqc__wt_refuse_stream(c, s, status);
  return 0;
}
