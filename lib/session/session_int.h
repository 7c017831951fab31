/*
 * Internal state of a moq-lite session, shared by the lib/session files:
 *   session.c          lifecycle, close, the transport-facing entry points
 *   sess_stream.c      stream table, send queues (rcbuf chunks held until acked), scheduling,
 *                      receive buffering
 *   sess_setup.c       lite-05 SETUP and the legacy CLIENT_SETUP / SERVER_SETUP handshake
 *   sess_read.c        stream type dispatch of peer-opened streams
 *   pub_announce.c     publisher half: answering Announce streams from the local origin
 *   pub_resolve.c      publisher half: resolving a broadcast and track of the local origin
 *   pub_track.c        publisher half: Track streams (TRACK_INFO)
 *   pub_subscribe.c    publisher half: Subscribe streams
 *   pub_group.c        publisher half: group streams out
 *   pub_fetch.c        publisher half: Fetch streams
 *   sub_announce.c     subscriber half: Announce request, mirroring broadcasts
 *   sub_track.c        subscriber half: remote tracks on demand, upstream subscriptions
 *   sub_group.c        subscriber half: group streams and datagrams in
 *   sess_probe.c       publisher half: PROBE reports on the peer's Probe stream
 * One thread at a time; the only cross-thread entry is the waker, which calls transport wake.
 */
#ifndef MOQC_SESSION_INT_H
#define MOQC_SESSION_INT_H

#include <moqc/model.h>
#include <moqc/origin.h>
#include <moqc/session.h>

#include "core/log.h"
#include "wire/lite.h"

/** What a session stream is for. */
typedef enum sess_kind {
  SK_UNKNOWN = 0,   /* peer-opened, type not read yet */
  SK_DISCARD,       /* refused or finished: further bytes are dropped */
  SK_SETUP_TX,      /* our lite-05 Setup uni stream */
  SK_SETUP_RX,      /* the peer's lite-05 Setup uni stream */
  SK_LEGACY,        /* the legacy session stream (either side) */
  SK_ANNOUNCE_PUB,  /* peer asked us for announces */
  SK_ANNOUNCE_SUB,  /* we asked the peer for announces */
  SK_TRACK_PUB,     /* peer asked us for TRACK_INFO */
  SK_TRACK_SUB,     /* we asked the peer for TRACK_INFO */
  SK_SUBSCRIBE_PUB, /* peer subscribed to one of our tracks */
  SK_SUBSCRIBE_SUB, /* we subscribed to a peer track */
  SK_GROUP_TX,      /* a group we send */
  SK_GROUP_RX,      /* a group we receive */
  SK_PROBE,         /* peer's Probe stream: PROBE reports, or a FIN when we cannot measure */
  SK_GOAWAY,        /* peer's Goaway stream: logged and dropped */
  SK_FETCH_PUB      /* peer's Fetch stream, until the group is found (then SK_GROUP_TX) */
} sess_kind;

/** A queued byte range: inline bytes or a held rcbuf reference. */
typedef struct sess_chunk {
  struct sess_chunk *next;
  moqc_rcbuf *buf;
  const uint8_t *ptr;
  size_t len;
  uint8_t inl[];
} sess_chunk;

typedef struct sess_stream sess_stream;

/** Scheduling class: lower goes first. */
#define SESS_CLASS_CONTROL 0
#define SESS_CLASS_GROUP 1

