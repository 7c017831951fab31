#!/usr/bin/env bash
# Runs every benchmark under build/bench and prints its figures.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for b in "$top"/build/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
