#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the libFuzzer harnesses of Testing/Fuzz, built by the asan-ubsan preset (clang, -fsanitize=fuzzer,address,
# undefined; build-asan/), one at a time under nice, each for RUNS executions (default 1000000) on a copy of its
# committed corpus. Inputs the fuzzer keeps go to build-asan/fuzz-corpus/<harness>, crashes to
# build-asan/fuzz-crashes/, and a summary line per harness (executions, seconds, corpus, findings) to
# build-asan/fuzz-summary.txt.
# Usage: bash Utilities/fuzz.sh [harness...]   (CommandLine ModelFile ImageFile PipelineFile KerasImport; default: all)
# FUZZ_BUILD=0 runs the harnesses as built (e.g. while the rest of build-asan is being built).
# Needs clang (apt-get install clang) besides the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1000000}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(CommandLine ModelFile ImageFile PipelineFile KerasImport)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
[ -f build-asan/CMakeCache.txt ] || cmake --preset asan-ubsan
mkdir -p build-asan/fuzz-crashes
for h in "${harnesses[@]}"; do
  [ "${FUZZ_BUILD:-1}" = 0 ] || nice -n 10 cmake --build build-asan --parallel 2 --target "ResCRNetFuzz$h"
  corpus="build-asan/fuzz-corpus/$h"
  mkdir -p "$corpus"
  cp -n "Testing/Fuzz/corpus/$h"/* "$corpus/" 2>/dev/null || true
  max_len=65536
  [ "$h" = KerasImport ] && max_len=131072 # the seed _all.h5 files are 76 kB
  echo "== $h: $RUNS runs"
  start=$(date +%s)
  set +e
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    nice -n 10 "build-asan/bin/ResCRNetFuzz$h" -runs="$RUNS" -max_len=$max_len -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix="build-asan/fuzz-crashes/$h-" -print_final_stats=1 "$corpus" 2>&1 | tee "build-asan/fuzz-$h.log"
  status=${PIPESTATUS[0]}
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-asan/fuzz-$h.log" | tail -1)
  echo "$h: ${execs:-?} executions in $(($(date +%s) - start)) s, corpus $(ls "$corpus" | wc -l) inputs, exit $status," \
    "findings: $(ls build-asan/fuzz-crashes | grep -c "^$h-" || true)" | tee -a build-asan/fuzz-summary.txt
  [ "$status" -eq 0 ] || exit "$status"
done
