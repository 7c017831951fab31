/*
 * The upper side of a WebTransport session: moqc_transport_ops for the
 * application (streams with their headers, datagrams, reset codes, the session
 * close capsule), and the lifecycle.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

static int wt_op_open_stream(void *ud, bool uni, moqc_stream_id *id) {
  moqc_wt_conn *c = ud;
  moqc__writer w;
  int64_t sid;
  if (c->state != MOQC__WT_OPEN || c->app_closed) {
    return MOQC_ERR_CLOSED;
  }
  int rv = c->lower.ops->open_stream(c->lower.user_data, uni, &sid);
  if (rv != 0) {
    return rv;
  }
  moqc__wt_stream *s = moqc__wt_stream_new(c, sid, MOQC__WTS_SESSION, true);
  if (s == NULL) {
    c->lower.ops->reset_stream(c->lower.user_data, sid,
                               MOQC__H3_INTERNAL_ERROR);
    return MOQC_ERR_NOMEM;
  }
  moqc__writer_init(&w, s->hdr, sizeof(s->hdr));
  if (uni) {
    moqc__h3_put_wt_uni_header(&w, (uint64_t)c->session_id);
  } else {
    moqc__h3_put_wt_bidi_header(&w, (uint64_t)c->session_id);
  }
  s->hdrlen = (uint8_t)moqc__writer_result(&w);
  s->app_known = true;
  *id = sid;
  MOQC_LOG(c->log, MOQC_LOG_TRACE, "wt: opened %s stream %lld",
           uni ? "uni" : "bidi", (long long)sid);
  return 0;
}

static void wt_op_resume_stream(void *ud, moqc_stream_id id) {
  moqc_wt_conn *c = ud;
  c->lower.ops->resume_stream(c->lower.user_data, id);
}

static int wt_op_reset_stream(void *ud, moqc_stream_id id, uint64_t code) {
  moqc_wt_conn *c = ud;
  moqc__wt_stream *s = moqc__wt_stream_find(c, id);
  if (s != NULL) {
    s->hdr_written = s->hdrlen; /* nothing more is sent on it */
  }
  return c->lower.ops->reset_stream(c->lower.user_data, id,
                                    moqc__wt_code_out(code));
}

static int wt_op_stop_sending(void *ud, moqc_stream_id id, uint64_t code) {
  moqc_wt_conn *c = ud;
  return c->lower.ops->stop_sending(c->lower.user_data, id,
                                    moqc__wt_code_out(code));
}

static int wt_op_send_datagram(void *ud, const uint8_t *data, size_t len) {
  moqc_wt_conn *c = ud;
  uint8_t buf[1500 + 8];
  moqc__writer w;
  if (c->state != MOQC__WT_OPEN) {
    return 0;
  }
  if (c->peer_settings_seen && !c->peer_settings.h3_datagram &&
      !c->peer_settings.h3_datagram_draft04) {
    return MOQC_ERR_UNSUPPORTED; /* the peer takes no HTTP datagrams */
  }
  if (len > 1500) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_datagram_header(&w, (uint64_t)c->session_id);
  moqc__put_raw(&w, data, len);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  return c->lower.ops->send_datagram(c->lower.user_data, buf, (size_t)n);
}

