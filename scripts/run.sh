#!/usr/bin/env bash
# Starts moqc-relay with its embedded default configuration and says how to use it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cat <<MSG
moqc-relay: WebSocket + HTTP on tcp 4443, raw QUIC on udp 4443, internal on 127.0.0.1:4444.

  publish:   $top/build/bin/moqc pub ws://localhost:4443/anon demo --groups 100
  watch:     $top/build/bin/moqc sub ws://localhost:4443/anon demo --count 300
  npm:       cd $top/tests/interop && node sub.mjs http://localhost:4443/anon demo 0
  list:      curl http://localhost:4443/announced
  metering:  curl http://127.0.0.1:4444/metrics   (and /stats for JSON)
  cert:      curl http://localhost:4443/certificate.sha256

Ctrl-C stops the relay.
MSG
exec "$top/build/bin/moqc-relay" "$@"
