/*
 * Sessions against a raw peer, byte for byte: the worked examples of spec/moq-lite-wire.md 7
 * (lite-05 setup, announce, track info, subscribe, one group, subscription end) and 7.5 (the
 * legacy handshake and lite-02 announce), plus stream-level and session-level error handling.
 */
#include "test_session_harness.h"

/* P publishes demo/bbb/video: priority 1, unordered, 10 s, timescale 1000 (spec 7). */
static void example_publish(node *P, pub *p) {
  assert_int_equal(moqc_origin_producer_create_broadcast(P->prod, moqc_str_c("demo/bbb"), NULL,
                                                         &p->bp, &p->guard),
                   0);
  moqc_track_info info;
  moqc_track_info_default(&info);
  info.priority = 1;
  info.ordered = false;
  info.retention = 10 * MOQC_SECONDS;
  info.timescale = 1000;
  assert_int_equal(moqc_broadcast_producer_create_track(p->bp, "video", &info, &p->tp), 0);
}

static void test_example_lite05(void **state) {
  node P;
  node_new(&P, ID_P);
  pub p;
  example_publish(&P, &p);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_P, &P);
  raw_peer *R = &l.raw;

  raw_open(R, true, "01 0E 02 01 01 01 05 08 C0 00 0A 0B 0C 0D 0E 0F", true);
  moqc_stream_id ann = raw_open(R, false, "01 09 00 C0 00 0A 0B 0C 0D 0E 0F", false);
  moqc_stream_id trk =
      raw_open(R, false, "06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F", false);
  moqc_stream_id sub = raw_open(
      R, false, "02 15 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01 00 00 00 00", false);
  raw_pump(&l);
  assert_int_equal(moqc_session_peer_origin(l.s), ID_R);

  /* P's Setup (no Probe: it cannot report) and P's own Announce request. */
  raw_expect(R, 2, "01 0B 01 05 08 C0 12 34 56 78 9A BC DE", true);
  raw_expect(R, 0, "01 09 00 C0 12 34 56 78 9A BC DE", false);
  /* ANNOUNCE_OK (hop P, 1 active) and ANNOUNCE_BROADCAST(active, demo/bbb, 0 hops). */
  raw_expect(R, ann, "09 C0 12 34 56 78 9A BC DE 01 0B 01 08 64 65 6D 6F 2F 62 62 62 00", false);
  /* TRACK_INFO then FIN. */
  raw_expect(R, trk, "06 01 00 67 10 43 E8", true);
  /* lite-05 acceptance is implicit: nothing before the first group. */
  assert_int_equal(raw_get(R, sub, false)->rx_len, 0);

  moqc_group_producer *gp;
  moqc_tstamp now = moqc__mem_now(l.pair);
  assert_int_equal(moqc_track_producer_create_group(p.tp, 0, now, &gp), 0);
  assert_int_equal(moqc_group_producer_write_frame(gp, (const uint8_t *)"\xAA\xBB\xCC", 3, 1000),
                   0);
  assert_int_equal(moqc_group_producer_write_frame(gp, (const uint8_t *)"\xDD\xEE", 2, 1033), 0);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
  raw_pump(&l);
  raw_expect(R, sub, "00 01 00", false);
  raw_expect(R, 6, "00 02 00 00 47 D0 03 AA BB CC 40 42 02 DD EE", true);

  /* FETCH of group 0: its frames, no GROUP header, then FIN; group 5 is not there (13). */
  moqc_stream_id f0 = raw_open(
      R, false, "03 11 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01 00", true);
  moqc_stream_id f5 = raw_open(
      R, false, "03 11 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01 05", true);
  raw_pump(&l);
  raw_expect(R, f0, "47 D0 03 AA BB CC 40 42 02 DD EE", true);
  assert_true(raw_get(R, f5, false)->reset);
  assert_int_equal(raw_get(R, f5, false)->reset_code, 13);

  /* The track ends after this group: SUBSCRIBE_END (exclusive end 1), then FIN. */
  assert_int_equal(moqc_track_producer_finish(p.tp), 0);
  raw_pump(&l);
  /* The FIN waits for the end linger (settings.end_linger, 500 ms) after the groups settled. */
  raw_expect(R, sub, "00 01 00 01 01 01", false);
  moqc__mem_advance(l.pair, 499 * MOQC_MILLISECONDS);
  raw_pump(&l);
  raw_expect(R, sub, "00 01 00 01 01 01", false);
  moqc__mem_advance(l.pair, 1 * MOQC_MILLISECONDS);
  raw_pump(&l);
  raw_expect(R, sub, "00 01 00 01 01 01", true);

  /* The JS resets its Track stream side after TRACK_INFO and stops streams it read: both are
   * tolerated. */
  R->tp.ops->reset_stream(R->tp.user_data, trk, 0);
  R->tp.ops->stop_sending(R->tp.user_data, 2, 0);
  raw_pump(&l);
  assert_false(moqc_session_is_closed(l.s));
  assert_false(R->closed);

  raw_link_del(&l);
  pub_del(&p);
  node_del(&P);
}

