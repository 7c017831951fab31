/*
 * Threaded usage and stats tests (also run under ThreadSanitizer): readouts
 * under concurrent writers never show closed > open, viewer refcounts stay
 * paired, and reclamation under a concurrent reporter never loses a bump.
 *
 * The closed-before-open load order is what these tests check: a writer that
 * bumps open then closed, read by a reader that loaded open first, shows closed
 * > open even on x86.
 */
#include "testutil.h"

#include <moqc/moqc.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define S(x) moqc_str_c(x)

#define WRITER_ROUNDS 20000

typedef struct shared {
  moqc_stats_registry *reg;
  moqc_usage *sink;
  moqc_stats_session *session;
  atomic_bool stop;
  atomic_int writers_left;
  atomic_ulong reads;
  atomic_ulong written;
  atomic_int readers_ready; /* readers that have read once */
  int readers;              /* how many readers the writers wait for */
} shared;

/* Writers start once every reader is running, so reads overlap writes even on a
 * busy machine. */
static void wait_readers(shared *sh) {
  while (atomic_load(&sh->readers_ready) < sh->readers) {
    sched_yield();
  }
}

static void reader_ready(shared *sh, bool *first) {
  if (*first) {
    *first = false;
    atomic_fetch_add(&sh->readers_ready, 1);
  }
}

/* Violations seen by reader threads (cmocka asserts belong on the main thread).
 */
static atomic_ulong violations;

static void check_pairs(const moqc_usage_counters *c) {
  if (c->subscriptions_closed > c->subscriptions ||
      c->broadcasts_closed > c->broadcasts ||
      c->announced_closed > c->announced) {
    atomic_fetch_add(&violations, 1);
  }
}

static void check_presence(moqc_stats_presence p) {
  if (p.sessions_closed > p.sessions) {
    atomic_fetch_add(&violations, 1);
  }
}

/* ---- sink readout order ---- */

static void *sink_writer(void *arg) {
  shared *sh = arg;
  wait_readers(sh);
  for (int i = 0; i < WRITER_ROUNDS; i++) {
    moqc_usage_open_subscription(sh->sink);
    moqc_usage_open_broadcast(sh->sink);
    moqc_usage_open_announce(sh->sink, 3);
    moqc_usage_add_bytes(sh->sink, 10);
    moqc_usage_close_announce(sh->sink, 3);
    moqc_usage_close_broadcast(sh->sink);
    moqc_usage_close_subscription(sh->sink);
  }
  atomic_fetch_sub(&sh->writers_left, 1);
  return NULL;
}

static void *sink_reader(void *arg) {
  shared *sh = arg;
  bool first = true;
  do {
    moqc_usage_counters c;
    moqc_usage_read(sh->sink, &c);
    check_pairs(&c);
    atomic_fetch_add(&sh->reads, 1);
    reader_ready(sh, &first);
  } while (atomic_load(&sh->writers_left) > 0);
  return NULL;
}

static void test_mt_sink_never_closed_above_open(void **state) {
  (void)state;
  shared sh = {0};
  pthread_t w[2], r[2];
  assert_int_equal(moqc_usage_new(&sh.sink, NULL), 0);
  atomic_init(&sh.writers_left, 2);
  sh.readers = 2;
  for (int i = 0; i < 2; i++) {
    pthread_create(&w[i], NULL, sink_writer, &sh);
    pthread_create(&r[i], NULL, sink_reader, &sh);
  }
  for (int i = 0; i < 2; i++) {
    pthread_join(w[i], NULL);
    pthread_join(r[i], NULL);
  }
  moqc_usage_counters c;
  moqc_usage_read(sh.sink, &c);
  assert_int_equal(c.subscriptions, 2 * WRITER_ROUNDS);
  assert_int_equal(c.subscriptions_closed, 2 * WRITER_ROUNDS);
  assert_int_equal(c.broadcasts_closed, 2 * WRITER_ROUNDS);
  assert_int_equal(c.announced_bytes, 2 * 6 * WRITER_ROUNDS);
  assert_int_equal(c.bytes, 2 * 10 * WRITER_ROUNDS);
  assert_true(atomic_load(&sh.reads) > 0);
  assert_int_equal(atomic_load(&violations), 0);
  moqc_usage_decref(sh.sink);
}

/* ---- viewers and presence through sessions, read by snapshots and reports
 * ---- */

