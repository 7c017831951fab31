/*
 * The HTTP/3 + WebTransport session machine, lower side (see wt_int.h): the
 * moqc_stream_app_ops a QUIC connection drives. Every stream byte of the
 * connection comes here; new peer streams are classified by their header;
 * session stream ids are the QUIC ids, headers stripped on the way in and
 * prepended on the way out.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

/* Ids the peer opens: even on the server (client-initiated), odd on the client.
 */
static bool wt_peer_stream(const moqc_wt_conn *c, int64_t id) {
  return c->server ? (id & 1) == 0 : (id & 1) == 1;
}

/* Decides what a new peer stream is once its header is complete. Returns the
 * header length taken from s->pre, or a negative value when more bytes are
 * needed. */
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
        moqc__wt_fail(c, MOQC__H3_STREAM_CREATION_ERROR,
                      "second control stream");
        return 0;
      }
      c->peer_control_seen = true;
      s->kind = MOQC__WTS_CONTROL_IN;
    } else if (type == MOQC__H3_STREAM_WT_UNI) {
      s->kind = MOQC__WTS_SESSION;
      if ((int64_t)sid != c->session_id || c->session_id < 0) {
        moqc__wt_reject_stream(c, s, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
      }
    } else if (type == MOQC__H3_STREAM_PUSH && c->server) {
      moqc__wt_fail(c, MOQC__H3_STREAM_CREATION_ERROR,
                    "push stream from a client");
      return 0;
    } else if (type == MOQC__H3_STREAM_QPACK_ENCODER ||
               type == MOQC__H3_STREAM_QPACK_DECODER) {
      s->kind = MOQC__WTS_SKIP; /* nothing to read: the dynamic table is off */
    } else {
      s->kind = MOQC__WTS_SKIP;
      c->lower.ops->stop_sending(c->lower.user_data, s->id,
                                 MOQC__H3_STREAM_CREATION_ERROR);
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
        moqc__wt_reject_stream(c, s, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
      }
    } else if (c->server) {
      s->kind = MOQC__WTS_REQUEST;
    } else {
      moqc__wt_fail(c, MOQC__H3_STREAM_CREATION_ERROR,
                    "server-initiated request stream");
      return 0;
    }
  }
  MOQC_LOG(c->log, MOQC_LOG_TRACE, "wt: peer stream %lld is of kind %d",
           (long long)s->id, (int)s->kind);
  return (int)(p - s->pre);
}

static moqc_ssize wt_stream_bytes(moqc_wt_conn *c, moqc__wt_stream *s,
                                  const uint8_t *data, size_t len, bool fin,
                                  moqc_tstamp ts);

