/*
 * Shared helpers for the moq-lite codec tests (test_wire_lite*.c): run one
 * captured byte vector through a decoder and encoder and check the codec
 * contract.
 */
#ifndef MOQC_TEST_WIRE_LITE_H
#define MOQC_TEST_WIRE_LITE_H

#include "testutil.h"

#include "core/bytes.h"
#include "wire/lite.h"

/* Generic wrappers so one checker can drive every message codec. */
typedef int (*lt_dec_fn)(const uint8_t **p, const uint8_t *end,
                         moqc_lite_version v, void *out);
typedef int (*lt_enc_fn)(moqc__writer *w, moqc_lite_version v, const void *m);

#define LT_CODEC(name, type)                                                   \
  __attribute__((unused)) static int lt_dec_##name(                            \
      const uint8_t **p, const uint8_t *end, moqc_lite_version v, void *out) { \
    return moqc__lite_decode_##name(p, end, v, (type *)out);                   \
  }                                                                            \
  __attribute__((unused)) static int lt_enc_##name(                            \
      moqc__writer *w, moqc_lite_version v, const void *m) {                   \
    return moqc__lite_encode_##name(w, v, (const type *)m);                    \
  }

/* Every moq-lite message codec, wrapped once for all the lite test files. */
LT_CODEC(setup, moqc__lite_setup)
LT_CODEC(session_info, moqc__lite_session_info)
LT_CODEC(announce_request, moqc__lite_announce_request)
LT_CODEC(announce_ok, moqc__lite_announce_ok)
LT_CODEC(announce, moqc__lite_announce)
LT_CODEC(announce_init, moqc__lite_announce_init)
LT_CODEC(track, moqc__lite_track)
LT_CODEC(track_info, moqc__lite_track_info)
LT_CODEC(subscribe, moqc__lite_subscribe)
LT_CODEC(subscribe_update, moqc__lite_subscribe_update)
LT_CODEC(subscribe_response, moqc__lite_subscribe_response)
LT_CODEC(group, moqc__lite_group)
LT_CODEC(frame_header, moqc__lite_frame_header)
LT_CODEC(frame, moqc__lite_frame)
LT_CODEC(fetch, moqc__lite_fetch)
LT_CODEC(probe, moqc__lite_probe)
LT_CODEC(goaway, moqc__lite_goaway)

/* The legacy handshake decoders take no version. */
static inline int lt_dec_client_setup(const uint8_t **p, const uint8_t *end,
                                      moqc_lite_version v, void *out) {
  (void)v;
  return moqc__lite_decode_client_setup(p, end, (moqc__lite_client_setup *)out);
}

static inline int lt_dec_server_setup(const uint8_t **p, const uint8_t *end,
                                      moqc_lite_version v, void *out) {
  (void)v;
  return moqc__lite_decode_server_setup(p, end, (moqc__lite_server_setup *)out);
}

#define LT_MAXBYTES 4096

/* Shared buffer of the last vector, so decoded views stay valid after lt_check
 * returns. */
typedef struct lt_vec {
  uint8_t bytes[LT_MAXBYTES];
  size_t len;
} lt_vec;

/*
 * Checks one vector: decode succeeds and consumes every byte; every truncation
 * is INCOMPLETE with the cursor untouched; re-encoding gives the same bytes
 * (when enc is not NULL); encoding into every smaller buffer is NOBUF and
 * writes nothing. Leaves the decoded value in out; its views point into
 * vec->bytes.
 */
static inline void lt_check(lt_vec *vec, const char *hex, moqc_lite_version v,
                            lt_dec_fn dec, lt_enc_fn enc, void *out) {
  const uint8_t *p;
  uint8_t enc_buf[LT_MAXBYTES];
  moqc__writer w;

  vec->len = test_unhex(hex, vec->bytes, sizeof(vec->bytes));
  assert_true(vec->len > 0 && vec->len <= LT_MAXBYTES);
  for (size_t k = 0; k < vec->len; k++) {
    p = vec->bytes;
    assert_int_equal(dec(&p, vec->bytes + k, v, out), MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(p, vec->bytes);
  }
  p = vec->bytes;
  assert_int_equal(dec(&p, vec->bytes + vec->len, v, out), 0);
  assert_ptr_equal(p, vec->bytes + vec->len);
  if (enc == NULL) {
    return;
  }
  moqc__writer_init(&w, enc_buf, sizeof(enc_buf));
  assert_int_equal(enc(&w, v, out), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)vec->len);
  assert_memory_equal(enc_buf, vec->bytes, vec->len);
  for (size_t cap = 0; cap < vec->len; cap++) {
    moqc__writer_init(&w, enc_buf, cap);
    assert_int_equal(enc(&w, v, out), MOQC_ERR_NOBUF);
    assert_ptr_equal(w.p, enc_buf);
  }
}

/* Decodes hex with dec and expects err, with the cursor untouched. */
static inline void lt_reject(const char *hex, moqc_lite_version v,
                             lt_dec_fn dec, void *out, int err) {
  uint8_t buf[LT_MAXBYTES];
  size_t n = test_unhex(hex, buf, sizeof(buf));
  const uint8_t *p = buf;

  assert_int_equal(dec(&p, buf + n, v, out), err);
  assert_ptr_equal(p, buf);
}

/* Checks that a moqc_str holds the C string s. */
static inline void lt_str_eq(moqc_str a, const char *s) {
  assert_int_equal(a.len, strlen(s));
  if (a.len > 0) {
    assert_memory_equal(a.ptr, s, a.len);
  }
}

#endif /* MOQC_TEST_WIRE_LITE_H */
