# Browser end-to-end set-up, shared by tests/e2e/browser_relay.sh and the pending tests: Chromium
# and esbuild present, moqc-relay on one port number for TCP and UDP (PORT, URL, STATS_URL, FP =
# its certificate's SHA-256), and a static server (SPORT) on 127.0.0.1 for the page, the @moq/net
# bundle and the payload module. Source it after lib/relay.sh and lib/cli.sh, then call
# browser_setup.

browser_setup() {
  CHROMIUM=${MOQC_CHROMIUM:-/usr/lib/chromium/chromium}
  [ -x "$CHROMIUM" ] || fail "chromium is not installed ($CHROMIUM): run scripts/deps.sh"
  [ -x "$INTEROP/node_modules/.bin/esbuild" ] || fail "esbuild missing: run scripts/deps.sh"

  start_relay_one_port --stats-interval 600
  FP=$(curl -sf "$URL/certificate.sha256" | tr -d '\r\n')
  [ ${#FP} -eq 64 ] || fail "no certificate fingerprint: $FP"

  # The page, the bundle and the payload module, served from 127.0.0.1 (a secure context).
  mkdir -p "$WORK/www"
  cp "$E2E_TOP/tests/browser/relay_pubsub.html" "$INTEROP/payload.mjs" "$WORK/www/"
  bash "$E2E_TOP/tests/browser/build-bundle.sh" "$WORK/www/moq.js" || fail "esbuild bundle failed"
  node "$E2E_TOP/tests/browser/serve.mjs" "$WORK/www" "$WORK/go" "$WORK/result.txt" >"$WORK/serve.out" &
  for _ in $(seq 1 100); do
    grep -q listening "$WORK/serve.out" && break
    sleep 0.05
  done
  SPORT=$(sed -n 's/^listening //p' "$WORK/serve.out")
  [ -n "$SPORT" ] || fail "static server did not start"
}
