/*
 * Timestamp arithmetic with overflow checks; 128-bit intermediates for conversions.
 */
#include <moqc/error.h>
#include <moqc/time.h>

static bool scale_ok(moqc_timescale s) { return s != 0 && s <= MOQC_TIME_MAX; }

int moqc_timestamp_make(moqc_timestamp *out, uint64_t value,
                        moqc_timescale scale) {
  if (!scale_ok(scale)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  if (value > MOQC_TIME_MAX) {
    return MOQC_ERR_TIME_OVERFLOW;
  }
  out->value = value;
  out->scale = scale;
  return 0;
}

int moqc_timestamp_convert(const moqc_timestamp *ts, moqc_timescale scale,
                           moqc_timestamp *out) {
  unsigned __int128 v;

  if (!scale_ok(scale) || !scale_ok(ts->scale)) {
    return MOQC_ERR_INVALID_ARGUMENT;
  }
  v = (unsigned __int128)ts->value * scale / ts->scale;
  if (v > MOQC_TIME_MAX) {
    return MOQC_ERR_TIME_OVERFLOW;
  }
  out->value = (uint64_t)v;
  out->scale = scale;
  return 0;
}

int moqc_timestamp_add(const moqc_timestamp *a, const moqc_timestamp *b,
                       moqc_timestamp *out) {
  if (a->scale != b->scale) {
    return MOQC_ERR_TIMESTAMP_MISMATCH;
  }
  if (a->value > MOQC_TIME_MAX || b->value > MOQC_TIME_MAX - a->value) {
    return MOQC_ERR_TIME_OVERFLOW;
  }
  out->value = a->value + b->value;
  out->scale = a->scale;
  return 0;
}

int moqc_timestamp_sub(const moqc_timestamp *a, const moqc_timestamp *b,
                       moqc_timestamp *out) {
  if (a->scale != b->scale) {
    return MOQC_ERR_TIMESTAMP_MISMATCH;
  }
  if (b->value > a->value) {
    return MOQC_ERR_TIME_OVERFLOW;
  }
  out->value = a->value - b->value;
  out->scale = a->scale;
  return 0;
}

int moqc_timestamp_cmp(const moqc_timestamp *a, const moqc_timestamp *b) {
  unsigned __int128 x = (unsigned __int128)a->value * b->scale;
  unsigned __int128 y = (unsigned __int128)b->value * a->scale;

  return x < y ? -1 : x > y ? 1 : 0;
}

int moqc_timestamp_from_tstamp(moqc_tstamp ts, moqc_timescale scale,
                               moqc_timestamp *out) {
  moqc_timestamp ns = {ts, MOQC_TIMESCALE_NANO};

  if (ts > MOQC_TIME_MAX) {
    unsigned __int128 v;
    if (!scale_ok(scale)) {
      return MOQC_ERR_INVALID_ARGUMENT;
    }
    v = (unsigned __int128)ts * scale / MOQC_TIMESCALE_NANO;
    if (v > MOQC_TIME_MAX) {
      return MOQC_ERR_TIME_OVERFLOW;
    }
    out->value = (uint64_t)v;
    out->scale = scale;
    return 0;
  }
  return moqc_timestamp_convert(&ns, scale, out);
}
