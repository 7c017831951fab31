/*
 * The in-memory transport pair: moving bytes. moqc__mem_transmit pulls from one side's
 * application and delivers what is due to the other; moqc__mem_pump runs both ways until quiet.
 */
#include <string.h>

#include "transport/mem_internal.h"

/** The most vectors asked for per writev call. */
#define MEM_VECS 16
/** The most writev calls per transmit: a guard against an application that never runs dry. */
#define MEM_MAX_PULLS 100000

static bool mem_live(const moqc__mem_end *end) { return !end->closed && end->ops != NULL; }

/** How many more bytes side may send on half h before the receiver's window is full. */
static uint64_t mem_allowance(const moqc__mem_pair *pair, const moqc__mem_stream *s,
                              const moqc__mem_half *h) {
  if (s->lost || h->stopped) {
    return UINT64_MAX;
  }
  uint64_t limit = h->consumed + pair->settings.stream_window;
  return limit > h->write_off ? limit - h->write_off : 0;
}

/* Pulls one writev worth of data from end. Returns 1 when something was taken, 0 when the
 * application has nothing (or only blocked streams) to give, or a negative error. */
static int mem_pull_one(moqc__mem_end *end, size_t *budget, moqc_stream_id *last_blocked) {
  moqc__mem_pair *pair = end->pair;
  moqc_vec vec[MEM_VECS];
  moqc_stream_id id = MOQC_STREAM_NONE;
  bool fin = false;
  moqc_ssize n = end->ops->writev_stream(end->app, &id, &fin, vec, MEM_VECS, pair->now);
  if (n < 0) {
    moqc__mem_fail(end, (int)n);
    return (int)n;
  }
  if (id == MOQC_STREAM_NONE || end->closed) {
    return 0;
  }
  moqc__mem_stream *s = moqc__mem_find(pair, id);
  if (s == NULL || !s->half[end->side].exists || s->half[end->side].reset_sent ||
      s->half[end->side].fin_sent) {
    moqc__mem_fail(end, MOQC_ERR_INTERNAL);
    return MOQC_ERR_INTERNAL;
  }
  moqc__mem_half *h = &s->half[end->side];
  size_t total = 0;
  for (moqc_ssize i = 0; i < n; i++) {
    total += vec[i].len;
  }
  uint64_t allow = mem_allowance(pair, s, h);
  size_t take = total;
  if (take > allow) {
    take = (size_t)allow;
  }
  if (take > *budget) {
    take = *budget;
  }
  bool fin_taken = fin && take == total;
  if (take == 0 && !fin_taken) {
    if (*budget == 0) {
      return 0;
    }
    /* Flow control: the stream waits for the receiver to consume. */
    if (id == *last_blocked) {
      return 0;
    }
    *last_blocked = id;
    h->blocked = true;
    int rv = end->ops->block_stream(end->app, id);
    if (rv < 0) {
      moqc__mem_fail(end, rv);
      return rv;
    }
    return 1;
  }
  moqc__mem_item *it = moqc__mem_item_new(pair, MEM_ITEM_DATA, id, take);
  if (it == NULL) {
    return MOQC_ERR_NOMEM;
  }
  size_t off = 0;
  for (moqc_ssize i = 0; i < n && off < take; i++) {
    size_t c = vec[i].len < take - off ? vec[i].len : take - off;
    if (c > 0) {
      memcpy(it->data + off, vec[i].base, c);
    }
    off += c;
  }
  it->fin = fin_taken;
  moqc__mem_enqueue(end, it);
  h->write_off += take;
  h->fin_sent = fin_taken;
  *budget -= take;
  int rv = end->ops->add_write_offset(end->app, id, take);
  if (rv < 0) {
    moqc__mem_fail(end, rv);
    return rv;
  }
  return 1;
}

