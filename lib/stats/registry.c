/*
 * The stats registry: sinks by (tier, path), presence by (tier, root), retired totals by tier.
 *
 * One mutex guards the three maps. Sinks and presence entries are refcounted; the registry holds
 * one reference to each. A report reclaims an entry when its refcounts read 1 (acquire, under the
 * lock, before its counters are read): nothing else holds it, and nothing can take a new
 * reference without the lock, so its values are final and no bump can land on it afterwards.
 * Reclaimed values move into the tier's retired totals, so snapshots never decrease.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats/map.h"
#include "stats/registry.h"

/* Key kinds. */
#define REG_KEY_ENTRY 'E'
#define REG_KEY_PRESENCE 'P'
#define REG_KEY_RETIRED 'R'

/* The sinks of one (tier, path): index = moqc_direction. */
typedef struct reg_entry {
  moqc_str tier;
  moqc_str path;
  moqc_usage *sink[2];
  char data[];
} reg_entry;

/* Totals of reclaimed entries of one tier. */
typedef struct reg_retired {
  moqc_str tier;
  moqc_usage_counters c[2];
  moqc_stats_presence p;
  bool has_traffic;
  bool has_sessions;
  char data[];
} reg_retired;

struct moqc_stats_registry {
  const moqc_mem *mem;
  atomic_uint_fast32_t refs;
  bool enabled;
  pthread_mutex_t lock;
  moqc_str *exclude;
  size_t n_exclude;
  moqc__map entries;
  moqc__map presence;
  moqc__map retired;
};

