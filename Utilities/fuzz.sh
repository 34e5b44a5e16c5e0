#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer harnesses of Testing/Fuzz with Debian's clang (-fsanitize=fuzzer,address,undefined) in
# build-fuzz/ and runs each on a copy of its committed corpus, one at a time under nice, for RUNS executions each
# (default 1000000). New inputs the fuzzer keeps go to build-fuzz/corpus/<harness>; crashes to build-fuzz/crashes.
# Usage: bash Utilities/fuzz.sh [harness...]   (CommandLine ModelFile ImageFile; default: all)
# Needs clang (apt-get install clang) and, for the ImageFile and ModelFile harnesses, the project's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1000000}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(CommandLine ModelFile ImageFile)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON -DRESCRNET_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
  -DCMAKE_C_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
for h in "${harnesses[@]}"; do
  nice -n 10 cmake --build build-fuzz --parallel 2 --target "ResCRNetFuzz$h"
  mkdir -p "build-fuzz/corpus/$h" build-fuzz/crashes
  cp -n "Testing/Fuzz/corpus/$h"/* "build-fuzz/corpus/$h/" 2>/dev/null || true
  echo "== $h: $RUNS runs"
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    nice -n 10 "build-fuzz/bin/ResCRNetFuzz$h" -runs="$RUNS" -max_len=65536 -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix=build-fuzz/crashes/ -print_final_stats=1 "build-fuzz/corpus/$h"
done
