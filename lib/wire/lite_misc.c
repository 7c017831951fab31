/*
 * moq-lite Probe stream (lite-03+, spec 4.8) and Goaway stream (lite-04+,
 * spec 4.9) messages.
 */
#include "wire/lite_int.h"

static int probe_parse(const uint8_t **q, const uint8_t *end,
                       moqc_lite_version v, void *arg) {
  moqc__lite_probe *out = arg;
  int rv = moqc__lite_get_js(q, end, &out->bitrate);

  out->rtt_ms = 0;
  if (rv == 0 && v >= MOQC_LITE_04) {
    rv = moqc__lite_get_js(q, end, &out->rtt_ms);
  }
  return rv;
}

int moqc__lite_decode_probe(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_probe *out) {
  if (!moqc__lite_since(v, MOQC_LITE_03)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, probe_parse, out);
}

int moqc__lite_encode_probe(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_probe *m) {
  moqc__lite_msg msg;

  if (!moqc__lite_since(v, MOQC_LITE_03)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->bitrate) != 0 ||
      (v >= MOQC_LITE_04 && moqc__lite_check_js(m->rtt_ms) != 0)) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->bitrate);
  if (v >= MOQC_LITE_04) {
    moqc__put_varint(&msg.body, m->rtt_ms);
  }
  return moqc__lite_msg_end(&msg);
}

static int goaway_parse(const uint8_t **q, const uint8_t *end,
                        moqc_lite_version v, void *arg) {
  moqc__lite_goaway *out = arg;

  (void)v;
  return moqc__lite_get_name(q, end, &out->uri);
}

int moqc__lite_decode_goaway(const uint8_t **p, const uint8_t *end,
                             moqc_lite_version v, moqc__lite_goaway *out) {
  if (!moqc__lite_since(v, MOQC_LITE_04)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, goaway_parse, out);
}

int moqc__lite_encode_goaway(moqc__writer *w, moqc_lite_version v,
                             const moqc__lite_goaway *m) {
  moqc__lite_msg msg;

  if (!moqc__lite_since(v, MOQC_LITE_04) ||
      moqc__lite_check_name(m->uri) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_lbytes(&msg.body, m->uri.ptr, m->uri.len);
  return moqc__lite_msg_end(&msg);
}
