/*
 * Fuzz target for lib/wire/lite_common.c: stream types and their per-version
 * check, message Length peeking, ALPN and WebSocket subprotocol names (parse,
 * then format and parse again).
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data, *end = data + size;
  uint64_t type;
  size_t total;
  moqc_str name = {(const char *)data, size};
  moqc__lite_subprotocol sp;
  moqc_lite_version av;
  int rv;

  rv = moqc__lite_decode_stream_type(&p, end, &type);
  if (fz_decoded(rv, data, p, end)) {
    FZ_FOR_VERSIONS(v) {
      for (int bidi = 0; bidi < 2; bidi++) {
        rv = moqc__lite_stream_type_check(v, bidi != 0, type);
        fz_assert(rv == 0 || rv == MOQC_ERR_UNEXPECTED_STREAM);
      }
    }
    uint8_t out[8];
    moqc__writer w;
    moqc__writer_init(&w, out, sizeof(out));
    fz_assert(moqc__lite_encode_stream_type(&w, type) == 0);
  }
  rv = moqc__lite_message_size(data, end, &total);
  fz_assert(rv == 0 || rv == MOQC_ERR_INCOMPLETE || rv == MOQC_ERR_MALFORMED);
  if (rv == 0) {
    fz_assert(total <= 8 + MOQC_LITE_MAX_MESSAGE_LEN);
  }

  rv = moqc__lite_alpn_parse(name, &av);
  fz_assert(rv == 0 || rv == MOQC_ERR_UNKNOWN_ALPN);
  if (rv == 0) {
    const char *a =
        moqc__lite_version_alpn(av == MOQC_LITE_NONE ? MOQC_LITE_02 : av);
    fz_assert(a != NULL && strlen(a) == size && memcmp(a, data, size) == 0);
  }
  rv = moqc__lite_subprotocol_parse(name, &sp);
  fz_assert(rv == 0 || rv == MOQC_ERR_UNKNOWN_ALPN);
  if (rv == 0) {
    char buf[64];
    moqc__lite_subprotocol back;
    moqc_lite_version fv = sp.version;
    moqc_ssize n;
    /* "moql" parses to NONE; format it back through lite-02, whose ALPN is
     * "moql". */
    if (fv == MOQC_LITE_NONE && size > 8 && memchr(data, '.', size) != NULL) {
      fv = MOQC_LITE_02;
    }
    n = moqc__lite_subprotocol_format(buf, sizeof(buf), sp.qmux, fv);
    fz_assert(n == (moqc_ssize)size && memcmp(buf, data, size) == 0);
    fz_assert(moqc__lite_subprotocol_parse((moqc_str){buf, (size_t)n}, &back) ==
              0);
    fz_assert(back.qmux == sp.qmux && back.version == sp.version);
  }
  if (size >= 8) {
    uint64_t c = 0;
    for (int i = 0; i < 8; i++) {
      c = c << 8 | data[i];
    }
    moqc_lite_version v = moqc__lite_version_from_code(c);
    fz_assert(v == MOQC_LITE_NONE || moqc__lite_version_code(v) == c);
  }
  return 0;
}
