#!/usr/bin/env bash
# Bundles @moq/net 0.3.4 for the browser tests: tests/browser/moq_entry.js -> $1 (default
# tests/browser/moq-bundle.js) with the esbuild pinned by tests/interop/package-lock.json.
# Run `npm ci` in tests/interop first (scripts/deps.sh does).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/tests/browser/moq-bundle.js}
NODE_PATH="$top/tests/interop/node_modules" "$top/tests/interop/node_modules/.bin/esbuild" \
  "$top/tests/browser/moq_entry.js" --bundle --format=iife --target=chrome120 \
  --outfile="$out" --log-level=warning
