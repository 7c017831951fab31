#!/usr/bin/env bash
# The npm client's announce listing (@moq/net conn.announced()) through moqc-relay: it sees a
# broadcast published by another npm client and one published by `moqc pub` become active, then
# sees both end; a listing under a prefix sees only its part; a listing started while both are
# live gets them as its initial set. Then every session is closed in /stats and /metrics.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
need_interop
start_relay --stats-interval 600

npm_peer announced.mjs "$URL/anon" 30 "" active:npm/show active:moqc/show ended:npm/show ended:moqc/show \
  >"$WORK/all.out" 2>"$WORK/all.err" &
A=$!
npm_peer announced.mjs "$URL/anon" 30 moqc active:show ended:show >"$WORK/prefix.out" 2>"$WORK/prefix.err" &
B=$!
# Both listeners have their Announce stream open before anything is published.
for _ in $(seq 1 200); do
  [ "$(grep -c 'websocket .* root "anon"' "$WORK/relay.log")" -ge 2 ] && break
  sleep 0.05
done
sleep 0.3
PUB_HOLD_FILE="$WORK/hold.npm" PUB_DELAY_MS=0 npm_peer pub.mjs "$URL/anon" npm/show 1 1 64 10 \
  >"$WORK/npm_pub.json" 2>"$WORK/npm_pub.err" &
P1=$!
"$BIN/moqc" pub "$URL/anon" moqc/show --fps 20 >"$WORK/moqc_pub.json" 2>"$WORK/moqc_pub.err" &
P2=$!
for _ in $(seq 1 200); do
  [ "$(grep -c '^active ' "$WORK/all.out")" -eq 2 ] && break
  sleep 0.05
done
[ "$(grep -c '^active ' "$WORK/all.out")" -eq 2 ] || fail "listing saw: $(cat "$WORK/all.out")"
# A listing that starts now gets both as its initial set.
npm_peer announced.mjs "$URL/anon" 20 "" active:npm/show active:moqc/show >"$WORK/late.out" 2>"$WORK/late.err" ||
  { tail -5 "$WORK/late.err"; fail "late listing failed"; }
# End them: the npm publisher finishes, moqc pub stops on SIGINT.
touch "$WORK/hold.npm"
wait $P1 || { tail -20 "$WORK/npm_pub.err"; fail "npm publisher failed"; }
kill -INT $P2
wait $P2 || { tail -20 "$WORK/moqc_pub.err"; fail "moqc pub failed"; }
wait $A || { tail -20 "$WORK/all.err"; fail "listing did not see every announce and end: $(cat "$WORK/all.out")"; }
wait $B || { tail -20 "$WORK/prefix.err"; fail "prefix listing: $(cat "$WORK/prefix.out")"; }
[ "$(cat "$WORK/prefix.out")" = "$(printf 'active show\nended show')" ] || fail "prefix listing: $(cat "$WORK/prefix.out")"
[ "$(sort "$WORK/late.out" | tr '\n' ';')" = "active moqc/show;active npm/show;" ] || fail "late listing: $(cat "$WORK/late.out")"
[ "$(curl -sf "$URL/announced/anon")" = "" ] || fail "/announced still lists: $(curl -sf "$URL/announced/anon")"
sleep 0.3
# Five sessions (three listings, two publishers), all closed, nothing subscribed.
node -e '
  const [statsUrl, metricsUrl] = process.argv.slice(1);
  (async () => {
    const s = await (await fetch(statsUrl)).json();
    const m = await (await fetch(metricsUrl)).text();
    const ses = s.tiers[""].sessions.anon;
    const metric = (n) => Number(m.split("\n").find((l) => l.startsWith(n + " ")).split(" ").pop());
    const bad = [];
    if (ses.sessions !== 5 || ses.sessions_closed !== 5) bad.push(`sessions ${JSON.stringify(ses)}`);
    if (metric("moq_relay_sessions_opened_total{tier=\"\"}") !== 5) bad.push("sessions_opened_total");
    if (metric("moq_relay_sessions_closed_total{tier=\"\"}") !== 5) bad.push("sessions_closed_total");
    for (const role of ["publisher", "subscriber"])
      for (const n of ["viewers_opened_total", "subscriptions_opened_total", "bytes_total"])
        if (metric(`moq_relay_${n}{tier="",role="${role}"}`) !== 0) bad.push(`${n} ${role}`);
    if (bad.length) { console.error(bad.join(", "), JSON.stringify(s), m); process.exit(1); }
  })();' "$STATS_URL" "$METRICS_URL" || fail "sessions or counters wrong"
stop_relay
echo "ok: $(tr '\n' ';' <"$WORK/all.out") prefix: $(tr '\n' ';' <"$WORK/prefix.out")"
