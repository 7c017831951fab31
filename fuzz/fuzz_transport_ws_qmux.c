/*
 * Fuzz target: the QMux engine of the WebSocket transport (lib/transport/ws_qmux.h) as a server
 * receiving arbitrary WebSocket messages, with a small application that consumes, answers on
 * bidi streams, stops, resets and opens streams. Input: byte 0 picks the format and the
 * application's habits; then records of [u16 length][message]; after each message the engine
 * produces everything it has. Checks: produced messages respect the size limits, the engine
 * never holds more peer streams than it allows, and nothing leaks or crashes.
 */
#include <stdlib.h>
#include <string.h>

#include "transport/ws_qmux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_app {
  moqc_transport t;
  uint8_t habits;
  moqc_stream_id answer[8];
  size_t nanswer;
  size_t sent[8];
  int calls;
} fz_app;

static const uint8_t fz_payload[300];

static moqc_ssize fz_read(void *ud, moqc_stream_id id, const uint8_t *d, size_t len, bool fin,
                          moqc_tstamp ts) {
  fz_app *a = ud;
  (void)d;
  (void)fin;
  (void)ts;
  a->calls++;
  if ((a->habits & 1) != 0 && (a->calls % 7) == 0) {
    (void)a->t.ops->stop_sending(a->t.user_data, id, 3);
  }
  if (!MOQC_STREAM_IS_UNI(id) && a->nanswer < 8) {
    a->answer[a->nanswer] = id;
    a->sent[a->nanswer++] = 0;
  }
  return (a->habits & 2) != 0 ? (moqc_ssize)(len / 2) : (moqc_ssize)len;
}

static moqc_ssize fz_writev(void *ud, moqc_stream_id *id, bool *fin, moqc_vec *vec, size_t n,
                            moqc_tstamp ts) {
  fz_app *a = ud;
  (void)n;
  (void)ts;
  for (size_t i = 0; i < a->nanswer; i++) {
    if (a->sent[i] < sizeof(fz_payload)) {
      *id = a->answer[i];
      *fin = true;
      vec[0].base = fz_payload + a->sent[i];
      vec[0].len = sizeof(fz_payload) - a->sent[i];
      return 1;
    }
  }
  *id = MOQC_STREAM_NONE;
  return 0;
}

static int fz_add_write(void *ud, moqc_stream_id id, size_t n) {
  fz_app *a = ud;
  for (size_t i = 0; i < a->nanswer; i++) {
    if (a->answer[i] == id && a->sent[i] < sizeof(fz_payload)) {
      a->sent[i] += n;
      if (n == 0) {
        a->sent[i] = sizeof(fz_payload);
      }
    }
  }
  return 0;
}

static int fz_ok_u(void *ud, moqc_stream_id id, uint64_t n) {
  (void)ud;
  (void)id;
  (void)n;
  return 0;
}

static int fz_ok_id(void *ud, moqc_stream_id id) {
  fz_app *a = ud;
  /* Forget the stream so a blocked answer is not offered forever. */
  for (size_t i = 0; i < a->nanswer; i++) {
    if (a->answer[i] == id) {
      a->sent[i] = sizeof(fz_payload);
    }
  }
  return 0;
}

static int fz_unblock(void *ud, moqc_stream_id id) {
  (void)ud;
  (void)id;
  return 0;
}

static int fz_code(void *ud, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  fz_app *a = ud;
  (void)code;
  (void)ts;
  if ((a->habits & 4) != 0) {
    (void)a->t.ops->reset_stream(a->t.user_data, id, 1);
    fz_ok_id(ud, id);
  }
  return 0;
}

static int fz_close_stream(void *ud, moqc_stream_id id, moqc_tstamp ts) {
  (void)ts;
  return fz_ok_id(ud, id);
}

static int fz_dgram(void *ud, const uint8_t *d, size_t len, moqc_tstamp ts) {
  fz_app *a = ud;
  (void)ts;
  (void)a->t.ops->send_datagram(a->t.user_data, d, len);
  return 0;
}

static int fz_poll(void *ud, moqc_tstamp ts) {
  fz_app *a = ud;
  moqc_stream_id id;
  (void)ts;
  if ((a->habits & 8) != 0) {
    (void)a->t.ops->open_stream(a->t.user_data, true, &id);
  }
  return 0;
}

static moqc_tstamp fz_expiry(void *ud) {
  (void)ud;
  return UINT64_MAX;
}

static int fz_handle(void *ud, moqc_tstamp ts) {
  (void)ud;
  (void)ts;
  return 0;
}

static void fz_closed(void *ud, uint64_t code, const char *r, size_t len) {
  (void)ud;
  (void)code;
  (void)r;
  (void)len;
}

static const moqc_stream_app_ops fz_ops = {
    fz_read,   fz_writev, fz_add_write, fz_ok_u,    fz_ok_id, fz_unblock, fz_code,
    fz_code,   fz_close_stream, fz_dgram, fz_poll, fz_expiry, fz_handle, fz_closed};

static void fz_wake(void *glue) { (void)glue; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static uint8_t out[MOQC__WSQ_MESSAGE_MAX];
  moqc__qmux_format fmt = (moqc__qmux_format)(1 + data[0] % 4);
  moqc__wsq_settings st;
  moqc__wsq_settings_default(&st, fmt, true);
  st.local.initial_max_streams_bidi = 4;
  st.local.initial_max_streams_uni = 4;
  st.local.initial_max_stream_data_uni = 64;
  st.local.initial_max_stream_data_bidi_remote = 64;
  st.local.initial_max_data = 200;
  st.max_queued = 4096;
  st.wake = fz_wake;
  moqc__wsq *e;
  if (moqc__wsq_new(&e, &st, NULL) != 0) {
    return 0;
  }
  fz_app app;
  memset(&app, 0, sizeof(app));
  app.habits = (uint8_t)(data[0] >> 2);
  app.t = moqc__wsq_transport(e);
  moqc__wsq_attach(e, &fz_ops, &app);
  size_t limit = fmt >= MOQC__QMUX_01 ? 16382 : 16384;
  moqc_tstamp ts = MOQC_SECONDS;
  size_t i = 1;
  while (i + 2 <= size) {
    size_t len = (size_t)data[i] << 8 | data[i + 1];
    i += 2;
    if (len > size - i) {
      len = size - i;
    }
    ts += MOQC_MILLISECONDS;
    (void)moqc__wsq_recv_message(e, data + i, len, ts);
    i += len;
    moqc__wsq_service(e, ts);
    for (int k = 0; k < 64; k++) {
      moqc_ssize n = moqc__wsq_produce(e, out, sizeof(out), ts);
      if (n <= 0) {
        break;
      }
      if ((size_t)n > limit) {
        abort();
      }
    }
    /* Peer streams within the limits we advertise (plus the MAX_STREAMS step), plus ours (at
     * most the 100 the seed parameters allow). */
    if (moqc__wsq_stream_count(e) > 8 + 8 + 100) {
      abort();
    }
    if (moqc__wsq_is_drained(e)) {
      break;
    }
  }
  moqc__wsq_handle_expiry(e, ts + 60 * MOQC_SECONDS);
  moqc__wsq_del(e);
  return 0;
}
