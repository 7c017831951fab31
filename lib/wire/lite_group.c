/*
 * moq-lite data plane (spec 4.6, 4.7, 4.10): GROUP header, FRAME (lite-05
 * zigzag timestamp deltas), the resumable frame-header reader, FETCH and
 * datagrams.
 */
#include "wire/lite_int.h"

#include <string.h>

/* ---- GROUP */

static int group_parse(const uint8_t **q, const uint8_t *end,
                       moqc_lite_version v, void *arg) {
  moqc__lite_group *out = arg;
  int rv = moqc__get_varint(q, end, &out->subscribe_id);

  (void)v;
  if (rv == 0) {
    rv = moqc__lite_get_js(q, end, &out->sequence);
  }
  return rv;
}

int moqc__lite_decode_group(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_group *out) {
  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, group_parse, out);
}

int moqc__lite_encode_group(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_group *m) {
  moqc__lite_msg msg;

  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->sequence) != 0) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->subscribe_id);
  moqc__put_varint(&msg.body, m->sequence);
  return moqc__lite_msg_end(&msg);
}

/* ---- FRAME */

int moqc__lite_decode_frame_header(const uint8_t **p, const uint8_t *end,
                                   moqc_lite_version v,
                                   moqc__lite_frame_header *out) {
  const uint8_t *s = *p;
  uint64_t zz = 0, size;
  int rv;

  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (v >= MOQC_LITE_05 && (rv = moqc__lite_get_js(&s, end, &zz)) != 0) {
    return rv;
  }
  if ((rv = moqc__get_varint_max(&s, end, MOQC_LITE_MAX_FRAME_SIZE, &size)) !=
      0) {
    return rv;
  }
  out->ts_delta = moqc__zigzag_decode(zz);
  out->size = size;
  *p = s;
  return 0;
}

static int frame_header_put(moqc__writer *w, moqc_lite_version v,
                            int64_t ts_delta, uint64_t size) {
  if (!moqc__lite_version_valid(v) || (v < MOQC_LITE_05 && ts_delta != 0)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (size > MOQC_LITE_MAX_FRAME_SIZE ||
      (v >= MOQC_LITE_05 && moqc__zigzag_encode(ts_delta) > MOQC_JS_INT_MAX)) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  if (v >= MOQC_LITE_05) {
    moqc__put_varint(w, moqc__zigzag_encode(ts_delta));
  }
  moqc__put_varint(w, size);
  return 0;
}

int moqc__lite_encode_frame_header(moqc__writer *w, moqc_lite_version v,
                                   const moqc__lite_frame_header *m) {
  uint8_t *start = w->p;
  int rv = frame_header_put(w, v, m->ts_delta, m->size);

  if (rv == 0) {
    rv = moqc__writer_result(w) < 0 ? (int)moqc__writer_result(w) : 0;
  }
  return rv != 0 ? moqc__lite_enc_fail(w, start, rv) : 0;
}

int moqc__lite_decode_frame(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_frame *out) {
  const uint8_t *s = *p, *payload;
  moqc__lite_frame_header h;
  int rv;

  if ((rv = moqc__lite_decode_frame_header(&s, end, v, &h)) != 0 ||
      (rv = moqc__get_raw(&s, end, (size_t)h.size, &payload)) != 0) {
    return rv;
  }
  out->ts_delta = h.ts_delta;
  out->payload = payload;
  out->size = (size_t)h.size;
  *p = s;
  return 0;
}

int moqc__lite_encode_frame(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_frame *m) {
  uint8_t *start = w->p;
  int rv;

  if (m->size > 0 && m->payload == NULL) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  rv = frame_header_put(w, v, m->ts_delta, m->size);
  if (rv == 0) {
    moqc__put_raw(w, m->payload, m->size);
    rv = moqc__writer_result(w) < 0 ? (int)moqc__writer_result(w) : 0;
  }
  return rv != 0 ? moqc__lite_enc_fail(w, start, rv) : 0;
}

/* ---- resumable frame-header reader */

void moqc__lite_frame_reader_init(moqc__lite_frame_reader *r,
                                  moqc_lite_version v) {
  memset(r, 0, sizeof(*r));
  r->version = v;
}

/* Why a frame header was refused: an oversize payload or an out-of-range delta.
 */
static int frame_refusal(const uint8_t *p, const uint8_t *end,
                         moqc_lite_version v) {
  uint64_t x;

  if (v >= MOQC_LITE_05) {
    if (moqc__get_varint(&p, end, &x) != 0) {
      return MOQC_ERR_DECODE;
    }
    if (x > MOQC_JS_INT_MAX) {
      return MOQC_ERR_BOUNDS_EXCEEDED;
    }
  }
  if (moqc__get_varint(&p, end, &x) == 0 && x > MOQC_LITE_MAX_FRAME_SIZE) {
    return MOQC_ERR_FRAME_TOO_LARGE;
  }
  return MOQC_ERR_DECODE;
}

int moqc__lite_frame_reader_read(moqc__lite_frame_reader *r, const uint8_t **p,
                                 const uint8_t *end,
                                 moqc__lite_frame_header *out,
                                 int64_t *timestamp) {
  uint8_t tmp[MOQC_LITE_MAX_FRAME_HEADER_SIZE];
  size_t avail = (size_t)(end - *p), room = sizeof(tmp) - r->buffered;
  size_t k = avail < room ? avail : room;
  const uint8_t *q = tmp;
  moqc__lite_frame_header h;
  int rv;

  /* Parse over the buffered bytes followed by as much new input as a header can
   * need. */
  memcpy(tmp, r->buf, r->buffered);
  if (k > 0) {
    memcpy(tmp + r->buffered, *p, k);
  }
  rv =
      moqc__lite_decode_frame_header(&q, tmp + r->buffered + k, r->version, &h);
  if (rv == MOQC_ERR_INCOMPLETE) {
    /* A header is at most sizeof(tmp) bytes, so all input fit in. */
    memcpy(r->buf, tmp, r->buffered + k);
    r->buffered += k;
    *p += k;
    return rv;
  }
  if (rv != 0) {
    r->refusal = frame_refusal(tmp, tmp + r->buffered + k, r->version);
    return rv;
  }
  if (r->version >= MOQC_LITE_05) {
    int64_t ts = r->timestamp + h.ts_delta;
    if (ts > (int64_t)MOQC_JS_INT_MAX || ts < -(int64_t)MOQC_JS_INT_MAX) {
      r->refusal = MOQC_ERR_BOUNDS_EXCEEDED;
      return MOQC_ERR_MALFORMED;
    }
    r->timestamp = ts;
  }
  *p += (size_t)(q - tmp) - r->buffered;
  r->buffered = 0;
  r->frames++;
  *out = h;
  if (timestamp != NULL) {
    *timestamp = r->timestamp;
  }
  return 0;
}

bool moqc__lite_frame_reader_at_boundary(const moqc__lite_frame_reader *r) {
  return r->buffered == 0;
}

/* ---- FETCH (lite-05) */

static int fetch_parse(const uint8_t **q, const uint8_t *end,
                       moqc_lite_version v, void *arg) {
  moqc__lite_fetch *out = arg;
  int rv;

  (void)v;
  if ((rv = moqc__lite_get_path(q, end, &out->broadcast)) != 0 ||
      (rv = moqc__lite_get_name(q, end, &out->track)) != 0 ||
      (rv = moqc__get_u8(q, end, &out->priority)) != 0) {
    return rv;
  }
  return moqc__lite_get_js(q, end, &out->group);
}

int moqc__lite_decode_fetch(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_fetch *out) {
  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, fetch_parse, out);
}

