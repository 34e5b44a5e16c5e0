// Fused CPU inference for Res-CR-Net (no autograd, eval mode): the network is compiled into a few passes over
// zero-padded planar feature maps, with
//   - every batch norm folded away: the branch BN into the first separable convolution's pointwise weights, the
//     shortcut BN into the 1x1 shortcut, and the next block's pre-activation BN (+ LeakyReLU) computed in the
//     epilogue of the block that produces its input;
//   - each depthwise dilated convolution fused with the pointwise 1x1 that follows it: rows are computed in groups
//     of four (d rows apart, so that they share input rows) for all channels, and the pointwise product runs on
//     them while they are in cache;
//   - the 1x1 shortcut, the second pointwise convolution, the concatenation and the residual addition computed as
//     one matrix product per branch (the concatenation only decides which output planes a branch writes);
//   - no re-layouts: planes carry their own zero padding, so the dilated convolutions read them in place.
// Results match the module's forward() to float rounding (about 1e-6). The LSTM RES head is not fused: Supports()
// says whether a configuration can run here; Predictor falls back to the module otherwise.
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

  // Instruction set of the kernels ("avx512", "avx2", "generic"), the one DepthwiseConv2d uses.
  static const char *
  Isa();

  struct Plan; // folded weights, private

private:
  std::unique_ptr<Plan> m_Plan;
  struct Workspace;
  std::unique_ptr<Workspace> m_Workspace;
};

} // namespace rescrnet

#endif
