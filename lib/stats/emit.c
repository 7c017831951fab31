/*
 * The per-drain emission of the stats broadcast (spec/upstream-model.md 4.4),
 * as a pure state machine: report in, one document per track out, each marked
 * whether it must be written.
 *
 * A drain builds its new state beside the old one and swaps only when
 * everything is allocated, so an out-of-memory drain leaves the emitter as it
 * was.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include <string.h>

#include "stats/json.h"
#include "stats/map.h"
#include "stats/registry.h"

#define EMIT_DOCS 3

static const char *const emit_doc_names[EMIT_DOCS] = {
    "publisher.json", "subscriber.json", "sessions.json"};

/* The last emitted value of one (doc, tier, path or root). */
typedef struct emit_prev {
  moqc_usage_counters c;
  moqc_stats_presence p;
} emit_prev;

/* The tracks of one tier and their last written documents. */
typedef struct emit_tier {
  moqc_str tier;
  char *last[EMIT_DOCS]; /* NUL-terminated; NULL until first written */
  char data[];
} emit_tier;

struct moqc_stats_emitter {
  const moqc_mem *mem;
  moqc__map prev;
  emit_tier **tiers; /* sorted by label */
  size_t n_tiers;
};

static void emit_prev_clear(const moqc_mem *mem, moqc__map *m) {
  size_t slot = 0;
  moqc__map_node *next = NULL, *n;

  while ((n = moqc__map_next(m, &slot, &next)) != NULL) {
    moqc_mem_free(mem, n->val);
  }
  moqc__map_clear(m);
}

static emit_tier *emit_tier_new(const moqc_mem *mem, moqc_str tier) {
  emit_tier *t = moqc_mem_calloc(mem, 1, sizeof(*t) + tier.len + 1);

  if (t == NULL) {
    return NULL;
  }
  if (tier.len > 0) {
    memcpy(t->data, tier.ptr, tier.len);
  }
  t->tier = (moqc_str){t->data, tier.len};
  return t;
}

static void emit_tier_free(const moqc_mem *mem, emit_tier *t) {
  if (t == NULL) {
    return;
  }
  for (int d = 0; d < EMIT_DOCS; d++) {
    moqc_mem_free(mem, t->last[d]);
  }
  moqc_mem_free(mem, t);
}

int moqc_stats_emitter_new(moqc_stats_emitter **out, const moqc_mem *mem) {
  moqc_stats_emitter *e = moqc_mem_calloc(mem, 1, sizeof(*e));

  if (e == NULL) {
    return MOQC_ERR_NOMEM;
  }
  e->mem = mem;
  moqc__map_init(&e->prev, mem);
  e->tiers = moqc_mem_calloc(mem, 1, sizeof(*e->tiers));
  if (e->tiers == NULL ||
      (e->tiers[0] = emit_tier_new(mem, (moqc_str){"", 0})) == NULL) {
    moqc_mem_free(mem, e->tiers);
    moqc_mem_free(mem, e);
    return MOQC_ERR_NOMEM;
  }
  e->n_tiers = 1;
  *out = e;
  return 0;
}

void moqc_stats_emitter_del(moqc_stats_emitter *e) {
  if (e == NULL) {
    return;
  }
  emit_prev_clear(e->mem, &e->prev);
  for (size_t i = 0; i < e->n_tiers; i++) {
    emit_tier_free(e->mem, e->tiers[i]);
  }
  moqc_mem_free(e->mem, e->tiers);
  moqc_mem_free(e->mem, e);
}

void moqc_stats_emission_del(moqc_stats_emission *em) {
  if (em == NULL) {
    return;
  }
  for (size_t i = 0; i < em->n_frames; i++) {
    moqc_mem_free(em->mem, (void *)em->frames[i].track.ptr);
  }
  moqc_mem_free(em->mem, em);
}

/*
 * Decides one slot: include it (live or changed) and record its new previous
 * value in np. Returns 0 or MOQC_ERR_NOMEM.
 */
