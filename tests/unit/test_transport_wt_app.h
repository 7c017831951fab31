/*
 * A small stream application for the WebTransport tests: records what it receives per stream,
 * sends queued bytes from stable buffers (QUIC sends straight from them until acknowledged),
 * and in echo mode answers every peer bidi stream on the same stream, every peer uni stream on a
 * uni stream of its own, and every datagram with a datagram.
 */
#ifndef TEST_TRANSPORT_WT_APP_H
#define TEST_TRANSPORT_WT_APP_H

#include <moqc/session.h>

#define WAPP_MAX_STREAMS 64
#define WAPP_TX_CAP (512 * 1024)

typedef struct wstream {
  moqc_stream_id id;
  uint8_t *rx;
  size_t rx_len, rx_cap;
  bool rx_fin, reset, stopped, closed;
  uint64_t reset_code, stop_code;
  uint8_t *tx; /* WAPP_TX_CAP bytes, never moved */
  size_t tx_len, tx_off;
  bool tx_fin, fin_sent, tx_reset, blocked;
  moqc_stream_id echo_to; /* uni echo: our stream */
} wstream;

typedef struct wapp {
  moqc_transport t;
  bool echo;
  wstream s[WAPP_MAX_STREAMS];
  size_t n, rr;
  bool closed;
  uint64_t close_code;
  char close_reason[128];
  size_t dgrams;
  uint8_t last_dgram[256];
  size_t last_dgram_len;
  int polls;
} wapp;

static wstream *wapp_stream(wapp *a, moqc_stream_id id) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->s[i].id == id) {
      return &a->s[i];
    }
  }
  if (a->n == WAPP_MAX_STREAMS) {
    return NULL;
  }
  wstream *s = &a->s[a->n++];
  memset(s, 0, sizeof(*s));
  s->id = id;
  s->echo_to = MOQC_STREAM_NONE;
  return s;
}

static void wapp_queue(wapp *a, moqc_stream_id id, const void *data, size_t len, bool fin) {
  wstream *s = wapp_stream(a, id);
  if (s->tx == NULL) {
    s->tx = malloc(WAPP_TX_CAP);
  }
  if (s->tx_len + len > WAPP_TX_CAP) {
    len = WAPP_TX_CAP - s->tx_len;
  }
  if (len > 0) {
    memcpy(s->tx + s->tx_len, data, len);
  }
  s->tx_len += len;
  s->tx_fin = s->tx_fin || fin;
  a->t.ops->resume_stream(a->t.user_data, id);
}

/* Opens a stream and queues data on it; returns its id. */
static inline moqc_stream_id wapp_send(wapp *a, bool uni, const void *data, size_t len, bool fin) {
  moqc_stream_id id;
  if (a->t.ops->open_stream(a->t.user_data, uni, &id) != 0) {
    return MOQC_STREAM_NONE;
  }
  wapp_queue(a, id, data, len, fin);
  return id;
}

static moqc_ssize wapp_read(void *ud, moqc_stream_id id, const uint8_t *data, size_t len,
                            bool fin, moqc_tstamp ts) {
  wapp *a = ud;
  wstream *s = wapp_stream(a, id);
  (void)ts;
  if (s == NULL) {
    return (moqc_ssize)len;
  }
  if (s->rx_len + len > s->rx_cap) {
    size_t c = s->rx_cap ? s->rx_cap : 1024;
    while (c < s->rx_len + len) {
      c *= 2;
    }
    s->rx = realloc(s->rx, c);
    s->rx_cap = c;
  }
  if (len > 0) {
    memcpy(s->rx + s->rx_len, data, len);
  }
  s->rx_len += len;
  s->rx_fin = s->rx_fin || fin;
  if (a->echo) {
    if (!MOQC_STREAM_IS_UNI(id)) {
      wapp_queue(a, id, data, len, fin);
    } else {
      if (s->echo_to == MOQC_STREAM_NONE) {
        moqc_stream_id o;
        if (a->t.ops->open_stream(a->t.user_data, true, &o) == 0) {
          s = wapp_stream(a, id); /* the array did not move, but stay safe */
          s->echo_to = o;
        }
      }
      if (s->echo_to != MOQC_STREAM_NONE) {
        wapp_queue(a, s->echo_to, data, len, fin);
      }
    }
  }
  return (moqc_ssize)len;
}

