// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/ResCRNet.h"

#include <algorithm>
#include <iomanip>

namespace rescrnet
{

namespace F = torch::nn::functional;

ResCRNetImpl::ResCRNetImpl(const NetworkConfig & config)
  : m_Config(config)
{
  m_Config.validate();
  const int64_t channels = m_Config.blockChannels();
  convBlocks->push_back(ConvResBlock(m_Config.inputChannels, m_Config, true));
  for (int64_t i = 0; i < m_Config.convResBlocks; ++i)
  {
    convBlocks->push_back(ConvResBlock(channels, m_Config, false));
  }
  register_module("blocks", convBlocks);
  if (m_Config.lstmBlocks == 0)
  {
    head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, m_Config.numClasses, 1)));
    heNormalTruncated_(head->weight, channels);
    torch::NoGradGuard noGrad;
    head->bias.zero_();
  }
  else
  {
    for (int64_t i = 0; i < m_Config.lstmBlocks; ++i)
    {
      lstmBlocks->push_back(LSTMResBlock(i == 0 ? channels : m_Config.numClasses, m_Config));
    }
    register_module("lstm", lstmBlocks);
  }
}

torch::Tensor
ResCRNetImpl::logits(const torch::Tensor & input)
{
  auto x = input;
  for (size_t i = 0; i < convBlocks->size(); ++i)
  {
    x = convBlocks[i]->as<ConvResBlock>()->forward(x);
    const double rate = m_Config.blockDropout[i];
    if (rate > 0.0 && is_training())
    {
      x = F::dropout2d(x, F::Dropout2dFuncOptions().p(rate).training(true));
    }
  }
  if (m_Config.lstmBlocks == 0)
  {
    return F::leaky_relu(head->forward(x), F::LeakyReLUFuncOptions().negative_slope(m_Config.leakySlope));
  }
  for (const auto & b : *lstmBlocks)
  {
    x = b->as<LSTMResBlock>()->forward(x);
  }
  return x;
}

torch::Tensor
ResCRNetImpl::forward(const torch::Tensor & x)
{
  return torch::softmax(logits(x), 1);
}

torch::Tensor
ResCRNetImpl::blockOutput(const torch::Tensor & input, size_t index)
{
  TORCH_CHECK(index < convBlocks->size(), "block index ", index, " out of range (", convBlocks->size(), " blocks)");
  auto x = input;
  for (size_t i = 0; i <= index; ++i)
  {
    if (i > 0 && m_Config.blockDropout[i - 1] > 0.0 && is_training())
    {
      x = F::dropout2d(x, F::Dropout2dFuncOptions().p(m_Config.blockDropout[i - 1]).training(true));
    }
    x = convBlocks[i]->as<ConvResBlock>()->forward(x);
  }
  return x;
}

std::vector<std::pair<std::string, torch::Tensor>>
ResCRNetImpl::namedState() const
{
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto & p : named_parameters(true))
  {
    out.emplace_back(p.key(), p.value());
  }
  for (const auto & b : named_buffers(true))
  {
    if (b.key().find("num_batches_tracked") == std::string::npos)
    {
      out.emplace_back(b.key(), b.value());
    }
  }
  return out;
}

ParameterCounts
ResCRNetImpl::parameterCounts() const
{
  ParameterCounts c;
  for (const auto & p : parameters(true))
  {
    c.trainable += p.numel();
  }
  for (const auto & b : named_buffers(true))
  {
    if (b.key().find("running_") != std::string::npos)
    {
      c.batchNormStatistics += b.value().numel();
    }
  }
  return c;
}

int64_t
ResCRNetImpl::receptiveField() const
{
  if (m_Config.lstmBlocks > 0)
  {
    return 0;
  }
  int64_t perConv = 0;
  for (size_t i = 0; i < m_Config.kernels.size(); ++i)
  {
    perConv = std::max(perConv, (m_Config.kernels[i] - 1) * m_Config.dilations[i]);
  }
  // Two separable convolutions on the widest branch per block.
  return 1 + static_cast<int64_t>(convBlocks->size()) * 2 * perConv;
}

namespace
{
struct LayerRow
{
  std::string name;
  int64_t     params;
  double      macsPerPixel;
};

double
sepConvMacs(int64_t in, int64_t out, int64_t k)
{
  return static_cast<double>(k * k * in + in * out);
}
} // namespace

