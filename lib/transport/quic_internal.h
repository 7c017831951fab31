/*
 * Internal structures of the QUIC endpoint (ngtcp2 0.12 + GnuTLS on libuv). One
 * thread: the loop's. See include/moqc/quic.h for the public contract.
 */
#ifndef MOQC_TRANSPORT_QUIC_INTERNAL_H
#define MOQC_TRANSPORT_QUIC_INTERNAL_H

#include <moqc/quic.h>
#include <moqc/session.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <uv.h>

#include "transport/ngtcp2_compat.h"
#include "transport/quic_test.h"
#include "transport/tls.h"

/** Length of the connection ids we issue. */
#define MOQC__QUIC_SCIDLEN 16
/** Datagrams per recvmmsg / sendmmsg batch. */
#define MOQC__QUIC_BATCH 64
/** Largest UDP payload we send or accept (also our max_udp_payload_size
 * parameter). */
#define MOQC__QUIC_MAX_UDP 1500
/** Receive slot size; bigger datagrams arrive truncated and are dropped. */
#define MOQC__QUIC_RECV_SLOT 2048
/** With UDP_GRO: slots for coalesced datagrams (up to 64 KiB each), and how
 * many. */
#define MOQC__QUIC_GRO_SLOT 65536
#define MOQC__QUIC_GRO_SLOTS 16
/** Datagrams queued per connection before send_datagram refuses. */
#define MOQC__QUIC_MAX_DGRAMS 256
/** Chunks handed to one writev_stream call. */
#define MOQC__QUIC_MAX_VEC 16
/**
 * Ranges asked of an attached application per call. ngtcp2 puts at most one packet (about
 * 1.4 KB) into a call and asks again (WRITE_MORE) while the packet has room, and a session's
 * chunks are the frames as received (about 1 KB each), so more ranges are gathered and then
 * left unused: with 16, walking a group's chunk list for them (a cache miss per chunk) made
 * moqc_session_writev_stream 4.1 % of a relay serving 1000 QUIC viewers; with 4, 1.4 %.
 */
#define MOQC__QUIC_APP_VEC 4

/* ---- connection id table (quic_cid.c) ---- */

typedef struct moqc__cid_entry {
  ngtcp2_cid cid;
  moqc_quic_conn *conn;
  struct moqc__cid_entry *next;  /* bucket chain */
  struct moqc__cid_entry *cnext; /* the connection's own list */
} moqc__cid_entry;

typedef struct moqc__cid_table {
  moqc__cid_entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
  uint64_t seed;
} moqc__cid_table;

int moqc__cid_table_init(moqc__cid_table *t, const moqc_mem *mem);
void moqc__cid_table_free(moqc__cid_table *t, const moqc_mem *mem);
/** Returns the connection owning cid, or NULL. */
moqc_quic_conn *moqc__cid_table_find(const moqc__cid_table *t,
                                     const uint8_t *cid, size_t len);
/** Maps cid to conn (and links it into conn's list). Returns 0 or
 * MOQC_ERR_NOMEM. */
int moqc__cid_table_add(moqc__cid_table *t, const ngtcp2_cid *cid,
                        moqc_quic_conn *conn, const moqc_mem *mem);
/** Removes cid if conn owns it. */
void moqc__cid_table_remove(moqc__cid_table *t, const ngtcp2_cid *cid,
                            moqc_quic_conn *conn, const moqc_mem *mem);
/** Removes every cid of conn. */
void moqc__cid_table_remove_conn(moqc__cid_table *t, moqc_quic_conn *conn,
                                 const moqc_mem *mem);

/* ---- streams (quic_stream.c) ---- */

typedef struct moqc__quic_chunk {
  moqc_rcbuf *buf;
  const uint8_t *base;
  size_t len;
} moqc__quic_chunk;

typedef struct moqc__quic_stream {
  int64_t id;
  struct moqc__quic_stream *hnext;         /* hash chain */
  struct moqc__quic_stream *snext, *sprev; /* send list */
  moqc__quic_chunk *chunks;                /* ring of queued chunks */
  size_t cap, head, count;      /* ring: first unacked chunk, chunk count */
  size_t head_acked;            /* bytes of chunks[head] already acked */
  size_t sent_idx, sent_off;    /* send cursor, relative to head */
  uint64_t queued, sent, acked; /* byte totals */
  bool can_send, can_recv;
  bool fin_queued, fin_sent, reset, local_reset, blocked, in_send_list;
} moqc__quic_stream;

