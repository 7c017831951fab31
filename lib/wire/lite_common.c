/*
 * moq-lite: versions, ALPN and subprotocol names, stream types, message framing
 * and the shared field readers/writers (spec/moq-lite-wire.md 1.3, 2, 3, 4.1).
 */
#include "wire/lite_int.h"

#include <string.h>

/* ---- versions and names */

bool moqc__lite_version_valid(moqc_lite_version v) {
  return v >= MOQC_LITE_01 && v <= MOQC_LITE_05;
}

bool moqc__lite_since(moqc_lite_version v, moqc_lite_version min) {
  return moqc__lite_version_valid(v) && v >= min;
}

uint64_t moqc__lite_version_code(moqc_lite_version v) {
  if (!moqc__lite_version_valid(v)) {
    return 0;
  }
  return MOQC_LITE_CODE_01 + (uint64_t)(v - MOQC_LITE_01);
}

moqc_lite_version moqc__lite_version_from_code(uint64_t c) {
  if (c >= MOQC_LITE_CODE_01 && c <= MOQC_LITE_CODE_05) {
    return (moqc_lite_version)(MOQC_LITE_01 + (int)(c - MOQC_LITE_CODE_01));
  }
  return MOQC_LITE_NONE;
}

const char *moqc__lite_version_alpn(moqc_lite_version v) {
  switch (v) {
  case MOQC_LITE_01:
  case MOQC_LITE_02:
    return MOQC_LITE_ALPN_LEGACY;
  case MOQC_LITE_03:
    return "moq-lite-03";
  case MOQC_LITE_04:
    return "moq-lite-04";
  case MOQC_LITE_05:
    return "moq-lite-05";
  default:
    return NULL;
  }
}

static bool lite_str_is(moqc_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

int moqc__lite_alpn_parse(moqc_str alpn, moqc_lite_version *out) {
  if (lite_str_is(alpn, MOQC_LITE_ALPN_LEGACY)) {
    *out = MOQC_LITE_NONE;
    return 0;
  }
  for (moqc_lite_version v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    if (lite_str_is(alpn, moqc__lite_version_alpn(v))) {
      *out = v;
      return 0;
    }
  }
  return MOQC_ERR_UNKNOWN_ALPN;
}

static const char *const lite_qmux_names[] = {"webtransport", "qmux-00",
                                              "qmux-01", "qmux-02"};

int moqc__lite_subprotocol_parse(moqc_str name, moqc__lite_subprotocol *out) {
  for (size_t i = 0; i < 4; i++) {
    const char *q = lite_qmux_names[i];
    size_t n = strlen(q);
    if (lite_str_is(name, q)) {
      out->qmux = (moqc_lite_qmux)i;
      out->version = MOQC_LITE_NONE;
      return 0;
    }
    if (i > 0 && name.len > n + 1 && memcmp(name.ptr, q, n) == 0 &&
        name.ptr[n] == '.') {
      moqc_str alpn = {name.ptr + n + 1, name.len - n - 1};
      moqc_lite_version v;
      if (moqc__lite_alpn_parse(alpn, &v) != 0) {
        return MOQC_ERR_UNKNOWN_ALPN;
      }
      out->qmux = (moqc_lite_qmux)i;
      out->version = v;
      return 0;
    }
  }
  return MOQC_ERR_UNKNOWN_ALPN;
}

moqc_ssize moqc__lite_subprotocol_format(char *buf, size_t cap,
                                         moqc_lite_qmux qmux,
                                         moqc_lite_version v) {
  const char *q, *alpn = "";
  size_t qn, an = 0, total;

  if ((unsigned)qmux > (unsigned)MOQC_LITE_QMUX_02) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  q = lite_qmux_names[qmux];
  qn = strlen(q);
  if (v != MOQC_LITE_NONE) {
    if (!moqc__lite_version_valid(v) || qmux == MOQC_LITE_QMUX_NONE) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    alpn = moqc__lite_version_alpn(v);
    an = strlen(alpn) + 1;
  }
  total = qn + an;
  if (cap < total) {
    return MOQC_ERR_NOBUF;
  }
  memcpy(buf, q, qn);
  if (an > 0) {
    buf[qn] = '.';
    memcpy(buf + qn + 1, alpn, an - 1);
  }
  return (moqc_ssize)total;
}

/* ---- stream types */

int moqc__lite_decode_stream_type(const uint8_t **p, const uint8_t *end,
                                  uint64_t *type) {
  return moqc__get_varint(p, end, type);
}

int moqc__lite_stream_type_check(moqc_lite_version v, bool bidi,
                                 uint64_t type) {
  bool ok = false;

  if (v == MOQC_LITE_NONE) {
    return bidi && type == MOQC_LITE_BIDI_LEGACY_SETUP
               ? 0
               : MOQC_ERR_UNEXPECTED_STREAM;
  }
  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_UNEXPECTED_STREAM;
  }
  if (bidi) {
    switch (type) {
    case MOQC_LITE_BIDI_ANNOUNCE:
    case MOQC_LITE_BIDI_SUBSCRIBE:
      ok = true;
      break;
    case MOQC_LITE_BIDI_FETCH:
    case MOQC_LITE_BIDI_TRACK:
      ok = v >= MOQC_LITE_05;
      break;
    case MOQC_LITE_BIDI_PROBE:
      ok = v >= MOQC_LITE_03;
      break;
    case MOQC_LITE_BIDI_GOAWAY:
      ok = v >= MOQC_LITE_04;
      break;
    default:
      break;
    }
  } else {
    ok = type == MOQC_LITE_UNI_GROUP ||
         (type == MOQC_LITE_UNI_SETUP && v >= MOQC_LITE_05);
  }
  return ok ? 0 : MOQC_ERR_UNEXPECTED_STREAM;
}

