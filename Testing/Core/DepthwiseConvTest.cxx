// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/Losses.h"
#include "rescrnet/ResCRNet.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

using namespace rescrnet;

namespace
{

// Restores the global switches (and the thread count) when a test ends, whatever happens in it.
struct SwitchGuard
{
  bool fast = FastDepthwiseConvolution();
  int  threads = at::get_num_threads();
  ~SwitchGuard()
  {
    SetFastDepthwiseConvolution(fast);
    SetDepthwiseConvolutionIsa("best");
    at::set_num_threads(threads);
  }
};

torch::Tensor
reference(const torch::Tensor & x, const torch::Tensor & w, int64_t d)
{
  return torch::conv2d(x, w, {}, 1, d * (w.size(2) - 1) / 2, d, x.size(1));
}

// max |a - b| relative to the magnitude of b (at least 1).
double
relativeError(const torch::Tensor & a, const torch::Tensor & b)
{
  const double scale = std::max(1.0, b.abs().max().item<double>());
  return (a - b).abs().max().item<double>() / scale;
}

struct Result
{
  torch::Tensor out, gradInput, gradWeight;
};

// Forward and both gradients of `conv` for the given data and upstream gradient.
template <typename Conv>
Result
run(Conv conv, const torch::Tensor & x0, const torch::Tensor & w0, const torch::Tensor & gradOut)
{
  auto x = x0.clone().requires_grad_(true);
  auto w = w0.clone().requires_grad_(true);
  auto y = conv(x, w);
  y.backward(gradOut);
  return { y.detach(), x.grad(), w.grad() };
}

const std::vector<std::pair<int64_t, int64_t>> kKernels{ { 3, 1 }, { 5, 3 }, { 7, 5 } };

std::vector<std::string>
supportedIsas()
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

void
expectMatchesLibTorch(const std::vector<int64_t> & shape, int64_t k, int64_t d, const std::string & what)
{
  const int64_t C = shape[1];
  auto          x = torch::randn(shape);
  auto          w = torch::randn({ C, 1, k, k }) * 0.3;
  auto          g = torch::randn(shape);
  const auto    fast =
    run([d](const torch::Tensor & a, const torch::Tensor & b) { return DepthwiseConv2d(a, b, d); }, x, w, g);
  const auto ref = run([d](const torch::Tensor & a, const torch::Tensor & b) { return reference(a, b, d); }, x, w, g);
  ASSERT_EQ(fast.out.sizes(), ref.out.sizes()) << what;
  EXPECT_LE(relativeError(fast.out, ref.out), 1e-4) << what << " forward";
  EXPECT_LE(relativeError(fast.gradInput, ref.gradInput), 1e-4) << what << " grad_input";
  EXPECT_LE(relativeError(fast.gradWeight, ref.gradWeight), 1e-4) << what << " grad_weight";
}

std::string
describe(const std::string & isa, const std::vector<int64_t> & shape, int64_t k, int64_t d)
{
  std::string s = isa + " k" + std::to_string(k) + " d" + std::to_string(d) + " [";
  for (auto v : shape)
  {
    s += std::to_string(v) + ",";
  }
  return s + "]";
}

} // namespace

TEST(DepthwiseConv, FastPathIsOnByDefault)
{
  EXPECT_TRUE(FastDepthwiseConvolution());
  const std::string isa = DepthwiseConvolutionIsa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "generic") << isa;
  EXPECT_FALSE(SetDepthwiseConvolutionIsa("no-such-isa"));
  std::cout << "depthwise convolution kernels: " << isa << std::endl;
}

TEST(DepthwiseConv, ForwardAndGradientsMatchLibTorchForTheNetworkKernels)
{
  SwitchGuard guard;
  torch::manual_seed(11);
  // Images smaller than the 31-pixel extent of 7x7 dilation 5, odd sizes, batch > 1, 1 / 16 / 48 channels, and
  // few-plane inputs that are split into row chunks.
  const std::vector<std::vector<int64_t>> shapes{ { 2, 1, 5, 7 },    { 3, 16, 9, 11 }, { 2, 48, 17, 23 },
                                                  { 1, 16, 40, 37 }, { 1, 1, 64, 80 }, { 2, 3, 1, 1 },
                                                  { 1, 2, 70, 33 } };
  for (const auto & isa : supportedIsas())
  {
    ASSERT_TRUE(SetDepthwiseConvolutionIsa(isa));
    for (const auto & kd : kKernels)
    {
      for (const auto & shape : shapes)
      {
        expectMatchesLibTorch(shape, kd.first, kd.second, describe(isa, shape, kd.first, kd.second));
      }
    }
  }
}

