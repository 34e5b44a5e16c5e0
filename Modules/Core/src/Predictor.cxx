// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Predictor.h"

#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/FusedInference.h"

#include <cstring>
#include <malloc.h>
#include <mutex>
#include <stdexcept>

namespace rescrnet
{

struct Predictor::FusedState
{
  std::mutex                      mutex;
  std::unique_ptr<FusedInference> engine;
  uint64_t                        fingerprint = 0; // of the weights the engine holds
  bool                            precisionApplied = false;
  Precision                       applied{ Precision::Float32 }; // the requested precision the engine was set to

  // The engine with the network's current weights, in `precision` (under the mutex).
  FusedInference &
  prepare(const ResCRNetImpl &           network,
          Precision                      precision,
          const InputSpec &              grid,
          const std::vector<Precision> & excluded);
};

namespace
{
// FNV-1a over the bytes of every parameter and buffer: about 60 us for the lung model, against milliseconds for
// folding the weights again.
uint64_t
weightFingerprint(const ResCRNetImpl & network)
{
  uint64_t h = 1469598103934665603ull;
  auto     mix = [&h](const torch::Tensor & t) {
    const auto     c = t.contiguous();
    const auto *   p = static_cast<const unsigned char *>(c.data_ptr());
    const size_t   n = c.nbytes();
    size_t         i = 0;
    const uint64_t prime = 1099511628211ull;
    for (; i + 8 <= n; i += 8)
    {
      uint64_t word = 0;
      std::memcpy(&word, p + i, 8);
      h = (h ^ word) * prime;
    }
    for (; i < n; ++i)
    {
      h = (h ^ p[i]) * prime;
    }
    h = (h ^ n) * prime;
  };
  for (const auto & t : network.parameters())
  {
    mix(t);
  }
  for (const auto & t : network.buffers())
  {
    mix(t);
  }
  return h;
}
} // namespace

FusedInference &
Predictor::FusedState::prepare(const ResCRNetImpl &           network,
                               Precision                      precision,
                               const InputSpec &              grid,
                               const std::vector<Precision> & excluded)
{
  const uint64_t fp = weightFingerprint(network);
  if (!engine)
  {
    engine = std::make_unique<FusedInference>(network);
    fingerprint = fp;
    precisionApplied = false;
  }
  else if (fp != fingerprint)
  {
    engine->reload(network);
    fingerprint = fp;
    precisionApplied = false; // auto checks the new weights again
  }
  if (!precisionApplied || applied != precision)
  {
    engine->setPrecision(precision, grid.height, grid.width, excluded);
    applied = precision;
    precisionApplied = true;
  }
  return *engine;
}

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

void
Predictor::setPrecision(Precision precision)
{
  if (!FusedInference::PrecisionSupported(precision))
  {
    throw std::invalid_argument(std::string("precision ") + ToString(precision) +
                                " does not run on this CPU (CPUID reports: " + DetectedCpuFeatures().describe() +
                                "); use fp32 or auto");
  }
  m_Precision = precision;
}

std::vector<Precision>
Predictor::failedParityRecords() const
{
  std::vector<Precision> failed;
  if (!m_Info.metrics.is_object() || !m_Info.metrics.contains("precision_parity"))
  {
    return failed;
  }
  const auto & records = m_Info.metrics.at("precision_parity");
  for (Precision p : { Precision::Float16, Precision::BFloat16 })
  {
    if (!records.is_object() || !records.contains(ToString(p)))
    {
      continue;
    }
    const auto & record = records.at(ToString(p));
    if (record.is_object() && record.contains("passed") && record.at("passed").is_boolean() &&
        !record.at("passed").get<bool>())
    {
      failed.push_back(p);
    }
  }
  return failed;
}

Precision
Predictor::effectivePrecision() const
{
  if (!FastDepthwiseConvolution() || !FusedInference::Supports(m_Network->config()))
  {
    return Precision::Float32;
  }
  if (m_Threads > 0 && torch::get_num_threads() != m_Threads)
  {
    torch::set_num_threads(m_Threads);
  }
  c10::InferenceMode          guard;
  std::lock_guard<std::mutex> lock(m_Fused->mutex);
  return m_Fused->prepare(*m_Network, m_Precision, m_Info.input, failedParityRecords()).precision();
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
    return m_Fused->prepare(*m_Network, m_Precision, m_Info.input, failedParityRecords()).forward(x);
  }
  ResCRNet network = m_Network; // shared holder; forward() is not const
  network->eval();
  return network->forward(x.to(torch::kFloat32).contiguous());
}

} // namespace rescrnet
