// SPDX-License-Identifier: Apache-2.0
// Private to Modules/Core: SIMD vector types (GCC/Clang vector extensions) and the register-blocked depthwise
// dilated correlation tile shared by the depthwise convolution (DepthwiseConv.cxx) and the fused inference engine
// (FusedInference.cxx). Every function is inlined into callers compiled for one instruction set each.
#ifndef rescrnet_SimdKernels_h
#define rescrnet_SimdKernels_h

#include <cstdint>

// The kernels use GCC/Clang vector extensions; other compilers always take LibTorch's path.
#if defined(__GNUC__)
#  define RESCRNET_DW_VECTOR 1
#  define RESCRNET_DW_INLINE inline __attribute__((always_inline))
#  if defined(__x86_64__) || defined(__i386__)
#    define RESCRNET_DW_X86 1
#  endif
#endif

#if defined(RESCRNET_DW_VECTOR)

namespace rescrnet
{
namespace simd
{

// SIMD vectors of VW floats (aligned for registers) and the unaligned, aliasing variant used to load and store.
template <int VW>
struct Vec;
template <>
struct Vec<4>
{
  typedef float V __attribute__((vector_size(16)));
  typedef float U __attribute__((vector_size(16), aligned(4), may_alias));
};
template <>
struct Vec<8>
{
  typedef float V __attribute__((vector_size(32)));
  typedef float U __attribute__((vector_size(32), aligned(4), may_alias));
};
template <>
struct Vec<16>
{
  typedef float V __attribute__((vector_size(64)));
  typedef float U __attribute__((vector_size(64), aligned(4), may_alias));
};

// Vectors of VW elements of type E: float as above, and IEEE half precision (_Float16, where the compiler has it:
// GCC 12 and later on x86) in 512-bit vectors of 32 for the AVX512-FP16 kernels.
template <typename E, int VW>
struct VecOf;
template <int VW>
struct VecOf<float, VW> : Vec<VW>
{};
#  if defined(RESCRNET_DW_X86) && defined(__FLT16_MAX__) && !defined(__clang__)
#    define RESCRNET_HAVE_FLOAT16 1
template <>
struct VecOf<_Float16, 32>
{
  typedef _Float16 V __attribute__((vector_size(64)));
  typedef _Float16 U __attribute__((vector_size(64), aligned(2), may_alias));
};
template <>
struct VecOf<_Float16, 16>
{
  typedef _Float16 V __attribute__((vector_size(32)));
  typedef _Float16 U __attribute__((vector_size(32), aligned(2), may_alias));
};
#  endif

#  define RESCRNET_DW_LOAD(p) (*reinterpret_cast<const U *>(p))
// Keeps a loaded vector in a register: without it GCC may fold the load into every FMA that uses it (a memory operand
// each), which defeats loading each input vector once for several outputs. (Clang checks the constraint before
// inlining, against the default target, so it goes without.)
#  if defined(RESCRNET_DW_X86) && !defined(__clang__)
#    define RESCRNET_DW_IN_REGISTER(v) __asm__("" : "+v"(v))
#  else
#    define RESCRNET_DW_IN_REGISTER(v) (void)0
#  endif
#  define RESCRNET_DW_STORE(p, v) (*reinterpret_cast<U *>(p) = (v))

// Register blocking of the forward tile for each vector width: R output rows (d apart, so that they share k - 1 of
// their k input rows) times B vectors along x.
template <int VW>
struct ForwardBlocking;
template <>
struct ForwardBlocking<4>
{
  static constexpr int R = 2, B = 2;
};
template <>
struct ForwardBlocking<8>
{
  static constexpr int R = 2, B = 4;
};
template <>
struct ForwardBlocking<16>
{
  static constexpr int R = 4, B = 4;
};

// Output rows j = 0..R-1 (out + j outStride), columns [0, BB VW), of the correlation with a k x k kernel:
// out_j[x] = sum_ky sum_kx w[ky][kx] in_{j + ky}[x + kx d], where in_m = in + m rowStep are padded input rows (d rows
// apart). Each loaded input vector feeds every output row that uses it. Every output sums its taps in the same order
// whatever R (kx ascending, then ky ascending for K > 0; ky, then kx for K = 0), so results do not depend on the
// blocking. K > 0: k known at compile time, with the kx loop outermost: one loop whose body keeps all R x BB
// accumulators in registers (a row-outer order made GCC spill some of them at R = 8); K = 0: runtime k (R must be 1).
// forwardTileOf: the same for elements of type E (float or _Float16), accumulating in E.
template <typename E, int VW, int R, int BB, int K>
RESCRNET_DW_INLINE void
forwardTileOf(const E * in, int64_t rowStep, const E * w, int64_t kRuntime, int64_t d, E * out, int64_t outStride)
{
  using V = typename VecOf<E, VW>::V;
  using U = typename VecOf<E, VW>::U;
  static_assert(K > 0 || R == 1, "runtime kernel sizes take one row at a time");
  const int64_t k = K > 0 ? K : kRuntime;
  V             acc[R][BB] = {};

  if constexpr (K > 0)
  {
    for (int64_t kx = 0; kx < K; ++kx)
    {
#  pragma GCC unroll 32
      for (int m = 0; m < R + K - 1; ++m)
      {
        // Input row m serves output rows j with kernel rows m - j.
        V s[BB];
#  pragma GCC unroll 8
        for (int b = 0; b < BB; ++b)
        {
          s[b] = RESCRNET_DW_LOAD(in + m * rowStep + kx * d + b * VW);
        }
#  pragma GCC unroll 16
        for (int j = 0; j < R; ++j)
        {
          if (m - j >= 0 && m - j < K)
          {
            const V wv = w[(m - j) * K + kx] - V{}; // broadcast (x - 0 is exactly x, unlike 0 + x)
#  pragma GCC unroll 8
            for (int b = 0; b < BB; ++b)
            {
              acc[j][b] += wv * s[b];
            }
          }
        }
      }
    }
  }
  else
  {
    // Runtime k, one output row (R = 1): ky, then kx.
    for (int64_t ky = 0; ky < k; ++ky)
    {
      for (int64_t kx = 0; kx < k; ++kx)
      {
        const V wv = w[ky * k + kx] - V{};
#  pragma GCC unroll 8
        for (int b = 0; b < BB; ++b)
        {
          acc[0][b] += wv * RESCRNET_DW_LOAD(in + ky * rowStep + kx * d + b * VW);
        }
      }
    }
  }
#  pragma GCC unroll 16
  for (int j = 0; j < R; ++j)
  {
#  pragma GCC unroll 16
    for (int b = 0; b < BB; ++b)
    {
      RESCRNET_DW_STORE(out + j * outStride + b * VW, acc[j][b]);
    }
  }
}

template <int VW, int R, int BB, int K>
RESCRNET_DW_INLINE void
forwardTile(const float * in,
            int64_t       rowStep,
            const float * w,
            int64_t       kRuntime,
            int64_t       d,
            float *       out,
            int64_t       outStride)
{
  forwardTileOf<float, VW, R, BB, K>(in, rowStep, w, kRuntime, d, out, outStride);
}

} // namespace simd
} // namespace rescrnet

#endif // RESCRNET_DW_VECTOR

#endif
