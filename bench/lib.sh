# bench/lib.sh: what the relay benchmarks share (sourced by relay_fanout.sh and relay_memory.sh).
# Expects BIN (the build's bin/) to be set by the caller. Provides WORK (removed at exit, with
# the relay and the sampler), free_port, rss_kib, cpu_ticks, start_relay / stop_relay (a relay on
# free loopback ports: QPORT for QUIC and WebTransport, WPORT for HTTP and WebSocket, IPORT for
# the internal routes; FP its certificate fingerprint; RELAY_FLAGS, when set, adds flags such as
# "--server-workers 2") and start_sampler / stop_sampler.
WORK=$(mktemp -d)
RELAY_PID=""
SAMPLER_PID=""
bench_cleanup() {
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  [ -n "$RELAY_PID" ] && kill -9 "$RELAY_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap bench_cleanup EXIT
ulimit -n 65536 2>/dev/null || true

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
CLK=$(getconf CLK_TCK)
# rss_kib PID: resident set in KiB. cpu_ticks PID: utime + stime in clock ticks.
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_relay [RELAY FLAGS...]: a fresh relay; waits for /health and reads its fingerprint.
start_relay() {
  QPORT=$(free_port)
  WPORT=$(free_port)
  IPORT=$(free_port)
  "$BIN/moqc-relay" --server-bind "127.0.0.1:$QPORT" --web-http-listen "127.0.0.1:$WPORT" \
    --internal-listen "127.0.0.1:$IPORT" --log-level warn ${RELAY_FLAGS:-} "$@" >"$WORK/relay.log" 2>&1 &
  RELAY_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$WPORT/health" >/dev/null 2>&1 && break
    sleep 0.05
  done
  FP=$(curl -sf "http://127.0.0.1:$WPORT/certificate.sha256" | tr -d '\r\n')
}
stop_relay() {
  kill -TERM "$RELAY_PID" 2>/dev/null || true
  wait "$RELAY_PID" 2>/dev/null || true
  RELAY_PID=""
}
# start_sampler SECONDS: "unix_seconds rss_kib cpu_ticks" of the relay every SECONDS into
# $WORK/rss until stopped.
start_sampler() {
  local every=$1
  (while kill -0 "$RELAY_PID" 2>/dev/null; do
     echo "$(date +%s.%N) $(rss_kib "$RELAY_PID" 2>/dev/null || echo 0) $(cpu_ticks "$RELAY_PID" 2>/dev/null || echo 0)"
     sleep "$every"
   done) >"$WORK/rss" &
  SAMPLER_PID=$!
}
stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}
