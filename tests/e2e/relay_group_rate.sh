#!/usr/bin/env bash
# One broadcast of 1-frame groups (one uni stream per group) through moqc-relay over WebSocket,
# moqc bench publishing and subscribing at 1000 groups/s for 4 s, while the relay is frozen
# (SIGSTOP) three times for 150 ms, as a busy machine does to it. After each freeze the relay
# finds a backlog of 150 groups from the publisher and opens 150 streams to the subscriber at
# once, before it reads any MAX_STREAMS sent meanwhile; the publisher, too, keeps opening
# streams while the relay does not read. Every group must arrive only when each side's stream
# credit (plus the groups a session lets wait for it, settings.group_wait_max) covers the
# backlog: with 100 uni streams (the old default, credit back in steps of 25) and only the newest
# waiting group kept, each freeze lost about 50 groups; with 1000 none. Every group must arrive,
# and the relay must not log a group dropped for lack of stream credit.
#
# Then the browser case: an @moq/net subscriber (tests/interop/sub.mjs) advertises only 100 uni
# streams, which moqc cannot change. moqc pub sends 3000 1-frame groups at 1000/s through the
# relay, frozen three times for 100 ms: each freeze leaves about 130 groups for the subscriber
# at once, more than its 100 streams; the relay's session queues the rest (up to 256 per subscription)
# and sends them as the subscriber frees streams. Every group must arrive (the single waiting
# group of old lost about 30 per freeze). The subscriber asks for a 10 s max latency, as
# sub.mjs does: with @moq/net's default 0 the relay also resets groups still backlogged on the
# link when a newer one arrives (spec 5.1 latency expiry), a separate matter. Last, the browser
# case once more with moqc-relay --server-group-wait 1: groups are dropped for lack of credit.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
start_relay --stats-interval 600

"$BIN/moqc" bench "$URL/" --prefix rate --publishers 1 --subscribers 1 --fps 1000 \
  --group-frames 1 --frame-size 1000 --duration 4 --startup-timeout 10 --drain 5 \
  >"$WORK/bench.json" 2>"$WORK/bench.err" &
B=$!
for _ in $(seq 1 200); do
  grep -q ' run ' "$WORK/bench.err" 2>/dev/null && break
  kill -0 "$B" 2>/dev/null || break
  sleep 0.05
done
grep -q ' run ' "$WORK/bench.err" || { cat "$WORK/bench.err"; fail "bench did not start publishing"; }
for _ in 1 2 3; do
  kill -STOP "$RELAY_PID"
  sleep 0.15
  kill -CONT "$RELAY_PID"
  sleep 0.8
done
wait "$B" || { cat "$WORK/bench.err"; fail "bench failed"; }
expect_json "$WORK/bench.json" sent_groups 4000 received_groups 4000 complete_groups 4000 \
  lost_groups 0 bad_frames 0 delivered_fraction 1
BENCH_MAX=$(grep -o '"latency_max_ms":[0-9.]*' "$WORK/bench.json")

# browser_case NAME: an @moq/net subscriber (100 uni streams) reads 3000 1-frame groups that
# moqc pub sends at 1000/s to broadcast rate/NAME through the relay, frozen three times for
# 100 ms; the subscriber's counts are left in $WORK/NAME.json.
browser_case() {
  local name=$1 S P
  WAIT_ANNOUNCE=1 LATENCY_MAX_MS=10000 npm_peer sub.mjs "$URL/" "rate/$name" 0 40 \
    >"$WORK/$name.json" 2>"$WORK/$name.err" &
  S=$!
  "$BIN/moqc" pub "$URL/" "rate/$name" --websocket --wait-subscriber --payload npm --groups 3000 \
    --frames-per-group 1 --fps 1000 --frame-size 200 >"$WORK/pub-$name.json" \
    2>"$WORK/pub-$name.err" &
  P=$!
  for _ in $(seq 1 200); do
    grep -q "announce active rate/$name" "$WORK/$name.err" 2>/dev/null && break
    kill -0 "$S" 2>/dev/null || break
    sleep 0.05
  done
  grep -q "announce active rate/$name" "$WORK/$name.err" ||
    { cat "$WORK/$name.err"; fail "npm subscriber did not start ($name)"; }
  sleep 0.3
  for _ in 1 2 3; do
    kill -STOP "$RELAY_PID"
    sleep 0.1
    kill -CONT "$RELAY_PID"
    sleep 0.6
  done
  wait "$P" || { cat "$WORK/pub-$name.err"; fail "moqc pub failed ($name)"; }
  wait "$S" || { tail -20 "$WORK/$name.err"; fail "npm subscriber failed ($name)"; }
}

# The browser case.
need_interop
browser_case js
grep -q '"groups":3000,"frames":3000,' "$WORK/js.json" ||
  fail "npm subscriber (100 uni streams) lost groups: $(cat "$WORK/js.json")"
if grep -q 'no stream credit' "$WORK/relay.log"; then
  grep 'no stream credit' "$WORK/relay.log" | head -5
  fail "the relay dropped groups for lack of stream credit"
fi
stop_relay

# The same browser case with --server-group-wait 1 (only the newest group waits, as of old):
# the relay now drops groups for lack of stream credit, so the flag reaches every session.
start_relay --stats-interval 600 --server-group-wait 1
browser_case js1
DROPS=$(grep -c 'no stream credit' "$WORK/relay.log" || true)
[ "$DROPS" -gt 0 ] || fail "--server-group-wait 1: no group dropped ($(cat "$WORK/js1.json"))"
stop_relay
echo "ok: 4000 1-frame groups at 1000/s through three 150 ms relay freezes, every group delivered ($BENCH_MAX); 3000 at 1000/s to an @moq/net subscriber with 100 uni streams through three 100 ms freezes, every group delivered; with --server-group-wait 1, $DROPS dropped"
