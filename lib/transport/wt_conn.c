/*
 * The HTTP/3 + WebTransport session machine (see wt_int.h). Lower side: the moqc_stream_app_ops
 * a QUIC connection drives (every stream byte of the connection comes here). Upper side: the
 * moqc_transport_ops of the WebTransport session, for the moq-lite session. Session stream ids
 * are the QUIC ids; stream headers are stripped on the way in and prepended on the way out.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

/* Bounds of the frames we buffer whole. */
#define WT_MAX_SETTINGS 4096U
#define WT_MAX_SMALL_FRAME 64U
/* A CLOSE_WEBTRANSPORT_SESSION value: code + reason. */
#define WT_MAX_CAPSULE (4U + MOQC__H3_WT_REASON_MAX)
#define WT_CAP_BUF (WT_MAX_CAPSULE + 16U)
/* Early bytes held over all streams of a connection: this many times the per-stream bound. */
#define WT_MAX_EARLY_TOTAL_FACTOR 16U
/* RFC 9204 QPACK_DECOMPRESSION_FAILED. */
#define WT_QPACK_DECOMPRESSION_FAILED 0x200U

/* ---- stream table ---- */

static size_t wt_hash(int64_t id, size_t n) {
  uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
  return (size_t)(x >> 32) & (n - 1);
}

