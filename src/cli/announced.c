/*
 * `moqc announced`: list the broadcasts a relay announces under a prefix.
 *
 * The session mirrors the relay's announces under PREFIX into the local origin and an announce
 * cursor reads them. Without --follow the listing ends once the relay's SETUP arrived and no
 * announce came for --settle milliseconds (moq-lite has no "end of the initial set" marker that
 * the model exposes); with --follow changes print as "active PATH" / "ended PATH".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"

typedef struct ann_state {
  cli_client c;
  const cli_opts *o;
  char *prefix; /* normalized */
  moqc_origin_announced *cursor;
  uv_timer_t settle;
  bool ready, done;
  int status;
  uint64_t printed;
} ann_state;

static void ann_finish(ann_state *p, int status) {
  if (!p->done) {
    p->done = true;
    p->status = status;
  }
  uv_timer_stop(&p->settle);
  cli_client_close(&p->c, 0, "done");
}

static void ann_settled(uv_timer_t *t) {
  ann_state *p = t->data;

  /* Wait for the relay's SETUP (lite-05 carries its origin id; legacy sets the version). */
  if (p->c.session != NULL && moqc_session_peer_origin(p->c.session) == 0 &&
      moqc_session_version(p->c.session) >= MOQC_SESSION_VERSION_LITE_05) {
    uv_timer_start(&p->settle, ann_settled, p->o->settle_ms, 0);
    return;
  }
  if (p->c.session != NULL && moqc_session_version(p->c.session) == 0) {
    uv_timer_start(&p->settle, ann_settled, p->o->settle_ms, 0);
    return;
  }
  ann_finish(p, CLI_EXIT_OK);
}

static void ann_print(ann_state *p, moqc_str path, bool active) {
  if (p->o->follow) {
    printf("%s %.*s\n", active ? "active" : "ended", (int)path.len, path.ptr);
  } else if (active) {
    printf("%.*s\n", (int)path.len, path.ptr);
  }
  fflush(stdout);
  p->printed++;
}

static void ann_work(cli_client *c) {
  ann_state *p = c->user_data;
  bool any = false;

  if (p->done) {
    return;
  }
  for (;;) {
    moqc_origin_announce ev;
    int rv = moqc_origin_announced_next(p->cursor, &ev, c->waker);
    if (rv == MOQC_ERR_PENDING) {
      break;
    }
    if (rv != 0) {
      fprintf(stderr, "moqc announced: %s\n", moqc_strerror(rv));
      ann_finish(p, CLI_EXIT_ERROR);
      return;
    }
    if (!p->o->follow && ev.broadcast == NULL) {
      continue;
    }
    ann_print(p, ev.path, ev.broadcast != NULL);
    moqc_broadcast_consumer_del(ev.broadcast);
    any = true;
  }
  if (!p->o->follow && p->ready && any) {
    uv_timer_start(&p->settle, ann_settled, p->o->settle_ms, 0); /* restart the quiet time */
  }
}

static void ann_ready(cli_client *c) {
  ann_state *p = c->user_data;

  p->ready = true;
  if (!p->o->follow) {
    uv_timer_start(&p->settle, ann_settled, p->o->settle_ms, 0);
  }
  cli_client_kick(c);
}

static void ann_signal(cli_client *c, int count) {
  (void)count;
  ann_finish(c->user_data, CLI_EXIT_OK);
}

static void ann_timeout(cli_client *c) {
  fprintf(stderr, "moqc announced: timeout\n");
  ann_finish(c->user_data, CLI_EXIT_TIMEOUT);
}

static void ann_closed(cli_client *c, int err) {
  ann_state *p = c->user_data;

  if (!p->done) {
    p->done = true;
    p->status = CLI_EXIT_ERROR;
    if (!c->reported) {
      fprintf(stderr, "moqc announced: connection closed: %s\n",
              err != 0 ? moqc_strerror(err) : "closed by the relay");
    }
  }
  uv_close((uv_handle_t *)&p->settle, NULL);
  moqc_origin_announced_del(p->cursor);
  p->cursor = NULL;
}

int cli_cmd_announced(const cli_opts *o) {
  static const cli_client_cbs cbs = {.ready = ann_ready,
                                     .work = ann_work,
                                     .signal = ann_signal,
                                     .timeout = ann_timeout,
                                     .closed = ann_closed};
  uv_loop_t loop;
  ann_state *p;
  size_t n;
  int rv, status;

  p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return CLI_EXIT_ERROR;
  }
  p->o = o;
  p->prefix = malloc(strlen(o->prefix) + 1);
  if (p->prefix == NULL || uv_loop_init(&loop) != 0) {
    free(p->prefix);
    free(p);
    return CLI_EXIT_ERROR;
  }
  n = moqc_path_normalize(p->prefix, moqc_str_c(o->prefix));
  p->prefix[n] = '\0';
  rv = cli_client_init(&p->c, &loop, o, &cbs, p);
  if (rv != 0) {
    fprintf(stderr, "moqc announced: %s\n", moqc_strerror(rv));
    uv_loop_close(&loop);
    free(p->prefix);
    free(p);
    return CLI_EXIT_ERROR;
  }
  uv_timer_init(&loop, &p->settle);
  p->settle.data = p;
  rv = moqc_origin_consumer_announced(p->c.cons, &p->cursor);
  if (rv == 0) {
    rv = cli_client_connect(&p->c, false, true, p->prefix);
  }
  if (rv != 0) {
    p->done = true;
    p->status = CLI_EXIT_ERROR;
    cli_client_close(&p->c, rv, "connect");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "moqc announced: the loop still had handles at exit\n");
  }
  status = p->status;
  free(p->prefix);
  free(p);
  return status;
}
