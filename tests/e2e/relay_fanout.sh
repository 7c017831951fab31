#!/usr/bin/env bash
# Fan-out through moqc-relay over WebSocket: one npm publisher, five npm subscribers (@moq/net)
# and two `moqc sub` on the same broadcast at once. Every subscriber checks every frame's bytes
# and reads exactly what was published (32 frames each, then leaves); the relay's egress is 7 x its ingress in /stats and
# /metrics, with 7 viewers and 8 sessions opened and closed.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
need_interop
start_relay --stats-interval 600

PUB_START_FILE="$WORK/start" PUB_HOLD_FILE="$WORK/hold" npm_peer pub.mjs "$URL/anon" fan 8 4 300 20 >"$WORK/pub.json" 2>"$WORK/pub.err" &
P=$!
SUBS=()
for i in 1 2 3 4 5; do
  WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" fan 32 30 >"$WORK/npm$i.json" 2>"$WORK/npm$i.err" &
  SUBS+=($!)
done
for i in 1 2; do
  "$BIN/moqc" sub "$URL/anon" fan --count 32 --check npm --json --timeout 30 >"$WORK/moqc$i.json" 2>"$WORK/moqc$i.err" &
  SUBS+=($!)
done
# Start the groups once all 7 viewers are subscribed.
for _ in $(seq 1 400); do
  curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/fan":{[^}]*"subscriptions":7,' && break
  sleep 0.05
done
curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/fan":{[^}]*"subscriptions":7,' ||
  fail "7 subscribers did not subscribe: $(curl -sf "$STATS_URL")"
touch "$WORK/start"
n=0
for pid in "${SUBS[@]}"; do
  n=$((n + 1))
  wait "$pid" || { tail -20 "$WORK"/*.err; fail "subscriber $n failed"; }
done
# The track ends only once every subscriber has read its 32 frames: @moq/net 0.3.4 closes a group
# whose frames it has not parsed yet when the subscription ends, so an early end can cut the
# last group on a loaded machine (a client race, not the relay's).
touch "$WORK/hold"
wait $P || { tail -20 "$WORK/pub.err"; fail "publisher failed"; }
expect_json "$WORK/pub.json" groups 8 frames 32 bytes 9600
for f in npm1 npm2 npm3 npm4 npm5; do expect_json "$WORK/$f.json" groups 8 frames 32 bytes 9600; done
for f in moqc1 moqc2; do expect_json "$WORK/$f.json" groups 8 frames 32 bytes 9600 bad_frames 0 aborted_groups 0; done
sleep 0.3
npm_peer check_totals.mjs "http://127.0.0.1:$INTERNAL_PORT" anon/fan "$WORK/pub.json" \
  "$WORK"/npm?.json "$WORK"/moqc?.json --sessions 8 || fail "metering does not match the clients"
stop_relay
echo "ok: $(cat "$WORK/pub.json") -> 5 npm + 2 moqc subscribers, each exact; egress 7 x ingress"
