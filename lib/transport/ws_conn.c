/*
 * A WebSocket connection carrying QMux: wslay frames the bytes of the TCP connection, the QMux
 * engine (ws_qmux.c) turns binary messages into stream events for the attached application.
 * After every event the connection services the engine, pulls messages while the socket keeps
 * up (max_send_buffer), and re-arms its timer at the engine's next expiry.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "core/log.h"
#include "transport/ws_int.h"
#include "wire/websocket.h"

void moqc_ws_settings_default(moqc_ws_settings *s) {
  memset(s, 0, sizeof(*s));
  s->max_data = 1048576;
  s->max_stream_data = 262144;
  s->max_streams_bidi = 100;
  /* One uni stream per group: 1000 streams hold 400 ms of 1-frame groups at 2,500 groups/s,
   * so a sender that stalls (or catches up after a stall) keeps every group; 100 held 40 ms,
   * and a moq-lite publisher without stream credit keeps only the newest group. */
  s->max_streams_uni = 1000;
  s->idle_timeout_ms = 30000;
  s->ping_interval_ms = 10000;
  s->datagrams = true;
  s->max_send_buffer = 256 * 1024;
  s->log = NULL;
}

static void ws_process(moqc_ws_conn *c);

/* Logs one message at trace level: direction, size and its first bytes in hex. */
static void ws_trace(const moqc_ws_conn *c, const char *dir, const uint8_t *m, size_t len) {
  if (c->ws.log == NULL || c->ws.log->write == NULL || c->ws.log->level < MOQC_LOG_TRACE) {
    return;
  }
  char hex[3 * 48 + 4];
  size_t n = len < 48 ? len : 48;
  for (size_t i = 0; i < n; i++) {
    static const char digits[] = "0123456789abcdef";
    hex[3 * i] = digits[m[i] >> 4];
    hex[3 * i + 1] = digits[m[i] & 15];
    hex[3 * i + 2] = ' ';
  }
  hex[n > 0 ? 3 * n - 1 : 0] = 0;
  MOQC_LOG(c->ws.log, MOQC_LOG_TRACE, "ws %p %s %zu: %s%s", (const void *)c, dir, len, hex,
           len > n ? " ..." : "");
}

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                          void *ud) {
  moqc_ws_conn *c = ud;
  (void)flags;
  if (c->in_len == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = len < c->in_len ? len : c->in_len;
  memcpy(buf, c->in, n);
  c->in += n;
  c->in_len -= n;
  return (ssize_t)n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *ud) {
  moqc_ws_conn *c = ud;
  (void)flags;
  if (c->out_len + len > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 32768;
    while (cap < c->out_len + len) {
      cap *= 2;
    }
    uint8_t *b = moqc_mem_realloc(c->mem, c->out, cap);
    if (b == NULL) {
      wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
      return -1;
    }
    c->out = b;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  return (ssize_t)len;
}

static int ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud) {
  moqc_ws_conn *c = ud;
  (void)ctx;
  for (size_t i = 0; i < len; i++) {
    uint64_t x = c->mask_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->mask_state = x;
    buf[i] = (uint8_t)(x >> 24);
  }
  return 0;
}

/* Records why the connection ended when it was not the engine's decision. */
static void ws_set_info(moqc_ws_conn *c, uint64_t code, bool by_peer, const char *what) {
  if (c->info_set || moqc__wsq_is_closed(c->engine)) {
    return;
  }
  c->info.code = code;
  c->info.app = false;
  c->info.by_peer = by_peer;
  c->info.what = what;
  c->info_set = true;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *ud) {
  moqc_ws_conn *c = ud;
  (void)ctx;
  moqc_tstamp ts = uv_hrtime();
  switch (arg->opcode) {
  case WSLAY_BINARY_FRAME:
    ws_trace(c, "<-", arg->msg, arg->msg_length);
    (void)moqc__wsq_recv_message(c->engine, arg->msg, arg->msg_length, ts);
    break;
  case WSLAY_TEXT_FRAME:
    moqc__wsq_abort(c->engine, MOQC__WSQ_PROTOCOL_VIOLATION, true, "text message");
    break;
  case WSLAY_CONNECTION_CLOSE:
    ws_set_info(c, arg->status_code, true, "websocket closed by the peer");
    moqc__wsq_abort(c->engine, MOQC__WSQ_NO_ERROR, false, "websocket closed by the peer");
    break;
  default:
    break; /* Ping (answered by wslay) and pong. */
  }
}

static void ws_wake(void *glue) {
  moqc_ws_conn *c = glue;
  pthread_mutex_lock(&c->wake_lock);
  if (c->async_live) {
    uv_async_send(&c->async);
  }
  pthread_mutex_unlock(&c->wake_lock);
}

static void ws_on_async(uv_async_t *a) { ws_process(a->data); }

static void ws_arm_timer(moqc_ws_conn *c) {
  uint64_t now_ms = uv_now(c->loop);
  uint64_t at = UINT64_MAX; /* loop time in ms */
  moqc_tstamp exp = moqc__wsq_get_expiry(c->engine);
  if (exp != UINT64_MAX) {
    moqc_tstamp now = uv_hrtime();
    at = now_ms + (exp > now ? (exp - now) / MOQC_MILLISECONDS + 1 : 1);
  }
  if (c->ws.idle_timeout_ms > 0 && c->last_recv_ms + c->ws.idle_timeout_ms < at) {
    at = c->last_recv_ms + c->ws.idle_timeout_ms;
  }
  if (c->ws.ping_interval_ms > 0 && c->last_ping_ms + c->ws.ping_interval_ms < at) {
    at = c->last_ping_ms + c->ws.ping_interval_ms;
  }
  if (at == UINT64_MAX) {
    moqc__tcp_timer(c, 0);
    return;
  }
  moqc__tcp_timer(c, at > now_ms ? at - now_ms : 1);
}

/* Pulls messages while the socket keeps up, hands wslay's bytes to the socket, and closes the
 * WebSocket once the engine produced its last message. */
static void ws_flush(moqc_ws_conn *c, moqc_tstamp ts) {
  uint8_t msg[MOQC__WSQ_MESSAGE_MAX];
  while (!c->ws_close_queued && c->pending_write + c->out_len < c->ws.max_send_buffer) {
    moqc_ssize n = moqc__wsq_produce(c->engine, msg, sizeof(msg), ts);
    if (n <= 0) {
      break;
    }
    ws_trace(c, "->", msg, (size_t)n);
    struct wslay_event_msg m = {WSLAY_BINARY_FRAME, msg, (size_t)n};
    if (wslay_event_queue_msg(c->wslay, &m) != 0) {
      break;
    }
    if (wslay_event_send(c->wslay) != 0) {
      break;
    }
  }
  if (moqc__wsq_is_drained(c->engine) && !c->ws_close_queued) {
    c->ws_close_queued = true;
    moqc__wsq_close_info i = moqc__wsq_close_info_get(c->engine);
    uint16_t code = i.app || i.code == MOQC__WSQ_NO_ERROR ? 1000 : 1002;
    if (strcmp(i.what, "text message") == 0) {
      code = 1003;
    }
    (void)wslay_event_queue_close(c->wslay, code, NULL, 0);
  }
  (void)wslay_event_send(c->wslay);
  if (c->out_len > 0) {
    int rv = moqc__tcp_write(c, c->out, c->out_len);
    c->out_len = 0;
    if (rv != 0) {
      ws_set_info(c, 0, true, "socket write failed");
      moqc__wsq_abort(c->engine, MOQC__WSQ_INTERNAL_ERROR, false, "socket write failed");
      moqc__tcp_close(c);
      return;
    }
  }
  if (c->ws_close_queued && !wslay_event_want_write(c->wslay)) {
    moqc__tcp_close_graceful(c);
  }
}

static void ws_process(moqc_ws_conn *c) {
  if (c->closing || c->close_after_write || c->in_process || c->engine == NULL) {
    return;
  }
  c->in_process = true;
  moqc_tstamp ts = uv_hrtime();
  moqc__wsq_service(c->engine, ts);
  ws_flush(c, ts);
  c->in_process = false;
  if (!c->closing && !c->close_after_write) {
    ws_arm_timer(c);
  }
}

void moqc__ws_on_data(moqc_ws_conn *c, const uint8_t *data, size_t len) {
  c->last_recv_ms = uv_now(c->loop);
  c->in = data;
  c->in_len = len;
  int rv = wslay_event_recv(c->wslay);
  c->in_len = 0;
  if (rv != 0 || !wslay_event_get_read_enabled(c->wslay)) {
    /* Bad framing, an oversized message, or the peer's close frame. */
    ws_set_info(c, MOQC__WSQ_PROTOCOL_VIOLATION, true, "websocket framing error");
    moqc__wsq_abort(c->engine, MOQC__WSQ_PROTOCOL_VIOLATION, false, "websocket framing error");
    if (rv != 0) {
      moqc__tcp_close(c);
      return;
    }
  }
  ws_process(c);
}

void moqc__ws_on_timer(moqc_ws_conn *c) {
  uint64_t now_ms = uv_now(c->loop);
  if (c->ws.idle_timeout_ms > 0 && now_ms >= c->last_recv_ms + c->ws.idle_timeout_ms) {
    /* Nothing at all (not even a Pong) arrived for the idle timeout. */
    ws_set_info(c, MOQC__WSQ_NO_ERROR, false, "idle timeout");
    moqc__wsq_abort(c->engine, MOQC__WSQ_NO_ERROR, false, "idle timeout");
    moqc__tcp_close(c);
    return;
  }
  if (c->ws.ping_interval_ms > 0 && now_ms >= c->last_ping_ms + c->ws.ping_interval_ms &&
      !c->ws_close_queued) {
    c->last_ping_ms = now_ms;
    struct wslay_event_msg m = {WSLAY_PING, NULL, 0};
    (void)wslay_event_queue_msg(c->wslay, &m);
  }
  moqc__wsq_handle_expiry(c->engine, uv_hrtime());
  ws_process(c);
}

void moqc__ws_on_eof(moqc_ws_conn *c) {
  ws_set_info(c, 0, true, "socket closed");
  moqc__wsq_abort(c->engine, MOQC__WSQ_NO_ERROR, false, "socket closed");
  moqc__tcp_close(c);
}

void moqc__ws_on_writable(moqc_ws_conn *c) {
  if (c->pending_write < c->ws.max_send_buffer) {
    ws_process(c);
  }
}

void moqc__ws_on_finalize(moqc_ws_conn *c) {
  if (c->engine == NULL) {
    return;
  }
  if (!moqc__wsq_is_closed(c->engine)) {
    ws_set_info(c, 0, false, "connection closed");
    moqc__wsq_abort(c->engine, MOQC__WSQ_NO_ERROR, false, "connection closed");
  }
  moqc_ws_close_info info;
  if (c->info_set) {
    info = c->info;
  } else {
    moqc__wsq_close_info i = moqc__wsq_close_info_get(c->engine);
    info.code = i.code;
    info.app = i.app;
    info.by_peer = i.by_peer;
    info.what = i.what;
  }
  moqc__wsq_detach(c->engine);
  MOQC_LOG(c->ws.log, MOQC_LOG_DEBUG, "ws: %.*s connection closed by %s: %s code %llu (%s)",
           (int)c->choice.protocol.len, c->choice.protocol.ptr, info.by_peer ? "peer" : "us",
           info.app ? "application" : "transport", (unsigned long long)info.code, info.what);
  if (c->on_close != NULL) {
    c->on_close(c->close_ud, c, &info);
  }
  moqc__wsq_del(c->engine);
  c->engine = NULL;
  if (c->wslay != NULL) {
    wslay_event_context_free(c->wslay);
    c->wslay = NULL;
  }
}

void moqc__ws_engine_settings(moqc__wsq_settings *st, const moqc_ws_settings *ws,
                              moqc__qmux_format format, bool is_server) {
  moqc__wsq_settings_default(st, format, is_server);
  st->local.initial_max_data = ws->max_data;
  st->local.initial_max_stream_data_bidi_local = ws->max_stream_data;
  st->local.initial_max_stream_data_bidi_remote = ws->max_stream_data;
  st->local.initial_max_stream_data_uni = ws->max_stream_data;
  st->local.initial_max_streams_bidi = ws->max_streams_bidi;
  st->local.initial_max_streams_uni = ws->max_streams_uni;
  st->local.max_idle_timeout = ws->idle_timeout_ms;
  if (!ws->datagrams) {
    st->local.max_datagram_frame_size = 0;
  }
}

/*
 * Path estimates from the kernel's TCP state: the smoothed RTT, and one congestion window per RTT
 * as the rate (what TCP would let through; the delivery rate of an application-limited media
 * connection is far below the link). Nothing is known before the first RTT sample.
 */
static int ws_stats(void *glue, moqc_transport_stats *out) {
  moqc_ws_conn *c = glue;
  uv_os_fd_t fd;
  struct tcp_info ti;
  socklen_t len = sizeof(ti);

  memset(out, 0, sizeof(*out));
  if (c->closing || uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0 ||
      getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
    return MOQC_ERR_CLOSED;
  }
  if (ti.tcpi_rtt == 0) {
    return 0;
  }
  out->valid = MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE;
  out->smoothed_rtt = (moqc_tstamp)ti.tcpi_rtt * 1000U; /* us -> ns */
  out->send_bitrate = (uint64_t)((double)ti.tcpi_snd_cwnd * (double)ti.tcpi_snd_mss * 8.0 * 1e6 /
                                 (double)ti.tcpi_rtt);
  return 0;
}

int moqc__ws_start(moqc_ws_conn *c, const moqc__qmux_choice *choice, bool is_server,
                   const uint8_t *rest, size_t rest_len) {
  c->choice = *choice;
  c->mode = MOQC__CONN_WS;
  moqc__wsq_settings st;
  moqc__ws_engine_settings(&st, &c->ws, choice->format, is_server);
  st.wake = ws_wake;
  st.glue = c;
  st.stats = ws_stats;
  uv_random(NULL, NULL, &c->mask_state, sizeof(c->mask_state), 0, NULL);
  c->mask_state |= 1;
  struct wslay_event_callbacks cb = {ws_recv_cb, ws_send_cb, ws_genmask_cb, NULL, NULL, NULL,
                                     ws_on_msg};
  int rv = moqc__wsq_new(&c->engine, &st, c->mem);
  if (rv == 0) {
    rv = is_server ? wslay_event_context_server_init(&c->wslay, &cb, c)
                   : wslay_event_context_client_init(&c->wslay, &cb, c);
    rv = rv == 0 ? 0 : MOQC_ERR_NOMEM;
  }
  if (rv != 0) {
    moqc__tcp_close(c);
    return rv;
  }
  size_t limit = choice->format >= MOQC__QMUX_01
                     ? (size_t)moqc__qmux_params_record_size(&st.local)
                     : MOQC__QMUX_00_MESSAGE_MAX;
  wslay_event_config_set_max_recv_msg_length(c->wslay, limit);
  uv_async_init(c->loop, &c->async, ws_on_async);
  c->async.data = c;
  c->async_init = true;
  c->handles_open++;
  pthread_mutex_lock(&c->wake_lock);
  c->async_live = true;
  pthread_mutex_unlock(&c->wake_lock);
  if (moqc__tcp_start_read(c) != 0) {
    moqc__tcp_close(c);
    return MOQC_ERR_IO;
  }
  c->last_recv_ms = c->last_ping_ms = uv_now(c->loop);
  /* qmux-00 and the legacy format have no idle timeout: let TCP notice a vanished peer. */
  (void)uv_tcp_keepalive(&c->tcp, 1, 30);
  if (rest_len > 0) {
    moqc__ws_on_data(c, rest, rest_len);
  } else {
    ws_process(c);
  }
  return 0;
}

/* ---- Public connection API ---------------------------------------------------------------- */

moqc_transport moqc_ws_conn_transport(moqc_ws_conn *conn) {
  return moqc__wsq_transport(conn->engine);
}

void moqc_ws_conn_attach(moqc_ws_conn *conn, const moqc_stream_app_ops *ops, void *app,
                         moqc_ws_close_cb on_close, void *user_data) {
  conn->on_close = on_close;
  conn->close_ud = user_data;
  if (conn->engine == NULL || moqc__wsq_is_closed(conn->engine)) {
    return; /* on_close still follows; the application is never called. */
  }
  moqc__wsq_attach(conn->engine, ops, app);
  moqc_transport t = moqc__wsq_transport(conn->engine);
  t.ops->wake(t.user_data);
}

moqc_str moqc_ws_conn_alpn(const moqc_ws_conn *conn) { return conn->choice.alpn; }

moqc_str moqc_ws_conn_protocol(const moqc_ws_conn *conn) { return conn->choice.protocol; }

void moqc_ws_conn_close(moqc_ws_conn *conn, uint64_t code, const char *reason) {
  if (conn->engine == NULL || conn->closing) {
    return;
  }
  if (!moqc__wsq_is_closed(conn->engine)) {
    moqc__wsq_detach(conn->engine);
    moqc_transport t = moqc__wsq_transport(conn->engine);
    t.ops->close(t.user_data, code, reason, reason != NULL ? strlen(reason) : 0);
  }
  if (conn->in_process) {
    return; /* The running process call flushes the close. */
  }
  ws_process(conn);
  if (!conn->closing && !conn->close_after_write) {
    moqc__tcp_close_graceful(conn);
  }
}

int moqc_ws_accept(moqc_http_request *req, moqc_ws_conn **out) {
  moqc_ws_conn *c = req->conn;
  if (!req->active || req->streaming || c->mode != MOQC__CONN_HTTP) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  uint8_t buf[1024];
  moqc__writer w;
  moqc__qmux_choice choice;
  int status = 0;
  moqc__writer_init(&w, buf, sizeof(buf));
  int rv = moqc__ws_server_handshake(&req->parsed, c->srv->st.alpns, c->srv->st.n_alpns, &w,
                                     &choice, &status);
  if (rv == MOQC_ERR_NOT_FOUND) {
    moqc__writer_init(&w, buf, sizeof(buf));
    moqc__ws_response_error(&w, 400);
    rv = MOQC_ERR_MALFORMED;
  }
  moqc_ssize n = moqc__writer_result(&w);
  if (rv != 0 || n < 0) {
    MOQC_LOG(c->srv->st.log, MOQC_LOG_DEBUG, "ws: upgrade refused with %d", status);
    if (n > 0) {
      (void)moqc__tcp_write(c, buf, (size_t)n);
    }
    req->close_after = true;
    moqc__http_end(req);
    return rv != 0 ? rv : (int)n;
  }
  rv = moqc__tcp_write(c, buf, (size_t)n);
  if (rv != 0) {
    req->close_after = true;
    moqc__http_end(req);
    return rv;
  }
  req->active = false;
  moqc__tcp_timer(c, 0);
  size_t used = req->parsed.head_len < c->head_len ? req->parsed.head_len : c->head_len;
  rv = moqc__ws_start(c, &choice, true, c->head + used, c->head_len - used);
  /* The head buffer is not needed any more (req, which viewed it, is over). */
  c->head_len = 0;
  moqc_mem_free(c->mem, c->head);
  c->head = NULL;
  if (rv != 0) {
    return rv;
  }
  *out = c;
  return 0;
}
