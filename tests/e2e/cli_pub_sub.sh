#!/usr/bin/env bash
# moqc pub -> moqc-relay -> moqc sub over WebSocket: every frame's bytes checked by the
# subscriber, its counts equal to the publisher's exactly, then the relay's /stats equal to what
# the clients counted. A second run checks `moqc sub --count N` (exit 0 after exactly N frames),
# a third a subscriber timing out (exit 3) and one refused for a bad flag (exit 2), and a fourth a
# publisher killed mid-group (the subscriber exits 1).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
start_relay --server-bind "127.0.0.1:$(free_port)" --stats-interval 600

# 1. The whole track: 6 groups of 5 frames of 300 bytes at 300 frames/s.
"$BIN/moqc" sub "$URL/anon" clock-test --json --timeout 20 >"$WORK/sub.json" 2>"$WORK/sub.err" &
S=$!
"$BIN/moqc" pub "$URL/anon" clock-test --wait-subscriber --delay 200 --groups 6 --frames-per-group 5 \
  --frame-size 300 --fps 300 >"$WORK/pub.json" 2>"$WORK/pub.err" ||
  { cat "$WORK/pub.err"; fail "publisher failed"; }
wait $S || { cat "$WORK/sub.err"; fail "subscriber failed"; }
expect_json "$WORK/pub.json" groups 6 frames 30 bytes 9000
expect_json "$WORK/sub.json" groups 6 frames 30 bytes 9000 bad_frames 0 gaps 0 aborted_groups 0
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" anon/clock-test "$WORK/pub.json" "$WORK/sub.json" ||
  fail "metering does not match the clients"

# 2. --count: exit 0 after exactly 7 frames, each printed on a line.
"$BIN/moqc" sub "$URL/anon" counted --count 7 --timeout 20 >"$WORK/sub2.out" 2>"$WORK/sub2.err" &
S=$!
"$BIN/moqc" pub "$URL/anon" counted --wait-subscriber --delay 200 --groups 4 --frames-per-group 3 \
  --frame-size 64 --fps 200 >"$WORK/pub2.json" 2>"$WORK/pub2.err" ||
  { cat "$WORK/pub2.err"; fail "publisher 2 failed"; }
wait $S || { cat "$WORK/sub2.err"; fail "subscriber 2 failed"; }
[ "$(grep -c '^group [0-9]* frame [0-9]* seq' "$WORK/sub2.out")" -eq 7 ] ||
  { cat "$WORK/sub2.out"; fail "subscriber 2 did not print 7 frame lines"; }
grep -q '^summary: groups 3 frames 7 bytes 448 gaps 0 bad 0 ' "$WORK/sub2.out" ||
  { cat "$WORK/sub2.out"; fail "subscriber 2 summary"; }

# 3. Nobody publishes: timeout (3). A bad flag: usage error (2) naming it.
rv=0
"$BIN/moqc" sub "$URL/anon" nobody --timeout 0.5 --json >"$WORK/sub3.json" 2>"$WORK/sub3.err" || rv=$?
[ "$rv" -eq 3 ] || fail "timeout: exit $rv, want 3"
expect_json "$WORK/sub3.json" frames 0
rv=0
"$BIN/moqc" sub "$URL/anon" x --count=-1 2>"$WORK/bad.err" || rv=$?
[ "$rv" -eq 2 ] && grep -q -- '--count' "$WORK/bad.err" || fail "bad flag: exit $rv: $(cat "$WORK/bad.err")"
rv=0
"$BIN/moqc" sub "https://127.0.0.1:$QUIC_PORT/anon" x 2>"$WORK/wt.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/wt.err" || fail "https with the self-signed certificate under the system roots: exit $rv: $(cat "$WORK/wt.err")"

# 4. The publisher dies in the middle of a group: the relay ends the broadcast, the subscriber
#    sees the group cut short and fails (1) instead of taking it for the end of the track.
"$BIN/moqc" sub "$URL/anon" crash --timeout 20 >"$WORK/sub4.out" 2>"$WORK/sub4.err" &
S=$!
"$BIN/moqc" pub "$URL/anon" crash --wait-subscriber --frames-per-group 100 --fps 50 \
  >/dev/null 2>"$WORK/pub4.err" &
P=$!
for _ in $(seq 1 200); do
  [ "$(grep -c '^group 0 frame' "$WORK/sub4.out")" -ge 3 ] && break
  sleep 0.05
done
kill -9 $P
wait $P 2>/dev/null || true
rv=0
wait $S || rv=$?
[ "$rv" -eq 1 ] && grep -q 'cut short' "$WORK/sub4.err" ||
  fail "publisher crash: subscriber exit $rv: $(tail -3 "$WORK/sub4.err")"

stop_relay
echo "ok: $(cat "$WORK/pub.json") -> $(cat "$WORK/sub.json")"
