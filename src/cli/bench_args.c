/*
 * `moqc bench`: flag parsing and the summary math (see bench.h). Pure: no I/O,
 * no allocation.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "payload.h"
#include "core/errbuf.h"

/* clang-format off */
static const char bench_usage_text[] =
    "usage: moqc bench URL [flags]\n"
    "\n"
    "Load generator: P publishing connections, each publishing its own broadcast\n"
    "<prefix>/<i> with one track, and S subscribing connections per broadcast, all in this\n"
    "process on one event loop (or --threads loops). Subscribers connect first; publishing\n"
    "starts once every subscription is in place (or --startup-timeout passed), runs for\n"
    "--duration seconds, then the tracks end and the subscribers drain. A progress line every\n"
    "second on stderr; a JSON summary on stdout (sent_frames, received_frames,\n"
    "delivered_fraction, lost_groups, egress_mbps, latency_p50_ms, latency_p99_ms, ...).\n"
    "Latency is the one-way time from the publisher's write to the subscriber's read (same\n"
    "clock: same machine).\n"
    "\n"
    "URL, as for moqc sub: ws://host:port/path (WebSocket), moql://host:port/path (raw QUIC),\n"
    "https://host:port/path (WebTransport), http://host:port/path (WebTransport pinned to the\n"
    "relay's /certificate.sha256, else WebSocket)\n"
    "\n"
    "  --publishers N          publishing connections (broadcasts) (default 1)\n"
    "  --subscribers N         subscribing connections per broadcast (default 1; 0 = none)\n"
    "  --idle N                extra connections that only hold a session open for the whole\n"
    "                          run (memory per idle session) (default 0)\n"
    "  --fps F                 frames per second per broadcast (default 30)\n"
    "  --frame-size BYTES      bytes per frame, at least 32 (default 10416: 2.5 Mbps at 30 fps)\n"
    "  --group-frames N        frames per group (default 60)\n"
    "  --duration SECONDS      publishing time (default 10)\n"
    "  --prefix PATH           broadcast path prefix (default \"bench\")\n"
    "  --track NAME            track name (default \"clock\")\n"
    "  --retention S           how long groups older than the latest stay cached, announced to\n"
    "                          the relay with the track (default 0: the library's 5 s)\n"
    "  --startup-timeout S     longest wait for every connection and subscription before\n"
    "                          publishing (default 30; 0 = no limit)\n"
    "  --drain S               longest wait for subscribers after the tracks end (default 5)\n"
    "  --connect-rate N        connections opened per second (default 1000)\n"
    "  --threads N             event loops (threads) the connections are spread over: the\n"
    "                          first runs the publishers, the idle connections and its share\n"
    "                          of the subscribers, each other one a share of the subscribers;\n"
    "                          counts and latencies are merged into one summary (the\n"
    "                          progress line's latency is the first loop's) (default 1,\n"
    "                          at most 64)\n"
    "  --verify                check every payload byte (default: the 32-byte header only)\n"
    "  --full-cache            subscribers keep received groups in their local cache for the\n"
    "                          track's retention, as `moqc sub` does (default: a group leaves\n"
    "                          a subscriber's cache once read and a newer group arrived; the\n"
    "                          subscription sent to the relay is the same either way)\n"
    "  --quiet                 no progress line\n"
    "  --tls-fingerprint HEX   https://, moql://: accept only the relay certificate with this\n"
    "                          SHA-256 (what the relay serves at /certificate.sha256)\n"
    "  --tls-root FILE         https://, moql://: trust the PEM roots in FILE instead of the\n"
    "                          system's\n"
    "  --tls-disable-verify    https://, moql://: do not verify the relay's certificate (tests)\n"
    "  --websocket             http://: use WebSocket at once (no WebTransport attempt)\n"
    "  --verbose               library debug logs on stderr\n"
    "  --help                  this text\n"
    "\n"
    "Exit status: 0 when the run completed (whatever was lost), 1 on an error (a connection\n"
    "failed, a corrupt frame), 2 on a usage error.\n";
/* clang-format on */

const char *bench_usage(void) {
  return bench_usage_text;
}

typedef enum bench_kind {
  BENCH_U64,
  BENCH_DOUBLE,
  BENCH_STR,
  BENCH_BOOL
} bench_kind;

typedef struct bench_flag {
  const char *name;
  bench_kind kind;
  size_t off;
  double min; /* numbers: smallest accepted */
} bench_flag;

#define BENCH_OFF(f) offsetof(bench_opts, f)

