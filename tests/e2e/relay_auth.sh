#!/usr/bin/env bash
# moqc-relay with --auth-key (an HS256 JWK) and no anonymous access: moqc publishes and
# subscribes over moql:// (token in the lite-05 SETUP path), ws:// (token in the upgrade URL)
# and https:// (WebTransport CONNECT path) with ?jwt=, and so does the npm client over
# WebSocket; frames move and /stats counts the sessions under the token's root. No token, a bad
# signature, an expired token and an unrelated root are refused (HTTP 401 on the WebSocket
# upgrade, a non-zero client exit); a get-only token cannot publish and a put-only token cannot
# subscribe; /announced and /fetch see only the token's get scope; a token whose exp passes
# closes live WebSocket, QUIC and WebTransport sessions (unauthorized).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"

SECRET=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
printf '{"kty":"oct","alg":"HS256","k":"%s"}\n' "$SECRET" >"$WORK/key.jwk"

# mint CLAIMS [SECRET]: an HS256 token (the secret as base64url; "$SECRET" by default). In CLAIMS
# NOW is replaced by the current Unix time.
mint() {
  node -e '
    const c = require("crypto");
    const [claims, k] = process.argv.slice(1);
    const now = Math.floor(Date.now() / 1000);
    const body = claims.replace(/NOW([+-]\d+)?/g, (_, d) => String(now + Number(d || 0)));
    const b = (s) => Buffer.from(s).toString("base64url");
    const data = b(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + b(body);
    const sig = c.createHmac("sha256", Buffer.from(k, "base64url")).update(data).digest("base64url");
    console.log(data + "." + sig);' "$1" "${2:-$SECRET}"
}

# upgrade URL: the HTTP status of a WebSocket upgrade request (101 = accepted).
upgrade() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$1" || true
}

