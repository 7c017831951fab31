/*
 * Internal state of the WebTransport layer. wt_conn.c is the HTTP/3 +
 * WebTransport session machine: it is the stream application of a lower
 * transport (the QUIC connection, through moqc_transport) and the transport of
 * an upper application (the moq-lite session), and never touches a socket, a
 * timer or a clock. wt_server.c and wt_client.c glue it to the QUIC endpoint.
 * One thread: the loop's.
 */
#ifndef MOQC_TRANSPORT_WT_INT_H
#define MOQC_TRANSPORT_WT_INT_H

#include <moqc/webtransport.h>

#include "transport/h3_fields.h"
#include "wire/h3.h"

/** Kinds of stream the layer tracks. */
typedef enum moqc__wt_kind {
  MOQC__WTS_NEW = 0,     /* peer stream, header not read yet */
  MOQC__WTS_CONTROL_IN,  /* the peer's control stream */
  MOQC__WTS_CONTROL_OUT, /* our control stream */
  MOQC__WTS_REQUEST,     /* a request stream (the CONNECT stream) */
  MOQC__WTS_SESSION, /* a WebTransport stream of the session: bytes belong to
                        the app */
  MOQC__WTS_SKIP /* ignored (QPACK streams, unknown, refused): bytes dropped */
} moqc__wt_kind;

/** A piece of our own stream data (control and request streams), kept until
 * acknowledged. */
typedef struct moqc__wt_chunk {
  struct moqc__wt_chunk *next;
  size_t len, written, acked;
  uint8_t data[];
} moqc__wt_chunk;

/** The most bytes of a stream header (type varint + session id varint). */
#define MOQC__WT_HDR_MAX 16

/* Bounds of the frames we buffer whole. */
#define MOQC__WT_MAX_SETTINGS 4096U
#define MOQC__WT_MAX_SMALL_FRAME 64U
/* A CLOSE_WEBTRANSPORT_SESSION value: code + reason. */
#define MOQC__WT_MAX_CAPSULE (4U + MOQC__H3_WT_REASON_MAX)
#define MOQC__WT_CAP_BUF (MOQC__WT_MAX_CAPSULE + 16U)

/** The capsule parser of the CONNECT stream (allocated when its first DATA
 * payload comes). */
typedef struct moqc__wt_capbuf {
  uint64_t skip; /* bytes of a skipped capsule still to drop */
  size_t len;    /* bytes held in data */
  uint8_t data[MOQC__WT_CAP_BUF];
} moqc__wt_capbuf;

/* One stream of the connection. Every connection keeps a few for as long as
 * it lives (the control streams, the CONNECT stream, the session's streams),
 * so the record is kept small: the header bytes of a peer stream being
 * classified and of a session stream we opened share storage (a stream is
 * one or the other), lengths that are at most MOQC__WT_HDR_MAX are bytes, the
 * flags are bits, and the capsule parser is a separate allocation. */
typedef struct moqc__wt_stream {
  int64_t id;
  struct moqc__wt_stream *hnext;
  struct moqc__wt_stream *onext; /* list of streams carrying our own data */
  /* frame parsing (control / request streams; freed when empty) or early
   * bytes (session streams) */
  uint8_t *rx;
  size_t rxlen, rxcap;
  uint64_t skip_left; /* bytes of a frame to drop */
  uint64_t data_left; /* bytes of a DATA frame to feed to the capsule parser */
  moqc__wt_capbuf *cap; /* capsules of the CONNECT stream */
  /* our own data (control / request streams) */
  moqc__wt_chunk *out_head, *out_tail;
  union {
    uint8_t pre[MOQC__WT_HDR_MAX]; /* a new peer stream's header so far */
    uint8_t hdr[MOQC__WT_HDR_MAX]; /* the header of a session stream we opened */
  };
  moqc__wt_kind kind;
  uint8_t prelen;
  uint8_t hdrlen, hdr_written, hdr_acked;
  bool own_out : 1;     /* in the list of streams carrying our own data */
  bool lower_gone : 1;  /* closed in QUIC while early bytes still wait */
  bool local : 1;       /* opened by us */
  bool app_known : 1;   /* the application has seen this id */
  bool blocked : 1;     /* flow-control blocked (own streams) */
  bool fin_in : 1;      /* the peer's FIN arrived */
  bool early_fin : 1;   /* a FIN waits with the early bytes */
  bool got_headers : 1; /* request stream: the HEADERS came */
  bool fin_queued : 1, fin_offered : 1, fin_written : 1;
} moqc__wt_stream;

