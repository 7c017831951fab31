/*
 * Publisher half, Fetch streams (lite-05, spec 4.7): the peer asks for one cached group by
 * sequence; the answer is its frames, with timestamp deltas restarting at 0 and no GROUP header,
 * then FIN. A group the track does not have resets the stream with code 13.
 */
#include <string.h>

#include "session/pub_resolve.h"

typedef struct pub_fetch {
  pub_resolve r;
  uint64_t sequence;
  uint8_t priority;
} pub_fetch;

void moqc__sess_pub_fetch_free(moqc_session *s, sess_stream *st) {
  pub_fetch *f = st->ctx;
  if (f == NULL) {
    return;
  }
  moqc__sess_pub_resolve_free(s, &f->r);
  moqc_mem_free(s->mem, f);
  st->ctx = NULL;
}

int moqc__sess_pub_fetch_poll(moqc_session *s, sess_stream *st) {
  pub_fetch *f = st->ctx;
  if (f == NULL) {
    return 0;
  }
  moqc_group_consumer *gc = NULL;
  int rv = moqc__sess_pub_resolve_track(s, &f->r);
  if (rv == 0) {
    rv = moqc_track_consumer_fetch_group(f->r.tc, f->sequence, &gc, s->waker);
  }
  if (rv == MOQC_ERR_PENDING) {
    return 0;
  }
  if (rv == MOQC_ERR_NOMEM) {
    return rv;
  }
  if (rv < 0) {
    moqc__sess_abandon(s, st, rv);
    return 0;
  }
  uint8_t priority = f->priority;
  moqc__sess_pub_fetch_free(s, st);
  st->sub_priority = priority;
  return moqc__sess_pub_group_start(s, st, gc, MOQC_STREAM_NONE);
}

int moqc__sess_pub_fetch_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin) {
  pub_fetch *f = st->ctx;
  if (f == NULL) {
    moqc__lite_fetch m;
    int rv = moqc__lite_decode_fetch(p, end, s->version, &m);
    if (rv == MOQC_ERR_INCOMPLETE) {
      if (fin) {
        moqc__sess_violation(s, st, MOQC_ERR_DECODE);
      }
      return 0;
    }
    if (rv < 0) {
      moqc__sess_violation(s, st, MOQC_ERR_DECODE);
      return 0;
    }
    f = moqc_mem_calloc(s->mem, 1, sizeof(*f));
    if (f == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->ctx = f;
    f->sequence = m.group;
    f->priority = m.priority;
    if ((rv = moqc__sess_pub_resolve_init(s, &f->r, m.broadcast, m.track)) < 0) {
      return rv;
    }
    if ((rv = moqc__sess_pub_fetch_poll(s, st)) < 0) {
      return rv;
    }
  }
  /* Nothing follows FETCH. */
  *p = end;
  if (fin) {
    st->rx_done = true;
  }
  return 0;
}