struct sess_stream {
  moqc_stream_id id;
  sess_kind kind;
  /* Sending. */
  sess_chunk *head;
  sess_chunk *tail;
  uint64_t head_off; /* stream offset of head's first byte */
  uint64_t queued;   /* bytes queued in total */
  uint64_t written;  /* bytes the transport took */
  uint64_t acked;    /* bytes acknowledged */
  /* Write cursor: the chunk holding byte `written` and its first byte's offset; NULL when
   * every queued byte was written. */
  sess_chunk *wcur;
  uint64_t wcur_off;
  bool fin_queued;
  bool fin_written;
  bool send_done; /* reset, or we never send on it */
  bool blocked;
  /* Receiving. */
  uint8_t *rx;
  size_t rx_len;
  size_t rx_cap;
  bool rx_fin;  /* the peer's FIN was processed */
  bool rx_done; /* reset, stopped, or FIN processed */
  bool parked;  /* waiting for the peer's SETUP */
  /* Scheduling. */
  int sclass;
  uint8_t sub_priority;
  uint8_t pub_priority;
  bool ordered;
  uint64_t sequence;
  /* Bookkeeping of the session's tables (sess_stream.c). */
  size_t idx;       /* position in moqc_session.streams */
  size_t ready_pos; /* 1 + position in moqc_session.wready; 0 = not there */
  /* The kind's own state (owned; freed by sess_stream_free according to kind). */
  void *ctx;
};

/** A broadcast mirrored from the peer (subscriber half). */
typedef struct sub_broadcast sub_broadcast;
/** A track of a mirrored broadcast served by a remote subscription. */
typedef struct sub_track sub_track;

struct moqc_session {
  moqc_session_settings settings;
  char *setup_path;
  char *announce_prefix;
  const moqc_mem *mem;
  moqc_transport tp;
  moqc_origin_consumer *publish;
  moqc_origin_producer *mirror;
  moqc_usage_ctx *usage;
  moqc_waker *waker;

  moqc_lite_version version;
  bool is_server;
  bool started;
  bool ready;       /* the version is known */
  bool serving;     /* the handshake is done: both halves run */
  bool peer_setup;  /* lite-05: the peer's SETUP arrived */
  bool closed;
  int error;
  uint64_t peer_origin;
  moqc_tstamp setup_deadline;
  moqc_tstamp now;
  /* The earliest delayed Subscribe FIN (settings.end_linger) not yet sent; UINT64_MAX = none. */
  moqc_tstamp end_fin_due;

  sess_stream **streams;
  size_t nstreams;
  size_t cap_streams;
  sess_stream *last_found; /* lookup cache; cleared when that stream is freed */
  /* Streams by id: open addressing, linear probing, 2^map_bits slots, at most half full. */
  sess_stream **map;
  unsigned map_bits;
  /* The streams that want to write (sess_stream_wants_write), a binary heap in scheduling order
   * (wready[0] goes first); capacity cap_ready >= nstreams, so inserting never allocates. */
  sess_stream **wready;
  size_t nready;
  size_t cap_ready;
  /* Free chunk headers (with SESS_CHUNK_POOL_INL bytes of inline room), at most
   * SESS_CHUNK_POOL_MAX; emptied whenever no stream holds a chunk (chunks_live == 0), so an idle
   * session keeps none. */
  sess_chunk *chunk_pool;
  size_t chunk_pool_n;
  size_t chunks_live; /* chunks queued on streams */

  /* Subscriber half. */
  sess_stream *announce_sub; /* our Announce request stream, or NULL */
  sub_broadcast *broadcasts;  /* mirrored broadcasts */
  sub_track *tracks;          /* remote tracks (all broadcasts) */
  uint64_t next_subscribe_id;
  bool need_announce_request; /* open the Announce stream when possible */

  /* Publisher half: subscriptions with groups waiting for stream credit (pub_subscribe.c). */
  size_t pub_waiting_subs;

  /* Publisher half: the one Probe stream we report on (sess_probe.c). */
  moqc_stream_id probe_id;  /* MOQC_STREAM_NONE = none */
  moqc_tstamp probe_due;    /* next sample; UINT64_MAX = none */
  moqc_tstamp probe_sent_at; /* when the last PROBE was queued */
  bool probe_sent;          /* a PROBE was queued on probe_id */
  uint64_t probe_bitrate;   /* the last PROBE's measurements (bits/s, ns; 0 = unknown) */
  uint64_t probe_rtt_ns;
};

/* ---- session.c ---- */

