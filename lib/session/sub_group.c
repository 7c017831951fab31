/*
 * Subscriber half, data in: group streams (GROUP header, then frames streamed into the model
 * without buffering whole payloads; FIN inside a frame aborts the group) and lite-05 datagrams.
 */
#include <string.h>

#include "session/sub_int.h"

typedef struct sub_group_rx {
  moqc_group_producer *gp;
  moqc_frame_producer *fp;
  uint64_t remaining;
  bool header_read;
  moqc_timescale timescale;
  moqc__lite_frame_reader fr;
} sub_group_rx;

/* ---- Group streams in -------------------------------------------------------------------- */

static void group_abort(moqc_session *s, sess_stream *st, sub_group_rx *g, int err) {
  if (g->fp != NULL) {
    moqc_frame_producer_abort(g->fp, err);
    moqc_frame_producer_del(g->fp);
    g->fp = NULL;
  }
  if (g->gp != NULL) {
    moqc_group_producer_abort(g->gp, err);
    moqc_group_producer_del(g->gp);
    g->gp = NULL;
  }
  moqc__sess_stop(s, st, err);
}

/*
 * The stop code of a refused frame header: 27 for an oversize payload, else 5. It comes from the
 * reader, which saw the whole header, including bytes buffered from earlier reads (over QMux the
 * timestamp and the size of a lite-05 frame may arrive in separate calls).
 */
static int group_header_error(const moqc__lite_frame_reader *fr) {
  return fr->refusal == MOQC_ERR_FRAME_TOO_LARGE ? MOQC_ERR_FRAME_TOO_LARGE : MOQC_ERR_DECODE;
}

static int group_start(moqc_session *s, sess_stream *st, sub_group_rx *g, const uint8_t **p,
                       const uint8_t *end, bool fin) {
  moqc__lite_group m;
  int rv = moqc__lite_decode_group(p, end, s->version, &m);
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
  sub_track *t = moqc__sess_sub_track_by_id(s, m.subscribe_id);
  if (t == NULL || t->tp == NULL) {
    /* Unknown or cancelled subscription: stop it (spec 4.6). */
    moqc__sess_abandon(s, st, MOQC_ERR_CANCEL);
    return 0;
  }
  rv = moqc_track_producer_create_group(t->tp, m.sequence, s->now, &g->gp);
  if (rv < 0) {
    if (rv == MOQC_ERR_NOMEM) {
      return rv;
    }
    moqc__sess_abandon(s, st, rv);
    return 0;
  }
  g->header_read = true;
  g->timescale = t->info.timescale != 0 ? t->info.timescale : MOQC_TIMESCALE_MILLI;
  if (m.sequence + 1 > t->next_seq) {
    t->next_seq = m.sequence + 1;
  }
  if (t->finish_pending) {
    moqc__sess_sub_track_maybe_finish(t);
  }
  moqc__lite_frame_reader_init(&g->fr, s->version);
  return 0;
}

