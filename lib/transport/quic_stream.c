/*
 * QUIC streams: the per-connection stream table, the zero-copy send queues of
 * rcbuf ranges (released as the peer acknowledges them), the ngtcp2 stream
 * callbacks and the public stream calls.
 */
#include "transport/quic_internal.h"

#include <string.h>

#define STREAM_INITIAL_BUCKETS 16U
#define STREAM_INITIAL_CHUNKS 8U

/* ---- table ---- */

static size_t stream_hash(const moqc_quic_conn *c, int64_t id) {
  uint64_t h = (uint64_t)id >> 2; /* ids of one kind are 4 apart */
  h *= 0x9e3779b97f4a7c15ULL;
  return (size_t)(h >> 32) & (c->nsbuckets - 1);
}

moqc__quic_stream *moqc__stream_find(const moqc_quic_conn *c, int64_t id) {
  if (c->nsbuckets == 0) {
    return NULL;
  }
  for (moqc__quic_stream *s = c->sbuckets[stream_hash(c, id)]; s != NULL;
       s = s->hnext) {
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
}

static int stream_table_grow(moqc_quic_conn *c) {
  size_t n = c->nsbuckets == 0 ? STREAM_INITIAL_BUCKETS : c->nsbuckets * 2;
  moqc__quic_stream **b = moqc_mem_calloc(c->ep->mem, n, sizeof(*b));
  if (b == NULL) {
    return c->nsbuckets == 0 ? MOQC_ERR_NOMEM : 0;
  }
  moqc__quic_stream **old = c->sbuckets;
  size_t oldn = c->nsbuckets;
  c->sbuckets = b;
  c->nsbuckets = n;
  for (size_t i = 0; i < oldn; i++) {
    moqc__quic_stream *s = old[i];
    while (s != NULL) {
      moqc__quic_stream *next = s->hnext;
      size_t h = stream_hash(c, s->id);
      s->hnext = b[h];
      b[h] = s;
      s = next;
    }
  }
  moqc_mem_free(c->ep->mem, old);
  return 0;
}

static moqc__quic_stream *stream_new(moqc_quic_conn *c, int64_t id) {
  if (c->nstreams >= c->nsbuckets && stream_table_grow(c) != 0) {
    return NULL;
  }
  moqc__quic_stream *s = moqc_mem_calloc(c->ep->mem, 1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  bool local = ngtcp2_conn_is_local_stream(c->conn, id) != 0;
  bool bidi = ngtcp2_is_bidi_stream(id) != 0;
  s->id = id;
  s->can_send = bidi || local;
  s->can_recv = bidi || !local;
  size_t h = stream_hash(c, id);
  s->hnext = c->sbuckets[h];
  c->sbuckets[h] = s;
  c->nstreams++;
  ngtcp2_conn_set_stream_user_data(c->conn, id, s);
  return s;
}

static void stream_send_list_remove(moqc_quic_conn *c, moqc__quic_stream *s) {
  if (!s->in_send_list) {
    return;
  }
  if (s->sprev != NULL) {
    s->sprev->snext = s->snext;
  } else {
    c->send_head = s->snext;
  }
  if (s->snext != NULL) {
    s->snext->sprev = s->sprev;
  } else {
    c->send_tail = s->sprev;
  }
  s->snext = s->sprev = NULL;
  s->in_send_list = false;
}

static void stream_send_list_append(moqc_quic_conn *c, moqc__quic_stream *s) {
  if (s->in_send_list) {
    return;
  }
  s->sprev = c->send_tail;
  s->snext = NULL;
  if (c->send_tail != NULL) {
    c->send_tail->snext = s;
  } else {
    c->send_head = s;
  }
  c->send_tail = s;
  s->in_send_list = true;
}

/* Drops every queued chunk of s. */
static void stream_release_chunks(moqc_quic_conn *c, moqc__quic_stream *s) {
  for (size_t i = 0; i < s->count; i++) {
    moqc_rcbuf_decref(s->chunks[(s->head + i) % s->cap].buf);
  }
  moqc_mem_free(c->ep->mem, s->chunks);
  s->chunks = NULL;
  s->cap = s->head = s->count = 0;
  s->head_acked = s->sent_idx = s->sent_off = 0;
}

/*
 * Drops the queued chunks no byte of which went out, on a reset or a peer's
 * stop: what was sent stays until it is acknowledged or the stream closes,
 * because ngtcp2 0.12 still retransmits a reset stream's lost data, straight
 * from these buffers, until its RESET_STREAM is acknowledged.
 */
static void stream_drop_unsent(moqc__quic_stream *s) {
  size_t keep = s->sent_idx + (s->sent_off > 0 ? 1U : 0U);
  for (size_t i = keep; i < s->count; i++) {
    moqc__quic_chunk *ch = &s->chunks[(s->head + i) % s->cap];
    moqc_rcbuf_decref(ch->buf);
    ch->buf = NULL;
  }
  if (keep < s->count) {
    s->count = keep;
  }
}

static void stream_free(moqc_quic_conn *c, moqc__quic_stream *s) {
  stream_send_list_remove(c, s);
  stream_release_chunks(c, s);
  moqc_mem_free(c->ep->mem, s);
}

static void stream_remove(moqc_quic_conn *c, moqc__quic_stream *s) {
  for (moqc__quic_stream **pp = &c->sbuckets[stream_hash(c, s->id)];
       *pp != NULL; pp = &(*pp)->hnext) {
    if (*pp == s) {
      *pp = s->hnext;
      c->nstreams--;
      break;
    }
  }
  stream_free(c, s);
}

void moqc__streams_free(moqc_quic_conn *c) {
  for (size_t i = 0; i < c->nsbuckets; i++) {
    moqc__quic_stream *s = c->sbuckets[i];
    while (s != NULL) {
      moqc__quic_stream *next = s->hnext;
      if (c->conn != NULL) {
        ngtcp2_conn_set_stream_user_data(c->conn, s->id, NULL);
      }
      stream_free(c, s);
      s = next;
    }
  }
  moqc_mem_free(c->ep->mem, c->sbuckets);
  c->sbuckets = NULL;
  c->nsbuckets = c->nstreams = 0;
  c->send_head = c->send_tail = NULL;
}

/* True when s has bytes or a FIN that ngtcp2 has not taken yet. */
static bool stream_has_pending(const moqc__quic_stream *s) {
  return !s->reset && (s->sent < s->queued || (s->fin_queued && !s->fin_sent));
}

/* ---- send queue ---- */

static int stream_push(moqc_quic_conn *c, moqc__quic_stream *s, moqc_rcbuf *buf,
                       const uint8_t *base, size_t len) {
  if (s->count == s->cap) {
    size_t ncap = s->cap == 0 ? STREAM_INITIAL_CHUNKS : s->cap * 2;
    moqc__quic_chunk *n = moqc_mem_malloc(c->ep->mem, ncap * sizeof(*n));
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->count; i++) {
      n[i] = s->chunks[(s->head + i) % s->cap];
    }
    moqc_mem_free(c->ep->mem, s->chunks);
    s->chunks = n;
    s->cap = ncap;
    s->head = 0;
  }
  moqc__quic_chunk *ch = &s->chunks[(s->head + s->count) % s->cap];
  ch->buf = buf;
  ch->base = base;
  ch->len = len;
  s->count++;
  s->queued += len;
  return 0;
}

size_t moqc__stream_peek(const moqc__quic_stream *s, ngtcp2_vec *vec,
                         size_t max, bool *all);

/* Fills vec with the unsent bytes from the cursor; *all tells whether they are
 * all of them. */
size_t moqc__stream_peek(const moqc__quic_stream *s, ngtcp2_vec *vec,
                         size_t max, bool *all) {
  size_t n = 0;
  size_t idx = s->sent_idx;
  size_t off = s->sent_off;
  while (idx < s->count && n < max) {
    const moqc__quic_chunk *ch = &s->chunks[(s->head + idx) % s->cap];
    if (off < ch->len) {
      vec[n].base = (uint8_t *)(uintptr_t)(ch->base + off);
      vec[n].len = ch->len - off;
      n++;
    }
    idx++;
    off = 0;
  }
  *all = idx >= s->count;
  return n;
}

void moqc__stream_advance(moqc__quic_stream *s, size_t n);

/* Moves the send cursor forward by n bytes taken by ngtcp2. */
void moqc__stream_advance(moqc__quic_stream *s, size_t n) {
  s->sent += n;
  while (n > 0 && s->sent_idx < s->count) {
    const moqc__quic_chunk *ch = &s->chunks[(s->head + s->sent_idx) % s->cap];
    size_t left = ch->len - s->sent_off;
    if (n < left) {
      s->sent_off += n;
      return;
    }
    n -= left;
    s->sent_idx++;
    s->sent_off = 0;
  }
}

/* Releases n acknowledged bytes from the front of the queue. */
static void stream_ack(moqc__quic_stream *s, uint64_t n) {
  s->acked += n;
  while (n > 0 && s->count > 0) {
    moqc__quic_chunk *ch = &s->chunks[s->head];
    size_t left = ch->len - s->head_acked;
    if (n < left) {
      s->head_acked += (size_t)n;
      return;
    }
    n -= left;
    moqc_rcbuf_decref(ch->buf);
    ch->buf = NULL;
    s->head = (s->head + 1) % s->cap;
    s->count--;
    s->head_acked = 0;
    if (s->sent_idx > 0) {
      s->sent_idx--;
    } else {
      s->sent_off = 0;
    }
  }
}

/* ---- ngtcp2 callbacks ---- */

static int stream_open_cb(ngtcp2_conn *conn, int64_t id, void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  if (c->state != MOQC__CONN_OPEN || moqc__stream_find(c, id) != NULL) {
    return 0;
  }
  return stream_new(c, id) != NULL ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int stream_recv_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id,
                               uint64_t offset, const uint8_t *data,
                               size_t datalen, void *ud, void *sud) {
  moqc_quic_conn *c = ud;
  (void)offset;
  (void)sud;
  moqc_ssize consumed = (moqc_ssize)datalen;
  bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (c->app_ops != NULL) {
    if (!c->close_requested) {
      consumed = moqc__app_read(c, id, data, datalen, fin);
      if ((size_t)consumed > datalen) {
        consumed = (moqc_ssize)datalen;
      }
    }
  } else if (c->ep->cb.on_stream_data != NULL && !c->close_requested) {
    consumed = c->ep->cb.on_stream_data(c, id, data, datalen, fin,
                                        c->ep->user_data, c->user_data);
    if (consumed < 0) {
      c->close_requested = true;
      c->close_app_code = moqc_err_to_lite_code((int)consumed);
      moqc__ep_mark_dirty(c->ep, c);
      consumed = (moqc_ssize)datalen;
    }
    if ((size_t)consumed > datalen) {
      consumed = (moqc_ssize)datalen;
    }
  }
  if (consumed > 0) {
    ngtcp2_conn_extend_max_stream_offset(conn, id, (uint64_t)consumed);
    ngtcp2_conn_extend_max_offset(conn, (uint64_t)consumed);
  }
  return 0;
}

static int stream_acked_cb(ngtcp2_conn *conn, int64_t id, uint64_t offset,
                           uint64_t datalen, void *ud, void *sud) {
  moqc_quic_conn *c = ud;
  moqc__quic_stream *s = sud;
  (void)conn;
  (void)offset;
  if (s == NULL) {
    return 0;
  }
  stream_ack(s, datalen);
  if (c->app_ops != NULL) {
    moqc__app_acked(c, id, datalen);
  } else if (c->ep->cb.on_stream_acked != NULL && datalen > 0) {
    c->ep->cb.on_stream_acked(c, id, datalen, c->ep->user_data, c->user_data);
  }
  return 0;
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id,
                           uint64_t app_error_code, void *ud, void *sud) {
  moqc_quic_conn *c = ud;
  moqc__quic_stream *s = sud;
  if (!ngtcp2_conn_is_local_stream(conn, id)) {
    /* Give the peer back the credit for one more stream of this kind. */
    if (ngtcp2_is_bidi_stream(id)) {
      ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    } else {
      ngtcp2_conn_extend_max_streams_uni(conn, 1);
    }
  }
  if (s == NULL) {
    return 0;
  }
  /* ngtcp2 answers STOP_SENDING with RESET_STREAM on its own and reports it
   * only here: a sending side that ends unfinished without a reset of ours was
   * stopped by the peer. */
  bool stopped = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0 &&
                 s->can_send && !s->local_reset &&
                 !(s->fin_sent && s->acked >= s->queued);
  stream_remove(c, s);
  if (c->app_ops != NULL) {
    moqc__app_stream_closed(c, id, stopped, app_error_code);
    return 0;
  }
  if (stopped && c->ep->cb.on_stream_stop != NULL) {
    c->ep->cb.on_stream_stop(c, id, app_error_code, c->ep->user_data,
                             c->user_data);
  }
  if (c->ep->cb.on_stream_close != NULL) {
    c->ep->cb.on_stream_close(c, id, c->ep->user_data, c->user_data);
  }
  return 0;
}

static int stream_reset_cb(ngtcp2_conn *conn, int64_t id, uint64_t final_size,
                           uint64_t app_code, void *ud, void *sud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  (void)final_size;
  (void)sud;
  if (c->app_ops != NULL) {
    moqc__app_reset(c, id, app_code);
  } else if (c->ep->cb.on_stream_reset != NULL) {
    c->ep->cb.on_stream_reset(c, id, app_code, c->ep->user_data, c->user_data);
  }
  return 0;
}

static int stream_extend_max_data_cb(ngtcp2_conn *conn, int64_t id,
                                     uint64_t max_data, void *ud, void *sud) {
  moqc_quic_conn *c = ud;
  moqc__quic_stream *s = sud;
  (void)conn;
  (void)max_data;
  if (s != NULL && s->blocked && c->app_ops != NULL) {
    s->blocked = false;
    if (!s->reset) {
      moqc__app_unblock(c, id);
    }
  } else if (s != NULL && s->blocked) {
    s->blocked = false;
    if (stream_has_pending(s)) {
      stream_send_list_append(c, s);
      moqc__ep_mark_dirty(c->ep, c);
    }
  }
  return 0;
}

static int stream_extend_bidi_cb(ngtcp2_conn *conn, uint64_t max, void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  (void)max;
  if (c->app_ops != NULL) {
    moqc__app_wants_poll(c);
  } else if (c->handshake_done && c->ep->cb.on_streams_available != NULL) {
    c->ep->cb.on_streams_available(c, false, c->ep->user_data, c->user_data);
  }
  return 0;
}

static int stream_extend_uni_cb(ngtcp2_conn *conn, uint64_t max, void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  (void)max;
  if (c->app_ops != NULL) {
    moqc__app_wants_poll(c);
  } else if (c->handshake_done && c->ep->cb.on_streams_available != NULL) {
    c->ep->cb.on_streams_available(c, true, c->ep->user_data, c->user_data);
  }
  return 0;
}

void moqc__stream_fill_callbacks(ngtcp2_callbacks *cb) {
  cb->stream_open = stream_open_cb;
  cb->recv_stream_data = stream_recv_data_cb;
  cb->acked_stream_data_offset = stream_acked_cb;
  cb->stream_close = stream_close_cb;
  cb->stream_reset = stream_reset_cb;
  cb->extend_max_stream_data = stream_extend_max_data_cb;
  cb->extend_max_local_streams_bidi = stream_extend_bidi_cb;
  cb->extend_max_local_streams_uni = stream_extend_uni_cb;
}

/* Used by the write loop (quic_write.c). */
void moqc__stream_list_remove(moqc_quic_conn *c, moqc__quic_stream *s);
void moqc__stream_list_rotate(moqc_quic_conn *c, moqc__quic_stream *s);

void moqc__stream_list_remove(moqc_quic_conn *c, moqc__quic_stream *s) {
  stream_send_list_remove(c, s);
}

void moqc__stream_stopped(moqc_quic_conn *c, moqc__quic_stream *s);

/* ngtcp2 refused data because the peer sent STOP_SENDING: drop what is queued.
 */
void moqc__stream_stopped(moqc_quic_conn *c, moqc__quic_stream *s) {
  s->reset = true;
  stream_send_list_remove(c, s);
  stream_drop_unsent(s);
}

/* Moves s to the back of the send list when it still has data, else removes it.
 */
void moqc__stream_list_rotate(moqc_quic_conn *c, moqc__quic_stream *s) {
  stream_send_list_remove(c, s);
  if (stream_has_pending(s) && !s->blocked) {
    stream_send_list_append(c, s);
  }
}

/* ---- public calls ---- */

int moqc_quic_conn_open_stream(moqc_quic_conn *conn, bool uni,
                               int64_t *stream_id) {
  int64_t id;
  if (conn->state != MOQC__CONN_OPEN || conn->close_requested) {
    return MOQC_ERR_CLOSED;
  }
  if (!conn->handshake_done) {
    return MOQC_ERR_PENDING;
  }
  int rv = uni ? ngtcp2_conn_open_uni_stream(conn->conn, &id, NULL)
               : ngtcp2_conn_open_bidi_stream(conn->conn, &id, NULL);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
    return MOQC_ERR_WOULD_BLOCK;
  }
  if (rv != 0) {
    return MOQC_ERR_NOMEM;
  }
  if (stream_new(conn, id) == NULL) {
    (void)moqc__conn_shutdown_stream_write(conn->conn, id, 0);
    return MOQC_ERR_NOMEM;
  }
  *stream_id = id;
  return 0;
}

