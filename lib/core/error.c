/*
 * Error strings and wire-code mappings, generated from MOQC_ERR_MAP.
 */
#include <moqc/error.h>

const char *moqc_strerror(int err) {
  switch (err) {
  case MOQC_OK:
    return "success";
#define XX(name, value, wire, text)                                            \
  case MOQC_ERR_##name:                                                        \
    return text;
    MOQC_ERR_MAP(XX)
#undef XX
  default:
    return "unknown error";
  }
}

const char *moqc_err_name(int err) {
  switch (err) {
  case MOQC_OK:
    return "OK";
#define XX(name, value, wire, text)                                            \
  case MOQC_ERR_##name:                                                        \
    return #name;
    MOQC_ERR_MAP(XX)
#undef XX
  default:
    return "UNKNOWN";
  }
}

bool moqc_err_is_fatal(int err) { return err <= MOQC_ERR_FATAL; }

uint64_t moqc_err_to_lite_code(int err) {
  int64_t wire = -1;

  switch (err) {
  case MOQC_OK:
    return MOQC_LITE_CODE_CANCEL;
#define XX(name, value, w, text)                                               \
  case MOQC_ERR_##name:                                                        \
    wire = (w);                                                                \
    break;
    MOQC_ERR_MAP(XX)
#undef XX
  default:
    break;
  }
  if (wire < 0) {
    return MOQC_LITE_CODE_PROTOCOL_VIOLATION;
  }
  return (uint64_t)wire;
}

/* The first error listed for each wire code is the one a received code maps to. */
static const struct {
  int err;
  int64_t wire;
} error_wire[] = {
#define XX(name, value, w, text) {MOQC_ERR_##name, (w)},
    MOQC_ERR_MAP(XX)
#undef XX
};

int moqc_err_from_lite_code(uint64_t code) {
  size_t i;

  if (code >= MOQC_LITE_CODE_APP_BASE) {
    return MOQC_ERR_APP;
  }
  for (i = 0; i < sizeof(error_wire) / sizeof(error_wire[0]); i++) {
    if (error_wire[i].wire >= 0 && (uint64_t)error_wire[i].wire == code) {
      return error_wire[i].err;
    }
  }
  return MOQC_ERR_REMOTE;
}
