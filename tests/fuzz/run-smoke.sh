#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in a separate build tree and runs
# each one for FUZZ_SECONDS (default 10) from its seed corpus in
# tests/fuzz/corpus/<target>/. Fails on the first crash, leak, timeout or
# sanitizer report, printing the fuzzer's log and the reproducer's path.
#
#   FUZZ_SECONDS=60 tests/fuzz/run-smoke.sh            all targets
#   tests/fuzz/run-smoke.sh fuzz_range fuzz_route      some of them
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (default <repo>/build-fuzz),
# FUZZ_JOBS (parallel compile jobs, default 2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-10}"
jobs="${FUZZ_JOBS:-2}"

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for source in "$root"/tests/fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$source" .cpp)")
  done
fi

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DREGCACHE_FUZZ=ON \
  -DREGCACHE_TESTS=OFF >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]}"

for target in "${targets[@]}"; do
  seeds="$root/tests/fuzz/corpus/$target"
  work="$build/fuzz-work/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  # New inputs go to the scratch corpus (first directory), never into the
  # checked-in seeds.
  if "$build/tests/fuzz/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" \
      "$work/corpus" "$seeds" >"$work/log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")"
    echo "ok   $target: ${runs:-?} runs in ${seconds}s"
  else
    echo "FAIL $target (log: $work/log)" >&2
    tail -n 60 "$work/log" >&2
    ls "$work/artifacts" >&2
    exit 1
  fi
done
