/*
 * Stats registry and session contexts (spec/upstream-model.md 5.2,
 * spec/metering.md 4 and 6). The model's calls are simulated here: a
 * subscription is open_subscription + viewer_open on the scope's sink, closed
 * by close_subscription + viewer_close.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#define S(x) moqc_str_c(x)

static moqc_stats_registry *reg_new(void) {
  moqc_stats_registry *reg;
  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  return reg;
}

static moqc_stats_session *sess_new(moqc_stats_registry *reg, const char *tier,
                                    const char *root) {
  moqc_stats_session *s;
  assert_int_equal(moqc_stats_session_new(&s, reg, S(tier), S(root)), 0);
  return s;
}

static moqc_usage_counters sink_read(moqc_stats_registry *reg, const char *tier,
                                     moqc_direction dir, const char *path) {
  moqc_usage *u;
  moqc_usage_counters c;
  assert_int_equal(moqc_stats_registry_sink(reg, S(tier), dir, S(path), &u), 0);
  moqc_usage_read(u, &c);
  moqc_usage_decref(u);
  return c;
}

/* A live egress subscription as the model makes it. */
static void sub_open(moqc_usage_scope *sc) {
  moqc_usage_open_subscription(moqc_usage_scope_sink(sc));
  moqc_usage_scope_viewer_open(sc);
}

static void sub_close(moqc_usage_scope *sc) {
  moqc_usage_close_subscription(moqc_usage_scope_sink(sc));
  moqc_usage_scope_viewer_close(sc);
}

static const moqc_stats_traffic_row *
snap_row(const moqc_stats_snapshot *s, const char *tier, moqc_direction dir) {
  for (size_t i = 0; i < s->n_traffic; i++) {
    if (moqc_str_eq(s->traffic[i].tier, S(tier)) && s->traffic[i].dir == dir) {
      return &s->traffic[i];
    }
  }
  return NULL;
}

static const moqc_stats_presence *snap_sessions(const moqc_stats_snapshot *s,
                                                const char *tier) {
  for (size_t i = 0; i < s->n_sessions; i++) {
    if (moqc_str_eq(s->sessions[i].tier, S(tier))) {
      return &s->sessions[i].p;
    }
  }
  return NULL;
}

static const moqc_stats_session_entry *
rep_session(const moqc_stats_report *r, const char *tier, const char *root) {
  for (size_t i = 0; i < r->n_sessions; i++) {
    if (moqc_str_eq(r->sessions[i].tier, S(tier)) &&
        moqc_str_eq(r->sessions[i].root, S(root))) {
      return &r->sessions[i];
    }
  }
  return NULL;
}

static const moqc_stats_traffic_entry *
rep_entry(const moqc_stats_report *r, const char *tier, const char *path) {
  for (size_t i = 0; i < r->n_entries; i++) {
    if (moqc_str_eq(r->entries[i].tier, S(tier)) &&
        moqc_str_eq(r->entries[i].path, S(path))) {
      return &r->entries[i];
    }
  }
  return NULL;
}