static int stream_writable(moqc_quic_conn *conn, int64_t stream_id,
                           moqc__quic_stream **out) {
  if (conn->state != MOQC__CONN_OPEN || conn->close_requested) {
    return MOQC_ERR_CLOSED;
  }
  moqc__quic_stream *s = moqc__stream_find(conn, stream_id);
  if (s == NULL || !s->can_send) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (s->fin_queued || s->reset) {
    return MOQC_ERR_CLOSED;
  }
  *out = s;
  return 0;
}

int moqc_quic_conn_write(moqc_quic_conn *conn, int64_t stream_id,
                         moqc_rcbuf *buf, size_t off, size_t len, bool fin) {
  moqc__quic_stream *s;
  int rv = stream_writable(conn, stream_id, &s);
  if (rv != 0) {
    return rv;
  }
  if (len > 0) {
    if (buf == NULL || off > moqc_rcbuf_len(buf) ||
        len > moqc_rcbuf_len(buf) - off) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    moqc_rcbuf_incref(buf);
    rv = stream_push(conn, s, buf, moqc_rcbuf_data(buf) + off, len);
    if (rv != 0) {
      moqc_rcbuf_decref(buf);
      return rv;
    }
  }
  if (fin) {
    s->fin_queued = true;
  }
  if (!s->blocked) {
    stream_send_list_append(conn, s);
  }
  moqc__ep_mark_dirty(conn->ep, conn);
  return 0;
}

