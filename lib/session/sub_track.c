/*
 * Subscriber half, tracks: local demand for a track of a mirrored broadcast becomes a Track
 * request (lite-05) and a Subscribe stream to the peer; the subscription follows the local
 * subscriptions and ends after the last one; unused tracks linger, then go. Group streams and
 * datagrams in are in sub_group.c.
 */
#include <string.h>

#include "session/sub_int.h"

sub_track *moqc__sess_sub_track_by_stream(moqc_session *s, moqc_stream_id id) {
  for (sub_track *t = s->tracks; t != NULL; t = t->next) {
    if (t->info_stream == id || t->sub_stream == id) {
      return t;
    }
  }
  return NULL;
}

sub_track *moqc__sess_sub_track_by_id(moqc_session *s, uint64_t id) {
  for (sub_track *t = s->tracks; t != NULL; t = t->next) {
    if (t->subscribed && t->sub_id == id) {
      return t;
    }
  }
  return NULL;
}

/* Ends our side of a stream the track used and forgets it. */
static void track_drop_stream(moqc_session *s, moqc_stream_id id, int err) {
  if (id == MOQC_STREAM_NONE) {
    return;
  }
  sess_stream *st = moqc__sess_find(s, id);
  if (st == NULL) {
    return;
  }
  if (err == 0) {
    /* Unsubscribe: FIN our side (spec 4.5) and read the peer's remaining responses away. */
    moqc__sess_queue_fin(s, st);
  } else {
    moqc__sess_reset(s, st, err);
    moqc__sess_stop(s, st, err);
  }
  st->kind = SK_DISCARD;
  st->ctx = NULL;
}

void moqc__sess_sub_track_del(moqc_session *s, sub_track *t, int err) {
  track_drop_stream(s, t->info_stream, err == 0 ? MOQC_ERR_CANCEL : err);
  track_drop_stream(s, t->sub_stream, err);
  if (t->req != NULL) {
    moqc_track_request_reject(t->req, err != 0 ? err : MOQC_ERR_CANCEL);
  }
  if (t->tp != NULL) {
    /* A finished track keeps its groups readable; only an unfinished one is aborted. */
    if (err != 0 && !(t->ended && !t->finish_pending)) {
      moqc_track_producer_abort(t->tp, err);
    }
    if (t->b != NULL) {
      (void)moqc_broadcast_producer_remove_track(t->b->bp, t->name);
    }
    moqc_track_dynamic_del(t->fetch);
    moqc_track_producer_del(t->tp);
  }
  moqc_mem_free(s->mem, t->name);
  moqc_mem_free(s->mem, t);
}

/* Unlinks t from the session and deletes it. */
static void track_remove(moqc_session *s, sub_track *t, int err) {
  for (sub_track **p = &s->tracks; *p != NULL; p = &(*p)->next) {
    if (*p == t) {
      *p = t->next;
      break;
    }
  }
  sub_broadcast *b = t->b;
  moqc__sess_sub_track_del(s, t, err);
  /* The last track of an unannounced broadcast takes the broadcast with it. */
  moqc__sess_sub_broadcast_gc(s, b);
}

