/*
 * Requests for stats tracks that do not exist yet (spec/upstream-model.md
 * 4.6): a consumer may subscribe to a named tier's track before the tier ever
 * records. A well-formed name is accepted at once and held open with {}; real
 * data later flows on the same track when the tier records (the drain adopts
 * it). Requested tracks waiting for their tier are bounded; one whose last
 * consumer left is finished and its quota returned.
 */
#include <moqc/error.h>
#include <moqc/model.h>
#include <moqc/stats.h>

#include <string.h>

#include "stats/map.h"
#include "stats/publish_int.h"

static const char *const request_docs[] = {"publisher.json", "subscriber.json",
                                           "sessions.json"};

bool moqc_stats_track_name_parse(moqc_str name, moqc_str *tier,
                                 moqc_stats_doc *doc) {
  if (name.len > MOQC_STATS_MAX_TRACK_NAME || (name.len > 0 && !name.ptr)) {
    return false;
  }
  for (int d = 0; d < 3; d++) {
    size_t dl = strlen(request_docs[d]);
    moqc_str t;
    if (name.len == dl && memcmp(name.ptr, request_docs[d], dl) == 0) {
      t = (moqc_str){"", 0};
    } else if (name.len > dl + 1 &&
               memcmp(name.ptr + name.len - dl, request_docs[d], dl) == 0 &&
               name.ptr[name.len - dl - 1] == '/') {
      t = (moqc_str){name.ptr, name.len - dl - 1};
      /* A named tier: non-empty, no leading, trailing or double '/'. */
      if (!moqc_path_is_normalized(t)) {
        return false;
      }
    } else {
      continue;
    }
    if (tier != NULL) {
      *tier = t;
    }
    if (doc != NULL) {
      *doc = (moqc_stats_doc)d;
    }
    return true;
  }
  return false;
}

void moqc__stats_pub_reclaim_requested(moqc_stats_publisher *p) {
  size_t slot = 0;
  moqc__map_node *next = NULL, *n;

  if (p->n_requested == 0) {
    return;
  }
  while ((n = moqc__map_next(&p->tracks, &slot, &next)) != NULL) {
    moqc__stats_pub_track *t = n->val;
    if (!t->requested || moqc_track_producer_used(t->tp, NULL) != 0) {
      continue; /* permanent, used, or unknown (out of memory): keep it */
    }
    (void)moqc_track_producer_finish(t->tp);
    (void)moqc_broadcast_producer_remove_track(p->bp, t->name);
    moqc_track_producer_del(t->tp);
    moqc__map_remove(&p->tracks, n);
    moqc__stats_pub_track_free(p->mem, t);
    p->n_requested--;
  }
}

/* Serves one popped request; the handle is consumed. */
static int request_serve(moqc_stats_publisher *p, moqc_track_request *req,
                         moqc_tstamp now) {
  moqc_str name = moqc_str_c(moqc_track_request_name(req));
  moqc__stats_pub_track *t;
  moqc_track_info info;
  bool wrote;
  int rv;

  if (!moqc_stats_track_name_parse(name, NULL, NULL)) {
    moqc_track_request_reject(req, MOQC_ERR_NOT_FOUND);
    return 0;
  }
  if (moqc__map_find(&p->tracks, name.ptr, name.len) != NULL) {
    moqc_track_request_reject(req, MOQC_ERR_DUPLICATE); /* not expected */
    return 0;
  }
  if (p->n_requested >= p->max_requested) {
    moqc_track_request_reject(req, MOQC_ERR_BOUNDS_EXCEEDED);
    return 0;
  }
  t = moqc__stats_pub_track_alloc(p->mem, name);
  if (t == NULL) {
    moqc_track_request_reject(req, MOQC_ERR_NOMEM);
    return MOQC_ERR_NOMEM;
  }
  moqc__stats_pub_track_info(&info);
  rv = moqc_track_request_accept(req, &info, &t->tp);
  if (rv != 0) {
    /* The track already failed (the broadcast ended): nothing to hold. */
    moqc__stats_pub_track_free(p->mem, t);
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  rv = moqc__stats_pub_track_write(p->mem, t, moqc_str_c(MOQC__STATS_PUB_EMPTY),
                                   now, &wrote);
  if (rv == 0 &&
      moqc__map_insert(&p->tracks, t->name, t->name_len, t) == NULL) {
    rv = MOQC_ERR_NOMEM;
  }
  if (rv != 0) {
    moqc_track_producer_abort(t->tp, rv);
    moqc_track_producer_del(t->tp);
    moqc__stats_pub_track_free(p->mem, t);
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  t->requested = true;
  p->n_requested++;
  return 0;
}

int moqc_stats_publisher_serve(moqc_stats_publisher *p, moqc_tstamp now) {
  int err = 0;

  moqc__stats_pub_reclaim_requested(p);
  for (;;) {
    moqc_track_request *req;
    int rv = moqc_broadcast_dynamic_requested_track(p->dyn, &req, p->wake);
    if (rv != 0) {
      /* PENDING: nothing queued (the waker is registered); MOQC_END or a close
       * error: the broadcast ended, nothing more will come. */
      return rv == MOQC_ERR_NOMEM ? rv : err;
    }
    rv = request_serve(p, req, now);
    if (rv != 0) {
      err = rv;
    }
  }
}
