/*
 * moq-lite codecs, control plane: version names, stream types, SETUP, the
 * legacy handshake, announce, track and subscribe messages of lite-01..05.
 *
 * Byte vectors come from the captured client sessions in shared/vectors/ (file
 * and stream named next to each) and from the worked example of
 * spec/moq-lite-wire.md section 7. Where no client sends a message (lite-01,
 * DROP, UPDATE...) the vector is built from the spec text and says so.
 */
#include "test_wire_lite.h"

#define DEMO_BBB "08 64 65 6D 6F 2F 62 62 62"
#define VIDEO "05 76 69 64 65 6F"

static lt_vec vec;

/* ---- names and stream types */

static void test_versions_and_alpn(void **state) {
  moqc_lite_version v;
  (void)state;
  assert_int_equal(moqc__lite_version_code(MOQC_LITE_02), 0xff0dad02ULL);
  assert_int_equal(moqc__lite_version_code(MOQC_LITE_05), 0xff0dad05ULL);
  assert_int_equal(moqc__lite_version_code(MOQC_LITE_NONE), 0);
  assert_int_equal(moqc__lite_version_from_code(0xff0dad01ULL), MOQC_LITE_01);
  assert_int_equal(moqc__lite_version_from_code(MOQC_LITE_CODE_MOQT_14),
                   MOQC_LITE_NONE);
  assert_int_equal(moqc__lite_version_from_code(0xff0dad06ULL), MOQC_LITE_NONE);
  assert_string_equal(moqc__lite_version_alpn(MOQC_LITE_05), "moq-lite-05");
  assert_string_equal(moqc__lite_version_alpn(MOQC_LITE_03), "moq-lite-03");
  assert_string_equal(moqc__lite_version_alpn(MOQC_LITE_02), "moql");
  assert_null(moqc__lite_version_alpn((moqc_lite_version)9));
  assert_int_equal(moqc__lite_alpn_parse(moqc_str_c("moq-lite-04"), &v), 0);
  assert_int_equal(v, MOQC_LITE_04);
  assert_int_equal(moqc__lite_alpn_parse(moqc_str_c("moql"), &v), 0);
  assert_int_equal(v, MOQC_LITE_NONE);
  assert_int_equal(moqc__lite_alpn_parse(moqc_str_c("moq-lite-06-wip"), &v),
                   MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(moqc__lite_alpn_parse(moqc_str_c("moqt-17"), &v),
                   MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(moqc__lite_alpn_parse(moqc_str_c("h3"), &v),
                   MOQC_ERR_UNKNOWN_ALPN);
}

static void test_subprotocols(void **state) {
  moqc__lite_subprotocol sp;
  char buf[64];
  (void)state;
  /* The names offered by @moq/net 0.3.4 (moq-lite-05.txt header) and @moq/lite
   * 0.2.2. */
  assert_int_equal(
      moqc__lite_subprotocol_parse(moqc_str_c("qmux-01.moq-lite-05"), &sp), 0);
  assert_int_equal(sp.qmux, MOQC_LITE_QMUX_01);
  assert_int_equal(sp.version, MOQC_LITE_05);
  assert_int_equal(
      moqc__lite_subprotocol_parse(moqc_str_c("qmux-02.moq-lite-03"), &sp), 0);
  assert_int_equal(sp.qmux, MOQC_LITE_QMUX_02);
  assert_int_equal(sp.version, MOQC_LITE_03);
  assert_int_equal(
      moqc__lite_subprotocol_parse(moqc_str_c("qmux-00.moql"), &sp), 0);
  assert_int_equal(sp.qmux, MOQC_LITE_QMUX_00);
  assert_int_equal(sp.version, MOQC_LITE_NONE);
  assert_int_equal(moqc__lite_subprotocol_parse(moqc_str_c("qmux-00"), &sp), 0);
  assert_int_equal(sp.qmux, MOQC_LITE_QMUX_00);
  assert_int_equal(sp.version, MOQC_LITE_NONE);
  assert_int_equal(
      moqc__lite_subprotocol_parse(moqc_str_c("webtransport"), &sp), 0);
  assert_int_equal(sp.qmux, MOQC_LITE_QMUX_NONE);
  assert_int_equal(
      moqc__lite_subprotocol_parse(moqc_str_c("qmux-01.moqt-20"), &sp),
      MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(moqc__lite_subprotocol_parse(moqc_str_c("moq-lite-05"), &sp),
                   MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(moqc__lite_subprotocol_parse(moqc_str_c("qmux-01."), &sp),
                   MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(
      moqc__lite_subprotocol_parse(moqc_str_c("qmux-03.moq-lite-05"), &sp),
      MOQC_ERR_UNKNOWN_ALPN);
  assert_int_equal(moqc__lite_subprotocol_format(
                       buf, sizeof(buf), MOQC_LITE_QMUX_01, MOQC_LITE_05),
                   19);
  assert_memory_equal(buf, "qmux-01.moq-lite-05", 19);
  assert_int_equal(moqc__lite_subprotocol_format(
                       buf, sizeof(buf), MOQC_LITE_QMUX_00, MOQC_LITE_NONE),
                   7);
  assert_memory_equal(buf, "qmux-00", 7);
  assert_int_equal(
      moqc__lite_subprotocol_format(buf, 18, MOQC_LITE_QMUX_01, MOQC_LITE_05),
      MOQC_ERR_NOBUF);
  assert_int_equal(moqc__lite_subprotocol_format(
                       buf, sizeof(buf), MOQC_LITE_QMUX_NONE, MOQC_LITE_05),
                   MOQC_ERR_INVALID_ARGUMENT);
}

static void test_stream_types(void **state) {
  const uint8_t bytes[] = {0x06, 0x40, 0x20};
  const uint8_t *p = bytes;
  uint64_t t;
  uint8_t out[4];
  moqc__writer w;
  (void)state;
  assert_int_equal(moqc__lite_decode_stream_type(&p, bytes, &t),
                   MOQC_ERR_INCOMPLETE);
  assert_int_equal(moqc__lite_decode_stream_type(&p, bytes + 3, &t), 0);
  assert_int_equal(t, MOQC_LITE_BIDI_TRACK);
  assert_int_equal(moqc__lite_decode_stream_type(&p, bytes + 2, &t),
                   MOQC_ERR_INCOMPLETE);
  assert_ptr_equal(p, bytes + 1);
  assert_int_equal(moqc__lite_decode_stream_type(&p, bytes + 3, &t), 0);
  assert_int_equal(t, 0x20);
  /* Per-version table of spec 4.1 / 6. */
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_05, true, MOQC_LITE_BIDI_TRACK),
      0);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_04, true, MOQC_LITE_BIDI_TRACK),
      MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_05, true, MOQC_LITE_BIDI_FETCH),
      0);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_04, true, MOQC_LITE_BIDI_FETCH),
      MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_04, true, MOQC_LITE_BIDI_GOAWAY),
      0);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_03, true, MOQC_LITE_BIDI_GOAWAY),
      MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_03, true, MOQC_LITE_BIDI_PROBE),
      0);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_02, true, MOQC_LITE_BIDI_PROBE),
      MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_01, true, MOQC_LITE_BIDI_ANNOUNCE),
      0);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_05, true, MOQC_LITE_BIDI_SESSION),
      MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(moqc__lite_stream_type_check(MOQC_LITE_05, true, 0x7),
                   MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_05, false, MOQC_LITE_UNI_SETUP),
      0);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_04, false, MOQC_LITE_UNI_SETUP),
      MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(
      moqc__lite_stream_type_check(MOQC_LITE_02, false, MOQC_LITE_UNI_GROUP),
      0);
  assert_int_equal(moqc__lite_stream_type_check(MOQC_LITE_NONE, true,
                                                MOQC_LITE_BIDI_LEGACY_SETUP),
                   0);
  assert_int_equal(moqc__lite_stream_type_check(MOQC_LITE_02, true,
                                                MOQC_LITE_BIDI_LEGACY_SETUP),
                   MOQC_ERR_UNEXPECTED_STREAM);
  assert_int_equal(moqc__lite_stream_type_check(MOQC_LITE_NONE, false,
                                                MOQC_LITE_BIDI_LEGACY_SETUP),
                   MOQC_ERR_UNEXPECTED_STREAM);
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(
      moqc__lite_encode_stream_type(&w, MOQC_LITE_BIDI_LEGACY_SETUP), 0);
  assert_int_equal(moqc__writer_result(&w), 1);
  assert_int_equal(out[0], 0x20);
  moqc__writer_init(&w, out, 0);
  assert_int_equal(moqc__lite_encode_stream_type(&w, 1), MOQC_ERR_NOBUF);
}

