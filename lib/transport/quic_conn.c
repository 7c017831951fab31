/*
 * QUIC connections: creation (server accept, client connect), their ngtcp2
 * callbacks and settings, and the accessors. Input, output, timers and the
 * close paths are in quic_conn_life.c.
 */
#include "transport/quic_internal.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "core/log.h"

static ngtcp2_conn *conn_get_ngtcp2(ngtcp2_crypto_conn_ref *ref) {
  return ((moqc_quic_conn *)ref->user_data)->conn;
}

static void conn_rand_cb(uint8_t *dest, size_t destlen,
                         const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  (void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, destlen);
}

static int conn_new_cid(moqc_quic_conn *c, ngtcp2_cid *cid, uint8_t *token) {
  moqc_quic_endpoint *ep = c->ep;
  for (int attempt = 0; attempt < 4; attempt++) {
    if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, MOQC__QUIC_SCIDLEN) < 0) {
      return MOQC_ERR_INTERNAL;
    }
    moqc__ep_steer_cid(ep, cid->data);
    cid->datalen = MOQC__QUIC_SCIDLEN;
    int rv = moqc__cid_table_add(&ep->cids, cid, c, ep->mem);
    if (rv == MOQC_ERR_DUPLICATE) {
      continue;
    }
    if (rv != 0) {
      return rv;
    }
    if (token != NULL &&
        ngtcp2_crypto_generate_stateless_reset_token(
            token, ep->reset_secret, sizeof(ep->reset_secret), cid) != 0) {
      return MOQC_ERR_INTERNAL;
    }
    return 0;
  }
  return MOQC_ERR_INTERNAL;
}

static int conn_get_new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid,
                               uint8_t *token, size_t cidlen, void *ud) {
  (void)conn;
  (void)cidlen; /* We always issue MOQC__QUIC_SCIDLEN bytes, the length ngtcp2
                   asks for. */
  return conn_new_cid(ud, cid, token) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int conn_remove_cid_cb(ngtcp2_conn *conn, const ngtcp2_cid *cid,
                              void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  moqc__cid_table_remove(&c->ep->cids, cid, c, c->ep->mem);
  return 0;
}

/* The ALPN the handshake chose, as the entry of the list this side offered
 * (client) or accepts (server): those outlive the connection, so it keeps a
 * pointer instead of a copy. NULL when none was chosen. */
static const char *conn_selected_alpn(const moqc_quic_conn *c) {
  char name[MOQC__ALPN_MAXLEN + 1];
  const moqc__alpn_list *list =
      !c->server && c->client_alpns.n > 0 ? &c->client_alpns : &c->ep->alpns;
  if (!moqc__tls_selected_alpn(c->tls, name, sizeof(name))) {
    return NULL;
  }
  for (size_t i = 0; i < list->n; i++) {
    if (strcmp((const char *)list->items[i].data, name) == 0) {
      return (const char *)list->items[i].data;
    }
  }
  return NULL;
}

static int conn_handshake_completed_cb(ngtcp2_conn *conn, void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  c->handshake_done = true;
  c->alpn = conn_selected_alpn(c);
  c->reported = true;
  MOQC_LOG(c->ep->log, MOQC_LOG_DEBUG, "quic: %s handshake completed, alpn %s",
           c->server ? "server" : "client", moqc_quic_conn_alpn(c));
  if (c->ep->cb.on_connection != NULL) {
    int rv = c->ep->cb.on_connection(c, moqc_quic_conn_alpn(c),
                                     c->ep->user_data, c->user_data);
    if (rv < 0 && !c->close_requested) {
      c->close_requested = true;
      c->close_app_code = moqc_err_to_lite_code(rv);
    }
  }
  moqc__ep_mark_dirty(c->ep, c);
  return 0;
}

static int conn_recv_datagram_cb(ngtcp2_conn *conn, uint32_t flags,
                                 const uint8_t *data, size_t datalen,
                                 void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  (void)flags;
  if (c->app_ops != NULL) {
    if (!c->close_requested) {
      moqc__app_datagram(c, data, datalen);
    }
  } else if (c->ep->cb.on_datagram != NULL && !c->close_requested) {
    c->ep->cb.on_datagram(c, data, datalen, c->ep->user_data, c->user_data);
  }
  return 0;
}

/* TLS alert unexpected_message (RFC 8446 6). */
#define CONN_ALERT_UNEXPECTED_MESSAGE 10

/*
 * CRYPTO data goes to GnuTLS while the connection has a TLS session. A server
 * releases its session once the handshake has completed (conn_release_tls):
 * after that a client has nothing legitimate to send in CRYPTO frames (QUIC
 * forbids KeyUpdate messages, RFC 9001 6; we request no client certificate and
 * clients send no tickets), so whatever arrives closes the connection with
 * unexpected_message (CRYPTO_ERROR 0x10a), as RFC 9001 6 asks for a KeyUpdate.
 */
static int conn_recv_crypto_data_cb(ngtcp2_conn *conn,
                                    ngtcp2_crypto_level level, uint64_t offset,
                                    const uint8_t *data, size_t datalen,
                                    void *ud) {
  moqc_quic_conn *c = ud;
  if (c->tls == NULL) {
    ngtcp2_conn_set_tls_alert(conn, CONN_ALERT_UNEXPECTED_MESSAGE);
    return NGTCP2_ERR_CRYPTO;
  }
  return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, datalen,
                                           ud);
}

