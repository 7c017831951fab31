/*
 * WebTransport server glue: hands "h3" QUIC connections to the session machine
 * (wt_conn.c), either from an endpoint the server owns (moqc_wt_server_listen)
 * or from one the embedder shares with raw QUIC (moqc_wt_server_adopt), and
 * passes each CONNECT to the request callback.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

struct moqc_wt_server {
  const moqc_mem *mem;
  moqc_wt_server_settings st;
  moqc_quic_endpoint *ep;
  moqc_wt_conn *conns;
  size_t nconns;
};

void moqc_wt_server_settings_default(moqc_wt_server_settings *s) {
  memset(s, 0, sizeof(*s));
  s->max_header_size = 16384;
  s->max_early_bytes = 65536;
  s->close_linger = 1000000000ULL;
}

int moqc_wt_server_new(moqc_wt_server **out,
                       const moqc_wt_server_settings *settings,
                       const moqc_mem *mem) {
  if (out == NULL || settings == NULL || settings->on_request == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc_wt_server *srv = moqc_mem_calloc(mem, 1, sizeof(*srv));
  if (srv == NULL) {
    return MOQC_ERR_NOMEM;
  }
  srv->mem = mem;
  srv->st = *settings;
  if (srv->st.max_header_size == 0) {
    srv->st.max_header_size = 16384;
  }
  *out = srv;
  return 0;
}

static void wt_server_on_request(moqc_wt_conn *c) {
  moqc_wt_server *srv = c->owner;
  srv->st.on_request(srv->st.user_data, &c->req);
}

static void wt_server_unlink(moqc_wt_server *srv, moqc_wt_conn *c) {
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    srv->conns = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  c->prev = c->next = NULL;
  srv->nconns--;
}

int moqc_wt_server_adopt(moqc_wt_server *srv, moqc_quic_conn *conn) {
  moqc_wt_conn *c = moqc_mem_calloc(srv->mem, 1, sizeof(*c));
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  int rv = moqc__wt_conn_init(c, true, moqc_quic_conn_transport(conn), srv->mem,
                              srv->st.log);
  if (rv != 0) {
    moqc_mem_free(srv->mem, c);
    return rv;
  }
  c->quic = conn;
  c->owner = srv;
  c->on_request = wt_server_on_request;
  c->max_header_size = srv->st.max_header_size;
  c->max_early_bytes = srv->st.max_early_bytes;
  c->close_linger = srv->st.close_linger;
  rv = moqc_quic_conn_attach(conn, &moqc__wt_lower_ops, c);
  if (rv == 0) {
    rv = moqc__wt_conn_start(c);
    if (rv != 0) {
      /* Attached: the close must go through the connection (it reports on_close
       * later). */
      c->next = srv->conns;
      if (srv->conns != NULL) {
        srv->conns->prev = c;
      }
      srv->conns = c;
      srv->nconns++;
      moqc_quic_conn_set_user_data(conn, c);
      c->lower_closed = true;
      c->app_closed = true;
      c->lower.ops->close(c->lower.user_data, MOQC__H3_INTERNAL_ERROR, "start",
                          5);
      return 0;
    }
  }
  if (rv != 0) {
    moqc__wt_conn_free(c);
    moqc_mem_free(srv->mem, c);
    return rv;
  }
  c->next = srv->conns;
  if (srv->conns != NULL) {
    srv->conns->prev = c;
  }
  srv->conns = c;
  srv->nconns++;
  moqc_quic_conn_set_user_data(conn, c);
  MOQC_LOG(srv->st.log, MOQC_LOG_DEBUG, "wt: HTTP/3 connection adopted");
  return 0;
}

void moqc_wt_server_conn_closed(moqc_quic_conn *conn, void *conn_user_data,
                                int err, uint64_t app_code, bool remote) {
  moqc_wt_conn *c = conn_user_data;
  moqc_wt_close_info info;
  (void)conn;
  if (c == NULL) {
    return;
  }
  moqc_wt_server *srv = c->owner;
  moqc__wt_conn_lower_gone(c, err, app_code, remote, &info);
  wt_server_unlink(srv, c);
  if (c->on_close != NULL) {
    c->on_close(c->close_ud, c, &info);
  }
  moqc__wt_conn_free(c);
  moqc_mem_free(srv->mem, c);
}

size_t moqc_wt_server_conn_count(const moqc_wt_server *srv) {
  return srv->nconns;
}

/* ---- an endpoint of our own ---- */

static int wt_server_on_connection(moqc_quic_conn *conn, const char *alpn,
                                   void *ud, void *cud) {
  (void)cud;
  if (strcmp(alpn, MOQC_WT_ALPN) != 0) {
    return MOQC_ERR_UNKNOWN_ALPN;
  }
  return moqc_wt_server_adopt(ud, conn);
}

static void wt_server_on_close(moqc_quic_conn *conn, int err, uint64_t app_code,
                               bool remote, void *ud, void *cud) {
  (void)ud;
  moqc_wt_server_conn_closed(conn, cud, err, app_code, remote);
}

int moqc_wt_server_listen(moqc_wt_server *srv, struct uv_loop_s *loop,
                          const struct sockaddr *addr,
                          const moqc_quic_settings *quic) {
  moqc_quic_settings qs;
  moqc_quic_callbacks cb;
  if (srv->ep != NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (quic != NULL) {
    qs = *quic;
  } else {
    moqc_quic_settings_default(&qs);
  }
  if (qs.cert == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  qs.alpns = MOQC_WT_ALPN;
  if (qs.max_datagram_frame_size == 0) {
    qs.max_datagram_frame_size = 1200; /* Chromium needs datagrams */
  }
  memset(&cb, 0, sizeof(cb));
  cb.on_connection = wt_server_on_connection;
  cb.on_close = wt_server_on_close;
  return moqc_quic_endpoint_new(&srv->ep, loop, addr, &qs, &cb, srv);
}

uint16_t moqc_wt_server_port(const moqc_wt_server *srv) {
  return srv->ep != NULL ? moqc_quic_endpoint_port(srv->ep) : 0;
}

void moqc_wt_server_del(moqc_wt_server *srv) {
  if (srv == NULL) {
    return;
  }
  while (srv->conns != NULL) {
    moqc_wt_conn *c = srv->conns;
    moqc_wt_close_info info;
    if (!c->lower_closed) {
      c->lower_closed = true;
      c->lower.ops->close(c->lower.user_data, MOQC__H3_NO_ERROR, "shutdown", 8);
    }
    moqc_quic_conn_set_user_data(c->quic, NULL);
    moqc__wt_conn_lower_gone(c, MOQC_ERR_CLOSED, 0, false, &info);
    wt_server_unlink(srv, c);
    if (c->on_close != NULL) {
      c->on_close(c->close_ud, c, &info);
    }
    moqc__wt_conn_free(c);
    moqc_mem_free(srv->mem, c);
  }
  if (srv->ep != NULL) {
    moqc_quic_endpoint_del(srv->ep);
  }
  moqc_mem_free(srv->mem, srv);
}
