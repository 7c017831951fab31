/*
 * Fan-out benchmark: one track read by N in-process consumers (N = 1, 100,
 * 1000, 10000), with metering off (NULL scopes) and on (a stats registry, one session
 * context per consumer), in the same run. Prints deliveries (frames read by a
 * consumer) per second for each and the ratio on/off; the target is >= 0.97 at
 * N = 1000. Prints, never asserts.
 *
 * Usage: bench_model_fanout [deliveries per measurement, default 2000000]
 * [rounds, default 3]
 */
#include <moqc/moqc.h>
#include <moqc/origin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAME_BYTES 1200

typedef struct fanout {
  moqc_stats_registry *reg;
  moqc_stats_session *pub_session;
  moqc_usage_scope *ingress;
  moqc_broadcast_producer *bp;
  moqc_track_producer *tp;
  size_t n;
  moqc_stats_session **sessions;
  moqc_usage_scope **scopes;
  moqc_broadcast_consumer **bcs;
  moqc_track_consumer **tcs;
  moqc_track_subscriber **subs;
} fanout;

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rv) {
  fprintf(stderr, "bench_model_fanout: %s: %s\n", what, moqc_strerror(rv));
  exit(1);
}

static void fanout_open(fanout *f, size_t n, bool metered) {
  moqc_track_info info;
  moqc_broadcast_consumer *plain;
  int rv;

  memset(f, 0, sizeof(*f));
  f->n = n;
  if (metered) {
    if ((rv = moqc_stats_registry_new(&f->reg, NULL, 0, NULL)) != 0 ||
        (rv = moqc_stats_session_new(&f->pub_session, f->reg, moqc_str_c(""),
                                     moqc_str_c(""))) != 0) {
      die("registry", rv);
    }
    f->ingress = moqc_stats_session_scope(
        f->pub_session, MOQC_DIRECTION_INGRESS, moqc_str_c("bench/demo"));
  }
  if ((rv = moqc_broadcast_new(&f->bp, f->ingress, NULL)) != 0) {
    die("broadcast", rv);
  }
  moqc_track_info_default(&info);
  if ((rv = moqc_broadcast_producer_create_track(f->bp, "video", &info,
                                                 &f->tp)) != 0) {
    die("track", rv);
  }
  if ((rv = moqc_broadcast_producer_consume(f->bp, &plain)) != 0) {
    die("consume", rv);
  }
  f->sessions = calloc(n, sizeof(*f->sessions));
  f->scopes = calloc(n, sizeof(*f->scopes));
  f->bcs = calloc(n, sizeof(*f->bcs));
  f->tcs = calloc(n, sizeof(*f->tcs));
  f->subs = calloc(n, sizeof(*f->subs));
  if (!f->sessions || !f->scopes || !f->bcs || !f->tcs || !f->subs) {
    die("calloc", MOQC_ERR_NOMEM);
  }
  for (size_t i = 0; i < n; i++) {
    if (metered) {
      if ((rv = moqc_stats_session_new(&f->sessions[i], f->reg, moqc_str_c(""),
                                       moqc_str_c(""))) != 0) {
        die("session", rv);
      }
      f->scopes[i] = moqc_stats_session_scope(
          f->sessions[i], MOQC_DIRECTION_EGRESS, moqc_str_c("bench/demo"));
    }
    if ((rv = moqc_broadcast_consumer_with_usage(plain, f->scopes[i],
                                                 &f->bcs[i])) != 0 ||
        (rv = moqc_broadcast_consumer_track(f->bcs[i], "video", &f->tcs[i])) !=
            0 ||
        (rv = moqc_track_consumer_subscribe(f->tcs[i], NULL, &f->subs[i],
                                            NULL)) != 0) {
      die("subscribe", rv);
    }
  }
  moqc_broadcast_consumer_del(plain);
}

