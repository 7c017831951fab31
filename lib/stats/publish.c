/*
 * The stats broadcast publisher (spec/upstream-model.md 4.2-4.4): one model
 * broadcast in the origin, one track per (tier, document), and per drain the
 * emitter's documents written as single-frame groups when they changed.
 *
 * The publisher compares each document with the one it last wrote on the
 * track itself instead of trusting the emitter's write flag: the tracks that
 * already hold {} (the default tier's from the start, requested ones from
 * their acceptance) then skip a redundant {}, and a write that failed is
 * retried at the next drain.
 */
#include <moqc/error.h>
#include <moqc/model.h>
#include <moqc/origin.h>
#include <moqc/stats.h>

#include <string.h>

#include "stats/map.h"
#include "stats/publish_int.h"

static const char *const publish_default_tracks[] = {
    "publisher.json", "subscriber.json", "sessions.json"};

void moqc_stats_publisher_settings_default(moqc_stats_publisher_settings *s) {
  memset(s, 0, sizeof(*s));
  s->prefix = moqc_str_c(MOQC_STATS_DEFAULT_PREFIX);
  s->node = (moqc_str){"", 0};
  s->max_requested = MOQC_STATS_MAX_REQUESTED_TRACKS;
}

void moqc__stats_pub_track_info(moqc_track_info *info) {
  moqc_track_info_default(info);
}

moqc__stats_pub_track *moqc__stats_pub_track_alloc(const moqc_mem *mem,
                                                   moqc_str name) {
  moqc__stats_pub_track *t;

  if (name.len > SIZE_MAX / 2) {
    return NULL;
  }
  t = moqc_mem_calloc(mem, 1, sizeof(*t) + name.len + 1);
  if (t == NULL) {
    return NULL;
  }
  if (name.len > 0) {
    memcpy(t->name, name.ptr, name.len);
  }
  t->name_len = name.len;
  return t;
}

void moqc__stats_pub_track_free(const moqc_mem *mem, moqc__stats_pub_track *t) {
  if (t != NULL) {
    moqc_mem_free(mem, t->last);
    moqc_mem_free(mem, t);
  }
}