int moqc__str_cmp(moqc_str a, moqc_str b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;

  if (c != 0) {
    return c;
  }
  return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

/* Copies two strings into one allocation of head bytes plus the strings; sets *a and *b. */
static void *reg_alloc2(const moqc_mem *mem, size_t head, moqc_str a, moqc_str b, moqc_str *oa,
                        moqc_str *ob) {
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

static int reg_alloc(moqc_stats_registry **out, bool enabled, const moqc_mem *mem) {
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

int moqc_stats_registry_new(moqc_stats_registry **out, const moqc_str *exclude, size_t n_exclude,
                            const moqc_mem *mem) {
  static const moqc_str def = {MOQC_STATS_DEFAULT_PREFIX, sizeof(MOQC_STATS_DEFAULT_PREFIX) - 1};
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
  rv = reg_alloc(&reg, true, mem);
  if (rv != 0) {
    return rv;
  }
  if (n_exclude > 0) {
    if (n_exclude > SIZE_MAX / (2 * sizeof(moqc_str))) {
      moqc_stats_registry_decref(reg);
      return MOQC_ERR_NOMEM;
    }
    reg->exclude = moqc_mem_malloc(mem, n_exclude * sizeof(moqc_str) + total + 1);
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

int moqc_stats_registry_new_disabled(moqc_stats_registry **out, const moqc_mem *mem) {
  return reg_alloc(out, false, mem);
}

void moqc_stats_registry_incref(moqc_stats_registry *reg) {
  if (reg != NULL) {
    atomic_fetch_add_explicit(&reg->refs, 1, memory_order_relaxed);
  }
}

static void reg_free(moqc_stats_registry *reg) {
  size_t slot = 0;
  moqc__map_node *next = NULL, *n;

  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    reg_entry *e = n->val;
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
  if (reg != NULL && atomic_fetch_sub_explicit(&reg->refs, 1, memory_order_acq_rel) == 1) {
    reg_free(reg);
  }
}

const moqc_mem *moqc__stats_registry_mem(const moqc_stats_registry *reg) {
  return reg == NULL ? NULL : reg->mem;
}

bool moqc_stats_registry_enabled(const moqc_stats_registry *reg) {
  return reg != NULL && reg->enabled;
}

bool moqc_stats_registry_excluded(const moqc_stats_registry *reg, moqc_str path) {
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

/* Finds or creates the retired totals of tier; lock held. NULL on out-of-memory. */
static reg_retired *reg_retired_get(moqc_stats_registry *reg, moqc_str tier) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key = moqc__key_make(reg->mem, stack, REG_KEY_RETIRED, tier, (moqc_str){"", 0}, &len);
  moqc__map_node *n;
  reg_retired *r;
  moqc_str t, unused;

  if (key == NULL) {
    return NULL;
  }
  n = moqc__map_find(&reg->retired, key, len);
  if (n != NULL) {
    moqc__key_free(reg->mem, stack, key);
    return n->val;
  }
  r = reg_alloc2(reg->mem, sizeof(*r), tier, (moqc_str){"", 0}, &t, &unused);
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

int moqc_stats_registry_sink(moqc_stats_registry *reg, moqc_str tier, moqc_direction dir,
                             moqc_str path, moqc_usage **out) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key;
  moqc__map_node *n;
  reg_entry *e;
  int rv = 0;

  *out = NULL;
  if (!moqc_stats_registry_enabled(reg) || moqc_stats_registry_excluded(reg, path)) {
    return 0;
  }
  key = moqc__key_make(reg->mem, stack, REG_KEY_ENTRY, tier, path, &len);
  if (key == NULL) {
    return MOQC_ERR_NOMEM;
  }
  pthread_mutex_lock(&reg->lock);
  n = moqc__map_find(&reg->entries, key, len);
  if (n != NULL) {
    e = n->val;
  } else {
    e = reg_alloc2(reg->mem, sizeof(*e), tier, path, &tier, &path);
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

int moqc__stats_presence_open(moqc_stats_registry *reg, moqc_str tier, moqc_str root,
                              moqc__presence **out) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *key = moqc__key_make(reg->mem, stack, REG_KEY_PRESENCE, tier, root, &len);
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
    p = reg_alloc2(reg->mem, sizeof(*p), tier, root, &tier, &root);
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

  r.sessions_closed = atomic_load_explicit(&p->sessions_closed, memory_order_acquire);
  r.sessions = atomic_load_explicit(&p->sessions, memory_order_relaxed);
  return r;
}

/* ---- snapshot ---- */

/* Per-tier accumulator while building a snapshot. */
typedef struct snap_acc {
  moqc_str tier;
  moqc_usage_counters c[2];
  moqc_stats_presence p;
  bool has_traffic;
  bool has_sessions;
} snap_acc;

static int snap_acc_cmp(const void *a, const void *b) {
  return moqc__str_cmp(((const snap_acc *)a)->tier, ((const snap_acc *)b)->tier);
}

/* Returns the accumulator of tier in acc[0..*n) (tiers are few: linear), adding it. */
static snap_acc *snap_acc_get(snap_acc *acc, size_t *n, moqc_str tier) {
  for (size_t i = 0; i < *n; i++) {
    if (moqc_str_eq(acc[i].tier, tier)) {
      return &acc[i];
    }
  }
  acc[*n] = (snap_acc){.tier = tier};
  return &acc[(*n)++];
}

static void presence_add(moqc_stats_presence *a, moqc_stats_presence b) {
  a->sessions += b.sessions;
  a->sessions_closed += b.sessions_closed;
}

int moqc_stats_registry_snapshot(moqc_stats_registry *reg, moqc_stats_snapshot **out) {
  const moqc_mem *mem = reg != NULL ? reg->mem : NULL;
  moqc_stats_snapshot *snap;
  snap_acc *acc = NULL;
  size_t nacc = 0, cap, strbytes = 0, ntraffic = 0, nsess = 0;
  size_t slot;
  moqc__map_node *next, *n;
  char *arena;

  if (!moqc_stats_registry_enabled(reg)) {
    snap = moqc_mem_calloc(mem, 1, sizeof(*snap));
    if (snap == NULL) {
      return MOQC_ERR_NOMEM;
    }
    snap->mem = mem;
    *out = snap;
    return 0;
  }
  pthread_mutex_lock(&reg->lock);
  cap = reg->entries.count + reg->presence.count + reg->retired.count + 1;
  acc = moqc_mem_calloc(mem, cap, sizeof(*acc));
  if (acc == NULL) {
    pthread_mutex_unlock(&reg->lock);
    return MOQC_ERR_NOMEM;
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->retired, &slot, &next)) != NULL) {
    reg_retired *r = n->val;
    snap_acc *a = snap_acc_get(acc, &nacc, r->tier);
    moqc_usage_counters_add(&a->c[0], &r->c[0]);
    moqc_usage_counters_add(&a->c[1], &r->c[1]);
    presence_add(&a->p, r->p);
    a->has_traffic |= r->has_traffic;
    a->has_sessions |= r->has_sessions;
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    reg_entry *e = n->val;
    snap_acc *a = snap_acc_get(acc, &nacc, e->tier);
    for (int d = 0; d < 2; d++) {
      moqc_usage_counters c;
      moqc_usage_read(e->sink[d], &c);
      moqc_usage_counters_add(&a->c[d], &c);
    }
    a->has_traffic = true;
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->presence, &slot, &next)) != NULL) {
    moqc__presence *p = n->val;
    snap_acc *a = snap_acc_get(acc, &nacc, p->tier);
    presence_add(&a->p, moqc__stats_presence_read(p));
    a->has_sessions = true;
  }
  for (size_t i = 0; i < nacc; i++) {
    strbytes += acc[i].tier.len;
    ntraffic += acc[i].has_traffic ? 2 : 0;
    nsess += acc[i].has_sessions ? 1 : 0;
  }
  snap = moqc_mem_calloc(mem, 1, sizeof(*snap) + ntraffic * sizeof(moqc_stats_traffic_row) +
                                     nsess * sizeof(moqc_stats_tier_sessions) + strbytes + 1);
  if (snap == NULL) {
    pthread_mutex_unlock(&reg->lock);
    moqc_mem_free(mem, acc);
    return MOQC_ERR_NOMEM;
  }
  snap->mem = mem;
  snap->traffic = (moqc_stats_traffic_row *)(snap + 1);
  snap->sessions = (moqc_stats_tier_sessions *)(snap->traffic + ntraffic);
  arena = (char *)(snap->sessions + nsess);
  /* Copy the tier labels (they point into registry storage) before unlocking. */
  for (size_t i = 0; i < nacc; i++) {
    if (acc[i].tier.len > 0) {
      memcpy(arena, acc[i].tier.ptr, acc[i].tier.len);
    }
    acc[i].tier.ptr = arena;
    arena += acc[i].tier.len;
  }
  pthread_mutex_unlock(&reg->lock);
  if (nacc > 1) {
    qsort(acc, nacc, sizeof(*acc), snap_acc_cmp);
  }
  for (size_t i = 0; i < nacc; i++) {
    if (acc[i].has_traffic) {
      snap->traffic[snap->n_traffic++] =
          (moqc_stats_traffic_row){acc[i].tier, MOQC_DIRECTION_EGRESS, acc[i].c[1]};
      snap->traffic[snap->n_traffic++] =
          (moqc_stats_traffic_row){acc[i].tier, MOQC_DIRECTION_INGRESS, acc[i].c[0]};
    }
    if (acc[i].has_sessions) {
      snap->sessions[snap->n_sessions++] = (moqc_stats_tier_sessions){acc[i].tier, acc[i].p};
    }
  }
  moqc_mem_free(mem, acc);
  *out = snap;
  return 0;
}

void moqc_stats_snapshot_del(moqc_stats_snapshot *snap) {
  if (snap != NULL) {
    moqc_mem_free(snap->mem, snap);
  }
}

/* ---- report ---- */

static int report_entry_cmp(const void *a, const void *b) {
  const moqc_stats_traffic_entry *x = a, *y = b;
  int c = moqc__str_cmp(x->tier, y->tier);
  return c != 0 ? c : moqc__str_cmp(x->path, y->path);
}

static int report_session_cmp(const void *a, const void *b) {
  const moqc_stats_session_entry *x = a, *y = b;
  int c = moqc__str_cmp(x->tier, y->tier);
  return c != 0 ? c : moqc__str_cmp(x->root, y->root);
}

static char *arena_copy(char **arena, moqc_str s) {
  char *p = *arena;
  if (s.len > 0) {
    memcpy(p, s.ptr, s.len);
  }
  *arena += s.len;
  return p;
}

static int reg_report(moqc_stats_registry *reg, bool reclaim, moqc_stats_report **out) {
  const moqc_mem *mem = reg != NULL ? reg->mem : NULL;
  moqc_stats_report *rep;
  size_t slot, strbytes = 0, ne, np;
  moqc__map_node *next, *n;
  char *arena;

  if (!moqc_stats_registry_enabled(reg)) {
    rep = moqc_mem_calloc(mem, 1, sizeof(*rep));
    if (rep == NULL) {
      return MOQC_ERR_NOMEM;
    }
    rep->mem = mem;
    *out = rep;
    return 0;
  }
  pthread_mutex_lock(&reg->lock);
  ne = reg->entries.count;
  np = reg->presence.count;
  /* Pass 1: sizes, and the retired totals every reclaim may need, so pass 2 cannot fail. */
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    reg_entry *e = n->val;
    strbytes += e->tier.len + e->path.len;
    if (reclaim && reg_retired_get(reg, e->tier) == NULL) {
      pthread_mutex_unlock(&reg->lock);
      return MOQC_ERR_NOMEM;
    }
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->presence, &slot, &next)) != NULL) {
    moqc__presence *p = n->val;
    strbytes += p->tier.len + p->root.len;
    if (reclaim && reg_retired_get(reg, p->tier) == NULL) {
      pthread_mutex_unlock(&reg->lock);
      return MOQC_ERR_NOMEM;
    }
  }
  rep = moqc_mem_calloc(mem, 1, sizeof(*rep) + ne * sizeof(moqc_stats_traffic_entry) +
                                    np * sizeof(moqc_stats_session_entry) + strbytes + 1);
  if (rep == NULL) {
    pthread_mutex_unlock(&reg->lock);
    return MOQC_ERR_NOMEM;
  }
  rep->mem = mem;
  rep->entries = (moqc_stats_traffic_entry *)(rep + 1);
  rep->sessions = (moqc_stats_session_entry *)(rep->entries + ne);
  arena = (char *)(rep->sessions + np);
  /* Pass 2: read, copy, reclaim. Refcounts are loaded (acquire) before the counters. */
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    reg_entry *e = n->val;
    moqc_stats_traffic_entry *t = &rep->entries[rep->n_entries++];
    bool only_us = moqc_usage_refcount(e->sink[0]) == 1 && moqc_usage_refcount(e->sink[1]) == 1;
    moqc_usage_read(e->sink[1], &t->publisher);
    moqc_usage_read(e->sink[0], &t->subscriber);
    t->tier = (moqc_str){arena_copy(&arena, e->tier), e->tier.len};
    t->path = (moqc_str){arena_copy(&arena, e->path), e->path.len};
    if (reclaim && only_us) {
      reg_retired *r = reg_retired_get(reg, e->tier); /* exists since pass 1 */
      moqc_usage_counters_add(&r->c[1], &t->publisher);
      moqc_usage_counters_add(&r->c[0], &t->subscriber);
      r->has_traffic = true;
      t->reclaimed = true;
      moqc__map_remove(&reg->entries, n);
      moqc_usage_decref(e->sink[0]);
      moqc_usage_decref(e->sink[1]);
      moqc_mem_free(reg->mem, e);
    }
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->presence, &slot, &next)) != NULL) {
    moqc__presence *p = n->val;
    moqc_stats_session_entry *s = &rep->sessions[rep->n_sessions++];
    bool only_us = atomic_load_explicit(&p->refs, memory_order_acquire) == 1;
    s->presence = moqc__stats_presence_read(p);
    s->tier = (moqc_str){arena_copy(&arena, p->tier), p->tier.len};
    s->root = (moqc_str){arena_copy(&arena, p->root), p->root.len};
    if (reclaim && only_us) {
      reg_retired *r = reg_retired_get(reg, p->tier);
      presence_add(&r->p, s->presence);
      r->has_sessions = true;
      s->reclaimed = true;
      moqc__map_remove(&reg->presence, n);
      moqc_mem_free(p->mem, p);
    }
  }
  pthread_mutex_unlock(&reg->lock);
  if (rep->n_entries > 1) {
    qsort(rep->entries, rep->n_entries, sizeof(*rep->entries), report_entry_cmp);
  }
  if (rep->n_sessions > 1) {
    qsort(rep->sessions, rep->n_sessions, sizeof(*rep->sessions), report_session_cmp);
  }
  *out = rep;
  return 0;
}

int moqc_stats_registry_report(moqc_stats_registry *reg, moqc_stats_report **out) {
  return reg_report(reg, true, out);
}

int moqc_stats_registry_detail(moqc_stats_registry *reg, moqc_stats_report **out) {
  return reg_report(reg, false, out);
}

void moqc_stats_report_del(moqc_stats_report *rep) {
  if (rep != NULL) {
    moqc_mem_free(rep->mem, rep);
  }
}
