/*
 * The QUIC endpoint: one non-blocking UDP socket polled with uv_poll_t,
 * recvmmsg/sendmmsg batches, packet dispatch by connection id, Version
 * Negotiation and stateless resets for unknown packets, and the list of
 * connections with pending writes.
 */
#include "transport/quic_internal.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "core/log.h"

/* Receive batches drained per readable event before the writes run. */
#define EP_MAX_RECV_ROUNDS 8
/* How long a Retry token stays valid. */
#define EP_RETRY_TOKEN_LIFETIME (10 * NGTCP2_SECONDS)
/* Stateless resets sent per readable event, at most. */
#define EP_MAX_RESETS 16

moqc_tstamp moqc__quic_now(void) {
  return (moqc_tstamp)uv_hrtime();
}

void moqc_quic_settings_default(moqc_quic_settings *s) {
  memset(s, 0, sizeof(*s));
  s->alpns = MOQC_QUIC_DEFAULT_ALPNS;
  s->idle_timeout = 30 * MOQC_SECONDS;
  s->keep_alive = 0;
  s->initial_rtt = 50 * MOQC_MILLISECONDS;
  s->handshake_timeout = 10 * MOQC_SECONDS;
  s->max_stream_data = 4U << 20;
  s->max_data = 16U << 20;
  s->max_stream_window = 16U << 20;
  s->max_window = 64U << 20;
  s->max_streams_bidi = 1000;
  s->max_streams_uni = 1000;
  s->max_datagram_frame_size = 1200;
  s->max_connections = 10000;
}

void moqc__quic_endpoint_set_send_filter(moqc_quic_endpoint *ep,
                                         moqc__quic_send_filter filter,
                                         void *user_data) {
  ep->filter = filter;
  ep->filter_ud = user_data;
}

/* ---- sending ---- */

static void ep_want_writable(moqc_quic_endpoint *ep, bool on);
static size_t ep_add_pktinfo(const moqc_quic_endpoint *ep, size_t i,
                             struct msghdr *h, uint8_t *ctrl, size_t used);

/* Sends msgs[0..n), returning how many went out; sets send_blocked on EAGAIN.
 */
static size_t ep_sendmmsg(moqc_quic_endpoint *ep, struct mmsghdr *msgs,
                          size_t n) {
  size_t done = 0;
  while (done < n) {
    int rv = sendmmsg(ep->fd, msgs + done, (unsigned int)(n - done), 0);
    if (rv < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        ep->send_blocked = true;
        return done;
      }
      if ((errno == EIO || errno == EINVAL) && ep->gso &&
          msgs[done].msg_hdr.msg_controllen > 0) {
        /* No GSO here (or not for this device): stop using it; this batch is
         * lost. */
        ep->gso = false;
      }
      /* A datagram the kernel refuses (unreachable, too big): drop it like a
       * lost packet. */
      MOQC_LOG(ep->log, MOQC_LOG_DEBUG, "quic: sendmmsg: %s", strerror(errno));
      done++;
      continue;
    }
    done += (size_t)rv;
  }
  return done;
}

/* The test-only path: every datagram passes the filter, one message each,
 * nothing retried. */
