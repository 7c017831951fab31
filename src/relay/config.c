/*
 * moqc-relay configuration: one option table for the default, the TOML file and the flags.
 */
#include "config.h"

#include <moqc/error.h>

#include "core/errbuf.h"
#include "wire/toml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum opt_type { OPT_STRING, OPT_LIST, OPT_BOOL, OPT_UINT } opt_type;

typedef struct opt {
  const char *key;  /* TOML "section.key" */
  const char *flag; /* without the leading "--" */
  opt_type type;
  size_t offset;
  size_t set_offset; /* for lists that distinguish "unset" from "empty": a bool; else 0 */
  uint64_t min, max; /* for OPT_UINT */
  const char *arg;   /* argument name in --help */
  const char *help;
} opt;

#define OFF(f) offsetof(relay_config, f)

static const opt options[] = {
    {"log.level", "log-level", OPT_STRING, OFF(log_level), 0, 0, 0, "LEVEL",
     "error, warn, info, debug or trace"},
    {"server.bind", "server-bind", OPT_STRING, OFF(server_bind), 0, 0, 0, "ADDR:PORT",
     "UDP address for QUIC and WebTransport"},
    {"server.workers", "server-workers", OPT_UINT, OFF(workers), 0, 0, 64, "N",
     "event-loop threads serving QUIC, WebTransport and WebSocket clients on the shared ports "
     "(0 = one per CPU core)"},
    {"server.quic.idle_timeout", "server-quic-idle-timeout", OPT_UINT, OFF(quic_idle_timeout_ms), 0,
     1000, 600000, "MS",
     "close a QUIC or WebTransport connection that received nothing for MS milliseconds"},
    {"server.quic.keep_alive", "server-quic-keep-alive", OPT_UINT, OFF(quic_keep_alive_ms), 0, 0,
     600000, "MS", "send a QUIC PING after MS milliseconds without sending (0 = off)"},
    {"server.tls.cert", "tls-cert", OPT_STRING, OFF(tls_cert), 0, 0, 0, "FILE",
     "PEM certificate chain"},
    {"server.tls.key", "tls-key", OPT_STRING, OFF(tls_key), 0, 0, 0, "FILE", "PEM private key"},
    {"server.tls.generate", "tls-generate", OPT_LIST, OFF(tls_generate), 0, 0, 0, "NAME",
     "generate a 14-day self-signed certificate for NAME (repeatable)"},
    {"server.group_wait", "server-group-wait", OPT_UINT, OFF(group_wait_max), 0, 0, 65536, "N",
     "groups a subscription may keep waiting for a viewer's stream credit (0 = 256; 1 = only "
     "the newest)"},
    {"web.http.listen", "web-http-listen", OPT_STRING, OFF(web_http_listen), 0, 0, 0,
     "ADDR:PORT", "TCP address for the HTTP routes and the WebSocket fallback"},
    {"web.http.head_timeout", "web-http-head-timeout", OPT_UINT, OFF(http_head_timeout_ms), 0, 100,
     600000, "MS", "close an HTTP connection whose request head took longer than MS milliseconds"},
    {"internal.listen", "internal-listen", OPT_STRING, OFF(internal_listen), 0, 0, 0,
     "ADDR:PORT", "TCP address for /metrics, /health and /stats (keep it private)"},
    {"auth.key", "auth-key", OPT_STRING, OFF(auth_key), 0, 0, 0, "FILE",
     "JWK file (oct HS256/384/512, EC ES256/384/512, RSA RS256/384/512) verifying the ?jwt= "
     "tokens of clients; "
     "anonymous access then only under auth.public prefixes given explicitly"},
    {"auth.public", "auth-public", OPT_LIST, OFF(auth_public), OFF(auth_public_set), 0, 0,
     "PREFIX", "path prefix anyone may publish and subscribe under (repeatable; \"\" = all)"},
    {"stats.enabled", "stats-enabled", OPT_BOOL, OFF(stats_enabled), 0, 0, 0, "BOOL",
     "meter usage and publish the stats broadcast"},
    {"stats.prefix", "stats-prefix", OPT_STRING, OFF(stats_prefix), 0, 0, 0, "PATH",
     "path prefix of the stats broadcast (excluded from metering)"},
    {"stats.interval", "stats-interval", OPT_UINT, OFF(stats_interval), 0, 1, 3600, "SECONDS",
     "seconds between stats updates"},
    {"stats.node", "stats-node", OPT_STRING, OFF(stats_node), 0, 0, 0, "NAME",
     "node name in the stats broadcast path"},
    {"cluster.connect", "cluster-connect", OPT_LIST, OFF(cluster_connect), 0, 0, 0, "URL",
     "relay to join (repeatable; not built yet: refused)"},
    {"cluster.node", "cluster-node", OPT_STRING, OFF(cluster_node), 0, 0, 0, "URL",
     "this relay's own URL, as peers reach it (not built yet: refused)"},
    {"cache.capacity", "cache-capacity", OPT_UINT, OFF(cache_capacity), 0, 0, UINT64_MAX,
     "BYTES", "byte budget of the group cache (0 = unbounded)"},
    {"cache.duration", "cache-duration", OPT_UINT, OFF(cache_duration_ms), 0, 0, UINT64_MAX / 1000000,
     "MS", "longest a group other than a track's latest stays cached (0 = the track's own retention)"},
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static char **field_str(relay_config *cfg, const opt *o) {
  return (char **)(void *)((char *)cfg + o->offset);
}

static relay_list *field_list(relay_config *cfg, const opt *o) {
  return (relay_list *)(void *)((char *)cfg + o->offset);
}

static int set_string(char **slot, const char *value) {
  char *copy = strdup(value);

  if (copy == NULL) {
    return -1;
  }
  free(*slot);
  *slot = copy;
  return 0;
}

static void list_clear(relay_list *l) {
  size_t i;

  for (i = 0; i < l->count; i++) {
    free(l->items[i]);
    l->items[i] = NULL;
  }
  l->count = 0;
}

static int list_add(relay_list *l, const char *value) {
  if (l->count == RELAY_LIST_MAX) {
    return -1;
  }
  l->items[l->count] = strdup(value);
  if (l->items[l->count] == NULL) {
    return -1;
  }
  l->count++;
  return 0;
}

static int parse_bool(const char *s, bool *out) {
  if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0) {
    *out = true;
    return 0;
  }
  if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0) {
    *out = false;
    return 0;
  }
  return -1;
}

