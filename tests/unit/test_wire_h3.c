/*
 * HTTP/3 frames, SETTINGS, capsules, WebTransport stream headers, datagrams and error codes.
 * Bytes come from spec/dependencies.md 2.2-2.4 and spec/moq-lite-wire.md 1.1-1.2.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include <nghttp3/nghttp3.h>

#include "wire/h3.h"

/* Every truncation of buf[0..n) fails INCOMPLETE with the cursor untouched. */
static void check_truncations_frame(const uint8_t *buf, size_t n) {
  for (size_t k = 0; k < n; k++) {
    const uint8_t *p = buf;
    moqc__h3_frame f;
    assert_int_equal(moqc__h3_frame_decode(&p, buf + k, 4096, &f), MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(p, buf);
  }
}

/* SETTINGS as Chrome 156 sent them (dependencies.md 2.2: 0x1=65536, 0x6=16384, 0x7=100,
 * 0x33=1, 0xffd277=1, 0x2b603742=1, plus a GREASE setting), encoded as a frame. */
static void test_h3_settings_chrome(void **state) {
  uint8_t buf[64];
  size_t n = test_unhex("04 1C 01 80 01 00 00 06 80 00 40 00 07 40 64 33 01 80 FF D2 77 01 "
                        "AB 60 37 42 01 40 40 05",
                        buf, sizeof(buf));
  const uint8_t *p = buf;
  moqc__h3_frame f;
  moqc__h3_settings s;
  (void)state;
  assert_int_equal(n, 30);
  assert_int_equal(moqc__h3_frame_decode(&p, buf + n, 4096, &f), 0);
  assert_ptr_equal(p, buf + n);
  assert_int_equal(f.type, MOQC__H3_SETTINGS);
  assert_int_equal(f.len, 28);
  assert_int_equal(moqc__h3_settings_decode(f.payload, f.len, &s), 0);
  assert_int_equal(s.qpack_max_table_capacity, 65536);
  assert_int_equal(s.max_field_section_size, 16384);
  assert_int_equal(s.qpack_blocked_streams, 100);
  assert_true(s.h3_datagram);
  assert_true(s.h3_datagram_draft04);
  assert_true(s.enable_webtransport);
  assert_false(s.enable_connect_protocol);
  assert_int_equal(s.webtransport_max_sessions, 0); /* Chrome 156 negotiates draft-02 */
  assert_true(moqc__h3_is_grease(0x40));
  check_truncations_frame(buf, n);
  /* Too long for the caller's bound: malformed at once. */
  p = buf;
  assert_int_equal(moqc__h3_frame_decode(&p, buf + 3, 16, &f), MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf);
}

/* The server SETTINGS of dependencies.md 2.3 re-encode to fixed bytes and decode back. */
static void test_h3_settings_server(void **state) {
  uint8_t out[64], want[64];
  size_t n = test_unhex("04 1C 08 01 33 01 80 FF D2 77 01 AB 60 37 42 01 AB 60 37 43 10 "
                        "C0 00 00 00 C6 71 70 6A 10",
                        want, sizeof(want));
  moqc__h3_settings s, back;
  moqc__writer w;
  const uint8_t *p;
  moqc__h3_frame f;
  (void)state;
  moqc__h3_settings_server(&s, 16);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_settings(&w, &s);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)n);
  assert_memory_equal(out, want, n);
  p = out;
  assert_int_equal(moqc__h3_frame_decode(&p, out + n, 4096, &f), 0);
  assert_int_equal(moqc__h3_settings_decode(f.payload, f.len, &back), 0);
  assert_true(back.enable_connect_protocol && back.h3_datagram && back.h3_datagram_draft04 &&
              back.enable_webtransport);
  assert_int_equal(back.webtransport_max_sessions, 16);
  assert_int_equal(back.webtransport_max_sessions_draft02, 16);
  moqc__writer_init(&w, out, n - 1);
  moqc__h3_put_settings(&w, &s);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
}

