/*
 * Session write scheduling (lib/session/sess_stream.c): the ready heap, the per-stream write
 * cursor, the stream id map and the chunk pool. A random sequence of queue / write / ack / block /
 * unblock / priority change / reset / remove steps runs on a session over a stub transport; after
 * every step the stream writev picks is compared with a brute-force scan of every stream using
 * the scheduling order as it was before the ready heap (kept here as the reference), the bytes
 * offered are checked against what was queued, and the tables' invariants are checked.
 */
#include "testutil.h"

#include <moqc/moqc.h>
#include <moqc/session.h>

#include "session/session_int.h"
#include "session_sched_ref.h"

/* ---- Stub transport ---------------------------------------------------------------------------- */

typedef struct stub_tp {
  int64_t next_uni;
  size_t resumes;
  size_t resets;
} stub_tp;

static int stub_open(void *ud, bool uni, moqc_stream_id *id) {
  stub_tp *t = ud;
  (void)uni;
  *id = t->next_uni;
  t->next_uni += 4;
  return 0;
}
static void stub_resume(void *ud, moqc_stream_id id) {
  (void)id;
  ((stub_tp *)ud)->resumes++;
}
static int stub_reset(void *ud, moqc_stream_id id, uint64_t code) {
  (void)id;
  (void)code;
  ((stub_tp *)ud)->resets++;
  return 0;
}
static int stub_stop(void *ud, moqc_stream_id id, uint64_t code) {
  (void)ud;
  (void)id;
  (void)code;
  return 0;
}
static int stub_dgram(void *ud, const uint8_t *data, size_t len) {
  (void)ud;
  (void)data;
  (void)len;
  return 0;
}
static void stub_close(void *ud, uint64_t code, const char *reason, size_t len) {
  (void)ud;
  (void)code;
  (void)reason;
  (void)len;
}
static void stub_wake(void *ud) { (void)ud; }

static const moqc_transport_ops stub_ops = {
    .open_stream = stub_open,
    .resume_stream = stub_resume,
    .reset_stream = stub_reset,
    .stop_sending = stub_stop,
    .send_datagram = stub_dgram,
    .close = stub_close,
    .wake = stub_wake,
};

static moqc_session *stub_session(stub_tp *t) {
  memset(t, 0, sizeof(*t));
  t->next_uni = 2;
  moqc_transport tp = {.ops = &stub_ops, .user_data = t};
  moqc_session *s = NULL;
  assert_int_equal(moqc_session_new(&s, NULL, &tp, NULL, NULL, NULL), 0);
  return s;
}

/* ---- The reference: the scan writev did before the ready heap -------------------------------- */

static sess_stream *ref_scan(moqc_session *s) {
  sess_stream *best = NULL;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    if (ref_wants_write(st) && (best == NULL || ref_before(st, best))) {
      best = st;
    }
  }
  return best;
}

/*
 * The old order is a strict total order over a set of streams unless two group streams of equal
 * subscriber and publisher priority differ in `ordered` (their sequence directions disagree, and
 * the old scan's pick then depended on the table's order). True when the wanting streams hold
 * such a pair.
 */
static bool ref_mixed(moqc_session *s) {
  for (size_t i = 0; i < s->nstreams; i++) {
    const sess_stream *a = s->streams[i];
    if (!ref_wants_write(a) || a->sclass != SESS_CLASS_GROUP) {
      continue;
    }
    for (size_t j = i + 1; j < s->nstreams; j++) {
      const sess_stream *b = s->streams[j];
      if (ref_wants_write(b) && b->sclass == SESS_CLASS_GROUP &&
          a->sub_priority == b->sub_priority && a->pub_priority == b->pub_priority &&
          a->ordered != b->ordered) {
        return true;
      }
    }
  }
  return false;
}

/* The documented order for that case: the ordered stream goes first. */
static bool ref_before_total(const sess_stream *a, const sess_stream *b) {
  if (a->sclass == SESS_CLASS_GROUP && b->sclass == SESS_CLASS_GROUP &&
      a->sub_priority == b->sub_priority && a->pub_priority == b->pub_priority &&
      a->ordered != b->ordered) {
    return a->ordered;
  }
  return ref_before(a, b);
}

static sess_stream *ref_scan_total(moqc_session *s) {
  sess_stream *best = NULL;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    if (ref_wants_write(st) && (best == NULL || ref_before_total(st, best))) {
      best = st;
    }
  }
  return best;
}

