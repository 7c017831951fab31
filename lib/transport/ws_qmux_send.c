/*
 * The QMux engine: building the next message to send. Order: our transport parameters, the
 * close frame, control frames and datagrams, then stream data pulled from the application
 * within the peer's credit.
 */
#include <string.h>

#include "transport/ws_qmux_int.h"

/** The most vectors asked for per writev call. */
#define WSQ_VECS 16
/** The most writev calls per message: a guard against an application that never runs dry. */
#define WSQ_MAX_PULLS 64

/* The largest message we may send. */
static size_t wsq_send_limit(const moqc__wsq *c) {
  if (c->st.format >= MOQC__QMUX_01) {
    uint64_t r = moqc__qmux_params_record_size(&c->peer);
    return r < MOQC__QMUX_RECORD_SIZE_MIN ? (size_t)r : MOQC__QMUX_RECORD_SIZE_MIN;
  }
  return MOQC__QMUX_00_MESSAGE_MAX;
}

static bool wsq_one_frame(const moqc__wsq *c) { return c->st.format < MOQC__QMUX_01; }

static void wsq_pop(moqc__wsq *c) {
  moqc__wsq_ctl *q = c->q_head;
  c->q_head = q->next;
  if (c->q_head == NULL) {
    c->q_tail = NULL;
  }
  c->queued -= q->len;
  if (q->datagram) {
    c->queued_dgrams -= q->len;
  }
  moqc_mem_free(c->mem, q);
}

/* Pulls one writev worth of stream data into w. Returns 1 when a frame was written or a stream
 * changed state, 0 when nothing more fits or the application has nothing. */
static int wsq_pull(moqc__wsq *c, moqc__writer *w, moqc_tstamp ts) {
  moqc_vec vec[WSQ_VECS];
  moqc_stream_id id = MOQC_STREAM_NONE;
  bool fin = false;
  moqc_ssize n = c->ops->writev_stream(c->app, &id, &fin, vec, WSQ_VECS, ts);
  if (n < 0) {
    moqc__wsq_app_fail(c, (int)n);
    return 0;
  }
  if (id == MOQC_STREAM_NONE || c->state != WSQ_OPEN) {
    return 0;
  }
  moqc__wsq_stream *s = moqc__wsq_find(c, id);
  if (s == NULL || !s->has_send || s->fin_sent) {
    moqc__wsq_app_fail(c, MOQC_ERR_INTERNAL);
    return 0;
  }
  size_t total = 0;
  for (moqc_ssize i = 0; i < n; i++) {
    total += vec[i].len;
  }
  if (s->reset_sent) {
    /* Reset by us (maybe answering STOP_SENDING): swallow what the application still offers. */
    int rv = c->ops->add_write_offset(c->app, id, total);
    if (rv >= 0 && total > 0) {
      rv = c->ops->add_ack_offset(c->app, id, total);
    }
    if (rv < 0) {
      moqc__wsq_app_fail(c, rv);
      return 0;
    }
    return total > 0 || fin ? 1 : 0;
  }
  size_t room = (size_t)(w->end - w->p);
  size_t hdr = 1 + moqc__varint_len((uint64_t)id);
  if (!c->legacy) {
    hdr += moqc__varint_len(s->send_off) + 2; /* LEN fits in 2 bytes: payload < 16384. */
  }
  if (room <= hdr) {
    return 0;
  }
  size_t take = total;
  if (take > room - hdr) {
    take = room - hdr;
  }
  if (take > MOQC__QMUX_STREAM_PAYLOAD_MAX) {
    take = MOQC__QMUX_STREAM_PAYLOAD_MAX;
  }
  /* A stream opened before the peer's limits allowed it has no credit until they do. */
  bool allowed = moqc__wsq_local_allowed(c, s);
  uint64_t scredit = allowed ? s->send_max - s->send_off : 0;
  if (take > scredit) {
    take = (size_t)scredit;
  }
  uint64_t ccredit = c->send_max - c->sent;
  if (take > ccredit) {
    take = (size_t)ccredit;
  }
  bool fin_now = fin && take == total && allowed;
  if (take == 0 && !fin_now) {
    if (scredit == 0 && (total > 0 || !allowed) && !s->blocked) {
      s->blocked = true;
      int rv = c->ops->block_stream(c->app, id);
      if (rv < 0) {
        moqc__wsq_app_fail(c, rv);
        return 0;
      }
      return 1;
    }
    return 0;
  }
  if (c->legacy) {
    moqc__put_u8(w, (uint8_t)(MOQC__QMUX_STREAM | (fin_now ? MOQC__QMUX_STREAM_FIN : 0U)));
    moqc__put_varint(w, (uint64_t)id);
  } else {
    moqc__put_varint(w, MOQC__QMUX_STREAM | MOQC__QMUX_STREAM_OFF | MOQC__QMUX_STREAM_LEN |
                            (fin_now ? MOQC__QMUX_STREAM_FIN : 0U));
    moqc__put_varint(w, (uint64_t)id);
    moqc__put_varint(w, s->send_off);
    moqc__put_varint_n(w, take, 2);
  }
  size_t off = 0;
  for (moqc_ssize i = 0; i < n && off < take; i++) {
    size_t k = vec[i].len < take - off ? vec[i].len : take - off;
    if (k > 0) {
      moqc__put_raw(w, vec[i].base, k);
    }
    off += k;
  }
  if (w->err != 0) {
    moqc__wsq_app_fail(c, MOQC_ERR_INTERNAL);
    return 0;
  }
  s->send_off += take;
  c->sent += take;
  if (fin_now) {
    s->fin_sent = true;
    c->need_sweep = true;
  }
  /* Bytes copied into a message are as good as delivered: WebSocket runs over TCP. */
  int rv = c->ops->add_write_offset(c->app, id, take);
  if (rv >= 0 && take > 0) {
    rv = c->ops->add_ack_offset(c->app, id, take);
  }
  if (rv < 0) {
    moqc__wsq_app_fail(c, rv);
    return 0;
  }
  return 1;
}

