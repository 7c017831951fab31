/*
 * Stats exports: Prometheus text (checked by promtool), the JSON readout
 * (parsed back with jansson), the X-macro field coverage, and the per-drain
 * emission of the stats broadcast (spec/upstream-model.md 4.4 and 5.4).
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include <jansson.h>
#include <unistd.h>

#define S(x) moqc_str_c(x)

/* ---- helpers ---- */

static moqc_stats_registry *reg_new(void) {
  moqc_stats_registry *reg;
  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  return reg;
}

static void bump(moqc_stats_registry *reg, const char *tier, moqc_direction dir,
                 const char *path, uint64_t bytes, uint64_t frames) {
  moqc_usage *u;
  assert_int_equal(moqc_stats_registry_sink(reg, S(tier), dir, S(path), &u), 0);
  assert_non_null(u);
  moqc_usage_add_bytes(u, bytes);
  moqc_usage_add_frames(u, frames);
  moqc_usage_decref(u);
}

static char *prom_render(moqc_stats_registry *reg) {
  moqc_stats_snapshot *snap;
  char *out;
  size_t len;
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(moqc_stats_prometheus_alloc(snap, NULL, &out, &len), 0);
  assert_int_equal(strlen(out), len);
  /* The bounded writer gives the same text, and refuses a buffer one byte
   * short. */
  char *buf = malloc(len + 1);
  assert_int_equal(moqc_stats_prometheus(snap, buf, len + 1), (moqc_ssize)len);
  assert_string_equal(buf, out);
  assert_int_equal(moqc_stats_prometheus(snap, buf, len), MOQC_ERR_NOBUF);
  assert_int_equal(moqc_stats_prometheus(snap, NULL, 0), MOQC_ERR_NOBUF);
  free(buf);
  moqc_stats_snapshot_del(snap);
  return out;
}

/* Runs `promtool check metrics` on text; fails (never skips) when promtool is
 * missing. */
static void promtool_check(const char *text) {
  char path[] = "/tmp/moqc-prom-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t len = strlen(text);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char out[4096];
  size_t n = fread(out, 1, sizeof(out) - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  unlink(path);
  if (status != 0) {
    fprintf(stderr,
            "promtool (status %d; install it with scripts/deps.sh):\n%s\n--- "
            "input:\n%s",
            status, out, text);
  }
  assert_int_equal(status, 0);
  /* promtool prints lint problems even when it exits 0 in some versions:
   * require none. */
  assert_int_equal(n, 0);
}

/* ---- Prometheus ---- */

static void test_metrics_render_exposition(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  bump(reg, "", MOQC_DIRECTION_EGRESS, "demo", 1234, 3);
  bump(reg, "region/sjc", MOQC_DIRECTION_INGRESS, "demo", 56, 1);
  moqc_stats_session *s;
  assert_int_equal(moqc_stats_session_new(&s, reg, S(""), S("demo")), 0);
  char *text = prom_render(reg);
  assert_non_null(strstr(
      text, "\nmoq_relay_bytes_total{tier=\"\",role=\"publisher\"} 1234\n"));
  assert_non_null(strstr(
      text, "\nmoq_relay_bytes_total{tier=\"\",role=\"subscriber\"} 0\n"));
  assert_non_null(strstr(
      text,
      "\nmoq_relay_bytes_total{tier=\"region/sjc\",role=\"subscriber\"} 56\n"));
  assert_non_null(strstr(
      text,
      "\nmoq_relay_frames_total{tier=\"region/sjc\",role=\"publisher\"} 0\n"));
  assert_non_null(
      strstr(text, "\nmoq_relay_sessions_opened_total{tier=\"\"} 1\n"));
  assert_non_null(
      strstr(text, "\nmoq_relay_sessions_closed_total{tier=\"\"} 0\n"));
  assert_non_null(strstr(text, "# TYPE moq_relay_bytes_total counter\n"));
  assert_non_null(strstr(text, "# HELP moq_relay_viewers_opened_total "));
  /* Announce counters are not exported. */
  assert_null(strstr(text, "announce"));
  promtool_check(text);
  free(text);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_metrics_escape_labels(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  bump(reg, "we\"ird\\tier\nx", MOQC_DIRECTION_EGRESS, "demo", 9, 1);
  char *text = prom_render(reg);
  assert_non_null(
      strstr(text, "moq_relay_bytes_total{tier=\"we\\\"ird\\\\tier\\nx\",role="
                   "\"publisher\"} 9\n"));
  promtool_check(text);
  free(text);
  moqc_stats_registry_decref(reg);
}

static void test_metrics_empty_registry(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  char *text = prom_render(reg);
  assert_null(strstr(text, "{"));
  promtool_check(text);
  free(text);
  moqc_stats_registry_decref(reg);
  assert_int_equal(moqc_stats_registry_new_disabled(&reg, NULL), 0);
  text = prom_render(reg);
  promtool_check(text);
  free(text);
  moqc_stats_registry_decref(reg);
}

/* Every exported field of MOQC_USAGE_FOREACH appears, in order, with its own
 * value. */
static void test_metrics_cover_every_field_in_order(void **state) {
  (void)state;
  moqc_stats_snapshot snap = {0};
  moqc_stats_traffic_row row = {S("t"), MOQC_DIRECTION_EGRESS, {0}};
  uint64_t *raw = (uint64_t *)&row.c;
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    raw[i] = (uint64_t)(1000 + i);
  }
  snap.traffic = &row;
  snap.n_traffic = 1;
  char buf[8192];
  assert_true(moqc_stats_prometheus(&snap, buf, sizeof(buf)) > 0);
  const char *at = buf;
  int exported = 0;
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    const char *name = moqc_usage_field_prom_name(i);
    if (name == NULL) {
      continue;
    }
    char line[128];
    snprintf(line, sizeof(line),
             "moq_relay_%s{tier=\"t\",role=\"publisher\"} %d\n", name,
             1000 + i);
    const char *found = strstr(buf, line);
    assert_non_null(found);
    assert_true(found > at);
    at = found;
    exported++;
  }
  assert_int_equal(exported, 9);
  promtool_check(buf);
}

