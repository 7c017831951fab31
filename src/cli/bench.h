/*
 * moqc bench: a load generator in the spirit of moq-bench. P publishing
 * connections (each its own broadcast) and S subscribing connections per
 * broadcast, all on one libuv loop in one process; a progress line every second
 * on stderr and a JSON summary on stdout.
 *
 * This header holds the pure parts (flag parsing, the summary math, the light
 * payload header decode) so they can be unit-tested; bench.c runs the
 * connections.
 */
#ifndef MOQC_CLI_BENCH_H
#define MOQC_CLI_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"

/** Everything `moqc bench` can be told, with defaults from bench_parse. */
typedef struct bench_opts {
  const char *url_text; /* points into argv */
  cli_url url;
  uint64_t publishers;  /* --publishers, default 1 */
  uint64_t subscribers; /* --subscribers (per broadcast), default 1 */
  uint64_t
      idle; /* --idle: extra connections that only hold a session, default 0 */
  double fps; /* --fps, default 30 (> 0) */
  uint64_t
      frame_size; /* --frame-size, default 10416 (2.5 Mbps at 30 fps), >= 32 */
  uint64_t group_frames; /* --group-frames, default 60 */
  double duration_s;     /* --duration, default 10 (> 0) */
  const char
      *prefix; /* --prefix, broadcast paths are <prefix>/<i>; default "bench" */
  const char *track;  /* --track, default "clock" */
  double retention_s; /* --retention: the track's retention (0 = the model's
                         default, 5 s) */
  double startup_s;   /* --startup-timeout: longest wait for every subscription,
                         default 30 */
  double drain_s;     /* --drain: longest wait for subscribers after the end,
                         default 5 */
  uint64_t connect_rate; /* --connect-rate: connections opened per second,
                            default 1000 */
  uint64_t threads;      /* --threads: event loops, default 1 (1..64) */
  bool full_cache; /* --full-cache: subscribers keep received groups for the
                      track's retention (default: only until read) */
  bool verify;  /* --verify: check every payload byte (default: the header only)
                 */
  bool quiet;   /* --quiet: no progress line */
  bool verbose; /* --verbose: library debug logs */
  bool tls_disable_verify;
  const char *tls_fingerprint;
  const char *tls_root; /* --tls-root: PEM roots instead of the system's */
  bool force_websocket; /* --websocket: http:// over WebSocket only */
  uint8_t fingerprint[32];
} bench_opts;

/**
 * Parses the arguments after "bench" (argv[0] is "bench"): the URL positional
 * and the flags
 * ("--flag value" or "--flag=value"). Returns CLI_PARSE_OK, CLI_PARSE_HELP or
 * CLI_PARSE_ERROR with a message naming the flag in err. Pure.
 */
int bench_parse(int argc, char **argv, bench_opts *o, char *err, size_t errlen);

/** The --help text (static). */
const char *bench_usage(void);

/** The counters of a run (totals over every connection). */
typedef struct bench_totals {
  uint64_t publishers, subscribers; /* connections asked for (subscribers: over
                                       all broadcasts) */
  uint64_t idle;                    /* idle connections asked for */
  uint64_t connected;               /* connections whose session started */
  uint64_t subscribed; /* subscriptions that were in place before publishing */
  uint64_t sent_groups, sent_frames, sent_bytes;
  uint64_t
      expected_frames; /* sum over broadcasts of sent_frames x subscribers */
  uint64_t
      expected_groups; /* sum over broadcasts of sent_groups x subscribers */
  uint64_t received_groups, received_frames, received_bytes;
  uint64_t complete_groups; /* groups a subscriber read to their end */
  uint64_t bad_frames;
  double seconds; /* publishing time */
} bench_totals;

/** received_frames / expected_frames (1 when nothing was expected). */
double bench_delivered_fraction(const bench_totals *t);

/** Groups that did not reach a subscriber whole: expected_groups -
 * complete_groups (>= 0). */
uint64_t bench_lost_groups(const bench_totals *t);

/** bytes x 8 / seconds / 1e6 (0 when seconds <= 0). */
double bench_mbps(uint64_t bytes, double seconds);

/**
 * Writes the final summary as one JSON object (no newline). p50 and p99 are
 * latencies in ms. Returns the length (snprintf's, so >= cap means cut short).
 */
size_t bench_json(const bench_totals *t, double p50_ms, double p99_ms,
                  double max_ms, char *buf, size_t cap);

/**
 * Reads the header of a synthetic frame (payload.h) without checking the
 * filler. Returns 0, or -1 when len < PAYLOAD_HEADER or the magic is wrong.
 */
int bench_payload_header(const uint8_t *buf, size_t len, uint64_t *frame_seq,
                         uint64_t *sent_us, uint64_t *group_seq);

/** `moqc bench` (argv[0] is "bench"): returns the process exit status. */
int cli_cmd_bench(int argc, char **argv);

#endif /* MOQC_CLI_BENCH_H */
