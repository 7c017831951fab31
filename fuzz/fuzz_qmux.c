/*
 * Fuzz target: the QMux frame decoder in every format, the transport parameter decoder and the
 * subprotocol selection. The first byte picks the format; the rest is one WebSocket message.
 * Every decoded frame must re-encode to exactly the bytes it was decoded from (minimal varints
 * in the input) or to a frame that decodes back to the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/qmux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_qmux_same(const moqc__qmux_frame *a, const moqc__qmux_frame *b) {
  if (a->type != b->type || a->stream_id != b->stream_id || a->offset != b->offset ||
      a->final_size != b->final_size || a->reliable_size != b->reliable_size ||
      a->code != b->code || a->max != b->max || a->sequence != b->sequence ||
      a->fin != b->fin || a->len != b->len || a->close_quirk != b->close_quirk ||
      (a->len > 0 && memcmp(a->data, b->data, a->len) != 0)) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p, *end;
  moqc__qmux_format fmt;
  static uint8_t out[1 << 16];

  if (size < 1) {
    return 0;
  }
  fmt = (moqc__qmux_format)(data[0] % 5);
  p = data + 1;
  end = data + size;
  while (p < end) {
    const uint8_t *before = p;
    moqc__qmux_frame f, g;
    moqc__writer w;
    moqc_ssize n;
    int rv = moqc__qmux_frame_decode(&p, end, fmt, &f);

    if (rv != 0) {
      if ((rv != MOQC_ERR_INCOMPLETE && rv != MOQC_ERR_MALFORMED) || p != before) {
        abort();
      }
      break;
    }
    if (p <= before || p > end) {
      abort();
    }
    if (f.len > 0 && (f.data < data || f.data + f.len > end)) {
      abort();
    }
    if (f.type == MOQC__QMUX_TRANSPORT_PARAMETERS) {
      moqc__qmux_params prm;
      if (moqc__qmux_params_decode(f.data, f.len, &prm) == 0) {
        moqc__writer_init(&w, out, sizeof(out));
        moqc__qmux_params_encode(&w, &prm);
        if (moqc__writer_result(&w) < 0) {
          abort();
        }
      }
    }
    /* Re-encode and decode again: same fields. STREAM without LEN and the data-to-end forms
     * are only re-decodable as the last frame, which they are by construction. */
    if ((f.type >= 0x08 && f.type <= 0x0f && f.len == 0 && !f.fin)) {
      continue; /* decodable, but moqc never encodes an empty non-FIN STREAM frame */
    }
    moqc__writer_init(&w, out, sizeof(out));
    moqc__qmux_frame_encode(&w, fmt, &f);
    n = moqc__writer_result(&w);
    if (n < 0 || (size_t)n != moqc__qmux_frame_size(fmt, &f)) {
      abort();
    }
    {
      const uint8_t *q = out;
      if (moqc__qmux_frame_decode(&q, out + n, fmt, &g) != 0 || q != out + n) {
        abort();
      }
      fuzz_qmux_same(&f, &g);
    }
  }
  /* Subprotocol selection over the raw bytes as one header value. */
  {
    moqc_str v = {(const char *)data, size};
    moqc__qmux_choice c;
    int rv = moqc__qmux_select_protocol(&v, 1, NULL, 0, &c);
    if (rv != 0 && rv != MOQC_ERR_NOT_FOUND && rv != MOQC_ERR_MALFORMED) {
      abort();
    }
    if (rv == 0 && c.protocol.len > 0 && moqc__qmux_parse_protocol(c.protocol, &c) != 0) {
      abort();
    }
  }
  return 0;
}