/* Hands the unconsumed bytes of half (sent by side from) to the receiving application. */
static int mem_present(moqc__mem_pair *pair, moqc__mem_stream *s, int from) {
  moqc__mem_end *sender = &pair->ends[from];
  moqc__mem_end *recv = &pair->ends[1 - from];
  moqc__mem_half *h = &s->half[from];
  if (!mem_live(recv) || s->lost || h->stopped || h->reset_recv || h->fin_consumed) {
    return 0;
  }
  if (h->buf_len == 0 && !h->fin_delivered) {
    return 0;
  }
  size_t len = h->buf_len;
  s->seen = s->seen || s->opener == from;
  moqc_ssize n = recv->ops->read_stream(recv->app, s->id, h->buf, len, h->fin_delivered,
                                        pair->now);
  if (n < 0) {
    moqc__mem_fail(recv, (int)n);
    return (int)n;
  }
  if ((size_t)n > len) {
    moqc__mem_fail(recv, MOQC_ERR_INTERNAL);
    return MOQC_ERR_INTERNAL;
  }
  if (h->stopped || h->reset_recv) {
    /* The application stopped the stream during the call; its buffer is already gone. */
    return 0;
  }
  if (n > 0) {
    memmove(h->buf, h->buf + n, len - (size_t)n);
    h->buf_len -= (size_t)n;
    h->consumed += (uint64_t)n;
    if (h->blocked && mem_live(sender)) {
      h->blocked = false;
      int rv = sender->ops->unblock_stream(sender->app, s->id);
      if (rv < 0) {
        moqc__mem_fail(sender, rv);
      }
    }
  }
  if (h->fin_delivered && h->buf_len == 0 && (size_t)n == len) {
    h->fin_consumed = true;
  }
  return 0;
}

static int mem_append(moqc__mem_pair *pair, moqc__mem_half *h, const uint8_t *data, size_t len) {
  if (len == 0) {
    return 0;
  }
  if (h->buf_len + len > h->buf_cap) {
    size_t cap = h->buf_cap ? h->buf_cap : 256;
    while (cap < h->buf_len + len) {
      cap *= 2;
    }
    uint8_t *b = moqc_mem_realloc(pair->mem, h->buf, cap);
    if (b == NULL) {
      return MOQC_ERR_NOMEM;
    }
    h->buf = b;
    h->buf_cap = cap;
  }
  memcpy(h->buf + h->buf_len, data, len);
  h->buf_len += len;
  return 0;
}

/* Delivers one item sent by side from. */
static int mem_deliver(moqc__mem_pair *pair, int from, moqc__mem_item *it) {
  moqc__mem_end *sender = &pair->ends[from];
  moqc__mem_end *recv = &pair->ends[1 - from];
  moqc__mem_stream *s = NULL;
  int rv = 0;
  if (it->kind == MEM_ITEM_DATA || it->kind == MEM_ITEM_RESET || it->kind == MEM_ITEM_STOP) {
    s = moqc__mem_find(pair, it->id);
    if (s == NULL) {
      return 0;
    }
  }
  switch (it->kind) {
  case MEM_ITEM_DATA: {
    moqc__mem_half *h = &s->half[from];
    h->ack_off += it->len;
    if (it->fin) {
      h->fin_acked = true;
    }
    if (it->len > 0 && mem_live(sender) && !h->reset_sent) {
      rv = sender->ops->add_ack_offset(sender->app, it->id, it->len);
      if (rv < 0) {
        moqc__mem_fail(sender, rv);
        return rv;
      }
    }
    if (s->lost || h->reset_recv) {
      return 0;
    }
    if (it->fin) {
      h->fin_delivered = true;
    }
    if (h->stopped) {
      h->consumed += it->len;
      return 0;
    }
    rv = mem_append(pair, h, it->data, it->len);
    if (rv < 0) {
      return rv;
    }
    return mem_present(pair, s, from);
  }
  case MEM_ITEM_RESET: {
    moqc__mem_half *h = &s->half[from];
    h->reset_recv = true;
    h->consumed += h->buf_len;
    h->buf_len = 0;
    if (s->lost || !mem_live(recv)) {
      return 0;
    }
    s->seen = true;
    rv = recv->ops->recv_reset(recv->app, it->id, it->code, pair->now);
    break;
  }
  case MEM_ITEM_STOP:
    if (s->lost || !mem_live(recv)) {
      return 0;
    }
    rv = recv->ops->recv_stop_sending(recv->app, it->id, it->code, pair->now);
    break;
  case MEM_ITEM_DATAGRAM:
    if (!mem_live(recv)) {
      return 0;
    }
    rv = recv->ops->recv_datagram(recv->app, it->data, it->len, pair->now);
    break;
  case MEM_ITEM_CLOSE:
    if (recv->closed) {
      return 0;
    }
    recv->closed = true;
    recv->closed_by_peer = true;
    recv->close_code = it->code;
    if (recv->ops != NULL) {
      recv->ops->closed(recv->app, it->code, (const char *)it->data, it->len);
    }
    return 0;
  }
  if (rv < 0) {
    moqc__mem_fail(recv, rv);
  }
  return rv;
}

