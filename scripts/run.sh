#!/usr/bin/env bash
# Starts moqc-relay with its embedded default configuration.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec "$top/build/bin/moqc-relay" "$@"
