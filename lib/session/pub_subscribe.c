/*
 * Publisher half, Subscribe streams (spec 4.5): the model subscription, responses per version,
 * opening one uni stream per group (pub_group.c sends it), a bounded queue of groups waiting for
 * stream credit, latency expiry, SUBSCRIBE_UPDATE, SUBSCRIBE_END and unsubscribe.
 */
#include <string.h>

#include "session/pub_resolve.h"

/* A group waiting for stream credit. */
typedef struct sub_wait {
  moqc_group_consumer *gc;
  uint64_t seq;
  moqc_tstamp at; /* when the model handed it over */
} sub_wait;

typedef struct pub_sub {
  uint64_t id;
  pub_resolve r;
  moqc_subscription prefs;
  uint8_t priority;
  bool ordered;
  uint64_t latency_ms;
  moqc_track_subscriber *ts;
  moqc_track_info info;
  bool ok_sent;
  bool ended;     /* the track ended: no more groups */
  bool end_sent;  /* SUBSCRIBE_END (lite-05) queued */
  uint64_t end_group;
  /* Groups waiting for stream credit, by sequence (oldest first), at most group_wait_max;
   * allocated when credit first runs out. */
  sub_wait *wait;
  size_t nwait;
  size_t capwait;
  bool has_newest;
  uint64_t newest; /* the highest sequence the model handed over */
  moqc_tstamp fin_at; /* every group settled: FIN at this time (settings.end_linger); 0 = not yet */
} pub_sub;

/* ---- Groups waiting for stream credit ------------------------------------------------------ */

/* The largest group_wait_max honoured (larger values are clamped). */
#define SUB_WAIT_LIMIT 65536

static size_t sub_wait_max(const moqc_session *s) {
  size_t m = s->settings.group_wait_max;
  if (m == 0) {
    return MOQC_SESSION_GROUP_WAIT_DEFAULT;
  }
  return m > SUB_WAIT_LIMIT ? SUB_WAIT_LIMIT : m;
}

/* Drops waiting group i (its model reference goes; its frames were never read, so never
 * metered). */
static void sub_wait_drop(moqc_session *s, pub_sub *u, size_t i, const char *why) {
  sub_wait *e = &u->wait[i];
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "subscription %llu: no stream credit, group %llu %s",
           (unsigned long long)u->id, (unsigned long long)e->seq, why);
  moqc_group_consumer_del(e->gc);
  memmove(e, e + 1, (u->nwait - i - 1) * sizeof(*e));
  if (--u->nwait == 0) {
    s->pub_waiting_subs--;
  }
}

/* Drops the waiting groups older than the subscription's max latency, as sub_expire_groups does
 * for groups in flight, except the newest group handed over. A max latency of 0 (what @moq/net
 * sends by default: no preference) bounds the queue by count only. */
static void sub_wait_expire(moqc_session *s, pub_sub *u, moqc_tstamp now) {
  if (u->latency_ms == 0) {
    return;
  }
  moqc_tstamp budget = u->latency_ms * MOQC_MILLISECONDS;
  size_t i = 0;
  while (i < u->nwait) {
    const sub_wait *e = &u->wait[i];
    if (e->seq < u->newest && now > e->at && now - e->at > budget) {
      sub_wait_drop(s, u, i, "too old, dropped while waiting");
    } else {
      i++;
    }
  }
}

/* Queues gc (taken) to wait for stream credit, in sequence order. When the queue is full the
 * oldest waiting group is dropped, or gc itself when it is older than all of them. Returns 0 or
 * MOQC_ERR_NOMEM. */
