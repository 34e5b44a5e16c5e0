// SPDX-License-Identifier: Apache-2.0
// Private to Modules/Core (included by FusedInference.cxx only): the data structures and the vector kernels of the
// fused inference path, for every precision. Templates over the element type E of the feature maps (float, or
// _Float16 for fp16) and the vector width VW (elements per vector); they are inlined into one function per
// instruction set (see FusedInference.cxx). The bf16 pointwise products and the AMX tiles use intrinsics and live in
// functions of their own, compiled for their instruction sets.
#ifndef rescrnet_FusedKernels_h
#define rescrnet_FusedKernels_h

#include "SimdKernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(RESCRNET_DW_X86) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#  include <immintrin.h>
// AVX512-BF16 dot products and AMX-BF16 tiles (GCC 11 and later).
#  define RESCRNET_HAVE_BF16_KERNELS 1
#  define RESCRNET_TARGET_BF16 __attribute__((target("avx512bf16,avx512bw,avx512vl,avx512dq,avx512f,avx2,fma")))
#  define RESCRNET_TARGET_AMX                                                                                          \
    __attribute__((target("amx-tile,amx-bf16,avx512bf16,avx512bw,avx512vl,avx512dq,avx512f,avx2,fma")))
#endif

namespace rescrnet
{
namespace fused
{

inline int64_t
roundUpTo(int64_t v, int64_t m)
{
  return (v + m - 1) / m * m;
}

// Output-channel padding of the transposed pointwise weights: any kernel's channel tile divides it.
constexpr int64_t kChannelAlign = 8;

// Transposed 1x1 weights: rows = input channels, kChannelAlign-padded columns = output channels (zeros past M).
template <typename T>
struct PointwiseT
{
  int64_t        K = 0, M = 0, ld = 0;
  std::vector<T> w;    // [K][ld]
  std::vector<T> bias; // [ld]

