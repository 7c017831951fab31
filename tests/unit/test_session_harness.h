/*
 * Test harness for sessions over the in-memory pair: nodes (an origin with producer and consumer
 * handles), links (a client and a server session on one pair), publishers and viewers.
 */
#ifndef TEST_SESSION_HARNESS_H
#define TEST_SESSION_HARNESS_H

#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/origin.h>
#include <moqc/session.h>

#include "transport/mem.h"

#define ID_P 0x00123456789ABCDEULL
#define ID_R 0x00000A0B0C0D0E0FULL
#define ID_S 0x0000111122223333ULL

typedef struct node {
  moqc_origin *origin;
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
} node;

typedef struct tlink {
  moqc__mem_pair *pair;
  moqc_session *c;
  moqc_session *s;
} tlink;

static inline void test_log(void *ud, moqc_log_level level, const char *msg) {
  fprintf(stderr, "[%s] %s\n", (const char *)ud, msg);
}

static inline void node_new(node *n, uint64_t id) {
  moqc_origin_settings os;
  moqc_origin_settings_default(&os);
  os.id = id;
  assert_int_equal(moqc_origin_new(&n->origin, &os), 0);
  assert_int_equal(moqc_origin_producer_new(n->origin, &n->prod), 0);
  assert_int_equal(moqc_origin_consumer_new(n->origin, &n->cons), 0);
}

static inline void node_del(node *n) {
  moqc_origin_producer_del(n->prod);
  moqc_origin_consumer_del(n->cons);
  moqc_origin_decref(n->origin);
}

/* Joins a client (node c) and a server (node s) with sessions of version v. Either node may be
 * NULL (no origin on that side). */
