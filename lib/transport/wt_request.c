/*
 * Request streams: HEADERS and DATA frames, capsules of the CONNECT stream
 * (CLOSE_WEBTRANSPORT_ SESSION, the rest skipped), responses and refusals, the
 * peer closing the session.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

int moqc__wt_respond(moqc_wt_conn *c, moqc__wt_stream *s, int status,
                     const moqc__h3_field *fields, size_t n, bool fin) {
  uint8_t buf[512];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_response_headers(&w, status, fields, n);
  moqc_ssize len = moqc__writer_result(&w);
  if (len < 0) {
    return (int)len;
  }
  return moqc__wt_queue(c, s, buf, (size_t)len, fin);
}

void moqc__wt_request_reset(moqc_wt_conn *c, moqc_wt_request *r) {
  if (r->d != NULL) {
    moqc__h3_fieldset_free(&r->d->fields);
    moqc_mem_free(c->mem, r->d);
    r->d = NULL;
  }
  r->active = false;
  r->abort_cb = NULL;
  r->abort_ud = NULL;
}

/* Refuses a request stream with a status and ignores the rest of it. */
void moqc__wt_refuse_stream(moqc_wt_conn *c, moqc__wt_stream *s, int status) {
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: request on stream %lld refused with %d",
           (long long)s->id, status);
  if (moqc__wt_respond(c, s, status, NULL, 0, true) == MOQC_ERR_NOMEM) {
    moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  s->kind = MOQC__WTS_SKIP;
  moqc_mem_free(c->mem, s->rx); /* the rest of the stream is dropped */
  s->rx = NULL;
  s->rxlen = s->rxcap = 0;
  c->lower.ops->stop_sending(c->lower.user_data, s->id, MOQC__H3_NO_ERROR);
}

/* The peer closed the session (capsule, FIN or reset of the CONNECT stream). */
void moqc__wt_peer_closed(moqc_wt_conn *c, uint64_t code, const char *reason,
                          size_t len) {
  if (c->state != MOQC__WT_OPEN && c->state != MOQC__WT_REQUESTED) {
    return;
  }
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: session closed by the peer (code %llu)",
           (unsigned long long)code);
  c->state = MOQC__WT_CLOSING;
  c->by_peer = true;
  c->close_code = code;
  moqc__wt_app_tell_closed(c, code, reason, len);
  if (c->connect != NULL && !c->connect->fin_queued) {
    (void)moqc__wt_queue(c, c->connect, NULL, 0, true);
  }
  c->arm_deadline = true;
}

/* Parses capsules from the DATA payload bytes of the CONNECT stream. */
static void wt_capsules(moqc_wt_conn *c, moqc__wt_stream *s,
                        const uint8_t *data, size_t len) {
  while (len > 0 && !c->lower_closed) {
    if (s->cap == NULL) {
      s->cap = moqc_mem_malloc(c->mem, sizeof(*s->cap));
      if (s->cap == NULL) {
        moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
        return;
      }
      s->cap->skip = 0;
      s->cap->len = 0;
    }
    moqc__wt_capbuf *cb = s->cap;
    if (cb->skip > 0) {
      size_t n = cb->skip < len ? (size_t)cb->skip : len;
      cb->skip -= n;
      data += n;
      len -= n;
      continue;
    }
    size_t n =
        MOQC__WT_CAP_BUF - cb->len < len ? MOQC__WT_CAP_BUF - cb->len : len;
    memcpy(cb->data + cb->len, data, n);
    cb->len += n;
    data += n;
    len -= n;
    for (;;) {
      const uint8_t *p = cb->data;
      const uint8_t *end = cb->data + cb->len;
      uint64_t type, clen;
      if (moqc__get_varint(&p, end, &type) != 0 ||
          moqc__get_varint(&p, end, &clen) != 0) {
        break;
      }
      size_t hl = (size_t)(p - cb->data);
      if (type == MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION ||
          type == MOQC__H3_CAPSULE_DRAIN_WEBTRANSPORT_SESSION) {
        if (clen > MOQC__WT_MAX_CAPSULE) {
          moqc__wt_fail(c, MOQC__H3_MESSAGE_ERROR, "capsule too large");
          return;
        }
        if (cb->len - hl < clen) {
          break;
        }
        if (type == MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
          uint32_t code;
          moqc_str reason;
          if (moqc__h3_wt_close_decode(p, (size_t)clen, &code, &reason) != 0) {
            moqc__wt_fail(c, MOQC__H3_MESSAGE_ERROR,
                          "bad CLOSE_WEBTRANSPORT_SESSION");
            return;
          }
          moqc__wt_peer_closed(c, code, reason.ptr, reason.len);
        } else {
          c->peer_draining = true;
        }
        memmove(cb->data, cb->data + hl + clen, cb->len - hl - (size_t)clen);
        cb->len -= hl + (size_t)clen;
        continue;
      }
      /* DATAGRAM capsules, unknown and GREASE capsules: skipped. */
      size_t have = cb->len - hl;
      size_t drop = clen < have ? (size_t)clen : have;
      cb->skip = clen - drop;
      memmove(cb->data, cb->data + hl + drop, have - drop);
      cb->len = have - drop;
      if (cb->skip > 0) {
        break;
      }
    }
  }
}

