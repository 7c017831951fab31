/*
 * QMux frame codec, transport parameters and WebSocket subprotocol selection.
 * Byte vectors come from /work/shared/vectors (file and message cited per entry) and
 * spec/npm-client.md.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include "wire/qmux.h"

#define TP_01 "FF 51 53 30 0D 0A 0D 0A 35 01 04 80 00 75 30 04 04 80 10 00 00 05 04 80 04 00 00 " \
              "06 04 80 04 00 00 07 04 80 04 00 00 08 02 40 64 09 02 40 64 20 02 7F FE C5 71 C5 " \
              "94 29 CD 08 45 02 7F FE"
/* legacy.txt, connection 0, C->S msg 0: @moq/lite 0.2.2 (qmux 0.0.6) parameters. */
#define TP_00_CLIENT "FF 51 53 30 0D 0A 0D 0A 20 04 04 80 10 00 00 05 04 80 04 00 00 06 04 80 04 " \
                     "00 00 07 04 80 04 00 00 08 02 40 64 09 02 40 64"
/* legacy.txt, connection 0, S->C msg 0: qmux-00 server parameters (@moq/qmux 0.3.3). */
#define TP_00_SERVER "FF 51 53 30 0D 0A 0D 0A 31 01 04 80 00 75 30 04 04 80 10 00 00 05 04 80 04 " \
                     "00 00 06 04 80 04 00 00 07 04 80 04 00 00 08 02 40 64 09 02 40 64 C5 71 C5 " \
                     "94 29 CD 08 45 02 7F FE"
/* npm-client.md 2.4: qmux-02 parameters (the qmux-01 set plus reset_stream_at "1d 00"). */
#define TP_02 "FF 51 53 30 0D 0A 0D 0A 37 01 04 80 00 75 30 04 04 80 10 00 00 05 04 80 04 00 00 " \
              "06 04 80 04 00 00 07 04 80 04 00 00 08 02 40 64 09 02 40 64 20 02 7F FE C5 71 C5 " \
              "94 29 CD 08 45 02 7F FE 1D 00"

typedef struct vec {
  const char *where;
  moqc__qmux_format fmt;
  const char *hex;
  moqc__qmux_frame want; /* data/len checked against data_hex */
  const char *data_hex;
  bool tail_is_data; /* a truncation shortens the data instead of being incomplete */
} vec;

