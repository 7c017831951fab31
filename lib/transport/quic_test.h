/*
 * Test-only hooks of the QUIC endpoint: a send filter that drops or reorders
 * outgoing datagrams to simulate loss on loopback. Never used by the relay.
 */
#ifndef MOQC_TRANSPORT_QUIC_TEST_H
#define MOQC_TRANSPORT_QUIC_TEST_H

#include <moqc/quic.h>

/** What a send filter decides for one outgoing datagram. */
#define MOQC__QUIC_FILTER_PASS 0
#define MOQC__QUIC_FILTER_DROP 1
/** Hold the datagram and send it after the next one that passes (a reordering).
 */
#define MOQC__QUIC_FILTER_DELAY 2

/** Decides the fate of an outgoing datagram pkt[0..len). */
typedef int (*moqc__quic_send_filter)(void *user_data, const uint8_t *pkt,
                                      size_t len);

/** Installs (or removes, with NULL) the send filter of ep. Test-only. */
void moqc__quic_endpoint_set_send_filter(moqc_quic_endpoint *ep,
                                         moqc__quic_send_filter filter,
                                         void *user_data);

/**
 * Moves ep to a fresh socket on another port of the same address, while its
 * connections keep their paths: to the server it looks like a NAT that changed
 * the client's mapping. Returns 0 or MOQC_ERR_IO. Test-only.
 */
int moqc__quic_endpoint_rebind(moqc_quic_endpoint *ep);

/** How many times conn's timer was started (uv_timer_start). Test-only. */
uint64_t moqc__quic_conn_timer_starts(const moqc_quic_conn *conn);

/** How many times conn's timer fired with nothing due (its deadline had moved
 * later). Test-only. */
uint64_t moqc__quic_conn_timer_early(const moqc_quic_conn *conn);

/** How many deadlines under a millisecond away the endpoint's next-iteration
 * pass served for conn (instead of a zero timer of its own). Test-only. */
uint64_t moqc__quic_conn_timer_soon(const moqc_quic_conn *conn);

/** How many application wakes conn took on its loop's thread (no async
 * handle) and through uv_async_send (from other threads). Test-only. */
void moqc__quic_conn_wakes(const moqc_quic_conn *conn, uint64_t *direct,
                           uint64_t *async);

/** Runs one write pass of conn (as after a read) and flushes. Test-only. */
void moqc__quic_conn_write_pass(moqc_quic_conn *conn);

/** Starts a key update on conn (ngtcp2_conn_initiate_key_update) and marks
 * it for writing. Returns 0 or a negative ngtcp2 error. Test-only. */
int moqc__quic_conn_initiate_key_update(moqc_quic_conn *conn);

/** Sends data[0..len) in a 1-RTT CRYPTO frame, as no well-behaved client does
 * after the handshake. Returns 0 or a negative ngtcp2 error. Test-only. */
int moqc__quic_conn_submit_crypto(moqc_quic_conn *conn, const uint8_t *data,
                                  size_t len);

/** What a connection holds, for memory tests. */
typedef struct moqc__quic_mem_stats {
  size_t ngtcp2_allocs;     /* live ngtcp2 allocations */
  size_t ngtcp2_bytes;      /* their bytes (as asked for, without headers) */
  size_t ngtcp2_peak_bytes; /* the most ngtcp2 ever held at once */
  bool has_tls;             /* the GnuTLS session is still allocated */
  uint32_t page_drops;      /* blocks whose inner pages were dropped */
  uint32_t keys_waiting;    /* next-phase AEAD contexts not built yet */
  uint32_t keys_built;      /* deferred ones built since, on first use */
} moqc__quic_mem_stats;

/** Fills st for conn. Test-only. */
void moqc__quic_conn_mem_stats(const moqc_quic_conn *conn,
                               moqc__quic_mem_stats *st);

/** What a connection was doing when ngtcp2 made an allocation. */
#define MOQC__MEM_PHASE_OTHER 0    /* stream and flow-control calls, deletion */
#define MOQC__MEM_PHASE_NEW 1      /* ngtcp2_conn_server_new / client_new */
#define MOQC__MEM_PHASE_READ_HS 2  /* read_pkt before the handshake completed */
#define MOQC__MEM_PHASE_READ 3     /* read_pkt after it completed */
#define MOQC__MEM_PHASE_WRITE_HS 4 /* a write pass before it completed */
#define MOQC__MEM_PHASE_WRITE 5    /* a write pass after it completed */
#define MOQC__MEM_PHASE_EXPIRY 6   /* ngtcp2_conn_handle_expiry */

/** One live ngtcp2 allocation of a connection. */
typedef struct moqc__quic_mem_block {
  const void *ptr; /* what ngtcp2 was given */
  size_t size;    /* bytes ngtcp2 asked for */
  uint32_t seq;   /* its order among all the connection's allocations (0..) */
  uint8_t phase;  /* MOQC__MEM_PHASE_* when it was made (or last resized) */
} moqc__quic_mem_block;

/** Copies up to cap of conn's live ngtcp2 allocations into out, oldest first;
 * returns how many are live. Test-only. */
size_t moqc__quic_conn_mem_blocks(const moqc_quic_conn *conn,
                                  moqc__quic_mem_block *out, size_t cap);

#endif /* MOQC_TRANSPORT_QUIC_TEST_H */
