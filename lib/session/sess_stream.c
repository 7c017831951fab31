/*
 * Session streams: the table (an array for iteration, an open-addressing map for lookups by id),
 * send queues of chunks held until acknowledged (with a write cursor at the first unwritten
 * chunk, and a small per-session pool of chunk headers), priority scheduling for writev (a
 * binary heap of the streams that want to write, kept up to date by every change of what
 * sess_wants_write reads, and by moqc__sess_sched_update for changes of the order fields made
 * elsewhere), resets and stops. Per packet the transport's writev, write offset and ack cost
 * O(log streams) plus the ranges and chunks they touch.
 */
#include <string.h>

#include "session/session_int.h"

/* ---- The stream table: an array (iteration) and an id map (lookup) ------------------------- */

/* Inline room of pooled chunk headers: a FRAME header fits (MOQC_LITE_MAX_FRAME_HEADER_SIZE). */
#define SESS_CHUNK_POOL_INL 24
/* Pooled chunk headers kept per session. */
#define SESS_CHUNK_POOL_MAX 32

static bool sess_sched_want(moqc_session *s, sess_stream *st);
static void sess_ready_remove(moqc_session *s, sess_stream *st);

static size_t sess_map_home(const moqc_session *s, moqc_stream_id id) {
  /* Fibonacci hashing: stream ids step by 4, the multiply spreads them over the top bits. */
  return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> (64u - s->map_bits));
}

static void sess_map_put(moqc_session *s, sess_stream *st) {
  size_t mask = ((size_t)1 << s->map_bits) - 1;
  size_t i = sess_map_home(s, st->id);
  while (s->map[i] != NULL) {
    i = (i + 1) & mask;
  }
  s->map[i] = st;
}

static void sess_map_del(moqc_session *s, sess_stream *st) {
  if (s->map == NULL) {
    return;
  }
  size_t mask = ((size_t)1 << s->map_bits) - 1;
  size_t i = sess_map_home(s, st->id);
  while (s->map[i] != st) {
    if (s->map[i] == NULL) {
      return;
    }
    i = (i + 1) & mask;
  }
  /* Backward shift: move later members of the probe run into the hole when their home allows,
   * so lookups never need tombstones. */
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (s->map[j] == NULL) {
      break;
    }
    size_t k = sess_map_home(s, s->map[j]->id);
    /* Entry j may fill hole i unless its home k lies cyclically in (i, j]. */
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!stays) {
      s->map[i] = s->map[j];
      i = j;
    }
  }
  s->map[i] = NULL;
}

/* Makes room for one more stream in the array, the ready heap and the map. */
static int sess_table_reserve(moqc_session *s) {
  if (s->nstreams == s->cap_streams) {
    /* Small at first: an idle session has a handful of streams. */
    size_t cap = s->cap_streams ? s->cap_streams * 2 : 4;
    sess_stream **n = moqc_mem_realloc(s->mem, s->streams, cap * sizeof(*n));
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    s->streams = n;
    s->cap_streams = cap;
  }
  if (s->nstreams == s->cap_ready) {
    size_t cap = s->cap_streams;
    sess_stream **n = moqc_mem_realloc(s->mem, s->wready, cap * sizeof(*n));
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    s->wready = n;
    s->cap_ready = cap;
  }
  if (s->map == NULL || (s->nstreams + 1) * 2 > ((size_t)1 << s->map_bits)) {
    unsigned bits = s->map == NULL ? 3 : s->map_bits + 1;
    sess_stream **n = moqc_mem_calloc(s->mem, (size_t)1 << bits, sizeof(*n));
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    moqc_mem_free(s->mem, s->map);
    s->map = n;
    s->map_bits = bits;
    for (size_t i = 0; i < s->nstreams; i++) {
      sess_map_put(s, s->streams[i]);
    }
  }
  return 0;
}

sess_stream *moqc__sess_find(moqc_session *s, moqc_stream_id id) {
  /* Transports tend to call for one stream several times in a row (writev, write offset,
   * ack): remember the last hit. */
  if (s->last_found != NULL && s->last_found->id == id) {
    return s->last_found;
  }
  if (s->map == NULL) {
    return NULL;
  }
  size_t mask = ((size_t)1 << s->map_bits) - 1;
  for (size_t i = sess_map_home(s, id); s->map[i] != NULL; i = (i + 1) & mask) {
    if (s->map[i]->id == id) {
      s->last_found = s->map[i];
      return s->map[i];
    }
  }
  return NULL;
}

