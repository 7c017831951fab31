/*
 * The endpoint's receive side: recvmmsg batches (coalesced GRO messages are
 * split by their segment size, wildcard binds learn each packet's destination
 * address), dispatch by connection id, and the stateless answers to packets of
 * no connection: Version Negotiation, stateless resets, Retry with an
 * address-validation token, or a new server connection.
 */
#include "transport/quic_internal.h"

#include <netinet/udp.h>
#include <string.h>

#include <gnutls/crypto.h>

/* Receive batches drained per readable event before the writes run. */
#define EP_MAX_RECV_ROUNDS 8
/* How long a Retry token stays valid. */
#define EP_RETRY_TOKEN_LIFETIME (10 * NGTCP2_SECONDS)
/* Stateless resets sent per readable event, at most. */
#define EP_MAX_RESETS 16

static void ep_send_raw(moqc_quic_endpoint *ep, const uint8_t *pkt, size_t len,
                        const struct sockaddr *dst, socklen_t dstlen) {
  uint8_t *slot = moqc__ep_send_slot(ep);
  if (slot == NULL || len > MOQC__QUIC_MAX_UDP) {
    return;
  }
  memcpy(slot, pkt, len);
  socklen_t srclen;
  const struct sockaddr *src = moqc__ep_packet_local(ep, &srclen);
  moqc__ep_send_commit(ep, len, dst, dstlen, src, srclen);
}

static void ep_send_version_negotiation(moqc_quic_endpoint *ep,
                                        const ngtcp2_version_cid *vc,
                                        const struct sockaddr *src,
                                        socklen_t srclen) {
  uint8_t buf[256];
  uint8_t rnd;
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  (void)gnutls_rnd(GNUTLS_RND_NONCE, &rnd, 1);
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      buf, sizeof(buf), rnd, vc->scid, vc->scidlen, vc->dcid, vc->dcidlen,
      versions, 1);
  if (n > 0) {
    ep_send_raw(ep, buf, (size_t)n, src, srclen);
  }
}

static void ep_send_stateless_reset(moqc_quic_endpoint *ep, const uint8_t *dcid,
                                    size_t len, const struct sockaddr *src,
                                    socklen_t srclen) {
  /* RFC 9000 10.3: smaller than the packet that triggered it, at least 41
   * bytes. */
  uint8_t buf[64];
  uint8_t rnd[64];
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  ngtcp2_cid cid;
  if (len < 43) {
    return;
  }
  size_t out = len - 1 < sizeof(buf) ? len - 1 : sizeof(buf);
  ngtcp2_cid_init(&cid, dcid, MOQC__QUIC_SCIDLEN);
  if (ngtcp2_crypto_generate_stateless_reset_token(
          token, ep->reset_secret, sizeof(ep->reset_secret), &cid) != 0) {
    return;
  }
  size_t randlen = out - NGTCP2_STATELESS_RESET_TOKENLEN;
  if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, randlen) < 0) {
    return;
  }
  ngtcp2_ssize n =
      ngtcp2_pkt_write_stateless_reset(buf, sizeof(buf), token, rnd, randlen);
  if (n > 0) {
    ep_send_raw(ep, buf, (size_t)n, src, srclen);
  }
}

static void ep_send_retry(moqc_quic_endpoint *ep, const ngtcp2_pkt_hd *hd,
                          const struct sockaddr *src, socklen_t srclen) {
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  uint8_t buf[MOQC__QUIC_MAX_UDP];
  ngtcp2_cid scid;
  scid.datalen = MOQC__QUIC_SCIDLEN;
  if (gnutls_rnd(GNUTLS_RND_NONCE, scid.data, scid.datalen) < 0) {
    return;
  }
  moqc__ep_steer_cid(ep, scid.data);
  ngtcp2_ssize tlen = ngtcp2_crypto_generate_retry_token(
      token, ep->token_secret, sizeof(ep->token_secret), hd->version,
      (const ngtcp2_sockaddr *)src, (ngtcp2_socklen)srclen, &scid, &hd->dcid,
      moqc__quic_now());
  if (tlen < 0) {
    return;
  }
  ngtcp2_ssize n =
      ngtcp2_crypto_write_retry(buf, sizeof(buf), hd->version, &hd->scid, &scid,
                                &hd->dcid, token, (size_t)tlen);
  if (n > 0) {
    ep_send_raw(ep, buf, (size_t)n, src, srclen);
  }
}

static void ep_handle_packet(moqc_quic_endpoint *ep, const uint8_t *pkt,
                             size_t len, const struct sockaddr *src,
                             socklen_t srclen, unsigned *resets) {
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, MOQC__QUIC_SCIDLEN);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (ep->settings.cert != NULL && len >= 1200) {
      ep_send_version_negotiation(ep, &vc, src, srclen);
    }
    return;
  }
  if (rv != 0) {
    return;
  }
  moqc_quic_conn *conn = moqc__cid_table_find(&ep->cids, vc.dcid, vc.dcidlen);
  if (conn != NULL) {
    moqc__conn_read(conn, src, srclen, pkt, len);
    return;
  }
  if ((pkt[0] & 0x80) == 0) {
    /* A short header for a connection we do not know. */
    if (*resets < EP_MAX_RESETS && vc.dcidlen == MOQC__QUIC_SCIDLEN) {
      (*resets)++;
      ep_send_stateless_reset(ep, vc.dcid, len, src, srclen);
    }
    return;
  }
  if (ep->settings.cert == NULL || ep->nconns >= ep->settings.max_connections) {
    return;
  }
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0) {
    return;
  }
  ngtcp2_cid odcid;
  const ngtcp2_cid *podcid = NULL;
  if (ep->settings.retry) {
    /* Address validation: a first Initial gets a Retry; only a valid token
     * opens state. */
    if (MOQC__HD_TOKENLEN(&hd) == 0 ||
        MOQC__HD_TOKEN(&hd)[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
      ep_send_retry(ep, &hd, src, srclen);
      return;
    }
    if (ngtcp2_crypto_verify_retry_token(
            &odcid, MOQC__HD_TOKEN(&hd), MOQC__HD_TOKENLEN(&hd),
            ep->token_secret, sizeof(ep->token_secret), hd.version,
            (const ngtcp2_sockaddr *)src, (ngtcp2_socklen)srclen, &hd.dcid,
            EP_RETRY_TOKEN_LIFETIME, moqc__quic_now()) != 0) {
      return;
    }
    podcid = &odcid;
  }
  if (moqc__conn_accept(ep, &hd, podcid, src, srclen, &conn) != 0) {
    return;
  }
  moqc__conn_read(conn, src, srclen, pkt, len);
}

