/*
 * moq-lite codecs, data plane and the rest: GROUP, FRAME (lite-05 zigzag
 * timestamp deltas), the resumable frame-header reader, FETCH, datagrams,
 * PROBE, GOAWAY, and the whole streams of the worked example in
 * spec/moq-lite-wire.md section 7.
 *
 * Byte vectors come from shared/vectors/ (file and stream named next to each)
 * and from spec section 7; messages no client sent in the captures are built
 * from the spec text and say so.
 */
#include "test_wire_lite.h"

#define DEMO_BBB "08 64 65 6D 6F 2F 62 62 62"
#define VIDEO "05 76 69 64 65 6F"

static lt_vec vec;

static void test_group(void **state) {
  moqc__lite_group g;
  (void)state;
  /* moq-lite-05.txt stream 6 / moq-lite-04.txt stream 2 / legacy.txt stream 2:
   * GROUP 0 0. */
  for (moqc_lite_version v = MOQC_LITE_01; v <= MOQC_LITE_05; v++) {
    lt_check(&vec, "02 00 00", v, lt_dec_group, lt_enc_group, &g);
    assert_int_equal(g.subscribe_id, 0);
    assert_int_equal(g.sequence, 0);
  }
  /* moq-lite-05.txt stream 10: sequence 1. */
  lt_check(&vec, "02 00 01", MOQC_LITE_05, lt_dec_group, lt_enc_group, &g);
  assert_int_equal(g.sequence, 1);
  /* Built: 62-bit subscribe id, sequence 2^53 - 1. */
  lt_check(&vec, "10 FF FF FF FF FF FF FF FF C0 1F FF FF FF FF FF FF",
           MOQC_LITE_05, lt_dec_group, lt_enc_group, &g);
  assert_int_equal(g.subscribe_id, MOQC_VARINT_MAX);
  assert_int_equal(g.sequence, MOQC_JS_INT_MAX);
  /* Sequence 2^53 is refused; body ends early; trailing byte. */
  lt_reject("09 00 C0 20 00 00 00 00 00 00", MOQC_LITE_05, lt_dec_group, &g,
            MOQC_ERR_MALFORMED);
  lt_reject("01 00", MOQC_LITE_05, lt_dec_group, &g, MOQC_ERR_MALFORMED);
  lt_reject("03 00 00 00", MOQC_LITE_05, lt_dec_group, &g, MOQC_ERR_MALFORMED);
  lt_reject("02 00 00", MOQC_LITE_NONE, lt_dec_group, &g,
            MOQC_ERR_INVALID_ARGUMENT);
  {
    uint8_t out[32];
    moqc__writer w;
    moqc__lite_group m = {MOQC_VARINT_MAX, MOQC_JS_INT_MAX + 1};
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__lite_encode_group(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    m.sequence = MOQC_JS_INT_MAX;
    assert_int_equal(moqc__lite_encode_group(&w, MOQC_LITE_05, &m), 0);
    assert_int_equal(moqc__writer_result(&w), MOQC_LITE_MAX_GROUP_SIZE);
  }
}

static void test_frames(void **state) {
  moqc__lite_frame_header h;
  moqc__lite_frame f;
  (void)state;
  /* moq-lite-05.txt stream 6: delta zigzag(1000) = 2000, size 3, AA BB CC. */
  lt_check(&vec, "47 D0 03 AA BB CC", MOQC_LITE_05, lt_dec_frame, lt_enc_frame,
           &f);
  assert_int_equal(f.ts_delta, 1000);
  assert_int_equal(f.size, 3);
  assert_memory_equal(f.payload, "\xAA\xBB\xCC", 3);
  lt_check(&vec, "40 42 02 DD EE", MOQC_LITE_05, lt_dec_frame, lt_enc_frame,
           &f);
  assert_int_equal(f.ts_delta, 33);
  /* moq-lite-05.txt stream 10: first frame of group 1 at 2000. */
  lt_check(&vec, "4F A0 03 AA BB CC", MOQC_LITE_05, lt_dec_frame, lt_enc_frame,
           &f);
  assert_int_equal(f.ts_delta, 2000);
  lt_check(&vec, "47 D0 03", MOQC_LITE_05, lt_dec_frame_header,
           lt_enc_frame_header, &h);
  assert_int_equal(h.ts_delta, 1000);
  assert_int_equal(h.size, 3);
  /* Built: a negative delta (-1 -> 1) and an empty payload. */
  lt_check(&vec, "01 00", MOQC_LITE_05, lt_dec_frame, lt_enc_frame, &f);
  assert_int_equal(f.ts_delta, -1);
  assert_int_equal(f.size, 0);
  /* moq-lite-04.txt / moq-lite-03.txt / legacy.txt stream 2: no timestamps. */
  for (moqc_lite_version v = MOQC_LITE_01; v <= MOQC_LITE_04; v++) {
    lt_check(&vec, "03 AA BB CC", v, lt_dec_frame, lt_enc_frame, &f);
    assert_int_equal(f.ts_delta, 0);
    assert_int_equal(f.size, 3);
    lt_check(&vec, "02 DD EE", v, lt_dec_frame, lt_enc_frame, &f);
  }
  /* 32 MiB is the largest frame; one byte more is refused at the header. */
  lt_check(&vec, "82 00 00 00", MOQC_LITE_04, lt_dec_frame_header,
           lt_enc_frame_header, &h);
  assert_int_equal(h.size, 32u << 20);
  lt_reject("82 00 00 01", MOQC_LITE_04, lt_dec_frame_header, &h,
            MOQC_ERR_MALFORMED);
  lt_reject("00 82 00 00 01", MOQC_LITE_05, lt_dec_frame, &f,
            MOQC_ERR_MALFORMED);
  /* A zigzag delta above 2^53 - 1 is refused. */
  lt_reject("C0 20 00 00 00 00 00 00 00", MOQC_LITE_05, lt_dec_frame_header, &h,
            MOQC_ERR_MALFORMED);
  {
    uint8_t out[32];
    moqc__writer w;
    moqc__lite_frame_header m = {5, 1};
    moqc__lite_frame fm = {0, NULL, 1};
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_04, &m),
                     MOQC_ERR_INVALID_ARGUMENT);
    m.ts_delta = 0;
    m.size = MOQC_LITE_MAX_FRAME_SIZE + 1;
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_04, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    m.size = 0;
    m.ts_delta = (int64_t)(1ULL << 52);
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_05, &m),
                     MOQC_ERR_BOUNDS_EXCEEDED);
    m.ts_delta = -(int64_t)(1ULL << 52);
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_05, &m), 0);
    assert_int_equal(moqc__writer_result(&w), 9);
    assert_int_equal(moqc__lite_encode_frame(&w, MOQC_LITE_05, &fm),
                     MOQC_ERR_INVALID_ARGUMENT);
  }
}