static void fanout_close(fanout *f) {
  for (size_t i = 0; i < f->n; i++) {
    moqc_track_subscriber_del(f->subs[i]);
    moqc_track_consumer_del(f->tcs[i]);
    moqc_broadcast_consumer_del(f->bcs[i]);
    moqc_usage_scope_decref(f->scopes[i]);
    moqc_stats_session_decref(f->sessions[i]);
  }
  moqc_track_producer_del(f->tp);
  moqc_broadcast_producer_del(f->bp);
  moqc_usage_scope_decref(f->ingress);
  moqc_stats_session_decref(f->pub_session);
  moqc_stats_registry_decref(f->reg);
  free(f->sessions);
  free(f->scopes);
  free(f->bcs);
  free(f->tcs);
  free(f->subs);
}

/* Writes groups of one frame each; after every group each consumer reads it.
 * Returns the deliveries per second. */
static double fanout_run(fanout *f, uint64_t groups, uint64_t *deliveries) {
  static uint8_t payload[FRAME_BYTES];
  moqc_tstamp now = 0;
  uint64_t n = 0;
  double t0 = now_sec();
  int rv;

  for (uint64_t g = 0; g < groups; g++) {
    moqc_group_producer *gp;
    now += MOQC_SECONDS; /* old groups leave the cache after the retention */
    if ((rv = moqc_track_producer_append_group(f->tp, now, &gp)) != 0 ||
        (rv = moqc_group_producer_write_frame(gp, payload, sizeof(payload),
                                              g)) != 0 ||
        (rv = moqc_group_producer_finish(gp)) != 0) {
      die("write", rv);
    }
    moqc_group_producer_del(gp);
    for (size_t i = 0; i < f->n; i++) {
      moqc_group_consumer *gc;
      moqc_rcbuf *buf;
      if ((rv = moqc_track_subscriber_next_group(f->subs[i], &gc, NULL)) != 0) {
        die("next_group", rv);
      }
      while ((rv = moqc_group_consumer_read_frame(gc, &buf, NULL, NULL)) == 0) {
        moqc_rcbuf_decref(buf);
        n++;
      }
      if (rv != MOQC_END) {
        die("read_frame", rv);
      }
      moqc_group_consumer_del(gc);
    }
  }
  *deliveries = n;
  return (double)n / (now_sec() - t0);
}

int main(int argc, char **argv) {
  static const size_t ns[] = {1, 100, 1000, 10000};
  uint64_t target = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;

  if (target == 0 || rounds <= 0) {
    fprintf(stderr, "usage: bench_model_fanout [deliveries] [rounds]\n");
    return 2;
  }
  printf("one track, 1 frame of %d bytes per group, best of %d rounds\n",
         FRAME_BYTES, rounds);
  printf("%6s %16s %16s %8s  %s\n", "N", "off deliv/s", "on deliv/s", "on/off",
         "metered check");
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
    size_t n = ns[k];
    uint64_t groups = target / n;
    double best[2] = {0, 0};
    bool exact = true;
    for (int r = 0; r < rounds; r++) {
      /* Alternate the order so neither mode always runs warm. */
      for (int j = 0; j < 2; j++) {
        int metered = (r + j) % 2;
        fanout f;
        uint64_t delivered;
        fanout_open(&f, n, metered);
        double rate = fanout_run(&f, groups, &delivered);
        if (rate > best[metered]) {
          best[metered] = rate;
        }
        if (metered) {
          moqc_usage *u;
          moqc_usage_counters c;
          moqc_stats_registry_sink(f.reg, moqc_str_c(""), MOQC_DIRECTION_EGRESS,
                                   moqc_str_c("bench/demo"), &u);
          moqc_usage_read(u, &c);
          moqc_usage_decref(u);
          exact = exact && c.frames == delivered &&
                  c.bytes == delivered * FRAME_BYTES && c.groups == delivered &&
                  c.broadcasts == n;
        }
        fanout_close(&f);
      }
    }
    printf("%6zu %16.0f %16.0f %8.3f  %s\n", n, best[0], best[1],
           best[1] / best[0],
           exact ? "egress counters exact" : "EGRESS COUNTERS WRONG");
  }
  return 0;
}
