/*
 * The stats registry: sinks by (tier, path), presence by (tier, root), retired
 * totals by tier.
 *
 * One mutex guards the three maps. Sinks and presence entries are refcounted;
 * the registry holds one reference to each. A report reclaims an entry when its
 * refcounts read 1 (acquire, under the lock, before its counters are read):
 * nothing else holds it, and nothing can take a new reference without the lock,
 * so its values are final and no bump can land on it afterwards. Reclaimed
 * values move into the tier's retired totals, so snapshots never decrease.
 * Readouts live in snapshot.c and report.c.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats/map.h"
#include "stats/registry.h"

int moqc__str_cmp(moqc_str a, moqc_str b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;

  if (c != 0) {
    return c;
  }
  return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

/* Copies two strings into one allocation of head bytes plus the strings; sets
 * *a and *b. */
static void *registry_alloc2(const moqc_mem *mem, size_t head, moqc_str a,
                             moqc_str b, moqc_str *oa, moqc_str *ob) {
  char *p;

  if (a.len > SIZE_MAX / 4 || b.len > SIZE_MAX / 4 || head > SIZE_MAX / 4) {
    return NULL;
  }
  p = moqc_mem_calloc(mem, 1, head + a.len + b.len + 1);
  if (p == NULL) {
    return NULL;
  }
  if (a.len > 0) {
    memcpy(p + head, a.ptr, a.len);
  }
  if (b.len > 0) {
    memcpy(p + head + a.len, b.ptr, b.len);
  }
  *oa = (moqc_str){p + head, a.len};
  *ob = (moqc_str){p + head + a.len, b.len};
  return p;
}

static int registry_alloc(moqc_stats_registry **out, bool enabled,
                          const moqc_mem *mem) {
  moqc_stats_registry *reg = moqc_mem_calloc(mem, 1, sizeof(*reg));

  if (reg == NULL) {
    return MOQC_ERR_NOMEM;
  }
  if (pthread_mutex_init(&reg->lock, NULL) != 0) {
    moqc_mem_free(mem, reg);
    return MOQC_ERR_NOMEM;
  }
  reg->mem = mem;
  atomic_init(&reg->refs, 1);
  reg->enabled = enabled;
  moqc__map_init(&reg->entries, mem);
  moqc__map_init(&reg->presence, mem);
  moqc__map_init(&reg->retired, mem);
  *out = reg;
  return 0;
}

int moqc_stats_registry_new(moqc_stats_registry **out, const moqc_str *exclude,
                            size_t n_exclude, const moqc_mem *mem) {
  static const moqc_str def = {MOQC_STATS_DEFAULT_PREFIX,
                               sizeof(MOQC_STATS_DEFAULT_PREFIX) - 1};
  moqc_stats_registry *reg;
  size_t total = 0;
  char *data;
  int rv;

  if (exclude == NULL) {
    exclude = &def;
    n_exclude = 1;
  }
  for (size_t i = 0; i < n_exclude; i++) {
    if (!moqc_path_is_normalized(exclude[i])) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    total += exclude[i].len;
  }
  rv = registry_alloc(&reg, true, mem);
  if (rv != 0) {
    return rv;
  }
  if (n_exclude > 0) {
    if (n_exclude > SIZE_MAX / (2 * sizeof(moqc_str))) {
      moqc_stats_registry_decref(reg);
      return MOQC_ERR_NOMEM;
    }
    reg->exclude =
        moqc_mem_malloc(mem, n_exclude * sizeof(moqc_str) + total + 1);
    if (reg->exclude == NULL) {
      moqc_stats_registry_decref(reg);
      return MOQC_ERR_NOMEM;
    }
    data = (char *)(reg->exclude + n_exclude);
    for (size_t i = 0; i < n_exclude; i++) {
      if (exclude[i].len > 0) {
        memcpy(data, exclude[i].ptr, exclude[i].len);
      }
      reg->exclude[i] = (moqc_str){data, exclude[i].len};
      data += exclude[i].len;
    }
    reg->n_exclude = n_exclude;
  }
  *out = reg;
  return 0;
}

int moqc_stats_registry_new_disabled(moqc_stats_registry **out,
                                     const moqc_mem *mem) {
  return registry_alloc(out, false, mem);
}

void moqc_stats_registry_incref(moqc_stats_registry *reg) {
  if (reg != NULL) {
    atomic_fetch_add_explicit(&reg->refs, 1, memory_order_relaxed);
  }
}

static void registry_free(moqc_stats_registry *reg) {
  size_t slot = 0;
  moqc__map_node *next = NULL, *n;

  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    moqc__stats_entry *e = n->val;
    moqc_usage_decref(e->sink[0]);
    moqc_usage_decref(e->sink[1]);
    moqc_mem_free(reg->mem, e);
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->presence, &slot, &next)) != NULL) {
    moqc__presence *p = n->val;
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
      moqc_mem_free(p->mem, p);
    }
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->retired, &slot, &next)) != NULL) {
    moqc_mem_free(reg->mem, n->val);
  }
  moqc__map_clear(&reg->entries);
  moqc__map_clear(&reg->presence);
  moqc__map_clear(&reg->retired);
  pthread_mutex_destroy(&reg->lock);
  moqc_mem_free(reg->mem, reg->exclude);
  moqc_mem_free(reg->mem, reg);
}

void moqc_stats_registry_decref(moqc_stats_registry *reg) {
  if (reg != NULL &&
      atomic_fetch_sub_explicit(&reg->refs, 1, memory_order_acq_rel) == 1) {
    registry_free(reg);
  }
}

