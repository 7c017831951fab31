/*
 * Fuzz target for lib/wire/lite_announce.c: ANNOUNCE_REQUEST, ANNOUNCE_OK,
 * ANNOUNCE_BROADCAST and ANNOUNCE_INIT with every version.
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static moqc_lite_version cur_v;

static bool req_eq(const moqc__lite_announce_request *a,
                   const moqc__lite_announce_request *b) {
  return fz_str_eq(a->prefix, b->prefix) && a->exclude_hop == b->exclude_hop;
}

static bool ok_eq(const moqc__lite_announce_ok *a,
                  const moqc__lite_announce_ok *b) {
  return a->hop_id == b->hop_id && a->active_count == b->active_count;
}

static bool ann_eq(const moqc__lite_announce *a, const moqc__lite_announce *b) {
  if (a->status != b->status || !fz_str_eq(a->suffix, b->suffix) ||
      a->n_hops != b->n_hops) {
    return false;
  }
  if (cur_v >= MOQC_LITE_04) {
    return memcmp(a->hops, b->hops, a->n_hops * sizeof(uint64_t)) == 0;
  }
  return true;
}

static void announce_init(const uint8_t *data, size_t size,
                          moqc_lite_version v) {
  static moqc_str sfx[FZ_BUF], sfx2[FZ_BUF];
  static uint8_t buf[FZ_BUF];
  moqc__lite_announce_init ai, back;
  const uint8_t *p = data, *q, *qend;
  moqc__writer w;
  moqc_ssize n;
  size_t k = 0, k2 = 0;

  if (!fz_decoded(moqc__lite_decode_announce_init(&p, data + size, v, &ai),
                  data, p, data + size)) {
    return;
  }
  q = ai.suffixes;
  qend = ai.suffixes + ai.suffixes_len;
  while (moqc__lite_announce_init_next(&q, qend, &sfx[k]) == 0) {
    k++;
  }
  fz_assert(k == ai.count && q == qend);
  ai.enc_suffixes = sfx;
  moqc__writer_init(&w, buf, sizeof(buf));
  fz_assert(moqc__lite_encode_announce_init(&w, v, &ai) == 0);
  n = moqc__writer_result(&w);
  p = buf;
  fz_assert(moqc__lite_decode_announce_init(&p, buf + n, v, &back) == 0 &&
            p == buf + n);
  q = back.suffixes;
  qend = back.suffixes + back.suffixes_len;
  while (moqc__lite_announce_init_next(&q, qend, &sfx2[k2]) == 0) {
    fz_assert(k2 < k && fz_str_eq(sfx[k2], sfx2[k2]));
    k2++;
  }
  fz_assert(k2 == k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_FOR_VERSIONS(v) {
    cur_v = v;
    FZ_MESSAGE(announce_request, moqc__lite_announce_request, data, size, v,
               req_eq);
    FZ_MESSAGE(announce_ok, moqc__lite_announce_ok, data, size, v, ok_eq);
    FZ_MESSAGE(announce, moqc__lite_announce, data, size, v, ann_eq);
    announce_init(data, size, v);
  }
  return 0;
}
