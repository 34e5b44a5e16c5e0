// SPDX-License-Identifier: Apache-2.0
// Fused CPU inference for Res-CR-Net (no autograd, eval mode). Each block runs as two passes over zero-padded planar
// feature maps, each pass a set of (branch, row group) tasks on LibTorch's thread pool:
//   pass 1: depthwise dilated convolution of the branch input -> pointwise 1x1 with the branch batch norm folded in
//           -> LeakyReLU, into the branch's intermediate planes; the tasks of the smallest-kernel branch also compute
//           the 1x1 shortcut with its batch norm folded in, into the block output planes;
//   pass 2: depthwise of the intermediates -> pointwise 1x1 added to the shortcut in the branch's output planes (the
//           concatenation only decides which planes a branch writes), and the next block's pre-activation
//           (batch norm + LeakyReLU) written alongside, so that no pass of its own is needed.
// A row group is up to 8 rows (AVX-512; 4 or 2 with narrower vectors) d rows apart, so that they share input rows:
// the depthwise rows of all channels are computed into a per-thread scratch and the pointwise product runs on them
// while they are in cache. Planes carry their own zero padding, so the dilated convolutions read them in place
// (no re-layouts). Results match the module's forward() to float rounding (a few 1e-6 on probabilities). The
// LSTM RES head is not fused: Supports() says whether a configuration can run here; Predictor falls back to the
// modules otherwise. Work buffers: 4 x (3 filters) planes of (H + 2 pad) x (W rounded up + 2 pad) floats, 93 MiB
// at 340 x 300 (half that in fp16), kept between calls.
//
// Precision (see Precision.h): fp32 by default. fp16 runs the same passes on half-precision planes with
// half-precision depthwise and pointwise arithmetic (AVX512-FP16), the head and softmax in fp32. bf16 keeps fp32
// planes and depthwise convolutions and runs the pointwise products on bfloat16 inputs with fp32 accumulation
// (AVX512-BF16 dot products, or AMX tiles where the CPU and the OS allow them). auto checks the model on a built-in
// probe image (CheckPrecision) and takes the fastest reduced precision within the parity budget, else fp32.
#ifndef rescrnet_FusedInference_h
#define rescrnet_FusedInference_h

#include "rescrnet/Precision.h"
#include "rescrnet/ResCRNet.h"

#include <memory>
#include <vector>

namespace rescrnet
{

class FusedInference
{
public:
  // True for networks without LSTM RES blocks whose kernels are odd (every configuration the project builds
  // without LSTM blocks).
  static bool
  Supports(const NetworkConfig & config);

  // Reads the weights and batch-norm statistics of `network` (a snapshot: later changes to the network are not
  // seen). Throws std::invalid_argument when !Supports(network.config()).
  explicit FusedInference(const ResCRNetImpl & network);
  ~FusedInference();
  // Reads the weights again (same or another supported network), keeping the work buffers.
  void
  reload(const ResCRNetImpl & network);
  FusedInference(const FusedInference &) = delete;
  FusedInference &
  operator=(const FusedInference &) = delete;

  // images: float [B, C, H, W] (any strides); returns the softmax probabilities [B, classes, H, W], as
  // ResCRNetImpl::forward in eval mode. Runs on LibTorch's intra-op thread pool (torch::set_num_threads).
  // Not reentrant on one object (it reuses its work buffers); use one object per thread.
  torch::Tensor
  forward(const torch::Tensor & images);

  // Inputs whose work buffers would exceed this budget run in overlapping tiles with the receptive-field margin on
  // every side, which gives the same values as one pass over the whole image (default 1 GiB; a 340 x 300 image
  // needs 93 MiB, a 2000 x 2000 one 3 GiB in one piece).
  void
  setMaxWorkspaceBytes(size_t bytes)
  {
    m_MaxWorkspaceBytes = bytes;
  }
  size_t
  maxWorkspaceBytes() const
  {
    return m_MaxWorkspaceBytes;
  }
  // Work buffer bytes for one H x W image in one piece.
  size_t
  WorkspaceBytes(int64_t height, int64_t width) const;
  // Pixels of context on each side that an output depends on (180 for the lung model).
  int64_t
  ReceptiveRadius() const;

  // Instruction set of the fp32 kernels ("avx512", "avx2", "generic"), the one DepthwiseConv2d uses.
  static const char *
  Isa();

  // Result of running the model in a reduced precision next to fp32 on the probe image.
  struct PrecisionCheck
  {
    Precision precision{ Precision::Float32 };
    int64_t   pixels{ 0 };
    // Pixels whose most probable class differs from fp32's, as a fraction of all pixels.
    double differingFraction{ 0 };
    // Largest absolute difference of a class probability.
    double maxProbabilityDifference{ 0 };
    bool   finite{ true };
    // differingFraction <= kMaxDifferingFraction and finite.
    bool passed{ false };
  };
  // The parity budget for masks (0.2 % of the pixels), the same that the data-set parity runs check.
  static constexpr double kMaxDifferingFraction = 0.002;

  // Whether this build and this CPU run the kernels of `p` (fp32 and auto: always).
  static bool
  PrecisionSupported(Precision p);

  // Selects the arithmetic. fp32, bf16, fp16: throws std::runtime_error when this CPU does not run the precision
  // (PrecisionAvailable). auto: the first of fp16, bf16 (bf16 only on AMX) that CPUID reports (PrecisionReported:
  // never a feature declared through RESCRNET_ASSUME_ISA) and whose CheckPrecision on a probe of probeHeight x
  // probeWidth passes, else fp32 (a few forward passes, once per call).
  // `excluded`: precisions auto must not take (the model's measured parity record failed, see Predictor).
  void
  setPrecision(Precision                      p,
               int64_t                        probeHeight = 300,
               int64_t                        probeWidth = 340,
               const std::vector<Precision> & excluded = {});
  // The arithmetic in use: fp32, bf16 or fp16 (never auto).
  Precision
  precision() const
  {
    return m_Precision;
  }
  // Instruction set of the kernels of the precision in use ("avx512", "avx512fp16", "avx512bf16", "amx-bf16", ...).
  const char *
  kernelName() const;
  // Runs the probe image (a synthetic radiograph-like pattern in [0, 1], the same every time) in fp32 and in `p`
  // and compares; throws std::runtime_error when the CPU does not run `p`.
  PrecisionCheck
  CheckPrecision(Precision p, int64_t probeHeight = 300, int64_t probeWidth = 340);
  static torch::Tensor
  ProbeImage(int64_t height, int64_t width);

  // Tests: run the AMX driver of the bf16 products on tiles emulated in software (on any CPU with AVX512-BF16).
  static void
  SetTileEmulation(bool on);

  struct Plan;      // folded weights, private
  struct Workspace; // work buffers, private

private:
  // One pass over whole images: input contiguous float [B, C, H, W], output [B, classes, H, W].
  void
  run(const torch::Tensor & input, torch::Tensor & output);

  template <typename P>
  void
  runPlan(const P & plan, const torch::Tensor & input, torch::Tensor & output);

  std::unique_ptr<Plan>      m_Plan;
  Precision                  m_Precision{ Precision::Float32 };
  size_t                     m_MaxWorkspaceBytes{ size_t{ 1 } << 30 };
  std::unique_ptr<Workspace> m_Workspace;
};

} // namespace rescrnet

#endif
