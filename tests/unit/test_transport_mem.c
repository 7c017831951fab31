/*
 * The in-memory transport pair on its own, driven by a small test application that records what
 * it receives and sends what a test queues.
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/session.h>

#include "transport/mem.h"

#define FAKE_STREAMS 64

typedef struct fake_stream {
  moqc_stream_id id;
  bool used;
  /* Receiving. */
  uint8_t rx[4096];
  size_t rx_len;
  bool rx_fin;
  bool reset;
  uint64_t reset_code;
  bool stopped;
  uint64_t stop_code;
  bool closed;
  /* Sending. */
  uint8_t tx[4096];
  size_t tx_len;
  size_t tx_written;
  uint64_t tx_acked;
  bool tx_fin;
  bool fin_written;
  bool blocked;
  int block_count;
} fake_stream;

typedef struct fake_app {
  moqc_transport tp;
  fake_stream streams[FAKE_STREAMS];
  size_t max_consume; /* 0 = all */
  uint8_t dgram[2048];
  size_t dgram_len;
  int dgrams;
  bool closed;
  uint64_t close_code;
  char reason[64];
  int polls;
  int read_error; /* returned by read_stream when non-zero */
  moqc_stream_id order[FAKE_STREAMS];
  size_t norder;
  /* Echo mode: answer every bidi request with "ok" + FIN once its FIN arrives. */
  bool echo;
} fake_app;

static fake_stream *fake_get(fake_app *a, moqc_stream_id id, bool create) {
  for (int i = 0; i < FAKE_STREAMS; i++) {
    if (a->streams[i].used && a->streams[i].id == id) {
      return &a->streams[i];
    }
  }
  if (!create) {
    return NULL;
  }
  for (int i = 0; i < FAKE_STREAMS; i++) {
    if (!a->streams[i].used) {
      memset(&a->streams[i], 0, sizeof(a->streams[i]));
      a->streams[i].used = true;
      a->streams[i].id = id;
      return &a->streams[i];
    }
  }
  return NULL;
}

static void fake_send(fake_app *a, moqc_stream_id id, const char *data, bool fin) {
  fake_stream *s = fake_get(a, id, true);
  size_t n = strlen(data);
  memcpy(s->tx + s->tx_len, data, n);
  s->tx_len += n;
  s->tx_fin = fin;
}

static moqc_stream_id fake_open(fake_app *a, bool uni) {
  moqc_stream_id id;
  assert_int_equal(a->tp.ops->open_stream(a->tp.user_data, uni, &id), 0);
  fake_get(a, id, true);
  return id;
}

static moqc_ssize fake_read(void *app, moqc_stream_id id, const uint8_t *data, size_t len,
                            bool fin, moqc_tstamp ts) {
  fake_app *a = app;
  if (a->read_error != 0) {
    return a->read_error;
  }
  fake_stream *s = fake_get(a, id, false);
  if (s == NULL) {
    s = fake_get(a, id, true);
    a->order[a->norder++] = id;
  }
  size_t n = len;
  if (a->max_consume != 0 && n > a->max_consume) {
    n = a->max_consume;
  }
  memcpy(s->rx + s->rx_len, data, n);
  s->rx_len += n;
  if (fin && n == len) {
    s->rx_fin = true;
    if (a->echo && !MOQC_STREAM_IS_UNI(id)) {
      fake_send(a, id, "ok", true);
    }
  }
  return (moqc_ssize)n;
}

static moqc_ssize fake_writev(void *app, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                              size_t veccnt, moqc_tstamp ts) {
  fake_app *a = app;
  for (int i = 0; i < FAKE_STREAMS; i++) {
    fake_stream *s = &a->streams[i];
    if (!s->used || s->blocked || s->reset || s->fin_written) {
      continue;
    }
    if (s->tx_written < s->tx_len || s->tx_fin) {
      *id = s->id;
      *fin = s->tx_fin;
      if (s->tx_written == s->tx_len) {
        return 0;
      }
      vec[0].base = s->tx + s->tx_written;
      vec[0].len = s->tx_len - s->tx_written;
      return 1;
    }
  }
  *id = MOQC_STREAM_NONE;
  *fin = false;
  return 0;
}

