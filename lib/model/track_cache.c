/*
 * The group cache of a track: insertion rules (duplicate, final sequence),
 * retention by the caller's clock (the latest group always kept, older groups
 * for the track's retention, evicted ones aborted with MOQC_ERR_OLD), the
 * optional byte pool (writers pay eviction debt by aborting their own oldest
 * groups with MOQC_ERR_EVICTED) and datagrams.
 */
#include "model/model_int.h"

#include <moqc/error.h>

/* How long datagrams stay buffered. */
#define TRACK_DATAGRAM_WINDOW (50 * MOQC_MILLISECONDS)

struct moqc_cache_pool {
  atomic_uint refs;
  const moqc_mem *mem;
  _Atomic uint64_t capacity;
  _Atomic uint64_t used;
  _Atomic uint64_t max_age; /* ns; 0 = none */
};

int moqc_cache_pool_new(moqc_cache_pool **out, uint64_t capacity,
                        const moqc_mem *mem) {
  moqc_cache_pool *p = moqc_mem_malloc(mem, sizeof(*p));

  if (p == NULL) {
    return MOQC_ERR_NOMEM;
  }
  atomic_init(&p->refs, 1);
  p->mem = mem;
  atomic_init(&p->capacity, capacity);
  atomic_init(&p->used, 0);
  atomic_init(&p->max_age, 0);
  *out = p;
  return 0;
}

void moqc_cache_pool_incref(moqc_cache_pool *p) {
  if (p != NULL) {
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  }
}

void moqc_cache_pool_decref(moqc_cache_pool *p) {
  if (p != NULL &&
      atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
    moqc_mem_free(p->mem, p);
  }
}

void moqc_cache_pool_set_capacity(moqc_cache_pool *p, uint64_t capacity) {
  atomic_store_explicit(&p->capacity, capacity, memory_order_relaxed);
}

void moqc_cache_pool_set_max_age(moqc_cache_pool *p, moqc_tstamp max_age) {
  atomic_store_explicit(&p->max_age, max_age, memory_order_relaxed);
}

/* How long t keeps a non-latest group: its retention, capped by its pool's max age. */
static moqc_tstamp track_keep(const moqc__core *c, const moqc__track *t) {
  moqc_tstamp keep = t->has_info ? t->info.retention : MOQC_DEFAULT_RETENTION;
  if (c->pool != NULL) {
    uint64_t cap = atomic_load_explicit(&c->pool->max_age, memory_order_relaxed);
    if (cap != 0 && cap < keep) {
      keep = cap;
    }
  }
  return keep;
}

uint64_t moqc_cache_pool_used(const moqc_cache_pool *p) {
  return atomic_load_explicit(&((moqc_cache_pool *)p)->used,
                              memory_order_relaxed);
}

static bool pool_over(const moqc_cache_pool *p) {
  moqc_cache_pool *m = (moqc_cache_pool *)p;
  return atomic_load_explicit(&m->used, memory_order_relaxed) >
         atomic_load_explicit(&m->capacity, memory_order_relaxed);
}

void moqc__pool_charge(moqc__core *c, moqc__group *g, uint64_t bytes) {
  if (c->pool != NULL) {
    atomic_fetch_add_explicit(&c->pool->used, bytes, memory_order_relaxed);
    g->charged += bytes;
  }
}

void moqc__pool_release(moqc__core *c, moqc__group *g) {
  if (c->pool != NULL && g->charged > 0) {
    atomic_fetch_sub_explicit(&c->pool->used, g->charged, memory_order_relaxed);
    g->charged = 0;
  }
}

/* ---- Cache -------------------------------------------------------------- */

/* Takes groups[i] out of the cache (tombstone), aborting it with err unless err
 * is 0. */
static void track_evict_at(moqc__core *c, moqc__track *t, size_t i, int err,
                           moqc__wake *batch) {
  moqc__group *g = t->groups[i];

  t->groups[i] = NULL;
  g->track = NULL;
  if (err != 0) {
    moqc__group_abort(c, g, err, batch);
  }
  moqc__group_unref(c, g);
}

/* Drops leading tombstones, advancing the arrival base. */
static void track_trim(moqc__track *t) {
  size_t n = 0;

  while (n < t->ngroups && t->groups[n] == NULL) {
    n++;
  }
  if (n == 0) {
    return;
  }
  for (size_t i = n; i < t->ngroups; i++) {
    t->groups[i - n] = t->groups[i];
  }
  t->ngroups -= n;
  t->arrival_base += n;
}

void moqc__track_clear_cache(moqc__core *c, moqc__track *t, int err,
                             moqc__wake *batch) {
  for (size_t i = 0; i < t->ngroups; i++) {
    if (t->groups[i] != NULL) {
      track_evict_at(c, t, i, err, batch);
    }
  }
  t->arrival_base += t->ngroups;
  t->ngroups = 0;
  for (size_t i = 0; i < t->dcount; i++) {
    moqc_rcbuf_decref(t->dgrams[(t->dhead + i) % t->dcap].payload);
  }
  t->dbase += t->dcount;
  t->dcount = 0;
  t->dhead = 0;
  if (err == 0) {
    moqc_mem_free(c->mem, t->groups);
    t->groups = NULL;
    t->gcap = 0;
  }
}