static void test_unknown_stream_type(void **state) {
  node P;
  node_new(&P, ID_P);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_P, &P);
  raw_peer *R = &l.raw;
  moqc_stream_id bad = raw_open(R, false, "07 01 02 03", false);
  moqc_stream_id badu = raw_open(R, true, "09 00", false);
  /* A Fetch stream with an empty body: malformed, reset with 5. */
  moqc_stream_id fetch = raw_open(R, false, "03 00", false);
  raw_pump(&l);
  /* Stream-scoped (spec 4.1): reset/stop with code 10, the session goes on. */
  assert_true(raw_get(R, bad, false)->reset);
  assert_int_equal(raw_get(R, bad, false)->reset_code, 10);
  assert_true(raw_get(R, bad, false)->stopped);
  assert_true(raw_get(R, badu, false)->stopped);
  assert_int_equal(raw_get(R, badu, false)->stop_code, 10);
  assert_true(raw_get(R, fetch, false)->reset);
  assert_int_equal(raw_get(R, fetch, false)->reset_code, 5);
  assert_false(moqc_session_is_closed(l.s));
  assert_false(R->closed);
  raw_link_del(&l);
  node_del(&P);
}

static void test_subscribe_not_found(void **state) {
  node P;
  node_new(&P, ID_P);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_P, &P);
  raw_peer *R = &l.raw;
  moqc_stream_id trk =
      raw_open(R, false, "06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F", false);
  moqc_stream_id sub = raw_open(
      R, false, "02 15 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01 00 00 00 00", false);
  raw_pump(&l);
  assert_true(raw_get(R, trk, false)->reset);
  assert_int_equal(raw_get(R, trk, false)->reset_code, 13);
  assert_true(raw_get(R, sub, false)->reset);
  assert_int_equal(raw_get(R, sub, false)->reset_code, 13);
  assert_false(moqc_session_is_closed(l.s));
  raw_link_del(&l);
  node_del(&P);
}

static void test_bad_setup_closes(void **state) {
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LITE_05, ID_R, NULL);
  /* A SETUP whose parameter block lies about its length. */
  raw_open(&l.raw, true, "01 03 02 01 01", true);
  raw_pump(&l);
  assert_true(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_error(l.s), MOQC_ERR_DECODE);
  assert_true(l.raw.closed);
  assert_int_equal(l.raw.close_code, 5);
  raw_link_del(&l);
}

static void test_server_waits_for_setup(void **state) {
  node R;
  node_new(&R, ID_R);
  pub p;
  pub_new(&p, &R, "demo/bbb", "video");
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LITE_05, ID_R, &R);
  /* An Announce request before the client's SETUP waits; a group stream is refused. */
  moqc_stream_id ann = raw_open(&l.raw, false, "01 02 00 00", false);
  moqc_stream_id grp = raw_open(&l.raw, true, "00 02 00 00", false);
  raw_pump(&l);
  raw_stream *a = raw_get(&l.raw, ann, false);
  assert_true(a == NULL || a->rx_len == 0);
  assert_true(raw_get(&l.raw, grp, false)->stopped);
  assert_int_equal(raw_get(&l.raw, grp, false)->stop_code, 10);
  /* The server's own Announce request also waits for the SETUP. */
  assert_null(raw_get(&l.raw, 1, false));
  raw_open(&l.raw, true, "01 0B 01 05 08 C0 12 34 56 78 9A BC DE", true);
  raw_pump(&l);
  raw_expect(&l.raw, ann, "09 C0 00 0A 0B 0C 0D 0E 0F 01 0B 01 08 64 65 6D 6F 2F 62 62 62 00",
             false);
  raw_expect(&l.raw, 1, "01 09 00 C0 00 0A 0B 0C 0D 0E 0F", false);
  raw_link_del(&l);
  pub_del(&p);
  node_del(&R);
}

