# Shared helpers for the end-to-end tests: start moqc-relay on free loopback ports, stop it and
# check that it exited cleanly. Source it; BIN must name the folder holding moqc-relay.
set -euo pipefail
E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
INTEROP="$E2E_TOP/tests/interop"
WORK=$(mktemp -d)
RELAY_PID=""

cleanup() {
  [ -n "$RELAY_PID" ] && kill -9 "$RELAY_PID" 2>/dev/null || true
  jobs -p | xargs -r kill -9 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  [ -f "$WORK/relay.log" ] && { echo "--- relay log (tail)"; tail -60 "$WORK/relay.log"; }
  exit 1
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# launch_relay WEB_PORT SERVER_BIND [extra flags...]: starts moqc-relay and waits for /health.
# Returns 1 (relay gone, RELAY_PID cleared) when it did not come up, e.g. a port was taken.
# Sets INTERNAL_PORT, URL, QUIC_PORT, STATS_URL, METRICS_URL.
launch_relay() {
  local web=$1 bind=$2
  shift 2
  INTERNAL_PORT=$(free_port)
  "$BIN/moqc-relay" --server-bind "$bind" --web-http-listen "127.0.0.1:$web" \
    --internal-listen "127.0.0.1:$INTERNAL_PORT" --log-level debug "$@" >"$WORK/relay.log" 2>&1 &
  RELAY_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$web/health" >/dev/null 2>&1 && break
    kill -0 "$RELAY_PID" 2>/dev/null || break
    sleep 0.05
  done
  if ! kill -0 "$RELAY_PID" 2>/dev/null || ! curl -sf "http://127.0.0.1:$web/health" >/dev/null; then
    wait "$RELAY_PID" 2>/dev/null || true
    RELAY_PID=""
    return 1
  fi
  URL="http://127.0.0.1:$web"
  QUIC_PORT=$(sed -n 's/.*quic listening on udp .* (port \([0-9]*\)).*/\1/p' "$WORK/relay.log" | head -1)
  STATS_URL="http://127.0.0.1:$INTERNAL_PORT/stats"
  METRICS_URL="http://127.0.0.1:$INTERNAL_PORT/metrics"
}

# start_relay_one_port [extra flags...]: the relay on one port number for TCP (web) and UDP
# (QUIC + WebTransport), as in its default; retries when the UDP port is taken. Sets PORT and what
# launch_relay sets.
start_relay_one_port() {
  local p
  PORT=""
  for _ in 1 2 3 4 5; do
    p=$(free_port)
    if launch_relay "$p" "127.0.0.1:$p" "$@"; then
      PORT=$p
      return 0
    fi
  done
  fail "relay did not start"
}

# start_relay [extra flags...]: the relay on a free TCP port, QUIC on any free UDP port. Sets
# WEB_PORT and what launch_relay sets.
start_relay() {
  WEB_PORT=$(free_port)
  launch_relay "$WEB_PORT" 127.0.0.1:0 "$@" || fail "relay exited at start"
}

# stop_relay: SIGTERM, wait, and require exit status 0 (leaks under ASan make it non-zero).
stop_relay() {
  kill -TERM "$RELAY_PID"
  local rv=0
  wait "$RELAY_PID" || rv=$?
  RELAY_PID=""
  [ "$rv" -eq 0 ] || fail "relay exited with $rv after SIGTERM"
}

# Runs node from the interop folder (its node_modules).
npm_peer() {
  (cd "$INTEROP" && node "$@")
}

need_interop() {
  [ -d "$INTEROP/node_modules/@moq/net" ] || fail "npm peers missing: run scripts/deps.sh"
}
