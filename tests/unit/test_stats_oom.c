/*
 * Out-of-memory behaviour of the stats layer: every allocation failure returns
 * MOQC_ERR_NOMEM, leaks nothing (ASan), a failed report reclaims nothing, and a
 * failed drain leaves the emitter exactly as it was.
 */
#include "test_failing_mem.h"

#include <moqc/moqc.h>

#define S(x) moqc_str_c(x)

static void populate(moqc_stats_registry *reg) {
  const char *tiers[] = {"", "region/sjc"};
  for (int t = 0; t < 2; t++) {
    for (int p = 0; p < 5; p++) {
      char path[32];
      moqc_usage *u;
      snprintf(path, sizeof(path), "room/%d", p);
      assert_int_equal(moqc_stats_registry_sink(reg, S(tiers[t]),
                                                (moqc_direction)(p % 2),
                                                S(path), &u),
                       0);
      moqc_usage_add_bytes(u, (uint64_t)(10 * p + t + 1));
      moqc_usage_decref(u); /* reclaimable */
    }
  }
}

static void test_oom_registry_and_sessions(void **state) {
  (void)state;
  for (long n = 1; n < 40; n++) {
    moqc_stats_registry *reg = NULL;
    moqc_stats_session *s = NULL;
    moqc_usage *u = NULL;
    fail_at(n);
    int rv = moqc_stats_registry_new(&reg, NULL, 0, &fail_mem);
    if (rv == 0) {
      rv = moqc_stats_registry_sink(reg, S("t"), MOQC_DIRECTION_EGRESS,
                                    S("a/b"), &u);
    }
    if (rv == 0) {
      rv = moqc_stats_session_new(&s, reg, S("t"), S("root"));
    }
    moqc_usage_scope *sc = NULL;
    if (rv == 0) {
      sc = moqc_stats_session_scope(s, MOQC_DIRECTION_INGRESS, S("a/c"));
      rv = sc == NULL ? MOQC_ERR_NOMEM : 0;
    }
    moqc_stats_snapshot *snap = NULL;
    if (rv == 0) {
      rv = moqc_stats_registry_snapshot(reg, &snap);
    }
    if (rv != 0) {
      assert_int_equal(rv, MOQC_ERR_NOMEM);
    }
    fail_at(0);
    moqc_stats_snapshot_del(snap);
    moqc_usage_scope_decref(sc);
    moqc_stats_session_decref(s);
    moqc_usage_decref(u);
    moqc_stats_registry_decref(reg);
    if (rv == 0) {
      assert_true(n > 8); /* every failure point before success was exercised */
      return;
    }
  }
  fail();
}

static void test_oom_report_reclaims_nothing(void **state) {
  (void)state;
  bool succeeded = false;
  for (long n = 1; n < 40 && !succeeded; n++) {
    moqc_stats_registry *reg;
    moqc_stats_report *rep = NULL;
    fail_at(0);
    assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, &fail_mem), 0);
    populate(reg);
    fail_at(n);
    int rv = moqc_stats_registry_report(reg, &rep);
    fail_at(0);
    if (rv == 0) {
      assert_int_equal(rep->n_entries, 10);
      assert_true(n > 2); /* the failures came first */
      succeeded = true;
    } else {
      assert_int_equal(rv, MOQC_ERR_NOMEM);
    }
    moqc_stats_report_del(rep);
    /* After a failure everything is still there; after success everything was
     * reclaimed. */
    assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
    assert_int_equal(rep->n_entries, succeeded ? 0 : 10);
    moqc_stats_report_del(rep);
    moqc_stats_registry_decref(reg);
  }
  assert_true(succeeded);
}

typedef struct emitted {
  char text[8192];
} emitted;

/* Serializes an emission (tracks, write flags, documents) for comparison. */
static void emission_text(const moqc_stats_emission *em, emitted *out) {
  size_t off = 0;
  out->text[0] = '\0';
  for (size_t i = 0; i < em->n_frames; i++) {
    off += (size_t)snprintf(out->text + off, sizeof(out->text) - off,
                            "%s|%d|%s\n", em->frames[i].track.ptr,
                            em->frames[i].write, em->frames[i].json.ptr);
    assert_true(off < sizeof(out->text));
  }
}