static int track_open_info(moqc_session *s, sub_track *t) {
  sess_stream *st;
  int rv = moqc__sess_open(s, false, SK_TRACK_SUB, &st);
  if (rv < 0) {
    return rv;
  }
  t->info_stream = st->id;
  uint8_t buf[32 + 2 * 4096];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_track m = {moqc_str_c(t->b->path), moqc_str_c(t->name)};
  if (moqc__lite_encode_stream_type(&w, MOQC_LITE_BIDI_TRACK) < 0 ||
      moqc__lite_encode_track(&w, s->version, &m) < 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
}

static int track_open_subscribe(moqc_session *s, sub_track *t, const moqc_subscription *aggp) {
  moqc_subscription agg = *aggp;
  sess_stream *st;
  int rv = moqc__sess_open(s, false, SK_SUBSCRIBE_SUB, &st);
  if (rv < 0) {
    return rv;
  }
  t->sub_stream = st->id;
  t->sub_id = s->next_subscribe_id++;
  t->subscribed = true;
  uint8_t buf[64 + 2 * 4096];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_subscribe m;
  memset(&m, 0, sizeof(m));
  m.id = t->sub_id;
  m.broadcast = moqc_str_c(t->b->path);
  m.track = moqc_str_c(t->name);
  m.priority = agg.priority;
  m.ordered = agg.ordered;
  m.max_latency_ms = agg.latency_max / MOQC_MILLISECONDS;
  m.has_start = agg.has_start;
  m.start_group = agg.start;
  m.has_end = agg.has_end;
  m.end_group = agg.end;
  t->sent = agg;
  if (moqc__lite_encode_stream_type(&w, MOQC_LITE_BIDI_SUBSCRIBE) < 0 ||
      moqc__lite_encode_subscribe(&w, s->version, &m) < 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
}

static int track_accept(moqc_session *s, sub_track *t, const moqc_track_info *info) {
  t->info = *info;
  /* lite-05: local fetches of groups the track does not cache go upstream as FETCH; the
   * handler exists before any waiting consumer (on any thread) learns of the track. */
  int rv = s->version == MOQC_LITE_05
               ? moqc_track_request_accept_dynamic(t->req, info, &t->tp, &t->fetch)
               : moqc_track_request_accept(t->req, info, &t->tp);
  t->req = NULL;
  if (rv < 0) {
    return rv;
  }
  /* Subscribe now if a local subscriber waits (a TRACK_INFO-only request does not). */
  moqc_subscription agg;
  if (moqc_track_producer_subscription(t->tp, &agg, s->waker) == 0) {
    rv = track_open_subscribe(s, t, &agg);
  }
  /* Poll soon, so the track's local demand is watched. */
  s->tp.ops->wake(s->tp.user_data);
  return rv;
}

int moqc__sess_sub_track_start(moqc_session *s, sub_broadcast *b, moqc_track_request *req) {
  sub_track *t = moqc_mem_calloc(s->mem, 1, sizeof(*t));
  const char *name = moqc_track_request_name(req);
  size_t n = strlen(name);
  if (t == NULL || (t->name = moqc_mem_malloc(s->mem, n + 1)) == NULL) {
    moqc_mem_free(s->mem, t);
    moqc_track_request_reject(req, MOQC_ERR_NOMEM);
    return MOQC_ERR_NOMEM;
  }
  memcpy(t->name, name, n + 1);
  t->b = b;
  t->req = req;
  t->info_stream = MOQC_STREAM_NONE;
  t->sub_stream = MOQC_STREAM_NONE;
  t->next = s->tracks;
  s->tracks = t;
  int rv;
  if (s->version == MOQC_LITE_05) {
    rv = track_open_info(s, t);
  } else {
    /* No TRACK_INFO before lite-05: millisecond timestamps stamped on arrival. */
    moqc_track_info info;
    moqc_track_info_default(&info);
    rv = track_accept(s, t, &info);
  }
  if (rv < 0) {
    track_remove(s, t, rv == MOQC_ERR_WOULD_BLOCK ? MOQC_ERR_UNROUTABLE : rv);
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  return 0;
}

static bool track_prefs_eq(const moqc_subscription *a, const moqc_subscription *b) {
  return a->priority == b->priority && a->ordered == b->ordered &&
         a->latency_max / MOQC_MILLISECONDS == b->latency_max / MOQC_MILLISECONDS &&
         a->has_start == b->has_start && (!a->has_start || a->start == b->start) &&
         a->has_end == b->has_end && (!a->has_end || a->end == b->end);
}

/* Sends SUBSCRIBE_UPDATE (lite-03+) when the local aggregate preferences changed. */
static int track_update_upstream(moqc_session *s, sub_track *t, const moqc_subscription *aggp) {
  moqc_subscription agg = *aggp;
  if (s->version < MOQC_LITE_03 || t->sub_stream == MOQC_STREAM_NONE ||
      track_prefs_eq(&agg, &t->sent)) {
    return 0;
  }
  sess_stream *st = moqc__sess_find(s, t->sub_stream);
  if (st == NULL) {
    return 0;
  }
  uint8_t buf[MOQC_LITE_MAX_SUBSCRIBE_UPDATE_SIZE];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_subscribe_update m;
  memset(&m, 0, sizeof(m));
  m.priority = agg.priority;
  m.ordered = agg.ordered;
  m.max_latency_ms = agg.latency_max / MOQC_MILLISECONDS;
  m.has_start = agg.has_start;
  m.start_group = agg.start;
  m.has_end = agg.has_end;
  m.end_group = agg.end;
  if (moqc__lite_encode_subscribe_update(&w, s->version, &m) < 0) {
    return 0;
  }
  t->sent = agg;
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "SUBSCRIBE_UPDATE %s/%s priority %u", t->b->path,
           t->name, (unsigned)agg.priority);
  return moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
}

/* Ends the remote subscription (FIN); the track and its info stay. */
static void track_unsubscribe(moqc_session *s, sub_track *t) {
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "unsubscribing %s/%s", t->b->path, t->name);
  sess_stream *st = moqc__sess_find(s, t->sub_stream);
  if (st != NULL) {
    moqc__sess_queue_fin(s, st);
    st->kind = SK_DISCARD;
  }
  t->sub_stream = MOQC_STREAM_NONE;
  t->subscribed = false;
}

/* Opens a FETCH stream for group seq; its bare frames fill the group. Returns 0 (the fetch is
 * failed on a refusal) or a fatal error. */
static int track_fetch(moqc_session *s, sub_track *t, uint64_t seq) {
  moqc_group_producer *gp;
  int rv = moqc_track_producer_create_group(t->tp, seq, s->now, &gp);
  if (rv < 0) {
    /* Cached meanwhile (the fetch resolved) or past the end. */
    if (rv != MOQC_ERR_DUPLICATE) {
      moqc_track_dynamic_reject_group(t->fetch, seq, rv);
    }
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  sess_stream *st;
  rv = moqc__sess_open(s, false, SK_DISCARD, &st);
  if (rv < 0) {
    moqc_group_producer_abort(gp, rv == MOQC_ERR_WOULD_BLOCK ? MOQC_ERR_UNROUTABLE : rv);
    moqc_group_producer_del(gp);
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  uint8_t buf[64 + 2 * 4096];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_fetch m = {moqc_str_c(t->b->path), moqc_str_c(t->name), t->sent.priority, seq};
  if (moqc__lite_encode_stream_type(&w, MOQC_LITE_BIDI_FETCH) < 0 ||
      moqc__lite_encode_fetch(&w, s->version, &m) < 0) {
    moqc_group_producer_abort(gp, MOQC_ERR_ENCODE);
    moqc_group_producer_del(gp);
    moqc__sess_reset(s, st, MOQC_ERR_ENCODE);
    return 0;
  }
  if ((rv = moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w))) < 0) {
    moqc_group_producer_del(gp);
    return rv;
  }
  moqc__sess_queue_fin(s, st);
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "FETCH %s/%s group %llu", t->b->path, t->name,
           (unsigned long long)seq);
  return moqc__sess_sub_group_attach(s, st, gp, t->info.timescale);
}

