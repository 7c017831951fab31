/*
 * Dynamic broadcast requests: consumers ask for paths that are not announced,
 * handlers serve them (spec/upstream-model.md 2.3, request_broadcast and
 * OriginDynamic).
 */
#include "model/origin_internal.h"

#include <string.h>

size_t moqc__origin_req_waiter_count(const origin_req *r) {
  const moqc_origin_request *h;
  size_t n = 0;

  for (h = r != NULL ? r->waiters : NULL; h != NULL; h = h->wnext) {
    n++;
  }
  return n;
}

void moqc__origin_req_free(origin_req *r, const moqc_mem *mem) {
  moqc__origin_pub_decref(r->result);
  moqc_mem_free(mem, r);
}

static void dynamic_unqueue(moqc_origin *o, origin_req *r) {
  if (r->qprev != NULL) {
    r->qprev->qnext = r->qnext;
  } else {
    o->qhead = r->qnext;
  }
  if (r->qnext != NULL) {
    r->qnext->qprev = r->qprev;
  } else {
    o->qtail = r->qprev;
  }
  r->qprev = r->qnext = NULL;
}

/* Detaches r from its node (locked). */
static void dynamic_detach(moqc_origin *o, origin_req *r) {
  origin_node *n = r->node;

  if (r->state == ORIGIN_REQ_QUEUED) {
    dynamic_unqueue(o, r);
  }
  if (n != NULL) {
    n->req = NULL;
    r->node = NULL;
    moqc__origin_node_prune(o, n);
  }
}

void moqc__origin_req_resolve_locked(moqc_origin *o, origin_req *r,
                                     origin_pub *pub, int err,
                                     origin_defer *d) {
  moqc_origin_request *h;

  if (r->state == ORIGIN_REQ_DONE) {
    return;
  }
  dynamic_detach(o, r);
  r->state = ORIGIN_REQ_DONE;
  if (pub != NULL) {
    moqc__origin_pub_incref(pub);
    r->result = pub;
  } else {
    r->err = err;
  }
  for (h = r->waiters; h != NULL; h = h->wnext) {
    moqc__origin_defer_take(d, &h->waker);
  }
}

/* Drops one reference to r (locked); a request nobody waits for any more is
 * cancelled. */
static void dynamic_req_release(moqc_origin *o, origin_req *r,
                                origin_defer *d) {
  if (--r->refs > 0) {
    return;
  }
  dynamic_detach(o, r);
  r->dead_next = d->dead_reqs;
  d->dead_reqs = r;
}

static bool dynamic_covered(const moqc_origin *o, moqc_str abs) {
  const moqc_origin_dynamic *h;

  for (h = o->handlers; h != NULL; h = h->next) {
    if (moqc__origin_view_allows(&h->v, abs)) {
      return true;
    }
  }
  return false;
}

