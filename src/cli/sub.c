/*
 * `moqc sub`: wait for a broadcast's announce, subscribe to one track, check every frame.
 *
 * The session mirrors what the relay announces under the broadcast's path into the local
 * origin; an announce cursor on that origin tells when the broadcast is there; subscribing to
 * the mirrored track makes the session subscribe upstream. Groups are read in arrival order,
 * several at once (a group still being written does not hold back a newer one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "payload.h"
#include "summary.h"

typedef enum sub_phase {
  SUB_WAIT_ANNOUNCE = 0,
  SUB_SUBSCRIBING,
  SUB_RECEIVING,
  SUB_DONE
} sub_phase;

typedef struct sub_group {
  moqc_group_consumer *gc;
  uint64_t seq;
  uint64_t index;    /* frames read so far */
  uint64_t prev_seq; /* previous synthetic frame sequence, for gaps */
} sub_group;

typedef struct sub_state {
  cli_client c;
  const cli_opts *o;
  sub_phase phase;
  char *path; /* the broadcast path, normalized */
  moqc_origin_announced *cursor;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *ts;
  sub_group *groups;
  size_t ngroups, capgroups;
  summary sum;
  int status; /* exit status once decided */
  bool broadcast_ended;
  FILE *out; /* --output */
  bool decided;
} sub_state;

static void sub_finish(sub_state *p, int status, const char *why) {
  if (!p->decided) {
    p->decided = true;
    p->status = status;
    if (why != NULL) {
      fprintf(stderr, "moqc sub: %s\n", why);
    }
  }
  p->phase = SUB_DONE;
  cli_client_close(&p->c, 0, "done");
}

static void sub_fail(sub_state *p, int err, const char *what) {
  if (!p->decided) {
    fprintf(stderr, "moqc sub: %s: %s\n", what, moqc_strerror(err));
  }
  sub_finish(p, CLI_EXIT_ERROR, NULL);
}

/* Checks one frame of group g and counts it. */
static void sub_frame(sub_state *p, sub_group *g, const uint8_t *data, size_t len) {
  uint64_t now = cli_wall_us(), fg = 0, ff = 0;
  payload_info info;
  bool bad = false;
  int rv;

  memset(&info, 0, sizeof(info));
  switch (p->o->check) {
  case CLI_CHECK_MOQC:
    rv = summary_frame(&p->sum, data, len, now, true, &g->prev_seq);
    if (rv == -2) {
      sub_fail(p, MOQC_ERR_NOMEM, "counting");
      return;
    }
    if (rv != 0 || payload_check(data, len, &info) != 0) {
      bad = true;
    } else if (info.group_seq != g->seq || info.frame_index != g->index) {
      p->sum.bad_frames++; /* a valid frame in the wrong place */
      bad = true;
    }
    break;
  case CLI_CHECK_NPM:
    (void)summary_frame(&p->sum, data, len, now, false, &g->prev_seq);
    if (payload_check_npm(data, len, &fg, &ff) != 0 || fg != g->seq || ff != g->index) {
      p->sum.bad_frames++;
      bad = true;
    }
    break;
  case CLI_CHECK_NONE:
    (void)summary_frame(&p->sum, data, len, now, false, &g->prev_seq);
    break;
  }
  if (!p->o->quiet) {
    if (bad) {
      printf("group %llu frame %llu bytes %zu BAD\n", (unsigned long long)g->seq,
             (unsigned long long)g->index, len);
    } else if (p->o->check == CLI_CHECK_MOQC) {
      printf("group %llu frame %llu seq %llu bytes %zu latency %.3f ms\n",
             (unsigned long long)g->seq, (unsigned long long)g->index,
             (unsigned long long)info.frame_seq, len,
             now > info.sent_us ? (double)(now - info.sent_us) / 1000.0 : 0.0);
    } else {
      printf("group %llu frame %llu bytes %zu\n", (unsigned long long)g->seq,
             (unsigned long long)g->index, len);
    }
  }
  if (bad && !p->o->quiet) {
    fflush(stdout);
  }
  if (p->out != NULL && len > 0 && fwrite(data, 1, len, p->out) != len) {
    fprintf(stderr, "moqc sub: writing %s failed\n", p->o->output);
    sub_finish(p, CLI_EXIT_ERROR, NULL);
  }
  g->index++;
}

