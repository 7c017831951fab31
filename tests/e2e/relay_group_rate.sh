#!/usr/bin/env bash
# One broadcast of 1-frame groups (one uni stream per group) through moqc-relay over WebSocket,
# moqc bench publishing and subscribing at 1000 groups/s for 4 s, while the relay is frozen
# (SIGSTOP) three times for 150 ms, as a busy machine does to it. After each freeze the relay
# finds a backlog of 150 groups from the publisher and opens 150 streams to the subscriber at
# once, before it reads any MAX_STREAMS sent meanwhile; the publisher, too, keeps opening
# streams while the relay does not read. A moq-lite publisher out of stream credit keeps only
# the newest waiting group, so every group arrives only when each side's stream credit covers
# the backlog: with 100 uni streams (the old default, credit back in steps of 25) each freeze
# lost about 50 groups; with 1000 none. Every group must arrive, and the relay must not log a
# group dropped for lack of stream credit.
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
if grep -q 'no stream credit' "$WORK/relay.log"; then
  grep 'no stream credit' "$WORK/relay.log" | head -5
  fail "the relay dropped groups for lack of stream credit"
fi
expect_json "$WORK/bench.json" sent_groups 4000 received_groups 4000 complete_groups 4000 \
  lost_groups 0 bad_frames 0 delivered_fraction 1
stop_relay
echo "ok: 4000 1-frame groups at 1000/s through three 150 ms relay freezes, every group delivered ($(grep -o '"latency_max_ms":[0-9.]*' "$WORK/bench.json"))"
