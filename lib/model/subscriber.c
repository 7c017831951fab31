/*
 * Track subscribers: a live subscription with a preference counted in the
 * track's aggregate and three cursors (sequence order, arrival order,
 * datagrams).
 */
#include "model/model_int.h"

#include <moqc/error.h>

int moqc__subscriber_new(moqc__core *c, moqc__track *t, moqc_usage_scope *scope,
                         const moqc_subscription *sub,
                         moqc_track_subscriber **out, moqc__wake *batch) {
  moqc_track_subscriber *s = moqc_mem_calloc(c->mem, 1, sizeof(*s));

  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  s->core = c;
  s->track = t;
  t->refs++;
  moqc__track_consumers_add(t, batch);
  s->scope = scope;
  s->esink = moqc__scope_sink(scope);
  moqc_usage_scope_incref(scope);
  if (sub != NULL) {
    s->psub.sub = *sub;
  } else {
    moqc_subscription_default(&s->psub.sub);
  }
  s->psub.prev = NULL;
  s->psub.next = t->subs;
  if (t->subs != NULL) {
    t->subs->prev = &s->psub;
  }
  t->subs = &s->psub;
  moqc__track_agg_update(t, batch);
  *out = s;
  return 0;
}

void moqc__subscriber_resolve(moqc_track_subscriber *s) {
  moqc__track *t = s->track;
  const moqc_subscription *sub = &s->psub.sub;

  if (sub->has_start) {
    s->start = sub->start;
  } else {
    /* No explicit start: the live edge, the latest group at subscribe time. */
    s->start = t->has_max ? t->max_seq : 0;
  }
  s->next_min = s->start;
  s->arrival = t->arrival_base;
  s->dgram = t->dbase;
  s->resolved = true;
}

void moqc__subscriber_detach(moqc_track_subscriber *s, moqc__wake *batch) {
  moqc__core *c = s->core;
  moqc__track *t = s->track;

  moqc__wlist_remove(&s->reg, s, c->mem);
  if (s->psub.prev != NULL) {
    s->psub.prev->next = s->psub.next;
  } else {
    t->subs = s->psub.next;
  }
  if (s->psub.next != NULL) {
    s->psub.next->prev = s->psub.prev;
  }
  moqc__track_agg_update(t, batch);
  moqc__track_consumers_sub(t, batch);
  moqc__track_unref(c, t);
}

void moqc__subscriber_free(moqc_track_subscriber *s) {
  moqc__core *c = s->core;

  moqc_usage_scope_decref(s->scope);
  moqc_mem_free(c->mem, s);
  moqc__core_decref(c);
}

/* The end of the stream for a subscriber with nothing eligible: END, the error,
 * or PENDING. */
static int subscriber_idle(moqc_track_subscriber *s, bool nothing_left,
                           moqc__wlist *list, moqc_waker *w) {
  moqc__track *t = s->track;
  int rv;

  if (t->err != 0) {
    return t->err;
  }
  if ((t->finished || t->closed) && nothing_left) {
    return MOQC_END;
  }
  rv = moqc__wlist_add(list, &s->reg, s, w, s->core->mem);
  return rv == 0 ? MOQC_ERR_PENDING : rv;
}

static int subscriber_hand_out(moqc_track_subscriber *s, moqc__group *g,
                               moqc_group_consumer **out) {
  int rv = moqc__group_consumer_make(s->core, g, s->scope, out);

  if (rv == 0) {
    moqc_usage_add_groups(s->esink, 1);
  }
  return rv;
}

