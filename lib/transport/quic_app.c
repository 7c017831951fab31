/*
 * The stream-application adapter: carries one moqc_stream_app_ops application
 * (a moq-lite session) over a QUIC connection. The connection implements
 * moqc_transport_ops for it, hands it received bytes, pulls its stream ranges
 * (sent straight from its buffers, which it keeps until add_ack_offset), and
 * folds its expiry into the connection's timer. Events ngtcp2 raises while the
 * application may be inside a transport call (stream closes) are delivered
 * later.
 */
#include "transport/quic_internal.h"

#include <string.h>

/* ---- transport ops (called by the application) ---- */

static int app_op_open_stream(void *ud, bool uni, moqc_stream_id *id) {
  moqc_quic_conn *c = ud;
  if (c->app_closing) {
    return MOQC_ERR_CLOSED;
  }
  int rv = moqc_quic_conn_open_stream(c, uni, id);
  return rv == MOQC_ERR_PENDING ? MOQC_ERR_WOULD_BLOCK : rv;
}

static void app_op_resume_stream(void *ud, moqc_stream_id id) {
  moqc_quic_conn *c = ud;
  (void)id;
  if (c->state == MOQC__CONN_OPEN) {
    moqc__ep_mark_dirty(c->ep, c);
  }
}

static int app_op_reset_stream(void *ud, moqc_stream_id id, uint64_t code) {
  return moqc_quic_conn_reset_stream(ud, id, code);
}

static int app_op_stop_sending(void *ud, moqc_stream_id id, uint64_t code) {
  return moqc_quic_conn_stop_stream(ud, id, code);
}

static int app_op_send_datagram(void *ud, const uint8_t *data, size_t len) {
  int rv = moqc_quic_conn_send_datagram(ud, data, len);
  if (rv == MOQC_ERR_WOULD_BLOCK || rv == MOQC_ERR_PENDING ||
      rv == MOQC_ERR_CLOSED) {
    return 0; /* Dropped, like a lost datagram. */
  }
  return rv;
}

static void app_op_close(void *ud, uint64_t code, const char *reason,
                         size_t reason_len) {
  moqc_quic_conn *c = ud;
  char buf[256];
  size_t n = reason_len < sizeof(buf) - 1 ? reason_len : sizeof(buf) - 1;
  if (reason != NULL && n > 0) {
    memcpy(buf, reason, n);
  }
  buf[n] = '\0';
  c->app_closing =
      true; /* The application makes no call afterwards and is not told. */
  moqc_quic_conn_close(c, code, buf);
}

static void app_op_wake(void *ud) {
  moqc_quic_conn *c = ud;
  if (moqc__quic_running_loop == c->ep->loop && !c->in_write) {
    /* Called from inside one of this loop's QUIC callbacks (typically a
     * publisher's session appending to the model wakes its subscribers): on the
     * loop's thread already, so mark the connection for the write pass that
     * runs before the loop blocks, without the async handle's eventfd write and
     * the scan of every async handle it costs. A wake from inside the
     * connection's own write pass (its poll or writev_stream) still goes
     * through the handle, to the next loop iteration, so that an application
     * asking again and again cannot keep the pass running. */
    if (c->state == MOQC__CONN_OPEN && c->app_ops != NULL) {
      c->wakes_direct++;
      c->app_poll_pending = true;
      moqc__ep_mark_dirty(c->ep, c);
    }
    return;
  }
  /* Any other thread: uv_async_send is the only thing done here. */
  if (c->async_open) {
    uv_async_send(&c->async);
  }
}

/* The connection's path estimates: smoothed RTT and a send rate, ngtcp2's
 * delivery rate (0.12 only; 1.x no longer exposes it) or, before the first
 * rate sample, one congestion window per smoothed RTT. */
