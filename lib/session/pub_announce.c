/*
 * Publisher half, Announce streams (spec 4.3): the peer asks for broadcasts under a prefix; we
 * answer from the local origin consumer with the initial set, then live changes, filtering
 * broadcasts whose hop list holds the peer's Exclude Hop.
 */
#include <string.h>

#include "session/session_int.h"

typedef struct pub_announce {
  moqc_origin_consumer *view; /* rooted at the requested prefix */
  moqc_origin_announced *cursor;
  uint64_t exclude_hop;
  bool requested;
  bool initial_sent;
  /* Suffixes announced as active on this stream, so ends of filtered paths are not sent. */
  char **active;
  size_t nactive;
  size_t cap_active;
  /* Encoded messages waiting to be queued. */
  uint8_t *out;
  size_t out_len;
  size_t out_cap;
} pub_announce;

void moqc__sess_pub_announce_free(moqc_session *s, sess_stream *st) {
  pub_announce *a = st->ctx;
  if (a == NULL) {
    return;
  }
  moqc_origin_announced_del(a->cursor);
  moqc_origin_consumer_del(a->view);
  for (size_t i = 0; i < a->nactive; i++) {
    moqc_mem_free(s->mem, a->active[i]);
  }
  moqc_mem_free(s->mem, a->active);
  moqc_mem_free(s->mem, a->out);
  moqc_mem_free(s->mem, a);
  st->ctx = NULL;
}

static ptrdiff_t ann_find(const pub_announce *a, moqc_str path) {
  for (size_t i = 0; i < a->nactive; i++) {
    if (moqc_str_eq(moqc_str_c(a->active[i]), path)) {
      return (ptrdiff_t)i;
    }
  }
  return -1;
}

static int ann_add(moqc_session *s, pub_announce *a, moqc_str path) {
  if (a->nactive == a->cap_active) {
    size_t cap = a->cap_active ? a->cap_active * 2 : 8;
    char **n = moqc_mem_realloc(s->mem, a->active, cap * sizeof(*n));
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    a->active = n;
    a->cap_active = cap;
  }
  char *c = moqc_mem_malloc(s->mem, path.len + 1);
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  memcpy(c, path.ptr, path.len);
  c[path.len] = '\0';
  a->active[a->nactive++] = c;
  return 0;
}

static void ann_remove(moqc_session *s, pub_announce *a, size_t i) {
  moqc_mem_free(s->mem, a->active[i]);
  a->active[i] = a->active[--a->nactive];
}

/* Appends one encoded message to a->out, growing it. enc fills the writer. */
static int ann_emit(moqc_session *s, pub_announce *a, const moqc__lite_announce *m) {
  size_t need = a->out_len + 64 + m->suffix.len + 9 * MOQC_LITE_MAX_HOPS;
  if (need > a->out_cap) {
    size_t cap = a->out_cap ? a->out_cap : 512;
    while (cap < need) {
      cap *= 2;
    }
    uint8_t *n = moqc_mem_realloc(s->mem, a->out, cap);
    if (n == NULL) {
      return MOQC_ERR_NOMEM;
    }
    a->out = n;
    a->out_cap = cap;
  }
  moqc__writer w;
  moqc__writer_init(&w, a->out + a->out_len, a->out_cap - a->out_len);
  int rv = moqc__lite_encode_announce(&w, s->version, m);
  if (rv < 0) {
    return rv;
  }
  a->out_len += (size_t)moqc__writer_result(&w);
  return 0;
}

/* Handles one event from the cursor. Returns 0 or an error. */
static int ann_event(moqc_session *s, pub_announce *a, const moqc_origin_announce *ev,
                     size_t *initial) {
  ptrdiff_t at = ann_find(a, ev->path);
  moqc__lite_announce m;
  memset(&m, 0, sizeof(m));
  m.suffix = ev->path;
  if (ev->broadcast == NULL) {
    if (at < 0) {
      return 0;
    }
    ann_remove(s, a, (size_t)at);
    m.status = MOQC_LITE_ANNOUNCE_ENDED;
    return ann_emit(s, a, &m);
  }
  for (size_t i = 0; i < ev->hop_count; i++) {
    if (a->exclude_hop != 0 && ev->hops[i] == a->exclude_hop) {
      return 0;
    }
  }
  size_t hops = ev->hop_count;
  if (hops > MOQC_LITE_MAX_HOPS) {
    return 0;
  }
  memcpy(m.hops, ev->hops, hops * sizeof(uint64_t));
  if (s->version == MOQC_LITE_03 || s->version == MOQC_LITE_04) {
    /* lite-03/04 have no ANNOUNCE_OK: the sender appends itself. */
    if (hops == MOQC_LITE_MAX_HOPS) {
      return 0;
    }
    m.hops[hops++] = s->settings.origin_id;
  }
  m.n_hops = hops;
  m.status = MOQC_LITE_ANNOUNCE_ACTIVE;
  if (at >= 0) {
    if (s->version != MOQC_LITE_05) {
      /* Only lite-05 may replace in place; older versions get an end first. */
      moqc__lite_announce end;
      memset(&end, 0, sizeof(end));
      end.status = MOQC_LITE_ANNOUNCE_ENDED;
      end.suffix = ev->path;
      int rv = ann_emit(s, a, &end);
      if (rv < 0) {
        return rv;
      }
    }
  } else {
    int rv = ann_add(s, a, ev->path);
    if (rv < 0) {
      return rv;
    }
  }
  if (!a->initial_sent && (s->version == MOQC_LITE_01 || s->version == MOQC_LITE_02)) {
    /* The initial set goes in ANNOUNCE_INIT. */
    (*initial)++;
    return 0;
  }
  if (!a->initial_sent) {
    (*initial)++;
  }
  return ann_emit(s, a, &m);
}