static moqc__wt_stream *wt_stream_find(const moqc_wt_conn *c, int64_t id) {
  if (c->nbuckets == 0) {
    return NULL;
  }
  for (moqc__wt_stream *s = c->buckets[wt_hash(id, c->nbuckets)]; s != NULL; s = s->hnext) {
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
}

static int wt_table_grow(moqc_wt_conn *c) {
  size_t n = c->nbuckets == 0 ? 64 : c->nbuckets * 2;
  moqc__wt_stream **b = moqc_mem_calloc(c->mem, n, sizeof(*b));
  if (b == NULL) {
    return MOQC_ERR_NOMEM;
  }
  for (size_t i = 0; i < c->nbuckets; i++) {
    moqc__wt_stream *s = c->buckets[i];
    while (s != NULL) {
      moqc__wt_stream *next = s->hnext;
      size_t h = wt_hash(s->id, n);
      s->hnext = b[h];
      b[h] = s;
      s = next;
    }
  }
  moqc_mem_free(c->mem, c->buckets);
  c->buckets = b;
  c->nbuckets = n;
  return 0;
}

static moqc__wt_stream *wt_stream_new(moqc_wt_conn *c, int64_t id, moqc__wt_kind kind,
                                      bool local) {
  if (c->nstreams + 1 > c->nbuckets && wt_table_grow(c) != 0) {
    return NULL;
  }
  moqc__wt_stream *s = moqc_mem_calloc(c->mem, 1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->id = id;
  s->kind = kind;
  s->local = local;
  size_t h = wt_hash(id, c->nbuckets);
  s->hnext = c->buckets[h];
  c->buckets[h] = s;
  c->nstreams++;
  return s;
}

static void wt_stream_free(moqc_wt_conn *c, moqc__wt_stream *s) {
  while (s->out_head != NULL) {
    moqc__wt_chunk *k = s->out_head;
    s->out_head = k->next;
    moqc_mem_free(c->mem, k);
  }
  moqc_mem_free(c->mem, s->rx);
  moqc_mem_free(c->mem, s->cap);
  moqc_mem_free(c->mem, s);
}

static void wt_stream_remove(moqc_wt_conn *c, moqc__wt_stream *s) {
  if (s->kind == MOQC__WTS_SESSION && !s->app_known) {
    c->early_total -= s->rxlen;
  }
  moqc__wt_stream **pp = &c->buckets[wt_hash(s->id, c->nbuckets)];
  while (*pp != NULL && *pp != s) {
    pp = &(*pp)->hnext;
  }
  if (*pp == s) {
    *pp = s->hnext;
    c->nstreams--;
  }
  if (s->own_out) {
    moqc__wt_stream **op = &c->own_head;
    while (*op != NULL && *op != s) {
      op = &(*op)->onext;
    }
    if (*op == s) {
      *op = s->onext;
    }
  }
  if (c->control_out == s) {
    c->control_out = NULL;
  }
  if (c->connect == s) {
    c->connect = NULL;
  }
  wt_stream_free(c, s);
}

/* ---- helpers ---- */

static bool wt_app_live(const moqc_wt_conn *c) { return c->app_ops != NULL && !c->app_closed; }

/* Ids the peer opens: even on the server (client-initiated), odd on the client. */
static bool wt_peer_stream(const moqc_wt_conn *c, int64_t id) {
  return c->server ? (id & 1) == 0 : (id & 1) == 1;
}

static void wt_lower_close(moqc_wt_conn *c, uint64_t code, const char *reason) {
  if (c->lower_closed) {
    return;
  }
  c->lower_closed = true;
  c->lower.ops->close(c->lower.user_data, code, reason, reason != NULL ? strlen(reason) : 0);
}

/* Tells the application the session ended (once). */
static void wt_app_tell_closed(moqc_wt_conn *c, uint64_t code, const char *reason, size_t len) {
  if (wt_app_live(c)) {
    c->app_closed = true;
    c->app_ops->closed(c->app, code, reason != NULL ? reason : "", len);
  }
  c->app_closed = true;
}

/* An HTTP/3 connection error: the whole connection closes with h3code. */
static void wt_fail(moqc_wt_conn *c, uint64_t h3code, const char *what) {
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: connection error 0x%llx: %s", (unsigned long long)h3code,
           what);
  if (c->close_err == 0) {
    c->close_err = MOQC_ERR_PROTOCOL_VIOLATION;
  }
  if (c->state != MOQC__WT_DEAD) {
    c->state = MOQC__WT_CLOSING;
  }
  wt_app_tell_closed(c, MOQC_LITE_CODE_PROTOCOL_VIOLATION, what, strlen(what));
  wt_lower_close(c, h3code, what);
}

/* Appends a copy of data to an own stream's queue (and a FIN when fin). */
static int wt_queue(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data, size_t len,
                    bool fin) {
  if (s->fin_queued) {
    return MOQC_ERR_CLOSED;
  }
  if (len > 0) {
    moqc__wt_chunk *k = moqc_mem_malloc(c->mem, sizeof(*k) + len);
    if (k == NULL) {
      return MOQC_ERR_NOMEM;
    }
    k->next = NULL;
    k->len = len;
    k->written = k->acked = 0;
    memcpy(k->data, data, len);
    if (s->out_tail != NULL) {
      s->out_tail->next = k;
    } else {
      s->out_head = k;
    }
    s->out_tail = k;
  }
  s->fin_queued = s->fin_queued || fin;
  if (!s->own_out) {
    moqc__wt_stream **op = &c->own_head;
    while (*op != NULL) {
      op = &(*op)->onext;
    }
    *op = s;
    s->onext = NULL;
    s->own_out = true;
  }
  c->lower.ops->resume_stream(c->lower.user_data, s->id);
  return 0;
}

static bool wt_own_pending(const moqc__wt_stream *s) {
  if (s->blocked) {
    return false;
  }
  for (const moqc__wt_chunk *k = s->out_head; k != NULL; k = k->next) {
    if (k->written < k->len) {
      return true;
    }
  }
  return s->fin_queued && !s->fin_written;
}

/* ---- session streams: buffering before the application attaches ---- */

static int wt_early_append(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data, size_t len,
                           bool fin) {
  if (len > c->max_early_bytes || s->rxlen > c->max_early_bytes - len ||
      c->early_total + len > WT_MAX_EARLY_TOTAL_FACTOR * c->max_early_bytes) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  if (s->rxlen + len > s->rxcap) {
    size_t ncap = s->rxcap == 0 ? 1024 : s->rxcap;
    while (ncap < s->rxlen + len) {
      ncap *= 2;
    }
    uint8_t *nb = moqc_mem_realloc(c->mem, s->rx, ncap);
    if (nb == NULL) {
      return MOQC_ERR_NOMEM;
    }
    s->rx = nb;
    s->rxcap = ncap;
  }
  if (len > 0) {
    memcpy(s->rx + s->rxlen, data, len);
  }
  s->rxlen += len;
  c->early_total += len;
  s->early_fin = s->early_fin || fin;
  c->early_pending = true;
  return 0;
}

/* Refuses a session stream we cannot hold. */
static void wt_reject_stream(moqc_wt_conn *c, moqc__wt_stream *s, uint64_t code) {
  if (s->kind == MOQC__WTS_SESSION && !s->app_known) {
    c->early_total -= s->rxlen;
    moqc_mem_free(c->mem, s->rx);
    s->rx = NULL;
    s->rxlen = s->rxcap = 0;
    s->early_fin = false;
  }
  s->kind = MOQC__WTS_SKIP;
  c->lower.ops->stop_sending(c->lower.user_data, s->id, code);
  if (!MOQC_STREAM_IS_UNI(s->id)) {
    c->lower.ops->reset_stream(c->lower.user_data, s->id, code);
  }
}

/* Hands session bytes to the application, or holds them until it attaches. Returns the bytes to
 * credit (len unless the application consumes less). */
static moqc_ssize wt_session_data(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                                  size_t len, bool fin, moqc_tstamp ts) {
  if (wt_app_live(c) && c->state == MOQC__WT_OPEN && s->rxlen == 0 && !s->early_fin) {
    s->app_known = true;
    moqc_ssize n = c->app_ops->read_stream(c->app, s->id, data, len, fin, ts);
    return n;
  }
  if (c->state == MOQC__WT_REQUESTED || c->state == MOQC__WT_OPEN) {
    int rv = wt_early_append(c, s, data, len, fin);
    if (rv == MOQC_ERR_NOMEM) {
      return rv;
    }
    if (rv != 0) {
      wt_reject_stream(c, s, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
    } else if (wt_app_live(c)) {
      c->lower.ops->wake(c->lower.user_data);
    }
    return (moqc_ssize)len;
  }
  /* No session (refused, closing): drop. */
  return (moqc_ssize)len;
}

static moqc__wt_stream *wt_next_early(const moqc_wt_conn *c) {
  for (size_t b = 0; b < c->nbuckets; b++) {
    for (moqc__wt_stream *s = c->buckets[b]; s != NULL; s = s->hnext) {
      if (s->kind == MOQC__WTS_SESSION && (s->rxlen > 0 || s->early_fin)) {
        return s;
      }
    }
  }
  return NULL;
}

/* Hands the bytes held for the session to the application, stream by stream (the application
 * may open streams meanwhile, so the table is searched again each time). */
static int wt_deliver_early(moqc_wt_conn *c, moqc_tstamp ts) {
  c->early_pending = false;
  moqc__wt_stream *s;
  while (wt_app_live(c) && c->state == MOQC__WT_OPEN && (s = wt_next_early(c)) != NULL) {
    uint8_t *buf = s->rx;
    size_t len = s->rxlen;
    bool fin = s->early_fin;
    moqc_stream_id id = s->id;
    c->early_total -= len;
    s->rx = NULL;
    s->rxlen = s->rxcap = 0;
    s->early_fin = false;
    s->app_known = true;
    moqc_ssize n = c->app_ops->read_stream(c->app, id, buf, len, fin, ts);
    moqc_mem_free(c->mem, buf);
    if (n < 0) {
      return (int)n;
    }
    s = wt_stream_find(c, id);
    if (s != NULL && s->lower_gone) {
      wt_stream_remove(c, s);
      if (wt_app_live(c)) {
        int rv = c->app_ops->close_stream(c->app, id, ts);
        if (rv < 0) {
          return rv;
        }
      }
    }
  }
  return 0;
}

/* ---- frames on the control and request streams ---- */

/* Appends up to what fits of data to s->rx (bounded by cap); returns the bytes taken. */
static moqc_ssize wt_rx_take(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data, size_t len,
                             size_t cap) {
  size_t room = cap > s->rxlen ? cap - s->rxlen : 0;
  size_t n = len < room ? len : room;
  if (s->rxlen + n > s->rxcap) {
    size_t ncap = s->rxcap == 0 ? 256 : s->rxcap;
    while (ncap < s->rxlen + n) {
      ncap *= 2;
    }
    ncap = ncap < cap ? ncap : cap;
    uint8_t *nb = moqc_mem_realloc(c->mem, s->rx, ncap);
    if (nb == NULL) {
      return MOQC_ERR_NOMEM;
    }
    s->rx = nb;
    s->rxcap = ncap;
  }
  if (n > 0) {
    memcpy(s->rx + s->rxlen, data, n);
  }
  s->rxlen += n;
  return (moqc_ssize)n;
}

static void wt_rx_consume(moqc__wt_stream *s, size_t n) {
  if (n == 0) {
    return;
  }
  memmove(s->rx, s->rx + n, s->rxlen - n);
  s->rxlen -= n;
}

static void wt_on_settings(moqc_wt_conn *c) {
  if (c->server || c->connect_frame == NULL) {
    return;
  }
  /* Client: the server must speak WebTransport (draft-02 or later) with datagrams. */
  const moqc__h3_settings *st = &c->peer_settings;
  bool wt = st->enable_webtransport || st->webtransport_max_sessions > 0 ||
            st->wt_max_sessions_draft13 > 0 || st->wt_enabled;
  if (!wt) {
    c->close_err = MOQC_ERR_PROTOCOL_VIOLATION;
    c->http_status = 0;
    if (c->on_response != NULL) {
      c->on_response(c, 0);
    }
    wt_lower_close(c, MOQC__H3_NO_ERROR, "no WebTransport");
    return;
  }
  int64_t id;
  int rv = c->lower.ops->open_stream(c->lower.user_data, false, &id);
  if (rv != 0) {
    wt_fail(c, MOQC__H3_INTERNAL_ERROR, "cannot open the CONNECT stream");
    return;
  }
  moqc__wt_stream *s = wt_stream_new(c, id, MOQC__WTS_REQUEST, true);
  if (s == NULL) {
    wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  c->connect = s;
  c->session_id = id;
  c->state = MOQC__WT_REQUESTED;
  rv = wt_queue(c, s, c->connect_frame, c->connect_frame_len, false);
  moqc_mem_free(c->mem, c->connect_frame);
  c->connect_frame = NULL;
  if (rv != 0) {
    wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
  }
}

/* Parses frames of the peer's control stream from s->rx. */
static void wt_control_parse(moqc_wt_conn *c, moqc__wt_stream *s) {
  for (;;) {
    if (s->skip_left > 0) {
      size_t n = s->skip_left < s->rxlen ? (size_t)s->skip_left : s->rxlen;
      wt_rx_consume(s, n);
      s->skip_left -= n;
      if (s->skip_left > 0) {
        return;
      }
    }
    const uint8_t *p = s->rx;
    const uint8_t *end = s->rx + s->rxlen;
    moqc__h3_frame_header h;
    if (moqc__h3_frame_header_decode(&p, end, &h) != 0) {
      return; /* incomplete (a varint is never malformed) */
    }
    size_t hl = (size_t)(p - s->rx);
    if (!c->peer_settings_seen && h.type != MOQC__H3_SETTINGS) {
      wt_fail(c, MOQC__H3_MISSING_SETTINGS, "first control frame is not SETTINGS");
      return;
    }
    if (h.type == MOQC__H3_SETTINGS) {
      if (c->peer_settings_seen) {
        wt_fail(c, MOQC__H3_FRAME_UNEXPECTED, "second SETTINGS");
        return;
      }
      if (h.length > WT_MAX_SETTINGS) {
        wt_fail(c, MOQC__H3_EXCESSIVE_LOAD, "SETTINGS too large");
        return;
      }
      if (s->rxlen - hl < h.length) {
        return;
      }
      if (moqc__h3_settings_decode(p, (size_t)h.length, &c->peer_settings) != 0) {
        wt_fail(c, MOQC__H3_SETTINGS_ERROR, "bad SETTINGS");
        return;
      }
      c->peer_settings_seen = true;
      wt_rx_consume(s, hl + (size_t)h.length);
      wt_on_settings(c);
      if (c->lower_closed) {
        return;
      }
      continue;
    }
    if (h.type == MOQC__H3_DATA || h.type == MOQC__H3_HEADERS ||
        h.type == MOQC__H3_PUSH_PROMISE || moqc__h3_frame_is_h2_only(h.type)) {
      wt_fail(c, MOQC__H3_FRAME_UNEXPECTED, "unexpected frame on the control stream");
      return;
    }
    if (h.type == MOQC__H3_GOAWAY) {
      uint64_t id;
      if (h.length > WT_MAX_SMALL_FRAME) {
        wt_fail(c, MOQC__H3_FRAME_ERROR, "GOAWAY too large");
        return;
      }
      if (s->rxlen - hl < h.length) {
        return;
      }
      if (moqc__h3_id_payload_decode(p, (size_t)h.length, &id) != 0) {
        wt_fail(c, MOQC__H3_FRAME_ERROR, "bad GOAWAY");
        return;
      }
      c->goaway = true;
      wt_rx_consume(s, hl + (size_t)h.length);
      continue;
    }
    /* CANCEL_PUSH, MAX_PUSH_ID, unknown and GREASE frames: skipped. */
    wt_rx_consume(s, hl);
    s->skip_left = h.length;
  }
}

/* ---- the request (CONNECT) stream ---- */

static int wt_respond(moqc_wt_conn *c, moqc__wt_stream *s, int status,
                      const moqc__h3_field *fields, size_t n, bool fin) {
  uint8_t buf[512];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_response_headers(&w, status, fields, n);
  moqc_ssize len = moqc__writer_result(&w);
  if (len < 0) {
    return (int)len;
  }
  return wt_queue(c, s, buf, (size_t)len, fin);
}

static void wt_request_reset(moqc_wt_request *r) {
  moqc__h3_fieldset_free(&r->fields);
  r->active = false;
  r->abort_cb = NULL;
  r->abort_ud = NULL;
  r->nprotocols = 0;
}

/* Refuses a request stream with a status and ignores the rest of it. */
static void wt_refuse_stream(moqc_wt_conn *c, moqc__wt_stream *s, int status) {
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: request on stream %lld refused with %d",
           (long long)s->id, status);
  if (wt_respond(c, s, status, NULL, 0, true) == MOQC_ERR_NOMEM) {
    wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  s->kind = MOQC__WTS_SKIP;
  moqc_mem_free(c->mem, s->rx); /* the rest of the stream is dropped */
  s->rx = NULL;
  s->rxlen = s->rxcap = 0;
  c->lower.ops->stop_sending(c->lower.user_data, s->id, MOQC__H3_NO_ERROR);
}

static bool wt_str_is(moqc_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static void wt_server_headers(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *blk,
                              size_t len) {
  moqc_wt_request *r = &c->req;
  moqc_str method, protocol, scheme, v;
  int rv;

  if (c->state != MOQC__WT_H3 || r->active) {
    wt_refuse_stream(c, s, 429); /* one session per connection */
    return;
  }
  moqc__h3_fieldset_init(&r->fields, c->max_header_size, c->mem);
  rv = moqc__h3_fields_decode(&r->fields, blk, len);
  if (rv == MOQC_ERR_NOMEM) {
    wt_request_reset(r);
    wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  if (rv == MOQC_ERR_BOUNDS_EXCEEDED) {
    wt_request_reset(r);
    wt_refuse_stream(c, s, 431);
    return;
  }
  if (rv != 0) {
    wt_request_reset(r);
    wt_fail(c, WT_QPACK_DECOMPRESSION_FAILED, "QPACK decoding failed");
    return;
  }
  if (!moqc__h3_fieldset_get(&r->fields, ":method", &method) || !wt_str_is(method, "CONNECT")) {
    wt_request_reset(r);
    wt_refuse_stream(c, s, 405);
    return;
  }
  if (!moqc__h3_fieldset_get(&r->fields, ":protocol", &protocol) ||
      !wt_str_is(protocol, "webtransport") ||
      !moqc__h3_fieldset_get(&r->fields, ":scheme", &scheme) || !wt_str_is(scheme, "https") ||
      !moqc__h3_fieldset_get(&r->fields, ":path", &r->path) || r->path.len == 0 ||
      r->path.ptr[0] != '/' || !moqc__h3_fieldset_get(&r->fields, ":authority", &r->authority)) {
    wt_request_reset(r);
    wt_refuse_stream(c, s, 400);
    return;
  }
  if (!moqc__h3_fieldset_get(&r->fields, "origin", &r->origin)) {
    r->origin.ptr = "";
    r->origin.len = 0;
  }
  r->nprotocols = 0;
  if (moqc__h3_fieldset_get(&r->fields, "wt-available-protocols", &v) &&
      moqc__h3_sf_string_list(v, r->protocols, MOQC__H3_MAX_PROTOCOLS, &r->nprotocols) != 0) {
    r->nprotocols = 0; /* an invalid list is ignored (as absent) */
  }
  r->conn = c;
  r->active = true;
  c->connect = s;
  c->session_id = s->id;
  c->state = MOQC__WT_REQUESTED;
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: CONNECT %.*s on stream %lld (%zu protocols)",
           (int)r->path.len, r->path.ptr, (long long)s->id, r->nprotocols);
  if (c->on_request != NULL) {
    c->on_request(c);
  }
}

static void wt_client_headers(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *blk,
                              size_t len) {
  moqc__h3_fieldset fs;
  moqc_str status, v;
  int code = 0;
  moqc__h3_fieldset_init(&fs, c->max_header_size, c->mem);
  int rv = moqc__h3_fields_decode(&fs, blk, len);
  if (rv != 0 || !moqc__h3_fieldset_get(&fs, ":status", &status) || status.len != 3) {
    moqc__h3_fieldset_free(&fs);
    wt_fail(c, rv == MOQC_ERR_NOMEM ? MOQC__H3_INTERNAL_ERROR : MOQC__H3_MESSAGE_ERROR,
            "bad response headers");
    return;
  }
  for (size_t i = 0; i < 3; i++) {
    if (status.ptr[i] < '0' || status.ptr[i] > '9') {
      moqc__h3_fieldset_free(&fs);
      wt_fail(c, MOQC__H3_MESSAGE_ERROR, "bad :status");
      return;
    }
    code = code * 10 + (status.ptr[i] - '0');
  }
  if (code < 200) {
    moqc__h3_fieldset_free(&fs); /* an interim response: the final one follows */
    s->got_headers = false;
    return;
  }
  c->http_status = code;
  if (code < 300) {
    moqc_str proto;
    if (moqc__h3_fieldset_get(&fs, "wt-protocol", &v) && moqc__h3_sf_string(v, &proto) == 0 &&
        proto.len < sizeof(c->protocol)) {
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
    wt_lower_close(c, MOQC__H3_NO_ERROR, "refused");
  }
}

/* The peer closed the session (capsule, FIN or reset of the CONNECT stream). */
static void wt_peer_closed(moqc_wt_conn *c, uint64_t code, const char *reason, size_t len) {
  if (c->state != MOQC__WT_OPEN && c->state != MOQC__WT_REQUESTED) {
    return;
  }
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: session closed by the peer (code %llu)",
           (unsigned long long)code);
  c->state = MOQC__WT_CLOSING;
  c->by_peer = true;
  c->close_code = code;
  wt_app_tell_closed(c, code, reason, len);
  if (c->connect != NULL && !c->connect->fin_queued) {
    (void)wt_queue(c, c->connect, NULL, 0, true);
  }
  c->arm_deadline = true;
}

/* Parses capsules from the DATA payload bytes of the CONNECT stream. */
static void wt_capsules(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data, size_t len) {
  while (len > 0 && !c->lower_closed) {
    if (s->cap_skip > 0) {
      size_t n = s->cap_skip < len ? (size_t)s->cap_skip : len;
      s->cap_skip -= n;
      data += n;
      len -= n;
      continue;
    }
    if (s->cap == NULL) {
      s->cap = moqc_mem_malloc(c->mem, WT_CAP_BUF);
      if (s->cap == NULL) {
        wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
        return;
      }
    }
    size_t n = WT_CAP_BUF - s->caplen < len ? WT_CAP_BUF - s->caplen : len;
    memcpy(s->cap + s->caplen, data, n);
    s->caplen += n;
    data += n;
    len -= n;
    for (;;) {
      const uint8_t *p = s->cap;
      const uint8_t *end = s->cap + s->caplen;
      uint64_t type, clen;
      if (moqc__get_varint(&p, end, &type) != 0 || moqc__get_varint(&p, end, &clen) != 0) {
        break;
      }
      size_t hl = (size_t)(p - s->cap);
      if (type == MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION ||
          type == MOQC__H3_CAPSULE_DRAIN_WEBTRANSPORT_SESSION) {
        if (clen > WT_MAX_CAPSULE) {
          wt_fail(c, MOQC__H3_MESSAGE_ERROR, "capsule too large");
          return;
        }
        if (s->caplen - hl < clen) {
          break;
        }
        if (type == MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
          uint32_t code;
          moqc_str reason;
          if (moqc__h3_wt_close_decode(p, (size_t)clen, &code, &reason) != 0) {
            wt_fail(c, MOQC__H3_MESSAGE_ERROR, "bad CLOSE_WEBTRANSPORT_SESSION");
            return;
          }
          wt_peer_closed(c, code, reason.ptr, reason.len);
        }
        memmove(s->cap, s->cap + hl + clen, s->caplen - hl - (size_t)clen);
        s->caplen -= hl + (size_t)clen;
        continue;
      }
      /* DATAGRAM capsules, unknown and GREASE capsules: skipped. */
      size_t have = s->caplen - hl;
      size_t drop = clen < have ? (size_t)clen : have;
      s->cap_skip = clen - drop;
      memmove(s->cap, s->cap + hl + drop, have - drop);
      s->caplen = have - drop;
      if (s->cap_skip > 0) {
        break;
      }
    }
  }
}

/* Parses frames of a request stream from s->rx. */
static void wt_request_parse(moqc_wt_conn *c, moqc__wt_stream *s) {
  while (s->kind == MOQC__WTS_REQUEST && !c->lower_closed) {
    if (s->data_left > 0 || s->skip_left > 0) {
      bool data = s->data_left > 0;
      uint64_t left = data ? s->data_left : s->skip_left;
      size_t n = left < s->rxlen ? (size_t)left : s->rxlen;
      if (n == 0) {
        return;
      }
      if (data) {
        uint8_t tmp[WT_CAP_BUF];
        memcpy(tmp, s->rx, n < sizeof(tmp) ? n : sizeof(tmp));
        n = n < sizeof(tmp) ? n : sizeof(tmp);
        wt_rx_consume(s, n);
        s->data_left -= n;
        wt_capsules(c, s, tmp, n);
      } else {
        wt_rx_consume(s, n);
        s->skip_left -= n;
      }
      continue;
    }
    const uint8_t *p = s->rx;
    const uint8_t *end = s->rx + s->rxlen;
    moqc__h3_frame_header h;
    if (moqc__h3_frame_header_decode(&p, end, &h) != 0) {
      return;
    }
    size_t hl = (size_t)(p - s->rx);
    if (h.type == MOQC__H3_HEADERS) {
      if (h.length > c->max_header_size) {
        if (c->server && !s->got_headers) {
          wt_refuse_stream(c, s, 431);
        } else {
          wt_fail(c, MOQC__H3_EXCESSIVE_LOAD, "header section too large");
        }
        return;
      }
      if (s->rxlen - hl < h.length) {
        return;
      }
      if (s->got_headers) {
        wt_rx_consume(s, hl + (size_t)h.length); /* trailers: ignored */
        continue;
      }
      s->got_headers = true;
      /* Decode from a copy: the handlers may change the stream. */
      size_t blen = (size_t)h.length;
      uint8_t *blk = moqc_mem_malloc(c->mem, blen > 0 ? blen : 1);
      if (blk == NULL) {
        wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
        return;
      }
      memcpy(blk, p, blen);
      wt_rx_consume(s, hl + blen);
      if (c->server) {
        wt_server_headers(c, s, blk, blen);
      } else {
        wt_client_headers(c, s, blk, blen);
      }
      moqc_mem_free(c->mem, blk);
      continue;
    }
    if (h.type == MOQC__H3_DATA) {
      if (!s->got_headers) {
        wt_fail(c, MOQC__H3_FRAME_UNEXPECTED, "DATA before HEADERS");
        return;
      }
      wt_rx_consume(s, hl);
      s->data_left = h.length;
      if (s != c->connect || (c->state != MOQC__WT_OPEN && c->state != MOQC__WT_REQUESTED &&
                              c->state != MOQC__WT_CLOSING)) {
        s->skip_left = s->data_left; /* not a live session: ignore */
        s->data_left = 0;
      }
      continue;
    }
    if (h.type == MOQC__H3_SETTINGS || h.type == MOQC__H3_GOAWAY ||
        h.type == MOQC__H3_MAX_PUSH_ID || h.type == MOQC__H3_CANCEL_PUSH ||
        moqc__h3_frame_is_h2_only(h.type)) {
      wt_fail(c, MOQC__H3_FRAME_UNEXPECTED, "unexpected frame on a request stream");
      return;
    }
    wt_rx_consume(s, hl);
    s->skip_left = h.length;
  }
}

/* Feeds bytes to a frame-parsed stream (control or request) in bounded pieces. */
static moqc_ssize wt_frames_in(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                               size_t len) {
  size_t cap = s->kind == MOQC__WTS_CONTROL_IN ? WT_MAX_SETTINGS + 16
                                                : c->max_header_size + 16;
  size_t off = 0;
  do {
    moqc_ssize n = wt_rx_take(c, s, data + off, len - off, cap);
    if (n < 0) {
      return n;
    }
    off += (size_t)n;
    size_t before = s->rxlen;
    if (s->kind == MOQC__WTS_CONTROL_IN) {
      wt_control_parse(c, s);
    } else {
      wt_request_parse(c, s);
    }
    if (c->lower_closed || s->kind == MOQC__WTS_SKIP) {
      return (moqc_ssize)len;
    }
    if (n == 0 && s->rxlen == before && off < len) {
      wt_fail(c, MOQC__H3_EXCESSIVE_LOAD, "frame too large");
      return (moqc_ssize)len;
    }
  } while (off < len);
  return (moqc_ssize)len;
}

/* ---- classification of new peer streams ---- */

/* Decides what a new peer stream is once its header is complete. Returns the header length
 * taken from s->pre, or a negative value when more bytes are needed. */
static int wt_classify(moqc_wt_conn *c, moqc__wt_stream *s) {
  const uint8_t *p = s->pre;
  const uint8_t *end = s->pre + s->prelen;
  uint64_t type, sid;
  if (MOQC_STREAM_IS_UNI(s->id)) {
    int rv = moqc__h3_uni_stream_decode(&p, end, &type, &sid);
    if (rv != 0) {
      return -1;
    }
    if (type == MOQC__H3_STREAM_CONTROL) {
      if (c->peer_control_seen) {
        wt_fail(c, MOQC__H3_STREAM_CREATION_ERROR, "second control stream");
        return 0;
      }
      c->peer_control_seen = true;
      s->kind = MOQC__WTS_CONTROL_IN;
    } else if (type == MOQC__H3_STREAM_WT_UNI) {
      s->kind = MOQC__WTS_SESSION;
      if ((int64_t)sid != c->session_id || c->session_id < 0) {
        wt_reject_stream(c, s, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
      }
    } else if (type == MOQC__H3_STREAM_PUSH && c->server) {
      wt_fail(c, MOQC__H3_STREAM_CREATION_ERROR, "push stream from a client");
      return 0;
    } else if (type == MOQC__H3_STREAM_QPACK_ENCODER || type == MOQC__H3_STREAM_QPACK_DECODER) {
      s->kind = MOQC__WTS_SKIP; /* nothing to read: the dynamic table is off */
    } else {
      s->kind = MOQC__WTS_SKIP;
      c->lower.ops->stop_sending(c->lower.user_data, s->id, MOQC__H3_STREAM_CREATION_ERROR);
    }
  } else {
    bool is_wt;
    int rv = moqc__h3_bidi_stream_decode(&p, end, &is_wt, &sid);
    if (rv != 0) {
      return -1;
    }
    if (is_wt) {
      s->kind = MOQC__WTS_SESSION;
      if ((int64_t)sid != c->session_id || c->session_id < 0) {
        wt_reject_stream(c, s, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
      }
    } else if (c->server) {
      s->kind = MOQC__WTS_REQUEST;
    } else {
      wt_fail(c, MOQC__H3_STREAM_CREATION_ERROR, "server-initiated request stream");
      return 0;
    }
  }
  MOQC_LOG(c->log, MOQC_LOG_TRACE, "wt: peer stream %lld is of kind %d", (long long)s->id,
           (int)s->kind);
  return (int)(p - s->pre);
}

static moqc_ssize wt_stream_bytes(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                                  size_t len, bool fin, moqc_tstamp ts);

static moqc_ssize wt_new_stream_bytes(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                                      size_t len, bool fin, moqc_tstamp ts) {
  size_t take = MOQC__WT_HDR_MAX - s->prelen < len ? MOQC__WT_HDR_MAX - s->prelen : len;
  memcpy(s->pre + s->prelen, data, take);
  s->prelen += take;
  int hl = wt_classify(c, s);
  if (c->lower_closed) {
    return (moqc_ssize)len;
  }
  if (hl < 0) {
    if (fin) {
      s->kind = MOQC__WTS_SKIP; /* ended inside its header */
    }
    return (moqc_ssize)len;
  }
  /* The header came from pre; the rest of pre (the end of what this call added) and the rest
   * of data are the body. Header bytes taken from data are credited here. */
  size_t rest_pre = s->prelen - (size_t)hl;
  uint8_t body[MOQC__WT_HDR_MAX];
  memcpy(body, s->pre + hl, rest_pre);
  s->prelen = 0;
  moqc_ssize credit = (moqc_ssize)(take - rest_pre);
  moqc_ssize n1 = 0, n2 = 0;
  if (rest_pre > 0 || (len == take && fin)) {
    n1 = wt_stream_bytes(c, s, body, rest_pre, fin && len == take, ts);
    if (n1 < 0) {
      return n1;
    }
  }
  if (len > take) {
    n2 = wt_stream_bytes(c, s, data + take, len - take, fin, ts);
    if (n2 < 0) {
      return n2;
    }
  }
  return credit + n1 + n2;
}

static moqc_ssize wt_stream_bytes(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                                  size_t len, bool fin, moqc_tstamp ts) {
  switch (s->kind) {
  case MOQC__WTS_NEW:
    return wt_new_stream_bytes(c, s, data, len, fin, ts);
  case MOQC__WTS_CONTROL_IN:
    if (fin && c->state != MOQC__WT_CLOSING) {
      wt_fail(c, MOQC__H3_CLOSED_CRITICAL_STREAM, "control stream finished");
      return (moqc_ssize)len;
    }
    return wt_frames_in(c, s, data, len);
  case MOQC__WTS_REQUEST: {
    moqc_ssize n = wt_frames_in(c, s, data, len);
    if (fin && !c->lower_closed) {
      s->fin_in = true;
      if (s == c->connect) {
        wt_peer_closed(c, 0, "", 0);
      } else if (c->server && !s->got_headers) {
        s->kind = MOQC__WTS_SKIP;
      }
    }
    return n;
  }
  case MOQC__WTS_SESSION:
    return wt_session_data(c, s, data, len, fin, ts);
  default:
    return (moqc_ssize)len;
  }
}

/* ---- lower ops: the QUIC connection drives us ---- */

static moqc_ssize wt_read_stream(void *ud, moqc_stream_id id, const uint8_t *data, size_t len,
                                 bool fin, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  if (c->lower_closed) {
    return (moqc_ssize)len;
  }
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s == NULL) {
    if (!wt_peer_stream(c, id)) {
      return (moqc_ssize)len; /* a stream of ours we forgot: drop */
    }
    s = wt_stream_new(c, id, MOQC__WTS_NEW, false);
    if (s == NULL) {
      return MOQC_ERR_NOMEM;
    }
  }
  return wt_stream_bytes(c, s, data, len, fin, ts);
}

/* Fills vec with the unwritten data of an own stream. */
static moqc_ssize wt_own_writev(moqc__wt_stream *s, bool *fin, moqc_vec *vec, size_t veccnt) {
  size_t n = 0;
  moqc__wt_chunk *k = s->out_head;
  while (k != NULL && k->written == k->len) {
    k = k->next;
  }
  for (; k != NULL && n < veccnt; k = k->next) {
    vec[n].base = k->data + k->written;
    vec[n].len = k->len - k->written;
    n++;
  }
  *fin = s->fin_queued && k == NULL;
  s->fin_offered = *fin;
  return (moqc_ssize)n;
}

static moqc_ssize wt_writev_stream(void *ud, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                                   size_t veccnt, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  *id = MOQC_STREAM_NONE;
  *fin = false;
  if (veccnt < 2) {
    return 0;
  }
  for (moqc__wt_stream *o = c->own_head; o != NULL; o = o->onext) {
    if (wt_own_pending(o)) {
      *id = o->id;
      return wt_own_writev(o, fin, vec, veccnt);
    }
  }
  if (!wt_app_live(c) || c->state != MOQC__WT_OPEN) {
    return 0;
  }
  moqc_stream_id sid = MOQC_STREAM_NONE;
  bool f = false;
  moqc_ssize n = c->app_ops->writev_stream(c->app, &sid, &f, vec + 1, veccnt - 1, ts);
  if (n < 0 || sid == MOQC_STREAM_NONE) {
    return n < 0 ? n : 0;
  }
  moqc__wt_stream *s = wt_stream_find(c, sid);
  if (s != NULL && s->hdr_written < s->hdrlen) {
    vec[0].base = s->hdr + s->hdr_written;
    vec[0].len = s->hdrlen - s->hdr_written;
    n++;
  } else if (n > 0) {
    memmove(vec, vec + 1, (size_t)n * sizeof(*vec));
  }
  *id = sid;
  *fin = f;
  return n;
}

static int wt_add_write_offset(void *ud, moqc_stream_id id, size_t n) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s != NULL && s->own_out) {
    size_t left = n;
    for (moqc__wt_chunk *k = s->out_head; k != NULL && left > 0; k = k->next) {
      size_t m = k->len - k->written < left ? k->len - k->written : left;
      k->written += m;
      left -= m;
    }
    bool all = true;
    for (moqc__wt_chunk *k = s->out_head; k != NULL; k = k->next) {
      all = all && k->written == k->len;
    }
    if (s->fin_offered && all) {
      s->fin_written = true;
    }
    return 0;
  }
  if (s != NULL && s->hdr_written < s->hdrlen) {
    size_t h = s->hdrlen - s->hdr_written < n ? s->hdrlen - s->hdr_written : n;
    s->hdr_written += h;
    n -= h;
    if (s->hdr_written < s->hdrlen) {
      return 0; /* the application's ranges were not reached */
    }
  }
  if (!wt_app_live(c)) {
    return 0;
  }
  return c->app_ops->add_write_offset(c->app, id, n);
}

static int wt_add_ack_offset(void *ud, moqc_stream_id id, uint64_t n) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s != NULL && s->own_out) {
    uint64_t left = n;
    while (left > 0 && s->out_head != NULL) {
      moqc__wt_chunk *k = s->out_head;
      size_t m = k->len - k->acked < left ? k->len - k->acked : (size_t)left;
      k->acked += m;
      left -= m;
      if (k->acked == k->len) {
        s->out_head = k->next;
        if (s->out_head == NULL) {
          s->out_tail = NULL;
        }
        moqc_mem_free(c->mem, k);
      }
    }
    return 0;
  }
  if (s != NULL && s->hdr_acked < s->hdrlen) {
    uint64_t h = s->hdrlen - s->hdr_acked < n ? s->hdrlen - s->hdr_acked : n;
    s->hdr_acked += (size_t)h;
    n -= h;
  }
  if (n == 0 || !wt_app_live(c)) {
    return 0;
  }
  return c->app_ops->add_ack_offset(c->app, id, n);
}

static bool wt_is_own(const moqc_wt_conn *c, const moqc__wt_stream *s) {
  (void)c;
  return s != NULL && s->own_out;
}

static int wt_block_stream(void *ud, moqc_stream_id id) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (wt_is_own(c, s)) {
    s->blocked = true;
    return 0;
  }
  return wt_app_live(c) ? c->app_ops->block_stream(c->app, id) : 0;
}

