// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetTestData.h"

#include <vector>

namespace rescrnet::testing
{

TrainingData
SyntheticDiscs(int64_t n, int64_t size, uint64_t seed, const std::string & idPrefix)
{
  torch::manual_seed(static_cast<int64_t>(seed));
  TrainingData               d;
  auto                       ys = torch::arange(size).view({ size, 1 }).to(torch::kFloat32);
  auto                       xs = torch::arange(size).view({ 1, size }).to(torch::kFloat32);
  std::vector<torch::Tensor> images, masks;
  for (int64_t i = 0; i < n; ++i)
  {
    const double cy = 6 + (i * 7) % (size - 12), cx = 6 + (i * 5) % (size - 12);
    auto         m = (((ys - cy).pow(2) + (xs - cx).pow(2)) < 25).to(torch::kFloat32);
    images.push_back((0.2 + 0.6 * m + 0.1 * torch::rand({ size, size })).unsqueeze(0));
    masks.push_back(torch::stack({ m, 1 - m }));
    d.ids.push_back(idPrefix + std::to_string(i));
  }
  d.images = torch::stack(images);
  d.masks = torch::stack(masks);
  return d;
}

NetworkConfig
TinyNetworkConfig()
{
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 1;
  c.filters = 4;
  c.blockDropout = { 0.05, 0.0 };
  return c;
}

std::filesystem::path
WriteTinyLungModel(const std::filesystem::path & dir)
{
  torch::manual_seed(3);
  const NetworkConfig c = TinyNetworkConfig();
  ModelInfo           info;
  info.architecture = c;
  info.input.width = 48;
  info.input.height = 40;
  const auto path = dir / "tiny.rcn";
  SaveModel(path.string(), ResCRNet(c), info);
  return path;
}

ResCRNet
RandomNetwork(const NetworkConfig & config, uint64_t seed)
{
  torch::manual_seed(seed);
  ResCRNet           net(config);
  torch::NoGradGuard noGrad;
  for (auto & b : net->named_buffers(true))
  {
    if (b.key().find("running_mean") != std::string::npos)
    {
      b.value().uniform_(-0.5, 0.5);
    }
    else if (b.key().find("running_var") != std::string::npos)
    {
      b.value().uniform_(0.5, 2.0);
    }
  }
  for (auto & p : net->named_parameters(true))
  {
    if (p.key().find("bn.") != std::string::npos || p.key().find("_bn.") != std::string::npos)
    {
      p.value().uniform_(p.key().find("weight") != std::string::npos ? 0.5 : -0.3,
                         p.key().find("weight") != std::string::npos ? 1.5 : 0.3);
    }
    else if (p.key().find("bias") != std::string::npos)
    {
      p.value().uniform_(-0.2, 0.2);
    }
  }
  net->eval();
  return net;
}

} // namespace rescrnet::testing
