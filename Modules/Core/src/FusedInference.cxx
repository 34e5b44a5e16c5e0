// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/FusedInference.h"

#include "rescrnet/DepthwiseConv.h"

#include "SimdKernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>
#include <map>
#include <utility>
#include <stdexcept>
#include <string>

namespace rescrnet
{

namespace
{
int64_t
roundUpTo(int64_t v, int64_t m)
{
  return (v + m - 1) / m * m;
}

// Output-channel padding of the transposed pointwise weights: any kernel's channel tile divides it.
constexpr int64_t kChannelAlign = 8;
// Row alignment in floats (the widest vector).
constexpr int64_t kAlign = 16;

// Transposed 1x1 weights: rows = input channels, kChannelAlign-padded columns = output channels (zeros past M).
struct Pointwise
{
  int64_t            K = 0, M = 0, ld = 0;
  std::vector<float> w;    // [K][ld]
  std::vector<float> bias; // [ld]

  void
  resize(int64_t k, int64_t m)
  {
    K = k;
    M = m;
    ld = roundUpTo(m, kChannelAlign);
    w.assign(static_cast<size_t>(K * ld), 0.0f);
    bias.assign(static_cast<size_t>(ld), 0.0f);
  }
};

// Per-channel a x + b (folded batch norm).
struct Affine
{
  std::vector<float> scale, shift;
};

// Eval-mode batch norm as s x + t (double): s = gamma / sqrt(var + eps), t = beta - s mean.
std::pair<torch::Tensor, torch::Tensor>
batchNormScaleShift(const torch::nn::BatchNorm2dImpl & bn)
{
  const auto s =
    bn.weight.detach().to(torch::kDouble) / torch::sqrt(bn.running_var.detach().to(torch::kDouble) + bn.options.eps());
  const auto t = bn.bias.detach().to(torch::kDouble) - s * bn.running_mean.detach().to(torch::kDouble);
  return { s.contiguous(), t.contiguous() };
}

Affine
foldBatchNorm(const torch::nn::BatchNorm2dImpl & bn)
{
  const auto [s, t] = batchNormScaleShift(bn);
  Affine     a;
  const auto sa = s.accessor<double, 1>();
  const auto ta = t.accessor<double, 1>();
  for (int64_t i = 0; i < s.size(0); ++i)
  {
    a.scale.push_back(static_cast<float>(sa[i]));
    a.shift.push_back(static_cast<float>(ta[i]));
  }
  return a;
}

std::vector<float>
depthwiseWeights(const torch::nn::Conv2dImpl & conv)
{
  auto               w = conv.weight.detach().to(torch::kFloat).contiguous();
  const float *      p = w.data_ptr<float>();
  std::vector<float> out(p, p + w.numel());
  return out;
}

// 1x1 convolution weight [M, K, 1, 1] as a double matrix [M, K].
torch::Tensor
pointwiseMatrix(const torch::nn::Conv2dImpl & conv)
{
  return conv.weight.detach().to(torch::kDouble).reshape({ conv.weight.size(0), conv.weight.size(1) }).contiguous();
}

torch::Tensor
biasVector(const torch::nn::Conv2dImpl & conv)
{
  if (conv.bias.defined() && conv.bias.numel() > 0)
  {
    return conv.bias.detach().to(torch::kDouble).contiguous();
  }
  return torch::zeros({ conv.weight.size(0) }, torch::kDouble);
}

// A 1x1 convolution, and the batch norm after it when given, as one pointwise product (computed in double):
// s (W x + b - mean) + beta with s = gamma / sqrt(var + eps).
Pointwise
foldPointwise(const torch::nn::Conv2dImpl & conv, const torch::nn::BatchNorm2dImpl * bn)
{
  auto w = pointwiseMatrix(conv);
  auto b = biasVector(conv);
  if (bn != nullptr)
  {
    const auto [s, t] = batchNormScaleShift(*bn);
    w = (w * s.unsqueeze(1)).contiguous();
    b = (s * b + t).contiguous();
  }
  Pointwise p;
  p.resize(w.size(1), w.size(0));
  const auto wa = w.accessor<double, 2>();
  const auto ba = b.accessor<double, 1>();
  for (int64_t m = 0; m < p.M; ++m)
  {
    for (int64_t k = 0; k < p.K; ++k)
    {
      p.w[static_cast<size_t>(k * p.ld + m)] = static_cast<float>(wa[m][k]);
    }
    p.bias[static_cast<size_t>(m)] = static_cast<float>(ba[m]);
  }
  return p;
}
} // namespace

struct FusedInference::Plan
{
  struct Branch
  {
    int64_t            k = 0, d = 0;
    std::vector<float> dw1, dw2; // [channels][k * k]
    Pointwise          pw1;      // K = block input channels, M = filters; branch BN folded in
    Pointwise          pw2;      // K = M = filters
  };
  struct Block
  {
    int64_t             inChannels = 0;
    bool                preActivation = false; // BN + LeakyReLU on the branch input (CONV RES); STEM: none
    Affine              pre;
    Pointwise           shortcut; // K = block input channels, M = block channels; shortcut BN folded in
    std::vector<Branch> branches;
  };
  int64_t            inputChannels = 0, channels = 0, filters = 0, classes = 0, maxPad = 0;
  float              slope = 0.1f;
  std::vector<Block> blocks;
  Pointwise          head;
};

struct FusedInference::Workspace
{
  int64_t H = -1, W = -1, pad = -1, channels = -1; // the geometry the planes are laid out for
  size_t  capacity = 0;                            // bytes allocated
  int64_t Wr = 0, S = 0, PH = 0, PX = 0, plane = 0;
  // Four sets of planes: block input, block output, branch input (pre-activated), branch intermediates.
  float * x = nullptr;
  float * y = nullptr;
  float * x0 = nullptr;
  float * u = nullptr;
  void *  memory = nullptr;

