/*
 * Fuzz target: HTTP/3 frames, SETTINGS, capsules, WebTransport stream headers and datagrams.
 * The first byte picks the decoder; the rest is its input. Decoders must stay in bounds, leave
 * the cursor alone on failure, and SETTINGS / CLOSE_WEBTRANSPORT_SESSION must round-trip.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/h3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_h3_check(int rv, const uint8_t *p, const uint8_t *before, const uint8_t *end) {
  if (rv != 0) {
    if ((rv != MOQC_ERR_INCOMPLETE && rv != MOQC_ERR_MALFORMED) || p != before) {
      abort();
    }
  } else if (p < before || p > end) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p, *end;
  uint8_t sel;
  static uint8_t out[1 << 14];

  if (size < 1) {
    return 0;
  }
  sel = data[0];
  p = data + 1;
  end = data + size;
  switch (sel % 6) {
  case 0: /* a control stream: frames until the input ends */
    while (p < end) {
      const uint8_t *before = p;
      moqc__h3_frame f;
      int rv = moqc__h3_frame_decode(&p, end, 4096, &f);
      fuzz_h3_check(rv, p, before, end);
      if (rv != 0) {
        break;
      }
      if (f.type == MOQC__H3_SETTINGS) {
        moqc__h3_settings s, back;
        if (moqc__h3_settings_decode(f.payload, f.len, &s) == 0) {
          moqc__writer w;
          const uint8_t *q = out;
          moqc__h3_frame g;
          moqc__writer_init(&w, out, sizeof(out));
          moqc__h3_put_settings(&w, &s);
          if (moqc__writer_result(&w) <= 0 ||
              moqc__h3_frame_decode(&q, w.p, sizeof(out), &g) != 0 ||
              moqc__h3_settings_decode(g.payload, g.len, &back) != 0 ||
              memcmp(&s.qpack_max_table_capacity, &back.qpack_max_table_capacity,
                     sizeof(uint64_t)) != 0 ||
              s.webtransport_max_sessions != back.webtransport_max_sessions ||
              s.enable_webtransport != back.enable_webtransport) {
            abort();
          }
        }
      } else if (f.type == MOQC__H3_GOAWAY) {
        uint64_t id;
        (void)moqc__h3_id_payload_decode(f.payload, f.len, &id);
      }
    }
    break;
  case 1: { /* capsules on a CONNECT stream */
    while (p < end) {
      const uint8_t *before = p;
      moqc__h3_capsule c;
      int rv = moqc__h3_capsule_decode(&p, end, 2048, &c);
      fuzz_h3_check(rv, p, before, end);
      if (rv != 0) {
        break;
      }
      if (c.type == MOQC__H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
        uint32_t code;
        moqc_str reason;
        if (moqc__h3_wt_close_decode(c.value, c.len, &code, &reason) == 0) {
          moqc__writer w;
          moqc__writer_init(&w, out, sizeof(out));
          moqc__h3_put_wt_close(&w, code, reason);
          if (moqc__writer_result(&w) != (moqc_ssize)(p - before) ||
              memcmp(out, before, (size_t)(p - before)) != 0) {
            /* only minimal encodings round-trip byte for byte */
            if (moqc__writer_result(&w) <= 0) {
              abort();
            }
          }
        }
      }
    }
    break;
  }
  case 2: {
    uint64_t type, sid;
    const uint8_t *before = p;
    int rv = moqc__h3_uni_stream_decode(&p, end, &type, &sid);
    fuzz_h3_check(rv, p, before, end);
    break;
  }
  case 3: {
    uint64_t sid;
    bool wt;
    const uint8_t *before = p;
    int rv = moqc__h3_bidi_stream_decode(&p, end, &wt, &sid);
    fuzz_h3_check(rv, p, before, end);
    if (rv == 0 && !wt && p != before) {
      abort();
    }
    break;
  }
  case 5: { /* response field sections: the declared length matches what is written */
    moqc__h3_field fl[2];
    moqc__writer w;
    int status;
    size_t rest;
    if (size < 4) {
      break;
    }
    status = 100 + (data[1] << 8 | data[2]) % 900;
    rest = size - 3;
    fl[0].name.ptr = "x-a";
    fl[0].name.len = 3;
    fl[0].value.ptr = (const char *)data + 3;
    fl[0].value.len = rest / 2;
    fl[1].name.ptr = (const char *)data + 3 + rest / 2;
    fl[1].name.len = rest - rest / 2;
    fl[1].value.ptr = "v";
    fl[1].value.len = 1;
    moqc__writer_init(&w, out, sizeof(out));
    moqc__h3_put_response_headers(&w, status, fl, 2);
    if (moqc__writer_result(&w) > 0) {
      const uint8_t *q = out;
      moqc__h3_frame f;
      if (moqc__h3_frame_decode(&q, w.p, sizeof(out), &f) != 0 || q != w.p ||
          f.type != MOQC__H3_HEADERS || f.payload[0] != 0 || f.payload[1] != 0) {
        abort();
      }
    } else if (moqc__writer_result(&w) != MOQC_ERR_INVALID_ARGUMENT &&
               moqc__writer_result(&w) != MOQC_ERR_NOBUF) {
      abort();
    }
    break;
  }
  default: {
    uint64_t sid, wire = 0;
    const uint8_t *payload, *before = p;
    size_t len;
    uint32_t code;
    int rv = moqc__h3_datagram_decode(&p, end, &sid, &payload, &len);
    fuzz_h3_check(rv, p, before, end);
    if (rv == 0 && (sid % 4 != 0 || payload + len != end)) {
      abort();
    }
    for (size_t i = 1; i < size && i < 7; i++) {
      wire = wire << 8 | data[i];
    }
    if (moqc__h3_wt_error_from_wire(wire, &code) == 0 &&
        moqc__h3_wt_error_to_wire(code) != wire) {
      abort();
    }
    break;
  }
  }
  return 0;
}