static int emit_slot(moqc_stats_emitter *e, moqc__map *np, int doc,
                     moqc_str tier, moqc_str key, const emit_prev *now,
                     bool live, bool *include) {
  char stack[MOQC__KEY_STACK];
  size_t len;
  char *k = moqc__key_make(e->mem, stack, (uint8_t)doc, tier, key, &len);
  moqc__map_node *old;
  emit_prev zero = {0}, *keep;
  const emit_prev *prev;
  bool changed;

  if (k == NULL) {
    return MOQC_ERR_NOMEM;
  }
  old = moqc__map_find(&e->prev, k, len);
  prev = old != NULL ? old->val : &zero;
  changed = memcmp(prev, now, sizeof(*now)) != 0;
  *include = live || changed;
  if (changed || old != NULL) {
    keep = moqc_mem_malloc(e->mem, sizeof(*keep));
    if (keep == NULL || moqc__map_insert(np, k, len, keep) == NULL) {
      moqc_mem_free(e->mem, keep);
      moqc__key_free(e->mem, stack, k);
      return MOQC_ERR_NOMEM;
    }
    *keep = changed ? *now : *prev;
  }
  moqc__key_free(e->mem, stack, k);
  return 0;
}

/* What one document of one tier is made of. */
typedef struct emit_doc_src {
  const moqc_stats_report *rep;
  const bool *inc_e; /* per entry, 2 flags: [2i] publisher, [2i+1] subscriber */
  const bool *inc_s; /* per session entry */
  size_t from, to;   /* range of entries or sessions of the tier */
  int doc;
} emit_doc_src;

static void emit_doc_render(moqc__sbuf *b, const void *arg) {
  const emit_doc_src *src = arg;
  const char *sep = "";

  moqc__sbuf_puts(b, "{");
  for (size_t i = src->from; i < src->to; i++) {
    if (src->doc == MOQC_STATS_DOC_SESSIONS) {
      if (!src->inc_s[i]) {
        continue;
      }
      moqc__sbuf_puts(b, sep);
      moqc__sbuf_json_str(b, src->rep->sessions[i].root);
      moqc__sbuf_puts(b, ":");
      moqc__json_presence(b, src->rep->sessions[i].presence);
    } else {
      const moqc_stats_traffic_entry *t = &src->rep->entries[i];
      if (!src->inc_e[2 * i + (size_t)src->doc]) {
        continue;
      }
      moqc__sbuf_puts(b, sep);
      moqc__sbuf_json_str(b, t->path);
      moqc__sbuf_puts(b, ":");
      moqc__json_counters(b, src->doc == MOQC_STATS_DOC_PUBLISHER
                                 ? &t->publisher
                                 : &t->subscriber);
    }
    sep = ",";
  }
  moqc__sbuf_puts(b, "}");
}

/* Finds tier in the sorted tiers; returns its index or, negated minus one, the
 * insert point. */
static long emit_tier_find(emit_tier *const *tiers, size_t n, moqc_str tier) {
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = moqc__str_cmp(tiers[mid]->tier, tier);
    if (c == 0) {
      return (long)mid;
    }
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return -(long)lo - 1;
}

