#!/usr/bin/env bash
# relay_compare.sh: before/after figures for the relay from the same run.
#
# Runs bench/relay_fanout.sh with the moqc-relay of BEFORE, then of AFTER, ROUNDS times in
# alternation, with the same load generator (moqc from LOADGEN, default AFTER) and the same
# bench_quic_bulk, so the two relays meet the same machine load; then, unless COMPARE_MEMORY=0,
# bench/relay_memory.sh's idle-session figures for both. Prints Markdown: one fan-out table with a
# "relay" column (before/after) per round, and the idle-session lines of each. Never asserts.
#
# usage: bench/relay_compare.sh BEFORE_BUILD AFTER_BUILD [ROUNDS (default 2)]
#   LOADGEN=BUILD (default AFTER_BUILD), COMPARE_MEMORY=0|1 (default 1), and the knobs of
#   relay_fanout.sh (FANOUT_S, FANOUT_SECONDS, FANOUT_TRANSPORTS; default here: quic at S = 500
#   and 1000) and relay_memory.sh (MEM_IDLE_N; MEM_SOAK_SECONDS defaults to 2 here: idle figures only).
#   Build BEFORE from an older commit, e.g.:
#     git worktree add /tmp/before <commit> && cmake -S /tmp/before -B /tmp/before/build \
#       -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo && ninja -C /tmp/before/build
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_BUILD AFTER_BUILD [ROUNDS]" >&2; exit 2; }
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
rounds=${3:-2}
loadgen=$(cd "${LOADGEN:-$after}" && pwd)
export FANOUT_S=${FANOUT_S:-500 1000}
export FANOUT_TRANSPORTS=${FANOUT_TRANSPORTS:-quic}
for b in "$before" "$after"; do
  [ -x "$b/bin/moqc-relay" ] || { echo "no $b/bin/moqc-relay" >&2; exit 2; }
done
[ -x "$loadgen/bin/moqc" ] || { echo "no $loadgen/bin/moqc" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# compose NAME RELAY_BUILD: a build folder with that relay and the shared load generator.
compose() {
  mkdir -p "$WORK/$1/bin" "$WORK/$1/bench"
  ln -sf "$2/bin/moqc-relay" "$WORK/$1/bin/moqc-relay"
  ln -sf "$loadgen/bin/moqc" "$WORK/$1/bin/moqc"
  ln -sf "$loadgen/bench/bench_quic_bulk" "$WORK/$1/bench/bench_quic_bulk"
}
compose before "$before"
compose after "$after"

echo "### Relay before/after, same run ($(date -u '+%Y-%m-%d %H:%M') UTC, load generator from $loadgen)"
echo
header=""
rows=""
for r in $(seq 1 "$rounds"); do
  for side in before after; do
    echo "== round $r: $side" >&2
    bash "$top/bench/relay_fanout.sh" "$WORK/$side" >"$WORK/fan.md" 2>"$WORK/fan.err" ||
      { cat "$WORK/fan.err" >&2; continue; }
    [ -n "$header" ] || header=$(grep '^| transport |' "$WORK/fan.md" | head -1)
    rows+=$(grep -E '^\| (quic|wt|ws) \|' "$WORK/fan.md" | sed "s/^|/| $side (round $r) |/")
    rows+=$'\n'
  done
done
if [ -n "$header" ]; then
  cols=$(awk -F'|' '{print NF - 2}' <<<"$header")
  echo "| relay $header"
  printf '|---%.0s' $(seq 0 "$cols")
  echo "|"
  printf '%s' "$rows"
fi
if [ "${COMPARE_MEMORY:-1}" = 1 ]; then
  echo
  echo "Idle sessions (bench/relay_memory.sh):"
  echo
  for side in before after; do
    echo "== memory: $side" >&2
    MEM_SOAK_SECONDS=${MEM_SOAK_SECONDS:-2} bash "$top/bench/relay_memory.sh" "$WORK/$side" >"$WORK/mem.md" 2>/dev/null || true
    grep -E 'idle relay RSS|per idle session' "$WORK/mem.md" | sed "s/^|/| $side |/"
  done
fi