int moqc__sess_sub_group_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin) {
  sub_group_rx *g = st->ctx;
  int rv;
  if (g == NULL) {
    g = moqc_mem_calloc(s->mem, 1, sizeof(*g));
    if (g == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->ctx = g;
  }
  if (!g->header_read) {
    rv = group_start(s, st, g, p, end, fin);
    /* A refused stream was abandoned and its state freed. */
    if (rv < 0 || st->ctx != g || !g->header_read) {
      return rv;
    }
  }
  while (*p < end) {
    if (g->fp == NULL) {
      moqc__lite_frame_header h;
      int64_t abs_ts;
      rv = moqc__lite_frame_reader_read(&g->fr, p, end, &h, &abs_ts);
      if (rv == MOQC_ERR_INCOMPLETE) {
        break;
      }
      if (rv < 0) {
        rv = group_header_error(&g->fr);
        group_abort(s, st, g, rv);
        if (s->settings.strict) {
          moqc__sess_fail(s, rv, "bad frame header");
        }
        *p = end;
        return 0;
      }
      uint64_t ts;
      if (s->version == MOQC_LITE_05) {
        ts = (uint64_t)abs_ts;
      } else {
        moqc_timestamp now;
        ts = moqc_timestamp_from_tstamp(s->now, g->timescale, &now) == 0 ? now.value : 0;
      }
      rv = moqc_group_producer_create_frame(g->gp, h.size, ts, &g->fp);
      if (rv < 0) {
        if (rv == MOQC_ERR_NOMEM) {
          return rv;
        }
        group_abort(s, st, g, rv);
        *p = end;
        return 0;
      }
      g->remaining = h.size;
    }
    size_t n = (size_t)(end - *p);
    if (n > g->remaining) {
      n = (size_t)g->remaining;
    }
    if (n > 0 && (rv = moqc_frame_producer_write(g->fp, *p, n)) < 0) {
      group_abort(s, st, g, rv);
      *p = end;
      return 0;
    }
    *p += n;
    g->remaining -= n;
    if (g->remaining == 0) {
      rv = moqc_frame_producer_finish(g->fp);
      moqc_frame_producer_del(g->fp);
      g->fp = NULL;
      if (rv < 0) {
        group_abort(s, st, g, rv);
        *p = end;
        return 0;
      }
    }
  }
  if (fin && *p == end) {
    st->rx_done = true;
    if (g->fp != NULL || !moqc__lite_frame_reader_at_boundary(&g->fr)) {
      /* FIN inside a frame: a truncated group (spec 4.6). */
      group_abort(s, st, g, MOQC_ERR_WRONG_SIZE);
      if (s->settings.strict) {
        moqc__sess_fail(s, MOQC_ERR_WRONG_SIZE, "group ended inside a frame");
      }
      return 0;
    }
    (void)moqc_group_producer_finish(g->gp);
    moqc_group_producer_del(g->gp);
    g->gp = NULL;
  }
  return 0;
}

/* ---- Datagrams in (lite-05, spec 4.10) ------------------------------------------------------- */

int moqc__sess_sub_datagram(moqc_session *s, const uint8_t *data, size_t len) {
  moqc__lite_datagram m;
  const uint8_t *p = data;
  if (s->version != MOQC_LITE_05 ||
      moqc__lite_decode_datagram(&p, data + len, s->version, &m) != 0) {
    return 0;
  }
  sub_track *t = moqc__sess_sub_track_by_id(s, m.subscribe_id);
  if (t == NULL || t->tp == NULL || t->ended) {
    return 0; /* Unknown subscription: dropped silently. */
  }
  /* The model numbers datagrams itself; the wire sequence is not kept. */
  int rv = moqc_track_producer_write_datagram(t->tp, m.payload, m.size, m.timestamp, s->now);
  return rv == MOQC_ERR_NOMEM ? rv : 0;
}

int moqc__sess_sub_group_attach(moqc_session *s, sess_stream *st, moqc_group_producer *gp,
                                moqc_timescale timescale) {
  sub_group_rx *g = moqc_mem_calloc(s->mem, 1, sizeof(*g));
  if (g == NULL) {
    moqc_group_producer_abort(gp, MOQC_ERR_NOMEM);
    moqc_group_producer_del(gp);
    return MOQC_ERR_NOMEM;
  }
  g->gp = gp;
  g->header_read = true;
  g->timescale = timescale != 0 ? timescale : MOQC_TIMESCALE_MILLI;
  moqc__lite_frame_reader_init(&g->fr, s->version);
  st->kind = SK_GROUP_RX;
  st->ctx = g;
  return 0;
}

void moqc__sess_sub_group_reset(moqc_session *s, sess_stream *st, int err) {
  sub_group_rx *g = st->ctx;
  if (g != NULL) {
    group_abort(s, st, g, err);
  }
}

void moqc__sess_sub_group_free(moqc_session *s, sess_stream *st) {
  (void)s;
  sub_group_rx *g = st->ctx;
  if (g != NULL) {
    moqc_frame_producer_del(g->fp);
    moqc_group_producer_del(g->gp);
  }
}