/* Returns the segment size of a coalesced (GRO) message, or 0. */
static size_t ep_gro_size(struct msghdr *h) {
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm != NULL;
       cm = CMSG_NXTHDR(h, cm)) {
    if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
      int v = 0;
      memcpy(&v, CMSG_DATA(cm), sizeof(v));
      return v > 0 ? (size_t)v : 0;
    }
  }
  return 0;
}

/* Sets ep->cur_local to the destination address of a received message
 * (IP_PKTINFO or IPV6_PKTINFO) with the bound port; leaves it empty when the
 * message carries none. */
static void ep_packet_local_from_cmsg(moqc_quic_endpoint *ep,
                                      struct msghdr *h) {
  ep->cur_locallen = 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm != NULL;
       cm = CMSG_NXTHDR(h, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      if (ep->local.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ep->cur_local;
        *a = *(const struct sockaddr_in *)&ep->local;
        a->sin_addr = pi.ipi_addr;
        ep->cur_locallen = sizeof(*a);
      } else {
        /* An IPv4 packet on a dual-stack socket: the v4-mapped address. */
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ep->cur_local;
        *a = *(const struct sockaddr_in6 *)&ep->local;
        memset(&a->sin6_addr, 0, sizeof(a->sin6_addr));
        a->sin6_addr.s6_addr[10] = 0xff;
        a->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&a->sin6_addr.s6_addr[12], &pi.ipi_addr, 4);
        a->sin6_scope_id = 0;
        ep->cur_locallen = sizeof(*a);
      }
      return;
    }
    if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
        ep->local.ss_family == AF_INET6) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ep->cur_local;
      *a = *(const struct sockaddr_in6 *)&ep->local;
      a->sin6_addr = pi.ipi6_addr;
      a->sin6_scope_id =
          IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? pi.ipi6_ifindex : 0;
      ep->cur_locallen = sizeof(*a);
      return;
    }
  }
}

/* Reads one recvmmsg batch and feeds it to the connections. Returns the message
 * count. */
static int ep_recv_batch(moqc_quic_endpoint *ep, unsigned *resets) {
  for (size_t i = 0; i < ep->rnslots; i++) {
    struct msghdr *h = &ep->rmsgs[i].msg_hdr;
    h->msg_name = &ep->rsrc[i];
    h->msg_namelen = sizeof(ep->rsrc[i]);
    h->msg_iov = &ep->riov[i];
    h->msg_iovlen = 1;
    h->msg_control = ep->gro || ep->pktinfo ? ep->rctrl[i] : NULL;
    h->msg_controllen = ep->gro || ep->pktinfo ? sizeof(ep->rctrl[i]) : 0;
    h->msg_flags = 0;
    ep->riov[i].iov_base = ep->recvbuf + i * ep->rslot;
    ep->riov[i].iov_len = ep->rslot;
  }
  int n = recvmmsg(ep->fd, ep->rmsgs, (unsigned int)ep->rnslots, MSG_DONTWAIT,
                   NULL);
  if (n <= 0) {
    return 0;
  }
  /* Every datagram of the batch arrived by now: one clock read for all of them.
   */
  ep->recv_ts = moqc__quic_now();
  for (int i = 0; i < n; i++) {
    struct mmsghdr *m = &ep->rmsgs[i];
    if ((m->msg_hdr.msg_flags & MSG_TRUNC) != 0 || m->msg_len == 0) {
      continue;
    }
    const uint8_t *p = ep->recvbuf + (size_t)i * ep->rslot;
    size_t left = m->msg_len;
    if (ep->pktinfo) {
      ep_packet_local_from_cmsg(ep, &m->msg_hdr);
    }
    size_t seg = ep->gro ? ep_gro_size(&m->msg_hdr) : 0;
    if (seg == 0) {
      seg = left;
    }
    /* A coalesced message holds datagrams of seg bytes, the last one possibly
     * shorter. */
    while (left > 0) {
      size_t len = left < seg ? left : seg;
      ep_handle_packet(ep, p, len, (const struct sockaddr *)&ep->rsrc[i],
                       m->msg_hdr.msg_namelen, resets);
      if (ep->deleting) {
        return 0; /* on_close deleted the endpoint */
      }
      p += len;
      left -= len;
    }
  }
  return n;
}

/* Alternates reading a batch and running the writes (ACKs go out after each
 * batch: a late ACK on a sub-millisecond path looks like loss to the sender),
 * for a bounded number of rounds. */
void moqc__ep_recv(moqc_quic_endpoint *ep) {
  unsigned resets = 0;
  for (int round = 0; round < EP_MAX_RECV_ROUNDS; round++) {
    int n = ep_recv_batch(ep, &resets);
    if (ep->deleting) {
      return;
    }
    moqc__ep_run_dirty(ep);
    if ((size_t)n < ep->rnslots || ep->deleting) {
      return;
    }
  }
}
