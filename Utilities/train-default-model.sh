#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Trains (or continues training) the project's default lung model on the train split of ../shared/data/cxr-lungs-256,
# selecting on val. Resumable: checkpoints live in Data/Models/checkpoints/ResCRNet-lungs-default (committed between
# sittings, so a run longer than one sitting continues where it stopped). When it finishes, the best model is
# evaluated on the test split and copied to Data/Models/ResCRNet-lungs-default.rcn.
#   bash Utilities/train-default-model.sh [--maxMinutes N]
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ITKRESCRNET_SHARED:-$(cd .. && pwd)/shared}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target ResCRNetTrain ResCRNetEvaluate
ckpt=Data/Models/checkpoints/ResCRNet-lungs-default
mkdir -p "$ckpt" build/training
# 128 x 128: the training cost per epoch that fits 2 cores (see Data/Models/README.md); mild geometry (radiographs
# are upright) plus exposure, contrast and simulated opacities for diseased lungs.
build/bin/ResCRNetTrain --split "$shared/data/cxr-lungs-256/split.csv" --grid 128,128 --epochs 16 \
  --lrDropEpochs 13 --batchSize 8 --rotation 10 --shift 0.05 --shear 5 --zoom 0.1 --noVerticalFlip \
  --gamma 0.3 --contrast 0.2 --opacities 2 --threads "$(nproc)" --seed 1 \
  --cache build/training/cache-128.pt --checkpointDir "$ckpt" --resume \
  --history "$ckpt/history.csv" --curve "$ckpt/curve.png" "$@" build/training/ResCRNet-lungs-default.rcn
build/bin/ResCRNetEvaluate --model build/training/ResCRNet-lungs-default.rcn \
  --split "$shared/data/cxr-lungs-256/split.csv" --subset test --summaryJson build/training/test-summary.json