void moqc__wt_conn_close_session(moqc_wt_conn *c, uint32_t code,
                                 const char *reason, size_t reason_len) {
  c->app_closed = true;
  if (c->lower_closed || c->state == MOQC__WT_DEAD ||
      c->state == MOQC__WT_CLOSING) {
    return;
  }
  c->close_code = code;
  c->by_peer = false;
  if (c->state != MOQC__WT_OPEN || c->connect == NULL) {
    c->state = MOQC__WT_CLOSING;
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return;
  }
  c->state = MOQC__WT_CLOSING;
  uint8_t buf[16 + 16 + MOQC__WT_MAX_CAPSULE];
  uint8_t cap[16 + MOQC__WT_MAX_CAPSULE];
  moqc__writer w;
  /* The reason is cut at the limit, then back to a whole UTF-8 character. */
  size_t rl =
      reason_len > MOQC__H3_WT_REASON_MAX ? MOQC__H3_WT_REASON_MAX : reason_len;
  while (rl > 0 && !moqc__utf8_valid((const uint8_t *)reason, rl)) {
    rl--;
  }
  moqc_str r = {reason != NULL ? reason : "", reason != NULL ? rl : 0};
  moqc__writer_init(&w, cap, sizeof(cap));
  moqc__h3_put_wt_close(&w, code, r);
  moqc_ssize cl = moqc__writer_result(&w);
  if (cl < 0) {
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return;
  }
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_frame(&w, MOQC__H3_DATA, cap, (size_t)cl);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0 || moqc__wt_queue(c, c->connect, buf, (size_t)n, true) != 0) {
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "");
    return;
  }
  c->arm_deadline = true;
  c->lower.ops->wake(c->lower.user_data);
}

static void wt_op_close(void *ud, uint64_t code, const char *reason,
                        size_t reason_len) {
  moqc_wt_conn *c = ud;
  moqc__wt_conn_close_session(
      c, code > UINT32_MAX ? UINT32_MAX : (uint32_t)code, reason, reason_len);
}

static void wt_op_wake(void *ud) {
  moqc_wt_conn *c = ud;
  c->lower.ops->wake(c->lower.user_data);
}

/* The path is the QUIC connection's under the session: its estimates, when
 * it has any and the session is open. */
static int wt_op_get_stats(void *ud, moqc_transport_stats *out) {
  moqc_wt_conn *c = ud;
  if (c->state != MOQC__WT_OPEN || c->app_closed) {
    return MOQC_ERR_CLOSED;
  }
  if (c->lower.ops->get_stats == NULL) {
    return MOQC_ERR_UNSUPPORTED;
  }
  return c->lower.ops->get_stats(c->lower.user_data, out);
}

static const moqc_transport_ops wt_upper_ops = {
    .open_stream = wt_op_open_stream,
    .resume_stream = wt_op_resume_stream,
    .reset_stream = wt_op_reset_stream,
    .stop_sending = wt_op_stop_sending,
    .send_datagram = wt_op_send_datagram,
    .close = wt_op_close,
    .wake = wt_op_wake,
    .get_stats = wt_op_get_stats,
};

moqc_transport moqc_wt_conn_transport(moqc_wt_conn *conn) {
  moqc_transport t = {&wt_upper_ops, conn};
  return t;
}

int moqc__wt_conn_init(moqc_wt_conn *c, bool server, moqc_transport lower,
                       const moqc_mem *mem, const moqc_log *log) {
  c->mem = mem;
  c->log = log;
  c->server = server;
  c->lower = lower;
  c->session_id = -1;
  c->max_header_size = 16384;
  c->max_early_bytes = 65536;
  c->close_linger = 1000000000ULL;
  return moqc__wt_table_grow(c);
}

void moqc__wt_conn_free(moqc_wt_conn *c) {
  if (c->req.active && c->req.abort_cb != NULL) {
    void (*cb)(void *) = c->req.abort_cb;
    void *ud = c->req.abort_ud;
    c->req.abort_cb = NULL;
    cb(ud);
  }
  moqc__wt_request_reset(c, &c->req);
  for (size_t i = 0; i < c->nbuckets; i++) {
    moqc__wt_stream *s = c->buckets[i];
    while (s != NULL) {
      moqc__wt_stream *next = s->hnext;
      moqc__wt_stream_free(c, s);
      s = next;
    }
  }
  moqc_mem_free(c->mem, c->buckets);
  c->buckets = NULL;
  c->nbuckets = c->nstreams = 0;
  c->control_out = c->connect = NULL;
  moqc_mem_free(c->mem, c->connect_frame);
  c->connect_frame = NULL;
  moqc_mem_free(c->mem, c->path);
  c->path = NULL;
}