static void test_default_tier_has_empty_label(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *sc =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_add_bytes(moqc_usage_scope_sink(sc), 5);
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(snap->n_traffic, 2);
  assert_int_equal(snap->traffic[0].tier.len, 0);
  assert_int_equal(snap->traffic[0].dir, MOQC_DIRECTION_EGRESS);
  assert_int_equal(snap->traffic[0].c.bytes, 5);
  assert_int_equal(snap->traffic[1].dir, MOQC_DIRECTION_INGRESS);
  assert_int_equal(snap->traffic[1].c.bytes, 0);
  moqc_stats_snapshot_del(snap);
  moqc_usage_scope_decref(sc);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_default_and_named_tiers_are_independent(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *d = sess_new(reg, "", "");
  moqc_stats_session *r = sess_new(reg, "region/sjc", "");
  moqc_usage_scope *de =
      moqc_stats_session_scope(d, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_scope *ri =
      moqc_stats_session_scope(r, MOQC_DIRECTION_INGRESS, S("demo"));
  moqc_usage_add_bytes(moqc_usage_scope_sink(de), 100);
  moqc_usage_add_bytes(moqc_usage_scope_sink(ri), 7);
  assert_int_equal(sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo").bytes,
                   100);
  assert_int_equal(sink_read(reg, "", MOQC_DIRECTION_INGRESS, "demo").bytes, 0);
  assert_int_equal(
      sink_read(reg, "region/sjc", MOQC_DIRECTION_INGRESS, "demo").bytes, 7);
  assert_int_equal(
      sink_read(reg, "region/sjc", MOQC_DIRECTION_EGRESS, "demo").bytes, 0);
  moqc_usage_scope_decref(de);
  moqc_usage_scope_decref(ri);
  moqc_stats_session_decref(d);
  moqc_stats_session_decref(r);
  moqc_stats_registry_decref(reg);
}

static void test_snapshot_rolls_up_by_tier_role_and_sessions(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *a = sess_new(reg, "", "acme");
  moqc_stats_session *b = sess_new(reg, "", "acme");
  moqc_stats_session *r = sess_new(reg, "region/sjc", "acme");
  moqc_usage_scope *s1 =
      moqc_stats_session_scope(a, MOQC_DIRECTION_EGRESS, S("acme/one"));
  moqc_usage_scope *s2 =
      moqc_stats_session_scope(b, MOQC_DIRECTION_EGRESS, S("acme/two"));
  moqc_usage_scope *s3 =
      moqc_stats_session_scope(r, MOQC_DIRECTION_INGRESS, S("acme/one"));
  moqc_usage_add_bytes(moqc_usage_scope_sink(s1), 100);
  moqc_usage_add_bytes(moqc_usage_scope_sink(s2), 50);
  moqc_usage_add_bytes(moqc_usage_scope_sink(s3), 9);
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  /* Sorted: "" publisher, "" subscriber, "region/sjc" publisher, subscriber. */
  assert_int_equal(snap->n_traffic, 4);
  assert_int_equal(snap->traffic[0].tier.len, 0);
  assert_int_equal(snap->traffic[0].dir, MOQC_DIRECTION_EGRESS);
  assert_int_equal(snap->traffic[1].dir, MOQC_DIRECTION_INGRESS);
  assert_true(moqc_str_eq(snap->traffic[2].tier, S("region/sjc")));
  assert_int_equal(snap->traffic[2].dir, MOQC_DIRECTION_EGRESS);
  assert_int_equal(snap->traffic[3].dir, MOQC_DIRECTION_INGRESS);
  assert_int_equal(snap_row(snap, "", MOQC_DIRECTION_EGRESS)->c.bytes, 150);
  assert_int_equal(snap_row(snap, "", MOQC_DIRECTION_INGRESS)->c.bytes, 0);
  assert_int_equal(
      snap_row(snap, "region/sjc", MOQC_DIRECTION_INGRESS)->c.bytes, 9);
  assert_int_equal(snap_row(snap, "region/sjc", MOQC_DIRECTION_EGRESS)->c.bytes,
                   0);
  assert_int_equal(snap->n_sessions, 2);
  assert_int_equal(snap_sessions(snap, "")->sessions, 2);
  assert_int_equal(snap_sessions(snap, "region/sjc")->sessions, 1);
  assert_int_equal(snap_sessions(snap, "region/sjc")->sessions_closed, 0);
  moqc_stats_snapshot_del(snap);
  moqc_usage_scope_decref(s1);
  moqc_usage_scope_decref(s2);
  moqc_usage_scope_decref(s3);
  moqc_stats_session_decref(a);
  moqc_stats_session_decref(b);
  moqc_stats_session_decref(r);
  moqc_stats_registry_decref(reg);
}

static void test_report_returns_detail_and_prunes(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *sc =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_stats_report *rep;

  sub_open(sc);
  moqc_usage_add_bytes(moqc_usage_scope_sink(sc), 42);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 1);
  assert_int_equal(rep_entry(rep, "", "demo")->publisher.subscriptions, 1);
  assert_int_equal(rep_entry(rep, "", "demo")->publisher.bytes, 42);
  moqc_stats_report_del(rep);
  /* Still referenced: the next report keeps it. */
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 1);
  moqc_stats_report_del(rep);
  sub_close(sc);
  moqc_usage_add_bytes(moqc_usage_scope_sink(sc), 8);
  moqc_usage_scope_decref(sc);
  /* Guards gone: the report still returns the final values, then prunes. */
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 1);
  assert_int_equal(rep->entries[0].publisher.subscriptions_closed, 1);
  assert_int_equal(rep->entries[0].publisher.broadcasts, 1);
  assert_int_equal(rep->entries[0].publisher.broadcasts_closed, 1);
  assert_int_equal(rep->entries[0].publisher.bytes, 50);
  moqc_stats_report_del(rep);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 0);
  moqc_stats_report_del(rep);
  /* Snapshot totals survive the reclamation (retired totals). */
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(snap_row(snap, "", MOQC_DIRECTION_EGRESS)->c.bytes, 50);
  assert_int_equal(
      snap_row(snap, "", MOQC_DIRECTION_EGRESS)->c.subscriptions_closed, 1);
  moqc_stats_snapshot_del(snap);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_detail_never_prunes(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_usage *u;
  moqc_stats_report *rep;
  assert_int_equal(
      moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_INGRESS, S("a"), &u),
      0);
  moqc_usage_add_frames(u, 3);
  moqc_usage_decref(u);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
    assert_int_equal(rep->n_entries, 1);
    assert_int_equal(rep->entries[0].subscriber.frames, 3);
    moqc_stats_report_del(rep);
  }
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 1);
  moqc_stats_report_del(rep);
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 0);
  moqc_stats_report_del(rep);
  moqc_stats_registry_decref(reg);
}