static void test_legacy_client_bytes(void **state) {
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LEGACY, ID_S, NULL);
  raw_pump(&l);
  raw_expect(&l.raw, 0,
             "20 00 12 02 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 00", false);
  raw_send(&l.raw, 0, "21 00 09 C0 00 00 00 FF 0D AD 02 00", false);
  raw_pump(&l);
  assert_int_equal(moqc_session_version(l.s), 2);
  /* SESSION_INFO is read and ignored; the server's FIN ends the session cleanly. */
  raw_send(&l.raw, 0, "01 00", true);
  raw_pump(&l);
  assert_true(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_error(l.s), 0);
  raw_link_del(&l);
}

static void test_legacy_server_lite02(void **state) {
  node R;
  node_new(&R, ID_R);
  pub p;
  pub_new(&p, &R, "demo/bbb", "video");
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LEGACY, ID_R, &R);
  /* The JS CLIENT_SETUP: lite-02, lite-01, moqt-14, with draft-14 parameters. */
  moqc_stream_id setup = raw_open(&l.raw, false,
                                  "20 00 2A 03 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 "
                                  "C0 00 00 00 FF 00 00 0E 02 02 40 64 07 0B 6D 6F 71 2D 6C 69 "
                                  "74 65 2D 6A 73",
                                  false);
  raw_pump(&l);
  raw_expect(&l.raw, setup, "21 00 09 C0 00 00 00 FF 0D AD 02 00", false);
  assert_int_equal(moqc_session_version(l.s), 2);
  moqc_stream_id ann = raw_open(&l.raw, false, "01 01 00", false);
  raw_pump(&l);
  /* ANNOUNCE_INIT with the one broadcast. */
  raw_expect(&l.raw, ann, "0A 01 08 64 65 6D 6F 2F 62 62 62", false);
  /* The server asked for the client's announces too (lite-02: prefix only). */
  raw_expect(&l.raw, 1, "01 01 00", false);
  /* Unannounce: ANNOUNCE_BROADCAST(ended) with no hops on lite-02. */
  pub_del(&p);
  raw_pump(&l);
  raw_expect(&l.raw, ann, "0A 01 08 64 65 6D 6F 2F 62 62 62 0A 00 08 64 65 6D 6F 2F 62 62 62",
             false);
  raw_link_del(&l);
  node_del(&R);
}

static void test_legacy_no_common_version(void **state) {
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LEGACY, ID_R, NULL);
  /* Only moqt-14 offered. */
  raw_open(&l.raw, false, "20 00 0A 01 C0 00 00 00 FF 00 00 0E 00", false);
  raw_pump(&l);
  assert_true(moqc_session_is_closed(l.s));
  assert_int_equal(moqc_session_error(l.s), MOQC_ERR_VERSION);
  assert_int_equal(l.raw.close_code, 9);
  raw_link_del(&l);
}

