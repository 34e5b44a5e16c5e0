// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Predictor.h"

#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/FusedInference.h"

#include <malloc.h>
#include <mutex>
#include <stdexcept>

namespace rescrnet
{

struct Predictor::FusedState
{
  std::mutex                      mutex;
  std::unique_ptr<FusedInference> engine;
};

Predictor::Predictor(ResCRNet network, int threads)
  : m_Network(std::move(network))
  , m_Threads(threads)
  , m_Fused(std::make_shared<FusedState>())
{
  m_Info.architecture = m_Network->config();
  m_Info.input.channels = m_Network->config().inputChannels;
  m_Network->eval();
}

Predictor::Predictor(ResCRNet network, ModelInfo info, int threads)
  : Predictor(std::move(network), threads)
{
  if (info.architecture != m_Network->config())
  {
    throw std::invalid_argument("Predictor: the model info describes another architecture than the network");
  }
  m_Info = std::move(info);
}

Predictor
Predictor::FromFile(const std::string & path, int threads)
{
  LoadedModel m = LoadModel(path);
  Predictor   p(m.network, threads);
  p.m_Info = m.info;
  return p;
}

void
ReturnLargeBuffersToTheSystem()
{
#ifdef M_MMAP_THRESHOLD
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

torch::Tensor
Predictor::predict(const torch::Tensor & images) const
{
  torch::Tensor x = images;
  if (x.dim() == 2)
  {
    x = x.unsqueeze(0);
  }
  if (x.dim() == 3)
  {
    x = x.unsqueeze(0);
  }
  const int64_t channels = m_Network->config().inputChannels;
  if (x.dim() != 4 || x.size(1) != channels)
  {
    throw std::invalid_argument("the network expects images with " + std::to_string(channels) +
                                " channel(s) as [B, C, H, W]; got " + std::to_string(x.dim()) + " dimensions" +
                                (x.dim() == 4 ? " with " + std::to_string(x.size(1)) + " channel(s)" : ""));
  }
  if (x.size(2) < 1 || x.size(3) < 1)
  {
    throw std::invalid_argument("empty image");
  }
  // Only when it changes: LibTorch's set_num_threads also resizes its other thread pools, which costs milliseconds.
  if (m_Threads > 0 && torch::get_num_threads() != m_Threads)
  {
    torch::set_num_threads(m_Threads);
  }
  c10::InferenceMode guard;
  if (FastDepthwiseConvolution() && FusedInference::Supports(m_Network->config()))
  {
    std::lock_guard<std::mutex> lock(m_Fused->mutex);
    if (m_Fused->engine)
    {
      m_Fused->engine->reload(*m_Network);
    }
    else
    {
      m_Fused->engine = std::make_unique<FusedInference>(*m_Network);
    }
    return m_Fused->engine->forward(x);
  }
  ResCRNet network = m_Network; // shared holder; forward() is not const
  network->eval();
  return network->forward(x.to(torch::kFloat32).contiguous());
}

} // namespace rescrnet