/** Closes the session with err (a moq-lite wire code is derived) and reason. */
void moqc__sess_fail(moqc_session *s, int err, const char *reason);
/** The session became ready (version known): opens the subscriber half's streams. */
int moqc__sess_on_ready(moqc_session *s);

/* ---- sess_stream.c ---- */

/**
 * Re-files st in the write scheduler after anything sess_wants_write or the order reads changed
 * outside sess_stream.c: sclass, sub_priority, pub_priority, ordered, sequence.
 */
void moqc__sess_sched_update(moqc_session *s, sess_stream *st);
/** Finds a stream, or NULL. */
sess_stream *moqc__sess_find(moqc_session *s, moqc_stream_id id);
/** Adds a stream with id and kind. Returns it, or NULL on out-of-memory. */
sess_stream *moqc__sess_add(moqc_session *s, moqc_stream_id id, sess_kind kind);
/** Opens a local stream of kind (uni or bidi). Returns 0, MOQC_ERR_WOULD_BLOCK, or an error. */
int moqc__sess_open(moqc_session *s, bool uni, sess_kind kind, sess_stream **out);
/** Queues a copy of data[0..len). Returns 0 or MOQC_ERR_NOMEM. */
int moqc__sess_queue_copy(moqc_session *s, sess_stream *st, const uint8_t *data, size_t len);
/** Queues a range of buf, taking a new reference. Returns 0 or MOQC_ERR_NOMEM. */
int moqc__sess_queue_buf(moqc_session *s, sess_stream *st, moqc_rcbuf *buf, size_t off,
                         size_t len);
/** Queues the FIN. */
void moqc__sess_queue_fin(moqc_session *s, sess_stream *st);
/** Resets our sending side with err's wire code and drops the queue. */
void moqc__sess_reset(moqc_session *s, sess_stream *st, int err);
/** Stops the peer's sending side with err's wire code; further bytes are dropped. */
void moqc__sess_stop(moqc_session *s, sess_stream *st, int err);
/** Resets and stops (as each applies) and detaches the kind state: the stream is dead to us. */
void moqc__sess_abandon(moqc_session *s, sess_stream *st, int err);
/**
 * A peer's protocol violation on one stream: abandons the stream (spec 5.2), or closes the whole
 * session with err when settings.strict.
 */
void moqc__sess_violation(moqc_session *s, sess_stream *st, int err);
/** Bytes queued but not yet written. */
uint64_t moqc__sess_unwritten(const sess_stream *st);
/** Frees every stream (session teardown). */
void moqc__sess_streams_free(moqc_session *s);
/** Removes and frees one stream. */
void moqc__sess_remove(moqc_session *s, sess_stream *st);

/* ---- sess_read.c ---- */

/** Processes received bytes of a stream (after buffering rules). Returns 0 or a fatal error. */
int moqc__sess_feed(moqc_session *s, sess_stream *st, const uint8_t *data, size_t len, bool fin);
/** Re-runs parked streams once the peer's SETUP arrived. */
int moqc__sess_unpark(moqc_session *s);

/* ---- sess_setup.c ---- */

/** Starts the handshake of the configured version. */
int moqc__sess_setup_start(moqc_session *s);
/** Reads the peer's lite-05 SETUP stream. Consumes what it parses. */
int moqc__sess_setup_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                     bool fin);
/** Reads the legacy session stream (either side). */
int moqc__sess_legacy_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                      bool fin);

/* ---- pub_announce.c ---- */

int moqc__sess_pub_announce_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                            const uint8_t *end, bool fin);
int moqc__sess_pub_announce_poll(moqc_session *s, sess_stream *st);
void moqc__sess_pub_announce_free(moqc_session *s, sess_stream *st);

/* ---- pub_track.c ---- */