static void sub_drop_group(sub_state *p, size_t i) {
  moqc_group_consumer_del(p->groups[i].gc);
  p->groups[i] = p->groups[--p->ngroups];
}

/* Reads what is ready in every open group. Returns true once --count frames arrived. */
static bool sub_read_groups(sub_state *p) {
  size_t i = 0;

  while (i < p->ngroups) {
    sub_group *g = &p->groups[i];
    moqc_rcbuf *buf;
    int rv = moqc_group_consumer_read_frame(g->gc, &buf, NULL, p->c.waker);
    if (rv == 0) {
      sub_frame(p, g, moqc_rcbuf_data(buf), moqc_rcbuf_len(buf));
      moqc_rcbuf_decref(buf);
      if (p->phase == SUB_DONE) {
        return true;
      }
      if (p->o->count != 0 && p->sum.frames >= p->o->count) {
        return true;
      }
      continue;
    }
    if (rv == MOQC_ERR_PENDING) {
      i++;
      continue;
    }
    if (rv != MOQC_END) {
      p->sum.aborted_groups++;
      fprintf(stderr, "moqc sub: group %llu ended after %llu frames: %s\n",
              (unsigned long long)g->seq, (unsigned long long)g->index, moqc_strerror(rv));
    }
    sub_drop_group(p, i);
  }
  return false;
}

static void sub_receive(sub_state *p) {
  for (;;) {
    moqc_group_consumer *gc;
    int rv;

    if (sub_read_groups(p)) {
      if (p->phase != SUB_DONE) {
        sub_finish(p, CLI_EXIT_OK, NULL);
      }
      return;
    }
    rv = moqc_track_subscriber_recv_group(p->ts, &gc, p->c.waker);
    if (rv == MOQC_ERR_PENDING) {
      return;
    }
    if (rv == MOQC_ERR_DROPPED && moqc_broadcast_consumer_closed(p->bc, NULL) != MOQC_ERR_PENDING) {
      /* The publisher ended the whole broadcast (its announce ended): that ends the track too.
       * (A session drops a mirrored track when its broadcast's announce ends, even after the
       * track's own end arrived, so this is how a publisher that unannounces at once looks.) */
      if (p->o->verbose && !p->broadcast_ended) {
        fprintf(stderr, "moqc sub: the broadcast ended\n");
      }
      p->broadcast_ended = true;
      rv = MOQC_END;
    }
    if (rv == MOQC_END) {
      if (p->ngroups > 0) {
        return; /* groups still being read: their wakes bring us back */
      }
      if (p->o->count == 0 && p->broadcast_ended && p->sum.aborted_groups > 0) {
        /* No clean end: the publisher went away (or its relay cut the last groups). */
        char why[128];
        snprintf(why, sizeof(why), "the broadcast ended with %llu groups cut short",
                 (unsigned long long)p->sum.aborted_groups);
        sub_finish(p, CLI_EXIT_ERROR, why);
      } else if (p->o->count == 0) {
        sub_finish(p, CLI_EXIT_OK, NULL);
      } else {
        char why[128];
        snprintf(why, sizeof(why), "the track ended after %llu of %llu frames",
                 (unsigned long long)p->sum.frames, (unsigned long long)p->o->count);
        sub_finish(p, CLI_EXIT_ERROR, why);
      }
      return;
    }
    if (rv != 0) {
      sub_fail(p, rv, "the subscription ended");
      return;
    }
    if (p->ngroups == p->capgroups) {
      size_t cap = p->capgroups ? p->capgroups * 2 : 8;
      sub_group *ng = realloc(p->groups, cap * sizeof(*ng));
      if (ng == NULL) {
        moqc_group_consumer_del(gc);
        sub_fail(p, MOQC_ERR_NOMEM, "groups");
        return;
      }
      p->groups = ng;
      p->capgroups = cap;
    }
    p->groups[p->ngroups].gc = gc;
    p->groups[p->ngroups].seq = moqc_group_consumer_sequence(gc);
    p->groups[p->ngroups].index = 0;
    p->groups[p->ngroups].prev_seq = UINT64_MAX;
    p->ngroups++;
    summary_group(&p->sum, moqc_group_consumer_sequence(gc));
  }
}