static const vec vectors[] = {
    {"moq-lite-05.txt conn 0 C->S msg 0", MOQC__QMUX_01, TP_01,
     {.type = MOQC__QMUX_TRANSPORT_PARAMETERS}, NULL, false},
    {"moq-lite-05.txt conn 0 C->S msg 1", MOQC__QMUX_01, "0E 02 00 01 01",
     {.type = 0x0e, .stream_id = 2, .offset = 0}, "01", false},
    {"moq-lite-05.txt conn 0 C->S msg 3", MOQC__QMUX_01,
     "0E 02 02 0B 01 05 08 C0 0A A9 E6 56 8B 8F CF",
     {.type = 0x0e, .stream_id = 2, .offset = 2}, "01 05 08 C0 0A A9 E6 56 8B 8F CF", false},
    {"moq-lite-05.txt conn 0 C->S msg 4", MOQC__QMUX_01, "0F 02 0D 00",
     {.type = 0x0f, .stream_id = 2, .offset = 13, .fin = true}, "", false},
    {"moq-lite-05.txt conn 0 C->S msg 5", MOQC__QMUX_01, "05 03 00",
     {.type = MOQC__QMUX_STOP_SENDING, .stream_id = 3, .code = 0}, NULL, false},
    {"moq-lite-05.txt conn 0 C->S msg 47", MOQC__QMUX_01,
     "0E 01 17 0B 00 08 64 65 6D 6F 2F 62 62 62 00",
     {.type = 0x0e, .stream_id = 1, .offset = 23}, "00 08 64 65 6D 6F 2F 62 62 62 00", false},
    {"moq-lite-05.txt conn 0 C->S msg 48", MOQC__QMUX_01, "1D 00 00",
     {.type = MOQC__QMUX_APPLICATION_CLOSE, .code = 0}, "", false},
    {"moq-lite-05.txt conn 0 S->C msg 22", MOQC__QMUX_01, "04 0D 00 17",
     {.type = MOQC__QMUX_RESET_STREAM, .stream_id = 13, .code = 0, .final_size = 23}, NULL,
     false},
    {"moq-lite-05.txt conn 1 C->S msg 14", MOQC__QMUX_01, "04 04 00 11",
     {.type = MOQC__QMUX_RESET_STREAM, .stream_id = 4, .code = 0, .final_size = 17}, NULL,
     false},
    {"moq-lite-05.txt conn 1 S->C msg 39", MOQC__QMUX_01, "0F 0B 0F 00",
     {.type = 0x0f, .stream_id = 11, .offset = 15, .fin = true}, "", false},
    {"legacy.txt conn 0 C->S msg 0", MOQC__QMUX_00, TP_00_CLIENT,
     {.type = MOQC__QMUX_TRANSPORT_PARAMETERS}, NULL, false},
    {"legacy.txt conn 0 S->C msg 0", MOQC__QMUX_00, TP_00_SERVER,
     {.type = MOQC__QMUX_TRANSPORT_PARAMETERS}, NULL, false},
    {"legacy.txt conn 0 C->S msg 1", MOQC__QMUX_00, "0A 00 01 20",
     {.type = 0x0a, .stream_id = 0}, "20", false},
    {"legacy.txt conn 0 C->S msg 3", MOQC__QMUX_00,
     "0A 00 2C 03 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 C0 00 00 00 FF 00 00 0E 02 02 "
     "80 00 A4 55 07 0B 6D 6F 71 2D 6C 69 74 65 2D 6A 73",
     {.type = 0x0a, .stream_id = 0},
     "03 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 C0 00 00 00 FF 00 00 0E 02 02 80 00 A4 "
     "55 07 0B 6D 6F 71 2D 6C 69 74 65 2D 6A 73",
     false},
    {"legacy.txt conn 0 C->S msg 14", MOQC__QMUX_00, "0B 02 00",
     {.type = 0x0b, .stream_id = 2, .fin = true}, "", false},
    {"legacy.txt conn 0 C->S msg 24", MOQC__QMUX_00, "05 05 00",
     {.type = MOQC__QMUX_STOP_SENDING, .stream_id = 5}, NULL, false},
    {"legacy.txt conn 0 S->C msg 1", MOQC__QMUX_00, "0E 00 00 01 21",
     {.type = 0x0e, .stream_id = 0}, "21", false},
    {"legacy.txt conn 0 S->C msg 10", MOQC__QMUX_00, "04 05 00 13",
     {.type = MOQC__QMUX_RESET_STREAM, .stream_id = 5, .final_size = 19}, NULL, false},
    {"npm-client.md 2.2 MAX_STREAMS_UNI 134", MOQC__QMUX_01, "13 40 86",
     {.type = MOQC__QMUX_MAX_STREAMS_UNI, .max = 134}, NULL, false},
    {"npm-client.md 2.2 MAX_STREAMS_UNI 202", MOQC__QMUX_01, "13 40 CA",
     {.type = MOQC__QMUX_MAX_STREAMS_UNI, .max = 202}, NULL, false},
    {"npm-client.md 2.4 STOP_SENDING on qmux-02", MOQC__QMUX_02, "05 0D 00",
     {.type = MOQC__QMUX_STOP_SENDING, .stream_id = 13}, NULL, false},
    /* Constructed from the RFC 9000 layouts of moq-lite-wire.md 1.3. */
    {"QX_PING request seq 7", MOQC__QMUX_01, "F4 8C 67 52 9E F8 C7 BD 07",
     {.type = MOQC__QMUX_PING_REQUEST, .sequence = 7}, NULL, false},
    {"QX_PING response seq 300", MOQC__QMUX_02, "F4 8C 67 52 9E F8 C7 BE 41 2C",
     {.type = MOQC__QMUX_PING_RESPONSE, .sequence = 300}, NULL, false},
    {"MAX_DATA", MOQC__QMUX_01, "10 80 20 00 00",
     {.type = MOQC__QMUX_MAX_DATA, .max = 2097152}, NULL, false},
    {"MAX_STREAM_DATA", MOQC__QMUX_01, "11 06 80 06 00 00",
     {.type = MOQC__QMUX_MAX_STREAM_DATA, .stream_id = 6, .max = 393216}, NULL, false},
    {"MAX_STREAMS_BIDI", MOQC__QMUX_00, "12 40 C8",
     {.type = MOQC__QMUX_MAX_STREAMS_BIDI, .max = 200}, NULL, false},
    {"DATA_BLOCKED", MOQC__QMUX_01, "14 80 10 00 00",
     {.type = MOQC__QMUX_DATA_BLOCKED, .max = 1048576}, NULL, false},
    {"STREAM_DATA_BLOCKED", MOQC__QMUX_01, "15 02 80 04 00 00",
     {.type = MOQC__QMUX_STREAM_DATA_BLOCKED, .stream_id = 2, .max = 262144}, NULL, false},
    {"STREAMS_BLOCKED_BIDI", MOQC__QMUX_01, "16 40 64",
     {.type = MOQC__QMUX_STREAMS_BLOCKED_BIDI, .max = 100}, NULL, false},
    {"STREAMS_BLOCKED_UNI", MOQC__QMUX_01, "17 40 64",
     {.type = MOQC__QMUX_STREAMS_BLOCKED_UNI, .max = 100}, NULL, false},
    {"CONNECTION_CLOSE 0x0a, frame 0x08, 'bad'", MOQC__QMUX_01, "1C 0A 08 03 62 61 64",
     {.type = MOQC__QMUX_CONNECTION_CLOSE, .code = 10, .frame_type = 8}, "62 61 64", false},
    {"APPLICATION_CLOSE 15 'x'", MOQC__QMUX_00, "1D 0F 01 78",
     {.type = MOQC__QMUX_APPLICATION_CLOSE, .code = 15}, "78", false},
    {"RESET_STREAM_AT", MOQC__QMUX_02, "24 07 05 20 10",
     {.type = MOQC__QMUX_RESET_STREAM_AT, .stream_id = 7, .code = 5, .final_size = 32,
      .reliable_size = 16},
     NULL, false},
    {"DATAGRAM with length", MOQC__QMUX_01, "31 03 AA BB CC",
     {.type = MOQC__QMUX_DATAGRAM_LEN}, "AA BB CC", false},
    {"DATAGRAM to end of record", MOQC__QMUX_01, "30 AA BB CC",
     {.type = MOQC__QMUX_DATAGRAM}, "AA BB CC", true},
    {"STREAM without LEN (0x0c, OFF) to end of record", MOQC__QMUX_01, "0C 04 05 61 62",
     {.type = 0x0c, .stream_id = 4, .offset = 5}, "61 62", true},
    {"STREAM 0x08 (no OFF, no LEN) to end", MOQC__QMUX_01, "08 04 61",
     {.type = 0x08, .stream_id = 4}, "61", true},
    {"PADDING", MOQC__QMUX_01, "00", {.type = MOQC__QMUX_PADDING}, NULL, false},
    /* npm-client.md 2.2 "Legacy webtransport": payload runs to the end of the message. */
    {"npm-client.md 2.2 legacy 08 00 20", MOQC__QMUX_WEBTRANSPORT, "08 00 20",
     {.type = 0x08, .stream_id = 0}, "20", true},
    {"npm-client.md 2.2 legacy 08 00 00 31", MOQC__QMUX_WEBTRANSPORT, "08 00 00 31",
     {.type = 0x08, .stream_id = 0}, "00 31", true},
    {"npm-client.md 2.2 legacy 08 00 03 c0..", MOQC__QMUX_WEBTRANSPORT,
     "08 00 03 C0 00 00 00 FF 0D AD 02", {.type = 0x08, .stream_id = 0},
     "03 C0 00 00 00 FF 0D AD 02", true},
    {"legacy STREAM+FIN", MOQC__QMUX_WEBTRANSPORT, "09 04", {.type = 0x09, .stream_id = 4,
     .fin = true}, "", false},
    {"legacy RESET_STREAM", MOQC__QMUX_WEBTRANSPORT, "04 04 02",
     {.type = MOQC__QMUX_RESET_STREAM, .stream_id = 4, .code = 2}, NULL, false},
    {"legacy APPLICATION_CLOSE 'ok'", MOQC__QMUX_WEBTRANSPORT, "1D 00 6F 6B",
     {.type = MOQC__QMUX_APPLICATION_CLOSE}, "6F 6B", true},
};