/* The session as subscriber of a raw publisher: bad group streams are stopped one by one. */
static void test_bad_group_streams(void **state) {
  node S;
  node_new(&S, ID_S);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_S, &S);
  raw_peer *R = &l.raw;
  raw_open(R, true, "01 0B 01 05 08 C0 00 0A 0B 0C 0D 0E 0F", true);
  raw_pump(&l);
  /* Answer the session's Announce request: R itself, one active broadcast. */
  raw_expect(R, 0, "01 09 00 C0 00 11 11 22 22 33 33", false);
  raw_send(R, 0, "09 C0 00 0A 0B 0C 0D 0E 0F 01 0B 01 08 64 65 6D 6F 2F 62 62 62 00", false);
  raw_pump(&l);
  viewer v;
  viewer_new(&v, &S, "demo/bbb", "video");
  assert_int_equal(viewer_subscribe(&v), MOQC_ERR_PENDING);
  raw_pump(&l);
  raw_expect(R, 4, "06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F", false);
  raw_send(R, 4, "06 01 00 67 10 43 E8", true);
  raw_pump(&l);
  assert_int_equal(viewer_subscribe(&v), 0);
  raw_expect(R, 4, "06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F", true);
  /* SUBSCRIBE id 0 with the default preferences (5 s latency). */
  raw_expect(R, 8, "02 16 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 00 00 53 88 00 00",
             false);
  /* A frame of 64 MiB: stopped with 27. A FIN inside a frame: stopped with 14. An unknown
   * subscription: stopped with 0. A good group still arrives. */
  moqc_stream_id big = raw_open(R, true, "00 02 00 00 00 84 00 00 00", false);
  moqc_stream_id cut = raw_open(R, true, "00 02 00 01 00 05 AA BB", true);
  moqc_stream_id unk = raw_open(R, true, "00 02 07 02 00 01 AA", false);
  moqc_stream_id good = raw_open(R, true, "00 02 00 03 47 D0 03 AA BB CC", true);
  raw_pump(&l);
  assert_true(raw_get(R, big, false)->stopped);
  assert_int_equal(raw_get(R, big, false)->stop_code, 27);
  assert_int_equal(raw_get(R, unk, false)->stop_code, 0);
  assert_true(raw_get(R, unk, false)->stopped);
  (void)cut;
  assert_true(raw_get(R, good, false)->fin_sent);
  moqc_group_consumer *gc;
  int seen_good = 0, seen_cut = 0;
  while (moqc_track_subscriber_recv_group(v.ts, &gc, v.w) == 0) {
    uint64_t seq = moqc_group_consumer_sequence(gc);
    moqc_rcbuf *buf;
    uint64_t ts;
    int rv = moqc_group_consumer_read_frame(gc, &buf, &ts, v.w);
    if (seq == 3) {
      assert_int_equal(rv, 0);
      assert_int_equal(ts, 1000);
      assert_int_equal(moqc_rcbuf_len(buf), 3);
      moqc_rcbuf_decref(buf);
      seen_good = 1;
    } else if (seq == 1) {
      assert_int_equal(rv, MOQC_ERR_WRONG_SIZE);
      seen_cut = 1;
    }
    moqc_group_consumer_del(gc);
  }
  assert_true(seen_good);
  assert_true(seen_cut);
  assert_false(moqc_session_is_closed(l.s));
  viewer_del(&v);
  raw_link_del(&l);
  node_del(&S);
}

/* The @moq/net 0.3.4 publisher's own bytes (shared/vectors/moq-lite-05.txt, connection 0),
 * replayed against our relay session: announce, TRACK_INFO, two groups, SUBSCRIBE_END,
 * unannounce. */
