/*
 * The JSON readout of a report: {"tiers": {"<tier>": {"publisher": {...},
 * "subscriber": {...}, "sessions": {...}}}}, with counters in the stats schema
 * order of MOQC_USAGE_FOREACH.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include "stats/json.h"
#include "stats/registry.h"

void moqc__json_counters(moqc__sbuf *b, const moqc_usage_counters *c) {
  const char *sep = "{";

#define JSON_FIELD(f, cl, p, h)                                                \
  moqc__sbuf_puts(b, sep);                                                     \
  moqc__sbuf_puts(b, "\"" #f "\":");                                           \
  moqc__sbuf_u64(b, c->f);                                                     \
  sep = ",";
  MOQC_USAGE_FOREACH(JSON_FIELD)
#undef JSON_FIELD
  moqc__sbuf_puts(b, "}");
}

void moqc__json_presence(moqc__sbuf *b, moqc_stats_presence p) {
  moqc__sbuf_puts(b, "{\"sessions\":");
  moqc__sbuf_u64(b, p.sessions);
  moqc__sbuf_puts(b, ",\"sessions_closed\":");
  moqc__sbuf_u64(b, p.sessions_closed);
  moqc__sbuf_puts(b, "}");
}

bool moqc__counters_zero(const moqc_usage_counters *c) {
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    if (moqc_usage_counters_get(c, i) != 0) {
      return false;
    }
  }
  return true;
}

/* Writes the role object of the entries [from, to) (all of one tier). */
static void json_role(moqc__sbuf *b, const moqc_stats_traffic_entry *e,
                      size_t from, size_t to, bool egress) {
  const char *sep = "";

  moqc__sbuf_puts(b, "{");
  for (size_t i = from; i < to; i++) {
    const moqc_usage_counters *c = egress ? &e[i].publisher : &e[i].subscriber;
    if (moqc__counters_zero(c)) {
      continue;
    }
    moqc__sbuf_puts(b, sep);
    moqc__sbuf_json_str(b, e[i].path);
    moqc__sbuf_puts(b, ":");
    moqc__json_counters(b, c);
    sep = ",";
  }
  moqc__sbuf_puts(b, "}");
}

static void json_render(moqc__sbuf *b, const void *arg) {
  const moqc_stats_report *rep = arg;
  size_t i = 0, j = 0;
  const char *sep = "";

  moqc__sbuf_puts(b, "{\"tiers\":{");
  while (i < rep->n_entries || j < rep->n_sessions) {
    moqc_str tier;
    size_t ie = i, je = j;
    if (j >= rep->n_sessions ||
        (i < rep->n_entries &&
         moqc__str_cmp(rep->entries[i].tier, rep->sessions[j].tier) <= 0)) {
      tier = rep->entries[i].tier;
    } else {
      tier = rep->sessions[j].tier;
    }
    while (ie < rep->n_entries && moqc_str_eq(rep->entries[ie].tier, tier)) {
      ie++;
    }
    while (je < rep->n_sessions && moqc_str_eq(rep->sessions[je].tier, tier)) {
      je++;
    }
    moqc__sbuf_puts(b, sep);
    moqc__sbuf_json_str(b, tier);
    moqc__sbuf_puts(b, ":{\"publisher\":");
    json_role(b, rep->entries, i, ie, true);
    moqc__sbuf_puts(b, ",\"subscriber\":");
    json_role(b, rep->entries, i, ie, false);
    moqc__sbuf_puts(b, ",\"sessions\":{");
    for (size_t k = j; k < je; k++) {
      if (k > j) {
        moqc__sbuf_puts(b, ",");
      }
      moqc__sbuf_json_str(b, rep->sessions[k].root);
      moqc__sbuf_puts(b, ":");
      moqc__json_presence(b, rep->sessions[k].presence);
    }
    moqc__sbuf_puts(b, "}}");
    sep = ",";
    i = ie;
    j = je;
  }
  moqc__sbuf_puts(b, "}}");
}

moqc_ssize moqc_stats_json(const moqc_stats_report *rep, char *buf,
                           size_t cap) {
  moqc__sbuf b = {buf, cap, 0};

  json_render(&b, rep);
  return moqc__sbuf_finish(&b);
}

int moqc_stats_json_alloc(const moqc_stats_report *rep, const moqc_mem *mem,
                          char **out, size_t *len) {
  return moqc__sbuf_alloc(json_render, rep, mem, out, len);
}
