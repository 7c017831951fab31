#!/usr/bin/env bash
# moqc bench through moqc-relay, over WebSocket and over raw QUIC: 2 broadcasts x 3 subscribers
# for 1.5 s at a low rate on an idle loopback. Every frame must arrive (delivered_fraction 1,
# no lost group), and the relay's /stats must equal what bench counted, per broadcast: ingress
# = what the publishers sent, egress = what the subscribers received, one viewer per subscriber.
# Then the same over raw QUIC on 3 event loops (--threads 3: one subscriber per broadcast on
# each loop, so two thirds of what is received is counted on the other threads and must be
# merged), an interrupted --threads run (reported once, summary printed), and --threads
# against a port nobody serves: exit 1, no hang.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
source "$(dirname "$0")/lib/bench.sh"
QPORT=$(free_port)
start_relay --server-bind "127.0.0.1:$QPORT" --stats-interval 600
FP=$(curl -sf "$URL/certificate.sha256" | tr -d '\r\n')
[ ${#FP} -eq 64 ] || fail "no certificate fingerprint: $FP"

"$BIN/moqc" bench "$URL/" --prefix e2e-ws "${BENCH_FLAGS[@]}" >"$WORK/ws.json" 2>"$WORK/ws.err" ||
  { cat "$WORK/ws.err"; fail "bench over WebSocket failed"; }
grep -q "^bench: .* run .*conns 8/8" "$WORK/ws.err" || { cat "$WORK/ws.err"; fail "no progress line"; }
sleep 0.3
check_bench "$WORK/ws.json" e2e-ws

"$BIN/moqc" bench "moql://127.0.0.1:$QPORT/" --tls-fingerprint "$FP" --prefix e2e-quic \
  "${BENCH_FLAGS[@]}" --verify >"$WORK/quic.json" 2>"$WORK/quic.err" ||
  { cat "$WORK/quic.err"; fail "bench over raw QUIC failed"; }
sleep 0.3
check_bench "$WORK/quic.json" e2e-quic

"$BIN/moqc" bench "moql://127.0.0.1:$QPORT/" --tls-fingerprint "$FP" --prefix e2e-thr \
  "${BENCH_FLAGS[@]}" --verify --threads 3 >"$WORK/thr.json" 2>"$WORK/thr.err" ||
  { cat "$WORK/thr.err"; fail "bench --threads 3 failed"; }
grep -q "^bench: .* run .*conns 8/8 subscribed 6/6" "$WORK/thr.err" ||
  { cat "$WORK/thr.err"; fail "--threads 3: the progress line does not count every loop"; }
sleep 0.3
check_bench "$WORK/thr.json" e2e-thr

# An interrupt ends every loop; the first reports it once and the summary still comes.
"$BIN/moqc" bench "moql://127.0.0.1:$QPORT/" --tls-fingerprint "$FP" --prefix e2e-int \
  --subscribers 4 --threads 2 --duration 30 --fps 20 --frame-size 500 >"$WORK/int.json" \
  2>"$WORK/int.err" &
B=$!
for _ in $(seq 1 100); do
  grep -q ' run ' "$WORK/int.err" 2>/dev/null && break
  sleep 0.1
done
kill -INT "$B"
rv=0
wait "$B" || rv=$?
[ "$rv" -eq 0 ] || { cat "$WORK/int.err"; fail "--threads 2 interrupted: exit $rv"; }
[ "$(grep -c 'interrupted' "$WORK/int.err")" -eq 1 ] ||
  { cat "$WORK/int.err"; fail "--threads 2: the interrupt is not reported once"; }
grep -q '"subscribers":4' "$WORK/int.json" || { cat "$WORK/int.json"; fail "no summary after SIGINT"; }

DEAD=$(free_port)
rv=0
timeout 20 "$BIN/moqc" bench "ws://127.0.0.1:$DEAD/" --threads 2 --subscribers 4 --duration 1 \
  --startup-timeout 10 >"$WORK/dead.json" 2>"$WORK/dead.err" || rv=$?
[ "$rv" -eq 1 ] || { cat "$WORK/dead.err"; fail "--threads 2 to a dead port: exit $rv, want 1"; }

# Usage errors exit 2; --help lists the flags.
rv=0
"$BIN/moqc" bench "$URL/" --fps 0 >/dev/null 2>"$WORK/usage.err" || rv=$?
[ "$rv" -eq 2 ] && grep -q -- "--fps" "$WORK/usage.err" || fail "--fps 0: exit $rv"
"$BIN/moqc" bench --help | grep -q -- "--group-frames" || fail "--help"
stop_relay
echo "ok: ws $(cut -c1-160 "$WORK/ws.json")..."
echo "ok: quic $(cut -c1-160 "$WORK/quic.json")..."
