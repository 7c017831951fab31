/*
 * Subscriber half, announcements (spec 4.3): asking the peer for broadcasts under a prefix and
 * mirroring each active one into the local origin producer with its hop list, dropping loops.
 */
#include <string.h>

#include "session/sub_int.h"

int moqc__sess_sub_announce_open(moqc_session *s) {
  sess_stream *st;
  int rv = moqc__sess_open(s, false, SK_ANNOUNCE_SUB, &st);
  if (rv == MOQC_ERR_WOULD_BLOCK) {
    return 0;
  }
  if (rv < 0) {
    return rv;
  }
  s->need_announce_request = false;
  s->announce_sub = st;
  size_t plen = strlen(s->announce_prefix);
  uint8_t buf[64 + 4096];
  if (plen > 4096) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_announce_request m = {moqc_str_c(s->announce_prefix), s->settings.origin_id};
  if (moqc__lite_encode_stream_type(&w, MOQC_LITE_BIDI_ANNOUNCE) < 0 ||
      moqc__lite_encode_announce_request(&w, s->version, &m) < 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
}

static sub_broadcast *ann_find(moqc_session *s, moqc_str path) {
  for (sub_broadcast *b = s->broadcasts; b != NULL; b = b->next) {
    if (!b->retired && moqc_str_eq(moqc_str_c(b->path), path)) {
      return b;
    }
  }
  return NULL;
}

static void ann_free(moqc_session *s, sub_broadcast *b, int err) {
  for (sub_broadcast **bp = &s->broadcasts; *bp != NULL; bp = &(*bp)->next) {
    if (*bp == b) {
      *bp = b->next;
      break;
    }
  }
  moqc_origin_publish_del(b->guard);
  moqc_broadcast_dynamic_del(b->dyn);
  if (b->retired) {
    moqc_broadcast_producer_finish(b->bp);
  } else {
    moqc_broadcast_producer_abort(b->bp, err);
  }
  moqc_broadcast_producer_del(b->bp);
  moqc_mem_free(s->mem, b->path);
  moqc_mem_free(s->mem, b);
}

/*
 * Removes a mirrored broadcast. Hard (the session or its Announce stream failed): every track
 * ends with err at once. Graceful (the peer unannounced it): the publication goes now, but a
 * track with a live remote subscription stays until the peer ends that subscription itself
 * (its SUBSCRIBE_END usually follows the unannounce on another stream), so the last groups are
 * not cut; the broadcast is freed with its last track.
 */
static void ann_remove(moqc_session *s, sub_broadcast *b, int err, bool graceful) {
  sub_track **tp = &s->tracks;
  while (*tp != NULL) {
    sub_track *t = *tp;
    if (t->b == b && !(graceful && t->subscribed && !t->ended)) {
      *tp = t->next;
      moqc__sess_sub_track_del(s, t, err);
    } else {
      tp = &t->next;
    }
  }
  if (graceful) {
    b->retired = true;
    moqc_origin_publish_del(b->guard);
    b->guard = NULL;
    moqc_broadcast_dynamic_del(b->dyn);
    b->dyn = NULL;
    moqc__sess_sub_broadcast_gc(s, b);
    return;
  }
  ann_free(s, b, err);
}

void moqc__sess_sub_broadcast_gc(moqc_session *s, sub_broadcast *b) {
  if (b == NULL || !b->retired) {
    return;
  }
  for (const sub_track *t = s->tracks; t != NULL; t = t->next) {
    if (t->b == b) {
      return;
    }
  }
  ann_free(s, b, 0);
}

void moqc__sess_sub_announce_ended(moqc_session *s, int err) {
  while (s->broadcasts != NULL) {
    ann_remove(s, s->broadcasts, err, false);
  }
}

/* The peer ended every announcement (it FINed the Announce stream): graceful removals. */
static void ann_all_retired(moqc_session *s) {
  sub_broadcast *b = s->broadcasts;
  while (b != NULL) {
    sub_broadcast *next = b->next;
    if (!b->retired) {
      ann_remove(s, b, MOQC_ERR_DROPPED, true);
    }
    b = next;
  }
}

void moqc__sess_sub_free_all(moqc_session *s) {
  moqc__sess_sub_announce_ended(s, MOQC_ERR_DROPPED);
  while (s->tracks != NULL) {
    sub_track *t = s->tracks;
    s->tracks = t->next;
    moqc__sess_sub_track_del(s, t, MOQC_ERR_DROPPED);
  }
}

typedef struct sub_announce_state {
  bool ok_seen; /* lite-05 ANNOUNCE_OK or lite-01/02 ANNOUNCE_INIT read */
  uint64_t hop_id;
} sub_announce_state;

/* Mirrors an active broadcast. Returns 0 or a fatal error. */
static int ann_active(moqc_session *s, moqc_str suffix, const uint64_t *hops, size_t nhops,
                      uint64_t sender) {
  char full[4096];
  moqc_ssize n = moqc_path_join(full, sizeof(full), moqc_str_c(s->announce_prefix), suffix);
  if (n < 0) {
    return 0;
  }
  moqc_str path = {full, (size_t)n};
  uint64_t chain[MOQC_ORIGIN_MAX_HOPS];
  size_t count = 0;
  for (size_t i = 0; i < nhops && count < MOQC_ORIGIN_MAX_HOPS; i++) {
    chain[count++] = hops[i];
  }
  if (sender != 0) {
    if (count == MOQC_ORIGIN_MAX_HOPS) {
      return 0;
    }
    chain[count++] = sender;
  }
  for (size_t i = 0; i < count; i++) {
    if (s->settings.origin_id != 0 && chain[i] == s->settings.origin_id) {
      MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "dropping looped announce %.*s", (int)n, full);
      return 0;
    }
  }
  sub_broadcast *old = ann_find(s, path);
  if (old != NULL) {
    if (s->version != MOQC_LITE_05) {
      moqc__sess_fail(s, MOQC_ERR_DUPLICATE, "duplicate active announce");
      return 0;
    }
    /* lite-05: the new advertisement replaces the old one. The same first hop (the same
     * original publisher) is a reroute: the mirror, its tracks and subscriptions stay, since
     * this session serves them either way. A different first hop is a new broadcast. */
    uint64_t first = count > 0 ? chain[0] : 0;
    if (old->has_first_hop && count > 0 && old->first_hop == first) {
      MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "reroute of %.*s kept", (int)n, full);
      return 0;
    }
    ann_remove(s, old, MOQC_ERR_DROPPED, false);
  }
  sub_broadcast *b = moqc_mem_calloc(s->mem, 1, sizeof(*b));
  if (b == NULL) {
    return MOQC_ERR_NOMEM;
  }
  b->path = moqc_mem_malloc(s->mem, (size_t)n + 1);
  if (b->path == NULL) {
    moqc_mem_free(s->mem, b);
    return MOQC_ERR_NOMEM;
  }
  memcpy(b->path, full, (size_t)n);
  b->path[n] = '\0';
  moqc_origin_route route = {chain, count, 0};
  /* The handler exists before the broadcast is published: a viewer on another thread that
   * sees the announce and asks for a track at once must queue, not miss it. */
  int rv = moqc_origin_producer_create_dynamic_broadcast(s->mirror, path, &route, &b->bp,
                                                         &b->dyn, &b->guard);
  if (rv < 0) {
    moqc_origin_publish_del(b->guard);
    moqc_broadcast_producer_del(b->bp);
    moqc_mem_free(s->mem, b->path);
    moqc_mem_free(s->mem, b);
    MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "not mirroring %.*s: %s", (int)n, full,
             moqc_strerror(rv));
    return rv == MOQC_ERR_NOMEM ? rv : 0;
  }
  b->has_first_hop = count > 0;
  b->first_hop = count > 0 ? chain[0] : 0;
  b->next = s->broadcasts;
  s->broadcasts = b;
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "mirroring %s (%zu hops)", b->path, count);
  /* Poll soon, so the new broadcast's track requests are watched. */
  s->tp.ops->wake(s->tp.user_data);
  return 0;
}

