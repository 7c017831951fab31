/*
 * Stream credit of a WebSocket connection with the default settings (moqc_ws_settings_default
 * mapped to engine settings as a connection does), seen from a hand-driven peer that sends one
 * uni stream per 1-frame group, as a moq-lite publisher or relay does.
 *
 * Why it matters: a moq-lite publisher out of stream credit keeps only the newest waiting group
 * (lib/session/pub_subscribe.c), and after a stall of the sender (a busy machine, a GC pause in a
 * browser) the whole backlog of groups is opened at once, before the sender reads any MAX_STREAMS
 * sent meanwhile. So the credit the peer holds at any moment must cover such a burst: at
 * 2,500 groups/s, 100 ms of groups is 250 streams. With 100 uni streams (the old default, and
 * MAX_STREAMS in steps of 25) a 30 ms stall lost groups.
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/session.h>
#include <moqc/transport.h>

#include "core/bytes.h"
#include "transport/ws_int.h"

/* Streams the peer must be able to open at once: 100 ms of 1-frame groups at 2,500 groups/s. */
#define BURST 250
#define FRAME 1000

/* ---- A stream application that reads everything at once and counts closed streams --------- */

typedef struct sink {
  size_t bytes;
  size_t fins;
  size_t closed_streams;
  bool closed;
} sink;

static moqc_ssize sink_read(void *ud, moqc_stream_id id, const uint8_t *data, size_t len,
                            bool fin, moqc_tstamp ts) {
  sink *a = ud;
  a->bytes += len;
  a->fins += fin ? 1 : 0;
  return (moqc_ssize)len;
}
static moqc_ssize sink_writev(void *ud, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                              size_t veccnt, moqc_tstamp ts) {
  *id = MOQC_STREAM_NONE;
  return 0;
}
static int sink_add(void *ud, moqc_stream_id id, size_t n) { return 0; }
static int sink_ack(void *ud, moqc_stream_id id, uint64_t n) { return 0; }
static int sink_block(void *ud, moqc_stream_id id) { return 0; }
static int sink_reset(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) { return 0; }
static int sink_close_stream(void *ud, moqc_stream_id id, moqc_tstamp ts) {
  sink *a = ud;
  a->closed_streams++;
  return 0;
}
static int sink_dgram(void *ud, const uint8_t *data, size_t len, moqc_tstamp ts) { return 0; }
static int sink_poll(void *ud, moqc_tstamp ts) { return 0; }
static moqc_tstamp sink_expiry(void *ud) { return UINT64_MAX; }
static int sink_handle_expiry(void *ud, moqc_tstamp ts) { return 0; }
static void sink_closed(void *ud, uint64_t code, const char *reason, size_t len) {
  sink *a = ud;
  a->closed = true;
}

static const moqc_stream_app_ops sink_ops = {
    .read_stream = sink_read,
    .writev_stream = sink_writev,
    .add_write_offset = sink_add,
    .add_ack_offset = sink_ack,
    .block_stream = sink_block,
    .unblock_stream = sink_block,
    .recv_reset = sink_reset,
    .recv_stop_sending = sink_reset,
    .close_stream = sink_close_stream,
    .recv_datagram = sink_dgram,
    .poll = sink_poll,
    .get_expiry = sink_expiry,
    .handle_expiry = sink_handle_expiry,
    .closed = sink_closed,
};

/* ---- The peer: opens uni streams within the credit it has seen ----------------------------- */

static void t_wake(void *glue) { (void)glue; }

typedef struct peer {
  moqc__wsq *e;
  sink app;
  bool engine_is_server;
  /* The uni stream limit the peer knows (our parameters, then MAX_STREAMS_UNI). */
  uint64_t limit;
  /* Uni streams the peer opened. */
  uint64_t opened;
  /* MAX_STREAMS_UNI frames received. */
  size_t max_streams_frames;
  moqc_tstamp now;
  uint8_t out[MOQC__WSQ_MESSAGE_MAX];
} peer;

/* Reads every message the engine has to send, tracking the parameters and MAX_STREAMS_UNI. */
static void peer_drain(peer *p) {
  for (;;) {
    moqc_ssize n = moqc__wsq_produce(p->e, p->out, sizeof(p->out), p->now);
    assert_true(n >= 0);
    if (n == 0) {
      return;
    }
    const uint8_t *c = p->out;
    const uint8_t *end = p->out + n;
    while (c < end) {
      moqc__qmux_frame f;
      assert_int_equal(moqc__qmux_frame_decode(&c, end, MOQC__QMUX_01, &f), 0);
      if (f.type == MOQC__QMUX_TRANSPORT_PARAMETERS) {
        moqc__qmux_params prm;
        assert_int_equal(moqc__qmux_params_decode(f.data, f.len, &prm), 0);
        p->limit = prm.initial_max_streams_uni;
      } else if (f.type == MOQC__QMUX_MAX_STREAMS_UNI) {
        assert_true(f.max > p->limit);
        p->limit = f.max;
        p->max_streams_frames++;
      }
    }
  }
}

