#!/usr/bin/env bash
# Runs every fuzz target in a build folder for a number of seconds each, starting from its seed
# corpus in fuzz/corpus/<target>/ (new inputs go to a scratch folder, not the source tree).
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
dir=$1
secs=$2
top=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
count=0
for f in "$dir"/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  mkdir -p "$scratch/$name"
  seeds=()
  [ -d "$top/fuzz/corpus/$name" ] && seeds=("$top/fuzz/corpus/$name")
  if ! "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
      "$scratch/$name" "${seeds[@]}" >"$scratch/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$scratch/$name.log"; exit 1
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$scratch/$name.log" | grep -Eo '[0-9]+' || echo '?')
  echo "fuzz: $name ok ($runs runs)"
  count=$((count + 1))
done
echo "fuzz: $count targets passed"
