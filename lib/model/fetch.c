/*
 * Fetches: random access to one group by sequence, served from the cache or, on
 * a miss, queued (coalesced by sequence) for a track's dynamic handler to
 * produce.
 */
#include "model/model_int.h"

#include <moqc/error.h>

void moqc__fetch_release(moqc__core *c, moqc_track_consumer *tc) {
  moqc__fetch *f = tc->fetch;

  tc->fetching = false;
  tc->fetch = NULL;
  if (f == NULL || --f->refs > 0) {
    return;
  }
  for (moqc__fetch **pp = &tc->track->fetches; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == f) {
      *pp = f->next;
      break;
    }
  }
  moqc_mem_free(c->mem, f);
}

static moqc__group *fetch_cached(moqc__track *t, uint64_t seq) {
  for (size_t i = 0; i < t->ngroups; i++) {
    if (t->groups[i] != NULL && t->groups[i]->sequence == seq) {
      return t->groups[i];
    }
  }
  return NULL;
}

int moqc_track_consumer_fetch_group(moqc_track_consumer *tc, uint64_t sequence,
                                    moqc_group_consumer **out, moqc_waker *w) {
  moqc__core *c = tc->core;
  moqc__track *t = tc->track;
  moqc__wake batch = {NULL};
  moqc__group *g;
  int rv;

  moqc__lock(c);
  if (!tc->fetching || tc->fetch_seq != sequence) {
    moqc__fetch_release(c, tc);
    tc->fetching = true;
    tc->fetch_seq = sequence;
    moqc_usage_add_fetch(tc->esink);
  }
  g = fetch_cached(t, sequence);
  if (g != NULL) {
    rv = moqc__group_consumer_make(c, g, tc->scope, out);
    if (rv == 0) {
      moqc__fetch_release(c, tc);
    }
    moqc__unlock(c);
    return rv;
  }
  if (t->finished && sequence >= t->final_seq) {
    rv = MOQC_ERR_NOT_FOUND;
  } else if (t->err != 0) {
    rv = t->err;
  } else if (tc->fetch != NULL && tc->fetch->err != 0) {
    rv = tc->fetch->err;
  } else if (t->dynamics == 0 && (t->has_info || t->closed)) {
    /* Nobody can serve it (a request not yet accepted may still gain a
     * handler). */
    rv = MOQC_ERR_NOT_FOUND;
  } else {
    if (tc->fetch == NULL) {
      moqc__fetch *f = t->fetches;
      while (f != NULL && (f->sequence != sequence || f->err != 0)) {
        f = f->next;
      }
      if (f == NULL) {
        f = moqc_mem_calloc(c->mem, 1, sizeof(*f));
        if (f == NULL) {
          moqc__unlock(c);
          return MOQC_ERR_NOMEM;
        }
        f->sequence = sequence;
        f->next = t->fetches;
        t->fetches = f;
        moqc__wlist_drain(&t->fwait, &batch);
      }
      f->refs++;
      tc->fetch = f;
    }
    rv = moqc__wlist_add(&t->wait, &tc->reg, tc, w, c->mem);
    if (rv == 0) {
      moqc__unlock_fire(c, &batch);
      return MOQC_ERR_PENDING;
    }
  }
  moqc__fetch_release(c, tc);
  moqc__unlock_fire(c, &batch);
  return rv;
}

int moqc_track_producer_dynamic(moqc_track_producer *tp,
                                moqc_track_dynamic **out) {
  moqc__core *c = tp->core;
  moqc_track_dynamic *td = moqc_mem_calloc(c->mem, 1, sizeof(*td));

  if (td == NULL) {
    return MOQC_ERR_NOMEM;
  }
  moqc__core_incref(c);
  td->core = c;
  td->track = tp->track;
  moqc__lock(c);
  tp->track->refs++;
  tp->track->dynamics++;
  moqc__unlock(c);
  *out = td;
  return 0;
}

int moqc_track_dynamic_requested_group(moqc_track_dynamic *td,
                                       uint64_t *sequence, moqc_waker *w) {
  moqc__core *c = td->core;
  moqc__track *t = td->track;
  int rv;

  moqc__lock(c);
  for (moqc__fetch *f = t->fetches; f != NULL; f = f->next) {
    if (!f->popped && f->err == 0 && f->refs > 0) {
      f->popped = true;
      *sequence = f->sequence;
      moqc__unlock(c);
      return 0;
    }
  }
  if (t->err != 0) {
    rv = t->err;
  } else if (t->closed) {
    rv = MOQC_END;
  } else {
    rv = moqc__wlist_add(&t->fwait, &td->reg, td, w, c->mem);
    if (rv == 0) {
      rv = MOQC_ERR_PENDING;
    }
  }
  moqc__unlock(c);
  return rv;
}

void moqc_track_dynamic_reject_group(moqc_track_dynamic *td, uint64_t sequence,
                                     int err) {
  moqc__core *c = td->core;
  moqc__track *t = td->track;
  moqc__wake batch = {NULL};

  if (err >= 0) {
    err = MOQC_ERR_NOT_FOUND;
  }
  moqc__lock(c);
  for (moqc__fetch *f = t->fetches; f != NULL; f = f->next) {
    if (f->sequence == sequence && f->err == 0) {
      f->err = err;
    }
  }
  moqc__wlist_drain(&t->wait, &batch);
  moqc__unlock_fire(c, &batch);
}

void moqc_track_dynamic_del(moqc_track_dynamic *td) {
  moqc__core *c;
  moqc__track *t;
  moqc__wake batch = {NULL};

  if (td == NULL) {
    return;
  }
  c = td->core;
  t = td->track;
  moqc__lock(c);
  moqc__wlist_remove(&td->reg, td, c->mem);
  if (--t->dynamics == 0) {
    for (moqc__fetch *f = t->fetches; f != NULL; f = f->next) {
      if (f->err == 0) {
        f->err = MOQC_ERR_NOT_FOUND;
      }
    }
    moqc__wlist_drain(&t->wait, &batch);
  }
  moqc__track_unref(c, t);
  moqc__unlock_fire(c, &batch);
  moqc_mem_free(c->mem, td);
  moqc__core_decref(c);
}
