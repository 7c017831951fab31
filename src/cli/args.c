/*
 * Command-line parsing for `moqc` (see args.h).
 */
#include "args.h"
#include "core/errbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- URLs ------------------------------------------------------------------------------------ */

static const struct {
  const char *prefix;
  cli_scheme scheme;
  int port;
} args_schemes[] = {
    {"ws://", CLI_SCHEME_WS, 80},
    {"http://", CLI_SCHEME_HTTP, 80},
    {"https://", CLI_SCHEME_HTTPS, 443},
    {"moql://", CLI_SCHEME_MOQL, 443},
};

static bool args_prefix_ci(const char *s, const char *prefix) {
  for (; *prefix != '\0'; s++, prefix++) {
    char c = *s;
    if (c >= 'A' && c <= 'Z') {
      c = (char)(c - 'A' + 'a');
    }
    if (c != *prefix) {
      return false;
    }
  }
  return true;
}

static bool args_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_';
}

int cli_url_parse(const char *s, cli_url *out, char *err, size_t errlen) {
  const char *p, *host, *host_end, *path;
  size_t i, hlen;
  bool found = false;

  memset(out, 0, sizeof(*out));
  for (i = 0; i < sizeof(args_schemes) / sizeof(args_schemes[0]); i++) {
    if (args_prefix_ci(s, args_schemes[i].prefix)) {
      out->scheme = args_schemes[i].scheme;
      out->port = args_schemes[i].port;
      p = s + strlen(args_schemes[i].prefix);
      found = true;
      break;
    }
  }
  if (!found) {
    moqc__errf(err, errlen, "URL \"%.100s\": unknown scheme (use ws://, http://, https:// or moql://)",
             s);
    return -1;
  }
  if (*p == '[') {
    host = p + 1;
    host_end = strchr(host, ']');
    if (host_end == NULL) {
      moqc__errf(err, errlen, "URL \"%.100s\": unterminated IPv6 address", s);
      return -1;
    }
    for (const char *q = host; q < host_end; q++) {
      if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F') ||
            *q == ':' || *q == '.')) {
        moqc__errf(err, errlen, "URL \"%.100s\": bad IPv6 address", s);
        return -1;
      }
    }
    out->ipv6 = true;
    p = host_end + 1;
  } else {
    host = p;
    while (args_host_char(*p)) {
      p++;
    }
    host_end = p;
  }
  hlen = (size_t)(host_end - host);
  if (hlen == 0) {
    moqc__errf(err, errlen, "URL \"%.100s\": no host", s);
    return -1;
  }
  if (hlen >= sizeof(out->host)) {
    moqc__errf(err, errlen, "URL \"%.100s\": host too long", s);
    return -1;
  }
  memcpy(out->host, host, hlen);
  out->host[hlen] = '\0';
  if (*p == ':') {
    long port = 0;
    p++;
    if (*p < '0' || *p > '9') {
      moqc__errf(err, errlen, "URL \"%.100s\": bad port", s);
      return -1;
    }
    while (*p >= '0' && *p <= '9') {
      port = port * 10 + (*p - '0');
      if (port > 65535) {
        break;
      }
      p++;
    }
    if (port < 1 || port > 65535) {
      moqc__errf(err, errlen, "URL \"%.100s\": port out of range (1-65535)", s);
      return -1;
    }
    out->port = (int)port;
  }
  path = p;
  if (*path != '\0' && *path != '/' && *path != '?') {
    moqc__errf(err, errlen, "URL \"%.100s\": unexpected '%c' after the host", s, *path);
    return -1;
  }
  for (p = path; *p != '\0'; p++) {
    if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#') {
      moqc__errf(err, errlen, "URL \"%.100s\": bad character in the path", s);
      return -1;
    }
  }
  if (snprintf(out->path, sizeof(out->path), "%s%s", *path == '/' ? "" : "/", path) >=
      (int)sizeof(out->path)) {
    moqc__errf(err, errlen, "URL \"%.100s\": path too long", s);
    return -1;
  }
  return 0;
}

bool cli_url_supported(const cli_url *u) {
  return u->scheme == CLI_SCHEME_WS || u->scheme == CLI_SCHEME_HTTP ||
         u->scheme == CLI_SCHEME_HTTPS || u->scheme == CLI_SCHEME_MOQL;
}

