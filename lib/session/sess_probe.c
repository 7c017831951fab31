/*
 * Publisher half of the Probe stream (bidi 0x4, lite-03+, spec 4.8): the peer opens it, we write
 * PROBE messages with the transport's current send bitrate and (lite-04+) smoothed RTT.
 *
 * Sampling (the rule both upstream publishers follow): the transport is sampled every 100 ms on
 * the session's timer; a PROBE goes out for the first sample, then whenever a reported value moved
 * by at least 25 % of the last sent one (the threshold decays linearly to 0 over the 10 s after
 * the last PROBE), or once 10 s passed without one. Moves are measured on the transport's values
 * (bits/s, ns), not on the rounded wire values. A known 0 is sent as 1 (0 means unknown).
 * Only one Probe stream per session is reported on; a second one, or any when the transport
 * cannot measure (moqc_transport_ops.get_stats NULL or failing), gets our FIN at once.
 */
#include "session/session_int.h"

/** JS numbers: the wire values stay below 2^53. */
#define PROBE_JS_MAX ((UINT64_C(1) << 53) - 1)

bool moqc__sess_probe_can_measure(moqc_session *s) {
  moqc_transport_stats st;
  if (s->tp.ops->get_stats == NULL) {
    return false;
  }
  return s->tp.ops->get_stats(s->tp.user_data, &st) == 0;
}

static uint64_t probe_wire(uint64_t v) {
  if (v == 0) {
    return 1; /* a real 0: 0 would say "unknown" */
  }
  return v > PROBE_JS_MAX ? PROBE_JS_MAX : v;
}

/* True when v moved from last by at least the threshold, which is 25 % right after the last
 * PROBE and decays linearly to 0 at SESS_PROBE_MAX_QUIET. */
static bool probe_moved(uint64_t last, uint64_t v, moqc_tstamp elapsed) {
  if (v == last) {
    return false;
  }
  if (last == 0 || v == 0) {
    return true; /* became known, or unknown */
  }
  double diff = v > last ? (double)(v - last) : (double)(last - v);
  double left = 1.0 - (double)elapsed / (double)SESS_PROBE_MAX_QUIET;
  return diff / (double)last >= 0.25 * left;
}

void moqc__sess_probe_stop(moqc_session *s, sess_stream *st, bool fin) {
  if (st->id == s->probe_id) {
    s->probe_id = MOQC_STREAM_NONE;
    s->probe_due = UINT64_MAX;
    s->probe_sent = false;
  }
  if (fin) {
    moqc__sess_queue_fin(s, st);
  }
}

/* Samples the transport once and queues a PROBE on st when the rule says so. */
static void probe_sample(moqc_session *s, sess_stream *st) {
  moqc_transport_stats ts = {0, 0, 0};
  if (s->tp.ops->get_stats == NULL || s->tp.ops->get_stats(s->tp.user_data, &ts) != 0) {
    /* The transport stopped measuring: end our side, as for a path we never measured. */
    MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "probe stream %lld: transport stats gone",
             (long long)st->id);
    moqc__sess_probe_stop(s, st, true);
    return;
  }
  s->probe_due = s->now + SESS_PROBE_PERIOD;
  /* Moves are judged on the measurements (bits/s, ns; 0 = unknown here, a known 0 counts as
   * 1), not on the wire's whole milliseconds: on a short path 2 -> 3 ms would be "50 %". */
  bool has_rtt = s->version >= MOQC_LITE_04 && (ts.valid & MOQC_TRANSPORT_STATS_RTT);
  uint64_t bitrate = (ts.valid & MOQC_TRANSPORT_STATS_BITRATE) ? probe_wire(ts.send_bitrate) : 0;
  uint64_t rtt_ns = has_rtt ? probe_wire(ts.smoothed_rtt) : 0;
  uint64_t rtt_ms = 0;
  if (has_rtt) {
    rtt_ms = ts.smoothed_rtt / MOQC_MILLISECONDS +
             (ts.smoothed_rtt % MOQC_MILLISECONDS >= MOQC_MILLISECONDS / 2 ? 1 : 0);
    rtt_ms = probe_wire(rtt_ms);
  }
  if (s->probe_sent) {
    moqc_tstamp elapsed = s->now > s->probe_sent_at ? s->now - s->probe_sent_at : 0;
    if (elapsed < SESS_PROBE_MAX_QUIET && !probe_moved(s->probe_bitrate, bitrate, elapsed) &&
        !probe_moved(s->probe_rtt_ns, rtt_ns, elapsed)) {
      return;
    }
  }
  if (moqc__sess_unwritten(st) > 0) {
    /* The peer is not reading (flow control) or the transport is behind: queue nothing more
     * than the one PROBE still waiting; the next sample decides again. */
    return;
  }
  uint8_t buf[MOQC_LITE_MAX_PROBE_SIZE];
  moqc__writer w;
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__lite_probe m = {bitrate, rtt_ms};
  moqc_ssize n;
  if (moqc__lite_encode_probe(&w, s->version, &m) < 0 || (n = moqc__writer_result(&w)) < 0) {
    moqc__sess_probe_stop(s, st, true);
    return;
  }
  if (moqc__sess_queue_copy(s, st, buf, (size_t)n) < 0) {
    return; /* out of memory: best effort, the next sample tries again */
  }
  s->probe_sent = true;
  s->probe_sent_at = s->now;
  s->probe_bitrate = bitrate;
  s->probe_rtt_ns = rtt_ns;
}

void moqc__sess_probe_open(moqc_session *s, sess_stream *st) {
  if (s->probe_id != MOQC_STREAM_NONE || !moqc__sess_probe_can_measure(s)) {
    /* We cannot measure the path (or report on another Probe stream already): FIN our side,
     * as the JS publisher does. */
    moqc__sess_queue_fin(s, st);
    return;
  }
  s->probe_id = st->id;
  s->probe_sent = false;
  MOQC_LOG(&s->settings.log, MOQC_LOG_DEBUG, "probe stream %lld: reporting the path's estimates",
           (long long)st->id);
  probe_sample(s, st);
}

int moqc__sess_probe_read(moqc_session *s, sess_stream *st, const uint8_t **p, const uint8_t *end,
                          bool fin) {
  /* The draft lets the subscriber send PROBE targets here; no implementation does, and we have
   * nothing to do with them: read and ignored. */
  *p = end;
  if (fin) {
    st->rx_done = true;
    moqc__sess_probe_stop(s, st, true);
  }
  return 0;
}

void moqc__sess_probe_tick(moqc_session *s) {
  if (s->probe_id == MOQC_STREAM_NONE || s->probe_due > s->now) {
    return;
  }
  sess_stream *st = moqc__sess_find(s, s->probe_id);
  if (st == NULL || st->kind != SK_PROBE || st->send_done || st->fin_queued) {
    s->probe_id = MOQC_STREAM_NONE;
    s->probe_due = UINT64_MAX;
    s->probe_sent = false;
    return;
  }
  probe_sample(s, st);
}