void moqc__conn_release_tls(moqc_quic_conn *c) {
  if (!c->server || c->tls == NULL || c->conn == NULL ||
      !ngtcp2_conn_get_handshake_completed(c->conn)) {
    return;
  }
  /* Keep what the accessors report from the session: the ALPN is already
   * copied; the SNI is copied here (a failed copy only loses the name). */
  char name[256];
  if (moqc_quic_conn_server_name(c, name, sizeof(name))) {
    size_t len = strlen(name);
    c->sni = moqc_mem_malloc(c->ep->mem, len + 1);
    if (c->sni != NULL) {
      memcpy(c->sni, name, len + 1);
    }
  }
  ngtcp2_conn_set_tls_native_handle(c->conn, NULL);
  gnutls_deinit(c->tls);
  c->tls = NULL;
}

static void conn_fill_callbacks(ngtcp2_callbacks *cb, bool server) {
  memset(cb, 0, sizeof(*cb));
  if (server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = conn_recv_crypto_data_cb;
  cb->encrypt = moqc__quic_encrypt_cb;
  cb->decrypt = moqc__quic_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = moqc__quic_update_key_cb;
  cb->delete_crypto_aead_ctx = moqc__quic_delete_aead_ctx_cb;
  cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb->rand = conn_rand_cb;
  cb->get_new_connection_id = conn_get_new_cid_cb;
  cb->remove_connection_id = conn_remove_cid_cb;
  cb->handshake_completed = conn_handshake_completed_cb;
  cb->recv_datagram = conn_recv_datagram_cb;
  moqc__stream_fill_callbacks(cb);
}

static void conn_fill_settings(const moqc_quic_endpoint *ep, ngtcp2_settings *s,
                               ngtcp2_transport_params *tp, moqc_tstamp now) {
  const moqc_quic_settings *q = &ep->settings;
  ngtcp2_settings_default(s);
  s->initial_ts = now;
  s->cc_algo = NGTCP2_CC_ALGO_CUBIC;
  if (q->initial_rtt > 0) {
    s->initial_rtt = q->initial_rtt;
  }
  s->max_window = q->max_window;
  s->max_stream_window = q->max_stream_window;
  if (q->handshake_timeout > 0) {
    s->handshake_timeout = q->handshake_timeout;
  }
  ngtcp2_transport_params_default(tp);
  tp->initial_max_stream_data_bidi_local = q->max_stream_data;
  tp->initial_max_stream_data_bidi_remote = q->max_stream_data;
  tp->initial_max_stream_data_uni = q->max_stream_data;
  tp->initial_max_data = q->max_data;
  tp->initial_max_streams_bidi = q->max_streams_bidi;
  tp->initial_max_streams_uni = q->max_streams_uni;
  tp->max_idle_timeout = q->idle_timeout;
  tp->max_udp_payload_size = MOQC__QUIC_MAX_UDP;
  tp->max_datagram_frame_size = q->max_datagram_frame_size;
}

static moqc_quic_conn *conn_alloc(moqc_quic_endpoint *ep, bool server,
                                  const struct sockaddr *remote,
                                  socklen_t remotelen) {
  moqc_quic_conn *c = moqc_mem_calloc(ep->mem, 1, sizeof(*c));
  if (c == NULL) {
    return NULL;
  }
  c->ep = ep;
  c->server = server;
  moqc__conn_mem_init(&c->ngmem, ep->mem);
  c->tls_peer.conn_ref.get_conn = conn_get_ngtcp2;
  c->tls_peer.conn_ref.user_data = c;
  memcpy(&c->remote, remote, (size_t)remotelen);
  c->remotelen = remotelen;
  uv_timer_init(ep->loop, &c->timer);
  c->timer.data = c;
  c->timer_deadline = UINT64_MAX;
  c->handles = 1;
  ep->open_handles++;
  c->next = ep->conns;
  if (ep->conns != NULL) {
    ep->conns->prev = c;
  }
  ep->conns = c;
  ep->nconns++;
  return c;
}

void moqc__conn_path(moqc_quic_conn *c, ngtcp2_path *path,
                     const struct sockaddr *remote, socklen_t remotelen) {
  memset(path, 0, sizeof(*path));
  if (c->server) {
    /* The address the client sent to (wildcard binds learn it per packet). */
    socklen_t len;
    path->local.addr =
        (ngtcp2_sockaddr *)(uintptr_t)moqc__ep_packet_local(c->ep, &len);
    path->local.addrlen = len;
  } else {
    path->local.addr = (ngtcp2_sockaddr *)&c->ep->local;
    path->local.addrlen = c->ep->locallen;
  }
  path->remote.addr = (ngtcp2_sockaddr *)(uintptr_t)remote;
  path->remote.addrlen = remotelen;
}

int moqc__conn_accept(moqc_quic_endpoint *ep, const ngtcp2_pkt_hd *hd,
                      const ngtcp2_cid *odcid, const struct sockaddr *remote,
                      socklen_t remotelen, moqc_quic_conn **out) {
  ngtcp2_callbacks cb;
  ngtcp2_settings s;
  ngtcp2_transport_params tp;
  ngtcp2_path path;
  ngtcp2_cid scid;
  moqc_tstamp now = moqc__quic_now();
  moqc_quic_conn *c = conn_alloc(ep, true, remote, remotelen);
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  conn_fill_callbacks(&cb, true);
  conn_fill_settings(ep, &s, &tp, now);
  if (odcid != NULL) {
    /* The client came back with our Retry token: hd->dcid is the id our Retry
     * chose. */
    MOQC__TP_SET_ORIGINAL_DCID(&tp, *odcid);
    tp.retry_scid = hd->dcid;
    tp.retry_scid_present = 1;
  } else {
    MOQC__TP_SET_ORIGINAL_DCID(&tp, hd->dcid);
  }
  int rv = conn_new_cid(c, &scid, tp.stateless_reset_token);
  if (rv == 0) {
    tp.stateless_reset_token_present = 1;
    /* Retransmitted Initials still carry the client's original destination id.
     */
    rv = moqc__cid_table_add(&ep->cids, &hd->dcid, c, ep->mem);
  }
  c->ngmem.phase = MOQC__MEM_PHASE_NEW;
  moqc__conn_path(c, &path, remote, remotelen);
  if (rv == 0 &&
      ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version,
                             &cb, &s, &tp, &c->ngmem.ng, c) != 0) {
    rv = MOQC_ERR_NOMEM;
  }
  c->ngmem.phase = MOQC__MEM_PHASE_OTHER;
  if (rv == 0) {
    rv = moqc__tls_server_session(&c->tls, ep->settings.cert, ep->tls_prio,
                                  &ep->alpns, &c->tls_peer);
  }
  if (rv != 0) {
    moqc__conn_destroy(c);
    return rv;
  }
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  if (ep->settings.keep_alive > 0) {
    ngtcp2_conn_set_keep_alive_timeout(c->conn, ep->settings.keep_alive);
  }
  *out = c;
  return 0;
}