static void check_frame(const vec *v, const moqc__qmux_frame *f, const uint8_t *buf) {
  uint8_t want[64];
  size_t wn;
  (void)buf;
  assert_int_equal(f->type, v->want.type);
  assert_int_equal(f->stream_id, v->want.stream_id);
  assert_int_equal(f->offset, v->want.offset);
  assert_int_equal(f->final_size, v->want.final_size);
  assert_int_equal(f->reliable_size, v->want.reliable_size);
  assert_int_equal(f->code, v->want.code);
  assert_int_equal(f->frame_type, v->want.frame_type);
  assert_int_equal(f->max, v->want.max);
  assert_int_equal(f->sequence, v->want.sequence);
  assert_int_equal(f->fin, v->want.fin);
  if (v->data_hex != NULL) {
    wn = test_unhex(v->data_hex, want, sizeof(want));
    assert_int_equal(f->len, wn);
    if (wn > 0) {
      assert_memory_equal(f->data, want, wn);
    }
  }
}

static void test_qmux_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
    const vec *v = &vectors[i];
    uint8_t buf[128], out[128];
    size_t n = test_unhex(v->hex, buf, sizeof(buf));
    const uint8_t *p = buf;
    moqc__qmux_frame f;
    moqc__writer w;

    print_message("vector %s\n", v->where);
    assert_true(n <= sizeof(buf));
    assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, v->fmt, &f), 0);
    assert_ptr_equal(p, buf + n);
    check_frame(v, &f, buf);
    /* Re-encode to the same bytes; the size function agrees. */
    moqc__writer_init(&w, out, sizeof(out));
    moqc__qmux_frame_encode(&w, v->fmt, &f);
    assert_int_equal(moqc__writer_result(&w), (moqc_ssize)n);
    assert_memory_equal(out, buf, n);
    assert_int_equal(moqc__qmux_frame_size(v->fmt, &f), n);
    /* One byte short of room: NOBUF. */
    moqc__writer_init(&w, out, n - 1);
    moqc__qmux_frame_encode(&w, v->fmt, &f);
    assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
    /* Every truncation is INCOMPLETE with the cursor untouched (frames whose data runs to the
     * end of the message only need their header). */
    for (size_t k = 0; k < n; k++) {
      int rv;
      moqc__qmux_frame g;
      memset(&g, 0x5a, sizeof(g));
      p = buf;
      rv = moqc__qmux_frame_decode(&p, buf + k, v->fmt, &g);
      if (v->tail_is_data && k >= n - f.len) {
        assert_int_equal(rv, 0);
        assert_ptr_equal(p, buf + k);
        assert_int_equal(g.len, f.len - (n - k));
        continue;
      }
      assert_int_equal(rv, MOQC_ERR_INCOMPLETE);
      assert_ptr_equal(p, buf);
      assert_int_equal(g.type, 0x5a5a5a5a5a5a5a5aULL); /* *out untouched */
    }
  }
}

/* legacy.txt conn 0 C->S msg 27 and 28: @moq/qmux 0.0.6 APPLICATION_CLOSE "1D 00 00 00". */
static void test_qmux_close_quirk(void **state) {
  uint8_t buf[8], out[8];
  size_t n = test_unhex("1D 00 00 00", buf, sizeof(buf));
  const uint8_t *p = buf;
  moqc__qmux_frame f;
  moqc__writer w;
  (void)state;
  assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, MOQC__QMUX_00, &f), 0);
  assert_ptr_equal(p, buf + 4);
  assert_int_equal(f.type, MOQC__QMUX_APPLICATION_CLOSE);
  assert_true(f.close_quirk);
  assert_int_equal(f.code, 0);
  assert_int_equal(f.len, 0);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_frame_encode(&w, MOQC__QMUX_00, &f);
  assert_int_equal(moqc__writer_result(&w), 4);
  assert_memory_equal(out, buf, 4);
  /* With a reason: 1D 05 00 02 'h' 'i'. */
  n = test_unhex("1D 05 00 02 68 69", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, MOQC__QMUX_00, &f), 0);
  assert_true(f.close_quirk);
  assert_int_equal(f.code, 5);
  assert_int_equal(f.len, 2);
  assert_memory_equal(f.data, "hi", 2);
  /* On qmux-01 a record may hold more frames: "1D 00 00" then PADDING "00". */
  n = test_unhex("1D 00 00 00", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, MOQC__QMUX_01, &f), 0);
  assert_false(f.close_quirk);
  assert_ptr_equal(p, buf + 3);
  assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, MOQC__QMUX_01, &f), 0);
  assert_int_equal(f.type, MOQC__QMUX_PADDING);
  assert_ptr_equal(p, buf + 4);
  /* Neither form fills the message: malformed. */
  n = test_unhex("1D 00 00 00 00", buf, sizeof(buf));
  p = buf;
  assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, MOQC__QMUX_00, &f),
                   MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf);
}

