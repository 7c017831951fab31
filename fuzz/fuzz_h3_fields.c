/*
 * Fuzz target: header sections of the WebTransport layer (lib/transport/h3_fields.c). The first
 * byte picks: a QPACK field section decoded with bounds, an sf-list of protocols, one sf-string,
 * or a CONNECT request written from input pieces and read back (every field must round-trip).
 */
#include <stdlib.h>
#include <string.h>

#include "transport/h3_fields.h"
#include "wire/h3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_field_is(const moqc__h3_fieldset *fs, const char *name, moqc_str value) {
  moqc_str v;
  return moqc__h3_fieldset_get(fs, name, &v) && v.len == value.len &&
         (v.len == 0 || memcmp(v.ptr, value.ptr, v.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t *p = data + 1;
  size_t len = size - 1;
  moqc_str in = {(const char *)p, len};
  switch (data[0] % 4) {
  case 0: {
    moqc__h3_fieldset fs;
    moqc__h3_fieldset_init(&fs, 512, NULL);
    int rv = moqc__h3_fields_decode(&fs, p, len);
    if (rv == 0) {
      for (size_t i = 0; i < fs.n; i++) {
        moqc_str nm = moqc__h3_fieldset_name(&fs, i);
        moqc_str v = moqc__h3_fieldset_value(&fs, i);
        if (nm.len + v.len > 512) {
          abort();
        }
      }
    } else if (rv != MOQC_ERR_MALFORMED && rv != MOQC_ERR_BOUNDS_EXCEEDED) {
      abort();
    }
    moqc__h3_fieldset_free(&fs);
    break;
  }
  case 1: {
    moqc_str out[8];
    size_t n = 0;
    if (moqc__h3_sf_string_list(in, out, 8, &n) == 0) {
      for (size_t i = 0; i < n; i++) {
        if (!moqc__h3_protocol_valid(out[i]) || out[i].ptr < in.ptr ||
            out[i].ptr + out[i].len > in.ptr + in.len) {
          abort();
        }
      }
    }
    break;
  }
  case 2: {
    moqc_str s;
    if (moqc__h3_sf_string(in, &s) == 0 &&
        (s.ptr < in.ptr || s.ptr + s.len > in.ptr + in.len)) {
      abort();
    }
    break;
  }
  default: {
    /* Pieces separated by 0xff: authority, path, origin, then protocols. */
    moqc_str parts[8];
    size_t np = 0, start = 0;
    for (size_t i = 0; i <= len && np < 8; i++) {
      if (i == len || p[i] == 0xff) {
        parts[np].ptr = (const char *)p + start;
        parts[np].len = i - start;
        np++;
        start = i + 1;
      }
    }
    while (np < 3) {
      parts[np].ptr = "";
      parts[np].len = 0;
      np++;
    }
    static uint8_t buf[8192];
    moqc__writer w;
    moqc__writer_init(&w, buf, sizeof(buf));
    moqc__h3_put_connect_request(&w, parts[0], parts[1], parts[2], parts + 3, np - 3);
    moqc_ssize n = moqc__writer_result(&w);
    if (n < 0) {
      break;
    }
    const uint8_t *q = buf;
    moqc__h3_frame f;
    if (moqc__h3_frame_decode(&q, buf + n, sizeof(buf), &f) != 0 || f.type != MOQC__H3_HEADERS) {
      abort();
    }
    moqc__h3_fieldset fs;
    moqc__h3_fieldset_init(&fs, 65536, NULL);
    if (moqc__h3_fields_decode(&fs, f.payload, f.len) != 0 ||
        !fz_field_is(&fs, ":authority", parts[0]) || !fz_field_is(&fs, ":path", parts[1])) {
      abort();
    }
    if (parts[2].len > 0 && !fz_field_is(&fs, "origin", parts[2])) {
      abort();
    }
    moqc_str v;
    if (np > 3) {
      moqc_str out[8];
      size_t k = 0;
      if (!moqc__h3_fieldset_get(&fs, "wt-available-protocols", &v) ||
          moqc__h3_sf_string_list(v, out, 8, &k) != 0 || k != np - 3) {
        abort();
      }
      for (size_t i = 0; i < k; i++) {
        if (!moqc_str_eq(out[i], parts[3 + i])) {
          abort();
        }
      }
    }
    moqc__h3_fieldset_free(&fs);
    break;
  }
  }
  return 0;
}
