/*
 * The stream table of a WebTransport connection, our own send queues (control
 * and request streams, kept until acknowledged), receive buffers, closing
 * helpers and error code mapping.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

static size_t wt_hash(int64_t id, size_t n) {
  uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
  return (size_t)(x >> 32) & (n - 1);
}

moqc__wt_stream *moqc__wt_stream_find(const moqc_wt_conn *c, int64_t id) {
  if (c->nbuckets == 0) {
    return NULL;
  }
  for (moqc__wt_stream *s = c->buckets[wt_hash(id, c->nbuckets)]; s != NULL;
       s = s->hnext) {
    if (s->id == id) {
      return s;
    }
  }
  return NULL;
}

/* The first size of the stream table: an idle session has five streams (the
 * two control streams, the CONNECT stream and the moq-lite session's two);
 * the table doubles as streams come. */
#define WT_FIRST_BUCKETS 8U

int moqc__wt_table_grow(moqc_wt_conn *c) {
  size_t n = c->nbuckets == 0 ? WT_FIRST_BUCKETS : c->nbuckets * 2;
  moqc__wt_stream **b = moqc_mem_calloc(c->mem, n, sizeof(*b));
  if (b == NULL) {
    return MOQC_ERR_NOMEM;
  }
  for (size_t i = 0; i < c->nbuckets; i++) {
    moqc__wt_stream *s = c->buckets[i];
    while (s != NULL) {
      moqc__wt_stream *next = s->hnext;
      size_t h = wt_hash(s->id, n);
      s->hnext = b[h];
      b[h] = s;
      s = next;
    }
  }
  moqc_mem_free(c->mem, c->buckets);
  c->buckets = b;
  c->nbuckets = n;
  return 0;
}