static int fake_add_write(void *app, moqc_stream_id id, size_t n) {
  fake_stream *s = fake_get(app, id, false);
  assert_non_null(s);
  s->tx_written += n;
  assert_true(s->tx_written <= s->tx_len);
  if (s->tx_written == s->tx_len && s->tx_fin) {
    s->fin_written = true;
  }
  return 0;
}

static int fake_add_ack(void *app, moqc_stream_id id, uint64_t n) {
  fake_stream *s = fake_get(app, id, false);
  assert_non_null(s);
  s->tx_acked += n;
  assert_true(s->tx_acked <= s->tx_written);
  return 0;
}

static int fake_block(void *app, moqc_stream_id id) {
  fake_stream *s = fake_get(app, id, false);
  s->blocked = true;
  s->block_count++;
  return 0;
}

static int fake_unblock(void *app, moqc_stream_id id) {
  fake_stream *s = fake_get(app, id, false);
  s->blocked = false;
  return 0;
}

static int fake_reset(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  fake_stream *s = fake_get(app, id, true);
  s->reset = true;
  s->reset_code = code;
  return 0;
}

static int fake_stop(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  fake_stream *s = fake_get(app, id, true);
  s->stopped = true;
  s->stop_code = code;
  return 0;
}

static int fake_close_stream(void *app, moqc_stream_id id, moqc_tstamp ts) {
  fake_stream *s = fake_get(app, id, false);
  assert_non_null(s);
  s->closed = true;
  return 0;
}

static int fake_dgram(void *app, const uint8_t *data, size_t len, moqc_tstamp ts) {
  fake_app *a = app;
  memcpy(a->dgram, data, len);
  a->dgram_len = len;
  a->dgrams++;
  return 0;
}

static int fake_poll(void *app, moqc_tstamp ts) {
  ((fake_app *)app)->polls++;
  return 0;
}

static moqc_tstamp fake_expiry(void *app) { return UINT64_MAX; }

static int fake_handle_expiry(void *app, moqc_tstamp ts) { return 0; }

static void fake_closed(void *app, uint64_t code, const char *reason, size_t len) {
  fake_app *a = app;
  a->closed = true;
  a->close_code = code;
  memcpy(a->reason, reason, len < 63 ? len : 63);
}

static const moqc_stream_app_ops fake_ops = {
    fake_read,    fake_writev,      fake_add_write, fake_add_ack, fake_block,
    fake_unblock, fake_reset,       fake_stop,      fake_close_stream,
    fake_dgram,   fake_poll,        fake_expiry,    fake_handle_expiry,
    fake_closed,
};

typedef struct fixture {
  moqc__mem_pair *pair;
  fake_app c, s;
} fixture;

static void fx_init(fixture *f, const moqc__mem_settings *st) {
  memset(f, 0, sizeof(*f));
  assert_int_equal(moqc__mem_pair_new(&f->pair, st, NULL), 0);
  f->c.tp = moqc__mem_transport(f->pair, MOQC__MEM_CLIENT);
  f->s.tp = moqc__mem_transport(f->pair, MOQC__MEM_SERVER);
  moqc__mem_attach(f->pair, MOQC__MEM_CLIENT, &fake_ops, &f->c);
  moqc__mem_attach(f->pair, MOQC__MEM_SERVER, &fake_ops, &f->s);
}

static void test_uni_stream(void **state) {
  fixture f;
  fx_init(&f, NULL);
  moqc_stream_id id = fake_open(&f.c, true);
  assert_int_equal(id, 2);
  assert_int_equal(fake_open(&f.c, true), 6);
  fake_get(&f.c, 6, false)->used = false; /* Leave 6 idle: open but never written. */
  fake_send(&f.c, id, "hello", true);
  assert_true(moqc__mem_pump(f.pair, SIZE_MAX, 10) > 0);
  fake_stream *rx = fake_get(&f.s, id, false);
  assert_non_null(rx);
  assert_int_equal(rx->rx_len, 5);
  assert_memory_equal(rx->rx, "hello", 5);
  assert_true(rx->rx_fin);
  fake_stream *tx = fake_get(&f.c, id, false);
  assert_int_equal(tx->tx_acked, 5);
  assert_true(tx->closed);
  assert_true(rx->closed);
  /* Stream 6 is still open. */
  assert_int_equal(moqc__mem_stream_count(f.pair), 1);
  moqc__mem_pair_del(f.pair);
}