/* A qmux-01 record of several frames, then the same frames split back out. */
static void test_qmux_record(void **state) {
  /* moq-lite-05.txt conn 1 S->C msgs 13, 14, 15, 16 (TRACK_INFO, STOP_SENDING, FIN) as one
   * record, then padding. */
  const char *hex = "0E 04 00 01 06 0E 04 01 06 01 00 67 10 43 E8 05 04 00 0F 04 07 00 00 00";
  uint8_t buf[64];
  size_t n = test_unhex(hex, buf, sizeof(buf));
  const uint8_t *p = buf, *end = buf + n;
  uint64_t types[8];
  size_t count = 0;
  moqc__qmux_frame f;
  (void)state;
  while (p < end) {
    assert_true(count < 8);
    assert_int_equal(moqc__qmux_frame_decode(&p, end, MOQC__QMUX_01, &f), 0);
    types[count++] = f.type;
  }
  assert_int_equal(count, 6);
  assert_int_equal(types[0], 0x0e);
  assert_int_equal(types[1], 0x0e);
  assert_int_equal(types[2], MOQC__QMUX_STOP_SENDING);
  assert_int_equal(types[3], 0x0f);
  assert_int_equal(types[4], MOQC__QMUX_PADDING);
  assert_int_equal(types[5], MOQC__QMUX_PADDING);
  /* qmux-00 carries one frame per message: the same record is malformed there. */
  p = buf;
  assert_int_equal(moqc__qmux_frame_decode(&p, end, MOQC__QMUX_00, &f), MOQC_ERR_MALFORMED);
  assert_ptr_equal(p, buf);
  /* Record size prefix on a byte stream. */
  {
    uint8_t hdr[4];
    size_t hn = test_unhex("58 00", hdr, sizeof(hdr));
    const uint8_t *q = hdr;
    uint64_t size;
    assert_int_equal(moqc__qmux_record_size_decode(&q, hdr + hn, 16382, &size), 0);
    assert_int_equal(size, 0x1800);
    hn = test_unhex("80 00 40 00", hdr, sizeof(hdr));
    q = hdr;
    assert_int_equal(moqc__qmux_record_size_decode(&q, hdr + hn, 16382, &size),
                     MOQC_ERR_MALFORMED);
    assert_int_equal(moqc__qmux_record_size_decode(&q, hdr + 1, 16382, &size),
                     MOQC_ERR_INCOMPLETE);
    assert_ptr_equal(q, hdr);
  }
}

static const struct {
  const char *why;
  moqc__qmux_format fmt;
  const char *hex;
} malformed[] = {
    {"unknown frame type 0x18", MOQC__QMUX_01, "18 00"},
    {"HANDSHAKE_DONE is not QMux", MOQC__QMUX_01, "1E"},
    {"non-minimal type encoding", MOQC__QMUX_01, "40 0E 02 00 01 01"},
    {"DATAGRAM on qmux-00", MOQC__QMUX_00, "31 01 AA"},
    {"DATAGRAM 0x30 on qmux-00", MOQC__QMUX_00, "30 AA"},
    {"QX_PING on qmux-00", MOQC__QMUX_00, "F4 8C 67 52 9E F8 C7 BD 07"},
    {"RESET_STREAM_AT on qmux-01", MOQC__QMUX_01, "24 07 05 20 10"},
    {"RESET_STREAM_AT reliable > final", MOQC__QMUX_02, "24 07 05 10 20"},
    {"MAX_STREAMS above 2^60", MOQC__QMUX_01, "13 D0 00 00 00 00 00 00 01"},
    {"STREAMS_BLOCKED above 2^60", MOQC__QMUX_01, "16 D0 00 00 00 00 00 00 01"},
    {"offset + length beyond 2^62-1", MOQC__QMUX_01, "0E 00 FF FF FF FF FF FF FF FF 01 AA"},
    {"STREAM length above the bound", MOQC__QMUX_01, "0E 00 00 80 20 00 00"},
    {"reason length above the bound", MOQC__QMUX_01, "1D 00 80 20 00 00"},
    {"TP length above the bound", MOQC__QMUX_01, "FF 51 53 30 0D 0A 0D 0A 80 20 00 00"},
    {"bytes after the frame on qmux-00", MOQC__QMUX_00, "05 03 00 00"},
    {"legacy unknown type", MOQC__QMUX_WEBTRANSPORT, "0E 00 00 01 01"},
    {"legacy RESET_STREAM with trailing bytes", MOQC__QMUX_WEBTRANSPORT, "04 00 00 00"},
    {"unknown format", MOQC__QMUX_NONE, "05 03 00"},
};

static void test_qmux_malformed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
    uint8_t buf[32];
    size_t n = test_unhex(malformed[i].hex, buf, sizeof(buf));
    const uint8_t *p = buf;
    moqc__qmux_frame f;
    print_message("malformed: %s\n", malformed[i].why);
    assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, malformed[i].fmt, &f),
                     MOQC_ERR_MALFORMED);
    assert_ptr_equal(p, buf);
  }
}

static void test_qmux_encode_rules(void **state) {
  uint8_t out[64];
  moqc__writer w;
  moqc__qmux_frame f;
  const uint8_t data[3] = {1, 2, 3};
  (void)state;
  /* moqc's STREAM form: 0e/0f with offset and length. */
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_put_stream(&w, MOQC__QMUX_01, 2, 13, NULL, 0, true);
  assert_int_equal(moqc__writer_result(&w), 4);
  assert_memory_equal(out, "\x0f\x02\x0d\x00", 4);
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_put_stream(&w, MOQC__QMUX_WEBTRANSPORT, 0, 0, data, 3, false);
  assert_int_equal(moqc__writer_result(&w), 5);
  assert_memory_equal(out, "\x08\x00\x01\x02\x03", 5);
  /* An empty STREAM frame without FIN is never sent. */
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_put_stream(&w, MOQC__QMUX_01, 2, 0, NULL, 0, false);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  /* Types the format lacks. */
  memset(&f, 0, sizeof(f));
  f.type = MOQC__QMUX_PING_REQUEST;
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_frame_encode(&w, MOQC__QMUX_00, &f);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  assert_int_equal(moqc__qmux_frame_size(MOQC__QMUX_00, &f), 0);
  f.type = MOQC__QMUX_MAX_DATA;
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_frame_encode(&w, MOQC__QMUX_WEBTRANSPORT, &f);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  f.type = MOQC__QMUX_RESET_STREAM_AT;
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_frame_encode(&w, MOQC__QMUX_01, &f);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  f.type = MOQC__QMUX_MAX_STREAMS_UNI;
  f.max = MOQC__QMUX_MAX_STREAMS_LIMIT + 1;
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_frame_encode(&w, MOQC__QMUX_01, &f);
  assert_int_equal(moqc__writer_result(&w), MOQC_ERR_INVALID_ARGUMENT);
  /* The quirk is only written on qmux-00. */
  memset(&f, 0, sizeof(f));
  f.type = MOQC__QMUX_APPLICATION_CLOSE;
  f.close_quirk = true;
  moqc__writer_init(&w, out, sizeof(out));
  moqc__qmux_frame_encode(&w, MOQC__QMUX_01, &f);
  assert_int_equal(moqc__writer_result(&w), 3);
  assert_memory_equal(out, "\x1d\x00\x00", 3);
}

/* Transport parameters: the captured blocks decode to the documented values and moqc's
 * defaults re-encode to exactly the captured bytes. */
