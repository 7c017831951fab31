/*
 * Groups: an ordered list of frames with a bounded cache (oldest frames evicted
 * first, their indices then read as MOQC_ERR_LAGGED), producer and consumer
 * handles.
 */
#include "model/model_int.h"

#include <moqc/error.h>

#include <string.h>

int moqc__group_new(moqc__core *c, moqc__track *t, uint64_t seq,
                    moqc_tstamp now, moqc__group **out) {
  moqc__group *g = moqc_mem_calloc(c->mem, 1, sizeof(*g));

  if (g == NULL) {
    return MOQC_ERR_NOMEM;
  }
  g->core = c;
  g->track = t;
  g->refs = 1;
  g->sequence = seq;
  g->inserted = now;
  *out = g;
  return 0;
}

void moqc__group_notify_track(moqc__group *g, moqc__wake *batch) {
  if (g->track != NULL) {
    moqc__wlist_drain(&g->track->rwait, batch);
  }
}

/* Drops every cached frame (the index offset moves past them). */
static void group_clear(moqc__core *c, moqc__group *g) {
  for (size_t i = 0; i < g->nframes; i++) {
    g->frames[i]->group = NULL;
    moqc__frame_unref(c, g->frames[i]);
  }
  g->offset += g->nframes;
  g->nframes = 0;
  g->cached_bytes = 0;
  moqc__pool_release(c, g);
}

void moqc__group_unref(moqc__core *c, moqc__group *g) {
  if (--g->refs > 0) {
    return;
  }
  group_clear(c, g);
  moqc__wlist_clear(&g->wait, c->mem);
  moqc_mem_free(c->mem, g->frames);
  moqc_mem_free(c->mem, g);
}

void moqc__group_abort(moqc__core *c, moqc__group *g, int err,
                       moqc__wake *batch) {
  if (g->err != 0) {
    return;
  }
  g->err = err;
  for (size_t i = 0; i < g->nframes; i++) {
    moqc__frame_abort(g->frames[i], err, batch);
  }
  group_clear(c, g);
  moqc__wlist_drain(&g->wait, batch);
  moqc__group_notify_track(g, batch);
}

int moqc__group_append(moqc__core *c, moqc__group *g, moqc__frame *f,
                       moqc__wake *batch) {
  if (g->finished || g->err != 0) {
    return MOQC_ERR_CLOSED;
  }
  if (g->nframes == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 4;
    moqc__frame **v = moqc_mem_realloc(c->mem, g->frames, cap * sizeof(*v));
    if (v == NULL) {
      return MOQC_ERR_NOMEM;
    }
    g->frames = v;
    g->cap = cap;
  }
  /* Evict the oldest frames until the new one fits the group's cache bound. */
  while (g->nframes > 0 && g->cached_bytes + f->size > MOQC_MAX_GROUP_CACHE) {
    moqc__frame *old = g->frames[0];
    g->cached_bytes -= old->size;
    old->group = NULL;
    moqc__frame_unref(c, old);
    for (size_t i = 1; i < g->nframes; i++) {
      g->frames[i - 1] = g->frames[i];
    }
    g->nframes--;
    g->offset++;
  }
  g->frames[g->nframes++] = f;
  f->group = g;
  g->cached_bytes += f->size;
  moqc__pool_charge(c, g, f->size);
  moqc_usage_add_frames(c->isink, 1);
  moqc__wlist_drain(&g->wait, batch);
  if (f->finished) {
    moqc__group_notify_track(g, batch);
  }
  return 0;
}

/* ---- Producer ----------------------------------------------------------- */

