#!/usr/bin/env bash
# Regression: moqc pub ends its track right after its last frame (--groups 6), and the page must
# read all 30 frames. @moq/net drops the unread frames of a group when the subscription ends; before
# the session held the Subscribe FIN for settings.end_linger after the groups were acknowledged,
# the page read 29 of 30 frames in about one run in three over WebTransport.
# Headless Chromium (Debian's chromium, through puppeteer-core) running @moq/net 0.3.4 against
# moqc-relay over real WebTransport, pinned with serverCertificateHashes to the relay's
# /certificate.sha256 (WebSocket disabled in the page):
#  - `moqc pub --payload npm` over WebTransport -> relay -> the page, which checks every frame;
#  - the page publishes a broadcast -> relay -> the npm client from Node (tests/interop/sub.mjs,
#    WebSocket), which checks every frame;
#  - the page's counts, the clients' counts and the relay's /stats agree exactly for both;
#  - the same again with the page and moqc pub on http:// (the development modes of @moq/net and
#    of moqc: each fetches /certificate.sha256 itself, CORS included for the page, and both must
#    end up on WebTransport).
# Chromium missing is a failure (scripts/deps.sh installs it), not a skip.
BIN=$1
source "$(dirname "$0")/lib/relay.sh"
source "$(dirname "$0")/lib/cli.sh"
need_interop
source "$(dirname "$0")/lib/browser.sh"
browser_setup

# run_mode DEV SUFFIX N: round N; DEV=1 puts the page on @moq/net's http:// development mode and
# moqc pub on its own (http:// without flags); both must end up on WebTransport.
run_mode() {
  rm -f "$WORK/go" # the page holds its frames until this file exists
  # moqc publishes over WebTransport; it holds its first frame until the page subscribed.
  if [ "$1" = 1 ]; then
    MOQC_URL=("$URL/anon") # moqc's own development mode: it fetches the fingerprint
  else
    MOQC_URL=("https://127.0.0.1:$PORT/anon" --tls-fingerprint "$FP")
  fi
  "$BIN/moqc" pub "${MOQC_URL[@]}" cli-pub$2 --payload npm --wait-subscriber \
    --delay 300 --groups 6 --frames-per-group 5 --frame-size 1000 --fps 100 --verbose \
    >"$WORK/cpub$2.json" 2>"$WORK/cpub$2.err" &
  CPUB=$!
  Q="port=$PORT&hash=$FP&pub=browser-pub$2&sub=cli-pub$2&groups=8&frames=4&size=1500&dev=$1"
  node "$E2E_TOP/tests/browser/run_page.mjs" "http://127.0.0.1:$SPORT/relay_pubsub.html?$Q" 60000 \
    >"$WORK/page$2.out" 2>"$WORK/page$2.err" &
  PAGE=$!
  WAIT_ANNOUNCE=1 npm_peer sub.mjs "$URL/anon" browser-pub$2 0 60 >"$WORK/nsub$2.json" \
    2>"$WORK/nsub$2.err" &
  NSUB=$!
  for _ in $(seq 1 600); do
    grep -q "announce active browser-pub$2" "$WORK/nsub$2.err" && break
    kill -0 $NSUB 2>/dev/null || break
    sleep 0.05
  done
  grep -q "announce active browser-pub$2" "$WORK/nsub$2.err" ||
    { cat "$WORK/page$2.err" "$WORK/nsub$2.err"; fail "the browser's broadcast never reached the npm subscriber"; }
  # moqc's broadcast first (the page reads it meanwhile), then the page's own frames: a relay
  # slowed down by both at once can still be forwarding moqc's last group to the page when
  # moqc unannounces, and the relay then cuts it (docs/CLI.md, "Ending").
  wait $CPUB || { cat "$WORK/cpub$2.err"; fail "moqc publisher failed"; }
  sleep 0.3 # the npm subscriber's SUBSCRIBE reaches the relay, and the relay's reaches the page
  touch "$WORK/go"
  wait $PAGE || { cat "$WORK/page$2.err"; fail "page: $(cat "$WORK/page$2.out")"; }
  wait $NSUB || { cat "$WORK/nsub$2.err"; fail "npm subscriber failed"; }
  grep -q "(webtransport moq-lite-05)" "$WORK/cpub$2.err" || fail "moqc pub did not use WebTransport"

  # The page's line: OK {"version","transport","published","received"}.
  node -e '
    const fs = require("fs");
    const [page, work, sfx] = process.argv.slice(1);
    const line = fs.readFileSync(page, "utf8").trim();
    if (!line.startsWith("OK ")) { console.error(line); process.exit(1); }
    const r = JSON.parse(line.slice(3));
    const want = (what, got, exp) => {
      if (JSON.stringify(got) !== JSON.stringify(exp)) {
        console.error(`${what}: ${JSON.stringify(got)}, want ${JSON.stringify(exp)}`);
        process.exit(1);
      }
    };
    want("version", r.version, "moq-lite-05");
    want("transport", r.transport, "webtransport");
    want("published", r.published, { groups: 8, frames: 32, bytes: 48000 });
    want("received", r.received, { groups: 6, frames: 30, bytes: 30000 });
    fs.writeFileSync(`${work}/bpub${sfx}.json`, JSON.stringify(r.published) + "\n");
    fs.writeFileSync(`${work}/brecv${sfx}.json`, JSON.stringify(r.received) + "\n");
  '  "$WORK/page$2.out" "$WORK" "$2" || { grep -a "read " "$WORK/page$2.err"; curl -s "$STATS_URL"; echo; fail "page result: $(cat "$WORK/page$2.out")"; }
  expect_json "$WORK/cpub$2.json" groups 6 frames 30 bytes 30000
  expect_json "$WORK/nsub$2.json" groups 8 frames 32 bytes 48000
  sleep 0.3
  npm_peer check_stats.mjs "$STATS_URL" anon/browser-pub$2 "$WORK/bpub$2.json" "$WORK/nsub$2.json" ||
    fail "browser -> npm: metering does not match the clients"
  npm_peer check_stats.mjs "$STATS_URL" anon/cli-pub$2 "$WORK/cpub$2.json" "$WORK/brecv$2.json" ||
    fail "moqc -> browser: metering does not match the clients"
  [ "$(grep -c '^OK ' "$WORK/result.txt")" = "$3" ] || fail "the page did not report to the server"
}

run_mode 0 "" 1
run_mode 1 -dev 2
stop_relay
echo "ok: pinned $(cat "$WORK/page.out"); development mode $(cat "$WORK/page-dev.out")"