static void test_bidi_echo(void **state) {
  fixture f;
  fx_init(&f, NULL);
  f.s.echo = true;
  moqc_stream_id id = fake_open(&f.c, false);
  assert_int_equal(id, 0);
  fake_send(&f.c, id, "req", true);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  fake_stream *c = fake_get(&f.c, id, false);
  assert_int_equal(c->rx_len, 2);
  assert_memory_equal(c->rx, "ok", 2);
  assert_true(c->rx_fin);
  assert_true(c->closed);
  assert_true(fake_get(&f.s, id, false)->closed);
  assert_int_equal(moqc__mem_stream_count(f.pair), 0);
  /* The server's own streams are numbered 1, 3. */
  assert_int_equal(fake_open(&f.s, false), 1);
  assert_int_equal(fake_open(&f.s, true), 3);
  moqc__mem_pair_del(f.pair);
}

static void test_flow_control(void **state) {
  fixture f;
  moqc__mem_settings st;
  moqc__mem_settings_default(&st);
  st.stream_window = 4;
  fx_init(&f, &st);
  f.s.max_consume = 3;
  moqc_stream_id id = fake_open(&f.c, true);
  fake_send(&f.c, id, "0123456789", true);
  moqc__mem_transmit(f.pair, MOQC__MEM_CLIENT, SIZE_MAX);
  fake_stream *tx = fake_get(&f.c, id, false);
  /* Only the window went out; the receiver consumed 3 and holds 1. */
  assert_int_equal(tx->tx_written, 4);
  assert_int_equal(fake_get(&f.s, id, false)->rx_len, 3);
  moqc__mem_pump(f.pair, SIZE_MAX, 50);
  fake_stream *rx = fake_get(&f.s, id, false);
  assert_int_equal(rx->rx_len, 10);
  assert_memory_equal(rx->rx, "0123456789", 10);
  assert_true(rx->rx_fin);
  assert_true(tx->block_count > 0);
  assert_false(tx->blocked);
  assert_true(tx->closed);
  moqc__mem_pair_del(f.pair);
}

static void test_budget_and_delay(void **state) {
  fixture f;
  moqc__mem_settings st;
  moqc__mem_settings_default(&st);
  st.delay = 10 * MOQC_MILLISECONDS;
  fx_init(&f, &st);
  moqc_stream_id id = fake_open(&f.c, true);
  fake_send(&f.c, id, "abcdef", true);
  moqc__mem_transmit(f.pair, MOQC__MEM_CLIENT, 4);
  assert_int_equal(fake_get(&f.c, id, false)->tx_written, 4);
  assert_null(fake_get(&f.s, id, false));
  moqc__mem_advance(f.pair, 9 * MOQC_MILLISECONDS);
  moqc__mem_transmit(f.pair, MOQC__MEM_CLIENT, 4);
  assert_null(fake_get(&f.s, id, false));
  moqc__mem_advance(f.pair, 1 * MOQC_MILLISECONDS);
  moqc__mem_transmit(f.pair, MOQC__MEM_CLIENT, 0);
  fake_stream *rx = fake_get(&f.s, id, false);
  assert_non_null(rx);
  /* The first 4 bytes were due; the last 2 left 9 ms later and arrive 10 ms after that. */
  assert_int_equal(rx->rx_len, 4);
  assert_false(rx->rx_fin);
  moqc__mem_advance(f.pair, 10 * MOQC_MILLISECONDS);
  moqc__mem_transmit(f.pair, MOQC__MEM_CLIENT, 0);
  assert_int_equal(rx->rx_len, 6);
  assert_true(rx->rx_fin);
  assert_int_equal(moqc__mem_now(f.pair), MOQC_SECONDS + 20 * MOQC_MILLISECONDS);
  moqc__mem_pair_del(f.pair);
}

