/*
 * The life of a QUIC connection after creation: packet input and its errors,
 * the write pass, the timer (ngtcp2 expiry combined with an attached
 * application's), and the ends: a local close (CONNECTION_CLOSE, then the
 * closing period), the peer's close (the draining period), timeouts, and the
 * destruction that frees the connection once its libuv handles are closed.
 */
#include "transport/quic_internal.h"

#include <string.h>

#include "core/log.h"

/* TLS alerts that mean "your certificate was not accepted" (RFC 8446 6.2). */
#define ALERT_BAD_CERTIFICATE 42
#define ALERT_UNKNOWN_CA 48
#define ALERT_NO_APPLICATION_PROTOCOL 120
/* QUIC CRYPTO_ERROR range: 0x100 + alert. */
#define QUIC_CRYPTO_ERROR 0x100U
/* CONNECTION_CLOSE packets resent in the closing period, at most. */
#define CONN_MAX_CLOSE_RESENDS 8U

static void conn_timer_cb(uv_timer_t *t);

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
  moqc__ep_soon_remove(c->ep, c); /* only this timer ends the period */
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
    moqc__conn_destroy(c);
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

void moqc__conn_destroy(moqc_quic_conn *c) {
  moqc_quic_endpoint *ep = c->ep;
  if (c->state == MOQC__CONN_DEAD) {
    return;
  }
  c->state = MOQC__CONN_DEAD;
  moqc__ep_unmark_dirty(ep, c);
  moqc__ep_soon_remove(ep, c);
  moqc__cid_table_remove_conn(&ep->cids, c, ep->mem);
  moqc__streams_free(c);
  moqc__dgrams_free(c);
  if (c->conn != NULL) {
    ngtcp2_conn_del(c->conn);
    c->conn = NULL;
  }
  size_t lost = moqc__conn_mem_free(&c->ngmem);
  if (lost > 0) {
    MOQC_LOG(ep->log, MOQC_LOG_DEBUG,
             "quic: released %zu allocations ngtcp2 left behind", lost);
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
  moqc_mem_free(ep->mem, c->sni);
  c->sni = NULL;
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
  moqc__conn_destroy(c);
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
  moqc__conn_path(c, &path, remote, remotelen);
  c->pkts_recv++;
  c->bytes_recv += len;
  c->ngmem.phase = c->handshake_done ? MOQC__MEM_PHASE_READ
                                      : MOQC__MEM_PHASE_READ_HS;
  int rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, c->ep->recv_ts);
  c->ngmem.phase = MOQC__MEM_PHASE_OTHER;
  if (rv == 0) {
    if (c->tls != NULL && c->handshake_done) {
      /* Not from inside the handshake callback: GnuTLS is still on the stack
       * there. */
      moqc__conn_release_tls(c);
    }
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
    moqc__conn_destroy(c);
    return;
  default:
    conn_close_liberr(c, rv);
    return;
  }
}

/* The connection's next deadline: ngtcp2's expiry or the application's,
 * whichever comes first (UINT64_MAX when there is none). */
static moqc_tstamp conn_next_expiry(const moqc_quic_conn *c) {
  moqc_tstamp expiry = ngtcp2_conn_get_expiry(c->conn);
  moqc_tstamp app_expiry =
      c->app_ops != NULL ? moqc__app_expiry(c) : UINT64_MAX;
  return app_expiry < expiry ? app_expiry : expiry;
}

/*
 * Arms the timer for the connection's next deadline. This runs after every
 * read and write pass, so it avoids touching libuv's timer heap when it can:
 * an armed timer is left alone when the deadline did not move, and also when
 * it moved later (the idle and loss-detection deadlines move forward with
 * almost every packet): the timer then fires early, finds nothing due and
 * re-arms for the new deadline, once per deadline instead of once per packet.
 * Only a deadline that moved earlier (or a stopped timer) starts it again.
 */
static void conn_arm_timer(moqc_quic_conn *c) {
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc_tstamp expiry = conn_next_expiry(c);
  if (expiry == UINT64_MAX) {
    if (c->timer_deadline != UINT64_MAX) {
      uv_timer_stop(&c->timer);
      c->timer_deadline = UINT64_MAX;
    }
    return;
  }
  if (c->soon != 0 ||
      (c->timer_deadline != UINT64_MAX && expiry >= c->timer_deadline)) {
    return; /* served on the next iteration, or armed for this deadline or an
               earlier one */
  }
  moqc_tstamp now = moqc__quic_now();
  /* libuv timers count whole milliseconds: round down, so that sub-millisecond
   * pacing gaps are served on the next loop iteration instead of a millisecond
   * late (the write loop simply finds nothing to send when called early). */
  uint64_t ms = 0;
  if (expiry > now) {
    ms = (expiry - now) / MOQC_MILLISECONDS;
  }
  if (ms == 0) {
    /* Mostly ngtcp2's pacing time after a burst: one endpoint timer serves
     * every such connection on the next loop iteration (an armed timer of
     * ours, for a later deadline, stays armed and fires early). */
    moqc__ep_soon_add(c->ep, c);
    return;
  }
  uv_timer_start(&c->timer, conn_timer_cb, ms, 0);
  c->timer_deadline = expiry;
  c->timer_starts++;
}

