/*
 * Announce cursors: initial set, per-path coalescing
 * (spec/upstream-model.md 2.3), delivery with egress stamping and announced
 * metering (spec/metering.md 4).
 */
#include "model/origin_internal.h"

#include <string.h>

static int announce_path_cmp(const origin_node *a, const origin_node *b) {
  size_t m = a->len < b->len ? a->len : b->len;
  int c = m > 0 ? memcmp(a->path, b->path, m) : 0;

  if (c != 0) {
    return c;
  }
  return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* Binary search of n among the cursor's pending entries (sorted by path bytes).
 */
static size_t announce_pending_index(const moqc_origin_announced *a,
                                     const origin_node *n, bool *found) {
  size_t lo = 0, hi = a->npending;

  *found = false;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = announce_path_cmp(a->pending[mid].node, n);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

static size_t announce_guard_index(const moqc_origin_announced *a,
                                   const origin_node *n, bool *found) {
  size_t lo = 0, hi = a->nguards;

  *found = false;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = announce_path_cmp(a->guards[mid].node, n);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

static int announce_pending_reserve(moqc_origin *o, moqc_origin_announced *a,
                                    size_t extra) {
  size_t need = a->npending + extra;

  if (need > a->cappending) {
    size_t cap = a->cappending * 2 > need ? a->cappending * 2 : need;
    origin_pending *p;
    if (cap < 4) {
      cap = 4;
    }
    p = moqc_mem_realloc(o->mem, a->pending, cap * sizeof(*p));
    if (p == NULL) {
      return MOQC_ERR_NOMEM;
    }
    a->pending = p;
    a->cappending = cap;
  }
  return 0;
}

static void announce_set_pub(origin_pending *e, origin_pub *pub,
                             origin_defer *d) {
  if (pub != NULL) {
    moqc__origin_pub_incref(pub);
  }
  moqc__origin_pub_decref_locked(e->pub, d);
  e->pub = pub;
}

static void announce_erase(moqc_origin_announced *a, size_t i,
                           origin_defer *d) {
  moqc__origin_pub_decref_locked(a->pending[i].pub, d);
  a->pending[i].node->pins--;
  memmove(a->pending + i, a->pending + i + 1,
          (a->npending - i - 1) * sizeof(*a->pending));
  a->npending--;
}

/*
 * Applies event ev at node n to cursor a by the coalescing table. Returns 0 or
 * MOQC_ERR_NOMEM (nothing changed) when a new entry could not be stored.
 */
static int announce_coalesce(moqc_origin *o, moqc_origin_announced *a,
                             origin_node *n, origin_event ev, origin_pub *pub,
                             origin_defer *d) {
  bool found;
  size_t i = announce_pending_index(a, n, &found);
  origin_pending *e;

  if (!found) {
    if (announce_pending_reserve(o, a, 1) != 0) {
      return MOQC_ERR_NOMEM;
    }
    memmove(a->pending + i + 1, a->pending + i,
            (a->npending - i) * sizeof(*a->pending));
    a->npending++;
    e = &a->pending[i];
    e->node = n;
    e->pub = NULL;
    n->pins++;
    e->state = ev == ORIGIN_EV_ANNOUNCE  ? ORIGIN_PEND_ANNOUNCE
               : ev == ORIGIN_EV_RESTART ? ORIGIN_PEND_RESTART
                                         : ORIGIN_PEND_UNANNOUNCE;
    announce_set_pub(e, pub, d);
    return 0;
  }
  e = &a->pending[i];
  switch (e->state) {
  case ORIGIN_PEND_ANNOUNCE:
    if (ev == ORIGIN_EV_UNANNOUNCE) {
      announce_erase(a, i, d); /* never seen: both vanish */
      return 0;
    }
    break; /* announce or restart: Announce(new) */
  case ORIGIN_PEND_UNANNOUNCE:
  case ORIGIN_PEND_UNANNOUNCE_ANNOUNCE:
    e->state = ev == ORIGIN_EV_ANNOUNCE  ? ORIGIN_PEND_UNANNOUNCE_ANNOUNCE
               : ev == ORIGIN_EV_RESTART ? ORIGIN_PEND_RESTART
                                         : ORIGIN_PEND_UNANNOUNCE;
    break;
  default: /* ORIGIN_PEND_RESTART */
    if (ev == ORIGIN_EV_UNANNOUNCE) {
      e->state = ORIGIN_PEND_UNANNOUNCE;
    }
    break;
  }
  announce_set_pub(e, ev == ORIGIN_EV_UNANNOUNCE ? NULL : pub, d);
  return 0;
}

int moqc__origin_fanout_reserve(moqc_origin *o, origin_node *n,
                                origin_defer *d) {
  size_t count = 0, i;

  for (; n != NULL; n = n->parent) {
    for (i = 0; i < n->ncursors; i++) {
      if (announce_pending_reserve(o, n->cursors[i], 1) != 0) {
        return MOQC_ERR_NOMEM;
      }
      count++;
    }
  }
  return moqc__origin_defer_reserve(d, count);
}

void moqc__origin_fanout(moqc_origin *o, origin_node *n, origin_event ev,
                         origin_pub *pub, origin_defer *d) {
  origin_node *x;
  size_t i;

  for (x = n; x != NULL; x = x->parent) {
    for (i = 0; i < x->ncursors; i++) {
      moqc_origin_announced *a = x->cursors[i];
      if (announce_coalesce(o, a, n, ev, pub, d) != 0) {
        a->lost = true; /* only when removing under memory exhaustion */
      }
      moqc__origin_defer_take(d, &a->waker);
    }
  }
}

/* Queues every active broadcast under n as an initial announce. */
static int announce_initial(moqc_origin *o, moqc_origin_announced *a,
                            origin_node *n, origin_defer *d) {
  size_t i;

  if (n->active != NULL &&
      announce_coalesce(o, a, n, ORIGIN_EV_ANNOUNCE, n->active, d) != 0) {
    return MOQC_ERR_NOMEM;
  }
  for (i = 0; i < n->nkids; i++) {
    if (announce_initial(o, a, n->kids[i], d) != 0) {
      return MOQC_ERR_NOMEM;
    }
  }
  return 0;
}

static int announce_register(moqc_origin *o, moqc_origin_announced *a,
                             origin_node *n) {
  if (n->ncursors == n->capcursors) {
    size_t cap = n->capcursors ? n->capcursors * 2 : 2;
    moqc_origin_announced **c =
        moqc_mem_realloc(o->mem, n->cursors, cap * sizeof(*c));
    if (c == NULL) {
      return MOQC_ERR_NOMEM;
    }
    n->cursors = c;
    n->capcursors = cap;
  }
  n->cursors[n->ncursors++] = a;
  return 0;
}

static void announce_unregister(moqc_origin *o, moqc_origin_announced *a,
                                origin_node *n) {
  size_t i;

  for (i = 0; i < n->ncursors; i++) {
    if (n->cursors[i] == a) {
      n->cursors[i] = n->cursors[--n->ncursors];
      break;
    }
  }
  moqc__origin_node_prune(o, n);
}

/* Drops every registration, pending entry and guard (locked); scopes are kept
 * for later. */
static void announce_detach_locked(moqc_origin *o, moqc_origin_announced *a,
                                   origin_defer *d) {
  size_t i;

  while (a->npending > 0) {
    origin_node *n = a->pending[a->npending - 1].node;
    announce_erase(a, a->npending - 1, d);
    moqc__origin_node_prune(o, n);
  }
  for (i = 0; i < a->nguards; i++) {
    origin_node *n = a->guards[i].node;
    moqc_usage_scope *s = a->guards[i].scope;
    moqc_usage_close_announce(s != NULL ? s->sink : NULL, n->len);
    n->pins--;
    moqc__origin_node_prune(o, n);
    a->guards[i].node = NULL;
  }
  for (i = 0; i < a->nregs; i++) {
    announce_unregister(o, a, a->regs[i]);
  }
  a->nregs = 0;
}

static void announce_free(moqc_origin_announced *a) {
  moqc_origin *o = a->o;
  size_t i;

  for (i = 0; i < a->nguards; i++) {
    moqc_usage_scope_decref(a->guards[i].scope);
  }
  moqc_waker_decref(a->waker);
  moqc_usage_ctx_decref(a->ctx);
  moqc_mem_free(o->mem, a->guards);
  moqc_mem_free(o->mem, a->pending);
  moqc_mem_free(o->mem, a->regs);
  moqc_mem_free(o->mem, a->root);
  moqc_mem_free(o->mem, a->out_path);
  moqc_mem_free(o->mem, a);
  moqc_origin_decref(o);
}

int moqc_origin_consumer_announced(const moqc_origin_consumer *c,
                                   moqc_origin_announced **out) {
  const origin_view *v = &c->v;
  moqc_origin *o = v->o;
  moqc_origin_announced *a;
  origin_defer d;
  size_t i;
  int rc = 0;

  a = moqc_mem_calloc(o->mem, 1, sizeof(*a));
  if (a == NULL) {
    return MOQC_ERR_NOMEM;
  }
  a->o = o;
  moqc_origin_incref(o);
  a->ctx = v->ctx;
  moqc_usage_ctx_incref(a->ctx);
  a->root = moqc_mem_malloc(o->mem, v->root_len + 1);
  a->regs = moqc_mem_calloc(o->mem, v->nallowed, sizeof(*a->regs));
  if (a->root == NULL || a->regs == NULL) {
    announce_free(a);
    return MOQC_ERR_NOMEM;
  }
  memcpy(a->root, v->root, v->root_len + 1);
  a->root_len = v->root_len;

  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  for (i = 0; i < v->nallowed && rc == 0; i++) {
    origin_node *n;
    rc = moqc__origin_node_get(o, v->allowed[i], &n);
    if (rc == 0) {
      rc = announce_register(o, a, n);
      if (rc != 0) {
        moqc__origin_node_prune(o, n);
      } else {
        a->regs[a->nregs++] = n;
        rc = announce_initial(o, a, n, &d);
      }
    }
  }
  if (rc != 0) {
    announce_detach_locked(o, a, &d);
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  if (rc != 0) {
    announce_free(a);
    return rc;
  }
  *out = a;
  return 0;
}

void moqc_origin_announced_del(moqc_origin_announced *a) {
  origin_defer d;

  if (a == NULL) {
    return;
  }
  moqc__origin_defer_init(&d, a->o->mem);
  moqc__origin_lock(a->o);
  announce_detach_locked(a->o, a, &d);
  moqc__origin_unlock(a->o);
  moqc__origin_defer_run(&d);
  announce_free(a);
}

static int announce_out_path(moqc_origin_announced *a, moqc_str rel) {
  if (rel.len + 1 > a->out_cap) {
    char *p = moqc_mem_realloc(a->o->mem, a->out_path, rel.len + 1);
    if (p == NULL) {
      return MOQC_ERR_NOMEM;
    }
    a->out_path = p;
    a->out_cap = rel.len + 1;
  }
  return 0;
}

/*
 * Commits the delivery of the first pending entry (locked; verified unchanged).
 * active tells whether it is delivered as active; scope is the egress scope the
 * consumer was stamped with. Returns the scope the caller must release, or
 * MOQC_ERR_NOMEM through *rc.
 */
static moqc_usage_scope *announce_commit(moqc_origin_announced *a, bool active,
                                         moqc_usage_scope *scope,
                                         origin_defer *d, int *rc) {
  origin_pending *e = &a->pending[0];
  origin_node *n = e->node;
  bool found;
  size_t g = announce_guard_index(a, n, &found);

  *rc = 0;
  if (active) {
    if (a->ctx != NULL && !found) {
      if (a->nguards == a->capguards) {
        size_t cap = a->capguards ? a->capguards * 2 : 4;
        origin_guard *ng =
            moqc_mem_realloc(a->o->mem, a->guards, cap * sizeof(*ng));
        if (ng == NULL) {
          *rc = MOQC_ERR_NOMEM;
          return scope;
        }
        a->guards = ng;
        a->capguards = cap;
      }
      memmove(a->guards + g + 1, a->guards + g,
              (a->nguards - g) * sizeof(*a->guards));
      a->nguards++;
      a->guards[g].node = n;
      a->guards[g].scope = scope;
      n->pins++;
      moqc_usage_open_announce(scope != NULL ? scope->sink : NULL, n->len);
      scope = NULL;
    }
    announce_erase(a, 0, d);
    return scope;
  }
  if (found) {
    moqc_usage_scope *s = a->guards[g].scope;
    moqc_usage_close_announce(s != NULL ? s->sink : NULL, n->len);
    n->pins--;
    memmove(a->guards + g, a->guards + g + 1,
            (a->nguards - g - 1) * sizeof(*a->guards));
    a->nguards--;
    scope = s; /* no stamped scope when ending: release the guard's */
  }
  if (e->state == ORIGIN_PEND_UNANNOUNCE) {
    announce_erase(a, 0, d);
  } else {
    e->state = ORIGIN_PEND_ANNOUNCE; /* ended now, active at the next take */
  }
  return scope;
}

int moqc_origin_announced_next(moqc_origin_announced *a,
                               moqc_origin_announce *out, moqc_waker *w) {
  moqc_origin *o = a->o;

  for (;;) {
    origin_defer d;
    origin_node *n;
    origin_pub *pub;
    int state, rc = 0;
    bool active;
    moqc_str abs, rel;
    moqc_usage_scope *scope = NULL;
    moqc_broadcast_consumer *bc = NULL;

    moqc__origin_defer_init(&d, o->mem);
    moqc__origin_lock(o);
    if (a->lost) {
      moqc__origin_unlock(o);
      return MOQC_ERR_NOMEM;
    }
    if (a->npending == 0) {
      moqc__origin_register_waker(&a->waker, w, &d);
      moqc__origin_unlock(o);
      moqc__origin_defer_run(&d);
      return MOQC_ERR_PENDING;
    }
    n = a->pending[0].node;
    state = a->pending[0].state;
    pub = a->pending[0].pub;
    if (pub != NULL) {
      moqc__origin_pub_incref(pub);
    }
    n->pins++; /* keeps n (and its path) alive while unlocked */
    moqc__origin_unlock(o);

    active = state == ORIGIN_PEND_ANNOUNCE;
    abs.ptr = n->path;
    abs.len = n->len;
    rel = moqc__origin_strip_root(a->root, a->root_len, abs);
    rc = announce_out_path(a, rel);
    if (rc == 0 && active) {
      rc = moqc__origin_stamp(a->ctx, abs, pub->bc, &scope, &bc);
    }

    moqc__origin_lock(o);
    if (rc == 0 && a->npending > 0 && a->pending[0].node == n &&
        a->pending[0].state == state && a->pending[0].pub == pub) {
      scope = announce_commit(a, active, scope, &d, &rc);
      if (rc == 0) {
        memcpy(a->out_path, rel.ptr, rel.len);
        a->out_path[rel.len] = '\0';
        out->path.ptr = a->out_path;
        out->path.len = rel.len;
        out->broadcast = bc;
        out->hop_count = active ? pub->nhops : 0;
        if (out->hop_count > 0) {
          memcpy(out->hops, pub->hops, pub->nhops * sizeof(uint64_t));
        }
        bc = NULL;
      }
    } else if (rc == 0) {
      rc = 1; /* changed meanwhile: retry */
    }
    n->pins--;
    moqc__origin_node_prune(o, n);
    moqc__origin_unlock(o);
    moqc__origin_defer_run(&d);
    moqc_usage_scope_decref(scope);
    if (bc != NULL) {
      moqc_broadcast_consumer_del(bc);
    }
    moqc__origin_pub_decref(pub);
    if (rc <= 0) {
      return rc;
    }
  }
}