/* moq-lite-05.txt, connection 0, stream 6 (= spec 7.3): a whole group stream.
 */
static const char *const group_stream_05 =
    "00 02 00 00 47 D0 03 AA BB CC 40 42 02 DD EE";

static void test_frame_reader_whole(void **state) {
  uint8_t buf[64];
  size_t n = test_unhex(group_stream_05, buf, sizeof(buf));
  const uint8_t *p = buf, *end = buf + n;
  uint64_t type;
  moqc__lite_group g;
  moqc__lite_frame_reader r;
  moqc__lite_frame_header h;
  int64_t ts;
  (void)state;
  assert_int_equal(moqc__lite_decode_stream_type(&p, end, &type), 0);
  assert_int_equal(type, MOQC_LITE_UNI_GROUP);
  assert_int_equal(moqc__lite_decode_group(&p, end, MOQC_LITE_05, &g), 0);
  moqc__lite_frame_reader_init(&r, MOQC_LITE_05);
  assert_true(moqc__lite_frame_reader_at_boundary(&r));
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, end, &h, &ts), 0);
  assert_int_equal(h.size, 3);
  assert_int_equal(ts, 1000);
  assert_memory_equal(p, "\xAA\xBB\xCC", 3);
  p += h.size;
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, end, &h, &ts), 0);
  assert_int_equal(h.size, 2);
  assert_int_equal(ts, 1033);
  p += h.size;
  assert_ptr_equal(p, end);
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, end, &h, &ts),
                   MOQC_ERR_INCOMPLETE);
  assert_true(moqc__lite_frame_reader_at_boundary(&r));
  assert_int_equal(r.frames, 2);
}

/* Feeds the frames part of a group stream in chunks of every size, as a session
 * would. */
