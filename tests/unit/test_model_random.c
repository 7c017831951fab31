/*
 * Model: randomized operation sequences over many handles (seeded,
 * reproducible). Every call must return one of its documented results; at the
 * end every handle is released and nothing may be left allocated, no scope
 * reference held, and every metering pair closed.
 */
#include "test_model_util.h"

typedef struct rnd_alloc {
  long live;
} rnd_alloc;

static void *rnd_malloc(size_t n, void *ud) {
  void *p = malloc(n);
  if (p != NULL) {
    ((rnd_alloc *)ud)->live++;
  }
  return p;
}
static void rnd_free(void *p, void *ud) {
  if (p != NULL) {
    ((rnd_alloc *)ud)->live--;
    free(p);
  }
}
static void *rnd_calloc(size_t a, size_t b, void *ud) {
  void *p = calloc(a, b);
  if (p != NULL) {
    ((rnd_alloc *)ud)->live++;
  }
  return p;
}
static void *rnd_realloc(void *old, size_t n, void *ud) {
  void *p = realloc(old, n);
  if (p != NULL && old == NULL) {
    ((rnd_alloc *)ud)->live++;
  }
  return p;
}

static uint64_t rnd_state;
static uint32_t rnd(uint32_t n) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return (uint32_t)(rnd_state % n);
}

enum { SLOTS = 6 };

/* How many seeds to run (raise it with -DRND_SEEDS=n for a long hunt). */
#ifndef RND_SEEDS
#define RND_SEEDS 40
#endif

typedef struct world {
  const moqc_mem *mem;
  moqc_waker *w;
  tm_scope *ing, *eg;
  moqc_broadcast_producer *bp[SLOTS];
  moqc_broadcast_consumer *bc[SLOTS];
  moqc_broadcast_dynamic *dyn[SLOTS];
  moqc_track_producer *tp[SLOTS];
  moqc_track_consumer *tc[SLOTS];
  moqc_track_subscriber *sub[SLOTS];
  moqc_track_request *req[SLOTS];
  moqc_track_dynamic *td[SLOTS];
  moqc_group_producer *gp[SLOTS];
  moqc_group_consumer *gc[SLOTS];
  moqc_frame_producer *fp[SLOTS];
  moqc_frame_consumer *fc[SLOTS];
} world;

#define PICK(arr) (&(arr)[rnd(SLOTS)])
#define PICK_BP(wd) ((wd)->bp[rnd(2)])

static const char *names[] = {"a", "b", "c"};

/* Accepts the documented non-fatal results of any call. */
static void ok(int rv) {
  assert_true(rv == 0 || rv == MOQC_END || rv == MOQC_ERR_PENDING ||
              rv == MOQC_ERR_DUPLICATE || rv == MOQC_ERR_CLOSED ||
              rv == MOQC_ERR_NOT_FOUND || rv == MOQC_ERR_DROPPED ||
              rv == MOQC_ERR_CANCEL || rv == MOQC_ERR_LAGGED ||
              rv == MOQC_ERR_OLD || rv == MOQC_ERR_WRONG_SIZE ||
              rv == MOQC_ERR_TIMEOUT || rv == MOQC_ERR_BOUNDS_EXCEEDED ||
              rv == 1);
}