static void test_qmux_params_vectors(void **state) {
  static const struct {
    const char *where, *hex;
    moqc__qmux_format fmt;
  } tps[] = {
      {"moq-lite-05.txt conn 0 S->C msg 0 (qmux-01)", TP_01, MOQC__QMUX_01},
      {"legacy.txt conn 0 S->C msg 0 (qmux-00 server)", TP_00_SERVER, MOQC__QMUX_00},
      {"npm-client.md 2.4 (qmux-02)", TP_02, MOQC__QMUX_02},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
    uint8_t buf[80], out[80];
    size_t n = test_unhex(tps[i].hex, buf, sizeof(buf));
    const uint8_t *p = buf;
    moqc__qmux_frame f;
    moqc__qmux_params prm, def;
    moqc__writer w;
    print_message("params %s\n", tps[i].where);
    assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, tps[i].fmt, &f), 0);
    assert_int_equal(moqc__qmux_params_decode(f.data, f.len, &prm), 0);
    moqc__qmux_params_default(&def, tps[i].fmt);
    assert_int_equal(prm.max_idle_timeout, 30000);
    assert_int_equal(prm.initial_max_data, 1048576);
    assert_int_equal(prm.initial_max_stream_data_bidi_local, 262144);
    assert_int_equal(prm.initial_max_stream_data_bidi_remote, 262144);
    assert_int_equal(prm.initial_max_stream_data_uni, 262144);
    assert_int_equal(prm.initial_max_streams_bidi, 100);
    assert_int_equal(prm.initial_max_streams_uni, 100);
    assert_int_equal(prm.max_datagram_frame_size, tps[i].fmt == MOQC__QMUX_00 ? 0 : 16382);
    assert_int_equal(prm.max_record_size, 16382);
    assert_int_equal(prm.reset_stream_at, tps[i].fmt == MOQC__QMUX_02);
    assert_int_equal(prm.application_protocols.len, 0);
    assert_int_equal(def.max_record_size, prm.max_record_size);
    assert_int_equal(def.max_datagram_frame_size, prm.max_datagram_frame_size);
    assert_int_equal(def.reset_stream_at, prm.reset_stream_at);
    moqc__writer_init(&w, out, sizeof(out));
    moqc__qmux_params_encode(&w, &def);
    assert_int_equal(moqc__writer_result(&w), (moqc_ssize)n);
    assert_memory_equal(out, buf, n);
    moqc__writer_init(&w, out, n - 1);
    moqc__qmux_params_encode(&w, &def);
    assert_int_equal(moqc__writer_result(&w), MOQC_ERR_NOBUF);
  }
  /* legacy.txt conn 0 C->S msg 0: @moq/lite 0.2.2 omits idle timeout and record size. */
  {
    uint8_t buf[64];
    size_t n = test_unhex(TP_00_CLIENT, buf, sizeof(buf));
    const uint8_t *p = buf;
    moqc__qmux_frame f;
    moqc__qmux_params prm;
    assert_int_equal(moqc__qmux_frame_decode(&p, buf + n, MOQC__QMUX_00, &f), 0);
    assert_int_equal(f.len, 32);
    assert_int_equal(moqc__qmux_params_decode(f.data, f.len, &prm), 0);
    assert_int_equal(prm.max_idle_timeout, 0);
    assert_int_equal(prm.max_record_size, 0);
    assert_int_equal(moqc__qmux_params_record_size(&prm), 16382);
    assert_int_equal(prm.initial_max_streams_uni, 100);
  }
}

static void test_qmux_params_rules(void **state) {
  static const struct {
    const char *why, *hex;
    int rv;
  } cases[] = {
      {"forbidden 0x00 (original_destination_connection_id)", "00 00", MOQC_ERR_MALFORMED},
      {"forbidden 0x02", "02 00", MOQC_ERR_MALFORMED},
      {"forbidden 0x03", "03 01 05", MOQC_ERR_MALFORMED},
      {"forbidden 0x0a", "0A 01 03", MOQC_ERR_MALFORMED},
      {"forbidden 0x10", "10 00", MOQC_ERR_MALFORMED},
      {"repeated known id", "04 01 05 04 01 06", MOQC_ERR_MALFORMED},
      {"max_record_size below 16382", "C5 71 C5 94 29 CD 08 45 02 7F FD", MOQC_ERR_MALFORMED},
      {"value shorter than its parameter", "04 02 05 00", MOQC_ERR_MALFORMED},
      {"value longer than its parameter", "04 01 40", MOQC_ERR_MALFORMED},
      {"parameter cut short", "04 04 80 10", MOQC_ERR_MALFORMED},
      {"reset_stream_at with a value", "1D 01 00", MOQC_ERR_MALFORMED},
      {"max_streams above 2^60", "08 08 D0 00 00 00 00 00 00 01", MOQC_ERR_MALFORMED},
      {"bad application_protocols", "FD 4F 9C 2A 8B 1E 60 75 02 05 61", MOQC_ERR_MALFORMED},
      {"empty application protocol", "FD 4F 9C 2A 8B 1E 60 75 01 00", MOQC_ERR_MALFORMED},
      {"unknown ids are skipped", "21 03 01 02 03 40 FF 00 04 01 05", 0},
      {"application_protocols", "FD 4F 9C 2A 8B 1E 60 75 0C 0B 6D 6F 71 2D 6C 69 74 65 2D 30 35",
       0},
      {"empty block", "", 0},
  };
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t buf[32];
    size_t n = test_unhex(cases[i].hex, buf, sizeof(buf));
    moqc__qmux_params prm;
    memset(&prm, 0x77, sizeof(prm));
    print_message("params: %s\n", cases[i].why);
    assert_int_equal(moqc__qmux_params_decode(buf, n, &prm), cases[i].rv);
    if (cases[i].rv != 0) {
      assert_int_equal(prm.initial_max_data, 0x7777777777777777ULL); /* untouched */
    }
  }
  {
    uint8_t buf[32], out[48];
    size_t n = test_unhex("04 01 05 FD 4F 9C 2A 8B 1E 60 75 0C 0B 6D 6F 71 2D 6C 69 74 65 2D 30 35",
                          buf, sizeof(buf));
    moqc__qmux_params prm;
    moqc__writer w;
    const uint8_t *p;
    moqc__qmux_frame f;
    assert_int_equal(moqc__qmux_params_decode(buf, n, &prm), 0);
    assert_int_equal(prm.initial_max_data, 5);
    assert_int_equal(prm.application_protocols.len, 12);
    moqc__writer_init(&w, out, sizeof(out));
    moqc__qmux_params_encode(&w, &prm);
    assert_true(moqc__writer_result(&w) > 0);
    p = out;
    assert_int_equal(moqc__qmux_frame_decode(&p, w.p, MOQC__QMUX_01, &f), 0);
    assert_int_equal(f.len, n);
    assert_memory_equal(f.data, buf, n);
  }
}

