/*
 * Tracks: the state's lifecycle, producer handles, requests and consumer
 * handles (info, subscribe, clone). The group cache lives in track_cache.c,
 * fetches in fetch.c, subscribers in subscriber.c.
 */
#include "model/model_int.h"

#include <moqc/error.h>

#include <string.h>

void moqc_track_info_default(moqc_track_info *info) {
  info->timescale = MOQC_TIMESCALE_MILLI;
  info->retention = MOQC_DEFAULT_RETENTION;
  info->priority = 0;
  info->ordered = false;
}

int moqc__track_new(moqc__core *c, const char *name, moqc__track **out) {
  size_t len = strlen(name);
  moqc__track *t = moqc_mem_calloc(c->mem, 1, sizeof(*t));

  if (t == NULL) {
    return MOQC_ERR_NOMEM;
  }
  t->name = moqc_mem_malloc(c->mem, len + 1);
  if (t->name == NULL) {
    moqc_mem_free(c->mem, t);
    return MOQC_ERR_NOMEM;
  }
  memcpy(t->name, name, len + 1);
  t->core = c;
  t->refs = 1;
  *out = t;
  return 0;
}

void moqc__track_unref(moqc__core *c, moqc__track *t) {
  moqc__wake batch = {NULL};

  if (--t->refs > 0) {
    return;
  }
  moqc__broadcast_unlink(c, t);
  moqc__track_clear_cache(c, t, 0, &batch); /* release only: groups live on */
  while (t->fetches != NULL) {
    moqc__fetch *f = t->fetches;
    t->fetches = f->next;
    moqc_mem_free(c->mem, f);
  }
  moqc_mem_free(c->mem, t->dgrams);
  moqc__wlist_clear(&t->wait, c->mem);
  moqc__wlist_clear(&t->pwait, c->mem);
  moqc__wlist_clear(&t->uwait, c->mem);
  moqc__wlist_clear(&t->fwait, c->mem);
  moqc__wlist_clear(&t->rwait, c->mem);
  /* Nothing can be registered on the groups just released: nobody else
   * referenced them. */
  moqc__wake_discard(&batch, c->mem);
  moqc_mem_free(c->mem, t->name);
  moqc_mem_free(c->mem, t);
}

void moqc__track_set_info(moqc__track *t, const moqc_track_info *info,
                          moqc__wake *batch) {
  t->has_info = true;
  t->info = *info;
  moqc__wlist_drain(&t->wait, batch);
}

void moqc__track_fail(moqc__core *c, moqc__track *t, int err,
                      moqc__wake *batch) {
  if (t->err == 0) {
    t->err = err;
  }
  moqc__track_clear_cache(c, t, err, batch);
  for (moqc__fetch *f = t->fetches; f != NULL; f = f->next) {
    if (f->err == 0) {
      f->err = err;
    }
  }
  moqc__wlist_drain(&t->wait, batch);
  moqc__wlist_drain(&t->pwait, batch);
  moqc__wlist_drain(&t->uwait, batch);
  moqc__wlist_drain(&t->fwait, batch);
  moqc__wlist_drain(&t->rwait, batch);
}

void moqc__track_producer_drop(moqc__core *c, moqc__track *t,
                               moqc__wake *batch) {
  if (--t->producers > 0) {
    return;
  }
  t->closed = true;
  if (!t->finished || !t->has_info) {
    moqc__track_fail(c, t, MOQC_ERR_DROPPED, batch);
  } else {
    moqc__wlist_drain(&t->wait, batch);
    moqc__wlist_drain(&t->pwait, batch);
    moqc__wlist_drain(&t->uwait, batch);
    moqc__wlist_drain(&t->fwait, batch);
    moqc__wlist_drain(&t->rwait, batch);
  }
  if (t->token) {
    t->token = false;
    moqc_usage_close_subscription(c->isink);
    moqc__publisher_release(c);
  }
  moqc__broadcast_unlink(c, t);
}

