/*
 * moqc-relay configuration: the embedded default, the TOML file and the command-line flags.
 *
 * One table of options (config.c) drives all three, so every TOML key has a flag and a help
 * line. Precedence: embedded default < config file < flags. Unknown keys and flags, and bad
 * values, are errors that name the key.
 */
#ifndef MOQC_RELAY_CONFIG_H
#define MOQC_RELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The most entries a list option keeps. */
#define RELAY_LIST_MAX 16

/** A list of strings (each owned by the config). */
typedef struct relay_list {
  char *items[RELAY_LIST_MAX];
  size_t count;
} relay_list;

/** The relay's settings. Strings are owned by the config (NULL = unset). */
typedef struct relay_config {
  /* [log] */
  char *log_level;
  /* [server]: QUIC and WebTransport, UDP. */
  char *server_bind;
  /** Event loops (threads) serving clients; 0 = one per CPU core. */
  uint64_t workers;
  /* [server.quic]: also WebTransport, which rides the same endpoint. */
  uint64_t quic_idle_timeout_ms;
  uint64_t quic_keep_alive_ms;
  /* [server.tls] */
  char *tls_cert;
  char *tls_key;
  relay_list tls_generate;
  /* [web.http]: HTTP routes and the WebSocket upgrade, TCP. */
  char *web_http_listen;
  uint64_t http_head_timeout_ms;
  /* [internal]: /metrics, /health, /stats. */
  char *internal_listen;
  /* [auth] */
  char *auth_key;
  relay_list auth_public;
  /** auth.public was given (file or flag), not just the embedded default. */
  bool auth_public_set;
  /* [stats] */
  bool stats_enabled;
  char *stats_prefix;
  uint64_t stats_interval;
  char *stats_node;
  /* [cluster] */
  relay_list cluster_connect;
  char *cluster_node;
  /** Groups a subscription may keep waiting for a viewer's stream credit (0 = the session's
   * default, 256): moqc_session_settings.group_wait_max. */
  uint64_t group_wait_max;
  /* [cache] */
  uint64_t cache_capacity;
  /** Longest a non-latest group stays cached, in ms (0 = each track's own retention). */
  uint64_t cache_duration_ms;
} relay_config;

/** Fills cfg with the embedded default (see DESIGN: the two set-up commands). */
int relay_config_default(relay_config *cfg);

/**
 * Applies a TOML document (text[0..len), named name in errors) over cfg. Returns 0, or -1 with a
 * message naming the file, line and key in err (capacity errlen).
 */
int relay_config_load_toml(relay_config *cfg, const char *name, const char *text, size_t len,
                           char *err, size_t errlen);

/**
 * Parses argv: the first positional argument is a config file, read and applied first; flags
 * are applied over it. Sets *help when --help was given (the caller prints relay_config_usage).
 * Returns 0, or -1 with a message in err naming the flag or key.
 */
int relay_config_parse_args(relay_config *cfg, int argc, char **argv, bool *help, char *err,
                            size_t errlen);

/** Writes the --help text (every flag, its TOML key and default) to buf; returns its length. */
size_t relay_config_usage(char *buf, size_t cap, const char *argv0);

/** Frees every string the config owns and zeroes it. */
void relay_config_free(relay_config *cfg);

#endif /* MOQC_RELAY_CONFIG_H */
