/*
 * Publisher half: resolving a (broadcast, track) pair against the local origin.
 */
#include <string.h>

#include "session/pub_resolve.h"

static char *resolve_dup(moqc_session *s, moqc_str v) {
  char *c = moqc_mem_malloc(s->mem, v.len + 1);
  if (c != NULL) {
    memcpy(c, v.ptr, v.len);
    c[v.len] = '\0';
  }
  return c;
}

int moqc__sess_pub_resolve_init(moqc_session *s, pub_resolve *r, moqc_str path, moqc_str track) {
  memset(r, 0, sizeof(*r));
  r->path = resolve_dup(s, path);
  r->track = resolve_dup(s, track);
  if (r->path == NULL || r->track == NULL) {
    moqc__sess_pub_resolve_free(s, r);
    return MOQC_ERR_NOMEM;
  }
  return 0;
}

void moqc__sess_pub_resolve_free(moqc_session *s, pub_resolve *r) {
  moqc_track_consumer_del(r->tc);
  moqc_broadcast_consumer_del(r->bc);
  moqc_origin_request_del(r->req);
  moqc_mem_free(s->mem, r->path);
  moqc_mem_free(s->mem, r->track);
  memset(r, 0, sizeof(*r));
}

int moqc__sess_pub_resolve_track(moqc_session *s, pub_resolve *r) {
  int rv;
  if (r->tc != NULL) {
    return 0;
  }
  if (s->publish == NULL) {
    return MOQC_ERR_NOT_FOUND;
  }
  if (r->bc == NULL) {
    if (r->req == NULL) {
      rv = moqc_origin_consumer_request_broadcast(s->publish, moqc_str_c(r->path), &r->req);
      if (rv < 0) {
        return rv == MOQC_ERR_UNROUTABLE ? MOQC_ERR_NOT_FOUND : rv;
      }
    }
    rv = moqc_origin_request_poll(r->req, &r->bc, s->waker);
    if (rv < 0) {
      return rv;
    }
    moqc_origin_request_del(r->req);
    r->req = NULL;
  }
  rv = moqc_broadcast_consumer_track(r->bc, r->track, &r->tc);
  return rv;
}

int moqc__sess_pub_resolve_info(moqc_session *s, pub_resolve *r, moqc_track_info *info) {
  int rv = moqc__sess_pub_resolve_track(s, r);
  if (rv < 0) {
    return rv;
  }
  return moqc_track_consumer_info(r->tc, info, s->waker);
}

void moqc__sess_pub_info_to_wire(const moqc_track_info *info, moqc__lite_track_info *out) {
  memset(out, 0, sizeof(*out));
  out->priority = info->priority;
  out->ordered = info->ordered;
  out->max_latency_ms = info->retention / MOQC_MILLISECONDS;
  out->timescale = info->timescale != 0 ? info->timescale : MOQC_TIMESCALE_MILLI;
}
