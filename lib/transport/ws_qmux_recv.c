/*
 * The QMux engine: received messages and frames, checked against the peer's limits.
 */
#include <string.h>

#include "transport/ws_qmux_int.h"

/* The largest message we accept: our max_record_size on qmux-01/02, one 16 KiB frame otherwise. */
static size_t wsq_recv_limit(const moqc__wsq *c) {
  if (c->st.format >= MOQC__QMUX_01) {
    return (size_t)moqc__qmux_params_record_size(&c->st.local);
  }
  return MOQC__QMUX_00_MESSAGE_MAX;
}

/*
 * Finds or opens the stream a frame names. recv: the frame concerns the receive side (STREAM,
 * RESET_STREAM), else the send side (STOP_SENDING, MAX_STREAM_DATA). Returns 0 with *out NULL
 * for a stream already closed (the frame is ignored), or a QUIC error code (> 0) to close with.
 */
static uint64_t wsq_stream_for(moqc__wsq *c, uint64_t sid, bool recv, moqc__wsq_stream **out) {
  *out = NULL;
  if (sid > MOQC_VARINT_MAX) {
    return MOQC__WSQ_FRAME_ENCODING_ERROR;
  }
  moqc_stream_id id = (moqc_stream_id)sid;
  bool uni = MOQC_STREAM_IS_UNI(id);
  int k = uni ? WSQ_UNI : WSQ_BIDI;
  uint64_t index = sid >> 2;
  if (moqc__wsq_is_local(c, id)) {
    /* We only receive on our bidi streams; the peer only controls sending on ours. */
    if (recv && uni) {
      return MOQC__WSQ_STREAM_STATE_ERROR;
    }
    if (index >= c->next_local[k]) {
      return MOQC__WSQ_STREAM_STATE_ERROR;
    }
    *out = moqc__wsq_find(c, id);
    return 0;
  }
  if (!recv && uni) {
    return MOQC__WSQ_STREAM_STATE_ERROR; /* We never send on a peer's uni stream. */
  }
  if (index < c->peer_next[k]) {
    *out = moqc__wsq_find(c, id);
    return 0;
  }
  /* The legacy format advertises no limit: hold the peer to as many live streams as QMux
   * would allow, so a huge stream id cannot make us open (and allocate) every lower one. */
  uint64_t initial = uni ? c->st.local.initial_max_streams_uni : c->st.local.initial_max_streams_bidi;
  uint64_t limit = c->legacy ? c->peer_closed[k] + initial : c->max_streams_adv[k];
  if (index >= limit) {
    return MOQC__WSQ_STREAM_LIMIT_ERROR;
  }
  /* Opening index N opens every lower one (RFC 9000 3.2). */
  while (c->peer_next[k] <= index) {
    uint64_t i = c->peer_next[k];
    moqc_stream_id nid =
        (moqc_stream_id)((i << 2) | (uni ? 2U : 0U) | (c->st.is_server ? 0U : 1U));
    moqc__wsq_stream *s = moqc__wsq_stream_new(c, nid);
    if (s == NULL) {
      return MOQC__WSQ_INTERNAL_ERROR;
    }
    c->peer_next[k]++;
    *out = s;
  }
  return 0;
}

/* The most unconsumed bytes a legacy connection may buffer: 4 windows, at least 16 MiB. */
static uint64_t wsq_legacy_buffer(const moqc__wsq *c) {
  uint64_t cap = c->st.local.initial_max_data * 4;
  return cap < ((uint64_t)16 << 20) ? (uint64_t)16 << 20 : cap;
}

static int wsq_append(moqc__wsq *c, moqc__wsq_stream *s, const uint8_t *data, size_t len) {
  if (s->start + s->len + len > s->cap) {
    if (s->start > 0) {
      memmove(s->buf, s->buf + s->start, s->len);
      s->start = 0;
    }
    if (s->len + len > s->cap) {
      size_t cap = s->cap ? s->cap : 1024;
      while (cap < s->len + len) {
        cap *= 2;
      }
      uint8_t *b = moqc_mem_realloc(c->mem, s->buf, cap);
      if (b == NULL) {
        return MOQC_ERR_NOMEM;
      }
      s->buf = b;
      s->cap = cap;
    }
  }
  memcpy(s->buf + s->start + s->len, data, len);
  s->len += len;
  return 0;
}

