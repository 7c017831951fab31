/*
 * Session write-path benchmark: the per-packet cost of the calls a QUIC transport makes into a
 * moq-lite session while it sends a broadcast, i.e. moqc_session_writev_stream (pick the stream,
 * gather up to 16 ranges), moqc_session_add_write_offset (one packet's worth taken) and, a
 * window of packets later, moqc_session_add_ack_offset (chunks released).
 *
 * The session runs over a stub transport and is driven directly, the way the relay's QUIC
 * connection drives it: three group streams in flight (two video groups of 60 frames of 10 KB,
 * and an audio group of 60 frames of 600 B at a higher subscriber priority), each frame queued as
 * a FRAME header chunk plus 1100-byte slices of shared frame buffers, topped up to 64 KB
 * unwritten as bytes are written (as pub_group_poll does); a group stream is closed once its FIN
 * and every byte are acknowledged (32 packets after being written) and the next group opens. Control streams (setup,
 * announce, two subscribe streams) get a small message now and then. Optional idle streams
 * (peer-opened, nothing to send) fill the stream table, as lingering streams do.
 *
 * Prints ns per cycle (writev + write offset + ack, including the re-queueing) for one session
 * with 0, 32 and 256 idle streams, and for 1000 sessions taking turns packet by packet (cold
 * caches, as in a relay fanning out to 1000 viewers) with 0 and 8 idle streams each, with the bytes written per cycle, groups delivered and cycles that found nothing
 * to write (all groups waiting for ACKs; such a cycle acknowledges one packet). Only uses
 * session internals that predate the ready heap, so it builds against older trees for
 * before/after figures. Prints, never asserts.
 *
 * Usage: bench_session_write [cycles per measurement, default 2000000] [rounds, default 3]
 * [ranges per writev, 1-16, default 16]
 */
#include <moqc/moqc.h>
#include <moqc/session.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session/session_int.h"

#define FRAMES_PER_GROUP 60
#define FRAME_BYTES 10000
#define AUDIO_FRAME_BYTES 600
#define SLICE_BYTES 1100
#define PACKET_BYTES 1200
#define QUEUE_AHEAD (64 * 1024)
#define ACK_LAG 32 /* packets in flight before the first is acknowledged */
#define MAX_VECS 16
#define BENCH_GROUPS 3

typedef struct bench_tp {
  int64_t next_uni;
} bench_tp;

static int tp_open(void *ud, bool uni, moqc_stream_id *id) {
  bench_tp *t = ud;
  (void)uni;
  *id = t->next_uni;
  t->next_uni += 4;
  return 0;
}
static void tp_resume(void *ud, moqc_stream_id id) {
  (void)ud;
  (void)id;
}
static int tp_reset(void *ud, moqc_stream_id id, uint64_t code) {
  (void)ud;
  (void)id;
  (void)code;
  return 0;
}
static int tp_dgram(void *ud, const uint8_t *data, size_t len) {
  (void)ud;
  (void)data;
  (void)len;
  return 0;
}
static void tp_close(void *ud, uint64_t code, const char *reason, size_t len) {
  (void)ud;
  (void)code;
  (void)reason;
  (void)len;
}
static void tp_wake(void *ud) { (void)ud; }

static const moqc_transport_ops bench_ops = {
    .open_stream = tp_open,
    .resume_stream = tp_resume,
    .reset_stream = tp_reset,
    .stop_sending = tp_reset,
    .send_datagram = tp_dgram,
    .close = tp_close,
    .wake = tp_wake,
};

/* One group being sent: its stream and how far its frames were queued. */
typedef struct group_tx {
  sess_stream *st;
  moqc_stream_id id;
  uint8_t sub_priority;
  uint64_t sequence;
  size_t frame_bytes; /* FRAME_BYTES for video, AUDIO_FRAME_BYTES for audio */
  int frame;       /* next frame to queue */
  size_t frame_off; /* next byte of that frame to queue (0 = header first) */
} group_tx;

typedef struct inflight {
  moqc_stream_id id;
  size_t n;
} inflight;

typedef struct bench {
  bench_tp tp;
  moqc_session *s;
  moqc_rcbuf **frames; /* FRAMES_PER_GROUP shared frame buffers */
  group_tx groups[BENCH_GROUPS];
  sess_stream *control[4];
  inflight ring[ACK_LAG];
  size_t ring_head;
  size_t ring_n;
  uint64_t next_sequence;
  uint64_t bytes;  /* stream bytes written */
  uint64_t delivered; /* groups delivered */
  uint64_t idle;      /* cycles with nothing to write */
} bench;

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "bench_session_write: %s\n", what);
  exit(1);
}