TEST(DepthwiseConv, OtherOddKernelsAndDilationsMatchLibTorch)
{
  SwitchGuard guard;
  torch::manual_seed(12);
  for (const auto & isa : supportedIsas())
  {
    ASSERT_TRUE(SetDepthwiseConvolutionIsa(isa));
    for (auto kd : std::vector<std::pair<int64_t, int64_t>>{ { 1, 1 }, { 3, 2 }, { 9, 1 }, { 5, 1 }, { 3, 7 } })
    {
      for (const auto & shape : std::vector<std::vector<int64_t>>{ { 2, 4, 13, 19 }, { 1, 3, 6, 50 } })
      {
        expectMatchesLibTorch(shape, kd.first, kd.second, describe(isa, shape, kd.first, kd.second));
      }
    }
  }
}

TEST(DepthwiseConv, NonContiguousInputsAndPartialGradients)
{
  torch::manual_seed(13);
  auto x = torch::randn({ 2, 5, 21, 18 }).transpose(2, 3); // [2, 5, 18, 21], non-contiguous
  auto w = torch::randn({ 5, 1, 5, 5 }).contiguous(torch::MemoryFormat::ChannelsLast);
  ASSERT_FALSE(x.is_contiguous());
  EXPECT_LE(relativeError(DepthwiseConv2d(x, w, 3), reference(x, w, 3)), 1e-4);
  EXPECT_LE(relativeError(DepthwiseConv2d(x.contiguous(torch::MemoryFormat::ChannelsLast), w, 3), reference(x, w, 3)),
            1e-4);

  // Only the weight requires a gradient, then only the input.
  auto wg = w.clone().requires_grad_(true);
  DepthwiseConv2d(x, wg, 3).square().sum().backward();
  auto wr = w.clone().requires_grad_(true);
  reference(x, wr, 3).square().sum().backward();
  EXPECT_LE(relativeError(wg.grad(), wr.grad()), 1e-4);

  auto xg = x.clone().requires_grad_(true);
  DepthwiseConv2d(xg, w, 3).square().sum().backward();
  auto xr = x.clone().requires_grad_(true);
  reference(xr, w, 3).square().sum().backward();
  EXPECT_LE(relativeError(xg.grad(), xr.grad()), 1e-4);

  // No gradient anywhere, under NoGradGuard and InferenceMode.
  {
    torch::NoGradGuard noGrad;
    EXPECT_LE(relativeError(DepthwiseConv2d(x, w, 3), reference(x, w, 3)), 1e-4);
  }
  {
    c10::InferenceMode inference;
    EXPECT_LE(relativeError(DepthwiseConv2d(x, w, 3), reference(x, w, 3)), 1e-4);
  }
}

TEST(DepthwiseConv, UnsupportedCasesFallBackToLibTorch)
{
  SwitchGuard guard;
  torch::manual_seed(14);
  // Double precision and even kernels take LibTorch's path: identical results.
  auto xd = torch::randn({ 2, 3, 9, 10 }, torch::kDouble);
  auto wd = torch::randn({ 3, 1, 3, 3 }, torch::kDouble);
  EXPECT_TRUE(torch::equal(DepthwiseConv2d(xd, wd, 2), reference(xd, wd, 2)));
  auto x = torch::randn({ 2, 3, 9, 10 });
  auto we = torch::randn({ 3, 1, 4, 4 });
  EXPECT_TRUE(torch::equal(DepthwiseConv2d(x, we, 1), reference(x, we, 1)));
  // The switch turned off: LibTorch's convolution, bit for bit.
  auto w = torch::randn({ 3, 1, 7, 7 });
  SetFastDepthwiseConvolution(false);
  EXPECT_FALSE(FastDepthwiseConvolution());
  EXPECT_TRUE(torch::equal(DepthwiseConv2d(x, w, 5), reference(x, w, 5)));
  SetFastDepthwiseConvolution(true);
  EXPECT_LE(relativeError(DepthwiseConv2d(x, w, 5), reference(x, w, 5)), 1e-4);
  // An empty batch.
  EXPECT_EQ(DepthwiseConv2d(torch::randn({ 0, 3, 9, 10 }), w, 5).sizes(), (std::vector<int64_t>{ 0, 3, 9, 10 }));
}

TEST(DepthwiseConv, RepeatedRunsAndThreadCountsGiveBitwiseIdenticalResults)
{
  SwitchGuard guard;
  torch::manual_seed(15);
  for (const auto & shape : std::vector<std::vector<int64_t>>{ { 4, 48, 33, 47 }, { 1, 1, 300, 340 } })
  {
    for (const auto & kd : kKernels)
    {
      auto       x = torch::randn(shape);
      auto       w = torch::randn({ shape[1], 1, kd.first, kd.first });
      auto       g = torch::randn(shape);
      const auto conv = [d = kd.second](const torch::Tensor & a, const torch::Tensor & b) {
        return DepthwiseConv2d(a, b, d);
      };
      at::set_num_threads(2);
      const auto first = run(conv, x, w, g);
      const auto second = run(conv, x, w, g);
      at::set_num_threads(1);
      const auto single = run(conv, x, w, g);
      const auto what = describe(DepthwiseConvolutionIsa(), shape, kd.first, kd.second);
      for (const auto & other : { second, single })
      {
        EXPECT_TRUE(torch::equal(first.out, other.out)) << what;
        EXPECT_TRUE(torch::equal(first.gradInput, other.gradInput)) << what;
        EXPECT_TRUE(torch::equal(first.gradWeight, other.gradWeight)) << what;
      }
    }
  }
}

