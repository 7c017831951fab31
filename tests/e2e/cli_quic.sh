#!/usr/bin/env bash
# moqc over raw QUIC (moql://) through moqc-relay: a QUIC publisher pinned to the relay's
# /certificate.sha256 feeds a QUIC subscriber and a WebSocket subscriber at once, every frame
# checked, counts exact, /stats equal to the clients'; a lite-05 QUIC session is rooted at its
# SETUP Path (a publisher at moql://.../room?query is seen at room/<name> from the "/" root and
# at <name> from a WebSocket rooted at /room, and /stats counts its session under root "room");
# with --auth-public limiting the roots, a QUIC SETUP path outside them is refused while one
# inside works; a SIGKILLed QUIC publisher's broadcast goes after --server-quic-idle-timeout; a wrong pin and an unverifiable self-signed certificate are refused (exit 1).
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

# Rooted by the SETUP Path: publish at /room (with a query, which is not part of the root).
"$BIN/moqc" sub "$QURL/" room/rq --tls-fingerprint "$FP" --json --timeout 20 \
  >"$WORK/rq1.json" 2>"$WORK/rq1.err" &
S1=$!
"$BIN/moqc" sub "$URL/room" rq --json --timeout 20 >"$WORK/rq2.json" 2>"$WORK/rq2.err" &
S2=$!
for _ in $(seq 1 200); do
  curl -s "$STATS_URL" | grep -q '"room":{"sessions":1,' && break
  sleep 0.05
done
timeout 30 "$BIN/moqc" pub "$QURL/room?jwt=none" rq --tls-fingerprint "$FP" --wait-subscriber --delay 300 \
  --groups 3 --frames-per-group 4 --frame-size 500 --fps 300 >"$WORK/rqpub.json" 2>"$WORK/rqpub.err" ||
  { cat "$WORK/rqpub.err"; fail "rooted QUIC publisher failed"; }
wait $S1 || { cat "$WORK/rq1.err"; fail "QUIC subscriber of room/rq failed"; }
wait $S2 || { cat "$WORK/rq2.err"; fail "WebSocket subscriber at /room failed"; }
for s in rq1 rq2; do
  expect_json "$WORK/$s.json" groups 3 frames 12 bytes 6000 bad_frames 0 gaps 0 aborted_groups 0
done
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" room/rq "$WORK/rqpub.json" "$WORK/rq1.json" "$WORK/rq2.json" ||
  fail "metering of the rooted publisher does not match the clients"
curl -s "$STATS_URL" | grep -q '"room":{"sessions":2,"sessions_closed":2' ||
  fail "the rooted QUIC session is not counted under root room: $(curl -s "$STATS_URL")"

# A wrong pin, and the system trust store against a self-signed certificate: refused.
BAD="0000${FP:4}"
rv=0
"$BIN/moqc" announced "$QURL/" --tls-fingerprint "$BAD" --timeout 10 >/dev/null 2>"$WORK/bad.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/bad.err" || fail "wrong pin: exit $rv: $(cat "$WORK/bad.err")"
rv=0
"$BIN/moqc" announced "moql://localhost:$QPORT/" --timeout 10 >/dev/null 2>"$WORK/sys.err" || rv=$?
[ "$rv" -eq 1 ] && grep -q unauthorized "$WORK/sys.err" || fail "self-signed: exit $rv: $(cat "$WORK/sys.err")"
stop_relay

# Roots limited by --auth-public: a SETUP path outside them closes the session (unauthorized).
# This relay also has a 2 s QUIC idle timeout, checked last.
QPORT=$(free_port)
start_relay --server-bind "127.0.0.1:$QPORT" --auth-public anon --server-quic-idle-timeout 2000
QURL="moql://127.0.0.1:$QPORT"
FP=$(curl -sf "$URL/certificate.sha256" | tr -d '\r\n')
rv=0
"$BIN/moqc" pub "$QURL/private" x --tls-fingerprint "$FP" --groups 1 --frames-per-group 1 \
  >/dev/null 2>"$WORK/deny.err" || rv=$?
[ "$rv" -eq 1 ] || fail "a QUIC session at /private under --auth-public anon: exit $rv: $(cat "$WORK/deny.err")"
grep -q 'SETUP root "private" refused: unauthorized' "$WORK/relay.log" ||
  fail "relay did not refuse root private: $(cat "$WORK/relay.log")"
"$BIN/moqc" pub "$QURL/anon" x --tls-fingerprint "$FP" --groups 1 --frames-per-group 1 \
  >"$WORK/allow.json" 2>"$WORK/allow.err" || fail "a QUIC session at /anon: $(cat "$WORK/allow.err")"

# A publisher killed without a word (SIGKILL): the relay drops its session, and so its broadcast,
# after --server-quic-idle-timeout (2 s here; 30 s by default).
"$BIN/moqc" pub "$QURL/anon" live --tls-fingerprint "$FP" --fps 20 >/dev/null 2>"$WORK/live.err" &
LP=$!
for _ in $(seq 1 100); do
  curl -sf "$URL/announced" | grep -qx 'anon/live' && break
  sleep 0.05
done
curl -sf "$URL/announced" | grep -qx 'anon/live' || fail "anon/live not announced: $(cat "$WORK/live.err")"
kill -9 $LP
wait $LP 2>/dev/null || true
T0=$(date +%s%N)
while curl -sf "$URL/announced" | grep -qx 'anon/live'; do
  [ $(( ($(date +%s%N) - T0) / 1000000 )) -lt 8000 ] || fail "a killed QUIC publisher still announced after 8 s"
  sleep 0.1
done
GONE_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
[ "$GONE_MS" -ge 1000 ] || fail "the killed publisher was dropped after $GONE_MS ms, before the idle timeout"
stop_relay
echo "ok: $(cat "$WORK/pub.json") -> quic + websocket $(cat "$WORK/qsub.json"); rooted at the SETUP path; killed publisher dropped after ${GONE_MS} ms"