static void test_frame_reader_chunks(void **state) {
  uint8_t buf[64];
  size_t n = test_unhex(group_stream_05, buf, sizeof(buf));
  const size_t frames_at = 4; /* after "00" and "02 00 00" */
  (void)state;
  for (size_t chunk = 1; chunk <= n - frames_at; chunk++) {
    moqc__lite_frame_reader r;
    size_t off = frames_at, payload_left = 0, headers = 0;
    int64_t stamps[2] = {0, 0};
    uint8_t payload[8];
    size_t plen = 0;
    moqc__lite_frame_reader_init(&r, MOQC_LITE_05);
    while (off < n) {
      size_t len = n - off < chunk ? n - off : chunk;
      const uint8_t *p = buf + off, *end = buf + off + len;
      while (p < end) {
        if (payload_left > 0) {
          size_t take = (size_t)(end - p) < payload_left ? (size_t)(end - p)
                                                         : payload_left;
          memcpy(payload + plen, p, take);
          plen += take;
          p += take;
          payload_left -= take;
          continue;
        }
        {
          moqc__lite_frame_header h;
          int64_t ts;
          int rv = moqc__lite_frame_reader_read(&r, &p, end, &h, &ts);
          if (rv == MOQC_ERR_INCOMPLETE) {
            assert_ptr_equal(p, end);
            assert_false(moqc__lite_frame_reader_at_boundary(&r));
            break;
          }
          assert_int_equal(rv, 0);
          assert_true(headers < 2);
          stamps[headers++] = ts;
          payload_left = (size_t)h.size;
        }
      }
      off += len;
    }
    assert_int_equal(headers, 2);
    assert_int_equal(stamps[0], 1000);
    assert_int_equal(stamps[1], 1033);
    assert_int_equal(plen, 5);
    assert_memory_equal(payload, "\xAA\xBB\xCC\xDD\xEE", 5);
    assert_int_equal(payload_left, 0);
    assert_true(moqc__lite_frame_reader_at_boundary(&r));
  }
}

static void test_frame_reader_errors(void **state) {
  moqc__lite_frame_reader r;
  moqc__lite_frame_header h;
  int64_t ts;
  uint8_t buf[32];
  const uint8_t *p;
  size_t n;
  (void)state;
  /* Oversized frame after a split header: MALFORMED, cursor untouched. */
  n = test_unhex("82 00 00 01", buf, sizeof(buf));
  moqc__lite_frame_reader_init(&r, MOQC_LITE_04);
  p = buf;
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, buf + 2, &h, &ts),
                   MOQC_ERR_INCOMPLETE);
  assert_ptr_equal(p, buf + 2);
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, buf + n, &h, &ts),
                   MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf + 2);
  assert_int_equal(r.refusal, MOQC_ERR_FRAME_TOO_LARGE);
  /* A zigzag delta above 2^53 - 1 is refused as out of bounds. */
  n = test_unhex("C0 20 00 00 00 00 00 00 00", buf, sizeof(buf));
  moqc__lite_frame_reader_init(&r, MOQC_LITE_05);
  p = buf;
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, buf + n, &h, &ts),
                   MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf);
  assert_int_equal(r.refusal, MOQC_ERR_BOUNDS_EXCEEDED);
  /* lite-04 headers carry no timestamp. */
  n = test_unhex("03 AA BB CC", buf, sizeof(buf));
  moqc__lite_frame_reader_init(&r, MOQC_LITE_04);
  p = buf;
  assert_int_equal(moqc__lite_frame_reader_read(&r, &p, buf + n, &h, NULL), 0);
  assert_int_equal(h.size, 3);
  assert_int_equal(h.ts_delta, 0);
  assert_ptr_equal(p, buf + 1);
  /* The running timestamp may not leave the 53-bit range: two deltas of 2^52 -
   * 1 pass... */
  {
    moqc__writer w;
    moqc__lite_frame_header m = {(int64_t)(1ULL << 52) - 1, 0};
    moqc__writer_init(&w, buf, sizeof(buf));
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_05, &m), 0);
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_05, &m), 0);
    m.ts_delta = 2;
    assert_int_equal(moqc__lite_encode_frame_header(&w, MOQC_LITE_05, &m), 0);
    moqc__lite_frame_reader_init(&r, MOQC_LITE_05);
    p = buf;
    assert_int_equal(moqc__lite_frame_reader_read(&r, &p, w.p, &h, &ts), 0);
    assert_int_equal(moqc__lite_frame_reader_read(&r, &p, w.p, &h, &ts), 0);
    assert_int_equal(ts, (int64_t)MOQC_JS_INT_MAX - 1);
    /* ...a third that crosses 2^53 - 1 does not. */
    assert_int_equal(moqc__lite_frame_reader_read(&r, &p, w.p, &h, &ts),
                     MOQC_ERR_MALFORMED);
    assert_int_equal(r.refusal, MOQC_ERR_BOUNDS_EXCEEDED);
  }
}