int moqc__lite_encode_stream_type(moqc__writer *w, uint64_t type) {
  uint8_t *start = w->p;
  moqc_ssize rv;

  moqc__put_varint(w, type);
  rv = moqc__writer_result(w);
  return rv < 0 ? moqc__lite_enc_fail(w, start, (int)rv) : 0;
}

/* ---- message framing */

int moqc__lite_message_size(const uint8_t *p, const uint8_t *end,
                            size_t *total) {
  const uint8_t *s = p;
  uint64_t len;
  int rv = moqc__get_varint_max(&s, end, MOQC_LITE_MAX_MESSAGE_LEN, &len);

  if (rv != 0) {
    return rv;
  }
  *total = (size_t)(s - p) + (size_t)len;
  return 0;
}

int moqc__lite_get_body(const uint8_t **p, const uint8_t *end,
                        const uint8_t **body, const uint8_t **body_end) {
  const uint8_t *s = *p;
  uint64_t len;
  int rv = moqc__get_varint_max(&s, end, MOQC_LITE_MAX_MESSAGE_LEN, &len);

  if (rv != 0) {
    return rv;
  }
  if ((uint64_t)(end - s) < len) {
    return MOQC_ERR_INCOMPLETE;
  }
  *body = s;
  *body_end = s + len;
  *p = s + len;
  return 0;
}

int moqc__lite_body_done(int rv, const uint8_t *q, const uint8_t *body_end) {
  if (rv == MOQC_ERR_INCOMPLETE) {
    return MOQC_ERR_MALFORMED;
  }
  if (rv != 0) {
    return rv;
  }
  return q == body_end ? 0 : MOQC_ERR_MALFORMED;
}

int moqc__lite_decode_msg(const uint8_t **p, const uint8_t *end,
                          moqc_lite_version v, moqc__lite_parse_fn parse,
                          void *out) {
  const uint8_t *s = *p, *q, *bend;
  int rv = moqc__lite_get_body(&s, end, &q, &bend);

  if (rv != 0) {
    return rv;
  }
  rv = parse(&q, bend, v, out);
  rv = moqc__lite_body_done(rv, q, bend);
  if (rv != 0) {
    return rv;
  }
  *p = s;
  return 0;
}

/* ---- field readers */

int moqc__lite_get_js(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  return moqc__get_varint_max(p, end, MOQC_JS_INT_MAX, out);
}

