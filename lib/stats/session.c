/*
 * A session's stats context: implements moqc_usage_ctx, hands out one scope per
 * (direction, absolute path), keeps the session's egress viewer refcounts and
 * its presence.
 *
 * Lock order: session lock, then registry lock. Viewer bumps happen under the
 * session lock, so a broadcasts_closed bump can never precede the broadcasts
 * bump it pairs with.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include <pthread.h>
#include <string.h>

#include "stats/map.h"
#include "stats/registry.h"

struct moqc_stats_session {
  moqc_usage_ctx base; /* first member: the session is its own moqc_usage_ctx */
  const moqc_mem *mem;
  atomic_uint_fast32_t refs;
  moqc_stats_registry *reg; /* NULL when the registry is NULL or disabled */
  moqc__presence *presence;
  moqc_str tier;
  pthread_mutex_t lock;
  moqc__map scopes; /* (dir, path) -> session_scope, weak: removed when the
                       scope dies */
  char data[];
};

typedef struct session_scope {
  moqc_usage_scope base; /* first member */
  atomic_uint_fast32_t refs;
  moqc_stats_session *s;
  moqc__map_node *node;
  moqc_direction dir;
  uint32_t viewers; /* under s->lock */
  char path[];
} session_scope;

static void session_scope_viewer_open(moqc_usage_scope *scope);
static void session_scope_viewer_close(moqc_usage_scope *scope);
static void session_scope_incref(moqc_usage_scope *scope);
static void session_scope_decref(moqc_usage_scope *scope);

static const moqc_usage_scope_ops session_scope_ops = {
    session_scope_viewer_open, session_scope_viewer_close, session_scope_incref,
    session_scope_decref};

static moqc_usage_scope *
session_ctx_scope(moqc_usage_ctx *ctx, moqc_direction dir, moqc_str abs_path);
static void session_ctx_incref(moqc_usage_ctx *ctx);
static void session_ctx_decref(moqc_usage_ctx *ctx);

static const moqc_usage_ctx_ops session_ctx_ops = {
    session_ctx_scope, session_ctx_incref, session_ctx_decref};

int moqc_stats_session_new(moqc_stats_session **out, moqc_stats_registry *reg,
                           moqc_str tier, moqc_str root) {
  const moqc_mem *mem = moqc__stats_registry_mem(reg);
  moqc_stats_session *s;
  int rv;

  if (tier.len > SIZE_MAX / 2) {
    return MOQC_ERR_NOMEM;
  }
  s = moqc_mem_calloc(mem, 1, sizeof(*s) + tier.len + 1);
  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    moqc_mem_free(mem, s);
    return MOQC_ERR_NOMEM;
  }
  s->base.ops = &session_ctx_ops;
  s->mem = mem;
  atomic_init(&s->refs, 1);
  if (tier.len > 0) {
    memcpy(s->data, tier.ptr, tier.len);
  }
  s->tier = (moqc_str){s->data, tier.len};
  moqc__map_init(&s->scopes, mem);
  if (moqc_stats_registry_enabled(reg)) {
    rv = moqc__stats_presence_open(reg, s->tier, root, &s->presence);
    if (rv != 0) {
      pthread_mutex_destroy(&s->lock);
      moqc_mem_free(mem, s);
      return rv;
    }
    moqc_stats_registry_incref(reg);
    s->reg = reg;
  }
  *out = s;
  return 0;
}

moqc_usage_ctx *moqc_stats_session_ctx(moqc_stats_session *s) {
  return s == NULL ? NULL : &s->base;
}

void moqc_stats_session_incref(moqc_stats_session *s) {
  if (s != NULL) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  }
}

void moqc_stats_session_decref(moqc_stats_session *s) {
  if (s == NULL ||
      atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) {
    return;
  }
  /* Every scope holds a reference, so none is left: the map is empty. */
  moqc__stats_presence_close(s->presence);
  moqc_stats_registry_decref(s->reg);
  moqc__map_clear(&s->scopes);
  pthread_mutex_destroy(&s->lock);
  moqc_mem_free(s->mem, s);
}

