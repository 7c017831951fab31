/*
 * moq-lite Subscribe stream (spec 4.5): SUBSCRIBE, SUBSCRIBE_UPDATE and the
 * publisher's responses of each version (untyped OK on lite-01/02; typed
 * OK/DROP on lite-03/04; typed OK(START)/END/DROP on lite-05).
 */
#include "wire/lite_int.h"

#include <string.h>

/* The preference fields shared by SUBSCRIBE (lite-03+), SUBSCRIBE_UPDATE and
 * the lite-03/04 SUBSCRIBE_OK: ordered, max latency, start, end (priority is
 * read by the caller). */
static int prefs_parse(const uint8_t **q, const uint8_t *end, bool *ordered,
                       uint64_t *latency, bool *has_start, uint64_t *start,
                       bool *has_end, uint64_t *endg) {
  int rv;

  if ((rv = moqc__get_bool(q, end, ordered)) != 0 ||
      (rv = moqc__lite_get_js(q, end, latency)) != 0 ||
      (rv = moqc__lite_get_optgroup(q, end, has_start, start)) != 0) {
    return rv;
  }
  return moqc__lite_get_optgroup(q, end, has_end, endg);
}

static int prefs_put(moqc__writer *w, bool ordered, uint64_t latency,
                     bool has_start, uint64_t start, bool has_end,
                     uint64_t endg) {
  uint64_t sv, ev;
  int rv;

  if ((rv = moqc__lite_check_js(latency)) != 0 ||
      (rv = moqc__lite_optgroup_value(has_start, start, &sv)) != 0 ||
      (rv = moqc__lite_optgroup_value(has_end, endg, &ev)) != 0) {
    return rv;
  }
  moqc__put_u8(w, ordered ? 1 : 0);
  moqc__put_varint(w, latency);
  moqc__put_varint(w, sv);
  moqc__put_varint(w, ev);
  return 0;
}

/* ---- SUBSCRIBE */

static int subscribe_parse(const uint8_t **q, const uint8_t *end,
                           moqc_lite_version v, void *arg) {
  moqc__lite_subscribe *out = arg;
  int rv;

  memset(out, 0, sizeof(*out));
  if ((rv = moqc__get_varint(q, end, &out->id)) != 0 ||
      (rv = moqc__lite_get_path(q, end, &out->broadcast)) != 0 ||
      (rv = moqc__lite_get_name(q, end, &out->track)) != 0 ||
      (rv = moqc__get_u8(q, end, &out->priority)) != 0 || v < MOQC_LITE_03) {
    return rv;
  }
  return prefs_parse(q, end, &out->ordered, &out->max_latency_ms,
                     &out->has_start, &out->start_group, &out->has_end,
                     &out->end_group);
}

int moqc__lite_decode_subscribe(const uint8_t **p, const uint8_t *end,
                                moqc_lite_version v,
                                moqc__lite_subscribe *out) {
  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, subscribe_parse, out);
}

int moqc__lite_encode_subscribe(moqc__writer *w, moqc_lite_version v,
                                const moqc__lite_subscribe *m) {
  moqc__lite_msg msg;
  int rv;

  if (!moqc__lite_version_valid(v) ||
      moqc__lite_check_path(m->broadcast) != 0 ||
      moqc__lite_check_name(m->track) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->id);
  moqc__put_lbytes(&msg.body, m->broadcast.ptr, m->broadcast.len);
  moqc__put_lbytes(&msg.body, m->track.ptr, m->track.len);
  moqc__put_u8(&msg.body, m->priority);
  if (v >= MOQC_LITE_03) {
    rv = prefs_put(&msg.body, m->ordered, m->max_latency_ms, m->has_start,
                   m->start_group, m->has_end, m->end_group);
    if (rv != 0) {
      return moqc__lite_enc_fail(w, msg.start, rv);
    }
  }
  return moqc__lite_msg_end(&msg);
}

/* ---- SUBSCRIBE_UPDATE (lite-03+) */

static int update_parse(const uint8_t **q, const uint8_t *end,
                        moqc_lite_version v, void *arg) {
  moqc__lite_subscribe_update *out = arg;
  int rv = moqc__get_u8(q, end, &out->priority);

  (void)v;
  if (rv != 0) {
    return rv;
  }
  return prefs_parse(q, end, &out->ordered, &out->max_latency_ms,
                     &out->has_start, &out->start_group, &out->has_end,
                     &out->end_group);
}

int moqc__lite_decode_subscribe_update(const uint8_t **p, const uint8_t *end,
                                       moqc_lite_version v,
                                       moqc__lite_subscribe_update *out) {
  if (!moqc__lite_since(v, MOQC_LITE_03)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, update_parse, out);
}

