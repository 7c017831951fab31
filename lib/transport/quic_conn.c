/*
 * QUIC connections: creation (server accept, client connect), the ngtcp2
 * connection callbacks, packet input, the expiry timer, and the close paths
 * (closing and draining periods).
 */
#include "transport/quic_internal.h"

#include <string.h>

#include <gnutls/crypto.h>

#include "core/log.h"

/* TLS alerts that mean "your certificate was not accepted" (RFC 8446 6.2). */
#define ALERT_BAD_CERTIFICATE 42
#define ALERT_UNKNOWN_CA 48
#define ALERT_NO_APPLICATION_PROTOCOL 120
/* QUIC CRYPTO_ERROR range: 0x100 + alert. */
#define QUIC_CRYPTO_ERROR 0x100U
#define CONN_MAX_CLOSE_RESENDS 8U

static void conn_destroy(moqc_quic_conn *c);

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

static int conn_handshake_completed_cb(ngtcp2_conn *conn, void *ud) {
  moqc_quic_conn *c = ud;
  (void)conn;
  c->handshake_done = true;
  (void)moqc__tls_selected_alpn(c->tls, c->alpn, sizeof(c->alpn));
  c->reported = true;
  MOQC_LOG(c->ep->log, MOQC_LOG_DEBUG, "quic: %s handshake completed, alpn %s",
           c->server ? "server" : "client", c->alpn);
  if (c->ep->cb.on_connection != NULL) {
    int rv =
        c->ep->cb.on_connection(c, c->alpn, c->ep->user_data, c->user_data);
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

static void conn_fill_callbacks(ngtcp2_callbacks *cb, bool server) {
  memset(cb, 0, sizeof(*cb));
  if (server) {
    cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb->client_initial = ngtcp2_crypto_client_initial_cb;
    cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb->encrypt = ngtcp2_crypto_encrypt_cb;
  cb->decrypt = ngtcp2_crypto_decrypt_cb;
  cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb->update_key = ngtcp2_crypto_update_key_cb;
  cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
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

static void conn_timer_cb(uv_timer_t *t);

/* The allocator for ngtcp2: settings.mem when given, else ngtcp2's default. */
static const ngtcp2_mem *conn_ngmem(const moqc_quic_endpoint *ep) {
  return ep->mem != NULL ? &ep->ngmem : NULL;
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
  c->tls_peer.conn_ref.get_conn = conn_get_ngtcp2;
  c->tls_peer.conn_ref.user_data = c;
  memcpy(&c->remote, remote, (size_t)remotelen);
  c->remotelen = remotelen;
  uv_timer_init(ep->loop, &c->timer);
  c->timer.data = c;
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

static void conn_path(moqc_quic_conn *c, ngtcp2_path *path,
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
  conn_path(c, &path, remote, remotelen);
  if (rv == 0 &&
      ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, &path, hd->version,
                             &cb, &s, &tp, conn_ngmem(ep), c) != 0) {
    rv = MOQC_ERR_NOMEM;
  }
  if (rv == 0) {
    rv = moqc__tls_server_session(&c->tls, ep->settings.cert, &ep->alpns,
                                  &c->tls_peer);
  }
  if (rv != 0) {
    conn_destroy(c);
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
  conn_path(c, &path, remote, remotelen);
  if (rv == 0 &&
      ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                             &cb, &s, &tp, conn_ngmem(ep), c) != 0) {
    rv = MOQC_ERR_NOMEM;
  }
  if (rv == 0) {
    rv = moqc__tls_client_session(&c->tls, c->client_cred, alpns, &c->tls_peer);
  }
  if (rv != 0) {
    conn_destroy(c);
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

/* ---- closing ---- */

static void conn_report_close(moqc_quic_conn *c, int err, uint64_t app_code,
                              bool remote) {
  if (c->close_reported) {
    return;
  }
  c->close_reported = true;
  if (c->app_ops != NULL) {
    const uint8_t *reason = (const uint8_t *)"";
    size_t reason_len = 0;
    if (remote && c->conn != NULL) {
      moqc__ccerr ccerr;
      moqc__conn_remote_ccerr(c->conn, &ccerr);
      if (ccerr.reason != NULL) {
        reason = ccerr.reason;
        reason_len = ccerr.reasonlen;
      }
    }
    moqc__app_closed(c, err == 0 ? app_code : moqc_err_to_lite_code(err),
                     reason, reason_len);
  }
  MOQC_LOG(c->ep->log, MOQC_LOG_DEBUG,
           "quic: %s connection closed: err %d app %llu %s",
           c->server ? "server" : "client", err, (unsigned long long)app_code,
           remote ? "by peer" : "locally");
  if ((!c->server || c->reported) && c->ep->cb.on_close != NULL &&
      !c->ep->deleting) {
    c->ep->cb.on_close(c, err, app_code, remote, c->ep->user_data,
                       c->user_data);
  }
}

static void conn_arm_deadline(moqc_quic_conn *c) {
  /* RFC 9000 10.2: the closing and draining periods last three PTOs. */
  uint64_t ms = 3 * ngtcp2_conn_get_pto(c->conn) / MOQC_MILLISECONDS + 1;
  uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

/* Maps a transport error code from a CONNECTION_CLOSE to a library error. */
static int conn_map_transport_code(uint64_t code) {
  if (code == 0) {
    return 0;
  }
  if (code >= QUIC_CRYPTO_ERROR && code < QUIC_CRYPTO_ERROR + 0x100U) {
    uint64_t alert = code - QUIC_CRYPTO_ERROR;
    if (alert == ALERT_NO_APPLICATION_PROTOCOL) {
      return MOQC_ERR_UNKNOWN_ALPN;
    }
    if (alert >= ALERT_BAD_CERTIFICATE && alert <= ALERT_UNKNOWN_CA) {
      return MOQC_ERR_UNAUTHORIZED;
    }
  }
  return MOQC_ERR_TRANSPORT;
}

/* Sends CONNECTION_CLOSE with ccerr and enters the closing period; reports err.
 */
static void conn_close_local(moqc_quic_conn *c, const moqc__ccerr *ccerr,
                             int err, uint64_t app_code) {
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc_quic_endpoint *ep = c->ep;
  ngtcp2_path_storage_zero(&ps);
  uint8_t *slot = moqc__ep_send_slot(ep);
  ngtcp2_ssize n = -1;
  if (slot != NULL) {
    size_t cap = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
    if (cap > MOQC__QUIC_MAX_UDP) {
      cap = MOQC__QUIC_MAX_UDP;
    }
    n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi, slot, cap,
                                           ccerr, moqc__quic_now());
  }
  if (n <= 0) {
    c->close_requested = true;
    conn_report_close(c, err, app_code, false);
    conn_destroy(c);
    return;
  }
  c->close_pkt = moqc_mem_malloc(ep->mem, (size_t)n);
  if (c->close_pkt != NULL) {
    memcpy(c->close_pkt, slot, (size_t)n);
    c->close_pktlen = (size_t)n;
  }
  moqc__ep_send_commit(ep, (size_t)n,
                       (const struct sockaddr *)ps.path.remote.addr,
                       (socklen_t)ps.path.remote.addrlen,
                       (const struct sockaddr *)ps.path.local.addr,
                       (socklen_t)ps.path.local.addrlen);
  c->state = MOQC__CONN_CLOSING;
  moqc__ep_unmark_dirty(ep, c);
  moqc__streams_free(c);
  moqc__dgrams_free(c);
  conn_arm_deadline(c);
  /* Last: on_close may delete the endpoint. */
  conn_report_close(c, err, app_code, false);
}

static void conn_close_liberr(moqc_quic_conn *c, int liberr) {
  moqc__ccerr ccerr;
  moqc__ccerr_set_liberr(&ccerr, liberr, NULL, 0);
  MOQC_LOG(c->ep->log, MOQC_LOG_DEBUG, "quic: closing on %s",
           ngtcp2_strerror(liberr));
  conn_close_local(c, &ccerr, MOQC_ERR_TRANSPORT, 0);
}

static void conn_close_app(moqc_quic_conn *c) {
  moqc__ccerr ccerr;
  moqc__ccerr_set_application_error(&ccerr, c->close_app_code,
                                    (const uint8_t *)c->close_reason,
                                    c->close_reason_len);
  conn_close_local(c, &ccerr, 0, c->close_app_code);
}

static void conn_enter_draining(moqc_quic_conn *c) {
  moqc__ccerr ccerr;
  moqc__conn_remote_ccerr(c->conn, &ccerr);
  c->state = MOQC__CONN_DRAINING;
  moqc__ep_unmark_dirty(c->ep, c);
  moqc__streams_free(c);
  moqc__dgrams_free(c);
  conn_arm_deadline(c);
  /* Last: on_close may delete the endpoint. */
  if (ccerr.type == MOQC__CCERR_TYPE_APPLICATION) {
    conn_report_close(c, 0, ccerr.error_code, true);
  } else {
    conn_report_close(c, conn_map_transport_code(ccerr.error_code), 0, true);
  }
}

void moqc_quic_conn_close(moqc_quic_conn *conn, uint64_t app_code,
                          const char *reason) {
  if (conn->close_requested || conn->state != MOQC__CONN_OPEN) {
    return;
  }
  conn->close_requested = true;
  conn->close_app_code = app_code;
  if (reason != NULL) {
    size_t len = strnlen(reason, 1000);
    conn->close_reason = moqc_mem_malloc(conn->ep->mem, len + 1);
    if (conn->close_reason != NULL) {
      memcpy(conn->close_reason, reason, len);
      conn->close_reason[len] = '\0';
      conn->close_reason_len = len;
    }
  }
  moqc__ep_mark_dirty(conn->ep, conn);
}

static void conn_handle_closed_cb(uv_handle_t *h) {
  moqc_quic_conn *c = h->data;
  moqc_quic_endpoint *ep = c->ep;
  if (--c->handles == 0) {
    moqc_mem_free(ep->mem, c);
  }
  moqc__ep_handle_closed(ep);
}

static void conn_destroy(moqc_quic_conn *c) {
  moqc_quic_endpoint *ep = c->ep;
  if (c->state == MOQC__CONN_DEAD) {
    return;
  }
  c->state = MOQC__CONN_DEAD;
  moqc__ep_unmark_dirty(ep, c);
  moqc__cid_table_remove_conn(&ep->cids, c, ep->mem);
  moqc__streams_free(c);
  moqc__dgrams_free(c);
  if (c->conn != NULL) {
    ngtcp2_conn_del(c->conn);
    c->conn = NULL;
  }
  if (c->tls != NULL) {
    gnutls_deinit(c->tls);
    c->tls = NULL;
  }
  if (c->client_cred != NULL) {
    gnutls_certificate_free_credentials(c->client_cred);
    c->client_cred = NULL;
  }
  moqc__alpn_list_free(&c->client_alpns, ep->mem);
  moqc__tls_peer_free(&c->tls_peer, ep->mem);
  moqc_mem_free(ep->mem, c->close_pkt);
  moqc_mem_free(ep->mem, c->close_reason);
  c->close_pkt = NULL;
  c->close_reason = NULL;
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    ep->conns = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  ep->nconns--;
  moqc__app_free(c, conn_handle_closed_cb);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed_cb);
}

void moqc__conn_abort(moqc_quic_conn *c) {
  if (c->state == MOQC__CONN_OPEN && c->conn != NULL) {
    moqc__ccerr ccerr;
    moqc__ccerr_set_application_error(&ccerr, 0, NULL, 0);
    c->close_reported = true; /* No callback while the endpoint goes away. */
    conn_close_local(c, &ccerr, 0, 0);
  }
  conn_destroy(c);
}

/* ---- input, output and timers ---- */

void moqc__conn_read(moqc_quic_conn *c, const struct sockaddr *remote,
                     socklen_t remotelen, const uint8_t *data, size_t len) {
  ngtcp2_path path;
  ngtcp2_pkt_info pi;
  if (c->state == MOQC__CONN_CLOSING) {
    if (c->close_pkt != NULL && c->close_resends < CONN_MAX_CLOSE_RESENDS) {
      uint8_t *slot = moqc__ep_send_slot(c->ep);
      if (slot != NULL) {
        c->close_resends++;
        memcpy(slot, c->close_pkt, c->close_pktlen);
        socklen_t srclen;
        const struct sockaddr *src = moqc__ep_packet_local(c->ep, &srclen);
        moqc__ep_send_commit(c->ep, c->close_pktlen, remote, remotelen, src,
                             srclen);
      }
    }
    return;
  }
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  memset(&pi, 0, sizeof(pi));
  conn_path(c, &path, remote, remotelen);
  c->pkts_recv++;
  c->bytes_recv += len;
  int rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, c->ep->recv_ts);
  if (rv == 0) {
    moqc__ep_mark_dirty(c->ep, c);
    return;
  }
  switch (rv) {
  case NGTCP2_ERR_DRAINING:
    conn_enter_draining(c);
    return;
  case NGTCP2_ERR_CRYPTO: {
    moqc__ccerr ccerr;
    uint8_t alert = ngtcp2_conn_get_tls_alert(c->conn);
    int err = MOQC_ERR_TRANSPORT;
    if (c->tls_peer.verify_failed) {
      err = MOQC_ERR_UNAUTHORIZED;
      if (alert == 0) {
        alert = ALERT_BAD_CERTIFICATE;
      }
    } else if (alert == ALERT_NO_APPLICATION_PROTOCOL) {
      err = MOQC_ERR_UNKNOWN_ALPN;
    }
    moqc__ccerr_set_tls_alert(&ccerr, alert, NULL, 0);
    conn_close_local(c, &ccerr, err, 0);
    return;
  }
  case NGTCP2_ERR_DROP_CONN:
  case NGTCP2_ERR_RETRY:
    /* Report while the connection (and an attached application's wake handle)
     * is intact; on_close may even delete the endpoint, which destroys c first.
     */
    c->close_requested = true;
    conn_report_close(c, MOQC_ERR_TRANSPORT, 0, false);
    conn_destroy(c);
    return;
  default:
    conn_close_liberr(c, rv);
    return;
  }
}

static void conn_arm_timer(moqc_quic_conn *c) {
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc_tstamp expiry = ngtcp2_conn_get_expiry(c->conn);
  moqc_tstamp app_expiry =
      c->app_ops != NULL ? moqc__app_expiry(c) : UINT64_MAX;
  if (app_expiry < expiry) {
    expiry = app_expiry;
  }
  if (expiry == UINT64_MAX) {
    uv_timer_stop(&c->timer);
    return;
  }
  moqc_tstamp now = moqc__quic_now();
  /* libuv timers count whole milliseconds: round down, so that sub-millisecond
   * pacing gaps are served on the next loop iteration instead of a millisecond
   * late (the write loop simply finds nothing to send when called early). */
  uint64_t ms = 0;
  if (expiry > now) {
    ms = (expiry - now) / MOQC_MILLISECONDS;
  }
  uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
}

void moqc__conn_write(moqc_quic_conn *c) {
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc_tstamp now = moqc__quic_now();
  if (c->app_ops != NULL && !c->close_requested) {
    moqc__app_before_write(c, now);
  }
  if (c->close_requested) {
    conn_close_app(c);
    return;
  }
  int rv = moqc__conn_write_streams(c, now);
  if (rv == 1) {
    c->write_blocked = true;
  } else if (rv < 0) {
    conn_close_liberr(c, rv);
    return;
  }
  conn_arm_timer(c);
}

static void conn_timer_cb(uv_timer_t *t) {
  moqc_quic_conn *c = t->data;
  moqc_quic_endpoint *ep = c->ep;
  if (c->state == MOQC__CONN_CLOSING || c->state == MOQC__CONN_DRAINING) {
    conn_destroy(c);
    return;
  }
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc__app_handle_expiry(c, moqc__quic_now());
  int rv = ngtcp2_conn_handle_expiry(c->conn, moqc__quic_now());
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    c->close_requested = true;
    conn_report_close(c, MOQC_ERR_TIMEOUT, 0, false);
    conn_destroy(c);
  } else if (rv != 0) {
    conn_close_liberr(c, rv);
  } else {
    moqc__ep_unmark_dirty(ep, c);
    moqc__conn_write(c);
  }
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
}

/* ---- accessors ---- */

void moqc_quic_conn_set_user_data(moqc_quic_conn *conn, void *conn_user_data) {
  conn->user_data = conn_user_data;
}

void *moqc_quic_conn_get_user_data(const moqc_quic_conn *conn) {
  return conn->user_data;
}

const char *moqc_quic_conn_alpn(const moqc_quic_conn *conn) {
  return conn->alpn;
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