static moqc_ssize wt_new_stream_bytes(moqc_wt_conn *c, moqc__wt_stream *s,
                                      const uint8_t *data, size_t len, bool fin,
                                      moqc_tstamp ts) {
  size_t room = MOQC__WT_HDR_MAX - (size_t)s->prelen;
  size_t take = room < len ? room : len;
  memcpy(s->pre + s->prelen, data, take);
  s->prelen = (uint8_t)(s->prelen + take);
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
  /* The header came from pre; the rest of pre (the end of what this call added)
   * and the rest of data are the body. Header bytes taken from data are
   * credited here. */
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

static moqc_ssize wt_stream_bytes(moqc_wt_conn *c, moqc__wt_stream *s,
                                  const uint8_t *data, size_t len, bool fin,
                                  moqc_tstamp ts) {
  switch (s->kind) {
  case MOQC__WTS_NEW:
    return wt_new_stream_bytes(c, s, data, len, fin, ts);
  case MOQC__WTS_CONTROL_IN:
    if (fin && c->state != MOQC__WT_CLOSING) {
      moqc__wt_fail(c, MOQC__H3_CLOSED_CRITICAL_STREAM,
                    "control stream finished");
      return (moqc_ssize)len;
    }
    return moqc__wt_frames_in(c, s, data, len);
  case MOQC__WTS_REQUEST: {
    moqc_ssize n = moqc__wt_frames_in(c, s, data, len);
    if (fin && !c->lower_closed) {
      s->fin_in = true;
      if (s == c->connect) {
        moqc__wt_peer_closed(c, 0, "", 0);
      } else if (c->server && !s->got_headers) {
        s->kind = MOQC__WTS_SKIP;
      }
    }
    return n;
  }
  case MOQC__WTS_SESSION:
    return moqc__wt_session_data(c, s, data, len, fin, ts);
  default:
    return (moqc_ssize)len;
  }
}

static moqc_ssize wt_read_stream(void *ud, moqc_stream_id id,
                                 const uint8_t *data, size_t len, bool fin,
                                 moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  if (c->lower_closed) {
    return (moqc_ssize)len;
  }
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (s == NULL) {
    if (!wt_peer_stream(c, id)) {
      return (moqc_ssize)len; /* a stream of ours we forgot: drop */
    }
    s = moqc__wt_stream_new(c, id, MOQC__WTS_NEW, false);
    if (s == NULL) {
      return MOQC_ERR_NOMEM;
    }
  }
  return wt_stream_bytes(c, s, data, len, fin, ts);
}

static moqc_ssize wt_writev_stream(void *ud, moqc_stream_id *id, bool *fin,
                                   moqc_vec *vec, size_t veccnt,
                                   moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  *id = MOQC_STREAM_NONE;
  *fin = false;
  if (veccnt < 2) {
    return 0;
  }
  for (moqc__wt_stream *o = c->own_head; o != NULL; o = o->onext) {
    if (moqc__wt_own_pending(o)) {
      *id = o->id;
      return moqc__wt_own_writev(o, fin, vec, veccnt);
    }
  }
  if (!moqc__wt_app_live(c) || c->state != MOQC__WT_OPEN) {
    return 0;
  }
  moqc_stream_id sid = MOQC_STREAM_NONE;
  bool f = false;
  moqc_ssize n =
      c->app_ops->writev_stream(c->app, &sid, &f, vec + 1, veccnt - 1, ts);
  if (n < 0 || sid == MOQC_STREAM_NONE) {
    return n < 0 ? n : 0;
  }
  moqc__wt_stream *s = moqc__wt_stream_find(c, sid);
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
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
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
    size_t left = (size_t)s->hdrlen - s->hdr_written;
    size_t h = left < n ? left : n;
    s->hdr_written = (uint8_t)(s->hdr_written + h);
    n -= h;
    if (s->hdr_written < s->hdrlen) {
      return 0; /* the application's ranges were not reached */
    }
  }
  if (!moqc__wt_app_live(c)) {
    return 0;
  }
  return c->app_ops->add_write_offset(c->app, id, n);
}

static int wt_add_ack_offset(void *ud, moqc_stream_id id, uint64_t n) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
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
    uint64_t left = (uint64_t)s->hdrlen - s->hdr_acked;
    uint64_t h = left < n ? left : n;
    s->hdr_acked = (uint8_t)(s->hdr_acked + h);
    n -= h;
  }
  if (n == 0 || !moqc__wt_app_live(c)) {
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
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (wt_is_own(c, s)) {
    s->blocked = true;
    return 0;
  }
  return moqc__wt_app_live(c) ? c->app_ops->block_stream(c->app, id) : 0;
}

static int wt_unblock_stream(void *ud, moqc_stream_id id) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (wt_is_own(c, s)) {
    s->blocked = false;
    return 0;
  }
  return moqc__wt_app_live(c) ? c->app_ops->unblock_stream(c->app, id) : 0;
}

