/*
 * Fuzz target for lib/wire/lite_setup.c: lite-05 SETUP, the legacy CLIENT_SETUP
 * and SERVER_SETUP (with their draft-14 parameter lists) and SESSION_INFO, with
 * every version.
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool setup_eq(const moqc__lite_setup *a, const moqc__lite_setup *b) {
  return a->present == b->present &&
         (!(a->present & MOQC_LITE_SETUP_HAS_PROBE) || a->probe == b->probe) &&
         (!(a->present & MOQC_LITE_SETUP_HAS_PATH) ||
          fz_str_eq(a->path, b->path)) &&
         (!(a->present & MOQC_LITE_SETUP_HAS_ROLE) || a->role == b->role) &&
         (!(a->present & MOQC_LITE_SETUP_HAS_ORIGIN) ||
          a->origin == b->origin) &&
         b->n_unknown == 0;
}

static bool info_eq(const moqc__lite_session_info *a,
                    const moqc__lite_session_info *b) {
  return a->bitrate == b->bitrate;
}

static size_t collect(const moqc__lite_legacy_params *lp,
                      moqc__lite_legacy_param *out) {
  const uint8_t *p = lp->params, *end = lp->params + lp->params_len;
  size_t n = 0;
  while (moqc__lite_legacy_param_next(&p, end, &out[n]) == 0) {
    n++;
    fz_assert(n <= MOQC_LITE_MAX_LEGACY_PARAMS);
  }
  fz_assert(n == lp->count && p == end);
  return n;
}

static void legacy_client(const uint8_t *data, size_t size) {
  static uint8_t buf[FZ_BUF];
  moqc__lite_legacy_param prm[MOQC_LITE_MAX_LEGACY_PARAMS];
  moqc__lite_client_setup cs, back;
  const uint8_t *p = data;
  moqc__writer w;
  moqc_ssize n;

  if (!fz_decoded(moqc__lite_decode_client_setup(&p, data + size, &cs), data, p,
                  data + size)) {
    return;
  }
  cs.n_enc_params = collect(&cs.params, prm);
  cs.enc_params = prm;
  (void)moqc__lite_legacy_select(&cs, MOQC_LITE_ALL_VERSIONS);
  moqc__writer_init(&w, buf, sizeof(buf));
  fz_assert(moqc__lite_encode_client_setup(&w, &cs) == 0);
  n = moqc__writer_result(&w);
  p = buf;
  fz_assert(moqc__lite_decode_client_setup(&p, buf + n, &back) == 0 &&
            p == buf + n);
  fz_assert(back.n_versions == cs.n_versions &&
            memcmp(back.versions, cs.versions,
                   cs.n_versions * sizeof(uint64_t)) == 0);
  /* Parameters re-encode minimally, so compare them entry by entry. */
  {
    moqc__lite_legacy_param prm2[MOQC_LITE_MAX_LEGACY_PARAMS];
    size_t k = collect(&back.params, prm2);
    fz_assert(k == cs.n_enc_params);
    for (size_t i = 0; i < k; i++) {
      fz_assert(prm[i].key == prm2[i].key && prm[i].value == prm2[i].value &&
                fz_str_eq(prm[i].bytes, prm2[i].bytes));
    }
  }
}

static void legacy_server(const uint8_t *data, size_t size) {
  static uint8_t buf[FZ_BUF], buf2[FZ_BUF];
  moqc__lite_legacy_param prm[MOQC_LITE_MAX_LEGACY_PARAMS];
  moqc__lite_server_setup ss, back;
  const uint8_t *p = data;
  moqc__writer w;
  moqc_ssize n;

  if (!fz_decoded(moqc__lite_decode_server_setup(&p, data + size, &ss), data, p,
                  data + size)) {
    return;
  }
  ss.n_enc_params = collect(&ss.params, prm);
  ss.enc_params = prm;
  moqc__writer_init(&w, buf, sizeof(buf));
  fz_assert(moqc__lite_encode_server_setup(&w, &ss) == 0);
  n = moqc__writer_result(&w);
  p = buf;
  fz_assert(moqc__lite_decode_server_setup(&p, buf + n, &back) == 0 &&
            p == buf + n);
  fz_assert(back.version == ss.version && back.params.count == ss.params.count);
  /* A second round trip is byte-stable. */
  back.n_enc_params = collect(&back.params, prm);
  back.enc_params = prm;
  moqc__writer_init(&w, buf2, sizeof(buf2));
  fz_assert(moqc__lite_encode_server_setup(&w, &back) == 0);
  fz_assert(moqc__writer_result(&w) == n && memcmp(buf, buf2, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_FOR_VERSIONS(v) {
    FZ_MESSAGE(setup, moqc__lite_setup, data, size, v, setup_eq);
    FZ_MESSAGE(session_info, moqc__lite_session_info, data, size, v, info_eq);
  }
  legacy_client(data, size);
  legacy_server(data, size);
  return 0;
}