/* ---- connections (quic_conn.c) ---- */

/**
 * The allocator a connection gives ngtcp2 (quic_mem.c): settings.mem (or the
 * default) plus a list of live allocations, so that what ngtcp2 0.12 loses in
 * its object pool is released with the connection.
 */
typedef struct moqc__conn_mem {
  ngtcp2_mem ng;
  const moqc_mem *base;
  void *head;        /* the newest live allocation's header */
  size_t live;       /* live allocations */
  size_t live_bytes; /* bytes ngtcp2 asked for, still live */
  size_t peak_bytes; /* the most live_bytes ever was */
  size_t page;       /* the system page size (0: pages are never dropped) */
  uint32_t drops;    /* madvise calls made for this connection's blocks */
  uint32_t seq;      /* allocations made so far (each one's order) */
  uint8_t phase;     /* MOQC__MEM_PHASE_*: what the connection is doing */
} moqc__conn_mem;

/** Prepares m to allocate with base (may be NULL). */
void moqc__conn_mem_init(moqc__conn_mem *m, const moqc_mem *base);
/** Frees every allocation still live (after ngtcp2_conn_del); returns how
 * many there were. */
size_t moqc__conn_mem_free(moqc__conn_mem *m);

typedef enum moqc__conn_state {
  MOQC__CONN_OPEN = 0,     /* handshaking or established */
  MOQC__CONN_CLOSING = 1,  /* we sent CONNECTION_CLOSE; waiting 3 PTO */
  MOQC__CONN_DRAINING = 2, /* the peer closed; waiting 3 PTO */
  MOQC__CONN_DEAD = 3 /* destroyed, memory freed when the timer handle closes */
} moqc__conn_state;

typedef struct moqc__dgram {
  struct moqc__dgram *next;
  size_t len;
  uint8_t data[];
} moqc__dgram;

struct moqc_quic_conn {
  moqc__tls_peer tls_peer; /* must stay first: the GnuTLS session pointer */
  moqc_quic_endpoint *ep;
  ngtcp2_conn *conn;
  gnutls_session_t tls; /* NULL on a server once the handshake completed */
  char *sni;            /* the client's SNI, kept when tls was released */
  gnutls_certificate_credentials_t client_cred;
  moqc__alpn_list client_alpns;
  uv_timer_t timer;
  moqc_tstamp
      timer_deadline; /* what the armed timer is for; UINT64_MAX: not armed */
  uint64_t timer_starts,
      timer_early; /* uv_timer_start calls; fires with nothing due */
  uint64_t
      timer_soon; /* deadlines served by the endpoint's next-iteration pass */
  uint64_t wakes_direct,
      wakes_async; /* application wakes: on the loop / by uv_async_send */
  /* the endpoint's list of connections with a deadline under a millisecond
   * away (0: not listed, 1: waiting, 2: in the pass running now) */
  unsigned char soon;
  moqc_quic_conn *soon_prev, *soon_next;
  struct sockaddr_storage remote;
  socklen_t remotelen;
  void *user_data;
  const char *alpn; /* the negotiated ALPN: an entry of the list offered or
                       accepted (NUL-terminated); NULL before the handshake */
  moqc__conn_state state;
  bool server, handshake_done, reported, close_reported;
  bool close_requested, dirty, write_blocked;
  uint64_t close_app_code;
  char *close_reason;
  size_t close_reason_len;
  uint8_t *
      close_pkt; /* the CONNECTION_CLOSE packet, resent in the closing period */
  size_t close_pktlen;
  unsigned close_resends;
  /* streams */
  moqc__quic_stream **sbuckets;
  size_t nsbuckets, nstreams;
  moqc__quic_stream *send_head, *send_tail;
  /* datagrams */
  moqc__dgram *dg_head, *dg_tail;
  size_t ndgrams;
  /* bookkeeping */
  moqc__cid_entry *cids;
  moqc_quic_conn *prev, *next;             /* the endpoint's list */
  moqc_quic_conn *dirty_prev, *dirty_next; /* the endpoint's dirty list */
  uint64_t pkts_sent, pkts_recv;
  uint64_t bytes_sent, bytes_recv; /* UDP payload bytes */
  unsigned handles;                /* libuv handles still open (timer, async) */
  moqc__conn_mem ngmem; /* what ngtcp2 allocates for this connection */
  uint32_t keys_waiting; /* next-phase keys not built yet (quic_keys.c) */
  uint32_t keys_built;   /* next-phase keys built when first used */
  /* the attached stream application (quic_app.c) */
  const moqc_stream_app_ops *app_ops;
  void *app;
  uv_async_t async;
  bool async_open, app_poll_pending, app_closing;
  bool in_write; /* inside this connection's write pass (and the application's
                    poll) */
  struct moqc__app_close *app_closes; /* stream closes waiting for delivery */
  size_t napp_closes, app_closes_cap;
};

