#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Parity of the reduced precisions with fp32 on the test splits of both shared data sets, through the whole lung
# pipeline (Utilities/Benchmarks/PrecisionParity.cxx): mean Dice within 0.001 of fp32 and at most 0.2 % of the pixels
# differing per image. Writes parity-<model>-<precision>.csv (per image) and prints one line per data set.
#   bash Utilities/precision-parity.sh [precision ...]     (default: fp16 bf16; models: JMS weights, default model)
# The precisions must run on this CPU (CPUID). On a virtual machine that hides AVX512-FP16/BF16 from CPUID although
# the host executes them, declare them with RESCRNET_ASSUME_ISA=avx512fp16,avx512bf16 (a developer override: on a
# CPU without the instructions the run dies of SIGILL).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ITKRESCRNET_SHARED:-$(cd .. && pwd)/shared}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target ResCRNetPrecisionParity ResCRNetImportKeras
jms=build/models/jms.rcn
[ -f "$jms" ] || { mkdir -p build/models && build/bin/ResCRNetImportKeras \
  "$shared/models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5" "$jms" > /dev/null; }
precisions=("$@")
[ ${#precisions[@]} -gt 0 ] || precisions=(fp16 bf16)
status=0
for model in "$jms" Data/Models/ResCRNet-lungs-default.rcn; do
  name=$(basename "$model" .rcn)
  for precision in "${precisions[@]}"; do
    build/bin/ResCRNetPrecisionParity "$model" --precision "$precision" --threads 2 \
      --split "$shared/data/cxr-lungs-256/split.csv" --split "$shared/data/cxr-lungs-pathology-256/split.csv" \
      --csv "parity-$name-$precision.csv" || status=1
  done
done
exit $status