int moqc_quic_conn_write_copy(moqc_quic_conn *conn, int64_t stream_id,
                              const uint8_t *data, size_t len, bool fin) {
  moqc__quic_stream *s;
  moqc_rcbuf *buf = NULL;
  int rv = stream_writable(conn, stream_id, &s);
  if (rv != 0) {
    return rv;
  }
  if (len > 0) {
    rv = moqc_rcbuf_new_copy(&buf, data, len, conn->ep->mem);
    if (rv != 0) {
      return rv;
    }
  }
  rv = moqc_quic_conn_write(conn, stream_id, buf, 0, len, fin);
  moqc_rcbuf_decref(buf);
  return rv;
}

int moqc_quic_conn_finish(moqc_quic_conn *conn, int64_t stream_id) {
  return moqc_quic_conn_write(conn, stream_id, NULL, 0, 0, true);
}

uint64_t moqc_quic_conn_stream_unacked(const moqc_quic_conn *conn,
                                       int64_t stream_id) {
  const moqc__quic_stream *s = moqc__stream_find(conn, stream_id);
  return s == NULL || s->reset ? 0 : s->queued - s->acked;
}

int moqc_quic_conn_reset_stream(moqc_quic_conn *conn, int64_t stream_id,
                                uint64_t app_code) {
  moqc__quic_stream *s = moqc__stream_find(conn, stream_id);
  if (s == NULL || !s->can_send || conn->state != MOQC__CONN_OPEN) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (!s->reset) {
    s->reset = true;
    s->local_reset = true;
    stream_send_list_remove(conn, s);
    (void)moqc__conn_shutdown_stream_write(conn->conn, stream_id, app_code);
    stream_drop_unsent(s);
    moqc__ep_mark_dirty(conn->ep, conn);
  }
  return 0;
}

int moqc_quic_conn_stop_stream(moqc_quic_conn *conn, int64_t stream_id,
                               uint64_t app_code) {
  moqc__quic_stream *s = moqc__stream_find(conn, stream_id);
  if (s == NULL || !s->can_recv || conn->state != MOQC__CONN_OPEN) {
    return MOQC_ERR_NOT_FOUND;
  }
  (void)moqc__conn_shutdown_stream_read(conn->conn, stream_id, app_code);
  moqc__ep_mark_dirty(conn->ep, conn);
  return 0;
}

int moqc_quic_conn_extend_stream_offset(moqc_quic_conn *conn, int64_t stream_id,
                                        uint64_t n) {
  if (conn->state != MOQC__CONN_OPEN ||
      moqc__stream_find(conn, stream_id) == NULL) {
    return MOQC_ERR_NOT_FOUND;
  }
  ngtcp2_conn_extend_max_stream_offset(conn->conn, stream_id, n);
  ngtcp2_conn_extend_max_offset(conn->conn, n);
  moqc__ep_mark_dirty(conn->ep, conn);
  return 0;
}