  ~Workspace()
  {
    std::free(memory);
  }
};

bool
FusedInference::Supports(const NetworkConfig & config)
{
  if (config.lstmBlocks != 0 || config.kernels.empty() || config.kernels.size() != config.dilations.size())
  {
    return false;
  }
  for (size_t i = 0; i < config.kernels.size(); ++i)
  {
    if (config.kernels[i] < 1 || config.kernels[i] % 2 == 0 || config.dilations[i] < 1)
    {
      return false;
    }
  }
  return true;
}

FusedInference::FusedInference(const ResCRNetImpl & network)
  : m_Workspace(std::make_unique<Workspace>())
{
  reload(network);
}

void
FusedInference::reload(const ResCRNetImpl & network)
{
  const NetworkConfig & c = network.config();
  if (!Supports(c))
  {
    throw std::invalid_argument("FusedInference: networks with LSTM RES blocks (or even kernels) are not supported");
  }
  torch::NoGradGuard noGrad;
  auto               fresh = std::make_unique<Plan>();
  Plan &             plan = *fresh;
  plan.inputChannels = c.inputChannels;
  plan.channels = c.blockChannels();
  plan.filters = c.filters;
  plan.classes = c.numClasses;
  plan.slope = static_cast<float>(c.leakySlope);
  for (size_t i = 0; i < c.kernels.size(); ++i)
  {
    plan.maxPad = std::max(plan.maxPad, c.dilations[i] * (c.kernels[i] - 1) / 2);
  }
  for (size_t b = 0; b < network.convBlocks->size(); ++b)
  {
    const auto & block = *network.convBlocks->ptr(b)->as<ConvResBlockImpl>();
    Plan::Block  pb;
    pb.inChannels = b == 0 ? c.inputChannels : plan.channels;
    pb.preActivation = !block.isStem;
    if (pb.preActivation)
    {
      pb.pre = foldBatchNorm(*block.preBn);
    }
    pb.shortcut = foldPointwise(*block.shortcut, block.shortcutBn.get());
    for (size_t i = 0; i < block.branches->size(); ++i)
    {
      const auto & branch = *block.branches->ptr(i)->as<AtrousBranchImpl>();
      Plan::Branch pbr;
      pbr.k = c.kernels[i];
      pbr.d = c.dilations[i];
      pbr.dw1 = depthwiseWeights(*branch.sep1->depthwise);
      pbr.dw2 = depthwiseWeights(*branch.sep2->depthwise);
      pbr.pw1 = foldPointwise(*branch.sep1->pointwise, branch.bn.get());
      pbr.pw2 = foldPointwise(*branch.sep2->pointwise, nullptr);
      pb.branches.push_back(std::move(pbr));
    }
    plan.blocks.push_back(std::move(pb));
  }
  plan.head = foldPointwise(*network.head, nullptr);
  m_Plan = std::move(fresh);
}

FusedInference::~FusedInference() = default;

namespace
{
// Geometry of the padded planes: row y, column x of a plane is at plane[(PH + y) S + PX + x]; rows are written over
// [0, Wr) with zeros in [W, Wr); everything else stays zero.
struct Geometry
{
  int64_t H, W, Wr, S, PH, PX, plane;
};

// A group of n output rows y, y + d, ..., y + (n - 1) d.
struct RowGroup
{
  int64_t y, n;
};

// Where a pointwise product goes: output planes (g.plane apart, channel 0 first), optionally added to what they hold
// (the shortcut), optionally through LeakyReLU, and optionally also as LeakyReLU(scale v + shift) into second planes
// (the next block's pre-activated input).
struct Store
{
  float *       out = nullptr;
  bool          accumulate = false;
  bool          leaky = false;
  float *       out2 = nullptr;
  const float * scale2 = nullptr;
  const float * shift2 = nullptr;
};

// One pass of a block (or the head): tasks are (branch, row group) pairs.
struct PassArgs
{
  const Geometry * g;
  int              kind; // 1: depthwise -> pointwise -> LeakyReLU into U (+ shortcut); 2: depthwise -> pointwise
                         // added to the shortcut; 3: head
  float slope;
  // Per branch:
  struct BranchArgs
  {
    int64_t                       k, d;
    const float *                 dw;   // [dwChannels][k k]
    const float *                 dwIn; // planes fed to the depthwise convolution
    int64_t                       dwChannels;
    const Pointwise *             pw;
    Store                         store;
    const Pointwise *             shortcut; // pass 1, one branch: the block's 1x1 shortcut (else null)
    const float *                 shortcutIn;
    float *                       shortcutOut;
    const std::vector<RowGroup> * groups;
  };
  std::vector<BranchArgs>                          branches;
  const std::vector<std::pair<int32_t, int32_t>> * tasks; // (branch, row group)
  // kind 3:
  const float *     headIn;
  const Pointwise * head;
  int64_t           classes;
  float *           probabilities; // [classes, H, W]
};

#if defined(RESCRNET_DW_VECTOR)
using namespace simd;

template <int VW>
struct GemmBlocking;
template <>
struct GemmBlocking<4>
{
  static constexpr int MT = 4, NV = 2;
};
template <>
struct GemmBlocking<8>
{
  static constexpr int MT = 4, NV = 2;
};
template <>
struct GemmBlocking<16>
{
  static constexpr int MT = 8, NV = 3;
};

// acc[m][v] += sum_k w[k ld + m] a[k aStride + v VW], k < K. Prefetch: also asks for the next tile's inputs (the
// NV vectors after these, in every input channel), which come from as many planes as there are channels: more
// concurrent streams than the hardware prefetchers follow.
template <int VW, int MT, int NV, bool Prefetch>
RESCRNET_DW_INLINE void
gemmAccumulate(typename Vec<VW>::V (&acc)[MT][NV],
               const float * a,
               int64_t       aStride,
               int64_t       K,
               const float * w,
               int64_t       ld)
{
  using V = typename Vec<VW>::V;
  using U = typename Vec<VW>::U;
  for (int64_t k = 0; k < K; ++k)
  {
    const float * ak = a + k * aStride;
    if constexpr (Prefetch)
    {
#  pragma GCC unroll 8
      for (int64_t line = 0; line < NV * VW; line += 16)
      {
        __builtin_prefetch(ak + NV * VW + line);
      }
    }
    V in[NV];
#  pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
    {
      in[v] = RESCRNET_DW_LOAD(ak + v * VW);
    }
    const float * wk = w + k * ld;
#  pragma GCC unroll 16
    for (int m = 0; m < MT; ++m)
    {
      const V wv = wk[m] - V{};
#  pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
      {
        acc[m][v] += wv * in[v];
      }
    }
  }
}

// LeakyReLU with a slope in [0, 1], in place (vectors by reference: no vector-ABI concerns).
template <int VW>
RESCRNET_DW_INLINE void
leakyRelu(typename Vec<VW>::V & v, float slope)
{
  using V = typename Vec<VW>::V;
  const V s = v * slope;
  v = v > s ? v : s;
}

// Register blocking of the depthwise tiles here: more rows than DepthwiseConv's (which also keeps the backward pass
// in mind), so that each input row read from memory serves more output rows.
template <int VW>
struct FusedBlocking;
template <>
struct FusedBlocking<4>
{
  static constexpr int R = 2, B = 2;
};
template <>
struct FusedBlocking<8>
{
  static constexpr int R = 4, B = 2;
};
template <>
struct FusedBlocking<16>
{
  static constexpr int R = 8, B = 2;
};

// Depthwise rows of a group (n rows d apart from y) for channels [0, channels) into scratch[c][j][Wr].
template <int VW, int K>
RESCRNET_DW_INLINE void
depthwiseGroup(const Geometry & g, const PassArgs::BranchArgs & a, const RowGroup & rg, float * scratch)
{
  constexpr int R = K > 1 ? FusedBlocking<VW>::R : 1;
  constexpr int B = FusedBlocking<VW>::B;
  const int64_t k = a.k, d = a.d, pad = d * (k - 1) / 2, kk = k * k;
  const int64_t rowStep = d * g.S;
  for (int64_t c = 0; c < a.dwChannels; ++c)
  {
    const float * plane = a.dwIn + c * g.plane;
    const float * w = a.dw + c * kk;
    float *       out = scratch + c * rg.n * g.Wr;
    if (rg.n == R)
    {
      const float * in = plane + (g.PH + rg.y - pad) * g.S + g.PX - pad;
      int64_t       x = 0;
      for (; x + B * VW <= g.Wr; x += B * VW)
      {
        forwardTile<VW, R, B, K>(in + x, rowStep, w, k, d, out + x, g.Wr);
      }
      for (; x < g.Wr; x += VW)
      {
        forwardTile<VW, R, 1, K>(in + x, rowStep, w, k, d, out + x, g.Wr);
      }
      continue;
    }
    // The group's last rows one at a time (same summation order per output as the R-row tiles).
    for (int64_t j = 0; j < rg.n; ++j)
    {
      const float * in = plane + (g.PH + rg.y + j * d - pad) * g.S + g.PX - pad;
      float *       o = out + j * g.Wr;
      int64_t       x = 0;
      for (; x + B * VW <= g.Wr; x += B * VW)
      {
        forwardTile<VW, 1, B, K>(in + x, rowStep, w, k, d, o + x, g.Wr);
      }
      for (; x < g.Wr; x += VW)
      {
        forwardTile<VW, 1, 1, K>(in + x, rowStep, w, k, d, o + x, g.Wr);
      }
    }
  }
}

// NV vectors of pixels at plane offset `offset`: out[m] = bias[m] (+ out[m]) + sum_k w[k][m] a[k], all m < pw.M.
template <int VW, int NV>
RESCRNET_DW_INLINE void
pointwiseTile(const Geometry &  g,
              const float *     a,
              int64_t           aStride,
              const Pointwise & pw,
              const Store &     st,
              int64_t           offset,
              float             slope,
              bool              prefetch)
{
  using V = typename Vec<VW>::V;
  using U = typename Vec<VW>::U;
  constexpr int MT = GemmBlocking<VW>::MT;
  for (int64_t m0 = 0; m0 < pw.M; m0 += MT)
  {
    const int64_t mEnd = std::min<int64_t>(MT, pw.M - m0);
    V             acc[MT][NV];
#  pragma GCC unroll 16
    for (int m = 0; m < MT; ++m)
    {
      const V b = pw.bias[static_cast<size_t>(m0 + m)] - V{};
#  pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
      {
        acc[m][v] = b;
      }
    }
    if (st.accumulate)
    {
      for (int m = 0; m < mEnd; ++m)
      {
        const float * o = st.out + (m0 + m) * g.plane + offset;
        for (int64_t line = 0; line < NV * VW; line += 16)
        {
          __builtin_prefetch(o + NV * VW + line);
        }
#  pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
        {
          acc[m][v] += RESCRNET_DW_LOAD(o + v * VW);
        }
      }
    }
    if (m0 == 0 && prefetch)
    {
      gemmAccumulate<VW, MT, NV, true>(acc, a, aStride, pw.K, pw.w.data() + m0, pw.ld);
    }
    else
    {
      gemmAccumulate<VW, MT, NV, false>(acc, a, aStride, pw.K, pw.w.data() + m0, pw.ld);
    }
    for (int m = 0; m < mEnd; ++m)
    {
      float * o = st.out + (m0 + m) * g.plane + offset;
      if (st.out2)
      {
        float * o2 = st.out2 + (m0 + m) * g.plane + offset;
        const V s = st.scale2[m0 + m] - V{};
        const V t = st.shift2[m0 + m] - V{};
#  pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
        {
          V z = acc[m][v] * s + t;
          leakyRelu<VW>(z, slope);
          RESCRNET_DW_STORE(o2 + v * VW, z);
        }
      }
#  pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
      {
        if (st.leaky)
        {
          leakyRelu<VW>(acc[m][v], slope);
        }
        RESCRNET_DW_STORE(o + v * VW, acc[m][v]);
      }
    }
  }
}

// The pointwise product for output row y; aRow: input channel 0 at x = 0 (channels aStride apart).
template <int VW>
RESCRNET_DW_INLINE void
pointwiseRow(const Geometry &  g,
             const float *     aRow,
             int64_t           aStride,
             const Pointwise & pw,
             const Store &     st,
             int64_t           y,
             float             slope,
             bool              prefetch)
{
  constexpr int NV = GemmBlocking<VW>::NV;
  const int64_t row = (g.PH + y) * g.S + g.PX;
  int64_t       x = 0;
  for (; x + NV * VW <= g.Wr; x += NV * VW)
  {
    pointwiseTile<VW, NV>(g, aRow + x, aStride, pw, st, row + x, slope, prefetch);
  }
  for (; x < g.Wr; x += VW)
  {
    pointwiseTile<VW, 1>(g, aRow + x, aStride, pw, st, row + x, slope, false);
  }
  // Keep the planes' zero padding past W.
  if (g.Wr > g.W)
  {
    for (int64_t m = 0; m < pw.M; ++m)
    {
      std::fill_n(st.out + m * g.plane + row + g.W, g.Wr - g.W, 0.0f);
      if (st.out2)
      {
        std::fill_n(st.out2 + m * g.plane + row + g.W, g.Wr - g.W, 0.0f);
      }
    }
  }
}

// One (branch, row group) task: the depthwise rows of all channels, then the pointwise product on them; in pass 1
// the tasks of one branch also compute the shortcut of their rows (the block input through the 1x1 shortcut).
template <int VW, int K>
RESCRNET_DW_INLINE void
blockTask(const PassArgs & p, const PassArgs::BranchArgs & a, const RowGroup & rg, float * scratch)
{
  const Geometry & g = *p.g;
  depthwiseGroup<VW, K>(g, a, rg, scratch);
  for (int64_t j = 0; j < rg.n; ++j)
  {
    const int64_t y = rg.y + j * a.d;
    pointwiseRow<VW>(g, scratch + j * g.Wr, rg.n * g.Wr, *a.pw, a.store, y, p.slope, false);
  }
  if (a.shortcut != nullptr)
  {
    Store st;
    st.out = a.shortcutOut;
    // Stage each input row (all channels) contiguously: one sequential stream per plane instead of one stream per
    // channel inside the product.
    float * staged = scratch + a.dwChannels * rg.n * g.Wr;
    for (int64_t j = 0; j < rg.n; ++j)
    {
      const int64_t y = rg.y + j * a.d;
      const float * src = a.shortcutIn + (g.PH + y) * g.S + g.PX;
      for (int64_t c = 0; c < a.shortcut->K; ++c)
      {
        std::memcpy(staged + c * g.Wr, src + c * g.plane, static_cast<size_t>(g.Wr) * sizeof(float));
      }
      pointwiseRow<VW>(g, staged, g.Wr, *a.shortcut, st, y, p.slope, false);
    }
  }
}

// Head for one row: 1x1 convolution + LeakyReLU, then the softmax over classes.
template <int VW>
RESCRNET_DW_INLINE void
headTask(const PassArgs & p, int64_t y, float * scratch)
{
  using V = typename Vec<VW>::V;
  using U = typename Vec<VW>::U;
  const Geometry &  g = *p.g;
  const Pointwise & pw = *p.head;
  constexpr int     MT = GemmBlocking<VW>::MT;
  const int64_t     rowOffset = (g.PH + y) * g.S + g.PX;
  for (int64_t x = 0; x < g.Wr; x += VW)
  {
    for (int64_t m0 = 0; m0 < pw.M; m0 += MT)
    {
      V acc[MT][1];
      for (int m = 0; m < MT; ++m)
      {
        acc[m][0] = pw.bias[static_cast<size_t>(m0 + m)] - V{};
      }
      gemmAccumulate<VW, MT, 1, true>(acc, p.headIn + rowOffset + x, g.plane, pw.K, pw.w.data() + m0, pw.ld);
      const int64_t mEnd = std::min<int64_t>(MT, pw.M - m0);
      for (int m = 0; m < mEnd; ++m)
      {
        leakyRelu<VW>(acc[m][0], p.slope);
        RESCRNET_DW_STORE(scratch + (m0 + m) * g.Wr + x, acc[m][0]);
      }
    }
  }
  const int64_t C = p.classes;
  for (int64_t x = 0; x < g.W; ++x)
  {
    float mx = scratch[x];
    for (int64_t c = 1; c < C; ++c)
    {
      mx = std::max(mx, scratch[c * g.Wr + x]);
    }
    float sum = 0.0f;
    for (int64_t c = 0; c < C; ++c)
    {
      const float e = std::exp(scratch[c * g.Wr + x] - mx);
      scratch[c * g.Wr + x] = e;
      sum += e;
    }
    for (int64_t c = 0; c < C; ++c)
    {
      p.probabilities[(c * g.H + y) * g.W + x] = scratch[c * g.Wr + x] / sum;
    }
  }
}

// Task t of a pass: kind 3, row t; otherwise the (branch, row group) pair tasks[t].
template <int VW>
RESCRNET_DW_INLINE void
runTask(const PassArgs & p, int64_t t, float * scratch)
{
  if (p.kind == 3)
  {
    headTask<VW>(p, t, scratch);
    return;
  }
  const auto &                 task = (*p.tasks)[static_cast<size_t>(t)];
  const PassArgs::BranchArgs & a = p.branches[static_cast<size_t>(task.first)];
  const RowGroup &             rg = (*a.groups)[static_cast<size_t>(task.second)];
  switch (a.k)
  {
    case 3:
      blockTask<VW, 3>(p, a, rg, scratch);
      break;
    case 5:
      blockTask<VW, 5>(p, a, rg, scratch);
      break;
    case 7:
      blockTask<VW, 7>(p, a, rg, scratch);
      break;
    case 1:
      blockTask<VW, 1>(p, a, rg, scratch);
      break;
    default:
      blockTask<VW, 0>(p, a, rg, scratch);
      break;
  }
}

void
runGeneric(const PassArgs & p, int64_t t, float * s)
{
  runTask<4>(p, t, s);
}
#  if defined(RESCRNET_DW_X86)
__attribute__((target("avx2,fma"))) void
runAvx2(const PassArgs & p, int64_t t, float * s)
{
  runTask<8>(p, t, s);
}
__attribute__((target("avx512f,avx2,fma"))) void
runAvx512(const PassArgs & p, int64_t t, float * s)
{
  runTask<16>(p, t, s);
}
#  endif

struct KernelSet
{
  const char * name;
  int          rows; // rows per group (FusedBlocking<VW>::R)
  void (*run)(const PassArgs &, int64_t, float *);
};

KernelSet
currentKernels()
{
  const std::string name = DepthwiseConvolutionIsa();
#  if defined(RESCRNET_DW_X86)
  if (name == "avx512")
  {
    return { "avx512", FusedBlocking<16>::R, &runAvx512 };
  }
  if (name == "avx2")
  {
    return { "avx2", FusedBlocking<8>::R, &runAvx2 };
  }
#  endif
  return { "generic", FusedBlocking<4>::R, &runGeneric };
}
#endif // RESCRNET_DW_VECTOR

// Rows [0, H) in groups of up to R rows d apart.
std::vector<RowGroup>
rowGroups(int64_t H, int64_t d, int64_t R)
{
  std::vector<RowGroup> groups;
  for (int64_t base = 0; base < H; base += R * d)
  {
    for (int64_t y = base; y < std::min(base + d, H); ++y)
    {
      const int64_t n = std::min<int64_t>(R, (H - 1 - y) / d + 1);
      groups.push_back({ y, n });
    }
  }
  return groups;
}
} // namespace

const char *
FusedInference::Isa()
{
#if defined(RESCRNET_DW_VECTOR)
  return currentKernels().name;
#else
  return "none";
#endif
}

namespace
{
// Work buffer layout for an H x W input.
struct Layout
{
  int64_t Wr, S, PH, PX, rows, plane;
  size_t  bytes;
};

Layout
layoutFor(int64_t H, int64_t W, int64_t maxPad, int64_t channels)
{
  Layout l{};
  l.Wr = roundUpTo(W, kAlign);
  l.PH = maxPad;
  l.PX = roundUpTo(maxPad, kAlign);
  l.S = l.PX + l.Wr + roundUpTo(maxPad, kAlign);
  l.rows = H + 2 * l.PH;
  // Planes 64 bytes past a multiple of 4 KiB apart: the pointwise products read one row from each of up to 64
  // planes at once, and a multiple of 4 KiB would put them all in the same few L1 cache sets.
  l.plane = roundUpTo(l.rows * l.S, 1024) + 16;
  l.bytes = static_cast<size_t>(4 * channels * l.plane) * sizeof(float);
  return l;
}
} // namespace

int64_t
FusedInference::ReceptiveRadius() const
{
  // Each block's widest branch chains two convolutions of radius maxPad; the head is 1x1.
  return static_cast<int64_t>(m_Plan->blocks.size()) * 2 * m_Plan->maxPad;
}

size_t
FusedInference::WorkspaceBytes(int64_t height, int64_t width) const
{
  return layoutFor(height, width, m_Plan->maxPad, std::max(m_Plan->channels, m_Plan->inputChannels)).bytes;
}

torch::Tensor
FusedInference::forward(const torch::Tensor & images)
{
  TORCH_CHECK(images.dim() == 4, "FusedInference: expected [B, C, H, W], got ", images.dim(), " dimensions");
  const Plan & plan = *m_Plan;
  TORCH_CHECK(images.size(1) == plan.inputChannels,
              "FusedInference: the network expects ",
              plan.inputChannels,
              " channel(s), got ",
              images.size(1));
  const int64_t B = images.size(0), H = images.size(2), W = images.size(3);
  auto          output = torch::empty({ B, plan.classes, H, W }, torch::kFloat);
  if (B == 0 || H == 0 || W == 0)
  {
    return output;
  }
  const auto input = images.to(torch::kFloat);
  if (WorkspaceBytes(H, W) <= m_MaxWorkspaceBytes)
  {
    run(input.contiguous(), output);
    return output;
  }
  // Overlapping tiles: a tile of T x T outputs is computed from its input with the receptive-field margin r on
  // every side (clipped at the image's own borders, where the zero padding is the real one), so its outputs are
  // exactly those of the whole image. T: the largest multiple of 16 whose work buffers fit the budget.
  const int64_t r = ReceptiveRadius();
  int64_t       T = 16;
  while (WorkspaceBytes(std::min(H, T + 16 + 2 * r), std::min(W, T + 16 + 2 * r)) <= m_MaxWorkspaceBytes &&
         (T < H || T < W))
  {
    T += 16;
  }
  for (int64_t ty = 0; ty < H; ty += T)
  {
    for (int64_t tx = 0; tx < W; tx += T)
    {
      const int64_t ty1 = std::min(H, ty + T), tx1 = std::min(W, tx + T);
      const int64_t y0 = std::max<int64_t>(0, ty - r), y1 = std::min(H, ty1 + r);
      const int64_t x0 = std::max<int64_t>(0, tx - r), x1 = std::min(W, tx1 + r);
      auto          tileOut = torch::empty({ B, plan.classes, y1 - y0, x1 - x0 }, torch::kFloat);
      run(input.slice(2, y0, y1).slice(3, x0, x1).contiguous(), tileOut);
      output.slice(2, ty, ty1).slice(3, tx, tx1).copy_(tileOut.slice(2, ty - y0, ty1 - y0).slice(3, tx - x0, tx1 - x0));
    }
  }
  return output;
}

void
FusedInference::run(const torch::Tensor & input, torch::Tensor & output)
{
  const Plan &  plan = *m_Plan;
  const int64_t B = input.size(0), H = input.size(2), W = input.size(3);
#if !defined(RESCRNET_DW_VECTOR)
  throw std::runtime_error("FusedInference: not compiled in");
#else
  const KernelSet isa = currentKernels();

  // Work buffers: kept between calls (reallocated when a call needs more).
  Workspace &   ws = *m_Workspace;
  const int64_t maxChannels = std::max(plan.channels, plan.inputChannels);
  if (ws.H != H || ws.W != W || ws.pad != plan.maxPad || ws.channels != maxChannels || ws.memory == nullptr)
  {
    const Layout l = layoutFor(H, W, plan.maxPad, maxChannels);
    if (l.bytes > ws.capacity || ws.memory == nullptr)
    {
      std::free(ws.memory);
      ws.memory = nullptr;
      ws.capacity = 0;
      constexpr size_t hugePage = size_t{ 2 } << 20;
      const size_t     rounded = (l.bytes + hugePage - 1) / hugePage * hugePage;
      ws.memory = std::aligned_alloc(hugePage, rounded);
      if (ws.memory == nullptr)
      {
        throw std::bad_alloc();
      }
      ws.capacity = rounded;
#  if defined(MADV_HUGEPAGE)
      // Transparent huge pages where the system allows them on request: fewer TLB misses across the planes.
      madvise(ws.memory, rounded, MADV_HUGEPAGE);
#  endif
    }
    ws.H = H;
    ws.W = W;
    ws.pad = plan.maxPad;
    ws.channels = maxChannels;
    ws.Wr = l.Wr;
    ws.PH = l.PH;
    ws.PX = l.PX;
    ws.S = l.S;
    ws.plane = l.plane;
    float * base = static_cast<float *>(ws.memory);
    ws.x = base;
    ws.y = base + maxChannels * ws.plane;
    ws.x0 = base + 2 * maxChannels * ws.plane;
    ws.u = base + 3 * maxChannels * ws.plane;
    // Zero the padding (top and bottom rows, left and right margins); the interiors are always written.
    at::parallel_for(0, 4 * maxChannels, 1, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
      {
        float * plane = base + p * ws.plane;
        std::fill_n(plane, ws.PH * ws.S, 0.0f);
        std::fill_n(plane + (ws.PH + H) * ws.S, ws.PH * ws.S, 0.0f);
        for (int64_t r = ws.PH; r < ws.PH + H; ++r)
        {
          std::fill_n(plane + r * ws.S, ws.PX, 0.0f);
          std::fill_n(plane + r * ws.S + ws.PX + W, ws.S - ws.PX - W, 0.0f);
        }
      }
    });
  }
  const Geometry g{ H, W, ws.Wr, ws.S, ws.PH, ws.PX, ws.plane };