static void ep_flush_filtered(moqc_quic_endpoint *ep) {
  struct mmsghdr msgs[MOQC__QUIC_BATCH + 1];
  struct iovec iov[MOQC__QUIC_BATCH + 1];
  uint64_t ctrl[MOQC__QUIC_BATCH][8];
  size_t n = 0;
  bool release_held = false;
  memset(msgs, 0, sizeof(msgs));
  for (size_t i = 0; i < ep->nsend; i++) {
    uint8_t *pkt = ep->sendbuf + i * MOQC__QUIC_MAX_UDP;
    int verdict = ep->filter(ep->filter_ud, pkt, ep->sendlen[i]);
    if (verdict == MOQC__QUIC_FILTER_DROP) {
      continue;
    }
    if (verdict == MOQC__QUIC_FILTER_DELAY && ep->heldlen == 0) {
      memcpy(ep->held, pkt, ep->sendlen[i]);
      ep->heldlen = ep->sendlen[i];
      ep->helddst = ep->senddst[i];
      ep->helddstlen = ep->senddstlen[i];
      continue;
    }
    release_held = ep->heldlen > 0;
    iov[n].iov_base = pkt;
    iov[n].iov_len = ep->sendlen[i];
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    msgs[n].msg_hdr.msg_name = &ep->senddst[i];
    msgs[n].msg_hdr.msg_namelen = ep->senddstlen[i];
    (void)ep_add_pktinfo(ep, i, &msgs[n].msg_hdr, (uint8_t *)ctrl[n], 0);
    n++;
  }
  if (release_held) {
    /* The held datagram goes out after a later one: a reordering. */
    iov[n].iov_base = ep->held;
    iov[n].iov_len = ep->heldlen;
    msgs[n].msg_hdr.msg_iov = &iov[n];
    msgs[n].msg_hdr.msg_iovlen = 1;
    msgs[n].msg_hdr.msg_name = &ep->helddst;
    msgs[n].msg_hdr.msg_namelen = ep->helddstlen;
    n++;
    ep->heldlen = 0;
  }
  (void)ep_sendmmsg(ep, msgs, n);
  ep->send_blocked = false;
  ep->nsend = 0;
}

/* Largest UDP payload of one GSO send. */
#define EP_GSO_MAX_BYTES 65000U
/* Most segments per GSO send (the kernel's UDP_MAX_SEGMENTS). */
#define EP_GSO_MAX_SEGS 64U

void moqc__ep_flush(moqc_quic_endpoint *ep) {
  struct mmsghdr msgs[MOQC__QUIC_BATCH];
  struct iovec iov[MOQC__QUIC_BATCH];
  size_t npkts[MOQC__QUIC_BATCH];
  /* cmsg space for UDP_SEGMENT and a source address, aligned for struct cmsghdr
   */
  uint64_t ctrl[MOQC__QUIC_BATCH][8];
  size_t n = 0;
  if (ep->nsend == 0) {
    return;
  }
  if (ep->filter != NULL) {
    ep_flush_filtered(ep);
    return;
  }
  memset(msgs, 0, sizeof(msgs));
  /* Runs of datagrams to one destination with one size (the last may be
   * shorter) become one message with UDP_SEGMENT (GSO) when the kernel supports
   * it. */
  for (size_t i = 0; i < ep->nsend;) {
    size_t seg = ep->sendlen[i];
    size_t j = i + 1;
    size_t bytes = seg;
    if (ep->gso) {
      while (j < ep->nsend && j - i < EP_GSO_MAX_SEGS &&
             bytes + ep->sendlen[j] <= EP_GSO_MAX_BYTES &&
             ep->sendlen[j - 1] == seg && ep->sendlen[j] <= seg &&
             ep->senddstlen[j] == ep->senddstlen[i] &&
             memcmp(&ep->senddst[j], &ep->senddst[i],
                    (size_t)ep->senddstlen[i]) == 0 &&
             ep->sendsrclen[j] == ep->sendsrclen[i] &&
             memcmp(&ep->sendsrc[j], &ep->sendsrc[i],
                    (size_t)ep->sendsrclen[i]) == 0) {
        bytes += ep->sendlen[j];
        j++;
      }
    }
    /* Packets sit in fixed slots: a run is one iovec per packet, concatenated
     * by the kernel and cut again every seg bytes (every packet but the last is
     * exactly seg long). */
    struct msghdr *h = &msgs[n].msg_hdr;
    for (size_t k = i; k < j; k++) {
      iov[k].iov_base = ep->sendbuf + k * MOQC__QUIC_MAX_UDP;
      iov[k].iov_len = ep->sendlen[k];
    }
    h->msg_iov = &iov[i];
    h->msg_iovlen = j - i;
    memset(ctrl[n], 0, sizeof(ctrl[n]));
    size_t used = 0;
    if (j - i > 1) {
      struct cmsghdr *cm = (struct cmsghdr *)(void *)ctrl[n];
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t gso = (uint16_t)seg;
      memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
      used = CMSG_SPACE(sizeof(uint16_t));
      h->msg_control = ctrl[n];
      h->msg_controllen = used;
    }
    (void)ep_add_pktinfo(ep, i, h, (uint8_t *)ctrl[n], used);
    h->msg_name = &ep->senddst[i];
    h->msg_namelen = ep->senddstlen[i];
    npkts[n] = j - i;
    n++;
    i = j;
  }
  size_t sent_msgs = ep_sendmmsg(ep, msgs, n);
  size_t sent = 0;
  for (size_t k = 0; k < sent_msgs; k++) {
    sent += npkts[k];
  }
  if (sent < ep->nsend) {
    /* Blocked: keep the rest, in order, for when the socket is writable again.
     */
    size_t rest = ep->nsend - sent;
    memmove(ep->sendbuf, ep->sendbuf + sent * MOQC__QUIC_MAX_UDP,
            rest * MOQC__QUIC_MAX_UDP);
    memmove(ep->sendlen, ep->sendlen + sent, rest * sizeof(ep->sendlen[0]));
    memmove(ep->senddst, ep->senddst + sent, rest * sizeof(ep->senddst[0]));
    memmove(ep->senddstlen, ep->senddstlen + sent,
            rest * sizeof(ep->senddstlen[0]));
    memmove(ep->sendsrc, ep->sendsrc + sent, rest * sizeof(ep->sendsrc[0]));
    memmove(ep->sendsrclen, ep->sendsrclen + sent,
            rest * sizeof(ep->sendsrclen[0]));
    ep->nsend = rest;
    if (ep->send_blocked) {
      ep_want_writable(ep, true);
    }
    return;
  }
  ep->nsend = 0;
}