/* ---- JSON readout ---- */

static void assert_json_equal(const char *got, const char *want) {
  json_error_t err;
  json_t *g = json_loads(got, 0, &err);
  if (g == NULL) {
    fprintf(stderr, "bad JSON (%s): %s\n", err.text, got);
  }
  assert_non_null(g);
  json_t *w = json_loads(want, 0, &err);
  assert_non_null(w);
  if (!json_equal(g, w)) {
    fprintf(stderr, "got:  %s\nwant: %s\n", got, want);
  }
  assert_true(json_equal(g, w));
  json_decref(g);
  json_decref(w);
}

#define ZERO_BUT(extra)                                                        \
  "{\"announced\":0,\"announced_closed\":0,\"announced_bytes\":0,"             \
  "\"broadcasts\":0,"                                                          \
  "\"broadcasts_closed\":0,\"subscriptions\":0,\"subscriptions_closed\":0,"    \
  "\"fetches\":0," extra ",\"groups\":0,\"datagrams\":0}"

static void test_json_readout_shape(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  bump(reg, "", MOQC_DIRECTION_EGRESS, "room/cam", 100, 2);
  bump(reg, "", MOQC_DIRECTION_INGRESS, "room/cam", 50, 1);
  bump(reg, "", MOQC_DIRECTION_EGRESS, "a\"b", 1, 1);
  bump(reg, "region/sjc", MOQC_DIRECTION_INGRESS, "room/mic", 7, 1);
  moqc_stats_session *s1, *s2;
  assert_int_equal(moqc_stats_session_new(&s1, reg, S(""), S("room")), 0);
  assert_int_equal(moqc_stats_session_new(&s2, reg, S("edge"), S("")), 0);
  moqc_stats_report *rep;
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  char *out;
  size_t len;
  assert_int_equal(moqc_stats_json_alloc(rep, NULL, &out, &len), 0);
  assert_int_equal(strlen(out), len);
  assert_json_equal(
      out,
      "{\"tiers\":{"
      "\"\":{\"publisher\":{\"a\\\"b\":" ZERO_BUT("\"bytes\":1,\"frames\":1") ",\"room/cam\":" ZERO_BUT(
          "\"bytes\":100,\"frames\":2") "},"
                                        "\"subscriber\":{\"room/"
                                        "cam\":" ZERO_BUT(
                                            "\"bytes\":50,\"frames\":1") "},"
                                                                         "\"ses"
                                                                         "sions"
                                                                         "\":{"
                                                                         "\"roo"
                                                                         "m\":{"
                                                                         "\"ses"
                                                                         "sions"
                                                                         "\":1,"
                                                                         "\"ses"
                                                                         "sions"
                                                                         "_clos"
                                                                         "ed\":"
                                                                         "0}}},"
                                                                         "\"edg"
                                                                         "e\":{"
                                                                         "\"pub"
                                                                         "lishe"
                                                                         "r\":{"
                                                                         "},"
                                                                         "\"sub"
                                                                         "scrib"
                                                                         "er\":"
                                                                         "{},"
                                                                         "\"ses"
                                                                         "sions"
                                                                         "\":{"
                                                                         "\"\":"
                                                                         "{\"se"
                                                                         "ssion"
                                                                         "s\":"
                                                                         "1,"
                                                                         "\"ses"
                                                                         "sions"
                                                                         "_clos"
                                                                         "ed\":"
                                                                         "0}}},"
                                                                         "\"reg"
                                                                         "ion/"
                                                                         "sjc\""
                                                                         ":{"
                                                                         "\"pub"
                                                                         "lishe"
                                                                         "r\":{"
                                                                         "},"
                                                                         "\"sub"
                                                                         "scrib"
                                                                         "er\":"
                                                                         "{\"ro"
                                                                         "om/"
                                                                         "mic\""
                                                                         ":" ZERO_BUT(
                                                                             "\"bytes\":7,\"frames\":1") "},"
                                                                                                         "\"sessions\":{}}}}");
  /* Bounded writer: same text; too small is NOBUF. */
  char *buf = malloc(len + 1);
  assert_int_equal(moqc_stats_json(rep, buf, len + 1), (moqc_ssize)len);
  assert_string_equal(buf, out);
  assert_int_equal(moqc_stats_json(rep, buf, len), MOQC_ERR_NOBUF);
  free(buf);
  free(out);
  moqc_stats_report_del(rep);
  moqc_stats_session_decref(s1);
  moqc_stats_session_decref(s2);
  moqc_stats_registry_decref(reg);
}

