/*
 * moqc: common definitions shared by every public header.
 */
#ifndef MOQC_COMMON_H
#define MOQC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a public symbol. The library builds with -fvisibility=hidden. */
#if defined(MOQC_BUILDING)
#define MOQC_EXTERN __attribute__((visibility("default")))
#else
#define MOQC_EXTERN
#endif

/** A length or a negative MOQC_ERR_* code. */
typedef ssize_t moqc_ssize;

/**
 * A point in time: nanoseconds of a monotonic clock, supplied by the caller. The model, stats,
 * wire and session layers never read a clock themselves.
 */
typedef uint64_t moqc_tstamp;

/** Nanoseconds per millisecond and per second, for moqc_tstamp arithmetic. */
#define MOQC_MILLISECONDS ((moqc_tstamp)1000000ULL)
#define MOQC_SECONDS ((moqc_tstamp)1000000000ULL)

#ifdef __cplusplus
}
#endif

#endif /* MOQC_COMMON_H */
