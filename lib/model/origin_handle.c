/*
 * Producer and consumer handles of an origin: views, publishing, consuming by
 * path.
 */
#include "model/origin_internal.h"

#include <string.h>

/* Allocates a handle struct holding only a view (producer and consumer alike).
 */
static int handle_alloc(const moqc_mem *mem, origin_view **out) {
  origin_view *v = moqc_mem_calloc(mem, 1, sizeof(moqc_origin_producer));

  if (v == NULL) {
    return MOQC_ERR_NOMEM;
  }
  *out = v;
  return 0;
}

typedef enum handle_op {
  HANDLE_COPY,
  HANDLE_SCOPE,
  HANDLE_ROOT,
  HANDLE_USAGE
} handle_op;

/* Derives a new view from src by op: a copy, a copy narrowed to prefixes
 * (SCOPE), re-rooted at prefixes[0] (ROOT), or a copy tagged with ctx (USAGE;
 * NULL = untagged). ctx is used by USAGE only. */
static int handle_derive(const origin_view *src, handle_op op,
                         const moqc_str *prefixes, size_t count,
                         moqc_usage_ctx *ctx, origin_view **out) {
  const moqc_mem *mem = src->o->mem;
  origin_view *v;
  int rc = handle_alloc(mem, &v);

  if (rc != 0) {
    return rc;
  }
  switch (op) {
  case HANDLE_SCOPE:
    rc = moqc__origin_view_scope(v, src, prefixes, count);
    break;
  case HANDLE_ROOT:
    rc = moqc__origin_view_with_root(v, src, prefixes[0]);
    break;
  default:
    rc = moqc__origin_view_copy(v, src);
    break;
  }
  if (rc != 0) {
    moqc_mem_free(mem, v);
    return rc;
  }
  if (op == HANDLE_USAGE) {
    moqc__origin_view_set_ctx(v, ctx);
  }
  *out = v;
  return 0;
}

/* Derives a handle of type T from src into *out. */
#define HANDLE_DERIVE(T, src, op, prefixes, count, ctx, out)                   \
  do {                                                                         \
    origin_view *v_;                                                           \
    int rc_ = handle_derive((src), (op), (prefixes), (count), (ctx), &v_);     \
    if (rc_ == 0) {                                                            \
      *(out) = (T *)v_;                                                        \
    }                                                                          \
    return rc_;                                                                \
  } while (0)

static void handle_free(origin_view *v) {
  const moqc_mem *mem;

  if (v == NULL) {
    return;
  }
  mem = v->o->mem;
  moqc__origin_view_free(v);
  moqc_mem_free(mem, v);
}

static int handle_new(moqc_origin *o, origin_view **out) {
  origin_view *v;
  int rc = handle_alloc(o->mem, &v);

  if (rc != 0) {
    return rc;
  }
  rc = moqc__origin_view_root(v, o);
  if (rc != 0) {
    moqc_mem_free(o->mem, v);
    return rc;
  }
  *out = v;
  return 0;
}

static moqc_str handle_allowed(const origin_view *v, size_t i) {
  moqc_str empty = {"", 0};
  return i < v->nallowed ? v->allowed[i] : empty;
}

/* ---- Producer ------------------------------------------------------------ */

int moqc_origin_producer_new(moqc_origin *o, moqc_origin_producer **out) {
  origin_view *v;
  int rc = handle_new(o, &v);

  if (rc == 0) {
    *out = (moqc_origin_producer *)v;
  }
  return rc;
}

int moqc_origin_producer_scope(const moqc_origin_producer *p,
                               const moqc_str *prefixes, size_t count,
                               moqc_origin_producer **out) {
  HANDLE_DERIVE(moqc_origin_producer, &p->v, HANDLE_SCOPE, prefixes, count,
                NULL, out);
}

int moqc_origin_producer_with_root(const moqc_origin_producer *p,
                                   moqc_str prefix,
                                   moqc_origin_producer **out) {
  HANDLE_DERIVE(moqc_origin_producer, &p->v, HANDLE_ROOT, &prefix, 1, NULL,
                out);
}

int moqc_origin_producer_with_usage(const moqc_origin_producer *p,
                                    moqc_usage_ctx *ctx,
                                    moqc_origin_producer **out) {
  HANDLE_DERIVE(moqc_origin_producer, &p->v, HANDLE_USAGE, NULL, 0, ctx, out);
}

int moqc_origin_producer_clone(const moqc_origin_producer *p,
                               moqc_origin_producer **out) {
  HANDLE_DERIVE(moqc_origin_producer, &p->v, HANDLE_COPY, NULL, 0, NULL, out);
}

int moqc_origin_producer_consume(const moqc_origin_producer *p,
                                 moqc_origin_consumer **out) {
  HANDLE_DERIVE(moqc_origin_consumer, &p->v, HANDLE_COPY, NULL, 0, NULL, out);
}

moqc_str moqc_origin_producer_root(const moqc_origin_producer *p) {
  moqc_str s = {p->v.root, p->v.root_len};
  return s;
}

size_t moqc_origin_producer_allowed_count(const moqc_origin_producer *p) {
  return p->v.nallowed;
}

moqc_str moqc_origin_producer_allowed(const moqc_origin_producer *p, size_t i) {
  return handle_allowed(&p->v, i);
}

void moqc_origin_producer_del(moqc_origin_producer *p) {
  handle_free(p != NULL ? &p->v : NULL);
}

int moqc_origin_producer_publish(moqc_origin_producer *p, moqc_str path,
                                 const moqc_broadcast_consumer *bc,
                                 const moqc_origin_route *route,
                                 moqc_origin_publish **out) {
  return moqc__origin_publish(&p->v, path, bc, route, NULL, out);
}