static void test_fetch(void **state) {
  moqc__lite_fetch f;
  (void)state;
  /* Built from spec 4.7: fetch demo/bbb video, priority 1, group 7. */
  lt_check(&vec, "11 " DEMO_BBB " " VIDEO " 01 07", MOQC_LITE_05, lt_dec_fetch,
           lt_enc_fetch, &f);
  lt_str_eq(f.broadcast, "demo/bbb");
  lt_str_eq(f.track, "video");
  assert_int_equal(f.priority, 1);
  assert_int_equal(f.group, 7);
  lt_reject("11 " DEMO_BBB " " VIDEO " 01 07", MOQC_LITE_04, lt_dec_fetch, &f,
            MOQC_ERR_INVALID_ARGUMENT);
  lt_reject("10 " DEMO_BBB " " VIDEO " 01", MOQC_LITE_05, lt_dec_fetch, &f,
            MOQC_ERR_MALFORMED);
  lt_reject("12 " DEMO_BBB " " VIDEO " 01 07 00", MOQC_LITE_05, lt_dec_fetch,
            &f, MOQC_ERR_MALFORMED);
}

static void test_datagram(void **state) {
  uint8_t buf[32], out[32];
  size_t n = test_unhex("00 05 47 D0 AA BB CC", buf, sizeof(buf));
  const uint8_t *p = buf;
  moqc__lite_datagram d;
  moqc__writer w;
  (void)state;
  /* Built from spec 4.10: subscribe 0, group 5, timestamp 2000, payload AA BB
   * CC. */
  assert_int_equal(moqc__lite_decode_datagram(&p, buf + n, MOQC_LITE_05, &d),
                   0);
  assert_ptr_equal(p, buf + n);
  assert_int_equal(d.subscribe_id, 0);
  assert_int_equal(d.sequence, 5);
  assert_int_equal(d.timestamp, 2000);
  assert_int_equal(d.size, 3);
  assert_memory_equal(d.payload, "\xAA\xBB\xCC", 3);
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_datagram(&w, MOQC_LITE_05, &d), 0);
  assert_int_equal(moqc__writer_result(&w), (moqc_ssize)n);
  assert_memory_equal(out, buf, n);
  for (size_t cap = 0; cap < n; cap++) {
    moqc__writer_init(&w, out, cap);
    assert_int_equal(moqc__lite_encode_datagram(&w, MOQC_LITE_05, &d),
                     MOQC_ERR_NOBUF);
    assert_ptr_equal(w.p, out);
  }
  /* A cut header is INCOMPLETE (cursor untouched); after it, the payload is
   * whatever is left. */
  for (size_t k = 0; k < 4; k++) {
    p = buf;
    assert_int_equal(moqc__lite_decode_datagram(&p, buf + k, MOQC_LITE_05, &d),
                     MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(p, buf);
  }
  p = buf;
  assert_int_equal(moqc__lite_decode_datagram(&p, buf + 4, MOQC_LITE_05, &d),
                   0);
  assert_int_equal(d.size, 0);
  p = buf;
  assert_int_equal(moqc__lite_decode_datagram(&p, buf + n, MOQC_LITE_04, &d),
                   MOQC_ERR_INVALID_ARGUMENT);
  n = test_unhex("00 C0 20 00 00 00 00 00 00 00", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__lite_decode_datagram(&p, buf + n, MOQC_LITE_05, &d),
                   MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf);
}

