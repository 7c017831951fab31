/*
 * moqc-relay: GET /fetch/<broadcast>/<track>[?group=N|latest], a non-MoQ gateway that streams
 * the raw frame payloads of one group. It reads through the origin with its own metering context
 * (tier "", root ""), so it is metered like any viewer: a subscription and a viewer for the
 * latest group, a fetch for a numbered one, and the frames and bytes it reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

/* How long a fetch waits for the broadcast to be announced and for the group's frames. */
#define FETCH_WAIT (30 * MOQC_SECONDS)
/* How often a fetch retries a broadcast that is not announced yet. */
#define FETCH_RETRY_MS 50

typedef enum fetch_state {
  FETCH_BROADCAST,
  FETCH_SUBSCRIBE,
  FETCH_LATEST,
  FETCH_GROUP,
  FETCH_FRAMES
} fetch_state;

struct relay_fetch {
  relay_worker *w;
  relay_fetch *prev, *next;
  moqc_http_request *req;
  fetch_state state;
  bool latest;
  bool started;
  uint64_t group;
  moqc_tstamp deadline;
  char *broadcast;
  char *track;
  moqc_stats_session *stats;
  moqc_origin_consumer *view;
  moqc_broadcast_consumer *bc;
  moqc_track_consumer *tc;
  moqc_track_subscriber *sub;
  moqc_group_consumer *gc;
  uv_timer_t timer;
};

static void fetch_unlink(relay_fetch *f) {
  relay_worker *w = f->w;

  if (f->prev != NULL) {
    f->prev->next = f->next;
  } else if (w->fetches == f) {
    w->fetches = f->next;
  }
  if (f->next != NULL) {
    f->next->prev = f->prev;
  }
  f->prev = f->next = NULL;
}

static void fetch_timer_closed(uv_handle_t *h) {
  relay_fetch *f = h->data;

  free(f);
}

/* Releases every model handle (closing the viewer) and frees the fetch. */
static void fetch_free(relay_fetch *f) {
  fetch_unlink(f);
  moqc_group_consumer_del(f->gc);
  moqc_track_subscriber_del(f->sub);
  moqc_track_consumer_del(f->tc);
  moqc_broadcast_consumer_del(f->bc);
  moqc_origin_consumer_del(f->view);
  moqc_stats_session_decref(f->stats);
  free(f->broadcast);
  free(f->track);
  uv_close((uv_handle_t *)&f->timer, fetch_timer_closed);
}

static void fetch_fail(relay_fetch *f, int status, const char *why) {
  static const moqc_http_header text[] = {{"Content-Type", "text/plain; charset=utf-8"}};

  if (f->req != NULL) {
    if (f->started) {
      /* Headers are out: end the body early; the client sees a short chunked body. */
      moqc_http_respond_end(f->req);
    } else {
      char body[160];
      int n = snprintf(body, sizeof(body), "%s\n", why);
      moqc_http_respond(f->req, status, text, 1, body, (size_t)n);
    }
    f->req = NULL;
  }
  fetch_free(f);
}

static void on_req_abort(void *ud) {
  relay_fetch *f = ud;

  f->req = NULL;
  fetch_free(f);
}

/*
 * After a model call: true when the fetch must stop here, because the call is pending (504 once
 * the deadline passed) or failed (404 with why; the fetch is freed). False when rv is 0.
 */
static bool fetch_waits(relay_fetch *f, int rv, moqc_tstamp now, const char *why) {
  if (rv == MOQC_ERR_PENDING) {
    if (now >= f->deadline) {
      fetch_fail(f, 504, "timed out");
    }
    return true;
  }
  if (rv != 0) {
    fetch_fail(f, 404, why);
    return true;
  }
  return false;
}

/* Advances one fetch as far as it can. Returns when it waits or is freed. */
static void fetch_step(relay_fetch *f) {
  relay_worker *w = f->w;
  moqc_tstamp now = relay_now(w->r);
  int rv;

  for (;;) {
    switch (f->state) {
    case FETCH_BROADCAST:
      rv = moqc_origin_consumer_consume_broadcast(f->view, moqc_str_c(f->broadcast), &f->bc);
      if (rv == MOQC_ERR_NOT_FOUND) {
        if (now >= f->deadline) {
          fetch_fail(f, 404, "broadcast not found");
        }
        return; /* the retry timer calls again */
      }
      if (rv != 0) {
        fetch_fail(f, rv == MOQC_ERR_UNAUTHORIZED ? 403 : 500, moqc_strerror(rv));
        return;
      }
      uv_timer_stop(&f->timer);
      rv = moqc_broadcast_consumer_track(f->bc, f->track, &f->tc);
      if (rv != 0) {
        fetch_fail(f, 404, "track not found");
        return;
      }
      f->state = f->latest ? FETCH_SUBSCRIBE : FETCH_GROUP;
      break;
    case FETCH_SUBSCRIBE:
      rv = moqc_track_consumer_subscribe(f->tc, NULL, &f->sub, w->waker);
      if (fetch_waits(f, rv, now, "track not found")) {
        return;
      }
      f->state = FETCH_LATEST;
      break;
    case FETCH_LATEST:
      /* A subscription without a start begins at the live edge: the latest group, or the first
       * one to arrive. */
      rv = moqc_track_subscriber_next_group(f->sub, &f->gc, w->waker);
      if (fetch_waits(f, rv, now, "group not found")) {
        return;
      }
      f->state = FETCH_FRAMES;
      break;
    case FETCH_GROUP:
      rv = moqc_track_consumer_fetch_group(f->tc, f->group, &f->gc, w->waker);
      if (fetch_waits(f, rv, now, "group not found")) {
        return;
      }
      f->state = FETCH_FRAMES;
      break;
    case FETCH_FRAMES: {
      moqc_rcbuf *buf = NULL;
      rv = moqc_group_consumer_read_frame(f->gc, &buf, NULL, w->waker);
      if (rv == MOQC_ERR_PENDING) {
        if (now >= f->deadline) {
          fetch_fail(f, 504, "timed out waiting for the group");
        }
        return;
      }
      if (!f->started) {
        static const moqc_http_header octets[] = {{"Content-Type", "application/octet-stream"}};
        char seq[32];
        moqc_http_header hdr[2] = {octets[0], {"X-Moq-Group", seq}};
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)moqc_group_consumer_sequence(f->gc));
        if (rv != 0 && rv != MOQC_END) {
          moqc_rcbuf_decref(buf);
          fetch_fail(f, 404, moqc_strerror(rv));
          return;
        }
        if (moqc_http_respond_start(f->req, 200, hdr, 2) != 0) {
          moqc_rcbuf_decref(buf);
          f->req = NULL;
          fetch_free(f);
          return;
        }
        f->started = true;
      }
      if (rv == 0) {
        rv = moqc_http_respond_write(f->req, moqc_rcbuf_data(buf), moqc_rcbuf_len(buf));
        moqc_rcbuf_decref(buf);
        if (rv != 0) {
          fetch_fail(f, 500, moqc_strerror(rv));
          return;
        }
        break;
      }
      /* MOQC_END or the group's abort error: end the body. */
      moqc_http_respond_end(f->req);
      f->req = NULL;
      fetch_free(f);
      return;
    }
    }
  }
}

