/*
 * Metering through sessions: the session writes no counter itself; its tagged origin handles
 * make the model meter ingress (the broadcasts it mirrors) and egress (what it serves) into the
 * stats registry, exactly (spec/metering.md).
 */
#include "test_session_harness.h"

#include <moqc/stats.h>

#define G 3
#define F 2
#define B 3 /* pub_group writes 3-byte frames */
#define VIEWERS 2

/* A server session on the relay side with a usage context. */
static void tagged_link(tlink *l, node *client, uint64_t cid, node *relay,
                        moqc_stats_session *ctx) {
  memset(l, 0, sizeof(*l));
  assert_int_equal(moqc__mem_pair_new(&l->pair, NULL, NULL), 0);
  moqc_session_settings st;
  moqc_session_settings_default(&st);
  st.origin_id = cid;
  moqc_transport tc = moqc__mem_transport(l->pair, MOQC__MEM_CLIENT);
  assert_int_equal(moqc_session_new(&l->c, &st, &tc, client->cons, client->prod, NULL), 0);
  st.perspective = MOQC_SESSION_SERVER;
  st.origin_id = ID_R;
  moqc_transport ts = moqc__mem_transport(l->pair, MOQC__MEM_SERVER);
  assert_int_equal(moqc_session_new(&l->s, &st, &ts, relay->cons, relay->prod,
                                    moqc_stats_session_ctx(ctx)),
                   0);
  moqc__mem_attach(l->pair, MOQC__MEM_CLIENT, moqc_session_app_ops(), l->c);
  moqc__mem_attach(l->pair, MOQC__MEM_SERVER, moqc_session_app_ops(), l->s);
  moqc_tstamp now = moqc__mem_now(l->pair);
  assert_int_equal(moqc_session_start(l->s, now), 0);
  assert_int_equal(moqc_session_start(l->c, now), 0);
}

static void read_sink(moqc_stats_registry *reg, const char *tier, moqc_direction dir,
                      moqc_usage_counters *out) {
  moqc_usage *u;
  assert_int_equal(
      moqc_stats_registry_sink(reg, moqc_str_c(tier), dir, moqc_str_c("demo/bbb"), &u), 0);
  assert_non_null(u);
  moqc_usage_read(u, out);
  moqc_usage_decref(u);
}

static void test_relay_metering(void **state) {
  moqc_stats_registry *reg;
  assert_int_equal(moqc_stats_registry_new(&reg, NULL, 0, NULL), 0);
  moqc_stats_session *pub_ctx, *sub_ctx[VIEWERS];
  assert_int_equal(moqc_stats_session_new(&pub_ctx, reg, moqc_str_c("pub"), moqc_str_c("")), 0);

  node P, R, S[VIEWERS];
  node_new(&P, ID_P);
  node_new(&R, ID_R);
  tlink up, down[VIEWERS];
  tlink *all[VIEWERS + 1];
  tagged_link(&up, &P, ID_P, &R, pub_ctx);
  all[0] = &up;
  for (int i = 0; i < VIEWERS; i++) {
    assert_int_equal(
        moqc_stats_session_new(&sub_ctx[i], reg, moqc_str_c("sub"), moqc_str_c("")), 0);
    node_new(&S[i], 0x2000 + (uint64_t)i);
    tagged_link(&down[i], &S[i], 0x2000 + (uint64_t)i, &R, sub_ctx[i]);
    all[i + 1] = &down[i];
  }
  pub p;
  pub_new(&p, &P, "demo/bbb", "video");
  pump(all, VIEWERS + 1);

  viewer v[VIEWERS];
  for (int i = 0; i < VIEWERS; i++) {
    viewer_new(&v[i], &S[i], "demo/bbb", "video");
    viewer_subscribe(&v[i]);
  }
  pump(all, VIEWERS + 1);
  for (int i = 0; i < VIEWERS; i++) {
    assert_int_equal(viewer_subscribe(&v[i]), 0);
  }
  moqc_tstamp now = moqc__mem_now(up.pair);
  for (int g = 0; g < G; g++) {
    pub_group(&p, now, F, 0);
  }
  pump(all, VIEWERS + 1);
  for (int i = 0; i < VIEWERS; i++) {
    uint64_t seqs[8], frames[8];
    assert_int_equal(viewer_read(&v[i], seqs, frames, 8), G);
  }

  /* Ingress: the broadcast the publisher's session mirrored into the relay, counted once. */
  moqc_usage_counters in, out;
  read_sink(reg, "pub", MOQC_DIRECTION_INGRESS, &in);
  assert_int_equal(in.groups, G);
  assert_int_equal(in.frames, G * F);
  assert_int_equal(in.bytes, G * F * B);
  assert_int_equal(in.announced, 1);
  assert_int_equal(in.announced_closed, 0);
  /* Egress: what the relay's sessions served, counted per serving session. */
  read_sink(reg, "sub", MOQC_DIRECTION_EGRESS, &out);
  assert_int_equal(out.subscriptions, VIEWERS);
  assert_int_equal(out.groups, VIEWERS * G);
  assert_int_equal(out.frames, VIEWERS * G * F);
  assert_int_equal(out.bytes, VIEWERS * G * F * B);
  /* The publisher's own session served nothing. */
  read_sink(reg, "pub", MOQC_DIRECTION_EGRESS, &out);
  assert_int_equal(out.bytes, 0);
  assert_int_equal(out.subscriptions, 0);

  /* Viewers leave: subscriptions close. The publisher leaves: the announcement closes. */
  for (int i = 0; i < VIEWERS; i++) {
    viewer_del(&v[i]);
  }
  pump(all, VIEWERS + 1);
  read_sink(reg, "sub", MOQC_DIRECTION_EGRESS, &out);
  assert_int_equal(out.subscriptions_closed, VIEWERS);
  pub_del(&p);
  pump(all, VIEWERS + 1);
  read_sink(reg, "pub", MOQC_DIRECTION_INGRESS, &in);
  assert_int_equal(in.announced_closed, 1);

  for (int i = 0; i < VIEWERS; i++) {
    link_del(&down[i]);
    node_del(&S[i]);
    moqc_stats_session_decref(sub_ctx[i]);
  }
  link_del(&up);
  node_del(&P);
  node_del(&R);
  moqc_stats_session_decref(pub_ctx);
  moqc_stats_registry_decref(reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_relay_metering),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
