/*
 * Session streams: the table, send queues of chunks held until acknowledged, priority
 * scheduling for writev, resets and stops.
 */
#include <string.h>

#include "session/session_int.h"

sess_stream *moqc__sess_find(moqc_session *s, moqc_stream_id id) {
  /* Transports tend to call for one stream several times in a row (writev, write offset,
   * ack): remember the last hit. */
  if (s->last_found != NULL && s->last_found->id == id) {
    return s->last_found;
  }
  for (size_t i = 0; i < s->nstreams; i++) {
    if (s->streams[i]->id == id) {
      s->last_found = s->streams[i];
      return s->streams[i];
    }
  }
  return NULL;
}

sess_stream *moqc__sess_add(moqc_session *s, moqc_stream_id id, sess_kind kind) {
  if (s->nstreams == s->cap_streams) {
    size_t cap = s->cap_streams ? s->cap_streams * 2 : 16;
    sess_stream **n = moqc_mem_realloc(s->mem, s->streams, cap * sizeof(*n));
    if (n == NULL) {
      return NULL;
    }
    s->streams = n;
    s->cap_streams = cap;
  }
  sess_stream *st = moqc_mem_calloc(s->mem, 1, sizeof(*st));
  if (st == NULL) {
    return NULL;
  }
  st->id = id;
  st->kind = kind;
  st->sclass = SESS_CLASS_CONTROL;
  /* We never send on a peer-opened uni stream. */
  bool ours = MOQC_STREAM_IS_SERVER(id) == s->is_server;
  if (MOQC_STREAM_IS_UNI(id) && !ours) {
    st->send_done = true;
  }
  if (MOQC_STREAM_IS_UNI(id) && ours) {
    st->rx_done = true;
  }
  s->streams[s->nstreams++] = st;
  return st;
}

int moqc__sess_open(moqc_session *s, bool uni, sess_kind kind, sess_stream **out) {
  moqc_stream_id id;
  if (s->closed) {
    return MOQC_ERR_CLOSED;
  }
  int rv = s->tp.ops->open_stream(s->tp.user_data, uni, &id);
  if (rv < 0) {
    return rv;
  }
  sess_stream *st = moqc__sess_add(s, id, kind);
  if (st == NULL) {
    s->tp.ops->reset_stream(s->tp.user_data, id, MOQC_LITE_CODE_CANCEL);
    return MOQC_ERR_NOMEM;
  }
  *out = st;
  return 0;
}

static void sess_chunks_free(sess_stream *st, const moqc_mem *mem) {
  sess_chunk *c = st->head;
  while (c != NULL) {
    sess_chunk *next = c->next;
    moqc_rcbuf_decref(c->buf);
    moqc_mem_free(mem, c);
    c = next;
  }
  st->head = st->tail = NULL;
}

static void sess_chunk_append(moqc_session *s, sess_stream *st, sess_chunk *c) {
  c->next = NULL;
  if (st->tail != NULL) {
    st->tail->next = c;
  } else {
    st->head = c;
    st->head_off = st->queued;
  }
  st->tail = c;
  st->queued += c->len;
  s->tp.ops->resume_stream(s->tp.user_data, st->id);
}

int moqc__sess_queue_copy(moqc_session *s, sess_stream *st, const uint8_t *data, size_t len) {
  if (st->send_done || st->fin_queued || len == 0) {
    return 0;
  }
  /* Append to the tail when it is an inline chunk with room: no such room is kept, so
   * every control message is one chunk. They are small and few. */
  sess_chunk *c = moqc_mem_malloc(s->mem, sizeof(*c) + len);
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->buf = NULL;
  memcpy(c->inl, data, len);
  c->ptr = c->inl;
  c->len = len;
  sess_chunk_append(s, st, c);
  return 0;
}

