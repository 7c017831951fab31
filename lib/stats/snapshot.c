/*
 * Registry snapshot: totals per (tier, role) and presence per tier, for
 * /metrics. Live entries plus the retired totals of reclaimed ones, so totals
 * never decrease. Never reclaims.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats/map.h"
#include "stats/registry.h"

/* Per-tier accumulator while building a snapshot. */
typedef struct snapshot_acc {
  moqc_str tier;
  moqc_usage_counters c[2];
  moqc_stats_presence p;
  bool has_traffic;
  bool has_sessions;
} snapshot_acc;

static int snapshot_acc_cmp(const void *a, const void *b) {
  return moqc__str_cmp(((const snapshot_acc *)a)->tier,
                       ((const snapshot_acc *)b)->tier);
}

/* Returns the accumulator of tier in acc[0..*n) (tiers are few: linear), adding
 * it. */
static snapshot_acc *snapshot_acc_get(snapshot_acc *acc, size_t *n,
                                      moqc_str tier) {
  for (size_t i = 0; i < *n; i++) {
    if (moqc_str_eq(acc[i].tier, tier)) {
      return &acc[i];
    }
  }
  acc[*n] = (snapshot_acc){.tier = tier};
  return &acc[(*n)++];
}

int moqc_stats_registry_snapshot(moqc_stats_registry *reg,
                                 moqc_stats_snapshot **out) {
  const moqc_mem *mem = reg != NULL ? reg->mem : NULL;
  moqc_stats_snapshot *snap;
  snapshot_acc *acc = NULL;
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
    moqc__stats_retired *r = n->val;
    snapshot_acc *a = snapshot_acc_get(acc, &nacc, r->tier);
    moqc_usage_counters_add(&a->c[0], &r->c[0]);
    moqc_usage_counters_add(&a->c[1], &r->c[1]);
    moqc__stats_presence_add(&a->p, r->p);
    a->has_traffic |= r->has_traffic;
    a->has_sessions |= r->has_sessions;
  }
  slot = 0;
  next = NULL;
  while ((n = moqc__map_next(&reg->entries, &slot, &next)) != NULL) {
    moqc__stats_entry *e = n->val;
    snapshot_acc *a = snapshot_acc_get(acc, &nacc, e->tier);
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
    snapshot_acc *a = snapshot_acc_get(acc, &nacc, p->tier);
    moqc__stats_presence_add(&a->p, moqc__stats_presence_read(p));
    a->has_sessions = true;
  }
  for (size_t i = 0; i < nacc; i++) {
    strbytes += acc[i].tier.len;
    ntraffic += acc[i].has_traffic ? 2 : 0;
    nsess += acc[i].has_sessions ? 1 : 0;
  }
  snap = moqc_mem_calloc(
      mem, 1,
      sizeof(*snap) + ntraffic * sizeof(moqc_stats_traffic_row) +
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
  /* Copy the tier labels (they point into registry storage) before unlocking.
   */
  for (size_t i = 0; i < nacc; i++) {
    if (acc[i].tier.len > 0) {
      memcpy(arena, acc[i].tier.ptr, acc[i].tier.len);
    }
    acc[i].tier.ptr = arena;
    arena += acc[i].tier.len;
  }
  pthread_mutex_unlock(&reg->lock);
  if (nacc > 1) {
    qsort(acc, nacc, sizeof(*acc), snapshot_acc_cmp);
  }
  for (size_t i = 0; i < nacc; i++) {
    if (acc[i].has_traffic) {
      snap->traffic[snap->n_traffic++] = (moqc_stats_traffic_row){
          acc[i].tier, MOQC_DIRECTION_EGRESS, acc[i].c[1]};
      snap->traffic[snap->n_traffic++] = (moqc_stats_traffic_row){
          acc[i].tier, MOQC_DIRECTION_INGRESS, acc[i].c[0]};
    }
    if (acc[i].has_sessions) {
      snap->sessions[snap->n_sessions++] =
          (moqc_stats_tier_sessions){acc[i].tier, acc[i].p};
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
