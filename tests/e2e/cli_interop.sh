#!/usr/bin/env bash
# The moqc CLI with the npm client (@moq/net 0.3.4, tests/interop) through moqc-relay:
# 1. moqc pub (npm payload format) -> relay -> npm sub.mjs, which checks every frame's bytes;
# 2. npm pub.mjs -> relay -> moqc sub --check npm, which checks every frame's bytes.
# Each time the counts match exactly and the relay's /stats equal what the clients counted.
# The publishers wait a little after the first subscription: on a TRACK request the relay opens
# an upstream subscription that it cancels until the viewer's SUBSCRIBE follows, and a group sent
# in that window reaches the relay twice (and is metered twice, rightly).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
need_interop
start_relay --server-bind "127.0.0.1:$(free_port)" --stats-interval 600

# 1. moqc -> npm. sub.mjs subscribes with max latency 0 ("only the latest group"), so the relay
# resets a group still in flight when the next one arrives, which sub.mjs treats as fatal: frames
# are paced 33 ms apart so that a slow (loaded) machine still delivers each group in time.
WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" to-npm 0 30 >"$WORK/npm_sub.json" 2>"$WORK/npm_sub.err" &
S=$!
"$BIN/moqc" pub "$URL/anon" to-npm --payload npm --wait-subscriber --delay 300 --groups 5 --frames-per-group 3 \
  --frame-size 200 --fps 30 >"$WORK/moqc_pub.json" 2>"$WORK/moqc_pub.err" ||
  { cat "$WORK/moqc_pub.err"; fail "moqc pub failed"; }
wait $S || { tail -20 "$WORK/npm_sub.err"; fail "npm subscriber failed"; }
expect_json "$WORK/moqc_pub.json" groups 5 frames 15 bytes 3000
expect_json "$WORK/npm_sub.json" groups 5 frames 15 bytes 3000
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" anon/to-npm "$WORK/moqc_pub.json" "$WORK/npm_sub.json" ||
  fail "metering does not match the clients (moqc -> npm)"

# 2. npm -> moqc
"$BIN/moqc" sub "$URL/anon" from-npm --check npm --json --timeout 30 >"$WORK/moqc_sub.json" \
  2>"$WORK/moqc_sub.err" &
S=$!
PUB_DELAY_MS=700 npm_peer pub.mjs "$URL/anon" from-npm 6 3 150 30 >"$WORK/npm_pub.json" \
  2>"$WORK/npm_pub.err" || { tail -20 "$WORK/npm_pub.err"; fail "npm publisher failed"; }
wait $S || { cat "$WORK/moqc_sub.err"; fail "moqc sub failed"; }
expect_json "$WORK/npm_pub.json" groups 6 frames 18 bytes 2700
expect_json "$WORK/moqc_sub.json" groups 6 frames 18 bytes 2700 bad_frames 0 aborted_groups 0
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" anon/from-npm "$WORK/npm_pub.json" "$WORK/moqc_sub.json" ||
  fail "metering does not match the clients (npm -> moqc)"
stop_relay
echo "ok: moqc $(cat "$WORK/moqc_pub.json") -> npm $(cat "$WORK/npm_sub.json");" \
  "npm $(cat "$WORK/npm_pub.json") -> moqc $(cat "$WORK/moqc_sub.json")"