static void test_h3_settings_rules(void **state) {
  static const struct {
    const char *hex;
    int rv;
  } cases[] = {
      {"02 00", MOQC_ERR_MALFORMED},       /* HTTP/2 ENABLE_PUSH */
      {"05 80 00 40 00", MOQC_ERR_MALFORMED}, /* HTTP/2 MAX_FRAME_SIZE */
      {"08 01 08 01", MOQC_ERR_MALFORMED}, /* repeated */
      {"08 02", MOQC_ERR_MALFORMED},       /* boolean must be 0/1 */
      {"33 05", MOQC_ERR_MALFORMED},
      {"AB 60 37 42 02", MOQC_ERR_MALFORMED},
      {"01", MOQC_ERR_MALFORMED}, /* truncated pair */
      {"06 40", MOQC_ERR_MALFORMED},
      {"21 07 3E 00 08 00", 0}, /* GREASE ids skipped; ENABLE_CONNECT_PROTOCOL=0 allowed */
      {"", 0},
      {"AC 7C F0 00 01 94 E9 CD 29 04", 0}, /* draft-15 WT_ENABLED, draft-13 WT_MAX_SESSIONS */
      {"AC 7C F0 00 03", MOQC_ERR_MALFORMED},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t buf[16];
    size_t n = test_unhex(cases[i].hex, buf, sizeof(buf));
    moqc__h3_settings s;
    print_message("settings %s\n", cases[i].hex);
    assert_int_equal(moqc__h3_settings_decode(buf, n, &s), cases[i].rv);
    if (i == 10) {
      assert_true(s.wt_enabled);
      assert_int_equal(s.wt_max_sessions_draft13, 4);
    }
  }
}

static void test_h3_frames(void **state) {
  uint8_t buf[32], out[32];
  size_t n;
  const uint8_t *p;
  moqc__h3_frame f;
  moqc__h3_frame_header h;
  moqc__writer w;
  uint64_t id;
  (void)state;
  /* GOAWAY id 4. */
  n = test_unhex("07 01 04", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__h3_frame_decode(&p, buf + n, 64, &f), 0);
  assert_int_equal(f.type, MOQC__H3_GOAWAY);
  assert_int_equal(moqc__h3_id_payload_decode(f.payload, f.len, &id), 0);
  assert_int_equal(id, 4);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_goaway(&w, 4);
  assert_int_equal(moqc__writer_result(&w), 3);
  assert_memory_equal(out, buf, 3);
  check_truncations_frame(buf, n);
  /* Payload must be exactly one varint. */
  assert_int_equal(moqc__h3_id_payload_decode((const uint8_t *)"\x04\x00", 2, &id),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__h3_id_payload_decode((const uint8_t *)"\x40", 1, &id),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__h3_id_payload_decode((const uint8_t *)"", 0, &id), MOQC_ERR_MALFORMED);
  /* DATA header streamed: type and length only. */
  n = test_unhex("00 44 00 AA", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__h3_frame_header_decode(&p, buf + n, &h), 0);
  assert_int_equal(h.type, MOQC__H3_DATA);
  assert_int_equal(h.length, 0x400);
  assert_ptr_equal(p, buf + 3);
  p = buf;
  assert_int_equal(moqc__h3_frame_header_decode(&p, buf + 2, &h), MOQC_ERR_INCOMPLETE);
  assert_ptr_equal(p, buf);
  /* Whole frame round trip with put_frame. */
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_frame(&w, MOQC__H3_HEADERS, "\x00\x00\xd9", 3);
  assert_int_equal(moqc__writer_result(&w), 5);
  assert_memory_equal(out, "\x01\x03\x00\x00\xd9", 5);
  assert_true(moqc__h3_frame_is_h2_only(0x02));
  assert_true(moqc__h3_frame_is_h2_only(0x09));
  assert_false(moqc__h3_frame_is_h2_only(MOQC__H3_GOAWAY));
  assert_true(moqc__h3_is_grease(0x21));
  assert_true(moqc__h3_is_grease(0x21 + 0x1f * 1000));
  assert_false(moqc__h3_is_grease(0x22));
  assert_false(moqc__h3_is_grease(0x02));
}

