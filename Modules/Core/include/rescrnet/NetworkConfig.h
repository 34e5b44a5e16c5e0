// SPDX-License-Identifier: Apache-2.0
// Configuration of a Res-CR-Net: everything that shapes the graph is data, not code.
#ifndef rescrnet_NetworkConfig_h
#define rescrnet_NetworkConfig_h

#include "rescrnet/JsonParsing.h"

#include <string>
#include <vector>

namespace rescrnet
{

struct NetworkConfig
{
  int64_t inputChannels{ 1 };
  int64_t numClasses{ 2 };
  // CONV RES blocks after the STEM (the released lung model has 5).
  int64_t convResBlocks{ 5 };
  // Filters per branch; the three branches are concatenated ("conc" mode), so blocks carry 3 * filters channels.
  int64_t              filters{ 16 };
  std::vector<int64_t> kernels{ 3, 5, 7 };
  std::vector<int64_t> dilations{ 1, 3, 5 };
  // SpatialDropout2D rate after the STEM and after each CONV RES block (size convResBlocks + 1); 0 = none.
  // The lung code adds its last CONV RES block without dropout.
  std::vector<double> blockDropout{ 0.05, 0.05, 0.05, 0.05, 0.05, 0.0 };
  // LSTM RES blocks after the CONV RES blocks (0 for the lung model: the head is then 1x1 conv + LeakyReLU).
  int64_t lstmBlocks{ 0 };
  int64_t lstmFilters{ 1 };
  double  lstmRecurrentDropout{ 0.1 };
  double  leakySlope{ 0.1 };
  double  batchNormEpsilon{ 1e-3 };
  // PyTorch convention: Keras momentum 0.99 is PyTorch momentum 0.01.
  double batchNormMomentum{ 0.01 };

  // The released lung model: 1 channel, 2 classes, STEM + 5 CONV RES + head.
  static NetworkConfig
  LungDefault();
  // The original microscopy default: RGB, 4 classes, STEM + 5 CONV RES (all with dropout) + 1 LSTM RES block.
  static NetworkConfig
  MicroscopyDefault();

  int64_t
  blockChannels() const
  {
    return filters * static_cast<int64_t>(kernels.size());
  }

  // Throws std::invalid_argument naming the inconsistent field or the value outside its range. Model files are
  // untrusted input, so every value that sizes the network is bounded (the limits below), slopes and rates must be
  // finite, and the whole network must hold at most MaxStateElements values: a file cannot make the reader allocate
  // more than that before its tensors are checked.
  void
  validate() const;

  // Weights and batch-norm statistics of the network this configuration describes (what ResCRNet::namedState()
  // holds), computed without building it; in double so that no configuration overflows.
  double
  stateElementCount() const;

  static constexpr int64_t MaxInputChannels = 16;
  static constexpr int64_t MaxClasses = 256;
  static constexpr int64_t MaxConvResBlocks = 64;
  static constexpr int64_t MaxFilters = 1024;
  static constexpr int64_t MaxBranches = 8;
  static constexpr int64_t MaxKernel = 31;
  static constexpr int64_t MaxDilation = 64;
  static constexpr int64_t MaxLstmBlocks = 8;
  static constexpr int64_t MaxLstmFilters = 256;
  static constexpr double  MaxStateElements = 256.0 * 1024 * 1024; // 1 GiB of float32

  nlohmann::ordered_json
  toJson() const;
  static NetworkConfig
  fromJson(const nlohmann::ordered_json & j);

  bool
  operator==(const NetworkConfig & o) const;
  bool
  operator!=(const NetworkConfig & o) const
  {
    return !(*this == o);
  }
};

} // namespace rescrnet

#endif