sess_stream *moqc__sess_add(moqc_session *s, moqc_stream_id id, sess_kind kind) {
  if (sess_table_reserve(s) != 0) {
    return NULL;
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
  st->idx = s->nstreams;
  s->streams[s->nstreams++] = st;
  sess_map_put(s, st);
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

/* ---- Chunks ---------------------------------------------------------------------------------- */

/* A chunk header with inline room for inl bytes; small ones come from the session's pool. */
static sess_chunk *sess_chunk_alloc(moqc_session *s, size_t inl) {
  sess_chunk *c;
  if (inl <= SESS_CHUNK_POOL_INL) {
    c = s->chunk_pool;
    if (c != NULL) {
      s->chunk_pool = c->next;
      s->chunk_pool_n--;
    } else {
      c = moqc_mem_malloc(s->mem, sizeof(sess_chunk) + SESS_CHUNK_POOL_INL);
    }
  } else {
    c = moqc_mem_malloc(s->mem, sizeof(sess_chunk) + inl);
  }
  if (c != NULL) {
    s->chunks_live++;
  }
  return c;
}

static void sess_chunk_pool_drain(moqc_session *s) {
  while (s->chunk_pool != NULL) {
    sess_chunk *c = s->chunk_pool;
    s->chunk_pool = c->next;
    moqc_mem_free(s->mem, c);
  }
  s->chunk_pool_n = 0;
}

/* Drops c's buffer reference and frees it, or keeps a pool-sized header for reuse. */
static void sess_chunk_release(moqc_session *s, sess_chunk *c) {
  moqc_rcbuf_decref(c->buf);
  s->chunks_live--;
  /* Pool-sized: every buffer chunk, and inline chunks that fit the pool's room. */
  bool pool_sized = c->buf != NULL || c->len <= SESS_CHUNK_POOL_INL;
  if (pool_sized && s->chunk_pool_n < SESS_CHUNK_POOL_MAX && s->chunks_live > 0) {
    c->next = s->chunk_pool;
    s->chunk_pool = c;
    s->chunk_pool_n++;
    return;
  }
  moqc_mem_free(s->mem, c);
  if (s->chunks_live == 0) {
    /* Nothing queued anywhere: an idle session keeps no spare headers. */
    sess_chunk_pool_drain(s);
  }
}

static void sess_chunks_free(moqc_session *s, sess_stream *st) {
  sess_chunk *c = st->head;
  while (c != NULL) {
    sess_chunk *next = c->next;
    sess_chunk_release(s, c);
    c = next;
  }
  st->head = st->tail = NULL;
  st->wcur = NULL;
}

/*
 * Frees the chunks no byte of which was written, when the stream is reset:
 * what the transport took stays until it is acknowledged, the transport
 * reports the stream closed, or the session is deleted. QUIC sends from these
 * buffers, and ngtcp2 0.12 still retransmits a reset stream's lost data until
 * its RESET_STREAM is acknowledged (over WebTransport the connection also
 * outlives the session by the close handshake).
 */
static void sess_chunks_drop_unwritten(moqc_session *s, sess_stream *st) {
  sess_chunk **link = &st->head;
  sess_chunk *last = NULL;
  uint64_t off = st->head_off;
  while (*link != NULL && off < st->written) {
    off += (*link)->len;
    last = *link;
    link = &(*link)->next;
  }
  sess_chunk *c = *link;
  *link = NULL;
  st->tail = last;
  st->wcur = NULL;
  while (c != NULL) {
    sess_chunk *next = c->next;
    sess_chunk_release(s, c);
    c = next;
  }
}

static void sess_chunk_append(moqc_session *s, sess_stream *st, sess_chunk *c) {
  c->next = NULL;
  if (st->tail != NULL) {
    st->tail->next = c;
  } else {
    st->head = c;
    st->head_off = st->queued;
  }
  if (st->wcur == NULL) {
    /* Everything before was written: the new chunk starts the unwritten bytes. */
    st->wcur = c;
    st->wcur_off = st->queued;
  }
  st->tail = c;
  st->queued += c->len;
  (void)sess_sched_want(s, st);
  s->tp.ops->resume_stream(s->tp.user_data, st->id);
}

int moqc__sess_queue_copy(moqc_session *s, sess_stream *st, const uint8_t *data, size_t len) {
  if (st->send_done || st->fin_queued || len == 0) {
    return 0;
  }
  /* Every control message and FRAME header is one chunk: they are small and few. */
  sess_chunk *c = sess_chunk_alloc(s, len);
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
  sess_chunk *c = sess_chunk_alloc(s, 0);
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
  (void)sess_sched_want(s, st);
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
  sess_chunks_drop_unwritten(s, st);
  (void)sess_sched_want(s, st);
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
  sess_chunks_free(s, st);
  /* Last, in case freeing the kind state re-filed it. */
  if (st->ready_pos != 0) {
    sess_ready_remove(s, st);
  }
  moqc_mem_free(s->mem, st->rx);
  moqc_mem_free(s->mem, st);
}

/* Takes st out of the array and the map (not the ready heap). */
static void sess_unlink(moqc_session *s, sess_stream *st) {
  if (s->last_found == st) {
    s->last_found = NULL;
  }
  sess_stream *moved = s->streams[--s->nstreams];
  s->streams[st->idx] = moved;
  moved->idx = st->idx;
  sess_map_del(s, st);
}

void moqc__sess_remove(moqc_session *s, sess_stream *st) {
  sess_unlink(s, st);
  sess_stream_free(s, st);
}

void moqc__sess_streams_free(moqc_session *s) {
  /* Kind state may look up other streams while it is freed, so free one at a time. */
  s->last_found = NULL;
  while (s->nstreams > 0) {
    sess_stream *st = s->streams[s->nstreams - 1];
    sess_unlink(s, st);
    sess_stream_free(s, st);
  }
  moqc_mem_free(s->mem, s->streams);
  s->streams = NULL;
  s->cap_streams = 0;
  moqc_mem_free(s->mem, s->wready);
  s->wready = NULL;
  s->nready = s->cap_ready = 0;
  moqc_mem_free(s->mem, s->map);
  s->map = NULL;
  s->map_bits = 0;
  sess_chunk_pool_drain(s);
}

/* ---- Scheduling and the write path --------------------------------------------------------- */

static bool sess_wants_write(const sess_stream *st) {
  if (st->send_done || st->blocked) {
    return false;
  }
  return st->written < st->queued || (st->fin_queued && !st->fin_written);
}

/*
 * True when a should be sent before b: control streams first (by id), then group streams by
 * subscriber priority, then publisher priority (higher first), then by group sequence (oldest
 * first for an ordered subscription, newest first otherwise), then by id. A strict total order,
 * so the ready heap's first stream is the one a scan of every stream would pick. Between an
 * ordered and an unordered stream of equal priorities the sequences do not compare (the
 * directions disagree): the ordered one goes first.
 */
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
  if (a->ordered != b->ordered) {
    return a->ordered;
  }
  if (a->sequence != b->sequence) {
    return a->ordered ? a->sequence < b->sequence : a->sequence > b->sequence;
  }
  return a->id < b->id;
}

static void sess_ready_set(moqc_session *s, size_t i, sess_stream *st) {
  s->wready[i] = st;
  st->ready_pos = i + 1;
}

/* Moves the stream at heap position i towards the root while it goes before its parent. */
static void sess_ready_up(moqc_session *s, size_t i) {
  sess_stream *st = s->wready[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!sess_before(st, s->wready[parent])) {
      break;
    }
    sess_ready_set(s, i, s->wready[parent]);
    i = parent;
  }
  sess_ready_set(s, i, st);
}