static int app_op_get_stats(void *ud, moqc_transport_stats *out) {
  moqc_quic_conn *c = ud;
  if (c->conn == NULL || c->state != MOQC__CONN_OPEN) {
    return MOQC_ERR_CLOSED;
  }
  moqc__conn_stat cs;
  moqc__conn_get_stat(c->conn, &cs);
  memset(out, 0, sizeof(*out));
  if (cs.smoothed_rtt == 0) {
    return 0; /* nothing known yet */
  }
  out->valid = MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE;
  out->smoothed_rtt = cs.smoothed_rtt;
  /* What the congestion controller would let through: cwnd per smoothed RTT,
   * the estimate a subscriber picks a rendition by (as a browser's
   * estimatedSendRate). Not delivery_rate_sec: that measures what was sent,
   * far below the link on an application-limited media connection (3.5 against
   * 130 Mbit/s on loopback). */
  uint64_t bytes_per_sec =
      (uint64_t)((double)cs.cwnd * 1e9 / (double)cs.smoothed_rtt);
  out->send_bitrate =
      bytes_per_sec > UINT64_MAX / 8 ? UINT64_MAX : bytes_per_sec * 8;
  return 0;
}

static const moqc_transport_ops app_transport_ops = {
    .open_stream = app_op_open_stream,
    .resume_stream = app_op_resume_stream,
    .reset_stream = app_op_reset_stream,
    .stop_sending = app_op_stop_sending,
    .send_datagram = app_op_send_datagram,
    .close = app_op_close,
    .wake = app_op_wake,
    .get_stats = app_op_get_stats,
};

moqc_transport moqc_quic_conn_transport(moqc_quic_conn *conn) {
  moqc_transport t = {&app_transport_ops, conn};
  return t;
}

static void app_async_cb(uv_async_t *h) {
  moqc_quic_conn *c = h->data;
  if (c->state != MOQC__CONN_OPEN || c->app_ops == NULL) {
    return;
  }
  uv_loop_t *prev = moqc__quic_running_loop;
  moqc__quic_running_loop = c->ep->loop;
  c->wakes_async++;
  c->app_poll_pending = true;
  moqc__ep_mark_dirty(c->ep, c);
  moqc__ep_run_dirty(c->ep);
  moqc__quic_running_loop = prev;
}

