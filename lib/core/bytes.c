/*
 * Byte readers and writers (see bytes.h for the contract).
 */
#include "core/bytes.h"

#include <string.h>

int moqc__get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  const uint8_t *s = *p;
  size_t n, i;
  uint64_t v;

  if (s >= end) {
    return MOQC_ERR_INCOMPLETE;
  }
  n = (size_t)1 << (s[0] >> 6);
  if ((size_t)(end - s) < n) {
    return MOQC_ERR_INCOMPLETE;
  }
  v = s[0] & 0x3f;
  for (i = 1; i < n; i++) {
    v = (v << 8) | s[i];
  }
  *out = v;
  *p = s + n;
  return 0;
}

int moqc__get_varint_max(const uint8_t **p, const uint8_t *end, uint64_t max,
                         uint64_t *out) {
  const uint8_t *s = *p;
  uint64_t v;
  int rv = moqc__get_varint(&s, end, &v);

  if (rv != 0) {
    return rv;
  }
  if (v > max) {
    return MOQC_ERR_MALFORMED;
  }
  *out = v;
  *p = s;
  return 0;
}

int moqc__get_u8(const uint8_t **p, const uint8_t *end, uint8_t *out) {
  if (*p >= end) {
    return MOQC_ERR_INCOMPLETE;
  }
  *out = **p;
  (*p)++;
  return 0;
}

int moqc__get_u16be(const uint8_t **p, const uint8_t *end, uint16_t *out) {
  const uint8_t *s = *p;

  if (end - s < 2) {
    return MOQC_ERR_INCOMPLETE;
  }
  *out = (uint16_t)((s[0] << 8) | s[1]);
  *p = s + 2;
  return 0;
}

int moqc__get_u32be(const uint8_t **p, const uint8_t *end, uint32_t *out) {
  const uint8_t *s = *p;

  if (end - s < 4) {
    return MOQC_ERR_INCOMPLETE;
  }
  *out = ((uint32_t)s[0] << 24) | ((uint32_t)s[1] << 16) |
         ((uint32_t)s[2] << 8) | s[3];
  *p = s + 4;
  return 0;
}

int moqc__get_bool(const uint8_t **p, const uint8_t *end, bool *out) {
  if (*p >= end) {
    return MOQC_ERR_INCOMPLETE;
  }
  if (**p > 1) {
    return MOQC_ERR_MALFORMED;
  }
  *out = **p == 1;
  (*p)++;
  return 0;
}

int moqc__get_raw(const uint8_t **p, const uint8_t *end, size_t n,
                  const uint8_t **out) {
  if ((size_t)(end - *p) < n) {
    return MOQC_ERR_INCOMPLETE;
  }
  *out = *p;
  *p += n;
  return 0;
}

int moqc__get_lbytes(const uint8_t **p, const uint8_t *end, size_t max,
                     moqc_str *out) {
  const uint8_t *s = *p, *data;
  uint64_t len;
  int rv = moqc__get_varint(&s, end, &len);

  if (rv != 0) {
    return rv;
  }
  if (len > max) {
    return MOQC_ERR_MALFORMED;
  }
  rv = moqc__get_raw(&s, end, (size_t)len, &data);
  if (rv != 0) {
    return rv;
  }
  out->ptr = (const char *)data;
  out->len = (size_t)len;
  *p = s;
  return 0;
}

int moqc__get_string(const uint8_t **p, const uint8_t *end, size_t max,
                     moqc_str *out) {
  const uint8_t *s = *p;
  moqc_str str;
  int rv = moqc__get_lbytes(&s, end, max, &str);

  if (rv != 0) {
    return rv;
  }
  if (!moqc__utf8_valid((const uint8_t *)str.ptr, str.len)) {
    return MOQC_ERR_MALFORMED;
  }
  *out = str;
  *p = s;
  return 0;
}

size_t moqc__varint_len(uint64_t v) {
  if (v < 64) {
    return 1;
  }
  if (v < 16384) {
    return 2;
  }
  if (v < 1073741824) {
    return 4;
  }
  if (v <= MOQC_VARINT_MAX) {
    return 8;
  }
  return 0;
}

bool moqc__utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;

  while (i < len) {
    uint8_t c = s[i];
    size_t n;
    uint32_t cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (len - i <= n) {
      return false;
    }
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

uint64_t moqc__zigzag_encode(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t moqc__zigzag_decode(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void moqc__writer_init(moqc__writer *w, uint8_t *buf, size_t cap) {
  w->begin = buf;
  w->p = buf;
  w->end = buf + cap;
  w->err = 0;
}

moqc_ssize moqc__writer_result(const moqc__writer *w) {
  if (w->err != 0) {
    return w->err;
  }
  return (moqc_ssize)(w->p - w->begin);
}

static bool writer_room(moqc__writer *w, size_t n) {
  if (w->err != 0) {
    return false;
  }
  if ((size_t)(w->end - w->p) < n) {
    w->err = MOQC_ERR_NOBUF;
    return false;
  }
  return true;
}

void moqc__put_varint_n(moqc__writer *w, uint64_t v, size_t len) {
  size_t i;
  uint8_t prefix;

  switch (len) {
  case 1:
    prefix = 0x00;
    break;
  case 2:
    prefix = 0x40;
    break;
  case 4:
    prefix = 0x80;
    break;
  case 8:
    prefix = 0xc0;
    break;
  default:
    if (w->err == 0) {
      w->err = MOQC_ERR_INVALID_ARGUMENT;
    }
    return;
  }
  if (len < 8 && v >= (1ULL << (8 * len - 2))) {
    if (w->err == 0) {
      w->err = MOQC_ERR_BOUNDS_EXCEEDED;
    }
    return;
  }
  if (v > MOQC_VARINT_MAX) {
    if (w->err == 0) {
      w->err = MOQC_ERR_BOUNDS_EXCEEDED;
    }
    return;
  }
  if (!writer_room(w, len)) {
    return;
  }
  for (i = 0; i < len; i++) {
    w->p[len - 1 - i] = (uint8_t)(v >> (8 * i));
  }
  w->p[0] |= prefix;
  w->p += len;
}

void moqc__put_varint(moqc__writer *w, uint64_t v) {
  size_t n = moqc__varint_len(v);

  if (n == 0) {
    if (w->err == 0) {
      w->err = MOQC_ERR_BOUNDS_EXCEEDED;
    }
    return;
  }
  moqc__put_varint_n(w, v, n);
}

void moqc__put_u8(moqc__writer *w, uint8_t v) {
  if (writer_room(w, 1)) {
    *w->p++ = v;
  }
}

void moqc__put_u16be(moqc__writer *w, uint16_t v) {
  if (writer_room(w, 2)) {
    w->p[0] = (uint8_t)(v >> 8);
    w->p[1] = (uint8_t)v;
    w->p += 2;
  }
}

void moqc__put_u32be(moqc__writer *w, uint32_t v) {
  if (writer_room(w, 4)) {
    w->p[0] = (uint8_t)(v >> 24);
    w->p[1] = (uint8_t)(v >> 16);
    w->p[2] = (uint8_t)(v >> 8);
    w->p[3] = (uint8_t)v;
    w->p += 4;
  }
}

void moqc__put_raw(moqc__writer *w, const void *data, size_t len) {
  if (len > 0 && writer_room(w, len)) {
    memcpy(w->p, data, len);
    w->p += len;
  }
}

void moqc__put_lbytes(moqc__writer *w, const void *data, size_t len) {
  moqc__put_varint(w, len);
  moqc__put_raw(w, data, len);
}