/* Adds tier to the sorted array *tiers (capacity cap) unless present. */
static int emit_tier_add(const moqc_mem *mem, emit_tier **tiers, size_t *n,
                         moqc_str tier) {
  long at = emit_tier_find(tiers, *n, tier);
  size_t pos;
  emit_tier *t;

  if (at >= 0) {
    return 0;
  }
  pos = (size_t)(-(at + 1));
  t = emit_tier_new(mem, tier);
  if (t == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memmove(tiers + pos + 1, tiers + pos, (*n - pos) * sizeof(*tiers));
  tiers[pos] = t;
  (*n)++;
  return 0;
}

typedef struct emit_work {
  moqc__map np;
  bool *inc;         /* 2 per entry, then 1 per session */
  emit_tier **tiers; /* old tiers plus new ones */
  size_t n_tiers;
  char **newlast; /* per frame: the copy to keep as last written, or NULL */
  moqc_stats_emission *em;
} emit_work;

static void emit_work_free(moqc_stats_emitter *e, emit_work *w,
                           bool committed) {
  if (!committed) {
    emit_prev_clear(e->mem, &w->np);
    /* New tiers are those not in e->tiers. */
    for (size_t i = 0; w->tiers != NULL && i < w->n_tiers; i++) {
      if (emit_tier_find(e->tiers, e->n_tiers, w->tiers[i]->tier) < 0) {
        emit_tier_free(e->mem, w->tiers[i]);
      }
    }
    moqc_mem_free(e->mem, w->tiers);
    for (size_t i = 0;
         w->newlast != NULL && w->em != NULL && i < w->em->n_frames; i++) {
      moqc_mem_free(e->mem, w->newlast[i]);
    }
    moqc_stats_emission_del(w->em);
  }
  moqc_mem_free(e->mem, w->inc);
  moqc_mem_free(e->mem, w->newlast);
}

/* Builds the frame of doc for tier t from src into em->frames[idx] (and
 * w->newlast[idx]). */
static int emit_frame(moqc_stats_emitter *e, emit_work *w, size_t idx,
                      const emit_tier *t, const emit_doc_src *src) {
  char *json;
  size_t jlen, tlen, nlen = strlen(emit_doc_names[src->doc]);
  char *mem;
  moqc_stats_frame *f = &w->em->frames[idx];
  int rv = moqc__sbuf_alloc(emit_doc_render, src, e->mem, &json, &jlen);

  if (rv != 0) {
    return rv;
  }
  tlen = t->tier.len > 0 ? t->tier.len + 1 + nlen : nlen;
  mem = moqc_mem_malloc(e->mem, tlen + 1 + t->tier.len + 1 + jlen + 1);
  if (mem == NULL) {
    moqc_mem_free(e->mem, json);
    return MOQC_ERR_NOMEM;
  }
  /* [track NUL][tier NUL][json NUL] */
  if (t->tier.len > 0) {
    memcpy(mem, t->tier.ptr, t->tier.len);
    mem[t->tier.len] = '/';
    memcpy(mem + t->tier.len + 1, emit_doc_names[src->doc], nlen);
  } else {
    memcpy(mem, emit_doc_names[src->doc], nlen);
  }
  mem[tlen] = '\0';
  if (t->tier.len > 0) {
    memcpy(mem + tlen + 1, t->tier.ptr, t->tier.len);
  }
  mem[tlen + 1 + t->tier.len] = '\0';
  memcpy(mem + tlen + 1 + t->tier.len + 1, json, jlen + 1);
  f->track = (moqc_str){mem, tlen};
  f->tier = (moqc_str){mem + tlen + 1, t->tier.len};
  f->json = (moqc_str){mem + tlen + 1 + t->tier.len + 1, jlen};
  f->doc = (moqc_stats_doc)src->doc;
  f->write = t->last[src->doc] == NULL || strcmp(t->last[src->doc], json) != 0;
  w->em->n_frames = idx + 1;
  if (f->write) {
    w->newlast[idx] =
        json; /* becomes the track's last written document on commit */
  } else {
    moqc_mem_free(e->mem, json);
  }
  return 0;
}

static int emit_build(moqc_stats_emitter *e, const moqc_stats_report *rep,
                      emit_work *w) {
  size_t ne = rep->n_entries, ns = rep->n_sessions, nframes, fi = 0, ie = 0,
         is = 0;
  int rv;

  /* 1. Slots: live or changed. */
  w->inc = moqc_mem_calloc(e->mem, 2 * ne + ns + 1, sizeof(bool));
  if (w->inc == NULL) {
    return MOQC_ERR_NOMEM;
  }
  for (size_t i = 0; i < ne; i++) {
    const moqc_stats_traffic_entry *t = &rep->entries[i];
    for (int d = 0; d < 2; d++) {
      emit_prev now = {.c = d == 0 ? t->publisher : t->subscriber};
      rv = emit_slot(e, &w->np, d, t->tier, t->path, &now,
                     !moqc_usage_counters_idle(&now.c),
                     &w->inc[2 * i + (size_t)d]);
      if (rv != 0) {
        return rv;
      }
    }
  }
  for (size_t i = 0; i < ns; i++) {
    const moqc_stats_session_entry *s = &rep->sessions[i];
    emit_prev now = {.p = s->presence};
    rv = emit_slot(e, &w->np, MOQC_STATS_DOC_SESSIONS, s->tier, s->root, &now,
                   s->presence.sessions > s->presence.sessions_closed,
                   &w->inc[2 * ne + i]);
    if (rv != 0) {
      return rv;
    }
  }
  /* 2. Tiers: every tier ever reported keeps its tracks. */
  w->tiers =
      moqc_mem_calloc(e->mem, e->n_tiers + ne + ns + 1, sizeof(*w->tiers));
  if (w->tiers == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(w->tiers, e->tiers, e->n_tiers * sizeof(*w->tiers));
  w->n_tiers = e->n_tiers;
  for (size_t i = 0; i < ne + ns; i++) {
    moqc_str tier = i < ne ? rep->entries[i].tier : rep->sessions[i - ne].tier;
    rv = emit_tier_add(e->mem, w->tiers, &w->n_tiers, tier);
    if (rv != 0) {
      return rv;
    }
  }
  /* 3. Documents: three per tier, report ranges walked in tier order. */
  nframes = w->n_tiers * EMIT_DOCS;
  w->em = moqc_mem_calloc(e->mem, 1,
                          sizeof(*w->em) + nframes * sizeof(moqc_stats_frame));
  w->newlast = moqc_mem_calloc(e->mem, nframes + 1, sizeof(char *));
  if (w->em == NULL || w->newlast == NULL) {
    return MOQC_ERR_NOMEM;
  }
  w->em->mem = e->mem;
  w->em->frames = (moqc_stats_frame *)(w->em + 1);
  for (size_t t = 0; t < w->n_tiers; t++) {
    moqc_str tier = w->tiers[t]->tier;
    size_t ee = ie, se = is;
    while (ee < ne && moqc_str_eq(rep->entries[ee].tier, tier)) {
      ee++;
    }
    while (se < ns && moqc_str_eq(rep->sessions[se].tier, tier)) {
      se++;
    }
    for (int d = 0; d < EMIT_DOCS; d++) {
      emit_doc_src src = {rep,
                          w->inc,
                          w->inc + 2 * ne,
                          d == MOQC_STATS_DOC_SESSIONS ? is : ie,
                          d == MOQC_STATS_DOC_SESSIONS ? se : ee,
                          d};
      rv = emit_frame(e, w, fi++, w->tiers[t], &src);
      if (rv != 0) {
        return rv;
      }
    }
    ie = ee;
    is = se;
  }
  return 0;
}

int moqc_stats_emitter_drain(moqc_stats_emitter *e,
                             const moqc_stats_report *rep,
                             moqc_stats_emission **out) {
  emit_work w = {.inc = NULL};
  int rv;

  moqc__map_init(&w.np, e->mem);
  rv = emit_build(e, rep, &w);
  if (rv != 0) {
    emit_work_free(e, &w, false);
    return rv;
  }
  /* Commit: nothing below can fail. */
  emit_prev_clear(e->mem, &e->prev);
  e->prev = w.np;
  moqc_mem_free(e->mem, e->tiers);
  e->tiers = w.tiers;
  e->n_tiers = w.n_tiers;
  for (size_t i = 0; i < w.em->n_frames; i++) {
    if (w.newlast[i] != NULL) {
      emit_tier *t = e->tiers[i / EMIT_DOCS];
      moqc_mem_free(e->mem, t->last[i % EMIT_DOCS]);
      t->last[i % EMIT_DOCS] = w.newlast[i];
    }
  }
  *out = w.em;
  emit_work_free(e, &w, true);
  return 0;
}