static int wt_unblock_stream(void *ud, moqc_stream_id id) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (wt_is_own(c, s)) {
    s->blocked = false;
    return 0;
  }
  return wt_app_live(c) ? c->app_ops->unblock_stream(c->app, id) : 0;
}

static uint64_t wt_code_in(uint64_t wire) {
  uint32_t code;
  if (moqc__h3_wt_error_from_wire(wire, &code) == 0) {
    return code;
  }
  return wire == MOQC__H3_NO_ERROR ? 0 : wire;
}

static uint64_t wt_code_out(uint64_t code) {
  return moqc__h3_wt_error_to_wire(code > UINT32_MAX ? UINT32_MAX : (uint32_t)code);
}

static int wt_recv_reset(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s == NULL) {
    return 0;
  }
  if (s->kind == MOQC__WTS_CONTROL_IN) {
    wt_fail(c, MOQC__H3_CLOSED_CRITICAL_STREAM, "control stream reset");
    return 0;
  }
  if (s == c->connect) {
    wt_peer_closed(c, 0, "", 0);
    return 0;
  }
  if (s->kind == MOQC__WTS_SESSION && s->app_known && wt_app_live(c)) {
    return c->app_ops->recv_reset(c->app, id, wt_code_in(code), ts);
  }
  if (s->kind == MOQC__WTS_SESSION && !s->app_known) {
    c->early_total -= s->rxlen;
    s->rxlen = 0; /* early bytes of a reset stream are dropped */
    s->early_fin = false;
    s->kind = MOQC__WTS_SKIP;
  }
  return 0;
}

