/*
 * The HTTP/1.1 listener: accepting connections (with a cap), reading request heads with the
 * strict parser under a head timeout, handing requests to the route callback, and writing
 * responses (whole or streamed). WebSocket upgrades continue in ws_conn.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "transport/ws_int.h"

/** The most caller headers a response may carry. */
#define HTTP_MAX_HEADERS 32U

void moqc_http_server_settings_default(moqc_http_server_settings *s) {
  memset(s, 0, sizeof(*s));
  s->max_connections = 1024;
  s->head_timeout_ms = 10000;
  s->keepalive_timeout_ms = 30000;
  s->cors_origin = "*";
  moqc_ws_settings_default(&s->ws);
}

int moqc_http_server_new(moqc_http_server **out, uv_loop_t *loop,
                         const moqc_http_server_settings *settings, const moqc_mem *mem) {
  if (settings == NULL || settings->route == NULL || loop == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc_http_server *srv = moqc_mem_calloc(mem, 1, sizeof(*srv));
  if (srv == NULL) {
    return MOQC_ERR_NOMEM;
  }
  srv->loop = loop;
  srv->mem = mem;
  srv->st = *settings;
  if (srv->st.ws.log == NULL) {
    srv->st.ws.log = settings->log;
  }
  srv->port = -1;
  uv_tcp_init(loop, &srv->listener);
  srv->listener.data = srv;
  *out = srv;
  return 0;
}

static void http_on_connection(uv_stream_t *l, int status);

/* Binds a socket of our own with SO_REUSEPORT (libuv's bind has no such flag here) and hands it
 * to the listener. Returns 0 or a libuv error code. */
static int http_bind_reuse_port(moqc_http_server *srv, const struct sockaddr *addr) {
  socklen_t alen = addr->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                               : (socklen_t)sizeof(struct sockaddr_in);
  int one = 1, off = 0, rv;
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  if (fd < 0) {
    return uv_translate_sys_error(errno);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      (addr->sa_family == AF_INET6 &&
       setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0) ||
      bind(fd, addr, alen) != 0) {
    rv = uv_translate_sys_error(errno);
    close(fd);
    return rv;
  }
  rv = uv_tcp_open(&srv->listener, fd);
  if (rv != 0) {
    close(fd);
  }
  return rv;
}

int moqc_http_server_listen(moqc_http_server *srv, const char *host, int port) {
  struct sockaddr_storage ss;
  if (port < 0 || port > 65535 || host == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  int rv = srv->st.reuse_port ? http_bind_reuse_port(srv, (const struct sockaddr *)&ss)
                              : uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
  if (rv == 0) {
    rv = uv_listen((uv_stream_t *)&srv->listener, 256, http_on_connection);
  }
  if (rv != 0) {
    MOQC_LOG(srv->st.log, MOQC_LOG_ERROR, "http: listen on %s:%d: %s", host, port,
             uv_strerror(rv));
    return MOQC_ERR_IO;
  }
  srv->listening = true;
  struct sockaddr_storage bound;
  int len = (int)sizeof(bound);
  if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len) == 0) {
    srv->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  }
  return 0;
}

int moqc_http_server_port(const moqc_http_server *srv) { return srv->port; }

size_t moqc_http_server_connections(const moqc_http_server *srv) { return srv->nconns; }

void moqc__http_server_maybe_free(moqc_http_server *srv) {
  if (!srv->closing || srv->nconns > 0 || srv->pending_closes > 0) {
    return;
  }
  void (*done)(void *) = srv->done;
  void *ud = srv->done_ud;
  moqc_mem_free(srv->mem, srv);
  if (done != NULL) {
    done(ud);
  }
}

static void http_on_listener_closed(uv_handle_t *h) {
  moqc_http_server *srv = h->data;
  srv->pending_closes--;
  moqc__http_server_maybe_free(srv);
}

void moqc_http_server_del(moqc_http_server *srv, void (*done)(void *), void *ud) {
  if (srv == NULL) {
    return;
  }
  srv->closing = true;
  srv->done = done;
  srv->done_ud = ud;
  srv->pending_closes++;
  uv_close((uv_handle_t *)&srv->listener, http_on_listener_closed);
  moqc_ws_conn *c = srv->conns;
  while (c != NULL) {
    moqc_ws_conn *next = c->next;
    if (c->mode == MOQC__CONN_WS) {
      moqc_ws_conn_close(c, 0, "server shutting down");
    } else {
      moqc__tcp_close(c);
    }
    c = next;
  }
}

