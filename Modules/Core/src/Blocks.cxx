// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Blocks.h"

#include "rescrnet/DepthwiseConv.h"

#include <cmath>

namespace rescrnet
{

namespace F = torch::nn::functional;

void
heNormalTruncated_(torch::Tensor & t, int64_t fanIn)
{
  torch::NoGradGuard noGrad;
  const double       stddev = std::sqrt(2.0 / static_cast<double>(fanIn)) / 0.87962566103423978;
  t.normal_(0.0, stddev);
  // Redraw values beyond two standard deviations (truncated normal).
  for (int iter = 0; iter < 100; ++iter)
  {
    auto outside = t.abs() > 2.0 * stddev;
    if (!outside.any().item<bool>())
    {
      break;
    }
    auto redraw = torch::empty_like(t).normal_(0.0, stddev);
    t.copy_(torch::where(outside, redraw, t));
  }
}

std::pair<int64_t, int64_t>
samePadding(int64_t kernel, int64_t dilation)
{
  const int64_t total = dilation * (kernel - 1);
  return { total / 2, total - total / 2 };
}

namespace
{
torch::nn::BatchNorm2d
kerasBatchNorm(int64_t channels, const NetworkConfig & config)
{
  return torch::nn::BatchNorm2d(
    torch::nn::BatchNorm2dOptions(channels).eps(config.batchNormEpsilon).momentum(config.batchNormMomentum));
}

torch::nn::Conv2d
conv1x1(int64_t in, int64_t out)
{
  torch::nn::Conv2d c(torch::nn::Conv2dOptions(in, out, 1).bias(true));
  heNormalTruncated_(c->weight, in);
  torch::NoGradGuard noGrad;
  c->bias.zero_();
  return c;
}
} // namespace

SeparableConv2dImpl::SeparableConv2dImpl(int64_t inChannels, int64_t outChannels, int64_t k, int64_t d)
  : kernel(k)
  , dilation(d)
{
  // Odd kernels: TF 'same' padding is symmetric.
  depthwise = register_module("depthwise",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(inChannels, inChannels, k)
                                                  .groups(inChannels)
                                                  .dilation(d)
                                                  .padding(samePadding(k, d).first)
                                                  .bias(false)));
  pointwise = register_module("pointwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(inChannels, outChannels, 1)));
  resetParameters();
}

void
SeparableConv2dImpl::resetParameters()
{
  const int64_t in = depthwise->weight.size(0);
  heNormalTruncated_(depthwise->weight, kernel * kernel * in);
  heNormalTruncated_(pointwise->weight, in);
  torch::NoGradGuard noGrad;
  pointwise->bias.zero_();
}

torch::Tensor
SeparableConv2dImpl::forward(const torch::Tensor & x)
{
  if (FastDepthwiseConvolution() && kernel % 2 == 1)
  {
    return pointwise->forward(DepthwiseConv2d(x, depthwise->weight, dilation));
  }
  return pointwise->forward(depthwise->forward(x));
}

AtrousBranchImpl::AtrousBranchImpl(int64_t inChannels, const NetworkConfig & config, size_t i)
  : slope(config.leakySlope)
{
  const int64_t k = config.kernels[i];
  const int64_t d = config.dilations[i];
  sep1 = register_module("sep1", SeparableConv2d(inChannels, config.filters, k, d));
  bn = register_module("bn", kerasBatchNorm(config.filters, config));
  sep2 = register_module("sep2", SeparableConv2d(config.filters, config.filters, k, d));
}

torch::Tensor
AtrousBranchImpl::forward(const torch::Tensor & x)
{
  return sep2->forward(F::leaky_relu(bn->forward(sep1->forward(x)), F::LeakyReLUFuncOptions().negative_slope(slope)));
}

ConvResBlockImpl::ConvResBlockImpl(int64_t inChannels, const NetworkConfig & config, bool stem)
  : isStem(stem)
  , slope(config.leakySlope)
{
  if (!isStem)
  {
    preBn = register_module("pre_bn", kerasBatchNorm(inChannels, config));
  }
  for (size_t i = 0; i < config.kernels.size(); ++i)
  {
    branches->push_back(AtrousBranch(inChannels, config, i));
  }
  register_module("branches", branches);
  shortcut = register_module("shortcut", conv1x1(inChannels, config.blockChannels()));
  shortcutBn = register_module("shortcut_bn", kerasBatchNorm(config.blockChannels(), config));
}

torch::Tensor
ConvResBlockImpl::forward(const torch::Tensor & x)
{
  torch::Tensor x0 = x;
  if (!isStem)
  {
    x0 = F::leaky_relu(preBn->forward(x), F::LeakyReLUFuncOptions().negative_slope(slope));
  }
  std::vector<torch::Tensor> outs;
  outs.reserve(branches->size());
  for (const auto & b : *branches)
  {
    outs.push_back(b->as<AtrousBranch>()->forward(x0));
  }
  return shortcutBn->forward(shortcut->forward(x)) + torch::cat(outs, 1);
}

ConvLSTM2dImpl::ConvLSTM2dImpl(int64_t inChannels, int64_t f, int64_t k0, int64_t k1, double rd)
  : filters(f)
  , recurrentDropout(rd)
{
  kernel = register_parameter("kernel", torch::empty({ 4 * f, inChannels, k0, k1 }));
  recurrentKernel = register_parameter("recurrent_kernel", torch::empty({ 4 * f, f, k0, k1 }));
  bias = register_parameter("bias", torch::empty({ 4 * f }));
  resetParameters();
}

void
ConvLSTM2dImpl::resetParameters()
{
  heNormalTruncated_(kernel, kernel.size(1) * kernel.size(2) * kernel.size(3));
  torch::NoGradGuard noGrad;
  torch::nn::init::orthogonal_(recurrentKernel);
  bias.zero_();
  bias.slice(0, filters, 2 * filters).fill_(1.0); // unit forget bias
}

namespace
{
torch::Tensor
hardSigmoid(const torch::Tensor & x)
{
  return torch::clamp(x * 0.2 + 0.5, 0.0, 1.0);
}

// 'same' convolution for the (k0, k1) LSTM kernels: TF pads the even/odd remainder after.
torch::Tensor
sameConv(const torch::Tensor & x, const torch::Tensor & w)
{
  const auto p0 = samePadding(w.size(2), 1);
  const auto p1 = samePadding(w.size(3), 1);
  return F::conv2d(F::pad(x, F::PadFuncOptions({ p1.first, p1.second, p0.first, p0.second })), w);
}
} // namespace

torch::Tensor
ConvLSTM2dImpl::forward(const torch::Tensor & x, bool reverse)
{
  // x: [B, T, Cin, S1, S2]
  const int64_t B = x.size(0), T = x.size(1), S1 = x.size(3), S2 = x.size(4);
  auto          inputs = sameConv(x.reshape({ B * T, x.size(2), S1, S2 }), kernel) + bias.view({ 1, -1, 1, 1 });
  inputs = inputs.view({ B, T, 4 * filters, S1, S2 });

  auto                       h = torch::zeros({ B, filters, S1, S2 }, x.options());
  auto                       c = torch::zeros_like(h);
  std::vector<torch::Tensor> masks;
  const bool                 dropRecurrent = is_training() && recurrentDropout > 0.0;
  if (dropRecurrent)
  {
    for (int g = 0; g < 4; ++g)
    {
      masks.push_back(F::dropout(torch::ones_like(h), F::DropoutFuncOptions().p(recurrentDropout).training(true)));
    }
  }
  std::vector<torch::Tensor> outputs(static_cast<size_t>(T));
  for (int64_t s = 0; s < T; ++s)
  {
    const int64_t t = reverse ? T - 1 - s : s;
    torch::Tensor z;
    if (dropRecurrent)
    {
      std::vector<torch::Tensor> parts;
      for (int64_t g = 0; g < 4; ++g)
      {
        parts.push_back(
          sameConv(h * masks[static_cast<size_t>(g)], recurrentKernel.slice(0, g * filters, (g + 1) * filters)));
      }
      z = inputs.select(1, t) + torch::cat(parts, 1);
    }
    else
    {
      z = inputs.select(1, t) + sameConv(h, recurrentKernel);
    }
    auto gates = z.chunk(4, 1);
    auto i = hardSigmoid(gates[0]);
    auto f = hardSigmoid(gates[1]);
    c = f * c + i * torch::tanh(gates[2]);
    auto o = hardSigmoid(gates[3]);
    h = o * torch::tanh(c);
    outputs[static_cast<size_t>(t)] = h;
  }
  return torch::stack(outputs, 1);
}

LSTMResBlockImpl::LSTMResBlockImpl(int64_t inChannels, const NetworkConfig & config)
  : slope(config.leakySlope)
{
  const int64_t C = config.numClasses;
  conv = register_module("conv", conv1x1(inChannels, C));
  auto make = [&](const char * name) {
    return register_module(name, ConvLSTM2d(1, config.lstmFilters, 3, C, config.lstmRecurrentDropout));
  };
  rowsForward = make("rows_forward");
  rowsBackward = make("rows_backward");
  colsForward = make("cols_forward");
  colsBackward = make("cols_backward");
}

torch::Tensor
LSTMResBlockImpl::forward(const torch::Tensor & input)
{
  auto x = F::leaky_relu(conv->forward(input), F::LeakyReLUFuncOptions().negative_slope(slope)); // [B, C, H, W]
  // Row scan: time = H, each step a (W x C) image with one channel.
  auto rows = x.permute({ 0, 2, 3, 1 }).unsqueeze(2);                                                // [B, H, 1, W, C]
  auto rowOut = rowsForward->forward(rows, false).sum(2) + rowsBackward->forward(rows, true).sum(2); // [B, H, W, C]
  // Column scan: time = W, each step an (H x C) image.
  auto cols = x.permute({ 0, 3, 2, 1 }).unsqueeze(2);                                                // [B, W, 1, H, C]
  auto colOut = colsForward->forward(cols, false).sum(2) + colsBackward->forward(cols, true).sum(2); // [B, W, H, C]
  auto res = rowOut.permute({ 0, 3, 1, 2 }) + colOut.permute({ 0, 3, 2, 1 });
  return x + res;
}

} // namespace rescrnet
