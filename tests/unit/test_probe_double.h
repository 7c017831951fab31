/*
 * A stream application double for the Probe tests: opens streams with fixed bytes (and a FIN)
 * through its transport and records everything it receives per stream. Test-only; one thread.
 */
#ifndef TEST_PROBE_DOUBLE_H
#define TEST_PROBE_DOUBLE_H

#include "testutil.h"

#include <moqc/session.h>

/* ---- The client double: opens streams, records what arrives ------------------------------ */

#define DBL_STREAMS 16

typedef struct dstream {
  moqc_stream_id id;
  uint8_t out[128];
  size_t out_len, out_off;
  bool fin_out, fin_sent;
  uint8_t in[4096];
  size_t in_len;
  bool fin_in, reset_in, closed;
} dstream;

typedef struct dbl {
  moqc_transport tp;
  dstream st[DBL_STREAMS];
  size_t n;
} dbl;

static inline dstream *dbl_find(dbl *d, moqc_stream_id id, bool add) {
  for (size_t i = 0; i < d->n; i++) {
    if (d->st[i].id == id) {
      return &d->st[i];
    }
  }
  if (!add) {
    return NULL;
  }
  assert_true(d->n < DBL_STREAMS);
  dstream *s = &d->st[d->n++];
  memset(s, 0, sizeof(*s));
  s->id = id;
  return s;
}

static inline moqc_ssize dbl_read(void *app, moqc_stream_id id, const uint8_t *data, size_t len,
                           bool fin, moqc_tstamp ts) {
  (void)ts;
  dstream *s = dbl_find(app, id, true);
  assert_true(s->in_len + len <= sizeof(s->in));
  if (len > 0) {
    memcpy(s->in + s->in_len, data, len);
  }
  s->in_len += len;
  s->fin_in = s->fin_in || fin;
  return (moqc_ssize)len;
}
static inline moqc_ssize dbl_writev(void *app, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                             size_t veccnt, moqc_tstamp ts) {
  (void)ts;
  (void)veccnt;
  dbl *d = app;
  *id = MOQC_STREAM_NONE;
  for (size_t i = 0; i < d->n; i++) {
    dstream *s = &d->st[i];
    if (s->out_off < s->out_len || (s->fin_out && !s->fin_sent)) {
      *id = s->id;
      *fin = s->fin_out;
      vec[0].base = s->out + s->out_off;
      vec[0].len = s->out_len - s->out_off;
      return vec[0].len > 0 ? 1 : 0;
    }
  }
  return 0;
}
static inline int dbl_write_off(void *app, moqc_stream_id id, size_t n) {
  dstream *s = dbl_find(app, id, false);
  assert_non_null(s);
  s->out_off += n;
  if (s->out_off == s->out_len && s->fin_out) {
    s->fin_sent = true;
  }
  return 0;
}
static inline int dbl_ack(void *app, moqc_stream_id id, uint64_t n) {
  (void)app, (void)id, (void)n;
  return 0;
}
static inline int dbl_block(void *app, moqc_stream_id id) {
  (void)app, (void)id;
  return 0;
}
static inline int dbl_recv_reset(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  (void)code, (void)ts;
  dbl_find(app, id, true)->reset_in = true;
  return 0;
}
static inline int dbl_recv_stop(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  (void)app, (void)id, (void)code, (void)ts;
  return 0;
}
static inline int dbl_close_stream(void *app, moqc_stream_id id, moqc_tstamp ts) {
  (void)ts;
  dstream *s = dbl_find(app, id, false);
  if (s != NULL) {
    s->closed = true;
  }
  return 0;
}
static inline int dbl_dgram(void *app, const uint8_t *data, size_t len, moqc_tstamp ts) {
  (void)app, (void)data, (void)len, (void)ts;
  return 0;
}
static inline int dbl_poll(void *app, moqc_tstamp ts) {
  (void)app, (void)ts;
  return 0;
}
static inline moqc_tstamp dbl_expiry(void *app) {
  (void)app;
  return UINT64_MAX;
}
static inline int dbl_handle_expiry(void *app, moqc_tstamp ts) {
  (void)app, (void)ts;
  return 0;
}
static inline void dbl_closed(void *app, uint64_t code, const char *reason, size_t len) {
  (void)app, (void)code, (void)reason, (void)len;
}

static const moqc_stream_app_ops dbl_ops = {
    .read_stream = dbl_read,
    .writev_stream = dbl_writev,
    .add_write_offset = dbl_write_off,
    .add_ack_offset = dbl_ack,
    .block_stream = dbl_block,
    .unblock_stream = dbl_block,
    .recv_reset = dbl_recv_reset,
    .recv_stop_sending = dbl_recv_stop,
    .close_stream = dbl_close_stream,
    .recv_datagram = dbl_dgram,
    .poll = dbl_poll,
    .get_expiry = dbl_expiry,
    .handle_expiry = dbl_handle_expiry,
    .closed = dbl_closed,
};

/* Opens a stream on the double and queues bytes (and a FIN) on it. */
static inline dstream *dbl_open(dbl *d, bool uni, const uint8_t *data, size_t len) {
  moqc_stream_id id;
  assert_int_equal(d->tp.ops->open_stream(d->tp.user_data, uni, &id), 0);
  dstream *s = dbl_find(d, id, true);
  assert_true(len <= sizeof(s->out));
  memcpy(s->out, data, len);
  s->out_len = len;
  d->tp.ops->resume_stream(d->tp.user_data, id);
  return s;
}

#endif /* TEST_PROBE_DOUBLE_H */
