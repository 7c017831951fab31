/*
 * QMux frame codec and WebSocket subprotocol selection (see qmux.h).
 */
#include "wire/qmux.h"

#include <string.h>

/* Reads a frame type varint and rejects a non-minimal encoding. */
static int qmux_get_type(const uint8_t **p, const uint8_t *end, uint64_t *type) {
  const uint8_t *s = *p;
  uint64_t v;
  int rv = moqc__get_varint(&s, end, &v);

  if (rv != 0) {
    return rv;
  }
  if ((size_t)(s - *p) != moqc__varint_len(v)) {
    return MOQC_ERR_MALFORMED;
  }
  *type = v;
  *p = s;
  return 0;
}

/* Reads a varint length bounded by MOQC__QMUX_LEN_MAX, then that many bytes. */
static int qmux_get_len_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **data,
                              size_t *len) {
  const uint8_t *s = *p;
  uint64_t n;
  int rv = moqc__get_varint_max(&s, end, MOQC__QMUX_LEN_MAX, &n);

  if (rv != 0) {
    return rv;
  }
  rv = moqc__get_raw(&s, end, (size_t)n, data);
  if (rv != 0) {
    return rv;
  }
  *len = (size_t)n;
  *p = s;
  return 0;
}

/* The legacy "webtransport" format: raw type byte, rest-of-message payloads. */
static int qmux_decode_legacy(const uint8_t **p, const uint8_t *end, moqc__qmux_frame *out) {
  const uint8_t *s = *p;
  moqc__qmux_frame f;
  uint8_t t;
  int rv;

  memset(&f, 0, sizeof(f));
  rv = moqc__get_u8(&s, end, &t);
  if (rv != 0) {
    return rv;
  }
  f.type = t;
  switch (t) {
  case 0x08:
  case 0x09:
    rv = moqc__get_varint(&s, end, &f.stream_id);
    if (rv != 0) {
      return rv;
    }
    f.fin = t == 0x09;
    f.data = s;
    f.len = (size_t)(end - s);
    s = end;
    break;
  case MOQC__QMUX_RESET_STREAM:
  case MOQC__QMUX_STOP_SENDING:
    if ((rv = moqc__get_varint(&s, end, &f.stream_id)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f.code)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_CONNECTION_CLOSE:
  case MOQC__QMUX_APPLICATION_CLOSE:
    rv = moqc__get_varint(&s, end, &f.code);
    if (rv != 0) {
      return rv;
    }
    f.data = s;
    f.len = (size_t)(end - s);
    s = end;
    break;
  default:
    return MOQC_ERR_MALFORMED;
  }
  if (s != end) {
    return MOQC_ERR_MALFORMED;
  }
  *out = f;
  *p = s;
  return 0;
}

static int qmux_decode_stream(const uint8_t **p, const uint8_t *end, moqc__qmux_frame *f) {
  const uint8_t *s = *p;
  int rv = moqc__get_varint(&s, end, &f->stream_id);

  if (rv != 0) {
    return rv;
  }
  if ((f->type & MOQC__QMUX_STREAM_OFF) != 0) {
    rv = moqc__get_varint(&s, end, &f->offset);
    if (rv != 0) {
      return rv;
    }
  }
  if ((f->type & MOQC__QMUX_STREAM_LEN) != 0) {
    rv = qmux_get_len_bytes(&s, end, &f->data, &f->len);
    if (rv != 0) {
      return rv;
    }
  } else {
    if ((uint64_t)(end - s) > MOQC__QMUX_LEN_MAX) {
      return MOQC_ERR_MALFORMED;
    }
    f->data = s;
    f->len = (size_t)(end - s);
    s = end;
  }
  f->fin = (f->type & MOQC__QMUX_STREAM_FIN) != 0;
  if (f->offset > MOQC_VARINT_MAX - f->len) {
    return MOQC_ERR_MALFORMED;
  }
  *p = s;
  return 0;
}

/* CONNECTION_CLOSE (with frame type) or APPLICATION_CLOSE (without). */
static int qmux_decode_close(const uint8_t **p, const uint8_t *end, bool with_type,
                             moqc__qmux_frame *f) {
  const uint8_t *s = *p;
  int rv;

  if ((rv = moqc__get_varint(&s, end, &f->code)) != 0) {
    return rv;
  }
  if (with_type && (rv = moqc__get_varint(&s, end, &f->frame_type)) != 0) {
    return rv;
  }
  if ((rv = qmux_get_len_bytes(&s, end, &f->data, &f->len)) != 0) {
    return rv;
  }
  *p = s;
  return 0;
}

static int qmux_decode_body(const uint8_t **p, const uint8_t *end, moqc__qmux_format fmt,
                            moqc__qmux_frame *f) {
  const uint8_t *s = *p;
  uint64_t t = f->type;
  int rv = 0;

  if (t >= 0x08 && t <= 0x0f) {
    return qmux_decode_stream(p, end, f);
  }
  switch (t) {
  case MOQC__QMUX_PADDING:
    break;
  case MOQC__QMUX_RESET_STREAM:
    if ((rv = moqc__get_varint(&s, end, &f->stream_id)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->code)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->final_size)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_RESET_STREAM_AT:
    if (fmt < MOQC__QMUX_02) {
      return MOQC_ERR_MALFORMED;
    }
    if ((rv = moqc__get_varint(&s, end, &f->stream_id)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->code)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->final_size)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->reliable_size)) != 0) {
      return rv;
    }
    if (f->reliable_size > f->final_size) {
      return MOQC_ERR_MALFORMED;
    }
    break;
  case MOQC__QMUX_STOP_SENDING:
    if ((rv = moqc__get_varint(&s, end, &f->stream_id)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->code)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_MAX_DATA:
  case MOQC__QMUX_DATA_BLOCKED:
    if ((rv = moqc__get_varint(&s, end, &f->max)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_MAX_STREAM_DATA:
  case MOQC__QMUX_STREAM_DATA_BLOCKED:
    if ((rv = moqc__get_varint(&s, end, &f->stream_id)) != 0 ||
        (rv = moqc__get_varint(&s, end, &f->max)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_MAX_STREAMS_BIDI:
  case MOQC__QMUX_MAX_STREAMS_UNI:
  case MOQC__QMUX_STREAMS_BLOCKED_BIDI:
  case MOQC__QMUX_STREAMS_BLOCKED_UNI:
    if ((rv = moqc__get_varint_max(&s, end, MOQC__QMUX_MAX_STREAMS_LIMIT, &f->max)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_CONNECTION_CLOSE:
    if ((rv = qmux_decode_close(&s, end, true, f)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_APPLICATION_CLOSE:
    rv = qmux_decode_close(&s, end, false, f);
    if (fmt == MOQC__QMUX_00 && (rv != 0 || s != end)) {
      /* @moq/qmux 0.0.6 writes an extra frame-type varint; a qmux-00 message is one frame,
       * so the quirk is recognised when it, and only it, fills the message exactly. */
      const uint8_t *q = *p;
      moqc__qmux_frame g = *f;
      if (qmux_decode_close(&q, end, true, &g) == 0 && q == end) {
        *f = g;
        f->close_quirk = true;
        s = q;
        rv = 0;
      }
    }
    if (rv != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_DATAGRAM:
    if (fmt < MOQC__QMUX_01) {
      return MOQC_ERR_MALFORMED;
    }
    if ((uint64_t)(end - s) > MOQC__QMUX_LEN_MAX) {
      return MOQC_ERR_MALFORMED;
    }
    f->data = s;
    f->len = (size_t)(end - s);
    s = end;
    break;
  case MOQC__QMUX_DATAGRAM_LEN:
    if (fmt < MOQC__QMUX_01) {
      return MOQC_ERR_MALFORMED;
    }
    if ((rv = qmux_get_len_bytes(&s, end, &f->data, &f->len)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_TRANSPORT_PARAMETERS:
    if ((rv = qmux_get_len_bytes(&s, end, &f->data, &f->len)) != 0) {
      return rv;
    }
    break;
  case MOQC__QMUX_PING_REQUEST:
  case MOQC__QMUX_PING_RESPONSE:
    if (fmt < MOQC__QMUX_01) {
      return MOQC_ERR_MALFORMED;
    }
    if ((rv = moqc__get_varint(&s, end, &f->sequence)) != 0) {
      return rv;
    }
    break;
  default:
    return MOQC_ERR_MALFORMED;
  }
  *p = s;
  return 0;
}

int moqc__qmux_frame_decode(const uint8_t **p, const uint8_t *end,
                            moqc__qmux_format fmt, moqc__qmux_frame *out) {
  const uint8_t *s = *p;
  moqc__qmux_frame f;
  int rv;

  if (fmt == MOQC__QMUX_WEBTRANSPORT) {
    return qmux_decode_legacy(p, end, out);
  }
  if (fmt < MOQC__QMUX_00 || fmt > MOQC__QMUX_02) {
    return MOQC_ERR_MALFORMED;
  }
  memset(&f, 0, sizeof(f));
  rv = qmux_get_type(&s, end, &f.type);
  if (rv != 0) {
    return rv;
  }
  rv = qmux_decode_body(&s, end, fmt, &f);
  if (rv != 0) {
    return rv;
  }
  if (fmt == MOQC__QMUX_00 && s != end) {
    return MOQC_ERR_MALFORMED;
  }
  *out = f;
  *p = s;
  return 0;
}

/* Writes the frame body after the type (shared by encode and size). */
static void qmux_encode_body(moqc__writer *w, moqc__qmux_format fmt, const moqc__qmux_frame *f) {
  uint64_t t = f->type;

  if (t >= 0x08 && t <= 0x0f) {
    moqc__put_varint(w, f->stream_id);
    if ((t & MOQC__QMUX_STREAM_OFF) != 0) {
      moqc__put_varint(w, f->offset);
    }
    if ((t & MOQC__QMUX_STREAM_LEN) != 0) {
      moqc__put_varint(w, f->len);
    }
    moqc__put_raw(w, f->data, f->len);
    return;
  }
  switch (t) {
  case MOQC__QMUX_PADDING:
    break;
  case MOQC__QMUX_RESET_STREAM:
    moqc__put_varint(w, f->stream_id);
    moqc__put_varint(w, f->code);
    moqc__put_varint(w, f->final_size);
    break;
  case MOQC__QMUX_RESET_STREAM_AT:
    moqc__put_varint(w, f->stream_id);
    moqc__put_varint(w, f->code);
    moqc__put_varint(w, f->final_size);
    moqc__put_varint(w, f->reliable_size);
    break;
  case MOQC__QMUX_STOP_SENDING:
    moqc__put_varint(w, f->stream_id);
    moqc__put_varint(w, f->code);
    break;
  case MOQC__QMUX_MAX_DATA:
  case MOQC__QMUX_DATA_BLOCKED:
  case MOQC__QMUX_MAX_STREAMS_BIDI:
  case MOQC__QMUX_MAX_STREAMS_UNI:
  case MOQC__QMUX_STREAMS_BLOCKED_BIDI:
  case MOQC__QMUX_STREAMS_BLOCKED_UNI:
    moqc__put_varint(w, f->max);
    break;
  case MOQC__QMUX_MAX_STREAM_DATA:
  case MOQC__QMUX_STREAM_DATA_BLOCKED:
    moqc__put_varint(w, f->stream_id);
    moqc__put_varint(w, f->max);
    break;
  case MOQC__QMUX_CONNECTION_CLOSE:
    moqc__put_varint(w, f->code);
    moqc__put_varint(w, f->frame_type);
    moqc__put_lbytes(w, f->data, f->len);
    break;
  case MOQC__QMUX_APPLICATION_CLOSE:
    moqc__put_varint(w, f->code);
    if (f->close_quirk && fmt == MOQC__QMUX_00) {
      moqc__put_varint(w, f->frame_type);
    }
    moqc__put_lbytes(w, f->data, f->len);
    break;
  case MOQC__QMUX_DATAGRAM:
    moqc__put_raw(w, f->data, f->len);
    break;
  case MOQC__QMUX_DATAGRAM_LEN:
  case MOQC__QMUX_TRANSPORT_PARAMETERS:
    moqc__put_lbytes(w, f->data, f->len);
    break;
  case MOQC__QMUX_PING_REQUEST:
  case MOQC__QMUX_PING_RESPONSE:
    moqc__put_varint(w, f->sequence);
    break;
  default:
    break;
  }
}

/* Returns true when format fmt can carry f. */
static bool qmux_encodable(moqc__qmux_format fmt, const moqc__qmux_frame *f) {
  uint64_t t = f->type;

  if (fmt == MOQC__QMUX_WEBTRANSPORT) {
    if (t == 0x08 && f->len == 0) {
      return false; /* empty and no FIN */
    }
    return t == 0x08 || t == 0x09 || t == MOQC__QMUX_RESET_STREAM ||
           t == MOQC__QMUX_STOP_SENDING || t == MOQC__QMUX_CONNECTION_CLOSE ||
           t == MOQC__QMUX_APPLICATION_CLOSE;
  }
  if (fmt < MOQC__QMUX_00 || fmt > MOQC__QMUX_02) {
    return false;
  }
  if (t >= 0x08 && t <= 0x0f) {
    if (f->len == 0 && (t & MOQC__QMUX_STREAM_FIN) == 0) {
      return false;
    }
    return f->offset <= MOQC_VARINT_MAX - f->len;
  }
  switch (t) {
  case MOQC__QMUX_PADDING:
  case MOQC__QMUX_RESET_STREAM:
  case MOQC__QMUX_STOP_SENDING:
  case MOQC__QMUX_MAX_DATA:
  case MOQC__QMUX_MAX_STREAM_DATA:
  case MOQC__QMUX_DATA_BLOCKED:
  case MOQC__QMUX_STREAM_DATA_BLOCKED:
  case MOQC__QMUX_CONNECTION_CLOSE:
  case MOQC__QMUX_APPLICATION_CLOSE:
  case MOQC__QMUX_TRANSPORT_PARAMETERS:
    return true;
  case MOQC__QMUX_MAX_STREAMS_BIDI:
  case MOQC__QMUX_MAX_STREAMS_UNI:
  case MOQC__QMUX_STREAMS_BLOCKED_BIDI:
  case MOQC__QMUX_STREAMS_BLOCKED_UNI:
    return f->max <= MOQC__QMUX_MAX_STREAMS_LIMIT;
  case MOQC__QMUX_RESET_STREAM_AT:
    return fmt >= MOQC__QMUX_02 && f->reliable_size <= f->final_size;
  case MOQC__QMUX_DATAGRAM:
  case MOQC__QMUX_DATAGRAM_LEN:
  case MOQC__QMUX_PING_REQUEST:
  case MOQC__QMUX_PING_RESPONSE:
    return fmt >= MOQC__QMUX_01;
  default:
    return false;
  }
}

void moqc__qmux_frame_encode(moqc__writer *w, moqc__qmux_format fmt,
                             const moqc__qmux_frame *f) {
  if (w->err != 0) {
    return;
  }
  if (!qmux_encodable(fmt, f)) {
    w->err = MOQC_ERR_INVALID_ARGUMENT;
    return;
  }
  if (fmt == MOQC__QMUX_WEBTRANSPORT) {
    moqc__put_u8(w, (uint8_t)f->type);
    switch (f->type) {
    case 0x08:
    case 0x09:
      moqc__put_varint(w, f->stream_id);
      moqc__put_raw(w, f->data, f->len);
      break;
    case MOQC__QMUX_RESET_STREAM:
    case MOQC__QMUX_STOP_SENDING:
      moqc__put_varint(w, f->stream_id);
      moqc__put_varint(w, f->code);
      break;
    default: /* the two closes */
      moqc__put_varint(w, f->code);
      moqc__put_raw(w, f->data, f->len);
      break;
    }
    return;
  }
  moqc__put_varint(w, f->type);
  qmux_encode_body(w, fmt, f);
}

size_t moqc__qmux_frame_size(moqc__qmux_format fmt, const moqc__qmux_frame *f) {
  /* Encode into a null writer of unbounded capacity: count only. */
  size_t n = 0;
  uint64_t t = f->type;

  if (!qmux_encodable(fmt, f)) {
    return 0;
  }
  if (fmt == MOQC__QMUX_WEBTRANSPORT) {
    n = 1;
    if (t == 0x08 || t == 0x09) {
      return n + moqc__varint_len(f->stream_id) + f->len;
    }
    if (t == MOQC__QMUX_RESET_STREAM || t == MOQC__QMUX_STOP_SENDING) {
      return n + moqc__varint_len(f->stream_id) + moqc__varint_len(f->code);
    }
    return n + moqc__varint_len(f->code) + f->len;
  }
  n = moqc__varint_len(t);
  if (t >= 0x08 && t <= 0x0f) {
    n += moqc__varint_len(f->stream_id);
    if ((t & MOQC__QMUX_STREAM_OFF) != 0) {
      n += moqc__varint_len(f->offset);
    }
    if ((t & MOQC__QMUX_STREAM_LEN) != 0) {
      n += moqc__varint_len(f->len);
    }
    return n + f->len;
  }
  switch (t) {
  case MOQC__QMUX_PADDING:
    return n;
  case MOQC__QMUX_RESET_STREAM:
    return n + moqc__varint_len(f->stream_id) + moqc__varint_len(f->code) +
           moqc__varint_len(f->final_size);
  case MOQC__QMUX_RESET_STREAM_AT:
    return n + moqc__varint_len(f->stream_id) + moqc__varint_len(f->code) +
           moqc__varint_len(f->final_size) + moqc__varint_len(f->reliable_size);
  case MOQC__QMUX_STOP_SENDING:
    return n + moqc__varint_len(f->stream_id) + moqc__varint_len(f->code);
  case MOQC__QMUX_MAX_STREAM_DATA:
  case MOQC__QMUX_STREAM_DATA_BLOCKED:
    return n + moqc__varint_len(f->stream_id) + moqc__varint_len(f->max);
  case MOQC__QMUX_CONNECTION_CLOSE:
    return n + moqc__varint_len(f->code) + moqc__varint_len(f->frame_type) +
           moqc__varint_len(f->len) + f->len;
  case MOQC__QMUX_APPLICATION_CLOSE:
    if (f->close_quirk && fmt == MOQC__QMUX_00) {
      n += moqc__varint_len(f->frame_type);
    }
    return n + moqc__varint_len(f->code) + moqc__varint_len(f->len) + f->len;
  case MOQC__QMUX_DATAGRAM:
    return n + f->len;
  case MOQC__QMUX_DATAGRAM_LEN:
  case MOQC__QMUX_TRANSPORT_PARAMETERS:
    return n + moqc__varint_len(f->len) + f->len;
  case MOQC__QMUX_PING_REQUEST:
  case MOQC__QMUX_PING_RESPONSE:
    return n + moqc__varint_len(f->sequence);
  default: /* MAX_DATA, DATA_BLOCKED, MAX_STREAMS_*, STREAMS_BLOCKED_* */
    return n + moqc__varint_len(f->max);
  }
}

void moqc__qmux_put_stream(moqc__writer *w, moqc__qmux_format fmt, uint64_t stream_id,
                           uint64_t offset, const uint8_t *data, size_t len, bool fin) {
  moqc__qmux_frame f;

  memset(&f, 0, sizeof(f));
  if (fmt == MOQC__QMUX_WEBTRANSPORT) {
    f.type = fin ? 0x09U : 0x08U;
  } else {
    f.type = MOQC__QMUX_STREAM | MOQC__QMUX_STREAM_OFF | MOQC__QMUX_STREAM_LEN |
             (fin ? MOQC__QMUX_STREAM_FIN : 0U);
  }
  f.stream_id = stream_id;
  f.offset = offset;
  f.data = data;
  f.len = len;
  f.fin = fin;
  moqc__qmux_frame_encode(w, fmt, &f);
}

int moqc__qmux_record_size_decode(const uint8_t **p, const uint8_t *end,
                                  uint64_t max_record_size, uint64_t *size) {
  return moqc__get_varint_max(p, end, max_record_size, size);
}

/* ---- transport parameters ---- */

void moqc__qmux_params_default(moqc__qmux_params *out, moqc__qmux_format fmt) {
  memset(out, 0, sizeof(*out));
  out->max_idle_timeout = 30000;
  out->initial_max_data = 1048576;
  out->initial_max_stream_data_bidi_local = 262144;
  out->initial_max_stream_data_bidi_remote = 262144;
  out->initial_max_stream_data_uni = 262144;
  out->initial_max_streams_bidi = 100;
  out->initial_max_streams_uni = 100;
  out->max_datagram_frame_size = fmt >= MOQC__QMUX_01 ? MOQC__QMUX_RECORD_SIZE_MIN : 0;
  out->max_record_size = MOQC__QMUX_RECORD_SIZE_MIN;
  out->reset_stream_at = fmt >= MOQC__QMUX_02;
}

uint64_t moqc__qmux_params_record_size(const moqc__qmux_params *prm) {
  return prm->max_record_size == 0 ? MOQC__QMUX_RECORD_SIZE_MIN : prm->max_record_size;
}

/* Bit index of a known parameter id in the "seen" mask, or -1. */
static int qmux_param_bit(uint64_t id) {
  switch (id) {
  case MOQC__QMUX_TP_MAX_IDLE_TIMEOUT:
    return 0;
  case MOQC__QMUX_TP_INITIAL_MAX_DATA:
  case MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL:
  case MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
  case MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_UNI:
  case MOQC__QMUX_TP_INITIAL_MAX_STREAMS_BIDI:
  case MOQC__QMUX_TP_INITIAL_MAX_STREAMS_UNI:
    return (int)id - 3; /* 1..6 */
  case MOQC__QMUX_TP_MAX_DATAGRAM_FRAME_SIZE:
    return 7;
  case MOQC__QMUX_TP_MAX_RECORD_SIZE:
    return 8;
  case MOQC__QMUX_TP_RESET_STREAM_AT:
    return 9;
  case MOQC__QMUX_TP_APPLICATION_PROTOCOLS:
    return 10;
  default:
    return -1;
  }
}

/* Checks an application_protocols value: a list of varint-length-prefixed non-empty names. */
static bool qmux_alpn_list_valid(const uint8_t *v, size_t len) {
  const uint8_t *p = v, *end = v + len;

  while (p < end) {
    moqc_str name;
    if (moqc__get_lbytes(&p, end, 255, &name) != 0 || name.len == 0) {
      return false;
    }
  }
  return true;
}

int moqc__qmux_params_decode(const uint8_t *body, size_t len, moqc__qmux_params *out) {
  const uint8_t *p = body, *end = body + len;
  moqc__qmux_params prm;
  uint32_t seen = 0;

  memset(&prm, 0, sizeof(prm));
  while (p < end) {
    uint64_t id, vlen, v = 0;
    const uint8_t *val, *q;
    int bit;

    if (moqc__get_varint(&p, end, &id) != 0 || moqc__get_varint(&p, end, &vlen) != 0 ||
        vlen > (uint64_t)(end - p)) {
      return MOQC_ERR_MALFORMED;
    }
    val = p;
    p += vlen;
    if (id == 0x00 || id == 0x02 || id == 0x03 || (id >= 0x0a && id <= 0x10)) {
      return MOQC_ERR_MALFORMED;
    }
    bit = qmux_param_bit(id);
    if (bit < 0) {
      continue; /* unknown: skipped */
    }
    if ((seen & (1U << bit)) != 0) {
      return MOQC_ERR_MALFORMED;
    }
    seen |= 1U << bit;
    if (id == MOQC__QMUX_TP_RESET_STREAM_AT) {
      if (vlen != 0) {
        return MOQC_ERR_MALFORMED;
      }
      prm.reset_stream_at = true;
      continue;
    }
    if (id == MOQC__QMUX_TP_APPLICATION_PROTOCOLS) {
      if (!qmux_alpn_list_valid(val, (size_t)vlen)) {
        return MOQC_ERR_MALFORMED;
      }
      prm.application_protocols.ptr = (const char *)val;
      prm.application_protocols.len = (size_t)vlen;
      continue;
    }
    q = val;
    if (moqc__get_varint(&q, val + vlen, &v) != 0 || q != val + vlen) {
      return MOQC_ERR_MALFORMED;
    }
    switch (id) {
    case MOQC__QMUX_TP_MAX_IDLE_TIMEOUT:
      prm.max_idle_timeout = v;
      break;
    case MOQC__QMUX_TP_INITIAL_MAX_DATA:
      prm.initial_max_data = v;
      break;
    case MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL:
      prm.initial_max_stream_data_bidi_local = v;
      break;
    case MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE:
      prm.initial_max_stream_data_bidi_remote = v;
      break;
    case MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_UNI:
      prm.initial_max_stream_data_uni = v;
      break;
    case MOQC__QMUX_TP_INITIAL_MAX_STREAMS_BIDI:
    case MOQC__QMUX_TP_INITIAL_MAX_STREAMS_UNI:
      if (v > MOQC__QMUX_MAX_STREAMS_LIMIT) {
        return MOQC_ERR_MALFORMED;
      }
      if (id == MOQC__QMUX_TP_INITIAL_MAX_STREAMS_BIDI) {
        prm.initial_max_streams_bidi = v;
      } else {
        prm.initial_max_streams_uni = v;
      }
      break;
    case MOQC__QMUX_TP_MAX_DATAGRAM_FRAME_SIZE:
      prm.max_datagram_frame_size = v;
      break;
    default: /* MOQC__QMUX_TP_MAX_RECORD_SIZE */
      if (v < MOQC__QMUX_RECORD_SIZE_MIN) {
        return MOQC_ERR_MALFORMED;
      }
      prm.max_record_size = v;
      break;
    }
  }
  *out = prm;
  return 0;
}

/* Writes one varint-valued parameter unless it is 0. */
static void qmux_put_param(moqc__writer *w, uint64_t id, uint64_t v) {
  if (v == 0) {
    return;
  }
  moqc__put_varint(w, id);
  moqc__put_varint(w, moqc__varint_len(v));
  moqc__put_varint(w, v);
}

/* Writes the parameter list (body only). */
static void qmux_put_params(moqc__writer *w, const moqc__qmux_params *prm) {
  qmux_put_param(w, MOQC__QMUX_TP_MAX_IDLE_TIMEOUT, prm->max_idle_timeout);
  qmux_put_param(w, MOQC__QMUX_TP_INITIAL_MAX_DATA, prm->initial_max_data);
  qmux_put_param(w, MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
                 prm->initial_max_stream_data_bidi_local);
  qmux_put_param(w, MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
                 prm->initial_max_stream_data_bidi_remote);
  qmux_put_param(w, MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_UNI,
                 prm->initial_max_stream_data_uni);
  qmux_put_param(w, MOQC__QMUX_TP_INITIAL_MAX_STREAMS_BIDI, prm->initial_max_streams_bidi);
  qmux_put_param(w, MOQC__QMUX_TP_INITIAL_MAX_STREAMS_UNI, prm->initial_max_streams_uni);
  qmux_put_param(w, MOQC__QMUX_TP_MAX_DATAGRAM_FRAME_SIZE, prm->max_datagram_frame_size);
  qmux_put_param(w, MOQC__QMUX_TP_MAX_RECORD_SIZE, prm->max_record_size);
  if (prm->reset_stream_at) {
    moqc__put_varint(w, MOQC__QMUX_TP_RESET_STREAM_AT);
    moqc__put_varint(w, 0);
  }
  if (prm->application_protocols.len > 0) {
    moqc__put_varint(w, MOQC__QMUX_TP_APPLICATION_PROTOCOLS);
    moqc__put_lbytes(w, prm->application_protocols.ptr, prm->application_protocols.len);
  }
}

/* Size of one varint-valued parameter as qmux_put_param writes it. */
static size_t qmux_param_size(uint64_t id, uint64_t v) {
  if (v == 0) {
    return 0;
  }
  return moqc__varint_len(id) + 1 + moqc__varint_len(v);
}

void moqc__qmux_params_encode(moqc__writer *w, const moqc__qmux_params *prm) {
  size_t body = qmux_param_size(MOQC__QMUX_TP_MAX_IDLE_TIMEOUT, prm->max_idle_timeout) +
                qmux_param_size(MOQC__QMUX_TP_INITIAL_MAX_DATA, prm->initial_max_data) +
                qmux_param_size(MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
                                prm->initial_max_stream_data_bidi_local) +
                qmux_param_size(MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
                                prm->initial_max_stream_data_bidi_remote) +
                qmux_param_size(MOQC__QMUX_TP_INITIAL_MAX_STREAM_DATA_UNI,
                                prm->initial_max_stream_data_uni) +
                qmux_param_size(MOQC__QMUX_TP_INITIAL_MAX_STREAMS_BIDI,
                                prm->initial_max_streams_bidi) +
                qmux_param_size(MOQC__QMUX_TP_INITIAL_MAX_STREAMS_UNI,
                                prm->initial_max_streams_uni) +
                qmux_param_size(MOQC__QMUX_TP_MAX_DATAGRAM_FRAME_SIZE,
                                prm->max_datagram_frame_size) +
                qmux_param_size(MOQC__QMUX_TP_MAX_RECORD_SIZE, prm->max_record_size);

  if (prm->reset_stream_at) {
    body += 2;
  }
  if (prm->application_protocols.len > 0) {
    body += moqc__varint_len(MOQC__QMUX_TP_APPLICATION_PROTOCOLS) +
            moqc__varint_len(prm->application_protocols.len) + prm->application_protocols.len;
  }
  moqc__put_varint(w, MOQC__QMUX_TRANSPORT_PARAMETERS);
  moqc__put_varint(w, body);
  qmux_put_params(w, prm);
}

/* ---- subprotocol selection ---- */

static const moqc_str qmux_str_empty = {"", 0};

const moqc_str moqc__qmux_default_alpns[4] = {
    {"moq-lite-05", 11}, {"moq-lite-04", 11}, {"moq-lite-03", 11}, {"moql", 4}};

#define QMUX_MAX_TOKENS 64

/* The prefixed tokens the server accepts, in its preference order per ALPN. */
static const struct {
  moqc__qmux_format format;
  const char *prefix;
} qmux_prefixes[3] = {
    {MOQC__QMUX_01, "qmux-01."}, {MOQC__QMUX_00, "qmux-00."}, {MOQC__QMUX_02, "qmux-02."}};

/* Static protocol strings for the prefixed forms, so out->protocol outlives the input. */
static const char *const qmux_pairs[3][4] = {
    {"qmux-01.moq-lite-05", "qmux-01.moq-lite-04", "qmux-01.moq-lite-03", "qmux-01.moql"},
    {"qmux-00.moq-lite-05", "qmux-00.moq-lite-04", "qmux-00.moq-lite-03", "qmux-00.moql"},
    {"qmux-02.moq-lite-05", "qmux-02.moq-lite-04", "qmux-02.moq-lite-03", "qmux-02.moql"}};

static const struct {
  moqc__qmux_format format;
  const char *token;
} qmux_bare[4] = {{MOQC__QMUX_02, "qmux-02"},
                  {MOQC__QMUX_01, "qmux-01"},
                  {MOQC__QMUX_00, "qmux-00"},
                  {MOQC__QMUX_WEBTRANSPORT, "webtransport"}};

/* RFC 9110 tchar. */
static bool qmux_is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool qmux_str_is(moqc_str s, const char *c) {
  size_t n = strlen(c);
  return s.len == n && memcmp(s.ptr, c, n) == 0;
}

/* Splits the header values into tokens. Returns the count or MOQC_ERR_MALFORMED. */
static int qmux_split_tokens(const moqc_str *values, size_t n, moqc_str *tokens) {
  size_t count = 0;

  for (size_t i = 0; i < n; i++) {
    const char *s = values[i].ptr, *end = values[i].ptr + values[i].len;
    /* An empty or all-whitespace value offers nothing. */
    while (s < end) {
      const char *t;
      while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
      }
      if (s == end) {
        break;
      }
      t = s;
      while (s < end && qmux_is_tchar(*s)) {
        s++;
      }
      if (s == t) {
        return MOQC_ERR_MALFORMED;
      }
      if (count == QMUX_MAX_TOKENS) {
        return MOQC_ERR_MALFORMED;
      }
      tokens[count].ptr = t;
      tokens[count].len = (size_t)(s - t);
      count++;
      while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
      }
      if (s < end) {
        if (*s != ',') {
          return MOQC_ERR_MALFORMED;
        }
        s++;
        /* A trailing comma with nothing after it is tolerated. */
      }
    }
  }
  return (int)count;
}

static bool qmux_offered(const moqc_str *tokens, size_t n, const char *want) {
  for (size_t i = 0; i < n; i++) {
    if (qmux_str_is(tokens[i], want)) {
      return true;
    }
  }
  return false;
}

int moqc__qmux_select_protocol(const moqc_str *values, size_t n, const moqc_str *alpns,
                               size_t n_alpns, moqc__qmux_choice *out) {
  moqc_str tokens[QMUX_MAX_TOKENS];
  int count = qmux_split_tokens(values, n, tokens);

  if (count < 0) {
    return count;
  }
  if (count == 0) {
    out->format = MOQC__QMUX_WEBTRANSPORT;
    out->alpn = qmux_str_empty;
    out->protocol = qmux_str_empty;
    return 0;
  }
  if (alpns == NULL) {
    alpns = moqc__qmux_default_alpns;
    n_alpns = 4;
  }
  for (size_t a = 0; a < n_alpns; a++) {
    size_t k;
    for (k = 0; k < 4; k++) {
      if (moqc_str_eq(alpns[a], moqc__qmux_default_alpns[k])) {
        break;
      }
    }
    if (k == 4) {
      continue; /* not an ALPN moqc speaks */
    }
    for (size_t f = 0; f < 3; f++) {
      const char *pair = qmux_pairs[f][k];
      if (qmux_offered(tokens, (size_t)count, pair)) {
        out->format = qmux_prefixes[f].format;
        out->alpn = moqc__qmux_default_alpns[k];
        out->protocol = moqc_str_c(pair);
        return 0;
      }
    }
  }
  for (size_t b = 0; b < 4; b++) {
    if (qmux_offered(tokens, (size_t)count, qmux_bare[b].token)) {
      out->format = qmux_bare[b].format;
      out->alpn = qmux_str_empty;
      out->protocol = moqc_str_c(qmux_bare[b].token);
      return 0;
    }
  }
  return MOQC_ERR_NOT_FOUND;
}

int moqc__qmux_parse_protocol(moqc_str token, moqc__qmux_choice *out) {
  if (token.len == 0) {
    out->format = MOQC__QMUX_WEBTRANSPORT;
    out->alpn = qmux_str_empty;
    out->protocol = qmux_str_empty;
    return 0;
  }
  for (size_t b = 0; b < 4; b++) {
    if (qmux_str_is(token, qmux_bare[b].token)) {
      out->format = qmux_bare[b].format;
      out->alpn = qmux_str_empty;
      out->protocol = token;
      return 0;
    }
  }
  for (size_t f = 0; f < 3; f++) {
    size_t plen = strlen(qmux_prefixes[f].prefix);
    if (token.len > plen && memcmp(token.ptr, qmux_prefixes[f].prefix, plen) == 0) {
      out->format = qmux_prefixes[f].format;
      out->alpn.ptr = token.ptr + plen;
      out->alpn.len = token.len - plen;
      out->protocol = token;
      return 0;
    }
  }
  return MOQC_ERR_NOT_FOUND;
}
