/*
 * The publisher half of the Probe stream (spec 4.8) over the in-memory pair: a server session
 * whose transport reports scripted estimates (a wrapper adding get_stats to the mem transport),
 * and a client test double that opens Probe streams and records every byte it receives.
 *
 * Checked: the PROBE sequence of the sampling rule (first sample, no PROBE for a small move, one
 * for a >= 25 % move, the threshold decaying over 10 s, one after 10 s unchanged, a known 0 sent
 * as 1, unknown sent as 0), lite-03 without RTT, lite-04/05 with it, a FIN when the transport
 * cannot measure, the SETUP Probe level, the stream's endings, and (ASan) nothing leaked.
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/session.h>

#include "transport/mem.h"
#include "wire/lite.h"

#include "test_probe_double.h"

/* ---- A transport with scripted estimates ------------------------------------------------- */

typedef struct fake_tp {
  moqc_transport inner;
  int err; /* returned by get_stats when non-zero */
  moqc_transport_stats st;
  int calls;
} fake_tp;

static int ft_open(void *ud, bool uni, moqc_stream_id *id) {
  fake_tp *f = ud;
  return f->inner.ops->open_stream(f->inner.user_data, uni, id);
}
static void ft_resume(void *ud, moqc_stream_id id) {
  fake_tp *f = ud;
  f->inner.ops->resume_stream(f->inner.user_data, id);
}
static int ft_reset(void *ud, moqc_stream_id id, uint64_t code) {
  fake_tp *f = ud;
  return f->inner.ops->reset_stream(f->inner.user_data, id, code);
}
static int ft_stop(void *ud, moqc_stream_id id, uint64_t code) {
  fake_tp *f = ud;
  return f->inner.ops->stop_sending(f->inner.user_data, id, code);
}
static int ft_dgram(void *ud, const uint8_t *data, size_t len) {
  fake_tp *f = ud;
  return f->inner.ops->send_datagram(f->inner.user_data, data, len);
}
static void ft_close(void *ud, uint64_t code, const char *reason, size_t len) {
  fake_tp *f = ud;
  f->inner.ops->close(f->inner.user_data, code, reason, len);
}
static void ft_wake(void *ud) {
  fake_tp *f = ud;
  f->inner.ops->wake(f->inner.user_data);
}
static int ft_stats(void *ud, moqc_transport_stats *out) {
  fake_tp *f = ud;
  f->calls++;
  if (f->err != 0) {
    return f->err;
  }
  *out = f->st;
  return 0;
}

static const moqc_transport_ops fake_ops = {
    .open_stream = ft_open,
    .resume_stream = ft_resume,
    .reset_stream = ft_reset,
    .stop_sending = ft_stop,
    .send_datagram = ft_dgram,
    .close = ft_close,
    .wake = ft_wake,
    .get_stats = ft_stats,
};

/* ---- The setup: double (client) <-> session (server) ------------------------------------- */

typedef struct env {
  moqc__mem_pair *pair;
  fake_tp ft;
  dbl d;
  moqc_session *s;
  uint32_t version;
} env;

