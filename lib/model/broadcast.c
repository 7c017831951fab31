/*
 * Broadcasts: the shared core (lock, ingress scope, track lookup, request
 * queue) and the producer, consumer and dynamic-handler handles over it.
 */
#include "model/model_int.h"

#include <moqc/error.h>

#include <string.h>

struct moqc_broadcast_producer {
  moqc__core *core;
};

struct moqc_broadcast_consumer {
  moqc__core *core;
  moqc_usage_scope *scope;
  moqc__wreg reg;
};

struct moqc_broadcast_dynamic {
  moqc__core *core;
  moqc__wreg reg;
};

void moqc__core_incref(moqc__core *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void moqc__core_decref(moqc__core *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1) {
    return;
  }
  moqc_usage_scope_decref(c->ingress);
  moqc_cache_pool_decref(c->pool);
  pthread_mutex_destroy(&c->lock);
  moqc_mem_free(c->mem, c);
}

void moqc__unlock_fire(moqc__core *c, moqc__wake *batch) {
  pthread_mutex_unlock(&c->lock);
  moqc__wake_fire(batch, c->mem);
}

void moqc__publisher_take(moqc__core *c) {
  if (c->publishers++ == 0) {
    moqc_usage_open_broadcast(c->isink);
  }
}

void moqc__publisher_release(moqc__core *c) {
  if (--c->publishers == 0) {
    moqc_usage_close_broadcast(c->isink);
  }
}

/* Removes t from the request queue and clears its queue link. */
static void broadcast_dequeue(moqc__core *c, moqc__track *t) {
  moqc__track *prev = NULL;

  for (moqc__track *q = c->qhead; q != NULL; prev = q, q = q->qnext) {
    if (q == t) {
      if (prev != NULL) {
        prev->qnext = t->qnext;
      } else {
        c->qhead = t->qnext;
      }
      if (c->qtail == t) {
        c->qtail = prev;
      }
      break;
    }
  }
  t->qnext = NULL;
}

void moqc__broadcast_unlink(moqc__core *c, moqc__track *t) {
  if (t->in_lookup) {
    if (t->lprev != NULL) {
      t->lprev->lnext = t->lnext;
    } else {
      c->lookup = t->lnext;
    }
    if (t->lnext != NULL) {
      t->lnext->lprev = t->lprev;
    }
    t->lprev = t->lnext = NULL;
    t->in_lookup = false;
  }
  if (t->queued) {
    broadcast_dequeue(c, t);
    t->queued = false;
  }
}

static void broadcast_link(moqc__core *c, moqc__track *t) {
  t->lprev = NULL;
  t->lnext = c->lookup;
  if (c->lookup != NULL) {
    c->lookup->lprev = t;
  }
  c->lookup = t;
  t->in_lookup = true;
}

/* Rejects every queued request with err: the queue's producer and reference are
 * dropped. */
static void broadcast_reject_queued(moqc__core *c, int err, moqc__wake *batch) {
  while (c->qhead != NULL) {
    moqc__track *t = c->qhead;
    moqc__broadcast_unlink(c, t);
    moqc__track_fail(c, t, err, batch);
    moqc__track_producer_drop(c, t, batch);
    moqc__track_unref(c, t);
  }
}

static void broadcast_close(moqc__core *c, int err, moqc__wake *batch) {
  if (c->closed) {
    return;
  }
  c->closed = true;
  c->close_err = err;
  moqc__wlist_drain(&c->wait, batch);
  broadcast_reject_queued(c, err == MOQC_END ? MOQC_ERR_NOT_FOUND : err, batch);
}

/* Finds the live lookup entry for name, dropping stale (closed) entries on the
 * way. */
static moqc__track *broadcast_find(moqc__core *c, const char *name) {
  moqc__track *t = c->lookup;

  while (t != NULL) {
    moqc__track *next = t->lnext;
    if (strcmp(t->name, name) == 0) {
      if (!t->closed) {
        return t;
      }
      moqc__broadcast_unlink(c, t);
    }
    t = next;
  }
  return NULL;
}