static int sub_wait_push(moqc_session *s, pub_sub *u, moqc_group_consumer *gc) {
  uint64_t seq = moqc_group_consumer_sequence(gc);
  sub_wait_expire(s, u, s->now);
  size_t pos = u->nwait;
  while (pos > 0 && u->wait[pos - 1].seq > seq) {
    pos--;
  }
  size_t max = sub_wait_max(s);
  if (u->nwait >= max) {
    if (pos == 0) {
      MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG,
               "subscription %llu: no stream credit, group %llu dropped (queue full)",
               (unsigned long long)u->id, (unsigned long long)seq);
      moqc_group_consumer_del(gc);
      return 0;
    }
    sub_wait_drop(s, u, 0, "dropped (queue full)");
    pos--;
  }
  if (u->nwait == u->capwait) {
    size_t cap = u->capwait == 0 ? 4 : u->capwait * 2;
    if (cap > max) {
      cap = max;
    }
    sub_wait *w = moqc_mem_realloc(s->mem, u->wait, cap * sizeof(*w));
    if (w == NULL) {
      moqc_group_consumer_del(gc);
      return MOQC_ERR_NOMEM;
    }
    u->wait = w;
    u->capwait = cap;
  }
  memmove(&u->wait[pos + 1], &u->wait[pos], (u->nwait - pos) * sizeof(u->wait[0]));
  u->wait[pos].gc = gc;
  u->wait[pos].seq = seq;
  u->wait[pos].at = s->now;
  if (u->nwait++ == 0) {
    s->pub_waiting_subs++;
  }
  return 0;
}

/* Releases every waiting group (the subscription ends). */
static void sub_wait_free(moqc_session *s, pub_sub *u) {
  for (size_t i = 0; i < u->nwait; i++) {
    moqc_group_consumer_del(u->wait[i].gc);
  }
  if (u->nwait > 0) {
    s->pub_waiting_subs--;
  }
  u->nwait = 0;
  moqc_mem_free(s->mem, u->wait);
  u->wait = NULL;
  u->capwait = 0;
}

/* ---- Subscribe streams --------------------------------------------------------------------- */

void moqc__sess_pub_subscribe_free(moqc_session *s, sess_stream *st) {
  pub_sub *u = st->ctx;
  if (u == NULL) {
    return;
  }
  st->ctx = NULL;
  /* Unsubscribed or gone: groups still being sent are no longer wanted. */
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *gs = s->streams[i];
    pub_group *g = gs->kind == SK_GROUP_TX ? gs->ctx : NULL;
    if (g != NULL && g->sub_stream == st->id) {
      if (!g->done || !gs->fin_written) {
        moqc__sess_reset(s, gs, MOQC_ERR_CANCEL);
      }
      moqc__sess_pub_group_free(s, gs);
      gs->kind = SK_DISCARD;
    }
  }
  sub_wait_free(s, u);
  moqc_track_subscriber_del(u->ts);
  moqc__sess_pub_resolve_free(s, &u->r);
  moqc_mem_free(s->mem, u);
}

static size_t sub_groups_in_flight(moqc_session *s, const sess_stream *sub_st) {
  size_t n = 0;
  for (size_t i = 0; i < s->nstreams; i++) {
    const sess_stream *gs = s->streams[i];
    const pub_group *g = gs->kind == SK_GROUP_TX ? gs->ctx : NULL;
    /* In flight until reset, or until every byte and the FIN are acknowledged: the publisher
     * FINs the Subscribe stream only after its groups were delivered or reset (spec 4.5). */
    bool settled = gs->send_done || (gs->fin_written && gs->acked == gs->queued);
    if (g != NULL && g->sub_stream == sub_st->id && !settled) {
      n++;
    }
  }
  return n;
}

/* After the track ended, FIN the Subscribe stream once every group went out. */
int moqc__sess_pub_sub_maybe_finish(moqc_session *s, sess_stream *sub_st) {
  pub_sub *u = sub_st->ctx;
  if (u == NULL || !u->ended || u->nwait > 0 || sub_st->fin_queued) {
    return 0;
  }
  if (sub_groups_in_flight(s, sub_st) > 0) {
    return 0;
  }
  if (s->settings.end_linger == 0) {
    moqc__sess_queue_fin(s, sub_st);
    return 0;
  }
  if (u->fin_at == 0) {
    u->fin_at = s->now + s->settings.end_linger;
    if (u->fin_at < s->end_fin_due) {
      s->end_fin_due = u->fin_at;
    }
  }
  return 0;
}

void moqc__sess_pub_end_poll(moqc_session *s) {
  moqc_tstamp due = UINT64_MAX;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    pub_sub *u = st->kind == SK_SUBSCRIBE_PUB ? st->ctx : NULL;
    if (u == NULL || u->fin_at == 0 || st->fin_queued) {
      continue;
    }
    if (u->fin_at <= s->now) {
      moqc__sess_queue_fin(s, st);
    } else if (u->fin_at < due) {
      due = u->fin_at;
    }
  }
  s->end_fin_due = due;
}