static void test_report_keeps_idle_but_referenced_entry(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *sc =
      moqc_stats_session_scope(s, MOQC_DIRECTION_INGRESS, S("demo"));
  moqc_stats_report *rep;
  moqc_usage_open_announce(moqc_usage_scope_sink(sc), 4);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
    assert_int_equal(rep->n_entries, 1);
    assert_int_equal(rep->entries[0].subscriber.announced, 1);
    moqc_stats_report_del(rep);
  }
  moqc_usage_close_announce(moqc_usage_scope_sink(sc), 4);
  moqc_usage_scope_decref(sc);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 1);
  assert_int_equal(rep->entries[0].subscriber.announced_closed, 1);
  assert_int_equal(rep->entries[0].subscriber.announced_bytes, 8);
  moqc_stats_report_del(rep);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_report_prunes_empty_session_roots(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "acme");
  moqc_stats_report *rep;
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_sessions, 1);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions, 1);
  moqc_stats_report_del(rep);
  moqc_stats_session_decref(s);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_sessions, 1);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions_closed, 1);
  moqc_stats_report_del(rep);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_sessions, 0);
  moqc_stats_report_del(rep);
  /* The snapshot still counts the closed session. */
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(snap_sessions(snap, "")->sessions, 1);
  assert_int_equal(snap_sessions(snap, "")->sessions_closed, 1);
  moqc_stats_snapshot_del(snap);
  moqc_stats_registry_decref(reg);
}

static void test_paths_under_exclude_are_no_op(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage *u = (moqc_usage *)1;
  moqc_stats_report *rep;

  assert_true(moqc_stats_registry_excluded(reg, S(".stats")));
  assert_true(moqc_stats_registry_excluded(reg, S(".stats/node/sjc")));
  assert_false(moqc_stats_registry_excluded(reg, S(".statsx")));
  assert_false(moqc_stats_registry_excluded(reg, S("demo/.stats")));
  assert_int_equal(moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_EGRESS,
                                            S(".stats/node"), &u),
                   0);
  assert_null(u);
  assert_null(
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S(".stats/node")));
  assert_null(moqc_stats_session_scope(s, MOQC_DIRECTION_INGRESS, S(".stats")));
  /* A sibling that only shares the text prefix is metered. */
  moqc_usage_scope *sc =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S(".statsx"));
  assert_non_null(sc);
  moqc_usage_scope_decref(sc);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 1);
  assert_true(moqc_str_eq(rep->entries[0].path, S(".statsx")));
  moqc_stats_report_del(rep);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);

  /* Custom exclusions; an explicit empty list excludes nothing. */
  moqc_str ex[] = {S("private"), S("a/b")};
  assert_int_equal(moqc_stats_registry_new(&reg, ex, 2, NULL), 0);
  assert_true(moqc_stats_registry_excluded(reg, S("a/b/c")));
  assert_false(moqc_stats_registry_excluded(reg, S("a/bc")));
  assert_false(moqc_stats_registry_excluded(reg, S(".stats")));
  moqc_stats_registry_decref(reg);
  assert_int_equal(moqc_stats_registry_new(&reg, ex, 0, NULL), 0);
  assert_false(moqc_stats_registry_excluded(reg, S(".stats")));
  moqc_stats_registry_decref(reg);
  moqc_str bad[] = {S("/bad/")};
  assert_int_equal(moqc_stats_registry_new(&reg, bad, 1, NULL),
                   MOQC_ERR_INVALID_ARGUMENT);
}

