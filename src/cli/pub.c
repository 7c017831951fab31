/*
 * `moqc pub`: announce a broadcast and publish synthetic frames (or standard input) on one track.
 *
 * Phases: connect -> (wait for a subscription) -> (delay) -> write frames paced at --fps, a group
 * per --frames-per-group -> finish the track -> linger until no subscription is left (the relay
 * got the end of the track) or --linger expires -> close the session -> print what was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "payload.h"

/* Time the session stays open after the relay ended its subscriptions (see pub_work). */
#define PUB_GRACE_MS 250

typedef enum pub_phase {
  PUB_CONNECTING = 0,
  PUB_WAIT_SUB,
  PUB_DELAY,
  PUB_RUN,
  PUB_LINGER,
  PUB_GRACE,
  PUB_CLOSING
} pub_phase;

typedef struct pub_state {
  cli_client c;
  const cli_opts *o;
  pub_phase phase;
  moqc_broadcast_producer *bp;
  moqc_origin_publish *guard;
  moqc_track_producer *tp;
  moqc_group_producer *gp;
  uint64_t frame_in_group;
  uint64_t groups, frames, bytes; /* sent */
  moqc_tstamp start;              /* pacing origin */
  moqc_tstamp ended;              /* when the track was finished */
  uv_timer_t tick;                /* pacing, delay and linger */
  uint8_t *buf;
  int err; /* first error */
  /* --stdin */
  uv_handle_type in_type;
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
  } in;
  uv_fs_t fs;
  bool in_open, fs_busy, eof;
} pub_state;

static void pub_end(pub_state *p);

static void pub_fail(pub_state *p, int err, const char *what) {
  if (p->err == 0) {
    p->err = err;
    fprintf(stderr, "moqc pub: %s: %s\n", what, moqc_strerror(err));
  }
  cli_client_close(&p->c, err, what);
}

/* Writes one frame (data may be NULL for a synthetic frame of --frame-size). */
static int pub_frame(pub_state *p, const uint8_t *data, size_t len) {
  moqc_tstamp now = cli_now();
  int rv;

  if (p->gp == NULL) {
    rv = moqc_track_producer_append_group(p->tp, now, &p->gp);
    if (rv != 0) {
      return rv;
    }
    p->groups++;
    p->frame_in_group = 0;
  }
  if (data == NULL) {
    payload_info info = {p->frames, cli_wall_us(), moqc_group_producer_sequence(p->gp),
                         (uint32_t)p->frame_in_group};
    len = (size_t)p->o->frame_size;
    if (p->o->payload == CLI_CHECK_NPM) {
      /* Frames are at least their header, as payload.mjs makes them. */
      while (payload_write_npm(p->buf, len, info.group_seq, p->frame_in_group) != 0) {
        len++;
      }
    } else {
      payload_write(p->buf, len, &info);
    }
    data = p->buf;
  }
  rv = moqc_group_producer_write_frame(p->gp, data, len, (now - p->start) / 1000000u);
  if (rv != 0) {
    return rv;
  }
  p->frames++;
  p->bytes += len;
  p->frame_in_group++;
  if (p->frame_in_group == p->o->frames_per_group) {
    rv = moqc_group_producer_finish(p->gp);
    moqc_group_producer_del(p->gp);
    p->gp = NULL;
  }
  return rv;
}

/* ---- Synthetic frames, paced ------------------------------------------------------------------ */

static void pub_tick(uv_timer_t *t);

static void pub_schedule(pub_state *p) {
  double fps = p->o->fps;
  uint64_t due_ns, now = cli_now(), wait_ms = 0;

  if (fps > 0) {
    due_ns = p->start + (uint64_t)((double)p->frames * 1e9 / fps);
    if (due_ns > now) {
      wait_ms = (due_ns - now + 999999u) / 1000000u;
    }
  } else {
    wait_ms = 1; /* one group per millisecond */
  }
  uv_timer_start(&p->tick, pub_tick, wait_ms, 0);
}

static void pub_tick(uv_timer_t *t) {
  pub_state *p = t->data;
  uint64_t due, n = 0;
  int rv;

  if (p->phase != PUB_RUN) {
    return;
  }
  if (p->o->fps > 0) {
    due = (uint64_t)((double)(cli_now() - p->start) * p->o->fps / 1e9) + 1;
  } else {
    due = p->frames + p->o->frames_per_group - (p->gp != NULL ? p->frame_in_group : 0);
  }
  while (p->frames < due && n < 10000) {
    if (p->o->groups != 0 && p->groups == p->o->groups && p->gp == NULL) {
      break;
    }
    if ((rv = pub_frame(p, NULL, 0)) != 0) {
      pub_fail(p, rv, "writing a frame");
      return;
    }
    n++;
  }
  if (p->o->groups != 0 && p->groups == p->o->groups && p->gp == NULL) {
    pub_end(p);
    return;
  }
  pub_schedule(p);
}

/* ---- Standard input --------------------------------------------------------------------------- */

static void pub_in_closed(uv_handle_t *h) { (void)h; }