int moqc__sess_queue_buf(moqc_session *s, sess_stream *st, moqc_rcbuf *buf, size_t off,
                         size_t len) {
  if (st->send_done || st->fin_queued || len == 0) {
    return 0;
  }
  sess_chunk *c = moqc_mem_malloc(s->mem, sizeof(*c));
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc_rcbuf_incref(buf);
  c->buf = buf;
  c->ptr = moqc_rcbuf_data(buf) + off;
  c->len = len;
  sess_chunk_append(s, st, c);
  return 0;
}

void moqc__sess_queue_fin(moqc_session *s, sess_stream *st) {
  if (st->send_done || st->fin_queued) {
    return;
  }
  st->fin_queued = true;
  s->tp.ops->resume_stream(s->tp.user_data, st->id);
}

uint64_t moqc__sess_unwritten(const sess_stream *st) { return st->queued - st->written; }

void moqc__sess_reset(moqc_session *s, sess_stream *st, int err) {
  if (st->send_done) {
    return;
  }
  st->send_done = true;
  if (!(st->fin_written && st->acked == st->queued) && !s->closed) {
    s->tp.ops->reset_stream(s->tp.user_data, st->id, moqc_err_to_lite_code(err));
  }
  sess_chunks_free(st, s->mem);
}

void moqc__sess_stop(moqc_session *s, sess_stream *st, int err) {
  if (st->rx_done) {
    return;
  }
  st->rx_done = true;
  st->rx_len = 0;
  if (!s->closed) {
    s->tp.ops->stop_sending(s->tp.user_data, st->id, moqc_err_to_lite_code(err));
  }
}

static void sess_kind_free(moqc_session *s, sess_stream *st) {
  switch (st->kind) {
  case SK_ANNOUNCE_PUB:
    moqc__sess_pub_announce_free(s, st);
    break;
  case SK_TRACK_PUB:
    moqc__sess_pub_track_free(s, st);
    break;
  case SK_SUBSCRIBE_PUB:
    moqc__sess_pub_subscribe_free(s, st);
    break;
  case SK_GROUP_TX:
    moqc__sess_pub_group_free(s, st);
    break;
  case SK_FETCH_PUB:
    moqc__sess_pub_fetch_free(s, st);
    break;
  case SK_ANNOUNCE_SUB:
  case SK_TRACK_SUB:
  case SK_SUBSCRIBE_SUB:
  case SK_GROUP_RX:
    moqc__sess_sub_stream_free(s, st);
    break;
  default:
    break;
  }
  st->ctx = NULL;
}

void moqc__sess_abandon(moqc_session *s, sess_stream *st, int err) {
  moqc__sess_reset(s, st, err);
  moqc__sess_stop(s, st, err);
  sess_kind_free(s, st);
  st->kind = SK_DISCARD;
}

void moqc__sess_violation(moqc_session *s, sess_stream *st, int err) {
  if (s->settings.strict) {
    moqc__sess_fail(s, err, "protocol violation on a stream");
    return;
  }
  moqc__sess_abandon(s, st, err);
}

static void sess_stream_free(moqc_session *s, sess_stream *st) {
  sess_kind_free(s, st);
  /* Freeing kind state may look streams up (and cache them): drop the cache for this one. */
  if (s->last_found == st) {
    s->last_found = NULL;
  }
  sess_chunks_free(st, s->mem);
  moqc_mem_free(s->mem, st->rx);
  moqc_mem_free(s->mem, st);
}

void moqc__sess_remove(moqc_session *s, sess_stream *st) {
  if (s->last_found == st) {
    s->last_found = NULL;
  }
  for (size_t i = 0; i < s->nstreams; i++) {
    if (s->streams[i] == st) {
      s->streams[i] = s->streams[--s->nstreams];
      break;
    }
  }
  sess_stream_free(s, st);
}

void moqc__sess_streams_free(moqc_session *s) {
  /* Kind state may look up other streams while it is freed, so free one at a time. */
  s->last_found = NULL;
  while (s->nstreams > 0) {
    sess_stream *st = s->streams[--s->nstreams];
    sess_stream_free(s, st);
  }
  moqc_mem_free(s->mem, s->streams);
  s->streams = NULL;
  s->cap_streams = 0;
}