static void test_disabled_stats_are_noop(void **state) {
  (void)state;
  moqc_stats_registry *reg;
  moqc_stats_session *s;
  moqc_usage *u = (moqc_usage *)1;
  moqc_stats_snapshot *snap;
  moqc_stats_report *rep;

  assert_int_equal(moqc_stats_registry_new_disabled(&reg, NULL), 0);
  assert_false(moqc_stats_registry_enabled(reg));
  assert_int_equal(moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_EGRESS,
                                            S("demo"), &u),
                   0);
  assert_null(u);
  s = sess_new(reg, "", "root");
  assert_null(moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo")));
  assert_null(moqc_usage_ctx_scope(moqc_stats_session_ctx(s),
                                   MOQC_DIRECTION_INGRESS, S("demo")));
  moqc_stats_session_decref(s);
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(snap->n_traffic, 0);
  assert_int_equal(snap->n_sessions, 0);
  moqc_stats_snapshot_del(snap);
  assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
  assert_int_equal(rep->n_entries, 0);
  assert_int_equal(rep->n_sessions, 0);
  moqc_stats_report_del(rep);
  moqc_stats_registry_decref(reg);

  /* A NULL registry behaves the same. */
  assert_false(moqc_stats_registry_enabled(NULL));
  s = sess_new(NULL, "", "");
  assert_null(moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo")));
  moqc_stats_session_decref(s);
  assert_int_equal(moqc_stats_registry_snapshot(NULL, &snap), 0);
  assert_int_equal(snap->n_traffic, 0);
  moqc_stats_snapshot_del(snap);
}

static void test_session_counts_by_root(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *a1 = sess_new(reg, "", "acme");
  moqc_stats_session *a2 = sess_new(reg, "", "acme");
  moqc_stats_session *b1 = sess_new(reg, "", "beta");
  moqc_stats_report *rep;

  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  assert_int_equal(rep->n_sessions, 2);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions, 2);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions_closed, 0);
  assert_int_equal(rep_session(rep, "", "beta")->presence.sessions, 1);
  assert_int_equal(rep_session(rep, "", "beta")->presence.sessions_closed, 0);
  moqc_stats_report_del(rep);
  moqc_stats_session_decref(a1);
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions, 2);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions_closed, 1);
  moqc_stats_report_del(rep);
  moqc_stats_session_decref(a2);
  moqc_stats_session_decref(b1);
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions_closed, 2);
  assert_int_equal(rep_session(rep, "", "beta")->presence.sessions, 1);
  assert_int_equal(rep_session(rep, "", "beta")->presence.sessions_closed, 1);
  moqc_stats_report_del(rep);
  moqc_stats_registry_decref(reg);
}

static void test_context_presence_closes_on_last_clone(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "acme");
  moqc_usage_ctx *ctx = moqc_stats_session_ctx(s);
  moqc_stats_report *rep;

  assert_ptr_equal((void *)ctx, (void *)s);
  moqc_usage_ctx_incref(ctx); /* a clone */
  moqc_usage_scope *sc =
      moqc_usage_ctx_scope(ctx, MOQC_DIRECTION_EGRESS, S("acme/room"));
  assert_non_null(sc);
  moqc_stats_session_decref(s);
  moqc_usage_ctx_decref(
      ctx); /* both clones gone; the scope (a model handle) still holds it */
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions_closed, 0);
  moqc_stats_report_del(rep);
  moqc_usage_scope_decref(sc);
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions, 1);
  assert_int_equal(rep_session(rep, "", "acme")->presence.sessions_closed, 1);
  moqc_stats_report_del(rep);
  moqc_stats_registry_decref(reg);
}