static int sub_queue_response(moqc_session *s, sess_stream *st,
                              const moqc__lite_subscribe_response *m) {
  uint8_t buf[MOQC_LITE_MAX_SUBSCRIBE_RESPONSE_SIZE];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  int rv = moqc__lite_encode_subscribe_response(&w, s->version, m);
  if (rv < 0) {
    return MOQC_ERR_INTERNAL;
  }
  return moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
}

/* Resets the sub's older unfinished groups that exceed its latency budget (spec 5.1). */
static void sub_expire_groups(moqc_session *s, sess_stream *sub_st, pub_sub *u,
                              uint64_t newest, moqc_tstamp now) {
  moqc_tstamp budget = u->latency_ms * MOQC_MILLISECONDS;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *gs = s->streams[i];
    pub_group *g = gs->kind == SK_GROUP_TX ? gs->ctx : NULL;
    if (g == NULL || g->sub_stream != sub_st->id || gs->send_done || gs->fin_written) {
      continue;
    }
    /* Only a group backlogged on this link costs the newest group bandwidth. One whose bytes
     * all went out and that waits for the rest of its frames (still coming from upstream,
     * where newest-first may delay them too) is left to finish. */
    if (moqc__sess_unwritten(gs) == 0 && !gs->blocked) {
      continue;
    }
    if (gs->sequence < newest && now > g->arrival && now - g->arrival > budget) {
      MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "subscription %llu: group %llu too old, reset",
               (unsigned long long)u->id, (unsigned long long)gs->sequence);
      moqc__sess_reset(s, gs, MOQC_ERR_OLD);
      moqc__sess_pub_group_done(s, gs);
    }
  }
}

/*
 * Opens a group stream for gc (taken on success; arrived at `at`) and queues its GROUP header and
 * first frames. Returns 0, MOQC_ERR_WOULD_BLOCK (no stream credit; gc not taken), or a fatal
 * error (MOQC_ERR_NOMEM: gc not taken when *taken stays false).
 */
static int sub_open_group(moqc_session *s, sess_stream *sub_st, pub_sub *u,
                          moqc_group_consumer *gc, moqc_tstamp at, bool *taken) {
  sess_stream *gs;
  *taken = false;
  int rv = moqc__sess_open(s, true, SK_GROUP_TX, &gs);
  if (rv < 0) {
    return rv;
  }
  pub_group *g = moqc_mem_calloc(s->mem, 1, sizeof(*g));
  if (g == NULL) {
    moqc__sess_reset(s, gs, MOQC_ERR_CANCEL);
    gs->kind = SK_DISCARD;
    return MOQC_ERR_NOMEM;
  }
  *taken = true;
  g->sub_stream = sub_st->id;
  g->gc = gc;
  g->arrival = at;
  gs->ctx = g;
  gs->sclass = SESS_CLASS_GROUP;
  gs->sub_priority = u->priority;
  gs->pub_priority = u->info.priority;
  gs->ordered = u->ordered;
  gs->sequence = moqc_group_consumer_sequence(g->gc);
  moqc__sess_sched_update(s, gs);

  uint8_t buf[1 + MOQC_LITE_MAX_GROUP_SIZE];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_group m = {u->id, gs->sequence};
  if (moqc__lite_encode_stream_type(&w, MOQC_LITE_UNI_GROUP) < 0 ||
      moqc__lite_encode_group(&w, s->version, &m) < 0) {
    moqc__sess_reset(s, gs, MOQC_ERR_BOUNDS_EXCEEDED);
    moqc__sess_pub_group_done(s, gs);
    return 0;
  }
  if ((rv = moqc__sess_queue_copy(s, gs, buf, (size_t)moqc__writer_result(&w))) < 0) {
    return rv;
  }
  return moqc__sess_pub_group_poll(s, gs);
}

/* Whether subscription a's oldest waiting group gets the next stream before b's: higher
 * subscriber priority, then higher publisher priority (the write order, spec 5.1), then the one
 * waiting longer, then the older Subscribe stream. */