static void run_reorder(uint64_t seed, bool reorder, moqc_stream_id *order) {
  fixture f;
  moqc__mem_settings st;
  moqc__mem_settings_default(&st);
  st.reorder = reorder;
  st.seed = seed;
  fx_init(&f, &st);
  for (int i = 0; i < 8; i++) {
    moqc_stream_id id = fake_open(&f.c, true);
    fake_send(&f.c, id, "x", false);
    fake_send(&f.c, id, "y", true);
  }
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_int_equal(f.s.norder, 8);
  for (int i = 0; i < 8; i++) {
    order[i] = f.s.order[i];
    fake_stream *rx = fake_get(&f.s, order[i], false);
    assert_int_equal(rx->rx_len, 2);
    assert_memory_equal(rx->rx, "xy", 2);
  }
  moqc__mem_pair_del(f.pair);
}

static void test_reorder(void **state) {
  moqc_stream_id a[8], b[8], c[8];
  run_reorder(1, false, a);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(a[i], 2 + 4 * i);
  }
  run_reorder(42, true, b);
  run_reorder(42, true, c);
  assert_memory_equal(b, c, sizeof(b)); /* Deterministic for a seed. */
  assert_memory_not_equal(a, b, sizeof(a));
}

static bool lose_second(void *ud, int side, moqc_stream_id id) {
  (void)ud;
  return side == MOQC__MEM_CLIENT && id == 6;
}

static void test_loss(void **state) {
  fixture f;
  moqc__mem_settings st;
  moqc__mem_settings_default(&st);
  st.lose = lose_second;
  fx_init(&f, &st);
  moqc_stream_id a = fake_open(&f.c, true), b = fake_open(&f.c, true), c = fake_open(&f.c, true);
  fake_send(&f.c, a, "a", true);
  fake_send(&f.c, b, "b", true);
  fake_send(&f.c, c, "c", true);
  moqc__mem_lose_stream(f.pair, c);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_non_null(fake_get(&f.s, a, false));
  assert_null(fake_get(&f.s, b, false));
  assert_null(fake_get(&f.s, c, false));
  /* The sender saw its bytes acknowledged and the streams closed. */
  assert_int_equal(fake_get(&f.c, b, false)->tx_acked, 1);
  assert_true(fake_get(&f.c, b, false)->closed);
  assert_true(fake_get(&f.c, c, false)->closed);
  assert_int_equal(moqc__mem_stream_count(f.pair), 0);
  moqc__mem_pair_del(f.pair);
}

static void test_reset_and_stop(void **state) {
  fixture f;
  fx_init(&f, NULL);
  moqc_stream_id a = fake_open(&f.c, true), b = fake_open(&f.c, true);
  fake_send(&f.c, a, "part", false);
  fake_send(&f.c, b, "more", false);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_int_equal(f.c.tp.ops->reset_stream(f.c.tp.user_data, a, 7), 0);
  fake_get(&f.c, a, false)->reset = true;
  assert_int_equal(f.s.tp.ops->stop_sending(f.s.tp.user_data, b, 3), 0);
  /* The receiver may not stop a stream it does not receive on. */
  assert_int_equal(f.s.tp.ops->reset_stream(f.s.tp.user_data, b, 3), MOQC_ERR_NOT_FOUND);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  fake_stream *ra = fake_get(&f.s, a, false);
  assert_true(ra->reset);
  assert_int_equal(ra->reset_code, 7);
  assert_int_equal(ra->rx_len, 4);
  assert_true(ra->closed);
  fake_stream *cb = fake_get(&f.c, b, false);
  assert_true(cb->stopped);
  assert_int_equal(cb->stop_code, 3);
  assert_false(cb->closed); /* Still open until the sender resets. */
  f.c.tp.ops->reset_stream(f.c.tp.user_data, b, 0);
  cb->reset = true;
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_true(cb->closed);
  assert_int_equal(moqc__mem_stream_count(f.pair), 0);
  moqc__mem_pair_del(f.pair);
}