static void test_js_publisher_replay(void **state) {
  node R;
  node_new(&R, ID_R);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LITE_05, ID_R, &R);
  raw_peer *P = &l.raw;
  raw_open(P, true, "01 0B 01 05 08 C0 0A A9 E6 56 8B 8F CF", true);
  raw_pump(&l);
  /* Our Announce request; the JS answers it and stops reading our Setup stream. */
  raw_expect(P, 1, "01 09 00 C0 00 0A 0B 0C 0D 0E 0F", false);
  P->tp.ops->stop_sending(P->tp.user_data, 3, 0);
  raw_send(P, 1, "09 C0 0A A9 E6 56 8B 8F CF 01 0B 01 08 64 65 6D 6F 2F 62 62 62 00", false);
  raw_pump(&l);
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(R.cons, &cur), 0);
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_non_null(ev.broadcast);
  assert_int_equal(ev.hop_count, 1);
  assert_int_equal(ev.hops[0], 0xAA9E6568B8FCFULL);
  moqc_broadcast_consumer_del(ev.broadcast);

  viewer v;
  viewer_new(&v, &R, "demo/bbb", "video");
  assert_int_equal(viewer_subscribe(&v), MOQC_ERR_PENDING);
  raw_pump(&l);
  raw_expect(P, 5, "06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F", false);
  raw_send(P, 5, "06 01 00 67 10 43 E8", true);
  raw_pump(&l);
  P->tp.ops->stop_sending(P->tp.user_data, 5, 0);
  assert_int_equal(viewer_subscribe(&v), 0);
  raw_pump(&l);
  raw_expect(P, 5, "06 0F 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F", true);
  raw_stream *sub = raw_get(P, 9, false);
  assert_non_null(sub);
  assert_true(sub->rx_len > 0 && sub->rx[0] == 0x02);
  /* The publisher's groups, then START + END (exclusive 2) and FIN. */
  raw_open(P, true, "00 02 00 00 47 D0 03 AA BB CC 40 42 02 DD EE", true);
  raw_open(P, true, "00 02 00 01 4F A0 03 AA BB CC 40 42 02 DD EE", true);
  raw_send(P, 9, "00 01 00 01 01 02", true);
  raw_pump(&l);
  uint64_t expect_ts[2][2] = {{1000, 1033}, {2000, 2033}};
  int groups = 0;
  moqc_group_consumer *gc;
  int rv;
  while ((rv = moqc_track_subscriber_recv_group(v.ts, &gc, v.w)) == 0) {
    uint64_t seq = moqc_group_consumer_sequence(gc);
    assert_true(seq < 2);
    moqc_rcbuf *buf;
    uint64_t ts;
    for (int f = 0; f < 2; f++) {
      assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), 0);
      assert_int_equal(ts, expect_ts[seq][f]);
      assert_int_equal(moqc_rcbuf_len(buf), f == 0 ? 3 : 2);
      moqc_rcbuf_decref(buf);
    }
    assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, &ts, v.w), MOQC_END);
    moqc_group_consumer_del(gc);
    groups++;
  }
  assert_int_equal(groups, 2);
  assert_int_equal(rv, MOQC_END);
  /* We FIN our side of the ended subscription. */
  assert_true(raw_get(P, 9, false)->rx_fin);

  /* Unannounce. */
  raw_send(P, 1, "0B 00 08 64 65 6D 6F 2F 62 62 62 00", false);
  raw_pump(&l);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_null(ev.broadcast);
  assert_false(moqc_session_is_closed(l.s));
  moqc_origin_announced_del(cur);
  viewer_del(&v);
  raw_link_del(&l);
  node_del(&R);
}

/* The @moq/net 0.3.4 publisher over the legacy handshake (shared/vectors/legacy-moql.txt,
 * connection 0), replayed against our relay session: lite-02 announce, untyped SUBSCRIBE_OK,
 * groups without timestamps, FIN at the end of the track. */
static void test_js_legacy_publisher_replay(void **state) {
  node R;
  node_new(&R, ID_R);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LEGACY, ID_R, &R);
  raw_peer *P = &l.raw;
  raw_open(P, false,
           "20 00 31 03 C0 00 00 00 FF 0D AD 02 C0 00 00 00 FF 0D AD 01 C0 00 00 00 FF 00 00 0E "
           "03 02 80 00 A4 55 80 04 0B 5A 01 07 0B 6D 6F 71 2D 6C 69 74 65 2D 6A 73",
           false);
  raw_pump(&l);
  raw_expect(P, 0, "21 00 09 C0 00 00 00 FF 0D AD 02 00", false);
  raw_expect(P, 1, "01 01 00", false);
  raw_send(P, 1, "0A 01 08 64 65 6D 6F 2F 62 62 62", false);
  raw_pump(&l);
  viewer v;
  viewer_new(&v, &R, "demo/bbb", "video");
  viewer_subscribe(&v);
  raw_pump(&l);
  /* lite-02: no Track stream; the track is accepted at once, SUBSCRIBE has the priority only. */
  assert_int_equal(viewer_subscribe(&v), 0);
  raw_expect(P, 5, "02 11 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 00", false);
  raw_send(P, 5, "00", false);
  raw_open(P, true, "00 02 00 00 03 AA BB CC 02 DD EE", true);
  raw_open(P, true, "00 02 00 01 03 AA BB CC 02 DD EE", true);
  raw_pump(&l);
  raw_send(P, 5, "", true);
  raw_pump(&l);
  int groups = 0;
  moqc_group_consumer *gc;
  int rv;
  while ((rv = moqc_track_subscriber_recv_group(v.ts, &gc, v.w)) == 0) {
    moqc_rcbuf *buf;
    assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, v.w), 0);
    assert_memory_equal(moqc_rcbuf_data(buf), "\xAA\xBB\xCC", 3);
    moqc_rcbuf_decref(buf);
    assert_int_equal(moqc_group_consumer_read_frame(gc, &buf, NULL, v.w), 0);
    assert_memory_equal(moqc_rcbuf_data(buf), "\xDD\xEE", 2);
    moqc_rcbuf_decref(buf);
    moqc_group_consumer_del(gc);
    groups++;
  }
  assert_int_equal(groups, 2);
  assert_int_equal(rv, MOQC_END);
  raw_send(P, 1, "0A 00 08 64 65 6D 6F 2F 62 62 62", false);
  raw_pump(&l);
  moqc_broadcast_consumer *bc;
  assert_int_equal(moqc_origin_consumer_consume_broadcast(R.cons, moqc_str_c("demo/bbb"), &bc),
                   MOQC_ERR_NOT_FOUND);
  assert_false(moqc_session_is_closed(l.s));
  viewer_del(&v);
  raw_link_del(&l);
  node_del(&R);
}