static void step(world *wd, moqc_tstamp now) {
  int rv = 0;
  switch (rnd(30)) {
  case 0: { /* new broadcast */
    moqc_broadcast_producer **p = &wd->bp[rnd(2)];
    if (*p == NULL) {
      ok(moqc_broadcast_new(p, rnd(2) ? &wd->ing->base : NULL, wd->mem));
    } else if (rnd(10) == 0) {
      moqc_broadcast_producer_del(*p);
      *p = NULL;
    }
    break;
  }
  case 1: { /* consume / stamp / del */
    moqc_broadcast_producer *p = PICK_BP(wd);
    moqc_broadcast_consumer **c = PICK(wd->bc);
    if (*c != NULL) {
      if (rnd(2)) {
        moqc_broadcast_consumer *n;
        ok(moqc_broadcast_consumer_with_usage(*c, rnd(2) ? &wd->eg->base : NULL,
                                              &n));
        moqc_broadcast_consumer_del(*c);
        *c = n;
      } else {
        moqc_broadcast_consumer_del(*c);
        *c = NULL;
      }
    } else if (p != NULL) {
      moqc_broadcast_consumer *plain;
      ok(moqc_broadcast_producer_consume(p, &plain));
      ok(moqc_broadcast_consumer_with_usage(plain, &wd->eg->base, c));
      moqc_broadcast_consumer_del(plain);
    }
    break;
  }
  case 2: { /* dynamic handler */
    moqc_broadcast_producer *p = PICK_BP(wd);
    moqc_broadcast_dynamic **d = PICK(wd->dyn);
    if (*d != NULL) {
      moqc_broadcast_dynamic_del(*d);
      *d = NULL;
    } else if (p != NULL) {
      ok(moqc_broadcast_producer_dynamic(p, d));
    }
    break;
  }
  case 3:
  case 4: { /* create or reserve a track */
    moqc_broadcast_producer *p = PICK_BP(wd);
    if (p == NULL) {
      break;
    }
    if (rnd(3) == 0) {
      moqc_track_request **r = PICK(wd->req);
      if (*r == NULL) {
        rv = moqc_broadcast_producer_reserve_track(p, names[rnd(3)], r);
        ok(rv);
        if (rv != 0) {
          *r = NULL;
        }
      }
    } else {
      moqc_track_producer **t = PICK(wd->tp);
      if (*t == NULL) {
        moqc_track_info info;
        moqc_track_info_default(&info);
        info.retention = (moqc_tstamp)rnd(50) * MOQC_MILLISECONDS;
        rv = moqc_broadcast_producer_create_track(p, names[rnd(3)], &info, t);
        ok(rv);
        if (rv != 0) {
          *t = NULL;
        }
      }
    }
    break;
  }
  case 5: { /* requests */
    moqc_broadcast_dynamic *d = *PICK(wd->dyn);
    moqc_track_request **r = PICK(wd->req);
    if (*r != NULL) {
      if (rnd(2)) {
        moqc_track_producer **t = PICK(wd->tp);
        if (*t == NULL) {
          rv = moqc_track_request_accept(*r, NULL, t);
          ok(rv);
          if (rv != 0) {
            *t = NULL;
          }
          *r = NULL;
        }
      } else {
        moqc_track_request_reject(*r, MOQC_ERR_NOT_FOUND);
        *r = NULL;
      }
    } else if (d != NULL) {
      rv = moqc_broadcast_dynamic_requested_track(d, r, wd->w);
      ok(rv);
      if (rv != 0) {
        *r = NULL;
      }
    }
    break;
  }
  case 6: { /* track lookup */
    moqc_broadcast_consumer *c = *PICK(wd->bc);
    moqc_track_consumer **t = PICK(wd->tc);
    if (*t != NULL) {
      moqc_track_consumer_del(*t);
      *t = NULL;
    } else if (c != NULL) {
      rv = moqc_broadcast_consumer_track(c, names[rnd(3)], t);
      ok(rv);
      if (rv != 0) {
        *t = NULL;
      }
    }
    break;
  }
  case 7:
  case 8: { /* subscribe */
    moqc_track_consumer *t = *PICK(wd->tc);
    moqc_track_subscriber **s = PICK(wd->sub);
    if (*s != NULL) {
      moqc_track_subscriber_del(*s);
      *s = NULL;
    } else if (t != NULL) {
      moqc_subscription sub;
      moqc_subscription_default(&sub);
      sub.has_start = rnd(2);
      rv = moqc_track_consumer_subscribe(t, &sub, s, rnd(2) ? wd->w : NULL);
      ok(rv);
      if (rv != 0) {
        *s = NULL;
      }
    }
    break;
  }
  case 9:
  case 10: { /* groups */
    moqc_track_producer *t = *PICK(wd->tp);
    moqc_group_producer **g = PICK(wd->gp);
    if (*g != NULL) {
      if (rnd(3) == 0) {
        moqc_group_producer_abort(*g, MOQC_ERR_TIMEOUT);
      } else {
        ok(moqc_group_producer_finish(*g));
      }
      moqc_group_producer_del(*g);
      *g = NULL;
    } else if (t != NULL) {
      rv = rnd(2) ? moqc_track_producer_append_group(t, now, g)
                  : moqc_track_producer_create_group(t, rnd(20), now, g);
      ok(rv);
      if (rv != 0) {
        *g = NULL;
      }
    }
    break;
  }
  case 11:
  case 12: { /* frames */
    moqc_group_producer *g = *PICK(wd->gp);
    moqc_frame_producer **f = PICK(wd->fp);
    if (*f != NULL) {
      uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
      ok(moqc_frame_producer_write(*f, data, rnd(9)));
      if (rnd(2)) {
        ok(moqc_frame_producer_finish(*f));
        moqc_frame_producer_del(*f);
        *f = NULL;
      }
    } else if (g != NULL) {
      if (rnd(2)) {
        ok(moqc_group_producer_write_frame(g, (const uint8_t *)"hello", rnd(6),
                                           0));
      } else {
        rv = moqc_group_producer_create_frame(g, rnd(12), 0, f);
        ok(rv);
        if (rv != 0) {
          *f = NULL;
        }
      }
    }
    break;
  }
  case 13: { /* whole single-frame groups and datagrams */
    moqc_track_producer *t = *PICK(wd->tp);
    if (t != NULL) {
      if (rnd(2)) {
        ok(moqc_track_producer_write_frame(t, (const uint8_t *)"x", 1, 0, now));
      } else {
        ok(moqc_track_producer_write_datagram(t, (const uint8_t *)"dg", 2, 0,
                                              now));
      }
    }
    break;
  }
  case 14: { /* finish / abort / del track */
    moqc_track_producer **t = PICK(wd->tp);
    if (*t != NULL) {
      switch (rnd(16)) {
      case 0:
      case 1:
        ok(moqc_track_producer_finish(*t));
        break;
      case 2:
        moqc_track_producer_abort(*t, MOQC_ERR_TIMEOUT);
        break;
      case 3:
      case 4:
        moqc_track_producer_del(*t);
        *t = NULL;
        break;
      default:
        break;
      }
    }
    break;
  }
  case 15:
  case 16: { /* subscriber reads */
    moqc_track_subscriber *s = *PICK(wd->sub);
    moqc_group_consumer **g = PICK(wd->gc);
    if (s == NULL) {
      break;
    }
    if (*g != NULL) {
      moqc_group_consumer_del(*g);
      *g = NULL;
    }
    switch (rnd(4)) {
    case 0:
      rv = moqc_track_subscriber_next_group(s, g, wd->w);
      break;
    case 1:
      rv = moqc_track_subscriber_recv_group(s, g, wd->w);
      break;
    case 2: {
      moqc_rcbuf *buf;
      uint64_t seq;
      rv = moqc_track_subscriber_read_frame(s, &buf, &seq, NULL, wd->w);
      if (rv == 0) {
        moqc_rcbuf_decref(buf);
      }
      rv = rv == 0 ? MOQC_END : rv; /* no group handed out */
      break;
    }
    default: {
      moqc_rcbuf *buf;
      uint64_t seq;
      rv = moqc_track_subscriber_recv_datagram(s, &seq, NULL, &buf, wd->w);
      if (rv == 0) {
        moqc_rcbuf_decref(buf);
      }
      rv = rv == 0 ? MOQC_END : rv;
    }
    }
    ok(rv);
    if (rv != 0) {
      *g = NULL;
    }
    break;
  }
  case 17: { /* fetch */
    moqc_track_consumer *t = *PICK(wd->tc);
    moqc_group_consumer **g = PICK(wd->gc);
    if (t != NULL && *g == NULL) {
      rv = moqc_track_consumer_fetch_group(t, rnd(20), g, wd->w);
      ok(rv);
      if (rv != 0) {
        *g = NULL;
      }
    }
    break;
  }
  case 18:
  case 19: { /* group reads */
    moqc_group_consumer *g = *PICK(wd->gc);
    moqc_frame_consumer **f = PICK(wd->fc);
    if (g == NULL) {
      break;
    }
    if (*f != NULL) {
      moqc_frame_consumer_del(*f);
      *f = NULL;
    }
    switch (rnd(3)) {
    case 0:
      rv = moqc_group_consumer_next_frame(g, f, wd->w);
      break;
    case 1:
      rv = moqc_group_consumer_get_frame(g, rnd(4), f, wd->w);
      break;
    default: {
      moqc_rcbuf *buf;
      rv = moqc_group_consumer_read_frame(g, &buf, NULL, wd->w);
      if (rv == 0) {
        moqc_rcbuf_decref(buf);
      }
      rv = rv == 0 ? MOQC_END : rv;
    }
    }
    ok(rv);
    if (rv != 0) {
      *f = NULL;
    }
    break;
  }
  case 20: { /* frame reads */
    moqc_frame_consumer *f = *PICK(wd->fc);
    if (f != NULL) {
      moqc_rcbuf *buf;
      size_t off, len;
      rv = rnd(2) ? moqc_frame_consumer_read_chunk(f, &buf, &off, &len, wd->w)
                  : moqc_frame_consumer_read_all(f, &buf, wd->w);
      ok(rv);
      if (rv == 0) {
        moqc_rcbuf_decref(buf);
      }
    }
    break;
  }
  case 21: { /* fetch handlers */
    moqc_track_producer *t = *PICK(wd->tp);
    moqc_track_dynamic **d = PICK(wd->td);
    if (*d != NULL) {
      uint64_t seq;
      rv = moqc_track_dynamic_requested_group(*d, &seq, wd->w);
      ok(rv);
      if (rv == 0 && t != NULL && rnd(2)) {
        moqc_group_producer *g;
        if (moqc_track_producer_create_group(t, seq, now, &g) == 0) {
          moqc_group_producer_del(g);
        }
      } else if (rv == 0) {
        moqc_track_dynamic_reject_group(*d, seq, MOQC_ERR_NOT_FOUND);
      }
      if (rnd(3) == 0) {
        moqc_track_dynamic_del(*d);
        *d = NULL;
      }
    } else if (t != NULL) {
      ok(moqc_track_producer_dynamic(t, d));
    }
    break;
  }
  case 22: { /* broadcast end */
    moqc_broadcast_producer *p = PICK_BP(wd);
    if (p != NULL && rnd(4) == 0) {
      if (rnd(2)) {
        moqc_broadcast_producer_finish(p);
      } else {
        moqc_broadcast_producer_abort(p, MOQC_ERR_CANCEL);
      }
    }
    break;
  }
  case 23: { /* clones */
    moqc_group_consumer **g = PICK(wd->gc);
    moqc_group_consumer **g2 = PICK(wd->gc);
    if (*g != NULL && *g2 == NULL) {
      ok(moqc_group_consumer_clone(*g, g2));
    }
    moqc_frame_consumer **f = PICK(wd->fc);
    moqc_frame_consumer **f2 = PICK(wd->fc);
    if (*f != NULL && *f2 == NULL) {
      ok(moqc_frame_consumer_clone(*f, f2));
    }
    moqc_track_producer **t = PICK(wd->tp);
    moqc_track_producer **t2 = PICK(wd->tp);
    if (*t != NULL && *t2 == NULL) {
      rv = moqc_track_producer_clone(*t, t2);
      ok(rv);
      if (rv != 0) {
        *t2 = NULL;
      }
    }
    break;
  }
  case 24: { /* producer-side polls */
    moqc_track_producer *t = *PICK(wd->tp);
    if (t != NULL) {
      moqc_subscription agg;
      ok(moqc_track_producer_used(t, wd->w));
      ok(moqc_track_producer_subscription(t, &agg, wd->w));
    }
    moqc_broadcast_consumer *c = *PICK(wd->bc);
    if (c != NULL) {
      ok(moqc_broadcast_consumer_closed(c, wd->w));
    }
    break;
  }
  default: { /* subscriber update and info */
    moqc_track_subscriber *s = *PICK(wd->sub);
    if (s != NULL) {
      moqc_subscription sub;
      moqc_subscription_default(&sub);
      sub.has_end = rnd(2);
      sub.end = rnd(20);
      ok(moqc_track_subscriber_update(s, &sub));
    }
    moqc_track_consumer *t = *PICK(wd->tc);
    if (t != NULL) {
      moqc_track_info info;
      ok(moqc_track_consumer_info(t, &info, wd->w));
    }
  }
  }
}