/** A stream close waiting to be told to the application (never from inside an
 * ngtcp2 call). */
typedef struct moqc__app_close {
  int64_t id;
  bool stopped;
  uint64_t code;
} moqc__app_close;

/* ---- endpoint (quic_endpoint.c) ---- */

struct moqc_quic_endpoint {
  const moqc_mem *mem;
  const moqc_log *log;
  uv_loop_t *loop;
  uv_poll_t poll;
  uv_prepare_t prepare;
  int fd;
  struct sockaddr_storage local;
  socklen_t locallen;
  moqc_quic_settings settings;
  moqc_quic_callbacks cb;
  void *user_data;
  moqc__alpn_list alpns;
  gnutls_priority_t tls_prio; /* parsed once, shared by every TLS session */
  moqc__cid_table cids;
  moqc_quic_conn *conns;
  size_t nconns;
  moqc_quic_conn *dirty_head;
  /* Connections whose deadline is under a millisecond away: served together by
   * one endpoint timer on the next loop iteration, instead of each starting
   * (and libuv heap-sorting) a zero timer of its own. */
  uv_timer_t soon_timer;
  moqc_quic_conn *soon_head;  /* waiting for the next pass */
  moqc_quic_conn *soon_batch; /* in the pass running now */
  bool soon_armed;
  bool deleting, writable_wanted, prepare_active;
  unsigned open_handles;
  uint8_t reset_secret[32];
  uint8_t token_secret[32]; /* Retry tokens */
  /* send batch */
  uint8_t *sendbuf; /* MOQC__QUIC_BATCH slots of MOQC__QUIC_MAX_UDP */
  size_t sendlen[MOQC__QUIC_BATCH];
  struct sockaddr_storage senddst[MOQC__QUIC_BATCH];
  socklen_t senddstlen[MOQC__QUIC_BATCH];
  struct sockaddr_storage
      sendsrc[MOQC__QUIC_BATCH]; /* source address (pktinfo), if any */
  socklen_t sendsrclen[MOQC__QUIC_BATCH];
  size_t nsend;
  bool send_blocked;
  bool gso; /* send runs of datagrams with UDP_SEGMENT */
  /* receive batch */
  uint8_t *recvbuf; /* rnslots slots of rslot bytes */
  size_t rslot, rnslots;
  bool gro; /* the kernel may hand us coalesced datagrams (UDP_GRO) */
  uint64_t rctrl[MOQC__QUIC_BATCH]
                [16]; /* cmsg space, aligned for struct cmsghdr */
  /* Bound to a wildcard address: learn each packet's destination (IP_PKTINFO /
   * IPV6_PKTINFO) and answer from it, so multi-homed hosts reply from the
   * address the peer used. */
  bool pktinfo;
  struct sockaddr_storage
      cur_local; /* the local address of the packet being handled */
  socklen_t cur_locallen;
  struct mmsghdr rmsgs[MOQC__QUIC_BATCH];
  struct iovec riov[MOQC__QUIC_BATCH];
  struct sockaddr_storage rsrc[MOQC__QUIC_BATCH];
  moqc_tstamp recv_ts; /* when the current batch was read */
  /* test-only send filter */
  moqc__quic_send_filter filter;
  void *filter_ud;
  uint8_t held[MOQC__QUIC_MAX_UDP];
  size_t heldlen;
  struct sockaddr_storage helddst;
  socklen_t helddstlen;
};

/**
 * The loop whose QUIC callback this thread is running now (NULL outside them).
 * A wake issued from inside one for a connection of that loop is on the loop's
 * thread and needs no uv_async_send (quic_app.c).
 */
extern _Thread_local uv_loop_t *moqc__quic_running_loop;

/** The current time of the loop's clock, ns. */
moqc_tstamp moqc__quic_now(void);

/** Returns a free send slot (flushing a full batch first), or NULL when the
 * socket is blocked. */
uint8_t *moqc__ep_send_slot(moqc_quic_endpoint *ep);
/**
 * Commits len bytes written into the current slot, to be sent to dst from src
 * (src may be NULL or unspecified: the kernel chooses).
 */