  // Row groups per dilation.
  std::map<std::pair<int64_t, int64_t>, std::vector<RowGroup>> groups; // by (dilation, rows per group)
  auto groupsFor = [&](int64_t k, int64_t d) -> const std::vector<RowGroup> * {
    // Kernels with compile-time sizes take several rows at a time (see blockTask).
    const int64_t R = (k == 3 || k == 5 || k == 7) ? isa.rows : 1;
    auto &        list = groups[{ d, R }];
    if (list.empty())
    {
      list = rowGroups(H, d, R);
    }
    return &list;
  };

  // Per-thread scratch: the depthwise rows of one group for all channels, or the head's logits.
  const int     threads = std::max(1, at::get_num_threads());
  const int64_t scratchFloats =
    std::max<int64_t>(maxChannels * (FusedBlocking<16>::R + 1) * g.Wr, roundUpTo(plan.classes, kChannelAlign) * g.Wr) +
    kAlign;
  std::vector<float> scratch(static_cast<size_t>(threads * scratchFloats + kAlign));
  float * scratchBase = reinterpret_cast<float *>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);

  auto runPass = [&](const PassArgs & p, int64_t tasks) {
    std::atomic<int64_t> next{ 0 };
    at::parallel_for(0, threads, 1, [&](int64_t b, int64_t e) {
      for (int64_t slot = b; slot < e; ++slot)
      {
        float * s = scratchBase + slot * scratchFloats;
        for (int64_t t = next++; t < tasks; t = next++)
        {
          isa.run(p, t, s);
        }
      }
    });
  };

  const float * in = input.data_ptr<float>();
  for (int64_t n = 0; n < B; ++n)
  {
    // Stage the image into the padded block-input planes.
    for (int64_t c = 0; c < plan.inputChannels; ++c)
    {
      for (int64_t y = 0; y < H; ++y)
      {
        float * row = ws.x + c * g.plane + (g.PH + y) * g.S + g.PX;
        std::memcpy(row, in + ((n * plan.inputChannels + c) * H + y) * W, static_cast<size_t>(W) * sizeof(float));
        std::fill_n(row + W, g.Wr - W, 0.0f);
      }
    }
    float * x = ws.x;
    float * yb = ws.y;
    for (size_t b = 0; b < plan.blocks.size(); ++b)
    {
      const Plan::Block & block = plan.blocks[b];
      const Plan::Block * next = b + 1 < plan.blocks.size() ? &plan.blocks[b + 1] : nullptr;
      // Pass 1: branch inputs (the pre-activated copy written by the previous block, or the raw input for the STEM)
      // -> depthwise -> pointwise (+ branch BN) -> LeakyReLU -> U.
      PassArgs p1{};
      p1.g = &g;
      p1.kind = 1;
      p1.slope = plan.slope;
      PassArgs p2 = p1;
      p2.kind = 2;
      size_t maxGroups = 0;
      // The branch with the smallest kernel (the cheapest tasks) also computes the shortcut in pass 1.
      size_t shortcutBranch = 0;
      for (size_t i = 1; i < block.branches.size(); ++i)
      {
        if (block.branches[i].k < block.branches[shortcutBranch].k)
        {
          shortcutBranch = i;
        }
      }
      for (size_t i = 0; i < block.branches.size(); ++i)
      {
        const Plan::Branch & br = block.branches[i];
        const int64_t        first = static_cast<int64_t>(i) * plan.filters; // first channel of the branch
        PassArgs::BranchArgs a{};
        a.k = br.k;
        a.d = br.d;
        a.groups = groupsFor(br.k, br.d);
        maxGroups = std::max(maxGroups, a.groups->size());
        a.dw = br.dw1.data();
        a.dwIn = block.preActivation ? ws.x0 : x;
        a.dwChannels = block.inChannels;
        a.pw = &br.pw1;
        a.store.out = ws.u + first * g.plane;
        a.store.leaky = true;
        if (i == shortcutBranch)
        {
          a.shortcut = &block.shortcut;
          a.shortcutIn = x;
          a.shortcutOut = yb;
        }
        p1.branches.push_back(a);
        // Pass 2: U -> depthwise -> pointwise, added to the shortcut in the block output planes of branch i.
        PassArgs::BranchArgs a2 = a;
        a2.shortcut = nullptr;
        a2.dw = br.dw2.data();
        a2.dwIn = a.store.out;
        a2.dwChannels = plan.filters;
        a2.pw = &br.pw2;
        a2.store = Store{};
        a2.store.out = yb + first * g.plane;
        a2.store.accumulate = true;
        if (next != nullptr && next->preActivation)
        {
          a2.store.out2 = ws.x0 + first * g.plane;
          a2.store.scale2 = next->pre.scale.data() + first;
          a2.store.shift2 = next->pre.shift.data() + first;
        }
        p2.branches.push_back(a2);
      }
      // Tasks: the branches' row groups, interleaved so that threads taking consecutive tasks get a mix of cheap
      // and expensive branches.
      std::vector<std::pair<int32_t, int32_t>> tasks;
      for (size_t j = 0; j < maxGroups; ++j)
      {
        for (size_t i = 0; i < p1.branches.size(); ++i)
        {
          if (j < p1.branches[i].groups->size())
          {
            tasks.emplace_back(static_cast<int32_t>(i), static_cast<int32_t>(j));
          }
        }
      }
      p1.tasks = &tasks;
      p2.tasks = &tasks;
      runPass(p1, static_cast<int64_t>(tasks.size()));
      runPass(p2, static_cast<int64_t>(tasks.size()));
      std::swap(x, yb);
    }
    PassArgs ph{};
    ph.g = &g;
    ph.kind = 3;
    ph.slope = plan.slope;
    ph.headIn = x;
    ph.head = &plan.head;
    ph.classes = plan.classes;
    ph.probabilities = output.data_ptr<float>() + n * plan.classes * H * W;
    runPass(ph, H);
  }
#endif
}

} // namespace rescrnet
