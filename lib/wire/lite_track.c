/*
 * moq-lite Track stream (lite-05, spec 4.4): TRACK and TRACK_INFO.
 */
#include "wire/lite_int.h"

static int track_parse(const uint8_t **q, const uint8_t *end,
                       moqc_lite_version v, void *arg) {
  moqc__lite_track *out = arg;
  int rv = moqc__lite_get_path(q, end, &out->broadcast);

  (void)v;
  if (rv == 0) {
    rv = moqc__lite_get_name(q, end, &out->track);
  }
  return rv;
}

int moqc__lite_decode_track(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_track *out) {
  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, track_parse, out);
}

int moqc__lite_encode_track(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_track *m) {
  moqc__lite_msg msg;

  if (v != MOQC_LITE_05 || moqc__lite_check_path(m->broadcast) != 0 ||
      moqc__lite_check_name(m->track) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_lbytes(&msg.body, m->broadcast.ptr, m->broadcast.len);
  moqc__put_lbytes(&msg.body, m->track.ptr, m->track.len);
  return moqc__lite_msg_end(&msg);
}

static int track_info_parse(const uint8_t **q, const uint8_t *end,
                            moqc_lite_version v, void *arg) {
  moqc__lite_track_info *out = arg;
  int rv;

  (void)v;
  if ((rv = moqc__get_u8(q, end, &out->priority)) != 0 ||
      (rv = moqc__get_bool(q, end, &out->ordered)) != 0 ||
      (rv = moqc__lite_get_js(q, end, &out->max_latency_ms)) != 0 ||
      (rv = moqc__lite_get_js(q, end, &out->timescale)) != 0) {
    return rv;
  }
  return out->timescale == 0 ? MOQC_ERR_MALFORMED : 0;
}

int moqc__lite_decode_track_info(const uint8_t **p, const uint8_t *end,
                                 moqc_lite_version v,
                                 moqc__lite_track_info *out) {
  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, track_info_parse, out);
}

int moqc__lite_encode_track_info(moqc__writer *w, moqc_lite_version v,
                                 const moqc__lite_track_info *m) {
  moqc__lite_msg msg;

  if (v != MOQC_LITE_05 || m->timescale == 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->max_latency_ms) != 0 ||
      moqc__lite_check_js(m->timescale) != 0) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_u8(&msg.body, m->priority);
  moqc__put_u8(&msg.body, m->ordered ? 1 : 0);
  moqc__put_varint(&msg.body, m->max_latency_ms);
  moqc__put_varint(&msg.body, m->timescale);
  return moqc__lite_msg_end(&msg);
}