static void sub_work(cli_client *c) {
  sub_state *p = c->user_data;
  int rv;

  if (p->phase == SUB_WAIT_ANNOUNCE) {
    for (;;) {
      moqc_origin_announce ev;
      rv = moqc_origin_announced_next(p->cursor, &ev, c->waker);
      if (rv == MOQC_ERR_PENDING) {
        return;
      }
      if (rv != 0) {
        sub_fail(p, rv, "announcements");
        return;
      }
      if (ev.broadcast != NULL && moqc_str_eq(ev.path, moqc_str_c(p->path))) {
        if (p->o->verbose) {
          fprintf(stderr, "moqc sub: %s announced\n", p->path);
        }
        p->bc = ev.broadcast;
        moqc_origin_announced_del(p->cursor);
        p->cursor = NULL;
        rv = moqc_broadcast_consumer_track(p->bc, p->o->track, &p->tc);
        if (rv != 0) {
          sub_fail(p, rv, "track");
          return;
        }
        p->phase = SUB_SUBSCRIBING;
        break;
      }
      moqc_broadcast_consumer_del(ev.broadcast);
    }
  }
  if (p->phase == SUB_SUBSCRIBING) {
    moqc_subscription pref;
    moqc_subscription_default(&pref);
    /* Writing payloads out: ask for groups oldest first, so they arrive (and are written) in
     * order even when the relay has several cached. */
    pref.ordered = p->o->output != NULL;
    rv = moqc_track_consumer_subscribe(p->tc, &pref, &p->ts, c->waker);
    if (rv == MOQC_ERR_PENDING) {
      return;
    }
    if (rv != 0) {
      sub_fail(p, rv, "subscribe");
      return;
    }
    if (p->o->verbose) {
      fprintf(stderr, "moqc sub: subscribed to %s/%s\n", p->path, p->o->track);
    }
    p->phase = SUB_RECEIVING;
  }
  if (p->phase == SUB_RECEIVING) {
    sub_receive(p);
  }
}

static void sub_ready(cli_client *c) { cli_client_kick(c); }

static void sub_signal(cli_client *c, int count) {
  sub_state *p = c->user_data;

  (void)count;
  sub_finish(p, CLI_EXIT_OK, "interrupted");
}

static void sub_timeout(cli_client *c) {
  sub_state *p = c->user_data;
  char why[160];

  snprintf(why, sizeof(why), "timeout after %g s (%llu frames)", p->o->timeout_s,
           (unsigned long long)p->sum.frames);
  sub_finish(p, CLI_EXIT_TIMEOUT, why);
}

static void sub_closed(cli_client *c, int err) {
  sub_state *p = c->user_data;

  if (!p->decided) {
    p->decided = true;
    p->status = CLI_EXIT_ERROR;
    if (!c->reported) {
      fprintf(stderr, "moqc sub: connection closed: %s\n",
              err != 0 ? moqc_strerror(err) : "closed by the relay");
    }
  }
  while (p->ngroups > 0) {
    sub_drop_group(p, p->ngroups - 1);
  }
  moqc_track_subscriber_del(p->ts);
  p->ts = NULL;
  moqc_track_consumer_del(p->tc);
  p->tc = NULL;
  moqc_broadcast_consumer_del(p->bc);
  p->bc = NULL;
  moqc_origin_announced_del(p->cursor);
  p->cursor = NULL;
}

