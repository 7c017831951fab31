/*
 * The QUIC endpoint: its lifecycle, the non-blocking UDP socket (offloads,
 * pktinfo, SO_REUSEPORT) polled with uv_poll_t, and the list of connections
 * with pending writes, run before the loop blocks. Sending is in quic_send.c,
 * receiving and dispatch in quic_recv.c.
 */
#include "transport/quic_internal.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "core/log.h"

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

static void ep_poll_cb(uv_poll_t *h, int status, int events);

int moqc__quic_endpoint_rebind(moqc_quic_endpoint *ep) {
  struct sockaddr_storage a = ep->local;
  int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return MOQC_ERR_IO;
  }
  if (a.ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)&a)->sin6_port = 0;
  } else {
    ((struct sockaddr_in *)&a)->sin_port = 0;
  }
  if (bind(fd, (struct sockaddr *)&a, ep->locallen) != 0) {
    close(fd);
    return MOQC_ERR_IO;
  }
  /* The poll handle keeps its descriptor number: re-register it with the new
   * socket behind that number. */
  uv_poll_stop(&ep->poll);
  int rv = dup2(fd, ep->fd) < 0 ? MOQC_ERR_IO : 0;
  close(fd);
  if (uv_poll_start(&ep->poll,
                    UV_READABLE | (ep->writable_wanted ? UV_WRITABLE : 0),
                    ep_poll_cb) != 0) {
    rv = MOQC_ERR_IO;
  }
  return rv;
}

/* ---- dirty connections ---- */

_Thread_local uv_loop_t *moqc__quic_running_loop;

static void ep_prepare_cb(uv_prepare_t *h) {
  moqc_quic_endpoint *ep = h->data;
  uv_loop_t *prev = moqc__quic_running_loop;
  moqc__quic_running_loop = ep->loop;
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
  moqc__quic_running_loop = prev;
}

static void ep_soon_cb(uv_timer_t *t) {
  moqc_quic_endpoint *ep = t->data;
  uv_loop_t *prev = moqc__quic_running_loop;
  moqc__quic_running_loop = ep->loop;
  ep->soon_armed = false;
  /* Connections that ask again while this pass runs wait for the next one. */
  ep->soon_batch = ep->soon_head;
  ep->soon_head = NULL;
  for (moqc_quic_conn *c = ep->soon_batch; c != NULL; c = c->soon_next) {
    c->soon = 2;
  }
  while (ep->soon_batch != NULL && !ep->deleting) {
    moqc_quic_conn *c = ep->soon_batch;
    moqc__ep_soon_remove(ep, c);
    c->timer_soon++;
    moqc__conn_on_timer(c);
  }
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
  moqc__quic_running_loop = prev;
}

void moqc__ep_soon_add(moqc_quic_endpoint *ep, moqc_quic_conn *conn) {
  if (conn->soon == 1 || ep->deleting) {
    return;
  }
  moqc__ep_soon_remove(ep, conn);
  conn->soon = 1;
  conn->soon_prev = NULL;
  conn->soon_next = ep->soon_head;
  if (ep->soon_head != NULL) {
    ep->soon_head->soon_prev = conn;
  }
  ep->soon_head = conn;
  if (!ep->soon_armed) {
    uv_timer_start(&ep->soon_timer, ep_soon_cb, 0, 0);
    ep->soon_armed = true;
  }
}