TEST(DepthwiseConv, LungNetworkForwardMatchesLibTorchPath)
{
  SwitchGuard guard;
  torch::manual_seed(16);
  ResCRNet net(NetworkConfig::LungDefault());
  net->eval();
  torch::NoGradGuard noGrad;
  auto               x = torch::rand({ 1, 1, 64, 80 });
  SetFastDepthwiseConvolution(true);
  auto fast = net->forward(x);
  SetFastDepthwiseConvolution(false);
  auto ref = net->forward(x);
  ASSERT_EQ(fast.sizes(), ref.sizes());
  EXPECT_LE((fast - ref).abs().max().item<double>(), 1e-5);
  auto refLogits = net->logits(x);
  SetFastDepthwiseConvolution(true);
  auto fastLogits = net->logits(x);
  EXPECT_LE(relativeError(fastLogits, refLogits), 1e-5);
}

TEST(DepthwiseConv, LungNetworkTrainingStepMatchesLibTorchPath)
{
  SwitchGuard guard;
  // Two identical networks (same seed), one training step each, with the same dropout masks.
  auto makeNet = [] {
    torch::manual_seed(17);
    ResCRNet net(NetworkConfig::LungDefault());
    net->train();
    return net;
  };
  ResCRNet fastNet = makeNet();
  ResCRNet refNet = makeNet();
  torch::manual_seed(18);
  const auto x = torch::rand({ 2, 1, 64, 80 });
  auto       yy = torch::arange(64).view({ 1, 1, 64, 1 }).to(torch::kFloat);
  auto       xx = torch::arange(80).view({ 1, 1, 1, 80 }).to(torch::kFloat);
  auto lung = ((yy - 30).square() / 400 + (xx - 40).square() / 600 < 1).to(torch::kFloat).expand({ 2, 1, 64, 80 });
  const auto target = torch::cat({ 1 - lung, lung }, 1);

  auto step = [&](ResCRNet & net, bool fast) {
    SetFastDepthwiseConvolution(fast);
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
    opt.zero_grad();
    torch::manual_seed(19);
    auto loss = ContourTanimotoLoss(net->forward(x), target);
    loss.backward();
    opt.step();
    return loss.item<double>();
  };
  const double fastLoss = step(fastNet, true);
  const double refLoss = step(refNet, false);
  EXPECT_NEAR(fastLoss, refLoss, 1e-5);

  const auto fastParams = fastNet->named_parameters(true);
  const auto refParams = refNet->named_parameters(true);
  ASSERT_EQ(fastParams.size(), refParams.size());
  double globalScale = 0.0;
  for (const auto & p : refParams)
  {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    globalScale = std::max(globalScale, p.value().grad().abs().max().item<double>());
  }
  ASSERT_GT(globalScale, 0.0);
  // Biases feeding a batch norm (and the STEM's scale-invariant pointwise weights) have mathematically zero
  // gradients that LibTorch itself only computes to round-off (~1e-8): measure gradients against at least 5 % of the
  // largest gradient of the network instead of their own noise. (Genuine gradients agree to ~1e-5 of their own scale.)
  double worstGrad = 0.0, worstParam = 0.0;
  for (size_t i = 0; i < fastParams.size(); ++i)
  {
    const auto & name = fastParams[i].key();
    ASSERT_EQ(name, refParams[i].key());
    const auto gf = fastParams[i].value().grad();
    const auto gr = refParams[i].value().grad();
    ASSERT_TRUE(gf.defined()) << name;
    const double scale = std::max(gr.abs().max().item<double>(), 5e-2 * globalScale);
    const double gradError = (gf - gr).abs().max().item<double>() / scale;
    EXPECT_LE(gradError, 1e-4) << name << ": gradient scale " << scale;
    worstGrad = std::max(worstGrad, gradError);
    worstParam = std::max(worstParam, (fastParams[i].value() - refParams[i].value()).abs().max().item<double>());
  }
  std::cout << "largest gradient " << globalScale << ", worst relative gradient difference " << worstGrad
            << ", worst parameter difference after the Adam step " << worstParam << std::endl;
  // Adam's first step moves each parameter by lr g / (|g| + 1e-8): at most lr, whatever the gradient, and
  // round-off-sized gradients make it amplify noise, so the parameters can only be held to within 2 lr.
  EXPECT_LE(worstParam, 2e-3);
}