static int wt_recv_stop_sending(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s == NULL) {
    return 0;
  }
  if (s == c->control_out && c->state != MOQC__WT_CLOSING) {
    wt_fail(c, MOQC__H3_CLOSED_CRITICAL_STREAM, "control stream stopped");
    return 0;
  }
  if (s->kind == MOQC__WTS_SESSION && s->app_known && wt_app_live(c)) {
    return c->app_ops->recv_stop_sending(c->app, id, wt_code_in(code), ts);
  }
  return 0;
}

static int wt_close_stream(void *ud, moqc_stream_id id, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s == NULL) {
    return 0;
  }
  bool was_connect = s == c->connect;
  bool tell = s->kind == MOQC__WTS_SESSION && s->app_known && wt_app_live(c);
  if (s->kind == MOQC__WTS_SESSION && !s->app_known && (s->rxlen > 0 || s->early_fin)) {
    s->lower_gone = true; /* early bytes still wait for the application: keep them */
    return 0;
  }
  wt_stream_remove(c, s);
  if (was_connect && c->state == MOQC__WT_CLOSING) {
    wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return 0;
  }
  if (was_connect && (c->state == MOQC__WT_OPEN || c->state == MOQC__WT_REQUESTED)) {
    wt_peer_closed(c, 0, "", 0);
  }
  return tell ? c->app_ops->close_stream(c->app, id, ts) : 0;
}