int moqc__sess_sub_track_poll(moqc_session *s, sub_track *t) {
  if (t->tp == NULL) {
    return 0;
  }
  int rv;
  while (t->fetch != NULL) {
    uint64_t seq;
    if (moqc_track_dynamic_requested_group(t->fetch, &seq, s->waker) != 0) {
      break;
    }
    if ((rv = track_fetch(s, t, seq)) < 0) {
      return rv;
    }
  }
  if (!t->ended) {
    /* Remote subscription follows the local subscriptions: subscribe on the first, update on
     * changes, unsubscribe after the last. */
    moqc_subscription agg;
    int live = moqc_track_producer_subscription(t->tp, &agg, s->waker);
    if (live == 0 && !t->subscribed) {
      rv = track_open_subscribe(s, t, &agg);
      if (rv < 0 && rv != MOQC_ERR_WOULD_BLOCK) {
        return rv == MOQC_ERR_NOMEM ? rv : 0;
      }
    } else if (live == 0) {
      if ((rv = track_update_upstream(s, t, &agg)) < 0) {
        return rv;
      }
    } else if (t->subscribed) {
      track_unsubscribe(s, t);
    }
  }
  /* Without any consumer the track (and its cached info) lingers, then goes. */
  if (moqc_track_producer_used(t->tp, s->waker) != 0) {
    t->unused_since = 0;
  } else if (t->unused_since == 0) {
    t->unused_since = s->now != 0 ? s->now : 1;
  }
  if (t->unused_since != 0 && s->now >= t->unused_since + s->settings.track_linger) {
    MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "dropping unused track %s/%s", t->b->path,
             t->name);
    track_remove(s, t, 0);
  }
  return 0;
}

moqc_tstamp moqc__sess_sub_expiry(const moqc_session *s) {
  moqc_tstamp e = UINT64_MAX;
  for (const sub_track *t = s->tracks; t != NULL; t = t->next) {
    if (t->unused_since != 0 && t->unused_since + s->settings.track_linger < e) {
      e = t->unused_since + s->settings.track_linger;
    }
  }
  return e;
}

