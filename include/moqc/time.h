/*
 * moqc: media timestamps with explicit timescales. Pure and thread-safe.
 */
#ifndef MOQC_TIME_H
#define MOQC_TIME_H

#include <moqc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Units per second. Never 0; below 2^62 so it fits a QUIC varint. */
typedef uint64_t moqc_timescale;

#define MOQC_TIMESCALE_SECOND ((moqc_timescale)1)
#define MOQC_TIMESCALE_MILLI ((moqc_timescale)1000)
#define MOQC_TIMESCALE_MICRO ((moqc_timescale)1000000)
#define MOQC_TIMESCALE_NANO ((moqc_timescale)1000000000)

/** The largest timestamp value and timescale: 2^62 - 1. */
#define MOQC_TIME_MAX ((uint64_t)0x3fffffffffffffffULL)

/** A media timestamp: value units of 1/scale seconds. */
typedef struct moqc_timestamp {
  uint64_t value;
  moqc_timescale scale;
} moqc_timestamp;

/**
 * Makes a timestamp. Returns 0, or MOQC_ERR_INVALID_ARGUMENT when scale is 0 or above
 * MOQC_TIME_MAX, or MOQC_ERR_TIME_OVERFLOW when value is above MOQC_TIME_MAX.
 */
MOQC_EXTERN int moqc_timestamp_make(moqc_timestamp *out, uint64_t value, moqc_timescale scale);

/**
 * Converts ts to scale, rounding down: value * scale / ts.scale. Returns 0, or
 * MOQC_ERR_INVALID_ARGUMENT for a bad scale, or MOQC_ERR_TIME_OVERFLOW when the result exceeds
 * MOQC_TIME_MAX (*out untouched on error).
 */
MOQC_EXTERN int moqc_timestamp_convert(const moqc_timestamp *ts, moqc_timescale scale,
                                       moqc_timestamp *out);

/**
 * out = a + b. Both must have the same scale (MOQC_ERR_TIMESTAMP_MISMATCH otherwise); a sum above
 * MOQC_TIME_MAX is MOQC_ERR_TIME_OVERFLOW.
 */
MOQC_EXTERN int moqc_timestamp_add(const moqc_timestamp *a, const moqc_timestamp *b,
                                   moqc_timestamp *out);

/**
 * out = a - b. Both must have the same scale (MOQC_ERR_TIMESTAMP_MISMATCH otherwise); b > a is
 * MOQC_ERR_TIME_OVERFLOW.
 */
MOQC_EXTERN int moqc_timestamp_sub(const moqc_timestamp *a, const moqc_timestamp *b,
                                   moqc_timestamp *out);

/**
 * Compares two timestamps of any scales exactly. Returns <0, 0 or >0.
 */
MOQC_EXTERN int moqc_timestamp_cmp(const moqc_timestamp *a, const moqc_timestamp *b);

/**
 * Converts a moqc_tstamp (nanoseconds) to scale, rounding down. Returns 0 or
 * MOQC_ERR_INVALID_ARGUMENT / MOQC_ERR_TIME_OVERFLOW as moqc_timestamp_convert.
 */
MOQC_EXTERN int moqc_timestamp_from_tstamp(moqc_tstamp ts, moqc_timescale scale,
                                           moqc_timestamp *out);

#ifdef __cplusplus
}
#endif

#endif /* MOQC_TIME_H */