static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end;
  unsigned long long v;

  if (*s == '\0' || *s == '-' || *s == '+') {
    return -1;
  }
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) {
    return -1;
  }
  *out = v;
  return 0;
}

/*
 * Applies one textual value to an option. A list option's first value in one source replaces
 * what an earlier source set; *fresh tracks that per source.
 */
static int apply_value(relay_config *cfg, const opt *o, const char *value, bool *fresh,
                       const char *what, char *err, size_t errlen) {
  switch (o->type) {
  case OPT_STRING:
    if (set_string(field_str(cfg, o), value) != 0) {
      moqc__errf(err, errlen, "%s: out of memory", what);
      return -1;
    }
    return 0;
  case OPT_LIST: {
    relay_list *l = field_list(cfg, o);
    if (*fresh) {
      list_clear(l);
      *fresh = false;
    }
    if (list_add(l, value) != 0) {
      moqc__errf(err, errlen, "%s: at most %d values", what, RELAY_LIST_MAX);
      return -1;
    }
    if (o->set_offset != 0) {
      *(bool *)(void *)((char *)cfg + o->set_offset) = true;
    }
    return 0;
  }
  case OPT_BOOL:
    if (parse_bool(value, (bool *)(void *)((char *)cfg + o->offset)) != 0) {
      moqc__errf(err, errlen, "%s: expected true or false, got \"%s\"", what, value);
      return -1;
    }
    return 0;
  case OPT_UINT:
    if (parse_uint(value, o->min, o->max, (uint64_t *)(void *)((char *)cfg + o->offset)) !=
        0) {
      moqc__errf(err, errlen, "%s: expected a whole number from %llu to %llu, got \"%s\"", what,
           (unsigned long long)o->min, (unsigned long long)o->max, value);
      return -1;
    }
    return 0;
  }
  return -1;
}

int relay_config_default(relay_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  if (set_string(&cfg->log_level, "info") != 0 ||
      set_string(&cfg->server_bind, "[::]:4443") != 0 ||
      list_add(&cfg->tls_generate, "localhost") != 0 ||
      set_string(&cfg->web_http_listen, "[::]:4443") != 0 ||
      set_string(&cfg->internal_listen, "127.0.0.1:4444") != 0 ||
      list_add(&cfg->auth_public, "") != 0 || set_string(&cfg->stats_prefix, ".stats") != 0) {
    relay_config_free(cfg);
    return -1;
  }
  /* auth_public_set stays false: the default "" is for a relay without --auth-key. */
  cfg->stats_enabled = true;
  cfg->stats_interval = 1;
  cfg->workers = 0;
  cfg->quic_idle_timeout_ms = 30000;
  cfg->quic_keep_alive_ms = 5000;
  cfg->http_head_timeout_ms = 10000;
  return 0;
}

static const opt *find_flag(const char *name, size_t len) {
  size_t i;

  for (i = 0; i < NOPTIONS; i++) {
    if (strlen(options[i].flag) == len && memcmp(options[i].flag, name, len) == 0) {
      return &options[i];
    }
  }
  return NULL;
}

