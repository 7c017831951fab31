#!/usr/bin/env bash
# moqc pub -> moqc-relay -> two moqc sub at once: both check every frame and count exactly what
# was published; the relay's /stats equal the clients' counts (ingress once, egress per viewer).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
start_relay --server-bind "127.0.0.1:$(free_port)" --stats-interval 600

"$BIN/moqc" sub "$URL/anon" two --json --timeout 20 >"$WORK/sub1.json" 2>"$WORK/sub1.err" &
S1=$!
"$BIN/moqc" sub "$URL/anon" two --json --timeout 20 >"$WORK/sub2.json" 2>"$WORK/sub2.err" &
S2=$!
# Start publishing once both subscribers are connected (the relay counts their sessions): both
# then see the announce at once and subscribe within milliseconds; the delay after the first
# subscription covers the second.
for _ in $(seq 1 200); do
  curl -s "$STATS_URL" | grep -q '"anon":{"sessions":2,' && break
  sleep 0.05
done
curl -s "$STATS_URL" | grep -q '"anon":{"sessions":2,' || fail "the subscribers did not connect"
"$BIN/moqc" pub "$URL/anon" two --wait-subscriber --delay 300 --groups 8 --frames-per-group 4 \
  --frame-size 1000 --fps 400 >"$WORK/pub.json" 2>"$WORK/pub.err" ||
  { cat "$WORK/pub.err"; fail "publisher failed"; }
wait $S1 || { cat "$WORK/sub1.err"; fail "subscriber 1 failed"; }
wait $S2 || { cat "$WORK/sub2.err"; fail "subscriber 2 failed"; }
expect_json "$WORK/pub.json" groups 8 frames 32 bytes 32000
for s in sub1 sub2; do
  expect_json "$WORK/$s.json" groups 8 frames 32 bytes 32000 bad_frames 0 gaps 0 aborted_groups 0
done
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" anon/two "$WORK/pub.json" "$WORK/sub1.json" "$WORK/sub2.json" ||
  fail "metering does not match the clients"
stop_relay
echo "ok: $(cat "$WORK/pub.json") -> 2 x $(cat "$WORK/sub1.json")"