/** States of a connection's session. */
typedef enum moqc__wt_state {
  MOQC__WT_H3 = 0,    /* HTTP/3 up, no session */
  MOQC__WT_REQUESTED, /* server: CONNECT waits for the embedder; client: CONNECT
                         sent */
  MOQC__WT_OPEN,      /* session established */
  MOQC__WT_CLOSING,   /* close capsule sent or received; QUIC closes soon */
  MOQC__WT_DEAD       /* the QUIC connection is closed */
} moqc__wt_state;

/* What a CONNECT waiting for the embedder's answer holds: allocated when its
 * HEADERS pass the checks, freed once it is answered or aborted (an idle
 * session keeps none of it). */
typedef struct moqc__wt_req_data {
  moqc__h3_fieldset fields;
  moqc_str path, authority, origin; /* views into fields */
  moqc_str protocols[MOQC__H3_MAX_PROTOCOLS];
  size_t nprotocols;
} moqc__wt_req_data;

struct moqc_wt_request {
  moqc_wt_conn *conn;
  moqc__wt_req_data *d; /* while active */
  void (*abort_cb)(void *ud);
  void *abort_ud;
  bool active;
};

struct moqc_wt_conn {
  const moqc_mem *mem;
  const moqc_log *log;
  bool server;
  moqc_transport lower;
  /* glue */
  moqc_quic_conn *quic;
  void *owner;
  void (*on_request)(moqc_wt_conn *c); /* server: c->req is ready */
  void (*on_response)(moqc_wt_conn *c,
                      int status);  /* client: the CONNECT was answered */
  struct moqc_wt_conn *prev, *next; /* the owner's list */
  /* upper application */
  const moqc_stream_app_ops *app_ops;
  void *app;
  bool app_closed; /* told, or closed by itself: no more calls */
  moqc_wt_close_cb on_close;
  void *close_ud;
  /* state */
  moqc__wt_state state;
  int http_status;
  int64_t session_id;
  moqc__wt_stream *control_out, *connect;
  moqc__wt_stream *own_head;
  bool peer_control_seen, peer_settings_seen, goaway;
  bool peer_draining; /* the peer sent DRAIN_WEBTRANSPORT_SESSION or GOAWAY */
  bool drain_sent;
  moqc__h3_settings peer_settings;
  uint8_t *connect_frame; /* client: the CONNECT HEADERS frame, sent after the
                             peer SETTINGS */
  size_t connect_frame_len;
  /* streams */
  moqc__wt_stream **buckets;
  size_t nbuckets, nstreams;
  bool early_pending;
  size_t early_total; /* early bytes held over all streams */
  /* request (its record is allocated only while one waits) */
  moqc_wt_request req;
  /* negotiated */
  char protocol[65];
  size_t protocol_len;
  char *path;
  size_t path_len;
  /* close */
  bool lower_closed, arm_deadline, by_peer;
  moqc_tstamp close_deadline;
  uint64_t close_code;
  int close_err;
  /* limits */
  size_t max_header_size, max_early_bytes;
  moqc_tstamp close_linger;
};

/** The stream-application ops the layer gives the lower transport (app = the
 * moqc_wt_conn). */
extern const moqc_stream_app_ops moqc__wt_lower_ops;

/**
 * Initializes c (zeroed by the caller's allocation) for the server or the
 * client side over lower. Returns 0 or MOQC_ERR_NOMEM.
 */
int moqc__wt_conn_init(moqc_wt_conn *c, bool server, moqc_transport lower,
                       const moqc_mem *mem, const moqc_log *log);
/** Opens our control stream with SETTINGS. Returns 0 or an error (the caller
 * closes). */
int moqc__wt_conn_start(moqc_wt_conn *c);
/** Frees everything c holds (not c itself); aborts a pending request. */
void moqc__wt_conn_free(moqc_wt_conn *c);
/**
 * Called when the QUIC connection is gone (err / app_code / remote as the
 * endpoint reports): tells the application if it was not told, and fills info.
 */
void moqc__wt_conn_lower_gone(moqc_wt_conn *c, int err, uint64_t app_code,
                              bool remote, moqc_wt_close_info *info);
/** Closes the session from the owner or the application (capsule, FIN, then
 * QUIC close). */
void moqc__wt_conn_close_session(moqc_wt_conn *c, uint32_t code,
                                 const char *reason, size_t reason_len);

