/*
 * Registry internals shared by the stats layer's files (registry, session).
 */
#ifndef MOQC_STATS_REGISTRY_H
#define MOQC_STATS_REGISTRY_H

#include <moqc/stats.h>

#include <stdatomic.h>

/*
 * Presence counters of one (tier, auth root), refcounted: the registry holds one reference, each
 * live session context one more.
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
 * Finds or creates the presence entry of (tier, root) on an enabled registry, takes a reference
 * to it and bumps sessions (relaxed). Returns 0 or MOQC_ERR_NOMEM.
 */
int moqc__stats_presence_open(moqc_stats_registry *reg, moqc_str tier, moqc_str root,
                              moqc__presence **out);
/** Bumps sessions_closed (release) and drops the reference taken by moqc__stats_presence_open. */
void moqc__stats_presence_close(moqc__presence *p);
/** Reads p: sessions_closed with acquire first, then sessions relaxed. */
moqc_stats_presence moqc__stats_presence_read(moqc__presence *p);

/** Returns reg's allocator (NULL, the default, for a NULL registry). */
const moqc_mem *moqc__stats_registry_mem(const moqc_stats_registry *reg);

/** Compares two strings bytewise, the shorter first on a common prefix. */
int moqc__str_cmp(moqc_str a, moqc_str b);

#endif /* MOQC_STATS_REGISTRY_H */