static void test_message_size(void **state) {
  uint8_t buf[16];
  size_t n, total;
  (void)state;
  n = test_unhex("0F 08", buf, sizeof(buf));
  assert_int_equal(moqc__lite_message_size(buf, buf + n, &total), 0);
  assert_int_equal(total, 16);
  n = test_unhex("40", buf, sizeof(buf));
  assert_int_equal(moqc__lite_message_size(buf, buf + n, &total),
                   MOQC_ERR_INCOMPLETE);
  /* 64 MiB is the largest accepted Length; one more is refused before any body
   * arrives. */
  n = test_unhex("84 00 00 00", buf, sizeof(buf));
  assert_int_equal(moqc__lite_message_size(buf, buf + n, &total), 0);
  assert_int_equal(total, 4 + (64u << 20));
  n = test_unhex("84 00 00 01", buf, sizeof(buf));
  assert_int_equal(moqc__lite_message_size(buf, buf + n, &total),
                   MOQC_ERR_MALFORMED);
}

/* ---- lite-05 SETUP */

static void test_setup_vectors(void **state) {
  moqc__lite_setup s;
  (void)state;
  /* moq-lite-05.txt, connection 0, stream 2 (client SETUP): Origin only. */
  lt_check(&vec, "0B 01 05 08 C0 0A A9 E6 56 8B 8F CF", MOQC_LITE_05,
           lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.present, MOQC_LITE_SETUP_HAS_ORIGIN);
  assert_int_equal(s.origin, 0xAA9E6568B8FCFULL);
  assert_int_equal(s.n_unknown, 0);
  /* moq-lite-05.txt, connection 1, stream 3 (relay SETUP). */
  lt_check(&vec, "0B 01 05 08 C0 1D 06 A8 C1 44 C0 79", MOQC_LITE_05,
           lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.origin, 8170096191389817ULL);
  /* Spec 7.1: P's SETUP with Probe = Report and Origin P. */
  lt_check(&vec, "0E 02 01 01 01 05 08 C0 12 34 56 78 9A BC DE", MOQC_LITE_05,
           lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.present,
                   MOQC_LITE_SETUP_HAS_PROBE | MOQC_LITE_SETUP_HAS_ORIGIN);
  assert_int_equal(s.probe, MOQC_LITE_PROBE_REPORT);
  assert_int_equal(s.origin, 0x00123456789ABCDEULL);
  /* Spec 7.1: R's SETUP. */
  lt_check(&vec, "0E 02 01 01 01 05 08 C0 00 0A 0B 0C 0D 0E 0F", MOQC_LITE_05,
           lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.origin, 0x00000A0B0C0D0E0FULL);
  /* Spec 7.1: S over WebSocket, no Probe. */
  lt_check(&vec, "0B 01 05 08 C0 00 11 11 22 22 33 33", MOQC_LITE_05,
           lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.origin, 0x0000111122223333ULL);
  /* Built from spec 4.2: Path "/anon?jwt=x" and Role Subscriber (a Rust
   * raw-QUIC client). */
  lt_check(&vec, "11 02 02 0B 2F 61 6E 6F 6E 3F 6A 77 74 3D 78 03 01 02",
           MOQC_LITE_05, lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.present,
                   MOQC_LITE_SETUP_HAS_PATH | MOQC_LITE_SETUP_HAS_ROLE);
  lt_str_eq(s.path, "/anon?jwt=x");
  assert_int_equal(s.role, MOQC_LITE_ROLE_SUBSCRIBER);
  /* Empty SETUP. */
  lt_check(&vec, "01 00", MOQC_LITE_05, lt_dec_setup, lt_enc_setup, &s);
  assert_int_equal(s.present, 0);
}