static bool wapp_wants(const wstream *s) {
  return !s->blocked && !s->tx_reset && !s->fin_sent && (s->tx_off < s->tx_len || s->tx_fin);
}

static moqc_ssize wapp_writev(void *ud, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                              size_t veccnt, moqc_tstamp ts) {
  wapp *a = ud;
  (void)veccnt;
  (void)ts;
  for (size_t k = 0; k < a->n; k++) {
    size_t i = (a->rr + k) % a->n;
    wstream *s = &a->s[i];
    if (!wapp_wants(s)) {
      continue;
    }
    a->rr = i + 1;
    *id = s->id;
    *fin = s->tx_fin;
    if (s->tx_off < s->tx_len) {
      vec[0].base = s->tx + s->tx_off;
      vec[0].len = s->tx_len - s->tx_off;
      return 1;
    }
    return 0;
  }
  *id = MOQC_STREAM_NONE;
  return 0;
}

static int wapp_add_write(void *ud, moqc_stream_id id, size_t n) {
  wstream *s = wapp_stream(ud, id);
  s->tx_off += n;
  if (s->tx_fin && s->tx_off == s->tx_len) {
    s->fin_sent = true;
  }
  return 0;
}

static int wapp_add_ack(void *ud, moqc_stream_id id, uint64_t n) { return 0; }

static int wapp_block(void *ud, moqc_stream_id id) {
  wapp_stream(ud, id)->blocked = true;
  return 0;
}

static int wapp_unblock(void *ud, moqc_stream_id id) {
  wapp_stream(ud, id)->blocked = false;
  return 0;
}

static int wapp_recv_reset(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  wstream *s = wapp_stream(ud, id);
  s->reset = true;
  s->reset_code = code;
  return 0;
}

static int wapp_recv_stop(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  wstream *s = wapp_stream(ud, id);
  s->stopped = true;
  s->stop_code = code;
  return 0;
}

static int wapp_close_stream(void *ud, moqc_stream_id id, moqc_tstamp ts) {
  wapp_stream(ud, id)->closed = true;
  return 0;
}

static int wapp_recv_dgram(void *ud, const uint8_t *data, size_t len, moqc_tstamp ts) {
  wapp *a = ud;
  a->dgrams++;
  a->last_dgram_len = len < sizeof(a->last_dgram) ? len : sizeof(a->last_dgram);
  memcpy(a->last_dgram, data, a->last_dgram_len);
  if (a->echo) {
    a->t.ops->send_datagram(a->t.user_data, data, len);
  }
  return 0;
}

static int wapp_poll(void *ud, moqc_tstamp ts) {
  ((wapp *)ud)->polls++;
  return 0;
}

static moqc_tstamp wapp_get_expiry(void *ud) { return UINT64_MAX; }
static int wapp_handle_expiry(void *ud, moqc_tstamp ts) { return 0; }

static void wapp_closed(void *ud, uint64_t code, const char *reason, size_t len) {
  wapp *a = ud;
  a->closed = true;
  a->close_code = code;
  size_t n = len < sizeof(a->close_reason) - 1 ? len : sizeof(a->close_reason) - 1;
  memcpy(a->close_reason, reason, n);
  a->close_reason[n] = 0;
}

static const moqc_stream_app_ops wapp_ops = {
    .read_stream = wapp_read,
    .writev_stream = wapp_writev,
    .add_write_offset = wapp_add_write,
    .add_ack_offset = wapp_add_ack,
    .block_stream = wapp_block,
    .unblock_stream = wapp_unblock,
    .recv_reset = wapp_recv_reset,
    .recv_stop_sending = wapp_recv_stop,
    .close_stream = wapp_close_stream,
    .recv_datagram = wapp_recv_dgram,
    .poll = wapp_poll,
    .get_expiry = wapp_get_expiry,
    .handle_expiry = wapp_handle_expiry,
    .closed = wapp_closed,
};

static void wapp_free(wapp *a) {
  for (size_t i = 0; i < a->n; i++) {
    free(a->s[i].rx);
    free(a->s[i].tx);
  }
  a->n = 0;
}

#endif /* TEST_TRANSPORT_WT_APP_H */
