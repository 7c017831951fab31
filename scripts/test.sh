#!/usr/bin/env bash
# The whole suite, as `make test` runs it: the release build's tests, the same tests under
# ASan+UBSan, the threaded tests under TSan, then a short run of every fuzz target. Ends with one
# line "tests: N passed, M failed" that totals every stage.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
fuzz_secs=${FUZZ_SECONDS:-4}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Adds a ctest run's counts to the totals; returns ctest's status.
count() {
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -n "$line" ]; then
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    bad=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    passed=$((passed + total - bad))
    failed=$((failed + bad))
  fi
}

stage() {
  local name=$1 dir=$2 label=$3
  shift 3
  echo "== $name"
  if ! ninja --quiet -C "$dir" -j "$jobs"; then
    echo "build failed: $dir"
    failed=$((failed + 1))
    return
  fi
  (cd "$dir" && env "$@" ctest --output-on-failure -j "$jobs" $label) >"$log" 2>&1
  local rv=$?
  grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' "$log"
  count
  if [ $rv -ne 0 ] && ! grep -q 'tests failed out of' "$log"; then
    failed=$((failed + 1))
  fi
}

configure() {
  local dir=$1
  shift
  [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja "$@" >/dev/null || exit 1
}

configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
configure build-asan -DCMAKE_BUILD_TYPE=Debug -DMOQC_SANITIZE=ON -DMOQC_SHARED=OFF
configure build-tsan -DCMAKE_BUILD_TYPE=Debug -DMOQC_TSAN=ON -DMOQC_SHARED=OFF
CC=clang configure build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMOQC_FUZZ=ON -DMOQC_SHARED=OFF

stage "tests (release build)" build ""
stage "tests (ASan + UBSan)" build-asan "" \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
stage "threaded tests (TSan)" build-tsan "-L threads" \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

echo "== fuzz smoke ($fuzz_secs s per target)"
if ninja --quiet -C build-fuzz -j "$jobs"; then
  if bash scripts/fuzz.sh build-fuzz "$fuzz_secs"; then
    n=$(ls build-fuzz/fuzz/fuzz_* 2>/dev/null | wc -l)
    passed=$((passed + n))
  else
    failed=$((failed + 1))
  fi
else
  echo "build failed: build-fuzz"
  failed=$((failed + 1))
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
