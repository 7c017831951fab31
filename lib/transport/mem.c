/*
 * The in-memory transport pair: lifecycle, stream table and the transport operations a session
 * calls. Moving bytes between the sides is in mem_pump.c.
 */
#include <stdlib.h>
#include <string.h>

#include "transport/mem_internal.h"

void moqc__mem_settings_default(moqc__mem_settings *s) {
  memset(s, 0, sizeof(*s));
  s->stream_window = 1024 * 1024;
  s->max_streams_bidi = 1024;
  s->max_streams_uni = 1024;
  s->delay = 0;
  s->max_datagram = 1200;
  s->reorder = false;
  s->seed = 0x9e3779b97f4a7c15ULL;
  s->start = MOQC_SECONDS;
}

int moqc__mem_pair_new(moqc__mem_pair **out, const moqc__mem_settings *settings,
                       const moqc_mem *mem) {
  moqc__mem_pair *pair = moqc_mem_calloc(mem, 1, sizeof(*pair));
  if (pair == NULL) {
    return MOQC_ERR_NOMEM;
  }
  pair->mem = mem;
  if (settings != NULL) {
    pair->settings = *settings;
  } else {
    moqc__mem_settings_default(&pair->settings);
  }
  pair->rng = pair->settings.seed != 0 ? pair->settings.seed : 0x9e3779b97f4a7c15ULL;
  pair->now = pair->settings.start;
  for (int i = 0; i < 2; i++) {
    pair->ends[i].pair = pair;
    pair->ends[i].side = i;
    atomic_init(&pair->ends[i].woken, false);
  }
  *out = pair;
  return 0;
}

static void mem_free_queue(moqc__mem_pair *pair, moqc__mem_end *end) {
  moqc__mem_item *it = end->q_head;
  while (it != NULL) {
    moqc__mem_item *next = it->next;
    moqc_mem_free(pair->mem, it);
    it = next;
  }
  end->q_head = end->q_tail = NULL;
}

static void mem_stream_free(moqc__mem_pair *pair, moqc__mem_stream *s) {
  moqc_mem_free(pair->mem, s->half[0].buf);
  moqc_mem_free(pair->mem, s->half[1].buf);
  moqc_mem_free(pair->mem, s);
}

void moqc__mem_pair_del(moqc__mem_pair *pair) {
  if (pair == NULL) {
    return;
  }
  for (int i = 0; i < 2; i++) {
    mem_free_queue(pair, &pair->ends[i]);
  }
  for (size_t i = 0; i < pair->nstreams; i++) {
    mem_stream_free(pair, pair->streams[i]);
  }
  moqc_mem_free(pair->mem, pair->streams);
  moqc_mem_free(pair->mem, pair);
}

void moqc__mem_attach(moqc__mem_pair *pair, int side, const moqc_stream_app_ops *ops,
                      void *app) {
  pair->ends[side].ops = ops;
  pair->ends[side].app = app;
}

moqc_tstamp moqc__mem_now(const moqc__mem_pair *pair) { return pair->now; }

void moqc__mem_advance(moqc__mem_pair *pair, moqc_tstamp dt) { pair->now += dt; }

