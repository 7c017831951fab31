/*
 * The TCP connection under the WebSocket transport: reading into a per-connection buffer,
 * copying writes into libuv requests, the connection timer, and closing (at once, or after the
 * pending writes drained). What the bytes mean is decided by the connection's mode.
 */
#include <string.h>

#include "transport/ws_int.h"

/** How long a graceful close may wait for pending writes, in milliseconds. */
#define CONN_DRAIN_MS 2000U

typedef struct conn_wreq {
  uv_write_t req;
  moqc_ws_conn *c;
  size_t len;
  uint8_t data[];
} conn_wreq;

static void conn_on_timer(uv_timer_t *t);

moqc_ws_conn *moqc__tcp_new(uv_loop_t *loop, moqc_http_server *srv, const moqc_mem *mem) {
  moqc_ws_conn *c = moqc_mem_calloc(mem, 1, sizeof(*c));
  if (c == NULL) {
    return NULL;
  }
  c->loop = loop;
  c->mem = mem;
  c->srv = srv;
  if (pthread_mutex_init(&c->wake_lock, NULL) != 0) {
    moqc_mem_free(mem, c);
    return NULL;
  }
  c->wake_lock_init = true;
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  uv_timer_init(loop, &c->timer);
  c->timer.data = c;
  c->handles_open = 2;
  if (srv != NULL) {
    c->next = srv->conns;
    if (srv->conns != NULL) {
      srv->conns->prev = c;
    }
    srv->conns = c;
    srv->nconns++;
  }
  return c;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  moqc_ws_conn *c = h->data;
  (void)suggested;
  buf->base = (char *)c->rbuf;
  buf->len = sizeof(c->rbuf);
}

static void conn_eof(moqc_ws_conn *c) {
  switch (c->mode) {
  case MOQC__CONN_HTTP:
    moqc__http_on_eof(c);
    break;
  case MOQC__CONN_CLIENT_HANDSHAKE:
    moqc__client_on_eof(c);
    break;
  default:
    moqc__ws_on_eof(c);
    break;
  }
}

void moqc__tcp_dispatch(moqc_ws_conn *c, const uint8_t *data, size_t len) {
  switch (c->mode) {
  case MOQC__CONN_HTTP:
    moqc__http_on_data(c, data, len);
    break;
  case MOQC__CONN_CLIENT_HANDSHAKE:
    moqc__client_on_data(c, data, len);
    break;
  default:
    moqc__ws_on_data(c, data, len);
    break;
  }
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  moqc_ws_conn *c = s->data;
  (void)buf;
  if (c->closing) {
    return;
  }
  if (c->close_after_write) {
    /* Lingering after our FIN: discard until the peer's EOF (or the drain timer). */
    if (nread < 0) {
      moqc__tcp_close(c);
    }
    return;
  }
  if (nread < 0) {
    conn_eof(c);
    return;
  }
  if (nread == 0) {
    return;
  }
  if (c->tls != NULL) {
    if (moqc__tls_on_raw(c, c->rbuf, (size_t)nread) != 0 && !c->closing) {
      conn_eof(c); /* a failed handshake, a bad record, or the peer's close_notify */
      return;
    }
  } else {
    moqc__tcp_dispatch(c, c->rbuf, (size_t)nread);
  }
  if (!c->closing && c->reading && c->pending_write > MOQC__TCP_MAX_PENDING) {
    /* The peer does not read what we owe it: stop reading until the socket drains. */
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    c->read_paused = true;
  }
}

int moqc__tcp_start_read(moqc_ws_conn *c) {
  if (c->reading || c->closing || c->read_paused || c->close_after_write) {
    return 0;
  }
  if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read) != 0) {
    return MOQC_ERR_IO;
  }
  c->reading = true;
  return 0;
}

static void conn_finalize(moqc_ws_conn *c) {
  moqc_http_server *srv = c->srv;
  moqc__http_on_finalize(c);
  moqc__ws_on_finalize(c);
  if (srv != NULL) {
    if (c->prev != NULL) {
      c->prev->next = c->next;
    } else {
      srv->conns = c->next;
    }
    if (c->next != NULL) {
      c->next->prev = c->prev;
    }
    srv->nconns--;
  }
  moqc__tls_free(c);
  moqc_mem_free(c->mem, c->out);
  moqc_mem_free(c->mem, c->head);
  moqc_mem_free(c->mem, c->offered_buf);
  moqc_mem_free(c->mem, c->request);
  if (c->wake_lock_init) {
    pthread_mutex_destroy(&c->wake_lock);
  }
  moqc_mem_free(c->mem, c);
  if (srv != NULL) {
    moqc__http_server_maybe_free(srv);
  }
}