/* The 27 tokens @moq/net 0.3.4 offers (moq-lite-05.txt header; npm-client.md 2.1). */
#define NET_034_OFFER                                                                             \
  "qmux-02.moq-lite-05, qmux-01.moq-lite-05, qmux-00.moq-lite-05, qmux-02.moq-lite-04, "         \
  "qmux-01.moq-lite-04, qmux-00.moq-lite-04, qmux-02.moq-lite-03, qmux-01.moq-lite-03, "         \
  "qmux-00.moq-lite-03, qmux-02.moql, qmux-01.moql, qmux-00.moql, qmux-01.moqt-20, "             \
  "qmux-01.moqt-18, qmux-02.moqt-17, qmux-01.moqt-17, qmux-00.moqt-17, qmux-02.moqt-16, "        \
  "qmux-01.moqt-16, qmux-00.moqt-16, qmux-02.moqt-15, qmux-01.moqt-15, qmux-00.moqt-15, "        \
  "qmux-02, qmux-01, qmux-00, webtransport"
/* npm-client.md 2.1: the same list as the ws package sends it, without spaces. */
#define NET_034_OFFER_WS                                                                          \
  "qmux-02.moq-lite-05,qmux-01.moq-lite-05,qmux-00.moq-lite-05,qmux-02.moq-lite-04,qmux-01.moq-" \
  "lite-04,qmux-00.moq-lite-04,qmux-02.moq-lite-03,qmux-01.moq-lite-03,qmux-00.moq-lite-03,qmux-" \
  "02.moql,qmux-01.moql,qmux-00.moql,qmux-01.moqt-20,qmux-01.moqt-18,qmux-02.moqt-17,qmux-01."   \
  "moqt-17,qmux-00.moqt-17,qmux-02.moqt-16,qmux-01.moqt-16,qmux-00.moqt-16,qmux-02.moqt-15,qmux-" \
  "01.moqt-15,qmux-00.moqt-15,qmux-02,qmux-01,qmux-00,webtransport"

static void expect_choice(const char *offer, const moqc_str *alpns, size_t n_alpns, int rv,
                          moqc__qmux_format fmt, const char *alpn, const char *protocol) {
  moqc_str v = moqc_str_c(offer);
  moqc__qmux_choice c;
  print_message("offer '%.40s'\n", offer != NULL ? offer : "(none)");
  assert_int_equal(moqc__qmux_select_protocol(&v, offer != NULL ? 1 : 0, alpns, n_alpns, &c), rv);
  if (rv == 0) {
    assert_int_equal(c.format, fmt);
    assert_true(moqc_str_eq(c.alpn, moqc_str_c(alpn)));
    assert_true(moqc_str_eq(c.protocol, moqc_str_c(protocol)));
  }
}

static void test_qmux_select(void **state) {
  const moqc_str only04[] = {{"moq-lite-04", 11}};
  const moqc_str only03[] = {{"moq-lite-03", 11}};
  const moqc_str only_moql[] = {{"moql", 4}};
  const moqc_str unknown_then05[] = {{"moqt-17", 7}, {"moq-lite-05", 11}};
  (void)state;
  /* @moq/net 0.3.4 (moq-lite-05.txt): the relay picks qmux-01.moq-lite-05. */
  expect_choice(NET_034_OFFER, NULL, 0, 0, MOQC__QMUX_01, "moq-lite-05", "qmux-01.moq-lite-05");
  expect_choice(NET_034_OFFER_WS, NULL, 0, 0, MOQC__QMUX_01, "moq-lite-05",
                "qmux-01.moq-lite-05");
  /* Forced versions as in moq-lite-04.txt, moq-lite-03.txt and legacy-moql.txt. */
  expect_choice(NET_034_OFFER, only04, 1, 0, MOQC__QMUX_01, "moq-lite-04", "qmux-01.moq-lite-04");
  expect_choice(NET_034_OFFER, only03, 1, 0, MOQC__QMUX_01, "moq-lite-03", "qmux-01.moq-lite-03");
  expect_choice(NET_034_OFFER, only_moql, 1, 0, MOQC__QMUX_01, "moql", "qmux-01.moql");
  expect_choice(NET_034_OFFER, unknown_then05, 2, 0, MOQC__QMUX_01, "moq-lite-05",
                "qmux-01.moq-lite-05");
  /* @moq/lite 0.2.2 (legacy.txt): bare qmux-00, legacy SETUP handshake. */
  expect_choice("qmux-00, webtransport", NULL, 0, 0, MOQC__QMUX_00, "", "qmux-00");
  /* Server order wins over client order. */
  expect_choice("qmux-00.moq-lite-05, qmux-01.moq-lite-05", NULL, 0, 0, MOQC__QMUX_01,
                "moq-lite-05", "qmux-01.moq-lite-05");
  expect_choice("qmux-01.moq-lite-04, qmux-02.moq-lite-05", NULL, 0, 0, MOQC__QMUX_02,
                "moq-lite-05", "qmux-02.moq-lite-05");
  expect_choice("qmux-00.moq-lite-05, qmux-02.moq-lite-05", NULL, 0, 0, MOQC__QMUX_00,
                "moq-lite-05", "qmux-00.moq-lite-05");
  expect_choice("webtransport, qmux-01", NULL, 0, 0, MOQC__QMUX_01, "", "qmux-01");
  expect_choice("webtransport", NULL, 0, 0, MOQC__QMUX_WEBTRANSPORT, "", "webtransport");
  /* No subprotocol offered: legacy format, nothing echoed. */
  expect_choice(NULL, NULL, 0, 0, MOQC__QMUX_WEBTRANSPORT, "", "");
  expect_choice("  ", NULL, 0, 0, MOQC__QMUX_WEBTRANSPORT, "", "");
  /* Offered, nothing matches: HTTP 400. moqt-* and unknown ALPNs are never selected. */
  expect_choice("qmux-01.moqt-17, qmux-02.moqt-16", NULL, 0, MOQC_ERR_NOT_FOUND, 0, "", "");
  expect_choice("chat, superchat", NULL, 0, MOQC_ERR_NOT_FOUND, 0, "", "");
  expect_choice("qmux-01.moq-lite-05", only04, 1, MOQC_ERR_NOT_FOUND, 0, "", "");
  /* Not a token list. */
  expect_choice("qmux-01 qmux-00", NULL, 0, MOQC_ERR_MALFORMED, 0, "", "");
  expect_choice("qmux-01,,qmux-00", NULL, 0, MOQC_ERR_MALFORMED, 0, "", "");
  expect_choice("\"qmux-01\"", NULL, 0, MOQC_ERR_MALFORMED, 0, "", "");
  /* The header may repeat. */
  {
    moqc_str v[2] = {{"qmux-00.moql", 12}, {" qmux-02.moq-lite-04 ,qmux-01.moq-lite-04", 41}};
    moqc__qmux_choice c;
    assert_int_equal(moqc__qmux_select_protocol(v, 2, NULL, 0, &c), 0);
    assert_true(moqc_str_eq(c.protocol, moqc_str_c("qmux-01.moq-lite-04")));
  }
  /* More than 64 tokens. */
  {
    char big[1024];
    size_t n = 0;
    for (int i = 0; i < 65; i++) {
      n += (size_t)snprintf(big + n, sizeof(big) - n, "x%d,", i);
    }
    expect_choice(big, NULL, 0, MOQC_ERR_MALFORMED, 0, "", "");
  }
}