static void test_setup_unknown_and_malformed(void **state) {
  moqc__lite_setup s;
  uint8_t buf[512];
  size_t n = 0;
  const uint8_t *p;
  (void)state;
  /* Unknown ids (0x4 Cost is lite-06 only, 0x99 unknown) are skipped. */
  {
    uint8_t b[32];
    size_t k =
        test_unhex("0C 03 04 01 07 40 99 02 AA BB 05 01 2A", b, sizeof(b));
    p = b;
    assert_int_equal(moqc__lite_decode_setup(&p, b + k, MOQC_LITE_05, &s), 0);
    assert_int_equal(s.n_unknown, 2);
    assert_int_equal(s.present, MOQC_LITE_SETUP_HAS_ORIGIN);
    assert_int_equal(s.origin, 42);
  }
  /* Duplicate parameter (known, then unknown). */
  lt_reject("07 02 05 01 01 05 01 02", MOQC_LITE_05, lt_dec_setup, &s,
            MOQC_ERR_MALFORMED);
  lt_reject("05 02 09 00 09 00", MOQC_LITE_05, lt_dec_setup, &s,
            MOQC_ERR_MALFORMED);
  /* A numeric value that does not fill its length exactly, or runs past it. */
  lt_reject("05 01 05 02 01 00", MOQC_LITE_05, lt_dec_setup, &s,
            MOQC_ERR_MALFORMED);
  lt_reject("04 01 05 01 40", MOQC_LITE_05, lt_dec_setup, &s,
            MOQC_ERR_MALFORMED);
  /* A parameter length past the body. */
  lt_reject("04 01 09 05 00", MOQC_LITE_05, lt_dec_setup, &s,
            MOQC_ERR_MALFORMED);
  /* Bad UTF-8 in Path. */
  lt_reject("05 01 02 02 C0 80", MOQC_LITE_05, lt_dec_setup, &s,
            MOQC_ERR_MALFORMED);
  /* Trailing bytes after the parameters; body ending before the count. */
  lt_reject("02 00 00", MOQC_LITE_05, lt_dec_setup, &s, MOQC_ERR_MALFORMED);
  lt_reject("00", MOQC_LITE_05, lt_dec_setup, &s, MOQC_ERR_MALFORMED);
  /* SETUP exists only in lite-05. */
  lt_reject("01 00", MOQC_LITE_04, lt_dec_setup, &s, MOQC_ERR_INVALID_ARGUMENT);
  /* 64 parameters are fine, 65 are too many. */
  for (int count = 64; count <= 65; count++) {
    uint8_t body[400];
    size_t b = 0;
    body[b++] = 0x40;
    body[b++] = (uint8_t)count;
    for (int i = 0; i < count; i++) {
      body[b++] = 0x41; /* 2-byte id 0x100 + i: unknown and distinct */
      body[b++] = (uint8_t)i;
      body[b++] = 0; /* empty value */
    }
    n = 0;
    buf[n++] = (uint8_t)(0x40 | (b >> 8));
    buf[n++] = (uint8_t)b;
    memcpy(buf + n, body, b);
    n += b;
    p = buf;
    assert_int_equal(moqc__lite_decode_setup(&p, buf + n, MOQC_LITE_05, &s),
                     count == 64 ? 0 : MOQC_ERR_MALFORMED);
    if (count == 64) {
      assert_int_equal(s.n_unknown, 64);
    }
  }
  /* Encoder checks. */
  {
    moqc__writer w;
    moqc__lite_setup m = {0};
    m.present = MOQC_LITE_SETUP_HAS_PATH;
    m.path.ptr = "\xc0\x80";
    m.path.len = 2;
    moqc__writer_init(&w, buf, sizeof(buf));
    assert_int_equal(moqc__lite_encode_setup(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.present = 0x10;
    assert_int_equal(moqc__lite_encode_setup(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.present = 0;
    assert_int_equal(moqc__lite_encode_setup(&w, MOQC_LITE_03, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.present = MOQC_LITE_SETUP_HAS_ORIGIN;
    m.origin = MOQC_VARINT_MAX + 1;
    assert_int_equal(moqc__lite_encode_setup(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    assert_ptr_equal(w.p, buf);
  }
}

/* ---- legacy handshake */

static void collect_params(const moqc__lite_legacy_params *lp,
                           moqc__lite_legacy_param *out, size_t cap) {
  const uint8_t *p = lp->params, *end = lp->params + lp->params_len;
  size_t i = 0;
  while (moqc__lite_legacy_param_next(&p, end, &out[i]) == 0) {
    i++;
    assert_true(i <= cap);
  }
  assert_int_equal(i, lp->count);
  assert_ptr_equal(p, end);
}

static void test_legacy_client_setup(void **state) {
  moqc__lite_client_setup cs;
  moqc__lite_legacy_param prm[8];
  uint8_t out[128];
  moqc__writer w;
  (void)state;
  /* legacy.txt, connection 0, stream 0 C->S, after the 0x20 stream type
   * (@moq/lite 0.2.2). */
  lt_check(&vec,
           "00 2C 03 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 C0 00 00 "
           "00 FF 00 00 0E"
           " 02 02 80 00 A4 55 07 0B 6D 6F 71 2D 6C 69 74 65 2D 6A 73",
           MOQC_LITE_NONE, lt_dec_client_setup, NULL, &cs);
  assert_int_equal(cs.n_versions, 3);
  assert_int_equal(cs.versions[0], MOQC_LITE_CODE_02);
  assert_int_equal(cs.versions[1], MOQC_LITE_CODE_01);
  assert_int_equal(cs.versions[2], MOQC_LITE_CODE_MOQT_14);
  assert_int_equal(cs.params.count, 2);
  collect_params(&cs.params, prm, 8);
  assert_int_equal(prm[0].key, MOQC_LITE_LEGACY_PARAM_MAX_REQUEST_ID);
  assert_int_equal(prm[0].value, 42069);
  assert_int_equal(prm[1].key, MOQC_LITE_LEGACY_PARAM_IMPLEMENTATION);
  lt_str_eq(prm[1].bytes, "moq-lite-js");
  assert_int_equal(moqc__lite_legacy_select(&cs, MOQC_LITE_ALL_VERSIONS),
                   MOQC_LITE_02);
  assert_int_equal(moqc__lite_legacy_select(&cs, MOQC_LITE_BIT(MOQC_LITE_01)),
                   MOQC_LITE_01);
  assert_int_equal(moqc__lite_legacy_select(&cs, MOQC_LITE_BIT(MOQC_LITE_05)),
                   MOQC_LITE_NONE);
  /* Re-encode from the collected parameters: same bytes. */
  cs.enc_params = prm;
  cs.n_enc_params = cs.params.count;
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_client_setup(&w, &cs), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)vec.len);
  assert_memory_equal(out, vec.bytes, vec.len);
  for (size_t cap = 0; cap < vec.len; cap++) {
    moqc__writer_init(&w, out, cap);
    assert_int_equal(moqc__lite_encode_client_setup(&w, &cs), MOQC_ERR_NOBUF);
    assert_ptr_equal(w.p, out);
  }

  /* legacy-moql.txt, connection 0, stream 0 (@moq/net 0.3.4): three parameters.
   */
  lt_check(&vec,
           "00 31 03 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 C0 00 00 "
           "00 FF 00 00 0E"
           " 03 02 80 00 A4 55 80 04 0B 5A 01 07 0B 6D 6F 71 2D 6C 69 74 65 2D "
           "6A 73",
           MOQC_LITE_NONE, lt_dec_client_setup, NULL, &cs);
  collect_params(&cs.params, prm, 8);
  assert_int_equal(prm[1].key, 0x40b5a);
  assert_int_equal(prm[1].value, 1);
  cs.enc_params = prm;
  cs.n_enc_params = cs.params.count;
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_client_setup(&w, &cs), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)vec.len);
  assert_memory_equal(out, vec.bytes, vec.len);

  /* u16 length that leaves bytes over, or cuts the parameters: MALFORMED. */
  lt_reject("00 02 01 01", MOQC_LITE_NONE, lt_dec_client_setup, &cs,
            MOQC_ERR_MALFORMED);
  lt_reject("00 04 01 01 00 00", MOQC_LITE_NONE, lt_dec_client_setup, &cs,
            MOQC_ERR_MALFORMED);
  lt_reject("00 04 01 01 01 07", MOQC_LITE_NONE, lt_dec_client_setup, &cs,
            MOQC_ERR_MALFORMED);
  /* Too many versions. */
  lt_reject("00 13 11 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 00",
            MOQC_LITE_NONE, lt_dec_client_setup, &cs, MOQC_ERR_MALFORMED);
  /* Odd-key bytes running past the body. */
  lt_reject("00 05 00 01 01 05 41", MOQC_LITE_NONE, lt_dec_client_setup, &cs,
            MOQC_ERR_MALFORMED);
}

static void test_legacy_server_setup(void **state) {
  moqc__lite_server_setup ss;
  moqc__lite_legacy_param prm[8];
  uint8_t out[128];
  moqc__writer w;
  (void)state;
  /* Spec 2.3 / 7.5: what moq-relay answers for lite-02 (empty lite parameter
   * list). */
  lt_check(&vec, "21 00 09 C0 00 00 00 FF 0D AD 02 00", MOQC_LITE_NONE,
           lt_dec_server_setup, NULL, &ss);
  assert_int_equal(ss.version, MOQC_LITE_CODE_02);
  assert_int_equal(ss.params.count, 0);
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_server_setup(&w, &ss), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)vec.len);
  assert_memory_equal(out, vec.bytes, vec.len);
  for (size_t cap = 0; cap < vec.len; cap++) {
    moqc__writer_init(&w, out, cap);
    assert_int_equal(moqc__lite_encode_server_setup(&w, &ss), MOQC_ERR_NOBUF);
    assert_ptr_equal(w.p, out);
  }
  /* legacy.txt, connection 0, stream 0 S->C (the npm relay half's reply). */
  lt_check(&vec,
           "21 00 20 C0 00 00 00 FF 0D AD 02 03 02 80 00 A4 55 80 04 0B 5A 01 "
           "07 0B 6D 6F 71 2D"
           " 6C 69 74 65 2D 6A 73",
           MOQC_LITE_NONE, lt_dec_server_setup, NULL, &ss);
  assert_int_equal(ss.version, MOQC_LITE_CODE_02);
  collect_params(&ss.params, prm, 8);
  assert_int_equal(prm[0].value, 42069);
  assert_int_equal(prm[1].key, 0x40b5a);
  lt_str_eq(prm[2].bytes, "moq-lite-js");
  ss.enc_params = prm;
  ss.n_enc_params = 3;
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_server_setup(&w, &ss), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)vec.len);
  assert_memory_equal(out, vec.bytes, vec.len);
  /* Wrong type byte; trailing byte inside the length. */
  lt_reject("20 00 01 00", MOQC_LITE_NONE, lt_dec_server_setup, &ss,
            MOQC_ERR_MALFORMED);
  lt_reject("21 00 03 01 00 00", MOQC_LITE_NONE, lt_dec_server_setup, &ss,
            MOQC_ERR_MALFORMED);
}