/* Early bytes held over all streams of a connection: this many times the
 * per-stream bound. */
#define MOQC__WT_MAX_EARLY_TOTAL_FACTOR 16U
/* RFC 9204 QPACK_DECOMPRESSION_FAILED. */
#define MOQC__WT_QPACK_DECOMPRESSION_FAILED 0x200U

/** True while the application is attached and was not told (nor asked for) the
 * close. */
static inline bool moqc__wt_app_live(const moqc_wt_conn *c) {
  return c->app_ops != NULL && !c->app_closed;
}

/* Internal functions shared by the wt_*.c files (each documented where it is
 * defined). */

/* wt_stream.c */
int moqc__wt_table_grow(moqc_wt_conn *c);
moqc__wt_stream *moqc__wt_stream_find(const moqc_wt_conn *c, int64_t id);
moqc__wt_stream *moqc__wt_stream_new(moqc_wt_conn *c, int64_t id,
                                     moqc__wt_kind kind, bool local);
void moqc__wt_stream_free(moqc_wt_conn *c, moqc__wt_stream *s);
void moqc__wt_stream_remove(moqc_wt_conn *c, moqc__wt_stream *s);
void moqc__wt_lower_close(moqc_wt_conn *c, uint64_t code, const char *reason);
/*
 * Resets every stream of the session in QUIC (WT_SESSION_GONE, both
 * directions where they exist) once the peer ended the session, as the
 * WebTransport draft asks: the QUIC connection lives on for the close
 * handshake and need not send or accept more of them. Not a licence to free
 * the application's send buffers: ngtcp2 0.12 retransmits a reset stream's
 * lost data until its RESET_STREAM is acknowledged, so they must stay until the
 * stream closes or the connection is gone (the session keeps them).
 */
void moqc__wt_reset_session_streams(moqc_wt_conn *c);
void moqc__wt_app_tell_closed(moqc_wt_conn *c, uint64_t code,
                              const char *reason, size_t len);
void moqc__wt_fail(moqc_wt_conn *c, uint64_t h3code, const char *what);
int moqc__wt_queue(moqc_wt_conn *c, moqc__wt_stream *s, const uint8_t *data,
                   size_t len, bool fin);
bool moqc__wt_own_pending(const moqc__wt_stream *s);
moqc_ssize moqc__wt_own_writev(moqc__wt_stream *s, bool *fin, moqc_vec *vec,
                               size_t veccnt);
moqc_ssize moqc__wt_rx_take(moqc_wt_conn *c, moqc__wt_stream *s,
                            const uint8_t *data, size_t len, size_t cap);
void moqc__wt_rx_consume(moqc__wt_stream *s, size_t n);
void moqc__wt_reject_stream(moqc_wt_conn *c, moqc__wt_stream *s, uint64_t code);
uint64_t moqc__wt_code_in(uint64_t wire);
uint64_t moqc__wt_code_out(uint64_t code);

/* wt_early.c */
moqc_ssize moqc__wt_session_data(moqc_wt_conn *c, moqc__wt_stream *s,
                                 const uint8_t *data, size_t len, bool fin,
                                 moqc_tstamp ts);
int moqc__wt_deliver_early(moqc_wt_conn *c, moqc_tstamp ts);

/* wt_control.c */
void moqc__wt_control_parse(moqc_wt_conn *c, moqc__wt_stream *s);

/* wt_request.c */
int moqc__wt_respond(moqc_wt_conn *c, moqc__wt_stream *s, int status,
                     const moqc__h3_field *fields, size_t n, bool fin);
void moqc__wt_request_reset(moqc_wt_conn *c, moqc_wt_request *r);
void moqc__wt_refuse_stream(moqc_wt_conn *c, moqc__wt_stream *s, int status);
void moqc__wt_peer_closed(moqc_wt_conn *c, uint64_t code, const char *reason,
                          size_t len);
void moqc__wt_request_parse(moqc_wt_conn *c, moqc__wt_stream *s);
moqc_ssize moqc__wt_frames_in(moqc_wt_conn *c, moqc__wt_stream *s,
                              const uint8_t *data, size_t len);

/* wt_connect.c */
void moqc__wt_server_headers(moqc_wt_conn *c, moqc__wt_stream *s,
                             const uint8_t *blk, size_t len);
void moqc__wt_client_headers(moqc_wt_conn *c, moqc__wt_stream *s,
                             const uint8_t *blk, size_t len);

#endif /* MOQC_TRANSPORT_WT_INT_H */
