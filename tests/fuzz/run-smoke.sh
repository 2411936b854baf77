#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan) with clang in a separate build
# tree and runs each one from its seed corpus in tests/fuzz/corpus/<target>/
# for FUZZ_SECONDS (default 10), or until FUZZ_RUNS executions when that is
# set and comes first. Every target runs; the script fails at the end if one
# found a crash, leak, timeout or sanitizer report, printing the fuzzer's log
# and the reproducer's path.
#
#   FUZZ_SECONDS=60 tests/fuzz/run-smoke.sh            all targets
#   tests/fuzz/run-smoke.sh fuzz_range fuzz_route      some of them
#   make fuzz-long                                     10 million runs or 10 minutes each
#
# Environment: FUZZ_SECONDS, FUZZ_RUNS, FUZZ_BUILD_DIR (default
# <repo>/build-fuzz), FUZZ_JOBS (parallel compile jobs, default 2),
# FUZZ_KEEP_CRASHES=1 (copy each reproducer into the target's seed corpus,
# named crash-<sha1>, so every later smoke run replays it once it is fixed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-10}"
runs_limit="${FUZZ_RUNS:-}"
jobs="${FUZZ_JOBS:-2}"
keep_crashes="${FUZZ_KEEP_CRASHES:-0}"

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
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DREGCACHE_FUZZ=ON \
  -DREGCACHE_TESTS=OFF >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]}"

limits=(-max_total_time="$seconds")
[[ -n "$runs_limit" ]] && limits+=(-runs="$runs_limit")

failed=()
for target in "${targets[@]}"; do
  seeds="$root/tests/fuzz/corpus/$target"
  work="$build/fuzz-work/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  # New inputs go to the scratch corpus (first directory), never into the
  # checked-in seeds.
  if "$build/tests/fuzz/$target" \
      "${limits[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" \
      "$work/corpus" "$seeds" >"$work/log" 2>&1; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")"
    elapsed="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/log")"
    echo "ok   $target: ${runs:-?} runs in ${elapsed:-$seconds}s"
  else
    echo "FAIL $target (log: $work/log)" >&2
    tail -n 60 "$work/log" >&2
    for artifact in "$work"/artifacts/*; do
      [[ -e "$artifact" ]] || continue
      echo "reproducer: $artifact" >&2
      if [[ "$keep_crashes" == 1 ]]; then
        kept="$seeds/crash-$(sha1sum "$artifact" | cut -c1-40)"
        cp "$artifact" "$kept"
        echo "kept as seed: $kept" >&2
      fi
    done
    failed+=("$target")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
