/*
 * moqc: what a subscriber received — counts, gaps and latency percentiles.
 */
#ifndef MOQC_CLI_SUMMARY_H
#define MOQC_CLI_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"

/** Running totals of a subscription. */
typedef struct summary {
  uint64_t groups;
  uint64_t frames;
  uint64_t bytes;
  uint64_t bad_frames;   /* frames that failed payload_check */
  uint64_t gaps;         /* frame sequences skipped between consecutive frames of a group */
  uint64_t aborted_groups; /* groups that ended with an error (reset, too old, dropped) */
  uint64_t first_group;  /* valid when groups > 0 */
  uint64_t last_group;
  uint64_t *latency_us;  /* one sample per checked frame */
  size_t nlatency;
  size_t caplatency;
} summary;

/** Starts an empty summary. */
void summary_init(summary *s);

/** Counts a new group. */
void summary_group(summary *s, uint64_t group_seq);

/**
 * Counts a frame of len bytes received at now_us (wall clock, microseconds). When the frame is
 * a synthetic one, its latency is sampled and gaps within its group are counted (prev_seq is the
 * previous frame sequence in the same group, or UINT64_MAX for the first). Returns 0, or -1 when
 * the payload failed its check (still counted in bytes and bad_frames), or -2 out of memory.
 */
int summary_frame(summary *s, const uint8_t *buf, size_t len, uint64_t now_us, bool check,
                  uint64_t *prev_seq);

/** The p-th percentile (0..100) of the latency samples in milliseconds; 0 with no sample. */
double summary_latency_ms(summary *s, double p);

/** Writes the summary as one JSON object (no newline) into buf; returns the length. */
size_t summary_json(summary *s, char *buf, size_t cap);

/** Frees the samples. */
void summary_free(summary *s);

#endif /* MOQC_CLI_SUMMARY_H */