static void http_drop_connection(uv_handle_t *h) {
  moqc_http_server *srv = h->data;
  moqc_mem_free(srv->mem, h);
  srv->pending_closes--;
  moqc__http_server_maybe_free(srv);
}

static void http_on_connection(uv_stream_t *l, int status) {
  moqc_http_server *srv = l->data;
  if (status < 0 || srv->closing) {
    return;
  }
  if (srv->nconns >= srv->st.max_connections) {
    /* Over the cap: accept and close at once, so the backlog does not fill. */
    uv_tcp_t *t = moqc_mem_malloc(srv->mem, sizeof(*t));
    if (t != NULL) {
      uv_tcp_init(srv->loop, t);
      t->data = srv;
      srv->pending_closes++;
      if (uv_accept(l, (uv_stream_t *)t) == 0) {
        MOQC_LOG(srv->st.log, MOQC_LOG_WARN, "http: connection cap %zu reached",
                 srv->st.max_connections);
      }
      uv_close((uv_handle_t *)t, http_drop_connection);
    }
    return;
  }
  moqc_ws_conn *c = moqc__tcp_new(srv->loop, srv, srv->mem);
  if (c == NULL) {
    return;
  }
  c->mode = MOQC__CONN_HTTP;
  c->ws = srv->st.ws;
  c->head = moqc_mem_malloc(srv->mem, MOQC__HTTP1_MAX_HEAD);
  c->req.conn = c;
  moqc__http1_init(&c->req.parsed);
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || c->head == NULL ||
      (srv->st.tls != NULL && moqc__tls_server_start(c, srv->st.tls) != 0) ||
      moqc__tcp_start_read(c) != 0) {
    moqc__tcp_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  moqc__tcp_timer(c, srv->st.head_timeout_ms);
}

/* ---- Requests ----------------------------------------------------------------------------- */

/* Writes a bodiless error response and closes after it. */
static void http_error(moqc_ws_conn *c, int status) {
  uint8_t buf[512];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__http1_response_simple(&w, status, NULL, 0, c->srv->st.cors_origin, true);
  moqc_ssize n = moqc__writer_result(&w);
  if (n > 0) {
    (void)moqc__tcp_write(c, buf, (size_t)n);
  }
  moqc__tcp_close_graceful(c);
}

static void http_try_parse(moqc_ws_conn *c) {
  if (c->parsing) {
    return;
  }
  c->parsing = true;
  while (!c->closing && !c->close_after_write && c->mode == MOQC__CONN_HTTP && !c->req.active &&
         c->head_len > 0 && c->pending_write <= MOQC__TCP_MAX_PENDING) {
    moqc__http1_request *r = &c->req.parsed;
    int rv = moqc__http1_parse(r, c->head, c->head_len);
    if (rv == MOQC_ERR_INCOMPLETE) {
      if (c->head_len == MOQC__HTTP1_MAX_HEAD) {
        http_error(c, 431);
      }
      break;
    }
    if (rv != 0) {
      MOQC_LOG(c->srv->st.log, MOQC_LOG_DEBUG, "http: bad request (%d): %s", r->status,
               r->error != NULL ? r->error : "?");
      http_error(c, r->status != 0 ? r->status : 400);
      break;
    }
    moqc__tcp_timer(c, 0);
    if (r->chunked || r->content_length > 0) {
      http_error(c, 413); /* No route takes a request body. */
      break;
    }
    c->req.active = true;
    c->req.streaming = false;
    c->req.on_abort = NULL;
    c->req.abort_ud = NULL;
    /* HTTP/1.0 connections close after one response (no keep-alive negotiation). */
    moqc_str conn_hdr;
    bool close = r->version_minor == 0;
    if (moqc_http_request_header(&c->req, "connection", &conn_hdr) &&
        moqc__http1_list_has(conn_hdr, "close")) {
      close = true;
    }
    c->req.close_after = close;
    c->srv->st.route(c->srv->st.user_data, &c->req);
    /* The route may have answered already; the loop parses a pipelined next request. */
  }
  c->parsing = false;
}

