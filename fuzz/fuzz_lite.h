/*
 * Shared checks for the moq-lite fuzz targets (fuzz_lite_*.c). Each target
 * decodes the input with every version; a decoder must either fail with one of
 * its documented codes, leaving the cursor untouched, or succeed within the
 * input. Whatever decodes is re-encoded, decoded again to an equal value, and
 * re-encoded again to the same bytes.
 */
#ifndef MOQC_FUZZ_LITE_H
#define MOQC_FUZZ_LITE_H

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "wire/lite.h"

#define FZ_BUF 70000

/* Checks a decoder's result and cursor. Returns true when it decoded. */
static inline bool fz_decoded(int rv, const uint8_t *before,
                              const uint8_t *after, const uint8_t *end) {
  if (rv != 0) {
    if (rv != MOQC_ERR_INCOMPLETE && rv != MOQC_ERR_MALFORMED &&
        rv != MOQC_ERR_INVALID_ARGUMENT) {
      abort();
    }
    if (after != before) {
      abort();
    }
    return false;
  }
  if (after < before || after > end) {
    abort();
  }
  return true;
}

static inline void fz_assert(bool ok) {
  if (!ok) {
    abort();
  }
}

static inline bool fz_str_eq(moqc_str a, moqc_str b) {
  return moqc_str_eq(a, b);
}

/*
 * Round trip for a message codec: encode m into buf1, decode it into m2 (must
 * consume all), compare with eq, encode m2 into buf2 and compare bytes.
 * Encoding a decoded value must work.
 */
#define FZ_ROUNDTRIP(name, type, v, m, eq)                                     \
  do {                                                                         \
    static uint8_t fz_b1[FZ_BUF], fz_b2[FZ_BUF];                               \
    moqc__writer fz_w1, fz_w2;                                                 \
    type fz_m2;                                                                \
    const uint8_t *fz_p;                                                       \
    moqc_ssize fz_n1;                                                          \
    moqc__writer_init(&fz_w1, fz_b1, sizeof(fz_b1));                           \
    fz_assert(moqc__lite_encode_##name(&fz_w1, (v), (m)) == 0);                \
    fz_n1 = moqc__writer_result(&fz_w1);                                       \
    fz_p = fz_b1;                                                              \
    fz_assert(moqc__lite_decode_##name(&fz_p, fz_b1 + fz_n1, (v), &fz_m2) ==   \
              0);                                                              \
    fz_assert(fz_p == fz_b1 + fz_n1);                                          \
    fz_assert(eq((m), &fz_m2));                                                \
    moqc__writer_init(&fz_w2, fz_b2, sizeof(fz_b2));                           \
    fz_assert(moqc__lite_encode_##name(&fz_w2, (v), &fz_m2) == 0);             \
    fz_assert(moqc__writer_result(&fz_w2) == fz_n1);                           \
    fz_assert(memcmp(fz_b1, fz_b2, (size_t)fz_n1) == 0);                       \
  } while (0)

/* Decodes a message at the start of the input; on success runs the round trip.
 */
#define FZ_MESSAGE(name, type, data, size, v, eq)                              \
  do {                                                                         \
    type fz_m;                                                                 \
    const uint8_t *fz_s = (data);                                              \
    int fz_rv = moqc__lite_decode_##name(&fz_s, (data) + (size), (v), &fz_m);  \
    if (fz_decoded(fz_rv, (data), fz_s, (data) + (size))) {                    \
      FZ_ROUNDTRIP(name, type, (v), &fz_m, eq);                                \
    }                                                                          \
  } while (0)

/* Every version value the fuzzers try, including the invalid NONE. */
#define FZ_FOR_VERSIONS(v)                                                     \
  for (moqc_lite_version v = MOQC_LITE_NONE; v <= MOQC_LITE_05; v++)

#endif /* MOQC_FUZZ_LITE_H */