uint64_t moqc__mem_rand(moqc__mem_pair *pair) {
  uint64_t x = pair->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  pair->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

moqc__mem_stream *moqc__mem_find(moqc__mem_pair *pair, moqc_stream_id id) {
  for (size_t i = 0; i < pair->nstreams; i++) {
    if (pair->streams[i]->id == id) {
      return pair->streams[i];
    }
  }
  return NULL;
}

moqc__mem_item *moqc__mem_item_new(moqc__mem_pair *pair, mem_item_kind kind, moqc_stream_id id,
                                   size_t len) {
  moqc__mem_item *it = moqc_mem_calloc(pair->mem, 1, sizeof(*it) + len);
  if (it == NULL) {
    return NULL;
  }
  it->kind = kind;
  it->id = id;
  it->len = len;
  it->at = pair->now + pair->settings.delay;
  return it;
}

void moqc__mem_enqueue(moqc__mem_end *end, moqc__mem_item *item) {
  item->next = NULL;
  if (end->q_tail != NULL) {
    end->q_tail->next = item;
  } else {
    end->q_head = item;
  }
  end->q_tail = item;
}

void moqc__mem_close_end(moqc__mem_end *end, uint64_t code, const char *reason, size_t len) {
  if (end->closed) {
    return;
  }
  end->closed = true;
  end->closed_by_peer = false;
  end->close_code = code;
  moqc__mem_item *it = moqc__mem_item_new(end->pair, MEM_ITEM_CLOSE, MOQC_STREAM_NONE, len);
  if (it == NULL) {
    /* Without memory the peer learns of the close only when the pair is deleted. */
    return;
  }
  it->code = code;
  if (len > 0) {
    memcpy(it->data, reason, len);
  }
  moqc__mem_enqueue(end, it);
}

void moqc__mem_fail(moqc__mem_end *end, int err) {
  static const char reason[] = "application error";
  if (end->app_err == 0) {
    end->app_err = err;
  }
  moqc__mem_close_end(end, moqc_err_to_lite_code(err), reason, sizeof(reason) - 1);
}

/* ---- Transport operations ----------------------------------------------------------------- */

static int mem_open_stream(void *ud, bool uni, moqc_stream_id *id) {
  moqc__mem_end *end = ud;
  moqc__mem_pair *pair = end->pair;
  uint64_t *open = uni ? &end->open_uni : &end->open_bidi;
  uint64_t max = uni ? pair->settings.max_streams_uni : pair->settings.max_streams_bidi;
  if (end->closed) {
    return MOQC_ERR_CLOSED;
  }
  if (*open >= max) {
    return MOQC_ERR_WOULD_BLOCK;
  }
  if (pair->nstreams == pair->cap_streams) {
    size_t cap = pair->cap_streams ? pair->cap_streams * 2 : 16;
    moqc__mem_stream **n = moqc_mem_realloc(pair->mem, pair->streams, cap * sizeof(*n));
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    pair->streams = n;
    pair->cap_streams = cap;
  }
  moqc__mem_stream *s = moqc_mem_calloc(pair->mem, 1, sizeof(*s));
  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  uint64_t *next = uni ? &end->next_uni : &end->next_bidi;
  s->id = (moqc_stream_id)((*next << 2) | (uni ? 2U : 0U) | (uint64_t)end->side);
  (*next)++;
  (*open)++;
  s->opener = end->side;
  s->half[end->side].exists = true;
  if (!uni) {
    s->half[1 - end->side].exists = true;
  }
  if (pair->settings.lose != NULL) {
    s->lost = pair->settings.lose(pair->settings.lose_user_data, end->side, s->id);
  }
  pair->streams[pair->nstreams++] = s;
  *id = s->id;
  return 0;
}

static void mem_resume_stream(void *ud, moqc_stream_id id) {
  /* The pump always asks the application for data, so there is nothing to remember. */
  (void)ud;
  (void)id;
}

static int mem_reset_stream(void *ud, moqc_stream_id id, uint64_t code) {
  moqc__mem_end *end = ud;
  moqc__mem_stream *s = moqc__mem_find(end->pair, id);
  if (s == NULL || !s->half[end->side].exists) {
    return MOQC_ERR_NOT_FOUND;
  }
  moqc__mem_half *h = &s->half[end->side];
  if (h->reset_sent || end->closed) {
    return 0;
  }
  h->reset_sent = true;
  moqc__mem_item *it = moqc__mem_item_new(end->pair, MEM_ITEM_RESET, id, 0);
  if (it == NULL) {
    return MOQC_ERR_NOMEM;
  }
  it->code = code;
  moqc__mem_enqueue(end, it);
  return 0;
}

static int mem_stop_sending(void *ud, moqc_stream_id id, uint64_t code) {
  moqc__mem_end *end = ud;
  moqc__mem_stream *s = moqc__mem_find(end->pair, id);
  if (s == NULL || !s->half[1 - end->side].exists) {
    return MOQC_ERR_NOT_FOUND;
  }
  moqc__mem_half *h = &s->half[1 - end->side];
  if (h->stopped || end->closed) {
    return 0;
  }
  h->stopped = true;
  h->consumed += h->buf_len;
  h->buf_len = 0;
  moqc__mem_item *it = moqc__mem_item_new(end->pair, MEM_ITEM_STOP, id, 0);
  if (it == NULL) {
    return MOQC_ERR_NOMEM;
  }
  it->code = code;
  moqc__mem_enqueue(end, it);
  return 0;
}

static int mem_send_datagram(void *ud, const uint8_t *data, size_t len) {
  moqc__mem_end *end = ud;
  if (end->closed) {
    return MOQC_ERR_CLOSED;
  }
  if (len > end->pair->settings.max_datagram) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  moqc__mem_item *it = moqc__mem_item_new(end->pair, MEM_ITEM_DATAGRAM, MOQC_STREAM_NONE, len);
  if (it == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (len > 0) {
    memcpy(it->data, data, len);
  }
  moqc__mem_enqueue(end, it);
  return 0;
}

static void mem_close(void *ud, uint64_t code, const char *reason, size_t reason_len) {
  moqc__mem_close_end(ud, code, reason, reason_len);
}

static void mem_wake(void *ud) {
  moqc__mem_end *end = ud;
  atomic_store(&end->woken, true);
}

static const moqc_transport_ops mem_transport_ops = {
    .open_stream = mem_open_stream,
    .resume_stream = mem_resume_stream,
    .reset_stream = mem_reset_stream,
    .stop_sending = mem_stop_sending,
    .send_datagram = mem_send_datagram,
    .close = mem_close,
    .wake = mem_wake,
};

moqc_transport moqc__mem_transport(moqc__mem_pair *pair, int side) {
  moqc_transport t = {&mem_transport_ops, &pair->ends[side]};
  return t;
}

/* ---- Stream closing ----------------------------------------------------------------------- */

static bool mem_half_done(const moqc__mem_stream *s, const moqc__mem_half *h) {
  if (!h->exists) {
    return true;
  }
  bool sender = h->reset_sent || (h->fin_sent && h->fin_acked);
  bool receiver = s->lost || h->reset_recv || h->fin_consumed || (h->stopped && h->fin_delivered);
  return sender && receiver;
}

void moqc__mem_sweep(moqc__mem_pair *pair) {
  size_t i = 0;
  while (i < pair->nstreams) {
    moqc__mem_stream *s = pair->streams[i];
    if (!mem_half_done(s, &s->half[0]) || !mem_half_done(s, &s->half[1])) {
      i++;
      continue;
    }
    pair->streams[i] = pair->streams[--pair->nstreams];
    moqc__mem_end *opener = &pair->ends[s->opener];
    moqc__mem_end *peer = &pair->ends[1 - s->opener];
    if (MOQC_STREAM_IS_UNI(s->id)) {
      opener->open_uni--;
    } else {
      opener->open_bidi--;
    }
    /* A freed slot may unblock an open that failed with MOQC_ERR_WOULD_BLOCK. */
    atomic_store(&opener->woken, true);
    moqc_tstamp now = pair->now;
    if (!opener->closed && opener->ops != NULL) {
      int rv = opener->ops->close_stream(opener->app, s->id, now);
      if (rv < 0) {
        moqc__mem_fail(opener, rv);
      }
    }
    if (s->seen && !peer->closed && peer->ops != NULL) {
      int rv = peer->ops->close_stream(peer->app, s->id, now);
      if (rv < 0) {
        moqc__mem_fail(peer, rv);
      }
    }
    mem_stream_free(pair, s);
  }
}

void moqc__mem_lose_stream(moqc__mem_pair *pair, moqc_stream_id id) {
  moqc__mem_stream *s = moqc__mem_find(pair, id);
  if (s != NULL) {
    s->lost = true;
  }
}

bool moqc__mem_closed(const moqc__mem_pair *pair, int side, uint64_t *code, bool *by_peer) {
  const moqc__mem_end *end = &pair->ends[side];
  if (!end->closed) {
    return false;
  }
  if (code != NULL) {
    *code = end->close_code;
  }
  if (by_peer != NULL) {
    *by_peer = end->closed_by_peer;
  }
  return true;
}

int moqc__mem_app_error(const moqc__mem_pair *pair, int side) {
  return pair->ends[side].app_err;
}

size_t moqc__mem_stream_count(const moqc__mem_pair *pair) { return pair->nstreams; }