static void ann_ended(moqc_session *s, moqc_str suffix) {
  char full[4096];
  moqc_ssize n = moqc_path_join(full, sizeof(full), moqc_str_c(s->announce_prefix), suffix);
  if (n < 0) {
    return;
  }
  moqc_str path = {full, (size_t)n};
  sub_broadcast *b = ann_find(s, path);
  if (b != NULL) {
    ann_remove(s, b, MOQC_ERR_DROPPED, true);
  }
}

static int ann_read_first(moqc_session *s, sub_announce_state *a, const uint8_t **p,
                          const uint8_t *end) {
  int rv;
  if (s->version == MOQC_LITE_05) {
    moqc__lite_announce_ok ok;
    if ((rv = moqc__lite_decode_announce_ok(p, end, s->version, &ok)) < 0) {
      return rv;
    }
    a->hop_id = ok.hop_id;
  } else if (s->version == MOQC_LITE_01 || s->version == MOQC_LITE_02) {
    moqc__lite_announce_init init;
    if ((rv = moqc__lite_decode_announce_init(p, end, s->version, &init)) < 0) {
      return rv;
    }
    const uint8_t *q = init.suffixes, *qend = init.suffixes + init.suffixes_len;
    moqc_str suffix;
    while (moqc__lite_announce_init_next(&q, qend, &suffix) == 0) {
      if ((rv = ann_active(s, suffix, NULL, 0, 0)) < 0) {
        return rv;
      }
      if (s->closed) {
        return 0;
      }
    }
  }
  a->ok_seen = true;
  return 0;
}