/* Queues frames of g until QUEUE_AHEAD bytes are unwritten or the group is complete. */
static void group_top_up(bench *b, group_tx *g) {
  sess_stream *st = g->st;
  while (st->queued - st->written < QUEUE_AHEAD && g->frame < FRAMES_PER_GROUP) {
    if (g->frame_off == 0) {
      uint8_t hdr[3] = {(uint8_t)(0x40 | (g->frame_bytes >> 8)), (uint8_t)g->frame_bytes, 0};
      if (moqc__sess_queue_copy(b->s, st, hdr, sizeof(hdr)) != 0) {
        die("queue header");
      }
    }
    size_t len = g->frame_bytes - g->frame_off;
    if (len > SLICE_BYTES) {
      len = SLICE_BYTES;
    }
    if (moqc__sess_queue_buf(b->s, st, b->frames[g->frame], g->frame_off, len) != 0) {
      die("queue slice");
    }
    g->frame_off += len;
    if (g->frame_off == g->frame_bytes) {
      g->frame++;
      g->frame_off = 0;
    }
  }
  if (g->frame == FRAMES_PER_GROUP) {
    moqc__sess_queue_fin(b->s, st);
  }
}

/* Opens the next group on slot g. Scheduling fields are set before anything is queued. */
static void group_open(bench *b, group_tx *g, uint8_t sub_priority, size_t frame_bytes) {
  moqc_stream_id id = b->tp.next_uni;
  b->tp.next_uni += 4;
  sess_stream *st = moqc__sess_add(b->s, id, SK_DISCARD);
  if (st == NULL) {
    die("add group stream");
  }
  st->sclass = SESS_CLASS_GROUP;
  st->sub_priority = sub_priority;
  st->sequence = b->next_sequence++;
  g->st = st;
  g->id = id;
  g->sub_priority = sub_priority;
  g->sequence = st->sequence;
  g->frame_bytes = frame_bytes;
  g->frame = 0;
  g->frame_off = 0;
  group_top_up(b, g);
}

static void bench_open(bench *b, size_t idle, moqc_rcbuf **frames) {
  memset(b, 0, sizeof(*b));
  b->frames = frames;
  b->tp.next_uni = 2; /* client-initiated uni: 4n + 2 */
  moqc_transport tp = {.ops = &bench_ops, .user_data = &b->tp};
  if (moqc_session_new(&b->s, NULL, &tp, NULL, NULL, NULL) != 0) {
    die("session");
  }
  /* Control streams: our bidi streams 4n. */
  for (int i = 0; i < 4; i++) {
    b->control[i] = moqc__sess_add(b->s, 4 * i, SK_DISCARD);
    if (b->control[i] == NULL) {
      die("add control stream");
    }
  }
  /* Idle streams: peer-opened uni (4n + 3), never sent on. */
  for (size_t i = 0; i < idle; i++) {
    if (moqc__sess_add(b->s, (moqc_stream_id)(4 * i + 3), SK_DISCARD) == NULL) {
      die("add idle stream");
    }
  }
  group_open(b, &b->groups[0], 0, FRAME_BYTES);       /* older video group */
  group_open(b, &b->groups[1], 1, AUDIO_FRAME_BYTES); /* audio */
  group_open(b, &b->groups[2], 0, FRAME_BYTES);       /* newest video group */
}

static void bench_close(bench *b) { moqc_session_del(b->s); }

static void ack_one(bench *b) {
  inflight *f = &b->ring[b->ring_head];
  b->ring_head = (b->ring_head + 1) % ACK_LAG;
  b->ring_n--;
  moqc_session_add_ack_offset(b->s, f->id, f->n);
  /* A delivered group closes and the next one opens in its slot. */
  for (int i = 0; i < BENCH_GROUPS; i++) {
    group_tx *g = &b->groups[i];
    if (g->id == f->id && g->st->fin_written && g->st->acked == g->st->queued) {
      moqc_session_close_stream(b->s, g->id, 0);
      b->delivered++;
      group_open(b, g, g->sub_priority, g->frame_bytes);
    }
  }
}

/* One packet: writev, take up to PACKET_BYTES, ack the packet ACK_LAG packets back. */
/* Ranges asked for per writev: 16, as lib/transport/quic_app.c asks; argv[3] overrides. */
static size_t vecs = MAX_VECS;

