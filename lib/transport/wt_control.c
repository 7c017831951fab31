/*
 * Control streams: ours (SETTINGS) and the peer's (SETTINGS once, GOAWAY,
 * unknown frames skipped, HTTP/3 connection errors); the client sends its
 * CONNECT once the server's SETTINGS show WebTransport support.
 */
#include "transport/wt_int.h"

#include <string.h>

#include "core/log.h"

static void wt_on_settings(moqc_wt_conn *c) {
  if (c->server || c->connect_frame == NULL) {
    return;
  }
  /* Client: the server must speak WebTransport (draft-02 or later) with
   * datagrams. */
  const moqc__h3_settings *st = &c->peer_settings;
  bool wt = st->enable_webtransport || st->webtransport_max_sessions > 0 ||
            st->wt_max_sessions_draft13 > 0 || st->wt_enabled;
  if (!wt) {
    c->close_err = MOQC_ERR_PROTOCOL_VIOLATION;
    c->http_status = 0;
    if (c->on_response != NULL) {
      c->on_response(c, 0);
    }
    moqc__wt_lower_close(c, MOQC__H3_NO_ERROR, "no WebTransport");
    return;
  }
  int64_t id;
  int rv = c->lower.ops->open_stream(c->lower.user_data, false, &id);
  if (rv != 0) {
    moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "cannot open the CONNECT stream");
    return;
  }
  moqc__wt_stream *s = moqc__wt_stream_new(c, id, MOQC__WTS_REQUEST, true);
  if (s == NULL) {
    moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
    return;
  }
  c->connect = s;
  c->session_id = id;
  c->state = MOQC__WT_REQUESTED;
  rv = moqc__wt_queue(c, s, c->connect_frame, c->connect_frame_len, false);
  moqc_mem_free(c->mem, c->connect_frame);
  c->connect_frame = NULL;
  if (rv != 0) {
    moqc__wt_fail(c, MOQC__H3_INTERNAL_ERROR, "out of memory");
  }
}

/* Parses frames of the peer's control stream from s->rx. */
void moqc__wt_control_parse(moqc_wt_conn *c, moqc__wt_stream *s) {
  for (;;) {
    if (s->skip_left > 0) {
      size_t n = s->skip_left < s->rxlen ? (size_t)s->skip_left : s->rxlen;
      moqc__wt_rx_consume(s, n);
      s->skip_left -= n;
      if (s->skip_left > 0) {
        return;
      }
    }
    const uint8_t *p = s->rx;
    const uint8_t *end = s->rx + s->rxlen;
    moqc__h3_frame_header h;
    if (moqc__h3_frame_header_decode(&p, end, &h) != 0) {
      return; /* incomplete (a varint is never malformed) */
    }
    size_t hl = (size_t)(p - s->rx);
    if (!c->peer_settings_seen && h.type != MOQC__H3_SETTINGS) {
      moqc__wt_fail(c, MOQC__H3_MISSING_SETTINGS,
                    "first control frame is not SETTINGS");
      return;
    }
    if (h.type == MOQC__H3_SETTINGS) {
      if (c->peer_settings_seen) {
        moqc__wt_fail(c, MOQC__H3_FRAME_UNEXPECTED, "second SETTINGS");
        return;
      }
      if (h.length > MOQC__WT_MAX_SETTINGS) {
        moqc__wt_fail(c, MOQC__H3_EXCESSIVE_LOAD, "SETTINGS too large");
        return;
      }
      if (s->rxlen - hl < h.length) {
        return;
      }
      if (moqc__h3_settings_decode(p, (size_t)h.length, &c->peer_settings) !=
          0) {
        moqc__wt_fail(c, MOQC__H3_SETTINGS_ERROR, "bad SETTINGS");
        return;
      }
      c->peer_settings_seen = true;
      moqc__wt_rx_consume(s, hl + (size_t)h.length);
      wt_on_settings(c);
      if (c->lower_closed) {
        return;
      }
      continue;
    }
    if (h.type == MOQC__H3_DATA || h.type == MOQC__H3_HEADERS ||
        h.type == MOQC__H3_PUSH_PROMISE || moqc__h3_frame_is_h2_only(h.type)) {
      moqc__wt_fail(c, MOQC__H3_FRAME_UNEXPECTED,
                    "unexpected frame on the control stream");
      return;
    }
    if (h.type == MOQC__H3_GOAWAY) {
      uint64_t id;
      if (h.length > MOQC__WT_MAX_SMALL_FRAME) {
        moqc__wt_fail(c, MOQC__H3_FRAME_ERROR, "GOAWAY too large");
        return;
      }
      if (s->rxlen - hl < h.length) {
        return;
      }
      if (moqc__h3_id_payload_decode(p, (size_t)h.length, &id) != 0) {
        moqc__wt_fail(c, MOQC__H3_FRAME_ERROR, "bad GOAWAY");
        return;
      }
      c->goaway = true;
      c->peer_draining = true;
      moqc__wt_rx_consume(s, hl + (size_t)h.length);
      continue;
    }
    /* CANCEL_PUSH, MAX_PUSH_ID, unknown and GREASE frames: skipped. */
    moqc__wt_rx_consume(s, hl);
    s->skip_left = h.length;
  }
}

int moqc__wt_conn_start(moqc_wt_conn *c) {
  uint8_t buf[128];
  moqc__writer w;
  moqc__h3_settings st;
  int64_t id;
  int rv = c->lower.ops->open_stream(c->lower.user_data, true, &id);
  if (rv != 0) {
    return rv;
  }
  moqc__wt_stream *s = moqc__wt_stream_new(c, id, MOQC__WTS_CONTROL_OUT, true);
  if (s == NULL) {
    return MOQC_ERR_NOMEM;
  }
  c->control_out = s;
  moqc__h3_settings_server(&st, 1);
  moqc__writer_init(&w, buf, sizeof(buf));
  moqc__put_varint(&w, MOQC__H3_STREAM_CONTROL);
  moqc__h3_put_settings(&w, &st);
  moqc_ssize n = moqc__writer_result(&w);
  if (n < 0) {
    return (int)n;
  }
  return moqc__wt_queue(c, s, buf, (size_t)n, false);
}