void moqc__ep_soon_remove(moqc_quic_endpoint *ep, moqc_quic_conn *conn) {
  if (conn->soon == 0) {
    return;
  }
  moqc_quic_conn **head = conn->soon == 1 ? &ep->soon_head : &ep->soon_batch;
  if (conn->soon_prev != NULL) {
    conn->soon_prev->soon_next = conn->soon_next;
  } else {
    *head = conn->soon_next;
  }
  if (conn->soon_next != NULL) {
    conn->soon_next->soon_prev = conn->soon_prev;
  }
  conn->soon = 0;
  conn->soon_prev = conn->soon_next = NULL;
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

static void ep_poll_cb(uv_poll_t *h, int status, int events) {
  moqc_quic_endpoint *ep = h->data;
  if (status < 0) {
    MOQC_LOG(ep->log, MOQC_LOG_WARN, "quic: poll error: %s",
             uv_strerror(status));
    return;
  }
  uv_loop_t *prev = moqc__quic_running_loop;
  moqc__quic_running_loop = ep->loop;
  if ((events & UV_WRITABLE) != 0) {
    ep->send_blocked = false;
    moqc__ep_flush(ep);
    if (!ep->send_blocked) {
      moqc__ep_want_writable(ep, false);
      for (moqc_quic_conn *c = ep->conns; c != NULL; c = c->next) {
        if (c->write_blocked) {
          c->write_blocked = false;
          moqc__ep_mark_dirty(ep, c);
        }
      }
    }
  }
  if ((events & UV_READABLE) != 0) {
    moqc__ep_recv(ep);
  }
  if (!ep->deleting) {
    moqc__ep_run_dirty(ep);
  }
  moqc__quic_running_loop = prev;
}

void moqc__ep_want_writable(moqc_quic_endpoint *ep, bool on) {
  if (ep->writable_wanted == on || ep->deleting) {
    return;
  }
  ep->writable_wanted = on;
  uv_poll_start(&ep->poll, UV_READABLE | (on ? UV_WRITABLE : 0), ep_poll_cb);
}

/* ---- lifecycle ---- */

/*
 * The reuseport group's filter (classic BPF, run on the UDP payload): the
 * first byte of the destination connection id (byte 1 of a short header
 * packet, byte 6 of a long header one) modulo the endpoint count is the index
 * of the socket that gets the datagram. A client's first Initial carries an id
 * it chose, which picks an endpoint at random but consistently; every id that
 * endpoint issues then names it (moqc__ep_steer_cid). A load past the end of a
 * short datagram ends the program with 0: endpoint 0 drops it as garbage.
 */
static int ep_attach_steering(moqc_quic_endpoint *ep) {
  struct sock_filter code[] = {
      {BPF_LD | BPF_B | BPF_ABS, 0, 0, 0},
      {BPF_JMP | BPF_JSET | BPF_K, 2, 0, 0x80},
      {BPF_LD | BPF_B | BPF_ABS, 0, 0, 1},
      {BPF_JMP | BPF_JA | BPF_K, 0, 0, 1},
      {BPF_LD | BPF_B | BPF_ABS, 0, 0, 6},
      {BPF_ALU | BPF_MOD | BPF_K, 0, 0, ep->settings.steer_count},
      {BPF_RET | BPF_A, 0, 0, 0},
  };
  struct sock_fprog prog = {(unsigned short)(sizeof(code) / sizeof(code[0])),
                            code};
  return setsockopt(ep->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
                    sizeof(prog));
}

void moqc__ep_steer_cid(const moqc_quic_endpoint *ep, uint8_t *cid) {
  uint32_t n = ep->settings.steer_count;
  if (n > 1) {
    /* A random multiple of n plus the index: still below 256. */
    cid[0] = (uint8_t)(ep->settings.steer_index + n * (cid[0] % (256U / n)));
  }
}

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
  if (ep->settings.reuse_port && ep->settings.steer_count > 1 &&
      ep->settings.steer_index == 0 && ep_attach_steering(ep) != 0) {
    /* A kernel without reuseport programs (before 4.5): the address hash still
     * spreads clients; only a client whose address changes loses its way. */
    MOQC_LOG(ep->log, MOQC_LOG_WARN,
             "quic: no connection-id steering on this port (%s); clients are "
             "spread by address only",
             strerror(errno));
  }
  if (ep->gro) {
    int one = 1;
    ep->gro = setsockopt(ep->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  }
  ep->locallen = sizeof(ep->local);
  if (getsockname(ep->fd, (struct sockaddr *)&ep->local, &ep->locallen) != 0) {
    return MOQC_ERR_IO;
  }
  if (!moqc__ep_addr_specified((const struct sockaddr *)&ep->local,
                               ep->locallen)) {
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
  if (ep->tls_prio != NULL) {
    gnutls_priority_deinit(ep->tls_prio);
  }
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
  if (settings->steer_count > 256 ||
      (settings->steer_count > 1 &&
       (!settings->reuse_port ||
        settings->steer_index >= settings->steer_count))) {
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
  int rv = moqc__alpn_list_parse(&ep->alpns, settings->alpns, mem);
  if (rv == 0) {
    rv = moqc__cid_table_init(&ep->cids, mem);
  }
  if (rv == 0) {
    rv = moqc__tls_priority_init(&ep->tls_prio);
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
  uv_timer_init(loop, &ep->soon_timer);
  ep->soon_timer.data = ep;
  ep->open_handles = 3;
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
  uv_close((uv_handle_t *)&ep->soon_timer, ep_close_cb);
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