/* Moves the stream at heap position i towards the leaves while a child goes before it. */
static void sess_ready_down(moqc_session *s, size_t i) {
  sess_stream *st = s->wready[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= s->nready) {
      break;
    }
    if (child + 1 < s->nready && sess_before(s->wready[child + 1], s->wready[child])) {
      child++;
    }
    if (!sess_before(s->wready[child], st)) {
      break;
    }
    sess_ready_set(s, i, s->wready[child]);
    i = child;
  }
  sess_ready_set(s, i, st);
}

static void sess_ready_remove(moqc_session *s, sess_stream *st) {
  size_t i = st->ready_pos - 1;
  st->ready_pos = 0;
  sess_stream *last = s->wready[--s->nready];
  if (last == st) {
    return;
  }
  sess_ready_set(s, i, last);
  sess_ready_up(s, i);
  sess_ready_down(s, last->ready_pos - 1);
}

/* Adds st to the ready heap or takes it out as sess_wants_write says; true when it stayed in. */
static bool sess_sched_want(moqc_session *s, sess_stream *st) {
  bool want = sess_wants_write(st);
  if (want && st->ready_pos == 0) {
    /* cap_ready >= nstreams (sess_table_reserve), so there is room. */
    s->nready++;
    sess_ready_set(s, s->nready - 1, st);
    sess_ready_up(s, s->nready - 1);
    return false;
  }
  if (!want && st->ready_pos != 0) {
    sess_ready_remove(s, st);
  }
  return want;
}