int moqc_track_subscriber_next_group(moqc_track_subscriber *ts,
                                     moqc_group_consumer **out, moqc_waker *w) {
  moqc__core *c = ts->core;
  moqc__track *t = ts->track;
  const moqc_subscription *sub = &ts->psub.sub;
  moqc__group *best = NULL;
  bool above = false;
  int rv;

  moqc__lock(c);
  if (!ts->seq_done) {
    for (size_t i = 0; i < t->ngroups; i++) {
      moqc__group *g = t->groups[i];
      if (g == NULL || g->sequence < ts->next_min) {
        continue;
      }
      above = true;
      if (sub->has_end && g->sequence > sub->end) {
        continue;
      }
      if (best == NULL || g->sequence < best->sequence) {
        best = g;
      }
    }
  }
  if (best != NULL) {
    rv = subscriber_hand_out(ts, best, out);
    if (rv == 0) {
      if (best->sequence == UINT64_MAX) {
        ts->seq_done = true;
      } else {
        ts->next_min = best->sequence + 1;
      }
    }
  } else {
    rv = subscriber_idle(ts, !above, &t->wait, w);
  }
  moqc__unlock(c);
  return rv;
}

/* Whether g can never yield a first frame (aborted, empty and finished, first
 * frame lost). */
static bool subscriber_dead_group(const moqc__group *g) {
  if (g->err != 0 || g->offset > 0) {
    return true;
  }
  if (g->nframes == 0) {
    return g->finished;
  }
  return g->frames[0]->err != 0;
}

int moqc_track_subscriber_read_frame(moqc_track_subscriber *ts,
                                     moqc_rcbuf **buf, uint64_t *sequence,
                                     uint64_t *timestamp, moqc_waker *w) {
  moqc__core *c = ts->core;
  moqc__track *t = ts->track;
  const moqc_subscription *sub = &ts->psub.sub;
  moqc__group *ready = NULL;
  bool waiting = false; /* a live group that may still become ready, or one
                           parked above end */
  int rv;

  moqc__lock(c);
  if (!ts->seq_done) {
    for (size_t i = 0; i < t->ngroups; i++) {
      moqc__group *g = t->groups[i];
      if (g == NULL || g->sequence < ts->next_min) {
        continue;
      }
      if (sub->has_end && g->sequence > sub->end) {
        waiting = true;
        continue;
      }
      if (g->nframes > 0 && g->offset == 0 && g->err == 0 &&
          g->frames[0]->finished) {
        if (ready == NULL || g->sequence < ready->sequence) {
          ready = g;
        }
      } else if (!subscriber_dead_group(g)) {
        waiting = true;
      }
    }
  }
  if (ready != NULL) {
    moqc__frame *f = ready->frames[0];
    moqc_rcbuf_incref(f->buf);
    *buf = f->buf;
    *sequence = ready->sequence;
    if (timestamp != NULL) {
      *timestamp = f->timestamp;
    }
    if (ready->sequence == UINT64_MAX) {
      ts->seq_done = true;
    } else {
      ts->next_min = ready->sequence + 1;
    }
    moqc_usage_add_groups(ts->esink, 1);
    moqc_usage_add_frames(ts->esink, 1);
    moqc_usage_add_bytes(ts->esink, f->size);
    rv = 0;
  } else {
    rv = subscriber_idle(ts, !waiting, &t->rwait, w);
  }
  moqc__unlock(c);
  return rv;
}

int moqc_track_subscriber_recv_group(moqc_track_subscriber *ts,
                                     moqc_group_consumer **out, moqc_waker *w) {
  moqc__core *c = ts->core;
  moqc__track *t = ts->track;
  int rv;

  moqc__lock(c);
  if (ts->arrival < t->arrival_base) {
    ts->arrival = t->arrival_base;
  }
  while (ts->arrival < t->arrival_base + t->ngroups) {
    moqc__group *g = t->groups[ts->arrival - t->arrival_base];
    ts->arrival++;
    if (g != NULL && g->sequence >= ts->start) {
      rv = subscriber_hand_out(ts, g, out);
      if (rv != 0) {
        ts->arrival--;
      }
      moqc__unlock(c);
      return rv;
    }
  }
  rv = subscriber_idle(ts, true, &t->wait, w);
  moqc__unlock(c);
  return rv;
}