static void test_qmux_parse_protocol(void **state) {
  moqc__qmux_choice c;
  (void)state;
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c("qmux-01.moq-lite-05"), &c), 0);
  assert_int_equal(c.format, MOQC__QMUX_01);
  assert_true(moqc_str_eq(c.alpn, moqc_str_c("moq-lite-05")));
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c("qmux-02.moql"), &c), 0);
  assert_int_equal(c.format, MOQC__QMUX_02);
  assert_true(moqc_str_eq(c.alpn, moqc_str_c("moql")));
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c("qmux-00"), &c), 0);
  assert_int_equal(c.format, MOQC__QMUX_00);
  assert_int_equal(c.alpn.len, 0);
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c(""), &c), 0);
  assert_int_equal(c.format, MOQC__QMUX_WEBTRANSPORT);
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c("webtransport"), &c), 0);
  assert_int_equal(c.format, MOQC__QMUX_WEBTRANSPORT);
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c("qmux-03.moq-lite-05"), &c),
                   MOQC_ERR_NOT_FOUND);
  assert_int_equal(moqc__qmux_parse_protocol(moqc_str_c("qmux-01."), &c), MOQC_ERR_NOT_FOUND);
}


/* ---- every captured message of every vector file (shared/vectors, all .txt files) ---- */

#define VEC_MAX_STREAMS 128
#define VEC_MAX_BYTES 8192

typedef struct vec_stream {
  uint64_t id;
  uint8_t data[VEC_MAX_BYTES];
  size_t len;
  bool fin, used;
} vec_stream;

/* [connection][direction: 0 = C->S, 1 = S->C][slot] */
static vec_stream vec_streams[2][2][VEC_MAX_STREAMS];

static vec_stream *vec_stream_get(int conn, int dir, uint64_t id) {
  for (size_t i = 0; i < VEC_MAX_STREAMS; i++) {
    vec_stream *st = &vec_streams[conn][dir][i];
    if (st->used && st->id == id) {
      return st;
    }
    if (!st->used) {
      st->used = true;
      st->id = id;
      st->len = 0;
      st->fin = false;
      return st;
    }
  }
  fail_msg("too many streams");
  return NULL;
}

static const char *vec_frame_name(uint64_t t) {
  if (t >= 0x08 && t <= 0x0f) {
    return "STREAM";
  }
  switch (t) {
  case MOQC__QMUX_PADDING: return "PADDING";
  case MOQC__QMUX_RESET_STREAM: return "RESET_STREAM";
  case MOQC__QMUX_STOP_SENDING: return "STOP_SENDING";
  case MOQC__QMUX_MAX_DATA: return "MAX_DATA";
  case MOQC__QMUX_MAX_STREAM_DATA: return "MAX_STREAM_DATA";
  case MOQC__QMUX_MAX_STREAMS_BIDI: return "MAX_STREAMS";
  case MOQC__QMUX_MAX_STREAMS_UNI: return "MAX_STREAMS";
  case MOQC__QMUX_CONNECTION_CLOSE: return "CONNECTION_CLOSE";
  case MOQC__QMUX_APPLICATION_CLOSE: return "APPLICATION_CLOSE";
  case MOQC__QMUX_TRANSPORT_PARAMETERS: return "QX_TRANSPORT_PARAMETERS";
  case MOQC__QMUX_PING_REQUEST: return "QX_PING";
  case MOQC__QMUX_PING_RESPONSE: return "QX_PING";
  default: return "?";
  }
}

/* Decodes one captured message, checks it against its annotation, re-encodes it, and feeds
 * STREAM data into the reassembly. Returns the number of frames. */
