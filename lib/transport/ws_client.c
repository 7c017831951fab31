/*
 * The client side of the WebSocket transport: resolve, connect, send the upgrade request with
 * the offered subprotocols, check the 101 answer, then run the same QMux connection as a server.
 */
#include <stdio.h>
#include <string.h>

#include "transport/ws_int.h"
#include "wire/websocket.h"

/** Time the server has to answer the upgrade, in milliseconds. */
#define CLIENT_HANDSHAKE_MS 10000U

/* What @moq/net 0.3.4 offers for the moq-lite versions (spec/moq-lite-wire.md 1.3). */
static const char *const client_default_protocols[] = {
    "qmux-02.moq-lite-05", "qmux-01.moq-lite-05", "qmux-00.moq-lite-05",
    "qmux-02.moq-lite-04", "qmux-01.moq-lite-04", "qmux-00.moq-lite-04",
    "qmux-02.moq-lite-03", "qmux-01.moq-lite-03", "qmux-00.moq-lite-03",
    "qmux-02.moql",        "qmux-01.moql",        "qmux-00.moql",
    "qmux-02",             "qmux-01",             "qmux-00",
    "webtransport"};

static void client_fail(moqc_ws_conn *c, int err) {
  moqc_ws_connect_cb cb = c->on_connect;
  c->on_connect = NULL;
  if (cb != NULL) {
    cb(c->connect_ud, err, NULL);
  }
  moqc__tcp_close(c);
}

void moqc__client_on_eof(moqc_ws_conn *c) { client_fail(c, MOQC_ERR_IO); }

static bool client_ieq(const char *a, size_t alen, const char *b) {
  return moqc__http1_str_ieq((moqc_str){a, alen}, b);
}

/* Checks the response head [0, len) (CRLF CRLF included). Returns 0 and fills *choice. */
static int client_check(moqc_ws_conn *c, const char *head, size_t len,
                        moqc__qmux_choice *choice) {
  static const char status[] = "HTTP/1.1 101 ";
  if (len < sizeof(status) - 1 || memcmp(head, status, sizeof(status) - 1) != 0) {
    return MOQC_ERR_PROTOCOL_VIOLATION;
  }
  char accept[MOQC__WS_ACCEPT_LEN];
  if (moqc__ws_accept(moqc_str_c(c->key), accept) != 0) {
    return MOQC_ERR_INTERNAL;
  }
  bool upgrade = false, connection = false, accepted = false;
  moqc_str protocol = {"", 0};
  const char *p = memchr(head, '\n', len);
  const char *end = head + len;
  while (p != NULL && p + 1 < end) {
    const char *line = p + 1;
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL) {
      break;
    }
    size_t ll = (size_t)(eol - line);
    if (ll > 0 && line[ll - 1] == '\r') {
      ll--;
    }
    const char *colon = memchr(line, ':', ll);
    if (colon != NULL) {
      size_t nl = (size_t)(colon - line);
      const char *v = colon + 1;
      const char *ve = line + ll;
      while (v < ve && (*v == ' ' || *v == '\t')) {
        v++;
      }
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
        ve--;
      }
      moqc_str val = {v, (size_t)(ve - v)};
      if (client_ieq(line, nl, "upgrade")) {
        upgrade = moqc__http1_str_ieq(val, "websocket");
      } else if (client_ieq(line, nl, "connection")) {
        connection = moqc__http1_list_has(val, "upgrade");
      } else if (client_ieq(line, nl, "sec-websocket-accept")) {
        accepted = val.len == MOQC__WS_ACCEPT_LEN && memcmp(val.ptr, accept, val.len) == 0;
      } else if (client_ieq(line, nl, "sec-websocket-protocol")) {
        protocol = val;
      } else if (client_ieq(line, nl, "sec-websocket-extensions")) {
        return MOQC_ERR_PROTOCOL_VIOLATION; /* We offered none. */
      }
    }
    p = eol;
  }
  if (!upgrade || !connection || !accepted) {
    return MOQC_ERR_PROTOCOL_VIOLATION;
  }
  if (protocol.len > 0) {
    /* Keep our own copy of the token (the head buffer goes away): the choice views it. */
    bool offered = false;
    for (size_t i = 0; i < c->n_offered && !offered; i++) {
      if (c->offered[i].len == protocol.len &&
          memcmp(c->offered[i].ptr, protocol.ptr, protocol.len) == 0) {
        protocol = c->offered[i];
        offered = true;
      }
    }
    if (!offered) {
      return MOQC_ERR_PROTOCOL_VIOLATION;
    }
  }
  if (moqc__qmux_parse_protocol(protocol, choice) != 0) {
    return MOQC_ERR_PROTOCOL_VIOLATION;
  }
  return 0;
}

