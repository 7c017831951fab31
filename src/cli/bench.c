/*
 * `moqc bench`: the load generator (see bench.h and docs/PERFORMANCE.md).
 *
 * Every connection is a cli_client on one libuv loop. Phases of the run:
 *   CONNECT  publishers, then subscribers, are dialled at --connect-rate; each
 * subscriber waits for its broadcast's announce and subscribes to the track.
 *   RUN      once every subscription is in place and every publisher sees the
 * relay's subscription (or --startup-timeout passed), every publisher writes
 * frames paced at
 *            --fps for --duration seconds, a group per --group-frames.
 *   DRAIN    the tracks are finished; subscribers read until their track ends
 * (or --drain). CLOSE    every session is closed; the loop runs dry; the JSON
 * summary is printed.
 *
 * With --threads N, N such runs share the work, each on its own loop and
 * thread: the first (on the calling thread) has the publishers, the idle
 * connections and its share of the subscribers and decides the phases; each
 * other one has a share of every broadcast's subscribers, reports its counts
 * through bench_shared and follows the first one's phase. Nothing else is
 * shared: their counters are merged once every thread has ended.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "client.h"
#include "cmd.h"
#include "payload.h"
#include "summary.h"
#include "wt_plan.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Pause between "everything subscribed" and the first frame, for the relay's
 * upstream subscriptions to settle. */
#define BENCH_SETTLE_MS 200

typedef enum bench_phase {
  BENCH_CONNECT = 0,
  BENCH_RUN,
  BENCH_DRAIN,
  BENCH_CLOSE
} bench_phase;

typedef struct bench_run bench_run;

/* The counts the other loops of a --threads run report to the first. */
typedef enum bench_counter {
  BENCH_READY = 0, /* connections whose session started */
  BENCH_SUBSCRIBED,
  BENCH_DONE,    /* subscribers that read their track to the end */
  BENCH_DIALLED, /* loops that dialled all their connections */
  BENCH_NCOUNTERS
} bench_counter;

/* What the loops of a --threads run tell each other. The counts are sums over
 * every loop but the first; the first loop reads them, the others add to them
 * and wake it. */
typedef struct bench_shared {
  bench_run **runs;
  size_t nruns;
  size_t nsubs_total; /* subscribers over every loop */
  uv_mutex_t mu;      /* held to wake a loop (see bench_wake) */
  atomic_size_t count[BENCH_NCOUNTERS];
  atomic_uint_least64_t rx_bytes, rx_frames, lost; /* as of each loop's last
                                                      progress tick */
  atomic_int phase; /* the first loop's phase: the others follow it */
  atomic_bool stop; /* another loop failed: the first one ends the run */
} bench_shared;

typedef struct bench_pub {
  cli_client c;
  bench_run *run;
  char *path;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  moqc_group_producer *gp;
  uint64_t frame_in_group;
  uint64_t groups, frames, bytes; /* sent */
  /* what this broadcast's subscribers received */
  uint64_t rx_groups, rx_frames, rx_bytes, rx_complete;
  bool dialled, ready, relay_subscribed, ended, closed;
} bench_pub;

typedef enum bench_sub_phase {
  BSUB_WAIT_ANNOUNCE = 0,
  BSUB_SUBSCRIBING,
  BSUB_RECEIVING,
  BSUB_DONE
} bench_sub_phase;

/* A group a subscriber received, in arrival order (the order of its local
 * cache). */
typedef struct bench_group {
  moqc_group_consumer *gc; /* NULL once aborted (its cache charge is gone) */
  uint64_t seq;
  uint64_t bytes; /* frame bytes read */
  bool done;      /* read to its end, or aborted */
} bench_group;

typedef struct bench_sub {
  cli_client c;
  bench_run *run;
  bench_pub *pub;
  bench_sub_phase phase;
  moqc_origin_announced *cursor;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
  bench_group *groups; /* arrival order: done groups still cached, then the
                          groups being read */
  size_t ngroups, capgroups;
  size_t nlive; /* groups not done */
  /* The local origin's cache budget (NULL with --full-cache): kept at what the
   * subscriber still reads plus a margin, so groups it finished reading leave
   * the cache at the next group instead of after the track's retention. */
  moqc_cache_pool *pool;
  uint64_t next_seq; /* one past the highest group seen (gap counting for the
                        progress line) */
  bool dialled, closed;
} bench_sub;

/* A connection that only holds a session (--idle). */
typedef struct bench_idle {
  cli_client c;
  bench_run *run;
  bool dialled, closed;
} bench_idle;

struct bench_run {
  uv_loop_t *loop;
  const bench_opts *o;
  size_t index;     /* which loop (0: the first, see bench_shared) */
  bench_shared *sh; /* NULL with one loop */
  uv_async_t wake;  /* news from the other loops */
  bool wake_open;   /* wake may be sent to (under sh->mu) */
  uint64_t connect_rate;    /* this loop's share of --connect-rate */
  uint64_t subs_per_pub;    /* this loop's subscribers per broadcast */
  uint64_t told_rx_bytes, told_rx_frames, told_lost; /* added to sh so far */
  cli_opts copts; /* what every cli_client reads: URL and TLS flags */
  bench_phase phase;
  bench_pub *pubs;
  bench_sub *subs;
  bench_idle *idles;
  size_t npubs, nsubs, nidle;
  size_t next_dial; /* connections dialled so far (publishers, subscribers, then
                       idle ones) */
  size_t open;      /* clients not yet closed */
  size_t ready, relay_subscribed, subscribed, done;
  uint64_t frames_per_pub; /* frames each publisher writes */
  uint64_t pool_margin;    /* see bench_sub_budget */
  uint8_t *buf;
  moqc_tstamp t0, run_start, run_end;
  double cpu_start, cpu_end; /* this process's CPU seconds at run_start and
                                run_end */
  uint64_t wall_start_us, wall_end_us; /* wall clock at run_start and run_end */
  uv_timer_t dial_timer, tick, progress, phase_timer;
  uv_prepare_t check;
  uv_signal_t sigint, sigterm;
  summary lat;      /* every latency sample of the run (summary.c computes
                       percentiles) */
  summary lat_tick; /* the samples of the current progress interval */
  /* totals */
  uint64_t rx_groups, rx_frames, rx_bytes, rx_complete, bad_frames, aborted,
      gaps;
  uint64_t tx_bytes;
  uint64_t last_rx_bytes, last_tx_bytes;
  moqc_tstamp last_progress;
  int failed; /* connections that closed with an error before the end */
  int err;    /* first error (exit status 1) */
  bool nomem;
};

static void bench_close_all(bench_run *r);