static void peer_init(peer *p, bool engine_is_server) {
  memset(p, 0, sizeof(*p));
  p->engine_is_server = engine_is_server;
  p->now = MOQC_SECONDS;
  moqc_ws_settings ws;
  moqc_ws_settings_default(&ws);
  moqc__wsq_settings st;
  moqc__ws_engine_settings(&st, &ws, MOQC__QMUX_01, engine_is_server);
  st.wake = t_wake;
  assert_int_equal(moqc__wsq_new(&p->e, &st, NULL), 0);
  moqc__wsq_attach(p->e, &sink_ops, &p->app);
  peer_drain(p); /* our parameters */
  assert_true(p->limit > 0);
  /* The peer's parameters: none (all defaults), then we may start. */
  static const uint8_t tp[] = {0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x00};
  assert_int_equal(moqc__wsq_recv_message(p->e, tp, sizeof(tp), p->now), 0);
}

/* Appends one STREAM frame carrying a whole 1-frame group with FIN on the next uni stream. */
static void peer_put_group(peer *p, moqc__writer *w) {
  static uint8_t payload[FRAME];
  uint64_t id = (p->opened << 2) | 2U | (p->engine_is_server ? 0U : 1U);
  assert_true(p->opened < p->limit); /* The peer never exceeds the credit it has seen. */
  moqc__put_varint(w, MOQC__QMUX_STREAM | MOQC__QMUX_STREAM_OFF | MOQC__QMUX_STREAM_LEN |
                          MOQC__QMUX_STREAM_FIN);
  moqc__put_varint(w, id);
  moqc__put_varint(w, 0);
  moqc__put_varint(w, FRAME);
  moqc__put_raw(w, payload, FRAME);
  p->opened++;
}

/* Sends count groups back to back, packed into as few messages as fit, without reading what
 * the engine sends meanwhile (a sender catching up after a stall). */
static void peer_burst(peer *p, size_t count) {
  static uint8_t msg[16382];
  size_t sent = 0;
  while (sent < count) {
    moqc__writer w;
    moqc__writer_init(&w, msg, sizeof(msg));
    while (sent < count && (size_t)(w.end - w.p) > FRAME + 32) {
      peer_put_group(p, &w);
      sent++;
    }
    moqc_ssize n = moqc__writer_result(&w);
    assert_true(n > 0);
    assert_int_equal(moqc__wsq_recv_message(p->e, msg, (size_t)n, p->now), 0);
    p->now += MOQC_MILLISECONDS;
  }
}

static void peer_free(peer *p) { moqc__wsq_del(p->e); }

/* Groups one by one, each read by the engine's application and answered: the credit the peer
 * holds never falls below a burst, and it comes back in batches, not one frame per stream. */
static void run_steady(bool engine_is_server) {
  peer p;
  peer_init(&p, engine_is_server);
  const size_t total = 5000;
  for (size_t i = 0; i < total; i++) {
    if (p.limit - p.opened < BURST) {
      fail_msg("after %zu groups the peer may open only %llu more streams (want %d)", i,
               (unsigned long long)(p.limit - p.opened), BURST);
    }
    peer_burst(&p, 1);
    peer_drain(&p);
  }
  assert_false(p.app.closed);
  assert_int_equal(p.app.fins, total);
  assert_int_equal(p.app.closed_streams, total);
  assert_int_equal(p.app.bytes, total * FRAME);
  assert_int_equal(moqc__wsq_stream_count(p.e), 0);
  /* Credit came back (5000 streams through a smaller limit), in batches of many streams. */
  assert_true(p.max_streams_frames > 0);
  assert_true(p.max_streams_frames <= total / 50);
  peer_free(&p);
}

static void test_steady_credit_client(void **state) { run_steady(false); }
static void test_steady_credit_server(void **state) { run_steady(true); }

/* Whatever point of the credit cycle a stall hits, the backlog of BURST groups opened at once
 * is accepted (no STREAM_LIMIT_ERROR, nothing refused), and the credit for it comes back in the
 * very next messages, not later. */
static void run_burst(bool engine_is_server) {
  for (size_t phase = 0; phase < 400; phase += 13) {
    peer p;
    peer_init(&p, engine_is_server);
    for (size_t i = 0; i < phase; i++) {
      peer_burst(&p, 1);
      peer_drain(&p);
    }
    uint64_t limit_before = p.limit;
    if (p.limit - p.opened < BURST) {
      fail_msg("phase %zu: only %llu streams of credit before the burst", phase,
               (unsigned long long)(p.limit - p.opened));
    }
    peer_burst(&p, BURST);
    assert_false(p.app.closed);
    assert_false(moqc__wsq_is_closed(p.e));
    assert_int_equal(p.app.closed_streams, phase + BURST);
    peer_drain(&p);
    assert_true(p.limit > limit_before);
    if (p.limit - p.opened < BURST) {
      fail_msg("phase %zu: only %llu streams of credit after the burst", phase,
               (unsigned long long)(p.limit - p.opened));
    }
    peer_free(&p);
  }
}

static void test_burst_client(void **state) { run_burst(false); }
static void test_burst_server(void **state) { run_burst(true); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_steady_credit_client),
      cmocka_unit_test(test_steady_credit_server),
      cmocka_unit_test(test_burst_client),
      cmocka_unit_test(test_burst_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