int moqc_quic_connect(moqc_quic_endpoint *ep, const struct sockaddr *remote,
                      const moqc_quic_connect_params *params,
                      moqc_quic_conn **out) {
  ngtcp2_callbacks cb;
  ngtcp2_settings s;
  ngtcp2_transport_params tp;
  ngtcp2_path path;
  ngtcp2_cid scid, dcid;
  socklen_t remotelen;
  if (ep == NULL || remote == NULL || params == NULL || ep->deleting) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (remote->sa_family == AF_INET && ep->local.ss_family == AF_INET) {
    remotelen = sizeof(struct sockaddr_in);
  } else if (remote->sa_family == AF_INET6 && ep->local.ss_family == AF_INET6) {
    remotelen = sizeof(struct sockaddr_in6);
  } else {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc_tstamp now = moqc__quic_now();
  moqc_quic_conn *c = conn_alloc(ep, false, remote, remotelen);
  if (c == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->user_data = params->conn_user_data;
  int rv =
      moqc__tls_client_prepare(&c->tls_peer, &c->client_cred, &params->verify,
                               params->server_name, ep->mem);
  const moqc__alpn_list *alpns = &ep->alpns;
  if (rv == 0 && params->alpns != NULL) {
    rv = moqc__alpn_list_parse(&c->client_alpns, params->alpns, ep->mem);
    alpns = &c->client_alpns;
  }
  conn_fill_callbacks(&cb, false);
  conn_fill_settings(ep, &s, &tp, now);
  if (rv == 0) {
    rv = conn_new_cid(c, &scid, NULL);
  }
  if (rv == 0 && gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, 18) < 0) {
    rv = MOQC_ERR_INTERNAL;
  }
  dcid.datalen = 18;
  c->ngmem.phase = MOQC__MEM_PHASE_NEW;
  moqc__conn_path(c, &path, remote, remotelen);
  if (rv == 0 &&
      ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                             &cb, &s, &tp, &c->ngmem.ng, c) != 0) {
    rv = MOQC_ERR_NOMEM;
  }
  c->ngmem.phase = MOQC__MEM_PHASE_OTHER;
  if (rv == 0) {
    rv = moqc__tls_client_session(&c->tls, c->client_cred, ep->tls_prio, alpns,
                                  &c->tls_peer);
  }
  if (rv != 0) {
    moqc__conn_destroy(c);
    return rv;
  }
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  if (ep->settings.keep_alive > 0) {
    ngtcp2_conn_set_keep_alive_timeout(c->conn, ep->settings.keep_alive);
  }
  moqc__ep_mark_dirty(ep, c);
  if (out != NULL) {
    *out = c;
  }
  return 0;
}