/* Parses frames of a request stream from s->rx. */
void moqc__wt_request_parse(moqc_wt_conn *c, moqc__wt_stream *s) {
  while (s->kind == MOQC__WTS_REQUEST && !c->lower_closed) {
    if (s->data_left > 0 || s->skip_left > 0) {
      bool data = s->data_left > 0;
      uint64_t left = data ? s->data_left : s->skip_left;
      size_t n = left < s->rxlen ? (size_t)left : s->rxlen;
      if (n == 0) {
        return;
      }
      if (data) {
        uint8_t tmp[MOQC__WT_CAP_BUF];
        memcpy(tmp, s->rx, n < sizeof(tmp) ? n : sizeof(tmp));
        n = n < sizeof(tmp) ? n : sizeof(tmp);
        moqc__wt_rx_consume(s, n);
        s->data_left -= n;
        wt_capsules(c, s, tmp, n);
      } else {
        moqc__wt_rx_consume(s, n);
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
          moqc__wt_refuse_stream(c, s, 431);
        } else {
          moqc__wt_fail(c, MOQC__H3_EXCESSIVE_LOAD, "header section too large");
        }
        return;
      }
      if (s->rxlen - hl < h.length) {
        return;
      }
      if (s->got_headers) {
        moqc__wt_rx_consume(s, hl + (size_t)h.length); /* trailers: ignored */
        continue;
      }
      s->got_headers = true;
      /* Decode from a copy: the handlers may change the stream. */
      size_t blen = (size_t)h.length;
      uint8_t *blk = moqc_mem_malloc(c->mem, blen > 0 ? blen : 1);
      if (blk == NULL) {
        moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
        return;
      }
      memcpy(blk, p, blen);
      moqc__wt_rx_consume(s, hl + blen);
      if (c->server) {
        moqc__wt_server_headers(c, s, blk, blen);
      } else {
        moqc__wt_client_headers(c, s, blk, blen);
      }
      moqc_mem_free(c->mem, blk);
      continue;
    }
    if (h.type == MOQC__H3_DATA) {
      if (!s->got_headers) {
        moqc__wt_fail(c, MOQC__H3_FRAME_UNEXPECTED, "DATA before HEADERS");
        return;
      }
      moqc__wt_rx_consume(s, hl);
      s->data_left = h.length;
      if (s != c->connect ||
          (c->state != MOQC__WT_OPEN && c->state != MOQC__WT_REQUESTED &&
           c->state != MOQC__WT_CLOSING)) {
        s->skip_left = s->data_left; /* not a live session: ignore */
        s->data_left = 0;
      }
      continue;
    }
    if (h.type == MOQC__H3_SETTINGS || h.type == MOQC__H3_GOAWAY ||
        h.type == MOQC__H3_MAX_PUSH_ID || h.type == MOQC__H3_CANCEL_PUSH ||
        moqc__h3_frame_is_h2_only(h.type)) {
      moqc__wt_fail(c, MOQC__H3_FRAME_UNEXPECTED,
                    "unexpected frame on a request stream");
      return;
    }
    moqc__wt_rx_consume(s, hl);
    s->skip_left = h.length;
  }
}

/* Feeds bytes to a frame-parsed stream (control or request) in bounded pieces.
 */
moqc_ssize moqc__wt_frames_in(moqc_wt_conn *c, moqc__wt_stream *s,
                              const uint8_t *data, size_t len) {
  size_t cap = s->kind == MOQC__WTS_CONTROL_IN ? MOQC__WT_MAX_SETTINGS + 16
                                               : c->max_header_size + 16;
  size_t off = 0;
  do {
    moqc_ssize n = moqc__wt_rx_take(c, s, data + off, len - off, cap);
    if (n < 0) {
      return n;
    }
    off += (size_t)n;
    size_t before = s->rxlen;
    if (s->kind == MOQC__WTS_CONTROL_IN) {
      moqc__wt_control_parse(c, s);
    } else {
      moqc__wt_request_parse(c, s);
    }
    if (c->lower_closed || s->kind == MOQC__WTS_SKIP) {
      return (moqc_ssize)len;
    }
    if (n == 0 && s->rxlen == before && off < len) {
      moqc__wt_fail(c, MOQC__H3_EXCESSIVE_LOAD, "frame too large");
      return (moqc_ssize)len;
    }
  } while (off < len);
  if (s->rxlen == 0) {
    /* Control and request streams are quiet once the session is up: their
     * buffer is taken again when bytes come. */
    moqc_mem_free(c->mem, s->rx);
    s->rx = NULL;
    s->rxcap = 0;
  }
  return (moqc_ssize)len;
}
