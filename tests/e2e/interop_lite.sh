#!/usr/bin/env bash
# The legacy npm client @moq/lite 0.2.2 (bare qmux-00, SETUP negotiation to moq-lite-02) through
# moqc-relay over WebSocket: a @moq/lite publisher -> relay -> a @moq/lite and an @moq/net
# subscriber (lite-02 in, lite-05 out), every frame's bytes checked, then /stats and /metrics
# equal exactly what the clients counted.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
need_interop
[ -d "$INTEROP/node_modules/@moq/lite" ] || fail "@moq/lite missing: run scripts/deps.sh"
start_relay --stats-interval 600

WAIT_ANNOUNCE=1 npm_peer lite_sub.mjs "$URL/anon" lite-test 18 30 >"$WORK/sub1.json" 2>"$WORK/sub1.err" &
S1=$!
WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" lite-test 18 30 >"$WORK/sub2.json" 2>"$WORK/sub2.err" &
S2=$!
PUB_START_FILE="$WORK/start" npm_peer lite_pub.mjs "$URL/anon" lite-test 6 3 150 40 >"$WORK/pub.json" 2>"$WORK/pub.err" &
P=$!
# The groups start once both subscribers are subscribed.
for _ in $(seq 1 300); do
  curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/lite-test":{[^}]*"subscriptions":2,' && break
  sleep 0.05
done
curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/lite-test":{[^}]*"subscriptions":2,' || fail "subscribers not in"
touch "$WORK/start"
wait $P || { tail -20 "$WORK/pub.err"; fail "@moq/lite publisher failed"; }
wait $S1 || { tail -20 "$WORK/sub1.err"; fail "@moq/lite subscriber failed"; }
wait $S2 || { tail -20 "$WORK/sub2.err"; fail "@moq/net subscriber failed"; }
grep -q '"version":"moq-lite-02"' "$WORK/pub.json" || fail "publisher did not speak lite-02: $(cat "$WORK/pub.json")"
grep -q '"version":"moq-lite-02"' "$WORK/sub1.json" || fail "subscriber did not speak lite-02: $(cat "$WORK/sub1.json")"
grep -q 'websocket qmux-00 root "anon"' "$WORK/relay.log" || fail "relay did not pick bare qmux-00"
sleep 0.3
npm_peer check_totals.mjs "http://127.0.0.1:$INTERNAL_PORT" anon/lite-test "$WORK/pub.json" \
  "$WORK/sub1.json" "$WORK/sub2.json" --sessions 3 || fail "metering does not match the clients"
stop_relay
echo "ok: @moq/lite $(cat "$WORK/pub.json") -> @moq/lite $(cat "$WORK/sub1.json") + @moq/net $(cat "$WORK/sub2.json")"