int moqc_broadcast_new_with_pool(moqc_broadcast_producer **out,
                                 moqc_usage_scope *ingress,
                                 moqc_cache_pool *pool, const moqc_mem *mem) {
  moqc__core *c = moqc_mem_calloc(mem, 1, sizeof(*c));
  moqc_broadcast_producer *bp;

  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  bp = moqc_mem_malloc(mem, sizeof(*bp));
  if (bp == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
    moqc_mem_free(mem, bp);
    moqc_mem_free(mem, c);
    return MOQC_ERR_NOMEM;
  }
  atomic_init(&c->refs, 1);
  c->mem = mem;
  c->ingress = ingress;
  c->isink = moqc__scope_sink(ingress);
  moqc_usage_scope_incref(ingress);
  c->pool = pool;
  moqc_cache_pool_incref(pool);
  c->producers = 1;
  bp->core = c;
  *out = bp;
  return 0;
}

int moqc_broadcast_new(moqc_broadcast_producer **out, moqc_usage_scope *ingress,
                       const moqc_mem *mem) {
  return moqc_broadcast_new_with_pool(out, ingress, NULL, mem);
}

int moqc_broadcast_producer_create_track(moqc_broadcast_producer *bp,
                                         const char *name,
                                         const moqc_track_info *info,
                                         moqc_track_producer **out) {
  moqc__core *c = bp->core;
  moqc__wake batch = {NULL};
  moqc__track *t;
  moqc_track_info def;
  int rv;

  if (name == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (info == NULL) {
    moqc_track_info_default(&def);
    info = &def;
  }
  if (info->timescale == 0 || info->timescale > MOQC_TIME_MAX) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lock(c);
  if (c->closed) {
    moqc__unlock(c);
    return MOQC_ERR_CLOSED;
  }
  t = broadcast_find(c, name);
  if (t != NULL) {
    if (!t->queued || t->has_info) {
      moqc__unlock(c);
      return MOQC_ERR_DUPLICATE;
    }
    /* A consumer queued a request for this name: fulfil it. The queue's
     * producer and reference become the new handle's. */
    rv = moqc__track_producer_make(c, t, out);
    if (rv != 0) {
      moqc__unlock(c);
      return rv;
    }
    t->queued = false;
    broadcast_dequeue(c, t);
    t->producers--;
    t->refs--;
  } else {
    rv = moqc__track_new(c, name, &t);
    if (rv != 0) {
      moqc__unlock(c);
      return rv;
    }
    rv = moqc__track_producer_make(c, t, out);
    if (rv != 0) {
      moqc__track_unref(c, t);
      moqc__unlock(c);
      return rv;
    }
    t->refs--; /* the lookup is weak: the handle holds the track */
    broadcast_link(c, t);
  }
  t->token = true;
  moqc__publisher_take(c);
  moqc_usage_open_subscription(c->isink);
  moqc__track_set_info(t, info, &batch);
  moqc__unlock_fire(c, &batch);
  return 0;
}

int moqc_broadcast_producer_reserve_track(moqc_broadcast_producer *bp,
                                          const char *name,
                                          moqc_track_request **out) {
  moqc__core *c = bp->core;
  moqc__track *t;
  int rv;

  if (name == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lock(c);
  if (c->closed) {
    moqc__unlock(c);
    return MOQC_ERR_CLOSED;
  }
  t = broadcast_find(c, name);
  if (t != NULL) {
    moqc__unlock(c);
    return MOQC_ERR_DUPLICATE;
  }
  rv = moqc__track_new(c, name, &t);
  if (rv == 0) {
    rv = moqc__track_request_make(c, t, out);
    if (rv != 0) {
      moqc__track_unref(c, t);
      moqc__unlock(c);
      return rv;
    }
    t->refs--; /* the lookup is weak: the handle holds the track */
    broadcast_link(c, t);
    t->token = true;
    moqc__publisher_take(c);
    moqc_usage_open_subscription(c->isink);
  }
  moqc__unlock(c);
  return rv;
}

int moqc_broadcast_producer_remove_track(moqc_broadcast_producer *bp,
                                         const char *name) {
  moqc__core *c = bp->core;
  moqc__track *t;

  if (name == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lock(c);
  t = broadcast_find(c, name);
  if (t == NULL || t->queued) {
    moqc__unlock(c);
    return MOQC_ERR_NOT_FOUND;
  }
  moqc__broadcast_unlink(c, t);
  moqc__unlock(c);
  return 0;
}

static int broadcast_consumer_make(moqc__core *c, moqc_usage_scope *scope,
                                   moqc_broadcast_consumer **out) {
  moqc_broadcast_consumer *bc = moqc_mem_calloc(c->mem, 1, sizeof(*bc));

  if (bc == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  bc->core = c;
  bc->scope = scope;
  moqc_usage_scope_incref(scope);
  *out = bc;
  return 0;
}

int moqc_broadcast_producer_consume(moqc_broadcast_producer *bp,
                                    moqc_broadcast_consumer **out) {
  return broadcast_consumer_make(bp->core, NULL, out);
}

int moqc_broadcast_producer_dynamic(moqc_broadcast_producer *bp,
                                    moqc_broadcast_dynamic **out) {
  moqc__core *c = bp->core;
  moqc_broadcast_dynamic *d = moqc_mem_calloc(c->mem, 1, sizeof(*d));

  if (d == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  d->core = c;
  moqc__lock(c);
  c->dynamics++;
  moqc__unlock(c);
  *out = d;
  return 0;
}

void moqc_broadcast_producer_finish(moqc_broadcast_producer *bp) {
  moqc__core *c = bp->core;
  moqc__wake batch = {NULL};

  moqc__lock(c);
  broadcast_close(c, MOQC_END, &batch);
  moqc__unlock_fire(c, &batch);
}

void moqc_broadcast_producer_abort(moqc_broadcast_producer *bp, int err) {
  moqc__core *c = bp->core;
  moqc__wake batch = {NULL};

  if (err >= 0) {
    err = MOQC_ERR_CANCEL;
  }
  moqc__lock(c);
  broadcast_close(c, err, &batch);
  moqc__unlock_fire(c, &batch);
}

int moqc_broadcast_producer_clone(const moqc_broadcast_producer *bp,
                                  moqc_broadcast_producer **out) {
  moqc__core *c = bp->core;
  moqc_broadcast_producer *n = moqc_mem_malloc(c->mem, sizeof(*n));

  if (n == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  n->core = c;
  moqc__lock(c);
  c->producers++;
  moqc__unlock(c);
  *out = n;
  return 0;
}

void moqc_broadcast_producer_del(moqc_broadcast_producer *bp) {
  moqc__core *c;
  moqc__wake batch = {NULL};

  if (bp == NULL) {
    return;
  }
  c = bp->core;
  moqc_mem_free(c->mem, bp);
  moqc__lock(c);
  if (--c->producers == 0 && c->dynamics == 0) {
    broadcast_close(c, MOQC_ERR_DROPPED, &batch);
  }
  moqc__unlock_fire(c, &batch);
  moqc__core_decref(c);
}

int moqc_broadcast_dynamic_requested_track(moqc_broadcast_dynamic *d,
                                           moqc_track_request **out,
                                           moqc_waker *w) {
  moqc__core *c = d->core;
  int rv;

  moqc__lock(c);
  if (c->qhead != NULL) {
    moqc__track *t = c->qhead;
    /* The queue's producer and reference move to the request handle. */
    rv = moqc__track_request_make(c, t, out);
    if (rv == 0) {
      moqc__broadcast_unlink(c, t);
      broadcast_link(c, t); /* stays visible in the lookup */
      t->producers--;
      t->refs--;
    }
  } else if (c->closed) {
    rv = c->close_err;
  } else {
    rv = moqc__wlist_add(&c->wait, &d->reg, d, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

void moqc_broadcast_dynamic_del(moqc_broadcast_dynamic *d) {
  moqc__core *c;
  moqc__wake batch = {NULL};

  if (d == NULL) {
    return;
  }
  c = d->core;
  moqc__lock(c);
  moqc__wlist_remove(&d->reg, d, c->mem);
  if (--c->dynamics == 0) {
    broadcast_reject_queued(c, MOQC_ERR_DROPPED, &batch);
    if (c->producers == 0) {
      broadcast_close(c, MOQC_ERR_DROPPED, &batch);
    }
  }
  moqc__unlock_fire(c, &batch);
  moqc_mem_free(c->mem, d);
  moqc__core_decref(c);
}

int moqc_broadcast_consumer_track(moqc_broadcast_consumer *bc, const char *name,
                                  moqc_track_consumer **out) {
  moqc__core *c = bc->core;
  moqc__wake batch = {NULL};
  moqc__track *t;
  int rv;

  if (name == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lock(c);
  t = broadcast_find(c, name);
  if (t != NULL) {
    rv = moqc__track_consumer_make(c, t, bc->scope, out, &batch);
    moqc__unlock_fire(c, &batch);
    return rv;
  }
  if (c->closed) {
    rv = c->close_err == MOQC_END ? MOQC_ERR_NOT_FOUND : c->close_err;
    moqc__unlock(c);
    return rv;
  }
  if (c->dynamics == 0) {
    moqc__unlock(c);
    return MOQC_ERR_NOT_FOUND;
  }
  rv = moqc__track_new(c, name, &t);
  if (rv != 0) {
    moqc__unlock(c);
    return rv;
  }
  rv = moqc__track_consumer_make(c, t, bc->scope, out, &batch);
  if (rv != 0) {
    moqc__track_unref(c, t);
    moqc__unlock(c);
    return rv;
  }
  /* The queue holds the request (one reference, one producer) until a handler
   * pops it. */
  t->producers++;
  t->queued = true;
  t->qnext = NULL;
  if (c->qtail != NULL) {
    c->qtail->qnext = t;
  } else {
    c->qhead = t;
  }
  c->qtail = t;
  broadcast_link(c, t); /* track_new's reference is the queue's */
  moqc__wlist_drain(&c->wait, &batch);
  moqc__unlock_fire(c, &batch);
  return 0;
}

int moqc_broadcast_consumer_closed(moqc_broadcast_consumer *bc, moqc_waker *w) {
  moqc__core *c = bc->core;
  int rv;

  moqc__lock(c);
  if (c->closed) {
    rv = c->close_err;
  } else {
    rv = moqc__wlist_add(&c->wait, &bc->reg, bc, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

bool moqc_broadcast_consumer_is_clone(const moqc_broadcast_consumer *a,
                                      const moqc_broadcast_consumer *b) {
  return a != NULL && b != NULL && a->core == b->core;
}

int moqc_broadcast_consumer_clone(const moqc_broadcast_consumer *bc,
                                  moqc_broadcast_consumer **out) {
  return broadcast_consumer_make(bc->core, bc->scope, out);
}

int moqc_broadcast_consumer_with_usage(const moqc_broadcast_consumer *bc,
                                       moqc_usage_scope *egress,
                                       moqc_broadcast_consumer **out) {
  return broadcast_consumer_make(bc->core, egress, out);
}

moqc_usage_scope *
moqc_broadcast_consumer_usage(const moqc_broadcast_consumer *bc) {
  return bc->scope;
}

void moqc_broadcast_consumer_del(moqc_broadcast_consumer *bc) {
  moqc__core *c;

  if (bc == NULL) {
    return;
  }
  c = bc->core;
  moqc__lock(c);
  moqc__wlist_remove(&bc->reg, bc, c->mem);
  moqc__unlock(c);
  moqc_usage_scope_decref(bc->scope);
  moqc_mem_free(c->mem, bc);
  moqc__core_decref(c);
}
