// SPDX-License-Identifier: Apache-2.0
// The Res-CR-Net network: STEM + CONV RES blocks (+ LSTM RES blocks) + softmax head, as configured.
#ifndef rescrnet_ResCRNet_h
#define rescrnet_ResCRNet_h

#include "rescrnet/Blocks.h"
#include "rescrnet/NetworkConfig.h"

#include <torch/torch.h>

#include <ostream>
#include <string>
#include <vector>

namespace rescrnet
{

struct ParameterCounts
{
  int64_t trainable{ 0 };
  // Batch-norm moving mean and variance (Keras "non-trainable").
  int64_t batchNormStatistics{ 0 };
};

class ResCRNetImpl : public torch::nn::Module
{
public:
  explicit ResCRNetImpl(const NetworkConfig & config);

  // Per-class probabilities (softmax over channels): [B, Cin, H, W] -> [B, classes, H, W].
  torch::Tensor
  forward(const torch::Tensor & x);
  // Scores before the softmax.
  torch::Tensor
  logits(const torch::Tensor & x);
  // Output of block `index` (0 = STEM), before its dropout; for parity checks and feature inspection.
  torch::Tensor
  blockOutput(const torch::Tensor & x, size_t index);

  const NetworkConfig &
  config() const
  {
    return m_Config;
  }
  ParameterCounts
  parameterCounts() const;
  // Receptive field in pixels of one output pixel (0 when it spans the whole image, as with LSTM blocks).
  int64_t
  receptiveField() const;
  // Multiply-adds x 2 of all convolutions per output pixel.
  double
  flopsPerPixel() const;
  // Human-readable summary: layers, parameters, receptive field, FLOPs per pixel.
  void
  printSummary(std::ostream & os) const;

  // Named tensors in a stable order: parameters then batch-norm statistics (num_batches_tracked excluded).
  std::vector<std::pair<std::string, torch::Tensor>>
  namedState() const;

  torch::nn::ModuleList convBlocks;
  torch::nn::ModuleList lstmBlocks;
  torch::nn::Conv2d     head{ nullptr };

private:
  NetworkConfig m_Config;
};
TORCH_MODULE(ResCRNet);

} // namespace rescrnet

#endif