int moqc_track_subscriber_recv_datagram(moqc_track_subscriber *ts,
                                        uint64_t *sequence, uint64_t *timestamp,
                                        moqc_rcbuf **payload, moqc_waker *w) {
  moqc__core *c = ts->core;
  moqc__track *t = ts->track;
  int rv;

  moqc__lock(c);
  if (ts->dgram < t->dbase) {
    ts->dgram = t->dbase; /* lagged: the missed datagrams are gone */
  }
  while (ts->dgram < t->dbase + t->dcount) {
    moqc__datagram *d =
        &t->dgrams[(t->dhead + (ts->dgram - t->dbase)) % t->dcap];
    ts->dgram++;
    if (d->sequence < ts->start) {
      continue;
    }
    *sequence = d->sequence;
    if (timestamp != NULL) {
      *timestamp = d->timestamp;
    }
    moqc_rcbuf_incref(d->payload);
    *payload = d->payload;
    moqc_usage_add_datagram(ts->esink, moqc_rcbuf_len(d->payload));
    moqc__unlock(c);
    return 0;
  }
  rv = subscriber_idle(ts, true, &t->wait, w);
  moqc__unlock(c);
  return rv;
}

int moqc_track_subscriber_update(moqc_track_subscriber *ts,
                                 const moqc_subscription *sub) {
  moqc__core *c = ts->core;
  moqc__track *t = ts->track;
  moqc__wake batch = {NULL};

  if (sub == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lock(c);
  ts->psub.sub = *sub;
  if (sub->has_start && sub->start > ts->start) {
    ts->start = sub->start;
    if (ts->next_min < ts->start) {
      ts->next_min = ts->start;
    }
  }
  moqc__track_agg_update(t, &batch);
  /* A raised end may make parked groups eligible: wake the readers. */
  moqc__wlist_drain(&t->wait, &batch);
  moqc__unlock_fire(c, &batch);
  return 0;
}

void moqc_track_subscriber_info(const moqc_track_subscriber *ts,
                                moqc_track_info *out) {
  *out = ts->track->info;
}

int moqc_track_subscriber_latest(const moqc_track_subscriber *ts,
                                 uint64_t *sequence) {
  moqc__core *c = ts->core;
  int rv = MOQC_ERR_NOT_FOUND;

  moqc__lock(c);
  if (ts->track->has_max) {
    *sequence = ts->track->max_seq;
    rv = 0;
  }
  moqc__unlock(c);
  return rv;
}

void moqc_track_subscriber_del(moqc_track_subscriber *ts) {
  moqc__core *c;
  moqc__wake batch = {NULL};

  if (ts == NULL) {
    return;
  }
  c = ts->core;
  moqc__lock(c);
  moqc__subscriber_detach(ts, &batch);
  moqc__unlock_fire(c, &batch);
  if (ts->resolved) {
    moqc_usage_close_subscription(ts->esink);
    moqc_usage_scope_viewer_close(ts->scope);
  }
  moqc__subscriber_free(ts);
}

int moqc_track_subscriber_get_group(moqc_track_subscriber *ts,
                                    uint64_t sequence,
                                    moqc_group_consumer **out, moqc_waker *w) {
  moqc__core *c = ts->core;
  moqc__track *t = ts->track;
  int rv;

  moqc__lock(c);
  for (size_t i = 0; i < t->ngroups; i++) {
    moqc__group *g = t->groups[i];
    if (g != NULL && g->sequence == sequence) {
      rv = subscriber_hand_out(ts, g, out);
      moqc__unlock(c);
      return rv;
    }
  }
  /* Not cached: it can still arrive unless every producer is gone or the track
   * finished at or below it. */
  rv = subscriber_idle(ts, t->closed || !t->finished || sequence >= t->final_seq,
                       &t->wait, w);
  moqc__unlock(c);
  return rv;
}