uint8_t *moqc__ep_send_slot(moqc_quic_endpoint *ep) {
  if (ep->nsend == MOQC__QUIC_BATCH) {
    moqc__ep_flush(ep);
    if (ep->nsend == MOQC__QUIC_BATCH) {
      return NULL;
    }
  }
  return ep->sendbuf + ep->nsend * MOQC__QUIC_MAX_UDP;
}

/* True when a is a concrete (not wildcard) IPv4 or IPv6 address. Copies
 * instead of casting: a sockaddr pointer promises no alignment. */
static bool ep_addr_specified(const struct sockaddr *a, socklen_t len) {
  if (a->sa_family == AF_INET && (size_t)len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in in;
    memcpy(&in, a, sizeof(in));
    return in.sin_addr.s_addr != htonl(INADDR_ANY);
  }
  if (a->sa_family == AF_INET6 && (size_t)len >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 in6;
    memcpy(&in6, a, sizeof(in6));
    return !IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr);
  }
  return false;
}

void moqc__ep_send_commit(moqc_quic_endpoint *ep, size_t len,
                          const struct sockaddr *dst, socklen_t dstlen,
                          const struct sockaddr *src, socklen_t srclen) {
  ep->sendlen[ep->nsend] = len;
  memcpy(&ep->senddst[ep->nsend], dst, (size_t)dstlen);
  ep->senddstlen[ep->nsend] = dstlen;
  ep->sendsrclen[ep->nsend] = 0;
  if (ep->pktinfo && src != NULL && srclen > 0 &&
      (size_t)srclen <= sizeof(struct sockaddr_storage) &&
      ep_addr_specified(src, srclen)) {
    memcpy(&ep->sendsrc[ep->nsend], src, (size_t)srclen);
    ep->sendsrclen[ep->nsend] = srclen;
  }
  ep->nsend++;
}

