/*
 * The write loop of a connection: datagrams first, then stream data round-robin
 * over the streams with pending bytes, packets coalesced with the MORE flags
 * and written straight into the endpoint's send batch. Also the datagram queue.
 */
#include "transport/quic_internal.h"

#include <string.h>

/* From quic_stream.c. */
size_t moqc__stream_peek(const moqc__quic_stream *s, ngtcp2_vec *vec,
                         size_t max, bool *all);
void moqc__stream_advance(moqc__quic_stream *s, size_t n);
void moqc__stream_list_remove(moqc_quic_conn *c, moqc__quic_stream *s);
void moqc__stream_list_rotate(moqc_quic_conn *c, moqc__quic_stream *s);
void moqc__stream_stopped(moqc_quic_conn *c, moqc__quic_stream *s);

/* Packets per write-loop call, at most (bounded further by ngtcp2's send
 * quantum). */
#define WRITE_MAX_PKTS 64U
/* Stream or datagram writes without a finished packet before the loop gives up
 * for now. */
#define WRITE_MAX_IDLE_CALLS 4096U

static void dgram_pop(moqc_quic_conn *c) {
  moqc__dgram *d = c->dg_head;
  c->dg_head = d->next;
  if (c->dg_head == NULL) {
    c->dg_tail = NULL;
  }
  c->ndgrams--;
  moqc_mem_free(c->ep->mem, d);
}

void moqc__dgrams_free(moqc_quic_conn *c) {
  while (c->dg_head != NULL) {
    dgram_pop(c);
  }
}

/* Handles one stream write result; returns 0 to go on, or a fatal ngtcp2 error.
 */
static int write_stream_result(moqc_quic_conn *c, moqc__quic_stream *s,
                               ngtcp2_ssize nwrite, ngtcp2_ssize ndatalen,
                               bool fin_flag, size_t vlen) {
  if (ndatalen >= 0) {
    moqc__stream_advance(s, (size_t)ndatalen);
    if (fin_flag && (size_t)ndatalen == vlen) {
      s->fin_sent = true;
    }
  }
  if (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
    s->blocked = true;
    moqc__stream_list_remove(c, s);
    return 0;
  }
  if (nwrite == NGTCP2_ERR_STREAM_SHUT_WR ||
      nwrite == NGTCP2_ERR_STREAM_NOT_FOUND) {
    moqc__stream_stopped(c, s);
    return 0;
  }
  if (nwrite < 0 && nwrite != NGTCP2_ERR_WRITE_MORE) {
    return (int)nwrite;
  }
  moqc__stream_list_rotate(c, s);
  return 0;
}

