#!/usr/bin/env bash
# npm publisher -> moqc-relay -> two npm subscribers over WebSocket (qmux-01.moq-lite-05),
# every frame's bytes checked by the subscribers, then the relay's /stats must equal exactly
# what the clients counted (ingress once, egress once per subscriber, viewers, sessions).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
need_interop
# A long stats interval: the stats broadcast's drain reclaims closed entries from /stats.
start_relay --stats-interval 600

WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" clock-test 24 30 >"$WORK/sub1.json" 2>"$WORK/sub1.err" &
S1=$!
WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" clock-test 24 30 >"$WORK/sub2.json" 2>"$WORK/sub2.err" &
S2=$!
# 8 groups x 3 frames: each subscriber reads exactly the 24 frames (reading "until the end"
# would depend on the client delivering a group cut by the end of the subscription).
PUB_DELAY_MS=2000 npm_peer pub.mjs "$URL/anon" clock-test 8 3 500 50 >"$WORK/pub.json" 2>"$WORK/pub.err" ||
  { cat "$WORK/pub.err"; fail "publisher failed"; }
wait $S1 || { tail -20 "$WORK/sub1.err"; fail "subscriber 1 failed"; }
wait $S2 || { tail -20 "$WORK/sub2.err"; fail "subscriber 2 failed"; }
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" anon/clock-test "$WORK/pub.json" "$WORK/sub1.json" "$WORK/sub2.json" ||
  fail "metering does not match the clients"
stop_relay
echo "ok: $(cat "$WORK/pub.json") -> $(cat "$WORK/sub1.json") + $(cat "$WORK/sub2.json")"
