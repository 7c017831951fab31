#!/usr/bin/env bash
# Installs the Debian 12 packages moqc needs, once. Quiet and quick when all are present.
# Called by `make run`, `make test` and `make fuzz`; safe to run by hand.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libcmocka-dev libuv1-dev libgnutls28-dev
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev
  libwslay-dev libjansson-dev zlib1g-dev libjwt-gnutls-dev
  prometheus
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
