/*
 * Internal state of the QMux engine, shared by ws_qmux.c (lifecycle, streams, transport
 * operations, timers), ws_qmux_recv.c (received frames) and ws_qmux_send.c (building messages).
 */
#ifndef MOQC_TRANSPORT_WS_QMUX_INT_H
#define MOQC_TRANSPORT_WS_QMUX_INT_H

#include <stdatomic.h>

#include "transport/ws_qmux.h"

/**
 * Streams of each kind the application may open before the peer's parameters arrive (a session
 * opens its control streams at start). They hold their data until the peer's limits allow them.
 */
#define WSQ_EARLY_STREAMS 16U

/** Index of the bidi / uni counters. */
#define WSQ_BIDI 0
#define WSQ_UNI 1

/** Engine states. */
#define WSQ_OPEN 0
/** A close frame is queued and not yet produced. */
#define WSQ_CLOSING 1
/** Over: the close frame was produced, or none is to be sent. */
#define WSQ_CLOSED 2

/** One queued control frame (or datagram), already encoded. */
typedef struct moqc__wsq_ctl {
  struct moqc__wsq_ctl *next;
  bool datagram;
  size_t len;
  uint8_t data[];
} moqc__wsq_ctl;

typedef struct moqc__wsq_stream {
  struct moqc__wsq_stream *hnext; /* hash chain */
  struct moqc__wsq_stream *prev;  /* list of every stream, in creation order */
  struct moqc__wsq_stream *next;
  moqc_stream_id id;
  bool local;
  bool has_send;
  bool has_recv;
  /* The application has heard of the stream (opened it or was handed data or a reset). */
  bool app_knows;
  /* Send side. */
  uint64_t send_off;
  uint64_t send_max;
  bool fin_sent;
  bool reset_sent;
  bool stop_recv;
  bool blocked;
  /* Receive side: buf[start, start + len) holds the bytes at [recv_consumed, recv_end). */
  uint8_t *buf;
  size_t start;
  size_t len;
  size_t cap;
  uint64_t recv_consumed;
  uint64_t recv_end;
  uint64_t recv_max;
  uint64_t recv_window;
  uint64_t final_size;
  bool final_known;
  bool fin_consumed;
  bool reset_recv;
  bool stop_sent;
  /* Inside read_stream: the buffer must not move. */
  bool in_read;
} moqc__wsq_stream;

struct moqc__wsq {
  const moqc_mem *mem;
  moqc__wsq_settings st;
  const moqc_stream_app_ops *ops;
  void *app;
  /* The peer's parameters, once received (legacy format: unlimited credit at once). */
  moqc__qmux_params peer;
  bool peer_tp;
  bool tp_sent;
  bool legacy;
  /* Streams: a chained hash by id and a list in creation order. */
  moqc__wsq_stream **slots;
  size_t nslots;
  size_t count;
  moqc__wsq_stream *head;
  moqc__wsq_stream *tail;
  /* Our streams: next index to open and the peer's limit, per kind. */
  uint64_t next_local[2];
  uint64_t peer_max_streams[2];
  /* Peer streams: next index not yet opened, the limit we advertised, how many closed. */
  uint64_t peer_next[2];
  uint64_t max_streams_adv[2];
  uint64_t peer_closed[2];
  /* Connection flow control. */
  uint64_t send_max;
  uint64_t sent;
  uint64_t recv_max;
  uint64_t recv_total;
  uint64_t recv_consumed;
  /* Queued control frames and datagrams. */
  moqc__wsq_ctl *q_head;
  moqc__wsq_ctl *q_tail;
  size_t queued;
  size_t queued_dgrams;
  /* Close. */
  int state;
  moqc__wsq_close_info close;
  /* Timers. */
  moqc_tstamp last_recv;
  moqc_tstamp last_send;
  bool clock_started;
  uint64_t ping_seq;
  /* Set by wake (any thread); consumed by moqc__wsq_service. */
  atomic_bool woken;
  /* Something changed that may complete streams. */
  bool need_sweep;
};

/** Finds a stream by id, or NULL. */
moqc__wsq_stream *moqc__wsq_find(const moqc__wsq *c, moqc_stream_id id);
/** Creates a stream (id must be absent). Returns it or NULL on out-of-memory. */
moqc__wsq_stream *moqc__wsq_stream_new(moqc__wsq *c, moqc_stream_id id);
/** Returns true when id was opened by us. */
bool moqc__wsq_is_local(const moqc__wsq *c, moqc_stream_id id);
/** Queues an encoded control frame (copied). Returns 0 or MOQC_ERR_NOMEM. */
int moqc__wsq_queue(moqc__wsq *c, const uint8_t *frame, size_t len, bool datagram);
/** Queues a frame described by f (encoded now). */
int moqc__wsq_queue_frame(moqc__wsq *c, const moqc__qmux_frame *f);
/** Closes the connection for a peer violation: CONNECTION_CLOSE code, app told. */
void moqc__wsq_fail(moqc__wsq *c, uint64_t code, uint64_t frame_type, const char *what);
/** Closes after an application callback failed (APPLICATION_CLOSE, app not told). */
void moqc__wsq_app_fail(moqc__wsq *c, int err);
/** Hands buffered bytes (and a FIN) of s to the application. */
void moqc__wsq_deliver(moqc__wsq *c, moqc__wsq_stream *s, moqc_tstamp ts);
/** Returns connection credit once the application consumed bytes (MAX_DATA at half window). */
void moqc__wsq_credit_conn(moqc__wsq *c);
/** Closes and frees every finished stream, raising MAX_STREAMS as peer streams finish. */
void moqc__wsq_sweep(moqc__wsq *c, moqc_tstamp ts);
/** Applies received peer parameters. */
void moqc__wsq_apply_peer(moqc__wsq *c);
/** True when the peer's stream limit covers locally opened stream s. */
bool moqc__wsq_local_allowed(const moqc__wsq *c, const moqc__wsq_stream *s);
/** Unblocks streams the peer's new limits (parameters, MAX_STREAMS) allow. */
void moqc__wsq_unblock_allowed(moqc__wsq *c);
/** True while application calls may be made. */
bool moqc__wsq_app_live(const moqc__wsq *c);

#endif /* MOQC_TRANSPORT_WS_QMUX_INT_H */
