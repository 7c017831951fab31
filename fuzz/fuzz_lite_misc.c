/*
 * Fuzz target for lib/wire/lite_misc.c: PROBE and GOAWAY with every version.
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool probe_eq(const moqc__lite_probe *a, const moqc__lite_probe *b) {
  return a->bitrate == b->bitrate && a->rtt_ms == b->rtt_ms;
}

static bool goaway_eq(const moqc__lite_goaway *a, const moqc__lite_goaway *b) {
  return fz_str_eq(a->uri, b->uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_FOR_VERSIONS(v) {
    FZ_MESSAGE(probe, moqc__lite_probe, data, size, v, probe_eq);
    FZ_MESSAGE(goaway, moqc__lite_goaway, data, size, v, goaway_eq);
  }
  return 0;
}
