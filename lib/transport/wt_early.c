/*
 * Session stream bytes: handed to the application, or held (bounded) until it
 * attaches and delivered on its next poll.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

static int wt_early_append(moqc_wt_conn *c, moqc__wt_stream *s,
                           const uint8_t *data, size_t len, bool fin) {
  if (len > c->max_early_bytes || s->rxlen > c->max_early_bytes - len ||
      c->early_total + len >
          MOQC__WT_MAX_EARLY_TOTAL_FACTOR * c->max_early_bytes) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  if (s->rxlen + len > s->rxcap) {
    size_t ncap = s->rxcap == 0 ? 1024 : s->rxcap;
    while (ncap < s->rxlen + len) {
      ncap *= 2;
    }
    uint8_t *nb = moqc_mem_realloc(c->mem, s->rx, ncap);
    if (nb == NULL) {
      return MOQC_ERR_NOMEM;
    }
    s->rx = nb;
    s->rxcap = ncap;
  }
  if (len > 0) {
    memcpy(s->rx + s->rxlen, data, len);
  }
  s->rxlen += len;
  c->early_total += len;
  s->early_fin = s->early_fin || fin;
  c->early_pending = true;
  return 0;
}

/* Hands session bytes to the application, or holds them until it attaches.
 * Returns the bytes to credit (len unless the application consumes less). */
moqc_ssize moqc__wt_session_data(moqc_wt_conn *c, moqc__wt_stream *s,
                                 const uint8_t *data, size_t len, bool fin,
                                 moqc_tstamp ts) {
  if (moqc__wt_app_live(c) && c->state == MOQC__WT_OPEN && s->rxlen == 0 &&
      !s->early_fin) {
    s->app_known = true;
    moqc_ssize n = c->app_ops->read_stream(c->app, s->id, data, len, fin, ts);
    return n;
  }
  if (c->state == MOQC__WT_REQUESTED || c->state == MOQC__WT_OPEN) {
    int rv = wt_early_append(c, s, data, len, fin);
    if (rv == MOQC_ERR_NOMEM) {
      return rv;
    }
    if (rv != 0) {
      moqc__wt_reject_stream(c, s, MOQC__H3_WT_BUFFERED_STREAM_REJECTED);
    } else if (moqc__wt_app_live(c)) {
      c->lower.ops->wake(c->lower.user_data);
    }
    return (moqc_ssize)len;
  }
  /* No session (refused, closing): drop. */
  return (moqc_ssize)len;
}

static moqc__wt_stream *wt_next_early(const moqc_wt_conn *c) {
  for (size_t b = 0; b < c->nbuckets; b++) {
    for (moqc__wt_stream *s = c->buckets[b]; s != NULL; s = s->hnext) {
      if (s->kind == MOQC__WTS_SESSION && (s->rxlen > 0 || s->early_fin)) {
        return s;
      }
    }
  }
  return NULL;
}

/* Hands the bytes held for the session to the application, stream by stream
 * (the application may open streams meanwhile, so the table is searched again
 * each time). */
int moqc__wt_deliver_early(moqc_wt_conn *c, moqc_tstamp ts) {
  c->early_pending = false;
  moqc__wt_stream *s;
  while (moqc__wt_app_live(c) && c->state == MOQC__WT_OPEN &&
         (s = wt_next_early(c)) != NULL) {
    uint8_t *buf = s->rx;
    size_t len = s->rxlen;
    bool fin = s->early_fin;
    moqc_stream_id id = s->id;
    c->early_total -= len;
    s->rx = NULL;
    s->rxlen = s->rxcap = 0;
    s->early_fin = false;
    s->app_known = true;
    moqc_ssize n = c->app_ops->read_stream(c->app, id, buf, len, fin, ts);
    moqc_mem_free(c->mem, buf);
    if (n < 0) {
      return (int)n;
    }
    s = moqc__wt_stream_find(c, id);
    if (s != NULL && s->lower_gone) {
      moqc__wt_stream_remove(c, s);
      if (moqc__wt_app_live(c)) {
        int rv = c->app_ops->close_stream(c->app, id, ts);
        if (rv < 0) {
          return rv;
        }
      }
    }
  }
  return 0;
}