/* The counters object has every MOQC_USAGE_FOREACH field, in order, each with
 * its own value. */
static void test_json_covers_every_field_in_order(void **state) {
  (void)state;
  moqc_stats_traffic_entry e = {.path = S("p"), .tier = S("")};
  uint64_t *raw = (uint64_t *)&e.publisher;
  for (int i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    raw[i] = (uint64_t)(7 + i);
  }
  moqc_stats_report rep = {.entries = &e, .n_entries = 1};
  char buf[4096];
  assert_true(moqc_stats_json(&rep, buf, sizeof(buf)) > 0);
  json_t *root = json_loads(buf, 0, NULL);
  assert_non_null(root);
  json_t *c = json_object_get(
      json_object_get(
          json_object_get(json_object_get(json_object_get(root, "tiers"), ""),
                          "publisher"),
          "p"),
      "announced");
  assert_non_null(c);
  json_t *obj = json_object_get(
      json_object_get(json_object_get(json_object_get(root, "tiers"), ""),
                      "publisher"),
      "p");
  assert_int_equal(json_object_size(obj), MOQC_USAGE_FIELD_COUNT);
  /* jansson keeps insertion order: keys come in schema order. */
  int i = 0;
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    assert_string_equal(key, moqc_usage_field_name(i));
    assert_int_equal(json_integer_value(val), 7 + i);
    i++;
  }
  assert_int_equal(i, MOQC_USAGE_FIELD_COUNT);
  json_decref(root);
}

/* ---- emitter ---- */

static const moqc_stats_frame *frame_of(const moqc_stats_emission *em,
                                        const char *track) {
  for (size_t i = 0; i < em->n_frames; i++) {
    if (moqc_str_eq(em->frames[i].track, S(track))) {
      return &em->frames[i];
    }
  }
  return NULL;
}

static moqc_stats_emission *drain(moqc_stats_registry *reg,
                                  moqc_stats_emitter *e) {
  moqc_stats_report *rep;
  moqc_stats_emission *em;
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(moqc_stats_emitter_drain(e, rep, &em), 0);
  moqc_stats_report_del(rep);
  for (size_t i = 0; i < em->n_frames; i++) {
    /* Every document is valid JSON. */
    json_t *j =
        json_loadb(em->frames[i].json.ptr, em->frames[i].json.len, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_object(j));
    json_decref(j);
  }
  return em;
}

static void assert_frame(const moqc_stats_emission *em, const char *track,
                         bool write, const char *json) {
  const moqc_stats_frame *f = frame_of(em, track);
  if (f == NULL) {
    fprintf(stderr, "no frame for %s\n", track);
  }
  assert_non_null(f);
  assert_int_equal(f->write, write);
  assert_int_equal(f->json.ptr[f->json.len], '\0');
  if (json != NULL) {
    assert_json_equal(f->json.ptr, json);
  }
}