/* ---- Invariants -------------------------------------------------------------------------------- */

static void check_tables(moqc_session *s) {
  size_t wanting = 0;
  for (size_t i = 0; i < s->nstreams; i++) {
    sess_stream *st = s->streams[i];
    assert_int_equal(st->idx, i);
    s->last_found = NULL; /* exercise the map, not the cache */
    assert_ptr_equal(moqc__sess_find(s, st->id), st);
    if (ref_wants_write(st)) {
      wanting++;
      assert_int_not_equal(st->ready_pos, 0);
      assert_ptr_equal(s->wready[st->ready_pos - 1], st);
    } else {
      assert_int_equal(st->ready_pos, 0);
    }
    if (st->send_done) {
      /* Reset: nothing more is written; what was written waits for its acknowledgement. */
      assert_null(st->wcur);
      continue;
    }
    /* The write cursor is the chunk holding byte `written`. */
    uint64_t off = st->head_off;
    const sess_chunk *c = st->head;
    while (c != NULL && off + c->len <= st->written) {
      off += c->len;
      c = c->next;
    }
    assert_ptr_equal(st->wcur, c);
    if (c != NULL) {
      assert_true(st->wcur_off == off);
    } else {
      assert_true(st->send_done || st->written == st->queued);
    }
  }
  assert_int_equal(s->nready, wanting);
  for (size_t i = 1; i < s->nready; i++) {
    assert_false(ref_before_total(s->wready[i], s->wready[(i - 1) / 2]));
  }
  assert_true(s->chunk_pool_n <= 32);
  /* Spare chunk headers are kept only while some stream holds a chunk. */
  size_t held = 0;
  for (size_t i = 0; i < s->nstreams; i++) {
    for (const sess_chunk *c = s->streams[i]->head; c != NULL; c = c->next) {
      held++;
    }
  }
  assert_int_equal(s->chunks_live, held);
  if (held == 0) {
    assert_int_equal(s->chunk_pool_n, 0);
  }
}

/* ---- The random walk --------------------------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

static uint8_t pattern(moqc_stream_id id, uint64_t off) {
  return (uint8_t)((uint64_t)id * 7u + off * 13u + (off >> 8));
}

typedef struct sub_prefs {
  uint8_t priority;
  bool ordered;
} sub_prefs;

#define NSUBS 3
#define MAX_STREAMS 40

typedef struct walk_stats {
  size_t steps;
  size_t exact;   /* picks compared with the old scan */
  size_t mixed;   /* picks compared with the documented order (mixed ordered flags) */
  size_t none;    /* nothing to write */
  size_t contended; /* picks among 3 or more wanting streams */
  size_t bytes;   /* bytes written */
} walk_stats;

/* Subscription of a group stream (the test's own record, by position in a side table). */
typedef struct track_rec {
  moqc_stream_id id;
  int sub;
} track_rec;

static track_rec recs[100000];
static size_t nrecs;

static int rec_sub(moqc_stream_id id) {
  for (size_t i = 0; i < nrecs; i++) {
    if (recs[i].id == id) {
      return recs[i].sub;
    }
  }
  return -1;
}

static sess_stream *pick_stream(moqc_session *s) {
  return s->nstreams ? s->streams[rnd((uint32_t)s->nstreams)] : NULL;
}

static void queue_some(moqc_session *s, sess_stream *st, bool as_buf) {
  size_t len = 1 + rnd(rnd(2) == 0 ? 3000 : 40);
  uint8_t tmp[3100];
  for (size_t i = 0; i < len; i++) {
    tmp[i] = pattern(st->id, st->queued + i);
  }
  if (!as_buf) {
    assert_int_equal(moqc__sess_queue_copy(s, st, tmp, len), 0);
    return;
  }
  size_t pad = rnd(8);
  moqc_rcbuf *b;
  assert_int_equal(moqc_rcbuf_new(&b, len + pad, NULL), 0);
  memcpy(moqc_rcbuf_data_mut(b) + pad, tmp, len);
  assert_int_equal(moqc__sess_queue_buf(s, st, b, pad, len), 0);
  moqc_rcbuf_decref(b);
}