moqc__wt_stream *moqc__wt_stream_new(moqc_wt_conn *c, int64_t id,
                                     moqc__wt_kind kind, bool local) {
  if (c->nstreams + 1 > c->nbuckets && moqc__wt_table_grow(c) != 0) {
    return NULL;
  }
  moqc__wt_stream *s = moqc_mem_calloc(c->mem, 1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->id = id;
  s->kind = kind;
  s->local = local;
  size_t h = wt_hash(id, c->nbuckets);
  s->hnext = c->buckets[h];
  c->buckets[h] = s;
  c->nstreams++;
  return s;
}

void moqc__wt_stream_free(moqc_wt_conn *c, moqc__wt_stream *s) {
  while (s->out_head != NULL) {
    moqc__wt_chunk *k = s->out_head;
    s->out_head = k->next;
    moqc_mem_free(c->mem, k);
  }
  moqc_mem_free(c->mem, s->rx);
  moqc_mem_free(c->mem, s->cap);
  moqc_mem_free(c->mem, s);
}

void moqc__wt_stream_remove(moqc_wt_conn *c, moqc__wt_stream *s) {
  if (s->kind == MOQC__WTS_SESSION && !s->app_known) {
    c->early_total -= s->rxlen;
  }
  moqc__wt_stream **pp = &c->buckets[wt_hash(s->id, c->nbuckets)];
  while (*pp != NULL && *pp != s) {
    pp = &(*pp)->hnext;
  }
  if (*pp == s) {
    *pp = s->hnext;
    c->nstreams--;
  }
  if (s->own_out) {
    moqc__wt_stream **op = &c->own_head;
    while (*op != NULL && *op != s) {
      op = &(*op)->onext;
    }
    if (*op == s) {
      *op = s->onext;
    }
  }
  if (c->control_out == s) {
    c->control_out = NULL;
  }
  if (c->connect == s) {
    c->connect = NULL;
  }
  moqc__wt_stream_free(c, s);
}

void moqc__wt_lower_close(moqc_wt_conn *c, uint64_t code, const char *reason) {
  if (c->lower_closed) {
    return;
  }
  c->lower_closed = true;
  c->lower.ops->close(c->lower.user_data, code, reason,
                      reason != NULL ? strlen(reason) : 0);
}

void moqc__wt_reset_session_streams(moqc_wt_conn *c) {
  if (c->lower_closed || c->state == MOQC__WT_DEAD) {
    return; /* QUIC sends nothing more */
  }
  for (size_t i = 0; i < c->nbuckets; i++) {
    moqc__wt_stream *s = c->buckets[i];
    while (s != NULL) {
      moqc__wt_stream *next = s->hnext;
      if (s->kind == MOQC__WTS_SESSION) {
        bool uni = MOQC_STREAM_IS_UNI(s->id);
        if (!uni || s->local) {
          s->hdr_written = s->hdrlen; /* nothing more is sent on it */
          (void)c->lower.ops->reset_stream(c->lower.user_data, s->id,
                                           MOQC__H3_WT_SESSION_GONE);
        }
        if (!uni || !s->local) {
          (void)c->lower.ops->stop_sending(c->lower.user_data, s->id,
                                           MOQC__H3_WT_SESSION_GONE);
        }
      }
      s = next;
    }
  }
}

/* Tells the application the session ended (once), after resetting the
 * session's streams. */
void moqc__wt_app_tell_closed(moqc_wt_conn *c, uint64_t code,
                              const char *reason, size_t len) {
  if (moqc__wt_app_live(c)) {
    moqc__wt_reset_session_streams(c);
    c->app_closed = true;
    c->app_ops->closed(c->app, code, reason != NULL ? reason : "", len);
  }
  c->app_closed = true;
}

/* An HTTP/3 connection error: the whole connection closes with h3code. */
void moqc__wt_fail(moqc_wt_conn *c, uint64_t h3code, const char *what) {
  MOQC_LOG(c->log, MOQC_LOG_DEBUG, "wt: connection error 0x%llx: %s",
           (unsigned long long)h3code, what);
  if (c->close_err == 0) {
    c->close_err = MOQC_ERR_PROTOCOL_VIOLATION;
  }
  if (c->state != MOQC__WT_DEAD) {
    c->state = MOQC__WT_CLOSING;
  }
  moqc__wt_app_tell_closed(c, MOQC_LITE_CODE_PROTOCOL_VIOLATION, what,
                           strlen(what));
  moqc__wt_lower_close(c, h3code, what);
}

/* Appends a copy of data to an own stream's queue (and a FIN when fin). */
int moqc__wt_queue(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                   size_t len, bool fin) {
  if (s->fin_queued) {
    return MOQC_ERR_CLOSED;
  }
  if (len > 0) {
    moqc__wt_chunk *k = moqc_mem_malloc(c->mem, sizeof(*k) + len);
    if (k == NULL) {
      return MOQC_ERR_NOMEM;
    }
    k->next = NULL;
    k->len = len;
    k->written = k->acked = 0;
    memcpy(k->data, data, len);
    if (s->out_tail != NULL) {
      s->out_tail->next = k;
    } else {
      s->out_head = k;
    }
    s->out_tail = k;
  }
  s->fin_queued = s->fin_queued || fin;
  if (!s->own_out) {
    moqc__wt_stream **op = &c->own_head;
    while (*op != NULL) {
      op = &(*op)->onext;
    }
    *op = s;
    s->onext = NULL;
    s->own_out = true;
  }
  c->lower.ops->resume_stream(c->lower.user_data, s->id);
  return 0;
}

bool moqc__wt_own_pending(const moqc__wt_stream *s) {
  if (s->blocked) {
    return false;
  }
  for (const moqc__wt_chunk *k = s->out_head; k != NULL; k = k->next) {
    if (k->written < k->len) {
      return true;
    }
  }
  return s->fin_queued && !s->fin_written;
}

/* Refuses a session stream we cannot hold. */
void moqc__wt_reject_stream(moqc_wt_conn *c, moqc__wt_stream *s,
                            uint64_t code) {
  if (s->kind == MOQC__WTS_SESSION && !s->app_known) {
    c->early_total -= s->rxlen;
    moqc_mem_free(c->mem, s->rx);
    s->rx = NULL;
    s->rxlen = s->rxcap = 0;
    s->early_fin = false;
  }
  s->kind = MOQC__WTS_SKIP;
  c->lower.ops->stop_sending(c->lower.user_data, s->id, code);
  if (!MOQC_STREAM_IS_UNI(s->id)) {
    c->lower.ops->reset_stream(c->lower.user_data, s->id, code);
  }
}

/* Appends up to what fits of data to s->rx (bounded by cap); returns the bytes
 * taken. */
moqc_ssize moqc__wt_rx_take(moqc_wt_conn *c, moqc__wt_stream *s,
                            const uint8_t *data, size_t len, size_t cap) {
  size_t room = cap > s->rxlen ? cap - s->rxlen : 0;
  size_t n = len < room ? len : room;
  if (s->rxlen + n > s->rxcap) {
    size_t ncap = s->rxcap == 0 ? 256 : s->rxcap;
    while (ncap < s->rxlen + n) {
      ncap *= 2;
    }
    ncap = ncap < cap ? ncap : cap;
    uint8_t *nb = moqc_mem_realloc(c->mem, s->rx, ncap);
    if (nb == NULL) {
      return MOQC_ERR_NOMEM;
    }
    s->rx = nb;
    s->rxcap = ncap;
  }
  if (n > 0) {
    memcpy(s->rx + s->rxlen, data, n);
  }
  s->rxlen += n;
  return (moqc_ssize)n;
}

void moqc__wt_rx_consume(moqc__wt_stream *s, size_t n) {
  if (n == 0) {
    return;
  }
  memmove(s->rx, s->rx + n, s->rxlen - n);
  s->rxlen -= n;
}

/* Fills vec with the unwritten data of an own stream. */
moqc_ssize moqc__wt_own_writev(moqc__wt_stream *s, bool *fin, moqc_vec *vec,
                               size_t veccnt) {
  size_t n = 0;
  moqc__wt_chunk *k = s->out_head;
  while (k != NULL && k->written == k->len) {
    k = k->next;
  }
  for (; k != NULL && n < veccnt; k = k->next) {
    vec[n].base = k->data + k->written;
    vec[n].len = k->len - k->written;
    n++;
  }
  *fin = s->fin_queued && k == NULL;
  s->fin_offered = *fin;
  return (moqc_ssize)n;
}

uint64_t moqc__wt_code_in(uint64_t wire) {
  uint32_t code;
  if (moqc__h3_wt_error_from_wire(wire, &code) == 0) {
    return code;
  }
  return wire == MOQC__H3_NO_ERROR ? 0 : wire;
}

uint64_t moqc__wt_code_out(uint64_t code) {
  return moqc__h3_wt_error_to_wire(code > UINT32_MAX ? UINT32_MAX
                                                     : (uint32_t)code);
}