int moqc_quic_conn_attach(moqc_quic_conn *conn, const moqc_stream_app_ops *ops,
                          void *app) {
  if (conn == NULL || ops == NULL || conn->app_ops != NULL ||
      ops->read_stream == NULL || ops->writev_stream == NULL ||
      ops->add_write_offset == NULL || ops->add_ack_offset == NULL ||
      ops->block_stream == NULL || ops->unblock_stream == NULL ||
      ops->recv_reset == NULL || ops->recv_stop_sending == NULL ||
      ops->close_stream == NULL || ops->recv_datagram == NULL ||
      ops->poll == NULL || ops->get_expiry == NULL ||
      ops->handle_expiry == NULL || ops->closed == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (conn->state != MOQC__CONN_OPEN || conn->close_requested) {
    return MOQC_ERR_CLOSED;
  }
  if (!conn->async_open) {
    if (uv_async_init(conn->ep->loop, &conn->async, app_async_cb) != 0) {
      return MOQC_ERR_IO;
    }
    conn->async.data = conn;
    conn->async_open = true;
    conn->handles++;
    conn->ep->open_handles++;
  }
  conn->app_ops = ops;
  conn->app = app;
  moqc__ep_mark_dirty(conn->ep, conn);
  return 0;
}

void moqc__conn_fail(moqc_quic_conn *c, int err) {
  if (c->close_requested || c->state != MOQC__CONN_OPEN) {
    return;
  }
  c->close_requested = true;
  c->close_app_code = moqc_err_to_lite_code(err);
  moqc__ep_mark_dirty(c->ep, c);
}

/* ---- events for the application ---- */

moqc_ssize moqc__app_read(moqc_quic_conn *c, int64_t id, const uint8_t *data,
                          size_t len, bool fin) {
  if (c->app_closing) {
    return (moqc_ssize)len;
  }
  moqc_ssize n =
      c->app_ops->read_stream(c->app, id, data, len, fin, moqc__quic_now());
  if (n < 0) {
    moqc__conn_fail(c, (int)n);
    return (moqc_ssize)len;
  }
  return n;
}

void moqc__app_acked(moqc_quic_conn *c, int64_t id, uint64_t n) {
  if (c->app_closing) {
    return; /* the application closed: no more calls */
  }
  int rv = c->app_ops->add_ack_offset(c->app, id, n);
  if (rv < 0) {
    moqc__conn_fail(c, rv);
  }
}

void moqc__app_reset(moqc_quic_conn *c, int64_t id, uint64_t code) {
  if (c->app_closing) {
    return; /* the application closed: no more calls */
  }
  int rv = c->app_ops->recv_reset(c->app, id, code, moqc__quic_now());
  if (rv < 0) {
    moqc__conn_fail(c, rv);
  }
}

void moqc__app_unblock(moqc_quic_conn *c, int64_t id) {
  if (c->app_closing) {
    return; /* the application closed: no more calls */
  }
  int rv = c->app_ops->unblock_stream(c->app, id);
  if (rv < 0) {
    moqc__conn_fail(c, rv);
  }
  moqc__ep_mark_dirty(c->ep, c);
}

void moqc__app_stream_closed(moqc_quic_conn *c, int64_t id, bool stopped,
                             uint64_t code) {
  if (c->napp_closes == c->app_closes_cap) {
    /* Small at first: an idle connection keeps what one close took. */
    size_t ncap = c->app_closes_cap == 0 ? 4 : c->app_closes_cap * 2;
    moqc__app_close *n =
        moqc_mem_realloc(c->ep->mem, c->app_closes, ncap * sizeof(*n));
    if (n == NULL) {
      moqc__conn_fail(c, MOQC_ERR_NOMEM);
      return;
    }
    c->app_closes = n;
    c->app_closes_cap = ncap;
  }
  c->app_closes[c->napp_closes].id = id;
  c->app_closes[c->napp_closes].stopped = stopped;
  c->app_closes[c->napp_closes].code = code;
  c->napp_closes++;
  moqc__ep_mark_dirty(c->ep, c);
}

void moqc__app_datagram(moqc_quic_conn *c, const uint8_t *data, size_t len) {
  if (c->app_closing) {
    return; /* the application closed: no more calls */
  }
  int rv = c->app_ops->recv_datagram(c->app, data, len, moqc__quic_now());
  if (rv < 0) {
    moqc__conn_fail(c, rv);
  }
}

void moqc__app_wants_poll(moqc_quic_conn *c) {
  c->app_poll_pending = true;
  moqc__ep_mark_dirty(c->ep, c);
}

void moqc__app_closed(moqc_quic_conn *c, uint64_t code, const uint8_t *reason,
                      size_t len) {
  const moqc_stream_app_ops *ops = c->app_ops;
  void *app = c->app;
  c->app_ops = NULL;
  c->app = NULL;
  c->napp_closes = 0;
  if (ops != NULL && !c->app_closing) {
    ops->closed(app, code, (const char *)reason, len);
  }
}

void moqc__app_before_write(moqc_quic_conn *c, moqc_tstamp ts) {
  if (c->app_closing) {
    c->napp_closes = 0;
    return;
  }
  /* Deliver in arrival order; the application may open or reset streams
   * meanwhile. */
  for (size_t i = 0; i < c->napp_closes && c->app_ops != NULL; i++) {
    moqc__app_close ev = c->app_closes[i];
    int rv = 0;
    if (ev.stopped) {
      rv = c->app_ops->recv_stop_sending(c->app, ev.id, ev.code, ts);
    }
    if (rv == 0) {
      rv = c->app_ops->close_stream(c->app, ev.id, ts);
    }
    if (rv < 0) {
      moqc__conn_fail(c, rv);
    }
  }
  c->napp_closes = 0;
  if (c->app_poll_pending && c->app_ops != NULL) {
    c->app_poll_pending = false;
    int rv = c->app_ops->poll(c->app, ts);
    if (rv < 0) {
      moqc__conn_fail(c, rv);
    }
  }
}

moqc_ssize moqc__app_pull(moqc_quic_conn *c, int64_t *id, bool *fin,
                          ngtcp2_vec *vec, size_t max, moqc_tstamp ts) {
  moqc_vec mv[MOQC__QUIC_MAX_VEC];
  moqc_stream_id sid = MOQC_STREAM_NONE;
  bool f = false;
  if (max > MOQC__QUIC_APP_VEC) {
    max = MOQC__QUIC_APP_VEC;
  }
  moqc_ssize n = c->app_ops->writev_stream(c->app, &sid, &f, mv, max, ts);
  if (n < 0) {
    moqc__conn_fail(c, (int)n);
    *id = -1;
    return 0;
  }
  *id = sid;
  *fin = sid != MOQC_STREAM_NONE && f;
  if (sid == MOQC_STREAM_NONE) {
    return 0;
  }
  for (moqc_ssize i = 0; i < n; i++) {
    vec[i].base = (uint8_t *)(uintptr_t)mv[i].base;
    vec[i].len = mv[i].len;
  }
  return n;
}

int moqc__app_wrote(moqc_quic_conn *c, int64_t id, ngtcp2_ssize nwrite,
                    ngtcp2_ssize ndatalen, bool fin, size_t vlen) {
  int rv = 0;
  if (ndatalen >= 0) {
    if (fin && (size_t)ndatalen == vlen) {
      moqc__quic_stream *s = moqc__stream_find(c, id);
      if (s != NULL) {
        s->fin_sent =
            true; /* tells a peer's stop from our own finish at close */
      }
    }
    rv = c->app_ops->add_write_offset(c->app, id, (size_t)ndatalen);
  }
  if (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
      nwrite == NGTCP2_ERR_STREAM_SHUT_WR ||
      nwrite == NGTCP2_ERR_STREAM_NOT_FOUND) {
    /* Flow control (unblocked by extend_max_stream_data), or a stream the peer
     * stopped or that is gone: the application must skip it. A stop is reported
     * with the stream's close. */
    moqc__quic_stream *s = moqc__stream_find(c, id);
    if (s != NULL) {
      s->blocked = true;
      if (nwrite != NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        s->reset = true;
      }
    }
    rv = c->app_ops->block_stream(c->app, id);
  }
  if (rv < 0) {
    moqc__conn_fail(c, rv);
  }
  if (nwrite < 0 && nwrite != NGTCP2_ERR_WRITE_MORE &&
      nwrite != NGTCP2_ERR_STREAM_DATA_BLOCKED &&
      nwrite != NGTCP2_ERR_STREAM_SHUT_WR &&
      nwrite != NGTCP2_ERR_STREAM_NOT_FOUND) {
    return (int)nwrite;
  }
  return 0;
}

moqc_tstamp moqc__app_expiry(const moqc_quic_conn *c) {
  if (c->app_ops == NULL || c->app_closing || c->app_ops->get_expiry == NULL) {
    return UINT64_MAX;
  }
  return c->app_ops->get_expiry(c->app);
}

void moqc__app_handle_expiry(moqc_quic_conn *c, moqc_tstamp ts) {
  if (c->app_ops == NULL || c->app_closing || moqc__app_expiry(c) > ts) {
    return;
  }
  int rv = c->app_ops->handle_expiry(c->app, ts);
  if (rv < 0) {
    moqc__conn_fail(c, rv);
  }
  moqc__ep_mark_dirty(c->ep, c);
}

void moqc__app_free(moqc_quic_conn *c, uv_close_cb close_cb) {
  moqc_mem_free(c->ep->mem, c->app_closes);
  c->app_closes = NULL;
  c->napp_closes = c->app_closes_cap = 0;
  c->app_ops = NULL;
  c->app = NULL;
  if (c->async_open) {
    c->async_open = false;
    uv_close((uv_handle_t *)&c->async, close_cb);
  }
}