/* measure: the server's transport has get_stats (scripted by e->ft), else the plain mem one. */
static void env_new(env *e, uint32_t version, bool measure) {
  memset(e, 0, sizeof(*e));
  e->version = version;
  assert_int_equal(moqc__mem_pair_new(&e->pair, NULL, NULL), 0);
  e->d.tp = moqc__mem_transport(e->pair, MOQC__MEM_CLIENT);
  e->ft.inner = moqc__mem_transport(e->pair, MOQC__MEM_SERVER);
  e->ft.st.valid = MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE;
  e->ft.st.smoothed_rtt = 40 * MOQC_MILLISECONDS;
  e->ft.st.send_bitrate = 1000000;
  moqc_transport t = e->ft.inner;
  if (measure) {
    t.ops = &fake_ops;
    t.user_data = &e->ft;
  }
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  st.version = version;
  st.origin_id = 0x0A0B;
  assert_int_equal(moqc_session_new(&e->s, &st, &t, NULL, NULL, NULL), 0);
  moqc__mem_attach(e->pair, MOQC__MEM_CLIENT, &dbl_ops, &e->d);
  moqc__mem_attach(e->pair, MOQC__MEM_SERVER, moqc_session_app_ops(), e->s);
  assert_int_equal(moqc_session_start(e->s, moqc__mem_now(e->pair)), 0);
  if (version == MOQC_SESSION_VERSION_LITE_05) {
    /* The client's SETUP (no parameters), so that the server serves. */
    uint8_t buf[16];
    moqc__writer w;
    moqc__writer_init(&w, buf, sizeof(buf));
    moqc__lite_setup m;
    memset(&m, 0, sizeof(m));
    assert_int_equal(moqc__lite_encode_stream_type(&w, MOQC_LITE_UNI_SETUP), 0);
    assert_true(moqc__lite_encode_setup(&w, MOQC_LITE_05, &m) >= 0);
    dstream *s = dbl_open(&e->d, true, buf, (size_t)moqc__writer_result(&w));
    s->fin_out = true;
  }
  assert_true(moqc__mem_pump(e->pair, SIZE_MAX, 20) >= 0);
}

static void env_del(env *e) {
  moqc_session_del(e->s);
  moqc__mem_pair_del(e->pair);
}

static void env_pump(env *e) { assert_true(moqc__mem_pump(e->pair, SIZE_MAX, 20) >= 0); }

/* Moves the clock by dt in 100 ms steps (the sampling period), pumping after each. */
static void env_advance(env *e, moqc_tstamp dt) {
  while (dt > 0) {
    moqc_tstamp step = dt < 100 * MOQC_MILLISECONDS ? dt : 100 * MOQC_MILLISECONDS;
    moqc__mem_advance(e->pair, step);
    env_pump(e);
    dt -= step;
  }
}

static dstream *env_open_probe(env *e) {
  static const uint8_t type = MOQC_LITE_BIDI_PROBE;
  dstream *s = dbl_open(&e->d, false, &type, 1);
  env_pump(e);
  return s;
}

/* Decodes every PROBE received on s into out (at most cap); returns how many. The bytes must
 * be whole messages. */
static size_t probes(const env *e, const dstream *s, moqc__lite_probe *out, size_t cap) {
  const uint8_t *p = s->in, *end = s->in + s->in_len;
  size_t n = 0;
  while (p < end) {
    moqc__lite_probe m;
    assert_int_equal(moqc__lite_decode_probe(&p, end, (moqc_lite_version)e->version, &m), 0);
    if (n < cap) {
      out[n] = m;
    }
    n++;
  }
  return n;
}

/* The server's lite-05 SETUP as the double received it. */
static void server_setup(env *e, moqc__lite_setup *m) {
  for (size_t i = 0; i < e->d.n; i++) {
    dstream *s = &e->d.st[i];
    if (MOQC_STREAM_IS_UNI(s->id) && MOQC_STREAM_IS_SERVER(s->id)) {
      const uint8_t *p = s->in, *end = s->in + s->in_len;
      uint64_t type;
      assert_int_equal(moqc__lite_decode_stream_type(&p, end, &type), 0);
      assert_int_equal(type, MOQC_LITE_UNI_SETUP);
      assert_int_equal(moqc__lite_decode_setup(&p, end, MOQC_LITE_05, m), 0);
      assert_true(s->fin_in);
      return;
    }
  }
  fail_msg("no SETUP from the server");
}

/* ---- Tests ------------------------------------------------------------------------------ */