static void test_probe_goaway(void **state) {
  moqc__lite_probe pr;
  moqc__lite_goaway g;
  (void)state;
  /* Built from spec 4.8 (no Probe stream appeared in the captures): 2.5 Mbit/s,
   * 40 ms. */
  lt_check(&vec, "05 80 26 25 A0 28", MOQC_LITE_05, lt_dec_probe, lt_enc_probe,
           &pr);
  assert_int_equal(pr.bitrate, 2500000);
  assert_int_equal(pr.rtt_ms, 40);
  lt_check(&vec, "05 80 26 25 A0 28", MOQC_LITE_04, lt_dec_probe, lt_enc_probe,
           &pr);
  /* lite-03 has bitrate only. */
  lt_check(&vec, "04 80 26 25 A0", MOQC_LITE_03, lt_dec_probe, lt_enc_probe,
           &pr);
  assert_int_equal(pr.rtt_ms, 0);
  lt_reject("05 80 26 25 A0 28", MOQC_LITE_03, lt_dec_probe, &pr,
            MOQC_ERR_MALFORMED);
  lt_reject("04 80 26 25 A0", MOQC_LITE_04, lt_dec_probe, &pr,
            MOQC_ERR_MALFORMED);
  lt_reject("01 00", MOQC_LITE_02, lt_dec_probe, &pr,
            MOQC_ERR_INVALID_ARGUMENT);
  /* Built from spec 4.9: redirect to "https://r2/" and the empty (no redirect)
   * form. */
  lt_check(&vec, "0C 0B 68 74 74 70 73 3A 2F 2F 72 32 2F", MOQC_LITE_05,
           lt_dec_goaway, lt_enc_goaway, &g);
  lt_str_eq(g.uri, "https://r2/");
  lt_check(&vec, "01 00", MOQC_LITE_04, lt_dec_goaway, lt_enc_goaway, &g);
  assert_int_equal(g.uri.len, 0);
  lt_reject("01 00", MOQC_LITE_03, lt_dec_goaway, &g,
            MOQC_ERR_INVALID_ARGUMENT);
  lt_reject("03 02 C3 28", MOQC_LITE_05, lt_dec_goaway, &g, MOQC_ERR_MALFORMED);
  lt_reject("02 00 00", MOQC_LITE_05, lt_dec_goaway, &g, MOQC_ERR_MALFORMED);
}

/*
 * Spec section 7, every stream of the worked example decoded message by
 * message, each message re-encoded to the same bytes, and no byte left over.
 */
typedef struct step {
  lt_dec_fn dec;
  lt_enc_fn enc;
} step;

static void walk_stream(const char *hex, moqc_lite_version v, const step *steps,
                        size_t n) {
  uint8_t buf[256], out[256];
  size_t len = test_unhex(hex, buf, sizeof(buf));
  const uint8_t *p = buf, *end = buf + len;
  union {
    moqc__lite_setup setup;
    moqc__lite_announce_request areq;
    moqc__lite_announce_ok aok;
    moqc__lite_announce ann;
    moqc__lite_announce_init ainit;
    moqc__lite_track track;
    moqc__lite_track_info info;
    moqc__lite_subscribe sub;
    moqc__lite_subscribe_response resp;
    moqc__lite_group group;
    moqc__lite_frame frame;
  } u;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *start = p;
    moqc__writer w;
    if (steps[i].dec == NULL) { /* the stream type */
      uint64_t type;
      assert_int_equal(moqc__lite_decode_stream_type(&p, end, &type), 0);
      continue;
    }
    assert_int_equal(steps[i].dec(&p, end, v, &u), 0);
    moqc__writer_init(&w, out, sizeof(out));
    assert_int_equal(steps[i].enc(&w, v, &u), 0);
    assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(p - start));
    assert_memory_equal(out, start, (size_t)(p - start));
  }
  assert_ptr_equal(p, end);
}

#define TYPE                                                                   \
  { NULL, NULL }
