/*
 * Usage sinks: refcounted sets of atomic counters (spec/metering.md 1 and 5).
 *
 * Counters are an array indexed by the field order of MOQC_USAGE_FOREACH. Open
 * and payload bumps are relaxed; *_closed bumps are release; a readout loads
 * every *_closed counter with acquire before it loads anything else, so it
 * never sees a closed counter above its open counter.
 */
#include <moqc/error.h>
#include <moqc/usage.h>

#include <stdatomic.h>

struct moqc_usage {
  const moqc_mem *mem;
  atomic_uint_fast32_t refs;
  _Atomic uint64_t c[MOQC_USAGE_FIELD_COUNT];
};

/* For each field, the index of the open counter it closes, or -1. */
static const int usage_closed_of[MOQC_USAGE_FIELD_COUNT] = {
#define USAGE_CLOSED_OF(f, c, p, h) MOQC_USAGE_FIELD_##c,
    MOQC_USAGE_FOREACH(USAGE_CLOSED_OF)
#undef USAGE_CLOSED_OF
};

int moqc_usage_new(moqc_usage **out, const moqc_mem *mem) {
  moqc_usage *u = moqc_mem_malloc(mem, sizeof(*u));

  if (u == NULL) {
    return MOQC_ERR_NOMEM;
  }
  u->mem = mem;
  atomic_init(&u->refs, 1);
  for (size_t i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    atomic_init(&u->c[i], 0);
  }
  *out = u;
  return 0;
}

void moqc_usage_incref(moqc_usage *u) {
  if (u != NULL) {
    atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
  }
}

void moqc_usage_decref(moqc_usage *u) {
  if (u == NULL) {
    return;
  }
  if (atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) == 1) {
    moqc_mem_free(u->mem, u);
  }
}

uint32_t moqc_usage_refcount(const moqc_usage *u) {
  if (u == NULL) {
    return 0;
  }
  /* Acquire: a caller that sees 1 also sees every bump made before the other
   * holders left. */
  return (uint32_t)atomic_load_explicit(&((moqc_usage *)u)->refs,
                                        memory_order_acquire);
}

void moqc_usage_read(const moqc_usage *u, moqc_usage_counters *out) {
  uint64_t v[MOQC_USAGE_FIELD_COUNT];
  moqc_usage *m = (moqc_usage *)u;

  if (u == NULL) {
    *out = (moqc_usage_counters){0};
    return;
  }
  /* Closed counters first, with acquire: every open bump that preceded them is
   * then visible. */
  for (size_t i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    if (usage_closed_of[i] >= 0) {
      v[i] = atomic_load_explicit(&m->c[i], memory_order_acquire);
    }
  }
  for (size_t i = 0; i < MOQC_USAGE_FIELD_COUNT; i++) {
    if (usage_closed_of[i] < 0) {
      v[i] = atomic_load_explicit(&m->c[i], memory_order_relaxed);
    }
  }
#define USAGE_STORE(f, c, p, h) out->f = v[MOQC_USAGE_FIELD_##f];
  MOQC_USAGE_FOREACH(USAGE_STORE)
#undef USAGE_STORE
}

static inline void usage_add(moqc_usage *u, int idx, uint64_t n) {
  atomic_fetch_add_explicit(&u->c[idx], n, memory_order_relaxed);
}

static inline void usage_add_closed(moqc_usage *u, int idx) {
  atomic_fetch_add_explicit(&u->c[idx], 1, memory_order_release);
}

void moqc_usage_add_groups(moqc_usage *u, uint64_t n) {
  if (u != NULL && n != 0) {
    usage_add(u, MOQC_USAGE_FIELD_groups, n);
  }
}

void moqc_usage_add_frames(moqc_usage *u, uint64_t n) {
  if (u != NULL && n != 0) {
    usage_add(u, MOQC_USAGE_FIELD_frames, n);
  }
}

void moqc_usage_add_bytes(moqc_usage *u, uint64_t n) {
  if (u != NULL && n != 0) {
    usage_add(u, MOQC_USAGE_FIELD_bytes, n);
  }
}

void moqc_usage_add_datagram(moqc_usage *u, uint64_t len) {
  if (u == NULL) {
    return;
  }
  usage_add(u, MOQC_USAGE_FIELD_datagrams, 1);
  usage_add(u, MOQC_USAGE_FIELD_groups, 1);
  usage_add(u, MOQC_USAGE_FIELD_frames, 1);
  if (len != 0) {
    usage_add(u, MOQC_USAGE_FIELD_bytes, len);
  }
}

void moqc_usage_add_fetch(moqc_usage *u) {
  if (u != NULL) {
    usage_add(u, MOQC_USAGE_FIELD_fetches, 1);
  }
}

void moqc_usage_open_subscription(moqc_usage *u) {
  if (u != NULL) {
    usage_add(u, MOQC_USAGE_FIELD_subscriptions, 1);
  }
}

void moqc_usage_close_subscription(moqc_usage *u) {
  if (u != NULL) {
    usage_add_closed(u, MOQC_USAGE_FIELD_subscriptions_closed);
  }
}

void moqc_usage_open_broadcast(moqc_usage *u) {
  if (u != NULL) {
    usage_add(u, MOQC_USAGE_FIELD_broadcasts, 1);
  }
}

