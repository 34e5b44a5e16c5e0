// SPDX-License-Identifier: Apache-2.0
// Micro-benchmark of rescrnet::DepthwiseConv2d against LibTorch's grouped convolution, and of the lung network with
// the fast path on and off. Usage: DepthwiseConvBenchmark [threads=2] [repetitions=3]
// Times are the best of the repetitions (after a warm-up run), which is the figure least disturbed by other load.
// Not part of the CMake build; link it against ResCRNet::Core, e.g. in CMake:
//   add_executable(DepthwiseConvBenchmark Utilities/Benchmarks/DepthwiseConvBenchmark.cxx)
//   target_link_libraries(DepthwiseConvBenchmark PRIVATE ResCRNet::Core)
#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/Losses.h"
#include "rescrnet/ResCRNet.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

using namespace rescrnet;

namespace
{
// Best wall time in milliseconds of `fn` over `repetitions` calls (after one warm-up call).
double
bestMs(const std::function<void()> & fn, int repetitions)
{
  fn();
  std::vector<double> times;
  for (int i = 0; i < repetitions; ++i)
  {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return *std::min_element(times.begin(), times.end());
}

std::string
loadAverage()
{
  std::ifstream in("/proc/loadavg");
  std::string   line;
  std::getline(in, line);
  return line;
}

struct Timing
{
  double forward, backward;
};

Timing
timeConv(bool fast, const torch::Tensor & x, const torch::Tensor & w, int64_t d, int repetitions)
{
  SetFastDepthwiseConvolution(fast);
  Timing t{};
  {
    torch::NoGradGuard noGrad;
    t.forward = bestMs([&] { DepthwiseConv2d(x, w, d); }, repetitions);
  }
  auto xg = x.clone().requires_grad_(true);
  auto wg = w.clone().requires_grad_(true);
  auto g = torch::ones_like(x);
  // Backward alone: the forward is rebuilt outside the timed region.
  std::vector<double> times;
  for (int i = 0; i <= repetitions; ++i)
  {
    auto       y = DepthwiseConv2d(xg, wg, d);
    const auto start = std::chrono::steady_clock::now();
    y.backward(g);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (i > 0)
    {
      times.push_back(ms);
    }
    xg.mutable_grad().reset();
    wg.mutable_grad().reset();
  }
  t.backward = *std::min_element(times.begin(), times.end());
  return t;
}
} // namespace

int
main(int argc, char ** argv)
{
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  std::printf("threads %d, repetitions %d, kernels %s, load average %s\n",
              threads,
              repetitions,
              DepthwiseConvolutionIsa(),
              loadAverage().c_str());
  std::printf("%-18s %-6s %10s %10s %7s %10s %10s %7s\n",
              "shape",
              "k/d",
              "fwd fast",
              "fwd torch",
              "ratio",
              "bwd fast",
              "bwd torch",
              "ratio");
  const std::vector<std::vector<int64_t>>        shapes{ { 8, 48, 128, 128 }, { 1, 48, 300, 340 } };
  const std::vector<std::pair<int64_t, int64_t>> kernels{ { 3, 1 }, { 5, 3 }, { 7, 5 } };
  for (const auto & shape : shapes)
  {
    auto x = torch::randn(shape);
    for (const auto & kd : kernels)
    {
      auto         w = torch::randn({ shape[1], 1, kd.first, kd.first });
      const Timing fast = timeConv(true, x, w, kd.second, repetitions);
      const Timing ref = timeConv(false, x, w, kd.second, repetitions);
      char         name[64], k[16];
      std::snprintf(name,
                    sizeof(name),
                    "%ldx%ldx%ldx%ld",
                    static_cast<long>(shape[0]),
                    static_cast<long>(shape[1]),
                    static_cast<long>(shape[2]),
                    static_cast<long>(shape[3]));
      std::snprintf(k, sizeof(k), "%ld/%ld", static_cast<long>(kd.first), static_cast<long>(kd.second));
      std::printf("%-18s %-6s %10.2f %10.2f %7.1f %10.2f %10.2f %7.1f\n",
                  name,
                  k,
                  fast.forward,
                  ref.forward,
                  ref.forward / fast.forward,
                  fast.backward,
                  ref.backward,
                  ref.backward / fast.backward);
      std::fflush(stdout);
    }
  }

  // Whole network: eval forward, batch 1 at 300 x 340; training step (loss, backward, Adam), batch 8 at 128 x 128.
  ResCRNet           net(NetworkConfig::LungDefault());
  auto               image = torch::rand({ 1, 1, 300, 340 });
  auto               batch = torch::rand({ 8, 1, 128, 128 });
  auto               lung = (torch::rand({ 8, 1, 128, 128 }) > 0.5).to(torch::kFloat);
  auto               target = torch::cat({ 1 - lung, lung }, 1);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-4));
  double             forwardMs[2], trainMs[2];
  for (int fast = 1; fast >= 0; --fast)
  {
    SetFastDepthwiseConvolution(fast != 0);
    net->eval();
    {
      torch::NoGradGuard noGrad;
      forwardMs[fast] = bestMs([&] { net->forward(image); }, repetitions);
    }
    net->train();
    trainMs[fast] = bestMs(
                      [&] {
                        opt.zero_grad();
                        ContourTanimotoLoss(net->forward(batch), target).backward();
                        opt.step();
                      },
                      repetitions) /
                    8.0;
  }
  std::printf("network eval forward 1x1x300x340: fast %.1f ms/image, torch %.1f ms/image, ratio %.1f\n",
              forwardMs[1],
              forwardMs[0],
              forwardMs[0] / forwardMs[1]);
  std::printf("network train step 8x1x128x128:   fast %.1f ms/image, torch %.1f ms/image, ratio %.1f\n",
              trainMs[1],
              trainMs[0],
              trainMs[0] / trainMs[1]);
  std::printf("load average at the end: %s\n", loadAverage().c_str());
  return 0;
}
