/*
 * A small stream application for the WebSocket transport tests: records what it receives per
 * stream, sends queued bytes round-robin, and optionally echoes every bidi stream back (bytes
 * and FIN). read_chunk limits how much it consumes per call, to exercise flow control.
 */
#ifndef TEST_TRANSPORT_WS_APP_H
#define TEST_TRANSPORT_WS_APP_H

#include <moqc/session.h>

#define TAPP_MAX_STREAMS 1024

typedef struct tstream {
  moqc_stream_id id;
  uint8_t *rx;
  size_t rx_len, rx_cap;
  bool rx_fin;
  bool reset;
  uint64_t reset_code;
  bool stopped;
  uint64_t stop_code;
  uint8_t *tx;
  size_t tx_len, tx_cap, tx_off;
  bool tx_fin, fin_sent, tx_reset, blocked, closed;
  int blocks;
} tstream;

typedef struct tapp {
  moqc_transport t;
  bool echo;
  /* Reset instead of sending when the peer stops (else the transport answers). */
  bool reset_on_stop;
  size_t read_chunk;
  /* When set, read_stream consumes nothing (a stalled consumer) while true. */
  bool stall;
  tstream s[TAPP_MAX_STREAMS];
  size_t n;
  size_t rr;
  bool closed;
  uint64_t close_code;
  char close_reason[128];
  int polls;
  size_t dgrams;
  uint8_t last_dgram[64];
  size_t last_dgram_len;
  size_t total_blocks;
  size_t closed_streams;
} tapp;

static tstream *tapp_stream(tapp *a, moqc_stream_id id) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->s[i].id == id) {
      return &a->s[i];
    }
  }
  if (a->n == TAPP_MAX_STREAMS) {
    return NULL;
  }
  tstream *s = &a->s[a->n++];
  memset(s, 0, sizeof(*s));
  s->id = id;
  return s;
}

static void tapp_grow(uint8_t **b, size_t *cap, size_t need) {
  if (need <= *cap) {
    return;
  }
  size_t c = *cap ? *cap : 256;
  while (c < need) {
    c *= 2;
  }
  *b = realloc(*b, c);
  *cap = c;
}

static void tapp_queue(tapp *a, moqc_stream_id id, const void *data, size_t len, bool fin) {
  tstream *s = tapp_stream(a, id);
  tapp_grow(&s->tx, &s->tx_cap, s->tx_len + len);
  if (len > 0) {
    memcpy(s->tx + s->tx_len, data, len);
  }
  s->tx_len += len;
  s->tx_fin = s->tx_fin || fin;
  a->t.ops->resume_stream(a->t.user_data, id);
}

static moqc_ssize tapp_read(void *ud, moqc_stream_id id, const uint8_t *data, size_t len, bool fin,
                            moqc_tstamp ts) {
  tapp *a = ud;
  tstream *s = tapp_stream(a, id);
  if (s == NULL || a->stall) {
    return 0;
  }
  size_t n = len;
  if (a->read_chunk > 0 && n > a->read_chunk) {
    n = a->read_chunk;
  }
  tapp_grow(&s->rx, &s->rx_cap, s->rx_len + n);
  if (n > 0) {
    memcpy(s->rx + s->rx_len, data, n);
  }
  s->rx_len += n;
  if (fin && n == len) {
    s->rx_fin = true;
  }
  if (a->echo && !MOQC_STREAM_IS_UNI(id)) {
    tapp_queue(a, id, data, n, fin && n == len);
  }
  /* Ask to be called again for the rest. */
  if (n < len) {
    a->t.ops->wake(a->t.user_data);
  }
  return (moqc_ssize)n;
}

static bool tapp_wants(const tstream *s) {
  return !s->blocked && !s->tx_reset && !s->fin_sent &&
         (s->tx_off < s->tx_len || (s->tx_fin && !s->fin_sent));
}

