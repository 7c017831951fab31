/*
 * Fuzz target for lib/wire/lite_group.c: GROUP, FRAME header and whole FRAME,
 * FETCH and datagrams with every version; and the resumable frame reader, fed
 * the input in chunks, must agree with decoding the same frames in one piece.
 */
#include "fuzz_lite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool group_eq(const moqc__lite_group *a, const moqc__lite_group *b) {
  return a->subscribe_id == b->subscribe_id && a->sequence == b->sequence;
}

static bool fh_eq(const moqc__lite_frame_header *a,
                  const moqc__lite_frame_header *b) {
  return a->ts_delta == b->ts_delta && a->size == b->size;
}

static bool frame_eq(const moqc__lite_frame *a, const moqc__lite_frame *b) {
  return a->ts_delta == b->ts_delta && a->size == b->size &&
         (a->size == 0 || memcmp(a->payload, b->payload, a->size) == 0);
}

static bool fetch_eq(const moqc__lite_fetch *a, const moqc__lite_fetch *b) {
  return fz_str_eq(a->broadcast, b->broadcast) &&
         fz_str_eq(a->track, b->track) && a->priority == b->priority &&
         a->group == b->group;
}

static void datagram(const uint8_t *data, size_t size, moqc_lite_version v) {
  static uint8_t buf[FZ_BUF];
  moqc__lite_datagram d, back;
  const uint8_t *p = data;
  moqc__writer w;
  moqc_ssize n;

  if (!fz_decoded(moqc__lite_decode_datagram(&p, data + size, v, &d), data, p,
                  data + size)) {
    return;
  }
  fz_assert(p == data + size);
  moqc__writer_init(&w, buf, sizeof(buf));
  fz_assert(moqc__lite_encode_datagram(&w, v, &d) == 0);
  n = moqc__writer_result(&w);
  p = buf;
  fz_assert(moqc__lite_decode_datagram(&p, buf + n, v, &back) == 0);
  fz_assert(back.subscribe_id == d.subscribe_id &&
            back.sequence == d.sequence && back.timestamp == d.timestamp &&
            back.size == d.size &&
            (d.size == 0 || memcmp(back.payload, d.payload, d.size) == 0));
}

/* The reader, fed chunks of size 1 + (chunk_sel % 7), must yield the one-piece
 * headers. */
static void reader(const uint8_t *data, size_t size, moqc_lite_version v,
                   uint8_t chunk_sel) {
  moqc__lite_frame_reader r;
  const uint8_t *ref = data, *end = data + size, *p = data;
  size_t chunk = 1 + (size_t)(chunk_sel % 7), payload_left = 0;
  int64_t ts_ref = 0;

  if (!moqc__lite_version_valid(v)) {
    return;
  }
  moqc__lite_frame_reader_init(&r, v);
  while (p < end) {
    const uint8_t *cend = (size_t)(end - p) < chunk ? end : p + chunk;
    while (p < cend) {
      moqc__lite_frame_header h, href;
      int64_t ts;
      int rv, rref;
      if (payload_left > 0) {
        size_t take = (size_t)(cend - p) < payload_left ? (size_t)(cend - p)
                                                        : payload_left;
        p += take;
        payload_left -= take;
        continue;
      }
      const uint8_t *before = p;
      rv = moqc__lite_frame_reader_read(&r, &p, cend, &h, &ts);
      if (rv == MOQC_ERR_INCOMPLETE) {
        fz_assert(p == cend);
        continue;
      }
      rref = moqc__lite_decode_frame_header(&ref, end, v, &href);
      if (rv == MOQC_ERR_MALFORMED) {
        fz_assert(p == before);
        fz_assert(r.refusal == MOQC_ERR_FRAME_TOO_LARGE ||
                  r.refusal == MOQC_ERR_BOUNDS_EXCEEDED ||
                  r.refusal == MOQC_ERR_DECODE);
        /* Either the header itself or the running timestamp was refused. */
        fz_assert(rref == MOQC_ERR_MALFORMED || rref == 0);
        return;
      }
      fz_assert(rv == 0 && rref == 0 && fh_eq(&h, &href) && p == ref);
      ts_ref += href.ts_delta;
      fz_assert(ts == ts_ref);
      payload_left = (size_t)h.size;
      ref += payload_left <= (size_t)(end - ref) ? payload_left
                                                 : (size_t)(end - ref);
    }
  }
  /* A partial header is buffered exactly when the reference decode stopped
   * short of end. */
  fz_assert(moqc__lite_frame_reader_at_boundary(&r) == (ref == end));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_FOR_VERSIONS(v) {
    FZ_MESSAGE(group, moqc__lite_group, data, size, v, group_eq);
    FZ_MESSAGE(frame_header, moqc__lite_frame_header, data, size, v, fh_eq);
    FZ_MESSAGE(frame, moqc__lite_frame, data, size, v, frame_eq);
    FZ_MESSAGE(fetch, moqc__lite_fetch, data, size, v, fetch_eq);
    datagram(data, size, v);
    if (size > 0) {
      reader(data + 1, size - 1, v, data[0]);
    }
  }
  return 0;
}
