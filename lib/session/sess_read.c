/*
 * The read path: buffering partial messages (bounded), reading the stream type of peer-opened
 * streams, and handing bytes to the handler of each stream kind.
 */
#include <string.h>

#include "session/session_int.h"

static int read_append(moqc_session *s, sess_stream *st, const uint8_t *data, size_t len) {
  if (len == 0 || data == NULL) {
    return 0;
  }
  if (st->rx_len + len > st->rx_cap) {
    size_t cap = st->rx_cap ? st->rx_cap : 256;
    while (cap < st->rx_len + len) {
      cap *= 2;
    }
    uint8_t *b = moqc_mem_realloc(s->mem, st->rx, cap);
    if (b == NULL) {
      return MOQC_ERR_NOMEM;
    }
    st->rx = b;
    st->rx_cap = cap;
  }
  memcpy(st->rx + st->rx_len, data, len);
  st->rx_len += len;
  return 0;
}

/* Gives st's read buffer back (emptied): a quiet or finished stream keeps none. */
static void read_release(moqc_session *s, sess_stream *st) {
  moqc_mem_free(s->mem, st->rx);
  st->rx = NULL;
  st->rx_cap = 0;
  st->rx_len = 0;
}

/* Kinds whose misbehaviour ends the session rather than the stream (spec 5.2). */
static bool read_session_fatal(const moqc_session *s, const sess_stream *st) {
  return st->kind == SK_SETUP_RX || st->kind == SK_LEGACY || st->kind == SK_ANNOUNCE_SUB ||
         (!s->ready && st->kind == SK_UNKNOWN);
}

/* Decides the kind of a peer-opened stream from its type. Returns 0 (st->kind set, or the
 * stream refused and marked SK_DISCARD). */
static int read_classify(moqc_session *s, sess_stream *st, uint64_t type) {
  bool bidi = !MOQC_STREAM_IS_UNI(st->id);
  if (!s->ready) {
    /* Only the legacy CLIENT_SETUP may come before the version is known. */
    if (s->is_server && s->version == MOQC_LITE_NONE && bidi &&
        type == MOQC_LITE_BIDI_LEGACY_SETUP) {
      st->kind = SK_LEGACY;
      return 0;
    }
    moqc__sess_violation(s, st, MOQC_ERR_UNEXPECTED_STREAM);
    return 0;
  }
  if (moqc__lite_stream_type_check(s->version, bidi, type) != 0) {
    MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "refusing %s stream %lld of type %llu",
             bidi ? "bidi" : "uni", (long long)st->id, (unsigned long long)type);
    moqc__sess_violation(s, st, MOQC_ERR_UNEXPECTED_STREAM);
    return 0;
  }
  if (!bidi) {
    if (type == MOQC_LITE_UNI_SETUP) {
      bool dup = s->peer_setup;
      for (size_t i = 0; i < s->nstreams; i++) {
        dup = dup || (s->streams[i]->kind == SK_SETUP_RX && s->streams[i] != st);
      }
      if (dup) {
        moqc__sess_fail(s, MOQC_ERR_DUPLICATE, "second setup stream");
        return 0;
      }
      st->kind = SK_SETUP_RX;
      return 0;
    }
    /* A lite-05 server serves nothing before the client's SETUP. */
    if (s->is_server && s->version == MOQC_LITE_05 && !s->peer_setup) {
      moqc__sess_abandon(s, st, MOQC_ERR_UNEXPECTED_STREAM);
      return 0;
    }
    st->kind = SK_GROUP_RX;
    return 0;
  }
  switch (type) {
  case MOQC_LITE_BIDI_ANNOUNCE:
    st->kind = SK_ANNOUNCE_PUB;
    break;
  case MOQC_LITE_BIDI_SUBSCRIBE:
    st->kind = SK_SUBSCRIBE_PUB;
    break;
  case MOQC_LITE_BIDI_TRACK:
    st->kind = SK_TRACK_PUB;
    break;
  case MOQC_LITE_BIDI_PROBE:
    /* PROBE reports when the transport can measure the path, else our FIN (sess_probe.c). */
    st->kind = SK_PROBE;
    moqc__sess_probe_open(s, st);
    break;
  case MOQC_LITE_BIDI_GOAWAY:
    st->kind = SK_GOAWAY;
    break;
  case MOQC_LITE_BIDI_FETCH:
    st->kind = SK_FETCH_PUB;
    break;
  default:
    moqc__sess_abandon(s, st, MOQC_ERR_UNSUPPORTED);
    return 0;
  }
  if (s->is_server && s->version == MOQC_LITE_05 && !s->peer_setup) {
    st->parked = true;
  }
  return 0;
}