/*
 * Retention: evicts groups older than the track's retention, never the one with
 * the highest sequence nor the one being inserted (the last).
 */
static void track_expire(moqc__core *c, moqc__track *t, moqc_tstamp now,
                         moqc__wake *batch) {
  moqc_tstamp keep = track_keep(c, t);

  /* The last group is the one being inserted: never evicted by its own insert.
   */
  for (size_t i = 0; i + 1 < t->ngroups; i++) {
    moqc__group *g = t->groups[i];
    if (g == NULL || g->sequence == t->max_seq) {
      continue;
    }
    if (now < g->inserted || now - g->inserted < keep) {
      break;
    }
    track_evict_at(c, t, i, MOQC_ERR_OLD, batch);
  }
}

/* Pays eviction debt: while the pool is over capacity, aborts this track's
 * oldest groups. */
static void track_pay_debt(moqc__core *c, moqc__track *t, moqc__wake *batch) {
  if (c->pool == NULL) {
    return;
  }
  for (size_t i = 0; i + 1 < t->ngroups && pool_over(c->pool); i++) {
    moqc__group *g = t->groups[i];
    if (g == NULL || g->sequence == t->max_seq) {
      continue;
    }
    track_evict_at(c, t, i, MOQC_ERR_EVICTED, batch);
  }
}

int moqc__track_insert_group(moqc__core *c, moqc__track *t, uint64_t seq,
                             moqc_tstamp now, moqc__group **out,
                             moqc__wake *batch) {
  moqc__group *g;
  int rv;

  if (t->err != 0 || t->closed || (t->finished && seq >= t->final_seq)) {
    return MOQC_ERR_CLOSED;
  }
  for (size_t i = 0; i < t->ngroups; i++) {
    if (t->groups[i] != NULL && t->groups[i]->sequence == seq) {
      return MOQC_ERR_DUPLICATE;
    }
  }
  if (t->ngroups == t->gcap) {
    size_t cap = t->gcap ? t->gcap * 2 : 8;
    moqc__group **v = moqc_mem_realloc(c->mem, t->groups, cap * sizeof(*v));
    if (v == NULL) {
      return MOQC_ERR_NOMEM;
    }
    t->groups = v;
    t->gcap = cap;
  }
  rv = moqc__group_new(c, t, seq, now, &g);
  if (rv != 0) {
    return rv;
  }
  t->groups[t->ngroups++] = g;
  if (!t->has_max || seq > t->max_seq) {
    t->has_max = true;
    t->max_seq = seq;
  }
  moqc__pool_charge(c, g, MOQC__GROUP_OVERHEAD);
  moqc_usage_add_groups(c->isink, 1);
  track_expire(c, t, now, batch);
  track_pay_debt(c, t, batch);
  track_trim(t);
  moqc__wlist_drain(&t->wait, batch);
  moqc__wlist_drain(&t->rwait, batch);
  *out = g;
  return 0;
}

/* ---- Producer writes ---------------------------------------------------- */

static int track_create_group(moqc_track_producer *tp, bool append,
                              uint64_t seq, moqc_tstamp now,
                              moqc_group_producer **out) {
  moqc__core *c = tp->core;
  moqc__track *t = tp->track;
  moqc__wake batch = {NULL};
  moqc__group *g;
  int rv;

  moqc__lock(c);
  if (append) {
    if (t->has_max && t->max_seq == UINT64_MAX) {
      moqc__unlock(c);
      return MOQC_ERR_BOUNDS_EXCEEDED;
    }
    seq = t->has_max ? t->max_seq + 1 : 0;
  }
  rv = moqc__track_insert_group(c, t, seq, now, &g, &batch);
  if (rv == 0) {
    rv = moqc__group_producer_make(c, g, out);
    if (rv != 0) {
      moqc__group_abort(c, g, MOQC_ERR_DROPPED, &batch);
    }
  }
  moqc__unlock_fire(c, &batch);
  return rv;
}

int moqc_track_producer_create_group(moqc_track_producer *tp, uint64_t sequence,
                                     moqc_tstamp now,
                                     moqc_group_producer **out) {
  return track_create_group(tp, false, sequence, now, out);
}

int moqc_track_producer_append_group(moqc_track_producer *tp, moqc_tstamp now,
                                     moqc_group_producer **out) {
  return track_create_group(tp, true, 0, now, out);
}

