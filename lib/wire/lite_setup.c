/*
 * moq-lite session setup: the lite-05 SETUP message (spec 4.2), the legacy
 * CLIENT_SETUP / SERVER_SETUP handshake with 16-bit lengths (spec 2.3) and
 * SESSION_INFO (spec 4.11).
 */
#include "wire/lite_int.h"

#include <string.h>

/* ---- lite-05 SETUP */

/* A numeric parameter value is exactly one varint filling the value. */
static int setup_value_varint(const uint8_t *val, size_t len, uint64_t *out) {
  const uint8_t *q = val;
  int rv = moqc__get_varint(&q, val + len, out);

  if (rv != 0 || q != val + len) {
    return MOQC_ERR_MALFORMED;
  }
  return 0;
}

static int setup_parse(const uint8_t **q, const uint8_t *end,
                       moqc_lite_version v, void *arg) {
  moqc__lite_setup *out = arg;
  uint64_t count, ids[MOQC_LITE_MAX_SETUP_PARAMS];
  int rv;

  (void)v;
  memset(out, 0, sizeof(*out));
  if ((rv = moqc__get_varint(q, end, &count)) != 0) {
    return rv;
  }
  if (count > MOQC_LITE_MAX_SETUP_PARAMS) {
    return MOQC_ERR_MALFORMED;
  }
  for (size_t i = 0; i < (size_t)count; i++) {
    uint64_t id, len;
    const uint8_t *val;

    if ((rv = moqc__get_varint(q, end, &id)) != 0 ||
        (rv = moqc__get_varint(q, end, &len)) != 0) {
      return rv;
    }
    for (size_t j = 0; j < i; j++) {
      if (ids[j] == id) {
        return MOQC_ERR_MALFORMED;
      }
    }
    ids[i] = id;
    if (len > (uint64_t)(end - *q)) {
      return MOQC_ERR_MALFORMED;
    }
    val = *q;
    *q += len;
    switch (id) {
    case MOQC_LITE_PARAM_PROBE:
      rv = setup_value_varint(val, (size_t)len, &out->probe);
      out->present |= MOQC_LITE_SETUP_HAS_PROBE;
      break;
    case MOQC_LITE_PARAM_ROLE:
      rv = setup_value_varint(val, (size_t)len, &out->role);
      out->present |= MOQC_LITE_SETUP_HAS_ROLE;
      break;
    case MOQC_LITE_PARAM_ORIGIN:
      rv = setup_value_varint(val, (size_t)len, &out->origin);
      out->present |= MOQC_LITE_SETUP_HAS_ORIGIN;
      break;
    case MOQC_LITE_PARAM_PATH:
      if (len > MOQC_LITE_MAX_STRING_LEN ||
          !moqc__utf8_valid(val, (size_t)len)) {
        return MOQC_ERR_MALFORMED;
      }
      out->path.ptr = (const char *)val;
      out->path.len = (size_t)len;
      out->present |= MOQC_LITE_SETUP_HAS_PATH;
      break;
    default:
      out->n_unknown++;
      break;
    }
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

int moqc__lite_decode_setup(const uint8_t **p, const uint8_t *end,
                            moqc_lite_version v, moqc__lite_setup *out) {
  if (v != MOQC_LITE_05) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, setup_parse, out);
}

static void setup_put_num(moqc__writer *w, uint64_t id, uint64_t v) {
  moqc__put_varint(w, id);
  moqc__put_varint(w, moqc__varint_len(v));
  moqc__put_varint(w, v);
}

int moqc__lite_encode_setup(moqc__writer *w, moqc_lite_version v,
                            const moqc__lite_setup *m) {
  moqc__lite_msg msg;
  uint64_t count = 0;

  if (v != MOQC_LITE_05 || (m->present & ~0xfU) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if ((m->present & MOQC_LITE_SETUP_HAS_PATH) &&
      moqc__lite_check_name(m->path) != 0) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  for (uint32_t b = m->present; b != 0; b &= b - 1) {
    count++;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, count);
  if (m->present & MOQC_LITE_SETUP_HAS_PROBE) {
    setup_put_num(&msg.body, MOQC_LITE_PARAM_PROBE, m->probe);
  }
  if (m->present & MOQC_LITE_SETUP_HAS_PATH) {
    moqc__put_varint(&msg.body, MOQC_LITE_PARAM_PATH);
    moqc__put_lbytes(&msg.body, m->path.ptr, m->path.len);
  }
  if (m->present & MOQC_LITE_SETUP_HAS_ROLE) {
    setup_put_num(&msg.body, MOQC_LITE_PARAM_ROLE, m->role);
  }
  if (m->present & MOQC_LITE_SETUP_HAS_ORIGIN) {
    setup_put_num(&msg.body, MOQC_LITE_PARAM_ORIGIN, m->origin);
  }
  return moqc__lite_msg_end(&msg);
}

/* ---- legacy parameters (draft-14 setup parameters) */

int moqc__lite_legacy_param_next(const uint8_t **p, const uint8_t *end,
                                 moqc__lite_legacy_param *out) {
  const uint8_t *s = *p;
  moqc__lite_legacy_param prm;
  int rv;

  memset(&prm, 0, sizeof(prm));
  if ((rv = moqc__get_varint(&s, end, &prm.key)) != 0) {
    return rv;
  }
  if ((prm.key & 1) == 0) {
    rv = moqc__get_varint(&s, end, &prm.value);
  } else {
    rv = moqc__get_lbytes(&s, end, (size_t)(end - s), &prm.bytes);
  }
  if (rv != 0) {
    return rv;
  }
  *out = prm;
  *p = s;
  return 0;
}

static int legacy_params_parse(const uint8_t **q, const uint8_t *end,
                               moqc__lite_legacy_params *out) {
  uint64_t count;
  const uint8_t *start;
  int rv = moqc__get_varint(q, end, &count);

  if (rv != 0) {
    return rv;
  }
  if (count > MOQC_LITE_MAX_LEGACY_PARAMS) {
    return MOQC_ERR_MALFORMED;
  }
  start = *q;
  for (uint64_t i = 0; i < count; i++) {
    moqc__lite_legacy_param prm;
    if ((rv = moqc__lite_legacy_param_next(q, end, &prm)) != 0) {
      return rv;
    }
  }
  out->count = (size_t)count;
  out->params = start;
  out->params_len = (size_t)(*q - start);
  return 0;
}

static int legacy_params_put(moqc__writer *w,
                             const moqc__lite_legacy_param *prm, size_t n) {
  if (n > MOQC_LITE_MAX_LEGACY_PARAMS || (n > 0 && prm == NULL)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  moqc__put_varint(w, n);
  for (size_t i = 0; i < n; i++) {
    moqc__put_varint(w, prm[i].key);
    if ((prm[i].key & 1) == 0) {
      moqc__put_varint(w, prm[i].value);
    } else {
      moqc__put_lbytes(w, prm[i].bytes.ptr, prm[i].bytes.len);
    }
  }
  return 0;
}

/* Reads a u16 Length and its body; INCOMPLETE until the whole body is there. */
static int legacy_get_body(const uint8_t **p, const uint8_t *end,
                           const uint8_t **body, const uint8_t **body_end) {
  const uint8_t *s = *p;
  uint16_t len;
  int rv = moqc__get_u16be(&s, end, &len);

  if (rv != 0) {
    return rv;
  }
  if ((size_t)(end - s) < len) {
    return MOQC_ERR_INCOMPLETE;
  }
  *body = s;
  *body_end = s + len;
  *p = s + len;
  return 0;
}

/* Writes a u16 Length-prefixed body: reserve 2 bytes, write, then fill in the
 * length. */
typedef struct legacy_msg {
  moqc__writer *w;
  uint8_t *start;
  moqc__writer body;
} legacy_msg;

static void legacy_msg_begin(legacy_msg *m, moqc__writer *w) {
  size_t room = (size_t)(w->end - w->p);

  m->w = w;
  m->start = w->p;
  if (room >= 2) {
    moqc__writer_init(&m->body, w->p + 2, room - 2);
  } else {
    moqc__writer_init(&m->body, w->p, 0);
    m->body.err = MOQC_ERR_NOBUF;
  }
  if (w->err != 0) {
    m->body.err = w->err;
  }
}

static int legacy_msg_end(legacy_msg *m, uint8_t *restore) {
  moqc_ssize res = moqc__writer_result(&m->body);

  if (res < 0) {
    return moqc__lite_enc_fail(m->w, restore, (int)res);
  }
  if (res > 0xffff) {
    return moqc__lite_enc_fail(m->w, restore, MOQC_ERR_BOUNDS_EXCEEDED);
  }
  m->start[0] = (uint8_t)(res >> 8);
  m->start[1] = (uint8_t)res;
  m->w->p = m->start + 2 + res;
  return 0;
}

static int client_setup_parse(const uint8_t **q, const uint8_t *end,
                              moqc__lite_client_setup *out) {
  uint64_t n;
  int rv = moqc__get_varint(q, end, &n);

  if (rv != 0) {
    return rv;
  }
  if (n > MOQC_LITE_MAX_LEGACY_VERSIONS) {
    return MOQC_ERR_MALFORMED;
  }
  out->n_versions = (size_t)n;
  for (size_t i = 0; i < out->n_versions; i++) {
    if ((rv = moqc__get_varint(q, end, &out->versions[i])) != 0) {
      return rv;
    }
  }
  return legacy_params_parse(q, end, &out->params);
}

int moqc__lite_decode_client_setup(const uint8_t **p, const uint8_t *end,
                                   moqc__lite_client_setup *out) {
  const uint8_t *s = *p, *q, *bend;
  int rv;

  if ((rv = legacy_get_body(&s, end, &q, &bend)) != 0) {
    return rv;
  }
  memset(out, 0, sizeof(*out));
  rv = client_setup_parse(&q, bend, out);
  rv = moqc__lite_body_done(rv, q, bend);
  if (rv != 0) {
    return rv;
  }
  *p = s;
  return 0;
}

int moqc__lite_encode_client_setup(moqc__writer *w,
                                   const moqc__lite_client_setup *m) {
  legacy_msg msg;
  int rv;

  if (m->n_versions > MOQC_LITE_MAX_LEGACY_VERSIONS) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  legacy_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->n_versions);
  for (size_t i = 0; i < m->n_versions; i++) {
    moqc__put_varint(&msg.body, m->versions[i]);
  }
  if ((rv = legacy_params_put(&msg.body, m->enc_params, m->n_enc_params)) !=
      0) {
    return moqc__lite_enc_fail(w, msg.start, rv);
  }
  return legacy_msg_end(&msg, msg.start);
}

static int server_setup_parse(const uint8_t **q, const uint8_t *end,
                              moqc__lite_server_setup *out) {
  int rv = moqc__get_varint(q, end, &out->version);

  if (rv != 0) {
    return rv;
  }
  return legacy_params_parse(q, end, &out->params);
}

int moqc__lite_decode_server_setup(const uint8_t **p, const uint8_t *end,
                                   moqc__lite_server_setup *out) {
  const uint8_t *s = *p, *q, *bend;
  uint8_t type;
  int rv;

  if ((rv = moqc__get_u8(&s, end, &type)) != 0) {
    return rv;
  }
  if (type != MOQC_LITE_LEGACY_SERVER_SETUP) {
    return MOQC_ERR_MALFORMED;
  }
  if ((rv = legacy_get_body(&s, end, &q, &bend)) != 0) {
    return rv;
  }
  memset(out, 0, sizeof(*out));
  rv = server_setup_parse(&q, bend, out);
  rv = moqc__lite_body_done(rv, q, bend);
  if (rv != 0) {
    return rv;
  }
  *p = s;
  return 0;
}

int moqc__lite_encode_server_setup(moqc__writer *w,
                                   const moqc__lite_server_setup *m) {
  uint8_t *start = w->p;
  legacy_msg msg;
  int rv;

  moqc__put_u8(w, MOQC_LITE_LEGACY_SERVER_SETUP);
  if (moqc__writer_result(w) < 0) {
    return moqc__lite_enc_fail(w, start, (int)moqc__writer_result(w));
  }
  legacy_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->version);
  if ((rv = legacy_params_put(&msg.body, m->enc_params, m->n_enc_params)) !=
      0) {
    return moqc__lite_enc_fail(w, start, rv);
  }
  return legacy_msg_end(&msg, start);
}

moqc_lite_version moqc__lite_legacy_select(const moqc__lite_client_setup *cs,
                                           uint32_t supported) {
  for (size_t i = 0; i < cs->n_versions && i < MOQC_LITE_MAX_LEGACY_VERSIONS;
       i++) {
    moqc_lite_version v = moqc__lite_version_from_code(cs->versions[i]);
    if (v != MOQC_LITE_NONE && (supported & MOQC_LITE_BIT(v)) != 0) {
      return v;
    }
  }
  return MOQC_LITE_NONE;
}

/* ---- SESSION_INFO (lite-01/02) */

static int session_info_parse(const uint8_t **q, const uint8_t *end,
                              moqc_lite_version v, void *arg) {
  moqc__lite_session_info *out = arg;

  (void)v;
  return moqc__lite_get_js(q, end, &out->bitrate);
}

int moqc__lite_decode_session_info(const uint8_t **p, const uint8_t *end,
                                   moqc_lite_version v,
                                   moqc__lite_session_info *out) {
  if (v != MOQC_LITE_01 && v != MOQC_LITE_02) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  return moqc__lite_decode_msg(p, end, v, session_info_parse, out);
}

int moqc__lite_encode_session_info(moqc__writer *w, moqc_lite_version v,
                                   const moqc__lite_session_info *m) {
  moqc__lite_msg msg;

  if (v != MOQC_LITE_01 && v != MOQC_LITE_02) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (moqc__lite_check_js(m->bitrate) != 0) {
    return MOQC_ERR_BOUNDS_EXCEEDED;
  }
  moqc__lite_msg_begin(&msg, w);
  moqc__put_varint(&msg.body, m->bitrate);
  return moqc__lite_msg_end(&msg);
}