  void
  resize(int64_t k, int64_t m)
  {
    K = k;
    M = m;
    ld = roundUpTo(m, kChannelAlign);
    w.assign(static_cast<size_t>(K * ld), T(0));
    bias.assign(static_cast<size_t>(ld), T(0));
  }
};
using Pointwise = PointwiseT<float>;

// 1x1 weights for the bf16 products: pairs of input channels (2i, 2i + 1) as two bfloat16 in one 32-bit word (the
// lower half first), the layout of the AVX512-BF16 dot product and of AMX's B tiles. K2 = ceil(K / 2) pairs; a
// missing partner (odd K) is zero. `tiles`: the same weights as AMX A tiles, [mTiles][kTiles] tiles of 16 output
// channels x 32 input channels (row-major bfloat16, zeros past M and K).
struct PointwisePairs
{
  int64_t               K = 0, K2 = 0, M = 0, ld = 0;
  std::vector<uint32_t> w;    // [K2][ld]
  std::vector<float>    bias; // [ld]
  int64_t               mTiles = 0, kTiles = 0;
  std::vector<uint16_t> tiles; // [mTiles][kTiles][16][32]
};

// Round to nearest even, as the hardware's conversions do (no NaNs among weights).
inline uint16_t
toBFloat16(float f)
{
  uint32_t u = 0;
  std::memcpy(&u, &f, sizeof(u));
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float
fromBFloat16(uint16_t h)
{
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float          f = 0;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// The fp32 weights as bfloat16 pairs and AMX tiles.
inline PointwisePairs
toPairs(const Pointwise & f)
{
  PointwisePairs p;
  p.K = f.K;
  p.K2 = (f.K + 1) / 2;
  p.M = f.M;
  p.ld = f.ld;
  p.bias = f.bias;
  auto weight = [&](int64_t m, int64_t k) -> float {
    return m < f.M && k < f.K ? f.w[static_cast<size_t>(k * f.ld + m)] : 0.0f;
  };
  p.w.assign(static_cast<size_t>(p.K2 * p.ld), 0u);
  for (int64_t i = 0; i < p.K2; ++i)
  {
    for (int64_t m = 0; m < f.M; ++m)
    {
      p.w[static_cast<size_t>(i * p.ld + m)] = static_cast<uint32_t>(toBFloat16(weight(m, 2 * i))) |
                                               (static_cast<uint32_t>(toBFloat16(weight(m, 2 * i + 1))) << 16);
    }
  }
  p.mTiles = (f.M + 15) / 16;
  p.kTiles = (f.K + 31) / 32;
  p.tiles.assign(static_cast<size_t>(p.mTiles * p.kTiles * 16 * 32), 0);
  for (int64_t mt = 0; mt < p.mTiles; ++mt)
  {
    for (int64_t kt = 0; kt < p.kTiles; ++kt)
    {
      for (int64_t r = 0; r < 16; ++r)
      {
        for (int64_t c = 0; c < 32; ++c)
        {
          p.tiles[static_cast<size_t>(((mt * p.kTiles + kt) * 16 + r) * 32 + c)] =
            toBFloat16(weight(mt * 16 + r, kt * 32 + c));
        }
      }
    }
  }
  return p;
}
// Per-channel a x + b (folded batch norm).
template <typename T>
struct AffineT
{
  std::vector<T> scale, shift;
};

// The network with batch norm folded, in one precision: E for the depthwise weights and the pre-activations, PW for
// the pointwise products; the head is always fp32.
template <typename E, typename PW>
struct NetPlan
{
  using Element = E;
  using PointwiseType = PW;
  struct Branch
  {
    int64_t        k = 0, d = 0;
    std::vector<E> dw1, dw2; // [channels][k * k]
    PW             pw1;      // K = block input channels, M = filters; branch BN folded in
    PW             pw2;      // K = M = filters
  };
  struct Block
  {
    int64_t             inChannels = 0;
    bool                preActivation = false; // BN + LeakyReLU on the branch input (CONV RES); STEM: none
    AffineT<E>          pre;
    PW                  shortcut; // K = block input channels, M = block channels; shortcut BN folded in
    std::vector<Branch> branches;
  };
  int64_t            inputChannels = 0, channels = 0, filters = 0, classes = 0, maxPad = 0;
  float              slope = 0.1f;
  std::vector<Block> blocks;
  Pointwise          head;
};

// Geometry of the padded planes (in elements): row y, column x of a plane is at plane[(PH + y) S + PX + x]; rows are
// written over [0, Wr) with zeros in [W, Wr); everything else stays zero.
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
template <typename E>
struct Store
{
  E *       out = nullptr;
  bool      accumulate = false;
  bool      leaky = false;
  E *       out2 = nullptr;
  const E * scale2 = nullptr;
  const E * shift2 = nullptr;
};

// How the bf16 pointwise products run.
enum class TileMode
{
  DotProducts, // AVX512-BF16
  Amx,         // AMX-BF16 tiles
  Emulated     // the AMX driver on tiles emulated in software (tests)
};

// One pass of a block (or the head): tasks are (branch, row group) pairs.
template <typename E, typename PW>
struct PassArgs
{
  const Geometry * g = nullptr;
  int              kind = 0; // 1: depthwise -> pointwise -> LeakyReLU into U (+ shortcut); 2: depthwise ->
                             // pointwise added to the shortcut; 3: head
  float    slope = 0.1f;
  TileMode tiles = TileMode::DotProducts;
  struct BranchArgs
  {
    int64_t                       k = 0, d = 0;
    const E *                     dw = nullptr;   // [dwChannels][k k]
    const E *                     dwIn = nullptr; // planes fed to the depthwise convolution
    int64_t                       dwChannels = 0;
    const PW *                    pw = nullptr;
    Store<E>                      store;
    const PW *                    shortcut = nullptr; // pass 1, one branch: the block's 1x1 shortcut (else null)
    const E *                     shortcutIn = nullptr;
    E *                           shortcutOut = nullptr;
    const std::vector<RowGroup> * groups = nullptr;
  };
  std::vector<BranchArgs>                          branches;
  const std::vector<std::pair<int32_t, int32_t>> * tasks = nullptr; // (branch, row group)
  // kind 3:
  const E *         headIn = nullptr;
  const Pointwise * head = nullptr;
  int64_t           classes = 0;
  float *           probabilities = nullptr; // [classes, H, W]
};

#if defined(RESCRNET_DW_VECTOR)
using namespace simd;

// Register blocking of the pointwise products: MT output channels x NV vectors of pixels.
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
template <>
struct GemmBlocking<32>
{
  static constexpr int MT = 8, NV = 3;
};

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
template <>
struct FusedBlocking<32>
{
  static constexpr int R = 8, B = 2;
};
constexpr int kMaxGroupRows = 8;

// acc[m][v] += sum_k w[k ld + m] a[k aStride + v VW], k < K. Prefetch: also asks for the next tile's inputs (the
// NV vectors after these, in every input channel), which come from as many planes as there are channels: more
// concurrent streams than the hardware prefetchers follow.
template <typename E, int VW, int MT, int NV, bool Prefetch>
RESCRNET_DW_INLINE void
gemmAccumulate(typename VecOf<E, VW>::V (&acc)[MT][NV],
               const E * a,
               int64_t   aStride,
               int64_t   K,
               const E * w,
               int64_t   ld)
{
  using V = typename VecOf<E, VW>::V;
  using U = typename VecOf<E, VW>::U;
  for (int64_t k = 0; k < K; ++k)
  {
    const E * ak = a + k * aStride;
    if constexpr (Prefetch)
    {
#  pragma GCC unroll 8
      for (int64_t line = 0; line < NV * VW; line += 64 / static_cast<int64_t>(sizeof(E)))
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
    const E * wk = w + k * ld;
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
template <typename E, int VW>
RESCRNET_DW_INLINE void
leakyRelu(typename VecOf<E, VW>::V & v, E slope)
{
  using V = typename VecOf<E, VW>::V;
  const V s = v * slope;
  v = v > s ? v : s;
}

// Accumulators of output channels m0 + m (m < MT) at plane offset `offset`: the bias. When the store accumulates,
// what the output planes hold is added after the product (storeTile), not before: in half precision the small
// products would otherwise be rounded at the scale of the (larger) shortcut value, once per input channel.
template <typename E, int VW, int MT, int NV>
RESCRNET_DW_INLINE void
initTile(typename VecOf<E, VW>::V (&acc)[MT][NV],
         const Geometry & g,
         const E *        bias,
         const Store<E> & st,
         int64_t          m0,
         int64_t          mEnd,
         int64_t          offset)
{
  using V = typename VecOf<E, VW>::V;
#  pragma GCC unroll 16
  for (int m = 0; m < MT; ++m)
  {
    const V b = bias[m0 + m] - V{};
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
      const E * o = st.out + (m0 + m) * g.plane + offset;
      for (int64_t line = 0; line < NV * VW; line += 64 / static_cast<int64_t>(sizeof(E)))
      {
        __builtin_prefetch(o + NV * VW + line);
      }
    }
  }
}

// Writes accumulators of output channels m0 + m, m < mEnd, as the store says.
template <typename E, int VW, int MT, int NV>
RESCRNET_DW_INLINE void
storeTile(typename VecOf<E, VW>::V (&acc)[MT][NV],
          const Geometry & g,
          const Store<E> & st,
          int64_t          m0,
          int64_t          mEnd,
          int64_t          offset,
          E                slope)
{
  using V = typename VecOf<E, VW>::V;
  using U = typename VecOf<E, VW>::U;
  for (int m = 0; m < mEnd; ++m)
  {
    E * o = st.out + (m0 + m) * g.plane + offset;
    if (st.accumulate)
    {
#  pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
      {
        acc[m][v] += RESCRNET_DW_LOAD(o + v * VW);
      }
    }
    if (st.out2)
    {
      E *     o2 = st.out2 + (m0 + m) * g.plane + offset;
      const V s = st.scale2[m0 + m] - V{};
      const V t = st.shift2[m0 + m] - V{};
#  pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
      {
        V z = acc[m][v] * s + t;
        leakyRelu<E, VW>(z, slope);
        RESCRNET_DW_STORE(o2 + v * VW, z);
      }
    }
#  pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
    {
      if (st.leaky)
      {
        leakyRelu<E, VW>(acc[m][v], slope);
      }
      RESCRNET_DW_STORE(o + v * VW, acc[m][v]);
    }
  }
}

// Keeps the planes' zero padding past W in the rows a pointwise product wrote.
template <typename E>
RESCRNET_DW_INLINE void
clearRowPadding(const Geometry & g, const Store<E> & st, int64_t M, int64_t row)
{
  if (g.Wr > g.W)
  {
    for (int64_t m = 0; m < M; ++m)
    {
      std::fill_n(st.out + m * g.plane + row + g.W, g.Wr - g.W, E(0));
      if (st.out2)
      {
        std::fill_n(st.out2 + m * g.plane + row + g.W, g.Wr - g.W, E(0));
      }
    }
  }
}

// NV vectors of pixels at plane offset `offset`: out[m] = bias[m] (+ out[m]) + sum_k w[k][m] a[k], all m < pw.M.
// (Measured: a compile-time channel count per tile, which keeps the accumulators in registers between the phases,
// was slower here than this runtime one.)
template <typename E, int VW, int NV>
RESCRNET_DW_INLINE void
pointwiseTile(const Geometry &      g,
              const E *             a,
              int64_t               aStride,
              const PointwiseT<E> & pw,
              const Store<E> &      st,
              int64_t               offset,
              E                     slope)
{
  using V = typename VecOf<E, VW>::V;
  constexpr int MT = GemmBlocking<VW>::MT;
  for (int64_t m0 = 0; m0 < pw.M; m0 += MT)
  {
    const int64_t mEnd = std::min<int64_t>(MT, pw.M - m0);
    V             acc[MT][NV];
    initTile<E, VW, MT, NV>(acc, g, pw.bias.data(), st, m0, mEnd, offset);
    gemmAccumulate<E, VW, MT, NV, false>(acc, a, aStride, pw.K, pw.w.data() + m0, pw.ld);
    storeTile<E, VW, MT, NV>(acc, g, st, m0, mEnd, offset, slope);
  }
}

// The pointwise product for output row y; aRow: input channel 0 at x = 0 (channels aStride apart).
template <typename E, int VW>
RESCRNET_DW_INLINE void
pointwiseRow(const Geometry &      g,
             const E *             aRow,
             int64_t               aStride,
             const PointwiseT<E> & pw,
             const Store<E> &      st,
             int64_t               y,
             float                 slope)
{
  constexpr int NV = GemmBlocking<VW>::NV;
  const int64_t row = (g.PH + y) * g.S + g.PX;
  int64_t       x = 0;
  for (; x + NV * VW <= g.Wr; x += NV * VW)
  {
    pointwiseTile<E, VW, NV>(g, aRow + x, aStride, pw, st, row + x, E(slope));
  }
  for (; x < g.Wr; x += VW)
  {
    pointwiseTile<E, VW, 1>(g, aRow + x, aStride, pw, st, row + x, E(slope));
  }
  clearRowPadding(g, st, pw.M, row);
}

// Depthwise rows of a group (n rows d apart from y) for channels [0, channels) into scratch[c][j][Wr].
template <typename E, typename PW, int VW, int K>
RESCRNET_DW_INLINE void
depthwiseGroup(const Geometry & g, const typename PassArgs<E, PW>::BranchArgs & a, const RowGroup & rg, E * scratch)
{
  constexpr int R = K > 1 ? FusedBlocking<VW>::R : 1;
  constexpr int B = FusedBlocking<VW>::B;
  const int64_t k = a.k, d = a.d, pad = d * (k - 1) / 2, kk = k * k;
  const int64_t rowStep = d * g.S;
  for (int64_t c = 0; c < a.dwChannels; ++c)
  {
    const E * plane = a.dwIn + c * g.plane;
    const E * w = a.dw + c * kk;
    E *       out = scratch + c * rg.n * g.Wr;
    if (rg.n == R)
    {
      const E * in = plane + (g.PH + rg.y - pad) * g.S + g.PX - pad;
      int64_t   x = 0;
      for (; x + B * VW <= g.Wr; x += B * VW)
      {
        forwardTileOf<E, VW, R, B, K>(in + x, rowStep, w, k, d, out + x, g.Wr);
      }
      for (; x < g.Wr; x += VW)
      {
        forwardTileOf<E, VW, R, 1, K>(in + x, rowStep, w, k, d, out + x, g.Wr);
      }
      continue;
    }
    // The group's last rows one at a time (same summation order per output as the R-row tiles).
    for (int64_t j = 0; j < rg.n; ++j)
    {
      const E * in = plane + (g.PH + rg.y + j * d - pad) * g.S + g.PX - pad;
      E *       o = out + j * g.Wr;
      int64_t   x = 0;
      for (; x + B * VW <= g.Wr; x += B * VW)
      {
        forwardTileOf<E, VW, 1, B, K>(in + x, rowStep, w, k, d, o + x, g.Wr);
      }
      for (; x < g.Wr; x += VW)
      {
        forwardTileOf<E, VW, 1, 1, K>(in + x, rowStep, w, k, d, o + x, g.Wr);
      }
    }
  }
}

// VW floats from E (converted from half precision for E = _Float16); by reference: no vector-ABI concerns.
template <typename E, int VW>
RESCRNET_DW_INLINE void
loadAsFloat(typename Vec<VW>::V & out, const E * p)
{
  if constexpr (std::is_same_v<E, float>)
  {
    using U = typename Vec<VW>::U;
    out = RESCRNET_DW_LOAD(p);
  }
  else
  {
    using U = typename VecOf<E, VW>::U;
    out = __builtin_convertvector(RESCRNET_DW_LOAD(p), typename Vec<VW>::V);
  }
}

// Head for one row, in fp32 whatever E: 1x1 convolution + LeakyReLU, then the softmax over classes. VW: floats per
// vector.
template <typename E, int VW>
RESCRNET_DW_INLINE void
headRow(const Geometry &  g,
        const E *         headIn,
        const Pointwise & pw,
        int64_t           classes,
        float             slope,
        int64_t           y,
        float *           scratch,
        float *           probabilities)
{
  using V = typename Vec<VW>::V;
  using U = typename Vec<VW>::U;
  constexpr int MT = GemmBlocking<VW>::MT;
  const int64_t rowOffset = (g.PH + y) * g.S + g.PX;
  for (int64_t x = 0; x < g.Wr; x += VW)
  {
    for (int64_t m0 = 0; m0 < pw.M; m0 += MT)
    {
      V acc[MT];
      for (int m = 0; m < MT; ++m)
      {
        acc[m] = pw.bias[static_cast<size_t>(m0 + m)] - V{};
      }
      for (int64_t k = 0; k < pw.K; ++k)
      {
        V in;
        loadAsFloat<E, VW>(in, headIn + k * g.plane + rowOffset + x);
        const float * wk = pw.w.data() + k * pw.ld + m0;
        for (int m = 0; m < MT; ++m)
        {
          acc[m] += (wk[m] - V{}) * in;
        }
      }
      const int64_t mEnd = std::min<int64_t>(MT, pw.M - m0);
      for (int m = 0; m < mEnd; ++m)
      {
        leakyRelu<float, VW>(acc[m], slope);
        RESCRNET_DW_STORE(scratch + (m0 + m) * g.Wr + x, acc[m]);
      }
    }
  }
  for (int64_t x = 0; x < g.W; ++x)
  {
    float mx = scratch[x];
    for (int64_t c = 1; c < classes; ++c)
    {
      mx = std::max(mx, scratch[c * g.Wr + x]);
    }
    float sum = 0.0f;
    for (int64_t c = 0; c < classes; ++c)
    {
      const float e = std::exp(scratch[c * g.Wr + x] - mx);
      scratch[c * g.Wr + x] = e;
      sum += e;
    }
    for (int64_t c = 0; c < classes; ++c)
    {
      probabilities[(c * g.H + y) * g.W + x] = scratch[c * g.Wr + x] / sum;
    }
  }
}

#  if defined(RESCRNET_HAVE_BF16_KERNELS)
// Rows of `channels` float channels -> bfloat16 channel pairs: channel c, row j at src + c cStride + j jStride (Wr
// floats, a multiple of 16); pair p, row j at dst + (p n + j) Wr (32-bit words). Pairs from ceil(channels / 2) to
// pairs - 1 and the missing partner of an odd channel count are zeros.
RESCRNET_TARGET_BF16 void
packPairs(const float * src,
          int64_t       cStride,
          int64_t       jStride,
          int64_t       channels,
          int64_t       n,
          int64_t       Wr,
          int64_t       pairs,
          uint32_t *    dst);

// The bf16 pointwise product for output row y on channel pairs (aRow: pair 0 at x = 0, pairs aStride words apart):
// AVX512-BF16 dot products accumulating in fp32.
RESCRNET_TARGET_BF16 void
pointwiseRowPairs(const Geometry &       g,
                  const uint32_t *       aRow,
                  int64_t                aStride,
                  const PointwisePairs & pw,
                  const Store<float> &   st,
                  int64_t                y,
                  float                  slope);

// The same product on AMX tiles (tiles: Amx or Emulated); the pairs must run to pw.kTiles * 16.
void
pointwiseRowTiles(TileMode               tiles,
                  const Geometry &       g,
                  const uint32_t *       aRow,
                  int64_t                aStride,
                  const PointwisePairs & pw,
                  const Store<float> &   st,
                  int64_t                y,
                  float                  slope);
#  endif

#endif // RESCRNET_DW_VECTOR

} // namespace fused
} // namespace rescrnet

#endif