int moqc__sess_sub_track_info_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                              const uint8_t *end, bool fin) {
  sub_track *t = moqc__sess_sub_track_by_stream(s, st->id);
  if (t == NULL || t->req == NULL) {
    *p = end;
    st->rx_done = fin;
    return 0;
  }
  moqc__lite_track_info m;
  int rv = moqc__lite_decode_track_info(p, end, s->version, &m);
  if (rv == MOQC_ERR_INCOMPLETE && !fin) {
    return 0;
  }
  if (rv < 0) {
    track_remove(s, t, MOQC_ERR_DECODE);
    return 0;
  }
  moqc_track_info info;
  moqc_track_info_default(&info);
  info.priority = m.priority;
  info.ordered = m.ordered;
  info.timescale = m.timescale;
  if (m.max_latency_ms != 0) {
    info.retention = m.max_latency_ms * MOQC_MILLISECONDS;
  }
  /* Done with the Track stream: FIN ours (spec 5.2), ignore the rest. */
  moqc__sess_queue_fin(s, st);
  t->info_stream = MOQC_STREAM_NONE;
  st->kind = SK_DISCARD;
  rv = track_accept(s, t, &info);
  if (rv < 0) {
    track_remove(s, t, rv == MOQC_ERR_WOULD_BLOCK ? MOQC_ERR_UNROUTABLE : rv);
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  return 0;
}

/* Finishes an ended track once every group below its END bound arrived (a Subscribe stream's
 * FIN may be read before group streams still on their way). */
void moqc__sess_sub_track_maybe_finish(sub_track *t) {
  if (!t->ended || t->tp == NULL) {
    return;
  }
  if (t->has_end && t->end_group != 0 && t->next_seq < t->end_group) {
    t->finish_pending = true;
    return;
  }
  t->finish_pending = false;
  (void)moqc_track_producer_finish(t->tp);
}

int moqc__sess_sub_subscribe_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                             const uint8_t *end, bool fin) {
  sub_track *t = moqc__sess_sub_track_by_stream(s, st->id);
  while (*p < end) {
    moqc__lite_subscribe_response m;
    int rv = moqc__lite_decode_subscribe_response(p, end, s->version, &m);
    if (rv == MOQC_ERR_INCOMPLETE) {
      break;
    }
    if (rv < 0) {
      if (t != NULL) {
        track_remove(s, t, MOQC_ERR_DECODE);
      }
      return 0;
    }
    /* START/OK and DROP need no action; END bounds the groups still to come. */
    if (t != NULL && m.kind == MOQC_LITE_SUBSCRIBE_END) {
      t->has_end = true;
      t->end_group = m.group;
    }
  }
  if (fin) {
    st->rx_done = true;
    if (t != NULL && t->tp != NULL && !t->ended) {
      /* The publisher ended the subscription: the track is finished. The entry stays so that
       * group streams still on their way are accepted, until the track goes unused. */
      t->ended = true;
      t->sub_stream = MOQC_STREAM_NONE;
      moqc__sess_queue_fin(s, st);
      st->kind = SK_DISCARD;
      moqc__sess_sub_track_maybe_finish(t);
    }
  }
  return 0;
}

/* ---- Stream end and teardown -------------------------------------------------------------- */

void moqc__sess_sub_stream_reset(moqc_session *s, sess_stream *st, int err) {
  switch (st->kind) {
  case SK_ANNOUNCE_SUB:
    moqc__sess_sub_announce_ended(s, MOQC_ERR_DROPPED);
    moqc__sess_reset(s, st, MOQC_ERR_CANCEL);
    break;
  case SK_TRACK_SUB:
  case SK_SUBSCRIBE_SUB: {
    sub_track *t = moqc__sess_sub_track_by_stream(s, st->id);
    if (t != NULL) {
      track_remove(s, t, err == MOQC_ERR_CANCEL ? MOQC_ERR_DROPPED : err);
    }
    break;
  }
  case SK_GROUP_RX:
    moqc__sess_sub_group_reset(s, st, err);
    break;
  default:
    break;
  }
}

void moqc__sess_sub_stream_free(moqc_session *s, sess_stream *st) {
  if (st->kind == SK_GROUP_RX) {
    moqc__sess_sub_group_free(s, st);
  }
  if (st->kind == SK_TRACK_SUB || st->kind == SK_SUBSCRIBE_SUB) {
    sub_track *t = moqc__sess_sub_track_by_stream(s, st->id);
    if (t != NULL) {
      if (t->info_stream == st->id) {
        t->info_stream = MOQC_STREAM_NONE;
      }
      if (t->sub_stream == st->id) {
        t->sub_stream = MOQC_STREAM_NONE;
      }
    }
  }
  if (st == s->announce_sub) {
    s->announce_sub = NULL;
  }
  moqc_mem_free(s->mem, st->ctx);
  st->ctx = NULL;
}
