#!/usr/bin/env bash
# moqc-relay's defenses over WebSocket, each while a well-behaved npm publisher streams to an npm
# and a moqc subscriber that must still receive every frame with exact counts:
#  a) bytes that are not WebSocket framing after the upgrade: dropped (framing error), and a
#     binary message holding no valid QMux frame: CONNECTION_CLOSE FRAME_ENCODING_ERROR, WS 1002;
#  b) a publisher whose frame header declares 32 MiB + 1: that group stream is stopped with
#     moq-lite code 27 (frame too large) and its subscriber sees the group aborted;
#  c) 1100 uni streams against the limit of 1000: CONNECTION_CLOSE STREAM_LIMIT_ERROR, WS 1002;
#  d) a slowloris (head sent one byte per second): dropped by the head timeout
#     (--web-http-head-timeout 4000) without an answer, also when the slow head is the second
#     request of a keep-alive connection;
#  e) a text message: CONNECTION_CLOSE PROTOCOL_VIOLATION, WS 1003.
# The relay's log names each error; /stats and /metrics then equal what the clients counted.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
need_interop
start_relay --stats-interval 600 --web-http-head-timeout 4000

# The good stream: 30 groups of 2 frames, one every 200 ms (about 6 s, to cover the slowloris).
PUB_START_FILE="$WORK/start" PUB_HOLD_FILE="$WORK/hold" npm_peer pub.mjs "$URL/anon" good 30 2 200 200 >"$WORK/pub.json" 2>"$WORK/pub.err" &
P=$!
WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" good 60 40 >"$WORK/npm.json" 2>"$WORK/npm.err" &
S1=$!
"$BIN/moqc" sub "$URL/anon" good --count 60 --check npm --json --timeout 40 >"$WORK/moqc.json" 2>"$WORK/moqc.err" &
S2=$!
for _ in $(seq 1 300); do
  curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/good":{[^}]*"subscriptions":2,' && break
  sleep 0.05
done
curl -sf "$STATS_URL" | grep -q '"publisher":{"anon/good":{[^}]*"subscriptions":2,' || fail "good subscribers not in"
touch "$WORK/start"

# d) runs alongside the others.
T0=$(date +%s%N)
npm_peer attack.mjs "$URL" slowloris >"$WORK/slowloris.json" 2>"$WORK/slowloris.err" &
SL=$!
npm_peer attack.mjs "$URL" slowloris-keepalive >"$WORK/slowloris2.json" 2>"$WORK/slowloris2.err" &
SL2=$!
attack() {
  npm_peer attack.mjs "$URL" "$1" >"$WORK/$1.json" 2>"$WORK/$1.err" ||
    { cat "$WORK/$1.json" "$WORK/$1.err"; fail "attack $1: the relay did not react as expected"; }
}
attack garbage-tcp
attack garbage-qmux
attack flood
attack text
# b) needs a viewer so that the relay subscribes to the attacker's broadcast.
"$BIN/moqc" sub "$URL/anon" evil --check none --json --timeout 6 >"$WORK/evil_sub.json" 2>"$WORK/evil_sub.err" &
E=$!
attack bigframe
# Its viewer may or may not see the refused group (the relay's first upstream subscription can
# precede the viewer's SUBSCRIBE); if it does, the group ended with "frame too large".
wait $E || true
if grep -q 'ended after' "$WORK/evil_sub.err"; then
  grep -q 'frame too large' "$WORK/evil_sub.err" || fail "the attacked group: $(cat "$WORK/evil_sub.err")"
fi
wait $SL || { cat "$WORK/slowloris.json" "$WORK/slowloris.err"; fail "slowloris not dropped"; }
node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  if (!(o.closed_after_ms >= 3500 && o.closed_after_ms < 7000 && !o.answered)) process.exit(1)' \
  "$WORK/slowloris.json" || fail "slowloris: $(cat "$WORK/slowloris.json")"
# The same on a keep-alive connection's second request: the head timeout, not the 30 s keep-alive.
wait $SL2 || { cat "$WORK/slowloris2.json" "$WORK/slowloris2.err"; fail "keep-alive slowloris not dropped in time"; }
node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  if (!(o.closed_after_ms >= 3500 && o.closed_after_ms < 7000 && !o.answered)) process.exit(1)' \
  "$WORK/slowloris2.json" || fail "keep-alive slowloris: $(cat "$WORK/slowloris2.json")"

wait $S1 || { tail -20 "$WORK/npm.err"; fail "good npm subscriber failed"; }
wait $S2 || { tail -20 "$WORK/moqc.err"; fail "good moqc subscriber failed"; }
touch "$WORK/hold"   # end the track once both read every frame (see relay_fanout.sh)
wait $P || { tail -20 "$WORK/pub.err"; fail "good publisher failed"; }
expect_json "$WORK/pub.json" groups 30 frames 60 bytes 12000
expect_json "$WORK/npm.json" groups 30 frames 60 bytes 12000
expect_json "$WORK/moqc.json" groups 30 frames 60 bytes 12000 bad_frames 0 aborted_groups 0

# The relay named each error.
for want in 'closed: peer code 10 (websocket framing error)' 'closed: local code 7 (malformed frame)' \
  'closed: local code 4 (stream limit)' 'closed: local code 10 (text message)'; do
  grep -qF "$want" "$WORK/relay.log" || fail "relay log lacks: $want"
done
sleep 0.3
# Sessions: the good 3, four raw attackers, the big-frame publisher and its viewer (the
# slowloris never got one). Only anon/good is checked for exactness; anon/evil is in /metrics.
npm_peer check_totals.mjs "http://127.0.0.1:$INTERNAL_PORT" anon/good "$WORK/pub.json" "$WORK/npm.json" \
  "$WORK/moqc.json" --sessions 9 --others 1 || fail "metering does not match the clients"
curl -sf "$STATS_URL" | grep -q '"publisher":{[^}]*"anon/evil":{[^}]*"frames":0,' ||
  fail "the refused frame was metered: $(curl -sf "$STATS_URL")"
stop_relay
echo "ok: garbage, oversize frame (27), stream flood, slowloris ($(grep -o '"closed_after_ms":[0-9]*' "$WORK/slowloris.json")), text: each refused; good stream exact"
