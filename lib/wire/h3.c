/*
 * HTTP/3 frames, settings, capsules, WebTransport stream headers and datagrams (see h3.h).
 */
#include "wire/h3.h"

#include <string.h>

/* The largest quarter stream id: stream ids stop at 2^62 - 1. */
#define H3_QUARTER_ID_MAX (MOQC_VARINT_MAX / 4)

bool moqc__h3_frame_is_h2_only(uint64_t type) {
  return type == 0x02 || type == 0x06 || type == 0x08 || type == 0x09;
}

bool moqc__h3_is_grease(uint64_t v) { return v >= 0x21 && (v - 0x21) % 0x1f == 0; }

int moqc__h3_frame_header_decode(const uint8_t **p, const uint8_t *end,
                                 moqc__h3_frame_header *out) {
  const uint8_t *s = *p;
  moqc__h3_frame_header h;
  int rv;

  if ((rv = moqc__get_varint(&s, end, &h.type)) != 0 ||
      (rv = moqc__get_varint(&s, end, &h.length)) != 0) {
    return rv;
  }
  *out = h;
  *p = s;
  return 0;
}

int moqc__h3_frame_decode(const uint8_t **p, const uint8_t *end, uint64_t max_len,
                          moqc__h3_frame *out) {
  const uint8_t *s = *p;
  moqc__h3_frame_header h;
  const uint8_t *payload;
  int rv = moqc__h3_frame_header_decode(&s, end, &h);

  if (rv != 0) {
    return rv;
  }
  if (h.length > max_len) {
    return MOQC_ERR_MALFORMED;
  }
  rv = moqc__get_raw(&s, end, (size_t)h.length, &payload);
  if (rv != 0) {
    return rv;
  }
  out->type = h.type;
  out->payload = payload;
  out->len = (size_t)h.length;
  *p = s;
  return 0;
}

void moqc__h3_put_frame_header(moqc__writer *w, uint64_t type, uint64_t length) {
  moqc__put_varint(w, type);
  moqc__put_varint(w, length);
}

void moqc__h3_put_frame(moqc__writer *w, uint64_t type, const void *payload, size_t len) {
  moqc__h3_put_frame_header(w, type, len);
  moqc__put_raw(w, payload, len);
}

void moqc__h3_settings_server(moqc__h3_settings *out, uint64_t max_sessions) {
  memset(out, 0, sizeof(*out));
  out->enable_connect_protocol = true;
  out->h3_datagram = true;
  out->h3_datagram_draft04 = true;
  out->enable_webtransport = true;
  out->webtransport_max_sessions = max_sessions;
  out->webtransport_max_sessions_draft02 = max_sessions;
}

/* Bit of a known setting in the "seen" mask, or -1. */
static int h3_setting_bit(uint64_t id) {
  switch (id) {
  case MOQC__H3_SETTING_QPACK_MAX_TABLE_CAPACITY: return 0;
  case MOQC__H3_SETTING_MAX_FIELD_SECTION_SIZE: return 1;
  case MOQC__H3_SETTING_QPACK_BLOCKED_STREAMS: return 2;
  case MOQC__H3_SETTING_ENABLE_CONNECT_PROTOCOL: return 3;
  case MOQC__H3_SETTING_H3_DATAGRAM: return 4;
  case MOQC__H3_SETTING_H3_DATAGRAM_DRAFT04: return 5;
  case MOQC__H3_SETTING_ENABLE_WEBTRANSPORT: return 6;
  case MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS_DRAFT02: return 7;
  case MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS: return 8;
  case MOQC__H3_SETTING_WT_MAX_SESSIONS_DRAFT13: return 9;
  case MOQC__H3_SETTING_WT_ENABLED: return 10;
  default: return -1;
  }
}