/* Checks writev's pick and ranges; when take, reports some of them written. */
static void step_write(moqc_session *s, walk_stats *ws, bool take_some) {
  moqc_vec vec[4];
  moqc_stream_id id;
  bool fin;
  size_t veccnt = 1 + rnd(4);
  moqc_ssize n = moqc_session_writev_stream(s, &id, &fin, vec, veccnt, 0);
  assert_true(n >= 0);
  size_t wanting = 0;
  for (size_t i = 0; i < s->nstreams; i++) {
    wanting += ref_wants_write(s->streams[i]);
  }
  ws->contended += wanting >= 3;
  sess_stream *want;
  if (ref_mixed(s)) {
    want = ref_scan_total(s);
    ws->mixed++;
  } else {
    want = ref_scan(s);
    ws->exact++;
  }
  if (want == NULL) {
    assert_true(id == MOQC_STREAM_NONE);
    assert_int_equal(n, 0);
    ws->none++;
    return;
  }
  assert_true(id == want->id);
  /* The ranges continue from the first unwritten byte, in queue order. */
  uint64_t off = want->written;
  for (moqc_ssize i = 0; i < n; i++) {
    assert_true(vec[i].len > 0);
    for (size_t k = 0; k < vec[i].len; k++) {
      assert_int_equal(vec[i].base[k], pattern(id, off + k));
    }
    off += vec[i].len;
  }
  assert_true(off <= want->queued);
  assert_true((size_t)n == veccnt || off == want->queued);
  assert_int_equal(fin, want->fin_queued && off == want->queued);
  if (!take_some) {
    return;
  }
  /* Take all, a part, or nothing. */
  uint64_t offered = off - want->written;
  /* A packet's worth (some of it, or all that was offered), or nothing. */
  uint64_t take = rnd(3) == 0 ? rnd((uint32_t)offered + 1) : offered;
  uint64_t packet = 600 + rnd(600);
  if (take > packet) {
    take = packet;
  }
  assert_int_equal(moqc_session_add_write_offset(s, id, (size_t)take), 0);
  ws->bytes += (size_t)take;
  if (fin && take == offered) {
    assert_true(want->fin_written);
  }
}

static void step(moqc_session *s, sub_prefs *subs, bool mixed_ordered, walk_stats *ws) {
  sess_stream *st;
  switch (rnd(17)) {
  case 0:
  case 1: {
    if (s->nstreams >= MAX_STREAMS) {
      break;
    }
    /* Ours (client): bidi 4n, uni 4n+2; the peer's uni 4n+3 (we never send on those). */
    static int64_t next = 0;
    int kind = (int)rnd(8);
    moqc_stream_id id = kind == 0 ? 4 * next + 3 : kind < 3 ? 4 * next : 4 * next + 2;
    next++;
    st = moqc__sess_add(s, id, SK_DISCARD);
    assert_non_null(st);
    if (kind >= 3 && rnd(4) != 0) {
      int sub = (int)rnd(NSUBS);
      st->sclass = SESS_CLASS_GROUP;
      st->sub_priority = subs[sub].priority;
      st->ordered = subs[sub].ordered;
      st->pub_priority = (uint8_t)rnd(2);
      st->sequence = rnd(6);
      moqc__sess_sched_update(s, st);
      recs[nrecs].id = id;
      recs[nrecs].sub = sub;
      nrecs++;
    }
    break;
  }
  default: /* 2, 3, 4, 14, 15, 16 */
    if ((st = pick_stream(s)) != NULL) {
      queue_some(s, st, rnd(2) == 0);
    }
    break;
  case 5:
    if ((st = pick_stream(s)) != NULL && rnd(6) == 0) {
      moqc__sess_queue_fin(s, st);
    }
    break;
  case 6:
  case 7:
    if ((st = pick_stream(s)) != NULL && st->written > st->acked) {
      uint64_t n = 1 + rnd((uint32_t)(st->written - st->acked));
      assert_int_equal(moqc_session_add_ack_offset(s, st->id, n), 0);
      assert_true(st->send_done || st->head == NULL || st->head_off + st->head->len > st->acked);
    }
    break;
  case 8:
    if ((st = pick_stream(s)) != NULL && rnd(2) == 0) {
      assert_int_equal(moqc_session_block_stream(s, st->id), 0);
    }
    break;
  case 9:
    if ((st = pick_stream(s)) != NULL) {
      assert_int_equal(moqc_session_unblock_stream(s, st->id), 0);
    }
    break;
  case 10: {
    /* SUBSCRIBE_UPDATE: a subscription's priority and order change for its group streams. */
    int sub = (int)rnd(NSUBS);
    subs[sub].priority = (uint8_t)rnd(3);
    subs[sub].ordered = mixed_ordered ? rnd(2) == 0 : subs[sub].ordered;
    for (size_t i = 0; i < s->nstreams; i++) {
      sess_stream *g = s->streams[i];
      if (g->sclass == SESS_CLASS_GROUP && rec_sub(g->id) == sub) {
        g->sub_priority = subs[sub].priority;
        g->ordered = subs[sub].ordered;
        moqc__sess_sched_update(s, g);
      }
    }
    break;
  }
  case 11:
    if ((st = pick_stream(s)) != NULL && st->sclass == SESS_CLASS_GROUP) {
      if (rnd(2) == 0) {
        st->pub_priority = (uint8_t)rnd(2);
      } else {
        st->sequence = rnd(6);
      }
      moqc__sess_sched_update(s, st);
    }
    break;
  case 12:
    if ((st = pick_stream(s)) != NULL && rnd(6) == 0) {
      moqc__sess_reset(s, st, MOQC_ERR_CANCEL);
    }
    break;
  case 13:
    /* Closed by the transport: finished streams soon, others now and then. */
    if ((st = pick_stream(s)) != NULL &&
        (st->send_done || st->fin_written ? rnd(2) == 0 : rnd(8) == 0)) {
      moqc_stream_id id = st->id;
      moqc__sess_remove(s, st);
      assert_null(moqc__sess_find(s, id));
    }
    break;
  }
  step_write(s, ws, rnd(4) == 0);
  check_tables(s);
  ws->steps++;
}