int moqc__sess_sub_announce_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                            const uint8_t *end, bool fin) {
  sub_announce_state *a = st->ctx;
  int rv;
  if (a == NULL) {
    a = moqc_mem_calloc(s->mem, 1, sizeof(*a));
    if (a == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->ctx = a;
  }
  while (!s->closed && *p < end) {
    if (!a->ok_seen) {
      rv = ann_read_first(s, a, p, end);
    } else {
      moqc__lite_announce m;
      rv = moqc__lite_decode_announce(p, end, s->version, &m);
      if (rv == 0) {
        if (m.status == MOQC_LITE_ANNOUNCE_ENDED) {
          ann_ended(s, m.suffix);
        } else {
          bool ids = s->version == MOQC_LITE_04 || s->version == MOQC_LITE_05;
          rv = ann_active(s, m.suffix, m.hops, ids ? m.n_hops : 0,
                          s->version == MOQC_LITE_05 ? a->hop_id : 0);
        }
      }
    }
    if (rv == MOQC_ERR_INCOMPLETE) {
      break;
    }
    if (rv == MOQC_ERR_NOMEM) {
      return rv;
    }
    if (rv < 0) {
      /* Announce violations end the session (spec 5.2). */
      moqc__sess_fail(s, MOQC_ERR_DECODE, "malformed announce");
      return 0;
    }
  }
  if (fin && !s->closed) {
    st->rx_done = true;
    if (*p != end) {
      moqc__sess_fail(s, MOQC_ERR_DECODE, "announce stream ended inside a message");
      return 0;
    }
    /* The publisher ended the stream: every broadcast from it is gone. */
    ann_all_retired(s);
    moqc__sess_queue_fin(s, st);
  }
  return 0;
}

int moqc__sess_sub_poll(moqc_session *s) {
  int rv;
  if (!s->serving || s->closed) {
    return 0;
  }
  if (s->need_announce_request && (rv = moqc__sess_sub_announce_open(s)) < 0) {
    return rv;
  }
  for (sub_broadcast *b = s->broadcasts; b != NULL && !s->closed; b = b->next) {
    for (; b->dyn != NULL;) {
      moqc_track_request *req;
      rv = moqc_broadcast_dynamic_requested_track(b->dyn, &req, s->waker);
      if (rv == MOQC_ERR_PENDING) {
        break;
      }
      if (rv < 0) {
        return rv;
      }
      if ((rv = moqc__sess_sub_track_start(s, b, req)) < 0) {
        return rv;
      }
    }
  }
  sub_track *t = s->tracks;
  while (t != NULL && !s->closed) {
    sub_track *next = t->next;
    if ((rv = moqc__sess_sub_track_poll(s, t)) < 0) {
      return rv;
    }
    t = next;
  }
  return 0;
}