/* The sampling rule on lite-04 (bitrate and RTT). */
static void test_probe_sequence(void **state) {
  (void)state;
  env e;
  moqc__lite_probe m[16];
  env_new(&e, MOQC_SESSION_VERSION_LITE_04, true);
  dstream *ps = env_open_probe(&e);

  /* The first sample goes out at once: Length 5, Bitrate 1000000 (4-byte varint), RTT 40 ms.
   * (@moq/net 0.3.4's Probe.decode reads these bytes as {bitrate: 1000000, rtt: 40}.) */
  static const uint8_t first[] = {0x05, 0x80, 0x0F, 0x42, 0x40, 0x28};
  assert_int_equal(ps->in_len, sizeof(first));
  assert_memory_equal(ps->in, first, sizeof(first));
  assert_int_equal(probes(&e, ps, m, 16), 1);
  assert_int_equal(m[0].bitrate, 1000000);
  assert_int_equal(m[0].rtt_ms, 40);
  assert_false(ps->fin_in);
  assert_int_equal(moqc_session_get_expiry(e.s), moqc__mem_now(e.pair) + 100 * MOQC_MILLISECONDS);

  /* Sampled every 100 ms; half a period samples nothing. */
  int calls = e.ft.calls;
  env_advance(&e, 50 * MOQC_MILLISECONDS);
  assert_int_equal(e.ft.calls, calls);
  env_advance(&e, 50 * MOQC_MILLISECONDS);
  assert_int_equal(e.ft.calls, calls + 1);

  /* A 10 % move soon after: below the threshold (about 25 %). */
  e.ft.st.send_bitrate = 1100000;
  e.ft.st.smoothed_rtt = 44 * MOQC_MILLISECONDS;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 1);

  /* 30 % away from the last PROBE: reported. */
  e.ft.st.send_bitrate = 1300000;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 2);
  assert_int_equal(m[1].bitrate, 1300000);
  assert_int_equal(m[1].rtt_ms, 44);

  /* An RTT move alone counts too: 44 -> 60 ms is +36 %. */
  e.ft.st.smoothed_rtt = 60 * MOQC_MILLISECONDS;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 3);
  assert_int_equal(m[2].bitrate, 1300000);
  assert_int_equal(m[2].rtt_ms, 60);

  /* Unchanged: nothing for just under 10 s, then one PROBE at 10 s. */
  env_advance(&e, 9900 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 3);
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 4);
  assert_int_equal(m[3].bitrate, 1300000);
  assert_int_equal(m[3].rtt_ms, 60);

  /* The threshold decays: 10 % at 1 s is not enough (22.5 %), 10 % at 8 s is (5 %). */
  e.ft.st.send_bitrate = 1430000;
  env_advance(&e, 1000 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 4);
  e.ft.st.send_bitrate = 1300000;
  env_advance(&e, 6900 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 4);
  e.ft.st.send_bitrate = 1430000;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 5);
  assert_int_equal(m[4].bitrate, 1430000);

  /* A known 0 is sent as 1 (0 means unknown); a sub-millisecond RTT too. */
  e.ft.st.send_bitrate = 0;
  e.ft.st.smoothed_rtt = 300000;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 6);
  assert_int_equal(m[5].bitrate, 1);
  assert_int_equal(m[5].rtt_ms, 1);

  /* Estimates that become unknown are sent as 0. */
  e.ft.st.valid = MOQC_TRANSPORT_STATS_RTT;
  e.ft.st.smoothed_rtt = 1 * MOQC_MILLISECONDS;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 16), 7);
  assert_int_equal(m[6].bitrate, 0);
  assert_int_equal(m[6].rtt_ms, 1);

  /* The transport stops measuring: our FIN, sampling ends. */
  e.ft.err = MOQC_ERR_CLOSED;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_true(ps->fin_in);
  assert_int_equal(probes(&e, ps, m, 16), 7);
  calls = e.ft.calls;
  env_advance(&e, 500 * MOQC_MILLISECONDS);
  assert_int_equal(e.ft.calls, calls);
  assert_int_equal(moqc_session_get_expiry(e.s), UINT64_MAX);
  env_del(&e);
}

