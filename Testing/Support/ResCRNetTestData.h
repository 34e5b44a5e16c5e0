// SPDX-License-Identifier: Apache-2.0
// Synthetic data and tiny networks shared by the tests: LibTorch and ResCRNetCore only (no ITK), so that the Core
// tests can use them. Built as the ResCRNetTestData library (Testing/CMakeLists.txt).
#ifndef ResCRNetTestData_h
#define ResCRNetTestData_h

#include "rescrnet/ModelFile.h"
#include "rescrnet/Trainer.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace rescrnet::testing
{

// `n` synthetic images with a bright disc of radius 5 each, [n, 1, size, size] with noise from torch::rand after
// torch::manual_seed(seed), and their one-hot masks [n, 2, size, size]; the ids are idPrefix + "0", "1", ...
TrainingData
SyntheticDiscs(int64_t n, int64_t size, uint64_t seed, const std::string & idPrefix);

// The lung default shrunk for tests: one convolutional residual block, 4 filters, block dropout { 0.05, 0 }.
NetworkConfig
TinyNetworkConfig();

// Writes `dir`/tiny.rcn, a TinyNetworkConfig() network randomly initialised after torch::manual_seed(3), at a
// 48 x 40 input grid, and returns its path.
std::filesystem::path
WriteTinyLungModel(const std::filesystem::path & dir);

// A `config` network after torch::manual_seed(seed) with non-trivial batch-norm statistics and affine parameters
// (fresh ones are the identity), in eval mode: for comparing inference paths.
ResCRNet
RandomNetwork(const NetworkConfig & config, uint64_t seed);

} // namespace rescrnet::testing

#endif
