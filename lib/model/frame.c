/*
 * Frames: one preallocated buffer of the declared size, written in chunks, read
 * in chunks without copying (readers get references to the same buffer).
 */
#include "model/model_int.h"

#include <moqc/error.h>

#include <string.h>

int moqc__frame_new(moqc__core *c, uint64_t size, uint64_t ts, moqc_rcbuf *buf,
                    moqc__frame **out) {
  moqc__frame *f;

  if (size > MOQC_MAX_FRAME_SIZE) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  f = moqc_mem_calloc(c->mem, 1, sizeof(*f));
  if (f == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (buf != NULL) {
    moqc_rcbuf_incref(buf);
    f->buf = buf;
  } else if (moqc_rcbuf_new(&f->buf, (size_t)size, c->mem) != 0) {
    moqc_mem_free(c->mem, f);
    return MOQC_ERR_NOMEM;
  }
  f->refs = 1;
  f->size = size;
  f->timestamp = ts;
  *out = f;
  return 0;
}

void moqc__frame_unref(moqc__core *c, moqc__frame *f) {
  if (--f->refs > 0) {
    return;
  }
  moqc__wlist_clear(&f->wait, c->mem);
  moqc_rcbuf_decref(f->buf);
  moqc_mem_free(c->mem, f);
}

void moqc__frame_abort(moqc__frame *f, int err, moqc__wake *batch) {
  if (f->finished || f->err != 0) {
    return;
  }
  f->err = err;
  moqc__wlist_drain(&f->wait, batch);
}

/* ---- Producer ----------------------------------------------------------- */

int moqc_frame_producer_write(moqc_frame_producer *fp, const uint8_t *data,
                              size_t len) {
  moqc__core *c = fp->core;
  moqc__frame *f = fp->frame;
  moqc__wake batch = {NULL};
  int rv = 0;

  moqc__lock(c);
  if (f->finished || f->err != 0) {
    rv = MOQC_ERR_CLOSED;
  } else if (len > f->size - f->written) {
    rv = MOQC_ERR_WRONG_SIZE;
  } else if (len > 0) {
    /* Only this handle writes past f->written; readers see bytes below it only.
     */
    memcpy(moqc_rcbuf_data_mut(f->buf) + f->written, data, len);
    f->written += len;
    moqc_usage_add_bytes(fp->isink, len);
    moqc__wlist_drain(&f->wait, &batch);
  }
  moqc__unlock_fire(c, &batch);
  return rv;
}

int moqc_frame_producer_finish(moqc_frame_producer *fp) {
  moqc__core *c = fp->core;
  moqc__frame *f = fp->frame;
  moqc__wake batch = {NULL};
  int rv = 0;

  moqc__lock(c);
  if (f->finished || f->err != 0) {
    rv = MOQC_ERR_CLOSED;
  } else if (f->written != f->size) {
    rv = MOQC_ERR_WRONG_SIZE;
  } else {
    f->finished = true;
    moqc__wlist_drain(&f->wait, &batch);
    if (f->group != NULL) {
      moqc__group_notify_track(f->group, &batch);
    }
  }
  moqc__unlock_fire(c, &batch);
  return rv;
}

void moqc_frame_producer_abort(moqc_frame_producer *fp, int err) {
  moqc__core *c = fp->core;
  moqc__wake batch = {NULL};

  if (err >= 0) {
    err = MOQC_ERR_CANCEL;
  }
  moqc__lock(c);
  moqc__frame_abort(fp->frame, err, &batch);
  moqc__unlock_fire(c, &batch);
}

void moqc_frame_producer_del(moqc_frame_producer *fp) {
  moqc__core *c;
  moqc__wake batch = {NULL};

  if (fp == NULL) {
    return;
  }
  c = fp->core;
  moqc__lock(c);
  moqc__frame_abort(fp->frame, MOQC_ERR_DROPPED, &batch);
  moqc__frame_unref(c, fp->frame);
  moqc__unlock_fire(c, &batch);
  moqc_mem_free(c->mem, fp);
  moqc__core_decref(c);
}

/* ---- Consumer ----------------------------------------------------------- */

int moqc__frame_consumer_make(moqc__core *c, moqc__frame *f,
                              moqc_usage_scope *scope,
                              moqc_frame_consumer **out) {
  moqc_frame_consumer *fc = moqc_mem_calloc(c->mem, 1, sizeof(*fc));

  if (fc == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  fc->core = c;
  fc->frame = f;
  f->refs++;
  fc->scope = scope;
  fc->esink = moqc__scope_sink(scope);
  moqc_usage_scope_incref(scope);
  *out = fc;
  return 0;
}

uint64_t moqc_frame_consumer_size(const moqc_frame_consumer *fc) {
  return fc->frame->size;
}

uint64_t moqc_frame_consumer_timestamp(const moqc_frame_consumer *fc) {
  return fc->frame->timestamp;
}

int moqc_frame_consumer_read_chunk(moqc_frame_consumer *fc, moqc_rcbuf **buf,
                                   size_t *off, size_t *len, moqc_waker *w) {
  moqc__core *c = fc->core;
  moqc__frame *f = fc->frame;
  int rv;

  moqc__lock(c);
  if (f->err != 0) {
    rv = f->err;
  } else if (fc->cursor < f->written) {
    size_t n = (size_t)(f->written - fc->cursor);
    moqc_rcbuf_incref(f->buf);
    *buf = f->buf;
    *off = (size_t)fc->cursor;
    *len = n;
    fc->cursor = f->written;
    moqc_usage_add_bytes(fc->esink, n);
    rv = 0;
  } else if (f->finished) {
    rv = MOQC_END;
  } else {
    rv = moqc__wlist_add(&f->wait, &fc->reg, fc, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

int moqc_frame_consumer_read_all(moqc_frame_consumer *fc, moqc_rcbuf **buf,
                                 moqc_waker *w) {
  moqc__core *c = fc->core;
  moqc__frame *f = fc->frame;
  int rv;

  moqc__lock(c);
  if (f->err != 0) {
    rv = f->err;
  } else if (f->finished) {
    moqc_rcbuf_incref(f->buf);
    *buf = f->buf;
    moqc_usage_add_bytes(fc->esink, f->size - fc->cursor);
    fc->cursor = f->size;
    rv = 0;
  } else {
    rv = moqc__wlist_add(&f->wait, &fc->reg, fc, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

int moqc_frame_consumer_clone(const moqc_frame_consumer *fc,
                              moqc_frame_consumer **out) {
  moqc__core *c = fc->core;
  int rv;

  moqc__lock(c);
  rv = moqc__frame_consumer_make(c, fc->frame, fc->scope, out);
  if (rv == 0) {
    (*out)->cursor = fc->cursor;
  }
  moqc__unlock(c);
  return rv;
}

void moqc_frame_consumer_del(moqc_frame_consumer *fc) {
  moqc__core *c;

  if (fc == NULL) {
    return;
  }
  c = fc->core;
  moqc__lock(c);
  moqc__wlist_remove(&fc->reg, fc, c->mem);
  moqc__frame_unref(c, fc->frame);
  moqc__unlock(c);
  moqc_usage_scope_decref(fc->scope);
  moqc_mem_free(c->mem, fc);
  moqc__core_decref(c);
}