/* Returns 0 or a QUIC error code. */
static uint64_t wsq_on_stream(moqc__wsq *c, const moqc__qmux_frame *f, moqc_tstamp ts) {
  moqc__wsq_stream *s;
  uint64_t err = wsq_stream_for(c, f->stream_id, true, &s);
  if (err != 0 || s == NULL) {
    return err;
  }
  /* Without an offset (legacy format, @moq/qmux 0.0.6) a frame appends. */
  uint64_t off = (f->type & MOQC__QMUX_STREAM_OFF) != 0 ? f->offset : s->recv_end;
  uint64_t end = off + f->len;
  if (end > MOQC_VARINT_MAX) {
    return MOQC__WSQ_FLOW_CONTROL_ERROR;
  }
  if (s->final_known && (end > s->final_size || (f->fin && end != s->final_size))) {
    return MOQC__WSQ_FINAL_SIZE_ERROR;
  }
  if (f->fin && end < s->recv_end) {
    return MOQC__WSQ_FINAL_SIZE_ERROR;
  }
  if (end > s->recv_max) {
    return MOQC__WSQ_FLOW_CONTROL_ERROR;
  }
  if (off > s->recv_end) {
    /* A gap: QMux runs over an ordered transport, so this never happens legitimately. */
    return MOQC__WSQ_PROTOCOL_VIOLATION;
  }
  if (s->reset_recv) {
    return 0;
  }
  if (end > s->recv_end) {
    uint64_t fresh = end - s->recv_end;
    if (c->recv_total + fresh > c->recv_max) {
      return MOQC__WSQ_FLOW_CONTROL_ERROR;
    }
    if (c->legacy && c->recv_total - c->recv_consumed + fresh > wsq_legacy_buffer(c)) {
      /* No flow control in the legacy format: bound what the connection buffers. */
      return MOQC__WSQ_FLOW_CONTROL_ERROR;
    }
    c->recv_total += fresh;
    const uint8_t *data = f->data + (size_t)(s->recv_end - off);
    if (s->stop_sent || s->fin_consumed) {
      c->recv_consumed += fresh;
      s->recv_consumed += fresh;
    } else if (wsq_append(c, s, data, (size_t)fresh) < 0) {
      return MOQC__WSQ_INTERNAL_ERROR;
    }
    s->recv_end = end;
  }
  if (f->fin && !s->final_known) {
    s->final_known = true;
    s->final_size = end;
    c->need_sweep = true;
  }
  moqc__wsq_deliver(c, s, ts);
  moqc__wsq_credit_conn(c);
  return 0;
}

static uint64_t wsq_on_reset(moqc__wsq *c, const moqc__qmux_frame *f, moqc_tstamp ts) {
  moqc__wsq_stream *s;
  uint64_t err = wsq_stream_for(c, f->stream_id, true, &s);
  if (err != 0 || s == NULL) {
    return err;
  }
  if (f->final_size < s->recv_end || (s->final_known && f->final_size != s->final_size)) {
    return MOQC__WSQ_FINAL_SIZE_ERROR;
  }
  if (f->final_size > s->recv_max) {
    return MOQC__WSQ_FLOW_CONTROL_ERROR;
  }
  if (s->reset_recv || s->fin_consumed) {
    return 0;
  }
  uint64_t fresh = f->final_size - s->recv_end;
  if (c->recv_total + fresh > c->recv_max) {
    return MOQC__WSQ_FLOW_CONTROL_ERROR;
  }
  c->recv_total += fresh;
  s->recv_end = f->final_size;
  s->final_known = true;
  s->final_size = f->final_size;
  s->reset_recv = true;
  c->need_sweep = true;
  /* Everything not consumed goes back to the connection window. */
  c->recv_consumed += s->final_size - s->recv_consumed;
  s->recv_consumed = s->final_size;
  s->len = 0;
  moqc_mem_free(c->mem, s->buf);
  s->buf = NULL;
  s->cap = 0;
  s->start = 0;
  if (moqc__wsq_app_live(c)) {
    s->app_knows = true;
    int rv = c->ops->recv_reset(c->app, s->id, f->code, ts);
    if (rv < 0) {
      moqc__wsq_app_fail(c, rv);
    }
  }
  moqc__wsq_credit_conn(c);
  return 0;
}