static void pub_in_stop(pub_state *p) {
  if (p->in_open) {
    p->in_open = false;
    uv_close((uv_handle_t *)&p->in, pub_in_closed);
  }
}

static void pub_in_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  pub_state *p = h->data;

  (void)suggested;
  b->base = (char *)p->buf;
  b->len = (size_t)p->o->frame_size;
}

static void pub_in_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  pub_state *p = s->data;
  int rv;

  (void)b;
  if (n > 0) {
    if (p->phase == PUB_RUN && (rv = pub_frame(p, p->buf, (size_t)n)) != 0) {
      pub_fail(p, rv, "writing a frame");
    }
    return;
  }
  if (n == UV_EOF) {
    p->eof = true;
    pub_in_stop(p);
    pub_end(p);
  } else if (n < 0) {
    fprintf(stderr, "moqc pub: reading standard input: %s\n", uv_strerror((int)n));
    pub_in_stop(p);
    pub_fail(p, MOQC_ERR_IO, "standard input");
  }
}

static void pub_fs_read(uv_fs_t *req);

static void pub_fs_next(pub_state *p) {
  uv_buf_t b = uv_buf_init((char *)p->buf, (unsigned int)p->o->frame_size);

  if (uv_fs_read(p->c.loop, &p->fs, 0, &b, 1, -1, pub_fs_read) == 0) {
    p->fs_busy = true;
  } else {
    pub_fail(p, MOQC_ERR_IO, "standard input");
  }
}

static void pub_fs_read(uv_fs_t *req) {
  pub_state *p = req->data;
  ssize_t n = req->result;
  int rv;

  uv_fs_req_cleanup(req);
  p->fs_busy = false;
  if (p->phase != PUB_RUN) {
    return;
  }
  if (n > 0) {
    if ((rv = pub_frame(p, p->buf, (size_t)n)) != 0) {
      pub_fail(p, rv, "writing a frame");
      return;
    }
    pub_fs_next(p);
  } else if (n == 0) {
    p->eof = true;
    pub_end(p);
  } else {
    fprintf(stderr, "moqc pub: reading standard input: %s\n", uv_strerror((int)n));
    pub_fail(p, MOQC_ERR_IO, "standard input");
  }
}

static int pub_in_start(pub_state *p) {
  p->in_type = uv_guess_handle(0);
  p->fs.data = p;
  switch (p->in_type) {
  case UV_FILE:
    pub_fs_next(p);
    return 0;
  case UV_NAMED_PIPE:
    if (uv_pipe_init(p->c.loop, &p->in.pipe, 0) != 0 || uv_pipe_open(&p->in.pipe, 0) != 0) {
      return -1;
    }
    break;
  case UV_TTY:
    if (uv_tty_init(p->c.loop, &p->in.tty, 0, 1) != 0) {
      return -1;
    }
    break;
  default:
    return -1;
  }
  p->in_open = true;
  p->in.pipe.data = p;
  if (uv_read_start((uv_stream_t *)&p->in, pub_in_alloc, pub_in_read) != 0) {
    pub_in_stop(p);
    return -1;
  }
  return 0;
}

/* ---- Phases ------------------------------------------------------------------------------------ */

static void pub_run(pub_state *p) {
  p->phase = PUB_RUN;
  p->start = cli_now();
  if (p->o->use_stdin) {
    if (pub_in_start(p) != 0) {
      pub_fail(p, MOQC_ERR_IO, "standard input cannot be read");
    }
    return;
  }
  pub_schedule(p);
}

static void pub_delay_done(uv_timer_t *t) { pub_run(t->data); }

static void pub_start_delay(pub_state *p) {
  p->phase = PUB_DELAY;
  uv_timer_start(&p->tick, pub_delay_done, p->o->delay_ms, 0);
}

static void pub_linger_done(uv_timer_t *t) {
  pub_state *p = t->data;

  if (p->phase == PUB_LINGER) {
    fprintf(stderr, "moqc pub: a subscription was still open after --linger; closing\n");
  }
  if (p->phase == PUB_LINGER || p->phase == PUB_GRACE) {
    p->phase = PUB_CLOSING;
    cli_client_close(&p->c, 0, "done");
  }
}

/* Ends the track (the last group may be short) and waits for the subscriptions to finish. */
static void pub_end(pub_state *p) {
  if (p->phase >= PUB_LINGER) {
    return;
  }
  uv_timer_stop(&p->tick);
  pub_in_stop(p);
  if (p->gp != NULL) {
    (void)moqc_group_producer_finish(p->gp);
    moqc_group_producer_del(p->gp);
    p->gp = NULL;
  }
  if (p->tp != NULL) {
    (void)moqc_track_producer_finish(p->tp);
  }
  if (p->c.session == NULL) {
    p->phase = PUB_CLOSING;
    cli_client_close(&p->c, 0, "done");
    return;
  }
  p->phase = PUB_LINGER;
  p->ended = cli_now();
  uv_timer_start(&p->tick, pub_linger_done, p->o->linger_ms, 0);
  cli_client_kick(&p->c);
}