static void on_retry(uv_timer_t *t) { fetch_step(t->data); }

void relay_fetch_start(relay_worker *w, moqc_http_request *req, moqc_str rest) {
  relay *r = w->r;
  static const moqc_http_header text[] = {{"Content-Type", "text/plain; charset=utf-8"}};
  moqc_str query = moqc_http_request_query(req);
  moqc_origin_consumer *allowed = NULL;
  relay_fetch *f;
  char *path, *slash;
  int rv;

  f = calloc(1, sizeof(*f));
  path = relay_path_decode(rest);
  if (f == NULL || path == NULL || (slash = strrchr(path, '/')) == NULL) {
    free(f);
    free(path);
    moqc_http_respond(req, 400, text, 1, "want /fetch/<broadcast>/<track>\n", 32);
    return;
  }
  *slash = '\0';
  f->w = w;
  f->req = req;
  f->broadcast = path;
  f->track = strdup(slash + 1);
  f->latest = true;
  /* The query: group=N|latest, and jwt (read by relay_auth_http_view). */
  while (query.len > 0) {
    const char *amp = memchr(query.ptr, '&', query.len);
    size_t plen = amp != NULL ? (size_t)(amp - query.ptr) : query.len;
    char q[48];
    char *end;
    moqc_str param = {query.ptr, plen};
    query.ptr += amp != NULL ? plen + 1 : plen;
    query.len -= amp != NULL ? plen + 1 : plen;
    if (plen >= 4 && memcmp(param.ptr, "jwt=", 4) == 0) {
      continue;
    }
    if (plen >= sizeof(q)) {
      goto bad_query;
    }
    memcpy(q, param.ptr, plen);
    q[plen] = '\0';
    if (strcmp(q, "group=latest") != 0) {
      if (strncmp(q, "group=", 6) != 0 || q[6] < '0' || q[6] > '9') {
        goto bad_query;
      }
      f->group = strtoull(q + 6, &end, 10);
      if (*end != '\0' || f->group > ((uint64_t)1 << 53)) {
        goto bad_query;
      }
      f->latest = false;
    }
  }
  f->deadline = relay_now(r) + FETCH_WAIT;
  /* Only what the request's token (or the public prefixes) may subscribe to. */
  rv = relay_auth_http_view(w, req, &allowed);
  if (rv == MOQC_ERR_UNAUTHORIZED) {
    free(f->broadcast);
    free(f->track);
    free(f);
    moqc_http_respond(req, 401, text, 1, "unauthorized\n", 13);
    return;
  }
  if (rv == 0) {
    rv = moqc_stats_session_new(&f->stats, r->registry, moqc_str_c(""), moqc_str_c(""));
  }
  if (rv == 0) {
    rv = moqc_origin_consumer_with_usage(allowed, moqc_stats_session_ctx(f->stats), &f->view);
  }
  moqc_origin_consumer_del(allowed);
  uv_timer_init(w->loop, &f->timer);
  f->timer.data = f;
  f->next = w->fetches;
  if (w->fetches != NULL) {
    w->fetches->prev = f;
  }
  w->fetches = f;
  if (rv != 0 || f->track == NULL) {
    fetch_fail(f, 500, moqc_strerror(rv != 0 ? rv : MOQC_ERR_NOMEM));
    return;
  }
  moqc_http_request_on_abort(req, on_req_abort, f);
  uv_timer_start(&f->timer, on_retry, FETCH_RETRY_MS, FETCH_RETRY_MS);
  fetch_step(f);
  return;

bad_query:
  free(f->broadcast);
  free(f->track);
  free(f);
  moqc_http_respond(req, 400, text, 1, "want ?group=N or ?group=latest\n", 31);
}

void relay_fetch_poll_all(relay_worker *w) {
  relay_fetch *f = w->fetches, *next;

  for (; f != NULL; f = next) {
    next = f->next;
    fetch_step(f);
  }
}

void relay_fetch_abort_all(relay_worker *w) {
  while (w->fetches != NULL) {
    fetch_fail(w->fetches, 503, "relay shutting down");
  }
}
