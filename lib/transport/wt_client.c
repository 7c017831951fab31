/*
 * WebTransport client: parses https://host:port/path, resolves the host on the
 * loop, opens a client-only QUIC endpoint offering "h3", and runs the session
 * machine (wt_conn.c) on the connection; the extended CONNECT goes out once the
 * server's SETTINGS arrived.
 */
#include "transport/wt_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "core/log.h"

typedef struct wt_client {
  const moqc_mem *mem;
  uv_loop_t *loop;
  moqc_quic_endpoint *ep;
  moqc_wt_conn *conn;
  moqc_wt_connect_cb on_connect;
  moqc_wt_close_cb on_close;
  void *ud;
  const moqc_log *log;
  bool reported, connected;
  uv_getaddrinfo_t gai;
  char host[256];
  char port[8];
  uint8_t *frame; /* the CONNECT HEADERS frame */
  size_t frame_len;
  moqc_quic_settings qs;
  moqc_tls_verify verify;
  uint8_t (*pins)[MOQC_TLS_FINGERPRINT_LEN];
  char *ca_file;
} wt_client;

static const moqc_str wt_default_protocols[] = {
    {"moq-lite-05", 11}, {"moq-lite-04", 11}, {"moq-lite-03", 11}, {"moql", 4}};

const moqc_str *moqc_wt_default_protocols(size_t *n) {
  *n = sizeof(wt_default_protocols) / sizeof(wt_default_protocols[0]);
  return wt_default_protocols;
}

static void wt_client_free(wt_client *cl) {
  moqc_mem_free(cl->mem, cl->frame);
  moqc_mem_free(cl->mem, cl->pins);
  moqc_mem_free(cl->mem, cl->ca_file);
  moqc_mem_free(cl->mem, cl);
}

static void wt_client_report(wt_client *cl, int status, int http_status,
                             moqc_wt_conn *conn) {
  if (cl->reported) {
    return;
  }
  cl->reported = true;
  cl->connected = status == 0;
  cl->on_connect(cl->ud, status, http_status, conn);
}

static void wt_client_on_response(moqc_wt_conn *c, int status) {
  wt_client *cl = c->owner;
  if (status >= 200 && status < 300) {
    c->on_close = cl->on_close;
    c->close_ud = cl->ud;
    wt_client_report(cl, 0, status, c);
  } else {
    wt_client_report(
        cl, status == 0 ? MOQC_ERR_PROTOCOL_VIOLATION : MOQC_ERR_REMOTE, status,
        NULL);
  }
}

static int wt_client_on_connection(moqc_quic_conn *conn, const char *alpn,
                                   void *ud, void *cud) {
  wt_client *cl = ud;
  (void)cud;
  if (strcmp(alpn, MOQC_WT_ALPN) != 0) {
    return MOQC_ERR_UNKNOWN_ALPN;
  }
  moqc_wt_conn *c = moqc_mem_calloc(cl->mem, 1, sizeof(*c));
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  int rv = moqc__wt_conn_init(c, false, moqc_quic_conn_transport(conn), cl->mem,
                              cl->log);
  if (rv != 0) {
    moqc_mem_free(cl->mem, c);
    return rv;
  }
  c->quic = conn;
  c->owner = cl;
  c->on_response = wt_client_on_response;
  c->connect_frame = cl->frame;
  c->connect_frame_len = cl->frame_len;
  cl->frame = NULL;
  rv = moqc_quic_conn_attach(conn, &moqc__wt_lower_ops, c);
  if (rv != 0) {
    moqc__wt_conn_free(c);
    moqc_mem_free(cl->mem, c);
    return rv;
  }
  cl->conn = c;
  rv = moqc__wt_conn_start(c);
  if (rv != 0) {
    c->lower_closed = true;
    c->lower.ops->close(c->lower.user_data, MOQC__H3_INTERNAL_ERROR, "start",
                        5);
  }
  return 0;
}