static moqc_ssize tapp_writev(void *ud, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                              size_t veccnt, moqc_tstamp ts) {
  tapp *a = ud;
  for (size_t k = 0; k < a->n; k++) {
    size_t i = (a->rr + k) % a->n;
    tstream *s = &a->s[i];
    if (!tapp_wants(s)) {
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

static int tapp_add_write(void *ud, moqc_stream_id id, size_t n) {
  tstream *s = tapp_stream(ud, id);
  s->tx_off += n;
  if (s->tx_fin && s->tx_off == s->tx_len) {
    s->fin_sent = true;
  }
  return 0;
}

static int tapp_add_ack(void *ud, moqc_stream_id id, uint64_t n) { return 0; }

static int tapp_block(void *ud, moqc_stream_id id) {
  tapp *a = ud;
  tstream *s = tapp_stream(a, id);
  s->blocked = true;
  s->blocks++;
  a->total_blocks++;
  return 0;
}

static int tapp_unblock(void *ud, moqc_stream_id id) {
  tstream *s = tapp_stream(ud, id);
  s->blocked = false;
  return 0;
}

static int tapp_recv_reset(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  tstream *s = tapp_stream(ud, id);
  s->reset = true;
  s->reset_code = code;
  return 0;
}

static int tapp_recv_stop(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  tapp *a = ud;
  tstream *s = tapp_stream(a, id);
  s->stopped = true;
  s->stop_code = code;
  if (a->reset_on_stop) {
    s->tx_reset = true;
    a->t.ops->reset_stream(a->t.user_data, id, code + 1);
  }
  return 0;
}

static int tapp_close_stream(void *ud, moqc_stream_id id, moqc_tstamp ts) {
  tapp *a = ud;
  tstream *s = tapp_stream(a, id);
  s->closed = true;
  a->closed_streams++;
  return 0;
}

static int tapp_recv_dgram(void *ud, const uint8_t *data, size_t len, moqc_tstamp ts) {
  tapp *a = ud;
  a->dgrams++;
  a->last_dgram_len = len < sizeof(a->last_dgram) ? len : sizeof(a->last_dgram);
  memcpy(a->last_dgram, data, a->last_dgram_len);
  return 0;
}

static int tapp_poll(void *ud, moqc_tstamp ts) {
  tapp *a = ud;
  a->polls++;
  return 0;
}

static moqc_tstamp tapp_get_expiry(void *ud) { return UINT64_MAX; }

static int tapp_handle_expiry(void *ud, moqc_tstamp ts) { return 0; }

static void tapp_closed(void *ud, uint64_t code, const char *reason, size_t len) {
  tapp *a = ud;
  a->closed = true;
  a->close_code = code;
  size_t n = len < sizeof(a->close_reason) - 1 ? len : sizeof(a->close_reason) - 1;
  memcpy(a->close_reason, reason, n);
  a->close_reason[n] = 0;
}

static const moqc_stream_app_ops tapp_ops = {
    .read_stream = tapp_read,
    .writev_stream = tapp_writev,
    .add_write_offset = tapp_add_write,
    .add_ack_offset = tapp_add_ack,
    .block_stream = tapp_block,
    .unblock_stream = tapp_unblock,
    .recv_reset = tapp_recv_reset,
    .recv_stop_sending = tapp_recv_stop,
    .close_stream = tapp_close_stream,
    .recv_datagram = tapp_recv_dgram,
    .poll = tapp_poll,
    .get_expiry = tapp_get_expiry,
    .handle_expiry = tapp_handle_expiry,
    .closed = tapp_closed,
};

static void tapp_free(tapp *a) {
  for (size_t i = 0; i < a->n; i++) {
    free(a->s[i].rx);
    free(a->s[i].tx);
  }
  a->n = 0;
}

/* Deterministic test bytes: byte i of stream id. */
static uint8_t tapp_byte(moqc_stream_id id, size_t i) {
  return (uint8_t)((i * 131u + (size_t)id * 7u + (i >> 8)) & 0xff);
}

#endif /* TEST_TRANSPORT_WS_APP_H */