static int wt_recv_datagram(void *ud, const uint8_t *data, size_t len, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  const uint8_t *p = data;
  uint64_t sid;
  const uint8_t *payload;
  size_t plen;
  if (moqc__h3_datagram_decode(&p, data + len, &sid, &payload, &plen) != 0) {
    return 0; /* not a valid HTTP datagram: dropped */
  }
  if ((int64_t)sid != c->session_id || c->state != MOQC__WT_OPEN || !wt_app_live(c)) {
    return 0;
  }
  return c->app_ops->recv_datagram(c->app, payload, plen, ts);
}

static int wt_poll(void *ud, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  if (c->early_pending) {
    int rv = wt_deliver_early(c, ts);
    if (rv < 0) {
      return rv;
    }
  }
  return wt_app_live(c) ? c->app_ops->poll(c->app, ts) : 0;
}

static moqc_tstamp wt_get_expiry(void *ud) {
  moqc_wt_conn *c = ud;
  moqc_tstamp t = UINT64_MAX;
  if (c->arm_deadline) {
    return 0;
  }
  if (c->close_deadline != 0) {
    t = c->close_deadline;
  }
  if (wt_app_live(c) && c->app_ops->get_expiry != NULL) {
    moqc_tstamp a = c->app_ops->get_expiry(c->app);
    t = a < t ? a : t;
  }
  return t;
}

