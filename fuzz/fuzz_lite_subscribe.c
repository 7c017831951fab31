/*
 * Fuzz target for lib/wire/lite_subscribe.c: SUBSCRIBE, SUBSCRIBE_UPDATE and
 * the subscribe responses of every version.
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool prefs_eq(bool o1, uint64_t l1, bool hs1, uint64_t s1, bool he1,
                     uint64_t e1, bool o2, uint64_t l2, bool hs2, uint64_t s2,
                     bool he2, uint64_t e2) {
  return o1 == o2 && l1 == l2 && hs1 == hs2 && s1 == s2 && he1 == he2 &&
         e1 == e2;
}

static bool sub_eq(const moqc__lite_subscribe *a,
                   const moqc__lite_subscribe *b) {
  return a->id == b->id && fz_str_eq(a->broadcast, b->broadcast) &&
         fz_str_eq(a->track, b->track) && a->priority == b->priority &&
         prefs_eq(a->ordered, a->max_latency_ms, a->has_start, a->start_group,
                  a->has_end, a->end_group, b->ordered, b->max_latency_ms,
                  b->has_start, b->start_group, b->has_end, b->end_group);
}

static bool upd_eq(const moqc__lite_subscribe_update *a,
                   const moqc__lite_subscribe_update *b) {
  return a->priority == b->priority &&
         prefs_eq(a->ordered, a->max_latency_ms, a->has_start, a->start_group,
                  a->has_end, a->end_group, b->ordered, b->max_latency_ms,
                  b->has_start, b->start_group, b->has_end, b->end_group);
}

static bool resp_eq(const moqc__lite_subscribe_response *a,
                    const moqc__lite_subscribe_response *b) {
  /* Decoders zero the fields a kind does not carry, so whole-value equality
   * holds. */
  return a->kind == b->kind && a->group == b->group &&
         a->priority == b->priority &&
         prefs_eq(a->ordered, a->max_latency_ms, a->has_start, a->start_group,
                  a->has_end, a->end_group, b->ordered, b->max_latency_ms,
                  b->has_start, b->start_group, b->has_end, b->end_group) &&
         a->drop_start == b->drop_start && a->drop_end == b->drop_end &&
         a->error_code == b->error_code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_FOR_VERSIONS(v) {
    FZ_MESSAGE(subscribe, moqc__lite_subscribe, data, size, v, sub_eq);
    FZ_MESSAGE(subscribe_update, moqc__lite_subscribe_update, data, size, v,
               upd_eq);
    FZ_MESSAGE(subscribe_response, moqc__lite_subscribe_response, data, size, v,
               resp_eq);
  }
  return 0;
}