static void test_datagrams_and_close(void **state) {
  fixture f;
  fx_init(&f, NULL);
  uint8_t big[1201] = {0};
  assert_int_equal(f.c.tp.ops->send_datagram(f.c.tp.user_data, (const uint8_t *)"dg", 2), 0);
  assert_int_equal(f.c.tp.ops->send_datagram(f.c.tp.user_data, big, sizeof(big)),
                   MOQC_ERR_FRAME_TOO_LARGE);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_int_equal(f.s.dgrams, 1);
  assert_int_equal(f.s.dgram_len, 2);
  assert_memory_equal(f.s.dgram, "dg", 2);

  f.c.tp.ops->close(f.c.tp.user_data, 9, "bye", 3);
  moqc_stream_id id;
  assert_int_equal(f.c.tp.ops->open_stream(f.c.tp.user_data, true, &id), MOQC_ERR_CLOSED);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  uint64_t code;
  bool by_peer;
  assert_true(moqc__mem_closed(f.pair, MOQC__MEM_SERVER, &code, &by_peer));
  assert_int_equal(code, 9);
  assert_true(by_peer);
  assert_true(moqc__mem_closed(f.pair, MOQC__MEM_CLIENT, &code, &by_peer));
  assert_false(by_peer);
  assert_true(f.s.closed);
  assert_int_equal(f.s.close_code, 9);
  assert_string_equal(f.s.reason, "bye");
  assert_false(f.c.closed); /* The closer is not told of its own close. */
  moqc__mem_pair_del(f.pair);
}

static void test_stream_limit_and_wake(void **state) {
  fixture f;
  moqc__mem_settings st;
  moqc__mem_settings_default(&st);
  st.max_streams_uni = 2;
  fx_init(&f, &st);
  moqc_stream_id a = fake_open(&f.c, true);
  fake_open(&f.c, true);
  moqc_stream_id id;
  assert_int_equal(f.c.tp.ops->open_stream(f.c.tp.user_data, true, &id), MOQC_ERR_WOULD_BLOCK);
  /* Bidi streams have their own limit. */
  assert_int_equal(f.c.tp.ops->open_stream(f.c.tp.user_data, false, &id), 0);
  fake_send(&f.c, a, "z", true);
  int polls = f.c.polls;
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_true(f.c.polls > polls); /* Woken when a slot freed. */
  assert_int_equal(f.c.tp.ops->open_stream(f.c.tp.user_data, true, &id), 0);
  /* An explicit wake makes the pump poll. */
  polls = f.s.polls;
  f.s.tp.ops->wake(f.s.tp.user_data);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  assert_int_equal(f.s.polls, polls + 1);
  moqc__mem_pair_del(f.pair);
}

static void test_app_error_closes(void **state) {
  fixture f;
  fx_init(&f, NULL);
  f.s.read_error = MOQC_ERR_DECODE;
  moqc_stream_id id = fake_open(&f.c, true);
  fake_send(&f.c, id, "bad", true);
  moqc__mem_pump(f.pair, SIZE_MAX, 10);
  uint64_t code;
  assert_true(moqc__mem_closed(f.pair, MOQC__MEM_SERVER, &code, NULL));
  assert_int_equal(code, 5);
  assert_int_equal(moqc__mem_app_error(f.pair, MOQC__MEM_SERVER), MOQC_ERR_DECODE);
  assert_true(f.c.closed);
  assert_int_equal(f.c.close_code, 5);
  moqc__mem_pair_del(f.pair);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_uni_stream),
      cmocka_unit_test(test_bidi_echo),
      cmocka_unit_test(test_flow_control),
      cmocka_unit_test(test_budget_and_delay),
      cmocka_unit_test(test_reorder),
      cmocka_unit_test(test_loss),
      cmocka_unit_test(test_reset_and_stop),
      cmocka_unit_test(test_datagrams_and_close),
      cmocka_unit_test(test_stream_limit_and_wake),
      cmocka_unit_test(test_app_error_closes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