static void world_free(world *wd) {
  for (int i = 0; i < SLOTS; i++) {
    if (wd->req[i] != NULL) {
      moqc_track_request_reject(wd->req[i], MOQC_ERR_CANCEL);
    }
    moqc_frame_consumer_del(wd->fc[i]);
    moqc_frame_producer_del(wd->fp[i]);
    moqc_group_consumer_del(wd->gc[i]);
    moqc_group_producer_del(wd->gp[i]);
    moqc_track_dynamic_del(wd->td[i]);
    moqc_track_subscriber_del(wd->sub[i]);
    moqc_track_consumer_del(wd->tc[i]);
    moqc_track_producer_del(wd->tp[i]);
    moqc_broadcast_dynamic_del(wd->dyn[i]);
    moqc_broadcast_consumer_del(wd->bc[i]);
    moqc_broadcast_producer_del(wd->bp[i]);
  }
}

static int wakes;
static void rnd_wake(void *ud) {
  (*(int *)ud)++;
}

static void test_model_random_sequences(void **state) {
  uint64_t ingress_frames = 0, egress_groups = 0, egress_bytes = 0, subs = 0;
  (void)state;
  for (uint64_t seed = 1; seed <= RND_SEEDS; seed++) {
    rnd_alloc a = {0};
    moqc_mem mem = {&a, rnd_malloc, rnd_free, rnd_calloc, rnd_realloc};
    tm_scope ing, eg;
    world wd;
    memset(&wd, 0, sizeof(wd));
    rnd_state = seed * 0x9e3779b97f4a7c15ULL;
    tm_scope_init(&ing, "r");
    tm_scope_init(&eg, "r");
    wd.mem = &mem;
    wd.ing = &ing;
    wd.eg = &eg;
    assert_int_equal(moqc_waker_new(&wd.w, rnd_wake, &wakes, &mem), 0);
    for (int i = 0; i < 6000; i++) {
      step(&wd, (moqc_tstamp)i * MOQC_MILLISECONDS);
    }
    world_free(&wd);
    moqc_waker_close(wd.w);
    assert_int_equal(a.live, 0);
    moqc_usage_counters c = tm_read(&eg);
    egress_groups += c.groups;
    egress_bytes += c.bytes;
    subs += c.subscriptions;
    assert_int_equal(c.subscriptions, c.subscriptions_closed);
    assert_int_equal(atomic_load(&eg.viewer_open),
                     atomic_load(&eg.viewer_close));
    c = tm_read(&ing);
    ingress_frames += c.frames;
    assert_int_equal(c.broadcasts, c.broadcasts_closed);
    assert_int_equal(c.subscriptions, c.subscriptions_closed);
    tm_scope_free(&ing);
    tm_scope_free(&eg);
  }
  assert_true(wakes > 0);
  /* The sequences did real work. */
  print_message(
      "ingress frames %llu, egress groups %llu bytes %llu, subscriptions %llu, "
      "wakes %d\n",
      (unsigned long long)ingress_frames, (unsigned long long)egress_groups,
      (unsigned long long)egress_bytes, (unsigned long long)subs, wakes);
  assert_true(ingress_frames > 1000);
  assert_true(egress_groups > 100);
  assert_true(subs > 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_random_sequences),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
