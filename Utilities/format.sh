#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Formats the project's C++ with clang-format (.clang-format: ITK style). --check reports files that differ.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.h' '*.hxx' '*.cxx' '*.cpp' '*.txx')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then
      echo "needs clang-format: $f"
      bad=1
    fi
  done
  [ $bad -eq 0 ] && echo "clang-format: ${#files[@]} files clean"
  exit $bad
fi
clang-format --style=file -i "${files[@]}"
echo "clang-format: formatted ${#files[@]} files"