static const bench_flag bench_flags[] = {
    {"--publishers", BENCH_U64, BENCH_OFF(publishers), 1},
    {"--subscribers", BENCH_U64, BENCH_OFF(subscribers), 0},
    {"--idle", BENCH_U64, BENCH_OFF(idle), 0},
    {"--fps", BENCH_DOUBLE, BENCH_OFF(fps), 0.001},
    {"--frame-size", BENCH_U64, BENCH_OFF(frame_size), PAYLOAD_HEADER},
    {"--group-frames", BENCH_U64, BENCH_OFF(group_frames), 1},
    {"--duration", BENCH_DOUBLE, BENCH_OFF(duration_s), 0.001},
    {"--prefix", BENCH_STR, BENCH_OFF(prefix), 0},
    {"--track", BENCH_STR, BENCH_OFF(track), 0},
    {"--retention", BENCH_DOUBLE, BENCH_OFF(retention_s), 0},
    {"--startup-timeout", BENCH_DOUBLE, BENCH_OFF(startup_s), 0},
    {"--drain", BENCH_DOUBLE, BENCH_OFF(drain_s), 0},
    {"--connect-rate", BENCH_U64, BENCH_OFF(connect_rate), 1},
    {"--threads", BENCH_U64, BENCH_OFF(threads), 1},
    {"--verify", BENCH_BOOL, BENCH_OFF(verify), 0},
    {"--full-cache", BENCH_BOOL, BENCH_OFF(full_cache), 0},
    {"--quiet", BENCH_BOOL, BENCH_OFF(quiet), 0},
    {"--verbose", BENCH_BOOL, BENCH_OFF(verbose), 0},
    {"--tls-disable-verify", BENCH_BOOL, BENCH_OFF(tls_disable_verify), 0},
    {"--tls-fingerprint", BENCH_STR, BENCH_OFF(tls_fingerprint), 0},
    {"--tls-root", BENCH_STR, BENCH_OFF(tls_root), 0},
    {"--websocket", BENCH_BOOL, BENCH_OFF(force_websocket), 0},
};

/* Limits that keep the arithmetic and the process sane. */
#define BENCH_MAX_CONNS 100000u
#define BENCH_MAX_FRAME (64u * 1024u * 1024u)
#define BENCH_MAX_THREADS 64u

static int bench_set(const bench_flag *f, const char *v, bench_opts *o,
                     char *err, size_t errlen) {
  char *base = (char *)o + f->off;
  char *end = NULL;

  switch (f->kind) {
  case BENCH_BOOL:
    *(bool *)(void *)base = true;
    return 0;
  case BENCH_STR:
    if (*v == '\0' && strcmp(f->name, "--prefix") != 0) {
      moqc__errf(err, errlen, "%s: empty value", f->name);
      return -1;
    }
    *(const char **)(void *)base = v;
    return 0;
  case BENCH_U64: {
    unsigned long long x;
    if (*v < '0' || *v > '9') {
      break;
    }
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || (double)x < f->min) {
      break;
    }
    if ((strcmp(f->name, "--publishers") == 0 ||
         strcmp(f->name, "--subscribers") == 0 ||
         strcmp(f->name, "--idle") == 0) &&
        x > BENCH_MAX_CONNS) {
      moqc__errf(err, errlen, "%s: at most %u", f->name, BENCH_MAX_CONNS);
      return -1;
    }
    if (strcmp(f->name, "--threads") == 0 && x > BENCH_MAX_THREADS) {
      moqc__errf(err, errlen, "%s: at most %u", f->name, BENCH_MAX_THREADS);
      return -1;
    }
    if (strcmp(f->name, "--frame-size") == 0 && x > BENCH_MAX_FRAME) {
      moqc__errf(err, errlen, "%s: at most %u", f->name, BENCH_MAX_FRAME);
      return -1;
    }
    *(uint64_t *)(void *)base = (uint64_t)x;
    return 0;
  }
  case BENCH_DOUBLE: {
    double x;
    if (*v == '\0' || *v == '-' || *v == '+') {
      break;
    }
    errno = 0;
    x = strtod(v, &end);
    if (errno != 0 || *end != '\0' || !isfinite(x) || x < f->min || x > 1e9) {
      break;
    }
    *(double *)(void *)base = x;
    return 0;
  }
  }
  if (f->min > 0) {
    moqc__errf(err, errlen, "%s: \"%.40s\" is not a number >= %g", f->name, v,
              f->min);
  } else {
    moqc__errf(err, errlen, "%s: \"%.40s\" is not a number", f->name, v);
  }
  return -1;
}

static void bench_defaults(bench_opts *o) {
  memset(o, 0, sizeof(*o));
  o->publishers = 1;
  o->subscribers = 1;
  o->fps = 30;
  o->frame_size = 10416;
  o->group_frames = 60;
  o->duration_s = 10;
  o->prefix = "bench";
  o->track = "clock";
  o->startup_s = 30;
  o->drain_s = 5;
  o->connect_rate = 1000;
  o->threads = 1;
}