const struct sockaddr *moqc__ep_packet_local(const moqc_quic_endpoint *ep,
                                             socklen_t *len) {
  if (ep->pktinfo && ep->cur_locallen > 0) {
    *len = ep->cur_locallen;
    return (const struct sockaddr *)&ep->cur_local;
  }
  *len = ep->locallen;
  return (const struct sockaddr *)&ep->local;
}

/* Adds the source-address cmsg of datagram i to h (control space at ctrl, cap
 * bytes, already holding used bytes). Returns the new used length. */
static size_t ep_add_pktinfo(const moqc_quic_endpoint *ep, size_t i,
                             struct msghdr *h, uint8_t *ctrl, size_t used) {
  if (ep->sendsrclen[i] == 0) {
    return used;
  }
  /* sockaddr_storage is aligned for every address type. */
  const struct sockaddr_storage *src = &ep->sendsrc[i];
  const struct sockaddr_in *src4 = (const struct sockaddr_in *)src;
  const struct sockaddr_in6 *src6 = (const struct sockaddr_in6 *)src;
  struct cmsghdr *cm = (struct cmsghdr *)(void *)(ctrl + used);
  if (src->ss_family == AF_INET || IN6_IS_ADDR_V4MAPPED(&src6->sin6_addr)) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    if (src->ss_family == AF_INET) {
      pi.ipi_spec_dst = src4->sin_addr;
    } else {
      memcpy(&pi.ipi_spec_dst, &src6->sin6_addr.s6_addr[12], 4);
    }
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(pi));
  } else {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    pi.ipi6_addr = src6->sin6_addr;
    pi.ipi6_ifindex = src6->sin6_scope_id;
    cm->cmsg_level = IPPROTO_IPV6;
    cm->cmsg_type = IPV6_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(pi));
  }
  h->msg_control = ctrl;
  h->msg_controllen = used;
  return used;
}

/* ---- dirty connections ---- */

static void ep_prepare_cb(uv_prepare_t *h) {
  moqc_quic_endpoint *ep = h->data;
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
}

void moqc__ep_mark_dirty(moqc_quic_endpoint *ep, moqc_quic_conn *conn) {
  if (conn->dirty || conn->state == MOQC__CONN_DEAD) {
    return;
  }
  conn->dirty = true;
  conn->dirty_prev = NULL;
  conn->dirty_next = ep->dirty_head;
  if (ep->dirty_head != NULL) {
    ep->dirty_head->dirty_prev = conn;
  }
  ep->dirty_head = conn;
  if (!ep->prepare_active && !ep->deleting) {
    uv_prepare_start(&ep->prepare, ep_prepare_cb);
    ep->prepare_active = true;
  }
}

void moqc__ep_unmark_dirty(moqc_quic_endpoint *ep, moqc_quic_conn *conn) {
  if (!conn->dirty) {
    return;
  }
  if (conn->dirty_prev != NULL) {
    conn->dirty_prev->dirty_next = conn->dirty_next;
  } else {
    ep->dirty_head = conn->dirty_next;
  }
  if (conn->dirty_next != NULL) {
    conn->dirty_next->dirty_prev = conn->dirty_prev;
  }
  conn->dirty = false;
  conn->dirty_prev = conn->dirty_next = NULL;
}

void moqc__ep_run_dirty(moqc_quic_endpoint *ep) {
  /* A write may mark other connections dirty (never this one again in the same
   * pass). */
  while (ep->dirty_head != NULL && !ep->send_blocked && !ep->deleting) {
    moqc_quic_conn *c = ep->dirty_head;
    moqc__ep_unmark_dirty(ep, c);
    moqc__conn_write(c);
  }
  if (ep->deleting) {
    return;
  }
  moqc__ep_flush(ep);
  if (ep->dirty_head == NULL && ep->prepare_active) {
    uv_prepare_stop(&ep->prepare);
    ep->prepare_active = false;
  }
}