static int wt_handle_expiry(void *ud, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  if (c->arm_deadline) {
    c->arm_deadline = false;
    c->close_deadline = ts + c->close_linger;
    if (c->close_deadline == 0) {
      c->close_deadline = 1;
    }
  }
  if (c->close_deadline != 0 && ts >= c->close_deadline) {
    c->close_deadline = 0;
    wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return 0;
  }
  if (wt_app_live(c) && c->app_ops->get_expiry != NULL && c->app_ops->get_expiry(c->app) <= ts) {
    return c->app_ops->handle_expiry(c->app, ts);
  }
  return 0;
}

static void wt_lower_closed(void *ud, uint64_t code, const char *reason, size_t len) {
  moqc_wt_conn *c = ud;
  c->lower_closed = true;
  c->state = MOQC__WT_DEAD;
  if (!c->app_closed) {
    c->by_peer = true;
    c->close_code = wt_code_in(code);
    wt_app_tell_closed(c, c->close_code, reason, len);
  }
}

const moqc_stream_app_ops moqc__wt_lower_ops = {
    .read_stream = wt_read_stream,
    .writev_stream = wt_writev_stream,
    .add_write_offset = wt_add_write_offset,
    .add_ack_offset = wt_add_ack_offset,
    .block_stream = wt_block_stream,
    .unblock_stream = wt_unblock_stream,
    .recv_reset = wt_recv_reset,
    .recv_stop_sending = wt_recv_stop_sending,
    .close_stream = wt_close_stream,
    .recv_datagram = wt_recv_datagram,
    .poll = wt_poll,
    .get_expiry = wt_get_expiry,
    .handle_expiry = wt_handle_expiry,
    .closed = wt_lower_closed,
};