int moqc__lite_encode_fetch(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_fetch *m) {
  moqc__lite_msg msg;

  if (v != MOQC_LITE_05 || moqc__lite_check_path(m->broadcast) != 0 ||
      moqc__lite_check_name(m->track) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->group) != 0) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_lbytes(&msg.body, m->broadcast.ptr, m->broadcast.len);
  moqc__put_lbytes(&msg.body, m->track.ptr, m->track.len);
  moqc__put_u8(&msg.body, m->priority);
  moqc__put_varint(&msg.body, m->group);
  return moqc__lite_msg_end(&msg);
}

/* ---- datagrams (lite-05) */

int moqc__lite_decode_datagram(const uint8_t **p, const uint8_t *end,
                               moqc_lite_version v, moqc__lite_datagram *out) {
  const uint8_t *s = *p;
  int rv;

  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if ((rv = moqc__get_varint(&s, end, &out->subscribe_id)) != 0 ||
      (rv = moqc__lite_get_js(&s, end, &out->sequence)) != 0 ||
      (rv = moqc__lite_get_js(&s, end, &out->timestamp)) != 0) {
    return rv;
  }
  out->payload = s;
  out->size = (size_t)(end - s);
  *p = end;
  return 0;
}

int moqc__lite_encode_datagram(moqc__writer *w, moqc_lite_version v,
                               const moqc__lite_datagram *m) {
  uint8_t *start = w->p;
  moqc_ssize res;

  if (v != MOQC_LITE_05 || (m->size > 0 && m->payload == NULL)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->sequence) != 0 ||
      moqc__lite_check_js(m->timestamp) != 0) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__put_varint(w, m->subscribe_id);
  moqc__put_varint(w, m->sequence);
  moqc__put_varint(w, m->timestamp);
  moqc__put_raw(w, m->payload, m->size);
  res = moqc__writer_result(w);
  return res < 0 ? moqc__lite_enc_fail(w, start, (int)res) : 0;
}