double
ResCRNetImpl::flopsPerPixel() const
{
  const NetworkConfig & c = m_Config;
  const int64_t         ch = c.blockChannels();
  double                macs = 0.0;
  for (size_t b = 0; b < convBlocks->size(); ++b)
  {
    const int64_t in = b == 0 ? c.inputChannels : ch;
    for (int64_t k : c.kernels)
    {
      macs += sepConvMacs(in, c.filters, k) + sepConvMacs(c.filters, c.filters, k);
    }
    macs += static_cast<double>(in * ch);
  }
  if (c.lstmBlocks == 0)
  {
    macs += static_cast<double>(ch * c.numClasses);
  }
  else
  {
    for (int64_t i = 0; i < c.lstmBlocks; ++i)
    {
      const int64_t in = i == 0 ? ch : c.numClasses;
      macs += static_cast<double>(in * c.numClasses);
      // Per output pixel, 4 ConvLSTMs each with input and recurrent 3 x C kernels producing 4F gate maps.
      macs += 4.0 * static_cast<double>(4 * c.lstmFilters * (1 + c.lstmFilters) * 3 * c.numClasses);
    }
  }
  return 2.0 * macs;
}

void
ResCRNetImpl::printSummary(std::ostream & os) const
{
  const NetworkConfig & c = m_Config;
  os << "Res-CR-Net: " << c.inputChannels << " input channel(s), " << c.numClasses << " classes, STEM + "
     << c.convResBlocks << " CONV RES";
  if (c.lstmBlocks > 0)
  {
    os << " + " << c.lstmBlocks << " LSTM RES";
  }
  os << " blocks, " << c.filters << " filters per branch, kernels/dilations";
  for (size_t i = 0; i < c.kernels.size(); ++i)
  {
    os << " " << c.kernels[i] << "/" << c.dilations[i];
  }
  os << "\n";
  os << std::left << std::setw(28) << "  layer" << std::right << std::setw(12) << "parameters" << std::setw(16)
     << "BN statistics" << std::setw(10) << "dropout"
     << "\n";
  auto count = [](const torch::nn::Module & m, int64_t & params, int64_t & stats) {
    params = 0;
    stats = 0;
    for (const auto & p : m.parameters(true))
      params += p.numel();
    for (const auto & b : m.named_buffers(true))
      if (b.key().find("running_") != std::string::npos)
        stats += b.value().numel();
  };
  for (size_t i = 0; i < convBlocks->size(); ++i)
  {
    int64_t p = 0, s = 0;
    count(*convBlocks->ptr(i), p, s);
    const std::string name = i == 0 ? "STEM" : "CONV RES " + std::to_string(i);
    os << "  " << std::left << std::setw(26) << name << std::right << std::setw(12) << p << std::setw(16) << s
       << std::setw(10) << c.blockDropout[i] << "\n";
  }
  if (c.lstmBlocks == 0)
  {
    int64_t p = 0, s = 0;
    count(*head, p, s);
    os << "  " << std::left << std::setw(26) << "head 1x1 + LeakyReLU" << std::right << std::setw(12) << p
       << std::setw(16) << s << std::setw(10) << 0 << "\n";
  }
  for (size_t i = 0; i < lstmBlocks->size(); ++i)
  {
    int64_t p = 0, s = 0;
    count(*lstmBlocks->ptr(i), p, s);
    os << "  " << std::left << std::setw(26) << ("LSTM RES " + std::to_string(i + 1)) << std::right << std::setw(12)
       << p << std::setw(16) << s << std::setw(10) << 0 << "\n";
  }
  const ParameterCounts pc = parameterCounts();
  os << "  trainable parameters: " << pc.trainable << ", batch-norm statistics: " << pc.batchNormStatistics
     << ", total: " << pc.trainable + pc.batchNormStatistics << "\n";
  const int64_t rf = receptiveField();
  os << "  receptive field: " << (rf > 0 ? std::to_string(rf) + " x " + std::to_string(rf) + " px" : "whole image")
     << "\n";
  os << "  FLOPs per pixel: " << std::fixed << std::setprecision(0) << flopsPerPixel() << " (" << std::setprecision(2)
     << flopsPerPixel() * 340 * 300 / 1e9 << " GFLOP per 340x300 image)\n";
  os.unsetf(std::ios::fixed);
}

} // namespace rescrnet
