#!/usr/bin/env bash
# moqc-relay's HTTP surface without any MoQ client: the public and internal routes, the stats
# broadcast read through /fetch, /metrics checked by promtool, config errors, and a clean exit
# on SIGTERM (zero leaks under ASan).
BIN=$1
source "$(dirname "$0")/lib/relay.sh"

# Config errors name what is wrong and exit 2 before anything listens.
rv=0; "$BIN/moqc-relay" --no-such-flag >"$WORK/out" 2>&1 || rv=$?
[ "$rv" -eq 2 ] && grep -q -- "--no-such-flag" "$WORK/out" || fail "unknown flag not reported: $(cat "$WORK/out")"
printf '[server]\nbindd = "x"\n' >"$WORK/bad.toml"
rv=0; "$BIN/moqc-relay" "$WORK/bad.toml" >"$WORK/out" 2>&1 || rv=$?
[ "$rv" -eq 2 ] && grep -q "bad.toml:2:1: server.bindd: unknown key" "$WORK/out" ||
  fail "unknown key not reported: $(cat "$WORK/out")"
"$BIN/moqc-relay" --help | grep -q -- "--internal-listen" || fail "--help lacks --internal-listen"
# A JWK that cannot be loaded stops the relay at start, naming the file.
rv=0; "$BIN/moqc-relay" --auth-key /dev/null --web-http-listen 127.0.0.1:0 >"$WORK/out" 2>&1 || rv=$?
[ "$rv" -eq 1 ] && grep -q "auth.key: cannot load the JWK /dev/null" "$WORK/out" || fail "bad --auth-key accepted"
# Features not built yet are refused at start, not silently ignored.
rv=0; "$BIN/moqc-relay" --cluster-connect http://x --web-http-listen 127.0.0.1:0 >"$WORK/out" 2>&1 || rv=$?
[ "$rv" -eq 1 ] && grep -q "clustering is not built yet" "$WORK/out" || fail "--cluster-connect accepted"

start_relay --stats-node test/1
[ "$(curl -sf "$URL/health")" = "ok" ] || fail "/health"
[ "$(curl -sf "http://127.0.0.1:$INTERNAL_PORT/health")" = "ok" ] || fail "internal /health"
fp=$(curl -sf -D "$WORK/cert.hdr" "$URL/certificate.sha256") || fail "/certificate.sha256"
[[ "$fp" =~ ^[0-9a-f]{64}$ ]] || fail "/certificate.sha256 is not 64 hex digits: $fp"
grep -qi '^Access-Control-Allow-Origin: \*' "$WORK/cert.hdr" || fail "/certificate.sha256 lacks CORS"
grep -q "tls: certificate sha256 $fp" "$WORK/relay.log" || fail "fingerprint differs from the relay's certificate"
[ -n "$QUIC_PORT" ] || fail "no QUIC listener"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/no/such/route")
# Any other path is a WebSocket endpoint; a plain GET there is not found.
[ "$code" = "404" ] || fail "plain GET of a session path answered $code"

# The stats broadcast is announced and readable through the gateway, and never metered.
sleep 0.2
curl -sf "$URL/announced" | grep -qx ".stats/node/test/1" || fail "/announced lacks the stats broadcast"
curl -sf "$URL/announced/.stats" | grep -qx ".stats/node/test/1" || fail "/announced/.stats"
[ -z "$(curl -sf "$URL/announced/nothing-here")" ] || fail "/announced/nothing-here not empty"
hdr=$(curl -sf -D - -o "$WORK/body" "$URL/fetch/.stats/node/test/1/publisher.json")
grep -qi '^X-Moq-Group: ' <<<"$hdr" || fail "/fetch lacks X-Moq-Group"
[ "$(cat "$WORK/body")" = "{}" ] || fail "/fetch of publisher.json: $(cat "$WORK/body")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/fetch/.stats/node/test/1/nope.json?group=0")
[ "$code" = "404" ] || fail "/fetch of a missing track answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/fetch/x/y?group=abc")
[ "$code" = "400" ] || fail "/fetch with a bad group answered $code"
curl -sf "$STATS_URL" >"$WORK/stats.json" || fail "/stats"
grep -q '"publisher":{}' "$WORK/stats.json" || fail "reading the stats broadcast was metered: $(cat "$WORK/stats.json")"

curl -sf "$METRICS_URL" >"$WORK/metrics" || fail "/metrics"
grep -q '^moq_relay_sessions_opened_total{tier=""} ' "$WORK/metrics" || fail "/metrics lacks sessions"
promtool check metrics <"$WORK/metrics" || fail "promtool rejects /metrics"

stop_relay
echo "ok: routes, stats broadcast, /metrics, config errors, clean exit"