/* The @moq/net 0.3.4 publisher on lite-04 (shared/vectors/moq-lite-04.txt, connection 0):
 * the sender appends its own id to the hops; SUBSCRIBE_OK is typed with the preferences. */
static void test_js_lite04_publisher_replay(void **state) {
  node R;
  node_new(&R, ID_R);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LITE_04, ID_R, &R);
  raw_peer *P = &l.raw;
  raw_pump(&l);
  raw_expect(P, 1, "01 09 00 C0 00 0A 0B 0C 0D 0E 0F", false);
  raw_send(P, 1, "13 01 08 64 65 6D 6F 2F 62 62 62 01 C0 17 8B 71 28 4E 46 F3", false);
  raw_pump(&l);
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(R.cons, &cur), 0);
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_int_equal(ev.hop_count, 1);
  assert_int_equal(ev.hops[0], 0x178B71284E46F3ULL);
  moqc_broadcast_consumer_del(ev.broadcast);
  viewer v;
  viewer_new(&v, &R, "demo/bbb", "video");
  viewer_subscribe(&v);
  raw_pump(&l);
  assert_int_equal(viewer_subscribe(&v), 0);
  raw_stream *sub = raw_get(P, 5, false);
  assert_non_null(sub);
  assert_int_equal(sub->rx[0], 0x02);
  raw_send(P, 5, "00 05 01 00 00 00 00", false);
  raw_open(P, true, "00 02 00 00 03 AA BB CC 02 DD EE", true);
  raw_open(P, true, "00 02 00 01 03 AA BB CC 02 DD EE", true);
  raw_pump(&l);
  int groups = 0;
  moqc_group_consumer *gc;
  while (moqc_track_subscriber_recv_group(v.ts, &gc, v.w) == 0) {
    uint64_t count;
    assert_int_equal(moqc_group_consumer_finished(gc, &count, v.w), 0);
    assert_int_equal(count, 2);
    moqc_group_consumer_del(gc);
    groups++;
  }
  assert_int_equal(groups, 2);
  /* The end of the announcement. */
  raw_send(P, 1, "0B 00 08 64 65 6D 6F 2F 62 62 62 00", false);
  raw_pump(&l);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_null(ev.broadcast);
  moqc_origin_announced_del(cur);
  assert_false(moqc_session_is_closed(l.s));
  viewer_del(&v);
  raw_link_del(&l);
  node_del(&R);
}

/* A client that offers only lite-01: untyped SUBSCRIBE_OK carrying a priority, no timestamps. */
static void test_legacy_lite01(void **state) {
  node R;
  node_new(&R, ID_R);
  pub p;
  pub_new(&p, &R, "demo/bbb", "video");
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LEGACY, ID_R, &R);
  raw_peer *C = &l.raw;
  raw_open(C, false, "20 00 0A 01 C0 00 00 00 FF 0D AD 01 00", false);
  raw_pump(&l);
  raw_expect(C, 0, "21 00 09 C0 00 00 00 FF 0D AD 01 00", false);
  assert_int_equal(moqc_session_version(l.s), 1);
  moqc_stream_id sub =
      raw_open(C, false, "02 11 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 07", false);
  raw_pump(&l);
  raw_expect(C, sub, "01 07", false);
  moqc_group_producer *gp;
  assert_int_equal(moqc_track_producer_append_group(p.tp, moqc__mem_now(l.pair), &gp), 0);
  assert_int_equal(moqc_group_producer_write_frame(gp, (const uint8_t *)"\xAA\xBB\xCC", 3, 5), 0);
  assert_int_equal(moqc_group_producer_finish(gp), 0);
  moqc_group_producer_del(gp);
  raw_pump(&l);
  raw_expect(C, 3, "00 02 00 00 03 AA BB CC", true);
  raw_link_del(&l);
  pub_del(&p);
  node_del(&R);
}

