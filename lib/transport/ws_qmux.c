/*
 * The QMux engine: lifecycle, the stream table, the transport operations the application calls,
 * delivery of received bytes, stream closing and timers. Received frames are in ws_qmux_recv.c,
 * building messages in ws_qmux_send.c.
 */
#include <string.h>

#include "transport/ws_qmux_int.h"

void moqc__wsq_settings_default(moqc__wsq_settings *s, moqc__qmux_format format, bool is_server) {
  memset(s, 0, sizeof(*s));
  s->format = format;
  s->is_server = is_server;
  moqc__qmux_params_default(&s->local, format);
  /* We do not implement RESET_STREAM_AT, so we never advertise it. */
  s->local.reset_stream_at = false;
  s->max_queued = 1024 * 1024;
}

bool moqc__wsq_app_live(const moqc__wsq *c) { return c->ops != NULL && c->state == WSQ_OPEN; }

int moqc__wsq_new(moqc__wsq **out, const moqc__wsq_settings *settings, const moqc_mem *mem) {
  if (settings == NULL || settings->wake == NULL || settings->format == MOQC__QMUX_NONE ||
      settings->format > MOQC__QMUX_02) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__wsq *c = moqc_mem_calloc(mem, 1, sizeof(*c));
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->mem = mem;
  c->st = *settings;
  c->st.local.application_protocols.len = 0;
  c->st.local.application_protocols.ptr = NULL;
  c->legacy = settings->format == MOQC__QMUX_WEBTRANSPORT;
  atomic_init(&c->woken, false);
  if (c->legacy) {
    /* No parameters and no flow control: unlimited credit both ways. */
    c->peer_tp = true;
    c->tp_sent = true;
    c->send_max = UINT64_MAX;
    c->recv_max = UINT64_MAX;
    c->peer_max_streams[WSQ_BIDI] = c->peer_max_streams[WSQ_UNI] = MOQC__QMUX_MAX_STREAMS_LIMIT;
    c->max_streams_adv[WSQ_BIDI] = c->max_streams_adv[WSQ_UNI] = MOQC__QMUX_MAX_STREAMS_LIMIT;
  } else {
    c->recv_max = c->st.local.initial_max_data;
    c->max_streams_adv[WSQ_BIDI] = c->st.local.initial_max_streams_bidi;
    c->max_streams_adv[WSQ_UNI] = c->st.local.initial_max_streams_uni;
  }
  c->nslots = 64;
  c->slots = moqc_mem_calloc(mem, c->nslots, sizeof(*c->slots));
  if (c->slots == NULL) {
    moqc_mem_free(mem, c);
    return MOQC_ERR_NOMEM;
  }
  *out = c;
  return 0;
}

static void wsq_stream_free(moqc__wsq *c, moqc__wsq_stream *s) {
  moqc_mem_free(c->mem, s->buf);
  moqc_mem_free(c->mem, s);
}

static void wsq_free_queue(moqc__wsq *c) {
  moqc__wsq_ctl *q = c->q_head;
  while (q != NULL) {
    moqc__wsq_ctl *n = q->next;
    moqc_mem_free(c->mem, q);
    q = n;
  }
  c->q_head = c->q_tail = NULL;
  c->queued = 0;
  c->queued_dgrams = 0;
}

void moqc__wsq_del(moqc__wsq *c) {
  if (c == NULL) {
    return;
  }
  moqc__wsq_stream *s = c->head;
  while (s != NULL) {
    moqc__wsq_stream *n = s->next;
    wsq_stream_free(c, s);
    s = n;
  }
  wsq_free_queue(c);
  moqc_mem_free(c->mem, c->slots);
  moqc_mem_free(c->mem, c);
}

void moqc__wsq_attach(moqc__wsq *c, const moqc_stream_app_ops *ops, void *app) {
  c->ops = ops;
  c->app = app;
}

void moqc__wsq_detach(moqc__wsq *c) {
  c->ops = NULL;
  c->app = NULL;
}

/* ---- Stream table ------------------------------------------------------------------------- */

static size_t wsq_hash(moqc_stream_id id, size_t nslots) {
  uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
  return (size_t)(h >> 32) & (nslots - 1);
}