int moqc__h3_settings_decode(const uint8_t *payload, size_t len, moqc__h3_settings *out) {
  const uint8_t *p = payload, *end = payload + len;
  moqc__h3_settings s;
  uint32_t seen = 0;

  memset(&s, 0, sizeof(s));
  while (p < end) {
    uint64_t id, v;
    int bit;
    bool flag;
    if (moqc__get_varint(&p, end, &id) != 0 || moqc__get_varint(&p, end, &v) != 0) {
      return MOQC_ERR_MALFORMED;
    }
    if (id >= 0x02 && id <= 0x05) {
      return MOQC_ERR_MALFORMED; /* HTTP/2 settings */
    }
    bit = h3_setting_bit(id);
    if (bit < 0) {
      continue;
    }
    if ((seen & (1U << bit)) != 0) {
      return MOQC_ERR_MALFORMED;
    }
    seen |= 1U << bit;
    flag = v == 1;
    switch (id) {
    case MOQC__H3_SETTING_QPACK_MAX_TABLE_CAPACITY:
      s.qpack_max_table_capacity = v;
      continue;
    case MOQC__H3_SETTING_MAX_FIELD_SECTION_SIZE:
      s.max_field_section_size = v;
      continue;
    case MOQC__H3_SETTING_QPACK_BLOCKED_STREAMS:
      s.qpack_blocked_streams = v;
      continue;
    case MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS_DRAFT02:
      s.webtransport_max_sessions_draft02 = v;
      continue;
    case MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS:
      s.webtransport_max_sessions = v;
      continue;
    case MOQC__H3_SETTING_WT_MAX_SESSIONS_DRAFT13:
      s.wt_max_sessions_draft13 = v;
      continue;
    default:
      break;
    }
    /* The boolean settings. */
    if (v > 1) {
      return MOQC_ERR_MALFORMED;
    }
    switch (id) {
    case MOQC__H3_SETTING_ENABLE_CONNECT_PROTOCOL:
      s.enable_connect_protocol = flag;
      break;
    case MOQC__H3_SETTING_H3_DATAGRAM:
      s.h3_datagram = flag;
      break;
    case MOQC__H3_SETTING_H3_DATAGRAM_DRAFT04:
      s.h3_datagram_draft04 = flag;
      break;
    case MOQC__H3_SETTING_ENABLE_WEBTRANSPORT:
      s.enable_webtransport = flag;
      break;
    default: /* MOQC__H3_SETTING_WT_ENABLED */
      s.wt_enabled = flag;
      break;
    }
  }
  *out = s;
  return 0;
}

static size_t h3_setting_size(uint64_t id, uint64_t v) {
  return v == 0 ? 0 : moqc__varint_len(id) + moqc__varint_len(v);
}

static void h3_put_setting(moqc__writer *w, uint64_t id, uint64_t v) {
  if (v != 0) {
    moqc__put_varint(w, id);
    moqc__put_varint(w, v);
  }
}

void moqc__h3_put_settings(moqc__writer *w, const moqc__h3_settings *s) {
  const struct {
    uint64_t id, v;
  } list[] = {
      {MOQC__H3_SETTING_QPACK_MAX_TABLE_CAPACITY, s->qpack_max_table_capacity},
      {MOQC__H3_SETTING_MAX_FIELD_SECTION_SIZE, s->max_field_section_size},
      {MOQC__H3_SETTING_QPACK_BLOCKED_STREAMS, s->qpack_blocked_streams},
      {MOQC__H3_SETTING_ENABLE_CONNECT_PROTOCOL, s->enable_connect_protocol},
      {MOQC__H3_SETTING_H3_DATAGRAM, s->h3_datagram},
      {MOQC__H3_SETTING_H3_DATAGRAM_DRAFT04, s->h3_datagram_draft04},
      {MOQC__H3_SETTING_ENABLE_WEBTRANSPORT, s->enable_webtransport},
      {MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS_DRAFT02, s->webtransport_max_sessions_draft02},
      {MOQC__H3_SETTING_WEBTRANSPORT_MAX_SESSIONS, s->webtransport_max_sessions},
      {MOQC__H3_SETTING_WT_MAX_SESSIONS_DRAFT13, s->wt_max_sessions_draft13},
      {MOQC__H3_SETTING_WT_ENABLED, s->wt_enabled},
  };
  size_t len = 0;

  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
    len += h3_setting_size(list[i].id, list[i].v);
  }
  moqc__h3_put_frame_header(w, MOQC__H3_SETTINGS, len);
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
    h3_put_setting(w, list[i].id, list[i].v);
  }
}

int moqc__h3_id_payload_decode(const uint8_t *payload, size_t len, uint64_t *id) {
  const uint8_t *p = payload;
  uint64_t v;

  if (moqc__get_varint(&p, payload + len, &v) != 0 || p != payload + len) {
    return MOQC_ERR_MALFORMED;
  }
  *id = v;
  return 0;
}

void moqc__h3_put_goaway(moqc__writer *w, uint64_t id) {
  moqc__h3_put_frame_header(w, MOQC__H3_GOAWAY, moqc__varint_len(id));
  moqc__put_varint(w, id);
}

int moqc__h3_uni_stream_decode(const uint8_t **p, const uint8_t *end, uint64_t *type,
                               uint64_t *session_id) {
  const uint8_t *s = *p;
  uint64_t t, sid = 0;
  int rv = moqc__get_varint(&s, end, &t);

  if (rv != 0) {
    return rv;
  }
  if (t == MOQC__H3_STREAM_WT_UNI) {
    rv = moqc__get_varint(&s, end, &sid);
    if (rv != 0) {
      return rv;
    }
  }
  *type = t;
  *session_id = sid;
  *p = s;
  return 0;
}