static int read_dispatch(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin) {
  if (st->kind == SK_UNKNOWN) {
    uint64_t type;
    const uint8_t *q = *p;
    if (moqc__lite_decode_stream_type(&q, end, &type) != 0) {
      if (fin) {
        /* A stream that ends before its type: nothing to do. */
        st->rx_done = true;
        st->kind = SK_DISCARD;
      }
      return 0;
    }
    if (!s->ready && !(s->is_server && !MOQC_STREAM_IS_UNI(st->id) &&
                       type == MOQC_LITE_BIDI_LEGACY_SETUP)) {
      /* Before the legacy handshake settles the version, a peer stream may overtake the
       * setup exchange (streams are independent): keep its bytes, type included, and read it
       * once the version is known. */
      st->parked = true;
      return 0;
    }
    *p = q;
    int rv = read_classify(s, st, type);
    if (rv < 0 || st->kind == SK_DISCARD || s->closed) {
      return rv;
    }
  }
  if (st->parked) {
    return 0;
  }
  switch (st->kind) {
  case SK_SETUP_RX:
    return moqc__sess_setup_read(s, st, p, end, fin);
  case SK_LEGACY:
    return moqc__sess_legacy_read(s, st, p, end, fin);
  case SK_ANNOUNCE_PUB:
    return moqc__sess_pub_announce_read(s, st, p, end, fin);
  case SK_TRACK_PUB:
    return moqc__sess_pub_track_read(s, st, p, end, fin);
  case SK_FETCH_PUB:
    return moqc__sess_pub_fetch_read(s, st, p, end, fin);
  case SK_SUBSCRIBE_PUB:
    return moqc__sess_pub_subscribe_read(s, st, p, end, fin);
  case SK_ANNOUNCE_SUB:
    return moqc__sess_sub_announce_read(s, st, p, end, fin);
  case SK_TRACK_SUB:
    return moqc__sess_sub_track_info_read(s, st, p, end, fin);
  case SK_SUBSCRIBE_SUB:
    return moqc__sess_sub_subscribe_read(s, st, p, end, fin);
  case SK_GROUP_RX:
    return moqc__sess_sub_group_read(s, st, p, end, fin);
  case SK_PROBE:
    return moqc__sess_probe_read(s, st, p, end, fin);
  case SK_GOAWAY:
    /* Read and ignored; a FIN from the peer is answered by ours. */
    *p = end;
    if (fin) {
      st->rx_done = true;
      moqc__sess_queue_fin(s, st);
    }
    return 0;
  default:
    *p = end;
    return 0;
  }
}

int moqc__sess_feed(moqc_session *s, sess_stream *st, const uint8_t *data, size_t len,
                    bool fin) {
  if (st->rx_done || st->kind == SK_DISCARD) {
    return 0;
  }
  const uint8_t *p, *end;
  /* Never do arithmetic on a NULL pointer, even with a zero offset. */
  static const uint8_t read_empty[1];
  bool buffered = st->rx_len > 0 || st->parked;
  if (buffered) {
    int rv = read_append(s, st, data, len);
    if (rv < 0) {
      return rv;
    }
    p = st->rx != NULL ? st->rx : read_empty;
    end = p + st->rx_len;
  } else {
    p = data != NULL ? data : read_empty;
    end = p + len;
  }
  if (fin) {
    st->rx_fin = true;
  }
  const uint8_t *start = p;
  int rv = read_dispatch(s, st, &p, end, st->rx_fin);
  if (rv < 0) {
    return rv;
  }
  if (s->closed || st->rx_done || st->kind == SK_DISCARD) {
    read_release(s, st); /* nothing more is read from this stream */
    return 0;
  }
  size_t left = (size_t)(end - p);
  if (buffered) {
    if (left > 0) {
      memmove(st->rx, st->rx + (p - start), left);
    }
    st->rx_len = left;
    if (left == 0 && !st->parked) {
      read_release(s, st); /* everything buffered was read */
    }
  } else if ((rv = read_append(s, st, p, left)) < 0) {
    return rv;
  }
  if (st->rx_len > s->settings.max_message_size) {
    if (read_session_fatal(s, st)) {
      moqc__sess_fail(s, MOQC_ERR_BOUNDS_EXCEEDED, "message too large");
    } else {
      moqc__sess_violation(s, st, MOQC_ERR_BOUNDS_EXCEEDED);
    }
  }
  return 0;
}

int moqc__sess_unpark(moqc_session *s) {
  for (size_t i = 0; i < s->nstreams && !s->closed; i++) {
    sess_stream *st = s->streams[i];
    if (!st->parked) {
      continue;
    }
    st->parked = false;
    int rv = moqc__sess_feed(s, st, NULL, 0, st->rx_fin);
    if (rv < 0) {
      return rv;
    }
  }
  return 0;
}