int moqc__stats_pub_track_write(const moqc_mem *mem, moqc__stats_pub_track *t,
                                moqc_str json, moqc_tstamp now, bool *wrote) {
  char *copy;
  int rv;

  *wrote = false;
  if (t->last != NULL && t->last_len == json.len &&
      memcmp(t->last, json.ptr, json.len) == 0) {
    return 0;
  }
  copy = moqc_mem_malloc(mem, json.len + 1);
  if (copy == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(copy, json.ptr, json.len);
  copy[json.len] = '\0';
  /* The track's timescale is milliseconds (the default track info). */
  rv = moqc_track_producer_write_frame(t->tp, (const uint8_t *)json.ptr,
                                       json.len, now / MOQC_MILLISECONDS, now);
  if (rv != 0) {
    moqc_mem_free(mem, copy);
    return rv;
  }
  moqc_mem_free(mem, t->last);
  t->last = copy;
  t->last_len = json.len;
  *wrote = true;
  return 0;
}

/* Creates the track name on the broadcast and inserts it into the map. */
static int publish_track_create(moqc_stats_publisher *p, moqc_str name,
                                moqc__stats_pub_track **out) {
  moqc__stats_pub_track *t = moqc__stats_pub_track_alloc(p->mem, name);
  moqc_track_info info;
  int rv;

  if (t == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__stats_pub_track_info(&info);
  rv = moqc_broadcast_producer_create_track(p->bp, t->name, &info, &t->tp);
  if (rv != 0) {
    moqc__stats_pub_track_free(p->mem, t);
    return rv;
  }
  if (moqc__map_insert(&p->tracks, t->name, t->name_len, t) == NULL) {
    moqc_track_producer_abort(t->tp, MOQC_ERR_NOMEM);
    moqc_track_producer_del(t->tp);
    moqc__stats_pub_track_free(p->mem, t);
    return MOQC_ERR_NOMEM;
  }
  *out = t;
  return 0;
}

/*
 * Finds the track of a frame, adopting a requested one (its tier now records)
 * or creating it.
 */
static int publish_track_get(moqc_stats_publisher *p, moqc_str name,
                             moqc__stats_pub_track **out) {
  moqc__map_node *n = moqc__map_find(&p->tracks, name.ptr, name.len);

  if (n == NULL) {
    return publish_track_create(p, name, out);
  }
  *out = n->val;
  if ((*out)->requested) {
    (*out)->requested = false;
    p->n_requested--;
  }
  return 0;
}

/* Releases every track: finished, so readers drain and then see the end. */
static void publish_tracks_free(moqc_stats_publisher *p) {
  size_t slot = 0;
  moqc__map_node *next = NULL, *n;

  while ((n = moqc__map_next(&p->tracks, &slot, &next)) != NULL) {
    moqc__stats_pub_track *t = n->val;
    (void)moqc_track_producer_finish(t->tp);
    moqc_track_producer_del(t->tp);
    moqc__stats_pub_track_free(p->mem, t);
  }
  moqc__map_clear(&p->tracks);
}

/* Builds "<prefix>/node[/<node>]" from the settings into p->path. */
static int publish_path(moqc_stats_publisher *p,
                        const moqc_stats_publisher_settings *s) {
  moqc_str prefix =
      s->prefix.ptr == NULL ? moqc_str_c(MOQC_STATS_DEFAULT_PREFIX) : s->prefix;
  moqc_str node = s->node.ptr == NULL ? (moqc_str){"", 0} : s->node;
  size_t plen, nlen, cap;
  char *buf;

  if (prefix.len > SIZE_MAX / 4 || node.len > SIZE_MAX / 4) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  cap = prefix.len + node.len + sizeof("/node/");
  buf = moqc_mem_malloc(p->mem, cap);
  if (buf == NULL) {
    return MOQC_ERR_NOMEM;
  }
  plen = moqc_path_normalize(buf, prefix);
  if (plen == 0) {
    moqc_mem_free(p->mem, buf);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  memcpy(buf + plen, "/node", 5);
  plen += 5;
  buf[plen] = '/';
  nlen = moqc_path_normalize(buf + plen + 1, node);
  if (nlen > 0) {
    plen += 1 + nlen;
  }
  buf[plen] = '\0';
  p->path_buf = buf;
  p->path = (moqc_str){buf, plen};
  return 0;
}

/*
 * Checks that the registry excludes the broadcast's absolute path (origin root
 * joined with the path), so serving it meters nothing.
 */
static int publish_check_excluded(const moqc_stats_publisher *p,
                                  const moqc_origin_producer *origin) {
  moqc_str root = moqc_origin_producer_root(origin);
  size_t cap = root.len + p->path.len + 2;
  char *abs;
  moqc_ssize n;
  bool ok;

  if (!moqc_stats_registry_enabled(p->reg)) {
    return 0; /* nothing is metered at all */
  }
  abs = moqc_mem_malloc(p->mem, cap);
  if (abs == NULL) {
    return MOQC_ERR_NOMEM;
  }
  n = moqc_path_join(abs, cap, root, p->path);
  if (n < 0) {
    moqc_mem_free(p->mem, abs);
    return (int)n;
  }
  ok = moqc_stats_registry_excluded(p->reg, (moqc_str){abs, (size_t)n});
  moqc_mem_free(p->mem, abs);
  return ok ? 0 : MOQC_ERR_INVALID_ARGUMENT;
}

/* Builds the broadcast, its default tracks and its handler, then publishes. */
static int publish_open(moqc_stats_publisher *p,
                        const moqc_origin_producer *origin) {
  moqc_broadcast_consumer *bc;
  bool wrote;
  int rv = moqc_origin_producer_with_usage(origin, NULL, &p->origin);

  if (rv != 0) {
    return rv;
  }
  rv = moqc_broadcast_new(&p->bp, NULL, p->mem);
  if (rv != 0) {
    return rv;
  }
  for (size_t i = 0; i < 3; i++) {
    moqc__stats_pub_track *t;
    rv = publish_track_create(p, moqc_str_c(publish_default_tracks[i]), &t);
    if (rv == 0) {
      /* No clock here: the first group is inserted at time 0. */
      rv = moqc__stats_pub_track_write(
          p->mem, t, moqc_str_c(MOQC__STATS_PUB_EMPTY), 0, &wrote);
    }
    if (rv != 0) {
      return rv;
    }
  }
  rv = moqc_broadcast_producer_dynamic(p->bp, &p->dyn);
  if (rv != 0) {
    return rv;
  }
  rv = moqc_broadcast_producer_consume(p->bp, &bc);
  if (rv != 0) {
    return rv;
  }
  rv = moqc_origin_producer_publish(p->origin, p->path, bc, NULL, &p->guard);
  moqc_broadcast_consumer_del(bc);
  return rv;
}

int moqc_stats_publisher_new_versioned(
    moqc_stats_publisher **out, moqc_stats_registry *reg,
    const moqc_origin_producer *origin, int settings_version,
    const moqc_stats_publisher_settings *settings) {
  moqc_stats_publisher_settings def;
  moqc_stats_publisher *p;
  int rv;

  if (out == NULL || reg == NULL || origin == NULL ||
      settings_version != MOQC_STATS_PUBLISHER_SETTINGS_V1) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (settings == NULL) {
    moqc_stats_publisher_settings_default(&def);
    settings = &def;
  }
  p = moqc_mem_calloc(settings->mem, 1, sizeof(*p));
  if (p == NULL) {
    return MOQC_ERR_NOMEM;
  }
  p->mem = settings->mem;
  p->reg = reg;
  moqc_stats_registry_incref(reg);
  p->max_requested = settings->max_requested;
  moqc__map_init(&p->tracks, p->mem);
  if (settings->wake != NULL) {
    p->wake = settings->wake;
    moqc_waker_incref(p->wake);
  }
  rv = publish_path(p, settings);
  if (rv == 0) {
    rv = publish_check_excluded(p, origin);
  }
  if (rv == 0) {
    rv = moqc_stats_emitter_new(&p->emitter, p->mem);
  }
  if (rv == 0) {
    rv = publish_open(p, origin);
  }
  if (rv != 0) {
    moqc_stats_publisher_del(p);
    return rv;
  }
  *out = p;
  return 0;
}

moqc_str moqc_stats_publisher_path(const moqc_stats_publisher *p) {
  return p->path;
}

size_t moqc_stats_publisher_requested(const moqc_stats_publisher *p) {
  return p->n_requested;
}

/*
 * Emits one report: runs the emitter and writes its documents. *consumed
 * tells whether the emitter took the report (false only when it failed).
 */
static int publish_emit(moqc_stats_publisher *p, const moqc_stats_report *rep,
                        moqc_tstamp now, size_t *written, bool *consumed) {
  moqc_stats_emission *em;
  int rv = moqc_stats_emitter_drain(p->emitter, rep, &em), first = 0;

  *consumed = rv == 0;
  if (rv != 0) {
    return rv;
  }
  for (size_t i = 0; i < em->n_frames; i++) {
    const moqc_stats_frame *f = &em->frames[i];
    moqc__stats_pub_track *t;
    bool wrote = false;
    rv = publish_track_get(p, f->track, &t);
    if (rv == 0) {
      rv = moqc__stats_pub_track_write(p->mem, t, f->json, now, &wrote);
    }
    if (rv != 0 && first == 0) {
      first = rv;
    }
    if (wrote) {
      (*written)++;
    }
  }
  moqc_stats_emission_del(em);
  return first;
}

int moqc_stats_publisher_drain(moqc_stats_publisher *p, moqc_tstamp now,
                               size_t *written) {
  moqc_stats_report *rep;
  size_t n = 0;
  bool consumed = true;
  int rv, err = moqc_stats_publisher_serve(p, now);

  if (p->held != NULL) {
    rv = publish_emit(p, p->held, now, &n, &consumed);
    err = rv != 0 ? rv : err;
    if (consumed) {
      moqc_stats_report_del(p->held);
      p->held = NULL;
    }
  }
  if (consumed) {
    rv = moqc_stats_registry_report(p->reg, &rep);
    if (rv == 0) {
      rv = publish_emit(p, rep, now, &n, &consumed);
      if (consumed) {
        moqc_stats_report_del(rep);
      } else {
        p->held = rep; /* reclaimed values must still be emitted once */
      }
    }
    err = rv != 0 ? rv : err;
  }
  if (written != NULL) {
    *written = n;
  }
  return err;
}

void moqc_stats_publisher_del(moqc_stats_publisher *p) {
  if (p == NULL) {
    return;
  }
  /* Unpublish first, then end the broadcast: queued requests fail. */
  moqc_origin_publish_del(p->guard);
  if (p->bp != NULL) {
    moqc_broadcast_producer_finish(p->bp);
  }
  publish_tracks_free(p);
  moqc_broadcast_dynamic_del(p->dyn);
  moqc_broadcast_producer_del(p->bp);
  moqc_origin_producer_del(p->origin);
  moqc_stats_emitter_del(p->emitter);
  moqc_stats_report_del(p->held);
  moqc_waker_decref(p->wake);
  moqc_stats_registry_decref(p->reg);
  moqc_mem_free(p->mem, p->path_buf);
  moqc_mem_free(p->mem, p);
}
