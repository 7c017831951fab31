#!/usr/bin/env bash
# moqc-relay with several workers (event-loop threads sharing the UDP and TCP ports through
# SO_REUSEPORT): moqc bench over WebSocket, raw QUIC and WebTransport, 2 broadcasts x 3
# subscribers each (and raw QUIC again with moqc bench on 3 loops, --threads 3). The kernel spreads the connections over the workers, so publishers and
# subscribers of one broadcast sit on different threads: every frame must still arrive and the
# relay's /stats must equal what bench counted. Then: idle sessions on every worker close cleanly
# at SIGTERM (exit 0: nothing leaked, no race under TSan, which also runs this test), and
# --server-workers 0 starts one worker per CPU core.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
source "$(dirname "$0")/lib/bench.sh"
WORKERS=3
start_relay_one_port --server-workers $WORKERS --stats-interval 600
grep -q "$WORKERS workers (event-loop threads) share the ports" "$WORK/relay.log" ||
  fail "no $WORKERS workers"
FP=$(curl -sf "$URL/certificate.sha256" | tr -d '\r\n')
[ ${#FP} -eq 64 ] || fail "no certificate fingerprint: $FP"

run() {
  local name=$1 url=$2
  shift 2
  "$BIN/moqc" bench "$url" --prefix "mt-$name" "${BENCH_FLAGS[@]}" "$@" >"$WORK/$name.json" \
    2>"$WORK/$name.err" || { cat "$WORK/$name.err"; fail "bench over $name failed"; }
  sleep 0.3
  check_bench "$WORK/$name.json" "mt-$name"
}
run ws "ws://127.0.0.1:$PORT/"
run quic "moql://127.0.0.1:$PORT/" --tls-fingerprint "$FP" --verify
run wt "https://127.0.0.1:$PORT/" --tls-fingerprint "$FP"
# The load generator on 3 loops of its own (its threads under TSan too).
run quic-thr "moql://127.0.0.1:$PORT/" --tls-fingerprint "$FP" --threads 3

# Idle sessions held while the relay stops: every worker closes its own.
"$BIN/moqc" bench "ws://127.0.0.1:$PORT/" --prefix mt-idle --publishers 1 --subscribers 0 \
  --idle 12 --duration 30 --startup-timeout 10 >/dev/null 2>&1 &
IDLE_WS=$!
"$BIN/moqc" bench "moql://127.0.0.1:$PORT/" --tls-fingerprint "$FP" --prefix mt-idle-q \
  --publishers 1 --subscribers 0 --idle 12 --duration 30 --startup-timeout 10 >/dev/null 2>&1 &
IDLE_Q=$!
for _ in $(seq 1 100); do
  n=$(grep -c 'root "" (worker' "$WORK/relay.log" || true)
  [ "$n" -ge 26 ] && break
  sleep 0.1
done

# The kernel spread the connections: TCP and UDP ones each reached more than one worker.
tcp=$(grep -o 'websocket .* (worker [0-9]*)' "$WORK/relay.log" | sed 's/.*(worker //' | sort -u | wc -l)
udp=$(grep -oE '(quic|webtransport) .* \(worker [0-9]*\)' "$WORK/relay.log" | sed 's/.*(worker //' |
  sort -u | wc -l)
[ "$tcp" -ge 2 ] || fail "WebSocket connections reached $tcp worker(s)"
[ "$udp" -ge 2 ] || fail "QUIC and WebTransport connections reached $udp worker(s)"
stop_relay
kill "$IDLE_WS" "$IDLE_Q" 2>/dev/null || true
wait "$IDLE_WS" "$IDLE_Q" 2>/dev/null || true

# 0 = one worker per CPU core; out-of-range values are refused.
start_relay_one_port --server-workers 0
n=$(nproc)
if [ "$n" -gt 1 ]; then
  grep -q "$n workers (event-loop threads)" "$WORK/relay.log" || fail "--server-workers 0: not $n workers"
fi
stop_relay
rv=0
"$BIN/moqc-relay" --server-workers 65 >/dev/null 2>"$WORK/bad.err" || rv=$?
[ "$rv" -eq 2 ] && grep -q "server-workers" "$WORK/bad.err" || fail "--server-workers 65: exit $rv"
echo "ok: $WORKERS workers; WebSocket on $tcp, QUIC/WebTransport on $udp; /stats exact"
