// SPDX-License-Identifier: Apache-2.0
// Inference: a batch of images in, per-class probabilities out. No autograd, eval mode, any height and width.
#ifndef rescrnet_Predictor_h
#define rescrnet_Predictor_h

#include "rescrnet/ModelFile.h"
#include "rescrnet/Precision.h"
#include "rescrnet/ResCRNet.h"

#include <memory>
#include <string>

namespace rescrnet
{

class Predictor
{
public:
  explicit Predictor(ResCRNet network, int threads = 0);
  // With the model's header (input grid and preprocessing, class names).
  Predictor(ResCRNet network, ModelInfo info, int threads = 0);
  // Loads a model file (see ModelFile.h).
  static Predictor
  FromFile(const std::string & path, int threads = 0);

  // Accepts [H, W], [C, H, W] or [B, C, H, W] float tensors; returns probabilities [B, classes, H, W].
  // Networks without LSTM RES blocks run on the fused CPU path (FusedInference; the weights are read again when
  // they changed since the last call, found by a checksum of the parameters and buffers) while
  // FastDepthwiseConvolution() is on; otherwise, and for LSTM RES heads, on the LibTorch modules. Calls on one
  // predictor (and its copies) are serialised on the fused path, whose work buffers they share.
  torch::Tensor
  predict(const torch::Tensor & images) const;

  // Arithmetic of the fused path (see Precision.h and FusedInference.h); fp32 by default. bf16 and fp16 throw
  // std::invalid_argument here when this CPU does not run them. auto picks at the first predict(): a reduced
  // precision that CPUID reports, that the model's measured parity record does not rule out (ModelInfo::metrics
  // "precision_parity", written by ResCRNetPrecisionParity --record: {"fp16": {"passed": false, ...}}) and whose
  // self-check on a probe image of the model's input grid passes (repeated when the weights change); else fp32.
  // Networks that run on the modules (LSTM RES heads, or the fast path switched off) always run in fp32.
  void
  setPrecision(Precision precision);
  Precision
  precision() const
  {
    return m_Precision;
  }
  // Precisions whose measured parity record in m_Info failed.
  std::vector<Precision>
  failedParityRecords() const;
  // The precision predict() runs in (resolves auto, which may run the self-check now).
  Precision
  effectivePrecision() const;

  // 0 keeps LibTorch's default (all cores).
  void
  setThreads(int threads)
  {
    m_Threads = threads;
  }
  int
  threads() const
  {
    return m_Threads;
  }
  const ResCRNet &
  network() const
  {
    return m_Network;
  }
  const ModelInfo &
  info() const
  {
    return m_Info;
  }

private:
  struct FusedState;

  ResCRNet                    m_Network;
  ModelInfo                   m_Info;
  int                         m_Threads;
  Precision                   m_Precision{ Precision::Float32 };
  std::shared_ptr<FusedState> m_Fused;
};

// Makes the C library return large tensor buffers (>= 1 MiB) to the system as soon as they are freed, instead of
// keeping them in the heap after glibc's adaptive mmap threshold has grown. Full-resolution feature maps are 20 MB
// each at 340 x 300, so this lowers the peak memory of an inference by about a quarter. Process-wide; applications
// call it once at start-up.
void
ReturnLargeBuffersToTheSystem();

} // namespace rescrnet

#endif
