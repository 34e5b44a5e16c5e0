#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# From a fresh Debian 12 machine to a segmented chest X-ray: installs the dependencies, builds the segmentation tool
# and segments one radiograph with the default model, writing a label map and an overlay PNG.
#   bash Utilities/quickstart.sh [image] [output directory]
# Without arguments it segments a Montgomery radiograph from ../shared (or $ITKRESCRNET_SHARED).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${ITKRESCRNET_SHARED:-$(cd .. && pwd)/shared}"
image="${1:-$shared/data/cxr-lungs-256/images/MCUCXR_0006_0.png}"
out="${2:-quickstart-output}"

bash Utilities/install-dependencies.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build-configure.log 2>&1 || { cat build-configure.log; exit 1; }
cmake --build build --parallel "$(nproc)" --target ResCRNetLungSegmentation ResCRNetImportKeras

model_args=()
if [ ! -f Data/Models/ResCRNet-lungs-default.rcn ]; then
  # No model of the project's own yet: use the authors' published JMS weights from ../shared.
  jms="$shared/models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5"
  [ -f "$jms" ] || { echo "quickstart: no default model and no authors' weights at $jms" >&2; exit 1; }
  [ -f build/models/jms.rcn ] || { mkdir -p build/models && build/bin/ResCRNetImportKeras "$jms" build/models/jms.rcn > /dev/null; }
  model_args=(--model build/models/jms.rcn)
fi

mkdir -p "$out"
build/bin/ResCRNetLungSegmentation "${model_args[@]}" --leftRight --overlay "$out/overlay.png" \
  --returnparameterfile "$out/results.txt" "$image" "$out/lungs.nrrd"
echo
echo "Lung label map: $out/lungs.nrrd (1 = right lung, 2 = left lung)"
echo "Overlay:        $out/overlay.png"
cat "$out/results.txt"