static uint64_t wsq_on_stop(moqc__wsq *c, const moqc__qmux_frame *f, moqc_tstamp ts) {
  moqc__wsq_stream *s;
  uint64_t err = wsq_stream_for(c, f->stream_id, false, &s);
  if (err != 0 || s == NULL) {
    return err;
  }
  if (s->stop_recv || s->reset_sent || s->fin_sent) {
    s->stop_recv = true;
    return 0; /* Tolerated after FIN (spec correction 3). */
  }
  s->stop_recv = true;
  if (moqc__wsq_app_live(c)) {
    s->app_knows = true;
    int rv = c->ops->recv_stop_sending(c->app, s->id, f->code, ts);
    if (rv < 0) {
      moqc__wsq_app_fail(c, rv);
      return 0;
    }
  }
  if (!s->reset_sent && !s->fin_sent && c->state == WSQ_OPEN) {
    /* The application did not reset: answer as QUIC requires, with the peer's code. */
    moqc_transport t = moqc__wsq_transport(c);
    (void)t.ops->reset_stream(t.user_data, s->id, f->code);
  }
  return 0;
}

static uint64_t wsq_on_max_stream_data(moqc__wsq *c, const moqc__qmux_frame *f) {
  moqc__wsq_stream *s;
  uint64_t err = wsq_stream_for(c, f->stream_id, false, &s);
  if (err != 0 || s == NULL) {
    return err;
  }
  if (f->max > s->send_max) {
    s->send_max = f->max;
    if (s->blocked) {
      s->blocked = false;
      if (moqc__wsq_app_live(c)) {
        int rv = c->ops->unblock_stream(c->app, s->id);
        if (rv < 0) {
          moqc__wsq_app_fail(c, rv);
        }
      }
    }
  }
  return 0;
}

static uint64_t wsq_on_params(moqc__wsq *c, const moqc__qmux_frame *f) {
  if (c->peer_tp) {
    return MOQC__WSQ_PROTOCOL_VIOLATION;
  }
  moqc__qmux_params prm;
  if (moqc__qmux_params_decode(f->data, f->len, &prm) < 0) {
    return MOQC__WSQ_TRANSPORT_PARAMETER_ERROR;
  }
  prm.application_protocols.ptr = NULL;
  prm.application_protocols.len = 0;
  c->peer = prm;
  c->peer_tp = true;
  moqc__wsq_apply_peer(c);
  return 0;
}

/* Handles one decoded frame. Returns 0 or a QUIC error code. */
static uint64_t wsq_on_frame(moqc__wsq *c, const moqc__qmux_frame *f, moqc_tstamp ts) {
  if (f->type == MOQC__QMUX_TRANSPORT_PARAMETERS) {
    return c->legacy ? MOQC__WSQ_PROTOCOL_VIOLATION : wsq_on_params(c, f);
  }
  if (c->st.format == MOQC__QMUX_02 && !c->peer_tp) {
    return MOQC__WSQ_PROTOCOL_VIOLATION; /* qmux-02: the parameters come first. */
  }
  if ((f->type & ~(uint64_t)7) == MOQC__QMUX_STREAM) {
    return wsq_on_stream(c, f, ts);
  }
  switch (f->type) {
  case MOQC__QMUX_PADDING:
  case MOQC__QMUX_DATA_BLOCKED:
  case MOQC__QMUX_STREAM_DATA_BLOCKED:
  case MOQC__QMUX_STREAMS_BLOCKED_BIDI:
  case MOQC__QMUX_STREAMS_BLOCKED_UNI:
  case MOQC__QMUX_PING_RESPONSE:
    return 0;
  case MOQC__QMUX_RESET_STREAM:
    return wsq_on_reset(c, f, ts);
  case MOQC__QMUX_STOP_SENDING:
    return wsq_on_stop(c, f, ts);
  case MOQC__QMUX_MAX_DATA:
    if (!c->legacy && f->max > c->send_max) {
      c->send_max = f->max;
    }
    return 0;
  case MOQC__QMUX_MAX_STREAM_DATA:
    return wsq_on_max_stream_data(c, f);
  case MOQC__QMUX_MAX_STREAMS_BIDI:
  case MOQC__QMUX_MAX_STREAMS_UNI: {
    int k = f->type == MOQC__QMUX_MAX_STREAMS_UNI ? WSQ_UNI : WSQ_BIDI;
    if (!c->legacy && f->max > c->peer_max_streams[k]) {
      c->peer_max_streams[k] = f->max;
      moqc__wsq_unblock_allowed(c);
      atomic_store(&c->woken, true); /* A failed open may succeed now. */
    }
    return 0;
  }
  case MOQC__QMUX_PING_REQUEST: {
    moqc__qmux_frame r;
    memset(&r, 0, sizeof(r));
    r.type = MOQC__QMUX_PING_RESPONSE;
    r.sequence = f->sequence;
    (void)moqc__wsq_queue_frame(c, &r);
    return 0;
  }
  case MOQC__QMUX_DATAGRAM:
  case MOQC__QMUX_DATAGRAM_LEN:
    if (c->st.local.max_datagram_frame_size == 0 ||
        f->len > c->st.local.max_datagram_frame_size) {
      return MOQC__WSQ_PROTOCOL_VIOLATION;
    }
    if (moqc__wsq_app_live(c)) {
      int rv = c->ops->recv_datagram(c->app, f->data, f->len, ts);
      if (rv < 0) {
        moqc__wsq_app_fail(c, rv);
      }
    }
    return 0;
  default:
    /* RESET_STREAM_AT: we never advertise it. */
    return MOQC__WSQ_PROTOCOL_VIOLATION;
  }
}