int bench_parse(int argc, char **argv, bench_opts *o, char *err,
                size_t errlen) {
  bool flags_done = false;
  int i;

  bench_defaults(o);
  if (err != NULL && errlen > 0) {
    err[0] = '\0';
  }
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const bench_flag *f = NULL;
    const char *v = NULL;
    size_t k, nlen;

    if (!flags_done && strcmp(a, "--") == 0) {
      flags_done = true;
      continue;
    }
    if (flags_done || a[0] != '-' || a[1] == '\0') {
      if (o->url_text != NULL) {
        moqc__errf(err, errlen, "unexpected argument \"%.80s\"", a);
        return CLI_PARSE_ERROR;
      }
      o->url_text = a;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      return CLI_PARSE_HELP;
    }
    nlen = strcspn(a, "=");
    for (k = 0; k < sizeof(bench_flags) / sizeof(bench_flags[0]); k++) {
      if (strlen(bench_flags[k].name) == nlen &&
          strncmp(bench_flags[k].name, a, nlen) == 0) {
        f = &bench_flags[k];
        break;
      }
    }
    if (f == NULL) {
      moqc__errf(err, errlen, "unknown flag \"%.*s\"",
                (int)(nlen > 60 ? 60 : nlen), a);
      return CLI_PARSE_ERROR;
    }
    if (a[nlen] == '=') {
      if (f->kind == BENCH_BOOL) {
        moqc__errf(err, errlen, "%s takes no value", f->name);
        return CLI_PARSE_ERROR;
      }
      v = a + nlen + 1;
    } else if (f->kind != BENCH_BOOL) {
      if (i + 1 >= argc) {
        moqc__errf(err, errlen, "%s needs a value", f->name);
        return CLI_PARSE_ERROR;
      }
      v = argv[++i];
    }
    if (bench_set(f, v, o, err, errlen) != 0) {
      return CLI_PARSE_ERROR;
    }
  }
  if (o->url_text == NULL) {
    moqc__errf(err, errlen, "missing the relay URL");
    return CLI_PARSE_ERROR;
  }
  if (cli_url_parse(o->url_text, &o->url, err, errlen) != 0) {
    return CLI_PARSE_ERROR;
  }
  if (o->tls_fingerprint != NULL &&
      cli_fingerprint_parse(o->tls_fingerprint, o->fingerprint) != 0) {
    moqc__errf(err, errlen, "--tls-fingerprint: \"%.80s\" is not 64 hex digits",
              o->tls_fingerprint);
    return CLI_PARSE_ERROR;
  }
  if (o->publishers * (o->subscribers + 1) + o->idle > BENCH_MAX_CONNS) {
    moqc__errf(
        err, errlen,
        "--publishers x (--subscribers + 1) + --idle: at most %u connections",
        BENCH_MAX_CONNS);
    return CLI_PARSE_ERROR;
  }
  return CLI_PARSE_OK;
}

/* ---- Summary math
 * ----------------------------------------------------------------------------
 */

double bench_delivered_fraction(const bench_totals *t) {
  if (t->expected_frames == 0) {
    return 1.0;
  }
  return (double)t->received_frames / (double)t->expected_frames;
}

uint64_t bench_lost_groups(const bench_totals *t) {
  return t->expected_groups > t->complete_groups
             ? t->expected_groups - t->complete_groups
             : 0;
}

double bench_mbps(uint64_t bytes, double seconds) {
  if (seconds <= 0) {
    return 0;
  }
  return (double)bytes * 8.0 / seconds / 1e6;
}

size_t bench_json(const bench_totals *t, double p50_ms, double p99_ms,
                  double max_ms, char *buf, size_t cap) {
  int n = snprintf(
      buf, cap,
      "{\"publishers\":%llu,\"subscribers\":%llu,\"idle\":%llu,\"connected\":%"
      "llu,"
      "\"subscribed\":%llu,"
      "\"seconds\":%.3f,\"sent_groups\":%llu,\"sent_frames\":%llu,\"sent_"
      "bytes\":%llu,"
      "\"expected_frames\":%llu,\"received_groups\":%llu,\"received_frames\":%"
      "llu,"
      "\"received_bytes\":%llu,\"complete_groups\":%llu,\"bad_frames\":%llu,"
      "\"delivered_fraction\":%.6f,\"lost_groups\":%llu,\"ingress_mbps\":%.3f,"
      "\"egress_mbps\":%.3f,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
      "\"latency_max_ms\":%.3f}",
      (unsigned long long)t->publishers, (unsigned long long)t->subscribers,
      (unsigned long long)t->idle, (unsigned long long)t->connected,
      (unsigned long long)t->subscribed, t->seconds,
      (unsigned long long)t->sent_groups, (unsigned long long)t->sent_frames,
      (unsigned long long)t->sent_bytes, (unsigned long long)t->expected_frames,
      (unsigned long long)t->received_groups,
      (unsigned long long)t->received_frames,
      (unsigned long long)t->received_bytes,
      (unsigned long long)t->complete_groups, (unsigned long long)t->bad_frames,
      bench_delivered_fraction(t), (unsigned long long)bench_lost_groups(t),
      bench_mbps(t->sent_bytes, t->seconds),
      bench_mbps(t->received_bytes, t->seconds), p50_ms, p99_ms, max_ms);
  return n < 0 ? 0 : (size_t)n;
}

static uint64_t bench_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | p[i];
  }
  return v;
}

int bench_payload_header(const uint8_t *buf, size_t len, uint64_t *frame_seq,
                         uint64_t *sent_us, uint64_t *group_seq) {
  if (len < PAYLOAD_HEADER || memcmp(buf, "MQC1", 4) != 0) {
    return -1;
  }
  *frame_seq = bench_be64(buf + 4);
  *sent_us = bench_be64(buf + 12);
  *group_seq = bench_be64(buf + 20);
  return 0;
}