static void wt_client_on_close(moqc_quic_conn *conn, int err, uint64_t app_code,
                               bool remote, void *ud, void *cud) {
  wt_client *cl = ud;
  (void)conn;
  (void)cud;
  moqc_wt_close_info info;
  memset(&info, 0, sizeof(info));
  info.err = err;
  info.code = app_code;
  info.by_peer = remote;
  if (cl->conn != NULL) {
    moqc__wt_conn_lower_gone(cl->conn, err, app_code, remote, &info);
  }
  if (!cl->reported) {
    int st = info.err != 0 ? info.err : MOQC_ERR_CLOSED;
    wt_client_report(cl, st, info.http_status, NULL);
  } else if (cl->connected && cl->conn != NULL && cl->conn->on_close != NULL) {
    cl->conn->on_close(cl->conn->close_ud, cl->conn, &info);
  }
  if (cl->conn != NULL) {
    moqc__wt_conn_free(cl->conn);
    moqc_mem_free(cl->mem, cl->conn);
    cl->conn = NULL;
  }
  moqc_quic_endpoint_del(cl->ep);
  cl->ep = NULL;
  wt_client_free(cl);
}

static void wt_client_dial(wt_client *cl, const struct sockaddr *sa) {
  moqc_quic_callbacks cb;
  moqc_quic_connect_params cp;
  struct sockaddr_storage local;
  memset(&local, 0, sizeof(local));
  if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&local;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_any;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&local;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_ANY);
  }
  memset(&cb, 0, sizeof(cb));
  cb.on_connection = wt_client_on_connection;
  cb.on_close = wt_client_on_close;
  int rv = moqc_quic_endpoint_new(&cl->ep, cl->loop, (struct sockaddr *)&local,
                                  &cl->qs, &cb, cl);
  if (rv != 0) {
    wt_client_report(cl, MOQC_ERR_IO, 0, NULL);
    wt_client_free(cl);
    return;
  }
  memset(&cp, 0, sizeof(cp));
  cp.server_name = cl->host;
  cp.alpns = MOQC_WT_ALPN;
  cp.verify = cl->verify;
  rv = moqc_quic_connect(cl->ep, sa, &cp, NULL);
  if (rv != 0) {
    wt_client_report(cl, rv == MOQC_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_IO, 0,
                     NULL);
    /* No callback follows a failed connect: delete the endpoint and ourselves
     * now. */
    moqc_quic_endpoint_del(cl->ep);
    wt_client_free(cl);
  }
}

static void wt_client_resolved(uv_getaddrinfo_t *req, int status,
                               struct addrinfo *res) {
  wt_client *cl = req->data;
  if (status != 0 || res == NULL) {
    if (res != NULL) {
      uv_freeaddrinfo(res);
    }
    wt_client_report(cl, MOQC_ERR_IO, 0, NULL);
    wt_client_free(cl);
    return;
  }
  struct sockaddr_storage sa;
  memcpy(&sa, res->ai_addr, res->ai_addrlen);
  uv_freeaddrinfo(res);
  wt_client_dial(cl, (struct sockaddr *)&sa);
}

/* Splits https://host[:port][/path][?query] into host, port, authority and
 * path. */
