#!/usr/bin/env bash
# Installs the Debian 12 packages moqc needs, once. Quiet and quick when all are present.
# Called by `make run`, `make test` and `make fuzz`; safe to run by hand.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libcmocka-dev libuv1-dev libgnutls28-dev
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev
  libwslay-dev libjansson-dev zlib1g-dev libjwt-gnutls-dev
  prometheus curl ca-certificates chromium
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js runs the npm interop peers; the machine's Node 20 is used when present, else Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "deps: done"
fi

# The npm peers of the interop tests, pinned by tests/interop/package-lock.json.
top=$(cd "$(dirname "$0")/.." && pwd)
interop="$top/tests/interop"
if [ ! -d "$interop/node_modules/@moq/net" ] || [ "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]; then
  echo "deps: installing the npm interop peers (npm ci)"
  (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
