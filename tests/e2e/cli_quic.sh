#!/usr/bin/env bash
# moqc over raw QUIC (moql://) through moqc-relay: a QUIC publisher pinned to the relay's
# /certificate.sha256 feeds a QUIC subscriber and a WebSocket subscriber at once (raw QUIC
# sessions are rooted at "", so the WebSocket one dials the "/" root), every frame checked, counts
# exact, /stats equal to the clients'; a wrong pin and an unverifiable self-signed certificate
# are refused (exit 1).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
QPORT=$(free_port)
start_relay --server-bind "127.0.0.1:$QPORT" --stats-interval 600
QURL="moql://127.0.0.1:$QPORT"
FP=$(curl -sf "$URL/certificate.sha256" | tr -d '\r\n')
[ ${#FP} -eq 64 ] || fail "no certificate fingerprint: $FP"

"$BIN/moqc" sub "$QURL/" quic-test --tls-fingerprint "$FP" --json --timeout 20 \
  >"$WORK/qsub.json" 2>"$WORK/qsub.err" &
S1=$!
"$BIN/moqc" sub "$URL/" quic-test --json --timeout 20 >"$WORK/wsub.json" 2>"$WORK/wsub.err" &
S2=$!
for _ in $(seq 1 200); do
  curl -s "$STATS_URL" | grep -q '"":{"sessions":2,' && break
  sleep 0.05
done
"$BIN/moqc" pub "$QURL/" quic-test --tls-fingerprint "$FP" --wait-subscriber --delay 300 \
  --groups 6 --frames-per-group 5 --frame-size 3000 --fps 300 >"$WORK/pub.json" 2>"$WORK/pub.err" ||
  { cat "$WORK/pub.err"; fail "QUIC publisher failed"; }
wait $S1 || { cat "$WORK/qsub.err"; fail "QUIC subscriber failed"; }
wait $S2 || { cat "$WORK/wsub.err"; fail "WebSocket subscriber failed"; }
expect_json "$WORK/pub.json" groups 6 frames 30 bytes 90000
for s in qsub wsub; do
  expect_json "$WORK/$s.json" groups 6 frames 30 bytes 90000 bad_frames 0 gaps 0 aborted_groups 0
done
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" quic-test "$WORK/pub.json" "$WORK/qsub.json" "$WORK/wsub.json" ||
  fail "metering does not match the clients"

# A wrong pin, and the system trust store against a self-signed certificate: refused.
BAD="0000${FP:4}"
rv=0
"$BIN/moqc" announced "$QURL/" --tls-fingerprint "$BAD" --timeout 10 >/dev/null 2>"$WORK/bad.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/bad.err" || fail "wrong pin: exit $rv: $(cat "$WORK/bad.err")"
rv=0
"$BIN/moqc" announced "moql://localhost:$QPORT/" --timeout 10 >/dev/null 2>"$WORK/sys.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/sys.err" || fail "self-signed: exit $rv: $(cat "$WORK/sys.err")"
stop_relay
echo "ok: $(cat "$WORK/pub.json") -> quic + websocket $(cat "$WORK/qsub.json")"