static void test_meter_bumps_the_right_side(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *e =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_scope *i =
      moqc_stats_session_scope(s, MOQC_DIRECTION_INGRESS, S("demo"));
  assert_ptr_not_equal(e, i);
  moqc_usage_add_groups(moqc_usage_scope_sink(e), 1);
  moqc_usage_add_frames(moqc_usage_scope_sink(e), 3);
  moqc_usage_add_bytes(moqc_usage_scope_sink(e), 100);
  moqc_usage_add_groups(moqc_usage_scope_sink(i), 1);
  moqc_usage_add_frames(moqc_usage_scope_sink(i), 1);
  moqc_usage_add_bytes(moqc_usage_scope_sink(i), 7);
  moqc_usage_counters ce = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  moqc_usage_counters ci = sink_read(reg, "", MOQC_DIRECTION_INGRESS, "demo");
  assert_int_equal(ce.groups, 1);
  assert_int_equal(ce.frames, 3);
  assert_int_equal(ce.bytes, 100);
  assert_int_equal(ci.groups, 1);
  assert_int_equal(ci.frames, 1);
  assert_int_equal(ci.bytes, 7);
  moqc_usage_scope_decref(e);
  moqc_usage_scope_decref(i);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_egress_viewers_dedup_per_session(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  /* Two hand-offs of the same broadcast to one session resolve to the same
   * scope. */
  moqc_usage_scope *a =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_scope *b =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  assert_ptr_equal(a, b);
  sub_open(a); /* video */
  sub_open(b); /* audio */
  moqc_usage_counters c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.subscriptions, 2);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(c.broadcasts_closed, 0);
  sub_close(a);
  c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.subscriptions_closed, 1);
  assert_int_equal(c.broadcasts_closed, 0);
  sub_close(b);
  c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.subscriptions_closed, 2);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(c.broadcasts_closed, 1);
  /* A new subscription later is a new viewer (cumulative). */
  sub_open(a);
  sub_close(a);
  c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.broadcasts, 2);
  assert_int_equal(c.broadcasts_closed, 2);
  /* Another path of the same session is another viewer. */
  moqc_usage_scope *o =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("other"));
  sub_open(o);
  assert_int_equal(
      sink_read(reg, "", MOQC_DIRECTION_EGRESS, "other").broadcasts, 1);
  /* A scope released with a viewer still open closes it, so the pair stays
   * balanced. */
  moqc_usage_scope_decref(o);
  c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "other");
  assert_int_equal(c.broadcasts_closed, 1);
  moqc_usage_scope_decref(a);
  moqc_usage_scope_decref(b);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_distinct_contexts_are_distinct_viewers(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s1 = sess_new(reg, "", "");
  moqc_stats_session *s2 = sess_new(reg, "", "");
  moqc_usage_scope *a =
      moqc_stats_session_scope(s1, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_scope *b =
      moqc_stats_session_scope(s2, MOQC_DIRECTION_EGRESS, S("demo"));
  assert_ptr_not_equal(a, b);
  assert_ptr_equal(moqc_usage_scope_sink(a), moqc_usage_scope_sink(b));
  sub_open(a);
  sub_open(b);
  moqc_usage_counters c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.broadcasts, 2);
  assert_int_equal(c.subscriptions, 2);
  sub_close(a);
  sub_close(b);
  c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.broadcasts_closed, 2);
  moqc_usage_scope_decref(a);
  moqc_usage_scope_decref(b);
  moqc_stats_session_decref(s1);
  moqc_stats_session_decref(s2);
  moqc_stats_registry_decref(reg);
}

