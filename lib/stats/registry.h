/*
 * Registry internals shared by the stats layer's files (registry, snapshot,
 * report, session).
 */
#ifndef MOQC_STATS_REGISTRY_H
#define MOQC_STATS_REGISTRY_H

#include <moqc/stats.h>

#include <pthread.h>
#include <stdatomic.h>

#include "stats/map.h"

/* Key kinds. */
#define MOQC__STATS_KEY_ENTRY 'E'
#define MOQC__STATS_KEY_PRESENCE 'P'
#define MOQC__STATS_KEY_RETIRED 'R'

/* The sinks of one (tier, path): index = moqc_direction. */
typedef struct moqc__stats_entry {
  moqc_str tier;
  moqc_str path;
  moqc_usage *sink[2];
  char data[];
} moqc__stats_entry;

/* Totals of reclaimed entries of one tier. */
typedef struct moqc__stats_retired {
  moqc_str tier;
  moqc_usage_counters c[2];
  moqc_stats_presence p;
  bool has_traffic;
  bool has_sessions;
  char data[];
} moqc__stats_retired;

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

/** Finds or creates the retired totals of tier; registry lock held. NULL on
 * out-of-memory. */
moqc__stats_retired *moqc__stats_retired_get(moqc_stats_registry *reg,
                                             moqc_str tier);
/** Adds b into a. */
void moqc__stats_presence_add(moqc_stats_presence *a, moqc_stats_presence b);

/*
 * Presence counters of one (tier, auth root), refcounted: the registry holds
 * one reference, each live session context one more.
 */
typedef struct moqc__presence {
  const moqc_mem *mem;
  atomic_uint_fast32_t refs;
  _Atomic uint64_t sessions;
  _Atomic uint64_t sessions_closed;
  moqc_str tier;
  moqc_str root;
  char data[];
} moqc__presence;

/**
 * Finds or creates the presence entry of (tier, root) on an enabled registry,
 * takes a reference to it and bumps sessions (relaxed). Returns 0 or
 * MOQC_ERR_NOMEM.
 */
int moqc__stats_presence_open(moqc_stats_registry *reg, moqc_str tier,
                              moqc_str root, moqc__presence **out);
/** Bumps sessions_closed (release) and drops the reference taken by
 * moqc__stats_presence_open. */
void moqc__stats_presence_close(moqc__presence *p);
/** Reads p: sessions_closed with acquire first, then sessions relaxed. */
moqc_stats_presence moqc__stats_presence_read(moqc__presence *p);

/** Returns reg's allocator (NULL, the default, for a NULL registry). */
const moqc_mem *moqc__stats_registry_mem(const moqc_stats_registry *reg);

/** Compares two strings bytewise, the shorter first on a common prefix. */
int moqc__str_cmp(moqc_str a, moqc_str b);

#endif /* MOQC_STATS_REGISTRY_H */
