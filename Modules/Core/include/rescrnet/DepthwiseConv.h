// SPDX-License-Identifier: Apache-2.0
// Fast CPU depthwise dilated 2-D convolution (the depthwise half of Keras SeparableConv2D): stride 1, TF 'same'
// zero padding (symmetric, d (k - 1) / 2 for odd k), no bias, groups = channels. Forward and backward (grad_input
// and grad_weight) are hand-written loops vectorised for AVX-512 / AVX2+FMA / SSE with runtime dispatch and
// parallelised with at::parallel_for; LibTorch's generic grouped convolution is used otherwise.
#ifndef rescrnet_DepthwiseConv_h
#define rescrnet_DepthwiseConv_h

#include <torch/torch.h>

#include <string>

namespace rescrnet
{

// input [N, C, H, W], weight [C, 1, k, k]; returns [N, C, H, W]. Differentiable with respect to input and weight
// (first derivatives only: the backward pass itself is not differentiable). The fast path takes float32 strided CPU
// tensors with an odd square kernel and dilation >= 1; anything else (and the switch below turned off) goes through
// torch::conv2d with the same semantics. Results do not depend on the number of threads; grad_weight is reduced in
// a fixed order, so repeated runs are bitwise identical.
torch::Tensor
DepthwiseConv2d(const torch::Tensor & input, const torch::Tensor & weight, int64_t dilation);

// Global switch (default on): when off, DepthwiseConv2d and the network's separable convolutions use LibTorch's
// convolution. For benchmarks and parity tests; thread-safe.
void
SetFastDepthwiseConvolution(bool on);
bool
FastDepthwiseConvolution();

// Name of the instruction set the fast path dispatches to: "avx512", "avx2" or "generic" (the best one this CPU
// supports unless overridden), "none" where the fast path is not compiled in.
const char *
DepthwiseConvolutionIsa();
// Forces the fast path onto one instruction set (to test every code path on one machine); "best" restores the
// default. Returns false, changing nothing, when the name is unknown or the CPU lacks the instructions.
bool
SetDepthwiseConvolutionIsa(const std::string & name);

} // namespace rescrnet

#endif