static void pub_ready(cli_client *c) {
  pub_state *p = c->user_data;

  if (p->phase != PUB_CONNECTING) {
    return;
  }
  if (p->o->wait_subscriber) {
    p->phase = PUB_WAIT_SUB;
    cli_client_kick(c);
  } else {
    pub_start_delay(p);
  }
}

static void pub_work(cli_client *c) {
  pub_state *p = c->user_data;
  moqc_subscription sub;
  int rv;

  if (p->phase == PUB_WAIT_SUB) {
    rv = moqc_track_producer_subscription(p->tp, &sub, c->waker);
    if (rv == 0) {
      pub_start_delay(p);
    } else if (rv < 0) {
      pub_fail(p, rv, "waiting for a subscriber");
    }
  } else if (p->phase == PUB_LINGER) {
    rv = moqc_track_producer_used(p->tp, c->waker);
    if (rv == 0) {
      if (p->o->verbose) {
        fprintf(stderr, "moqc pub: no subscription left %.1f ms after the end of the track\n",
                (double)(cli_now() - p->ended) / 1e6);
      }
      /* The relay has the whole track. Closing now would end the broadcast while the relay may
       * still be forwarding its last groups, and a session that sees its upstream broadcast end
       * aborts the mirrored track (even a finished one), cutting those groups: give it a grace. */
      p->phase = PUB_GRACE;
      uv_timer_start(&p->tick, pub_linger_done, PUB_GRACE_MS, 0);
    } else if (rv < 0) {
      pub_fail(p, rv, "waiting for subscribers");
    }
  }
}

static void pub_signal(cli_client *c, int count) {
  pub_state *p = c->user_data;

  if (count == 1 && p->phase < PUB_LINGER && p->phase > PUB_CONNECTING) {
    pub_end(p);
    return;
  }
  p->phase = PUB_CLOSING;
  uv_timer_stop(&p->tick);
  cli_client_close(c, 0, "interrupted");
}

static void pub_closed(cli_client *c, int err) {
  pub_state *p = c->user_data;

  if (err != 0 && p->err == 0) {
    p->err = err;
    if (!c->reported) {
      fprintf(stderr, "moqc pub: connection closed: %s\n", moqc_strerror(err));
    }
  } else if (p->phase < PUB_LINGER && p->err == 0) {
    p->err = MOQC_ERR_REMOTE;
    fprintf(stderr, "moqc pub: the relay closed the session\n");
  }
  p->phase = PUB_CLOSING;
  pub_in_stop(p);
  if (p->fs_busy) {
    uv_cancel((uv_req_t *)&p->fs);
  }
  uv_close((uv_handle_t *)&p->tick, NULL);
  moqc_group_producer_del(p->gp);
  p->gp = NULL;
  moqc_track_producer_del(p->tp);
  p->tp = NULL;
  moqc_origin_publish_del(p->guard);
  p->guard = NULL;
  moqc_broadcast_producer_del(p->bp);
  p->bp = NULL;
}

int cli_cmd_pub(const cli_opts *o) {
  static const cli_client_cbs cbs = {
      .ready = pub_ready, .work = pub_work, .signal = pub_signal, .closed = pub_closed};
  uv_loop_t loop;
  pub_state *p;
  moqc_track_info info;
  int rv, status;

  p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return CLI_EXIT_ERROR;
  }
  p->o = o;
  p->buf = malloc((size_t)o->frame_size + 64); /* room for an npm header above the size */
  if (p->buf == NULL || uv_loop_init(&loop) != 0) {
    free(p->buf);
    free(p);
    return CLI_EXIT_ERROR;
  }
  rv = cli_client_init(&p->c, &loop, o, &cbs, p);
  if (rv != 0) {
    fprintf(stderr, "moqc pub: %s\n", moqc_strerror(rv));
    uv_loop_close(&loop);
    free(p->buf);
    free(p);
    return CLI_EXIT_ERROR;
  }
  uv_timer_init(&loop, &p->tick);
  p->tick.data = p;
  rv = moqc_origin_producer_create_broadcast(p->c.prod, moqc_str_c(o->broadcast), NULL, &p->bp,
                                             &p->guard);
  if (rv == 0) {
    moqc_track_info_default(&info);
    rv = moqc_broadcast_producer_create_track(p->bp, o->track, &info, &p->tp);
  }
  if (rv != 0) {
    pub_fail(p, rv, "creating the broadcast");
  } else {
    rv = cli_client_connect(&p->c, true, false, NULL);
    if (rv != 0) {
      p->err = rv;
      cli_client_close(&p->c, rv, "connect");
    }
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "moqc pub: the loop still had handles at exit\n");
  }
  printf("{\"groups\":%llu,\"frames\":%llu,\"bytes\":%llu}\n", (unsigned long long)p->groups,
         (unsigned long long)p->frames, (unsigned long long)p->bytes);
  fflush(stdout);
  status = p->err == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
  free(p->buf);
  free(p);
  return status;
}