static void wsq_on_close(moqc__wsq *c, const moqc__qmux_frame *f) {
  bool app = f->type == MOQC__QMUX_APPLICATION_CLOSE;
  c->close.code = f->code;
  c->close.app = app;
  c->close.by_peer = true;
  c->close.what = "closed by the peer";
  c->state = WSQ_CLOSED;
  const moqc_stream_app_ops *ops = c->ops;
  c->ops = NULL;
  if (ops != NULL) {
    uint64_t code = app ? f->code : moqc_err_to_lite_code(MOQC_ERR_TRANSPORT);
    ops->closed(c->app, code, (const char *)f->data, f->len);
  }
}

int moqc__wsq_recv_message(moqc__wsq *c, const uint8_t *data, size_t len, moqc_tstamp ts) {
  if (c->state != WSQ_OPEN) {
    return MOQC_ERR_CLOSED;
  }
  if (!c->clock_started) {
    c->clock_started = true;
    c->last_send = ts;
  }
  c->last_recv = ts;
  if (len > wsq_recv_limit(c)) {
    moqc__wsq_fail(c, MOQC__WSQ_PROTOCOL_VIOLATION, 0, "record too large");
    return MOQC_ERR_CLOSED;
  }
  const uint8_t *p = data;
  const uint8_t *end = data + len;
  while (p < end && c->state == WSQ_OPEN) {
    moqc__qmux_frame f;
    if (moqc__qmux_frame_decode(&p, end, c->st.format, &f) != 0) {
      moqc__wsq_fail(c, MOQC__WSQ_FRAME_ENCODING_ERROR, 0, "malformed frame");
      return MOQC_ERR_CLOSED;
    }
    if (f.type == MOQC__QMUX_CONNECTION_CLOSE || f.type == MOQC__QMUX_APPLICATION_CLOSE) {
      wsq_on_close(c, &f);
      return MOQC_ERR_CLOSED;
    }
    uint64_t err = wsq_on_frame(c, &f, ts);
    if (err != 0) {
      static const char *const what[] = {
          [MOQC__WSQ_INTERNAL_ERROR] = "internal error",
          [MOQC__WSQ_FLOW_CONTROL_ERROR] = "flow control",
          [MOQC__WSQ_STREAM_LIMIT_ERROR] = "stream limit",
          [MOQC__WSQ_STREAM_STATE_ERROR] = "stream state",
          [MOQC__WSQ_FINAL_SIZE_ERROR] = "final size",
          [MOQC__WSQ_FRAME_ENCODING_ERROR] = "frame encoding",
          [MOQC__WSQ_TRANSPORT_PARAMETER_ERROR] = "transport parameters",
          [MOQC__WSQ_PROTOCOL_VIOLATION] = "protocol violation",
      };
      const char *w = err < sizeof(what) / sizeof(what[0]) && what[err] ? what[err] : "error";
      moqc__wsq_fail(c, err, f.type, w);
      return MOQC_ERR_CLOSED;
    }
  }
  moqc__wsq_sweep(c, ts);
  return c->state == WSQ_OPEN ? 0 : MOQC_ERR_CLOSED;
}