static void test_session_info(void **state) {
  moqc__lite_session_info si;
  (void)state;
  /* Built from spec 4.11 (nobody sends it): bitrate 1,000,000. */
  lt_check(&vec, "04 80 0F 42 40", MOQC_LITE_02, lt_dec_session_info,
           lt_enc_session_info, &si);
  assert_int_equal(si.bitrate, 1000000);
  lt_check(&vec, "01 00", MOQC_LITE_01, lt_dec_session_info,
           lt_enc_session_info, &si);
  lt_reject("01 00", MOQC_LITE_03, lt_dec_session_info, &si,
            MOQC_ERR_INVALID_ARGUMENT);
  lt_reject("02 00 00", MOQC_LITE_02, lt_dec_session_info, &si,
            MOQC_ERR_MALFORMED);
  /* 2^53 is above the JS limit. */
  lt_reject("08 C0 20 00 00 00 00 00 00", MOQC_LITE_02, lt_dec_session_info,
            &si, MOQC_ERR_MALFORMED);
}

/* ---- announce */

static void test_announce_request(void **state) {
  moqc__lite_announce_request r;
  (void)state;
  /* moq-lite-05.txt, connection 0, stream 1 S->C. */
  lt_check(&vec, "09 00 C0 0C C0 18 33 9A 92 26", MOQC_LITE_05,
           lt_dec_announce_request, lt_enc_announce_request, &r);
  lt_str_eq(r.prefix, "");
  assert_int_equal(r.exclude_hop, 0xCC018339A9226ULL);
  /* Spec 7.2: S asks for prefix "demo", excluding itself. */
  lt_check(&vec, "0D 04 64 65 6D 6F C0 00 11 11 22 22 33 33", MOQC_LITE_05,
           lt_dec_announce_request, lt_enc_announce_request, &r);
  lt_str_eq(r.prefix, "demo");
  assert_int_equal(r.exclude_hop, 0x0000111122223333ULL);
  /* moq-lite-04.txt, connection 0, stream 1 S->C. */
  lt_check(&vec, "09 00 C0 05 AF 53 41 DA B8 BE", MOQC_LITE_04,
           lt_dec_announce_request, lt_enc_announce_request, &r);
  assert_int_equal(r.exclude_hop, 0x5AF5341DAB8BEULL);
  /* moq-lite-03.txt, stream 1 and legacy.txt, stream 1: prefix only. */
  lt_check(&vec, "01 00", MOQC_LITE_03, lt_dec_announce_request,
           lt_enc_announce_request, &r);
  assert_int_equal(r.exclude_hop, 0);
  lt_check(&vec, "01 00", MOQC_LITE_02, lt_dec_announce_request,
           lt_enc_announce_request, &r);
  /* lite-03 has no Exclude Hop: the extra byte is trailing. */
  lt_reject("02 00 00", MOQC_LITE_03, lt_dec_announce_request, &r,
            MOQC_ERR_MALFORMED);
  /* lite-04 needs it: body ends early. */
  lt_reject("01 00", MOQC_LITE_04, lt_dec_announce_request, &r,
            MOQC_ERR_MALFORMED);
  /* Non-normalized prefixes. */
  lt_reject("07 05 2F 64 65 6D 6F 00", MOQC_LITE_05, lt_dec_announce_request,
            &r, MOQC_ERR_MALFORMED);
  lt_reject("05 03 61 2F 2F 00", MOQC_LITE_05, lt_dec_announce_request, &r,
            MOQC_ERR_MALFORMED);
  lt_reject("02 01 2F", MOQC_LITE_03, lt_dec_announce_request, &r,
            MOQC_ERR_MALFORMED);
}

