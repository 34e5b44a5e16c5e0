#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes the README's figures (docs/images/*.png) from synthetic phantoms, never from the shared radiographs:
#   1. phantoms:      python3 Utilities/Figures/make_phantoms.py   (chest-like drawings and their lung masks)
#   2. segmentation:  ResCRNetLungSegmentation with the default model (label maps and probability maps)
#   3. figures:       ResCRNetView (the viewer's screenshot, a panel, the default model's training curve)
# Needs a build (build/bin) and an X display; without one it runs itself under xvfb-run.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" bash "$0" "$@"
fi
bin=build/bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 Utilities/Figures/make_phantoms.py "$work/phantoms" >/dev/null
mkdir -p "$work/out" docs/images
for image in "$work"/phantoms/phantom-*.png; do
  stem=$(basename "$image" .png)
  "$bin/ResCRNetLungSegmentation" --leftRight --probability "$work/out/${stem}_probability.nrrd" \
    "$image" "$work/out/${stem}_lungs.nrrd" >/dev/null
done
cd "$work"
# The commands shown under the figures in the README (run from a folder holding phantoms/ and out/).
view=$OLDPWD/$bin/ResCRNetView
"$view" phantoms/phantom-03.png --labels out --reference phantoms/masks --screenshot viewer.png --size 560,520
"$view" phantoms --labels out --probability out --reference phantoms/masks --panel panel.png --cellSize 180 --panelRows 3
"$view" --curve "$OLDPWD/Data/Models/checkpoints/ResCRNet-lungs-default/history.csv" training-curve.png
cp viewer.png panel.png training-curve.png "$OLDPWD/docs/images/"
ls -l "$OLDPWD"/docs/images/