void moqc__wt_conn_lower_gone(moqc_wt_conn *c, int err, uint64_t app_code,
                              bool remote, moqc_wt_close_info *info) {
  bool was_closed = c->app_closed;
  if (!c->app_closed) {
    c->by_peer = remote;
    c->close_code = moqc__wt_code_in(app_code);
    const char *what = err == 0 ? "" : moqc_strerror(err);
    moqc__wt_app_tell_closed(
        c, err == 0 ? c->close_code : moqc_err_to_lite_code(err), what,
        strlen(what));
  }
  (void)was_closed;
  c->state = MOQC__WT_DEAD;
  c->lower_closed = true;
  memset(info, 0, sizeof(*info));
  info->code = c->close_code;
  info->by_peer = c->by_peer;
  info->http_status = c->http_status;
  info->err = c->close_err != 0 ? c->close_err : err;
}

int moqc_wt_conn_attach(moqc_wt_conn *conn, const moqc_stream_app_ops *ops,
                        void *app, moqc_wt_close_cb on_close, void *user_data) {
  if (conn == NULL || ops == NULL || conn->app_ops != NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (conn->state != MOQC__WT_OPEN || conn->lower_closed) {
    return MOQC_ERR_CLOSED;
  }
  conn->app_ops = ops;
  conn->app = app;
  if (on_close != NULL) {
    conn->on_close = on_close;
    conn->close_ud = user_data;
  }
  conn->early_pending = true;
  conn->lower.ops->wake(conn->lower.user_data);
  return 0;
}

moqc_str moqc_wt_conn_protocol(const moqc_wt_conn *conn) {
  moqc_str s = {conn->protocol, conn->protocol_len};
  return s;
}

moqc_str moqc_wt_conn_path(const moqc_wt_conn *conn) {
  moqc_str s = {conn->path != NULL ? conn->path : "", conn->path_len};
  return s;
}

moqc_quic_conn *moqc_wt_conn_quic(const moqc_wt_conn *conn) {
  return conn->quic;
}

void moqc_wt_conn_close(moqc_wt_conn *conn, uint32_t code, const char *reason) {
  moqc__wt_conn_close_session(conn, code, reason,
                              reason != NULL ? strlen(reason) : 0);
}

bool moqc_wt_conn_draining(const moqc_wt_conn *conn) {
  return conn->peer_draining;
}

int moqc_wt_conn_drain(moqc_wt_conn *conn) {
  uint8_t buf[32];
  moqc__writer w;
  if (conn->state != MOQC__WT_OPEN || conn->connect == NULL ||
      conn->lower_closed) {
    return MOQC_ERR_CLOSED;
  }
  if (conn->drain_sent) {
    return 0;
  }
  /* DRAIN_WEBTRANSPORT_SESSION in a DATA frame on the CONNECT stream. */
  uint8_t cap[16];
  moqc__writer_init(&w, cap, sizeof(cap));
  moqc__h3_put_wt_drain(&w);
  moqc_ssize cl = moqc__writer_result(&w);
  if (cl < 0) {
    return (int)cl;
  }
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__h3_put_frame(&w, MOQC__H3_DATA, cap, (size_t)cl);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    return (int)n;
  }
  int rv = moqc__wt_queue(conn, conn->connect, buf, (size_t)n, false);
  if (rv != 0) {
    return rv;
  }
  /* A server also stops taking requests: GOAWAY past the session's CONNECT
   * stream. */
  if (conn->server && conn->control_out != NULL) {
    moqc__writer_init(&w, buf, sizeof(buf));
    moqc__h3_put_goaway(&w, (uint64_t)conn->session_id + 4);
    n = moqc__writer_result(&w);
    if (n > 0) {
      rv = moqc__wt_queue(conn, conn->control_out, buf, (size_t)n, false);
      if (rv != 0) {
        return rv;
      }
    }
  }
  conn->drain_sent = true;
  return 0;
}