static void test_announce_ok(void **state) {
  moqc__lite_announce_ok ok;
  (void)state;
  /* moq-lite-05.txt, connection 0, stream 1 C->S: publisher hop, 1 active. */
  lt_check(&vec, "09 C0 0A A9 E6 56 8B 8F CF 01", MOQC_LITE_05,
           lt_dec_announce_ok, lt_enc_announce_ok, &ok);
  assert_int_equal(ok.hop_id, 0xAA9E6568B8FCFULL);
  assert_int_equal(ok.active_count, 1);
  /* moq-lite-05.txt, connection 1, stream 1 C->S: 0 active. */
  lt_check(&vec, "09 C0 06 8F CC 36 3E 35 83 00", MOQC_LITE_05,
           lt_dec_announce_ok, lt_enc_announce_ok, &ok);
  assert_int_equal(ok.active_count, 0);
  /* Spec 7.2: R answers S with 1 active. */
  lt_check(&vec, "09 C0 00 0A 0B 0C 0D 0E 0F 01", MOQC_LITE_05,
           lt_dec_announce_ok, lt_enc_announce_ok, &ok);
  assert_int_equal(ok.hop_id, 0x00000A0B0C0D0E0FULL);
  lt_reject("02 00 00", MOQC_LITE_04, lt_dec_announce_ok, &ok,
            MOQC_ERR_INVALID_ARGUMENT);
  lt_reject("03 00 00 00", MOQC_LITE_05, lt_dec_announce_ok, &ok,
            MOQC_ERR_MALFORMED);
  lt_reject("01 00", MOQC_LITE_05, lt_dec_announce_ok, &ok, MOQC_ERR_MALFORMED);
}