int relay_config_parse_args(relay_config *cfg, int argc, char **argv, bool *help, char *err,
                            size_t errlen) {
  bool fresh[NOPTIONS];
  const char *file = NULL;
  int i;

  *help = false;
  for (size_t k = 0; k < NOPTIONS; k++) {
    fresh[k] = true;
  }
  /* The config file comes first, whatever its position among the flags. */
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) == 0) {
      const char *eq = strchr(a + 2, '=');
      const opt *o = find_flag(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
      if (eq == NULL && o != NULL && o->type != OPT_BOOL) {
        i++; /* skip the flag's value */
      }
      continue;
    }
    if (file != NULL) {
      moqc__errf(err, errlen, "unexpected argument \"%s\" (one config file at most)", a);
      return -1;
    }
    file = a;
  }
  if (file != NULL) {
    FILE *f = fopen(file, "rb");
    char *text;
    long size;
    int rv;
    if (f == NULL) {
      moqc__errf(err, errlen, "%s: %s", file, strerror(errno));
      return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > 1024 * 1024 ||
        fseek(f, 0, SEEK_SET) != 0) {
      fclose(f);
      moqc__errf(err, errlen, "%s: unreadable or larger than 1 MiB", file);
      return -1;
    }
    text = malloc((size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) {
      free(text);
      fclose(f);
      moqc__errf(err, errlen, "%s: read failed", file);
      return -1;
    }
    fclose(f);
    text[size] = '\0';
    rv = relay_config_load_toml(cfg, file, text, (size_t)size, err, errlen);
    free(text);
    if (rv != 0) {
      return -1;
    }
  }
  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *value, *eq;
    const opt *o;
    size_t namelen;
    if (strncmp(a, "--", 2) != 0) {
      continue;
    }
    if (strcmp(a, "--help") == 0) {
      *help = true;
      continue;
    }
    eq = strchr(a + 2, '=');
    namelen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    o = find_flag(a + 2, namelen);
    if (o == NULL) {
      moqc__errf(err, errlen, "unknown flag --%.*s (see --help)", (int)namelen, a + 2);
      return -1;
    }
    if (eq != NULL) {
      value = eq + 1;
    } else if (o->type == OPT_BOOL) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      moqc__errf(err, errlen, "--%s needs a value (%s)", o->flag, o->arg);
      return -1;
    }
    {
      char what[96];
      snprintf(what, sizeof(what), "--%s", o->flag);
      if (apply_value(cfg, o, value, &fresh[o - options], what, err, errlen) != 0) {
        return -1;
      }
    }
  }
  return 0;
}

size_t relay_config_usage(char *buf, size_t cap, const char *argv0) {
  size_t n = 0, i;
  int w;

#define APPEND(...)                                                            \
  do {                                                                         \
    w = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                 \
    if (w > 0) {                                                               \
      n += (size_t)w;                                                          \
    }                                                                          \
  } while (0)

  APPEND("Usage: %s [CONFIG.toml] [FLAGS]\n\n"
         "Media over QUIC relay. With no config file and no flags it runs the embedded default:\n"
         "QUIC and WebTransport on UDP [::]:4443, HTTP and WebSocket on TCP [::]:4443, a\n"
         "generated certificate for localhost, anonymous publish and subscribe, metering on,\n"
         "/metrics on 127.0.0.1:4444. Flags override the config file.\n\nFlags:\n",
         argv0);
  for (i = 0; i < NOPTIONS; i++) {
    const opt *o = &options[i];
    char left[64];
    snprintf(left, sizeof(left), "--%s %s", o->flag, o->arg);
    APPEND("  %-34s %s [%s]\n", left, o->help, o->key);
  }
  APPEND("  %-34s %s\n", "--help", "show this text");
#undef APPEND
  return n;
}

void relay_config_free(relay_config *cfg) {
  size_t i;

  for (i = 0; i < NOPTIONS; i++) {
    const opt *o = &options[i];
    if (o->type == OPT_STRING) {
      free(*field_str(cfg, o));
    } else if (o->type == OPT_LIST) {
      list_clear(field_list(cfg, o));
    }
  }
  memset(cfg, 0, sizeof(*cfg));
}

static const opt *find_key(const char *key) {
  size_t i;

  for (i = 0; i < NOPTIONS; i++) {
    if (strcmp(options[i].key, key) == 0) {
      return &options[i];
    }
  }
  return NULL;
}

/* Copies a TOML string into a NUL-terminated heap string (NULL on NUL bytes or no memory). */
static char *toml_cstr(const moqc__toml_node *n) {
  moqc_str s;

  if (moqc__toml_string(n, &s) != 0 || memchr(s.ptr, '\0', s.len) != NULL) {
    return NULL;
  }
  return strndup(s.ptr, s.len);
}

