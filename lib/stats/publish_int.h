/*
 * Stats publisher internals shared by publish.c (broadcast, drain) and
 * publish_request.c (track names, requests for tracks that do not exist yet).
 */
#ifndef MOQC_STATS_PUBLISH_INT_H
#define MOQC_STATS_PUBLISH_INT_H

#include <moqc/model.h>
#include <moqc/origin.h>
#include <moqc/stats.h>

#include "stats/map.h"

/* One track of the stats broadcast. */
typedef struct moqc__stats_pub_track {
  moqc_track_producer *tp;
  char *last;      /* the document last written (NUL-terminated), or NULL */
  size_t last_len; /* its length */
  bool requested;  /* accepted from a request; its tier never recorded yet */
  size_t name_len;
  char name[]; /* NUL-terminated */
} moqc__stats_pub_track;

struct moqc_stats_publisher {
  const moqc_mem *mem;
  moqc_stats_registry *reg;
  moqc_origin_producer *origin; /* untagged clone of the caller's handle */
  moqc_broadcast_producer *bp;
  moqc_broadcast_dynamic *dyn;
  moqc_origin_publish *guard;
  moqc_stats_emitter *emitter;
  moqc_waker *wake;
  moqc__map tracks; /* name -> moqc__stats_pub_track */
  size_t n_requested;
  size_t max_requested;
  moqc_stats_report *held; /* a report whose emission failed, retried first */
  moqc_str path;
  char *path_buf;
};

/** The document written on a track that has no entries. */
#define MOQC__STATS_PUB_EMPTY "{}"

/**
 * Creates a pub_track for name (not yet in the map, no producer). NULL on
 * out-of-memory.
 */
moqc__stats_pub_track *moqc__stats_pub_track_alloc(const moqc_mem *mem,
                                                   moqc_str name);
/** Frees t and its last document (the producer must be released already). */
void moqc__stats_pub_track_free(const moqc_mem *mem, moqc__stats_pub_track *t);
/**
 * Writes json on t as a new group of one frame unless it equals the document
 * last written; *wrote tells which. Returns 0, MOQC_ERR_NOMEM or a track
 * error; on error t is unchanged.
 */
int moqc__stats_pub_track_write(const moqc_mem *mem, moqc__stats_pub_track *t,
                                moqc_str json, moqc_tstamp now, bool *wrote);
/** The track info of every stats track. */
void moqc__stats_pub_track_info(moqc_track_info *info);

/** Releases the requested tracks no consumer uses any more. */
void moqc__stats_pub_reclaim_requested(moqc_stats_publisher *p);

#endif /* MOQC_STATS_PUBLISH_INT_H */