/* Creates a broadcast, registers its dynamic track handler when dyn is not
 * NULL, and only then publishes it: another thread that finds the broadcast
 * through the origin finds it with its handler. */
static int create_broadcast(moqc_origin_producer *p, moqc_str path,
                            const moqc_origin_route *route,
                            moqc_broadcast_producer **bp,
                            moqc_broadcast_dynamic **dyn,
                            moqc_origin_publish **guard) {
  const origin_view *v = &p->v;
  moqc_usage_scope *ingress = NULL;
  moqc_broadcast_producer *b = NULL;
  moqc_broadcast_dynamic *d = NULL;
  moqc_broadcast_consumer *bc = NULL;
  char *abs;
  size_t abs_len;
  int rc = moqc__origin_view_resolve(v, path, &abs, &abs_len);

  if (rc != 0) {
    return rc;
  }
  if (v->ctx != NULL) {
    ingress = moqc_usage_ctx_scope(v->ctx, MOQC_DIRECTION_INGRESS,
                                   (moqc_str){abs, abs_len});
  }
  rc = moqc_broadcast_new_with_pool(&b, ingress, v->o->pool, v->o->mem);
  if (rc == 0 && dyn != NULL) {
    rc = moqc_broadcast_producer_dynamic(b, &d);
  }
  if (rc == 0) {
    rc = moqc_broadcast_producer_consume(b, &bc);
  }
  if (rc == 0) {
    rc = moqc__origin_publish(v, path, bc, route, ingress, guard);
  }
  if (bc != NULL) {
    moqc_broadcast_consumer_del(bc);
  }
  moqc_usage_scope_decref(ingress);
  moqc_mem_free(v->o->mem, abs);
  if (rc != 0) {
    moqc_broadcast_dynamic_del(d);
    moqc_broadcast_producer_del(b);
    return rc;
  }
  *bp = b;
  if (dyn != NULL) {
    *dyn = d;
  }
  return 0;
}

int moqc_origin_producer_create_broadcast(moqc_origin_producer *p,
                                          moqc_str path,
                                          const moqc_origin_route *route,
                                          moqc_broadcast_producer **bp,
                                          moqc_origin_publish **guard) {
  return create_broadcast(p, path, route, bp, NULL, guard);
}

int moqc_origin_producer_create_dynamic_broadcast(
    moqc_origin_producer *p, moqc_str path, const moqc_origin_route *route,
    moqc_broadcast_producer **bp, moqc_broadcast_dynamic **dyn,
    moqc_origin_publish **guard) {
  return create_broadcast(p, path, route, bp, dyn, guard);
}

/* ---- Consumer ------------------------------------------------------------ */

int moqc_origin_consumer_new(moqc_origin *o, moqc_origin_consumer **out) {
  origin_view *v;
  int rc = handle_new(o, &v);

  if (rc == 0) {
    *out = (moqc_origin_consumer *)v;
  }
  return rc;
}

int moqc_origin_consumer_scope(const moqc_origin_consumer *c,
                               const moqc_str *prefixes, size_t count,
                               moqc_origin_consumer **out) {
  HANDLE_DERIVE(moqc_origin_consumer, &c->v, HANDLE_SCOPE, prefixes, count,
                NULL, out);
}

int moqc_origin_consumer_with_root(const moqc_origin_consumer *c,
                                   moqc_str prefix,
                                   moqc_origin_consumer **out) {
  HANDLE_DERIVE(moqc_origin_consumer, &c->v, HANDLE_ROOT, &prefix, 1, NULL,
                out);
}

int moqc_origin_consumer_with_usage(const moqc_origin_consumer *c,
                                    moqc_usage_ctx *ctx,
                                    moqc_origin_consumer **out) {
  HANDLE_DERIVE(moqc_origin_consumer, &c->v, HANDLE_USAGE, NULL, 0, ctx, out);
}

int moqc_origin_consumer_clone(const moqc_origin_consumer *c,
                               moqc_origin_consumer **out) {
  HANDLE_DERIVE(moqc_origin_consumer, &c->v, HANDLE_COPY, NULL, 0, NULL, out);
}

moqc_str moqc_origin_consumer_root(const moqc_origin_consumer *c) {
  moqc_str s = {c->v.root, c->v.root_len};
  return s;
}

size_t moqc_origin_consumer_allowed_count(const moqc_origin_consumer *c) {
  return c->v.nallowed;
}

moqc_str moqc_origin_consumer_allowed(const moqc_origin_consumer *c, size_t i) {
  return handle_allowed(&c->v, i);
}

void moqc_origin_consumer_del(moqc_origin_consumer *c) {
  handle_free(c != NULL ? &c->v : NULL);
}

int moqc_origin_consumer_consume_broadcast(const moqc_origin_consumer *c,
                                           moqc_str path,
                                           moqc_broadcast_consumer **out) {
  const origin_view *v = &c->v;
  moqc_origin *o = v->o;
  origin_pub *pub = NULL;
  origin_node *n;
  char *abs;
  size_t abs_len;
  int rc = moqc__origin_view_resolve(v, path, &abs, &abs_len);

  if (rc != 0) {
    return rc;
  }
  moqc__origin_lock(o);
  n = moqc__origin_node_find(o, (moqc_str){abs, abs_len});
  if (n != NULL && n->active != NULL) {
    pub = n->active;
    moqc__origin_pub_incref(pub);
  }
  moqc__origin_unlock(o);
  if (pub == NULL) {
    rc = MOQC_ERR_NOT_FOUND;
  } else {
    rc = moqc__origin_stamp(v->ctx, (moqc_str){abs, abs_len}, pub->bc, NULL,
                            out);
    moqc__origin_pub_decref(pub);
  }
  moqc_mem_free(o->mem, abs);
  return rc;
}