int moqc__lite_encode_subscribe_update(moqc__writer *w, moqc_lite_version v,
                                       const moqc__lite_subscribe_update *m) {
  moqc__lite_msg msg;
  int rv;

  if (!moqc__lite_since(v, MOQC_LITE_03)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_u8(&msg.body, m->priority);
  rv = prefs_put(&msg.body, m->ordered, m->max_latency_ms, m->has_start,
                 m->start_group, m->has_end, m->end_group);
  if (rv != 0) {
    return moqc__lite_enc_fail(w, msg.start, rv);
  }
  return moqc__lite_msg_end(&msg);
}

/* ---- responses */

/* Wire type of a response kind in version v, or -1 when v has no such response.
 */
static int response_wire_type(moqc_lite_version v,
                              moqc_lite_subscribe_response_kind k) {
  switch (k) {
  case MOQC_LITE_SUBSCRIBE_OK:
    return 0;
  case MOQC_LITE_SUBSCRIBE_END:
    return v >= MOQC_LITE_05 ? 1 : -1;
  case MOQC_LITE_SUBSCRIBE_DROP:
    return v >= MOQC_LITE_05 ? 2 : 1;
  default:
    return -1;
  }
}

static int response_kind(moqc_lite_version v, uint64_t type,
                         moqc_lite_subscribe_response_kind *out) {
  if (type == 0) {
    *out = MOQC_LITE_SUBSCRIBE_OK;
  } else if (type == 1) {
    *out =
        v >= MOQC_LITE_05 ? MOQC_LITE_SUBSCRIBE_END : MOQC_LITE_SUBSCRIBE_DROP;
  } else if (type == 2 && v >= MOQC_LITE_05) {
    *out = MOQC_LITE_SUBSCRIBE_DROP;
  } else {
    return MOQC_ERR_MALFORMED;
  }
  return 0;
}

static int response_parse(const uint8_t **q, const uint8_t *end,
                          moqc_lite_version v, void *arg) {
  moqc__lite_subscribe_response *out = arg;
  int rv;

  switch (out->kind) {
  case MOQC_LITE_SUBSCRIBE_OK:
    if (v == MOQC_LITE_01) {
      return moqc__get_u8(q, end, &out->priority);
    }
    if (v == MOQC_LITE_02) {
      return 0;
    }
    if (v >= MOQC_LITE_05) {
      return moqc__lite_get_js(q, end, &out->group);
    }
    if ((rv = moqc__get_u8(q, end, &out->priority)) != 0) {
      return rv;
    }
    return prefs_parse(q, end, &out->ordered, &out->max_latency_ms,
                       &out->has_start, &out->start_group, &out->has_end,
                       &out->end_group);
  case MOQC_LITE_SUBSCRIBE_END:
    return moqc__lite_get_js(q, end, &out->group);
  case MOQC_LITE_SUBSCRIBE_DROP:
  default:
    if ((rv = moqc__lite_get_js(q, end, &out->drop_start)) != 0 ||
        (rv = moqc__lite_get_js(q, end, &out->drop_end)) != 0) {
      return rv;
    }
    return moqc__get_varint(q, end, &out->error_code);
  }
}

int moqc__lite_decode_subscribe_response(const uint8_t **p, const uint8_t *end,
                                         moqc_lite_version v,
                                         moqc__lite_subscribe_response *out) {
  const uint8_t *s = *p;
  int rv;

  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof(*out));
  if (v >= MOQC_LITE_03) {
    uint64_t type;
    if ((rv = moqc__get_varint(&s, end, &type)) != 0 ||
        (rv = response_kind(v, type, &out->kind)) != 0) {
      return rv;
    }
  }
  /* The body follows the type; *p moves only once both are read. */
  if ((rv = moqc__lite_decode_msg(&s, end, v, response_parse, out)) != 0) {
    return rv;
  }
  *p = s;
  return 0;
}

static int response_put(moqc__writer *w, moqc_lite_version v,
                        const moqc__lite_subscribe_response *m) {
  int rv;

  switch (m->kind) {
  case MOQC_LITE_SUBSCRIBE_OK:
    if (v == MOQC_LITE_01) {
      moqc__put_u8(w, m->priority);
      return 0;
    }
    if (v == MOQC_LITE_02) {
      return 0;
    }
    if (v >= MOQC_LITE_05) {
      if ((rv = moqc__lite_check_js(m->group)) != 0) {
        return rv;
      }
      moqc__put_varint(w, m->group);
      return 0;
    }
    moqc__put_u8(w, m->priority);
    return prefs_put(w, m->ordered, m->max_latency_ms, m->has_start,
                     m->start_group, m->has_end, m->end_group);
  case MOQC_LITE_SUBSCRIBE_END:
    if ((rv = moqc__lite_check_js(m->group)) != 0) {
      return rv;
    }
    moqc__put_varint(w, m->group);
    return 0;
  case MOQC_LITE_SUBSCRIBE_DROP:
  default:
    if ((rv = moqc__lite_check_js(m->drop_start)) != 0 ||
        (rv = moqc__lite_check_js(m->drop_end)) != 0) {
      return rv;
    }
    moqc__put_varint(w, m->drop_start);
    moqc__put_varint(w, m->drop_end);
    moqc__put_varint(w, m->error_code);
    return 0;
  }
}

int moqc__lite_encode_subscribe_response(
    moqc__writer *w, moqc_lite_version v,
    const moqc__lite_subscribe_response *m) {
  uint8_t *start = w->p;
  moqc__lite_msg msg;
  int type, rv;

  if (!moqc__lite_version_valid(v)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  type = response_wire_type(v, m->kind);
  if (type < 0 || (v < MOQC_LITE_03 && m->kind != MOQC_LITE_SUBSCRIBE_OK)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (v >= MOQC_LITE_03) {
    moqc__put_varint(w, (uint64_t)type);
    if ((rv = (int)moqc__writer_result(w)) < 0) {
      return moqc__lite_enc_fail(w, start, rv);
    }
  }
  moqc__lite_msg_begin(&msg, w);
  if ((rv = response_put(&msg.body, v, m)) != 0) {
    return moqc__lite_enc_fail(w, start, rv);
  }
  if ((rv = moqc__lite_msg_end(&msg)) != 0) {
    return moqc__lite_enc_fail(w, start, rv);
  }
  return 0;
}