static bool sub_wait_before(const sess_stream *ast, const pub_sub *a, const sess_stream *bst,
                            const pub_sub *b) {
  if (a->priority != b->priority) {
    return a->priority > b->priority;
  }
  if (a->info.priority != b->info.priority) {
    return a->info.priority > b->info.priority;
  }
  if (a->wait[0].at != b->wait[0].at) {
    return a->wait[0].at < b->wait[0].at;
  }
  return ast->id < bst->id;
}

/*
 * Gives the session's waiting groups streams while the peer's stream credit lasts: each
 * subscription's in sequence order, across subscriptions by priority (sub_wait_before). hint is
 * a subscription that may wait (checked first when it is the only one). Returns 0 or a fatal
 * error.
 */
static int sub_wait_serve(moqc_session *s, sess_stream *hint) {
  while (s->pub_waiting_subs > 0 && !s->closed) {
    sess_stream *best_st = NULL;
    pub_sub *best = NULL;
    pub_sub *h = hint != NULL && hint->kind == SK_SUBSCRIBE_PUB ? hint->ctx : NULL;
    if (s->pub_waiting_subs == 1 && h != NULL && h->nwait > 0) {
      best_st = hint;
      best = h;
    } else {
      for (size_t i = 0; i < s->nstreams; i++) {
        sess_stream *st = s->streams[i];
        pub_sub *u = st->kind == SK_SUBSCRIBE_PUB ? st->ctx : NULL;
        if (u != NULL && u->nwait > 0 && (best == NULL || sub_wait_before(st, u, best_st, best))) {
          best_st = st;
          best = u;
        }
      }
    }
    if (best == NULL) {
      return MOQC_ERR_INTERNAL; /* pub_waiting_subs out of step */
    }
    sub_wait_expire(s, best, s->now);
    if (best->nwait == 0) {
      continue;
    }
    sub_wait e = best->wait[0];
    bool taken;
    int rv = sub_open_group(s, best_st, best, e.gc, e.at, &taken);
    if (taken) {
      memmove(&best->wait[0], &best->wait[1], (best->nwait - 1) * sizeof(e));
      if (--best->nwait == 0) {
        s->pub_waiting_subs--;
      }
    }
    if (rv == MOQC_ERR_WOULD_BLOCK) {
      return 0; /* the transport polls again when the peer frees a stream */
    }
    if (rv < 0) {
      return rv;
    }
  }
  return 0;
}

/* A group the model handed over: its stream opens now when nothing waits and the peer has
 * stream credit, otherwise it waits its turn. Returns 0 or a fatal error. */
static int sub_offer_group(moqc_session *s, sess_stream *sub_st, pub_sub *u,
                           moqc_group_consumer *gc) {
  uint64_t seq = moqc_group_consumer_sequence(gc);
  if (!u->has_newest || seq > u->newest) {
    u->has_newest = true;
    u->newest = seq;
  }
  if (s->pub_waiting_subs == 0) {
    bool taken;
    int rv = sub_open_group(s, sub_st, u, gc, s->now, &taken);
    if (taken || rv != MOQC_ERR_WOULD_BLOCK) {
      if (!taken) {
        moqc_group_consumer_del(gc);
      }
      return rv;
    }
  }
  int rv = sub_wait_push(s, u, gc);
  if (rv < 0) {
    return rv;
  }
  return sub_wait_serve(s, sub_st);
}

static int sub_subscribe(moqc_session *s, sess_stream *st, pub_sub *u) {
  int rv = moqc__sess_pub_resolve_track(s, &u->r);
  if (rv == 0) {
    rv = moqc_track_consumer_subscribe(u->r.tc, &u->prefs, &u->ts, s->waker);
  }
  if (rv < 0) {
    return rv;
  }
  moqc_track_subscriber_info(u->ts, &u->info);
  if (s->version == MOQC_LITE_05) {
    return 0; /* START goes with the first group. */
  }
  moqc__lite_subscribe_response m;
  memset(&m, 0, sizeof(m));
  m.kind = MOQC_LITE_SUBSCRIBE_OK;
  m.priority = u->priority;
  m.ordered = u->ordered;
  m.max_latency_ms = u->latency_ms;
  m.has_start = u->prefs.has_start;
  m.start_group = u->prefs.start;
  m.has_end = u->prefs.has_end;
  m.end_group = u->prefs.end;
  u->ok_sent = true;
  return sub_queue_response(s, st, &m);
}