void moqc__conn_write(moqc_quic_conn *c) {
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc_tstamp now = moqc__quic_now();
  c->in_write =
      true; /* the application's own wakes go through the async handle */
  if (c->app_ops != NULL && !c->close_requested) {
    moqc__app_before_write(c, now);
  }
  if (c->close_requested) {
    c->in_write = false;
    conn_close_app(c);
    return;
  }
  c->ngmem.phase = c->handshake_done ? MOQC__MEM_PHASE_WRITE
                                      : MOQC__MEM_PHASE_WRITE_HS;
  int rv = moqc__conn_write_streams(c, now);
  c->ngmem.phase = MOQC__MEM_PHASE_OTHER;
  c->in_write = false;
  if (rv == 1) {
    c->write_blocked = true;
  } else if (rv < 0) {
    conn_close_liberr(c, rv);
    return;
  }
  conn_arm_timer(c);
}

void moqc__conn_on_timer(moqc_quic_conn *c) {
  if (c->state == MOQC__CONN_CLOSING || c->state == MOQC__CONN_DRAINING) {
    moqc__conn_destroy(c);
    return;
  }
  if (c->state != MOQC__CONN_OPEN) {
    return;
  }
  moqc_tstamp now = moqc__quic_now();
  /* Within a millisecond counts as due: the timer is rounded down to whole
   * milliseconds, and ngtcp2 lets paced packets leave up to a millisecond
   * early (NGTCP2_PKT_PACING_OVERHEAD), so such a pass has work to do. */
  bool ng_due = ngtcp2_conn_get_expiry(c->conn) <= now + MOQC_MILLISECONDS;
  bool app_due = moqc__app_expiry(c) <= now;
  if (!ng_due && !app_due) {
    /* Fired for a deadline that has since moved later: nothing to do but wait
     * for the new one. */
    c->timer_early++;
    conn_arm_timer(c);
    return;
  }
  if (app_due) {
    moqc__app_handle_expiry(c, now);
  }
  c->ngmem.phase = MOQC__MEM_PHASE_EXPIRY;
  int rv = ng_due ? ngtcp2_conn_handle_expiry(c->conn, now) : 0;
  c->ngmem.phase = MOQC__MEM_PHASE_OTHER;
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    c->close_requested = true;
    conn_report_close(c, MOQC_ERR_TIMEOUT, 0, false);
    moqc__conn_destroy(c);
  } else if (rv != 0) {
    conn_close_liberr(c, rv);
  } else {
    moqc__ep_unmark_dirty(c->ep, c);
    moqc__conn_write(c);
  }
}

static void conn_timer_cb(uv_timer_t *t) {
  moqc_quic_conn *c = t->data;
  moqc_quic_endpoint *ep = c->ep;
  uv_loop_t *prev = moqc__quic_running_loop;
  moqc__quic_running_loop = ep->loop;
  c->timer_deadline = UINT64_MAX; /* a one-shot timer: no longer armed */
  moqc__conn_on_timer(c);
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
  moqc__quic_running_loop = prev;
}

uint64_t moqc__quic_conn_timer_starts(const moqc_quic_conn *conn) {
  return conn->timer_starts;
}

uint64_t moqc__quic_conn_timer_early(const moqc_quic_conn *conn) {
  return conn->timer_early;
}

uint64_t moqc__quic_conn_timer_soon(const moqc_quic_conn *conn) {
  return conn->timer_soon;
}

void moqc__quic_conn_wakes(const moqc_quic_conn *conn, uint64_t *direct,
                           uint64_t *async) {
  *direct = conn->wakes_direct;
  *async = conn->wakes_async;
}

void moqc__quic_conn_write_pass(moqc_quic_conn *conn) {
  moqc__ep_unmark_dirty(conn->ep, conn);
  moqc__conn_write(conn);
  moqc__ep_flush(conn->ep);
}

int moqc__quic_conn_initiate_key_update(moqc_quic_conn *conn) {
  int rv = ngtcp2_conn_initiate_key_update(conn->conn, moqc__quic_now());
  moqc__ep_mark_dirty(conn->ep, conn);
  return rv;
}

int moqc__quic_conn_submit_crypto(moqc_quic_conn *conn, const uint8_t *data,
                                  size_t len) {
  int rv = ngtcp2_conn_submit_crypto_data(
      conn->conn, NGTCP2_CRYPTO_LEVEL_APPLICATION, data, len);
  moqc__ep_mark_dirty(conn->ep, conn);
  return rv;
}
