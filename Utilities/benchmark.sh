#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Side-by-side benchmark in one run, same weights and threads: the project (fast depthwise kernels), the project with
# LibTorch's own convolutions, and PyTorch eager (Debian's python3-torch). Writes benchmark.json. Then the folder
# mode end to end next to the network alone (20 radiographs of the shared data's list; folder-benchmark.json).
#   bash Utilities/benchmark.sh [model.rcn]     (default: the authors' JMS weights imported from ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ITKRESCRNET_SHARED:-$(cd .. && pwd)/shared}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target ResCRNetBenchmark ResCRNetFolderBenchmark ResCRNetImportKeras
model="${1:-}"
if [ -z "$model" ]; then
  model=build/models/jms.rcn
  [ -f "$model" ] || { mkdir -p build/models && build/bin/ResCRNetImportKeras \
    "$shared/models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5" "$model" > /dev/null; }
fi
uptime
build/bin/ResCRNetBenchmark "$model" --threads-list 1,2 --repeats 5 --pytorch Utilities/Benchmarks/pytorch_eager.py \
  --json benchmark.json
# The shared data's split file is a manifest (its image column); the first 20 images, 2 threads.
build/bin/ResCRNetFolderBenchmark "$model" "$shared/data/cxr-lungs-256/split.csv" --threads 2 --images 20 \
  --inFlight 1,3 --rounds 2 --json folder-benchmark.json