int moqc__h3_bidi_stream_decode(const uint8_t **p, const uint8_t *end, bool *is_wt,
                                uint64_t *session_id) {
  const uint8_t *s = *p;
  uint64_t t, sid;
  int rv = moqc__get_varint(&s, end, &t);

  if (rv != 0) {
    return rv;
  }
  if (t != MOQC__H3_STREAM_WT_BIDI) {
    *is_wt = false;
    *session_id = 0;
    return 0;
  }
  rv = moqc__get_varint(&s, end, &sid);
  if (rv != 0) {
    return rv;
  }
  *is_wt = true;
  *session_id = sid;
  *p = s;
  return 0;
}

void moqc__h3_put_wt_uni_header(moqc__writer *w, uint64_t session_id) {
  moqc__put_varint(w, MOQC__H3_STREAM_WT_UNI);
  moqc__put_varint(w, session_id);
}

void moqc__h3_put_wt_bidi_header(moqc__writer *w, uint64_t session_id) {
  moqc__put_varint(w, MOQC__H3_STREAM_WT_BIDI);
  moqc__put_varint(w, session_id);
}

int moqc__h3_datagram_decode(const uint8_t **p, const uint8_t *end, uint64_t *session_id,
                             const uint8_t **payload, size_t *len) {
  const uint8_t *s = *p;
  uint64_t q;
  int rv = moqc__get_varint_max(&s, end, H3_QUARTER_ID_MAX, &q);

  if (rv != 0) {
    return rv;
  }
  *session_id = q * 4;
  *payload = s;
  *len = (size_t)(end - s);
  *p = end;
  return 0;
}

void moqc__h3_put_datagram_header(moqc__writer *w, uint64_t session_id) {
  if (session_id % 4 != 0 || session_id > MOQC_VARINT_MAX) {
    if (w->err == 0) {
      w->err = MOQC_ERR_INVALID_ARGUMENT;
    }
    return;
  }
  moqc__put_varint(w, session_id / 4);
}

int moqc__h3_capsule_decode(const uint8_t **p, const uint8_t *end, uint64_t max_len,
                            moqc__h3_capsule *out) {
  const uint8_t *s = *p, *value;
  uint64_t type, len;
  int rv;

  if ((rv = moqc__get_varint(&s, end, &type)) != 0 ||
      (rv = moqc__get_varint(&s, end, &len)) != 0) {
    return rv;
  }
  if (len > max_len) {
    return MOQC_ERR_MALFORMED;
  }
  if ((rv = moqc__get_raw(&s, end, (size_t)len, &value)) != 0) {
    return rv;
  }
  out->type = type;
  out->value = value;
  out->len = (size_t)len;
  *p = s;
  return 0;
}

void moqc__h3_put_capsule(moqc__writer *w, uint64_t type, const void *value, size_t len) {
  moqc__put_varint(w, type);
  moqc__put_varint(w, len);
  moqc__put_raw(w, value, len);
}

int moqc__h3_wt_close_decode(const uint8_t *value, size_t len, uint32_t *code, moqc_str *reason) {
  const uint8_t *p = value;
  uint32_t c;

  if (len < 4 || len - 4 > MOQC__H3_WT_REASON_MAX) {
    return MOQC_ERR_MALFORMED;
  }
  (void)moqc__get_u32be(&p, value + len, &c);
  if (!moqc__utf8_valid(p, len - 4)) {
    return MOQC_ERR_MALFORMED;
  }
  *code = c;
  reason->ptr = (const char *)p;
  reason->len = len - 4;
  return 0;
}

void moqc__h3_put_wt_close(moqc__writer *w, uint32_t code, moqc_str reason) {
  if (reason.len > MOQC__H3_WT_REASON_MAX ||
      !moqc__utf8_valid((const uint8_t *)reason.ptr, reason.len)) {
    if (w->err == 0) {
      w->err = MOQC_ERR_INVALID_ARGUMENT;
    }
    return;
  }
  moqc__put_varint(w, MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION);
  moqc__put_varint(w, 4 + reason.len);
  moqc__put_u32be(w, code);
  moqc__put_raw(w, reason.ptr, reason.len);
}

void moqc__h3_put_wt_drain(moqc__writer *w) {
  moqc__put_varint(w, MOQC__H3_CAPSULE_DRAIN_WEBTRANSPORT_SESSION);
  moqc__put_varint(w, 0);
}

uint64_t moqc__h3_wt_error_to_wire(uint32_t code) {
  return MOQC__H3_WT_APP_ERROR_FIRST + code + code / 0x1e;
}