static int wt_recv_reset(void *ud, moqc_stream_id id, uint64_t code,
                         moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (s == NULL) {
    return 0;
  }
  if (s->kind == MOQC__WTS_CONTROL_IN) {
    moqc__wt_fail(c, MOQC__H3_CLOSED_CRITICAL_STREAM, "control stream reset");
    return 0;
  }
  if (s == c->connect) {
    moqc__wt_peer_closed(c, 0, "", 0);
    return 0;
  }
  if (s->kind == MOQC__WTS_SESSION && s->app_known && moqc__wt_app_live(c)) {
    return c->app_ops->recv_reset(c->app, id, moqc__wt_code_in(code), ts);
  }
  if (s->kind == MOQC__WTS_SESSION && !s->app_known) {
    c->early_total -= s->rxlen;
    s->rxlen = 0; /* early bytes of a reset stream are dropped */
    s->early_fin = false;
    s->kind = MOQC__WTS_SKIP;
  }
  return 0;
}

static int wt_recv_stop_sending(void *ud, moqc_stream_id id, uint64_t code,
                                moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (s == NULL) {
    return 0;
  }
  if (s == c->control_out && c->state != MOQC__WT_CLOSING) {
    moqc__wt_fail(c, MOQC__H3_CLOSED_CRITICAL_STREAM, "control stream stopped");
    return 0;
  }
  if (s->kind == MOQC__WTS_SESSION && s->app_known && moqc__wt_app_live(c)) {
    return c->app_ops->recv_stop_sending(c->app, id, moqc__wt_code_in(code),
                                         ts);
  }
  return 0;
}

static int wt_close_stream(void *ud, moqc_stream_id id, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (s == NULL) {
    return 0;
  }
  bool was_connect = s == c->connect;
  bool tell =
      s->kind == MOQC__WTS_SESSION && s->app_known && moqc__wt_app_live(c);
  if (s->kind == MOQC__WTS_SESSION && !s->app_known &&
      (s->rxlen > 0 || s->early_fin)) {
    s->lower_gone =
        true; /* early bytes still wait for the application: keep them */
    return 0;
  }
  moqc__wt_stream_remove(c, s);
  if (was_connect && c->state == MOQC__WT_CLOSING) {
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return 0;
  }
  if (was_connect &&
      (c->state == MOQC__WT_OPEN || c->state == MOQC__WT_REQUESTED)) {
    moqc__wt_peer_closed(c, 0, "", 0);
  }
  return tell ? c->app_ops->close_stream(c->app, id, ts) : 0;
}

static int wt_recv_datagram(void *ud, const uint8_t *data, size_t len,
                            moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  const uint8_t *p = data;
  uint64_t sid;
  const uint8_t *payload;
  size_t plen;
  if (moqc__h3_datagram_decode(&p, data + len, &sid, &payload, &plen) != 0) {
    return 0; /* not a valid HTTP datagram: dropped */
  }
  if ((int64_t)sid != c->session_id || c->state != MOQC__WT_OPEN ||
      !moqc__wt_app_live(c)) {
    return 0;
  }
  return c->app_ops->recv_datagram(c->app, payload, plen, ts);
}

static int wt_poll(void *ud, moqc_tstamp ts) {
  moqc_wt_conn *c = ud;
  if (c->early_pending) {
    int rv = moqc__wt_deliver_early(c, ts);
    if (rv < 0) {
      return rv;
    }
  }
  return moqc__wt_app_live(c) ? c->app_ops->poll(c->app, ts) : 0;
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
  if (moqc__wt_app_live(c) && c->app_ops->get_expiry != NULL) {
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
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return 0;
  }
  if (moqc__wt_app_live(c) && c->app_ops->get_expiry != NULL &&
      c->app_ops->get_expiry(c->app) <= ts) {
    return c->app_ops->handle_expiry(c->app, ts);
  }
  return 0;
}

static void wt_lower_closed(void *ud, uint64_t code, const char *reason,
                            size_t len) {
  moqc_wt_conn *c = ud;
  c->lower_closed = true;
  c->state = MOQC__WT_DEAD;
  if (!c->app_closed) {
    c->by_peer = true;
    c->close_code = moqc__wt_code_in(code);
    moqc__wt_app_tell_closed(c, c->close_code, reason, len);
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