/* Strict mode: the same violations that are stream-scoped by default close the session. */
static void test_strict_mode(void **state) {
  static const struct {
    bool uni;
    const char *hex;
    uint64_t code;
  } cases[] = {
      {false, "07 01 02 03", 10},  /* unknown bidi type */
      {true, "09 00", 10},         /* unknown uni type */
      {false, "02 02 00 00", 5},   /* malformed SUBSCRIBE */
      {false, "06 01 FF", 5},      /* malformed TRACK */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    node P;
    node_new(&P, ID_P);
    raw_link l;
    raw_link_new_strict(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_P, &P, true);
    raw_open(&l.raw, cases[i].uni, cases[i].hex, false);
    raw_pump(&l);
    assert_true(moqc_session_is_closed(l.s));
    assert_true(l.raw.closed);
    assert_int_equal(l.raw.close_code, cases[i].code);
    raw_link_del(&l);
    node_del(&P);
  }
}

/* lite-05 re-announcements: the same first hop is a reroute (kept, no end seen); a different
 * first hop replaces the broadcast (end, then active). */
static void test_reannounce_lite05(void **state) {
  node S;
  node_new(&S, ID_S);
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LITE_05, ID_S, &S);
  raw_peer *R = &l.raw;
  raw_open(R, true, "01 0B 01 05 08 C0 00 0A 0B 0C 0D 0E 0F", true);
  raw_pump(&l);
  /* active demo/bbb from P (1 hop) */
  raw_send(R, 0, "09 C0 00 0A 0B 0C 0D 0E 0F 01 "
                 "13 01 08 64 65 6D 6F 2F 62 62 62 01 C0 12 34 56 78 9A BC DE", false);
  raw_pump(&l);
  moqc_origin_announced *cur;
  assert_int_equal(moqc_origin_consumer_announced(S.cons, &cur), 0);
  moqc_origin_announce ev;
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_non_null(ev.broadcast);
  moqc_broadcast_consumer_del(ev.broadcast);
  /* Rerouted through another relay (2 hops, same first hop): nothing changes locally. */
  raw_send(R, 0, "15 01 08 64 65 6D 6F 2F 62 62 62 02 C0 12 34 56 78 9A BC DE 40 77", false);
  raw_pump(&l);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), MOQC_ERR_PENDING);
  /* A different original publisher: the old broadcast ends, the new one is active. */
  raw_send(R, 0, "0D 01 08 64 65 6D 6F 2F 62 62 62 01 40 99", false);
  raw_pump(&l);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_null(ev.broadcast);
  assert_int_equal(moqc_origin_announced_next(cur, &ev, NULL), 0);
  assert_non_null(ev.broadcast);
  assert_int_equal(ev.hop_count, 2);
  assert_int_equal(ev.hops[0], 0x99);
  moqc_broadcast_consumer_del(ev.broadcast);
  moqc_origin_announced_del(cur);
  assert_false(moqc_session_is_closed(l.s));
  raw_link_del(&l);
  node_del(&S);
}

/* Legacy client: the server's Announce stream overtakes its SERVER_SETUP (independent streams,
 * as WebTransport delivers them); the client keeps it and answers once the version is known. */