static int ann_queue_initial(moqc_session *s, sess_stream *st, pub_announce *a, size_t initial) {
  uint8_t head[MOQC_LITE_MAX_ANNOUNCE_OK_SIZE];
  moqc__writer w;
  int rv = 0;
  moqc__writer_init(&w, head, sizeof(head));
  if (s->version == MOQC_LITE_05) {
    moqc__lite_announce_ok ok = {s->settings.origin_id, initial};
    if ((rv = moqc__lite_encode_announce_ok(&w, s->version, &ok)) < 0) {
      return rv;
    }
    return moqc__sess_queue_copy(s, st, head, (size_t)moqc__writer_result(&w));
  }
  if (s->version == MOQC_LITE_01 || s->version == MOQC_LITE_02) {
    size_t total = 16;
    moqc_str *list = moqc_mem_calloc(s->mem, a->nactive + 1, sizeof(*list));
    if (list == NULL) {
      return MOQC_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->nactive; i++) {
      list[i] = moqc_str_c(a->active[i]);
      total += list[i].len + 8;
    }
    uint8_t *buf = moqc_mem_malloc(s->mem, total);
    if (buf == NULL) {
      moqc_mem_free(s->mem, list);
      return MOQC_ERR_NOMEM;
    }
    moqc__writer_init(&w, buf, total);
    moqc__lite_announce_init init;
    memset(&init, 0, sizeof(init));
    init.count = a->nactive;
    init.enc_suffixes = list;
    rv = moqc__lite_encode_announce_init(&w, s->version, &init);
    if (rv == 0) {
      rv = moqc__sess_queue_copy(s, st, buf, (size_t)moqc__writer_result(&w));
    }
    moqc_mem_free(s->mem, buf);
    moqc_mem_free(s->mem, list);
    return rv;
  }
  return 0;
}

int moqc__sess_pub_announce_poll(moqc_session *s, sess_stream *st) {
  pub_announce *a = st->ctx;
  if (a == NULL || !a->requested || st->send_done || st->fin_queued) {
    return 0;
  }
  size_t initial = 0;
  int rv = 0;
  a->out_len = 0;
  if (a->cursor != NULL) {
    for (;;) {
      moqc_origin_announce ev;
      rv = moqc_origin_announced_next(a->cursor, &ev, s->waker);
      if (rv == MOQC_ERR_PENDING) {
        rv = 0;
        break;
      }
      if (rv < 0) {
        return rv;
      }
      rv = ann_event(s, a, &ev, &initial);
      moqc_broadcast_consumer_del(ev.broadcast);
      if (rv < 0) {
        /* An announcement we cannot encode (too many hops): skip it. */
        if (rv == MOQC_ERR_NOMEM) {
          return rv;
        }
        rv = 0;
      }
    }
  }
  if (!a->initial_sent) {
    a->initial_sent = true;
    if ((rv = ann_queue_initial(s, st, a, initial)) < 0) {
      return rv;
    }
  }
  if (a->out_len > 0) {
    rv = moqc__sess_queue_copy(s, st, a->out, a->out_len);
    a->out_len = 0;
  }
  return rv;
}

int moqc__sess_pub_announce_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                            const uint8_t *end, bool fin) {
  pub_announce *a = st->ctx;
  if (a == NULL) {
    moqc__lite_announce_request req;
    int rv = moqc__lite_decode_announce_request(p, end, s->version, &req);
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
    a = moqc_mem_calloc(s->mem, 1, sizeof(*a));
    if (a == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->ctx = a;
    a->requested = true;
    a->exclude_hop = req.exclude_hop;
    if (s->publish != NULL) {
      rv = moqc_origin_consumer_with_root(s->publish, req.prefix, &a->view);
      if (rv == 0) {
        rv = moqc_origin_consumer_announced(a->view, &a->cursor);
      }
      if (rv == MOQC_ERR_NOMEM) {
        return rv;
      }
      if (rv < 0) {
        /* A prefix we may not serve: refuse the stream, keep the session. */
        moqc__sess_abandon(s, st, rv);
        return 0;
      }
    }
    if ((rv = moqc__sess_pub_announce_poll(s, st)) < 0) {
      return rv;
    }
  }
  if (*p < end && !fin) {
    /* The requester sends nothing after its request. */
    moqc__sess_violation(s, st, MOQC_ERR_UNEXPECTED_MESSAGE);
    return 0;
  }
  *p = end;
  if (fin) {
    /* The requester cancelled: end ours too. */
    st->rx_done = true;
    moqc__sess_queue_fin(s, st);
    moqc__sess_pub_announce_free(s, st);
  }
  return 0;
}