int moqc__sess_pub_track_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin);
int moqc__sess_pub_track_poll(moqc_session *s, sess_stream *st);
void moqc__sess_pub_track_free(moqc_session *s, sess_stream *st);
int moqc__sess_pub_subscribe_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                             const uint8_t *end, bool fin);
int moqc__sess_pub_subscribe_poll(moqc_session *s, sess_stream *st);
void moqc__sess_pub_subscribe_free(moqc_session *s, sess_stream *st);
int moqc__sess_pub_group_poll(moqc_session *s, sess_stream *st);
void moqc__sess_pub_group_free(moqc_session *s, sess_stream *st);
/**
 * Makes gs a group stream sending gc's frames (ownership of gc taken), for the subscription on
 * stream sub_stream (MOQC_STREAM_NONE for a fetch, whose stream has no GROUP header).
 */
int moqc__sess_pub_group_start(moqc_session *s, sess_stream *gs, moqc_group_consumer *gc,
                          moqc_stream_id sub_stream);

/* ---- pub_fetch.c ---- */

int moqc__sess_pub_fetch_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin);
int moqc__sess_pub_fetch_poll(moqc_session *s, sess_stream *st);
void moqc__sess_pub_fetch_free(moqc_session *s, sess_stream *st);
/** A group stream was acknowledged, stopped or closed: its subscription may need more work. */
void moqc__sess_pub_group_stopped(moqc_session *s, sess_stream *st);

/* ---- sub_announce.c ---- */

int moqc__sess_sub_announce_open(moqc_session *s);
int moqc__sess_sub_announce_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                            const uint8_t *end, bool fin);
/** The Announce request stream ended (FIN, reset or close): every mirrored broadcast ends. */
void moqc__sess_sub_announce_ended(moqc_session *s, int err);
int moqc__sess_sub_poll(moqc_session *s);
void moqc__sess_sub_free_all(moqc_session *s);

/* ---- sub_track.c ---- */

int moqc__sess_sub_track_info_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                              const uint8_t *end, bool fin);
int moqc__sess_sub_subscribe_read(moqc_session *s, sess_stream *st, const uint8_t **p,
                             const uint8_t *end, bool fin);
int moqc__sess_sub_group_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                         bool fin);
/** The peer reset a stream of ours (subscriber half kinds). */
void moqc__sess_sub_stream_reset(moqc_session *s, sess_stream *st, int err);
void moqc__sess_sub_stream_free(moqc_session *s, sess_stream *st);
/** The earliest time an unused mirrored track must be dropped (UINT64_MAX = none). */
moqc_tstamp moqc__sess_sub_expiry(const moqc_session *s);
/** Sends the delayed Subscribe FINs (settings.end_linger) due at s->now; recomputes end_fin_due. */
void moqc__sess_pub_end_poll(moqc_session *s);
/** A datagram arrived: routed to its subscription's track, or dropped. */
int moqc__sess_sub_datagram(moqc_session *s, const uint8_t *data, size_t len);

/* ---- sess_probe.c ---- */

/** Sampling period of a Probe stream (spec 4.8). */
#define SESS_PROBE_PERIOD (100 * MOQC_MILLISECONDS)
/** A PROBE goes out at least this often, and the change threshold decays to 0 over it. */
#define SESS_PROBE_MAX_QUIET (10 * MOQC_SECONDS)

/** True when the transport reports its path (get_stats exists and succeeds now). */
bool moqc__sess_probe_can_measure(moqc_session *s);
/**
 * The peer opened Probe stream st (kind SK_PROBE): reports on it when the transport can measure
 * and no other Probe stream is reported on, else FINs our side.
 */
void moqc__sess_probe_open(moqc_session *s, sess_stream *st);
/** Reads the peer's side of a Probe stream (PROBE targets, ignored); its FIN ends our side. */
int moqc__sess_probe_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                          bool fin);
/** Stops reporting on st (if it is the reported stream); queues our FIN when fin. */
void moqc__sess_probe_stop(moqc_session *s, sess_stream *st, bool fin);
/** Samples the transport when due at s->now and queues a PROBE by the spec 4.8 rule. */
void moqc__sess_probe_tick(moqc_session *s);

#endif /* MOQC_SESSION_INT_H */