static void cycle(bench *b, uint64_t i) {
  moqc_vec vec[MAX_VECS];
  moqc_stream_id id;
  bool fin;
  if (i % 256 == 0) {
    uint8_t msg[12] = {0};
    (void)moqc__sess_queue_copy(b->s, b->control[(i / 256) % 4], msg, sizeof(msg));
  }
  moqc_ssize n = moqc_session_writev_stream(b->s, &id, &fin, vec, vecs, 0);
  if (n < 0) {
    die("writev");
  }
  if (id == MOQC_STREAM_NONE) {
    /* Every group written, waiting for ACKs (rare): an ACK arrives. */
    if (b->ring_n == 0) {
      die("nothing to write");
    }
    b->idle++;
    ack_one(b);
    return;
  }
  size_t take = 0;
  for (moqc_ssize k = 0; k < n && take < PACKET_BYTES; k++) {
    take += vec[k].len;
  }
  if (take > PACKET_BYTES) {
    take = PACKET_BYTES;
  }
  moqc_session_add_write_offset(b->s, id, take);
  b->bytes += take;
  for (int k = 0; k < BENCH_GROUPS; k++) {
    if (b->groups[k].id == id) {
      group_top_up(b, &b->groups[k]);
    }
  }
  if (b->ring_n == ACK_LAG) {
    ack_one(b);
  }
  b->ring[(b->ring_head + b->ring_n) % ACK_LAG] = (inflight){id, take};
  b->ring_n++;
}

/* One measurement: sessions sessions with idle idle streams each, cycles cycles in all, the
 * sessions taking turns packet by packet (as a relay's connections do). */
static void measure(int round, size_t sessions, size_t idle, uint64_t cycles,
                    moqc_rcbuf **frames) {
  bench *b = calloc(sessions, sizeof(*b));
  if (b == NULL) {
    die("out of memory");
  }
  for (size_t j = 0; j < sessions; j++) {
    bench_open(&b[j], idle, frames);
  }
  for (uint64_t i = 0; i < cycles / 10; i++) { /* warm up */
    cycle(&b[i % sessions], i / sessions);
  }
  double t0 = now_sec();
  for (uint64_t i = 0; i < cycles; i++) {
    cycle(&b[i % sessions], (i + cycles / 10) / sessions);
  }
  double dt = now_sec() - t0;
  uint64_t bytes = 0, delivered = 0, idles = 0;
  for (size_t j = 0; j < sessions; j++) {
    bytes += b[j].bytes;
    delivered += b[j].delivered;
    idles += b[j].idle;
  }
  printf("round %d sessions %4zu idle_streams %3zu streams %3zu: %7.1f ns/cycle "
         "(%.0f B/cycle, %llu groups, %llu idle)\n",
         round, sessions, idle, b[0].s->nstreams, dt * 1e9 / (double)cycles,
         (double)bytes / (double)(cycles + cycles / 10), (unsigned long long)delivered,
         (unsigned long long)idles);
  for (size_t j = 0; j < sessions; j++) {
    bench_close(&b[j]);
  }
  free(b);
}

int main(int argc, char **argv) {
  uint64_t cycles = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (argc > 3) {
    vecs = strtoul(argv[3], NULL, 10);
    if (vecs < 1 || vecs > MAX_VECS) {
      die("ranges per writev: 1 to 16");
    }
  }
  static const struct {
    size_t sessions, idle;
  } runs[] = {{1, 0}, {1, 32}, {1, 256}, {1000, 0}, {1000, 8}};
  moqc_rcbuf *frames[FRAMES_PER_GROUP];
  for (int i = 0; i < FRAMES_PER_GROUP; i++) {
    if (moqc_rcbuf_new(&frames[i], FRAME_BYTES, NULL) != 0) {
      die("rcbuf");
    }
    memset(moqc_rcbuf_data_mut(frames[i]), i, FRAME_BYTES);
  }
  printf("bench_session_write: %llu cycles per measurement, %d rounds, %zu ranges per writev\n",
         (unsigned long long)cycles, rounds, vecs);
  for (int r = 0; r < rounds; r++) {
    for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
      measure(r + 1, runs[k].sessions, runs[k].idle, cycles, frames);
    }
  }
  for (int i = 0; i < FRAMES_PER_GROUP; i++) {
    moqc_rcbuf_decref(frames[i]);
  }
  return 0;
}