/* Queues a new request for abs (locked), waking the handlers that cover it. */
static int dynamic_queue(moqc_origin *o, moqc_str abs, origin_req **out,
                         origin_defer *d) {
  moqc_origin_dynamic *h;
  origin_req *r;
  size_t count = 0;

  for (h = o->handlers; h != NULL; h = h->next) {
    count++;
  }
  if (moqc__origin_defer_reserve(d, count) != 0) {
    return MOQC_ERR_NOMEM;
  }
  r = moqc_mem_calloc(o->mem, 1, sizeof(*r));
  if (r == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (moqc__origin_node_get(o, abs, &r->node) != 0) {
    moqc_mem_free(o->mem, r);
    return MOQC_ERR_NOMEM;
  }
  r->node->req = r;
  r->state = ORIGIN_REQ_QUEUED;
  r->qprev = o->qtail;
  if (o->qtail != NULL) {
    o->qtail->qnext = r;
  } else {
    o->qhead = r;
  }
  o->qtail = r;
  for (h = o->handlers; h != NULL; h = h->next) {
    if (moqc__origin_view_allows(&h->v, abs)) {
      moqc__origin_defer_take(d, &h->waker);
    }
  }
  *out = r;
  return 0;
}

int moqc_origin_consumer_request_broadcast(const moqc_origin_consumer *c,
                                           moqc_str path,
                                           moqc_origin_request **out) {
  const origin_view *v = &c->v;
  moqc_origin *o = v->o;
  moqc_origin_request *h;
  origin_node *n;
  origin_defer d;
  moqc_str abs;
  int rc = 0;

  h = moqc_mem_calloc(o->mem, 1, sizeof(*h));
  if (h == NULL) {
    return MOQC_ERR_NOMEM;
  }
  rc = moqc__origin_view_resolve(v, path, &h->abs, &h->abs_len);
  if (rc != 0) {
    moqc_mem_free(o->mem, h);
    return rc;
  }
  abs.ptr = h->abs;
  abs.len = h->abs_len;
  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  n = moqc__origin_node_find(o, abs);
  if (n != NULL && n->active != NULL) {
    h->ready = n->active;
    moqc__origin_pub_incref(h->ready);
  } else if (n != NULL && n->req != NULL) {
    h->req = n->req;
  } else if (dynamic_covered(o, abs)) {
    rc = dynamic_queue(o, abs, &h->req, &d);
  } else {
    rc = MOQC_ERR_UNROUTABLE;
  }
  if (rc == 0 && h->req != NULL) {
    h->req->refs++;
    h->wnext = h->req->waiters;
    if (h->wnext != NULL) {
      h->wnext->wprev = h;
    }
    h->req->waiters = h;
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  if (rc != 0) {
    moqc_mem_free(o->mem, h->abs);
    moqc_mem_free(o->mem, h);
    return rc;
  }
  h->o = o;
  moqc_origin_incref(o);
  h->ctx = v->ctx;
  moqc_usage_ctx_incref(h->ctx);
  *out = h;
  return 0;
}

int moqc_origin_request_poll(moqc_origin_request *h,
                             moqc_broadcast_consumer **out, moqc_waker *w) {
  moqc_origin *o = h->o;
  origin_pub *pub = NULL;
  origin_defer d;
  int rc = 0;

  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  if (h->ready != NULL) {
    pub = h->ready;
  } else if (h->req->state == ORIGIN_REQ_DONE) {
    pub = h->req->result;
    rc = pub != NULL ? 0 : h->req->err;
  } else {
    moqc__origin_register_waker(&h->waker, w, &d);
    rc = MOQC_ERR_PENDING;
  }
  if (pub != NULL) {
    moqc__origin_pub_incref(pub);
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  if (pub != NULL) {
    rc = moqc__origin_stamp(h->ctx, (moqc_str){h->abs, h->abs_len}, pub->bc,
                            NULL, out);
    moqc__origin_pub_decref(pub);
  }
  return rc;
}

void moqc_origin_request_del(moqc_origin_request *h) {
  moqc_origin *o;
  origin_defer d;

  if (h == NULL) {
    return;
  }
  o = h->o;
  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  if (h->req != NULL) {
    if (h->wprev != NULL) {
      h->wprev->wnext = h->wnext;
    } else {
      h->req->waiters = h->wnext;
    }
    if (h->wnext != NULL) {
      h->wnext->wprev = h->wprev;
    }
    dynamic_req_release(o, h->req, &d);
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  moqc__origin_pub_decref(h->ready);
  moqc_waker_decref(h->waker);
  moqc_usage_ctx_decref(h->ctx);
  moqc_mem_free(o->mem, h->abs);
  moqc_mem_free(o->mem, h);
  moqc_origin_decref(o);
}

/* ---- Handlers ------------------------------------------------------------ */

static int dynamic_add(moqc_origin_dynamic *h) {
  moqc_origin *o = h->v.o;

  moqc__origin_lock(o);
  h->next = o->handlers;
  if (h->next != NULL) {
    h->next->prev = h;
  }
  o->handlers = h;
  moqc__origin_unlock(o);
  return 0;
}

int moqc_origin_producer_dynamic(const moqc_origin_producer *p,
                                 moqc_origin_dynamic **out) {
  moqc_origin_dynamic *h = moqc_mem_calloc(p->v.o->mem, 1, sizeof(*h));

  if (h == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (moqc__origin_view_copy(&h->v, &p->v) != 0) {
    moqc_mem_free(p->v.o->mem, h);
    return MOQC_ERR_NOMEM;
  }
  *out = h;
  return dynamic_add(h);
}

int moqc_origin_dynamic_clone(const moqc_origin_dynamic *d,
                              moqc_origin_dynamic **out) {
  moqc_origin_dynamic *h = moqc_mem_calloc(d->v.o->mem, 1, sizeof(*h));

  if (h == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (moqc__origin_view_copy(&h->v, &d->v) != 0) {
    moqc_mem_free(d->v.o->mem, h);
    return MOQC_ERR_NOMEM;
  }
  *out = h;
  return dynamic_add(h);
}

void moqc_origin_dynamic_del(moqc_origin_dynamic *h) {
  moqc_origin *o;
  origin_req *r, *next;
  origin_defer d;

  if (h == NULL) {
    return;
  }
  o = h->v.o;
  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  if (h->prev != NULL) {
    h->prev->next = h->next;
  } else {
    o->handlers = h->next;
  }
  if (h->next != NULL) {
    h->next->prev = h->prev;
  }
  for (r = o->qhead; r != NULL; r = next) {
    next = r->qnext;
    if (!dynamic_covered(o, (moqc_str){r->node->path, r->node->len})) {
      (void)moqc__origin_defer_reserve(&d, moqc__origin_req_waiter_count(r));
      moqc__origin_req_resolve_locked(o, r, NULL, MOQC_ERR_UNROUTABLE, &d);
    }
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  moqc_waker_decref(h->waker);
  moqc__origin_view_free(&h->v);
  moqc_mem_free(o->mem, h);
}

int moqc_origin_dynamic_next(moqc_origin_dynamic *h,
                             moqc_origin_broadcast_request **out,
                             moqc_waker *w) {
  moqc_origin *o = h->v.o;
  moqc_origin_broadcast_request *br;
  origin_req *r;
  origin_defer d;
  int rc = MOQC_ERR_PENDING;

  br = moqc_mem_calloc(o->mem, 1, sizeof(*br));
  if (br == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  for (r = o->qhead; r != NULL; r = r->qnext) {
    moqc_str abs = {r->node->path, r->node->len};
    if (moqc__origin_view_allows(&h->v, abs)) {
      moqc_str rel = moqc__origin_strip_root(h->v.root, h->v.root_len, abs);
      br->rel = moqc_mem_malloc(o->mem, rel.len + 1);
      if (br->rel == NULL) {
        rc = MOQC_ERR_NOMEM;
        break;
      }
      memcpy(br->rel, rel.ptr, rel.len);
      br->rel[rel.len] = '\0';
      br->rel_len = rel.len;
      dynamic_unqueue(o, r);
      r->state = ORIGIN_REQ_TAKEN;
      r->refs++;
      br->req = r;
      rc = 0;
      break;
    }
  }
  if (rc == MOQC_ERR_PENDING) {
    moqc__origin_register_waker(&h->waker, w, &d);
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  if (rc != 0) {
    moqc_mem_free(o->mem, br);
    return rc;
  }
  br->o = o;
  moqc_origin_incref(o);
  *out = br;
  return 0;
}

moqc_str
moqc_origin_broadcast_request_path(const moqc_origin_broadcast_request *r) {
  moqc_str s = {r->rel, r->rel_len};
  return s;
}

/* Resolves the request with pub or err and releases the handle. */
static void dynamic_finish(moqc_origin_broadcast_request *br, origin_pub *pub,
                           int err) {
  moqc_origin *o = br->o;
  origin_defer d;

  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  (void)moqc__origin_defer_reserve(&d, moqc__origin_req_waiter_count(br->req));
  moqc__origin_req_resolve_locked(o, br->req, pub, err, &d);
  dynamic_req_release(o, br->req, &d);
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  moqc__origin_pub_decref(pub);
  moqc_mem_free(o->mem, br->rel);
  moqc_mem_free(o->mem, br);
  moqc_origin_decref(o);
}

int moqc_origin_broadcast_request_accept(moqc_origin_broadcast_request *br,
                                         const moqc_broadcast_consumer *bc) {
  moqc_origin *o = br->o;
  origin_pub *pub = moqc_mem_calloc(o->mem, 1, sizeof(*pub));

  if (pub == NULL || moqc_broadcast_consumer_clone(bc, &pub->bc) != 0) {
    moqc_mem_free(o->mem, pub);
    dynamic_finish(br, NULL, MOQC_ERR_NOMEM);
    return MOQC_ERR_NOMEM;
  }
  atomic_init(&pub->refs, 1);
  pub->mem = o->mem;
  dynamic_finish(br, pub, 0);
  return 0;
}

void moqc_origin_broadcast_request_reject(moqc_origin_broadcast_request *br,
                                          int err) {
  dynamic_finish(br, NULL, err < 0 ? err : MOQC_ERR_CANCEL);
}

void moqc_origin_broadcast_request_del(moqc_origin_broadcast_request *br) {
  if (br != NULL) {
    dynamic_finish(br, NULL, MOQC_ERR_DROPPED);
  }
}