static size_t vec_message(moqc__qmux_format fmt, int conn, int dir, const uint8_t *msg, size_t n,
                          const char *annotation) {
  const uint8_t *p = msg, *end = msg + n;
  size_t frames = 0;
  while (p < end) {
    const uint8_t *start = p;
    moqc__qmux_frame f;
    uint8_t out[VEC_MAX_BYTES];
    moqc__writer w;
    const char *name;
    assert_int_equal(moqc__qmux_frame_decode(&p, end, fmt, &f), 0);
    frames++;
    name = vec_frame_name(f.type);
    if (strncmp(annotation, name, strlen(name)) != 0) {
      fail_msg("frame %s, annotation '%s'", name, annotation);
    }
    moqc__writer_init(&w, out, sizeof(out));
    moqc__qmux_frame_encode(&w, fmt, &f);
    assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(p - start));
    assert_memory_equal(out, start, (size_t)(p - start));
    if (f.type == MOQC__QMUX_TRANSPORT_PARAMETERS) {
      moqc__qmux_params prm;
      assert_int_equal(moqc__qmux_params_decode(f.data, f.len, &prm), 0);
      moqc__writer_init(&w, out, sizeof(out));
      moqc__qmux_params_encode(&w, &prm);
      assert_int_equal(moqc__writer_result(&w), (moqc_ssize)(p - start));
      assert_memory_equal(out, start, (size_t)(p - start));
    }
    if (f.type >= 0x08 && f.type <= 0x0f) {
      vec_stream *st = vec_stream_get(conn, dir, f.stream_id);
      if ((f.type & MOQC__QMUX_STREAM_OFF) != 0) {
        assert_int_equal(f.offset, st->len); /* in order, contiguous */
      }
      assert_false(st->fin);
      assert_true(st->len + f.len <= VEC_MAX_BYTES);
      memcpy(st->data + st->len, f.data, f.len);
      st->len += f.len;
      st->fin = f.fin;
    }
  }
  if (fmt == MOQC__QMUX_00) {
    assert_int_equal(frames, 1);
  }
  return frames;
}

static size_t vec_hex(const char *s, uint8_t *out, size_t cap) {
  size_t n = test_unhex(s, out, cap);
  assert_true(n <= cap);
  return n;
}

static void vec_file(const char *name, size_t *total_msgs, size_t *total_streams) {
  char path[512], line[32768];
  static uint8_t msg[VEC_MAX_BYTES];
  FILE *fp;
  moqc__qmux_format fmt = MOQC__QMUX_NONE;
  int conn = -1, dir = -1;
  bool reassembled = false;
  uint64_t cur_stream = 0;
  int cur_dir = -1;
  size_t cur_len = 0;
  bool cur_fin = false;

  snprintf(path, sizeof(path), "%s/vectors/%s", MOQC_SHARED_DIR, name);
  fp = fopen(path, "r");
  if (fp == NULL) {
    fail_msg("cannot open %s", path);
    return;
  }
  memset(vec_streams, 0, sizeof(vec_streams));
  while (fgets(line, sizeof(line), fp) != NULL) {
    size_t want;
    if (strstr(line, "-> QMux wire format qmux-00") != NULL) {
      fmt = MOQC__QMUX_00;
    } else if (strstr(line, "-> QMux wire format qmux-01") != NULL) {
      fmt = MOQC__QMUX_01;
    } else if (strncmp(line, "## Connection ", 14) == 0) {
      conn = line[14] - '0';
      reassembled = false;
    } else if (strncmp(line, "### QMux frames C->S", 20) == 0) {
      dir = 0;
    } else if (strncmp(line, "### QMux frames S->C", 20) == 0) {
      dir = 1;
    } else if (strncmp(line, "### Reassembled", 15) == 0) {
      reassembled = true;
    } else if (!reassembled && strncmp(line, "msg ", 4) == 0 &&
               sscanf(strrchr(line, '('), "(%zu bytes)", &want) == 1) {
      char hexline[32768], ann[512];
      size_t n;
      assert_true(conn == 0 || conn == 1);
      assert_true(dir == 0 || dir == 1);
      assert_non_null(fgets(hexline, sizeof(hexline), fp));
      assert_non_null(fgets(ann, sizeof(ann), fp));
      n = vec_hex(hexline, msg, sizeof(msg));
      assert_int_equal(n, want);
      assert_non_null(strstr(ann, "= "));
      vec_message(fmt, conn, dir, msg, n, strstr(ann, "= ") + 2);
      (*total_msgs)++;
    } else if (reassembled && strncmp(line, "stream ", 7) == 0) {
      cur_stream = strtoull(line + 7, NULL, 10);
    } else if (reassembled && (strncmp(line, "  C->S  ", 8) == 0 ||
                               strncmp(line, "  S->C  ", 8) == 0)) {
      cur_dir = line[2] == 'C' ? 0 : 1;
      cur_len = strtoull(line + 8, NULL, 10);
      cur_fin = strstr(line, "bytes, FIN") != NULL;
    } else if (reassembled && strncmp(line, "    bytes: ", 11) == 0) {
      static uint8_t want_bytes[VEC_MAX_BYTES];
      size_t n = vec_hex(line + 11, want_bytes, sizeof(want_bytes));
      vec_stream *st = vec_stream_get(conn, cur_dir, cur_stream);
      assert_int_equal(n, cur_len);
      if (st->len != n || memcmp(st->data, want_bytes, n) != 0 || st->fin != cur_fin) {
        fail_msg("%s conn %d stream %llu dir %d: reassembled %zu bytes fin %d, want %zu fin %d",
                 name, conn, (unsigned long long)cur_stream, cur_dir, st->len, st->fin, n,
                 cur_fin);
      }
      (*total_streams)++;
    }
  }
  fclose(fp);
  assert_true(fmt != MOQC__QMUX_NONE);
}

static void test_qmux_vector_files(void **state) {
  static const char *const files[] = {
      "moq-lite-05.txt", "moq-lite-04.txt", "moq-lite-03.txt", "legacy.txt",
      "legacy-moql.txt", "moqt-14.txt",     "moqt-15.txt",     "moqt-16.txt",
      "moqt-17.txt",     "moqt-18.txt",     "moqt-20.txt",
  };
  (void)state;
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    size_t msgs = 0, streams = 0;
    vec_file(files[i], &msgs, &streams);
    print_message("%s: %zu messages decoded and re-encoded, %zu streams reassembled\n",
                  files[i], msgs, streams);
    assert_true(msgs > 20);
    assert_true(streams > 5);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qmux_vectors),      cmocka_unit_test(test_qmux_close_quirk),
      cmocka_unit_test(test_qmux_record),       cmocka_unit_test(test_qmux_malformed),
      cmocka_unit_test(test_qmux_encode_rules), cmocka_unit_test(test_qmux_params_vectors),
      cmocka_unit_test(test_qmux_params_rules), cmocka_unit_test(test_qmux_select),
      cmocka_unit_test(test_qmux_parse_protocol), cmocka_unit_test(test_qmux_vector_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
