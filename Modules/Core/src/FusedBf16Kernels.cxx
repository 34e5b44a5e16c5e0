// SPDX-License-Identifier: Apache-2.0
// The bf16 pointwise products of the fused inference path: AVX512-BF16 dot products, and AMX-BF16 tiles (with a
// software emulation of the tiles that the tests run on CPUs without AMX). See FusedKernels.h.
#include "FusedKernels.h"

#if defined(RESCRNET_DW_VECTOR) && defined(RESCRNET_HAVE_BF16_KERNELS)

namespace rescrnet
{
namespace fused
{

namespace
{
// Word j of the packed vector takes word (j odd ? 16 : 0) + j / 2 of the two converted halves: the channel pairs.
alignas(64) constexpr uint16_t kInterleave[32] = { 0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                   8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };

using V16 = Vec<16>::V;

// acc[m][v] += sum_p w[p ld + m] . a[p aStride + 16 v] (bf16 pair dot products, fp32 accumulation).
template <int MT, int NV>
RESCRNET_TARGET_BF16 RESCRNET_DW_INLINE void
gemmPairs(V16 (&acc)[MT][NV], const uint32_t * a, int64_t aStride, int64_t K2, const uint32_t * w, int64_t ld)
{
  for (int64_t p = 0; p < K2; ++p)
  {
    const uint32_t * ap = a + p * aStride;
    __m512i          in[NV];
#  pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
    {
      in[v] = _mm512_loadu_si512(ap + 16 * v);
    }
    const uint32_t * wp = w + p * ld;
#  pragma GCC unroll 16
    for (int m = 0; m < MT; ++m)
    {
      const __m512i wv = _mm512_set1_epi32(static_cast<int>(wp[m]));
#  pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
      {
        acc[m][v] = _mm512_dpbf16_ps(acc[m][v], (__m512bh)in[v], (__m512bh)wv);
      }
    }
  }
}

template <int NV>
RESCRNET_TARGET_BF16 RESCRNET_DW_INLINE void
pairsTile(const Geometry &       g,
          const uint32_t *       a,
          int64_t                aStride,
          const PointwisePairs & pw,
          const Store<float> &   st,
          int64_t                offset,
          float                  slope)
{
  constexpr int MT = GemmBlocking<16>::MT;
  for (int64_t m0 = 0; m0 < pw.M; m0 += MT)
  {
    const int64_t mEnd = std::min<int64_t>(MT, pw.M - m0);
    V16           acc[MT][NV];
    initTile<float, 16, MT, NV>(acc, g, pw.bias.data(), st, m0, mEnd, offset);
    gemmPairs<MT, NV>(acc, a, aStride, pw.K2, pw.w.data() + m0, pw.ld);
    storeTile<float, 16, MT, NV>(acc, g, st, m0, mEnd, offset, slope);
  }
}

// AMX tiles: tmm0 = C (16 output channels x 16 pixels, fp32), tmm1 = A (16 output channels x 32 input channels),
// tmm2 = B (16 input channel pairs x 16 pixels).
struct alignas(64) TileConfig
{
  uint8_t  palette = 1;
  uint8_t  startRow = 0;
  uint8_t  reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t  rows[16] = {};
};

struct AmxTiles
{
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  begin()
  {
    TileConfig config;
    for (int t = 0; t < 3; ++t)
    {
      config.colsb[t] = 64;
      config.rows[t] = 16;
    }
    _tile_loadconfig(&config);
  }
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  end()
  {
    _tile_release();
  }
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  zero()
  {
    _tile_zero(0);
  }
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  loadA(const uint16_t * p)
  {
    _tile_loadd(1, p, 64);
  }
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  loadB(const uint32_t * p, int64_t strideBytes)
  {
    _tile_loadd(2, p, strideBytes);
  }
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  dot()
  {
    _tile_dpbf16ps(0, 1, 2);
  }
  RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
  store(float * p)
  {
    _tile_stored(0, p, 64);
  }
};

// The same operations on memory, with TDPBF16PS's arithmetic (products of bfloat16, sums in fp32).
struct EmulatedTiles
{
  float    c[16][16];
  uint16_t a[16][32];
  uint32_t b[16][16];