static void *session_writer(void *arg) {
  shared *sh = arg;
  wait_readers(sh);
  for (int i = 0; i < WRITER_ROUNDS / 10; i++) {
    /* A short session: presence, a scope, two subscriptions (one viewer),
     * traffic. */
    moqc_stats_session *s;
    if (moqc_stats_session_new(&s, sh->reg, S(""), S("acme")) != 0) {
      atomic_fetch_add(&violations, 1);
      break;
    }
    moqc_usage_scope *sc =
        moqc_stats_session_scope(s, MOQC_DIRECTION_EGRESS, S("acme/room"));
    for (int k = 0; k < 2; k++) {
      moqc_usage_open_subscription(sc->sink);
      moqc_usage_scope_viewer_open(sc);
    }
    moqc_usage_add_bytes(sc->sink, 1);
    for (int k = 0; k < 2; k++) {
      moqc_usage_close_subscription(sc->sink);
      moqc_usage_scope_viewer_close(sc);
    }
    /* The shared long-lived session's scope too: same path, another viewer. */
    moqc_usage_scope *shared_sc = moqc_stats_session_scope(
        sh->session, MOQC_DIRECTION_EGRESS, S("acme/room"));
    moqc_usage_scope_viewer_open(shared_sc);
    moqc_usage_add_bytes(shared_sc->sink, 1);
    moqc_usage_scope_viewer_close(shared_sc);
    moqc_usage_scope_decref(shared_sc);
    moqc_usage_scope_decref(sc);
    moqc_stats_session_decref(s);
  }
  atomic_fetch_sub(&sh->writers_left, 1);
  return NULL;
}

static void *snapshot_reader(void *arg) {
  shared *sh = arg;
  bool first = true;
  do {
    moqc_stats_snapshot *snap;
    if (moqc_stats_registry_snapshot(sh->reg, &snap) != 0) {
      atomic_fetch_add(&violations, 1);
      continue;
    }
    for (size_t i = 0; i < snap->n_traffic; i++) {
      check_pairs(&snap->traffic[i].c);
    }
    for (size_t i = 0; i < snap->n_sessions; i++) {
      check_presence(snap->sessions[i].p);
    }
    moqc_stats_snapshot_del(snap);
    atomic_fetch_add(&sh->reads, 1);
    reader_ready(sh, &first);
  } while (atomic_load(&sh->writers_left) > 0);
  return NULL;
}

static void *report_reader(void *arg) {
  shared *sh = arg;
  bool first = true;
  do {
    moqc_stats_report *rep;
    if (moqc_stats_registry_report(sh->reg, &rep) != 0) {
      atomic_fetch_add(&violations, 1);
      continue;
    }
    for (size_t i = 0; i < rep->n_entries; i++) {
      check_pairs(&rep->entries[i].publisher);
      check_pairs(&rep->entries[i].subscriber);
    }
    for (size_t i = 0; i < rep->n_sessions; i++) {
      check_presence(rep->sessions[i].presence);
    }
    moqc_stats_report_del(rep);
    atomic_fetch_add(&sh->reads, 1);
    reader_ready(sh, &first);
  } while (atomic_load(&sh->writers_left) > 0);
  return NULL;
}

static void test_mt_sessions_snapshot_and_report(void **state) {
  (void)state;
  shared sh = {0};
  pthread_t w[2], r[2];
  assert_int_equal(moqc_stats_registry_new(&sh.reg, NULL, 0, NULL), 0);
  assert_int_equal(
      moqc_stats_session_new(&sh.session, sh.reg, S(""), S("main")), 0);
  atomic_init(&sh.writers_left, 2);
  sh.readers = 2;
  for (int i = 0; i < 2; i++) {
    pthread_create(&w[i], NULL, session_writer, &sh);
  }
  pthread_create(&r[0], NULL, snapshot_reader, &sh);
  pthread_create(&r[1], NULL, report_reader, &sh);
  for (int i = 0; i < 2; i++) {
    pthread_join(w[i], NULL);
    pthread_join(r[i], NULL);
  }
  moqc_stats_session_decref(sh.session);
  /* Totals are exact whatever the reporter reclaimed meanwhile (retired
   * totals). */
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(sh.reg, &snap), 0);
  assert_int_equal(snap->n_traffic, 2);
  const moqc_usage_counters *c = &snap->traffic[0].c;
  uint64_t rounds = 2 * (WRITER_ROUNDS / 10);
  assert_int_equal(c->subscriptions, 2 * rounds);
  assert_int_equal(c->subscriptions_closed, 2 * rounds);
  assert_int_equal(c->bytes, 2 * rounds);
  /* One viewer per short session round; the shared session's viewers are
   * between 1 and rounds (two threads may overlap on it). */
  assert_true(c->broadcasts >= rounds + 1 && c->broadcasts <= 2 * rounds);
  assert_int_equal(c->broadcasts, c->broadcasts_closed);
  assert_int_equal(snap->n_sessions, 1);
  assert_int_equal(snap->sessions[0].p.sessions, rounds + 1);
  assert_int_equal(snap->sessions[0].p.sessions_closed, rounds + 1);
  moqc_stats_snapshot_del(snap);
  assert_true(atomic_load(&sh.reads) > 0);
  assert_int_equal(atomic_load(&violations), 0);
  moqc_stats_registry_decref(sh.reg);
}