void moqc__ep_send_commit(moqc_quic_endpoint *ep, size_t len,
                          const struct sockaddr *dst, socklen_t dstlen,
                          const struct sockaddr *src, socklen_t srclen);
/** The local address a server connection sees for the packet being handled. */
const struct sockaddr *moqc__ep_packet_local(const moqc_quic_endpoint *ep,
                                             socklen_t *len);
/** Makes cid (random, MOQC__QUIC_SCIDLEN bytes) name ep when the endpoints on
 * its port steer by connection id (moqc_quic_settings.steer_count). */
void moqc__ep_steer_cid(const moqc_quic_endpoint *ep, uint8_t *cid);

/** Sends every committed datagram (sendmmsg). */
void moqc__ep_flush(moqc_quic_endpoint *ep);
/** Polls for writability too (a send was blocked) or stops doing so. */
void moqc__ep_want_writable(moqc_quic_endpoint *ep, bool on);
/** True when a is a concrete (not wildcard) IPv4 or IPv6 address. */
bool moqc__ep_addr_specified(const struct sockaddr *a, socklen_t len);
/** Reads and dispatches what the socket holds, running the writes after every
 * batch (quic_recv.c). */
void moqc__ep_recv(moqc_quic_endpoint *ep);
/** Marks conn as having work for the write loop (runs before the loop next
 * blocks). */
void moqc__ep_mark_dirty(moqc_quic_endpoint *ep, moqc_quic_conn *conn);
/** Removes conn from the dirty list. */
void moqc__ep_unmark_dirty(moqc_quic_endpoint *ep, moqc_quic_conn *conn);
/** Counts one closed libuv handle of ep; the last one frees a deleted endpoint.
 */
void moqc__ep_handle_closed(moqc_quic_endpoint *ep);
/** Serves conn's deadline (under a millisecond away) in the endpoint's pass on
 * the next loop iteration. */
void moqc__ep_soon_add(moqc_quic_endpoint *ep, moqc_quic_conn *conn);
/** Takes conn off the endpoint's soon lists. */
void moqc__ep_soon_remove(moqc_quic_endpoint *ep, moqc_quic_conn *conn);
/** What the connection timer does when it fires (quic_conn_life.c): runs what
 * is due, writes, re-arms. Does not flush. */
void moqc__conn_on_timer(moqc_quic_conn *conn);
/** Runs the write loop of every dirty connection, then flushes. */
void moqc__ep_run_dirty(moqc_quic_endpoint *ep);

/**
 * Creates a server connection for an Initial packet; odcid is the original
 * destination id recovered from a valid Retry token (NULL without Retry).
 * Returns 0 or a negative error.
 */
int moqc__conn_accept(moqc_quic_endpoint *ep, const ngtcp2_pkt_hd *hd,
                      const ngtcp2_cid *odcid, const struct sockaddr *remote,
                      socklen_t remotelen, moqc_quic_conn **out);
/**
 * Releases a server connection's GnuTLS session once the handshake has
 * completed (keeps the SNI); ngtcp2 needs it for nothing more: 1-RTT keys and
 * key updates live in ngtcp2's own contexts. CRYPTO data arriving later closes
 * the connection with unexpected_message. Does nothing on a client or before
 * completion.
 */
void moqc__conn_release_tls(moqc_quic_conn *c);
/** Feeds one received datagram to conn. */
void moqc__conn_read(moqc_quic_conn *conn, const struct sockaddr *remote,
                     socklen_t remotelen, const uint8_t *data, size_t len);
/** Runs conn's write loop (and a requested close), then re-arms its timer. */
void moqc__conn_write(moqc_quic_conn *conn);
/** Fills path for conn with remote and the local address (quic_conn.c). */
/* ---- next-phase keys built on first use (quic_keys.c) ---- */

/** ngtcp2's update_key: ngtcp2_crypto_update_key, then both new AEAD
 * contexts deferred until first used (user_data: the connection). */
int moqc__quic_update_key_cb(ngtcp2_conn *conn, uint8_t *rx_secret,
                             uint8_t *tx_secret,
                             ngtcp2_crypto_aead_ctx *rx_aead_ctx,
                             uint8_t *rx_iv,
                             ngtcp2_crypto_aead_ctx *tx_aead_ctx,
                             uint8_t *tx_iv, const uint8_t *current_rx_secret,
                             const uint8_t *current_tx_secret,
                             size_t secretlen, void *user_data);
/** ngtcp2's encrypt and decrypt: ngtcp2_crypto_encrypt_cb / decrypt_cb,
 * building a deferred context first. */
