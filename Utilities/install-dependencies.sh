#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package that ITKResCRNet's build, tests and tools need.
# Idempotent: packages already present are skipped; `apt-get update` runs at most once per call.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  libinsighttoolkit5-dev libgdcm-tools libpng-dev libjpeg-dev
  libvtk9-dev
  libtorch-dev libgloo-dev python3-torch python3-numpy libopenblas0-openmp
  libdcmtk-dev dcmtk dicom3tools
  libexpat1-dev libxml2-utils
  libhdf5-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev zlib1g-dev
  xvfb xauth libgl1-mesa-dri
)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-dependencies: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-dependencies: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# apt-get fails loudly (non-zero exit, 'Unable to locate package') when a package is missing.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

for p in "${missing[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "install-dependencies: ERROR: package $p is still not installed" >&2
    exit 1
  fi
done
echo "install-dependencies: done"
