/*
 * Prometheus text format 0.0.4 of a snapshot, with upstream's metric names
 * (spec/upstream-model.md 3.6). The counter list comes from MOQC_USAGE_FOREACH.
 */
#include <moqc/error.h>
#include <moqc/stats.h>

#include "stats/sbuf.h"

#define PROM_PREFIX "moq_relay_"

static void prometheus_head(moqc__sbuf *b, const char *name, const char *help) {
  moqc__sbuf_puts(b, "# HELP " PROM_PREFIX);
  moqc__sbuf_puts(b, name);
  moqc__sbuf_puts(b, " ");
  moqc__sbuf_puts(b, help);
  moqc__sbuf_puts(b, "\n# TYPE " PROM_PREFIX);
  moqc__sbuf_puts(b, name);
  moqc__sbuf_puts(b, " counter\n");
}

static void prometheus_tier(moqc__sbuf *b, const char *name, moqc_str tier) {
  moqc__sbuf_puts(b, PROM_PREFIX);
  moqc__sbuf_puts(b, name);
  moqc__sbuf_puts(b, "{tier=\"");
  moqc__sbuf_prom_label(b, tier);
  moqc__sbuf_puts(b, "\"");
}

static void prometheus_render(moqc__sbuf *b, const void *arg) {
  const moqc_stats_snapshot *snap = arg;

  for (int f = 0; f < MOQC_USAGE_FIELD_COUNT; f++) {
    const char *name = moqc_usage_field_prom_name(f);
    if (name == NULL) {
      continue;
    }
    prometheus_head(b, name, moqc_usage_field_prom_help(f));
    for (size_t i = 0; i < snap->n_traffic; i++) {
      const moqc_stats_traffic_row *r = &snap->traffic[i];
      prometheus_tier(b, name, r->tier);
      moqc__sbuf_puts(b, ",role=\"");
      moqc__sbuf_puts(b, moqc_direction_role(r->dir));
      moqc__sbuf_puts(b, "\"} ");
      moqc__sbuf_u64(b, moqc_usage_counters_get(&r->c, f));
      moqc__sbuf_puts(b, "\n");
    }
  }
  for (int closed = 0; closed < 2; closed++) {
    const char *name =
        closed ? "sessions_closed_total" : "sessions_opened_total";
    prometheus_head(b, name,
                    closed
                        ? "Sessions closed (last reference to the context gone)"
                        : "Sessions opened (stats context created)");
    for (size_t i = 0; i < snap->n_sessions; i++) {
      const moqc_stats_tier_sessions *s = &snap->sessions[i];
      prometheus_tier(b, name, s->tier);
      moqc__sbuf_puts(b, "} ");
      moqc__sbuf_u64(b, closed ? s->p.sessions_closed : s->p.sessions);
      moqc__sbuf_puts(b, "\n");
    }
  }
}

moqc_ssize moqc_stats_prometheus(const moqc_stats_snapshot *snap, char *buf,
                                 size_t cap) {
  moqc__sbuf b = {buf, cap, 0};

  prometheus_render(&b, snap);
  return moqc__sbuf_finish(&b);
}

int moqc_stats_prometheus_alloc(const moqc_stats_snapshot *snap,
                                const moqc_mem *mem, char **out, size_t *len) {
  return moqc__sbuf_alloc(prometheus_render, snap, mem, out, len);
}
