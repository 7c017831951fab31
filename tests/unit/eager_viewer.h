/*
 * Consumers that act the moment something appears, from inside the waker the
 * change fires (on the changing thread, after the model released its locks):
 * a viewer that asks for a track as soon as a broadcast is announced, and one
 * that fetches a group as soon as its track is accepted. Tests of who may see
 * a broadcast or track before its handler exists.
 */
#ifndef MOQC_TESTS_EAGER_VIEWER_H
#define MOQC_TESTS_EAGER_VIEWER_H

#include <moqc/model.h>
#include <moqc/origin.h>

typedef struct eager_viewer {
  moqc_origin_announced *a;
  moqc_waker *w;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  const char *track;
  int lookup; /* what asking for the track returned (1: not asked yet) */
} eager_viewer;

static inline void eager_viewer_wake(void *ud) {
  eager_viewer *v = ud;
  moqc_origin_announce ev;
  if (v->lookup != 1 || moqc_origin_announced_next(v->a, &ev, NULL) != 0 ||
      ev.broadcast == NULL) {
    return;
  }
  v->bc = ev.broadcast;
  v->lookup = moqc_broadcast_consumer_track(v->bc, v->track, &v->tc);
}

/* Watches c's announcements; returns 0 or an error. */
static inline int eager_viewer_start(eager_viewer *v, moqc_origin_consumer *c,
                                     const char *track) {
  moqc_origin_announce ev;
  int rv;
  *v = (eager_viewer){NULL, NULL, NULL, NULL, track, 1};
  if ((rv = moqc_origin_consumer_announced(c, &v->a)) != 0 ||
      (rv = moqc_waker_new(&v->w, eager_viewer_wake, v, NULL)) != 0) {
    return rv;
  }
  rv = moqc_origin_announced_next(v->a, &ev, v->w);
  return rv == MOQC_ERR_PENDING ? 0 : -1;
}

static inline void eager_viewer_del(eager_viewer *v) {
  moqc_waker_close(v->w);
  moqc_track_consumer_del(v->tc);
  moqc_broadcast_consumer_del(v->bc);
  moqc_origin_announced_del(v->a);
}

/* Fetches group 5 of tc as soon as the track's info is known. */
typedef struct eager_fetcher {
  moqc_track_consumer *tc;
  moqc_group_consumer *gc;
  int fetch; /* what fetching group 5 returned (1: not yet) */
} eager_fetcher;

static inline void eager_fetcher_wake(void *ud) {
  eager_fetcher *e = ud;
  moqc_track_info info;
  if (e->fetch == 1 && moqc_track_consumer_info(e->tc, &info, NULL) == 0) {
    e->fetch = moqc_track_consumer_fetch_group(e->tc, 5, &e->gc, NULL);
  }
}

#endif /* MOQC_TESTS_EAGER_VIEWER_H */