static walk_stats walk(uint64_t seed, size_t steps, bool mixed_ordered) {
  stub_tp t;
  moqc_session *s = stub_session(&t);
  sub_prefs subs[NSUBS] = {{0, false}, {1, false}, {0, false}};
  if (mixed_ordered) {
    subs[1].ordered = true;
  }
  walk_stats ws = {0};
  rng_state = seed;
  nrecs = 0;
  for (size_t i = 0; i < steps; i++) {
    step(s, subs, mixed_ordered, &ws);
    /* Now and then write a few times in a row, as a transport does while it has room. */
    for (uint32_t k = rnd(8) == 0 ? rnd(4) : 0; k > 0; k--) {
      step_write(s, &ws, true);
      check_tables(s);
    }
  }
  moqc_session_del(s); /* frees what is still queued */
  if (getenv("SCHED_STATS") != NULL) {
    fprintf(stderr, "steps %zu exact %zu mixed %zu none %zu contended %zu bytes %zu\n",
            ws.steps, ws.exact, ws.mixed, ws.none, ws.contended, ws.bytes);
  }
  return ws;
}

/* Every subscription unordered (the common case): every pick equals the old scan's. */
static void test_sched_matches_scan(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 8; seed++) {
    walk_stats ws = walk(seed * 0x9E3779B97F4A7C15ULL, 3000, false);
    assert_int_equal(ws.mixed, 0);
    assert_true(ws.exact > 3000);
    assert_true(ws.none < ws.exact * 3 / 5);
    assert_true(ws.contended > ws.exact / 5);
    assert_true(ws.bytes > 10000);
  }
}

/* Ordered and unordered subscriptions mixed: the old scan wherever its order is total, the
 * documented tie-break (ordered first) where it was not. */
static void test_sched_matches_scan_mixed_order(void **state) {
  (void)state;
  size_t exact = 0, mixed = 0;
  for (uint64_t seed = 11; seed <= 18; seed++) {
    walk_stats ws = walk(seed * 0xD1B54A32D192ED03ULL, 3000, true);
    exact += ws.exact;
    mixed += ws.mixed;
  }
  assert_true(exact > 5000);
  assert_true(mixed > 100);
}

/* A fixed case: control first, then subscriber priority, publisher priority, newest group first;
 * a priority change re-ranks a stream already waiting. */