/* lite-03: Bitrate only; an RTT move does not count. */
static void test_probe_lite03(void **state) {
  (void)state;
  env e;
  moqc__lite_probe m[4];
  env_new(&e, MOQC_SESSION_VERSION_LITE_03, true);
  dstream *ps = env_open_probe(&e);
  assert_int_equal(probes(&e, ps, m, 4), 1);
  assert_int_equal(m[0].bitrate, 1000000);
  /* Length 4, then the bitrate as a 4-byte varint, and no RTT. */
  assert_int_equal(ps->in_len, 5);
  assert_int_equal(ps->in[0], 4);
  e.ft.st.smoothed_rtt = 200 * MOQC_MILLISECONDS;
  env_advance(&e, 200 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 4), 1);
  e.ft.st.send_bitrate = 2000000;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 4), 2);
  assert_int_equal(m[1].bitrate, 2000000);
  env_del(&e);
}

/* lite-05: SETUP announces Report; PROBEs carry the RTT; the peer's FIN ends the stream. */
static void test_probe_lite05(void **state) {
  (void)state;
  env e;
  moqc__lite_probe m[4];
  moqc__lite_setup su;
  env_new(&e, MOQC_SESSION_VERSION_LITE_05, true);
  server_setup(&e, &su);
  assert_true(su.present & MOQC_LITE_SETUP_HAS_PROBE);
  assert_int_equal(su.probe, MOQC_LITE_PROBE_REPORT);
  assert_true(su.present & MOQC_LITE_SETUP_HAS_ORIGIN);
  assert_int_equal(su.origin, 0x0A0B);
  dstream *ps = env_open_probe(&e);
  assert_int_equal(probes(&e, ps, m, 4), 1);
  assert_int_equal(m[0].bitrate, 1000000);
  assert_int_equal(m[0].rtt_ms, 40);

  /* Moves are judged on the measurement, not on the rounded milliseconds: 40 -> 2.4 ms is
   * reported (as 2), 2.4 -> 2.6 ms (8 %) is not although the wire value would become 3. */
  e.ft.st.smoothed_rtt = 2400 * 1000;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 4), 2);
  assert_int_equal(m[1].rtt_ms, 2);
  e.ft.st.smoothed_rtt = 2600 * 1000;
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 4), 2);

  /* A second Probe stream while the first is reported on: FIN at once. */
  dstream *ps2 = env_open_probe(&e);
  assert_true(ps2->fin_in);
  assert_int_equal(ps2->in_len, 0);

  /* The subscriber FINs: ours follows, no more samples, the stream is gone on both ends. */
  ps->fin_out = true;
  e.d.tp.ops->resume_stream(e.d.tp.user_data, ps->id);
  env_pump(&e);
  assert_true(ps->fin_in);
  assert_true(ps->closed);
  int calls = e.ft.calls;
  env_advance(&e, 300 * MOQC_MILLISECONDS);
  assert_int_equal(e.ft.calls, calls);
  assert_int_equal(moqc_session_get_expiry(e.s), UINT64_MAX);

  /* A new Probe stream is reported on again. */
  dstream *ps3 = env_open_probe(&e);
  assert_int_equal(probes(&e, ps3, m, 4), 1);
  assert_false(ps3->fin_in);
  env_del(&e);
}