void moqc__http_on_data(moqc_ws_conn *c, const uint8_t *data, size_t len) {
  size_t room = MOQC__HTTP1_MAX_HEAD - c->head_len;
  size_t n = len < room ? len : room;
  memcpy(c->head + c->head_len, data, n);
  c->head_len += n;
  if (c->keepalive_idle && n > 0 && !c->req.active) {
    /* The next request started: its head must arrive within the head timeout, not the (longer)
     * keep-alive one, or a slow client could hold the connection that long per request. */
    c->keepalive_idle = false;
    moqc__tcp_timer(c, c->srv->st.head_timeout_ms);
  }
  if (c->req.active) {
    if (n < len) {
      /* More than a whole head of pipelined bytes while a response is pending: the excess is
       * gone, so the connection ends after this response. */
      c->req.close_after = true;
    }
    if (c->head_len == MOQC__HTTP1_MAX_HEAD && c->reading) {
      /* A request is being answered and the client keeps sending: wait. */
      uv_read_stop((uv_stream_t *)&c->tcp);
      c->reading = false;
    }
    return;
  }
  http_try_parse(c);
  if (n < len && !c->closing && !c->close_after_write && c->mode == MOQC__CONN_HTTP &&
      !c->req.active) {
    http_error(c, 431);
  }
}

void moqc__http_on_timer(moqc_ws_conn *c) {
  if (c->req.active) {
    return;
  }
  /* The head did not arrive in time (a slow client, or an idle keep-alive connection). */
  MOQC_LOG(c->srv->st.log, MOQC_LOG_DEBUG, "http: head timeout, %zu bytes read", c->head_len);
  moqc__tcp_close(c);
}

void moqc__http_on_eof(moqc_ws_conn *c) { moqc__tcp_close(c); }

void moqc__http_on_writable(moqc_ws_conn *c) {
  if (!c->req.active && c->head_len > 0) {
    http_try_parse(c); /* Pipelined requests held back while responses were queued. */
  }
}

void moqc__http_on_finalize(moqc_ws_conn *c) {
  if (c->req.active && c->req.on_abort != NULL) {
    void (*cb)(void *) = c->req.on_abort;
    c->req.on_abort = NULL;
    c->req.active = false;
    cb(c->req.abort_ud);
  }
}

/* Ends the current request: drops its head from the buffer and goes on with the connection. */
void moqc__http_end(moqc_http_request *req) {
  moqc_ws_conn *c = req->conn;
  req->active = false;
  req->streaming = false;
  req->on_abort = NULL;
  size_t used = req->parsed.head_len;
  if (used > c->head_len) {
    used = c->head_len;
  }
  memmove(c->head, c->head + used, c->head_len - used);
  c->head_len -= used;
  moqc__http1_init(&req->parsed);
  if (req->close_after) {
    moqc__tcp_close_graceful(c);
    return;
  }
  if (c->head_len > 0) {
    /* Part of the next request is already here. */
    moqc__tcp_timer(c, c->srv->st.head_timeout_ms);
  } else {
    moqc__tcp_timer(c, c->srv->st.keepalive_timeout_ms);
    c->keepalive_idle = true;
  }
  (void)moqc__tcp_start_read(c);
  http_try_parse(c);
}

moqc_str moqc_http_request_method(const moqc_http_request *req) { return req->parsed.method; }
moqc_str moqc_http_request_path(const moqc_http_request *req) { return req->parsed.path; }
moqc_str moqc_http_request_query(const moqc_http_request *req) { return req->parsed.query; }

bool moqc_http_request_header(const moqc_http_request *req, const char *name, moqc_str *value) {
  const moqc__http1_header *h = moqc__http1_header_get(&req->parsed, name);
  if (h == NULL) {
    return false;
  }
  if (value != NULL) {
    *value = h->value;
  }
  return true;
}

bool moqc_http_request_is_upgrade(const moqc_http_request *req) {
  moqc_str v;
  return moqc_http_request_header(req, "upgrade", &v) && moqc__http1_list_has(v, "websocket");
}

void moqc_http_request_on_abort(moqc_http_request *req, void (*cb)(void *ud), void *ud) {
  req->on_abort = cb;
  req->abort_ud = ud;
}