int moqc__lite_get_name(const uint8_t **p, const uint8_t *end, moqc_str *out) {
  return moqc__get_string(p, end, MOQC_LITE_MAX_STRING_LEN, out);
}

static bool lite_path_ok(moqc_str s) {
  return moqc_path_is_normalized(s) &&
         moqc_path_count_parts(s) <= MOQC_PATH_MAX_PARTS;
}

int moqc__lite_get_path(const uint8_t **p, const uint8_t *end, moqc_str *out) {
  const uint8_t *s = *p;
  moqc_str str;
  int rv = moqc__lite_get_name(&s, end, &str);

  if (rv != 0) {
    return rv;
  }
  if (!lite_path_ok(str)) {
    return MOQC_ERR_MALFORMED;
  }
  *out = str;
  *p = s;
  return 0;
}

int moqc__lite_get_optgroup(const uint8_t **p, const uint8_t *end, bool *has,
                            uint64_t *seq) {
  uint64_t v;
  int rv = moqc__lite_get_js(p, end, &v);

  if (rv != 0) {
    return rv;
  }
  *has = v != 0;
  *seq = v != 0 ? v - 1 : 0;
  return 0;
}

/* ---- field checks for encoders */

int moqc__lite_check_name(moqc_str s) {
  if (s.len > MOQC_LITE_MAX_STRING_LEN || (s.len > 0 && s.ptr == NULL) ||
      !moqc__utf8_valid((const uint8_t *)s.ptr, s.len)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return 0;
}

int moqc__lite_check_path(moqc_str s) {
  int rv = moqc__lite_check_name(s);

  if (rv != 0) {
    return rv;
  }
  return lite_path_ok(s) ? 0 : MOQC_ERR_INVALID_ARGUMENT;
}

int moqc__lite_check_js(uint64_t v) {
  return v <= MOQC_JS_INT_MAX ? 0 : MOQC_ERR_BOUNDS_EXCEEDED;
}

int moqc__lite_optgroup_value(bool has, uint64_t seq, uint64_t *out) {
  if (!has) {
    *out = 0;
    return 0;
  }
  if (seq >= MOQC_JS_INT_MAX) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  *out = seq + 1;
  return 0;
}

/* ---- message writer */

void moqc__lite_msg_begin(moqc__lite_msg *m, moqc__writer *w) {
  size_t room = (size_t)(w->end - w->p);

  m->w = w;
  m->start = w->p;
  /* Guess a 1-byte Length; msg_end slides the body if the Length needs more. */
  if (room > 0) {
    moqc__writer_init(&m->body, w->p + 1, room - 1);
  } else {
    moqc__writer_init(&m->body, w->p, 0);
  }
  if (w->err != 0) {
    m->body.err = w->err;
  }
}

int moqc__lite_msg_end(moqc__lite_msg *m) {
  moqc__writer *w = m->w;
  moqc_ssize res = moqc__writer_result(&m->body);
  size_t len, n, room;
  moqc__writer lw;

  if (res < 0) {
    return moqc__lite_enc_fail(w, m->start, (int)res);
  }
  len = (size_t)res;
  if ((uint64_t)len > MOQC_LITE_MAX_MESSAGE_LEN) {
    return moqc__lite_enc_fail(w, m->start, MOQC_ERR_BOUNDS_EXCEEDED);
  }
  n = moqc__varint_len(len);
  room = (size_t)(w->end - m->start);
  if (room < n + len) {
    return moqc__lite_enc_fail(w, m->start, MOQC_ERR_NOBUF);
  }
  if (n != 1 && len > 0) {
    memmove(m->start + n, m->start + 1, len);
  }
  moqc__writer_init(&lw, m->start, n);
  moqc__put_varint(&lw, len);
  w->p = m->start + n + len;
  return 0;
}

int moqc__lite_enc_fail(moqc__writer *w, uint8_t *start, int rv) {
  w->p = start;
  if (rv == MOQC_ERR_NOBUF && w->err == 0) {
    w->err = MOQC_ERR_NOBUF;
  }
  return rv;
}
