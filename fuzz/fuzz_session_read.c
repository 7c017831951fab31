/*
 * Fuzz target: a moq-lite session's stream read path. The first byte picks the version and the
 * perspective; the rest is a script of operations on peer-opened streams: feed bytes (with or
 * without FIN), reset, stop, poll, drain the write side (acknowledging everything), datagrams,
 * stream closes and expiry. The session
 * serves one published broadcast and mirrors into a second origin, so the publisher and
 * subscriber halves are both reachable. Mode bit 3 gives the transport get_stats, whose
 * estimates (or failure) each expiry step sets from its argument: the Probe stream reports. It must never crash, leak or use freed memory, and the
 * bytes it consumes must always be all the bytes given.
 */
#include <stdlib.h>
#include <string.h>

#include <moqc/moqc.h>
#include <moqc/origin.h>
#include <moqc/session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct stub {
  int side; /* 0 client, 1 server */
  uint64_t next_bidi;
  uint64_t next_uni;
  int woken;
  int closed;
  int stats_err;
  moqc_transport_stats stats;
} stub;

static int stub_open(void *ud, bool uni, moqc_stream_id *id) {
  stub *t = ud;
  if (t->closed) {
    return MOQC_ERR_CLOSED;
  }
  uint64_t *n = uni ? &t->next_uni : &t->next_bidi;
  if (*n >= 64) {
    return MOQC_ERR_WOULD_BLOCK;
  }
  *id = (moqc_stream_id)((*n << 2) | (uni ? 2U : 0U) | (uint64_t)t->side);
  (*n)++;
  return 0;
}
static void stub_resume(void *ud, moqc_stream_id id) {
  (void)ud;
  (void)id;
}
static int stub_reset(void *ud, moqc_stream_id id, uint64_t code) {
  (void)ud;
  (void)id;
  (void)code;
  return 0;
}
static int stub_dgram(void *ud, const uint8_t *d, size_t n) {
  (void)ud;
  (void)d;
  (void)n;
  return 0;
}
static void stub_close(void *ud, uint64_t code, const char *r, size_t n) {
  (void)code;
  (void)r;
  (void)n;
  ((stub *)ud)->closed = 1;
}
static void stub_wake(void *ud) { ((stub *)ud)->woken = 1; }

static int stub_stats(void *ud, moqc_transport_stats *out) {
  stub *t = ud;
  if (t->stats_err != 0) {
    return t->stats_err;
  }
  *out = t->stats;
  return 0;
}

static const moqc_transport_ops stub_ops = {
    .open_stream = stub_open,
    .resume_stream = stub_resume,
    .reset_stream = stub_reset,
    .stop_sending = stub_reset,
    .send_datagram = stub_dgram,
    .close = stub_close,
    .wake = stub_wake,
};
static const moqc_transport_ops stub_stats_ops = {
    .open_stream = stub_open,
    .resume_stream = stub_resume,
    .reset_stream = stub_reset,
    .stop_sending = stub_reset,
    .send_datagram = stub_dgram,
    .close = stub_close,
    .wake = stub_wake,
    .get_stats = stub_stats,
};

