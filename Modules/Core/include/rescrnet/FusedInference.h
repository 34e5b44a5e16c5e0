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
// at 340 x 300, kept between calls.
#ifndef rescrnet_FusedInference_h
#define rescrnet_FusedInference_h

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

  // Instruction set of the kernels ("avx512", "avx2", "generic"), the one DepthwiseConv2d uses.
  static const char *
  Isa();

  struct Plan; // folded weights, private

private:
  // One pass over whole images: input contiguous float [B, C, H, W], output [B, classes, H, W].
  void
  run(const torch::Tensor & input, torch::Tensor & output);

  std::unique_ptr<Plan> m_Plan;
  size_t                m_MaxWorkspaceBytes{ size_t{ 1 } << 30 };
  struct Workspace;
  std::unique_ptr<Workspace> m_Workspace;
};

} // namespace rescrnet

#endif