void moqc__client_on_data(moqc_ws_conn *c, const uint8_t *data, size_t len) {
  size_t room = MOQC__HTTP1_MAX_HEAD - c->head_len;
  size_t n = len < room ? len : room;
  memcpy(c->head + c->head_len, data, n);
  c->head_len += n;
  const uint8_t *e = NULL;
  for (size_t i = 3; i < c->head_len; i++) {
    if (c->head[i - 3] == '\r' && c->head[i - 2] == '\n' && c->head[i - 1] == '\r' &&
        c->head[i] == '\n') {
      e = c->head + i + 1;
      break;
    }
  }
  if (e == NULL) {
    if (c->head_len == MOQC__HTTP1_MAX_HEAD) {
      client_fail(c, MOQC_ERR_PROTOCOL_VIOLATION);
    }
    return;
  }
  size_t hl = (size_t)(e - c->head);
  moqc__qmux_choice choice;
  int rv = client_check(c, (const char *)c->head, hl, &choice);
  if (rv != 0) {
    client_fail(c, rv);
    return;
  }
  /* Whatever followed the head (if n < len, the rest of this read) is WebSocket data. */
  size_t rest_len = c->head_len - hl + (len - n);
  uint8_t *rest = NULL;
  if (rest_len > 0) {
    rest = moqc_mem_malloc(c->mem, rest_len);
    if (rest == NULL) {
      client_fail(c, MOQC_ERR_NOMEM);
      return;
    }
    memcpy(rest, c->head + hl, c->head_len - hl);
    memcpy(rest + (c->head_len - hl), data + n, len - n);
  }
  c->head_len = 0;
  moqc_mem_free(c->mem, c->head);
  c->head = NULL;
  moqc__tcp_timer(c, 0);
  rv = moqc__ws_start(c, &choice, false, NULL, 0);
  moqc_ws_connect_cb cb = c->on_connect;
  c->on_connect = NULL;
  if (rv != 0) {
    moqc_mem_free(c->mem, rest);
    if (cb != NULL) {
      cb(c->connect_ud, rv, NULL);
    }
    return;
  }
  if (cb != NULL) {
    cb(c->connect_ud, 0, c);
  }
  if (rest != NULL) {
    if (!c->closing) {
      moqc__ws_on_data(c, rest, rest_len);
    }
    moqc_mem_free(c->mem, rest);
  }
}

static void client_on_connect(uv_connect_t *req, int status) {
  moqc_ws_conn *c = req->data;
  if (c->closing) {
    return;
  }
  if (status < 0) {
    client_fail(c, MOQC_ERR_IO);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  /* Over TLS the request waits inside the session until the handshake is done. */
  if (moqc__tcp_write(c, c->request, c->request_len) != 0 ||
      (c->tls != NULL && moqc__tls_kick(c) != 0) || moqc__tcp_start_read(c) != 0) {
    client_fail(c, MOQC_ERR_IO);
    return;
  }
  moqc__tcp_timer(c, CLIENT_HANDSHAKE_MS);
}

static void client_connect_addr(moqc_ws_conn *c, const struct sockaddr *sa) {
  c->connect_req.data = c;
  if (uv_tcp_connect(&c->connect_req, &c->tcp, sa, client_on_connect) != 0) {
    client_fail(c, MOQC_ERR_IO);
  }
}

static void client_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  moqc_ws_conn *c = req->data;
  if (status < 0 || res == NULL) {
    if (res != NULL) {
      uv_freeaddrinfo(res);
    }
    client_fail(c, MOQC_ERR_IO);
    return;
  }
  /* Prefer IPv4 ("localhost" often lists ::1 first while servers bind 127.0.0.1); a relay on
   * "::" takes both. */
  const struct addrinfo *pick = res;
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  client_connect_addr(c, pick->ai_addr);
  uv_freeaddrinfo(res);
}