static int wt_parse_url(const char *url, char *host, size_t hostcap,
                        uint16_t *port, moqc_str *authority, moqc_str *path) {
  static const char scheme[] = "https://";
  if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  const char *a = url + sizeof(scheme) - 1;
  const char *p = a;
  const char *hs, *he;
  if (*p == '[') {
    hs = p + 1;
    he = strchr(hs, ']');
    if (he == NULL) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    p = he + 1;
  } else {
    hs = p;
    while (*p != '\0' && *p != ':' && *p != '/' && *p != '?') {
      p++;
    }
    he = p;
  }
  if (he == hs || (size_t)(he - hs) >= hostcap) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  memcpy(host, hs, (size_t)(he - hs));
  host[he - hs] = '\0';
  *port = 443;
  if (*p == ':') {
    unsigned long v = 0;
    p++;
    if (*p < '0' || *p > '9') {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + (unsigned long)(*p - '0');
      if (v > 65535) {
        return MOQC_ERR_INVALID_ARGUMENT;
      }
      p++;
    }
    if (v == 0) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    *port = (uint16_t)v;
  }
  if (*p != '\0' && *p != '/' && *p != '?') {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  authority->ptr = a;
  authority->len = (size_t)(p - a);
  path->ptr = p;
  path->len = strlen(p);
  return 0;
}

int moqc_wt_connect(struct uv_loop_s *loop,
                    const moqc_wt_connect_params *params,
                    moqc_wt_connect_cb on_connect, void *user_data,
                    const moqc_mem *mem) {
  uint16_t port;
  moqc_str authority, path;
  char pathbuf[4096];
  if (loop == NULL || params == NULL || params->url == NULL ||
      on_connect == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  wt_client *cl = moqc_mem_calloc(mem, 1, sizeof(*cl));
  if (cl == NULL) {
    return MOQC_ERR_NOMEM;
  }
  cl->mem = mem;
  cl->loop = loop;
  cl->on_connect = on_connect;
  cl->on_close = params->on_close;
  cl->ud = user_data;
  cl->log = params->log;
  int rv = wt_parse_url(params->url, cl->host, sizeof(cl->host), &port,
                        &authority, &path);
  if (rv != 0) {
    moqc_mem_free(mem, cl);
    return rv;
  }
  /* A path that starts with the query gets its "/". */
  if (path.len == 0 || path.ptr[0] == '?') {
    if (path.len + 2 > sizeof(pathbuf)) {
      moqc_mem_free(mem, cl);
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    pathbuf[0] = '/';
    memcpy(pathbuf + 1, path.ptr, path.len);
    path.ptr = pathbuf;
    path.len += 1;
  }
  /* The CONNECT frame, sent once the server's SETTINGS arrive. */
  size_t cap = 512 + authority.len + path.len +
               (params->origin ? strlen(params->origin) : 0) +
               params->n_protocols * 72;
  cl->frame = moqc_mem_malloc(mem, cap);
  if (cl->frame == NULL) {
    moqc_mem_free(mem, cl);
    return MOQC_ERR_NOMEM;
  }
  moqc__writer w;
  moqc__writer_init(&w, cl->frame, cap);
  moqc__h3_put_connect_request(
      &w, authority, path, moqc_str_c(params->origin), params->protocols,
      params->protocols != NULL ? params->n_protocols : 0);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    wt_client_free(cl);
    return n == MOQC_ERR_NOBUF ? MOQC_ERR_INVALID_ARGUMENT : (int)n;
  }
  cl->frame_len = (size_t)n;
  /* QUIC settings and a private copy of the verification data. */
  if (params->quic != NULL) {
    cl->qs = *params->quic;
  } else {
    moqc_quic_settings_default(&cl->qs);
  }
  cl->qs.cert = NULL;
  cl->qs.alpns = MOQC_WT_ALPN;
  if (cl->qs.max_datagram_frame_size == 0) {
    cl->qs.max_datagram_frame_size = 1200;
  }
  cl->verify = params->verify;
  if (params->verify.npins > 0) {
    cl->pins = moqc_mem_malloc(mem, params->verify.npins * sizeof(*cl->pins));
    if (cl->pins == NULL) {
      wt_client_free(cl);
      return MOQC_ERR_NOMEM;
    }
    memcpy(cl->pins, params->verify.pins,
           params->verify.npins * sizeof(*cl->pins));
    cl->verify.pins = (const uint8_t(*)[MOQC_TLS_FINGERPRINT_LEN])cl->pins;
  }
  if (params->verify.ca_file != NULL) {
    size_t l = strlen(params->verify.ca_file);
    cl->ca_file = moqc_mem_malloc(mem, l + 1);
    if (cl->ca_file == NULL) {
      wt_client_free(cl);
      return MOQC_ERR_NOMEM;
    }
    memcpy(cl->ca_file, params->verify.ca_file, l + 1);
    cl->verify.ca_file = cl->ca_file;
  }
  /* A literal address is dialled at once; a name is resolved first. */
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof(sa));
  struct sockaddr_in *a4 = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&sa;
  if (inet_pton(AF_INET, cl->host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    wt_client_dial(cl, (struct sockaddr *)&sa);
    return 0;
  }
  if (inet_pton(AF_INET6, cl->host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    wt_client_dial(cl, (struct sockaddr *)&sa);
    return 0;
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  snprintf(cl->port, sizeof(cl->port), "%u", (unsigned)port);
  cl->gai.data = cl;
  if (uv_getaddrinfo(loop, &cl->gai, wt_client_resolved, cl->host, cl->port,
                     &hints) != 0) {
    wt_client_free(cl);
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return 0;
}
