#!/usr/bin/env bash
# moqc over WebTransport through moqc-relay (web port and QUIC port share one number, as in the
# relay's default, so http:// development mode finds WebTransport):
#  1. https:// publisher -> relay -> https:// subscriber, pinned to /certificate.sha256, every
#     frame checked, /stats equal to the clients' counts;
#  2. the same traffic over WebSocket (ws://) and raw QUIC (moql://): the relay's per-broadcast
#     counters (ingress and egress groups/frames/bytes) identical for the three transports;
#  3. http:// (no flags) connects over WebTransport, --websocket over WebSocket; a wrong pin and
#     the system roots against the self-signed certificate are refused (exit 1);
#  4. over WebTransport, SIGINT ends a waiting subscriber cleanly (exit 0, nothing leaked);
#  5. against a relay whose QUIC port is elsewhere, http:// falls back to WebSocket and works.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"

start_relay_one_port --stats-interval 600
FP=$(curl -sf "http://127.0.0.1:$PORT/certificate.sha256" | tr -d '\r\n')
[ ${#FP} -eq 64 ] || fail "no certificate fingerprint: $FP"
WT="https://127.0.0.1:$PORT"
PUBFLAGS=(--wait-subscriber --delay 300 --groups 6 --frames-per-group 5 --frame-size 3000 --fps 300)

# round NAME URL ROOT_FOR_STATS BROADCAST [flags...]: one subscriber, one publisher, exact counts.
round() {
  local name=$1 url=$2 key=$3 bc=$4
  shift 4
  "$BIN/moqc" sub "$url" "$bc" "$@" --json --timeout 20 >"$WORK/$name-sub.json" \
    2>"$WORK/$name-sub.err" &
  local s=$!
  "$BIN/moqc" pub "$url" "$bc" "$@" "${PUBFLAGS[@]}" >"$WORK/$name-pub.json" \
    2>"$WORK/$name-pub.err" || { cat "$WORK/$name-pub.err"; fail "$name publisher failed"; }
  wait $s || { cat "$WORK/$name-sub.err"; fail "$name subscriber failed"; }
  expect_json "$WORK/$name-pub.json" groups 6 frames 30 bytes 90000
  expect_json "$WORK/$name-sub.json" groups 6 frames 30 bytes 90000 bad_frames 0 gaps 0 \
    aborted_groups 0
  sleep 0.3
  npm_peer check_stats.mjs "$STATS_URL" "$key" "$WORK/$name-pub.json" "$WORK/$name-sub.json" ||
    fail "$name: metering does not match the clients"
}

# 1. WebTransport, pinned.
round wt "$WT/anon" anon/wt-b wt-b --tls-fingerprint "$FP"
"$BIN/moqc" announced "$WT/anon" --tls-fingerprint "$FP" --verbose --timeout 10 2>&1 >/dev/null |
  grep -q "connected to $WT/anon (webtransport moq-lite-05)" ||
  fail "https:// did not negotiate moq-lite-05 over WebTransport"

# 2. The same over WebSocket and raw QUIC (raw QUIC sessions are rooted at "").
round ws "ws://127.0.0.1:$PORT/anon" anon/ws-b ws-b
round quic "moql://127.0.0.1:$PORT/" quic-b quic-b --tls-fingerprint "$FP"
curl -sf "$STATS_URL" >"$WORK/stats.json"
node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).tiers[""];
  const paths = ["anon/wt-b", "anon/ws-b", "quic-b"];
  for (const dir of ["subscriber", "publisher"]) {
    const want = s[dir][paths[0]];
    for (const p of paths.slice(1)) {
      for (const k of ["groups", "frames", "bytes", "broadcasts", "broadcasts_closed"]) {
        if (want[k] !== s[dir][p][k]) {
          console.error(`${dir} ${k}: ${paths[0]} ${want[k]}, ${p} ${s[dir][p][k]}`);
          process.exit(1);
        }
      }
    }
  }' "$WORK/stats.json" || fail "the three transports metered differently: $(cat "$WORK/stats.json")"

# 3. http:// development mode takes WebTransport; --websocket does not; refusals.
"$BIN/moqc" announced "http://127.0.0.1:$PORT/anon" --verbose --timeout 10 >/dev/null \
  2>"$WORK/dev.err" || { cat "$WORK/dev.err"; fail "http:// failed"; }
grep -q "(webtransport moq-lite-05)" "$WORK/dev.err" || fail "http:// did not use WebTransport: $(grep -v debug "$WORK/dev.err")"
"$BIN/moqc" announced "http://127.0.0.1:$PORT/anon" --websocket --verbose --timeout 10 >/dev/null \
  2>"$WORK/devws.err" || { cat "$WORK/devws.err"; fail "http:// --websocket failed"; }
grep -q "(qmux-01.moq-lite-05)" "$WORK/devws.err" && ! grep -q webtransport "$WORK/devws.err" ||
  fail "--websocket did not use WebSocket: $(grep -v debug "$WORK/devws.err")"
rv=0
"$BIN/moqc" announced "$WT/anon" --tls-fingerprint "0000${FP:4}" --timeout 10 >/dev/null \
  2>"$WORK/bad.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/bad.err" || fail "wrong pin: exit $rv: $(cat "$WORK/bad.err")"
rv=0
"$BIN/moqc" announced "https://localhost:$PORT/anon" --timeout 10 >/dev/null 2>"$WORK/sys.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/sys.err" || fail "system roots: exit $rv: $(cat "$WORK/sys.err")"
rv=0
"$BIN/moqc" announced "$WT/anon" --websocket >/dev/null 2>"$WORK/use.err" || rv=$?
[ "$rv" -eq 2 ] || fail "https:// --websocket: exit $rv, want 2"

# 4. SIGINT over WebTransport.
"$BIN/moqc" sub "$WT/anon" never --tls-fingerprint "$FP" --json >"$WORK/int.json" 2>"$WORK/int.err" &
S=$!
sleep 0.7
kill -INT $S
rv=0
wait $S || rv=$?
[ "$rv" -eq 0 ] || { cat "$WORK/int.err"; fail "SIGINT on a WebTransport subscriber: exit $rv"; }
expect_json "$WORK/int.json" frames 0
stop_relay

# 5. A relay whose QUIC port is not its web port: http:// falls back to WebSocket, at once when
#    nothing listens on that UDP port (the ICMP probe), after the 1 s WebTransport handshake bound
#    when something there stays silent.
start_relay --stats-interval 600
"$BIN/moqc" sub "$URL/anon" fb --json --timeout 20 --verbose >"$WORK/fb-sub.json" 2>"$WORK/fb-sub.err" &
S=$!
"$BIN/moqc" pub "$URL/anon" fb "${PUBFLAGS[@]}" >"$WORK/fb-pub.json" 2>"$WORK/fb-pub.err" ||
  { cat "$WORK/fb-pub.err"; fail "fallback publisher failed"; }
wait $S || { cat "$WORK/fb-sub.err"; fail "fallback subscriber failed"; }
expect_json "$WORK/fb-sub.json" groups 6 frames 30 bytes 90000 bad_frames 0 gaps 0
grep -q "no WebTransport at $URL/anon (nothing listens on UDP port $WEB_PORT), using WebSocket" \
  "$WORK/fb-sub.err" && grep -q "(qmux-01.moq-lite-05)" "$WORK/fb-sub.err" ||
  fail "no fallback: $(grep -v debug "$WORK/fb-sub.err")"
node -e 'const s = require("dgram").createSocket("udp4"); s.bind(Number(process.argv[1]), "127.0.0.1",
  () => console.log("bound")); setTimeout(() => s.close(), 15000)' "$WEB_PORT" >"$WORK/sink.out" &
for _ in $(seq 1 100); do grep -q bound "$WORK/sink.out" && break; sleep 0.05; done
start=$(date +%s%N)
"$BIN/moqc" announced "$URL/anon" --verbose --timeout 10 >/dev/null 2>"$WORK/fb2.err" ||
  { cat "$WORK/fb2.err"; fail "fallback after a silent UDP port failed"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "WebTransport to $URL/anon failed (timed out), using WebSocket" "$WORK/fb2.err" &&
  grep -q "(qmux-01.moq-lite-05)" "$WORK/fb2.err" ||
  fail "no fallback after the handshake bound: $(grep -v debug "$WORK/fb2.err")"
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "fallback after a silent UDP port took $ms ms"
stop_relay
echo "ok: webtransport, websocket and quic metered alike: $(cat "$WORK/wt-sub.json")"