static void test_announce_broadcast(void **state) {
  moqc__lite_announce a;
  (void)state;
  /* moq-lite-05.txt, connection 0, stream 1 C->S: active then ended, 0 hops. */
  lt_check(&vec, "0B 01 " DEMO_BBB " 00", MOQC_LITE_05, lt_dec_announce,
           lt_enc_announce, &a);
  assert_int_equal(a.status, MOQC_LITE_ANNOUNCE_ACTIVE);
  lt_str_eq(a.suffix, "demo/bbb");
  assert_int_equal(a.n_hops, 0);
  lt_check(&vec, "0B 00 " DEMO_BBB " 00", MOQC_LITE_05, lt_dec_announce,
           lt_enc_announce, &a);
  assert_int_equal(a.status, MOQC_LITE_ANNOUNCE_ENDED);
  /* Spec 7.2: R -> S, suffix "bbb", 1 hop = P. */
  lt_check(&vec, "0E 01 03 62 62 62 01 C0 12 34 56 78 9A BC DE", MOQC_LITE_05,
           lt_dec_announce, lt_enc_announce, &a);
  lt_str_eq(a.suffix, "bbb");
  assert_int_equal(a.n_hops, 1);
  assert_int_equal(a.hops[0], 0x00123456789ABCDEULL);
  /* lite-05 accepts restart (2). */
  lt_check(&vec, "06 02 03 62 62 62 00", MOQC_LITE_05, lt_dec_announce,
           lt_enc_announce, &a);
  assert_int_equal(a.status, MOQC_LITE_ANNOUNCE_RESTART);
  lt_reject("06 02 03 62 62 62 00", MOQC_LITE_04, lt_dec_announce, &a,
            MOQC_ERR_MALFORMED);
  lt_reject("06 03 03 62 62 62 00", MOQC_LITE_05, lt_dec_announce, &a,
            MOQC_ERR_MALFORMED);
  /* moq-lite-04.txt, connection 0, stream 1 C->S: the sender appended itself.
   */
  lt_check(&vec, "13 01 " DEMO_BBB " 01 C0 17 8B 71 28 4E 46 F3", MOQC_LITE_04,
           lt_dec_announce, lt_enc_announce, &a);
  assert_int_equal(a.n_hops, 1);
  assert_int_equal(a.hops[0], 0x178B71284E46F3ULL);
  lt_check(&vec, "0B 00 " DEMO_BBB " 00", MOQC_LITE_04, lt_dec_announce,
           lt_enc_announce, &a);
  /* moq-lite-03.txt, connection 0, stream 1 C->S: hop count 1 without ids. */
  lt_check(&vec, "0B 01 " DEMO_BBB " 01", MOQC_LITE_03, lt_dec_announce,
           lt_enc_announce, &a);
  assert_int_equal(a.n_hops, 1);
  lt_check(&vec, "0B 00 " DEMO_BBB " 00", MOQC_LITE_03, lt_dec_announce,
           lt_enc_announce, &a);
  /* legacy.txt, connection 0, stream 1 C->S: lite-02 ended, no hop field. */
  lt_check(&vec, "0A 00 " DEMO_BBB, MOQC_LITE_02, lt_dec_announce,
           lt_enc_announce, &a);
  assert_int_equal(a.status, MOQC_LITE_ANNOUNCE_ENDED);
  lt_str_eq(a.suffix, "demo/bbb");
  /* The lite-03 form read as lite-04 ends early (the id is missing). */
  lt_reject("0B 01 " DEMO_BBB " 01", MOQC_LITE_04, lt_dec_announce, &a,
            MOQC_ERR_MALFORMED);
  /* 33 hops are too many (lite-03 count only, so no ids needed). */
  lt_reject("0B 01 " DEMO_BBB " 21", MOQC_LITE_03, lt_dec_announce, &a,
            MOQC_ERR_MALFORMED);
  /* 33 path parts ("a/a/.../a") are too many; 32 are fine. */
  for (int parts = 32; parts <= 33; parts++) {
    uint8_t body[128], msg[140];
    char path[80];
    size_t plen = 0;
    moqc__writer bw, mw;
    const uint8_t *p = msg;
    for (int i = 0; i < parts; i++) {
      if (i > 0) {
        path[plen++] = '/';
      }
      path[plen++] = 'a';
    }
    moqc__writer_init(&bw, body, sizeof(body));
    moqc__put_u8(&bw, 1);
    moqc__put_lbytes(&bw, path, plen);
    moqc__put_varint(&bw, 0);
    moqc__writer_init(&mw, msg, sizeof(msg));
    moqc__put_lbytes(&mw, body, (size_t)moqc__writer_result(&bw));
    assert_int_equal(moqc__lite_decode_announce(&p, mw.p, MOQC_LITE_05, &a),
                     parts == 32 ? 0 : MOQC_ERR_MALFORMED);
    assert_ptr_equal(p, parts == 32 ? mw.p : msg);
  }
  /* Encoder refusals. */
  {
    uint8_t out[64];
    moqc__writer w;
    moqc__lite_announce m = {0};
    moqc__writer_init(&w, out, sizeof(out));
    m.status = MOQC_LITE_ANNOUNCE_RESTART;
    assert_int_equal(moqc__lite_encode_announce(&w, MOQC_LITE_04, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.status = MOQC_LITE_ANNOUNCE_ACTIVE;
    m.suffix = moqc_str_c("a/");
    assert_int_equal(moqc__lite_encode_announce(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.suffix = moqc_str_c("a");
    m.n_hops = 33;
    assert_int_equal(moqc__lite_encode_announce(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(w.p, out);
  }
}

static void test_announce_init(void **state) {
  moqc__lite_announce_init ai;
  moqc_str sfx[4];
  const uint8_t *p, *end;
  size_t k = 0;
  uint8_t out[64];
  moqc__writer w;
  (void)state;
  /* legacy.txt, connection 0, stream 1 C->S: count 1, "demo/bbb". */
  lt_check(&vec, "0A 01 " DEMO_BBB, MOQC_LITE_02, lt_dec_announce_init, NULL,
           &ai);
  assert_int_equal(ai.count, 1);
  p = ai.suffixes;
  end = ai.suffixes + ai.suffixes_len;
  while (moqc__lite_announce_init_next(&p, end, &sfx[k]) == 0) {
    k++;
  }
  assert_int_equal(k, 1);
  lt_str_eq(sfx[0], "demo/bbb");
  ai.enc_suffixes = sfx;
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_announce_init(&w, MOQC_LITE_02, &ai), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)vec.len);
  assert_memory_equal(out, vec.bytes, vec.len);
  for (size_t cap = 0; cap < vec.len; cap++) {
    moqc__writer_init(&w, out, cap);
    assert_int_equal(moqc__lite_encode_announce_init(&w, MOQC_LITE_02, &ai),
                     MOQC_ERR_NOBUF);
    assert_ptr_equal(w.p, out);
  }
  /* legacy.txt, connection 1, stream 1 C->S: empty initial set. */
  lt_check(&vec, "01 00", MOQC_LITE_02, lt_dec_announce_init,
           lt_enc_announce_init, &ai);
  assert_int_equal(ai.count, 0);
  /* Two suffixes (built), lite-01. */
  lt_check(&vec, "05 02 01 61 01 62", MOQC_LITE_01, lt_dec_announce_init, NULL,
           &ai);
  assert_int_equal(ai.count, 2);
  /* Count larger than the suffixes present; a bad suffix; wrong version. */
  lt_reject("04 03 01 61 00", MOQC_LITE_02, lt_dec_announce_init, &ai,
            MOQC_ERR_MALFORMED);
  lt_reject("03 01 01 2F", MOQC_LITE_02, lt_dec_announce_init, &ai,
            MOQC_ERR_MALFORMED);
  lt_reject("01 00", MOQC_LITE_03, lt_dec_announce_init, &ai,
            MOQC_ERR_INVALID_ARGUMENT);
}

/* ---- track */

static void test_track(void **state) {
  moqc__lite_track t;
  moqc__lite_track_info ti;
  (void)state;
  /* moq-lite-05.txt, connection 0, stream 5 S->C (= spec 7.3). */
  lt_check(&vec, "0F " DEMO_BBB " " VIDEO, MOQC_LITE_05, lt_dec_track,
           lt_enc_track, &t);
  lt_str_eq(t.broadcast, "demo/bbb");
  lt_str_eq(t.track, "video");
  /* moq-lite-05.txt, connection 0, stream 5 C->S (= spec 7.3). */
  lt_check(&vec, "06 01 00 67 10 43 E8", MOQC_LITE_05, lt_dec_track_info,
           lt_enc_track_info, &ti);
  assert_int_equal(ti.priority, 1);
  assert_false(ti.ordered);
  assert_int_equal(ti.max_latency_ms, 10000);
  assert_int_equal(ti.timescale, 1000);
  /* Bad bool, zero timescale, trailing byte, early end, wrong version. */
  lt_reject("06 01 02 67 10 43 E8", MOQC_LITE_05, lt_dec_track_info, &ti,
            MOQC_ERR_MALFORMED);
  lt_reject("05 01 00 67 10 00", MOQC_LITE_05, lt_dec_track_info, &ti,
            MOQC_ERR_MALFORMED);
  lt_reject("07 01 00 67 10 43 E8 00", MOQC_LITE_05, lt_dec_track_info, &ti,
            MOQC_ERR_MALFORMED);
  lt_reject("05 01 00 67 10 43 E8", MOQC_LITE_05, lt_dec_track_info, &ti,
            MOQC_ERR_MALFORMED);
  lt_reject("06 01 00 67 10 43 E8", MOQC_LITE_04, lt_dec_track_info, &ti,
            MOQC_ERR_INVALID_ARGUMENT);
  /* Bad UTF-8 track name. */
  lt_reject("05 01 61 02 C0 80", MOQC_LITE_05, lt_dec_track, &t,
            MOQC_ERR_MALFORMED);
  /* A Length above 64 MiB is refused before the body arrives. */
  lt_reject("84 00 00 01", MOQC_LITE_05, lt_dec_track, &t, MOQC_ERR_MALFORMED);
  lt_reject("0F " DEMO_BBB " " VIDEO, MOQC_LITE_04, lt_dec_track, &t,
            MOQC_ERR_INVALID_ARGUMENT);
  {
    uint8_t out[32];
    moqc__writer w;
    moqc__lite_track_info m = {1, false, MOQC_JS_INT_MAX, 0};
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__lite_encode_track_info(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.timescale = MOQC_JS_INT_MAX + 1;
    assert_int_equal(moqc__lite_encode_track_info(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    m.timescale = MOQC_JS_INT_MAX;
    assert_int_equal(moqc__lite_encode_track_info(&w, MOQC_LITE_05, &m), 0);
    assert_int_equal(moqc__writer_result(&w), MOQC_LITE_MAX_TRACK_INFO_SIZE);
  }
}

/* ---- subscribe */

static void test_subscribe(void **state) {
  moqc__lite_subscribe s;
  (void)state;
  /* moq-lite-05.txt connection 1 stream 8, moq-lite-04.txt and moq-lite-03.txt
   * connection 1 stream 4: the same 21-byte SUBSCRIBE. */
  for (moqc_lite_version v = MOQC_LITE_03; v <= MOQC_LITE_05; v++) {
    lt_check(&vec, "15 00 " DEMO_BBB " " VIDEO " 01 00 00 00 00", v,
             lt_dec_subscribe, lt_enc_subscribe, &s);
    assert_int_equal(s.id, 0);
    lt_str_eq(s.broadcast, "demo/bbb");
    lt_str_eq(s.track, "video");
    assert_int_equal(s.priority, 1);
    assert_false(s.ordered);
    assert_int_equal(s.max_latency_ms, 0);
    assert_false(s.has_start);
    assert_false(s.has_end);
  }
  /* legacy.txt / legacy-moql.txt connection 1 stream 8: lite-02, priority only.
   */
  lt_check(&vec, "11 00 " DEMO_BBB " " VIDEO " 01", MOQC_LITE_02,
           lt_dec_subscribe, lt_enc_subscribe, &s);
  assert_int_equal(s.priority, 1);
  lt_check(&vec, "11 00 " DEMO_BBB " " VIDEO " 01", MOQC_LITE_01,
           lt_dec_subscribe, lt_enc_subscribe, &s);
  /* Built: id 7, ordered, latency 500, start group 5 (wire 6), end group 9
   * (wire 10). */
  lt_check(&vec, "16 07 " DEMO_BBB " " VIDEO " 80 01 41 F4 06 0A", MOQC_LITE_05,
           lt_dec_subscribe, lt_enc_subscribe, &s);
  assert_int_equal(s.id, 7);
  assert_int_equal(s.priority, 0x80);
  assert_true(s.ordered);
  assert_int_equal(s.max_latency_ms, 500);
  assert_true(s.has_start);
  assert_int_equal(s.start_group, 5);
  assert_true(s.has_end);
  assert_int_equal(s.end_group, 9);
  /* The lite-05 form is too long for lite-02 (trailing) and the lite-02 form
   * too short for lite-05 (early end); bad ordered byte. */
  lt_reject("15 00 " DEMO_BBB " " VIDEO " 01 00 00 00 00", MOQC_LITE_02,
            lt_dec_subscribe, &s, MOQC_ERR_MALFORMED);
  lt_reject("11 00 " DEMO_BBB " " VIDEO " 01", MOQC_LITE_05, lt_dec_subscribe,
            &s, MOQC_ERR_MALFORMED);
  lt_reject("15 00 " DEMO_BBB " " VIDEO " 01 02 00 00 00", MOQC_LITE_05,
            lt_dec_subscribe, &s, MOQC_ERR_MALFORMED);
  /* Group start of 2^53 on the wire is above the JS limit. */
  lt_reject("1C 00 " DEMO_BBB " " VIDEO " 01 00 00 C0 20 00 00 00 00 00 00 00",
            MOQC_LITE_05, lt_dec_subscribe, &s, MOQC_ERR_MALFORMED);
  /* A long path needs a 2-byte Length: the encoder slides the body behind it.
   */
  {
    char path[201];
    uint8_t out[300];
    const uint8_t *p = out;
    moqc__writer w;
    moqc__lite_subscribe m = {0}, back;
    memset(path, 'x', 200);
    path[200] = 0;
    m.id = 1ULL << 40;
    m.broadcast = moqc_str_c(path);
    m.track = moqc_str_c("video");
    m.has_end = true;
    m.end_group = 3;
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__lite_encode_subscribe(&w, MOQC_LITE_05, &m), 0);
    assert_int_equal(out[0] & 0xc0, 0x40);
    assert_int_equal(moqc__lite_decode_subscribe(&p, w.p, MOQC_LITE_05, &back),
                     0);
    assert_ptr_equal(p, w.p);
    assert_int_equal(back.id, m.id);
    assert_int_equal(back.broadcast.len, 200);
    assert_true(back.has_end);
    assert_int_equal(back.end_group, 3);
    /* Every buffer too small by one or more is NOBUF with nothing written. */
    for (size_t cap = 0; cap < (size_t)(w.p - out); cap++) {
      moqc__writer w2;
      moqc__writer_init(&w2, out, cap);
      assert_int_equal(moqc__lite_encode_subscribe(&w2, MOQC_LITE_05, &m),
                       MOQC_ERR_NOBUF);
      assert_ptr_equal(w2.p, out);
    }
    m.has_start = true;
    m.start_group = MOQC_JS_INT_MAX;
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__lite_encode_subscribe(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    assert_ptr_equal(w.p, out);
  }
}

static void test_subscribe_update(void **state) {
  moqc__lite_subscribe_update u;
  (void)state;
  /* Built from spec 4.5 (no client sent one in the captures). */
  lt_check(&vec, "06 02 01 41 F4 00 0B", MOQC_LITE_05, lt_dec_subscribe_update,
           lt_enc_subscribe_update, &u);
  assert_int_equal(u.priority, 2);
  assert_true(u.ordered);
  assert_int_equal(u.max_latency_ms, 500);
  assert_false(u.has_start);
  assert_true(u.has_end);
  assert_int_equal(u.end_group, 10);
  lt_check(&vec, "05 00 00 00 00 00", MOQC_LITE_03, lt_dec_subscribe_update,
           lt_enc_subscribe_update, &u);
  lt_reject("05 00 00 00 00 00", MOQC_LITE_02, lt_dec_subscribe_update, &u,
            MOQC_ERR_INVALID_ARGUMENT);
  lt_reject("05 00 05 00 00 00", MOQC_LITE_04, lt_dec_subscribe_update, &u,
            MOQC_ERR_MALFORMED);
  lt_reject("06 00 00 00 00 00 00", MOQC_LITE_04, lt_dec_subscribe_update, &u,
            MOQC_ERR_MALFORMED);
}

static void test_subscribe_responses(void **state) {
  moqc__lite_subscribe_response r;
  (void)state;
  /* moq-lite-05.txt, connection 0, stream 13 C->S: OK/START group 0, then
   * END 2. */
  lt_check(&vec, "00 01 00", MOQC_LITE_05, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.kind, MOQC_LITE_SUBSCRIBE_OK);
  assert_int_equal(r.group, 0);
  lt_check(&vec, "01 01 02", MOQC_LITE_05, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.kind, MOQC_LITE_SUBSCRIBE_END);
  assert_int_equal(r.group, 2);
  /* Spec 7.3: END with exclusive end 1. */
  lt_check(&vec, "01 01 01", MOQC_LITE_05, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.group, 1);
  /* Built: DROP groups 3..4 with code 2 (old) on lite-05 (type 2) and lite-04
   * (type 1). */
  lt_check(&vec, "02 03 03 04 02", MOQC_LITE_05, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.kind, MOQC_LITE_SUBSCRIBE_DROP);
  assert_int_equal(r.drop_start, 3);
  assert_int_equal(r.drop_end, 4);
  assert_int_equal(r.error_code, 2);
  lt_check(&vec, "01 03 03 04 02", MOQC_LITE_04, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.kind, MOQC_LITE_SUBSCRIBE_DROP);
  /* moq-lite-04.txt and moq-lite-03.txt connection 0 stream 5 C->S:
   * SUBSCRIBE_OK. */
  for (moqc_lite_version v = MOQC_LITE_03; v <= MOQC_LITE_04; v++) {
    lt_check(&vec, "00 05 01 00 00 00 00", v, lt_dec_subscribe_response,
             lt_enc_subscribe_response, &r);
    assert_int_equal(r.kind, MOQC_LITE_SUBSCRIBE_OK);
    assert_int_equal(r.priority, 1);
    assert_false(r.ordered);
    assert_false(r.has_start);
    assert_false(r.has_end);
  }
  /* legacy.txt connection 0 stream 5 C->S: lite-02 untyped empty OK. */
  lt_check(&vec, "00", MOQC_LITE_02, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.kind, MOQC_LITE_SUBSCRIBE_OK);
  /* Built from spec 4.5: lite-01 untyped OK with publisher priority 1. */
  lt_check(&vec, "01 01", MOQC_LITE_01, lt_dec_subscribe_response,
           lt_enc_subscribe_response, &r);
  assert_int_equal(r.priority, 1);
  /* Unknown types: 3 on lite-05, 2 on lite-04. END does not exist before
   * lite-05. */
  lt_reject("03 01 00", MOQC_LITE_05, lt_dec_subscribe_response, &r,
            MOQC_ERR_MALFORMED);
  lt_reject("02 03 03 04 02", MOQC_LITE_04, lt_dec_subscribe_response, &r,
            MOQC_ERR_MALFORMED);
  lt_reject("01 01", MOQC_LITE_02, lt_dec_subscribe_response, &r,
            MOQC_ERR_MALFORMED);
  lt_reject("00 02 00 00", MOQC_LITE_05, lt_dec_subscribe_response, &r,
            MOQC_ERR_MALFORMED);
  lt_reject("00 05 01 02 00 00 00", MOQC_LITE_04, lt_dec_subscribe_response, &r,
            MOQC_ERR_MALFORMED);
  {
    uint8_t out[32];
    moqc__writer w;
    moqc__lite_subscribe_response m = {0};
    moqc__writer_init(&w, out, sizeof(out));
    m.kind = MOQC_LITE_SUBSCRIBE_END;
    assert_int_equal(moqc__lite_encode_subscribe_response(&w, MOQC_LITE_04, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.kind = MOQC_LITE_SUBSCRIBE_DROP;
    assert_int_equal(moqc__lite_encode_subscribe_response(&w, MOQC_LITE_02, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.kind = MOQC_LITE_SUBSCRIBE_OK;
    m.group = MOQC_JS_INT_MAX + 1;
    assert_int_equal(moqc__lite_encode_subscribe_response(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    assert_ptr_equal(w.p, out);
    /* The largest response fits MOQC_LITE_MAX_SUBSCRIBE_RESPONSE_SIZE. */
    m.priority = 255;
    m.ordered = true;
    m.max_latency_ms = MOQC_JS_INT_MAX;
    m.has_start = m.has_end = true;
    m.start_group = m.end_group = MOQC_JS_INT_MAX - 1;
    assert_int_equal(moqc__lite_encode_subscribe_response(&w, MOQC_LITE_04, &m),
                     0);
    assert_int_equal(moqc__writer_result(&w),
                     MOQC_LITE_MAX_SUBSCRIBE_RESPONSE_SIZE);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_versions_and_alpn),
      cmocka_unit_test(test_subprotocols),
      cmocka_unit_test(test_stream_types),
      cmocka_unit_test(test_message_size),
      cmocka_unit_test(test_setup_vectors),
      cmocka_unit_test(test_setup_unknown_and_malformed),
      cmocka_unit_test(test_legacy_client_setup),
      cmocka_unit_test(test_legacy_server_setup),
      cmocka_unit_test(test_session_info),
      cmocka_unit_test(test_announce_request),
      cmocka_unit_test(test_announce_ok),
      cmocka_unit_test(test_announce_broadcast),
      cmocka_unit_test(test_announce_init),
      cmocka_unit_test(test_track),
      cmocka_unit_test(test_subscribe),
      cmocka_unit_test(test_subscribe_update),
      cmocka_unit_test(test_subscribe_responses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