/* ---- upper ops: the application calls us ---- */

static int wt_op_open_stream(void *ud, bool uni, moqc_stream_id *id) {
  moqc_wt_conn *c = ud;
  moqc__writer w;
  int64_t sid;
  if (c->state != MOQC__WT_OPEN || c->app_closed) {
    return MOQC_ERR_CLOSED;
  }
  int rv = c->lower.ops->open_stream(c->lower.user_data, uni, &sid);
  if (rv != 0) {
    return rv;
  }
  moqc__wt_stream *s = wt_stream_new(c, sid, MOQC__WTS_SESSION, true);
  if (s == NULL) {
    c->lower.ops->reset_stream(c->lower.user_data, sid, MOQC__H3_INTERNAL_ERROR);
    return MOQC_ERR_NOMEM;
  }
  moqc__writer_init(&w, s->hdr, sizeof(s->hdr));
  if (uni) {
    moqc__h3_put_wt_uni_header(&w, (uint64_t)c->session_id);
  } else {
    moqc__h3_put_wt_bidi_header(&w, (uint64_t)c->session_id);
  }
  s->hdrlen = (size_t)moqc__writer_result(&w);
  s->app_known = true;
  *id = sid;
  MOQC_LOG(c->log, MOQC_LOG_TRACE, "wt: opened %s stream %lld", uni ? "uni" : "bidi",
           (long long)sid);
  return 0;
}

static void wt_op_resume_stream(void *ud, moqc_stream_id id) {
  moqc_wt_conn *c = ud;
  c->lower.ops->resume_stream(c->lower.user_data, id);
}

static int wt_op_reset_stream(void *ud, moqc_stream_id id, uint64_t code) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = wt_stream_find(c, id);
  if (s != NULL) {
    s->hdr_written = s->hdrlen; /* nothing more is sent on it */
  }
  return c->lower.ops->reset_stream(c->lower.user_data, id, wt_code_out(code));
}

static int wt_op_stop_sending(void *ud, moqc_stream_id id, uint64_t code) {
  moqc_wt_conn *c = ud;
  return c->lower.ops->stop_sending(c->lower.user_data, id, wt_code_out(code));
}

static int wt_op_send_datagram(void *ud, const uint8_t *data, size_t len) {
  moqc_wt_conn *c = ud;
  uint8_t buf[1500 + 8];
  moqc__writer w;
  if (c->state != MOQC__WT_OPEN) {
    return 0;
  }
  if (len > 1500) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_datagram_header(&w, (uint64_t)c->session_id);
  moqc__put_raw(&w, data, len);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  return c->lower.ops->send_datagram(c->lower.user_data, buf, (size_t)n);
}

void moqc__wt_conn_close_session(moqc_wt_conn *c, uint32_t code, const char *reason,
                                 size_t reason_len) {
  c->app_closed = true;
  if (c->lower_closed || c->state == MOQC__WT_DEAD || c->state == MOQC__WT_CLOSING) {
    return;
  }
  c->close_code = code;
  c->by_peer = false;
  if (c->state != MOQC__WT_OPEN || c->connect == NULL) {
    c->state = MOQC__WT_CLOSING;
    wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return;
  }
  c->state = MOQC__WT_CLOSING;
  uint8_t buf[16 + 16 + WT_MAX_CAPSULE];
  uint8_t cap[16 + WT_MAX_CAPSULE];
  moqc__writer w;
  /* The reason is cut at the limit, then back to a whole UTF-8 character. */
  size_t rl = reason_len > MOQC__H3_WT_REASON_MAX ? MOQC__H3_WT_REASON_MAX : reason_len;
  while (rl > 0 && !moqc__utf8_valid((const uint8_t *)reason, rl)) {
    rl--;
  }
  moqc_str r = {reason != NULL ? reason : "", reason != NULL ? rl : 0};
  moqc__writer_init(&w, cap, sizeof(cap));
  moqc__h3_put_wt_close(&w, code, r);
  moqc_ssize cl = moqc__writer_result(&w);
  if (cl < 0) {
    wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return;
  }
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_frame(&w, MOQC__H3_DATA, cap, (size_t)cl);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0 || wt_queue(c, c->connect, buf, (size_t)n, true) != 0) {
    wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return;
  }
  c->arm_deadline = true;
  c->lower.ops->wake(c->lower.user_data);
}