void moqc__sess_sched_update(moqc_session *s, sess_stream *st) {
  if (sess_sched_want(s, st)) {
    /* Already there: its order fields may have changed. */
    sess_ready_up(s, st->ready_pos - 1);
    sess_ready_down(s, st->ready_pos - 1);
  }
}

moqc_ssize moqc_session_writev_stream(moqc_session *s, moqc_stream_id *id, bool *fin,
                                      moqc_vec *vec, size_t veccnt, moqc_tstamp ts) {
  s->now = ts;
  *id = MOQC_STREAM_NONE;
  *fin = false;
  if (s->closed || s->nready == 0) {
    return 0;
  }
  sess_stream *best = s->wready[0];
  *id = best->id;
  /* From the write cursor: the chunk holding the first unwritten byte. */
  size_t n = 0;
  uint64_t offered = best->written;
  const sess_chunk *c = best->wcur;
  if (c != NULL && veccnt > 0) {
    size_t skip = (size_t)(best->written - best->wcur_off);
    vec[0].base = c->ptr + skip;
    vec[0].len = c->len - skip;
    offered += vec[0].len;
    n = 1;
    for (c = c->next; c != NULL && n < veccnt; c = c->next) {
      vec[n].base = c->ptr;
      vec[n].len = c->len;
      offered += c->len;
      n++;
    }
  }
  /* The FIN goes with the ranges only when they reach the end of the queue. */
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
  while (st->wcur != NULL && st->wcur_off + st->wcur->len <= st->written) {
    st->wcur_off += st->wcur->len;
    st->wcur = st->wcur->next;
  }
  if (st->fin_queued && st->written == st->queued) {
    st->fin_written = true;
  }
  (void)sess_sched_want(s, st);
  if (st->kind == SK_GROUP_TX && !s->closed) {
    /* Room freed in the group's queue: read more from the model. */
    return moqc__sess_pub_group_poll(s, st);
  }
  return 0;
}

int moqc_session_add_ack_offset(moqc_session *s, moqc_stream_id id, uint64_t n) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st == NULL) {
    return 0;
  }
  st->acked += n;
  if (st->acked > st->written) {
    st->acked = st->written;
  }
  /* Only fully written chunks go, so the write cursor stays valid. */
  while (st->head != NULL && st->head_off + st->head->len <= st->acked) {
    sess_chunk *c = st->head;
    st->head = c->next;
    st->head_off += c->len;
    if (st->head == NULL) {
      st->tail = NULL;
    }
    sess_chunk_release(s, c);
  }
  if (st->kind == SK_GROUP_TX && !st->send_done && st->fin_written && st->acked == st->queued &&
      !s->closed) {
    /* The whole group was delivered: its subscription may now end. */
    moqc__sess_pub_group_stopped(s, st);
  }
  return 0;
}

int moqc_session_block_stream(moqc_session *s, moqc_stream_id id) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st != NULL) {
    st->blocked = true;
    (void)sess_sched_want(s, st);
  }
  return 0;
}

int moqc_session_unblock_stream(moqc_session *s, moqc_stream_id id) {
  sess_stream *st = moqc__sess_find(s, id);
  if (st != NULL) {
    st->blocked = false;
    (void)sess_sched_want(s, st);
    if (sess_wants_write(st) && !s->closed) {
      s->tp.ops->resume_stream(s->tp.user_data, id);
    }
  }
  return 0;
}
