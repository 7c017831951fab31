#!/usr/bin/env bash
# moqc announced: lists what two running `moqc pub` announce (all, and under a prefix), follows
# an announce ending; the publishers stop cleanly on SIGINT and report what they sent.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
start_relay --server-bind "127.0.0.1:$(free_port)" --stats-interval 600

"$BIN/moqc" announced "$URL/anon" --follow --timeout 20 >"$WORK/follow.out" 2>"$WORK/follow.err" &
F=$!
"$BIN/moqc" pub "$URL/anon" shows/news --fps 50 >"$WORK/pub1.json" 2>"$WORK/pub1.err" &
P1=$!
"$BIN/moqc" pub "$URL/anon" music --fps 50 >"$WORK/pub2.json" 2>"$WORK/pub2.err" &
P2=$!
for _ in $(seq 1 100); do
  [ "$(grep -c '^active ' "$WORK/follow.out")" -eq 2 ] && break
  sleep 0.05
done

"$BIN/moqc" announced "$URL/anon" --settle 500 --timeout 10 >"$WORK/all.out" 2>"$WORK/all.err" ||
  { cat "$WORK/all.err"; fail "announced failed"; }
[ "$(sort "$WORK/all.out" | tr '\n' ' ')" = "music shows/news " ] ||
  fail "announced listed: $(cat "$WORK/all.out")"
"$BIN/moqc" announced "$URL/anon" shows --settle 500 --timeout 10 >"$WORK/shows.out" 2>"$WORK/shows.err" ||
  { cat "$WORK/shows.err"; fail "announced shows failed"; }
[ "$(cat "$WORK/shows.out")" = "shows/news" ] || fail "announced shows listed: $(cat "$WORK/shows.out")"
"$BIN/moqc" announced "$URL/other" --settle 500 --timeout 10 >"$WORK/none.out" 2>"$WORK/none.err" ||
  { cat "$WORK/none.err"; fail "announced (empty root) failed"; }
[ ! -s "$WORK/none.out" ] || fail "another root listed: $(cat "$WORK/none.out")"

# SIGINT ends the track and closes cleanly: exit 0 and the JSON line.
kill -INT $P1
wait $P1 || { cat "$WORK/pub1.err"; fail "publisher 1 did not exit 0 on SIGINT"; }
node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
  if (!(o.frames > 0 && o.bytes === o.frames * 1024 && o.groups === Math.ceil(o.frames / 30))) process.exit(1)' \
  "$WORK/pub1.json" || fail "publisher 1 reported $(cat "$WORK/pub1.json")"
for _ in $(seq 1 100); do
  grep -q '^ended shows/news' "$WORK/follow.out" && break
  sleep 0.05
done
grep -q '^ended shows/news' "$WORK/follow.out" || fail "follow did not see the end: $(cat "$WORK/follow.out")"
"$BIN/moqc" announced "$URL/anon" --settle 500 --timeout 10 >"$WORK/left.out" 2>"$WORK/left.err" ||
  { cat "$WORK/left.err"; fail "announced failed"; }
[ "$(cat "$WORK/left.out")" = "music" ] || fail "after SIGINT listed: $(cat "$WORK/left.out")"

kill -INT $P2
wait $P2 || { cat "$WORK/pub2.err"; fail "publisher 2 did not exit 0 on SIGINT"; }
kill -INT $F
wait $F || { cat "$WORK/follow.err"; fail "announced --follow did not exit 0 on SIGINT"; }
[ "$(grep -c '' "$WORK/follow.out")" -eq 4 ] || fail "follow printed: $(cat "$WORK/follow.out")"
stop_relay
echo "ok: $(tr '\n' ';' <"$WORK/follow.out")"