static void wt_op_close(void *ud, uint64_t code, const char *reason, size_t reason_len) {
  moqc_wt_conn *c = ud;
  moqc__wt_conn_close_session(c, code > UINT32_MAX ? UINT32_MAX : (uint32_t)code, reason,
                              reason_len);
}

static void wt_op_wake(void *ud) {
  moqc_wt_conn *c = ud;
  c->lower.ops->wake(c->lower.user_data);
}

static const moqc_transport_ops wt_upper_ops = {
    .open_stream = wt_op_open_stream,
    .resume_stream = wt_op_resume_stream,
    .reset_stream = wt_op_reset_stream,
    .stop_sending = wt_op_stop_sending,
    .send_datagram = wt_op_send_datagram,
    .close = wt_op_close,
    .wake = wt_op_wake,
};

moqc_transport moqc_wt_conn_transport(moqc_wt_conn *conn) {
  moqc_transport t = {&wt_upper_ops, conn};
  return t;
}

/* ---- lifecycle ---- */

int moqc__wt_conn_init(moqc_wt_conn *c, bool server, moqc_transport lower, const moqc_mem *mem,
                       const moqc_log *log) {
  c->mem = mem;
  c->log = log;
  c->server = server;
  c->lower = lower;
  c->session_id = -1;
  c->max_header_size = 16384;
  c->max_early_bytes = 65536;
  c->close_linger = 1000000000ULL;
  return wt_table_grow(c);
}

int moqc__wt_conn_start(moqc_wt_conn *c) {
  uint8_t buf[128];
  moqc__writer w;
  moqc__h3_settings st;
  int64_t id;
  int rv = c->lower.ops->open_stream(c->lower.user_data, true, &id);
  if (rv != 0) {
    return rv;
  }
  moqc__wt_stream *s = wt_stream_new(c, id, MOQC__WTS_CONTROL_OUT, true);
  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->control_out = s;
  moqc__h3_settings_server(&st, 1);
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__put_varint(&w, MOQC__H3_STREAM_CONTROL);
  moqc__h3_put_settings(&w, &st);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    return (int)n;
  }
  return wt_queue(c, s, buf, (size_t)n, false);
}

void moqc__wt_conn_free(moqc_wt_conn *c) {
  if (c->req.active && c->req.abort_cb != NULL) {
    void (*cb)(void *) = c->req.abort_cb;
    void *ud = c->req.abort_ud;
    c->req.abort_cb = NULL;
    cb(ud);
  }
  wt_request_reset(&c->req);
  for (size_t i = 0; i < c->nbuckets; i++) {
    moqc__wt_stream *s = c->buckets[i];
    while (s != NULL) {
      moqc__wt_stream *next = s->hnext;
      wt_stream_free(c, s);
      s = next;
    }
  }
  moqc_mem_free(c->mem, c->buckets);
  c->buckets = NULL;
  c->nbuckets = c->nstreams = 0;
  c->control_out = c->connect = NULL;
  moqc_mem_free(c->mem, c->connect_frame);
  c->connect_frame = NULL;
  moqc_mem_free(c->mem, c->path);
  c->path = NULL;
}

void moqc__wt_conn_lower_gone(moqc_wt_conn *c, int err, uint64_t app_code, bool remote,
                              moqc_wt_close_info *info) {
  bool was_closed = c->app_closed;
  if (!c->app_closed) {
    c->by_peer = remote;
    c->close_code = wt_code_in(app_code);
    const char *what = err == 0 ? "" : moqc_strerror(err);
    wt_app_tell_closed(c, err == 0 ? c->close_code : moqc_err_to_lite_code(err), what,
                       strlen(what));
  }
  (void)was_closed;
  c->state = MOQC__WT_DEAD;
  c->lower_closed = true;
  memset(info, 0, sizeof(*info));
  info->code = c->close_code;
  info->by_peer = c->by_peer;
  info->http_status = c->http_status;
  info->err = c->close_err != 0 ? c->close_err : err;
}

/* ---- public accessors ---- */

int moqc_wt_conn_attach(moqc_wt_conn *conn, const moqc_stream_app_ops *ops, void *app,
                        moqc_wt_close_cb on_close, void *user_data) {
  if (conn == NULL || ops == NULL || conn->app_ops != NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (conn->state != MOQC__WT_OPEN || conn->lower_closed) {
    return MOQC_ERR_CLOSED;
  }
  conn->app_ops = ops;
  conn->app = app;
  if (on_close != NULL) {
    conn->on_close = on_close;
    conn->close_ud = user_data;
  }
  conn->early_pending = true;
  conn->lower.ops->wake(conn->lower.user_data);
  return 0;
}

moqc_str moqc_wt_conn_protocol(const moqc_wt_conn *conn) {
  moqc_str s = {conn->protocol, conn->protocol_len};
  return s;
}

moqc_str moqc_wt_conn_path(const moqc_wt_conn *conn) {
  moqc_str s = {conn->path != NULL ? conn->path : "", conn->path_len};
  return s;
}

moqc_quic_conn *moqc_wt_conn_quic(const moqc_wt_conn *conn) { return conn->quic; }

void moqc_wt_conn_close(moqc_wt_conn *conn, uint32_t code, const char *reason) {
  moqc__wt_conn_close_session(conn, code, reason, reason != NULL ? strlen(reason) : 0);
}

/* ---- requests ---- */

moqc_str moqc_wt_request_path(const moqc_wt_request *req) { return req->path; }
moqc_str moqc_wt_request_authority(const moqc_wt_request *req) { return req->authority; }
moqc_str moqc_wt_request_origin(const moqc_wt_request *req) { return req->origin; }
size_t moqc_wt_request_protocol_count(const moqc_wt_request *req) { return req->nprotocols; }

moqc_str moqc_wt_request_protocol(const moqc_wt_request *req, size_t i) {
  moqc_str empty = {"", 0};
  return i < req->nprotocols ? req->protocols[i] : empty;
}

bool moqc_wt_request_header(const moqc_wt_request *req, const char *name, moqc_str *value) {
  return moqc__h3_fieldset_get(&req->fields, name, value);
}

void moqc_wt_request_on_abort(moqc_wt_request *req, void (*cb)(void *ud), void *ud) {
  req->abort_cb = cb;
  req->abort_ud = ud;
}

int moqc_wt_accept(moqc_wt_request *req, const char *protocol, moqc_wt_conn **out) {
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
  char *path = moqc_mem_malloc(c->mem, req->path.len + 1);
  if (path == NULL) {
    return MOQC_ERR_NOMEM;
  }
  int rv = wt_respond(c, c->connect, 200, fields, n, false);
  if (rv != 0) {
    moqc_mem_free(c->mem, path);
    return rv;
  }
  memcpy(path, req->path.ptr, req->path.len);
  path[req->path.len] = '\0';
  c->path = path;
  c->path_len = req->path.len;
  if (protocol != NULL) {
    c->protocol_len = strlen(protocol);
    memcpy(c->protocol, protocol, c->protocol_len);
  }
  c->http_status = 200;
  c->state = MOQC__WT_OPEN;
  wt_request_reset(req);
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
  wt_request_reset(req);
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
        wt_reject_stream(c, t, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
      }
    }
  }
  wt_refuse_stream(c, s, status);
  return 0;
}