int moqc__conn_write_streams(moqc_quic_conn *c, moqc_tstamp ts) {
  moqc_quic_endpoint *ep = c->ep;
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  ngtcp2_vec vec[MOQC__QUIC_MAX_VEC];
  size_t mtu = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
  size_t cap = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
  if (cap > MOQC__QUIC_MAX_UDP) {
    cap = MOQC__QUIC_MAX_UDP;
  }
  size_t max_pkts =
      ngtcp2_conn_get_send_quantum(c->conn) / (mtu > 0 ? mtu : 1200);
  if (max_pkts < 1) {
    max_pkts = 1;
  }
  if (max_pkts > WRITE_MAX_PKTS) {
    max_pkts = WRITE_MAX_PKTS;
  }
  ngtcp2_path_storage_zero(&ps);
  size_t pkts = 0;
  int blocked = 0;
  /* Calls that produced no packet in a row (WRITE_MORE, blocked streams):
   * bounded, so that an application offering a blocked stream again and again
   * cannot spin here forever. */
  unsigned idle_calls = 0;
  while (pkts < max_pkts && idle_calls < WRITE_MAX_IDLE_CALLS) {
    idle_calls++;
    uint8_t *slot = moqc__ep_send_slot(ep);
    if (slot == NULL) {
      blocked = 1;
      break;
    }
    ngtcp2_ssize nwrite;
    ngtcp2_ssize ndatalen = -1;
    if (c->dg_head != NULL && c->handshake_done) {
      int accepted = 0;
      ngtcp2_vec dv = {c->dg_head->data, c->dg_head->len};
      nwrite = ngtcp2_conn_writev_datagram(
          c->conn, &ps.path, &pi, slot, cap, &accepted,
          NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &dv, 1, ts);
      if (accepted || nwrite == NGTCP2_ERR_INVALID_ARGUMENT) {
        dgram_pop(
            c); /* Sent, or never sendable (too large for the peer now). */
      }
      if (nwrite == NGTCP2_ERR_WRITE_MORE ||
          nwrite == NGTCP2_ERR_INVALID_ARGUMENT) {
        continue;
      }
      if (nwrite < 0) {
        return (int)nwrite;
      }
    } else if (c->app_ops != NULL) {
      int64_t sid = -1;
      bool fin = false;
      size_t vlen = 0;
      size_t nv = c->handshake_done
                      ? (size_t)moqc__app_pull(c, &sid, &fin, vec,
                                               MOQC__QUIC_MAX_VEC, ts)
                      : 0;
      if (c->close_requested) {
        break; /* the application failed; the close goes out on the next pass */
      }
      for (size_t i = 0; i < nv; i++) {
        vlen += vec[i].len;
      }
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE |
                       (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0U);
      nwrite = ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, slot, cap,
                                         &ndatalen, flags, sid,
                                         nv > 0 ? vec : NULL, nv, ts);
      if (sid != -1) {
        int rv = moqc__app_wrote(c, sid, nwrite, ndatalen, fin, vlen);
        if (rv != 0) {
          return rv;
        }
        if (nwrite < 0) {
          continue;
        }
      } else if (nwrite < 0) {
        return (int)nwrite;
      }
    } else {
      moqc__quic_stream *s = c->handshake_done ? c->send_head : NULL;
      size_t nv = 0;
      size_t vlen = 0;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      bool fin_flag = false;
      if (s != NULL) {
        bool all = false;
        nv = moqc__stream_peek(s, vec, MOQC__QUIC_MAX_VEC, &all);
        for (size_t i = 0; i < nv; i++) {
          vlen += vec[i].len;
        }
        if (all && s->fin_queued && !s->fin_sent) {
          flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
          fin_flag = true;
        }
        if (nv == 0 && !fin_flag) {
          moqc__stream_list_remove(c, s);
          continue;
        }
      }
      nwrite = ngtcp2_conn_writev_stream(
          c->conn, &ps.path, &pi, slot, cap, &ndatalen, flags,
          s != NULL ? s->id : -1, nv > 0 ? vec : NULL, nv, ts);
      if (s != NULL) {
        int rv = write_stream_result(c, s, nwrite, ndatalen, fin_flag, vlen);
        if (rv != 0) {
          return rv;
        }
        if (nwrite < 0) {
          continue; /* WRITE_MORE or a blocked stream: fill the packet with the
                       next one. */
        }
      } else if (nwrite < 0) {
        return (int)nwrite;
      }
    }
    if (nwrite == 0) {
      break; /* Nothing more to send now (or congestion limited). */
    }
    moqc__ep_send_commit(ep, (size_t)nwrite,
                         (const struct sockaddr *)ps.path.remote.addr,
                         (socklen_t)ps.path.remote.addrlen,
                         (const struct sockaddr *)ps.path.local.addr,
                         (socklen_t)ps.path.local.addrlen);
    c->pkts_sent++;
    c->bytes_sent += (uint64_t)nwrite;
    pkts++;
    idle_calls = 0;
  }
  ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
  if ((pkts == max_pkts || idle_calls == WRITE_MAX_IDLE_CALLS) &&
      (c->send_head != NULL || c->dg_head != NULL || c->app_ops != NULL)) {
    /* Budget used up with data left: come back before the loop blocks. */
    moqc__ep_mark_dirty(ep, c);
  }
  return blocked;
}

int moqc_quic_conn_send_datagram(moqc_quic_conn *conn, const uint8_t *data,
                                 size_t len) {
  if (conn->state != MOQC__CONN_OPEN || conn->close_requested) {
    return MOQC_ERR_CLOSED;
  }
  if (!conn->handshake_done) {
    return MOQC_ERR_PENDING;
  }
  const ngtcp2_transport_params *tp =
      ngtcp2_conn_get_remote_transport_params(conn->conn);
  if (tp == NULL || tp->max_datagram_frame_size == 0) {
    return MOQC_ERR_UNSUPPORTED;
  }
  /* A DATAGRAM frame is a type byte, a length varint and the data; one packet
   * must hold it. */
  if (len + 9 > tp->max_datagram_frame_size || len + 64 > MOQC__QUIC_MAX_UDP) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  if (conn->ndgrams >= MOQC__QUIC_MAX_DGRAMS) {
    return MOQC_ERR_WOULD_BLOCK;
  }
  moqc__dgram *d = moqc_mem_malloc(conn->ep->mem, sizeof(*d) + len);
  if (d == NULL) {
    return MOQC_ERR_NOMEM;
  }
  d->next = NULL;
  d->len = len;
  if (len > 0) {
    memcpy(d->data, data, len);
  }
  if (conn->dg_tail != NULL) {
    conn->dg_tail->next = d;
  } else {
    conn->dg_head = d;
  }
  conn->dg_tail = d;
  conn->ndgrams++;
  moqc__ep_mark_dirty(conn->ep, conn);
  return 0;
}