moqc_usage_scope *moqc_stats_session_scope(moqc_stats_session *s,
                                           moqc_direction dir,
                                           moqc_str abs_path) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key;
  moqc__map_node *n;
  session_scope *sc = NULL;
  moqc_usage *sink = NULL;

  if (s == NULL || s->reg == NULL ||
      moqc_stats_registry_excluded(s->reg, abs_path)) {
    return NULL;
  }
  key = moqc__key_make(s->mem, stack, (uint8_t)dir, (moqc_str){"", 0}, abs_path,
                       &len);
  if (key == NULL) {
    return NULL;
  }
  pthread_mutex_lock(&s->lock);
  n = moqc__map_find(&s->scopes, key, len);
  if (n != NULL) {
    sc = n->val;
    atomic_fetch_add_explicit(&sc->refs, 1, memory_order_relaxed);
    goto done;
  }
  if (moqc_stats_registry_sink(s->reg, s->tier, dir, abs_path, &sink) != 0 ||
      sink == NULL || abs_path.len > SIZE_MAX / 2) {
    goto fail;
  }
  sc = moqc_mem_calloc(s->mem, 1, sizeof(*sc) + abs_path.len + 1);
  if (sc == NULL) {
    goto fail;
  }
  if (abs_path.len > 0) {
    memcpy(sc->path, abs_path.ptr, abs_path.len);
  }
  sc->base.ops = &session_scope_ops;
  sc->base.sink = sink;
  sc->base.path = (moqc_str){sc->path, abs_path.len};
  atomic_init(&sc->refs, 1);
  sc->s = s;
  sc->dir = dir;
  sc->node = moqc__map_insert(&s->scopes, key, len, sc);
  if (sc->node == NULL) {
    moqc_mem_free(s->mem, sc);
    sc = NULL;
    goto fail;
  }
  moqc_stats_session_incref(s);
  goto done;
fail:
  moqc_usage_decref(sink);
done:
  pthread_mutex_unlock(&s->lock);
  moqc__key_free(s->mem, stack, key);
  return sc == NULL ? NULL : &sc->base;
}

static moqc_usage_scope *
session_ctx_scope(moqc_usage_ctx *ctx, moqc_direction dir, moqc_str abs_path) {
  return moqc_stats_session_scope((moqc_stats_session *)ctx, dir, abs_path);
}

static void session_ctx_incref(moqc_usage_ctx *ctx) {
  moqc_stats_session_incref((moqc_stats_session *)ctx);
}

static void session_ctx_decref(moqc_usage_ctx *ctx) {
  moqc_stats_session_decref((moqc_stats_session *)ctx);
}

static void session_scope_viewer_open(moqc_usage_scope *scope) {
  session_scope *sc = (session_scope *)scope;

  if (sc->dir != MOQC_DIRECTION_EGRESS) {
    return; /* ingress subscriptions are not viewers */
  }
  pthread_mutex_lock(&sc->s->lock);
  if (sc->viewers++ == 0) {
    moqc_usage_open_broadcast(sc->base.sink);
  }
  pthread_mutex_unlock(&sc->s->lock);
}

static void session_scope_viewer_close(moqc_usage_scope *scope) {
  session_scope *sc = (session_scope *)scope;

  if (sc->dir != MOQC_DIRECTION_EGRESS) {
    return;
  }
  pthread_mutex_lock(&sc->s->lock);
  if (sc->viewers > 0 && --sc->viewers == 0) {
    moqc_usage_close_broadcast(sc->base.sink);
  }
  pthread_mutex_unlock(&sc->s->lock);
}

static void session_scope_incref(moqc_usage_scope *scope) {
  atomic_fetch_add_explicit(&((session_scope *)scope)->refs, 1,
                            memory_order_relaxed);
}

static void session_scope_decref(moqc_usage_scope *scope) {
  session_scope *sc = (session_scope *)scope;
  moqc_stats_session *s = sc->s;
  uint_fast32_t r = atomic_load_explicit(&sc->refs, memory_order_relaxed);

  /* Fast path: not the last reference, no lock. */
  while (r > 1) {
    if (atomic_compare_exchange_weak_explicit(
            &sc->refs, &r, r - 1, memory_order_acq_rel, memory_order_relaxed)) {
      return;
    }
  }
  /* Maybe the last: decide under the session lock, where lookups take new
   * references. */
  pthread_mutex_lock(&s->lock);
  if (atomic_fetch_sub_explicit(&sc->refs, 1, memory_order_acq_rel) != 1) {
    pthread_mutex_unlock(&s->lock);
    return;
  }
  moqc__map_remove(&s->scopes, sc->node);
  /* A viewer the model never closed closes with its scope, so opened and closed
   * pair up. */
  if (sc->viewers > 0) {
    moqc_usage_close_broadcast(sc->base.sink);
  }
  pthread_mutex_unlock(&s->lock);
  moqc_usage_decref(sc->base.sink);
  moqc_mem_free(s->mem, sc);
  moqc_stats_session_decref(s);
}