/* Forwards the subscription's datagrams (lite-05, spec 4.10): copied into one datagram each;
 * too large or unsupported ones are dropped, as the transport decides. */
static int sub_datagrams(moqc_session *s, pub_sub *u) {
  if (s->version != MOQC_LITE_05 || u->ts == NULL) {
    return 0;
  }
  for (;;) {
    uint64_t seq, ts;
    moqc_rcbuf *payload;
    if (moqc_track_subscriber_recv_datagram(u->ts, &seq, &ts, &payload, s->waker) != 0) {
      return 0;
    }
    size_t len = moqc_rcbuf_len(payload);
    size_t cap = MOQC_LITE_MAX_DATAGRAM_HEADER_SIZE + len;
    uint8_t *buf = moqc_mem_malloc(s->mem, cap);
    if (buf == NULL) {
      moqc_rcbuf_decref(payload);
      return MOQC_ERR_NOMEM;
    }
    moqc__writer w;
    moqc__writer_init(&w, buf, cap);
    moqc__lite_datagram m = {u->id, seq, ts, moqc_rcbuf_data(payload), len};
    if (moqc__lite_encode_datagram(&w, s->version, &m) == 0) {
      (void)s->tp.ops->send_datagram(s->tp.user_data, buf, (size_t)moqc__writer_result(&w));
    }
    moqc_mem_free(s->mem, buf);
    moqc_rcbuf_decref(payload);
  }
}

int moqc__sess_pub_subscribe_poll(moqc_session *s, sess_stream *st) {
  pub_sub *u = st->ctx;
  if (u == NULL) {
    return 0;
  }
  if (st->send_done || u->ended) {
    return u->nwait > 0 ? sub_wait_serve(s, st) : 0;
  }
  int rv;
  if (u->ts == NULL) {
    rv = sub_subscribe(s, st, u);
    if (rv == MOQC_ERR_PENDING) {
      return 0;
    }
    if (rv == MOQC_ERR_NOMEM) {
      return rv;
    }
    if (rv < 0) {
      MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "subscription %llu refused: %s",
               (unsigned long long)u->id, moqc_strerror(rv));
      moqc__sess_abandon(s, st, rv);
      return 0;
    }
  }
  if ((rv = sub_datagrams(s, u)) < 0) {
    return rv;
  }
  /* Streams freed since the last poll go to the groups waiting longest first. */
  if (s->pub_waiting_subs > 0 && (rv = sub_wait_serve(s, st)) < 0) {
    return rv;
  }
  for (;;) {
    moqc_group_consumer *gc;
    rv = moqc_track_subscriber_recv_group(u->ts, &gc, s->waker);
    if (rv == MOQC_ERR_PENDING) {
      return 0;
    }
    if (rv == MOQC_END) {
      u->ended = true;
      if (s->version == MOQC_LITE_05) {
        uint64_t latest;
        moqc__lite_subscribe_response m;
        memset(&m, 0, sizeof(m));
        m.kind = MOQC_LITE_SUBSCRIBE_END;
        m.group = moqc_track_subscriber_latest(u->ts, &latest) == 0 ? latest + 1 : 0;
        u->end_sent = true;
        if ((rv = sub_queue_response(s, st, &m)) < 0) {
          return rv;
        }
      }
      return moqc__sess_pub_sub_maybe_finish(s, st);
    }
    if (rv < 0) {
      if (rv == MOQC_ERR_NOMEM) {
        return rv;
      }
      /* The track went away: end the subscription with its error. */
      moqc__sess_abandon(s, st, rv);
      return 0;
    }
    uint64_t seq = moqc_group_consumer_sequence(gc);
    if (!u->ok_sent) {
      moqc__lite_subscribe_response m;
      memset(&m, 0, sizeof(m));
      m.kind = MOQC_LITE_SUBSCRIBE_OK;
      m.group = seq;
      u->ok_sent = true;
      if ((rv = sub_queue_response(s, st, &m)) < 0) {
        moqc_group_consumer_del(gc);
        return rv;
      }
    }
    sub_expire_groups(s, st, u, seq, s->now);
    if ((rv = sub_offer_group(s, st, u, gc)) < 0) {
      return rv;
    }
    if (st->ctx != u) {
      return 0; /* gone meanwhile */
    }
  }
}

