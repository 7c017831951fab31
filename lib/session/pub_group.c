/*
 * Publisher half, group streams out (spec 4.6): the frames of one model group, each FRAME header
 * followed by the model's own buffers (rcbuf references held until acknowledged, never copied),
 * reading ahead at most group_queue_bytes; FIN at the end, reset when the group aborts. Also the
 * answer of a Fetch stream (no GROUP header).
 */
#include <string.h>

#include "session/pub_resolve.h"

/* ---- Group streams ------------------------------------------------------------------------- */

void moqc__sess_pub_group_free(moqc_session *s, sess_stream *st) {
  pub_group *g = st->ctx;
  if (g == NULL) {
    return;
  }
  moqc_frame_consumer_del(g->fc);
  moqc_group_consumer_del(g->gc);
  moqc_mem_free(s->mem, g);
  st->ctx = NULL;
}

/* The Subscribe stream a group stream serves, or NULL (a fetch, or a subscription gone). */
static sess_stream *group_sub(moqc_session *s, const pub_group *g) {
  sess_stream *st = moqc__sess_find(s, g->sub_stream);
  if (st == NULL || st->kind != SK_SUBSCRIBE_PUB || st->ctx == NULL) {
    return NULL;
  }
  return st;
}

void moqc__sess_pub_group_done(moqc_session *s, sess_stream *st) {
  pub_group *g = st->ctx;
  if (g == NULL || g->done) {
    return;
  }
  g->done = true;
  moqc_frame_consumer_del(g->fc);
  g->fc = NULL;
  moqc_group_consumer_del(g->gc);
  g->gc = NULL;
  sess_stream *sub_st = group_sub(s, g);
  if (sub_st != NULL) {
    (void)moqc__sess_pub_sub_maybe_finish(s, sub_st);
  }
}

void moqc__sess_pub_group_stopped(moqc_session *s, sess_stream *st) {
  if (st->kind != SK_GROUP_TX) {
    return;
  }
  pub_group *g = st->ctx;
  if (g != NULL && !g->done) {
    moqc__sess_pub_group_done(s, st);
    return;
  }
  sess_stream *sub_st = g != NULL ? group_sub(s, g) : NULL;
  if (sub_st != NULL) {
    (void)moqc__sess_pub_sub_maybe_finish(s, sub_st);
  }
}

int moqc__sess_pub_group_poll(moqc_session *s, sess_stream *st) {
  pub_group *g = st->ctx;
  if (g == NULL || g->done || st->send_done) {
    return 0;
  }
  int rv;
  while (moqc__sess_unwritten(st) < s->settings.group_queue_bytes) {
    if (g->fc == NULL) {
      rv = moqc_group_consumer_next_frame(g->gc, &g->fc, s->waker);
      if (rv == MOQC_ERR_PENDING) {
        return 0;
      }
      if (rv == MOQC_END) {
        moqc__sess_queue_fin(s, st);
        moqc__sess_pub_group_done(s, st);
        return 0;
      }
      if (rv < 0) {
        if (rv == MOQC_ERR_NOMEM) {
          return rv;
        }
        moqc__sess_reset(s, st, rv);
        moqc__sess_pub_group_done(s, st);
        return 0;
      }
      uint64_t ts = moqc_frame_consumer_timestamp(g->fc);
      moqc__lite_frame_header h;
      h.size = moqc_frame_consumer_size(g->fc);
      h.ts_delta = s->version == MOQC_LITE_05 ? (int64_t)(ts - g->last_ts) : 0;
      g->last_ts = ts;
      uint8_t buf[MOQC_LITE_MAX_FRAME_HEADER_SIZE];
      moqc__writer w;
      moqc__writer_init(&w, buf, sizeof(buf));
      if (moqc__lite_encode_frame_header(&w, s->version, &h) < 0) {
        moqc__sess_reset(s, st, MOQC_ERR_FRAME_TOO_LARGE);
        moqc__sess_pub_group_done(s, st);
        return 0;
      }
      if ((rv = moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w))) < 0) {
        return rv;
      }
    }
    moqc_rcbuf *buf;
    size_t off, len;
    rv = moqc_frame_consumer_read_chunk(g->fc, &buf, &off, &len, s->waker);
    if (rv == MOQC_ERR_PENDING) {
      return 0;
    }
    if (rv == MOQC_END) {
      moqc_frame_consumer_del(g->fc);
      g->fc = NULL;
      continue;
    }
    if (rv < 0) {
      if (rv == MOQC_ERR_NOMEM) {
        return rv;
      }
      moqc__sess_reset(s, st, rv);
      moqc__sess_pub_group_done(s, st);
      return 0;
    }
    /* Zero copy: the chunk keeps a reference to the model's buffer until acknowledged. */
    rv = moqc__sess_queue_buf(s, st, buf, off, len);
    moqc_rcbuf_decref(buf);
    if (rv < 0) {
      return rv;
    }
  }
  return 0;
}

int moqc__sess_pub_group_start(moqc_session *s, sess_stream *gs, moqc_group_consumer *gc,
                          moqc_stream_id sub_stream) {
  pub_group *g = moqc_mem_calloc(s->mem, 1, sizeof(*g));
  if (g == NULL) {
    moqc_group_consumer_del(gc);
    return MOQC_ERR_NOMEM;
  }
  g->sub_stream = sub_stream;
  g->gc = gc;
  g->arrival = s->now;
  gs->kind = SK_GROUP_TX;
  gs->ctx = g;
  gs->sclass = SESS_CLASS_GROUP;
  gs->sequence = moqc_group_consumer_sequence(gc);
  moqc__sess_sched_update(s, gs);
  return moqc__sess_pub_group_poll(s, gs);
}