moqc__wsq_stream *moqc__wsq_find(const moqc__wsq *c, moqc_stream_id id) {
  for (moqc__wsq_stream *s = c->slots[wsq_hash(id, c->nslots)]; s != NULL; s = s->hnext) {
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
}

bool moqc__wsq_is_local(const moqc__wsq *c, moqc_stream_id id) {
  return MOQC_STREAM_IS_SERVER(id) == c->st.is_server;
}

static void wsq_grow(moqc__wsq *c) {
  size_t n = c->nslots * 2;
  moqc__wsq_stream **slots = moqc_mem_calloc(c->mem, n, sizeof(*slots));
  if (slots == NULL) {
    return; /* Longer chains, still correct. */
  }
  for (moqc__wsq_stream *s = c->head; s != NULL; s = s->next) {
    size_t h = wsq_hash(s->id, n);
    s->hnext = slots[h];
    slots[h] = s;
  }
  moqc_mem_free(c->mem, c->slots);
  c->slots = slots;
  c->nslots = n;
}

moqc__wsq_stream *moqc__wsq_stream_new(moqc__wsq *c, moqc_stream_id id) {
  moqc__wsq_stream *s = moqc_mem_calloc(c->mem, 1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  bool uni = MOQC_STREAM_IS_UNI(id);
  s->id = id;
  s->local = moqc__wsq_is_local(c, id);
  s->has_send = !uni || s->local;
  s->has_recv = !uni || !s->local;
  const moqc__qmux_params *me = &c->st.local;
  if (c->legacy) {
    s->send_max = UINT64_MAX;
    s->recv_max = UINT64_MAX;
  } else {
    /* Our receive window and the peer's send credit, by who opened the stream. */
    s->recv_window = uni ? me->initial_max_stream_data_uni
                         : (s->local ? me->initial_max_stream_data_bidi_local
                                     : me->initial_max_stream_data_bidi_remote);
    s->recv_max = s->recv_window;
    s->send_max = uni ? c->peer.initial_max_stream_data_uni
                      : (s->local ? c->peer.initial_max_stream_data_bidi_remote
                                  : c->peer.initial_max_stream_data_bidi_local);
  }
  if (c->count >= c->nslots) {
    wsq_grow(c);
  }
  size_t h = wsq_hash(id, c->nslots);
  s->hnext = c->slots[h];
  c->slots[h] = s;
  s->prev = c->tail;
  if (c->tail != NULL) {
    c->tail->next = s;
  } else {
    c->head = s;
  }
  c->tail = s;
  c->count++;
  return s;
}

static void wsq_stream_unlink(moqc__wsq *c, moqc__wsq_stream *s) {
  moqc__wsq_stream **pp = &c->slots[wsq_hash(s->id, c->nslots)];
  while (*pp != s) {
    pp = &(*pp)->hnext;
  }
  *pp = s->hnext;
  if (s->prev != NULL) {
    s->prev->next = s->next;
  } else {
    c->head = s->next;
  }
  if (s->next != NULL) {
    s->next->prev = s->prev;
  } else {
    c->tail = s->prev;
  }
  c->count--;
}

size_t moqc__wsq_stream_count(const moqc__wsq *c) { return c->count; }

/* ---- Control queue and closing ------------------------------------------------------------ */

int moqc__wsq_queue(moqc__wsq *c, const uint8_t *frame, size_t len, bool datagram) {
  moqc__wsq_ctl *q = moqc_mem_malloc(c->mem, sizeof(*q) + len);
  if (q == NULL) {
    return MOQC_ERR_NOMEM;
  }
  q->next = NULL;
  q->datagram = datagram;
  q->len = len;
  memcpy(q->data, frame, len);
  if (c->q_tail != NULL) {
    c->q_tail->next = q;
  } else {
    c->q_head = q;
  }
  c->q_tail = q;
  c->queued += len;
  if (datagram) {
    c->queued_dgrams += len;
  }
  return 0;
}

int moqc__wsq_queue_frame(moqc__wsq *c, const moqc__qmux_frame *f) {
  uint8_t buf[64 + MOQC__QMUX_REASON_MAX];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__qmux_frame_encode(&w, c->st.format, f);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    return (int)n;
  }
  if (c->queued + (size_t)n > c->st.max_queued && c->state == WSQ_OPEN) {
    /* The peer makes us queue without reading: give up on it. */
    moqc__wsq_fail(c, MOQC__WSQ_INTERNAL_ERROR, 0, "send queue full");
    return MOQC_ERR_CLOSED;
  }
  return moqc__wsq_queue(c, buf, (size_t)n, false);
}

/* Replaces everything queued by the close frame and enters CLOSING. */
static void wsq_begin_close(moqc__wsq *c, uint64_t code, bool app, uint64_t frame_type,
                            const char *reason, size_t reason_len, bool send) {
  wsq_free_queue(c);
  c->close.code = code;
  c->close.app = app;
  c->state = send ? WSQ_CLOSING : WSQ_CLOSED;
  if (!send) {
    return;
  }
  moqc__qmux_frame f;
  memset(&f, 0, sizeof(f));
  f.type = app ? MOQC__QMUX_APPLICATION_CLOSE : MOQC__QMUX_CONNECTION_CLOSE;
  f.code = code;
  f.frame_type = frame_type;
  f.data = (const uint8_t *)reason;
  f.len = reason_len > MOQC__QMUX_REASON_MAX ? MOQC__QMUX_REASON_MAX : reason_len;
  if (moqc__wsq_queue_frame(c, &f) < 0) {
    c->state = WSQ_CLOSED;
  }
}

static void wsq_tell_closed(moqc__wsq *c, uint64_t code, const char *reason, size_t len) {
  const moqc_stream_app_ops *ops = c->ops;
  void *app = c->app;
  c->ops = NULL;
  if (ops != NULL) {
    ops->closed(app, code, reason, len);
  }
}

void moqc__wsq_fail(moqc__wsq *c, uint64_t code, uint64_t frame_type, const char *what) {
  if (c->state != WSQ_OPEN) {
    return;
  }
  c->close.by_peer = false;
  c->close.what = what;
  wsq_begin_close(c, code, false, frame_type, what, strlen(what), true);
  wsq_tell_closed(c, moqc_err_to_lite_code(MOQC_ERR_TRANSPORT), what, strlen(what));
}

void moqc__wsq_abort(moqc__wsq *c, uint64_t code, bool send, const char *what) {
  if (c->state != WSQ_OPEN) {
    return;
  }
  c->close.by_peer = false;
  c->close.what = what;
  wsq_begin_close(c, code, false, 0, what, strlen(what), send);
  int err = strcmp(what, "idle timeout") == 0 ? MOQC_ERR_TIMEOUT : MOQC_ERR_TRANSPORT;
  wsq_tell_closed(c, moqc_err_to_lite_code(err), what, strlen(what));
}

void moqc__wsq_app_fail(moqc__wsq *c, int err) {
  static const char reason[] = "application error";
  if (c->state != WSQ_OPEN) {
    return;
  }
  c->close.by_peer = false;
  c->close.what = "application error";
  c->ops = NULL;
  wsq_begin_close(c, moqc_err_to_lite_code(err), true, 0, reason, sizeof(reason) - 1, true);
}

bool moqc__wsq_is_closed(const moqc__wsq *c) { return c->state != WSQ_OPEN; }

bool moqc__wsq_is_drained(const moqc__wsq *c) { return c->state == WSQ_CLOSED; }

moqc__wsq_close_info moqc__wsq_close_info_get(const moqc__wsq *c) {
  moqc__wsq_close_info i = c->close;
  if (i.what == NULL) {
    i.what = "";
  }
  return i;
}

/* ---- Transport operations ----------------------------------------------------------------- */

static int wsq_op_open_stream(void *ud, bool uni, moqc_stream_id *id) {
  moqc__wsq *c = ud;
  int k = uni ? WSQ_UNI : WSQ_BIDI;
  if (c->state != WSQ_OPEN) {
    return MOQC_ERR_CLOSED;
  }
  uint64_t limit = c->peer_max_streams[k];
  if (!c->peer_tp && limit < WSQ_EARLY_STREAMS) {
    limit = WSQ_EARLY_STREAMS; /* Opened now, sent once the peer's limits allow. */
  }
  if (c->next_local[k] >= limit) {
    return MOQC_ERR_WOULD_BLOCK;
  }
  moqc_stream_id sid =
      (moqc_stream_id)((c->next_local[k] << 2) | (uni ? 2U : 0U) | (c->st.is_server ? 1U : 0U));
  moqc__wsq_stream *s = moqc__wsq_stream_new(c, sid);
  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  s->app_knows = true;
  c->next_local[k]++;
  *id = sid;
  return 0;
}

static void wsq_op_resume_stream(void *ud, moqc_stream_id id) {
  moqc__wsq *c = ud;
  (void)id;
  /* The glue flushes after every event; a wake makes sure a flush follows soon. */
  c->st.wake(c->st.glue);
}

static int wsq_op_reset_stream(void *ud, moqc_stream_id id, uint64_t code) {
  moqc__wsq *c = ud;
  moqc__wsq_stream *s = moqc__wsq_find(c, id);
  if (s == NULL || !s->has_send) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (s->reset_sent || s->fin_sent || c->state != WSQ_OPEN) {
    return 0;
  }
  s->reset_sent = true;
  c->need_sweep = true;
  moqc__qmux_frame f;
  memset(&f, 0, sizeof(f));
  f.type = MOQC__QMUX_RESET_STREAM;
  f.stream_id = (uint64_t)id;
  f.code = code;
  f.final_size = s->send_off;
  int rv = moqc__wsq_queue_frame(c, &f);
  c->st.wake(c->st.glue);
  return rv == MOQC_ERR_CLOSED ? 0 : rv;
}

/* Drops the receive buffer of s, returning its bytes to the connection window. */
static void wsq_drop_recv(moqc__wsq *c, moqc__wsq_stream *s) {
  uint64_t upto = s->final_known ? s->final_size : s->recv_end;
  c->recv_consumed += upto - s->recv_consumed;
  s->recv_consumed = upto;
  s->len = 0;
  s->start = 0;
  if (!s->in_read) {
    moqc_mem_free(c->mem, s->buf);
    s->buf = NULL;
    s->cap = 0;
  }
}

static int wsq_op_stop_sending(void *ud, moqc_stream_id id, uint64_t code) {
  moqc__wsq *c = ud;
  moqc__wsq_stream *s = moqc__wsq_find(c, id);
  if (s == NULL || !s->has_recv) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (s->stop_sent || s->reset_recv || s->fin_consumed || c->state != WSQ_OPEN) {
    return 0;
  }
  s->stop_sent = true;
  c->need_sweep = true;
  wsq_drop_recv(c, s);
  moqc__qmux_frame f;
  memset(&f, 0, sizeof(f));
  f.type = MOQC__QMUX_STOP_SENDING;
  f.stream_id = (uint64_t)id;
  f.code = code;
  int rv = moqc__wsq_queue_frame(c, &f);
  c->st.wake(c->st.glue);
  return rv == MOQC_ERR_CLOSED ? 0 : rv;
}

static int wsq_op_send_datagram(void *ud, const uint8_t *data, size_t len) {
  moqc__wsq *c = ud;
  if (c->state != WSQ_OPEN) {
    return MOQC_ERR_CLOSED;
  }
  if (c->st.format < MOQC__QMUX_01 || !c->peer_tp || c->peer.max_datagram_frame_size == 0) {
    return MOQC_ERR_UNSUPPORTED;
  }
  uint8_t hdr[1 + MOQC_VARINT_MAXLEN];
  moqc__writer w;
  moqc__writer_init(&w, hdr, sizeof(hdr));
  moqc__put_varint(&w, MOQC__QMUX_DATAGRAM_LEN);
  moqc__put_varint(&w, len);
  size_t hl = (size_t)moqc__writer_result(&w);
  if (len + hl > c->peer.max_datagram_frame_size || len + hl > MOQC__QMUX_RECORD_SIZE_MIN) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  if (c->queued_dgrams + len > c->st.max_queued / 2) {
    return 0; /* Dropped: datagrams are unreliable. */
  }
  moqc__wsq_ctl *q = moqc_mem_malloc(c->mem, sizeof(*q) + hl + len);
  if (q == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(q->data, hdr, hl);
  if (len > 0) {
    memcpy(q->data + hl, data, len);
  }
  q->next = NULL;
  q->datagram = true;
  q->len = hl + len;
  if (c->q_tail != NULL) {
    c->q_tail->next = q;
  } else {
    c->q_head = q;
  }
  c->q_tail = q;
  c->queued += q->len;
  c->queued_dgrams += q->len;
  c->st.wake(c->st.glue);
  return 0;
}

static void wsq_op_close(void *ud, uint64_t code, const char *reason, size_t reason_len) {
  moqc__wsq *c = ud;
  if (c->state != WSQ_OPEN) {
    return;
  }
  c->close.by_peer = false;
  c->close.what = "closed by the application";
  c->ops = NULL;
  wsq_begin_close(c, code, true, 0, reason, reason_len, true);
  c->st.wake(c->st.glue);
}

static void wsq_op_wake(void *ud) {
  moqc__wsq *c = ud;
  atomic_store(&c->woken, true);
  c->st.wake(c->st.glue);
}

static int wsq_op_get_stats(void *ud, moqc_transport_stats *out) {
  moqc__wsq *c = ud;
  if (c->st.stats == NULL || c->state != WSQ_OPEN) {
    return MOQC_ERR_CLOSED;
  }
  return c->st.stats(c->st.glue, out);
}

static const moqc_transport_ops wsq_transport_ops = {
    .open_stream = wsq_op_open_stream,
    .resume_stream = wsq_op_resume_stream,
    .reset_stream = wsq_op_reset_stream,
    .stop_sending = wsq_op_stop_sending,
    .send_datagram = wsq_op_send_datagram,
    .close = wsq_op_close,
    .wake = wsq_op_wake,
    .get_stats = wsq_op_get_stats,
};

moqc_transport moqc__wsq_transport(moqc__wsq *c) {
  moqc_transport t = {&wsq_transport_ops, c};
  return t;
}

/* ---- Delivery, credit, sweeping ----------------------------------------------------------- */

void moqc__wsq_credit_conn(moqc__wsq *c) {
  uint64_t window = c->st.local.initial_max_data;
  if (c->legacy || c->state != WSQ_OPEN || window == 0) {
    return;
  }
  if (c->recv_max - c->recv_consumed < window / 2 + 1 && c->recv_consumed + window > c->recv_max) {
    moqc__qmux_frame f;
    memset(&f, 0, sizeof(f));
    f.type = MOQC__QMUX_MAX_DATA;
    f.max = c->recv_consumed + window;
    if (moqc__wsq_queue_frame(c, &f) == 0) {
      c->recv_max = f.max; /* Raised only when the frame is queued: else retried later. */
    }
  }
}

static void wsq_credit_stream(moqc__wsq *c, moqc__wsq_stream *s) {
  if (c->legacy || s->final_known || s->stop_sent || c->state != WSQ_OPEN ||
      s->recv_window == 0) {
    return;
  }
  if (s->recv_max - s->recv_consumed < s->recv_window / 2 + 1) {
    moqc__qmux_frame f;
    memset(&f, 0, sizeof(f));
    f.type = MOQC__QMUX_MAX_STREAM_DATA;
    f.stream_id = (uint64_t)s->id;
    f.max = s->recv_consumed + s->recv_window;
    if (moqc__wsq_queue_frame(c, &f) == 0) {
      s->recv_max = f.max;
    }
  }
}

void moqc__wsq_deliver(moqc__wsq *c, moqc__wsq_stream *s, moqc_tstamp ts) {
  if (!moqc__wsq_app_live(c) || !s->has_recv || s->stop_sent || s->reset_recv ||
      s->fin_consumed) {
    return;
  }
  bool fin = s->final_known && s->recv_end == s->final_size;
  if (s->len == 0 && !fin) {
    return;
  }
  size_t len = s->len;
  s->app_knows = true;
  s->in_read = true;
  static const uint8_t empty[1];
  const uint8_t *data = s->buf != NULL ? s->buf + s->start : empty;
  moqc_ssize n = c->ops->read_stream(c->app, s->id, data, len, fin, ts);
  s->in_read = false;
  if (n < 0) {
    moqc__wsq_app_fail(c, (int)n);
    return;
  }
  if ((size_t)n > len) {
    moqc__wsq_app_fail(c, MOQC_ERR_INTERNAL);
    return;
  }
  if (s->stop_sent || s->reset_recv) {
    /* Stopped during the call: the buffer is already accounted for; free it now. */
    moqc_mem_free(c->mem, s->buf);
    s->buf = NULL;
    s->cap = 0;
    moqc__wsq_credit_conn(c);
    return;
  }
  s->start += (size_t)n;
  s->len -= (size_t)n;
  s->recv_consumed += (uint64_t)n;
  c->recv_consumed += (uint64_t)n;
  if (s->len == 0) {
    s->start = 0;
  }
  if (fin && (size_t)n == len) {
    s->fin_consumed = true;
    c->need_sweep = true;
  }
  wsq_credit_stream(c, s);
  moqc__wsq_credit_conn(c);
}

static bool wsq_stream_done(const moqc__wsq_stream *s) {
  bool send_done = !s->has_send || s->fin_sent || s->reset_sent;
  bool recv_done = !s->has_recv || s->fin_consumed || s->reset_recv ||
                   (s->stop_sent && s->final_known);
  return send_done && recv_done;
}

void moqc__wsq_sweep(moqc__wsq *c, moqc_tstamp ts) {
  if (!c->need_sweep) {
    return;
  }
  c->need_sweep = false;
  bool raised[2] = {false, false};
  moqc__wsq_stream *s = c->head;
  while (s != NULL) {
    moqc__wsq_stream *next = s->next;
    if (!wsq_stream_done(s)) {
      s = next;
      continue;
    }
    wsq_stream_unlink(c, s);
    if (!s->local) {
      int k = MOQC_STREAM_IS_UNI(s->id) ? WSQ_UNI : WSQ_BIDI;
      c->peer_closed[k]++;
      raised[k] = true;
    }
    moqc_stream_id id = s->id;
    bool knows = s->app_knows;
    wsq_stream_free(c, s);
    if (knows && moqc__wsq_app_live(c)) {
      int rv = c->ops->close_stream(c->app, id, ts);
      if (rv < 0) {
        moqc__wsq_app_fail(c, rv);
      }
    }
    /* The list may have changed only by appends during the callback: next is still valid. */
    s = next;
  }
  for (int k = 0; k < 2; k++) {
    uint64_t initial =
        k == WSQ_UNI ? c->st.local.initial_max_streams_uni : c->st.local.initial_max_streams_bidi;
    if (!raised[k] || c->legacy || c->state != WSQ_OPEN || initial == 0) {
      continue;
    }
    uint64_t want = c->peer_closed[k] + initial;
    uint64_t step = initial / 4 > 0 ? initial / 4 : 1;
    if (want >= c->max_streams_adv[k] + step && want <= MOQC__QMUX_MAX_STREAMS_LIMIT) {
      moqc__qmux_frame f;
      memset(&f, 0, sizeof(f));
      f.type = k == WSQ_UNI ? MOQC__QMUX_MAX_STREAMS_UNI : MOQC__QMUX_MAX_STREAMS_BIDI;
      f.max = want;
      if (moqc__wsq_queue_frame(c, &f) == 0) {
        c->max_streams_adv[k] = want;
      }
    }
  }
}

bool moqc__wsq_local_allowed(const moqc__wsq *c, const moqc__wsq_stream *s) {
  int k = MOQC_STREAM_IS_UNI(s->id) ? WSQ_UNI : WSQ_BIDI;
  return !s->local || ((uint64_t)s->id >> 2) < c->peer_max_streams[k];
}

void moqc__wsq_unblock_allowed(moqc__wsq *c) {
  for (moqc__wsq_stream *s = c->head; s != NULL && moqc__wsq_app_live(c); s = s->next) {
    if (s->blocked && s->send_off < s->send_max && moqc__wsq_local_allowed(c, s)) {
      s->blocked = false;
      int rv = c->ops->unblock_stream(c->app, s->id);
      if (rv < 0) {
        moqc__wsq_app_fail(c, rv);
      }
    }
  }
}

void moqc__wsq_apply_peer(moqc__wsq *c) {
  c->send_max = c->peer.initial_max_data;
  c->peer_max_streams[WSQ_BIDI] = c->peer.initial_max_streams_bidi;
  c->peer_max_streams[WSQ_UNI] = c->peer.initial_max_streams_uni;
  /* Streams opened before the parameters (peer streams only) get their send credit now. */
  for (moqc__wsq_stream *s = c->head; s != NULL; s = s->next) {
    if (s->has_send && s->send_max == 0) {
      bool uni = MOQC_STREAM_IS_UNI(s->id);
      s->send_max = uni ? c->peer.initial_max_stream_data_uni
                        : (s->local ? c->peer.initial_max_stream_data_bidi_remote
                                    : c->peer.initial_max_stream_data_bidi_local);
    }
  }
  moqc__wsq_unblock_allowed(c);
  atomic_store(&c->woken, true);
}

void moqc__wsq_service(moqc__wsq *c, moqc_tstamp ts) {
  if (!c->clock_started) {
    c->clock_started = true;
    c->last_recv = c->last_send = ts;
  }
  if (atomic_exchange(&c->woken, false) && moqc__wsq_app_live(c)) {
    int rv = c->ops->poll(c->app, ts);
    if (rv < 0) {
      moqc__wsq_app_fail(c, rv);
    }
  }
  for (moqc__wsq_stream *s = c->head; s != NULL && moqc__wsq_app_live(c); s = s->next) {
    if (s->len > 0 || (s->final_known && !s->fin_consumed)) {
      moqc__wsq_deliver(c, s, ts);
    }
  }
  moqc__wsq_sweep(c, ts);
}

/* ---- Timers ------------------------------------------------------------------------------- */

static moqc_tstamp wsq_idle(const moqc__wsq *c) {
  if (c->st.format < MOQC__QMUX_01) {
    return 0;
  }
  uint64_t a = c->st.local.max_idle_timeout;
  uint64_t b = c->peer_tp ? c->peer.max_idle_timeout : 0;
  uint64_t ms = a == 0 ? b : (b == 0 || a < b ? a : b);
  return (moqc_tstamp)ms * MOQC_MILLISECONDS;
}

moqc_tstamp moqc__wsq_get_expiry(moqc__wsq *c) {
  moqc_tstamp t = UINT64_MAX;
  if (c->state != WSQ_OPEN) {
    return t;
  }
  moqc_tstamp idle = wsq_idle(c);
  if (idle > 0 && c->clock_started) {
    t = c->last_recv + idle;
    moqc_tstamp ping = c->last_send + idle / 3;
    t = ping < t ? ping : t;
  }
  if (c->ops != NULL && c->ops->get_expiry != NULL) {
    moqc_tstamp a = c->ops->get_expiry(c->app);
    t = a < t ? a : t;
  }
  return t;
}

void moqc__wsq_handle_expiry(moqc__wsq *c, moqc_tstamp ts) {
  if (c->state != WSQ_OPEN) {
    return;
  }
  moqc_tstamp idle = wsq_idle(c);
  if (idle > 0 && c->clock_started) {
    if (ts >= c->last_recv + idle) {
      moqc__wsq_abort(c, MOQC__WSQ_NO_ERROR, false, "idle timeout");
      return;
    }
    if (ts >= c->last_send + idle / 3) {
      moqc__qmux_frame f;
      memset(&f, 0, sizeof(f));
      f.type = MOQC__QMUX_PING_REQUEST;
      f.sequence = c->ping_seq++;
      (void)moqc__wsq_queue_frame(c, &f);
      c->last_send = ts;
    }
  }
  if (moqc__wsq_app_live(c) && c->ops->handle_expiry != NULL) {
    moqc_tstamp a = c->ops->get_expiry(c->app);
    if (a <= ts) {
      int rv = c->ops->handle_expiry(c->app, ts);
      if (rv < 0) {
        moqc__wsq_app_fail(c, rv);
      }
    }
  }
}
