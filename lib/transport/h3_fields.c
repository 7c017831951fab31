/*
 * HTTP/3 header sections for WebTransport (see h3_fields.h): nghttp3 QPACK
 * decoding into a bounded field set, the CONNECT request writer, and
 * structured-field protocol lists.
 */
#include "transport/h3_fields.h"

#include <string.h>

#include <nghttp3/nghttp3.h>

#include "wire/h3.h"

void moqc__h3_fieldset_init(moqc__h3_fieldset *fs, size_t max,
                            const moqc_mem *mem) {
  memset(fs, 0, sizeof(*fs));
  fs->mem = mem;
  fs->max = max;
}

void moqc__h3_fieldset_free(moqc__h3_fieldset *fs) {
  moqc_mem_free(fs->mem, fs->buf);
  fs->buf = NULL;
  fs->len = fs->cap = fs->n = 0;
}

moqc_str moqc__h3_fieldset_name(const moqc__h3_fieldset *fs, size_t i) {
  moqc_str s = {fs->buf + fs->f[i].name_off, fs->f[i].name_len};
  return s;
}

moqc_str moqc__h3_fieldset_value(const moqc__h3_fieldset *fs, size_t i) {
  moqc_str s = {fs->buf + fs->f[i].value_off, fs->f[i].value_len};
  return s;
}

bool moqc__h3_fieldset_get(const moqc__h3_fieldset *fs, const char *name,
                           moqc_str *value) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < fs->n; i++) {
    if (fs->f[i].name_len == nl &&
        memcmp(fs->buf + fs->f[i].name_off, name, nl) == 0) {
      *value = moqc__h3_fieldset_value(fs, i);
      return true;
    }
  }
  return false;
}

static int h3_fields_append(moqc__h3_fieldset *fs, const uint8_t *data,
                            size_t len, size_t *off) {
  if (len > fs->max || fs->len > fs->max - len) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  if (fs->len + len > fs->cap) {
    size_t ncap = fs->cap == 0 ? 256 : fs->cap;
    while (ncap < fs->len + len) {
      ncap *= 2;
    }
    char *nb = moqc_mem_realloc(fs->mem, fs->buf, ncap);
    if (nb == NULL) {
      return MOQC_ERR_NOMEM;
    }
    fs->buf = nb;
    fs->cap = ncap;
  }
  if (len > 0) {
    memcpy(fs->buf + fs->len, data, len);
  }
  *off = fs->len;
  fs->len += len;
  return 0;
}

static int h3_fields_add(moqc__h3_fieldset *fs, const nghttp3_qpack_nv *nv) {
  nghttp3_vec name = nghttp3_rcbuf_get_buf(nv->name);
  nghttp3_vec value = nghttp3_rcbuf_get_buf(nv->value);
  moqc__h3_fieldref *r;
  int rv;
  if (fs->n == MOQC__H3_MAX_FIELDS) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  r = &fs->f[fs->n];
  rv = h3_fields_append(fs, name.base, name.len, &r->name_off);
  if (rv == 0) {
    rv = h3_fields_append(fs, value.base, value.len, &r->value_off);
  }
  if (rv != 0) {
    return rv;
  }
  r->name_len = name.len;
  r->value_len = value.len;
  fs->n++;
  return 0;
}

int moqc__h3_fields_decode(moqc__h3_fieldset *fs, const uint8_t *blk,
                           size_t len) {
  nghttp3_qpack_decoder *dec = NULL;
  nghttp3_qpack_stream_context *sctx = NULL;
  const nghttp3_mem *nmem = nghttp3_mem_default();
  int rv = 0;

  if (len == 0) {
    return MOQC_ERR_MALFORMED;
  }
  if (nghttp3_qpack_decoder_new(&dec, 0, 0, nmem) != 0) {
    return MOQC_ERR_NOMEM;
  }
  if (nghttp3_qpack_stream_context_new(&sctx, 0, nmem) != 0) {
    nghttp3_qpack_decoder_del(dec);
    return MOQC_ERR_NOMEM;
  }
  for (;;) {
    nghttp3_qpack_nv nv;
    uint8_t flags = 0;
    nghttp3_ssize n =
        nghttp3_qpack_decoder_read_request(dec, sctx, &nv, &flags, blk, len, 1);
    if (n < 0) {
      rv = n == NGHTTP3_ERR_NOMEM ? MOQC_ERR_NOMEM : MOQC_ERR_MALFORMED;
      break;
    }
    blk += n;
    len -= (size_t)n;
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT) {
      rv = h3_fields_add(fs, &nv);
      nghttp3_rcbuf_decref(nv.name);
      nghttp3_rcbuf_decref(nv.value);
      if (rv != 0) {
        break;
      }
    }
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_FINAL) {
      break;
    }
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_BLOCKED) {
      rv = MOQC_ERR_MALFORMED; /* a dynamic table reference: we allowed none */
      break;
    }
    if (n == 0 && !(flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT)) {
      rv = MOQC_ERR_MALFORMED; /* no progress */
      break;
    }
  }
  nghttp3_qpack_stream_context_del(sctx);
  nghttp3_qpack_decoder_del(dec);
  return rv;
}