static void conn_on_closed(uv_handle_t *h) {
  moqc_ws_conn *c = h->data;
  if (--c->handles_open == 0) {
    conn_finalize(c);
  }
}

void moqc__tcp_close(moqc_ws_conn *c) {
  if (c->closing) {
    return;
  }
  c->closing = true;
  pthread_mutex_lock(&c->wake_lock);
  c->async_live = false;
  pthread_mutex_unlock(&c->wake_lock);
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
  uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
  uv_close((uv_handle_t *)&c->timer, conn_on_closed);
  if (c->async_init) {
    uv_close((uv_handle_t *)&c->async, conn_on_closed);
  }
}

static void conn_on_shutdown(uv_shutdown_t *req, int status) {
  moqc_ws_conn *c = req->data;
  if (c->closing) {
    return;
  }
  /* Closing with unread bytes would send a RST that can destroy our last response at the peer
   * (an error answer to an oversized head): read and discard until its EOF, bounded by the drain
   * timer armed in moqc__tcp_close_graceful. */
  if (status != 0 || uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_on_read) != 0) {
    moqc__tcp_close(c);
    return;
  }
  c->reading = true;
}

static void conn_start_shutdown(moqc_ws_conn *c) {
  if (c->shutdown_started || c->closing) {
    return;
  }
  c->shutdown_started = true;
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown) != 0) {
    moqc__tcp_close(c);
  }
}

void moqc__tcp_close_graceful(moqc_ws_conn *c) {
  if (c->closing || c->close_after_write) {
    return;
  }
  moqc__tls_bye(c);
  c->close_after_write = true;
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
  uv_timer_start(&c->timer, conn_on_timer, CONN_DRAIN_MS, 0);
  if (c->pending_reqs == 0) {
    conn_start_shutdown(c);
  }
}

static void conn_on_write(uv_write_t *req, int status) {
  conn_wreq *w = (conn_wreq *)req;
  moqc_ws_conn *c = w->c;
  c->pending_write -= w->len;
  c->pending_reqs--;
  moqc_mem_free(c->mem, w);
  if (c->closing) {
    return;
  }
  if (status < 0) {
    if (c->close_after_write) {
      moqc__tcp_close(c);
    } else {
      conn_eof(c);
    }
    return;
  }
  if (c->close_after_write) {
    if (c->pending_reqs == 0) {
      conn_start_shutdown(c);
    }
    return;
  }
  if (c->read_paused && c->pending_write <= MOQC__TCP_MAX_PENDING / 2) {
    c->read_paused = false;
    (void)moqc__tcp_start_read(c);
  }
  if (c->mode == MOQC__CONN_WS) {
    moqc__ws_on_writable(c);
  } else if (c->mode == MOQC__CONN_HTTP) {
    moqc__http_on_writable(c);
  }
}

int moqc__tcp_write(moqc_ws_conn *c, const void *data, size_t len) {
  if (c->closing || c->shutdown_started) {
    return MOQC_ERR_CLOSED;
  }
  if (c->tls != NULL) {
    return len == 0 ? 0 : moqc__tls_write(c, data, len);
  }
  return moqc__tcp_write_raw(c, data, len);
}

int moqc__tcp_write_raw(moqc_ws_conn *c, const void *data, size_t len) {
  if (c->closing || c->shutdown_started) {
    return MOQC_ERR_CLOSED;
  }
  if (len == 0) {
    return 0;
  }
  conn_wreq *w = moqc_mem_malloc(c->mem, sizeof(*w) + len);
  if (w == NULL) {
    return MOQC_ERR_NOMEM;
  }
  w->c = c;
  w->len = len;
  memcpy(w->data, data, len);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned int)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write) != 0) {
    moqc_mem_free(c->mem, w);
    return MOQC_ERR_IO;
  }
  c->pending_write += len;
  c->pending_reqs++;
  return 0;
}

static void conn_on_timer(uv_timer_t *t) {
  moqc_ws_conn *c = t->data;
  if (c->closing) {
    return;
  }
  if (c->close_after_write) {
    moqc__tcp_close(c);
    return;
  }
  switch (c->mode) {
  case MOQC__CONN_HTTP:
    moqc__http_on_timer(c);
    break;
  case MOQC__CONN_CLIENT_HANDSHAKE:
    moqc__client_on_eof(c);
    break;
  default:
    moqc__ws_on_timer(c);
    break;
  }
}

void moqc__tcp_timer(moqc_ws_conn *c, uint64_t ms) {
  if (c->closing || c->close_after_write) {
    return;
  }
  if (ms == 0) {
    uv_timer_stop(&c->timer);
  } else {
    uv_timer_start(&c->timer, conn_on_timer, ms, 0);
  }
}