static void test_ingress_subscription_has_no_viewer(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *i =
      moqc_stats_session_scope(s, MOQC_DIRECTION_INGRESS, S("demo"));
  sub_open(i);
  moqc_usage_counters c = sink_read(reg, "", MOQC_DIRECTION_INGRESS, "demo");
  assert_int_equal(c.subscriptions, 1);
  assert_int_equal(c.broadcasts, 0);
  sub_close(i);
  c = sink_read(reg, "", MOQC_DIRECTION_INGRESS, "demo");
  assert_int_equal(c.subscriptions_closed, 1);
  assert_int_equal(c.broadcasts_closed, 0);
  moqc_usage_scope_decref(i);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_fetch_counts_separately_from_subscriptions(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *e =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  sub_open(e);
  moqc_usage_add_fetch(moqc_usage_scope_sink(e));
  moqc_usage_counters c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.fetches, 1);
  assert_int_equal(c.subscriptions, 1);
  assert_int_equal(c.broadcasts, 1);
  assert_int_equal(sink_read(reg, "", MOQC_DIRECTION_INGRESS, "demo").fetches,
                   0);
  sub_close(e);
  moqc_usage_scope_decref(e);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

static void test_announce_records_bytes_on_open_and_close(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *e =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
  moqc_usage_open_announce(moqc_usage_scope_sink(e), e->path.len);
  moqc_usage_counters c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.announced, 1);
  assert_int_equal(c.announced_bytes, 4);
  moqc_usage_close_announce(moqc_usage_scope_sink(e), e->path.len);
  c = sink_read(reg, "", MOQC_DIRECTION_EGRESS, "demo");
  assert_int_equal(c.announced_closed, 1);
  assert_int_equal(c.announced_bytes, 8);
  assert_int_equal(c.broadcasts, 0);
  moqc_usage_scope_decref(e);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

/* Keep writing through one scope across many report cycles, dropping and
 * re-resolving the scope now and then so entries get reclaimed and recreated:
 * the reported values, summed across resets, equal what was written. */
static void test_reclamation_never_loses_a_bump(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_stats_session *s = sess_new(reg, "", "");
  moqc_usage_scope *sc = NULL;
  uint64_t written = 0, reported = 0, last = 0;
  int reclaims = 0;

  for (int cycle = 0; cycle < 500; cycle++) {
    if (sc == NULL) {
      sc = moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("demo"));
    }
    for (int k = 0; k <= cycle % 7; k++) {
      moqc_usage_add_bytes(moqc_usage_scope_sink(sc),
                           (uint64_t)(cycle + k + 1));
      written += (uint64_t)(cycle + k + 1);
    }
    if (cycle % 3 == 0) {
      moqc_usage_scope_decref(sc); /* the entry becomes reclaimable */
      sc = NULL;
    }
    moqc_stats_report *rep;
    assert_int_equal(moqc_stats_registry_report(reg, &rep), 0);
    const moqc_stats_traffic_entry *t = rep_entry(rep, "", "demo");
    uint64_t now = t != NULL ? t->publisher.bytes : 0;
    if (t != NULL) {
      if (now < last) { /* a new segment after a reclaim */
        last = 0;
      }
      reported += now - last;
      last = now;
      assert_int_equal(t->reclaimed, sc == NULL);
      if (t->reclaimed) {
        last = 0; /* final values: the next entry starts a new segment */
        reclaims++;
      }
    }
    moqc_stats_report_del(rep);
    assert_int_equal(reported, written);
  }
  assert_true(reclaims > 100);
  moqc_usage_scope_decref(sc);
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(snap_row(snap, "", MOQC_DIRECTION_EGRESS)->c.bytes, written);
  moqc_stats_snapshot_del(snap);
  moqc_stats_session_decref(s);
  moqc_stats_registry_decref(reg);
}

/* A registry freed before the sinks and sessions that use it leaves them valid.
 */
static void test_registry_outlived_by_handles(void **state) {
  (void)state;
  moqc_stats_registry *reg = reg_new();
  moqc_usage *u;
  assert_int_equal(
      moqc_stats_registry_sink(reg, S(""), MOQC_DIRECTION_EGRESS, S("x"), &u),
      0);
  moqc_stats_session *s = sess_new(reg, "t", "r");
  moqc_usage_scope *sc =
      moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("x"));
  moqc_stats_registry_decref(reg); /* the session still references it */
  moqc_usage_add_bytes(u, 1);
  sub_open(sc);
  sub_close(sc);
  moqc_usage_scope_decref(sc);
  moqc_stats_session_decref(s);
  moqc_usage_add_bytes(u, 1);
  moqc_usage_counters c;
  moqc_usage_read(u, &c);
  assert_int_equal(c.bytes, 2);
  moqc_usage_decref(u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_tier_has_empty_label),
      cmocka_unit_test(test_default_and_named_tiers_are_independent),
      cmocka_unit_test(test_snapshot_rolls_up_by_tier_role_and_sessions),
      cmocka_unit_test(test_report_returns_detail_and_prunes),
      cmocka_unit_test(test_detail_never_prunes),
      cmocka_unit_test(test_report_keeps_idle_but_referenced_entry),
      cmocka_unit_test(test_report_prunes_empty_session_roots),
      cmocka_unit_test(test_paths_under_exclude_are_no_op),
      cmocka_unit_test(test_disabled_stats_are_noop),
      cmocka_unit_test(test_session_counts_by_root),
      cmocka_unit_test(test_context_presence_closes_on_last_clone),
      cmocka_unit_test(test_meter_bumps_the_right_side),
      cmocka_unit_test(test_egress_viewers_dedup_per_session),
      cmocka_unit_test(test_distinct_contexts_are_distinct_viewers),
      cmocka_unit_test(test_ingress_subscription_has_no_viewer),
      cmocka_unit_test(test_fetch_counts_separately_from_subscriptions),
      cmocka_unit_test(test_announce_records_bytes_on_open_and_close),
      cmocka_unit_test(test_reclamation_never_loses_a_bump),
      cmocka_unit_test(test_registry_outlived_by_handles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