/* ---- request writer ---- */

static size_t h3_qint_size(uint64_t v, unsigned prefix) {
  uint64_t max = ((uint64_t)1 << prefix) - 1;
  size_t n = 1;
  if (v < max) {
    return 1;
  }
  v -= max;
  while (v >= 128) {
    v >>= 7;
    n++;
  }
  return n + 1;
}

static void h3_put_qint(moqc__writer *w, uint8_t first, uint64_t v,
                        unsigned prefix) {
  uint64_t max = ((uint64_t)1 << prefix) - 1;
  if (v < max) {
    moqc__put_u8(w, (uint8_t)(first | v));
    return;
  }
  moqc__put_u8(w, (uint8_t)(first | max));
  v -= max;
  while (v >= 128) {
    moqc__put_u8(w, (uint8_t)(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  moqc__put_u8(w, (uint8_t)v);
}

static bool h3_value_ok(moqc_str v) {
  for (size_t i = 0; i < v.len; i++) {
    if (v.ptr[i] == '\r' || v.ptr[i] == '\n' || v.ptr[i] == '\0') {
      return false;
    }
  }
  return true;
}

bool moqc__h3_protocol_valid(moqc_str s) {
  if (s.len == 0 || s.len > 64) {
    return false;
  }
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      return false;
    }
  }
  return true;
}

/* A literal field line with a literal name (no Huffman), or its size when w is
 * NULL. */
static size_t h3_put_literal(moqc__writer *w, moqc_str name, moqc_str value) {
  if (w != NULL) {
    h3_put_qint(w, 0x20, name.len, 3);
    moqc__put_raw(w, name.ptr, name.len);
    h3_put_qint(w, 0x00, value.len, 7);
    moqc__put_raw(w, value.ptr, value.len);
  }
  return h3_qint_size(name.len, 3) + name.len + h3_qint_size(value.len, 7) +
         value.len;
}

/* The sf-list of protocols: "a", "b" (written into buf when not NULL); returns
 * its length. */
static size_t h3_protocol_list(char *buf, const moqc_str *protocols, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0) {
      if (buf != NULL) {
        memcpy(buf + len, ", ", 2);
      }
      len += 2;
    }
    if (buf != NULL) {
      buf[len] = '"';
      memcpy(buf + len + 1, protocols[i].ptr, protocols[i].len);
      buf[len + 1 + protocols[i].len] = '"';
    }
    len += protocols[i].len + 2;
  }
  return len;
}

void moqc__h3_put_connect_request(moqc__writer *w, moqc_str authority,
                                  moqc_str path, moqc_str origin,
                                  const moqc_str *protocols, size_t n) {
  static const moqc_str n_authority = {":authority", 10};
  static const moqc_str n_path = {":path", 5};
  static const moqc_str n_protocol = {":protocol", 9};
  static const moqc_str v_webtransport = {"webtransport", 12};
  static const moqc_str n_draft = {"sec-webtransport-http3-draft02", 30};
  static const moqc_str v_one = {"1", 1};
  static const moqc_str n_origin = {"origin", 6};
  static const moqc_str n_avail = {"wt-available-protocols", 22};
  char list[MOQC__H3_MAX_PROTOCOLS * 68];
  moqc_str lv = {list, 0};
  size_t len;

  if (w->err != 0) {
    return;
  }
  if (n > MOQC__H3_MAX_PROTOCOLS || !h3_value_ok(authority) ||
      !h3_value_ok(path) || path.len == 0 || !h3_value_ok(origin)) {
    w->err = MOQC_ERR_INVALID_ARGUMENT;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!moqc__h3_protocol_valid(protocols[i])) {
      w->err = MOQC_ERR_INVALID_ARGUMENT;
      return;
    }
  }
  lv.len = h3_protocol_list(list, protocols, n);
  /* Prefix (2) + :method CONNECT (static 15) + :scheme https (static 23). */
  len = 2 + 1 + 1;
  len += h3_put_literal(NULL, n_authority, authority);
  len += h3_put_literal(NULL, n_path, path);
  len += h3_put_literal(NULL, n_protocol, v_webtransport);
  len += h3_put_literal(NULL, n_draft, v_one);
  if (origin.len > 0) {
    len += h3_put_literal(NULL, n_origin, origin);
  }
  if (n > 0) {
    len += h3_put_literal(NULL, n_avail, lv);
  }
  moqc__h3_put_frame_header(w, MOQC__H3_HEADERS, len);
  moqc__put_u8(w, 0);
  moqc__put_u8(w, 0);
  h3_put_qint(w, 0xc0, 15, 6);
  h3_put_qint(w, 0xc0, 23, 6);
  h3_put_literal(w, n_authority, authority);
  h3_put_literal(w, n_path, path);
  h3_put_literal(w, n_protocol, v_webtransport);
  h3_put_literal(w, n_draft, v_one);
  if (origin.len > 0) {
    h3_put_literal(w, n_origin, origin);
  }
  if (n > 0) {
    h3_put_literal(w, n_avail, lv);
  }
}