  void
  begin()
  {}
  void
  end()
  {}
  void
  zero()
  {
    std::memset(c, 0, sizeof(c));
  }
  void
  loadA(const uint16_t * p)
  {
    std::memcpy(a, p, sizeof(a));
  }
  void
  loadB(const uint32_t * p, int64_t strideBytes)
  {
    for (int r = 0; r < 16; ++r)
    {
      std::memcpy(b[r], reinterpret_cast<const char *>(p) + r * strideBytes, sizeof(b[r]));
    }
  }
  void
  dot()
  {
    for (int m = 0; m < 16; ++m)
    {
      for (int n = 0; n < 16; ++n)
      {
        float s = c[m][n];
        for (int p = 0; p < 16; ++p)
        {
          s += fromBFloat16(a[m][2 * p]) * fromBFloat16(static_cast<uint16_t>(b[p][n] & 0xffffu)) +
               fromBFloat16(a[m][2 * p + 1]) * fromBFloat16(static_cast<uint16_t>(b[p][n] >> 16));
        }
        c[m][n] = s;
      }
    }
  }
  void
  store(float * p)
  {
    std::memcpy(p, c, sizeof(c));
  }
};

// One output row on tiles: per 16 pixels and 16 output channels, the K / 32 tile products, then the store's
// epilogue (bias, shortcut, LeakyReLU, pre-activated copy) on the 16 x 16 result.
template <typename Tiles>
RESCRNET_TARGET_AMX RESCRNET_DW_INLINE void
tilesRow(Tiles &                t,
         const Geometry &       g,
         const uint32_t *       aRow,
         int64_t                aStride,
         const PointwisePairs & pw,
         const Store<float> &   st,
         int64_t                y,
         float                  slope)
{
  using U = Vec<16>::U;
  alignas(64) float c[16 * 16];
  const int64_t     row = (g.PH + y) * g.S + g.PX;
  t.begin();
  for (int64_t x = 0; x < g.Wr; x += 16)
  {
    for (int64_t mt = 0; mt < pw.mTiles; ++mt)
    {
      t.zero();
      for (int64_t kt = 0; kt < pw.kTiles; ++kt)
      {
        t.loadA(pw.tiles.data() + (mt * pw.kTiles + kt) * 16 * 32);
        t.loadB(aRow + kt * 16 * aStride + x, aStride * static_cast<int64_t>(sizeof(uint32_t)));
        t.dot();
      }
      t.store(c);
      const int64_t m0 = mt * 16, mEnd = std::min<int64_t>(16, pw.M - m0);
      for (int64_t m = 0; m < mEnd; ++m)
      {
        V16 acc[1][1];
        initTile<float, 16, 1, 1>(acc, g, pw.bias.data(), st, m0 + m, 1, row + x);
        acc[0][0] += RESCRNET_DW_LOAD(c + m * 16);
        storeTile<float, 16, 1, 1>(acc, g, st, m0 + m, 1, row + x, slope);
      }
    }
  }
  t.end();
  clearRowPadding(g, st, pw.M, row);
}

RESCRNET_TARGET_AMX __attribute__((noinline)) void
rowOnAmx(const Geometry &       g,
         const uint32_t *       aRow,
         int64_t                aStride,
         const PointwisePairs & pw,
         const Store<float> &   st,
         int64_t                y,
         float                  slope)
{
  AmxTiles t;
  tilesRow(t, g, aRow, aStride, pw, st, y, slope);
}

// (The AMX target only lets the shared driver inline here; the emulation itself uses no AMX instruction.)
RESCRNET_TARGET_AMX __attribute__((noinline)) void
rowOnEmulatedTiles(const Geometry &       g,
                   const uint32_t *       aRow,
                   int64_t                aStride,
                   const PointwisePairs & pw,
                   const Store<float> &   st,
                   int64_t                y,
                   float                  slope)
{
  EmulatedTiles t;
  tilesRow(t, g, aRow, aStride, pw, st, y, slope);
}
} // namespace

RESCRNET_TARGET_BF16 void
packPairs(const float * src,
          int64_t       cStride,
          int64_t       jStride,
          int64_t       channels,
          int64_t       n,
          int64_t       Wr,
          int64_t       pairs,
          uint32_t *    dst)
{
  const __m512i interleave = _mm512_load_si512(kInterleave);
  for (int64_t p = 0; p < pairs; ++p)
  {
    const int64_t c0 = 2 * p, c1 = 2 * p + 1;
    for (int64_t j = 0; j < n; ++j)
    {
      uint32_t * o = dst + (p * n + j) * Wr;
      if (c0 >= channels)
      {
        std::memset(o, 0, static_cast<size_t>(Wr) * sizeof(uint32_t));
        continue;
      }
      const float * a = src + c0 * cStride + j * jStride;
      const float * b = c1 < channels ? src + c1 * cStride + j * jStride : nullptr;
      for (int64_t x = 0; x < Wr; x += 16)
      {
        const __m512   va = _mm512_loadu_ps(a + x);
        const __m512   vb = b != nullptr ? _mm512_loadu_ps(b + x) : _mm512_setzero_ps();
        const __m512bh h = _mm512_cvtne2ps_pbh(vb, va); // words 0-15: a, 16-31: b
        _mm512_storeu_si512(o + x, _mm512_permutexvar_epi16(interleave, (__m512i)h));
      }
    }
  }
}

RESCRNET_TARGET_BF16 void
pointwiseRowPairs(const Geometry &       g,
                  const uint32_t *       aRow,
                  int64_t                aStride,
                  const PointwisePairs & pw,
                  const Store<float> &   st,
                  int64_t                y,
                  float                  slope)
{
  constexpr int NV = GemmBlocking<16>::NV;
  const int64_t row = (g.PH + y) * g.S + g.PX;
  int64_t       x = 0;
  for (; x + NV * 16 <= g.Wr; x += NV * 16)
  {
    pairsTile<NV>(g, aRow + x, aStride, pw, st, row + x, slope);
  }
  for (; x < g.Wr; x += 16)
  {
    pairsTile<1>(g, aRow + x, aStride, pw, st, row + x, slope);
  }
  clearRowPadding(g, st, pw.M, row);
}

void
pointwiseRowTiles(TileMode               tiles,
                  const Geometry &       g,
                  const uint32_t *       aRow,
                  int64_t                aStride,
                  const PointwisePairs & pw,
                  const Store<float> &   st,
                  int64_t                y,
                  float                  slope)
{
  if (tiles == TileMode::Amx)
  {
    rowOnAmx(g, aRow, aStride, pw, st, y, slope);
  }
  else
  {
    rowOnEmulatedTiles(g, aRow, aStride, pw, st, y, slope);
  }
}

} // namespace fused
} // namespace rescrnet

#endif