/* moq-lite-wire.md 1.2: WT stream headers for session 0 are 40 54 00 and 40 41 00. */
static void test_h3_wt_streams(void **state) {
  uint8_t buf[16], out[16];
  size_t n;
  const uint8_t *p;
  uint64_t type, sid;
  bool is_wt;
  moqc__writer w;
  (void)state;
  n = test_unhex("40 54 00 01", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__h3_uni_stream_decode(&p, buf + n, &type, &sid), 0);
  assert_int_equal(type, MOQC__H3_STREAM_WT_UNI);
  assert_int_equal(sid, 0);
  assert_ptr_equal(p, buf + 3); /* then the moq-lite bytes (01 = Setup) */
  for (size_t k = 0; k < 3; k++) {
    p = buf;
    assert_int_equal(moqc__h3_uni_stream_decode(&p, buf + k, &type, &sid), MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(p, buf);
  }
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_wt_uni_header(&w, 0);
  assert_int_equal(moqc__writer_result(&w), 3);
  assert_memory_equal(out, buf, 3);
  n = test_unhex("02", buf, sizeof(buf)); /* QPACK encoder stream */
  p = buf;
  assert_int_equal(moqc__h3_uni_stream_decode(&p, buf + n, &type, &sid), 0);
  assert_int_equal(type, MOQC__H3_STREAM_QPACK_ENCODER);
  n = test_unhex("40 41 04 06", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__h3_bidi_stream_decode(&p, buf + n, &is_wt, &sid), 0);
  assert_true(is_wt);
  assert_int_equal(sid, 4);
  assert_ptr_equal(p, buf + 3);
  for (size_t k = 0; k < 3; k++) {
    p = buf;
    assert_int_equal(moqc__h3_bidi_stream_decode(&p, buf + k, &is_wt, &sid),
                     MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(p, buf);
  }
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_wt_bidi_header(&w, 0);
  assert_int_equal(moqc__writer_result(&w), 3);
  assert_memory_equal(out, "\x40\x41\x00", 3);
  /* A request stream starts with HEADERS: not WebTransport, cursor left alone. */
  n = test_unhex("01 03 00 00 D9", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__h3_bidi_stream_decode(&p, buf + n, &is_wt, &sid), 0);
  assert_false(is_wt);
  assert_ptr_equal(p, buf);
}

/* dependencies.md 2.2: datagrams are varint(quarter stream id) || payload. */
static void test_h3_datagram(void **state) {
  uint8_t buf[16], out[16];
  size_t n = test_unhex("00 68 69", buf, sizeof(buf)), len;
  const uint8_t *p = buf, *payload;
  uint64_t sid;
  moqc__writer w;
  (void)state;
  assert_int_equal(moqc__h3_datagram_decode(&p, buf + n, &sid, &payload, &len), 0);
  assert_int_equal(sid, 0);
  assert_int_equal(len, 2);
  assert_memory_equal(payload, "hi", 2);
  n = test_unhex("41 00 AA", buf, sizeof(buf)); /* quarter id 256 = session 1024 */
  p = buf;
  assert_int_equal(moqc__h3_datagram_decode(&p, buf + n, &sid, &payload, &len), 0);
  assert_int_equal(sid, 1024);
  p = buf;
  assert_int_equal(moqc__h3_datagram_decode(&p, buf + 1, &sid, &payload, &len),
                   MOQC_ERR_INCOMPLETE);
  assert_ptr_equal(p, buf);
  n = test_unhex("D0 00 00 00 00 00 00 00", buf, sizeof(buf)); /* quarter id 2^60 */
  p = buf;
  assert_int_equal(moqc__h3_datagram_decode(&p, buf + n, &sid, &payload, &len),
                   MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_datagram_header(&w, 1024);
  assert_int_equal(moqc__writer_result(&w), 2);
  assert_memory_equal(out, "\x41\x00", 2);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_datagram_header(&w, 5);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
}

/* dependencies.md 2.2: Chrome's close() sent CLOSE_WEBTRANSPORT_SESSION 68 43 08 00000000 "done",
 * after a GREASE capsule of type 0x07e1bef69e4de4f2. */
static void test_h3_capsules(void **state) {
  uint8_t buf[32], out[32];
  size_t n = test_unhex("C7 E1 BE F6 9E 4D E4 F2 00 68 43 08 00 00 00 00 64 6F 6E 65", buf,
                        sizeof(buf));
  const uint8_t *p = buf;
  moqc__h3_capsule c;
  uint32_t code;
  moqc_str reason;
  moqc__writer w;
  (void)state;
  assert_int_equal(moqc__h3_capsule_decode(&p, buf + n, 2048, &c), 0);
  assert_int_equal(c.type, 0x07e1bef69e4de4f2ULL);
  assert_int_equal((c.type - 0x17) % 0x29, 0); /* RFC 9297 capsule GREASE */
  assert_int_equal(c.len, 0);
  assert_int_equal(moqc__h3_capsule_decode(&p, buf + n, 2048, &c), 0);
  assert_ptr_equal(p, buf + n);
  assert_int_equal(c.type, MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION);
  assert_int_equal(moqc__h3_wt_close_decode(c.value, c.len, &code, &reason), 0);
  assert_int_equal(code, 0);
  assert_true(moqc_str_eq(reason, moqc_str_c("done")));
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_wt_close(&w, 0, moqc_str_c("done"));
  assert_int_equal(moqc__writer_result(&w), 11);
  assert_memory_equal(out, buf + 9, 11);
  for (size_t k = 9; k < n; k++) {
    const uint8_t *q = buf + 9;
    assert_int_equal(moqc__h3_capsule_decode(&q, buf + k, 2048, &c), MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(q, buf + 9);
  }
  p = buf + 9;
  assert_int_equal(moqc__h3_capsule_decode(&p, buf + n, 4, &c), MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf + 9);
  /* CLOSE value rules. */
  assert_int_equal(moqc__h3_wt_close_decode((const uint8_t *)"\x00\x00\x01", 3, &code, &reason),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__h3_wt_close_decode((const uint8_t *)"\x00\x00\x01\x02\xc0\x80", 6, &code,
                                            &reason),
                   MOQC_ERR_MALFORMED);
  assert_int_equal(moqc__h3_wt_close_decode((const uint8_t *)"\x00\x00\x01\x02", 4, &code,
                                            &reason),
                   0);
  assert_int_equal(code, 0x102);
  {
    static uint8_t big[4 + 1025];
    static char bigr[1025];
    memset(big, 'a', sizeof(big));
    memset(bigr, 'a', sizeof(bigr));
    assert_int_equal(moqc__h3_wt_close_decode(big, sizeof(big), &code, &reason),
                     MOQC_ERR_MALFORMED);
    assert_int_equal(moqc__h3_wt_close_decode(big, sizeof(big) - 1, &code, &reason), 0);
    moqc__writer_init(&w, out, sizeof(out));
    moqc__h3_put_wt_close(&w, 0, (moqc_str){bigr, sizeof(bigr)});
    assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  }
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_wt_drain(&w);
  assert_int_equal(moqc__writer_result(&w), 5);
  assert_memory_equal(out, "\x80\x00\x78\xae\x00", 5);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_capsule(&w, MOQC__H3_CAPSULE_DATAGRAM, "x", 1);
  assert_int_equal(moqc__writer_result(&w), 3);
  assert_memory_equal(out, "\x00\x01x", 3);
}

/* moq-lite-wire.md 1.1: wire = 0x52e4a40fa8db + code + floor(code / 0x1e). */
static void test_h3_wt_errors(void **state) {
  uint32_t code;
  (void)state;
  assert_int_equal(moqc__h3_wt_error_to_wire(0), 0x52e4a40fa8dbULL);
  assert_int_equal(moqc__h3_wt_error_to_wire(29), 0x52e4a40fa8f8ULL);
  assert_int_equal(moqc__h3_wt_error_to_wire(30), 0x52e4a40fa8faULL); /* skips a GREASE value */
  assert_int_equal(moqc__h3_wt_error_to_wire(UINT32_MAX), MOQC__H3_WT_APP_ERROR_LAST);
  assert_int_equal(moqc__h3_wt_error_from_wire(0x52e4a40fa8f9ULL, &code), MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__h3_wt_error_from_wire(MOQC__H3_WT_APP_ERROR_FIRST - 1, &code),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__h3_wt_error_from_wire(MOQC__H3_WT_APP_ERROR_LAST + 1, &code),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__h3_wt_error_from_wire(MOQC__H3_NO_ERROR, &code), MOQC_ERR_NOT_FOUND);
  for (uint64_t c = 0; c < 100000; c += 7) {
    uint64_t wire = moqc__h3_wt_error_to_wire((uint32_t)c);
    assert_false(moqc__h3_is_grease(wire));
    assert_int_equal(moqc__h3_wt_error_from_wire(wire, &code), 0);
    assert_int_equal(code, c);
  }
  assert_int_equal(moqc__h3_wt_error_from_wire(MOQC__H3_WT_APP_ERROR_LAST, &code), 0);
  assert_int_equal(code, UINT32_MAX);
}


/* Decodes a field section with nghttp3's QPACK decoder (an independent implementation) into
 * "name: value\n" lines. */
static void qpack_decode(const uint8_t *block, size_t len, char *out, size_t cap) {
  nghttp3_qpack_decoder *dec = NULL;
  nghttp3_qpack_stream_context *sctx = NULL;
  size_t o = 0;
  out[0] = '\0';
  assert_int_equal(nghttp3_qpack_decoder_new(&dec, 0, 0, nghttp3_mem_default()), 0);
  assert_int_equal(nghttp3_qpack_stream_context_new(&sctx, 0, nghttp3_mem_default()), 0);
  while (len > 0 || o == 0) {
    nghttp3_qpack_nv nv;
    uint8_t flags = 0;
    nghttp3_ssize n = nghttp3_qpack_decoder_read_request(dec, sctx, &nv, &flags, block, len, 1);
    assert_true(n >= 0);
    block += n;
    len -= (size_t)n;
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_EMIT) {
      nghttp3_vec nm = nghttp3_rcbuf_get_buf(nv.name), vl = nghttp3_rcbuf_get_buf(nv.value);
      o += (size_t)snprintf(out + o, cap - o, "%.*s: %.*s\n", (int)nm.len, (const char *)nm.base,
                            (int)vl.len, (const char *)vl.base);
      nghttp3_rcbuf_decref(nv.name);
      nghttp3_rcbuf_decref(nv.value);
    }
    if (flags & NGHTTP3_QPACK_DECODE_FLAG_FINAL) {
      break;
    }
    assert_false(flags & NGHTTP3_QPACK_DECODE_FLAG_BLOCKED);
  }
  nghttp3_qpack_stream_context_del(sctx);
  nghttp3_qpack_decoder_del(dec);
}

/* dependencies.md 2.5: the verified server answered the CONNECT with prefix 00 00, D9 (static
 * 25 = ":status 200") and a literal header; moqc writes the same form. */
static void test_h3_response_headers(void **state) {
  static const moqc__h3_field draft = {{"sec-webtransport-http3-draft", 28}, {"draft02", 7}};
  uint8_t out[256], want[64];
  char text[512];
  size_t n = test_unhex("01 29 00 00 D9 27 15 73 65 63 2D 77 65 62 74 72 61 6E 73 70 6F 72 74 "
                        "2D 68 74 74 70 33 2D 64 72 61 66 74 07 64 72 61 66 74 30 32",
                        want, sizeof(want));
  moqc__writer w;
  const uint8_t *p;
  moqc__h3_frame f;
  (void)state;
  moqc__writer_init(&w, out, sizeof(out));
  moqc__h3_put_response_headers(&w, 200, &draft, 1);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)n);
  assert_memory_equal(out, want, n);
  p = out;
  assert_int_equal(moqc__h3_frame_decode(&p, out + n, 4096, &f), 0);
  assert_int_equal(f.type, MOQC__H3_HEADERS);
  qpack_decode(f.payload, f.len, text, sizeof(text));
  assert_string_equal(text, ":status: 200\nsec-webtransport-http3-draft: draft02\n");
  /* Statuses without a static entry, and those at index >= 63 (two-byte integers). */
  {
    static const int statuses[] = {401, 403, 500, 404, 429, 204, 101};
    moqc__h3_field h[2] = {{{"content-type", 12}, {"text/plain", 10}},
                           {{"access-control-allow-origin", 27}, {"*", 1}}};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
      char want_text[256];
      moqc__writer_init(&w, out, sizeof(out));
      moqc__h3_put_response_headers(&w, statuses[i], h, 2);
      assert_true(moqc__writer_result(&w) > 0);
      p = out;
      assert_int_equal(moqc__h3_frame_decode(&p, w.p, 4096, &f), 0);
      assert_ptr_equal(p, w.p);
      qpack_decode(f.payload, f.len, text, sizeof(text));
      snprintf(want_text, sizeof(want_text),
               ":status: %d\ncontent-type: text/plain\naccess-control-allow-origin: *\n",
               statuses[i]);
      assert_string_equal(text, want_text);
    }
  }
  /* A long value needs a multi-byte length. */
  {
    static char big[300];
    moqc__h3_field h = {{"x-long", 6}, {big, sizeof(big)}};
    memset(big, 'v', sizeof(big));
    moqc__writer_init(&w, out, sizeof(out));
    moqc__h3_put_response_headers(&w, 200, &h, 1);
    assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
    {
      static uint8_t large[1024];
      static char text2[1024];
      moqc__writer_init(&w, large, sizeof(large));
      moqc__h3_put_response_headers(&w, 200, &h, 1);
      p = large;
      assert_int_equal(moqc__h3_frame_decode(&p, w.p, 4096, &f), 0);
      qpack_decode(f.payload, f.len, text2, sizeof(text2));
      assert_int_equal(strlen(text2), strlen(":status: 200\nx-long: ") + 300 + 1);
    }
  }
  /* Invalid names and values. */
  {
    moqc__h3_field bad[3] = {{{"Upper", 5}, {"v", 1}}, {{"x", 1}, {"a\r\nb", 4}}, {{"", 0}, {"", 0}}};
    for (size_t i = 0; i < 3; i++) {
      moqc__writer_init(&w, out, sizeof(out));
      moqc__h3_put_response_headers(&w, 200, &bad[i], 1);
      assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
    }
    moqc__writer_init(&w, out, sizeof(out));
    moqc__h3_put_response_headers(&w, 1000, NULL, 0);
    assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_h3_settings_chrome), cmocka_unit_test(test_h3_settings_server),
      cmocka_unit_test(test_h3_settings_rules),  cmocka_unit_test(test_h3_frames),
      cmocka_unit_test(test_h3_wt_streams),      cmocka_unit_test(test_h3_datagram),
      cmocka_unit_test(test_h3_capsules),        cmocka_unit_test(test_h3_wt_errors),
      cmocka_unit_test(test_h3_response_headers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