/* Applies one TOML value node to option o; what is "file:line:col: key". */
static int toml_apply(relay_config *cfg, const opt *o, const moqc__toml_node *n, const char *what,
                      char *err, size_t errlen) {
  moqc__toml_type t = moqc__toml_type_of(n);
  bool fresh = true;
  char text[32], *value;
  int64_t v;
  bool b;
  int rv = 0;

  switch (o->type) {
  case OPT_BOOL:
    if (moqc__toml_bool(n, &b) != 0) {
      moqc__errf(err, errlen, "%s: expected true or false", what);
      return -1;
    }
    *(bool *)(void *)((char *)cfg + o->offset) = b;
    return 0;
  case OPT_UINT:
    if (moqc__toml_int(n, &v) != 0) {
      moqc__errf(err, errlen, "%s: expected an integer", what);
      return -1;
    }
    snprintf(text, sizeof(text), "%lld", (long long)v);
    return apply_value(cfg, o, text, &fresh, what, err, errlen);
  case OPT_STRING:
    if ((value = toml_cstr(n)) == NULL) {
      moqc__errf(err, errlen, "%s: expected a string", what);
      return -1;
    }
    rv = apply_value(cfg, o, value, &fresh, what, err, errlen);
    free(value);
    return rv;
  case OPT_LIST:
    if (t == MOQC__TOML_STRING) {
      if ((value = toml_cstr(n)) == NULL) {
        moqc__errf(err, errlen, "%s: expected a string", what);
        return -1;
      }
      rv = apply_value(cfg, o, value, &fresh, what, err, errlen);
      free(value);
      return rv;
    }
    if (t != MOQC__TOML_ARRAY) {
      moqc__errf(err, errlen, "%s: expected a string or an array of strings", what);
      return -1;
    }
    /* An array replaces the list, even when empty. */
    list_clear(field_list(cfg, o));
    if (o->set_offset != 0) {
      *(bool *)(void *)((char *)cfg + o->set_offset) = true;
    }
    fresh = false;
    for (size_t i = 0; i < moqc__toml_count(n) && rv == 0; i++) {
      if ((value = toml_cstr(moqc__toml_at(n, i, NULL))) == NULL) {
        moqc__errf(err, errlen, "%s: expected an array of strings", what);
        return -1;
      }
      rv = apply_value(cfg, o, value, &fresh, what, err, errlen);
      free(value);
    }
    return rv;
  }
  return -1;
}

/* Walks a table, applying every leaf by its dotted key. */
static int toml_walk(relay_config *cfg, const char *name, const moqc__toml_node *table,
                     const char *prefix, char *err, size_t errlen) {
  size_t i, count = moqc__toml_count(table);

  for (i = 0; i < count; i++) {
    moqc_str key;
    const moqc__toml_node *n = moqc__toml_at(table, i, &key);
    char dotted[256];
    unsigned line, col;
    char what[512];
    const opt *o;

    if (snprintf(dotted, sizeof(dotted), "%s%s%.*s", prefix, *prefix ? "." : "", (int)key.len,
                 key.ptr) >= (int)sizeof(dotted)) {
      moqc__errf(err, errlen, "%s: key too long", name);
      return -1;
    }
    moqc__toml_pos(n, &line, &col);
    snprintf(what, sizeof(what), "%s:%u:%u: %s", name, line, col, dotted);
    o = find_key(dotted);
    if (o == NULL) {
      if (moqc__toml_type_of(n) == MOQC__TOML_TABLE) {
        if (toml_walk(cfg, name, n, dotted, err, errlen) != 0) {
          return -1;
        }
        continue;
      }
      moqc__errf(err, errlen, "%s: unknown key", what);
      return -1;
    }
    if (toml_apply(cfg, o, n, what, err, errlen) != 0) {
      return -1;
    }
  }
  return 0;
}

int relay_config_load_toml(relay_config *cfg, const char *name, const char *text, size_t len,
                           char *err, size_t errlen) {
  moqc__toml_doc *doc;
  moqc__toml_error terr;
  int rv;

  memset(&terr, 0, sizeof(terr));
  rv = moqc__toml_parse(text, len, NULL, &doc, &terr);
  if (rv != 0) {
    if (rv == MOQC_ERR_NOMEM) {
      moqc__errf(err, errlen, "%s: out of memory", name);
    } else {
      moqc__errf(err, errlen, "%s:%u:%u: %s%s%s", name, terr.line, terr.column,
           terr.message ? terr.message : "malformed", terr.key[0] ? ": " : "", terr.key);
    }
    return -1;
  }
  rv = toml_walk(cfg, name, moqc__toml_root(doc), "", err, errlen);
  moqc__toml_del(doc);
  return rv;
}