ALL=$(mint '{"root":"demo","put":"","get":"","exp":NOW+600,"iat":NOW}')
PUT=$(mint '{"root":"demo","put":[""]}')
GET=$(mint '{"root":"demo","get":""}')
BADSIG=$(mint '{"root":"demo","put":"","get":""}' "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
EXPIRED=$(mint '{"root":"demo","put":"","get":"","exp":NOW-10}')

QPORT=$(free_port)
start_relay --server-bind "127.0.0.1:$QPORT" --auth-key "$WORK/key.jwk" --stats-interval 600
grep -q "auth.key: .*key.jwk (oct HS256)" "$WORK/relay.log" || fail "key not loaded"
grep -q "no anonymous access" "$WORK/relay.log" || fail "the default public prefix survived --auth-key"
QURL="moql://127.0.0.1:$QPORT"
FP=$(curl -sf "$URL/certificate.sha256" | tr -d '\r\n')
WS="ws://127.0.0.1:$WEB_PORT"

# Refusals at the WebSocket upgrade: 401 before any MoQ byte.
[ "$(upgrade "$URL/demo")" = 401 ] || fail "no token: not 401"
[ "$(upgrade "$URL/demo?jwt=$BADSIG")" = 401 ] || fail "bad signature: not 401"
[ "$(upgrade "$URL/demo?jwt=$EXPIRED")" = 401 ] || fail "expired: not 401"
[ "$(upgrade "$URL/demo?jwt=not.a.jwt")" = 401 ] || fail "garbage token: not 401"
[ "$(upgrade "$URL/other?jwt=$ALL")" = 401 ] || fail "unrelated root: not 401"
[ "$(upgrade "$URL/demo/x?jwt=$ALL")" = 101 ] || fail "a valid token below its root: not 101"
# An exp beyond any timer (UBSan would stop the relay on an overflow).
[ "$(upgrade "$URL/demo/x?jwt=$(mint '{"get":"","exp":9000000000000000000}')")" = 101 ] ||
  fail "a token with a far exp: not 101"
grep -q "token refused: token expired" "$WORK/relay.log" || fail "expired token not logged"

# A publisher over raw QUIC (put-only token in the SETUP path), subscribers over WebSocket
# (get-only) and raw QUIC (both roles).
"$BIN/moqc" sub "$WS/demo?jwt=$GET" cam --json --timeout 20 >"$WORK/wsub.json" 2>"$WORK/wsub.err" &
S1=$!
"$BIN/moqc" sub "$QURL/demo?jwt=$ALL" cam --tls-fingerprint "$FP" --json --timeout 20 \
  >"$WORK/qsub.json" 2>"$WORK/qsub.err" &
S2=$!
"$BIN/moqc" sub "https://127.0.0.1:$QPORT/demo?jwt=$GET" cam --tls-fingerprint "$FP" --json \
  --timeout 20 >"$WORK/tsub.json" 2>"$WORK/tsub.err" &
S3=$!
for _ in $(seq 1 200); do
  curl -s "$STATS_URL" | grep -q '"demo":{"sessions":3,' && break
  sleep 0.05
done
timeout 30 "$BIN/moqc" pub "$QURL/demo?jwt=$PUT" cam --tls-fingerprint "$FP" --wait-subscriber \
  --delay 300 --groups 4 --frames-per-group 5 --frame-size 1000 --fps 300 \
  >"$WORK/pub.json" 2>"$WORK/pub.err" || fail "QUIC publisher with a put token: $(cat "$WORK/pub.err")"
wait $S1 || fail "WebSocket subscriber with a get token: $(cat "$WORK/wsub.err")"
wait $S2 || fail "QUIC subscriber with a full token: $(cat "$WORK/qsub.err")"
wait $S3 || fail "WebTransport subscriber with a get token: $(cat "$WORK/tsub.err")"
for s in wsub qsub tsub; do
  expect_json "$WORK/$s.json" groups 4 frames 20 bytes 20000 bad_frames 0 gaps 0
done
sleep 0.3
npm_peer check_stats.mjs "$STATS_URL" demo/cam "$WORK/pub.json" "$WORK/wsub.json" "$WORK/qsub.json" "$WORK/tsub.json" ||
  fail "metering does not match the clients"
curl -s "$STATS_URL" | grep -q '"demo":{"sessions":4,"sessions_closed":4' ||
  fail "sessions not counted under root demo: $(curl -s "$STATS_URL")"

# The npm client (@moq/net over WebSocket from Node) with ?jwt= in its URL; without a token it
# is refused.
need_interop
WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/demo?jwt=$GET" npmcast 6 15 >"$WORK/nsub.json" 2>"$WORK/nsub.err" &
NS=$!
sleep 0.3
npm_peer pub.mjs "$URL/demo?jwt=$PUT" npmcast 3 2 64 100 >"$WORK/npub.json" 2>"$WORK/npub.err" ||
  fail "npm publisher with a put token: $(tail -5 "$WORK/npub.err")"
wait $NS || fail "npm subscriber with a get token: $(tail -5 "$WORK/nsub.err")"
expect_json "$WORK/nsub.json" groups 3 frames 6 bytes 384
rv=0
npm_peer sub.mjs "$URL/demo" npmcast 1 5 >/dev/null 2>"$WORK/nsub2.err" || rv=$?
[ "$rv" -ne 0 ] || fail "npm subscriber without a token was let in"

# moqc refuses to go on without a valid token (non-zero exit), on both transports.
for u in "$WS/demo" "$WS/demo?jwt=$BADSIG" "$QURL/demo" "$QURL/demo?jwt=$EXPIRED" \
  "https://127.0.0.1:$QPORT/demo" "https://127.0.0.1:$QPORT/demo?jwt=$BADSIG"; do
  rv=0
  timeout 15 "$BIN/moqc" sub "$u" cam --tls-fingerprint "$FP" --timeout 5 >/dev/null 2>"$WORK/deny.err" || rv=$?
  [ "$rv" -ne 0 ] && [ "$rv" -ne 3 ] || fail "sub at $u: exit $rv: $(cat "$WORK/deny.err")"
done
grep -q 'conn [0-9]*: token refused: token expired' "$WORK/relay.log" || fail "QUIC refusal not logged"
grep -q 'webtransport: token refused' "$WORK/relay.log" || fail "WebTransport refusal not logged"

# Roles: a live publisher with a full token; a put-only token sees nothing of it, a get-only
# token's broadcast is not mirrored.
"$BIN/moqc" pub "$WS/demo?jwt=$ALL" live --fps 50 >/dev/null 2>"$WORK/live.err" &
LP=$!
"$BIN/moqc" pub "$QURL/demo?jwt=$GET" sneaky --tls-fingerprint "$FP" --fps 50 >/dev/null 2>"$WORK/sneaky.err" &
SP=$!
for _ in $(seq 1 100); do
  curl -sf "$URL/announced?jwt=$ALL" | grep -qx 'demo/live' && break
  sleep 0.05
done
curl -sf "$URL/announced?jwt=$ALL" | grep -qx 'demo/live' || fail "demo/live not announced: $(cat "$WORK/live.err")"
# /fetch reads it with a get token (before any subscriber came and went: moqc pub cancels its
# open group when its last subscriber leaves).
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/fetch/demo/live/clock?group=latest&jwt=$GET")
[ "$code" = 200 ] || fail "/fetch with a get token: $code"
rv=0
"$BIN/moqc" sub "$WS/demo?jwt=$PUT" live --count 3 --json --timeout 3 >"$WORK/putsub.json" 2>/dev/null || rv=$?
[ "$rv" -eq 3 ] || fail "a put-only token subscribed: exit $rv"
"$BIN/moqc" sub "$WS/demo?jwt=$GET" live --count 3 --json --timeout 10 >/dev/null 2>"$WORK/getsub.err" ||
  fail "a get-only token could not subscribe: $(cat "$WORK/getsub.err")"
! curl -sf "$URL/announced?jwt=$GET" | grep -q 'sneaky' || fail "a get-only token published demo/sneaky"
# The HTTP read routes take the token too: /announced and /fetch see only what it may get.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/announced")" = 401 ] || fail "/announced without a token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/announced?jwt=$PUT")" = 401 ] || fail "/announced with a put-only token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/announced?jwt=$BADSIG")" = 401 ] || fail "/announced with a bad token"
[ -z "$(curl -sf "$URL/announced/other?jwt=$GET")" ] || fail "/announced/other is not empty"
! curl -sf "$URL/announced?jwt=$GET" | grep -q '^\.stats' || fail "/announced lists .stats beyond the token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/fetch/demo/live/clock")" = 401 ] || fail "/fetch without a token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/fetch/.stats/node/publisher.json?jwt=$GET")" = 403 ] ||
  fail "/fetch outside the token's scope"
