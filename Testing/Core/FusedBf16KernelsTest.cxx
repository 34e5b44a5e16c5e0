// SPDX-License-Identifier: Apache-2.0
// White-box test of the bf16 pointwise products of the fused path (Modules/Core/src/FusedKernels.h): the AVX512-BF16
// dot products and the AMX driver (on tiles emulated in software: this checks the packing of the weights into A
// tiles, the B tiles' stride over channel pairs, the zero padding of K and M, and the epilogue) against a reference
// in double on the same bfloat16 values. Runs where AVX512-BF16 executes (see FusedPrecisionTest.cxx).
#include "FusedKernels.h"

#include "rescrnet/FusedInference.h"

#include "ResCRNetTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace rescrnet;
using namespace rescrnet::fused;

namespace
{
const std::string g_Assumed = rescrnet::testing::AssumeReducedPrecisionWhereItExecutes();

float
roundToBFloat16(float v)
{
  return fromBFloat16(toBFloat16(v));
}
} // namespace

#if defined(RESCRNET_HAVE_BF16_KERNELS)
TEST(FusedBf16Kernels, DotProductsAndEmulatedAmxTilesComputeTheProducts)
{
  if (!FusedInference::PrecisionSupported(Precision::BFloat16))
  {
    GTEST_SKIP() << "bf16 does not run here (" << DetectedCpuFeatures().describe() << ")";
  }
  std::mt19937                          rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const float                           slope = 0.1f;
  // (K, M): the lung model's products, odd K (a missing pair partner), K and M beyond one tile and not multiples.
  for (const auto & [K, M] :
       std::vector<std::pair<int64_t, int64_t>>{ { 48, 16 }, { 16, 16 }, { 48, 48 }, { 1, 16 }, { 7, 6 }, { 40, 20 } })
  {
    Pointwise f;
    f.resize(K, M);
    for (int64_t k = 0; k < K; ++k)
    {
      for (int64_t m = 0; m < M; ++m)
      {
        f.w[static_cast<size_t>(k * f.ld + m)] = uniform(rng);
      }
    }
    for (int64_t m = 0; m < M; ++m)
    {
      f.bias[static_cast<size_t>(m)] = uniform(rng);
    }
    const PointwisePairs pw = toPairs(f);
    // One row: W = 37 pixels in a padded width of 48, planes of one row each.
    const int64_t      W = 37, Wr = 48, PX = 16, S = PX + Wr + 16;
    const Geometry     g{ 1, W, Wr, S, 0, PX, S };
    std::vector<float> a(static_cast<size_t>(K * Wr));
    for (auto & v : a)
    {
      v = roundToBFloat16(4.0f * uniform(rng)); // exact in bfloat16: the packing does not round
    }
    std::vector<float> init(static_cast<size_t>(M * S)), scale(static_cast<size_t>(M)), shift(static_cast<size_t>(M));
    for (auto & v : init)
    {
      v = uniform(rng);
    }
    for (int64_t m = 0; m < M; ++m)
    {
      scale[static_cast<size_t>(m)] = 1.0f + 0.5f * uniform(rng);
      shift[static_cast<size_t>(m)] = 0.5f * uniform(rng);
    }
    auto run = [&](bool tiles, std::vector<float> & out, std::vector<float> & out2) {
      const int64_t         P = tiles ? pw.kTiles * 16 : pw.K2;
      std::vector<uint32_t> pairs(static_cast<size_t>(P * Wr), 0xdeadbeefu); // garbage where nothing is packed
      packPairs(a.data(), Wr, 0, K, 1, Wr, P, pairs.data());
      out = init;
      out2.assign(static_cast<size_t>(M * S), -7.0f);
      Store<float> st;
      st.out = out.data();
      st.accumulate = true;
      st.leaky = true;
      st.out2 = out2.data();
      st.scale2 = scale.data();
      st.shift2 = shift.data();
      if (tiles)
      {
        pointwiseRowTiles(TileMode::Emulated, g, pairs.data(), Wr, pw, st, 0, slope);
      }
      else
      {
        pointwiseRowPairs(g, pairs.data(), Wr, pw, st, 0, slope);
      }
    };
    std::vector<float> dot, dot2, tiles, tiles2;
    run(false, dot, dot2);
    run(true, tiles, tiles2);
    double worst = 0;
    for (int64_t m = 0; m < M; ++m)
    {
      for (int64_t x = 0; x < Wr; ++x)
      {
        const size_t i = static_cast<size_t>(m * S + PX + x);
        if (x >= W)
        {
          // The planes' zero padding past W stays zero.
          EXPECT_EQ(dot[i], 0.0f);
          EXPECT_EQ(tiles[i], 0.0f);
          EXPECT_EQ(dot2[i], 0.0f);
          EXPECT_EQ(tiles2[i], 0.0f);
          continue;
        }
        double v = f.bias[static_cast<size_t>(m)] + init[i];
        for (int64_t k = 0; k < K; ++k)
        {
          v += static_cast<double>(roundToBFloat16(f.w[static_cast<size_t>(k * f.ld + m)])) *
               a[static_cast<size_t>(k * Wr + x)];
        }
        const double z = v * scale[static_cast<size_t>(m)] + shift[static_cast<size_t>(m)];
        const double expected = v > 0 ? v : slope * v;
        const double expected2 = z > 0 ? z : slope * z;
        worst = std::max({ worst,
                           std::abs(dot[i] - expected),
                           std::abs(tiles[i] - expected),
                           std::abs(dot2[i] - expected2),
                           std::abs(tiles2[i] - expected2) });
      }
    }
    // fp32 sums of exact products: a few ulps of values up to about 20.
    EXPECT_LE(worst, 5e-5) << "K " << K << " M " << M;
  }
}
#endif