int moqc_track_producer_write_frame(moqc_track_producer *tp,
                                    const uint8_t *data, size_t len,
                                    uint64_t timestamp, moqc_tstamp now) {
  moqc_group_producer *gp;
  int rv;

  if (len > MOQC_MAX_FRAME_SIZE) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  rv = moqc_track_producer_append_group(tp, now, &gp);
  if (rv != 0) {
    return rv;
  }
  rv = moqc_group_producer_write_frame(gp, data, len, timestamp);
  if (rv == 0) {
    rv = moqc_group_producer_finish(gp);
  }
  moqc_group_producer_del(gp);
  return rv;
}

int moqc_track_producer_write_datagram(moqc_track_producer *tp,
                                       const uint8_t *data, size_t len,
                                       uint64_t timestamp, moqc_tstamp now) {
  moqc__core *c = tp->core;
  moqc__track *t = tp->track;
  moqc__wake batch = {NULL};
  moqc__datagram *d;
  moqc_rcbuf *buf;
  uint64_t seq;

  if (len > MOQC_MAX_DATAGRAM_SIZE) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  if (moqc_rcbuf_new_copy(&buf, data, len, c->mem) != 0) {
    return MOQC_ERR_NOMEM;
  }
  moqc__lock(c);
  if (t->has_max && t->max_seq == UINT64_MAX) {
    moqc__unlock(c);
    moqc_rcbuf_decref(buf);
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  seq = t->has_max ? t->max_seq + 1 : 0;
  if (t->err != 0 || t->closed || (t->finished && seq >= t->final_seq)) {
    moqc__unlock(c);
    moqc_rcbuf_decref(buf);
    return MOQC_ERR_CLOSED;
  }
  /* Drop what is older than the window. */
  while (t->dcount > 0 && now >= t->dgrams[t->dhead].at &&
         now - t->dgrams[t->dhead].at > TRACK_DATAGRAM_WINDOW) {
    moqc_rcbuf_decref(t->dgrams[t->dhead].payload);
    t->dhead = (t->dhead + 1) % t->dcap;
    t->dcount--;
    t->dbase++;
  }
  if (t->dcount == t->dcap) {
    size_t cap = t->dcap ? t->dcap * 2 : 8;
    moqc__datagram *v = moqc_mem_malloc(c->mem, cap * sizeof(*v));
    if (v == NULL) {
      moqc__unlock(c);
      moqc_rcbuf_decref(buf);
      return MOQC_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->dcount; i++) {
      v[i] = t->dgrams[(t->dhead + i) % t->dcap];
    }
    moqc_mem_free(c->mem, t->dgrams);
    t->dgrams = v;
    t->dcap = cap;
    t->dhead = 0;
  }
  d = &t->dgrams[(t->dhead + t->dcount) % t->dcap];
  d->sequence = seq;
  d->timestamp = timestamp;
  d->payload = buf;
  d->at = now;
  t->dcount++;
  t->has_max = true;
  t->max_seq = seq;
  moqc_usage_add_datagram(c->isink, len);
  moqc__wlist_drain(&t->wait, &batch);
  moqc__unlock_fire(c, &batch);
  return 0;
}

/* ---- Subscription aggregate --------------------------------------------- */

void moqc_subscription_default(moqc_subscription *sub) {
  sub->priority = 0;
  sub->ordered = false;
  sub->latency_max = MOQC_DEFAULT_RETENTION;
  sub->has_start = false;
  sub->start = 0;
  sub->has_end = false;
  sub->end = 0;
}

void moqc_subscription_fold(moqc_subscription *a, const moqc_subscription *b) {
  if (b->priority > a->priority) {
    a->priority = b->priority;
  }
  a->ordered = a->ordered && b->ordered;
  if (b->latency_max > a->latency_max) {
    a->latency_max = b->latency_max;
  }
  if (b->has_start && (!a->has_start || b->start < a->start)) {
    a->has_start = true;
    a->start = b->start;
  }
  if (!a->has_end || !b->has_end) {
    a->has_end = false;
    a->end = 0;
  } else if (b->end > a->end) {
    a->end = b->end;
  }
}

static bool subscription_eq(const moqc_subscription *a,
                            const moqc_subscription *b) {
  return a->priority == b->priority && a->ordered == b->ordered &&
         a->latency_max == b->latency_max && a->has_start == b->has_start &&
         (!a->has_start || a->start == b->start) && a->has_end == b->has_end &&
         (!a->has_end || a->end == b->end);
}

void moqc__track_agg_update(moqc__track *t, moqc__wake *batch) {
  moqc_subscription agg;
  bool has = t->subs != NULL;

  if (has) {
    agg = t->subs->sub;
    for (moqc__psub *p = t->subs->next; p != NULL; p = p->next) {
      moqc_subscription_fold(&agg, &p->sub);
    }
    if (t->has_info && agg.latency_max > t->info.retention) {
      agg.latency_max = t->info.retention;
    }
  }
  if (has == t->agg_has && (!has || subscription_eq(&agg, &t->agg))) {
    return;
  }
  t->agg_has = has;
  if (has) {
    t->agg = agg;
  }
  moqc__wlist_drain(&t->pwait, batch);
}
