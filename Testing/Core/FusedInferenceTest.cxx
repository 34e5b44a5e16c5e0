// SPDX-License-Identifier: Apache-2.0
// The fused inference path (batch norm folded, depthwise + pointwise fused, padded planes) against the LibTorch
// modules it replaces, on every instruction set this CPU has, odd sizes, other configurations and weight updates.
#include "ResCRNetTestData.h"
#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/FusedInference.h"
#include "rescrnet/Predictor.h"
#include "rescrnet/ResCRNet.h"

#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

using namespace rescrnet;

namespace
{
// Float rounding only: folding batch norm and reordering sums moves probabilities by a few 1e-6 on these random
// six-block networks, as much as the fast depthwise kernels vs LibTorch's convolution do (printed below); a wrong
// fold or a missed tap moves them by 1e-2 or more.
constexpr double kTolerance = 2e-5;

using rescrnet::testing::RandomNetwork;

torch::Tensor
moduleForward(ResCRNet & net, const torch::Tensor & x)
{
  torch::NoGradGuard noGrad;
  net->eval();
  return net->forward(x);
}

double
maxAbsDiff(const torch::Tensor & a, const torch::Tensor & b)
{
  return (a - b).abs().max().item<double>();
}

std::vector<std::string>
availableIsas()
{
  std::vector<std::string> isas;
  for (const char * name : { "generic", "avx2", "avx512" })
  {
    if (SetDepthwiseConvolutionIsa(name))
    {
      isas.emplace_back(name);
    }
  }
  SetDepthwiseConvolutionIsa("best");
  return isas;
}

struct RestoreIsa
{
  ~RestoreIsa()
  {
    SetDepthwiseConvolutionIsa("best");
    SetFastDepthwiseConvolution(true);
    torch::set_num_threads(2);
  }
};
} // namespace

TEST(FusedInference, MatchesTheModulesOnEveryInstructionSetAndOddSizes)
{
  RestoreIsa restore;
  ResCRNet   net = RandomNetwork(NetworkConfig::LungDefault(), 11);
  // Widths around the vector widths, heights below the largest padding (15 rows), a batch of two.
  const std::vector<std::vector<int64_t>> shapes = {
    { 1, 1, 37, 53 }, { 2, 1, 21, 16 }, { 1, 1, 5, 1 }, { 1, 1, 1, 33 }, { 1, 1, 64, 70 }
  };
  const auto isas = availableIsas();
  ASSERT_FALSE(isas.empty());
  for (const auto & shape : shapes)
  {
    torch::manual_seed(3);
    const auto x = torch::randn(shape) * 2.0;
    const auto expected = moduleForward(net, x);
    SetFastDepthwiseConvolution(false);
    const auto plain = moduleForward(net, x);
    SetFastDepthwiseConvolution(true);
    std::cout << x.sizes() << " modules, fast vs LibTorch depthwise: " << maxAbsDiff(plain, expected) << std::endl;
    for (const auto & isa : isas)
    {
      ASSERT_TRUE(SetDepthwiseConvolutionIsa(isa));
      FusedInference fused(*net);
      EXPECT_STREQ(FusedInference::Isa(), isa.c_str());
      const auto got = fused.forward(x);
      ASSERT_EQ(got.sizes(), expected.sizes());
      std::cout << "  " << isa << ": " << maxAbsDiff(got, expected) << std::endl;
      EXPECT_LE(maxAbsDiff(got, expected), kTolerance) << isa << " " << x.sizes();
      // Probabilities, not logits.
      EXPECT_LE((got.sum(1) - 1.0).abs().max().item<double>(), 1e-5);
    }
  }
}

TEST(FusedInference, OtherConfigurationsKernelSizesAndClassCounts)
{
  RestoreIsa    restore;
  NetworkConfig c;
  c.inputChannels = 3;
  c.numClasses = 3;
  c.convResBlocks = 2;
  c.filters = 6;           // not a multiple of the 8-channel tiles
  c.kernels = { 1, 3, 9 }; // 1 and 9 take the generic kernel-size paths
  c.dilations = { 1, 2, 2 };
  c.blockDropout = { 0.1, 0.0, 0.0 };
  c.validate();
  ASSERT_TRUE(FusedInference::Supports(c));
  ResCRNet net = RandomNetwork(c, 5);
  torch::manual_seed(4);
  const auto x = torch::randn({ 2, 3, 29, 41 });
  const auto expected = moduleForward(net, x);
  for (const auto & isa : availableIsas())
  {
    ASSERT_TRUE(SetDepthwiseConvolutionIsa(isa));
    FusedInference fused(*net);
    EXPECT_LE(maxAbsDiff(fused.forward(x), expected), kTolerance) << isa;
  }
}