#define STEP(name)                                                             \
  { lt_dec_##name, lt_enc_##name }

static void test_worked_example(void **state) {
  (void)state;
  /* 7.1 setup streams. */
  {
    const step s[] = {TYPE, STEP(setup)};
    walk_stream("01 0E 02 01 01 01 05 08 C0 12 34 56 78 9A BC DE", MOQC_LITE_05,
                s, 2);
    walk_stream("01 0E 02 01 01 01 05 08 C0 00 0A 0B 0C 0D 0E 0F", MOQC_LITE_05,
                s, 2);
    walk_stream("01 0E 02 01 01 01 05 08 C0 00 11 11 22 22 33 33", MOQC_LITE_05,
                s, 2);
    walk_stream("01 0B 01 05 08 C0 00 11 11 22 22 33 33", MOQC_LITE_05, s, 2);
  }
  /* 7.2 announce streams: R -> P request; P -> R ANNOUNCE_OK + one broadcast.
   */
  {
    const step req[] = {TYPE, STEP(announce_request)};
    const step pub[] = {STEP(announce_ok), STEP(announce)};
    const step none[] = {STEP(announce_ok)};
    walk_stream("01 09 00 C0 00 0A 0B 0C 0D 0E 0F", MOQC_LITE_05, req, 2);
    walk_stream(
        "09 C0 12 34 56 78 9A BC DE 01 0B 01 08 64 65 6D 6F 2F 62 62 62 00",
        MOQC_LITE_05, pub, 2);
    walk_stream("09 C0 00 11 11 22 22 33 33 00", MOQC_LITE_05, none, 1);
    walk_stream("01 0D 04 64 65 6D 6F C0 00 11 11 22 22 33 33", MOQC_LITE_05,
                req, 2);
    walk_stream("09 C0 00 0A 0B 0C 0D 0E 0F 01 0E 01 03 62 62 62 01 C0 12 34 "
                "56 78 9A BC DE",
                MOQC_LITE_05, pub, 2);
  }
  /* 7.3 track, subscribe, responses and the group stream. */
  {
    const step track[] = {TYPE, STEP(track)};
    const step info[] = {STEP(track_info)};
    const step sub[] = {TYPE, STEP(subscribe)};
    const step resp[] = {STEP(subscribe_response), STEP(subscribe_response)};
    const step group[] = {TYPE, STEP(group), STEP(frame), STEP(frame)};
    walk_stream("06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F",
                MOQC_LITE_05, track, 2);
    walk_stream("06 01 00 67 10 43 E8", MOQC_LITE_05, info, 1);
    walk_stream(
        "02 15 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01 00 00 00 00",
        MOQC_LITE_05, sub, 2);
    walk_stream("00 01 00 01 01 01", MOQC_LITE_05, resp, 2);
    walk_stream(group_stream_05, MOQC_LITE_05, group, 4);
  }
  /* 7.5 legacy (lite-02) variant. */
  {
    const step ann[] = {TYPE, STEP(announce_request)};
    const step sub[] = {TYPE, STEP(subscribe)};
    const step resp[] = {STEP(subscribe_response)};
    const step group[] = {TYPE, STEP(group), STEP(frame), STEP(frame)};
    moqc__lite_announce_init ai;
    walk_stream("01 01 00", MOQC_LITE_02, ann, 2);
    lt_check(&vec, "0A 01 08 64 65 6D 6F 2F 62 62 62", MOQC_LITE_02,
             lt_dec_announce_init, NULL, &ai);
    assert_int_equal(ai.count, 1);
    walk_stream("02 11 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01",
                MOQC_LITE_02, sub, 2);
    walk_stream("00", MOQC_LITE_02, resp, 1);
    walk_stream("00 02 00 00 03 AA BB CC 02 DD EE", MOQC_LITE_02, group, 4);
  }
}

/* A failed encode writes nothing and leaves the writer in error, so a chain of
 * writes can be checked once at the end. */
static void test_writer_chaining(void **state) {
  uint8_t out[8];
  moqc__writer w;
  moqc__lite_group g = {0, 1};
  moqc__lite_probe pr = {1000000, 40};
  (void)state;
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_group(&w, MOQC_LITE_05, &g), 0);
  assert_int_equal(moqc__writer_result(&w), 3);
  /* 6 bytes do not fit in the 5 left. */
  assert_int_equal(moqc__lite_encode_probe(&w, MOQC_LITE_05, &pr),
                   MOQC_ERR_NOBUF);
  assert_ptr_equal(w.p, out + 3);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
  /* Even a message that would fit now fails: the writer stays in error. */
  assert_int_equal(moqc__lite_encode_group(&w, MOQC_LITE_05, &g),
                   MOQC_ERR_NOBUF);
  assert_int_equal(moqc__lite_encode_stream_type(&w, 0), MOQC_ERR_NOBUF);
  assert_ptr_equal(w.p, out + 3);
  /* An invalid argument does not poison the writer. */
  moqc__writer_init(&w, out, sizeof(out));
  assert_int_equal(moqc__lite_encode_probe(&w, MOQC_LITE_02, &pr),
                   MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc__lite_encode_group(&w, MOQC_LITE_05, &g), 0);
  assert_int_equal(moqc__writer_result(&w), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_group),
      cmocka_unit_test(test_frames),
      cmocka_unit_test(test_frame_reader_whole),
      cmocka_unit_test(test_frame_reader_chunks),
      cmocka_unit_test(test_frame_reader_errors),
      cmocka_unit_test(test_fetch),
      cmocka_unit_test(test_datagram),
      cmocka_unit_test(test_probe_goaway),
      cmocka_unit_test(test_worked_example),
      cmocka_unit_test(test_writer_chaining),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
