/*
 * Registry report: per (path, tier) and per (tier, root) detail for the stats
 * broadcast, then reclamation of what only the registry references (see
 * registry.c for why no bump is lost).
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats/map.h"
#include "stats/registry.h"

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

static char *report_arena_copy(char **arena, moqc_str s) {
  char *p = *arena;
  if (s.len > 0) {
    memcpy(p, s.ptr, s.len);
  }
  *arena += s.len;
  return p;
}

static int report_build(moqc_stats_registry *reg, bool reclaim,
                        moqc_stats_report **out) {
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
  /* Pass 1: sizes, and the retired totals every reclaim may need, so pass 2
   * cannot fail. */
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    moqc__stats_entry *e = n->val;
    strbytes += e->tier.len + e->path.len;
    if (reclaim && moqc__stats_retired_get(reg, e->tier) == NULL) {
      pthread_mutex_unlock(&reg->lock);
      return MOQC_ERR_NOMEM;
    }
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->presence, &slot, &next)) != NULL) {
    moqc__presence *p = n->val;
    strbytes += p->tier.len + p->root.len;
    if (reclaim && moqc__stats_retired_get(reg, p->tier) == NULL) {
      pthread_mutex_unlock(&reg->lock);
      return MOQC_ERR_NOMEM;
    }
  }
  rep =
      moqc_mem_calloc(mem, 1,
                      sizeof(*rep) + ne * sizeof(moqc_stats_traffic_entry) +
                          np * sizeof(moqc_stats_session_entry) + strbytes + 1);
  if (rep == NULL) {
    pthread_mutex_unlock(&reg->lock);
    return MOQC_ERR_NOMEM;
  }
  rep->mem = mem;
  rep->entries = (moqc_stats_traffic_entry *)(rep + 1);
  rep->sessions = (moqc_stats_session_entry *)(rep->entries + ne);
  arena = (char *)(rep->sessions + np);
  /* Pass 2: read, copy, reclaim. Refcounts are loaded (acquire) before the
   * counters. */
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    moqc__stats_entry *e = n->val;
    moqc_stats_traffic_entry *t = &rep->entries[rep->n_entries++];
    bool only_us = moqc_usage_refcount(e->sink[0]) == 1 &&
                   moqc_usage_refcount(e->sink[1]) == 1;
    moqc_usage_read(e->sink[1], &t->publisher);
    moqc_usage_read(e->sink[0], &t->subscriber);
    t->tier = (moqc_str){report_arena_copy(&arena, e->tier), e->tier.len};
    t->path = (moqc_str){report_arena_copy(&arena, e->path), e->path.len};
    if (reclaim && only_us) {
      moqc__stats_retired *r =
          moqc__stats_retired_get(reg, e->tier); /* exists since pass 1 */
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
    s->tier = (moqc_str){report_arena_copy(&arena, p->tier), p->tier.len};
    s->root = (moqc_str){report_arena_copy(&arena, p->root), p->root.len};
    if (reclaim && only_us) {
      moqc__stats_retired *r = moqc__stats_retired_get(reg, p->tier);
      moqc__stats_presence_add(&r->p, s->presence);
      r->has_sessions = true;
      s->reclaimed = true;
      moqc__map_remove(&reg->presence, n);
      moqc_mem_free(p->mem, p);
    }
  }
  pthread_mutex_unlock(&reg->lock);
  if (rep->n_entries > 1) {
    qsort(rep->entries, rep->n_entries, sizeof(*rep->entries),
          report_entry_cmp);
  }
  if (rep->n_sessions > 1) {
    qsort(rep->sessions, rep->n_sessions, sizeof(*rep->sessions),
          report_session_cmp);
  }
  *out = rep;
  return 0;
}

int moqc_stats_registry_report(moqc_stats_registry *reg,
                               moqc_stats_report **out) {
  return report_build(reg, true, out);
}

int moqc_stats_registry_detail(moqc_stats_registry *reg,
                               moqc_stats_report **out) {
  return report_build(reg, false, out);
}

void moqc_stats_report_del(moqc_stats_report *rep) {
  if (rep != NULL) {
    moqc_mem_free(rep->mem, rep);
  }
}
