/*
 * moq-lite session: lifecycle, close, and the entry points a transport calls.
 */
#include <string.h>

#include "session/session_int.h"

void moqc_session_settings_default(moqc_session_settings *s) {
  memset(s, 0, sizeof(*s));
  s->perspective = MOQC_SESSION_CLIENT;
  s->version = MOQC_SESSION_VERSION_LITE_05;
  s->origin_id = 0;
  s->setup_path = NULL;
  s->announce_prefix = "";
  s->setup_timeout = 10 * MOQC_SECONDS;
  s->max_message_size = 64 * 1024;
  s->group_queue_bytes = 64 * 1024;
  s->track_linger = 2 * MOQC_SECONDS;
  s->end_linger = 500 * MOQC_MILLISECONDS;
}

static char *sess_strdup(const moqc_mem *mem, const char *str) {
  size_t n = strlen(str);
  char *d = moqc_mem_malloc(mem, n + 1);
  if (d != NULL) {
    memcpy(d, str, n + 1);
  }
  return d;
}

static void sess_wake(void *user_data) {
  moqc_session *s = user_data;
  s->tp.ops->wake(s->tp.user_data);
}

int moqc_session_new_versioned(moqc_session **out, int settings_version,
                               const moqc_session_settings *settings,
                               const moqc_transport *transport,
                               const moqc_origin_consumer *publish,
                               const moqc_origin_producer *mirror, moqc_usage_ctx *usage) {
  moqc_session_settings def;
  if (settings_version != MOQC_SESSION_SETTINGS_V1 || transport == NULL ||
      transport->ops == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (settings == NULL) {
    moqc_session_settings_default(&def);
    settings = &def;
  }
  uint32_t v = settings->version;
  if (v != MOQC_SESSION_VERSION_LEGACY && v != MOQC_SESSION_VERSION_LITE_03 &&
      v != MOQC_SESSION_VERSION_LITE_04 && v != MOQC_SESSION_VERSION_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (settings->perspective != MOQC_SESSION_CLIENT &&
      settings->perspective != MOQC_SESSION_SERVER) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  const moqc_mem *mem = settings->mem;
  moqc_session *s = moqc_mem_calloc(mem, 1, sizeof(*s));
  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  s->settings = *settings;
  s->mem = mem;
  s->tp = *transport;
  s->is_server = settings->perspective == MOQC_SESSION_SERVER;
  s->version = (moqc_lite_version)v;
  s->end_fin_due = UINT64_MAX;
  s->probe_id = MOQC_STREAM_NONE;
  s->probe_due = UINT64_MAX;
  if (s->settings.max_message_size < 1024) {
    s->settings.max_message_size = 1024;
  }
  int rv = MOQC_ERR_NOMEM;
  if (settings->setup_path != NULL &&
      (s->setup_path = sess_strdup(mem, settings->setup_path)) == NULL) {
    goto fail;
  }
  s->settings.setup_path = s->setup_path;
  if (settings->announce_prefix != NULL &&
      (s->announce_prefix = sess_strdup(mem, settings->announce_prefix)) == NULL) {
    goto fail;
  }
  s->settings.announce_prefix = s->announce_prefix;
  if (moqc_waker_new(&s->waker, sess_wake, s, mem) != 0) {
    goto fail;
  }
  if ((rv = moqc_session_attach_origins(s, publish, mirror, usage)) != 0) {
    goto fail;
  }
  *out = s;
  return 0;
fail:
  if (s->waker != NULL) {
    moqc_waker_close(s->waker);
  }
  moqc_mem_free(mem, s->setup_path);
  moqc_mem_free(mem, s->announce_prefix);
  moqc_mem_free(mem, s);
  return rv;
}

int moqc_session_attach_origins(moqc_session *s, const moqc_origin_consumer *publish,
                                const moqc_origin_producer *mirror, moqc_usage_ctx *usage) {
  moqc_origin_consumer *c = NULL;
  moqc_origin_producer *p = NULL;
  int rv = 0;
  if (s->serving || s->closed) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (publish != NULL) {
    rv = usage != NULL ? moqc_origin_consumer_with_usage(publish, usage, &c)
                       : moqc_origin_consumer_clone(publish, &c);
  }
  if (rv == 0 && mirror != NULL) {
    rv = usage != NULL ? moqc_origin_producer_with_usage(mirror, usage, &p)
                       : moqc_origin_producer_clone(mirror, &p);
  }
  if (rv != 0) {
    moqc_origin_consumer_del(c);
    moqc_origin_producer_del(p);
    return rv;
  }
  moqc_origin_consumer_del(s->publish);
  moqc_origin_producer_del(s->mirror);
  moqc_usage_ctx_incref(usage);
  moqc_usage_ctx_decref(s->usage);
  s->publish = c;
  s->mirror = p;
  s->usage = usage;
  return 0;
}

/* Releases every model handle: mirrored broadcasts end, served subscriptions end. */
static void sess_release(moqc_session *s) {
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    moqc__sess_abandon(s, st, MOQC_ERR_CLOSED);
  }
  moqc__sess_sub_free_all(s);
}

void moqc__sess_fail(moqc_session *s, int err, const char *reason) {
  if (s->closed) {
    return;
  }
  if (reason == NULL) {
    reason = err == 0 ? "" : moqc_strerror(err);
  }
  MOQC_LOG(&s->settings.log, MOQC_LOG_INFO, "moq-lite session closed: %s (%s)", reason,
           moqc_err_name(err));
  uint64_t code = err == 0 ? MOQC_LITE_CODE_CANCEL : moqc_err_to_lite_code(err);
  s->tp.ops->close(s->tp.user_data, code, reason, strlen(reason));
  s->closed = true;
  s->error = err;
  sess_release(s);
}

void moqc_session_close(moqc_session *s, int err, const char *reason) {
  moqc__sess_fail(s, err, reason);
}

void moqc_session_closed(moqc_session *s, uint64_t code, const char *reason, size_t reason_len) {
  if (s->closed) {
    return;
  }
  MOQC_LOG(&s->settings.log, MOQC_LOG_INFO, "moq-lite session closed by peer: code %llu %.*s",
           (unsigned long long)code, (int)(reason_len > 200 ? 200 : reason_len),
           reason != NULL ? reason : "");
  s->closed = true;
  s->error = code == 0 ? 0 : moqc_err_from_lite_code(code);
  sess_release(s);
}

void moqc_session_del(moqc_session *s) {
  if (s == NULL) {
    return;
  }
  if (!s->closed) {
    moqc__sess_fail(s, 0, "");
  }
  moqc_waker_close(s->waker);
  moqc__sess_streams_free(s);
  moqc__sess_sub_free_all(s);
  moqc_origin_consumer_del(s->publish);
  moqc_origin_producer_del(s->mirror);
  moqc_usage_ctx_decref(s->usage);
  moqc_mem_free(s->mem, s->setup_path);
  moqc_mem_free(s->mem, s->announce_prefix);
  moqc_mem_free(s->mem, s);
}

bool moqc_session_is_closed(const moqc_session *s) { return s->closed; }

int moqc_session_error(const moqc_session *s) { return s->error; }

uint32_t moqc_session_version(const moqc_session *s) { return (uint32_t)s->version; }

uint64_t moqc_session_peer_origin(const moqc_session *s) { return s->peer_origin; }

int moqc_session_start(moqc_session *s, moqc_tstamp ts) {
  s->now = ts;
  if (s->started || s->closed) {
    return 0;
  }
  s->started = true;
  if (s->is_server && s->settings.setup_timeout != 0) {
    s->setup_deadline = ts + s->settings.setup_timeout;
  }
  int rv = moqc__sess_setup_start(s);
  if (rv < 0) {
    moqc__sess_fail(s, rv, NULL);
  }
  return rv;
}

int moqc__sess_on_ready(moqc_session *s) {
  if (s->serving) {
    return 0;
  }
  s->ready = true;
  s->serving = true;
  if (s->mirror != NULL && s->settings.announce_prefix != NULL) {
    s->need_announce_request = true;
  }
  return moqc__sess_sub_poll(s);
}

/* ---- Entry points ---------------------------------------------------------------------------- */

moqc_ssize moqc_session_read_stream(moqc_session *s, moqc_stream_id id, const uint8_t *data,
                                    size_t len, bool fin, moqc_tstamp ts) {
  s->now = ts;
  if (s->closed) {
    return (moqc_ssize)len;
  }
  sess_stream *st = moqc__sess_find(s, id);
  if (st == NULL) {
    bool ours = MOQC_STREAM_IS_SERVER(id) == s->is_server;
    if (ours) {
      /* A stream of ours we already forgot: drop late bytes. */
      return (moqc_ssize)len;
    }
    st = moqc__sess_add(s, id, SK_UNKNOWN);
    if (st == NULL) {
      return MOQC_ERR_NOMEM;
    }
  }
  int rv = moqc__sess_feed(s, st, data, len, fin);
  if (rv < 0) {
    return rv;
  }
  return (moqc_ssize)len;
}

int moqc_session_recv_reset(moqc_session *s, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  s->now = ts;
  sess_stream *st = moqc__sess_find(s, id);
  if (s->closed || st == NULL || st->rx_done) {
    if (st != NULL) {
      st->rx_done = true;
    }
    return 0;
  }
  st->rx_done = true;
  st->rx_len = 0;
  int err = moqc_err_from_lite_code(code);
  switch (st->kind) {
  case SK_ANNOUNCE_SUB:
  case SK_TRACK_SUB:
  case SK_SUBSCRIBE_SUB:
  case SK_GROUP_RX:
    moqc__sess_sub_stream_reset(s, st, err);
    break;
  case SK_LEGACY:
    moqc__sess_fail(s, MOQC_ERR_CLOSED, "legacy session stream reset");
    break;
  case SK_SETUP_RX:
    if (!s->peer_setup) {
      moqc__sess_fail(s, MOQC_ERR_PROTOCOL_VIOLATION, "setup stream reset");
    }
    break;
  case SK_TRACK_PUB:
    /* The @moq/net subscriber resets its side after TRACK_INFO: harmless. */
    if (st->fin_queued) {
      break;
    }
    moqc__sess_abandon(s, st, MOQC_ERR_CANCEL);
    break;
  case SK_ANNOUNCE_PUB:
  case SK_SUBSCRIBE_PUB:
    moqc__sess_abandon(s, st, MOQC_ERR_CANCEL);
    break;
  case SK_PROBE:
    /* The subscriber gave up on the stream: no more reports; our FIN ends it. */
    moqc__sess_probe_stop(s, st, true);
    break;
  default:
    break;
  }
  return 0;
}

int moqc_session_recv_stop_sending(moqc_session *s, moqc_stream_id id, uint64_t code,
                                   moqc_tstamp ts) {
  (void)code;
  s->now = ts;
  sess_stream *st = moqc__sess_find(s, id);
  if (s->closed || st == NULL || st->send_done) {
    return 0;
  }
  /* The JS sends STOP_SENDING on streams it finished reading, even after our FIN: tolerate. */
  if (st->fin_written) {
    return 0;
  }
  switch (st->kind) {
  case SK_GROUP_TX:
    moqc__sess_reset(s, st, MOQC_ERR_CANCEL);
    moqc__sess_pub_group_stopped(s, st);
    break;
  case SK_ANNOUNCE_PUB:
  case SK_SUBSCRIBE_PUB:
  case SK_TRACK_PUB:
  case SK_FETCH_PUB:
    moqc__sess_abandon(s, st, MOQC_ERR_CANCEL);
    break;
  case SK_ANNOUNCE_SUB:
  case SK_TRACK_SUB:
  case SK_SUBSCRIBE_SUB:
    moqc__sess_reset(s, st, MOQC_ERR_CANCEL);
    break;
  case SK_LEGACY:
    moqc__sess_fail(s, MOQC_ERR_CLOSED, "legacy session stream stopped");
    break;
  case SK_PROBE:
    moqc__sess_reset(s, st, MOQC_ERR_CANCEL);
    moqc__sess_probe_stop(s, st, false);
    break;
  default:
    moqc__sess_reset(s, st, MOQC_ERR_CANCEL);
    break;
  }
  return 0;
}

int moqc_session_close_stream(moqc_session *s, moqc_stream_id id, moqc_tstamp ts) {
  s->now = ts;
  sess_stream *st = moqc__sess_find(s, id);
  if (st == NULL) {
    return 0;
  }
  if (st->kind == SK_GROUP_TX) {
    moqc__sess_pub_group_stopped(s, st);
  }
  if (st->kind == SK_ANNOUNCE_SUB && !s->closed) {
    moqc__sess_sub_announce_ended(s, MOQC_ERR_CLOSED);
  }
  if (s->announce_sub == st) {
    s->announce_sub = NULL;
  }
  moqc__sess_probe_stop(s, st, false);
  moqc__sess_remove(s, st);
  return 0;
}

int moqc_session_recv_datagram(moqc_session *s, const uint8_t *data, size_t len,
                               moqc_tstamp ts) {
  s->now = ts;
  if (s->closed) {
    return 0;
  }
  return moqc__sess_sub_datagram(s, data, len);
}

int moqc_session_poll(moqc_session *s, moqc_tstamp ts) {
  s->now = ts;
  if (s->closed) {
    return 0;
  }
  int rv = 0;
  /* Streams may be added while polling; index afresh each time. */
  for (size_t i = 0; i < s->nstreams && rv >= 0 && !s->closed; i++) {
    sess_stream *st = s->streams[i];
    switch (st->kind) {
    case SK_ANNOUNCE_PUB:
      rv = moqc__sess_pub_announce_poll(s, st);
      break;
    case SK_TRACK_PUB:
      rv = moqc__sess_pub_track_poll(s, st);
      break;
    case SK_SUBSCRIBE_PUB:
      rv = moqc__sess_pub_subscribe_poll(s, st);
      break;
    case SK_GROUP_TX:
      rv = moqc__sess_pub_group_poll(s, st);
      break;
    case SK_FETCH_PUB:
      rv = moqc__sess_pub_fetch_poll(s, st);
      break;
    default:
      break;
    }
  }
  if (rv >= 0 && !s->closed) {
    rv = moqc__sess_sub_poll(s);
  }
  if (rv < 0) {
    moqc__sess_fail(s, rv, NULL);
  }
  return rv;
}

moqc_tstamp moqc_session_get_expiry(const moqc_session *s) {
  if (s->closed) {
    return UINT64_MAX;
  }
  moqc_tstamp e = moqc__sess_sub_expiry(s);
  if (s->end_fin_due < e) {
    e = s->end_fin_due;
  }
  if (!s->serving && s->setup_deadline != 0 && s->setup_deadline < e) {
    e = s->setup_deadline;
  }
  if (s->probe_due < e) {
    e = s->probe_due;
  }
  return e;
}

int moqc_session_handle_expiry(moqc_session *s, moqc_tstamp ts) {
  s->now = ts;
  if (s->closed) {
    return 0;
  }
  if (!s->serving && s->setup_deadline != 0 && s->setup_deadline <= ts) {
    moqc__sess_fail(s, MOQC_ERR_TIMEOUT, "no setup from the client");
    return 0;
  }
  if (s->end_fin_due <= ts) {
    moqc__sess_pub_end_poll(s);
  }
  if (s->probe_due <= ts) {
    moqc__sess_probe_tick(s);
  }
  /* Unused mirrored tracks past their linger time. */
  int rv = moqc__sess_sub_poll(s);
  if (rv < 0) {
    moqc__sess_fail(s, rv, NULL);
  }
  return rv;
}

/* ---- The stream application ops ------------------------------------------------------------ */

static moqc_ssize app_read(void *app, moqc_stream_id id, const uint8_t *data, size_t len,
                           bool fin, moqc_tstamp ts) {
  return moqc_session_read_stream(app, id, data, len, fin, ts);
}
static moqc_ssize app_writev(void *app, moqc_stream_id *id, bool *fin, moqc_vec *vec,
                             size_t veccnt, moqc_tstamp ts) {
  return moqc_session_writev_stream(app, id, fin, vec, veccnt, ts);
}
static int app_write_off(void *app, moqc_stream_id id, size_t n) {
  return moqc_session_add_write_offset(app, id, n);
}
static int app_ack_off(void *app, moqc_stream_id id, uint64_t n) {
  return moqc_session_add_ack_offset(app, id, n);
}
static int app_block(void *app, moqc_stream_id id) { return moqc_session_block_stream(app, id); }
static int app_unblock(void *app, moqc_stream_id id) {
  return moqc_session_unblock_stream(app, id);
}
static int app_reset(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  return moqc_session_recv_reset(app, id, code, ts);
}
static int app_stop(void *app, moqc_stream_id id, uint64_t code, moqc_tstamp ts) {
  return moqc_session_recv_stop_sending(app, id, code, ts);
}
static int app_close_stream(void *app, moqc_stream_id id, moqc_tstamp ts) {
  return moqc_session_close_stream(app, id, ts);
}
static int app_dgram(void *app, const uint8_t *data, size_t len, moqc_tstamp ts) {
  return moqc_session_recv_datagram(app, data, len, ts);
}
static int app_poll(void *app, moqc_tstamp ts) { return moqc_session_poll(app, ts); }
static moqc_tstamp app_expiry(void *app) { return moqc_session_get_expiry(app); }
static int app_handle_expiry(void *app, moqc_tstamp ts) {
  return moqc_session_handle_expiry(app, ts);
}
static void app_closed(void *app, uint64_t code, const char *reason, size_t len) {
  moqc_session_closed(app, code, reason, len);
}

static const moqc_stream_app_ops sess_app_ops = {
    .read_stream = app_read,
    .writev_stream = app_writev,
    .add_write_offset = app_write_off,
    .add_ack_offset = app_ack_off,
    .block_stream = app_block,
    .unblock_stream = app_unblock,
    .recv_reset = app_reset,
    .recv_stop_sending = app_stop,
    .close_stream = app_close_stream,
    .recv_datagram = app_dgram,
    .poll = app_poll,
    .get_expiry = app_expiry,
    .handle_expiry = app_handle_expiry,
    .closed = app_closed,
};

const moqc_stream_app_ops *moqc_session_app_ops(void) { return &sess_app_ops; }