void moqc_usage_close_broadcast(moqc_usage *u) {
  if (u != NULL) {
    usage_add_closed(u, MOQC_USAGE_FIELD_broadcasts_closed);
  }
}

void moqc_usage_open_announce(moqc_usage *u, uint64_t path_len) {
  if (u == NULL) {
    return;
  }
  usage_add(u, MOQC_USAGE_FIELD_announced, 1);
  if (path_len != 0) {
    usage_add(u, MOQC_USAGE_FIELD_announced_bytes, path_len);
  }
}

void moqc_usage_close_announce(moqc_usage *u, uint64_t path_len) {
  if (u == NULL) {
    return;
  }
  /* Bytes before the release bump, so a reader that sees the close also sees
   * the bytes. */
  if (path_len != 0) {
    usage_add(u, MOQC_USAGE_FIELD_announced_bytes, path_len);
  }
  usage_add_closed(u, MOQC_USAGE_FIELD_announced_closed);
}

void moqc_usage_scope_incref(moqc_usage_scope *scope) {
  if (scope != NULL && scope->ops != NULL && scope->ops->incref != NULL) {
    scope->ops->incref(scope);
  }
}

void moqc_usage_scope_decref(moqc_usage_scope *scope) {
  if (scope != NULL && scope->ops != NULL && scope->ops->decref != NULL) {
    scope->ops->decref(scope);
  }
}

void moqc_usage_scope_viewer_open(moqc_usage_scope *scope) {
  if (scope != NULL && scope->ops != NULL && scope->ops->viewer_open != NULL) {
    scope->ops->viewer_open(scope);
  }
}

void moqc_usage_scope_viewer_close(moqc_usage_scope *scope) {
  if (scope != NULL && scope->ops != NULL && scope->ops->viewer_close != NULL) {
    scope->ops->viewer_close(scope);
  }
}

moqc_usage *moqc_usage_scope_sink(const moqc_usage_scope *scope) {
  return scope == NULL ? NULL : scope->sink;
}

moqc_usage_scope *moqc_usage_ctx_scope(moqc_usage_ctx *ctx, moqc_direction dir,
                                       moqc_str abs_path) {
  if (ctx == NULL || ctx->ops == NULL || ctx->ops->scope == NULL) {
    return NULL;
  }
  return ctx->ops->scope(ctx, dir, abs_path);
}

void moqc_usage_ctx_incref(moqc_usage_ctx *ctx) {
  if (ctx != NULL && ctx->ops != NULL && ctx->ops->incref != NULL) {
    ctx->ops->incref(ctx);
  }
}

void moqc_usage_ctx_decref(moqc_usage_ctx *ctx) {
  if (ctx != NULL && ctx->ops != NULL && ctx->ops->decref != NULL) {
    ctx->ops->decref(ctx);
  }
}

static const char *const usage_names[MOQC_USAGE_FIELD_COUNT] = {
#define USAGE_NAME(f, c, p, h) #f,
    MOQC_USAGE_FOREACH(USAGE_NAME)
#undef USAGE_NAME
};

const char *moqc_usage_field_name(int i) {
  if (i < 0 || i >= MOQC_USAGE_FIELD_COUNT) {
    return NULL;
  }
  return usage_names[i];
}

static const char *const usage_prom[MOQC_USAGE_FIELD_COUNT] = {
#define USAGE_PROM(f, c, p, h) p,
    MOQC_USAGE_FOREACH(USAGE_PROM)
#undef USAGE_PROM
};

static const char *const usage_help[MOQC_USAGE_FIELD_COUNT] = {
#define USAGE_HELP(f, c, p, h) h,
    MOQC_USAGE_FOREACH(USAGE_HELP)
#undef USAGE_HELP
};

const char *moqc_usage_field_prom_name(int i) {
  if (i < 0 || i >= MOQC_USAGE_FIELD_COUNT) {
    return NULL;
  }
  return usage_prom[i];
}

const char *moqc_usage_field_prom_help(int i) {
  if (i < 0 || i >= MOQC_USAGE_FIELD_COUNT) {
    return NULL;
  }
  return usage_help[i];
}

int moqc_usage_field_closed_of(int i) {
  if (i < 0 || i >= MOQC_USAGE_FIELD_COUNT) {
    return MOQC_USAGE_FIELD_NONE;
  }
  return usage_closed_of[i];
}

uint64_t moqc_usage_counters_get(const moqc_usage_counters *c, int i) {
  switch (i) {
#define USAGE_GET(f, cl, p, h)                                                 \
  case MOQC_USAGE_FIELD_##f:                                                   \
    return c->f;
    MOQC_USAGE_FOREACH(USAGE_GET)
#undef USAGE_GET
  default:
    return 0;
  }
}

void moqc_usage_counters_add(moqc_usage_counters *a,
                             const moqc_usage_counters *b) {
#define USAGE_SUM(f, c, p, h) a->f += b->f;
  MOQC_USAGE_FOREACH(USAGE_SUM)
#undef USAGE_SUM
}

bool moqc_usage_counters_idle(const moqc_usage_counters *c) {
  return c->announced == c->announced_closed &&
         c->subscriptions == c->subscriptions_closed &&
         c->broadcasts == c->broadcasts_closed;
}

const char *moqc_direction_role(moqc_direction dir) {
  return dir == MOQC_DIRECTION_EGRESS ? "publisher" : "subscriber";
}
