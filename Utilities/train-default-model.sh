#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Trains (or continues training) the project's default lung model in two stages, selecting on the val splits only:
#   1. Montgomery + Shenzhen (../shared/data/cxr-lungs-256, train split), 16 epochs from scratch;
#   2. fine-tuning on both data sets (cxr-lungs-256 and the pneumonia set cxr-lungs-pathology-256), sampled per epoch
#      in the ratio MC 0.1, SH 0.25, QUEXNC 0.4, RDBVP 0.25, 6 epochs, learning rate x0.1 in epoch 6.
# Resumable: checkpoints live in Data/Models/checkpoints/ (committed between sittings, so a run longer than one
# sitting continues where it stopped). When it finishes, the best model of stage 2 is evaluated on the test splits and
# copied to Data/Models/ResCRNet-lungs-default.rcn. Extra arguments go to both training stages (e.g. --maxMinutes N).
#   bash Utilities/train-default-model.sh [--maxMinutes N]
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ITKRESCRNET_SHARED:-$(cd .. && pwd)/shared}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target ResCRNetTrain ResCRNetEvaluate
data="$shared/data"
ckpt=Data/Models/checkpoints/ResCRNet-lungs-default
mixed=Data/Models/checkpoints/ResCRNet-lungs-mixed
mkdir -p "$ckpt" "$mixed" build/training
# The rest of a training run in bounded memory and without OpenMP threads spinning while they wait.
export OMP_WAIT_POLICY=PASSIVE
# Geometry shared by both stages: 128 x 128 (the training cost per epoch that fits 2 cores, see Data/Models/README.md),
# mild geometric augmentation (radiographs are upright) plus exposure, contrast and simulated opacities.
common=(--grid 128,128 --batchSize 8 --rotation 10 --shift 0.05 --shear 5 --zoom 0.1 --noVerticalFlip
  --gamma 0.3 --contrast 0.2 --opacities 2 --threads "$(nproc)" --seed 1 --resume)
# Stage 1: Montgomery + Shenzhen.
build/bin/ResCRNetTrain --split "$data/cxr-lungs-256/split.csv" --epochs 16 --lrDropEpochs 13 "${common[@]}" \
  --cache build/training/cache-128.pt --checkpointDir "$ckpt" \
  --history "$ckpt/history.csv" --curve "$ckpt/curve.png" "$@" build/training/ResCRNet-lungs-stage1.rcn
# Stage 2: both data sets, per-source validation Dice in the history (val_dice_<source>).
build/bin/ResCRNetTrain --split "$data/cxr-lungs-256/split.csv" --split "$data/cxr-lungs-pathology-256/split.csv" \
  --sourceWeights MC=0.1,SH=0.25,QUEXNC=0.4,RDBVP=0.25 --initModel build/training/ResCRNet-lungs-stage1.rcn \
  --epochs 6 --lrDropEpochs 6 "${common[@]}" --cache build/training/cache-128-mixed.pt --checkpointDir "$mixed" \
  --history "$mixed/history.csv" --curve "$mixed/curve.png" "$@" build/training/ResCRNet-lungs-default.rcn
for set in cxr-lungs-256 cxr-lungs-pathology-256; do
  build/bin/ResCRNetEvaluate --model build/training/ResCRNet-lungs-default.rcn --split "$data/$set/split.csv" \
    --subset test --outputCSV "build/training/test-$set.csv" --summaryJson "build/training/test-$set.json"
done
# The quality score's calibration is fitted on the val splits (never test) with this model; paste the printed
# initialiser into Filters/Metrics/itkLungMaskQualityCalculator.hxx (DefaultCalibration) when it changes.
for set in cxr-lungs-256 cxr-lungs-pathology-256; do
  build/bin/ResCRNetEvaluate --model build/training/ResCRNet-lungs-default.rcn --split "$data/$set/split.csv" \
    --subset val --outputCSV "build/training/val-$set.csv"
done
python3 Utilities/calibrate-quality.py build/training/val-cxr-lungs-256.csv build/training/val-cxr-lungs-pathology-256.csv \
  --json build/training/quality-calibration.json
cp build/training/ResCRNet-lungs-default.rcn Data/Models/ResCRNet-lungs-default.rcn
echo "Data/Models/ResCRNet-lungs-default.rcn updated; test figures in build/training/test-*.json"