/* This process's CPU time (user + system) in seconds. */
static double bench_cpu_s(void) {
  struct rusage ru;

  if (getrusage(RUSAGE_SELF, &ru) != 0) {
    return 0;
  }
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Wakes target's loop, unless its wake handle is closed. Any thread. */
static void bench_wake(bench_run *target) {
  bench_shared *sh = target->sh;

  uv_mutex_lock(&sh->mu);
  if (target->wake_open) {
    uv_async_send(&target->wake);
  }
  uv_mutex_unlock(&sh->mu);
}

/* The first loop moves every other one to phase. */
static void bench_tell_phase(bench_run *r, bench_phase phase) {
  size_t k;

  if (r->sh == NULL || r->index != 0) {
    return;
  }
  atomic_store(&r->sh->phase, (int)phase);
  for (k = 1; k < r->sh->nruns; k++) {
    bench_wake(r->sh->runs[k]);
  }
}

/* One more of c on another loop than the first: added to sh, the first loop
 * woken (nothing with one loop, or on the first). */
static void bench_count(bench_run *r, bench_counter c) {
  if (r->sh != NULL && r->index != 0) {
    atomic_fetch_add(&r->sh->count[c], 1);
    bench_wake(r->sh->runs[0]);
  }
}

/* On the first loop: own plus what the other loops counted of c. On the
 * others: own. */
static size_t bench_all(const bench_run *r, size_t own, bench_counter c) {
  return r->sh != NULL && r->index == 0 ? own + atomic_load(&r->sh->count[c])
                                        : own;
}

/* Subscribers over every loop (the first loop's view; the others': theirs). */
static size_t bench_nsubs_all(const bench_run *r) {
  return r->sh != NULL && r->index == 0 ? r->sh->nsubs_total : r->nsubs;
}

/* Every subscriber (of every loop, on the first) read its track to the end. */
static bool bench_all_done(bench_run *r) {
  return bench_all(r, r->done, BENCH_DONE) ==
         bench_nsubs_all(r);
}

static void bench_fail(bench_run *r, int err, const char *what) {
  if (r->err == 0) {
    r->err = err;
    fprintf(stderr, "moqc bench: %s: %s\n", what, moqc_strerror(err));
  }
  bench_close_all(r);
}

/* Adds one latency sample to s (grows s->latency_us as summary_frame does). */
static int bench_sample(summary *s, uint64_t us) {
  if (s->nlatency == s->caplatency) {
    size_t cap = s->caplatency ? s->caplatency * 2 : 4096;
    uint64_t *p = realloc(s->latency_us, cap * sizeof(*p));
    if (p == NULL) {
      return -1;
    }
    s->latency_us = p;
    s->caplatency = cap;
  }
  s->latency_us[s->nlatency++] = us;
  return 0;
}

/* ---- Publishers
 * --------------------------------------------------------------------------------
 */

static int bench_pub_frame(bench_pub *p) {
  bench_run *r = p->run;
  moqc_tstamp now = cli_now();
  payload_info info;
  size_t len = (size_t)r->o->frame_size;
  int rv;

  if (p->gp == NULL) {
    rv = moqc_track_producer_append_group(p->tp, now, &p->gp);
    if (rv != 0) {
      return rv;
    }
    p->groups++;
    p->frame_in_group = 0;
  }
  info.frame_seq = p->frames;
  info.sent_us = cli_wall_us();
  info.group_seq = moqc_group_producer_sequence(p->gp);
  info.frame_index = (uint32_t)p->frame_in_group;
  payload_write(r->buf, len, &info);
  rv = moqc_group_producer_write_frame(p->gp, r->buf, len,
                                       (now - r->run_start) / 1000000u);
  if (rv != 0) {
    return rv;
  }
  p->frames++;
  p->bytes += len;
  r->tx_bytes += len;
  p->frame_in_group++;
  if (p->frame_in_group == r->o->group_frames) {
    rv = moqc_group_producer_finish(p->gp);
    moqc_group_producer_del(p->gp);
    p->gp = NULL;
  }
  return rv;
}

static void bench_pub_end(bench_pub *p) {
  if (p->ended) {
    return;
  }
  p->ended = true;
  if (p->gp != NULL) {
    (void)moqc_group_producer_finish(p->gp);
    moqc_group_producer_del(p->gp);
    p->gp = NULL;
  }
  if (p->tp != NULL) {
    (void)moqc_track_producer_finish(p->tp);
  }
}

static void bench_pub_ready(cli_client *c) {
  bench_pub *p = c->user_data;

  p->ready = true;
  p->run->ready++;
  cli_client_kick(c);
}

static void bench_maybe_start(bench_run *r);

static void bench_pub_work(cli_client *c) {
  bench_pub *p = c->user_data;
  moqc_subscription sub;
  int rv;

  if (!p->relay_subscribed && p->tp != NULL && p->run->o->subscribers > 0) {
    rv = moqc_track_producer_subscription(p->tp, &sub, c->waker);
    if (rv == 0) {
      p->relay_subscribed = true;
      p->run->relay_subscribed++;
      bench_maybe_start(p->run);
    }
  }
}

static void bench_pub_closed(cli_client *c, int err) {
  bench_pub *p = c->user_data;
  bench_run *r = p->run;

  if (r->phase != BENCH_CLOSE) {
    r->failed++;
    if (r->err == 0) {
      r->err = err != 0 ? err : MOQC_ERR_REMOTE;
      if (!c->reported) {
        fprintf(stderr, "moqc bench: publisher %s: connection closed: %s\n",
                p->path, err != 0 ? moqc_strerror(err) : "closed by the relay");
      }
    }
  }
  moqc_group_producer_del(p->gp);
  p->gp = NULL;
  moqc_track_producer_del(p->tp);
  p->tp = NULL;
  moqc_origin_publish_del(p->guard);
  p->guard = NULL;
  moqc_broadcast_producer_del(p->bp);
  p->bp = NULL;
  p->closed = true;
  r->open--;
  if (r->phase == BENCH_CONNECT) {
    bench_close_all(
        r); /* a run without every connection would measure something else */
  }
}

/* ---- Subscribers
 * -------------------------------------------------------------------------------
 */

static void bench_sub_done(bench_sub *s) {
  bench_run *r = s->run;

  if (s->phase == BSUB_DONE) {
    return;
  }
  s->phase = BSUB_DONE;
  r->done++;
  bench_count(r, BENCH_DONE);
  if (r->phase == BENCH_DRAIN && bench_all_done(r)) {
    bench_close_all(r);
  }
}

static void bench_sub_frame(bench_sub *s, const uint8_t *data, size_t len) {
  bench_run *r = s->run;
  uint64_t fseq = 0, sent = 0, gseq = 0, now, lat;
  payload_info info;

  r->rx_frames++;
  r->rx_bytes += len;
  s->pub->rx_frames++;
  s->pub->rx_bytes += len;
  if (r->o->verify) {
    if (payload_check(data, len, &info) != 0) {
      r->bad_frames++;
      return;
    }
    sent = info.sent_us;
  } else if (bench_payload_header(data, len, &fseq, &sent, &gseq) != 0) {
    r->bad_frames++;
    return;
  }
  now = cli_wall_us();
  lat = now > sent ? now - sent : 0;
  if (bench_sample(&r->lat, lat) != 0 || bench_sample(&r->lat_tick, lat) != 0) {
    r->nomem = true;
  }
}

/* Drops the first n entries of s->groups (releasing their handles). */
static void bench_sub_pop_groups(bench_sub *s, size_t n) {
  size_t i;

  for (i = 0; i < n; i++) {
    moqc_group_consumer_del(s->groups[i].gc);
  }
  if (n == 0) {
    return;
  }
  if (n < s->ngroups) {
    memmove(s->groups, s->groups + n, (s->ngroups - n) * sizeof(*s->groups));
  }
  s->ngroups -= n;
}

/* A group read to its end (done) or aborted: what stays of its entry. */
static void bench_sub_group_done(bench_sub *s, bench_group *g, bool aborted) {
  g->done = true;
  s->nlive--;
  if (aborted || s->pool == NULL) {
    /* Aborted groups are charged nothing; without a pool nothing is watched. */
    moqc_group_consumer_del(g->gc);
    g->gc = NULL;
  }
}

static void bench_sub_read(bench_sub *s) {
  bench_run *r = s->run;
  size_t i;

  for (i = 0; i < s->ngroups; i++) {
    bench_group *g = &s->groups[i];
    for (;;) {
      moqc_rcbuf *buf;
      size_t len;
      int rv;
      if (g->done) {
        break;
      }
      rv = moqc_group_consumer_read_frame(g->gc, &buf, NULL, s->c.waker);
      if (rv == 0) {
        len = moqc_rcbuf_len(buf);
        g->bytes += len;
        bench_sub_frame(s, moqc_rcbuf_data(buf), len);
        moqc_rcbuf_decref(buf);
        continue;
      }
      if (rv == MOQC_ERR_PENDING) {
        break;
      }
      if (rv == MOQC_END) {
        r->rx_complete++;
        s->pub->rx_complete++;
      } else {
        r->aborted++;
      }
      bench_sub_group_done(s, g, rv != MOQC_END);
    }
  }
}

/* What the model charges a cached group besides its frame bytes (the pool's
 * documented 256 bytes). */
#define BENCH_GROUP_CHARGE 256u

/*
 * Trims the leading done groups that left the cache (aborted, or evicted: a
 * held consumer of an evicted group reports the abort), then sets the pool's
 * capacity to what is charged now minus the done groups still at the head of
 * the cache, plus a margin for bytes arriving before the next call. The model
 * evicts a track's oldest groups first (never the latest) when a group is
 * inserted over capacity, so only groups this subscriber finished reading go;
 * a group still being read is never the oldest while finished ones precede it,
 * and a done group behind it is not counted.
 */
static void bench_sub_budget(bench_sub *s) {
  uint64_t dead = 0, used, cap, count;
  size_t n = 0, i;

  if (s->pool == NULL) {
    while (n < s->ngroups && s->groups[n].done) {
      n++;
    }
    bench_sub_pop_groups(s, n);
    return;
  }
  while (n < s->ngroups && s->groups[n].done &&
         (s->groups[n].gc == NULL ||
          moqc_group_consumer_finished(s->groups[n].gc, &count, NULL) != 0)) {
    n++;
  }
  bench_sub_pop_groups(s, n);
  for (i = 0; i < s->ngroups && s->groups[i].done; i++) {
    if (s->groups[i].gc != NULL) {
      dead += s->groups[i].bytes + BENCH_GROUP_CHARGE;
    }
  }
  used = moqc_cache_pool_used(s->pool);
  cap = used > dead ? used - dead : 0;
  moqc_cache_pool_set_capacity(s->pool, cap + s->run->pool_margin);
}

static void bench_sub_receive(bench_sub *s) {
  bench_run *r = s->run;

  for (;;) {
    moqc_group_consumer *gc;
    uint64_t seq;
    int rv;

    bench_sub_read(s);
    rv = moqc_track_subscriber_recv_group(s->ts, &gc, s->c.waker);
    if (rv == MOQC_ERR_PENDING) {
      return;
    }
    if (rv == MOQC_ERR_DROPPED &&
        moqc_broadcast_consumer_closed(s->bc, NULL) != MOQC_ERR_PENDING) {
      rv = MOQC_END; /* the broadcast ended: so did the track */
    }
    if (rv == MOQC_END) {
      if (s->nlive == 0) {
        bench_sub_done(s);
      }
      return;
    }
    if (rv != 0) {
      fprintf(stderr, "moqc bench: subscription to %s ended: %s\n",
              s->pub->path, moqc_strerror(rv));
      bench_sub_done(s);
      return;
    }
    if (s->ngroups == s->capgroups) {
      size_t cap = s->capgroups ? s->capgroups * 2 : 4;
      bench_group *ng = realloc(s->groups, cap * sizeof(*ng));
      if (ng == NULL) {
        moqc_group_consumer_del(gc);
        bench_fail(r, MOQC_ERR_NOMEM, "groups");
        return;
      }
      s->groups = ng;
      s->capgroups = cap;
    }
    seq = moqc_group_consumer_sequence(gc);
    if (seq > s->next_seq) {
      r->gaps += seq - s->next_seq;
    }
    if (seq + 1 > s->next_seq) {
      s->next_seq = seq + 1;
    }
    s->groups[s->ngroups].gc = gc;
    s->groups[s->ngroups].seq = seq;
    s->groups[s->ngroups].bytes = 0;
    s->groups[s->ngroups].done = false;
    s->ngroups++;
    s->nlive++;
    r->rx_groups++;
    s->pub->rx_groups++;
  }
}

static void bench_sub_work(cli_client *c) {
  bench_sub *s = c->user_data;
  bench_run *r = s->run;
  int rv;

  if (s->phase == BSUB_WAIT_ANNOUNCE) {
    for (;;) {
      moqc_origin_announce ev;
      rv = moqc_origin_announced_next(s->cursor, &ev, c->waker);
      if (rv == MOQC_ERR_PENDING) {
        return;
      }
      if (rv != 0) {
        bench_fail(r, rv, "announcements");
        return;
      }
      if (ev.broadcast != NULL &&
          moqc_str_eq(ev.path, moqc_str_c(s->pub->path))) {
        s->bc = ev.broadcast;
        moqc_origin_announced_del(s->cursor);
        s->cursor = NULL;
        rv = moqc_broadcast_consumer_track(s->bc, r->o->track, &s->tc);
        if (rv != 0) {
          bench_fail(r, rv, "track");
          return;
        }
        s->phase = BSUB_SUBSCRIBING;
        break;
      }
      moqc_broadcast_consumer_del(ev.broadcast);
    }
  }
  if (s->phase == BSUB_SUBSCRIBING) {
    moqc_subscription pref;
    moqc_subscription_default(&pref);
    rv = moqc_track_consumer_subscribe(s->tc, &pref, &s->ts, c->waker);
    if (rv == MOQC_ERR_PENDING) {
      return;
    }
    if (rv != 0) {
      bench_fail(r, rv, "subscribe");
      return;
    }
    s->phase = BSUB_RECEIVING;
    r->subscribed++;
    bench_count(r, BENCH_SUBSCRIBED);
    bench_maybe_start(r);
  }
  if (s->phase == BSUB_RECEIVING) {
    bench_sub_receive(s);
  }
  if (s->ts != NULL) {
    bench_sub_budget(s);
  }
}

static void bench_sub_ready(cli_client *c) {
  bench_sub *s = c->user_data;

  s->run->ready++;
  bench_count(s->run, BENCH_READY);
  cli_client_kick(c);
}

static void bench_sub_closed(cli_client *c, int err) {
  bench_sub *s = c->user_data;
  bench_run *r = s->run;

  if (r->phase != BENCH_CLOSE) {
    r->failed++;
    if (r->err == 0) {
      r->err = err != 0 ? err : MOQC_ERR_REMOTE;
      if (!c->reported) {
        fprintf(stderr, "moqc bench: subscriber of %s: connection closed: %s\n",
                s->pub->path,
                err != 0 ? moqc_strerror(err) : "closed by the relay");
      }
    }
    bench_sub_done(s);
  }
  bench_sub_pop_groups(s, s->ngroups);
  s->nlive = 0;
  moqc_track_subscriber_del(s->ts);
  s->ts = NULL;
  moqc_track_consumer_del(s->tc);
  s->tc = NULL;
  moqc_broadcast_consumer_del(s->bc);
  s->bc = NULL;
  moqc_origin_announced_del(s->cursor);
  s->cursor = NULL;
  free(s->groups);
  s->groups = NULL;
  s->closed = true;
  r->open--;
  if (r->phase == BENCH_CONNECT) {
    bench_close_all(
        r); /* a run without every connection would measure something else */
  }
}

/* ---- Idle connections
 * ------------------------------------------------------------------------- */

static void bench_idle_ready(cli_client *c) {
  bench_idle *d = c->user_data;

  d->run->ready++;
  bench_maybe_start(d->run);
}

static void bench_idle_closed(cli_client *c, int err) {
  bench_idle *d = c->user_data;
  bench_run *r = d->run;

  if (r->phase != BENCH_CLOSE) {
    r->failed++;
    if (r->err == 0) {
      r->err = err != 0 ? err : MOQC_ERR_REMOTE;
      if (!c->reported) {
        fprintf(stderr, "moqc bench: idle connection closed: %s\n",
                err != 0 ? moqc_strerror(err) : "closed by the relay");
      }
    }
  }
  d->closed = true;
  r->open--;
  if (r->phase == BENCH_CONNECT) {
    bench_close_all(r);
  }
}

/* ---- The run
 * -----------------------------------------------------------------------------------
 */

static void bench_timers_close(bench_run *r) {
  uv_close((uv_handle_t *)&r->dial_timer, NULL);
  uv_close((uv_handle_t *)&r->tick, NULL);
  uv_close((uv_handle_t *)&r->progress, NULL);
  uv_close((uv_handle_t *)&r->phase_timer, NULL);
  uv_close((uv_handle_t *)&r->sigint, NULL);
  uv_close((uv_handle_t *)&r->sigterm, NULL);
  if (r->sh != NULL) {
    uv_mutex_lock(&r->sh->mu);
    r->wake_open = false;
    uv_mutex_unlock(&r->sh->mu);
    uv_close((uv_handle_t *)&r->wake, NULL);
  }
}

static void bench_close_all(bench_run *r) {
  size_t i;

  if (r->phase == BENCH_CLOSE) {
    return;
  }
  if (r->phase == BENCH_RUN && r->run_end == 0) {
    r->run_end = cli_now();
    r->cpu_end = bench_cpu_s();
    r->wall_end_us = cli_wall_us();
  }
  r->phase = BENCH_CLOSE;
  if (r->sh != NULL && r->index != 0 && (r->err != 0 || r->failed > 0)) {
    /* A run without every connection would measure something else. */
    atomic_store(&r->sh->stop, true);
    bench_wake(r->sh->runs[0]);
  }
  bench_tell_phase(r, BENCH_CLOSE);
  uv_timer_stop(&r->dial_timer);
  uv_timer_stop(&r->tick);
  uv_timer_stop(&r->phase_timer);
  /* Subscribers first, so no publisher's end is seen as a failure upstream. */
  for (i = 0; i < r->nsubs; i++) {
    if (r->subs[i].dialled && !r->subs[i].closed) {
      cli_client_close(&r->subs[i].c, 0, "done");
    }
  }
  for (i = 0; i < r->nidle; i++) {
    if (r->idles[i].dialled && !r->idles[i].closed) {
      cli_client_close(&r->idles[i].c, 0, "done");
    }
  }
  for (i = 0; i < r->npubs; i++) {
    if (r->pubs[i].dialled && !r->pubs[i].closed) {
      cli_client_close(&r->pubs[i].c, 0, "done");
    }
  }
}

static void bench_drain_timeout(uv_timer_t *t) {
  bench_run *r = t->data;

  if (r->phase == BENCH_DRAIN) {
    size_t all = bench_nsubs_all(r);
    fprintf(stderr,
            "moqc bench: %zu of %zu subscribers still open after --drain; "
            "closing\n",
            all - bench_all(r, r->done, BENCH_DONE), all);
    bench_close_all(r);
  }
}

/* Moves r to DRAIN: closed at once when every subscriber is done, else when
 * they are or after --drain. */
static void bench_drain(bench_run *r) {
  r->phase = BENCH_DRAIN;
  r->run_end = cli_now();
  if (bench_all_done(r)) {
    bench_close_all(r);
    return;
  }
  uv_timer_start(&r->phase_timer, bench_drain_timeout,
                 (uint64_t)(r->o->drain_s * 1000.0 + 0.5), 0);
}

static void bench_end_run(bench_run *r) {
  size_t i;

  r->cpu_end = bench_cpu_s();
  r->wall_end_us = cli_wall_us();
  uv_timer_stop(&r->tick);
  for (i = 0; i < r->npubs; i++) {
    bench_pub_end(&r->pubs[i]);
  }
  bench_tell_phase(r, BENCH_DRAIN);
  bench_drain(r);
}

static void bench_tick(uv_timer_t *t) {
  bench_run *r = t->data;
  double elapsed_s;
  uint64_t due;
  size_t i;
  bool all = true;
  int rv;

  if (r->phase != BENCH_RUN) {
    return;
  }
  elapsed_s = (double)(cli_now() - r->run_start) / 1e9;
  due = (uint64_t)(elapsed_s * r->o->fps) + 1;
  if (due > r->frames_per_pub) {
    due = r->frames_per_pub;
  }
  for (i = 0; i < r->npubs; i++) {
    bench_pub *p = &r->pubs[i];
    if (p->tp == NULL || p->closed) {
      continue;
    }
    while (p->frames < due) {
      if ((rv = bench_pub_frame(p)) != 0) {
        bench_fail(r, rv, "writing a frame");
        return;
      }
    }
    if (p->frames < r->frames_per_pub) {
      all = false;
    }
  }
  if (all) {
    bench_end_run(r);
  }
}

static void bench_settled(uv_timer_t *t) {
  bench_run *r = t->data;
  uint64_t ms;

  if (r->phase != BENCH_CONNECT) {
    return;
  }
  r->phase = BENCH_RUN;
  r->run_start = cli_now();
  r->cpu_start = bench_cpu_s();
  r->wall_start_us = cli_wall_us();
  bench_tell_phase(r, BENCH_RUN);
  ms = (uint64_t)(500.0 / r->o->fps);
  if (ms < 1) {
    ms = 1;
  }
  if (ms > 20) {
    ms = 20;
  }
  uv_timer_start(&r->tick, bench_tick, 0, ms);
}

static void bench_maybe_start(bench_run *r) {
  size_t ready, conns;
  bool pubs_ok, dialled;

  if (r->index != 0) {
    return; /* the first loop decides (bench_count woke it) */
  }
  ready = bench_all(r, r->ready, BENCH_READY);
  conns = r->npubs + bench_nsubs_all(r) + r->nidle;
  pubs_ok = r->o->subscribers == 0 ? ready >= r->npubs + r->nidle
                                   : r->relay_subscribed == r->npubs;
  dialled = r->next_dial == r->npubs + r->nsubs + r->nidle &&
            (r->sh == NULL || atomic_load(&r->sh->count[BENCH_DIALLED]) == r->sh->nruns - 1);
  if (r->phase == BENCH_CONNECT &&
      bench_all(r, r->subscribed, BENCH_SUBSCRIBED) ==
          bench_nsubs_all(r) &&
      pubs_ok && ready == conns && dialled) {
    uv_timer_start(&r->phase_timer, bench_settled, BENCH_SETTLE_MS, 0);
  }
}

/* Another loop's news: on the first loop, counts to act on (or a failure);
 * on the others, the first loop's phase to follow. */
static void bench_wake_cb(uv_async_t *h) {
  bench_run *r = h->data;
  int phase = atomic_load(&r->sh->phase);

  if (r->index == 0) {
    if (atomic_load(&r->sh->stop)) {
      if (r->err == 0) {
        r->err = MOQC_ERR_REMOTE;
      }
      bench_close_all(r);
    } else if (r->phase == BENCH_CONNECT) {
      bench_maybe_start(r);
    } else if (r->phase == BENCH_DRAIN && bench_all_done(r)) {
      bench_close_all(r);
    }
    return;
  }
  if (phase >= BENCH_RUN && r->phase == BENCH_CONNECT) {
    r->phase = BENCH_RUN;
    r->run_start = cli_now();
  }
  if (phase >= BENCH_DRAIN && r->phase == BENCH_RUN) {
    bench_drain(r);
  }
  if (phase == BENCH_CLOSE) {
    bench_close_all(r);
  }
}

static void bench_startup_timeout(uv_timer_t *t) {
  bench_run *r = t->data;

  size_t ready = bench_all(r, r->ready, BENCH_READY);
  size_t conns = r->npubs + bench_nsubs_all(r) + r->nidle;

  if (r->phase == BENCH_CONNECT && ready < conns) {
    fprintf(
        stderr,
        "moqc bench: only %zu of %zu connections up after --startup-timeout\n",
        ready, conns);
    bench_fail(r, MOQC_ERR_TIMEOUT, "connecting");
    return;
  }
  if (r->phase == BENCH_CONNECT) {
    fprintf(stderr,
            "moqc bench: after --startup-timeout, %zu of %zu subscriptions and "
            "%zu of %zu "
            "publishers subscribed by the relay; publishing anyway\n",
            bench_all(r, r->subscribed, BENCH_SUBSCRIBED),
            bench_nsubs_all(r), r->relay_subscribed, r->npubs);
    bench_settled(t);
  }
}

static const cli_client_cbs bench_pub_cbs = {.ready = bench_pub_ready,
                                             .work = bench_pub_work,
                                             .closed = bench_pub_closed};
static const cli_client_cbs bench_sub_cbs = {.ready = bench_sub_ready,
                                             .work = bench_sub_work,
                                             .closed = bench_sub_closed};
static const cli_client_cbs bench_idle_cbs = {.ready = bench_idle_ready,
                                              .closed = bench_idle_closed};

/* Dials the next connection (publishers first). Returns 0 or an error. */
static int bench_dial_one(bench_run *r) {
  size_t k = r->next_dial++;
  int rv;

  if (k < r->npubs) {
    bench_pub *p = &r->pubs[k];
    moqc_track_info info;
    rv = cli_client_init(&p->c, r->loop, &r->copts, &bench_pub_cbs, p);
    if (rv != 0) {
      return rv;
    }
    p->dialled = true;
    r->open++;
    rv = moqc_origin_producer_create_broadcast(p->c.prod, moqc_str_c(p->path),
                                               NULL, &p->bp, &p->guard);
    if (rv == 0) {
      moqc_track_info_default(&info);
      if (r->o->retention_s > 0) {
        info.retention = (moqc_tstamp)(r->o->retention_s * 1e9);
      }
      rv = moqc_broadcast_producer_create_track(p->bp, r->o->track, &info,
                                                &p->tp);
    }
    if (rv == 0) {
      rv = cli_client_connect(&p->c, true, false, NULL);
    }
    return rv;
  }
  if (k >= r->npubs + r->nsubs) {
    bench_idle *d = &r->idles[k - r->npubs - r->nsubs];
    rv = cli_client_init(&d->c, r->loop, &r->copts, &bench_idle_cbs, d);
    if (rv != 0) {
      return rv;
    }
    d->dialled = true;
    r->open++;
    return cli_client_connect(&d->c, false, false, NULL);
  }
  {
    bench_sub *s = &r->subs[k - r->npubs];
    if (!r->o->full_cache &&
        moqc_cache_pool_new(&s->pool, UINT64_MAX, NULL) != 0) {
      return MOQC_ERR_NOMEM;
    }
    rv = cli_client_init_pool(&s->c, r->loop, &r->copts, &bench_sub_cbs, s,
                              s->pool);
    if (rv != 0) {
      return rv;
    }
    s->dialled = true;
    r->open++;
    rv = moqc_origin_consumer_announced(s->c.cons, &s->cursor);
    if (rv == 0) {
      rv = cli_client_connect(&s->c, false, true, s->pub->path);
    }
    return rv;
  }
}

static void bench_dial(uv_timer_t *t) {
  bench_run *r = t->data;
  size_t total = r->npubs + r->nsubs + r->nidle;
  uint64_t batch = r->connect_rate / 100u; /* every 10 ms */
  uint64_t n;
  int rv;

  if (batch == 0) {
    batch = 1;
  }
  for (n = 0; n < batch && r->next_dial < total && r->phase == BENCH_CONNECT;
       n++) {
    rv = bench_dial_one(r);
    if (rv != 0) {
      bench_fail(r, rv, "connecting");
      return;
    }
  }
  if (r->next_dial == total) {
    uv_timer_stop(&r->dial_timer);
    bench_count(r, BENCH_DIALLED);
    bench_maybe_start(r);
  } else if (r->connect_rate < 100) {
    uv_timer_start(&r->dial_timer, bench_dial, 1000u / r->connect_rate, 0);
  }
}

static void bench_progress(uv_timer_t *t) {
  bench_run *r = t->data;
  moqc_tstamp now = cli_now();
  double dt = (double)(now - r->last_progress) / 1e9;
  const char *phase = r->phase == BENCH_CONNECT ? "connect"
                      : r->phase == BENCH_RUN   ? "run"
                      : r->phase == BENCH_DRAIN ? "drain"
                                                : "close";

  uint64_t rx_bytes = r->rx_bytes, rx_frames = r->rx_frames,
           lost = r->gaps + r->aborted;

  if (r->nomem) {
    bench_fail(r, MOQC_ERR_NOMEM, "latency samples");
  }
  if (r->sh != NULL && r->index != 0) {
    /* What this loop received since its last tick, for the first loop's
     * progress line. */
    atomic_fetch_add(&r->sh->rx_bytes, rx_bytes - r->told_rx_bytes);
    atomic_fetch_add(&r->sh->rx_frames, rx_frames - r->told_rx_frames);
    atomic_fetch_add(&r->sh->lost, lost - r->told_lost);
    r->told_rx_bytes = rx_bytes;
    r->told_rx_frames = rx_frames;
    r->told_lost = lost;
    r->lat_tick.nlatency = 0;
    return;
  }
  if (r->sh != NULL) {
    rx_bytes += atomic_load(&r->sh->rx_bytes);
    rx_frames += atomic_load(&r->sh->rx_frames);
    lost += atomic_load(&r->sh->lost);
  }
  if (!r->o->quiet) {
    fprintf(stderr,
            "bench: %6.1fs %-7s conns %zu/%zu subscribed %zu/%zu out %.2f Mbps "
            "in %.2f Mbps "
            "frames %llu lost_groups %llu latency p50 %.2f ms p99 %.2f ms\n",
            (double)(now - r->t0) / 1e9, phase,
            bench_all(r, r->ready, BENCH_READY),
            r->npubs + bench_nsubs_all(r) + r->nidle,
            bench_all(r, r->subscribed, BENCH_SUBSCRIBED),
            bench_nsubs_all(r), bench_mbps(r->tx_bytes - r->last_tx_bytes, dt),
            bench_mbps(rx_bytes - r->last_rx_bytes, dt),
            (unsigned long long)rx_frames, (unsigned long long)lost,
            summary_latency_ms(&r->lat_tick, 50),
            summary_latency_ms(&r->lat_tick, 99));
  }
  r->lat_tick.nlatency = 0;
  r->last_tx_bytes = r->tx_bytes;
  r->last_rx_bytes = rx_bytes;
  r->last_progress = now;
}

static void bench_signal(uv_signal_t *s, int signum) {
  bench_run *r = s->data;

  (void)signum;
  fprintf(stderr, "moqc bench: interrupted\n");
  bench_close_all(r);
}

static void bench_check(uv_prepare_t *h) {
  bench_run *r = h->data;

  if (r->phase == BENCH_CLOSE && r->open == 0) {
    uv_prepare_stop(h);
    uv_close((uv_handle_t *)h, NULL);
    bench_timers_close(r);
  }
}

static void bench_print(bench_run *r) {
  bench_totals t;
  char json[1024];
  size_t i, n;

  memset(&t, 0, sizeof(t));
  t.publishers = r->npubs;
  t.subscribers = bench_nsubs_all(r);
  t.idle = r->nidle;
  t.connected = r->ready;
  t.subscribed = r->subscribed;
  for (i = 0; i < r->npubs; i++) {
    t.sent_groups += r->pubs[i].groups;
    t.sent_frames += r->pubs[i].frames;
    t.sent_bytes += r->pubs[i].bytes;
  }
  t.expected_frames = t.sent_frames * r->o->subscribers;
  t.expected_groups = t.sent_groups * r->o->subscribers;
  t.received_groups = r->rx_groups;
  t.received_frames = r->rx_frames;
  t.received_bytes = r->rx_bytes;
  t.complete_groups = r->rx_complete;
  t.bad_frames = r->bad_frames;
  if (r->run_start != 0 && r->run_end > r->run_start) {
    t.seconds = (double)(r->run_end - r->run_start) / 1e9 + 1.0 / r->o->fps;
  }
  n = bench_json(&t, summary_latency_ms(&r->lat, 50),
                 summary_latency_ms(&r->lat, 99),
                 summary_latency_ms(&r->lat, 100), json, sizeof(json));
  if (n == 0 || n >= sizeof(json)) {
    fprintf(stderr, "moqc bench: summary too long\n");
    return;
  }
  json[n - 1] = '\0'; /* drop the closing brace: the broadcasts follow */
  printf("%s,\"broadcasts\":[", json);
  for (i = 0; i < r->npubs; i++) {
    const bench_pub *p = &r->pubs[i];
    printf("%s{\"path\":\"%s\",\"sent_groups\":%llu,\"sent_frames\":%llu,"
           "\"sent_bytes\":%llu,"
           "\"received_groups\":%llu,\"received_frames\":%llu,\"received_"
           "bytes\":%llu,"
           "\"complete_groups\":%llu}",
           i > 0 ? "," : "", p->path, (unsigned long long)p->groups,
           (unsigned long long)p->frames, (unsigned long long)p->bytes,
           (unsigned long long)p->rx_groups, (unsigned long long)p->rx_frames,
           (unsigned long long)p->rx_bytes, (unsigned long long)p->rx_complete);
  }
  /* CPU seconds of this process while publishing and over its life so far
   * (set-up and drain included); the publishing window in wall-clock seconds,
   * for scripts that sample other processes. */
  printf("],\"run_cpu_s\":%.3f,\"cpu_s\":%.3f,\"run_start_unix\":%.3f,"
         "\"run_end_unix\":%.3f}\n",
         r->cpu_end > r->cpu_start ? r->cpu_end - r->cpu_start : 0.0,
         bench_cpu_s(), (double)r->wall_start_us / 1e6,
         (double)r->wall_end_us / 1e6);
  fflush(stdout);
}

/* Run index of nruns on loop: the first has the publishers and the idle
 * connections; every run has its share of each broadcast's subscribers. */
static int bench_setup(bench_run *r, const bench_opts *o, uv_loop_t *loop,
                       size_t index, size_t nruns) {
  size_t i, plen = strlen(o->prefix);

  memset(r, 0, sizeof(*r));
  r->loop = loop;
  r->o = o;
  r->index = index;
  r->subs_per_pub = o->subscribers / nruns +
                    (index < o->subscribers % nruns ? 1u : 0u);
  r->connect_rate = o->connect_rate / nruns;
  if (r->connect_rate == 0) {
    r->connect_rate = 1;
  }
  r->copts.cmd = CLI_CMD_SUB;
  r->copts.url_text = o->url_text;
  r->copts.url = o->url;
  r->copts.verbose = o->verbose;
  r->copts.tls_disable_verify = o->tls_disable_verify;
  r->copts.tls_fingerprint = o->tls_fingerprint;
  r->copts.tls_root = o->tls_root;
  r->copts.force_websocket = o->force_websocket;
  memcpy(r->copts.fingerprint, o->fingerprint, sizeof(r->copts.fingerprint));
  r->npubs = (size_t)o->publishers;
  r->nsubs = (size_t)(o->publishers * r->subs_per_pub);
  r->frames_per_pub = (uint64_t)(o->duration_s * o->fps + 0.5);
  /* One second of a track's bytes, at least 256 KiB: what may arrive for a
   * subscriber between two of its work calls without the budget running. */
  r->pool_margin = (uint64_t)(o->fps * (double)o->frame_size);
  if (r->pool_margin < 256u * 1024u) {
    r->pool_margin = 256u * 1024u;
  }
  if (r->frames_per_pub == 0) {
    r->frames_per_pub = 1;
  }
  summary_init(&r->lat);
  summary_init(&r->lat_tick);
  r->pubs = calloc(r->npubs, sizeof(*r->pubs));
  r->nidle = index == 0 ? (size_t)o->idle : 0;
  r->next_dial = index == 0 ? 0 : r->npubs; /* publishers are the first's */
  r->subs = calloc(r->nsubs > 0 ? r->nsubs : 1, sizeof(*r->subs));
  r->idles = calloc(r->nidle > 0 ? r->nidle : 1, sizeof(*r->idles));
  r->buf = malloc((size_t)o->frame_size);
  if (r->pubs == NULL || r->subs == NULL || r->idles == NULL ||
      r->buf == NULL) {
    return MOQC_ERR_NOMEM;
  }
  for (i = 0; i < r->npubs; i++) {
    char *path = malloc(plen + 24);
    size_t n;
    if (path == NULL) {
      return MOQC_ERR_NOMEM;
    }
    snprintf(path, plen + 24, "%s/%zu", o->prefix, i);
    n = moqc_path_normalize(path, moqc_str_c(path));
    path[n] = '\0';
    r->pubs[i].path = path;
    r->pubs[i].run = r;
  }
  for (i = 0; i < r->nidle; i++) {
    r->idles[i].run = r;
  }
  for (i = 0; i < r->nsubs; i++) {
    r->subs[i].run = r;
    r->subs[i].pub = &r->pubs[i / (size_t)r->subs_per_pub];
  }
  return 0;
}

static void bench_teardown(bench_run *r) {
  size_t i;

  if (r->pubs != NULL) {
    for (i = 0; i < r->npubs; i++) {
      free(r->pubs[i].path);
    }
  }
  free(r->pubs);
  if (r->subs != NULL) {
    for (i = 0; i < r->nsubs; i++) {
      moqc_cache_pool_decref(r->subs[i].pool);
    }
  }
  free(r->subs);
  free(r->idles);
  free(r->buf);
  summary_free(&r->lat);
  summary_free(&r->lat_tick);
}

/* Adds another loop's counts and latency samples to r0's (after every
 * thread ended). */
static void bench_merge(bench_run *r0, const bench_run *r) {
  size_t i;

  r0->ready += r->ready;
  r0->subscribed += r->subscribed;
  r0->done += r->done;
  r0->rx_groups += r->rx_groups;
  r0->rx_frames += r->rx_frames;
  r0->rx_bytes += r->rx_bytes;
  r0->rx_complete += r->rx_complete;
  r0->bad_frames += r->bad_frames;
  r0->aborted += r->aborted;
  r0->gaps += r->gaps;
  r0->failed += r->failed;
  if (r0->err == 0) {
    r0->err = r->err;
  }
  r0->nomem = r0->nomem || r->nomem;
  for (i = 0; i < r0->npubs; i++) {
    r0->pubs[i].rx_groups += r->pubs[i].rx_groups;
    r0->pubs[i].rx_frames += r->pubs[i].rx_frames;
    r0->pubs[i].rx_bytes += r->pubs[i].rx_bytes;
    r0->pubs[i].rx_complete += r->pubs[i].rx_complete;
  }
  for (i = 0; i < r->lat.nlatency; i++) {
    if (bench_sample(&r0->lat, r->lat.latency_us[i]) != 0) {
      r0->nomem = true;
      break;
    }
  }
}

/* Starts r's timers and handles on its loop (from the calling thread, before
 * any loop runs). */
static void bench_start(bench_run *r) {
  uv_loop_t *loop = r->loop;

  r->t0 = r->last_progress = cli_now();
  uv_timer_init(loop, &r->dial_timer);
  uv_timer_init(loop, &r->tick);
  uv_timer_init(loop, &r->progress);
  uv_timer_init(loop, &r->phase_timer);
  r->dial_timer.data = r->tick.data = r->progress.data = r->phase_timer.data =
      r;
  uv_signal_init(loop, &r->sigint);
  uv_signal_init(loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  if (r->index == 0) {
    /* The first loop ends the others (bench_tell_phase). */
    uv_signal_start(&r->sigint, bench_signal, SIGINT);
    uv_signal_start(&r->sigterm, bench_signal, SIGTERM);
  }
  uv_prepare_init(loop, &r->check);
  r->check.data = r;
  uv_prepare_start(&r->check, bench_check);
  if (r->sh != NULL) {
    uv_async_init(loop, &r->wake, bench_wake_cb);
    r->wake.data = r;
    r->wake_open = true;
  }
  uv_timer_start(&r->progress, bench_progress, 1000, 1000);
  if (r->connect_rate >= 100) {
    uv_timer_start(&r->dial_timer, bench_dial, 0, 10);
  } else {
    uv_timer_start(&r->dial_timer, bench_dial, 0, 0);
  }
  if (r->index == 0 && r->o->startup_s > 0) {
    uv_timer_start(&r->phase_timer, bench_startup_timeout,
                   (uint64_t)(r->o->startup_s * 1000.0 + 0.5), 0);
  }
}

static void bench_thread(void *arg) {
  bench_run *r = arg;

  uv_run(r->loop, UV_RUN_DEFAULT);
}

int cli_cmd_bench(int argc, char **argv) {
  char err[512];
  bench_opts o;
  bench_run **runs = NULL;
  uv_loop_t *loops = NULL;
  uv_thread_t *tids = NULL;
  bench_shared *sh = NULL;
  cli_plan plan;
  size_t k, nruns, nloops = 0, nthreads = 0;
  int rv = 0, status = CLI_EXIT_ERROR;

  rv = bench_parse(argc, argv, &o, err, sizeof(err));
  if (rv == CLI_PARSE_HELP) {
    fputs(bench_usage(), stdout);
    return CLI_EXIT_OK;
  }
  if (rv != CLI_PARSE_OK) {
    fprintf(stderr, "moqc bench: %s\n", err);
    return CLI_EXIT_USAGE;
  }
#ifdef __GLIBC__
  /* Every subscriber's frames come and go through malloc: keep freed memory
   * in the heap (no trimming, a fixed mmap threshold) so the process reuses
   * its pages instead of faulting in fresh zeroed ones. */
  (void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  (void)mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  (void)mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
  nruns = (size_t)o.threads;
  runs = calloc(nruns, sizeof(*runs));
  loops = calloc(nruns, sizeof(*loops));
  tids = calloc(nruns, sizeof(*tids));
  if (nruns > 1) {
    sh = calloc(1, sizeof(*sh));
    if (sh != NULL && uv_mutex_init(&sh->mu) != 0) {
      free(sh);
      sh = NULL;
    }
  }
  if (runs == NULL || loops == NULL || tids == NULL || (nruns > 1 && sh == NULL)) {
    rv = MOQC_ERR_NOMEM;
    goto out;
  }
  for (k = 0; k < nruns && rv == 0; k++) {
    runs[k] = malloc(sizeof(*runs[k]));
    if (runs[k] == NULL) {
      rv = MOQC_ERR_NOMEM;
      break;
    }
    if (uv_loop_init(&loops[k]) != 0) {
      free(runs[k]);
      runs[k] = NULL;
      rv = MOQC_ERR_NOMEM;
      break;
    }
    nloops++;
    rv = bench_setup(runs[k], &o, &loops[k], k, nruns);
    runs[k]->sh = sh;
  }
  if (rv == 0 && cli_plan_for(&runs[0]->copts, &plan, err, sizeof(err)) != 0) {
    fprintf(stderr, "moqc bench: %s\n", err);
    status = CLI_EXIT_USAGE;
    goto out;
  }
  if (rv != 0) {
    goto out;
  }
  if (sh != NULL) {
    sh->runs = runs;
    sh->nruns = nruns;
    for (k = 0; k < nruns; k++) {
      sh->nsubs_total += runs[k]->nsubs;
    }
  }
  for (k = 0; k < nruns; k++) {
    bench_start(runs[k]);
  }
  for (k = 1; k < nruns; k++) {
    if (uv_thread_create(&tids[k], bench_thread, runs[k]) != 0) {
      /* No thread for this loop: stop the others and run it here. */
      fprintf(stderr, "moqc bench: cannot start a thread\n");
      runs[0]->err = MOQC_ERR_NOMEM;
      bench_close_all(runs[0]);
      break;
    }
    nthreads = k;
  }
  uv_run(&loops[0], UV_RUN_DEFAULT);
  for (k = 1; k <= nthreads; k++) {
    uv_thread_join(&tids[k]);
  }
  for (k = nthreads + 1; k < nruns; k++) {
    bench_close_all(runs[k]); /* never started: close on this thread */
    uv_run(&loops[k], UV_RUN_DEFAULT);
  }
  for (k = 1; k < nruns; k++) {
    bench_merge(runs[0], runs[k]);
  }
  bench_print(runs[0]);
  status = runs[0]->err != 0 || runs[0]->bad_frames > 0 || runs[0]->nomem
               ? CLI_EXIT_ERROR
               : CLI_EXIT_OK;
  if (runs[0]->failed > 0) {
    fprintf(stderr, "moqc bench: %d connections failed\n", runs[0]->failed);
  }
out:
  if (rv != 0) {
    fprintf(stderr, "moqc bench: %s\n", moqc_strerror(rv));
  }
  for (k = 0; k < nloops; k++) {
    if (uv_loop_close(&loops[k]) != 0) {
      fprintf(stderr, "moqc bench: a loop still had handles at exit\n");
    }
  }
  for (k = 0; runs != NULL && k < nruns; k++) {
    if (runs[k] != NULL) {
      bench_teardown(runs[k]);
      free(runs[k]);
    }
  }
  if (sh != NULL) {
    uv_mutex_destroy(&sh->mu);
  }
  free(sh);
  free(runs);
  free(loops);
  free(tids);
  return status;
}