/* ---- receiving ---- */

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
static void ep_recv(moqc_quic_endpoint *ep) {
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

static void ep_poll_cb(uv_poll_t *h, int status, int events) {
  moqc_quic_endpoint *ep = h->data;
  if (status < 0) {
    MOQC_LOG(ep->log, MOQC_LOG_WARN, "quic: poll error: %s",
             uv_strerror(status));
    return;
  }
  if ((events & UV_WRITABLE) != 0) {
    ep->send_blocked = false;
    moqc__ep_flush(ep);
    if (!ep->send_blocked) {
      ep_want_writable(ep, false);
      for (moqc_quic_conn *c = ep->conns; c != NULL; c = c->next) {
        if (c->write_blocked) {
          c->write_blocked = false;
          moqc__ep_mark_dirty(ep, c);
        }
      }
    }
  }
  if ((events & UV_READABLE) != 0) {
    ep_recv(ep);
  }
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
}

static void ep_want_writable(moqc_quic_endpoint *ep, bool on) {
  if (ep->writable_wanted == on || ep->deleting) {
    return;
  }
  ep->writable_wanted = on;
  uv_poll_start(&ep->poll, UV_READABLE | (on ? UV_WRITABLE : 0), ep_poll_cb);
}

/* ---- lifecycle ---- */

static int ep_socket(moqc_quic_endpoint *ep, const struct sockaddr *addr) {
  socklen_t alen;
  if (addr->sa_family == AF_INET) {
    alen = sizeof(struct sockaddr_in);
  } else if (addr->sa_family == AF_INET6) {
    alen = sizeof(struct sockaddr_in6);
  } else {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  ep->fd =
      socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ep->fd < 0) {
    return MOQC_ERR_IO;
  }
  int bufsz = 8 << 20;
  (void)setsockopt(ep->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
  (void)setsockopt(ep->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
  if (addr->sa_family == AF_INET6) {
    int off = 0;
    (void)setsockopt(ep->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (ep->settings.reuse_port) {
    int one = 1;
    if (setsockopt(ep->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      return MOQC_ERR_IO;
    }
  }
  if (bind(ep->fd, addr, alen) != 0) {
    return MOQC_ERR_IO;
  }
  if (ep->gro) {
    int one = 1;
    ep->gro = setsockopt(ep->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  }
  ep->locallen = sizeof(ep->local);
  if (getsockname(ep->fd, (struct sockaddr *)&ep->local, &ep->locallen) != 0) {
    return MOQC_ERR_IO;
  }
  if (!ep_addr_specified((const struct sockaddr *)&ep->local, ep->locallen)) {
    int one = 1;
    bool ok =
        setsockopt(ep->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0 ||
        addr->sa_family == AF_INET6;
    if (addr->sa_family == AF_INET6) {
      ok = setsockopt(ep->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
                      sizeof(one)) == 0;
    }
    ep->pktinfo = ok;
  }
  return 0;
}

static void ep_free_mem(moqc_quic_endpoint *ep) {
  const moqc_mem *mem = ep->mem;
  moqc__cid_table_free(&ep->cids, mem);
  moqc__alpn_list_free(&ep->alpns, mem);
  moqc_mem_free(mem, ep->sendbuf);
  moqc_mem_free(mem, ep->recvbuf);
  moqc_mem_free(mem, ep);
}

int moqc_quic_endpoint_new(moqc_quic_endpoint **out, uv_loop_t *loop,
                           const struct sockaddr *addr,
                           const moqc_quic_settings *settings,
                           const moqc_quic_callbacks *callbacks,
                           void *user_data) {
  if (out == NULL || loop == NULL || addr == NULL || settings == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  const moqc_mem *mem = settings->mem;
  moqc_quic_endpoint *ep = moqc_mem_calloc(mem, 1, sizeof(*ep));
  if (ep == NULL) {
    return MOQC_ERR_NOMEM;
  }
  ep->mem = mem;
  ep->log = settings->log;
  ep->loop = loop;
  ep->fd = -1;
  ep->settings = *settings;
  if (callbacks != NULL) {
    ep->cb = *callbacks;
  }
  ep->user_data = user_data;
  if (mem != NULL) {
    /* ngtcp2's allocator has the same shape: its connections count against the
     * same hook. */
    ep->ngmem.user_data = mem->user_data;
    ep->ngmem.malloc = mem->malloc;
    ep->ngmem.free = mem->free;
    ep->ngmem.calloc = mem->calloc;
    ep->ngmem.realloc = mem->realloc;
  }
  int rv = moqc__alpn_list_parse(&ep->alpns, settings->alpns, mem);
  if (rv == 0) {
    rv = moqc__cid_table_init(&ep->cids, mem);
  }
  if (rv == 0) {
    ep->sendbuf =
        moqc_mem_malloc(mem, (size_t)MOQC__QUIC_BATCH * MOQC__QUIC_MAX_UDP);
    if (ep->sendbuf == NULL) {
      rv = MOQC_ERR_NOMEM;
    }
  }
  if (rv == 0 && (gnutls_rnd(GNUTLS_RND_RANDOM, ep->reset_secret,
                             sizeof(ep->reset_secret)) < 0 ||
                  gnutls_rnd(GNUTLS_RND_RANDOM, ep->token_secret,
                             sizeof(ep->token_secret)) < 0)) {
    rv = MOQC_ERR_INTERNAL;
  }
  ep->gso = !settings->no_gso;
  ep->gro = !settings->no_gso;
  if (rv == 0) {
    rv = ep_socket(ep, addr);
  }
  if (rv == 0) {
    ep->rslot = ep->gro ? MOQC__QUIC_GRO_SLOT : MOQC__QUIC_RECV_SLOT;
    ep->rnslots = ep->gro ? MOQC__QUIC_GRO_SLOTS : MOQC__QUIC_BATCH;
    ep->recvbuf = moqc_mem_malloc(mem, ep->rslot * ep->rnslots);
    if (ep->recvbuf == NULL) {
      rv = MOQC_ERR_NOMEM;
    }
  }
  if (rv == 0 && (uv_poll_init(loop, &ep->poll, ep->fd) != 0 ||
                  uv_poll_start(&ep->poll, UV_READABLE, ep_poll_cb) != 0)) {
    rv = MOQC_ERR_IO;
  }
  if (rv != 0) {
    if (ep->fd >= 0) {
      close(ep->fd);
    }
    ep_free_mem(ep);
    return rv;
  }
  ep->poll.data = ep;
  uv_prepare_init(loop, &ep->prepare);
  ep->prepare.data = ep;
  ep->open_handles = 2;
  *out = ep;
  return 0;
}

void moqc__ep_handle_closed(moqc_quic_endpoint *ep) {
  if (--ep->open_handles == 0 && ep->deleting) {
    if (ep->fd >= 0) {
      close(ep->fd);
    }
    ep_free_mem(ep);
  }
}

static void ep_close_cb(uv_handle_t *h) {
  moqc__ep_handle_closed(h->data);
}

void moqc_quic_endpoint_del(moqc_quic_endpoint *ep) {
  if (ep == NULL || ep->deleting) {
    return;
  }
  while (ep->conns != NULL) {
    moqc__conn_abort(ep->conns);
  }
  moqc__ep_flush(ep);
  ep->deleting = true;
  ep->dirty_head = NULL;
  uv_close((uv_handle_t *)&ep->poll, ep_close_cb);
  uv_close((uv_handle_t *)&ep->prepare, ep_close_cb);
}

uint16_t moqc_quic_endpoint_port(const moqc_quic_endpoint *ep) {
  if (ep->local.ss_family == AF_INET6) {
    return ntohs(((const struct sockaddr_in6 *)&ep->local)->sin6_port);
  }
  return ntohs(((const struct sockaddr_in *)&ep->local)->sin_port);
}

size_t moqc_quic_endpoint_conn_count(const moqc_quic_endpoint *ep) {
  return ep->nconns;
}