static void test_sched_order_and_rerank(void **state) {
  (void)state;
  stub_tp t;
  moqc_session *s = stub_session(&t);
  uint8_t b = 1;
  sess_stream *g1 = moqc__sess_add(s, 2, SK_DISCARD);
  sess_stream *g2 = moqc__sess_add(s, 6, SK_DISCARD);
  sess_stream *g3 = moqc__sess_add(s, 10, SK_DISCARD);
  sess_stream *ctl = moqc__sess_add(s, 12, SK_DISCARD);
  assert_non_null(g1);
  assert_non_null(g2);
  assert_non_null(g3);
  assert_non_null(ctl);
  g1->sclass = g2->sclass = g3->sclass = SESS_CLASS_GROUP;
  g1->sequence = 1;
  g2->sequence = 2;
  g3->sequence = 3;
  g3->pub_priority = 0;
  moqc_vec v[2];
  moqc_stream_id id;
  bool fin;
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 0);
  assert_true(id == MOQC_STREAM_NONE);
  assert_int_equal(moqc__sess_queue_copy(s, g1, &b, 1), 0);
  assert_int_equal(moqc__sess_queue_copy(s, g2, &b, 1), 0);
  assert_int_equal(moqc__sess_queue_copy(s, g3, &b, 1), 0);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 1);
  assert_true(id == 10); /* newest group first */
  assert_int_equal(moqc__sess_queue_copy(s, ctl, &b, 1), 0);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 1);
  assert_true(id == 12); /* control first */
  assert_int_equal(moqc_session_block_stream(s, 12), 0);
  g1->sub_priority = 5; /* SUBSCRIBE_UPDATE of g1's subscription */
  moqc__sess_sched_update(s, g1);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 1);
  assert_true(id == 2);
  g1->sub_priority = 0;
  moqc__sess_sched_update(s, g1);
  g2->pub_priority = 1;
  moqc__sess_sched_update(s, g2);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 1);
  assert_true(id == 6);
  g1->ordered = g2->ordered = g3->ordered = true;
  g2->pub_priority = 0;
  moqc__sess_sched_update(s, g1);
  moqc__sess_sched_update(s, g2);
  moqc__sess_sched_update(s, g3);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 1);
  assert_true(id == 2); /* ordered: oldest first */
  assert_int_equal(moqc_session_add_write_offset(s, 2, 1), 0);
  moqc__sess_queue_fin(s, g1);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 0);
  assert_true(id == 2 && fin); /* a bare FIN */
  assert_int_equal(moqc_session_add_write_offset(s, 2, 0), 0);
  assert_true(g1->fin_written);
  assert_int_equal(moqc_session_unblock_stream(s, 12), 0);
  assert_int_equal(moqc_session_writev_stream(s, &id, &fin, v, 2, 0), 1);
  assert_true(id == 12);
  moqc_session_del(s);
}

/* The id map under churn: one stream per group opened and closed, lookups of live and gone ids. */
static void test_sched_map_churn(void **state) {
  (void)state;
  stub_tp t;
  moqc_session *s = stub_session(&t);
  enum { LIVE = 300, TOTAL = 20000 };
  moqc_stream_id live[LIVE];
  size_t nlive = 0;
  rng_state = 42;
  for (int64_t n = 0; n < TOTAL; n++) {
    moqc_stream_id id = 4 * n + 2;
    if (nlive == LIVE || (nlive > 0 && rnd(3) == 0)) {
      size_t k = rnd((uint32_t)nlive);
      sess_stream *st = moqc__sess_find(s, live[k]);
      assert_non_null(st);
      assert_true(st->id == live[k]);
      moqc__sess_remove(s, st);
      assert_null(moqc__sess_find(s, live[k]));
      live[k] = live[--nlive];
    }
    assert_non_null(moqc__sess_add(s, id, SK_DISCARD));
    live[nlive++] = id;
    if (n % 997 == 0) {
      for (size_t k = 0; k < nlive; k++) {
        s->last_found = NULL;
        sess_stream *st = moqc__sess_find(s, live[k]);
        assert_non_null(st);
        assert_true(st->id == live[k]);
      }
      s->last_found = NULL;
      assert_null(moqc__sess_find(s, 4 * (n + 1) + 2));
      assert_int_equal(s->nstreams, nlive);
    }
  }
  moqc_session_del(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sched_order_and_rerank),
      cmocka_unit_test(test_sched_matches_scan),
      cmocka_unit_test(test_sched_matches_scan_mixed_order),
      cmocka_unit_test(test_sched_map_churn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