/* Without get_stats: no Probe level in SETUP and the Probe stream gets a bare FIN. */
static void test_probe_cannot_measure(void **state) {
  (void)state;
  env e;
  moqc__lite_setup su;
  env_new(&e, MOQC_SESSION_VERSION_LITE_05, false);
  server_setup(&e, &su);
  assert_false(su.present & MOQC_LITE_SETUP_HAS_PROBE);
  dstream *ps = env_open_probe(&e);
  assert_true(ps->fin_in);
  assert_int_equal(ps->in_len, 0);
  assert_int_equal(moqc_session_get_expiry(e.s), UINT64_MAX);
  env_del(&e);

  /* get_stats failing counts as cannot measure (lite-05 SETUP and lite-04 stream). */
  env_new(&e, MOQC_SESSION_VERSION_LITE_05, true);
  env_del(&e);
  memset(&e, 0, sizeof(e));
  assert_int_equal(moqc__mem_pair_new(&e.pair, NULL, NULL), 0);
  e.ft.inner = moqc__mem_transport(e.pair, MOQC__MEM_SERVER);
  e.ft.err = MOQC_ERR_UNSUPPORTED;
  e.d.tp = moqc__mem_transport(e.pair, MOQC__MEM_CLIENT);
  e.version = MOQC_SESSION_VERSION_LITE_05;
  moqc_transport t = {&fake_ops, &e.ft};
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.perspective = MOQC_SESSION_SERVER;
  assert_int_equal(moqc_session_new(&e.s, &st, &t, NULL, NULL, NULL), 0);
  moqc__mem_attach(e.pair, MOQC__MEM_CLIENT, &dbl_ops, &e.d);
  moqc__mem_attach(e.pair, MOQC__MEM_SERVER, moqc_session_app_ops(), e.s);
  assert_int_equal(moqc_session_start(e.s, moqc__mem_now(e.pair)), 0);
  env_pump(&e);
  server_setup(&e, &su);
  assert_false(su.present & MOQC_LITE_SETUP_HAS_PROBE);
  env_del(&e);

  env_new(&e, MOQC_SESSION_VERSION_LITE_04, true);
  e.ft.err = MOQC_ERR_CLOSED;
  ps = env_open_probe(&e);
  assert_true(ps->fin_in);
  assert_int_equal(ps->in_len, 0);
  env_del(&e);
}

/* The subscriber stops or resets the stream; the session closes while reporting. */
static void test_probe_endings(void **state) {
  (void)state;
  env e;
  moqc__lite_probe m[4];
  env_new(&e, MOQC_SESSION_VERSION_LITE_04, true);
  dstream *ps = env_open_probe(&e);
  assert_int_equal(probes(&e, ps, m, 4), 1);
  /* STOP_SENDING: we reset our side and stop sampling. */
  assert_int_equal(e.d.tp.ops->stop_sending(e.d.tp.user_data, ps->id, 0), 0);
  env_pump(&e);
  assert_true(ps->reset_in);
  int calls = e.ft.calls;
  env_advance(&e, 300 * MOQC_MILLISECONDS);
  assert_int_equal(e.ft.calls, calls);
  assert_int_equal(moqc_session_get_expiry(e.s), UINT64_MAX);

  /* RESET_STREAM of the subscriber's side: our FIN, no more samples. */
  ps = env_open_probe(&e);
  assert_int_equal(probes(&e, ps, m, 4), 1);
  assert_int_equal(e.d.tp.ops->reset_stream(e.d.tp.user_data, ps->id, 0), 0);
  env_pump(&e);
  assert_true(ps->fin_in);
  calls = e.ft.calls;
  env_advance(&e, 300 * MOQC_MILLISECONDS);
  assert_int_equal(e.ft.calls, calls);

  /* A session closed while reporting: no timer left; freeing it releases everything. */
  ps = env_open_probe(&e);
  assert_int_equal(probes(&e, ps, m, 4), 1);
  moqc_session_close(e.s, 0, NULL);
  assert_int_equal(moqc_session_get_expiry(e.s), UINT64_MAX);
  env_pump(&e);
  env_del(&e);

  /* Freed while reporting, with PROBE bytes in flight. */
  env_new(&e, MOQC_SESSION_VERSION_LITE_04, true);
  ps = env_open_probe(&e);
  e.ft.st.send_bitrate = 5000000;
  moqc__mem_advance(e.pair, 100 * MOQC_MILLISECONDS);
  assert_int_equal(moqc_session_handle_expiry(e.s, moqc__mem_now(e.pair)), 0);
  env_del(&e);
}