int moqc__quic_encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                          const ngtcp2_crypto_aead_ctx *aead_ctx,
                          const uint8_t *plaintext, size_t plaintextlen,
                          const uint8_t *nonce, size_t noncelen,
                          const uint8_t *aad, size_t aadlen);
int moqc__quic_decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                          const ngtcp2_crypto_aead_ctx *aead_ctx,
                          const uint8_t *ciphertext, size_t ciphertextlen,
                          const uint8_t *nonce, size_t noncelen,
                          const uint8_t *aad, size_t aadlen);
/** ngtcp2's delete_crypto_aead_ctx, for deferred contexts too. */
void moqc__quic_delete_aead_ctx_cb(ngtcp2_conn *conn,
                                   ngtcp2_crypto_aead_ctx *aead_ctx,
                                   void *user_data);

void moqc__conn_path(moqc_quic_conn *c, ngtcp2_path *path,
                     const struct sockaddr *remote, socklen_t remotelen);
/** Destroys conn at once: ids, streams, ngtcp2 and TLS state; the memory goes
 * when its libuv handles are closed (quic_conn_life.c). */
void moqc__conn_destroy(moqc_quic_conn *c);
/** Closes conn for endpoint deletion: best-effort CONNECTION_CLOSE, no
 * callback. */
void moqc__conn_abort(moqc_quic_conn *conn);

/** The ngtcp2 callbacks for streams and datagrams (quic_stream.c). */
void moqc__stream_fill_callbacks(ngtcp2_callbacks *cb);
/** Frees every stream of conn, dropping queued buffers. */
void moqc__streams_free(moqc_quic_conn *conn);
/** Writes stream and datagram data into packets; returns 0 or a fatal ngtcp2
 * error. */
int moqc__conn_write_streams(moqc_quic_conn *conn, moqc_tstamp ts);
/** Frees queued datagrams. */
void moqc__dgrams_free(moqc_quic_conn *conn);
/** Finds a stream of conn, or NULL. */
moqc__quic_stream *moqc__stream_find(const moqc_quic_conn *conn, int64_t id);

/* ---- the stream-application adapter (quic_app.c); every hook assumes
 * conn->app_ops != NULL ---- */

moqc_ssize moqc__app_read(moqc_quic_conn *c, int64_t id, const uint8_t *data,
                          size_t len, bool fin);
void moqc__app_acked(moqc_quic_conn *c, int64_t id, uint64_t n);
void moqc__app_reset(moqc_quic_conn *c, int64_t id, uint64_t code);
void moqc__app_unblock(moqc_quic_conn *c, int64_t id);
void moqc__app_stream_closed(moqc_quic_conn *c, int64_t id, bool stopped,
                             uint64_t code);
void moqc__app_datagram(moqc_quic_conn *c, const uint8_t *data, size_t len);
void moqc__app_wants_poll(moqc_quic_conn *c);
/** Tells the application the connection ended (unless it closed it itself) and
 * detaches it. */
void moqc__app_closed(moqc_quic_conn *c, uint64_t code, const uint8_t *reason,
                      size_t len);
/** Delivers deferred events and a pending poll before the write loop. */
void moqc__app_before_write(moqc_quic_conn *c, moqc_tstamp ts);
/** Pulls the next stream ranges from the application (its writev_stream). */
moqc_ssize moqc__app_pull(moqc_quic_conn *c, int64_t *id, bool *fin,
                          ngtcp2_vec *vec, size_t max, moqc_tstamp ts);
/** Reports one writev_stream result for a pulled stream. Returns 0 or a fatal
 * ngtcp2 error. */
int moqc__app_wrote(moqc_quic_conn *c, int64_t id, ngtcp2_ssize nwrite,
                    ngtcp2_ssize ndatalen, bool fin, size_t vlen);
/** The application's next deadline (UINT64_MAX when none or detached). */
moqc_tstamp moqc__app_expiry(const moqc_quic_conn *c);
/** Runs the application's due timers. */
void moqc__app_handle_expiry(moqc_quic_conn *c, moqc_tstamp ts);
/** Releases the adapter's memory and closes its async handle (part of
 * conn_destroy). */
void moqc__app_free(moqc_quic_conn *c, uv_close_cb close_cb);
/** Asks for the close of conn with a library error turned into a moq-lite code.
 */
void moqc__conn_fail(moqc_quic_conn *c, int err);

#endif /* MOQC_TRANSPORT_QUIC_INTERNAL_H */