static int args_hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int cli_fingerprint_parse(const char *s, uint8_t out[32]) {
  size_t n = 0;

  while (*s != '\0') {
    int hi, lo;
    if (*s == ':' && n > 0 && s[1] != '\0') {
      s++;
    }
    hi = args_hex(s[0]);
    lo = hi >= 0 ? args_hex(s[1]) : -1;
    if (hi < 0 || lo < 0 || n == 32) {
      return -1;
    }
    out[n++] = (uint8_t)(hi << 4 | lo);
    s += 2;
  }
  return n == 32 ? 0 : -1;
}

int cli_url_ws(const cli_url *u, char *buf, size_t cap) {
  int n = snprintf(buf, cap, u->ipv6 ? "ws://[%s]:%d%s" : "ws://%s:%d%s", u->host, u->port,
                   u->path);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- Flags ----------------------------------------------------------------------------------- */

typedef enum args_kind {
  ARGS_BOOL,
  ARGS_U64,
  ARGS_SECONDS,
  ARGS_RATE,
  ARGS_STR,
  ARGS_CHECK,
  ARGS_PAYLOAD
} args_kind;

typedef struct args_flag {
  const char *name;
  args_kind kind;
  size_t offset;
  uint64_t min, max; /* ARGS_U64 bounds */
} args_flag;

#define ARGS_OFF(f) offsetof(cli_opts, f)

static const args_flag args_pub[] = {
    {"--tls-disable-verify", ARGS_BOOL, ARGS_OFF(tls_disable_verify), 0, 0},
    {"--tls-fingerprint", ARGS_STR, ARGS_OFF(tls_fingerprint), 0, 0},
    {"--tls-root", ARGS_STR, ARGS_OFF(tls_root), 0, 0},
    {"--websocket", ARGS_BOOL, ARGS_OFF(force_websocket), 0, 0},
    {"--track", ARGS_STR, ARGS_OFF(track), 0, 0},
    {"--groups", ARGS_U64, ARGS_OFF(groups), 0, UINT64_MAX},
    {"--frames-per-group", ARGS_U64, ARGS_OFF(frames_per_group), 1, UINT32_MAX},
    {"--frame-size", ARGS_U64, ARGS_OFF(frame_size), 1, 16 * 1024 * 1024},
    {"--fps", ARGS_RATE, ARGS_OFF(fps), 0, 0},
    {"--stdin", ARGS_BOOL, ARGS_OFF(use_stdin), 0, 0},
    {"--payload", ARGS_PAYLOAD, ARGS_OFF(payload), 0, 0},
    {"--wait-subscriber", ARGS_BOOL, ARGS_OFF(wait_subscriber), 0, 0},
    {"--delay", ARGS_U64, ARGS_OFF(delay_ms), 0, 3600000},
    {"--linger", ARGS_U64, ARGS_OFF(linger_ms), 0, 3600000},
    {"--verbose", ARGS_BOOL, ARGS_OFF(verbose), 0, 0},
};

static const args_flag args_sub[] = {
    {"--tls-disable-verify", ARGS_BOOL, ARGS_OFF(tls_disable_verify), 0, 0},
    {"--tls-fingerprint", ARGS_STR, ARGS_OFF(tls_fingerprint), 0, 0},
    {"--tls-root", ARGS_STR, ARGS_OFF(tls_root), 0, 0},
    {"--websocket", ARGS_BOOL, ARGS_OFF(force_websocket), 0, 0},
    {"--track", ARGS_STR, ARGS_OFF(track), 0, 0},
    {"--count", ARGS_U64, ARGS_OFF(count), 0, UINT64_MAX},
    {"--timeout", ARGS_SECONDS, ARGS_OFF(timeout_s), 0, 0},
    {"--json", ARGS_BOOL, ARGS_OFF(json), 0, 0},
    {"--quiet", ARGS_BOOL, ARGS_OFF(quiet), 0, 0},
    {"--check", ARGS_CHECK, ARGS_OFF(check), 0, 0},
    {"--no-check", ARGS_CHECK, ARGS_OFF(check), 0, 0},
    {"--output", ARGS_STR, ARGS_OFF(output), 0, 0},
    {"--verbose", ARGS_BOOL, ARGS_OFF(verbose), 0, 0},
};

static const args_flag args_announced[] = {
    {"--tls-disable-verify", ARGS_BOOL, ARGS_OFF(tls_disable_verify), 0, 0},
    {"--tls-fingerprint", ARGS_STR, ARGS_OFF(tls_fingerprint), 0, 0},
    {"--tls-root", ARGS_STR, ARGS_OFF(tls_root), 0, 0},
    {"--websocket", ARGS_BOOL, ARGS_OFF(force_websocket), 0, 0},
    {"--follow", ARGS_BOOL, ARGS_OFF(follow), 0, 0},
    {"--timeout", ARGS_SECONDS, ARGS_OFF(timeout_s), 0, 0},
    {"--settle", ARGS_U64, ARGS_OFF(settle_ms), 0, 3600000},
    {"--verbose", ARGS_BOOL, ARGS_OFF(verbose), 0, 0},
};

static const char args_usage_pub[] =
    "Usage: moqc pub URL BROADCAST [flags]\n"
    "\n"
    "Connects to a relay, announces BROADCAST and publishes synthetic frames on one track (each\n"
    "frame carries its sequence, send time, group and index, plus filler a subscriber can check).\n"
    "Prints one JSON line {\"groups\",\"frames\",\"bytes\"} with what it sent on stdout at exit.\n"
    "\n"
    "  URL                     https://host:port/path (WebTransport), ws://host:port/path\n"
    "                          (WebSocket), http://host:port/path (development: WebTransport\n"
    "                          pinned to the relay's /certificate.sha256, else WebSocket), or\n"
    "                          moql://host:port/path (raw QUIC; the path goes in SETUP); the\n"
    "                          path is the session root\n"
    "  BROADCAST               the broadcast path, relative to the URL's path\n"
    "  --track NAME            track name (default clock)\n"
    "  --groups N              groups to publish, then end the track (default 0: until SIGINT)\n"
    "  --frames-per-group F    frames per group (default 30)\n"
    "  --frame-size B          bytes per frame, at least 32 (default 1024); with --stdin the\n"
    "                          largest read, so the largest frame\n"
    "  --fps R                 frames per second (default 30; 0: as fast as possible)\n"
    "  --stdin                 publish standard input instead: each read chunk is a frame, a new\n"
    "                          group every F frames, the track ends at end of input\n"
    "  --payload FORMAT        synthetic frame format: moqc (default; checked by moqc sub) or npm\n"
    "                          (\"g<group>f<frame>:\" + filler, checked by tests/interop/sub.mjs;\n"
    "                          no latency)\n"
    "  --wait-subscriber       hold the first frame until the relay subscribes to the track\n"
    "  --delay MS              wait MS milliseconds before the first frame (default 0)\n"
    "  --linger MS             at the end, wait at most MS for subscribers to receive the end of\n"
    "                          the track before closing (default 2000)\n"
    "  --tls-fingerprint HEX   https://, moql://: accept only the relay certificate with this\n"
    "                          SHA-256 (what the relay serves at /certificate.sha256)\n"
    "  --tls-root FILE         https://, moql://: trust the PEM roots in FILE instead of the\n"
    "                          system's\n"
    "  --tls-disable-verify    https://, moql://: do not verify the relay's certificate (tests)\n"
    "  --websocket             http://: use WebSocket at once (no WebTransport attempt)\n"
    "  --verbose               library debug logs on stderr\n"
    "  --help                  this text\n"
    "\n"
    "SIGINT or SIGTERM ends the track and closes the session cleanly (a second one closes at once).\n"
    "Exit status: 0 done, 1 error, 2 usage error.\n";

static const char args_usage_sub[] =
    "Usage: moqc sub URL BROADCAST [flags]\n"
    "\n"
    "Waits for BROADCAST to be announced, subscribes to one track, checks every frame and prints\n"
    "a line per frame and a final summary (groups, frames, bytes, gaps, bad frames, latency\n"
    "p50/p90/p99/max).\n"
    "\n"
    "  URL                     https://host:port/path (WebTransport), ws://host:port/path\n"
    "                          (WebSocket), http://host:port/path (development: WebTransport\n"
    "                          pinned to the relay's /certificate.sha256, else WebSocket), or\n"
    "                          moql://host:port/path (raw QUIC; the path goes in SETUP); the\n"
    "                          path is the session root\n"
    "  BROADCAST               the broadcast path, relative to the URL's path\n"
    "  --track NAME            track name (default clock)\n"
    "  --count N               exit after N frames (default 0: when the publisher ends the track)\n"
    "  --timeout S             give up after S seconds (default 0: never), exit status 3\n"
    "  --json                  no line per frame; the summary as one JSON object on stdout\n"
    "  --quiet                 no line per frame\n"
    "  --check MODE            payload check: moqc (default, the format of moqc pub), npm (the\n"
    "                          \"g<group>f<frame>:\" format of tests/interop/pub.mjs), none\n"
    "  --no-check              same as --check none\n"
    "  --output FILE           write every frame's payload to FILE in arrival order, asking for\n"
    "                          ordered delivery (\"-\": standard output; then no frame lines and\n"
    "                          the summary on stderr)\n"
    "  --tls-fingerprint HEX   https://, moql://: accept only the relay certificate with this\n"
    "                          SHA-256 (what the relay serves at /certificate.sha256)\n"
    "  --tls-root FILE         https://, moql://: trust the PEM roots in FILE instead of the\n"
    "                          system's\n"
    "  --tls-disable-verify    https://, moql://: do not verify the relay's certificate (tests)\n"
    "  --websocket             http://: use WebSocket at once (no WebTransport attempt)\n"
    "  --verbose               library debug logs on stderr\n"
    "  --help                  this text\n"
    "\n"
    "Exit status: 0 done (or interrupted by SIGINT/SIGTERM without a bad frame), 1 error, a bad\n"
    "frame or a broadcast that ended with a group cut short, 2 usage error, 3 timeout.\n";

static const char args_usage_announced[] =
    "Usage: moqc announced URL [PREFIX] [flags]\n"
    "\n"
    "Prints the broadcasts the relay announces under PREFIX (default: all), one path per line,\n"
    "then exits once no new announce arrived for --settle milliseconds. With --follow it keeps\n"
    "printing changes as \"active PATH\" and \"ended PATH\" until interrupted.\n"
    "\n"
    "  URL                     https://, ws://, http:// or moql://host:port/path (see moqc sub\n"
    "                          --help)\n"
    "  PREFIX                  a path prefix, relative to the URL's path\n"
    "  --follow                keep printing changes until SIGINT/SIGTERM\n"
    "  --settle MS             quiet time that ends the listing (default 300)\n"
    "  --timeout S             give up after S seconds (default 0: never), exit status 3\n"
    "  --tls-fingerprint HEX   https://, moql://: accept only the relay certificate with this\n"
    "                          SHA-256 (what the relay serves at /certificate.sha256)\n"
    "  --tls-root FILE         https://, moql://: trust the PEM roots in FILE instead of the\n"
    "                          system's\n"
    "  --tls-disable-verify    https://, moql://: do not verify the relay's certificate (tests)\n"
    "  --websocket             http://: use WebSocket at once (no WebTransport attempt)\n"
    "  --verbose               library debug logs on stderr\n"
    "  --help                  this text\n"
    "\n"
    "Exit status: 0 done, 1 error, 2 usage error, 3 timeout.\n";

static const char args_usage_main[] =
    "Usage: moqc COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  pub URL BROADCAST       publish synthetic frames (or standard input)\n"
    "  sub URL BROADCAST       subscribe and check what arrives\n"
    "  announced URL [PREFIX]  list broadcasts under a prefix\n"
    "  bench URL               load generator: publishers and subscribers on one loop\n"
    "  --version               print the version\n"
    "  --help                  show this text\n"
    "\n"
    "Run `moqc COMMAND --help` for the flags of a command.\n";

const char *cli_usage(cli_cmd cmd) {
  switch (cmd) {
  case CLI_CMD_PUB:
    return args_usage_pub;
  case CLI_CMD_SUB:
    return args_usage_sub;
  case CLI_CMD_ANNOUNCED:
    return args_usage_announced;
  }
  return args_usage_main;
}

const char *cli_usage_main(void) { return args_usage_main; }

static int args_u64(const char *v, uint64_t *out) {
  char *end;
  unsigned long long x;

  if (*v < '0' || *v > '9') {
    return -1;
  }
  errno = 0;
  x = strtoull(v, &end, 10);
  if (errno != 0 || *end != '\0') {
    return -1;
  }
  *out = (uint64_t)x;
  return 0;
}

static int args_double(const char *v, double *out) {
  char *end;
  double x;

  if ((*v < '0' || *v > '9') && *v != '.') {
    return -1;
  }
  errno = 0;
  x = strtod(v, &end);
  if (errno != 0 || *end != '\0' || !isfinite(x) || x < 0) {
    return -1;
  }
  *out = x;
  return 0;
}

static int args_set(const args_flag *f, const char *v, cli_opts *o, char *err, size_t errlen) {
  char *base = (char *)o;

  switch (f->kind) {
  case ARGS_BOOL:
    *(bool *)(void *)(base + f->offset) = true;
    return 0;
  case ARGS_U64: {
    uint64_t x;
    if (args_u64(v, &x) != 0) {
      moqc__errf(err, errlen, "%s: \"%s\" is not a non-negative integer", f->name, v);
      return -1;
    }
    if (x < f->min || x > f->max) {
      moqc__errf(err, errlen, "%s: %s is out of range (%llu-%llu)", f->name, v,
               (unsigned long long)f->min, (unsigned long long)f->max);
      return -1;
    }
    *(uint64_t *)(void *)(base + f->offset) = x;
    return 0;
  }
  case ARGS_SECONDS:
  case ARGS_RATE: {
    double x;
    if (args_double(v, &x) != 0 || x > 1e6) {
      moqc__errf(err, errlen, "%s: \"%s\" is not a number from 0 to 1000000", f->name, v);
      return -1;
    }
    *(double *)(void *)(base + f->offset) = x;
    return 0;
  }
  case ARGS_STR:
    if (*v == '\0') {
      moqc__errf(err, errlen, "%s: empty value", f->name);
      return -1;
    }
    *(const char **)(void *)(base + f->offset) = v;
    return 0;
  case ARGS_CHECK:
    if (strcmp(f->name, "--no-check") == 0 || strcmp(v, "none") == 0) {
      o->check = CLI_CHECK_NONE;
    } else if (strcmp(v, "moqc") == 0) {
      o->check = CLI_CHECK_MOQC;
    } else if (strcmp(v, "npm") == 0) {
      o->check = CLI_CHECK_NPM;
    } else {
      moqc__errf(err, errlen, "%s: unknown mode \"%s\" (moqc, npm or none)", f->name, v);
      return -1;
    }
    return 0;
  case ARGS_PAYLOAD:
    if (strcmp(v, "moqc") == 0) {
      o->payload = CLI_CHECK_MOQC;
    } else if (strcmp(v, "npm") == 0) {
      o->payload = CLI_CHECK_NPM;
    } else {
      moqc__errf(err, errlen, "%s: unknown format \"%s\" (moqc or npm)", f->name, v);
      return -1;
    }
    return 0;
  }
  return -1;
}

static void args_defaults(cli_opts *o, cli_cmd cmd) {
  memset(o, 0, sizeof(*o));
  o->cmd = cmd;
  o->prefix = "";
  o->track = "clock";
  o->frames_per_group = 30;
  o->frame_size = 1024;
  o->fps = 30;
  o->linger_ms = 2000;
  o->check = CLI_CHECK_MOQC;
  o->payload = CLI_CHECK_MOQC;
  o->settle_ms = 300;
}

int cli_parse(int argc, char **argv, cli_opts *o, char *err, size_t errlen) {
  const args_flag *flags;
  size_t nflags, npos = 0, maxpos, minpos;
  const char *pos[2] = {NULL, NULL};
  bool only_pos = false;
  cli_cmd cmd;
  int i;

  if (argc < 1 || argv[0] == NULL) {
    moqc__errf(err, errlen, "no command");
    return CLI_PARSE_ERROR;
  }
  if (strcmp(argv[0], "pub") == 0) {
    cmd = CLI_CMD_PUB;
    flags = args_pub;
    nflags = sizeof(args_pub) / sizeof(args_pub[0]);
    minpos = maxpos = 2;
  } else if (strcmp(argv[0], "sub") == 0) {
    cmd = CLI_CMD_SUB;
    flags = args_sub;
    nflags = sizeof(args_sub) / sizeof(args_sub[0]);
    minpos = maxpos = 2;
  } else if (strcmp(argv[0], "announced") == 0) {
    cmd = CLI_CMD_ANNOUNCED;
    flags = args_announced;
    nflags = sizeof(args_announced) / sizeof(args_announced[0]);
    minpos = 1;
    maxpos = 2;
  } else {
    moqc__errf(err, errlen, "unknown command \"%s\" (pub, sub or announced)", argv[0]);
    return CLI_PARSE_ERROR;
  }
  args_defaults(o, cmd);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && strcmp(a, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
      return CLI_PARSE_HELP;
    }
    if (!only_pos && a[0] == '-' && a[1] != '\0') {
      const char *eq = strchr(a, '=');
      size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
      const args_flag *f = NULL;
      const char *v = NULL;
      size_t k;
      for (k = 0; k < nflags; k++) {
        if (strlen(flags[k].name) == nlen && strncmp(flags[k].name, a, nlen) == 0) {
          f = &flags[k];
          break;
        }
      }
      if (f == NULL) {
        moqc__errf(err, errlen, "unknown flag \"%.*s\" for %s (see moqc %s --help)", (int)nlen, a,
                 argv[0], argv[0]);
        return CLI_PARSE_ERROR;
      }
      bool takes_value = f->kind != ARGS_BOOL && strcmp(f->name, "--no-check") != 0;
      if (!takes_value) {
        if (eq != NULL) {
          moqc__errf(err, errlen, "%s takes no value", f->name);
          return CLI_PARSE_ERROR;
        }
      } else if (eq != NULL) {
        v = eq + 1;
      } else if (i + 1 < argc) {
        v = argv[++i];
      } else {
        moqc__errf(err, errlen, "%s needs a value", f->name);
        return CLI_PARSE_ERROR;
      }
      if (args_set(f, v, o, err, errlen) != 0) {
        return CLI_PARSE_ERROR;
      }
      continue;
    }
    if (npos == maxpos) {
      moqc__errf(err, errlen, "unexpected argument \"%s\"", a);
      return CLI_PARSE_ERROR;
    }
    pos[npos++] = a;
  }
  if (npos < minpos) {
    moqc__errf(err, errlen, npos == 0 ? "missing URL" : "missing BROADCAST");
    return CLI_PARSE_ERROR;
  }
  o->url_text = pos[0];
  if (cli_url_parse(pos[0], &o->url, err, errlen) != 0) {
    return CLI_PARSE_ERROR;
  }
  if (cmd == CLI_CMD_ANNOUNCED) {
    o->prefix = pos[1] != NULL ? pos[1] : "";
  } else {
    o->broadcast = pos[1];
    if (*o->broadcast == '\0') {
      moqc__errf(err, errlen, "BROADCAST is empty");
      return CLI_PARSE_ERROR;
    }
  }
  if (cmd == CLI_CMD_PUB && !o->use_stdin && o->frame_size < 32) {
    moqc__errf(err, errlen, "--frame-size: %llu is below 32, the synthetic frame header",
             (unsigned long long)o->frame_size);
    return CLI_PARSE_ERROR;
  }
  if (cmd == CLI_CMD_PUB && o->use_stdin && o->groups != 0) {
    moqc__errf(err, errlen, "--groups cannot be used with --stdin (the input's end ends the track)");
    return CLI_PARSE_ERROR;
  }
  if (o->tls_fingerprint != NULL && cli_fingerprint_parse(o->tls_fingerprint, o->fingerprint) != 0) {
    moqc__errf(err, errlen, "--tls-fingerprint: \"%.80s\" is not 64 hex digits", o->tls_fingerprint);
    return CLI_PARSE_ERROR;
  }
  if (o->json || (o->output != NULL && strcmp(o->output, "-") == 0)) {
    o->quiet = true;
  }
  return CLI_PARSE_OK;
}
