/*
 * Fuzz target for lib/wire/lite_track.c: TRACK and TRACK_INFO with every
 * version.
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool track_eq(const moqc__lite_track *a, const moqc__lite_track *b) {
  return fz_str_eq(a->broadcast, b->broadcast) && fz_str_eq(a->track, b->track);
}

static bool info_eq(const moqc__lite_track_info *a,
                    const moqc__lite_track_info *b) {
  return a->priority == b->priority && a->ordered == b->ordered &&
         a->max_latency_ms == b->max_latency_ms &&
         a->timescale == b->timescale && b->timescale != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_FOR_VERSIONS(v) {
    FZ_MESSAGE(track, moqc__lite_track, data, size, v, track_eq);
    FZ_MESSAGE(track_info, moqc__lite_track_info, data, size, v, info_eq);
  }
  return 0;
}
