/*
 * moq-lite Announce stream messages (spec 4.3): ANNOUNCE_REQUEST, ANNOUNCE_OK
 * (lite-05), ANNOUNCE_BROADCAST with the hop fields of each version,
 * ANNOUNCE_INIT (lite-01/02).
 */
#include "wire/lite_int.h"

#include <string.h>

/* ---- ANNOUNCE_REQUEST */

static int announce_request_parse(const uint8_t **q, const uint8_t *end,
                                  moqc_lite_version v, void *arg) {
  moqc__lite_announce_request *out = arg;
  int rv = moqc__lite_get_path(q, end, &out->prefix);

  out->exclude_hop = 0;
  if (rv == 0 && v >= MOQC_LITE_04) {
    rv = moqc__get_varint(q, end, &out->exclude_hop);
  }
  return rv;
}

int moqc__lite_decode_announce_request(const uint8_t **p, const uint8_t *end,
                                       moqc_lite_version v,
                                       moqc__lite_announce_request *out) {
  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, announce_request_parse, out);
}

int moqc__lite_encode_announce_request(moqc__writer *w, moqc_lite_version v,
                                       const moqc__lite_announce_request *m) {
  moqc__lite_msg msg;

  if (!moqc__lite_version_valid(v) || moqc__lite_check_path(m->prefix) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_lbytes(&msg.body, m->prefix.ptr, m->prefix.len);
  if (v >= MOQC_LITE_04) {
    moqc__put_varint(&msg.body, m->exclude_hop);
  }
  return moqc__lite_msg_end(&msg);
}

/* ---- ANNOUNCE_OK (lite-05) */

static int announce_ok_parse(const uint8_t **q, const uint8_t *end,
                             moqc_lite_version v, void *arg) {
  moqc__lite_announce_ok *out = arg;
  int rv = moqc__get_varint(q, end, &out->hop_id);

  (void)v;
  if (rv == 0) {
    rv = moqc__lite_get_js(q, end, &out->active_count);
  }
  return rv;
}

int moqc__lite_decode_announce_ok(const uint8_t **p, const uint8_t *end,
                                  moqc_lite_version v,
                                  moqc__lite_announce_ok *out) {
  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, announce_ok_parse, out);
}

int moqc__lite_encode_announce_ok(moqc__writer *w, moqc_lite_version v,
                                  const moqc__lite_announce_ok *m) {
  moqc__lite_msg msg;

  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->active_count) != 0) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->hop_id);
  moqc__put_varint(&msg.body, m->active_count);
  return moqc__lite_msg_end(&msg);
}

/* ---- ANNOUNCE_BROADCAST */

static bool announce_status_ok(moqc_lite_version v, uint64_t status) {
  return status == MOQC_LITE_ANNOUNCE_ENDED ||
         status == MOQC_LITE_ANNOUNCE_ACTIVE ||
         (status == MOQC_LITE_ANNOUNCE_RESTART && v >= MOQC_LITE_05);
}

static int announce_parse(const uint8_t **q, const uint8_t *end,
                          moqc_lite_version v, void *arg) {
  moqc__lite_announce *out = arg;
  uint8_t status;
  uint64_t n;
  int rv = moqc__get_u8(q, end, &status);

  if (rv != 0) {
    return rv;
  }
  if (!announce_status_ok(v, status)) {
    return MOQC_ERR_MALFORMED;
  }
  out->status = (moqc_lite_announce_status)status;
  out->n_hops = 0;
  if ((rv = moqc__lite_get_path(q, end, &out->suffix)) != 0 ||
      v < MOQC_LITE_03) {
    return rv;
  }
  if ((rv = moqc__lite_get_js(q, end, &n)) != 0) {
    return rv;
  }
  if (n > MOQC_LITE_MAX_HOPS) {
    return MOQC_ERR_MALFORMED;
  }
  out->n_hops = (size_t)n;
  if (v < MOQC_LITE_04) {
    return 0; /* lite-03 carries the count only */
  }
  for (size_t i = 0; i < out->n_hops; i++) {
    if ((rv = moqc__get_varint(q, end, &out->hops[i])) != 0) {
      return rv;
    }
  }
  return 0;
}

int moqc__lite_decode_announce(const uint8_t **p, const uint8_t *end,
                               moqc_lite_version v, moqc__lite_announce *out) {
  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, announce_parse, out);
}

int moqc__lite_encode_announce(moqc__writer *w, moqc_lite_version v,
                               const moqc__lite_announce *m) {
  moqc__lite_msg msg;

  if (!moqc__lite_version_valid(v) ||
      !announce_status_ok(v, (uint64_t)m->status) ||
      moqc__lite_check_path(m->suffix) != 0 || m->n_hops > MOQC_LITE_MAX_HOPS) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_u8(&msg.body, (uint8_t)m->status);
  moqc__put_lbytes(&msg.body, m->suffix.ptr, m->suffix.len);
  if (v >= MOQC_LITE_03) {
    moqc__put_varint(&msg.body, m->n_hops);
  }
  if (v >= MOQC_LITE_04) {
    for (size_t i = 0; i < m->n_hops; i++) {
      moqc__put_varint(&msg.body, m->hops[i]);
    }
  }
  return moqc__lite_msg_end(&msg);
}

/* ---- ANNOUNCE_INIT (lite-01/02) */

static int announce_init_parse(const uint8_t **q, const uint8_t *end,
                               moqc_lite_version v, void *arg) {
  moqc__lite_announce_init *out = arg;
  uint64_t count;
  const uint8_t *start;
  int rv = moqc__lite_get_js(q, end, &count);

  (void)v;
  if (rv != 0) {
    return rv;
  }
  /* Every suffix takes at least its length byte. */
  if (count > (uint64_t)(end - *q)) {
    return MOQC_ERR_MALFORMED;
  }
  start = *q;
  for (uint64_t i = 0; i < count; i++) {
    moqc_str sfx;
    if ((rv = moqc__lite_get_path(q, end, &sfx)) != 0) {
      return rv;
    }
  }
  out->count = (size_t)count;
  out->suffixes = start;
  out->suffixes_len = (size_t)(*q - start);
  out->enc_suffixes = NULL;
  return 0;
}

int moqc__lite_decode_announce_init(const uint8_t **p, const uint8_t *end,
                                    moqc_lite_version v,
                                    moqc__lite_announce_init *out) {
  if (v != MOQC_LITE_01 && v != MOQC_LITE_02) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, announce_init_parse, out);
}

int moqc__lite_encode_announce_init(moqc__writer *w, moqc_lite_version v,
                                    const moqc__lite_announce_init *m) {
  moqc__lite_msg msg;

  if ((v != MOQC_LITE_01 && v != MOQC_LITE_02) ||
      (m->count > 0 && m->enc_suffixes == NULL)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < m->count; i++) {
    if (moqc__lite_check_path(m->enc_suffixes[i]) != 0) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->count);
  for (size_t i = 0; i < m->count; i++) {
    moqc__put_lbytes(&msg.body, m->enc_suffixes[i].ptr, m->enc_suffixes[i].len);
  }
  return moqc__lite_msg_end(&msg);
}

int moqc__lite_announce_init_next(const uint8_t **p, const uint8_t *end,
                                  moqc_str *suffix) {
  if (*p >= end) {
    return MOQC_ERR_INCOMPLETE;
  }
  return moqc__lite_get_path(p, end, suffix);
}