static void sub_print_summary(sub_state *p) {
  /* With the payloads on stdout, the summary goes to stderr. */
  FILE *f = p->o->output != NULL && strcmp(p->o->output, "-") == 0 ? stderr : stdout;

  if (p->o->json) {
    char json[512];
    summary_json(&p->sum, json, sizeof(json));
    fprintf(f, "%s\n", json);
  } else {
    fprintf(f, "summary: groups %llu frames %llu bytes %llu gaps %llu bad %llu aborted_groups %llu "
           "latency_ms p50 %.3f p90 %.3f p99 %.3f max %.3f\n",
           (unsigned long long)p->sum.groups, (unsigned long long)p->sum.frames,
           (unsigned long long)p->sum.bytes, (unsigned long long)p->sum.gaps,
           (unsigned long long)p->sum.bad_frames, (unsigned long long)p->sum.aborted_groups,
           summary_latency_ms(&p->sum, 50), summary_latency_ms(&p->sum, 90),
           summary_latency_ms(&p->sum, 99), summary_latency_ms(&p->sum, 100));
  }
  fflush(f);
}

int cli_cmd_sub(const cli_opts *o) {
  static const cli_client_cbs cbs = {.ready = sub_ready,
                                     .work = sub_work,
                                     .signal = sub_signal,
                                     .timeout = sub_timeout,
                                     .closed = sub_closed};
  uv_loop_t loop;
  sub_state *p;
  size_t n;
  int rv, status;

  p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return CLI_EXIT_ERROR;
  }
  p->o = o;
  summary_init(&p->sum);
  p->path = malloc(strlen(o->broadcast) + 1);
  if (p->path == NULL || uv_loop_init(&loop) != 0) {
    free(p->path);
    free(p);
    return CLI_EXIT_ERROR;
  }
  n = moqc_path_normalize(p->path, moqc_str_c(o->broadcast));
  p->path[n] = '\0';
  if (o->output != NULL) {
    p->out = strcmp(o->output, "-") == 0 ? stdout : fopen(o->output, "wb");
    if (p->out == NULL) {
      perror(o->output);
      uv_loop_close(&loop);
      free(p->path);
      free(p);
      return CLI_EXIT_ERROR;
    }
  }
  rv = cli_client_init(&p->c, &loop, o, &cbs, p);
  if (rv != 0) {
    fprintf(stderr, "moqc sub: %s\n", moqc_strerror(rv));
    uv_loop_close(&loop);
    free(p->path);
    free(p);
    return CLI_EXIT_ERROR;
  }
  rv = moqc_origin_consumer_announced(p->c.cons, &p->cursor);
  if (rv == 0) {
    /* Ask the relay only for announces at or under the broadcast's path. */
    rv = cli_client_connect(&p->c, false, true, p->path);
  }
  if (rv != 0) {
    p->decided = true;
    p->status = CLI_EXIT_ERROR;
    cli_client_close(&p->c, rv, "connect");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "moqc sub: the loop still had handles at exit\n");
  }
  if (p->out != NULL && (p->out == stdout ? fflush(stdout) : fclose(p->out)) != 0) {
    fprintf(stderr, "moqc sub: writing %s failed\n", o->output);
    p->status = CLI_EXIT_ERROR;
  }
  sub_print_summary(p);
  status = p->status;
  if (status == CLI_EXIT_OK && p->sum.bad_frames > 0) {
    fprintf(stderr, "moqc sub: %llu bad frames\n", (unsigned long long)p->sum.bad_frames);
    status = CLI_EXIT_ERROR;
  }
  summary_free(&p->sum);
  free(p->groups);
  free(p->path);
  free(p);
  return status;
}
