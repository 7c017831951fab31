/*
 * Publisher half, Track streams (lite-05 TRACK -> TRACK_INFO, spec 4.4): resolving a broadcast
 * and track of the local origin and answering with the track's info.
 */
#include <string.h>

#include "session/pub_resolve.h"

typedef struct pub_track {
  pub_resolve r;
  bool answered;
} pub_track;

void moqc__sess_pub_track_free(moqc_session *s, sess_stream *st) {
  pub_track *t = st->ctx;
  if (t == NULL) {
    return;
  }
  moqc__sess_pub_resolve_free(s, &t->r);
  moqc_mem_free(s->mem, t);
  st->ctx = NULL;
}

int moqc__sess_pub_track_poll(moqc_session *s, sess_stream *st) {
  pub_track *t = st->ctx;
  if (t == NULL || t->answered) {
    return 0;
  }
  moqc_track_info info;
  int rv = moqc__sess_pub_resolve_info(s, &t->r, &info);
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
  uint8_t buf[MOQC_LITE_MAX_TRACK_INFO_SIZE];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_track_info m;
  moqc__sess_pub_info_to_wire(&info, &m);
  if (moqc__lite_encode_track_info(&w, s->version, &m) < 0) {
    moqc__sess_abandon(s, st, MOQC_ERR_ENCODE);
    return 0;
  }
  t->answered = true;
  if ((rv = moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w))) < 0) {
    return rv;
  }
  moqc__sess_queue_fin(s, st);
  /* Nothing more is needed from the model. */
  moqc__sess_pub_resolve_free(s, &t->r);
  return 0;
}

int moqc__sess_pub_track_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin) {
  pub_track *t = st->ctx;
  if (t == NULL) {
    moqc__lite_track m;
    int rv = moqc__lite_decode_track(p, end, s->version, &m);
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
    t = moqc_mem_calloc(s->mem, 1, sizeof(*t));
    if (t == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->ctx = t;
    if ((rv = moqc__sess_pub_resolve_init(s, &t->r, m.broadcast, m.track)) < 0) {
      return rv;
    }
    if ((rv = moqc__sess_pub_track_poll(s, st)) < 0) {
      return rv;
    }
  }
  /* Nothing follows TRACK; the requester FINs (or resets) once it has TRACK_INFO. */
  *p = end;
  if (fin) {
    st->rx_done = true;
  }
  return 0;
}
