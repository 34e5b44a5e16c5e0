// SPDX-License-Identifier: Apache-2.0
// Building blocks of Res-CR-Net (see rescrnet-spec: separable atrous convolutions, CONV RES and LSTM RES blocks).
// Layout is NCHW; every convolution is stride 1 with TensorFlow 'same' padding, so blocks keep full resolution.
#ifndef rescrnet_Blocks_h
#define rescrnet_Blocks_h

#include "rescrnet/NetworkConfig.h"

#include <torch/torch.h>

namespace rescrnet
{

// Keras SeparableConv2D with depth multiplier 1: depthwise k x k (dilated, no bias), then pointwise 1 x 1 with bias.
class SeparableConv2dImpl : public torch::nn::Module
{
public:
  SeparableConv2dImpl(int64_t inChannels, int64_t outChannels, int64_t kernel, int64_t dilation);
  torch::Tensor
  forward(const torch::Tensor & x);
  void
  resetParameters();

  torch::nn::Conv2d depthwise{ nullptr };
  torch::nn::Conv2d pointwise{ nullptr };
  int64_t           kernel;
  int64_t           dilation;
};
TORCH_MODULE(SeparableConv2d);

// One branch of a CONV RES block: SepConv -> BN -> LeakyReLU -> SepConv.
class AtrousBranchImpl : public torch::nn::Module
{
public:
  AtrousBranchImpl(int64_t inChannels, const NetworkConfig & config, size_t branchIndex);
  torch::Tensor
  forward(const torch::Tensor & x);

  SeparableConv2d        sep1{ nullptr };
  torch::nn::BatchNorm2d bn{ nullptr };
  SeparableConv2d        sep2{ nullptr };
  double                 slope;
};
TORCH_MODULE(AtrousBranch);

// STEM (isStem = true: no pre-activation) or CONV RES block (pre-activation BN + LeakyReLU on the branch input;
// the 1x1 shortcut takes the raw input).
class ConvResBlockImpl : public torch::nn::Module
{
public:
  ConvResBlockImpl(int64_t inChannels, const NetworkConfig & config, bool isStem);
  torch::Tensor
  forward(const torch::Tensor & x);

  bool                   isStem;
  double                 slope;
  torch::nn::BatchNorm2d preBn{ nullptr };
  torch::nn::ModuleList  branches;
  torch::nn::Conv2d      shortcut{ nullptr };
  torch::nn::BatchNorm2d shortcutBn{ nullptr };
};
TORCH_MODULE(ConvResBlock);

// Keras ConvLSTM2D (return_sequences, padding 'same', tanh, hard-sigmoid gates, unit forget bias) over a sequence
// of 2-D steps: input [B, T, Cin, S1, S2] -> output [B, T, F, S1, S2]. Kernel (3, S2) spans the whole second axis.
class ConvLSTM2dImpl : public torch::nn::Module
{
public:
  ConvLSTM2dImpl(int64_t inChannels, int64_t filters, int64_t kernel0, int64_t kernel1, double recurrentDropout);
  torch::Tensor
  forward(const torch::Tensor & x, bool reverse);
  void
  resetParameters();

  torch::Tensor kernel;          // [4F, Cin, k0, k1] (gates i, f, c, o)
  torch::Tensor recurrentKernel; // [4F, F, k0, k1]
  torch::Tensor bias;            // [4F]
  int64_t       filters;
  double        recurrentDropout;
};
TORCH_MODULE(ConvLSTM2d);

// LSTM RES block: 1x1 conv (-> classes) + LeakyReLU, two bidirectional ConvLSTMs scanning rows and columns, summed
// over their filter axis and added to the block input (identity residual).
class LSTMResBlockImpl : public torch::nn::Module
{
public:
  LSTMResBlockImpl(int64_t inChannels, const NetworkConfig & config);
  torch::Tensor
  forward(const torch::Tensor & x);

  torch::nn::Conv2d conv{ nullptr };
  ConvLSTM2d        rowsForward{ nullptr };
  ConvLSTM2d        rowsBackward{ nullptr };
  ConvLSTM2d        colsForward{ nullptr };
  ConvLSTM2d        colsBackward{ nullptr };
  double            slope;
};
TORCH_MODULE(LSTMResBlock);

// Keras he_normal (truncated normal, std = sqrt(2 / fanIn) / 0.87962566) in place.
void
heNormalTruncated_(torch::Tensor & t, int64_t fanIn);

// TF 'same' padding for one axis: (before, after).
std::pair<int64_t, int64_t>
samePadding(int64_t kernel, int64_t dilation);

} // namespace rescrnet

#endif