moqc_ssize moqc__wsq_produce(moqc__wsq *c, uint8_t *buf, size_t cap, moqc_tstamp ts) {
  if (cap < MOQC__WSQ_MESSAGE_MAX) {
    return MOQC_ERR_NOBUF;
  }
  if (c->state == WSQ_CLOSED) {
    return 0;
  }
  moqc__writer w;
  moqc__writer_init(&w, buf, wsq_send_limit(c));
  if (!c->tp_sent) {
    c->tp_sent = true;
    moqc__qmux_params_encode(&w, &c->st.local);
    moqc_ssize n = moqc__writer_result(&w);
    if (n > 0) {
      c->last_send = ts;
    }
    return n;
  }
  bool one = wsq_one_frame(c);
  while (c->q_head != NULL) {
    if (c->q_head->len > (size_t)(w.end - w.p)) {
      break;
    }
    moqc__put_raw(&w, c->q_head->data, c->q_head->len);
    wsq_pop(c);
    if (one) {
      break;
    }
  }
  if (c->state == WSQ_CLOSING && c->q_head == NULL) {
    /* The close frame (the only item left after a close) is out. */
    c->state = WSQ_CLOSED;
  }
  bool wrote = w.p > w.begin;
  if (moqc__wsq_app_live(c) && c->peer_tp && !(one && wrote)) {
    for (int i = 0; i < WSQ_MAX_PULLS && moqc__wsq_app_live(c); i++) {
      uint8_t *before = w.p;
      if (c->sent >= c->send_max) {
        /* No connection credit: only a FIN could go, and writev cannot tell us that alone. */
        break;
      }
      if (wsq_pull(c, &w, ts) == 0) {
        break;
      }
      if (one && w.p != before) {
        break;
      }
    }
  }
  moqc_ssize n = moqc__writer_result(&w);
  if (n > 0) {
    c->last_send = ts;
  }
  moqc__wsq_sweep(c, ts);
  return n;
}