TEST(FusedInference, ReusesBuffersAcrossSizesAndIgnoresTheThreadCount)
{
  RestoreIsa     restore;
  ResCRNet       net = RandomNetwork(NetworkConfig::LungDefault(), 21);
  FusedInference fused(*net);
  torch::manual_seed(8);
  const auto a = torch::randn({ 1, 1, 40, 48 });
  const auto b = torch::randn({ 1, 1, 23, 31 });
  torch::set_num_threads(1);
  const auto a1 = fused.forward(a);
  const auto b1 = fused.forward(b);
  torch::set_num_threads(2);
  const auto a2 = fused.forward(a);
  // Each output value is computed by one task in a fixed order: bitwise equal whatever the threads and buffers.
  EXPECT_TRUE(torch::equal(a1, a2));
  FusedInference fresh(*net);
  EXPECT_TRUE(torch::equal(fresh.forward(b), b1));
  // A non-contiguous input gives the same result.
  const auto wide = torch::randn({ 1, 1, 40, 96 });
  const auto view = wide.slice(3, 0, 96, 2);
  EXPECT_TRUE(torch::equal(fused.forward(view), fused.forward(view.contiguous())));
}

TEST(FusedInference, PredictorUsesItAndSeesWeightUpdates)
{
  RestoreIsa restore;
  ResCRNet   net = RandomNetwork(NetworkConfig::LungDefault(), 31);
  Predictor  predictor(net, 2);
  torch::manual_seed(9);
  const auto x = torch::randn({ 1, 1, 33, 35 });
  EXPECT_LE(maxAbsDiff(predictor.predict(x), moduleForward(net, x)), kTolerance);
  // The predictor reads the weights at every call (a training model object hands out predictors over live weights).
  {
    torch::NoGradGuard noGrad;
    net->parameters().front().mul_(-1.5);
  }
  const auto after = predictor.predict(x);
  EXPECT_LE(maxAbsDiff(after, moduleForward(net, x)), kTolerance);
  // With the fast path off, the predictor runs the modules.
  SetFastDepthwiseConvolution(false);
  EXPECT_LE(maxAbsDiff(predictor.predict(x), after), kTolerance);
}

TEST(FusedInference, LstmHeadsAreNotFusedAndThePredictorFallsBack)
{
  NetworkConfig c = NetworkConfig::MicroscopyDefault();
  c.convResBlocks = 1;
  c.blockDropout = { 0.05, 0.05 };
  EXPECT_FALSE(FusedInference::Supports(c));
  torch::manual_seed(2);
  ResCRNet net(c);
  EXPECT_THROW(FusedInference{ *net }, std::invalid_argument);
  const auto x = torch::rand({ 1, 3, 12, 10 });
  EXPECT_LE(maxAbsDiff(Predictor(net, 1).predict(x), moduleForward(net, x)), 1e-6);
}

TEST(FusedInference, RejectsWrongChannelCounts)
{
  ResCRNet       net = RandomNetwork(NetworkConfig::LungDefault(), 1);
  FusedInference fused(*net);
  EXPECT_THROW(fused.forward(torch::zeros({ 1, 3, 8, 8 })), c10::Error);
  EXPECT_THROW(fused.forward(torch::zeros({ 8, 8 })), c10::Error);
}

TEST(FusedInference, LargeInputsRunInExactTiles)
{
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 1; // receptive radius: 2 blocks x 2 convolutions x 6 = 24 px, so that small tiles stay cheap
  c.kernels = { 3, 5, 5 };
  c.dilations = { 1, 2, 3 }; // widest padding 6
  c.blockDropout = { 0.05, 0.0 };
  ResCRNet       net = RandomNetwork(c, 41);
  FusedInference fused(*net);
  EXPECT_EQ(fused.ReceptiveRadius(), 24);
  torch::manual_seed(12);
  const auto x = torch::randn({ 2, 1, 150, 170 });
  const auto whole = fused.forward(x);
  // A budget for 100 x 100 pixels, below the whole image's: tiles of 48 x 48 outputs with 24 px of context.
  fused.setMaxWorkspaceBytes(fused.WorkspaceBytes(100, 100));
  ASSERT_LT(fused.maxWorkspaceBytes(), fused.WorkspaceBytes(150, 170));
  const auto tiled = fused.forward(x);
  // The same arithmetic per output pixel, in every tile: bitwise equal to the single pass.
  EXPECT_TRUE(torch::equal(tiled, whole)) << (tiled - whole).abs().max().item<double>();
  EXPECT_LE(maxAbsDiff(tiled, moduleForward(net, x)), kTolerance);
  // Without the margin the tiles would differ: the lung model's radius is 180 px.
  EXPECT_EQ(FusedInference(*RandomNetwork(NetworkConfig::LungDefault(), 1)).ReceptiveRadius(), 180);
}