/* ---- reclamation under a concurrent reporter ---- */

static void *reclaim_writer(void *arg) {
  shared *sh = arg;
  wait_readers(sh);
  moqc_usage_scope *sc = NULL;
  for (int i = 0; i < WRITER_ROUNDS; i++) {
    if (sc == NULL) {
      sc = moqc_stats_session_scope(sh->session, MOQC_DIRECTION_INGRESS,
                                    S("demo"));
    }
    uint64_t n = (uint64_t)(i % 13) + 1;
    moqc_usage_add_bytes(sc->sink, n);
    atomic_fetch_add(&sh->written, n);
    if (i % 17 == 0) {
      moqc_usage_scope_decref(sc);
      sc = NULL;
    }
  }
  moqc_usage_scope_decref(sc);
  atomic_fetch_sub(&sh->writers_left, 1);
  return NULL;
}

/* Sums reported bytes across segments: an entry's value grows until a report
 * marks it reclaimed; the next entry for the path starts again from zero. */
typedef struct reporter {
  shared *sh;
  uint64_t last;
  uint64_t total;
  unsigned reclaims;
} reporter;

static void reporter_step(reporter *rp) {
  moqc_stats_report *rep;
  if (moqc_stats_registry_report(rp->sh->reg, &rep) != 0) {
    atomic_fetch_add(&violations, 1);
    return;
  }
  for (size_t i = 0; i < rep->n_entries; i++) {
    uint64_t now = rep->entries[i].subscriber.bytes;
    if (now < rp->last) {
      atomic_fetch_add(&violations, 1);
    }
    rp->total += now - rp->last;
    rp->last = now;
    if (rep->entries[i].reclaimed) {
      rp->last = 0;
      rp->reclaims++;
    }
  }
  moqc_stats_report_del(rep);
}

static void *reclaim_reporter(void *arg) {
  reporter *rp = arg;
  bool first = true;
  do {
    reporter_step(rp);
    reader_ready(rp->sh, &first);
  } while (atomic_load(&rp->sh->writers_left) > 0);
  return NULL;
}

static void test_mt_reclamation_never_loses_a_bump(void **state) {
  (void)state;
  shared sh = {0};
  reporter rp = {.sh = &sh};
  pthread_t w, r;
  assert_int_equal(moqc_stats_registry_new(&sh.reg, NULL, 0, NULL), 0);
  assert_int_equal(moqc_stats_session_new(&sh.session, sh.reg, S(""), S("")),
                   0);
  atomic_init(&sh.writers_left, 1);
  sh.readers = 1;
  pthread_create(&w, NULL, reclaim_writer, &sh);
  pthread_create(&r, NULL, reclaim_reporter, &rp);
  pthread_join(w, NULL);
  pthread_join(r, NULL);
  reporter_step(&rp); /* the final values */
  reporter_step(&rp);
  assert_int_equal(atomic_load(&violations), 0);
  assert_int_equal(rp.total, atomic_load(&sh.written));
  assert_true(rp.reclaims > 0);
  moqc_stats_session_decref(sh.session);
  moqc_stats_snapshot *snap;
  assert_int_equal(moqc_stats_registry_snapshot(sh.reg, &snap), 0);
  assert_int_equal(snap->traffic[1].c.bytes, atomic_load(&sh.written));
  moqc_stats_snapshot_del(snap);
  moqc_stats_registry_decref(sh.reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mt_sink_never_closed_above_open),
      cmocka_unit_test(test_mt_sessions_snapshot_and_report),
      cmocka_unit_test(test_mt_reclamation_never_loses_a_bump),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