int moqc__group_producer_make(moqc__core *c, moqc__group *g,
                              moqc_group_producer **out) {
  moqc_group_producer *gp = moqc_mem_calloc(c->mem, 1, sizeof(*gp));

  if (gp == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  gp->core = c;
  gp->group = g;
  g->refs++;
  g->producers++;
  *out = gp;
  return 0;
}

uint64_t moqc_group_producer_sequence(const moqc_group_producer *gp) {
  return gp->group->sequence;
}

/* Appends frame state f (consumed) and, when fpout is given, a producer handle
 * for it. */
static int group_producer_append(moqc_group_producer *gp, moqc__frame *f,
                                 moqc_frame_producer **fpout) {
  moqc__core *c = gp->core;
  moqc__wake batch = {NULL};
  moqc_frame_producer *fp = NULL;
  int rv;

  if (fpout != NULL) {
    fp = moqc_mem_malloc(c->mem, sizeof(*fp));
    if (fp == NULL) {
      moqc__lock(c);
      moqc__frame_unref(c, f);
      moqc__unlock(c);
      return MOQC_ERR_NOMEM;
    }
  }
  moqc__lock(c);
  rv = moqc__group_append(c, gp->group, f, &batch);
  if (rv != 0) {
    moqc__frame_unref(c, f);
    moqc__unlock(c);
    moqc_mem_free(c->mem, fp);
    return rv;
  }
  if (fp != NULL) {
    moqc__core_incref(c);
    fp->core = c;
    fp->frame = f;
    fp->isink = c->isink;
    f->refs++;
    *fpout = fp;
  } else {
    moqc_usage_add_bytes(c->isink, f->size);
  }
  moqc__unlock_fire(c, &batch);
  return 0;
}

int moqc_group_producer_write_frame(moqc_group_producer *gp,
                                    const uint8_t *data, size_t len,
                                    uint64_t timestamp) {
  moqc__frame *f;
  int rv = moqc__frame_new(gp->core, len, timestamp, NULL, &f);

  if (rv != 0) {
    return rv;
  }
  if (len > 0) {
    memcpy(moqc_rcbuf_data_mut(f->buf), data, len);
  }
  f->written = len;
  f->finished = true;
  return group_producer_append(gp, f, NULL);
}

int moqc_group_producer_write_frame_buf(moqc_group_producer *gp,
                                        moqc_rcbuf *buf, uint64_t timestamp) {
  moqc__frame *f;
  int rv = moqc__frame_new(gp->core, moqc_rcbuf_len(buf), timestamp, buf, &f);

  if (rv != 0) {
    return rv;
  }
  f->written = f->size;
  f->finished = true;
  return group_producer_append(gp, f, NULL);
}

int moqc_group_producer_create_frame(moqc_group_producer *gp, uint64_t size,
                                     uint64_t timestamp,
                                     moqc_frame_producer **out) {
  moqc__frame *f;
  int rv = moqc__frame_new(gp->core, size, timestamp, NULL, &f);

  if (rv != 0) {
    return rv;
  }
  return group_producer_append(gp, f, out);
}

uint64_t moqc_group_producer_frame_count(const moqc_group_producer *gp) {
  moqc__core *c = gp->core;
  uint64_t n;

  moqc__lock(c);
  n = gp->group->offset + gp->group->nframes;
  moqc__unlock(c);
  return n;
}

int moqc_group_producer_finish(moqc_group_producer *gp) {
  moqc__core *c = gp->core;
  moqc__group *g = gp->group;
  moqc__wake batch = {NULL};
  int rv = 0;

  moqc__lock(c);
  if (g->finished || g->err != 0) {
    rv = MOQC_ERR_CLOSED;
  } else {
    g->finished = true;
    moqc__wlist_drain(&g->wait, &batch);
    moqc__group_notify_track(g, &batch);
  }
  moqc__unlock_fire(c, &batch);
  return rv;
}

void moqc_group_producer_abort(moqc_group_producer *gp, int err) {
  moqc__core *c = gp->core;
  moqc__wake batch = {NULL};

  if (err >= 0) {
    err = MOQC_ERR_CANCEL;
  }
  moqc__lock(c);
  moqc__group_abort(c, gp->group, err, &batch);
  moqc__unlock_fire(c, &batch);
}

void moqc_group_producer_del(moqc_group_producer *gp) {
  moqc__core *c;
  moqc__group *g;
  moqc__wake batch = {NULL};

  if (gp == NULL) {
    return;
  }
  c = gp->core;
  g = gp->group;
  moqc__lock(c);
  if (--g->producers == 0 && !g->finished) {
    moqc__group_abort(c, g, MOQC_ERR_DROPPED, &batch);
  }
  moqc__group_unref(c, g);
  moqc__unlock_fire(c, &batch);
  moqc_mem_free(c->mem, gp);
  moqc__core_decref(c);
}

/* ---- Consumer ----------------------------------------------------------- */

int moqc__group_consumer_make(moqc__core *c, moqc__group *g,
                              moqc_usage_scope *scope,
                              moqc_group_consumer **out) {
  moqc_group_consumer *gc = moqc_mem_calloc(c->mem, 1, sizeof(*gc));

  if (gc == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  gc->core = c;
  gc->group = g;
  g->refs++;
  gc->scope = scope;
  gc->esink = moqc__scope_sink(scope);
  moqc_usage_scope_incref(scope);
  *out = gc;
  return 0;
}

uint64_t moqc_group_consumer_sequence(const moqc_group_consumer *gc) {
  return gc->group->sequence;
}

/*
 * Looks up frame index for a reader: 0 with *f set, MOQC_END, LAGGED, an error,
 * or PENDING (w registered on the group).
 */
static int group_lookup(moqc_group_consumer *gc, uint64_t index,
                        moqc__frame **f, moqc_waker *w) {
  moqc__core *c = gc->core;
  moqc__group *g = gc->group;
  int rv;

  if (g->err != 0) {
    return g->err;
  }
  if (index < g->offset) {
    return MOQC_ERR_LAGGED;
  }
  if (index - g->offset < g->nframes) {
    *f = g->frames[index - g->offset];
    return 0;
  }
  if (g->finished) {
    return MOQC_END;
  }
  rv = moqc__wlist_add(&g->wait, &gc->reg, gc, w, c->mem);
  return rv == 0 ? MOQC_ERR_PENDING : rv;
}

static void group_consumer_unwait(moqc_group_consumer *gc) {
  if (gc->wframe != NULL) {
    moqc__wlist_remove(&gc->reg, gc, gc->core->mem);
    moqc__frame_unref(gc->core, gc->wframe);
    gc->wframe = NULL;
  }
}

int moqc_group_consumer_next_frame(moqc_group_consumer *gc,
                                   moqc_frame_consumer **out, moqc_waker *w) {
  moqc__core *c = gc->core;
  moqc__frame *f;
  int rv;

  moqc__lock(c);
  group_consumer_unwait(gc);
  rv = group_lookup(gc, gc->cursor, &f, w);
  if (rv == 0) {
    rv = moqc__frame_consumer_make(c, f, gc->scope, out);
    if (rv == 0) {
      gc->cursor++;
      moqc_usage_add_frames(gc->esink, 1);
    }
  } else if (rv == MOQC_ERR_LAGGED) {
    gc->cursor = gc->group->offset;
  }
  moqc__unlock(c);
  return rv;
}

int moqc_group_consumer_read_frame(moqc_group_consumer *gc, moqc_rcbuf **buf,
                                   uint64_t *timestamp, moqc_waker *w) {
  moqc__core *c = gc->core;
  moqc__frame *f;
  int rv;

  moqc__lock(c);
  group_consumer_unwait(gc);
  rv = group_lookup(gc, gc->cursor, &f, w);
  if (rv == 0) {
    if (f->finished) {
      moqc_rcbuf_incref(f->buf);
      *buf = f->buf;
      if (timestamp != NULL) {
        *timestamp = f->timestamp;
      }
      gc->cursor++;
      moqc_usage_add_frames(gc->esink, 1);
      moqc_usage_add_bytes(gc->esink, f->size);
    } else if (f->err != 0) {
      rv = f->err;
      gc->cursor++;
    } else {
      /* Wait on the frame itself; hold it so its waiter list outlives the
       * registration. */
      rv = moqc__wlist_add(&f->wait, &gc->reg, gc, w, c->mem);
      if (rv == 0) {
        f->refs++;
        gc->wframe = f;
        rv = MOQC_ERR_PENDING;
      }
    }
  } else if (rv == MOQC_ERR_LAGGED) {
    gc->cursor = gc->group->offset;
  }
  moqc__unlock(c);
  return rv;
}

int moqc_group_consumer_get_frame(moqc_group_consumer *gc, uint64_t index,
                                  moqc_frame_consumer **out, moqc_waker *w) {
  moqc__core *c = gc->core;
  moqc__frame *f;
  int rv;

  moqc__lock(c);
  group_consumer_unwait(gc);
  rv = group_lookup(gc, index, &f, w);
  if (rv == 0) {
    rv = moqc__frame_consumer_make(c, f, gc->scope, out);
    if (rv == 0) {
      moqc_usage_add_frames(gc->esink, 1);
    }
  }
  moqc__unlock(c);
  return rv;
}

int moqc_group_consumer_finished(moqc_group_consumer *gc, uint64_t *count,
                                 moqc_waker *w) {
  moqc__core *c = gc->core;
  moqc__group *g = gc->group;
  int rv;

  moqc__lock(c);
  group_consumer_unwait(gc);
  if (g->err != 0) {
    rv = g->err;
  } else if (g->finished) {
    *count = g->offset + g->nframes;
    rv = 0;
  } else {
    rv = moqc__wlist_add(&g->wait, &gc->reg, gc, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

int moqc_group_consumer_clone(const moqc_group_consumer *gc,
                              moqc_group_consumer **out) {
  moqc__core *c = gc->core;
  int rv;

  moqc__lock(c);
  rv = moqc__group_consumer_make(c, gc->group, gc->scope, out);
  if (rv == 0) {
    (*out)->cursor = gc->cursor;
  }
  moqc__unlock(c);
  return rv;
}

void moqc_group_consumer_del(moqc_group_consumer *gc) {
  moqc__core *c;

  if (gc == NULL) {
    return;
  }
  c = gc->core;
  moqc__lock(c);
  group_consumer_unwait(gc);
  moqc__wlist_remove(&gc->reg, gc, c->mem);
  moqc__group_unref(c, gc->group);
  moqc__unlock(c);
  moqc_usage_scope_decref(gc->scope);
  moqc_mem_free(c->mem, gc);
  moqc__core_decref(c);
}