static void test_legacy_stream_before_server_setup(void **state) {
  node C;
  node_new(&C, ID_S);
  pub p;
  pub_new(&p, &C, "demo/bbb", "video");
  raw_link l;
  raw_link_new(&l, MOQC__MEM_CLIENT, MOQC_SESSION_VERSION_LEGACY, ID_S, &C);
  raw_pump(&l);
  moqc_stream_id ann = raw_open(&l.raw, false, "01 01 00", false);
  raw_pump(&l);
  /* Nothing yet: the version is unknown, the stream waits. */
  raw_stream *a = raw_get(&l.raw, ann, false);
  assert_true(a->rx_len == 0 && !a->reset && !a->stopped);
  raw_send(&l.raw, 0, "21 00 09 C0 00 00 00 FF 0D AD 02 00", false);
  raw_pump(&l);
  assert_int_equal(moqc_session_version(l.s), 2);
  raw_expect(&l.raw, ann, "0A 01 08 64 65 6D 6F 2F 62 62 62", false);
  assert_false(moqc_session_is_closed(l.s));
  raw_link_del(&l);
  pub_del(&p);
  node_del(&C);
}

/* Max latency 0 (what @moq/net sends): a group that is not backlogged here, only waiting for
 * its last frames, is not reset when a newer group starts. */
static void test_latency_zero_keeps_caught_up_group(void **state) {
  node R;
  node_new(&R, ID_R);
  pub p;
  pub_new(&p, &R, "demo/bbb", "video");
  raw_link l;
  raw_link_new(&l, MOQC__MEM_SERVER, MOQC_SESSION_VERSION_LITE_05, ID_R, &R);
  raw_peer *C = &l.raw;
  raw_open(C, true, "01 0B 01 05 08 C0 00 11 11 22 22 33 33", true);
  moqc_stream_id sub = raw_open(
      C, false, "02 15 00 08 64 65 6D 6F 2F 62 62 62 05 76 69 64 65 6F 01 00 00 00 00", false);
  raw_pump(&l);
  moqc_group_producer *g0, *g1;
  assert_int_equal(moqc_track_producer_append_group(p.tp, moqc__mem_now(l.pair), &g0), 0);
  assert_int_equal(moqc_group_producer_write_frame(g0, (const uint8_t *)"A", 1, 0), 0);
  raw_pump(&l);
  moqc__mem_advance(l.pair, 10 * MOQC_MILLISECONDS);
  assert_int_equal(moqc_track_producer_append_group(p.tp, moqc__mem_now(l.pair), &g1), 0);
  assert_int_equal(moqc_group_producer_write_frame(g1, (const uint8_t *)"X", 1, 10), 0);
  raw_pump(&l);
  moqc__mem_advance(l.pair, 10 * MOQC_MILLISECONDS);
  assert_int_equal(moqc_group_producer_write_frame(g0, (const uint8_t *)"B", 1, 5), 0);
  assert_int_equal(moqc_group_producer_finish(g0), 0);
  assert_int_equal(moqc_group_producer_finish(g1), 0);
  raw_pump(&l);
  moqc_group_producer_del(g0);
  moqc_group_producer_del(g1);
  raw_expect(C, sub, "00 01 00", false);
  /* Group 0 on the relay's first group stream (uni 7: 3 is its SETUP), whole and FINed. */
  raw_expect(C, 7, "00 02 00 00 00 01 41 0A 01 42", true);
  raw_stream *g0s = raw_get(C, 7, false);
  assert_false(g0s->reset);
  raw_expect(C, 11, "00 02 00 01 14 01 58", true);
  raw_link_del(&l);
  pub_del(&p);
  node_del(&R);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_lite05),
      cmocka_unit_test(test_unknown_stream_type),
      cmocka_unit_test(test_subscribe_not_found),
      cmocka_unit_test(test_bad_setup_closes),
      cmocka_unit_test(test_server_waits_for_setup),
      cmocka_unit_test(test_legacy_client_bytes),
      cmocka_unit_test(test_legacy_server_lite02),
      cmocka_unit_test(test_legacy_no_common_version),
      cmocka_unit_test(test_bad_group_streams),
      cmocka_unit_test(test_js_publisher_replay),
      cmocka_unit_test(test_js_legacy_publisher_replay),
      cmocka_unit_test(test_js_lite04_publisher_replay),
      cmocka_unit_test(test_legacy_lite01),
      cmocka_unit_test(test_strict_mode),
      cmocka_unit_test(test_reannounce_lite05),
      cmocka_unit_test(test_legacy_stream_before_server_setup),
      cmocka_unit_test(test_latency_zero_keeps_caught_up_group),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
