#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# From a fresh Debian 12 machine to a tested build: installs the dependencies, configures, builds and runs the
# test suite (unit, integration, real-data and render tests; real-data tests skip, with the reason, without ../shared).
# CI (.ci/run) runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Utilities/install-dependencies.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON
cmake --build build --parallel "$(nproc)"
# Render tests need an X server: VTK on Debian renders through GLX only.
cd build
xvfb-run -a -s "-screen 0 1280x1024x24 -noreset" ctest --output-on-failure --parallel "$(nproc)" "$@"