/* ---- structured fields ---- */

static bool h3_sf_ows(char c) {
  return c == ' ' || c == '\t';
}

static bool h3_sf_tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') ||
         (c != '\0' && strchr("!#$%&'*+-.^_`|~:/", c) != NULL);
}

/* Parses one item at v[*i]: a string or a token; *ok false when it is valid but
 * unusable (an escape). Then skips parameters. Returns 0 or MOQC_ERR_MALFORMED.
 */
static int h3_sf_item(moqc_str v, size_t *i, moqc_str *out, bool *ok) {
  size_t p = *i;
  *ok = true;
  if (p >= v.len) {
    return MOQC_ERR_MALFORMED;
  }
  if (v.ptr[p] == '"') {
    size_t start = ++p;
    for (;;) {
      if (p >= v.len) {
        return MOQC_ERR_MALFORMED;
      }
      char c = v.ptr[p];
      if (c == '\\') {
        if (p + 1 >= v.len || (v.ptr[p + 1] != '"' && v.ptr[p + 1] != '\\')) {
          return MOQC_ERR_MALFORMED;
        }
        *ok = false;
        p += 2;
        continue;
      }
      if (c == '"') {
        break;
      }
      if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) {
        return MOQC_ERR_MALFORMED;
      }
      p++;
    }
    out->ptr = v.ptr + start;
    out->len = p - start;
    p++;
  } else if ((v.ptr[p] >= 'a' && v.ptr[p] <= 'z') ||
             (v.ptr[p] >= 'A' && v.ptr[p] <= 'Z') || v.ptr[p] == '*') {
    size_t start = p;
    while (p < v.len && h3_sf_tchar(v.ptr[p])) {
      p++;
    }
    out->ptr = v.ptr + start;
    out->len = p - start;
  } else {
    return MOQC_ERR_MALFORMED;
  }
  /* Parameters: ;key[=value]; values are not needed, only skipped (bare items).
   */
  while (p < v.len && v.ptr[p] == ';') {
    p++;
    while (p < v.len && h3_sf_ows(v.ptr[p])) {
      p++;
    }
    size_t k = p;
    while (p < v.len && (h3_sf_tchar(v.ptr[p]) || v.ptr[p] == '*') &&
           v.ptr[p] != ':' && v.ptr[p] != '/') {
      p++;
    }
    if (p == k) {
      return MOQC_ERR_MALFORMED;
    }
    if (p < v.len && v.ptr[p] == '=') {
      moqc_str ignored;
      bool iok;
      p++;
      if (p < v.len && v.ptr[p] != '"' &&
          !((v.ptr[p] >= 'a' && v.ptr[p] <= 'z') ||
            (v.ptr[p] >= 'A' && v.ptr[p] <= 'Z'))) {
        /* numbers, booleans, byte sequences: skip printable non-separators */
        while (p < v.len && v.ptr[p] != ';' && v.ptr[p] != ',' &&
               !h3_sf_ows(v.ptr[p])) {
          p++;
        }
        continue;
      }
      size_t q = p;
      if (h3_sf_item((moqc_str){v.ptr, v.len}, &q, &ignored, &iok) != 0) {
        return MOQC_ERR_MALFORMED;
      }
      p = q;
    }
  }
  *i = p;
  return 0;
}

int moqc__h3_sf_string_list(moqc_str v, moqc_str *out, size_t cap, size_t *n) {
  size_t i = 0;
  *n = 0;
  while (i < v.len && h3_sf_ows(v.ptr[i])) {
    i++;
  }
  while (i < v.len) {
    moqc_str item;
    bool ok;
    if (h3_sf_item(v, &i, &item, &ok) != 0) {
      return MOQC_ERR_MALFORMED;
    }
    if (ok && *n < cap && moqc__h3_protocol_valid(item)) {
      out[(*n)++] = item;
    }
    while (i < v.len && h3_sf_ows(v.ptr[i])) {
      i++;
    }
    if (i == v.len) {
      break;
    }
    if (v.ptr[i] != ',') {
      return MOQC_ERR_MALFORMED;
    }
    i++;
    while (i < v.len && h3_sf_ows(v.ptr[i])) {
      i++;
    }
    if (i == v.len) {
      return MOQC_ERR_MALFORMED; /* trailing comma */
    }
  }
  return 0;
}

int moqc__h3_sf_string(moqc_str v, moqc_str *out) {
  size_t i = 0;
  bool ok;
  while (i < v.len && h3_sf_ows(v.ptr[i])) {
    i++;
  }
  if (h3_sf_item(v, &i, out, &ok) != 0 || !ok) {
    return MOQC_ERR_MALFORMED;
  }
  while (i < v.len && h3_sf_ows(v.ptr[i])) {
    i++;
  }
  return i == v.len ? 0 : MOQC_ERR_MALFORMED;
}