/* Splits ws://host[:port][/path] into its parts. Returns 0 or MOQC_ERR_INVALID_ARGUMENT. */
static int client_parse_url(const char *url, char *host, size_t host_cap, int *port,
                            const char **path, bool *tls) {
  static const char scheme[] = "ws://";
  static const char scheme_tls[] = "wss://";
  const char *h;
  if (strncmp(url, scheme, sizeof(scheme) - 1) == 0) {
    h = url + sizeof(scheme) - 1;
    *tls = false;
  } else if (strncmp(url, scheme_tls, sizeof(scheme_tls) - 1) == 0) {
    h = url + sizeof(scheme_tls) - 1;
    *tls = true;
  } else {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  const char *he;
  const char *after;
  if (*h == '[') {
    he = strchr(h, ']');
    if (he == NULL) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    h++;
    after = he + 1;
  } else {
    he = h + strcspn(h, ":/?");
    after = he;
  }
  size_t hl = (size_t)(he - h);
  if (hl == 0 || hl >= host_cap) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  memcpy(host, h, hl);
  host[hl] = 0;
  *port = *tls ? 443 : 80;
  if (*after == ':') {
    char *pe;
    long v = strtol(after + 1, &pe, 10);
    if (pe == after + 1 || v <= 0 || v > 65535) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    *port = (int)v;
    after = pe;
  }
  if (*after != '/' && *after != '?' && *after != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  *path = after;
  return 0;
}

int moqc_ws_connect(uv_loop_t *loop, const char *url, const moqc_str *protocols, size_t n,
                    const moqc_ws_settings *settings, moqc_ws_connect_cb on_connect,
                    void *user_data, const moqc_mem *mem) {
  char host[256];
  int port;
  const char *path;
  bool tls = false;
  if (loop == NULL || url == NULL || on_connect == NULL ||
      client_parse_url(url, host, sizeof(host), &port, &path, &tls) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc_str defaults[sizeof(client_default_protocols) / sizeof(client_default_protocols[0])];
  if (protocols == NULL || n == 0) {
    n = sizeof(defaults) / sizeof(defaults[0]);
    for (size_t i = 0; i < n; i++) {
      defaults[i] = moqc_str_c(client_default_protocols[i]);
    }
    protocols = defaults;
  }
  moqc_ws_conn *tmp = NULL;
  if (n > sizeof(tmp->offered) / sizeof(tmp->offered[0])) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < protocols[i].len; k++) {
      char ch = protocols[i].ptr[k];
      if (ch <= ' ' || ch >= 127 || ch == ',') {
        return MOQC_ERR_INVALID_ARGUMENT;
      }
    }
    total += protocols[i].len + 2;
  }
  moqc_ws_conn *c = moqc__tcp_new(loop, NULL, mem);
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->mode = MOQC__CONN_CLIENT_HANDSHAKE;
  if (settings != NULL) {
    c->ws = *settings;
  } else {
    moqc_ws_settings_default(&c->ws);
  }
  c->on_connect = on_connect;
  c->connect_ud = user_data;
  c->use_tls = tls;
  memcpy(c->host, host, strlen(host) + 1);
  if (tls) {
    int rv = moqc__tls_client_start(c, &c->ws.verify, host);
    if (rv != 0) {
      c->on_connect = NULL;
      moqc__tcp_close(c);
      return rv == MOQC_ERR_NOMEM ? rv : MOQC_ERR_INVALID_ARGUMENT;
    }
  }
  c->offered_buf = moqc_mem_malloc(mem, total + 1);
  c->head = moqc_mem_malloc(mem, MOQC__HTTP1_MAX_HEAD);
  size_t cap = strlen(path) + strlen(host) + total + 512;
  c->request = moqc_mem_malloc(mem, cap);
  if (c->offered_buf == NULL || c->request == NULL || c->head == NULL) {
    c->on_connect = NULL;
    moqc__tcp_close(c);
    return MOQC_ERR_NOMEM;
  }
  /* The offered list, comma-separated (views into offered_buf). */
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0) {
      c->offered_buf[off++] = ',';
      c->offered_buf[off++] = ' ';
    }
    memcpy(c->offered_buf + off, protocols[i].ptr, protocols[i].len);
    c->offered[i].ptr = c->offered_buf + off;
    c->offered[i].len = protocols[i].len;
    off += protocols[i].len;
  }
  c->offered_buf[off] = 0;
  c->n_offered = n;
  uint8_t nonce[16];
  uv_random(NULL, NULL, nonce, sizeof(nonce), 0, NULL);
  moqc__base64_encode(nonce, sizeof(nonce), c->key);
  c->key[MOQC__WS_KEY_LEN] = 0;
  bool v6 = strchr(host, ':') != NULL;
  int len = snprintf(c->request, cap,
                     "GET %s%s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
                     *path == '/' ? "" : "/", path, v6 ? "[" : "", host, v6 ? "]" : "", port,
                     c->key, c->offered_buf);
  if (len < 0 || (size_t)len >= cap) {
    c->on_connect = NULL;
    moqc__tcp_close(c);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  c->request_len = (size_t)len;
  struct sockaddr_storage ss;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) == 0) {
    client_connect_addr(c, (const struct sockaddr *)&ss);
    return 0;
  }
  char ports[8];
  snprintf(ports, sizeof(ports), "%d", port);
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  c->gai_req.data = c;
  if (uv_getaddrinfo(loop, &c->gai_req, client_on_resolved, host, ports, &hints) != 0) {
    c->on_connect = NULL;
    moqc__tcp_close(c);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return 0;
}