static void test_emit_unused_slots_dont_surface(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_emitter *e;
  assert_int_equal(moqc_stats_emitter_new(&e, NULL), 0);
  /* First drain of an empty registry: the default tier's three tracks, each {}
   * once. */
  moqc_stats_emission *em = drain(reg, e);
  assert_int_equal(em->n_frames, 3);
  assert_string_equal(em->frames[0].track.ptr, "publisher.json");
  assert_int_equal(em->frames[0].doc, MOQC_STATS_DOC_PUBLISHER);
  assert_string_equal(em->frames[1].track.ptr, "subscriber.json");
  assert_string_equal(em->frames[2].track.ptr, "sessions.json");
  for (int i = 0; i < 3; i++) {
    assert_true(em->frames[i].write);
    assert_string_equal(em->frames[i].json.ptr, "{}");
    assert_int_equal(em->frames[i].tier.len, 0);
  }
  moqc_stats_emission_del(em);
  /* Egress traffic only: the subscriber slot of that path never appears. */
  moqc_usage *u;
  assert_int_equal(moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_EGRESS,
                                            S("demo"), &u),
                   0);
  moqc_usage_add_bytes(u, 42);
  moqc_usage_add_frames(u, 1);
  em = drain(reg, e);
  assert_frame(em, "publisher.json", true,
               "{\"demo\":" ZERO_BUT("\"bytes\":42,\"frames\":1") "}");
  assert_frame(em, "subscriber.json", false, "{}");
  assert_frame(em, "sessions.json", false, "{}");
  moqc_stats_emission_del(em);
  moqc_usage_decref(u);
  moqc_stats_emitter_del(e);
  moqc_stats_registry_decref(reg);
}

static void test_emit_short_lived_sub_is_surfaced(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_emitter *e;
  moqc_stats_session *s;
  assert_int_equal(moqc_stats_emitter_new(&e, NULL), 0);
  moqc_stats_emission_del(drain(reg, e));
  assert_int_equal(moqc_stats_session_new(&s, reg, S(""), S("")), 0);
  moqc_usage_scope *sc =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_open_subscription(sc->sink);
  moqc_usage_scope_viewer_open(sc);
  moqc_usage_add_bytes(sc->sink, 123);
  moqc_usage_close_subscription(sc->sink);
  moqc_usage_scope_viewer_close(sc);
  moqc_usage_scope_decref(sc);
  /* Opened and closed within one interval: surfaces once with its final counts.
   */
  moqc_stats_emission *em = drain(reg, e);
  assert_frame(
      em, "publisher.json", true,
      "{\"demo\":{\"announced\":0,\"announced_closed\":0,\"announced_bytes\":0,"
      "\"broadcasts\":1,\"broadcasts_closed\":1,\"subscriptions\":1,"
      "\"subscriptions_closed\":1,\"fetches\":0,\"bytes\":123,\"frames\":0,"
      "\"groups\":0,\"datagrams\":0}}");
  assert_frame(em, "sessions.json", true,
               "{\"\":{\"sessions\":1,\"sessions_closed\":0}}");
  moqc_stats_emission_del(em);
  /* Fully closed and reclaimed: the track goes to {} exactly once, then
   * nothing. */
  em = drain(reg, e);
  assert_frame(em, "publisher.json", true, "{}");
  assert_frame(em, "sessions.json", false, NULL);
  moqc_stats_emission_del(em);
  em = drain(reg, e);
  assert_frame(em, "publisher.json", false, "{}");
  moqc_stats_emission_del(em);
  /* The session leaves: its root surfaces closed once, then the track empties.
   */
  moqc_stats_session_decref(s);
  em = drain(reg, e);
  assert_frame(em, "sessions.json", true,
               "{\"\":{\"sessions\":1,\"sessions_closed\":1}}");
  moqc_stats_emission_del(em);
  em = drain(reg, e);
  assert_frame(em, "sessions.json", true, "{}");
  moqc_stats_emission_del(em);
  em = drain(reg, e);
  assert_frame(em, "sessions.json", false, "{}");
  moqc_stats_emission_del(em);
  moqc_stats_emitter_del(e);
  moqc_stats_registry_decref(reg);
}