static void test_oom_drain_leaves_emitter_unchanged(void **state) {
  (void)state;
  moqc_stats_registry *reg;
  moqc_stats_report *r1, *r2, *r3;
  moqc_stats_emission *em;
  emitted want2, want3, got;

  fail_at(0);
  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  populate(reg);
  assert_int_equal(moqc_stats_registry_report(reg, &r1),
                   0); /* reclaims everything */
  moqc_usage *u;
  assert_int_equal(moqc_stats_registry_sink(reg, S("edge"),
                                            MOQC_DIRECTION_EGRESS, S("x"), &u),
                   0);
  moqc_usage_open_subscription(u);
  assert_int_equal(moqc_stats_registry_report(reg, &r2), 0);
  moqc_usage_close_subscription(u);
  assert_int_equal(moqc_stats_registry_report(reg, &r3), 0);

  /* Control run. */
  moqc_stats_emitter *e;
  assert_int_equal(moqc_stats_emitter_new(&e, NULL), 0);
  assert_int_equal(moqc_stats_emitter_drain(e, r1, &em), 0);
  moqc_stats_emission_del(em);
  assert_int_equal(moqc_stats_emitter_drain(e, r2, &em), 0);
  emission_text(em, &want2);
  moqc_stats_emission_del(em);
  assert_int_equal(moqc_stats_emitter_drain(e, r3, &em), 0);
  emission_text(em, &want3);
  moqc_stats_emission_del(em);
  moqc_stats_emitter_del(e);

  /* Fail the second drain at every allocation in turn; retrying must give the
   * control output, and so must the drain after it. */
  bool succeeded = false;
  for (long n = 1; n < 500 && !succeeded; n++) {
    fail_at(0);
    assert_int_equal(moqc_stats_emitter_new(&e, &fail_mem), 0);
    assert_int_equal(moqc_stats_emitter_drain(e, r1, &em), 0);
    moqc_stats_emission_del(em);
    fail_at(n);
    int rv = moqc_stats_emitter_drain(e, r2, &em);
    fail_at(0);
    if (rv == 0) {
      assert_true(n > 10); /* the failures came first */
      succeeded = true;
    } else {
      assert_int_equal(rv, MOQC_ERR_NOMEM);
      assert_int_equal(moqc_stats_emitter_drain(e, r2, &em), 0);
    }
    emission_text(em, &got);
    assert_string_equal(got.text, want2.text);
    moqc_stats_emission_del(em);
    assert_int_equal(moqc_stats_emitter_drain(e, r3, &em), 0);
    emission_text(em, &got);
    assert_string_equal(got.text, want3.text);
    moqc_stats_emission_del(em);
    moqc_stats_emitter_del(e);
  }
  assert_true(succeeded);
  moqc_stats_report_del(r1);
  moqc_stats_report_del(r2);
  moqc_stats_report_del(r3);
  moqc_usage_decref(u);
  moqc_stats_registry_decref(reg);
}

static void test_oom_exports(void **state) {
  (void)state;
  moqc_stats_registry *reg;
  moqc_stats_snapshot *snap;
  moqc_stats_report *rep;
  char *out = NULL;
  size_t len;

  fail_at(0);
  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  populate(reg);
  assert_int_equal(moqc_stats_registry_snapshot(reg, &snap), 0);
  assert_int_equal(moqc_stats_registry_detail(reg, &rep), 0);
  fail_at(1);
  assert_int_equal(moqc_stats_prometheus_alloc(snap, &fail_mem, &out, &len),
                   MOQC_ERR_NOMEM);
  fail_at(1);
  assert_int_equal(moqc_stats_json_alloc(rep, &fail_mem, &out, &len),
                   MOQC_ERR_NOMEM);
  fail_at(0);
  moqc_stats_snapshot_del(snap);
  moqc_stats_report_del(rep);
  moqc_stats_registry_decref(reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_oom_registry_and_sessions),
      cmocka_unit_test(test_oom_report_reclaims_nothing),
      cmocka_unit_test(test_oom_drain_leaves_emitter_unchanged),
      cmocka_unit_test(test_oom_exports),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