void moqc__track_consumers_add(moqc__track *t, moqc__wake *batch) {
  if (t->consumers++ == 0) {
    moqc__wlist_drain(&t->uwait, batch);
  }
}

void moqc__track_consumers_sub(moqc__track *t, moqc__wake *batch) {
  if (--t->consumers == 0) {
    moqc__wlist_drain(&t->uwait, batch);
  }
}

/* ---- Producer ----------------------------------------------------------- */

int moqc__track_producer_make(moqc__core *c, moqc__track *t,
                              moqc_track_producer **out) {
  moqc_track_producer *tp = moqc_mem_calloc(c->mem, 1, sizeof(*tp));

  if (tp == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  tp->core = c;
  tp->track = t;
  t->refs++;
  t->producers++;
  *out = tp;
  return 0;
}

const char *moqc_track_producer_name(const moqc_track_producer *tp) {
  return tp->track->name;
}

int moqc_track_producer_finish(moqc_track_producer *tp) {
  moqc__core *c = tp->core;
  moqc__track *t = tp->track;
  moqc__wake batch = {NULL};
  int rv = 0;

  moqc__lock(c);
  if (t->finished || t->err != 0) {
    rv = MOQC_ERR_CLOSED;
  } else {
    t->finished = true;
    t->final_seq = t->has_max ? t->max_seq + 1 : 0;
    if (t->has_max && t->max_seq == UINT64_MAX) {
      t->final_seq = UINT64_MAX;
    }
    moqc__wlist_drain(&t->wait, &batch);
    moqc__wlist_drain(&t->rwait, &batch);
  }
  moqc__unlock_fire(c, &batch);
  return rv;
}

void moqc_track_producer_abort(moqc_track_producer *tp, int err) {
  moqc__core *c = tp->core;
  moqc__wake batch = {NULL};

  if (err >= 0) {
    err = MOQC_ERR_CANCEL;
  }
  moqc__lock(c);
  moqc__track_fail(c, tp->track, err, &batch);
  moqc__unlock_fire(c, &batch);
}

int moqc_track_producer_used(moqc_track_producer *tp, moqc_waker *w) {
  moqc__core *c = tp->core;
  moqc__track *t = tp->track;
  int rv;

  moqc__lock(c);
  rv = moqc__wlist_add(&t->uwait, &tp->ureg, tp, w, c->mem);
  if (rv == 0) {
    rv = t->consumers > 0 ? 1 : 0;
  }
  moqc__unlock(c);
  return rv;
}

int moqc_track_producer_subscription(moqc_track_producer *tp,
                                     moqc_subscription *out, moqc_waker *w) {
  moqc__core *c = tp->core;
  moqc__track *t = tp->track;
  int rv;

  moqc__lock(c);
  rv = moqc__wlist_add(&t->pwait, &tp->reg, tp, w, c->mem);
  if (rv == 0) {
    if (t->agg_has) {
      *out = t->agg;
    } else {
      rv = MOQC_END;
    }
  }
  moqc__unlock(c);
  return rv;
}

int moqc_track_producer_consume(moqc_track_producer *tp,
                                moqc_track_consumer **out) {
  moqc__core *c = tp->core;
  moqc__wake batch = {NULL};
  int rv;

  moqc__lock(c);
  rv = moqc__track_consumer_make(c, tp->track, NULL, out, &batch);
  moqc__unlock_fire(c, &batch);
  return rv;
}

int moqc_track_producer_clone(const moqc_track_producer *tp,
                              moqc_track_producer **out) {
  moqc__core *c = tp->core;
  int rv;

  moqc__lock(c);
  if (tp->track->closed) {
    rv = MOQC_ERR_CLOSED;
  } else {
    rv = moqc__track_producer_make(c, tp->track, out);
  }
  moqc__unlock(c);
  return rv;
}

void moqc_track_producer_del(moqc_track_producer *tp) {
  moqc__core *c;
  moqc__wake batch = {NULL};

  if (tp == NULL) {
    return;
  }
  c = tp->core;
  moqc__lock(c);
  moqc__wlist_remove(&tp->reg, tp, c->mem);
  moqc__wlist_remove(&tp->ureg, tp, c->mem);
  moqc__track_producer_drop(c, tp->track, &batch);
  moqc__track_unref(c, tp->track);
  moqc__unlock_fire(c, &batch);
  moqc_mem_free(c->mem, tp);
  moqc__core_decref(c);
}

/* ---- Requests ----------------------------------------------------------- */

int moqc__track_request_make(moqc__core *c, moqc__track *t,
                             moqc_track_request **out) {
  moqc_track_request *r = moqc_mem_calloc(c->mem, 1, sizeof(*r));

  if (r == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  r->core = c;
  r->track = t;
  t->refs++;
  t->producers++;
  *out = r;
  return 0;
}

const char *moqc_track_request_name(const moqc_track_request *req) {
  return req->track->name;
}

static void track_request_free(moqc_track_request *req, moqc__wake *batch) {
  moqc__core *c = req->core;

  moqc__track_producer_drop(c, req->track, batch);
  moqc__track_unref(c, req->track);
  moqc__unlock_fire(c, batch);
  moqc_mem_free(c->mem, req);
  moqc__core_decref(c);
}

/* Accepts req; with td (allocated, zeroed) also registers td as a fetch handler
 * of the track before any waiting consumer is told the track exists. */
static int track_request_accept(moqc_track_request *req,
                                const moqc_track_info *info,
                                moqc_track_producer **out,
                                moqc_track_dynamic *td) {
  moqc__core *c = req->core;
  moqc__track *t = req->track;
  moqc__wake batch = {NULL};
  moqc_track_info def;
  int rv;

  if (info == NULL) {
    moqc_track_info_default(&def);
    info = &def;
  }
  moqc__lock(c);
  if (info->timescale == 0 || info->timescale > MOQC_TIME_MAX) {
    rv = MOQC_ERR_INVALID_ARGUMENT;
  } else if (t->err != 0) {
    rv = t->err;
  } else {
    rv = moqc__track_producer_make(c, t, out);
  }
  if (rv == 0) {
    if (!t->token) {
      t->token = true;
      moqc__publisher_take(c);
      moqc_usage_open_subscription(c->isink);
    }
    if (td != NULL) {
      moqc__core_incref(c);
      td->core = c;
      td->track = t;
      t->refs++;
      t->dynamics++;
    }
    moqc__track_set_info(t, info, &batch);
  } else {
    moqc__track_fail(c, t, rv, &batch);
  }
  track_request_free(req, &batch);
  return rv;
}

int moqc_track_request_accept(moqc_track_request *req,
                              const moqc_track_info *info,
                              moqc_track_producer **out) {
  return track_request_accept(req, info, out, NULL);
}

int moqc_track_request_accept_dynamic(moqc_track_request *req,
                                      const moqc_track_info *info,
                                      moqc_track_producer **out,
                                      moqc_track_dynamic **fetch) {
  const moqc_mem *mem = req->core->mem; /* the caller's: outlives the core */
  moqc_track_dynamic *td = moqc_mem_calloc(mem, 1, sizeof(*td));
  int rv;

  if (td == NULL) {
    moqc_track_request_reject(req, MOQC_ERR_NOMEM);
    return MOQC_ERR_NOMEM;
  }
  rv = track_request_accept(req, info, out, td);
  if (rv != 0) {
    moqc_mem_free(mem, td);
  }
  *fetch = rv == 0 ? td : NULL;
  return rv;
}

void moqc_track_request_reject(moqc_track_request *req, int err) {
  moqc__core *c = req->core;
  moqc__wake batch = {NULL};

  if (err >= 0) {
    err = MOQC_ERR_CANCEL;
  }
  moqc__lock(c);
  moqc__track_fail(c, req->track, err, &batch);
  track_request_free(req, &batch);
}

/* ---- Consumer ----------------------------------------------------------- */

int moqc__track_consumer_make(moqc__core *c, moqc__track *t,
                              moqc_usage_scope *scope,
                              moqc_track_consumer **out, moqc__wake *batch) {
  moqc_track_consumer *tc = moqc_mem_calloc(c->mem, 1, sizeof(*tc));

  if (tc == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  tc->core = c;
  tc->track = t;
  tc->scope = scope;
  tc->esink = moqc__scope_sink(scope);
  moqc_usage_scope_incref(scope);
  t->refs++;
  moqc__track_consumers_add(t, batch);
  *out = tc;
  return 0;
}

const char *moqc_track_consumer_name(const moqc_track_consumer *tc) {
  return tc->track->name;
}

int moqc_track_consumer_info(moqc_track_consumer *tc, moqc_track_info *out,
                             moqc_waker *w) {
  moqc__core *c = tc->core;
  moqc__track *t = tc->track;
  int rv;

  moqc__lock(c);
  if (t->has_info) {
    *out = t->info;
    rv = 0;
  } else if (t->err != 0) {
    rv = t->err;
  } else {
    rv = moqc__wlist_add(&t->wait, &tc->reg, tc, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

int moqc_track_consumer_subscribe(moqc_track_consumer *tc,
                                  const moqc_subscription *sub,
                                  moqc_track_subscriber **out, moqc_waker *w) {
  moqc__core *c = tc->core;
  moqc__track *t = tc->track;
  moqc__wake batch = {NULL};
  moqc_track_subscriber *s;
  int rv = 0;

  moqc__lock(c);
  if (tc->pending == NULL) {
    if (t->err != 0 && !t->has_info) {
      rv = t->err;
      moqc__unlock(c);
      return rv;
    }
    rv = moqc__subscriber_new(c, t, tc->scope, sub, &tc->pending, &batch);
    if (rv != 0) {
      moqc__unlock_fire(c, &batch);
      return rv;
    }
  } else if (sub != NULL) {
    tc->pending->psub.sub = *sub;
    moqc__track_agg_update(t, &batch);
  }
  s = tc->pending;
  if (t->has_info) {
    moqc__subscriber_resolve(s);
    tc->pending = NULL;
    *out = s;
    moqc__unlock_fire(c, &batch);
    /* Metering of a resolved subscription: outside the lock (the scope is user
     * code). */
    moqc_usage_open_subscription(s->esink);
    moqc_usage_scope_viewer_open(s->scope);
    return 0;
  }
  if (t->err != 0) {
    rv = t->err;
    tc->pending = NULL;
    moqc__subscriber_detach(s, &batch);
    moqc__unlock_fire(c, &batch);
    moqc__subscriber_free(s);
    return rv;
  } else {
    rv = moqc__wlist_add(&t->wait, &tc->reg, tc, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock_fire(c, &batch);
  return rv;
}

int moqc_track_consumer_clone(const moqc_track_consumer *tc,
                              moqc_track_consumer **out) {
  moqc__core *c = tc->core;
  moqc__wake batch = {NULL};
  int rv;

  moqc__lock(c);
  rv = moqc__track_consumer_make(c, tc->track, tc->scope, out, &batch);
  moqc__unlock_fire(c, &batch);
  return rv;
}

void moqc_track_consumer_del(moqc_track_consumer *tc) {
  moqc__core *c;
  moqc__wake batch = {NULL};

  if (tc == NULL) {
    return;
  }
  c = tc->core;
  moqc__lock(c);
  moqc__wlist_remove(&tc->reg, tc, c->mem);
  if (tc->pending != NULL) {
    moqc__subscriber_detach(tc->pending, &batch);
  }
  moqc__fetch_release(c, tc);
  moqc__track_consumers_sub(tc->track, &batch);
  moqc__track_unref(c, tc->track);
  moqc__unlock_fire(c, &batch);
  if (tc->pending != NULL) {
    moqc__subscriber_free(tc->pending);
  }
  moqc_usage_scope_decref(tc->scope);
  moqc_mem_free(c->mem, tc);
  moqc__core_decref(c);
}