int moqc__h3_wt_error_from_wire(uint64_t wire, uint32_t *code) {
  uint64_t c;

  if (wire < MOQC__H3_WT_APP_ERROR_FIRST || wire > MOQC__H3_WT_APP_ERROR_LAST ||
      moqc__h3_is_grease(wire)) {
    return MOQC_ERR_NOT_FOUND;
  }
  c = wire - MOQC__H3_WT_APP_ERROR_FIRST;
  *code = (uint32_t)(c - c / 0x1f);
  return 0;
}

/* ---- QPACK response field sections (static table and literals only) ---- */

/* Size of a QPACK/HPACK prefixed integer with an n-bit prefix (RFC 7541 5.1). */
static size_t h3_qint_size(uint64_t v, unsigned n) {
  uint64_t max = ((uint64_t)1 << n) - 1;
  size_t len = 1;
  if (v < max) {
    return 1;
  }
  v -= max;
  while (v >= 128) {
    v >>= 7;
    len++;
  }
  return len + 1;
}

/* Writes a prefixed integer: the first byte carries pattern in its high bits. */
static void h3_put_qint(moqc__writer *w, uint8_t pattern, uint64_t v, unsigned n) {
  uint64_t max = ((uint64_t)1 << n) - 1;
  if (v < max) {
    moqc__put_u8(w, (uint8_t)(pattern | v));
    return;
  }
  moqc__put_u8(w, (uint8_t)(pattern | max));
  v -= max;
  while (v >= 128) {
    moqc__put_u8(w, (uint8_t)(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  moqc__put_u8(w, (uint8_t)v);
}

/* The static-table index of ":status: <status>" (RFC 9204 Appendix A), or -1. */
static int h3_status_index(int status) {
  static const struct {
    int status, index;
  } table[] = {{103, 24}, {200, 25}, {304, 26}, {404, 27}, {503, 28}, {100, 63}, {204, 64},
               {206, 65}, {302, 66}, {400, 67}, {403, 68}, {421, 69}, {425, 70}, {500, 71}};
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (table[i].status == status) {
      return table[i].index;
    }
  }
  return -1;
}

static bool h3_field_ok(const moqc__h3_field *f) {
  if (f->name.len == 0) {
    return false;
  }
  for (size_t i = 0; i < f->name.len; i++) {
    char c = f->name.ptr[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL))) {
      return false;
    }
  }
  for (size_t i = 0; i < f->value.len; i++) {
    char c = f->value.ptr[i];
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

void moqc__h3_put_response_headers(moqc__writer *w, int status, const moqc__h3_field *fields,
                                   size_t n) {
  int idx = h3_status_index(status);
  size_t len = 2;
  char code[3];

  if (w->err != 0) {
    return;
  }
  if (status < 100 || status > 999) {
    w->err = MOQC_ERR_INVALID_ARGUMENT;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!h3_field_ok(&fields[i])) {
      w->err = MOQC_ERR_INVALID_ARGUMENT;
      return;
    }
  }
  code[0] = (char)('0' + status / 100);
  code[1] = (char)('0' + status / 10 % 10);
  code[2] = (char)('0' + status % 10);
  /* Sizes first: the frame header carries the length. */
  if (idx >= 0) {
    len += h3_qint_size((uint64_t)idx, 6);
  } else {
    len += h3_qint_size(24, 4) + h3_qint_size(3, 7) + 3;
  }
  for (size_t i = 0; i < n; i++) {
    len += h3_qint_size(fields[i].name.len, 3) + fields[i].name.len +
           h3_qint_size(fields[i].value.len, 7) + fields[i].value.len;
  }
  moqc__h3_put_frame_header(w, MOQC__H3_HEADERS, len);
  /* Required Insert Count 0, Delta Base 0. */
  moqc__put_u8(w, 0);
  moqc__put_u8(w, 0);
  if (idx >= 0) {
    h3_put_qint(w, 0xc0, (uint64_t)idx, 6); /* indexed field line, static */
  } else {
    h3_put_qint(w, 0x50, 24, 4); /* literal with static name reference ":status" */
    h3_put_qint(w, 0x00, 3, 7);
    moqc__put_raw(w, code, 3);
  }
  for (size_t i = 0; i < n; i++) {
    h3_put_qint(w, 0x20, fields[i].name.len, 3); /* literal with literal name, no Huffman */
    moqc__put_raw(w, fields[i].name.ptr, fields[i].name.len);
    h3_put_qint(w, 0x00, fields[i].value.len, 7);
    moqc__put_raw(w, fields[i].value.ptr, fields[i].value.len);
  }
}