/* ---- Scheduling and the write path --------------------------------------------------------- */

static bool sess_wants_write(const sess_stream *st) {
  if (st->send_done || st->blocked) {
    return false;
  }
  return st->written < st->queued || (st->fin_queued && !st->fin_written);
}

/* True when a should be sent before b. */
static bool sess_before(const sess_stream *a, const sess_stream *b) {
  if (a->sclass != b->sclass) {
    return a->sclass < b->sclass;
  }
  if (a->sclass == SESS_CLASS_CONTROL) {
    return a->id < b->id;
  }
  if (a->sub_priority != b->sub_priority) {
    return a->sub_priority > b->sub_priority;
  }
  if (a->pub_priority != b->pub_priority) {
    return a->pub_priority > b->pub_priority;
  }
  if (a->sequence != b->sequence) {
    return a->ordered ? a->sequence < b->sequence : a->sequence > b->sequence;
  }
  return a->id < b->id;
}

moqc_ssize moqc_session_writev_stream(moqc_session *s, moqc_stream_id *id, bool *fin,
                                      moqc_vec *vec, size_t veccnt, moqc_tstamp ts) {
  s->now = ts;
  *id = MOQC_STREAM_NONE;
  *fin = false;
  if (s->closed) {
    return 0;
  }
  sess_stream *best = NULL;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    if (sess_wants_write(st) && (best == NULL || sess_before(st, best))) {
      best = st;
    }
  }
  if (best == NULL) {
    return 0;
  }
  *id = best->id;
  size_t n = 0;
  uint64_t off = best->head_off;
  for (sess_chunk *c = best->head; c != NULL && n < veccnt; c = c->next) {
    uint64_t end = off + c->len;
    if (end > best->written) {
      uint64_t skip = best->written > off ? best->written - off : 0;
      vec[n].base = c->ptr + skip;
      vec[n].len = c->len - (size_t)skip;
      n++;
    }
    off = end;
  }
  /* The FIN goes with the ranges only when they reach the end of the queue. */
  uint64_t offered = best->written;
  for (size_t i = 0; i < n; i++) {
    offered += vec[i].len;
  }
  *fin = best->fin_queued && offered == best->queued;
  return (moqc_ssize)n;
}

int moqc_session_add_write_offset(moqc_session *s, moqc_stream_id id, size_t n) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st == NULL || st->send_done) {
    return 0;
  }
  if (st->written + n > st->queued) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  st->written += n;
  if (st->fin_queued && st->written == st->queued) {
    st->fin_written = true;
  }
  if (st->kind == SK_GROUP_TX && !s->closed) {
    /* Room freed in the group's queue: read more from the model. */
    return moqc__sess_pub_group_poll(s, st);
  }
  return 0;
}

int moqc_session_add_ack_offset(moqc_session *s, moqc_stream_id id, uint64_t n) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st == NULL || st->send_done) {
    return 0;
  }
  st->acked += n;
  if (st->acked > st->written) {
    st->acked = st->written;
  }
  while (st->head != NULL && st->head_off + st->head->len <= st->acked) {
    sess_chunk *c = st->head;
    st->head = c->next;
    st->head_off += c->len;
    if (st->head == NULL) {
      st->tail = NULL;
    }
    moqc_rcbuf_decref(c->buf);
    moqc_mem_free(s->mem, c);
  }
  if (st->kind == SK_GROUP_TX && st->fin_written && st->acked == st->queued && !s->closed) {
    /* The whole group was delivered: its subscription may now end. */
    moqc__sess_pub_group_stopped(s, st);
  }
  return 0;
}

int moqc_session_block_stream(moqc_session *s, moqc_stream_id id) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st != NULL) {
    st->blocked = true;
  }
  return 0;
}

int moqc_session_unblock_stream(moqc_session *s, moqc_stream_id id) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st != NULL) {
    st->blocked = false;
    if (sess_wants_write(st) && !s->closed) {
      s->tp.ops->resume_stream(s->tp.user_data, id);
    }
  }
  return 0;
}
