/*
 * The origin: lifetime, the path tree, publications and duplicate-publisher
 * ordering (spec/upstream-model.md 2.2-2.4).
 */
#include "model/origin_internal.h"

#include <string.h>

#define ORIGIN_HASH_SEED 0x420C0DECB00BULL
#define ORIGIN_HASH_PRIME 0x100000001b3ULL

void moqc_origin_settings_default(moqc_origin_settings *s) {
  memset(s, 0, sizeof(*s));
}

int moqc_origin_new_versioned(moqc_origin **out, int settings_version,
                              const moqc_origin_settings *settings) {
  moqc_origin_settings s;
  moqc_origin *o;

  if (settings_version != MOQC_ORIGIN_SETTINGS_V1) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (settings != NULL) {
    s = *settings;
  } else {
    moqc_origin_settings_default(&s);
  }
  o = moqc_mem_calloc(s.mem, 1, sizeof(*o));
  if (o == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (pthread_mutex_init(&o->lock, NULL) != 0) {
    moqc_mem_free(s.mem, o);
    return MOQC_ERR_NOMEM;
  }
  atomic_init(&o->refs, 1);
  o->mem = s.mem;
  o->pool = s.cache_pool;
  if (o->pool != NULL) {
    moqc_cache_pool_incref(o->pool);
  }
  o->id = s.id != 0 ? s.id : 1 + s.random % (MOQC_ORIGIN_ID_LIMIT - 1);
  o->root.path = (char *)"";
  *out = o;
  return 0;
}

uint64_t moqc_origin_id(const moqc_origin *o) {
  return o->id;
}

void moqc_origin_incref(moqc_origin *o) {
  atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void moqc_origin_decref(moqc_origin *o) {
  if (o == NULL ||
      atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1) {
    return;
  }
  /* Every handle holds a reference, so the tree holds nothing but the root now.
   */
  moqc_mem_free(o->mem, o->root.kids);
  moqc_mem_free(o->mem, o->root.backups);
  moqc_mem_free(o->mem, o->root.cursors);
  pthread_mutex_destroy(&o->lock);
  moqc_cache_pool_decref(o->pool);
  moqc_mem_free(o->mem, o);
}

void moqc__origin_lock(moqc_origin *o) {
  pthread_mutex_lock(&o->lock);
}

void moqc__origin_unlock(moqc_origin *o) {
  pthread_mutex_unlock(&o->lock);
}

/* ---- Deferred work ------------------------------------------------------- */

void moqc__origin_defer_init(origin_defer *d, const moqc_mem *mem) {
  memset(d, 0, sizeof(*d));
  d->mem = mem;
  d->wakers = d->inline_wakers;
  d->capwakers = sizeof(d->inline_wakers) / sizeof(d->inline_wakers[0]);
}

int moqc__origin_defer_reserve(origin_defer *d, size_t extra) {
  size_t need = d->nwakers + extra, cap;
  moqc_waker **w;

  if (need <= d->capwakers) {
    return 0;
  }
  cap = d->capwakers * 2 > need ? d->capwakers * 2 : need;
  w = moqc_mem_malloc(d->mem, cap * sizeof(*w));
  if (w == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(w, d->wakers, d->nwakers * sizeof(*w));
  if (d->wakers != d->inline_wakers) {
    moqc_mem_free(d->mem, d->wakers);
  }
  d->wakers = w;
  d->capwakers = cap;
  return 0;
}

/*
 * Moves the waker registered in *slot (if any) to the list fired after
 * unlocking. When the list cannot grow (out of memory on a path that cannot
 * fail) the waker stays registered.
 */
void moqc__origin_defer_take(origin_defer *d, moqc_waker **slot) {
  if (*slot == NULL) {
    return;
  }
  if (d->nwakers == d->capwakers && moqc__origin_defer_reserve(d, 1) != 0) {
    return;
  }
  d->wakers[d->nwakers++] = *slot;
  *slot = NULL;
}

static void origin_pub_free(origin_pub *p) {
  moqc_broadcast_consumer_del(p->bc);
  moqc_mem_free(p->mem, p);
}

void moqc__origin_defer_run(origin_defer *d) {
  size_t i;

  for (i = 0; i < d->nwakers; i++) {
    moqc_waker_wake(d->wakers[i]);
    moqc_waker_decref(d->wakers[i]);
  }
  if (d->wakers != d->inline_wakers) {
    moqc_mem_free(d->mem, d->wakers);
  }
  d->wakers = d->inline_wakers;
  d->nwakers = 0;
  d->capwakers = sizeof(d->inline_wakers) / sizeof(d->inline_wakers[0]);
  while (d->dead_pubs != NULL) {
    origin_pub *p = d->dead_pubs;
    d->dead_pubs = p->dead_next;
    origin_pub_free(p);
  }
  while (d->dead_reqs != NULL) {
    origin_req *r = d->dead_reqs;
    d->dead_reqs = r->dead_next;
    moqc__origin_req_free(r, d->mem);
  }
  moqc_waker_decref(d->drop_waker);
  d->drop_waker = NULL;
}

/*
 * Registers w in *slot (w may be NULL: nothing registered). A different waker
 * already there is released after unlocking. Returns 0.
 */
int moqc__origin_register_waker(moqc_waker **slot, moqc_waker *w,
                                origin_defer *d) {
  if (w == NULL || *slot == w) {
    return 0;
  }
  moqc_waker_incref(w);
  if (*slot != NULL) {
    d->drop_waker = *slot;
  }
  *slot = w;
  return 0;
}

/* ---- Publications -------------------------------------------------------- */

void moqc__origin_pub_incref(origin_pub *p) {
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void moqc__origin_pub_decref(origin_pub *p) {
  if (p != NULL &&
      atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
    origin_pub_free(p);
  }
}

void moqc__origin_pub_decref_locked(origin_pub *p, origin_defer *d) {
  if (p != NULL &&
      atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
    p->dead_next = d->dead_pubs;
    d->dead_pubs = p;
  }
}

static uint64_t origin_hash(moqc_str abs, const uint64_t *hops, size_t n) {
  uint64_t h = ORIGIN_HASH_SEED;
  size_t i, b;

  for (i = 0; i < abs.len; i++) {
    h ^= (uint8_t)abs.ptr[i];
    h *= ORIGIN_HASH_PRIME;
  }
  for (i = 0; i < n; i++) {
    for (b = 0; b < 8; b++) {
      h ^= (uint8_t)(hops[i] >> (8 * b));
      h *= ORIGIN_HASH_PRIME;
    }
  }
  return h;
}

/* Orders publications: negative when a should be active rather than b. */
static int origin_pub_cmp(const origin_pub *a, const origin_pub *b) {
  if (a->nhops != b->nhops) {
    return a->nhops < b->nhops ? -1 : 1;
  }
  if (a->epoch != b->epoch) {
    return a->epoch > b->epoch ? -1 : 1;
  }
  if (a->hash != b->hash) {
    return a->hash < b->hash ? -1 : 1;
  }
  return 0;
}

/* ---- The path tree ------------------------------------------------------- */

static int origin_seg_cmp(const origin_node *n, moqc_str seg) {
  size_t nlen = n->len - n->seg_off;
  size_t m = nlen < seg.len ? nlen : seg.len;
  int c = m > 0 ? memcmp(n->path + n->seg_off, seg.ptr, m) : 0;

  if (c != 0) {
    return c;
  }
  return nlen < seg.len ? -1 : nlen > seg.len ? 1 : 0;
}

/* Binary search of seg among n's children: returns the index where it is or
 * would be. */
static size_t origin_kid_index(const origin_node *n, moqc_str seg,
                               bool *found) {
  size_t lo = 0, hi = n->nkids;

  *found = false;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = origin_seg_cmp(n->kids[mid], seg);
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

origin_node *moqc__origin_node_find(moqc_origin *o, moqc_str abs) {
  origin_node *n = &o->root;
  moqc_str rest = abs, seg;

  while (moqc_path_next_part(&rest, &seg)) {
    bool found;
    size_t i = origin_kid_index(n, seg, &found);
    if (!found) {
      return NULL;
    }
    n = n->kids[i];
  }
  return n;
}

static int origin_node_add_kid(moqc_origin *o, origin_node *n, size_t at,
                               moqc_str abs, moqc_str seg, origin_node **out) {
  origin_node *k;
  size_t len = (size_t)(seg.ptr + seg.len - abs.ptr);

  if (n->nkids == n->capkids) {
    size_t cap = n->capkids ? n->capkids * 2 : 4;
    origin_node **kids = moqc_mem_realloc(o->mem, n->kids, cap * sizeof(*kids));
    if (kids == NULL) {
      return MOQC_ERR_NOMEM;
    }
    n->kids = kids;
    n->capkids = cap;
  }
  k = moqc_mem_calloc(o->mem, 1, sizeof(*k));
  if (k == NULL) {
    return MOQC_ERR_NOMEM;
  }
  k->path = moqc_mem_malloc(o->mem, len + 1);
  if (k->path == NULL) {
    moqc_mem_free(o->mem, k);
    return MOQC_ERR_NOMEM;
  }
  memcpy(k->path, abs.ptr, len);
  k->path[len] = '\0';
  k->len = len;
  k->seg_off = (size_t)(seg.ptr - abs.ptr);
  k->parent = n;
  memmove(n->kids + at + 1, n->kids + at, (n->nkids - at) * sizeof(*n->kids));
  n->kids[at] = k;
  n->nkids++;
  *out = k;
  return 0;
}

int moqc__origin_node_get(moqc_origin *o, moqc_str abs, origin_node **out) {
  origin_node *n = &o->root;
  moqc_str rest = abs, seg;

  while (moqc_path_next_part(&rest, &seg)) {
    bool found;
    size_t i = origin_kid_index(n, seg, &found);
    if (found) {
      n = n->kids[i];
    } else if (origin_node_add_kid(o, n, i, abs, seg, &n) != 0) {
      moqc__origin_node_prune(o, n);
      return MOQC_ERR_NOMEM;
    }
  }
  *out = n;
  return 0;
}

static bool origin_node_unused(const origin_node *n) {
  return n->active == NULL && n->nbackups == 0 && n->nkids == 0 &&
         n->ncursors == 0 && n->pins == 0 && n->req == NULL;
}

void moqc__origin_node_prune(moqc_origin *o, origin_node *n) {
  while (n != NULL && n != &o->root && origin_node_unused(n)) {
    origin_node *parent = n->parent;
    bool found;
    moqc_str seg = {n->path + n->seg_off, n->len - n->seg_off};
    size_t i = origin_kid_index(parent, seg, &found);

    if (found) {
      memmove(parent->kids + i, parent->kids + i + 1,
              (parent->nkids - i - 1) * sizeof(*parent->kids));
      parent->nkids--;
    }
    moqc_mem_free(o->mem, n->kids);
    moqc_mem_free(o->mem, n->backups);
    moqc_mem_free(o->mem, n->cursors);
    moqc_mem_free(o->mem, n->path);
    moqc_mem_free(o->mem, n);
    n = parent;
  }
}

/* ---- Publish and unpublish ----------------------------------------------- */

int moqc__origin_stamp(moqc_usage_ctx *ctx, moqc_str abs,
                       const moqc_broadcast_consumer *bc,
                       moqc_usage_scope **scope_out,
                       moqc_broadcast_consumer **out) {
  moqc_usage_scope *scope;
  int rc;

  if (scope_out != NULL) {
    *scope_out = NULL;
  }
  if (ctx == NULL) {
    return moqc_broadcast_consumer_clone(bc, out);
  }
  scope = moqc_usage_ctx_scope(ctx, MOQC_DIRECTION_EGRESS, abs);
  rc = moqc_broadcast_consumer_with_usage(bc, scope, out);
  if (rc == 0 && scope_out != NULL) {
    *scope_out = scope;
  } else {
    moqc_usage_scope_decref(scope);
  }
  return rc;
}

static int origin_backups_reserve(moqc_origin *o, origin_node *n) {
  if (n->nbackups == n->capbackups) {
    size_t cap = n->capbackups ? n->capbackups * 2 : 2;
    origin_pub **b = moqc_mem_realloc(o->mem, n->backups, cap * sizeof(*b));
    if (b == NULL) {
      return MOQC_ERR_NOMEM;
    }
    n->backups = b;
    n->capbackups = cap;
  }
  return 0;
}

/* Finds a publication at n sharing its broadcast with bc. */
static origin_pub *origin_find_clone(origin_node *n,
                                     const moqc_broadcast_consumer *bc) {
  size_t i;

  if (n->active != NULL &&
      moqc_broadcast_consumer_is_clone(n->active->bc, bc)) {
    return n->active;
  }
  for (i = 0; i < n->nbackups; i++) {
    if (moqc_broadcast_consumer_is_clone(n->backups[i]->bc, bc)) {
      return n->backups[i];
    }
  }
  return NULL;
}

/* Inserts pub at n (locked). Returns 0 or MOQC_ERR_NOMEM with nothing changed.
 */
static int origin_insert_locked(moqc_origin *o, origin_node *n, origin_pub *pub,
                                origin_defer *d) {
  if (n->active == NULL) {
    if (moqc__origin_fanout_reserve(o, n, d) != 0 ||
        moqc__origin_defer_reserve(d, moqc__origin_req_waiter_count(n->req)) !=
            0) {
      return MOQC_ERR_NOMEM;
    }
    n->active = pub;
    moqc__origin_fanout(o, n, ORIGIN_EV_ANNOUNCE, pub, d);
    if (n->req != NULL) {
      /* A pending dynamic request prefers the announced broadcast. */
      moqc__origin_req_resolve_locked(o, n->req, pub, 0, d);
    }
    return 0;
  }
  if (origin_backups_reserve(o, n) != 0) {
    return MOQC_ERR_NOMEM;
  }
  if (origin_pub_cmp(pub, n->active) < 0) {
    if (moqc__origin_fanout_reserve(o, n, d) != 0) {
      return MOQC_ERR_NOMEM;
    }
    n->backups[n->nbackups++] = n->active;
    n->active = pub;
    moqc__origin_fanout(o, n, ORIGIN_EV_RESTART, pub, d);
  } else {
    n->backups[n->nbackups++] = pub;
  }
  return 0;
}

int moqc__origin_publish(const origin_view *v, moqc_str path,
                         const moqc_broadcast_consumer *bc,
                         const moqc_origin_route *route,
                         moqc_usage_scope *ingress, moqc_origin_publish **out) {
  moqc_origin *o = v->o;
  moqc_origin_publish *g;
  origin_pub *pub, *existing;
  origin_defer d;
  char *abs;
  size_t abs_len, i, nhops = route != NULL ? route->count : 0;
  int rc;

  if (nhops > MOQC_ORIGIN_MAX_HOPS) {
    return MOQC_ERR_TOO_MANY_ORIGINS;
  }
  for (i = 0; i < nhops; i++) {
    if (route->hops[i] == o->id) {
      return MOQC_ERR_LOOP;
    }
  }
  rc = moqc__origin_view_resolve(v, path, &abs, &abs_len);
  if (rc != 0) {
    return rc;
  }
  g = moqc_mem_calloc(o->mem, 1, sizeof(*g));
  pub = moqc_mem_calloc(o->mem, 1, sizeof(*pub));
  if (g == NULL || pub == NULL) {
    rc = MOQC_ERR_NOMEM;
    goto fail;
  }
  rc = moqc_broadcast_consumer_clone(bc, &pub->bc);
  if (rc != 0) {
    goto fail;
  }
  atomic_init(&pub->refs, 1);
  pub->mem = o->mem;
  pub->nhops = nhops;
  if (nhops > 0) {
    memcpy(pub->hops, route->hops, nhops * sizeof(uint64_t));
  }
  pub->epoch = route != NULL ? route->epoch : 0;
  pub->hash = origin_hash((moqc_str){abs, abs_len}, pub->hops, nhops);
  pub->guards = 1;

  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  rc = moqc__origin_node_get(o, (moqc_str){abs, abs_len}, &g->node);
  if (rc == 0) {
    existing = origin_find_clone(g->node, bc);
    if (existing != NULL) {
      /* The same broadcast again: one more guard on the existing publication.
       */
      existing->guards++;
      moqc__origin_pub_incref(existing);
      moqc__origin_pub_decref_locked(pub, &d);
      pub = existing;
    } else {
      rc = origin_insert_locked(o, g->node, pub, &d);
      if (rc == 0) {
        moqc__origin_pub_incref(pub); /* the tree's reference */
      }
    }
    if (rc == 0) {
      g->node->pins++;
    } else {
      moqc__origin_node_prune(o, g->node);
    }
  }
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  if (rc != 0) {
    goto fail;
  }
  moqc_mem_free(o->mem, abs);
  g->o = o;
  g->pub = pub;
  moqc_origin_incref(o);
  if (ingress != NULL) {
    moqc_usage_scope_incref(ingress);
    g->ingress = ingress;
    g->abs_len = abs_len;
    moqc_usage_open_announce(ingress->sink, abs_len);
  }
  *out = g;
  return 0;

fail:
  if (pub != NULL) {
    if (pub->bc != NULL) {
      moqc_broadcast_consumer_del(pub->bc);
    }
    moqc_mem_free(o->mem, pub);
  }
  moqc_mem_free(o->mem, g);
  moqc_mem_free(o->mem, abs);
  return rc;
}

/* Removes pub from n (locked); the caller holds the tree's reference to drop
 * afterwards. */
static void origin_remove_locked(moqc_origin *o, origin_node *n,
                                 origin_pub *pub, origin_defer *d) {
  size_t i, best;

  if (n->active != pub) {
    for (i = 0; i < n->nbackups; i++) {
      if (n->backups[i] == pub) {
        memmove(n->backups + i, n->backups + i + 1,
                (n->nbackups - i - 1) * sizeof(*n->backups));
        n->nbackups--;
        break;
      }
    }
    return;
  }
  (void)moqc__origin_fanout_reserve(o, n,
                                    d); /* best effort: removal cannot fail */
  if (n->nbackups == 0) {
    n->active = NULL;
    moqc__origin_fanout(o, n, ORIGIN_EV_UNANNOUNCE, NULL, d);
    return;
  }
  for (best = 0, i = 1; i < n->nbackups; i++) {
    if (origin_pub_cmp(n->backups[i], n->backups[best]) < 0) {
      best = i;
    }
  }
  n->active = n->backups[best];
  memmove(n->backups + best, n->backups + best + 1,
          (n->nbackups - best - 1) * sizeof(*n->backups));
  n->nbackups--;
  moqc__origin_fanout(o, n, ORIGIN_EV_RESTART, n->active, d);
}

void moqc_origin_publish_del(moqc_origin_publish *g) {
  moqc_origin *o;
  origin_defer d;

  if (g == NULL) {
    return;
  }
  o = g->o;
  moqc__origin_defer_init(&d, o->mem);
  moqc__origin_lock(o);
  if (--g->pub->guards == 0) {
    origin_remove_locked(o, g->node, g->pub, &d);
    moqc__origin_pub_decref_locked(g->pub, &d); /* the tree's reference */
  }
  moqc__origin_pub_decref_locked(g->pub, &d); /* the guard's reference */
  g->node->pins--;
  moqc__origin_node_prune(o, g->node);
  moqc__origin_unlock(o);
  moqc__origin_defer_run(&d);
  if (g->ingress != NULL) {
    moqc_usage_close_announce(g->ingress->sink, g->abs_len);
    moqc_usage_scope_decref(g->ingress);
  }
  moqc_mem_free(o->mem, g);
  moqc_origin_decref(o);
}