static void test_emit_live_entry_kept_while_idle(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_emitter *e;
  moqc_usage *u;
  assert_int_equal(moqc_stats_emitter_new(&e, NULL), 0);
  assert_int_equal(moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_INGRESS,
                                            S("live"), &u),
                   0);
  moqc_usage_open_subscription(u);
  moqc_stats_emission *em = drain(reg, e);
  assert_frame(em, "subscriber.json", true, NULL);
  moqc_stats_emission_del(em);
  /* Nothing changes, but the subscription is live: still included, nothing to
   * write. */
  for (int i = 0; i < 3; i++) {
    em = drain(reg, e);
    const moqc_stats_frame *f = frame_of(em, "subscriber.json");
    assert_false(f->write);
    assert_non_null(strstr(f->json.ptr, "\"live\":"));
    moqc_stats_emission_del(em);
  }
  /* Closed but still referenced: surfaces once with the close, then drops out
   * (idle, unchanged). */
  moqc_usage_close_subscription(u);
  em = drain(reg, e);
  assert_frame(em, "subscriber.json", true, NULL);
  assert_non_null(strstr(frame_of(em, "subscriber.json")->json.ptr,
                         "\"subscriptions_closed\":1"));
  moqc_stats_emission_del(em);
  em = drain(reg, e);
  assert_frame(em, "subscriber.json", true, "{}");
  moqc_stats_emission_del(em);
  /* New traffic on the idle entry surfaces it again. */
  moqc_usage_add_bytes(u, 5);
  em = drain(reg, e);
  assert_frame(em, "subscriber.json", true, NULL);
  assert_non_null(
      strstr(frame_of(em, "subscriber.json")->json.ptr, "\"bytes\":5"));
  moqc_stats_emission_del(em);
  moqc_usage_decref(u);
  moqc_stats_emitter_del(e);
  moqc_stats_registry_decref(reg);
}

static void test_emit_named_tier_tracks(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_emitter *e;
  assert_int_equal(moqc_stats_emitter_new(&e, NULL), 0);
  bump(reg, "region/sjc", MOQC_DIRECTION_EGRESS, "demo", 10, 1);
  bump(reg, "a", MOQC_DIRECTION_INGRESS, "x", 1, 1);
  moqc_stats_emission *em = drain(reg, e);
  /* Default tier first, then tiers sorted by label, three tracks each. */
  assert_int_equal(em->n_frames, 9);
  static const char *const tracks[] = {"publisher.json",
                                       "subscriber.json",
                                       "sessions.json",
                                       "a/publisher.json",
                                       "a/subscriber.json",
                                       "a/sessions.json",
                                       "region/sjc/publisher.json",
                                       "region/sjc/subscriber.json",
                                       "region/sjc/sessions.json"};
  for (size_t i = 0; i < 9; i++) {
    assert_string_equal(em->frames[i].track.ptr, tracks[i]);
    assert_int_equal(em->frames[i].doc, (moqc_stats_doc)(i % 3));
  }
  assert_true(moqc_str_eq(em->frames[6].tier, S("region/sjc")));
  assert_frame(em, "region/sjc/publisher.json", true,
               "{\"demo\":" ZERO_BUT("\"bytes\":10,\"frames\":1") "}");
  assert_frame(em, "a/subscriber.json", true,
               "{\"x\":" ZERO_BUT("\"bytes\":1,\"frames\":1") "}");
  moqc_stats_emission_del(em);
  /* The entries were reclaimed; the tiers keep their tracks, emptied once. */
  em = drain(reg, e);
  assert_int_equal(em->n_frames, 9);
  assert_frame(em, "region/sjc/publisher.json", true, "{}");
  assert_frame(em, "a/subscriber.json", true, "{}");
  assert_frame(em, "a/sessions.json", false, "{}");
  moqc_stats_emission_del(em);
  moqc_stats_emitter_del(e);
  moqc_stats_registry_decref(reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metrics_render_exposition),
      cmocka_unit_test(test_metrics_escape_labels),
      cmocka_unit_test(test_metrics_empty_registry),
      cmocka_unit_test(test_metrics_cover_every_field_in_order),
      cmocka_unit_test(test_json_readout_shape),
      cmocka_unit_test(test_json_covers_every_field_in_order),
      cmocka_unit_test(test_emit_unused_slots_dont_surface),
      cmocka_unit_test(test_emit_short_lived_sub_is_surfaced),
      cmocka_unit_test(test_emit_live_entry_kept_while_idle),
      cmocka_unit_test(test_emit_named_tier_tracks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