static inline void link_new(tlink *l, uint32_t v, node *c, uint64_t cid, node *s, uint64_t sid,
                     const moqc__mem_settings *ms) {
  memset(l, 0, sizeof(*l));
  assert_int_equal(moqc__mem_pair_new(&l->pair, ms, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.version = v;
  st.origin_id = cid;
  if (getenv("SESSION_LOG") != NULL) {
    st.log.write = test_log;
    st.log.level = MOQC_LOG_TRACE;
    st.log.user_data = (void *)"client";
  }
  moqc_transport tc = moqc__mem_transport(l->pair, MOQC__MEM_CLIENT);
  assert_int_equal(moqc_session_new(&l->c, &st, &tc, c ? c->cons : NULL, c ? c->prod : NULL,
                                    NULL),
                   0);
  st.perspective = MOQC_SESSION_SERVER;
  st.origin_id = sid;
  st.log.user_data = (void *)"server";
  moqc_transport ts = moqc__mem_transport(l->pair, MOQC__MEM_SERVER);
  assert_int_equal(moqc_session_new(&l->s, &st, &ts, s ? s->cons : NULL, s ? s->prod : NULL,
                                    NULL),
                   0);
  moqc__mem_attach(l->pair, MOQC__MEM_CLIENT, moqc_session_app_ops(), l->c);
  moqc__mem_attach(l->pair, MOQC__MEM_SERVER, moqc_session_app_ops(), l->s);
  moqc_tstamp now = moqc__mem_now(l->pair);
  assert_int_equal(moqc_session_start(l->s, now), 0);
  assert_int_equal(moqc_session_start(l->c, now), 0);
}

static inline void link_del(tlink *l) {
  moqc_session_del(l->c);
  moqc_session_del(l->s);
  moqc__mem_pair_del(l->pair);
}

static inline void pump(tlink **links, size_t n) {
  for (int round = 0; round < 50; round++) {
    moqc_ssize moved = 0;
    for (size_t i = 0; i < n; i++) {
      moqc_ssize r = moqc__mem_pump(links[i]->pair, SIZE_MAX, 20);
      assert_true(r >= 0);
      moved += r;
    }
    if (moved == 0) {
      return;
    }
  }
}

static inline void pump1(tlink *l) { pump(&l, 1); }

static inline void noop_wake(void *ud) { (void)ud; }

typedef struct pub {
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
} pub;

static inline void pub_new(pub *p, node *n, const char *path, const char *track) {
  assert_int_equal(moqc_origin_producer_create_broadcast(n->prod, moqc_str_c(path), NULL, &p->bp,
                                                         &p->guard),
                   0);
  moqc_track_info info;
  moqc_track_info_default(&info);
  info.priority = 1;
  assert_int_equal(moqc_broadcast_producer_create_track(p->bp, track, &info, &p->tp), 0);
}

static inline void pub_del(pub *p) {
  moqc_track_producer_del(p->tp);
  moqc_origin_publish_del(p->guard);
  moqc_broadcast_producer_del(p->bp);
}

static inline void pub_group(pub *p, moqc_tstamp now, int frames, uint64_t ts0) {
  moqc_group_producer *gp;
  assert_int_equal(moqc_track_producer_append_group(p->tp, now, &gp), 0);
  for (int i = 0; i < frames; i++) {
    uint8_t data[3] = {(uint8_t)moqc_group_producer_sequence(gp), (uint8_t)i, 0xAA};
    assert_int_equal(moqc_group_producer_write_frame(gp, data, sizeof(data), ts0 + 33 * (uint64_t)i),
                     0);
  }
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
}

/* A local viewer of one track. */
typedef struct viewer {
  moqc_waker *w;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
} viewer;

static inline void viewer_new(viewer *v, node *n, const char *path, const char *track) {
  memset(v, 0, sizeof(*v));
  assert_int_equal(moqc_waker_new(&v->w, noop_wake, NULL, NULL), 0);
  assert_int_equal(moqc_origin_consumer_consume_broadcast(n->cons, moqc_str_c(path), &v->bc), 0);
  assert_int_equal(moqc_broadcast_consumer_track(v->bc, track, &v->tc), 0);
}

static inline int viewer_subscribe(viewer *v) {
  if (v->ts != NULL) {
    return 0;
  }
  return moqc_track_consumer_subscribe(v->tc, NULL, &v->ts, v->w);
}

/* Reads every available whole group; stores sequences and frame counts. Returns groups read. */
static inline int viewer_read(viewer *v, uint64_t *seqs, uint64_t *frames, int max) {
  int n = 0;
  moqc_group_consumer *gc;
  while (n < max && moqc_track_subscriber_recv_group(v->ts, &gc, v->w) == 0) {
    seqs[n] = moqc_group_consumer_sequence(gc);
    uint64_t count = 0;
    moqc_rcbuf *buf;
    uint64_t ts;
    while (moqc_group_consumer_read_frame(gc, &buf, &ts, v->w) == 0) {
      assert_int_equal(moqc_rcbuf_len(buf), 3);
      assert_int_equal(moqc_rcbuf_data(buf)[0], (uint8_t)seqs[n]);
      assert_int_equal(moqc_rcbuf_data(buf)[1], (uint8_t)count);
      moqc_rcbuf_decref(buf);
      count++;
    }
    frames[n] = count;
    moqc_group_consumer_del(gc);
    n++;
  }
  return n;
}

static inline void viewer_del(viewer *v) {
  moqc_track_subscriber_del(v->ts);
  moqc_track_consumer_del(v->tc);
  moqc_broadcast_consumer_del(v->bc);
  moqc_waker_close(v->w);
}

/* ---- A raw peer: sends scripted bytes, records what it receives ------------------------------ */

#define RAW_STREAMS 16

typedef struct raw_stream {
  moqc_stream_id id;
  bool used;
  uint8_t tx[512];
  size_t tx_len;
  size_t tx_off;
  bool tx_fin;
  bool fin_sent;
  uint8_t rx[4096];
  size_t rx_len;
  bool rx_fin;
  bool reset;
  uint64_t reset_code;
  bool stopped;
  uint64_t stop_code;
} raw_stream;

typedef struct raw_peer {
  moqc_transport tp;
  raw_stream streams[RAW_STREAMS];
  bool closed;
  uint64_t close_code;
} raw_peer;

static inline raw_stream *raw_get(raw_peer *r, moqc_stream_id id, bool create) {
  for (int i = 0; i < RAW_STREAMS; i++) {
    if (r->streams[i].used && r->streams[i].id == id) {
      return &r->streams[i];
    }
  }
  if (!create) {
    return NULL;
  }
  for (int i = 0; i < RAW_STREAMS; i++) {
    if (!r->streams[i].used) {
      memset(&r->streams[i], 0, sizeof(r->streams[i]));
      r->streams[i].used = true;
      r->streams[i].id = id;
      return &r->streams[i];
    }
  }
  fail_msg("raw peer: too many streams");
  return NULL;
}

/* Opens a stream and queues hex bytes on it. Returns the id. */
static inline moqc_stream_id raw_open(raw_peer *r, bool uni, const char *hex, bool fin) {
  moqc_stream_id id;
  assert_int_equal(r->tp.ops->open_stream(r->tp.user_data, uni, &id), 0);
  raw_stream *st = raw_get(r, id, true);
  st->tx_len = test_unhex(hex, st->tx, sizeof(st->tx));
  st->tx_fin = fin;
  return id;
}

/* Queues more hex bytes on an existing stream. */
static inline void raw_send(raw_peer *r, moqc_stream_id id, const char *hex, bool fin) {
  raw_stream *st = raw_get(r, id, true);
  st->tx_len += test_unhex(hex, st->tx + st->tx_len, sizeof(st->tx) - st->tx_len);
  st->tx_fin = fin;
}

/* Asserts that stream id received exactly hex (and FIN when fin). */
static inline void raw_expect(raw_peer *r, moqc_stream_id id, const char *hex, bool fin) {
  uint8_t want[512];
  size_t n = test_unhex(hex, want, sizeof(want));
  raw_stream *st = raw_get(r, id, false);
  if (st == NULL) {
    fail_msg("raw peer: nothing received on stream %lld", (long long)id);
    return;
  }
  if (st->rx_len != n || memcmp(st->rx, want, n) != 0) {
    char got[3 * 512 + 1] = {0};
    for (size_t i = 0; i < st->rx_len && i < 512; i++) {
      snprintf(got + 3 * i, 4, "%02X ", st->rx[i]);
    }
    fail_msg("raw peer: stream %lld got %s", (long long)id, got);
  }
  assert_int_equal(st->rx_fin, fin);
}

static inline moqc_ssize raw_read(void *app, moqc_stream_id id, const uint8_t *data, size_t len,
                                  bool fin, moqc_tstamp ts) {
  raw_stream *st = raw_get(app, id, true);
  assert_true(st->rx_len + len <= sizeof(st->rx));
  memcpy(st->rx + st->rx_len, data, len);
  st->rx_len += len;
  st->rx_fin = st->rx_fin || fin;
  return (moqc_ssize)len;
}

static inline moqc_ssize raw_writev(void *app, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                                    size_t veccnt, moqc_tstamp ts) {
  raw_peer *r = app;
  for (int i = 0; i < RAW_STREAMS; i++) {
    raw_stream *st = &r->streams[i];
    if (st->used && !st->fin_sent && (st->tx_off < st->tx_len || st->tx_fin)) {
      *id = st->id;
      *fin = st->tx_fin;
      if (st->tx_off == st->tx_len) {
        return 0;
      }
      vec[0].base = st->tx + st->tx_off;
      vec[0].len = st->tx_len - st->tx_off;
      return 1;
    }
  }
  *id = MOQC_STREAM_NONE;
  return 0;
}

static inline int raw_write_off(void *app, moqc_stream_id id, size_t n) {
  raw_stream *st = raw_get(app, id, false);
  st->tx_off += n;
  if (st->tx_off == st->tx_len && st->tx_fin) {
    st->fin_sent = true;
  }
  return 0;
}

static inline int raw_ack(void *app, moqc_stream_id id, uint64_t n) { return 0; }
static inline int raw_block(void *app, moqc_stream_id id) { return 0; }
static inline int raw_reset(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  raw_stream *st = raw_get(app, id, true);
  st->reset = true;
  st->reset_code = code;
  return 0;
}
static inline int raw_stop(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  raw_stream *st = raw_get(app, id, true);
  st->stopped = true;
  st->stop_code = code;
  return 0;
}
static inline int raw_close_stream(void *app, moqc_stream_id id, moqc_tstamp ts) { return 0; }
static inline int raw_dgram(void *app, const uint8_t *d, size_t n, moqc_tstamp ts) { return 0; }
static inline int raw_poll(void *app, moqc_tstamp ts) { return 0; }
static inline moqc_tstamp raw_expiry(void *app) { return UINT64_MAX; }
static inline int raw_handle_expiry(void *app, moqc_tstamp ts) { return 0; }
static inline void raw_closed(void *app, uint64_t code, const char *reason, size_t len) {
  raw_peer *r = app;
  r->closed = true;
  r->close_code = code;
}

static const moqc_stream_app_ops raw_ops = {
    raw_read,  raw_writev,       raw_write_off, raw_ack,    raw_block,         raw_block,
    raw_reset, raw_stop,         raw_close_stream, raw_dgram, raw_poll, raw_expiry,
    raw_handle_expiry, raw_closed,
};

/* A pair with a session on side sess_side and a raw peer on the other. */
typedef struct raw_link {
  moqc__mem_pair *pair;
  moqc_session *s;
  raw_peer raw;
} raw_link;

static inline void raw_link_new_strict(raw_link *l, int sess_side, uint32_t v, uint64_t id,
                                       node *n, bool strict) {
  memset(l, 0, sizeof(*l));
  assert_int_equal(moqc__mem_pair_new(&l->pair, NULL, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.version = v;
  st.origin_id = id;
  st.strict = strict;
  st.perspective = sess_side == MOQC__MEM_SERVER ? MOQC_SESSION_SERVER : MOQC_SESSION_CLIENT;
  if (getenv("SESSION_LOG") != NULL) {
    st.log.write = test_log;
    st.log.level = MOQC_LOG_TRACE;
    st.log.user_data = (void *)"session";
  }
  moqc_transport t = moqc__mem_transport(l->pair, sess_side);
  assert_int_equal(
      moqc_session_new(&l->s, &st, &t, n ? n->cons : NULL, n ? n->prod : NULL, NULL), 0);
  moqc__mem_attach(l->pair, sess_side, moqc_session_app_ops(), l->s);
  l->raw.tp = moqc__mem_transport(l->pair, 1 - sess_side);
  moqc__mem_attach(l->pair, 1 - sess_side, &raw_ops, &l->raw);
  assert_int_equal(moqc_session_start(l->s, moqc__mem_now(l->pair)), 0);
}

static inline void raw_link_new(raw_link *l, int sess_side, uint32_t v, uint64_t id,
                                node *n) {
  raw_link_new_strict(l, sess_side, v, id, n, false);
}

static inline void raw_link_del(raw_link *l) {
  moqc_session_del(l->s);
  moqc__mem_pair_del(l->pair);
}

static inline void raw_pump(raw_link *l) { moqc__mem_pump(l->pair, SIZE_MAX, 50); }

#endif /* TEST_SESSION_HARNESS_H */