/* Writes the response head: caller headers, then the framing and CORS headers we own. */
static int http_head(moqc_http_request *req, int status, const moqc_http_header *headers,
                     size_t n, const char *length, bool chunked) {
  moqc_ws_conn *c = req->conn;
  moqc__http1_header h[HTTP_MAX_HEADERS + 4];
  size_t k = 0;
  if (n > HTTP_MAX_HEADERS) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < n; i++) {
    if (headers[i].name == NULL || headers[i].value == NULL) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    h[k].name = moqc_str_c(headers[i].name);
    h[k].value = moqc_str_c(headers[i].value);
    k++;
  }
  if (length != NULL) {
    h[k].name = moqc_str_c("Content-Length");
    h[k++].value = moqc_str_c(length);
  }
  if (chunked) {
    h[k].name = moqc_str_c("Transfer-Encoding");
    h[k++].value = moqc_str_c("chunked");
  }
  if (c->srv->st.cors_origin != NULL) {
    h[k].name = moqc_str_c("Access-Control-Allow-Origin");
    h[k++].value = moqc_str_c(c->srv->st.cors_origin);
  }
  if (req->close_after) {
    h[k].name = moqc_str_c("Connection");
    h[k++].value = moqc_str_c("close");
  }
  uint8_t buf[8192];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__http1_response_head(&w, status, h, k);
  moqc_ssize len = moqc__writer_result(&w);
  if (len < 0) {
    return len == MOQC_ERR_NOBUF ? MOQC_ERR_INVALID_ARGUMENT : (int)len;
  }
  return moqc__tcp_write(c, buf, (size_t)len);
}

static bool http_is_head(const moqc_http_request *req) {
  return moqc__http1_str_ieq(req->parsed.method, "HEAD");
}

int moqc_http_respond(moqc_http_request *req, int status, const moqc_http_header *headers,
                      size_t n, const void *body, size_t len) {
  if (!req->active || req->streaming) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  char num[24];
  snprintf(num, sizeof(num), "%zu", len);
  int rv = http_head(req, status, headers, n, num, false);
  if (rv == MOQC_ERR_INVALID_ARGUMENT) {
    req->close_after = true;
    (void)http_head(req, 500, NULL, 0, "0", false);
    moqc__http_end(req);
    return rv;
  }
  if (rv == 0 && len > 0 && !http_is_head(req)) {
    rv = moqc__tcp_write(req->conn, body, len);
  }
  if (rv != 0) {
    req->close_after = true;
  }
  moqc__http_end(req);
  return rv;
}

int moqc_http_respond_start(moqc_http_request *req, int status, const moqc_http_header *headers,
                            size_t n) {
  if (!req->active || req->streaming) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  req->chunked = req->parsed.version_minor >= 1;
  if (!req->chunked) {
    req->close_after = true; /* HTTP/1.0: the body ends with the connection. */
  }
  int rv = http_head(req, status, headers, n, NULL, req->chunked);
  if (rv != 0) {
    req->close_after = true;
    if (rv == MOQC_ERR_INVALID_ARGUMENT) {
      (void)http_head(req, 500, NULL, 0, "0", false);
    }
    moqc__http_end(req);
    return rv;
  }
  req->streaming = true;
  return 0;
}

int moqc_http_respond_write(moqc_http_request *req, const void *data, size_t len) {
  if (!req->active || !req->streaming) {
    return MOQC_ERR_CLOSED;
  }
  if (len == 0 || http_is_head(req)) {
    return 0;
  }
  if (!req->chunked) {
    return moqc__tcp_write(req->conn, data, len);
  }
  char hdr[24];
  int hl = snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
  int rv = moqc__tcp_write(req->conn, hdr, (size_t)hl);
  if (rv == 0) {
    rv = moqc__tcp_write(req->conn, data, len);
  }
  if (rv == 0) {
    rv = moqc__tcp_write(req->conn, "\r\n", 2);
  }
  return rv;
}

void moqc_http_respond_end(moqc_http_request *req) {
  if (!req->active || !req->streaming) {
    return;
  }
  if (req->chunked && !http_is_head(req)) {
    (void)moqc__tcp_write(req->conn, "0\r\n\r\n", 5);
  }
  moqc__http_end(req);
}