static void sub_apply_prefs(pub_sub *u, uint8_t priority, bool ordered, uint64_t latency_ms,
                            bool has_start, uint64_t start, bool has_end, uint64_t end) {
  moqc_subscription_default(&u->prefs);
  u->priority = priority;
  u->ordered = ordered;
  u->latency_ms = latency_ms;
  u->prefs.priority = priority;
  u->prefs.ordered = ordered;
  if (latency_ms != 0) {
    u->prefs.latency_max = latency_ms * MOQC_MILLISECONDS;
  }
  u->prefs.has_start = has_start;
  u->prefs.start = start;
  u->prefs.has_end = has_end;
  u->prefs.end = end;
}

static int sub_read_update(moqc_session *s, sess_stream *st, pub_sub *u, const uint8_t **p,
                           const uint8_t *end, bool fin) {
  while (*p < end) {
    moqc__lite_subscribe_update m;
    int rv = s->version >= MOQC_LITE_03
                 ? moqc__lite_decode_subscribe_update(p, end, s->version, &m)
                 : MOQC_ERR_MALFORMED;
    if (rv == MOQC_ERR_INCOMPLETE) {
      if (fin) {
        moqc__sess_violation(s, st, MOQC_ERR_DECODE);
      }
      return 0;
    }
    if (rv < 0) {
      moqc__sess_violation(s, st, MOQC_ERR_DECODE);
      return 0;
    }
    sub_apply_prefs(u, m.priority, m.ordered, m.max_latency_ms, m.has_start, m.start_group,
                    m.has_end, m.end_group);
    if (u->ts != NULL) {
      (void)moqc_track_subscriber_update(u->ts, &u->prefs);
    }
    /* Re-rank the groups in flight. */
    for (size_t i = 0; i < s->nstreams; i++) {
      sess_stream *gs = s->streams[i];
      pub_group *g = gs->kind == SK_GROUP_TX ? gs->ctx : NULL;
      if (g != NULL && g->sub_stream == st->id) {
        gs->sub_priority = u->priority;
        gs->ordered = u->ordered;
        moqc__sess_sched_update(s, gs);
      }
    }
  }
  return 0;
}

int moqc__sess_pub_subscribe_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                             const uint8_t *end, bool fin) {
  pub_sub *u = st->ctx;
  int rv;
  if (u == NULL) {
    moqc__lite_subscribe m;
    rv = moqc__lite_decode_subscribe(p, end, s->version, &m);
    if (rv == MOQC_ERR_INCOMPLETE) {
      if (fin) {
        moqc__sess_violation(s, st, MOQC_ERR_DECODE);
      }
      return 0;
    }
    if (rv < 0) {
      moqc__sess_violation(s, st, MOQC_ERR_DECODE);
      return 0;
    }
    u = moqc_mem_calloc(s->mem, 1, sizeof(*u));
    if (u == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->ctx = u;
    u->id = m.id;
    sub_apply_prefs(u, m.priority, m.ordered, m.max_latency_ms, m.has_start, m.start_group,
                    m.has_end, m.end_group);
    if ((rv = moqc__sess_pub_resolve_init(s, &u->r, m.broadcast, m.track)) < 0) {
      return rv;
    }
    if ((rv = moqc__sess_pub_subscribe_poll(s, st)) < 0) {
      return rv;
    }
    if (st->ctx == NULL) {
      return 0; /* Refused. */
    }
  }
  if ((rv = sub_read_update(s, st, u, p, end, fin)) < 0 || st->ctx == NULL) {
    return rv;
  }
  if (fin && *p == end) {
    /* Unsubscribe: FIN ours, reset groups in flight, drop the subscription. */
    st->rx_done = true;
    moqc__sess_queue_fin(s, st);
    moqc__sess_pub_subscribe_free(s, st);
  }
  return 0;
}