/* Pulls everything the session wants to send and acknowledges it at once. */
static void drain(moqc_session *s, moqc_tstamp now) {
  for (int i = 0; i < 256; i++) {
    moqc_stream_id id;
    bool fin;
    moqc_vec vec[8];
    moqc_ssize n = moqc_session_writev_stream(s, &id, &fin, vec, 8, now);
    if (n < 0) {
      abort();
    }
    if (id == MOQC_STREAM_NONE) {
      return;
    }
    size_t total = 0;
    for (moqc_ssize j = 0; j < n; j++) {
      if (vec[j].len > 0 && vec[j].base == NULL) {
        abort();
      }
      total += vec[j].len;
    }
    if (moqc_session_add_write_offset(s, id, total) != 0) {
      abort();
    }
    moqc_session_add_ack_offset(s, id, total);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  static const uint32_t versions[4] = {MOQC_SESSION_VERSION_LITE_05, MOQC_SESSION_VERSION_LITE_04,
                                       MOQC_SESSION_VERSION_LITE_03,
                                       MOQC_SESSION_VERSION_LEGACY};
  uint8_t mode = data[0];
  data++;
  size--;

  moqc_origin *o;
  moqc_origin_settings os;
  moqc_origin_settings_default(&os);
  os.id = 77;
  if (moqc_origin_new(&o, &os) != 0) {
    return 0;
  }
  moqc_origin_producer *prod;
  moqc_origin_consumer *cons;
  moqc_origin_producer_new(o, &prod);
  moqc_origin_consumer_new(o, &cons);
  moqc_broadcast_producer *bp = NULL;
  moqc_origin_publish *guard = NULL;
  moqc_track_producer *tp = NULL;
  moqc_track_info info;
  moqc_track_info_default(&info);
  if (moqc_origin_producer_create_broadcast(prod, moqc_str_c("demo/bbb"), NULL, &bp, &guard) ==
      0) {
    moqc_broadcast_producer_create_track(bp, "video", &info, &tp);
  }

  stub t;
  memset(&t, 0, sizeof(t));
  t.side = (mode & 4) ? 1 : 0;
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.version = versions[mode & 3];
  st.perspective = t.side ? MOQC_SESSION_SERVER : MOQC_SESSION_CLIENT;
  st.origin_id = 5;
  st.max_message_size = 4096;
  bool measure = (mode & 8) != 0;
  t.stats.valid = MOQC_TRANSPORT_STATS_RTT | MOQC_TRANSPORT_STATS_BITRATE;
  t.stats.smoothed_rtt = 30 * MOQC_MILLISECONDS;
  t.stats.send_bitrate = 2000000;
  moqc_transport tr = {measure ? &stub_stats_ops : &stub_ops, &t};
  moqc_session *s;
  if (moqc_session_new(&s, &st, &tr, cons, prod, NULL) != 0) {
    abort();
  }
  moqc_tstamp now = MOQC_SECONDS;
  moqc_session_start(s, now);
  int peer = 1 - t.side;

  const uint8_t *p = data, *end = data + size;
  uint64_t seq = 0;
  while (p + 2 <= end) {
    uint8_t op = *p++;
    uint8_t arg = *p++;
    /* Peer-opened stream ids: a few bidi and uni streams of the peer, or one of ours. */
    int n = (op >> 3) & 7;
    bool uni = (op & 0x40) != 0;
    bool ours = (op & 0x80) != 0 && (op & 7) == 3;
    moqc_stream_id id = (moqc_stream_id)(((uint64_t)n << 2) | (uni ? 2U : 0U) |
                                         (uint64_t)(ours ? t.side : peer));
    now += MOQC_MILLISECONDS;
    switch (op & 7) {
    case 0:
    case 1:
    case 2: {
      size_t len = arg;
      if (len > (size_t)(end - p)) {
        len = (size_t)(end - p);
      }
      moqc_ssize r = moqc_session_read_stream(s, id, p, len, (op & 7) == 1, now);
      if (r >= 0 && (size_t)r != len) {
        abort();
      }
      p += len;
      break;
    }
    case 3:
      moqc_session_recv_reset(s, id, arg, now);
      break;
    case 4:
      moqc_session_recv_stop_sending(s, id, arg, now);
      break;
    case 5:
      drain(s, now);
      break;
    case 6:
      if (tp != NULL) {
        moqc_group_producer *gp;
        if (moqc_track_producer_create_group(tp, seq++, now, &gp) == 0) {
          moqc_group_producer_write_frame(gp, p, (size_t)(end - p) < arg ? (size_t)(end - p) : arg,
                                          seq);
          moqc_group_producer_finish(gp);
          moqc_group_producer_del(gp);
        }
      }
      moqc_session_poll(s, now);
      break;
    default:
      if ((arg & 3) == 1) {
        moqc_session_close_stream(s, id, now);
      } else if ((arg & 3) == 0) {
        if (measure) {
          /* Probe estimates from arg (valid bits, values, failure), and steps of 50 ms. */
          uint64_t k = (uint64_t)(arg >> 2);
          t.stats.valid = (uint32_t)(k & 3);
          t.stats.send_bitrate = k * k * 123457;
          t.stats.smoothed_rtt = k * 700 * 1000;
          t.stats_err = k == 63 ? MOQC_ERR_CLOSED : 0;
          now += (moqc_tstamp)k * 50 * MOQC_MILLISECONDS;
        } else {
          now += (moqc_tstamp)arg * MOQC_SECONDS;
        }
        if (moqc_session_get_expiry(s) <= now) {
          moqc_session_handle_expiry(s, now);
        }
      } else {
        /* A datagram of the next arg / 4 bytes. */
        size_t len = (size_t)(arg >> 2);
        if (len > (size_t)(end - p)) {
          len = (size_t)(end - p);
        }
        moqc_session_recv_datagram(s, p, len, now);
        p += len;
      }
      break;
    }
    if (t.woken) {
      t.woken = 0;
      moqc_session_poll(s, now);
    }
  }
  drain(s, now);
  moqc_session_del(s);
  moqc_track_producer_del(tp);
  moqc_origin_publish_del(guard);
  moqc_broadcast_producer_del(bp);
  moqc_origin_producer_del(prod);
  moqc_origin_consumer_del(cons);
  moqc_origin_decref(o);
  return 0;
}