/* Takes the next due item from end's queue, choosing among the heads of different streams at
 * random when the pair reorders. */
static moqc__mem_item *mem_take(moqc__mem_pair *pair, moqc__mem_end *end) {
  moqc__mem_item *prev = NULL, *it = end->q_head;
  if (it == NULL || it->at > pair->now) {
    return NULL;
  }
  if (pair->settings.reorder && it->kind == MEM_ITEM_DATA) {
    /* Candidates: due DATA items that are the first of their stream in the queue. */
    moqc__mem_item *cand[32], *cand_prev[32];
    size_t nc = 0;
    moqc__mem_item *p = NULL;
    for (moqc__mem_item *q = end->q_head; q != NULL && q->at <= pair->now && nc < 32;
         p = q, q = q->next) {
      if (q->kind != MEM_ITEM_DATA) {
        break;
      }
      bool first = true;
      for (moqc__mem_item *r = end->q_head; r != q; r = r->next) {
        if (r->id == q->id) {
          first = false;
          break;
        }
      }
      if (first) {
        cand_prev[nc] = p;
        cand[nc++] = q;
      }
    }
    size_t pick = (size_t)(moqc__mem_rand(pair) % nc);
    prev = cand_prev[pick];
    it = cand[pick];
  }
  if (prev == NULL) {
    end->q_head = it->next;
  } else {
    prev->next = it->next;
  }
  if (end->q_tail == it) {
    end->q_tail = prev;
  }
  it->next = NULL;
  return it;
}

moqc_ssize moqc__mem_transmit(moqc__mem_pair *pair, int from, size_t budget) {
  moqc__mem_end *end = &pair->ends[from];
  moqc__mem_end *peer = &pair->ends[1 - from];
  moqc_ssize moved = 0;
  int rv;

  /* Retry bytes the receiver left unconsumed last time. */
  for (size_t i = 0; i < pair->nstreams; i++) {
    moqc__mem_stream *s = pair->streams[i];
    if (s->half[from].exists && (s->half[from].buf_len > 0 || s->half[from].fin_delivered)) {
      if ((rv = mem_present(pair, s, from)) < 0) {
        return rv;
      }
    }
  }
  if (mem_live(end)) {
    moqc_stream_id last_blocked = MOQC_STREAM_NONE;
    for (int i = 0; i < MEM_MAX_PULLS && mem_live(end); i++) {
      rv = mem_pull_one(end, &budget, &last_blocked);
      if (rv < 0) {
        if (rv == MOQC_ERR_NOMEM) {
          return rv;
        }
        break;
      }
      if (rv == 0) {
        break;
      }
    }
  }
  moqc__mem_item *it;
  while ((it = mem_take(pair, end)) != NULL) {
    moved++;
    rv = mem_deliver(pair, from, it);
    moqc_mem_free(pair->mem, it);
    if (rv == MOQC_ERR_NOMEM) {
      return rv;
    }
    if (peer->closed && end->closed) {
      break;
    }
  }
  moqc__mem_sweep(pair);
  return moved;
}

moqc_ssize moqc__mem_pump(moqc__mem_pair *pair, size_t budget, int max_rounds) {
  moqc_ssize rounds = 0;
  for (int r = 0; r < max_rounds; r++) {
    bool busy = false;
    for (int side = 0; side < 2; side++) {
      moqc__mem_end *end = &pair->ends[side];
      if (!mem_live(end)) {
        continue;
      }
      if (atomic_exchange(&end->woken, false)) {
        busy = true;
        int rv = end->ops->poll(end->app, pair->now);
        if (rv < 0) {
          moqc__mem_fail(end, rv);
          continue;
        }
      }
      if (mem_live(end) && end->ops->get_expiry(end->app) <= pair->now) {
        int rv = end->ops->handle_expiry(end->app, pair->now);
        if (rv < 0) {
          moqc__mem_fail(end, rv);
        }
      }
    }
    for (int side = 0; side < 2; side++) {
      moqc_ssize n = moqc__mem_transmit(pair, side, budget);
      if (n < 0) {
        return n;
      }
      if (n > 0) {
        busy = true;
      }
    }
    if (!busy) {
      break;
    }
    rounds++;
  }
  return rounds;
}
