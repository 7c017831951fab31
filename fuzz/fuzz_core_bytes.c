/*
 * Fuzz target: the core readers (varint, bounded varint, bool, u16/u32, lbytes, string).
 * Every reader must either succeed within bounds or fail leaving the cursor untouched.
 */
#include <stdlib.h>

#include "core/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data, *end = data + size;

  while (p < end) {
    const uint8_t *before = p;
    uint8_t sel = *p++;
    uint64_t v;
    uint16_t u16;
    uint32_t u32;
    uint8_t u8;
    bool b;
    moqc_str s;
    const uint8_t *raw;
    int rv;

    switch (sel % 8) {
    case 0:
      rv = moqc__get_varint(&p, end, &v);
      break;
    case 1:
      rv = moqc__get_varint_max(&p, end, 1000, &v);
      break;
    case 2:
      rv = moqc__get_bool(&p, end, &b);
      break;
    case 3:
      rv = moqc__get_u16be(&p, end, &u16);
      break;
    case 4:
      rv = moqc__get_u32be(&p, end, &u32);
      break;
    case 5:
      rv = moqc__get_lbytes(&p, end, 64, &s);
      if (rv == 0 && (s.ptr < (const char *)data || s.ptr + s.len > (const char *)end)) {
        abort();
      }
      break;
    case 6:
      rv = moqc__get_string(&p, end, 1 << 20, &s);
      if (rv == 0 && !moqc__utf8_valid((const uint8_t *)s.ptr, s.len)) {
        abort();
      }
      break;
    default:
      rv = moqc__get_u8(&p, end, &u8);
      if (rv == 0) {
        rv = moqc__get_raw(&p, end, u8, &raw);
      }
      break;
    }
    if (p > end) {
      abort();
    }
    if (rv != 0) {
      if (rv != MOQC_ERR_INCOMPLETE && rv != MOQC_ERR_MALFORMED) {
        abort();
      }
      (void)before;
      break;
    }
  }
  /* Varint round trip of the first 8 bytes as a number. */
  if (size >= 8) {
    uint64_t v = 0, back;
    uint8_t buf[8];
    moqc__writer w;
    for (int i = 0; i < 8; i++) {
      v = v << 8 | data[i];
    }
    v &= MOQC_VARINT_MAX;
    moqc__writer_init(&w, buf, sizeof(buf));
    moqc__put_varint(&w, v);
    p = buf;
    if (moqc__writer_result(&w) != (moqc_ssize)moqc__varint_len(v) ||
        moqc__get_varint(&p, buf + sizeof(buf), &back) != 0 || back != v) {
      abort();
    }
  }
  return 0;
}