const moqc_mem *moqc__stats_registry_mem(const moqc_stats_registry *reg) {
  return reg == NULL ? NULL : reg->mem;
}

bool moqc_stats_registry_enabled(const moqc_stats_registry *reg) {
  return reg != NULL && reg->enabled;
}

bool moqc_stats_registry_excluded(const moqc_stats_registry *reg,
                                  moqc_str path) {
  if (reg == NULL) {
    return false;
  }
  for (size_t i = 0; i < reg->n_exclude; i++) {
    if (moqc_path_has_prefix(path, reg->exclude[i])) {
      return true;
    }
  }
  return false;
}

moqc__stats_retired *moqc__stats_retired_get(moqc_stats_registry *reg,
                                             moqc_str tier) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key = moqc__key_make(reg->mem, stack, MOQC__STATS_KEY_RETIRED, tier,
                             (moqc_str){"", 0}, &len);
  moqc__map_node *n;
  moqc__stats_retired *r;
  moqc_str t, unused;

  if (key == NULL) {
    return NULL;
  }
  n = moqc__map_find(&reg->retired, key, len);
  if (n != NULL) {
    moqc__key_free(reg->mem, stack, key);
    return n->val;
  }
  r = registry_alloc2(reg->mem, sizeof(*r), tier, (moqc_str){"", 0}, &t,
                      &unused);
  if (r != NULL) {
    r->tier = t;
    if (moqc__map_insert(&reg->retired, key, len, r) == NULL) {
      moqc_mem_free(reg->mem, r);
      r = NULL;
    }
  }
  moqc__key_free(reg->mem, stack, key);
  return r;
}

int moqc_stats_registry_sink(moqc_stats_registry *reg, moqc_str tier,
                             moqc_direction dir, moqc_str path,
                             moqc_usage **out) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key;
  moqc__map_node *n;
  moqc__stats_entry *e;
  int rv = 0;

  *out = NULL;
  if (!moqc_stats_registry_enabled(reg) ||
      moqc_stats_registry_excluded(reg, path)) {
    return 0;
  }
  key =
      moqc__key_make(reg->mem, stack, MOQC__STATS_KEY_ENTRY, tier, path, &len);
  if (key == NULL) {
    return MOQC_ERR_NOMEM;
  }
  pthread_mutex_lock(&reg->lock);
  n = moqc__map_find(&reg->entries, key, len);
  if (n != NULL) {
    e = n->val;
  } else {
    e = registry_alloc2(reg->mem, sizeof(*e), tier, path, &tier, &path);
    if (e == NULL) {
      rv = MOQC_ERR_NOMEM;
      goto done;
    }
    e->tier = tier;
    e->path = path;
    if (moqc_usage_new(&e->sink[0], reg->mem) != 0 ||
        moqc_usage_new(&e->sink[1], reg->mem) != 0 ||
        moqc__map_insert(&reg->entries, key, len, e) == NULL) {
      moqc_usage_decref(e->sink[0]);
      moqc_usage_decref(e->sink[1]);
      moqc_mem_free(reg->mem, e);
      rv = MOQC_ERR_NOMEM;
      goto done;
    }
  }
  *out = e->sink[dir == MOQC_DIRECTION_EGRESS ? 1 : 0];
  moqc_usage_incref(*out);
done:
  pthread_mutex_unlock(&reg->lock);
  moqc__key_free(reg->mem, stack, key);
  return rv;
}

int moqc__stats_presence_open(moqc_stats_registry *reg, moqc_str tier,
                              moqc_str root, moqc__presence **out) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key = moqc__key_make(reg->mem, stack, MOQC__STATS_KEY_PRESENCE, tier,
                             root, &len);
  moqc__map_node *n;
  moqc__presence *p;
  int rv = 0;

  if (key == NULL) {
    return MOQC_ERR_NOMEM;
  }
  pthread_mutex_lock(&reg->lock);
  n = moqc__map_find(&reg->presence, key, len);
  if (n != NULL) {
    p = n->val;
  } else {
    p = registry_alloc2(reg->mem, sizeof(*p), tier, root, &tier, &root);
    if (p == NULL) {
      rv = MOQC_ERR_NOMEM;
      goto done;
    }
    p->mem = reg->mem;
    p->tier = tier;
    p->root = root;
    atomic_init(&p->refs, 1);
    atomic_init(&p->sessions, 0);
    atomic_init(&p->sessions_closed, 0);
    if (moqc__map_insert(&reg->presence, key, len, p) == NULL) {
      moqc_mem_free(reg->mem, p);
      rv = MOQC_ERR_NOMEM;
      goto done;
    }
  }
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->sessions, 1, memory_order_relaxed);
  *out = p;
done:
  pthread_mutex_unlock(&reg->lock);
  moqc__key_free(reg->mem, stack, key);
  return rv;
}

void moqc__stats_presence_close(moqc__presence *p) {
  if (p == NULL) {
    return;
  }
  atomic_fetch_add_explicit(&p->sessions_closed, 1, memory_order_release);
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
    moqc_mem_free(p->mem, p);
  }
}

moqc_stats_presence moqc__stats_presence_read(moqc__presence *p) {
  moqc_stats_presence r;

  r.sessions_closed =
      atomic_load_explicit(&p->sessions_closed, memory_order_acquire);
  r.sessions = atomic_load_explicit(&p->sessions, memory_order_relaxed);
  return r;
}

void moqc__stats_presence_add(moqc_stats_presence *a, moqc_stats_presence b) {
  a->sessions += b.sessions;
  a->sessions_closed += b.sessions_closed;
}
