/*
 * The endpoint's send side: datagrams are written into fixed slots of a batch
 * and leave with sendmmsg; runs to one peer go as one UDP_SEGMENT (GSO)
 * message; wildcard binds add the source address (IP_PKTINFO/IPV6_PKTINFO). A
 * blocked socket keeps the batch for the writable event. The test-only filter
 * drops or reorders datagrams here.
 */
#include "transport/quic_internal.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

#include "core/log.h"

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
      moqc__ep_want_writable(ep, true);
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
bool moqc__ep_addr_specified(const struct sockaddr *a, socklen_t len) {
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
      moqc__ep_addr_specified(src, srclen)) {
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