/* ---- accessors ---- */

void moqc_quic_conn_set_user_data(moqc_quic_conn *conn, void *conn_user_data) {
  conn->user_data = conn_user_data;
}

void *moqc_quic_conn_get_user_data(const moqc_quic_conn *conn) {
  return conn->user_data;
}

const char *moqc_quic_conn_alpn(const moqc_quic_conn *conn) {
  return conn->alpn != NULL ? conn->alpn : "";
}

bool moqc_quic_conn_is_server(const moqc_quic_conn *conn) {
  return conn->server;
}

void moqc_quic_conn_remote_addr(const moqc_quic_conn *conn,
                                struct sockaddr_storage *addr, size_t *len) {
  const ngtcp2_path *path =
      conn->conn != NULL ? ngtcp2_conn_get_path(conn->conn) : NULL;
  size_t n = (size_t)conn->remotelen;
  const void *src = &conn->remote;
  if (path != NULL && path->remote.addrlen > 0 &&
      (size_t)path->remote.addrlen <= sizeof(struct sockaddr_storage)) {
    n = (size_t)path->remote.addrlen;
    src = path->remote.addr;
  }
  memset(addr, 0, sizeof(*addr));
  memcpy(addr, src, n);
  *len = n;
}

bool moqc_quic_conn_server_name(const moqc_quic_conn *conn, char *out,
                                size_t cap) {
  size_t n = cap;
  unsigned int type = 0;
  if (cap == 0) {
    return false;
  }
  out[0] = '\0';
  if (conn->server && conn->tls == NULL && conn->sni != NULL) {
    size_t len = strlen(conn->sni);
    if (len >= cap) {
      len = cap - 1;
    }
    memcpy(out, conn->sni, len);
    out[len] = '\0';
    return true;
  }
  if (!conn->server || conn->tls == NULL ||
      gnutls_server_name_get(conn->tls, out, &n, &type, 0) != 0 ||
      type != GNUTLS_NAME_DNS) {
    out[0] = '\0';
    return false;
  }
  out[cap - 1] = '\0';
  return true;
}

void moqc_quic_conn_get_stats(const moqc_quic_conn *conn,
                              moqc_quic_conn_stats *st) {
  memset(st, 0, sizeof(*st));
  st->packets_sent = conn->pkts_sent;
  st->packets_received = conn->pkts_recv;
  st->bytes_sent = conn->bytes_sent;
  st->bytes_received = conn->bytes_recv;
  if (conn->conn == NULL) {
    return;
  }
  moqc__conn_stat cs;
  moqc__conn_get_stat(conn->conn, &cs);
  st->smoothed_rtt = cs.smoothed_rtt;
  st->min_rtt = cs.min_rtt;
  st->cwnd = cs.cwnd;
  st->bytes_in_flight = cs.bytes_in_flight;
}