/* A transport that does not take the bytes: at most one PROBE waits unwritten, none piles up. */
static void test_probe_flow_blocked(void **state) {
  (void)state;
  env e;
  moqc__lite_probe m[8];
  env_new(&e, MOQC_SESSION_VERSION_LITE_04, true);
  dstream *ps = env_open_probe(&e);
  assert_int_equal(probes(&e, ps, m, 8), 1);
  /* Samples without pumping: the first change is queued, later ones wait for it. */
  for (int i = 1; i <= 5; i++) {
    e.ft.st.send_bitrate = 1000000 * (uint64_t)(1 << i);
    moqc__mem_advance(e.pair, 100 * MOQC_MILLISECONDS);
    assert_int_equal(moqc_session_handle_expiry(e.s, moqc__mem_now(e.pair)), 0);
  }
  env_pump(&e);
  assert_int_equal(probes(&e, ps, m, 8), 2);
  assert_int_equal(m[1].bitrate, 2000000);
  /* The next sample reports the current value. */
  env_advance(&e, 100 * MOQC_MILLISECONDS);
  assert_int_equal(probes(&e, ps, m, 8), 3);
  assert_int_equal(m[2].bitrate, 32000000);
  env_del(&e);
}

/* A lite-05 client session announces Report too, and only when its transport measures. */
static void test_probe_client_setup(void **state) {
  (void)state;
  for (int measure = 0; measure < 2; measure++) {
    moqc__mem_pair *pair;
    fake_tp ft;
    dbl d;
    memset(&ft, 0, sizeof(ft));
    memset(&d, 0, sizeof(d));
    assert_int_equal(moqc__mem_pair_new(&pair, NULL, NULL), 0);
    d.tp = moqc__mem_transport(pair, MOQC__MEM_SERVER);
    ft.inner = moqc__mem_transport(pair, MOQC__MEM_CLIENT);
    moqc_transport t = ft.inner;
    if (measure) {
      t.ops = &fake_ops;
      t.user_data = &ft;
    }
    moqc_session *s;
    moqc_session_settings st;
    moqc_session_settings_default(&st);
    st.version = MOQC_SESSION_VERSION_LITE_05;
    st.origin_id = 0x0C0D;
    assert_int_equal(moqc_session_new(&s, &st, &t, NULL, NULL, NULL), 0);
    moqc__mem_attach(pair, MOQC__MEM_SERVER, &dbl_ops, &d);
    moqc__mem_attach(pair, MOQC__MEM_CLIENT, moqc_session_app_ops(), s);
    assert_int_equal(moqc_session_start(s, moqc__mem_now(pair)), 0);
    assert_true(moqc__mem_pump(pair, SIZE_MAX, 20) >= 0);
    bool found = false;
    for (size_t i = 0; i < d.n; i++) {
      if (MOQC_STREAM_IS_UNI(d.st[i].id) && !MOQC_STREAM_IS_SERVER(d.st[i].id)) {
        const uint8_t *p = d.st[i].in, *end = d.st[i].in + d.st[i].in_len;
        uint64_t type;
        moqc__lite_setup m;
        assert_int_equal(moqc__lite_decode_stream_type(&p, end, &type), 0);
        assert_int_equal(type, MOQC_LITE_UNI_SETUP);
        assert_int_equal(moqc__lite_decode_setup(&p, end, MOQC_LITE_05, &m), 0);
        assert_int_equal((m.present & MOQC_LITE_SETUP_HAS_PROBE) != 0, measure);
        if (measure) {
          assert_int_equal(m.probe, MOQC_LITE_PROBE_REPORT);
        }
        assert_int_equal(m.origin, 0x0C0D);
        found = true;
      }
    }
    assert_true(found);
    moqc_session_del(s);
    moqc__mem_pair_del(pair);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_probe_sequence),     cmocka_unit_test(test_probe_lite03),
      cmocka_unit_test(test_probe_lite05),       cmocka_unit_test(test_probe_cannot_measure),
      cmocka_unit_test(test_probe_endings),      cmocka_unit_test(test_probe_flow_blocked),
      cmocka_unit_test(test_probe_client_setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