kill $LP $SP 2>/dev/null || true
wait $LP $SP 2>/dev/null || true

# Expiry: a WebSocket publisher, a raw QUIC and a WebTransport subscriber whose tokens pass exp
# while live are closed as unauthorized. The subscribers' tokens end first: were the publisher cut
# first, its track would end and the subscribers could leave on their own before their expiry.
SOON=$(mint '{"root":"demo","put":"","get":"","exp":NOW+5}')
LATER=$(mint '{"root":"demo","put":"","get":"","exp":NOW+7}')
"$BIN/moqc" pub "$WS/demo?jwt=$LATER" short --fps 50 >/dev/null 2>"$WORK/short.err" &
P=$!
"$BIN/moqc" sub "$QURL/demo?jwt=$SOON" short --tls-fingerprint "$FP" --quiet --timeout 15 \
  >/dev/null 2>"$WORK/shortsub.err" &
S=$!
"$BIN/moqc" sub "https://127.0.0.1:$QPORT/demo?jwt=$SOON" short --tls-fingerprint "$FP" --quiet \
  --timeout 15 >/dev/null 2>"$WORK/shorttsub.err" &
T=$!
rv=0; wait $S || rv=$?
[ "$rv" -ne 0 ] && [ "$rv" -ne 3 ] || fail "the QUIC subscriber outlived its token: exit $rv"
rv=0; wait $T || rv=$?
[ "$rv" -ne 0 ] && [ "$rv" -ne 3 ] || fail "the WebTransport subscriber outlived its token: exit $rv"
for _ in $(seq 1 100); do
  kill -0 $P 2>/dev/null || break
  sleep 0.1
done
kill -0 $P 2>/dev/null && fail "the WebSocket publisher outlived its token"
rv=0; wait $P || rv=$?
[ "$rv" -ne 0 ] || fail "the WebSocket publisher exited 0 after its token expired"
[ "$(grep -c 'conn [0-9]*: token expired' "$WORK/relay.log")" -eq 3 ] || fail "expiry not logged three times"

stop_relay
echo "ok: JWT auth over ws://, moql://, https:// and npm (scope, roles, refusals, HTTP routes, expiry), metering under the token root"
