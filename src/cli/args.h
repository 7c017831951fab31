/*
 * moqc: command-line parsing for the `moqc` tool — relay URLs and the flags of each command.
 * Pure: no I/O, no allocation; errors are written into a caller buffer naming the bad flag or
 * value.
 */
#ifndef MOQC_CLI_ARGS_H
#define MOQC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** URL schemes the tool knows (wt_plan.h says how each is dialled). */
typedef enum cli_scheme {
  CLI_SCHEME_WS = 0, /* ws:// */
  CLI_SCHEME_HTTP,   /* http:// (development mode: WebTransport pinned to /certificate.sha256,
                        else WebSocket) */
  CLI_SCHEME_HTTPS,  /* https:// (WebTransport) */
  CLI_SCHEME_MOQL    /* moql:// (raw QUIC) */
} cli_scheme;

#define CLI_HOST_MAX 256
#define CLI_PATH_MAX 1024

/** A parsed relay URL. */
typedef struct cli_url {
  cli_scheme scheme;
  /** Host name or address, without the brackets of an IPv6 literal. */
  char host[CLI_HOST_MAX];
  bool ipv6;
  /** Port (the scheme's default when absent: 80 for ws/http, 443 for https/moql). */
  int port;
  /** Path starting with '/', including any "?query" (default "/"). */
  char path[CLI_PATH_MAX];
} cli_url;

/**
 * Parses s ("ws://host:port/path", "http://...", "https://...", "moql://..."). Returns 0, or -1
 * with a message in err (unknown scheme, empty host, bad port, too long).
 */
int cli_url_parse(const char *s, cli_url *out, char *err, size_t errlen);

/** True when the URL's transport can connect (every parsed scheme now). */
bool cli_url_supported(const cli_url *u);

/**
 * Parses a SHA-256 fingerprint: 64 hex digits, optionally in pairs separated by ':'. Returns 0
 * or -1.
 */
int cli_fingerprint_parse(const char *s, uint8_t out[32]);

/**
 * Writes the WebSocket URL to dial ("ws://host:port/path"; IPv6 hosts in brackets). Returns 0,
 * or -1 when cap is too small.
 */
int cli_url_ws(const cli_url *u, char *buf, size_t cap);

/** The commands. */
typedef enum cli_cmd { CLI_CMD_PUB = 0, CLI_CMD_SUB, CLI_CMD_ANNOUNCED } cli_cmd;

/** How `moqc sub` checks payloads. */
typedef enum cli_check {
  CLI_CHECK_MOQC = 0, /* the synthetic format of `moqc pub` (payload.h) */
  CLI_CHECK_NPM,      /* "g<group>f<frame>:" + filler, as tests/interop/pub.mjs writes */
  CLI_CHECK_NONE      /* count only */
} cli_check;

/** Everything the flags of one command can set, with defaults from cli_parse. */
typedef struct cli_opts {
  cli_cmd cmd;
  const char *url_text; /* points into argv */
  cli_url url;
  const char *broadcast; /* pub, sub: points into argv */
  const char *prefix;    /* announced: "" by default */
  const char *track;     /* default "clock" */
  bool verbose;          /* library debug logs on stderr */
  /* moql:// and https:// server verification: the system trust store and the host name by
   * default */
  bool tls_disable_verify;
  const char *tls_fingerprint; /* SHA-256 of the relay's certificate, 64 hex digits */
  uint8_t fingerprint[32];     /* parsed from tls_fingerprint */
  const char *tls_root;        /* a PEM file of trusted roots instead of the system's */
  bool force_websocket;        /* http://: skip WebTransport, dial ws:// */
  /* pub */
  uint64_t groups;           /* 0 = until interrupted */
  uint64_t frames_per_group; /* default 30 */
  uint64_t frame_size;       /* default 1024; with --stdin the read size */
  double fps;                /* default 30; 0 = as fast as possible (one group per tick) */
  bool use_stdin;
  cli_check payload; /* synthetic format: CLI_CHECK_MOQC (default) or CLI_CHECK_NPM */
  bool wait_subscriber; /* hold the first frame until some subscription exists */
  uint64_t delay_ms;    /* wait before the first frame (after any subscriber) */
  uint64_t linger_ms;   /* at the end, wait this long at most for subscribers to finish */
  /* sub */
  uint64_t count;   /* 0 = until the track ends */
  double timeout_s; /* 0 = none (also for announced) */
  bool json;
  bool quiet; /* no line per frame (implied by --json) */
  cli_check check;
  const char *output; /* write every payload here in arrival order ("-": stdout); NULL = no */
  /* announced */
  bool follow;
  uint64_t settle_ms; /* without --follow: exit after this long without a new announce */
} cli_opts;

/** cli_parse results. */
#define CLI_PARSE_OK 0
#define CLI_PARSE_HELP 1
#define CLI_PARSE_ERROR (-1)

/**
 * Parses the arguments of one command: argv[0] is the command name ("pub", "sub",
 * "announced"), then flags and positionals in any order ("--flag value" or "--flag=value";
 * "--" ends the flags). Returns CLI_PARSE_OK, CLI_PARSE_HELP (--help / -h given), or
 * CLI_PARSE_ERROR with a message naming the flag or value in err. URLs with a scheme that is not
 * available yet parse fine here (see cli_url_supported).
 */
int cli_parse(int argc, char **argv, cli_opts *o, char *err, size_t errlen);

/** The --help text of a command (static). */
const char *cli_usage(cli_cmd cmd);

/** The top-level usage text (static). */
const char *cli_usage_main(void);

#endif /* MOQC_CLI_ARGS_H */
