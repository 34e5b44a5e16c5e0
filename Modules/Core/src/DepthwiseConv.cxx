// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/DepthwiseConv.h"

#include "SimdKernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>


namespace rescrnet
{

namespace
{
std::atomic<bool> g_FastDepthwise{ true };

torch::Tensor
libtorchDepthwise(const torch::Tensor & input, const torch::Tensor & weight, int64_t dilation)
{
  const int64_t pad = dilation * (weight.size(2) - 1) / 2;
  return torch::conv2d(input, weight, {}, 1, pad, dilation, input.size(1));
}

#if defined(RESCRNET_DW_VECTOR)
using namespace simd;

// Rows of the padded scratch planes and of the output are processed in blocks of kRowAlign floats: the kernels run
// over x in [0, Wr) with Wr = W rounded up to kRowAlign, reading zeros (or discarding results) past W.
constexpr int64_t kRowAlign = 16;

int64_t
roundUp(int64_t v, int64_t m)
{
  return (v + m - 1) / m * m;
}


// Geometry shared by the forward and weight-gradient tasks. A task is one row chunk of one (n, c) plane.
struct Geometry
{
  int64_t C, H, W, k, d, pad;
  int64_t Wr;        // W rounded up to kRowAlign
  int64_t S;         // row stride of the padded scratch plane: pad zeros, W values, zeros up to Wr + 2 pad
  int64_t chunkRows; // rows per task
  int64_t chunks;    // tasks per plane
};

Geometry
makeGeometry(const torch::Tensor & input, int64_t k, int64_t d)
{
  Geometry g{};
  g.C = input.size(1);
  g.H = input.size(2);
  g.W = input.size(3);
  g.k = k;
  g.d = d;
  g.pad = d * (k - 1) / 2;
  g.Wr = roundUp(g.W, kRowAlign);
  g.S = g.Wr + 2 * g.pad;
  // Split planes into row chunks when there are few planes (for parallelism) or tall ones (to keep the padded copy
  // in L2). The partition depends on the shapes alone (never on the thread count), which keeps the weight-gradient
  // reduction order fixed.
  const int64_t planes = input.size(0) * g.C;
  const int64_t wanted = 32;
  const int64_t maxChunkRows = 128;
  int64_t       perPlane = (g.H + maxChunkRows - 1) / maxChunkRows;
  if (planes < wanted)
  {
    perPlane = std::max(perPlane, std::min((wanted + planes - 1) / planes, g.H / 8));
  }
  g.chunkRows = (g.H + perPlane - 1) / perPlane;
  g.chunks = (g.H + g.chunkRows - 1) / g.chunkRows;
  return g;
}

// Copies input rows [y0 - pad, y1 + pad) of an H x W plane into `dst` (one row every S floats), zero outside the
// image: row iy of the plane lands at dst + (iy - y0 + pad) S + pad.
void
fillPadded(const float * plane, int64_t y0, int64_t y1, const Geometry & g, float * dst)
{
  for (int64_t iy = y0 - g.pad; iy < y1 + g.pad; ++iy)
  {
    float * row = dst + (iy - y0 + g.pad) * g.S;
    if (iy < 0 || iy >= g.H)
    {
      std::fill(row, row + g.S, 0.0f);
      continue;
    }
    std::fill(row, row + g.pad, 0.0f);
    std::memcpy(row + g.pad, plane + iy * g.W, static_cast<size_t>(g.W) * sizeof(float));
    std::fill(row + g.pad + g.W, row + g.S, 0.0f);
  }
}

// R output rows over the whole padded width [0, Wr): tiles of B vectors, then single vectors.
template <int VW, int R, int K>
RESCRNET_DW_INLINE void
forwardRows(const float * in, int64_t rowStep, const float * w, int64_t k, int64_t d, float * out, int64_t Wr)
{
  constexpr int B = ForwardBlocking<VW>::B;
  int64_t       x = 0;
  for (; x + B * VW <= Wr; x += B * VW)
  {
    forwardTile<VW, R, B, K>(in + x, rowStep, w, k, d, out + x, Wr);
  }
  for (; x < Wr; x += VW)
  {
    forwardTile<VW, R, 1, K>(in + x, rowStep, w, k, d, out + x, Wr);
  }
}

// Output rows [y0, y1) of one plane (row y at out + y W) from its padded rows (fillPadded(..., y0, y1, ...)).
template <int VW, int K>
RESCRNET_DW_INLINE void
forwardChunk(const float *    padded,
             const float *    w,
             float *          out,
             int64_t          y0,
             int64_t          y1,
             const Geometry & g,
             float *          tmp)
{
  constexpr int R = K > 1 ? ForwardBlocking<VW>::R : 1;
  const int64_t rowStep = g.d * g.S;
  // Output row y reads padded rows (y - y0) + ky d. Rows y, y + d, ..., y + (R - 1) d go together.
  for (int64_t base = y0; base < y1; base += R * g.d)
  {
    for (int64_t y = base; y < std::min(base + g.d, y1); ++y)
    {
      if (y + (R - 1) * g.d < y1)
      {
        forwardRows<VW, R, K>(padded + (y - y0) * g.S, rowStep, w, g.k, g.d, tmp, g.Wr);
        for (int j = 0; j < R; ++j)
        {
          std::memcpy(out + (y + j * g.d) * g.W, tmp + j * g.Wr, static_cast<size_t>(g.W) * sizeof(float));
        }
      }
      else
      {
        for (int64_t yy = y; yy < y1; yy += g.d)
        {
          forwardRows<VW, 1, K>(padded + (yy - y0) * g.S, rowStep, w, g.k, g.d, tmp, g.Wr);
          std::memcpy(out + yy * g.W, tmp, static_cast<size_t>(g.W) * sizeof(float));
        }
      }
    }
  }
}

// Go rows handled together by the weight-gradient kernel (d apart, sharing input rows) and vectors per x step.
template <int VW>
struct WeightGradBlocking;
template <>
struct WeightGradBlocking<4>
{
  static constexpr int R = 1, BX = 2;
};
template <>
struct WeightGradBlocking<8>
{
  static constexpr int R = 1, BX = 2;
};
template <>
struct WeightGradBlocking<16>
{
  static constexpr int R = 3, BX = 1;
};

// For NJ gradient rows gr[j] that all pair with the padded input row r (through kernel rows ky_j):
// acc[j][kx] += sum_x gr[j][x] r[x + kx d] (per lane), x in [0, Wr). acc[j] points at k vectors of VW floats.
// Wr is a multiple of BX VW. K = 0: runtime k (slow generic loop).
template <int VW, int NJ, int BX, int K>
RESCRNET_DW_INLINE void
weightGradTile(const float * const * gr, const float * r, int64_t kRuntime, int64_t d, int64_t Wr, float * const * acc)
{
  using V = typename Vec<VW>::V;
  using U = typename Vec<VW>::U;
  if constexpr (K > 0)
  {
    V a[NJ][BX][K] = {};
    for (int64_t x = 0; x < Wr; x += BX * VW)
    {
      V g[NJ][BX];
#  pragma GCC unroll 16
      for (int j = 0; j < NJ; ++j)
      {
#  pragma GCC unroll 16
        for (int b = 0; b < BX; ++b)
        {
          g[j][b] = RESCRNET_DW_LOAD(gr[j] + x + b * VW);
        }
      }
#  pragma GCC unroll 16
      for (int kx = 0; kx < K; ++kx)
      {
#  pragma GCC unroll 16
        for (int b = 0; b < BX; ++b)
        {
          V s = RESCRNET_DW_LOAD(r + x + b * VW + kx * d);
          if constexpr (NJ > 1)
          {
            RESCRNET_DW_IN_REGISTER(s);
          }
#  pragma GCC unroll 16
          for (int j = 0; j < NJ; ++j)
          {
            a[j][b][kx] += g[j][b] * s;
          }
        }
      }
    }
#  pragma GCC unroll 16
    for (int j = 0; j < NJ; ++j)
    {
#  pragma GCC unroll 16
      for (int kx = 0; kx < K; ++kx)
      {
        V sum = a[j][0][kx];
#  pragma GCC unroll 16
        for (int b = 1; b < BX; ++b)
        {
          sum += a[j][b][kx];
        }
        const V total = RESCRNET_DW_LOAD(acc[j] + kx * VW) + sum;
        RESCRNET_DW_STORE(acc[j] + kx * VW, total);
      }
    }
  }
  else
  {
    for (int j = 0; j < NJ; ++j)
    {
      for (int64_t kx = 0; kx < kRuntime; ++kx)
      {
        V s = {};
        for (int64_t x = 0; x < Wr; x += VW)
        {
          s += RESCRNET_DW_LOAD(gr[j] + x) * RESCRNET_DW_LOAD(r + x + kx * d);
        }
        const V total = RESCRNET_DW_LOAD(acc[j] + kx * VW) + s;
        RESCRNET_DW_STORE(acc[j] + kx * VW, total);
      }
    }
  }
}

// Adds to acc (k x k vectors of VW lanes) the products of gradient rows [y0, y1) (row y at grad + (y - y0)
// gradStride, zeros past W up to Wr) with the padded input rows of the chunk.
template <int VW, int K>
RESCRNET_DW_INLINE void
weightGradChunk(const float *    padded,
                const float *    grad,
                int64_t          gradStride,
                int64_t          y0,
                int64_t          y1,
                const Geometry & g,
                float *          acc)
{
  constexpr int R = K > 0 ? WeightGradBlocking<VW>::R : 1;
  constexpr int BX = WeightGradBlocking<VW>::BX;
  static_assert(kRowAlign % (BX * VW) == 0, "the padded width must hold whole x steps");
  static_assert(R <= 3, "tiles take up to three gradient rows");
  // Gradient rows y + j d (j < nj <= R) pair with padded input rows (y - y0) + m d, m = j + ky.
  for (int64_t base = y0; base < y1; base += R * g.d)
  {
    for (int64_t y = base; y < std::min(base + g.d, y1); ++y)
    {
      const int64_t nj = std::min<int64_t>(R, (y1 - 1 - y) / g.d + 1);
      for (int64_t m = 0; m < nj + g.k - 1; ++m)
      {
        const float * r = padded + (y - y0 + m * g.d) * g.S;
        const int64_t jlo = std::max<int64_t>(0, m - g.k + 1);
        const int64_t jhi = std::min<int64_t>(nj - 1, m);
        const float * gr[R] = {};
        float *       ac[R] = {};
        for (int64_t j = jlo; j <= jhi; ++j)
        {
          gr[j - jlo] = grad + (y - y0 + j * g.d) * gradStride;
          ac[j - jlo] = acc + (m - j) * g.k * VW;
        }
        if constexpr (R > 2)
        {
          if (jhi - jlo == 2)
          {
            weightGradTile<VW, 3, BX, K>(gr, r, g.k, g.d, g.Wr, ac);
            continue;
          }
        }
        if constexpr (R > 1)
        {
          if (jhi - jlo == 1)
          {
            weightGradTile<VW, 2, BX, K>(gr, r, g.k, g.d, g.Wr, ac);
            continue;
          }
        }
        weightGradTile<VW, 1, BX, K>(gr, r, g.k, g.d, g.Wr, ac);
      }
    }
  }
}

// One pass over row chunks of (n, c) planes. Forward: out = correlation of `in` with `weight`. Backward: `in` is
// grad_output; out (when set) = grad_input, the correlation with the flipped kernel, and partial (when set) receives
// each task's grad_weight sums of grad_output x `input`. Both share one padded copy of grad_output.
struct TaskArgs
{
  const float * in;      // [N, C, H, W], padded and correlated
  const float * weight;  // [C, k, k] (flipped for grad_input); unused when out is null
  float *       out;     // [N, C, H, W] or null
  const float * input;   // [N, C, H, W] forward input, for grad_weight; unused when partial is null
  double *      partial; // [N * C * chunks, k * k] or null: one grad_weight sum per task
  Geometry      g;
};

template <int VW, int K>
RESCRNET_DW_INLINE void
runTasksK(const TaskArgs & a, int64_t begin, int64_t end)
{
  constexpr int      R = K > 1 ? ForwardBlocking<VW>::R : 1;
  const Geometry &   g = a.g;
  const int64_t      kk = g.k * g.k;
  const int64_t      planeSize = (g.chunkRows + 2 * g.pad) * g.S;
  std::vector<float> scratch(static_cast<size_t>(R * g.Wr + kk * VW + (a.partial ? 2 : 1) * planeSize));
  float *            tmp = scratch.data();
  float *            acc = tmp + R * g.Wr;
  float *            padded = acc + kk * VW;
  float *            paddedInput = padded + planeSize;
  for (int64_t task = begin; task < end; ++task)
  {
    const int64_t plane = task / g.chunks;
    const int64_t y0 = (task % g.chunks) * g.chunkRows;
    const int64_t y1 = std::min(g.H, y0 + g.chunkRows);
    fillPadded(a.in + plane * g.H * g.W, y0, y1, g, padded);
    if (a.out)
    {
      forwardChunk<VW, K>(padded, a.weight + (plane % g.C) * kk, a.out + plane * g.H * g.W, y0, y1, g, tmp);
    }
    if (a.partial)
    {
      fillPadded(a.input + plane * g.H * g.W, y0, y1, g, paddedInput);
      std::fill(acc, acc + kk * VW, 0.0f);
      // Gradient row y is padded row (y - y0 + pad), from column pad: W values, then zeros up to Wr.
      weightGradChunk<VW, K>(paddedInput, padded + g.pad * g.S + g.pad, g.S, y0, y1, g, acc);
      double * sums = a.partial + task * kk;
      for (int64_t t = 0; t < kk; ++t)
      {
        double s = 0.0;
        for (int lane = 0; lane < VW; ++lane)
        {
          s += static_cast<double>(acc[t * VW + lane]);
        }
        sums[t] = s;
      }
    }
  }
}

template <int VW>
RESCRNET_DW_INLINE void
runTasks(const TaskArgs & a, int64_t begin, int64_t end)
{
  switch (a.g.k)
  {
    case 1:
      runTasksK<VW, 1>(a, begin, end);
      break;
    case 3:
      runTasksK<VW, 3>(a, begin, end);
      break;
    case 5:
      runTasksK<VW, 5>(a, begin, end);
      break;
    case 7:
      runTasksK<VW, 7>(a, begin, end);
      break;
    default:
      runTasksK<VW, 0>(a, begin, end);
      break;
  }
}


// One entry point per instruction set: the templates above are inlined into functions compiled for that target.
void
runGeneric(const TaskArgs & a, int64_t b, int64_t e)
{
  runTasks<4>(a, b, e);
}
#  if defined(RESCRNET_DW_X86)
__attribute__((target("avx2,fma"))) void
runAvx2(const TaskArgs & a, int64_t b, int64_t e)
{
  runTasks<8>(a, b, e);
}
__attribute__((target("avx512f,avx2,fma"))) void
runAvx512(const TaskArgs & a, int64_t b, int64_t e)
{
  runTasks<16>(a, b, e);
}
#  endif

struct Kernels
{
  const char * name;
  void (*run)(const TaskArgs &, int64_t, int64_t);
};

const Kernels kGeneric{ "generic", &runGeneric };
#  if defined(RESCRNET_DW_X86)
const Kernels kAvx2{ "avx2", &runAvx2 };
const Kernels kAvx512{ "avx512", &runAvx512 };
#  endif

bool
supported(const Kernels & k)
{
#  if defined(RESCRNET_DW_X86)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (&k == &kAvx2)
  {
    return avx2;
  }
  if (&k == &kAvx512)
  {
    return avx2 && __builtin_cpu_supports("avx512f");
  }
#  endif
  return &k == &kGeneric;
}

const Kernels *
bestKernels()
{
#  if defined(RESCRNET_DW_X86)
  if (supported(kAvx512))
  {
    return &kAvx512;
  }
  if (supported(kAvx2))
  {
    return &kAvx2;
  }
#  endif
  return &kGeneric;
}

std::atomic<const Kernels *> g_Kernels{ nullptr };

const Kernels &
kernels()
{
  const Kernels * k = g_Kernels.load();
  if (k == nullptr)
  {
    k = bestKernels();
    g_Kernels.store(k);
  }
  return *k;
}

void
runAll(const TaskArgs & a, int64_t N)
{
  const auto fn = kernels().run;
  at::parallel_for(0, N * a.g.C * a.g.chunks, 1, [&](int64_t b, int64_t e) { fn(a, b, e); });
}

// Depthwise correlation of contiguous float tensors: input [N, C, H, W], weight [C, 1, k, k] (contiguous).
torch::Tensor
forwardKernel(const torch::Tensor & input, const torch::Tensor & weight, int64_t dilation)
{
  auto     output = torch::empty_like(input, torch::MemoryFormat::Contiguous);
  TaskArgs a{ input.data_ptr<float>(),
              weight.data_ptr<float>(),
              output.data_ptr<float>(),
              nullptr,
              nullptr,
              makeGeometry(input, weight.size(2), dilation) };
  runAll(a, input.size(0));
  return output;
}

// grad_input (when wanted) and grad_weight (when wanted) in one pass over grad_output; contiguous float tensors.
std::pair<torch::Tensor, torch::Tensor>
backwardKernel(const torch::Tensor & input,
               const torch::Tensor & weight,
               const torch::Tensor & gradOut,
               int64_t               dilation,
               bool                  wantInput,
               bool                  wantWeight)
{
  const int64_t k = weight.size(2);
  const int64_t kk = k * k;
  const int64_t N = input.size(0);
  TaskArgs      a{ gradOut.data_ptr<float>(), nullptr, nullptr, nullptr, nullptr, makeGeometry(input, k, dilation) };
  torch::Tensor gradInput, gradWeight, flipped;
  if (wantInput)
  {
    // Correlation of grad_output with the spatially flipped kernel at the same dilation.
    flipped = weight.flip({ 2, 3 }).contiguous();
    gradInput = torch::empty_like(gradOut, torch::MemoryFormat::Contiguous);
    a.weight = flipped.data_ptr<float>();
    a.out = gradInput.data_ptr<float>();
  }
  std::vector<double> partial;
  if (wantWeight)
  {
    partial.resize(static_cast<size_t>(N * a.g.C * a.g.chunks * kk));
    a.input = input.data_ptr<float>();
    a.partial = partial.data();
  }
  if (!wantInput && !wantWeight)
  {
    return {};
  }
  runAll(a, N);
  if (wantWeight)
  {
    // Fixed-order reduction over batch and row chunks.
    const Geometry & g = a.g;
    gradWeight = torch::empty({ g.C, 1, k, k }, weight.options());
    float * gw = gradWeight.data_ptr<float>();
    for (int64_t c = 0; c < g.C; ++c)
    {
      for (int64_t t = 0; t < kk; ++t)
      {
        double s = 0.0;
        for (int64_t n = 0; n < N; ++n)
        {
          const double * p = partial.data() + ((n * g.C + c) * g.chunks) * kk + t;
          for (int64_t j = 0; j < g.chunks; ++j)
          {
            s += p[j * kk];
          }
        }
        gw[c * kk + t] = static_cast<float>(s);
      }
    }
  }
  return { gradInput, gradWeight };
}

class DepthwiseConvFunction : public torch::autograd::Function<DepthwiseConvFunction>
{
public:
  static torch::Tensor
  forward(torch::autograd::AutogradContext * ctx,
          const torch::Tensor &              input,
          const torch::Tensor &              weight,
          int64_t                            dilation)
  {
    ctx->save_for_backward({ input, weight });
    ctx->saved_data["dilation"] = dilation;
    return forwardKernel(input.contiguous(), weight.contiguous(), dilation);
  }

  static torch::autograd::tensor_list
  backward(torch::autograd::AutogradContext * ctx, torch::autograd::tensor_list gradOutputs)
  {
    const auto    saved = ctx->get_saved_variables();
    const auto &  input = saved[0];
    const auto &  weight = saved[1];
    const int64_t dilation = ctx->saved_data["dilation"].toInt();
    const auto    grads = backwardKernel(input.contiguous(),
                                      weight.contiguous(),
                                      gradOutputs[0].contiguous(),
                                      dilation,
                                      ctx->needs_input_grad(0),
                                      ctx->needs_input_grad(1));
    return { grads.first, grads.second, torch::Tensor() };
  }
};

#endif // RESCRNET_DW_VECTOR

bool
fastPathApplies(const torch::Tensor & input, const torch::Tensor & weight, int64_t dilation)
{
#if defined(RESCRNET_DW_VECTOR)
  return g_FastDepthwise.load(std::memory_order_relaxed) && input.dim() == 4 && weight.dim() == 4 &&
         input.device().is_cpu() && weight.device().is_cpu() && input.layout() == torch::kStrided &&
         weight.layout() == torch::kStrided && input.scalar_type() == torch::kFloat &&
         weight.scalar_type() == torch::kFloat && weight.size(0) == input.size(1) && weight.size(1) == 1 &&
         weight.size(2) == weight.size(3) && weight.size(2) % 2 == 1 && dilation >= 1 && input.numel() > 0 &&
         !input.is_quantized();
#else
  (void)input;
  (void)weight;
  (void)dilation;
  return false;
#endif
}
} // namespace

torch::Tensor
DepthwiseConv2d(const torch::Tensor & input, const torch::Tensor & weight, int64_t dilation)
{
#if defined(RESCRNET_DW_VECTOR)
  if (fastPathApplies(input, weight, dilation))
  {
    return DepthwiseConvFunction::apply(input, weight, dilation);
  }
#endif
  return libtorchDepthwise(input, weight, dilation);
}

void
SetFastDepthwiseConvolution(bool on)
{
  g_FastDepthwise.store(on);
}

bool
FastDepthwiseConvolution()
{
  return g_FastDepthwise.load();
}

const char *
DepthwiseConvolutionIsa()
{
#if defined(RESCRNET_DW_VECTOR)
  return kernels().name;
#else
  return "none";
#endif
}

bool
SetDepthwiseConvolutionIsa(const std::string & name)
{
#if defined(RESCRNET_DW_VECTOR)
  const Kernels * candidates[] = {
    &kGeneric,
#  if defined(RESCRNET_DW_X86)
    &kAvx2,
    &kAvx512,
#  endif
  };
  if (name.empty() || name == "best")
  {
    g_Kernels.store(bestKernels());
    return true;
  }
  for (const Kernels * k : candidates)
  {
    if (name == k->name && supported(*k))
    {
      g_Kernels.store(k);
      return true;
    }
  }
#else
  (void)name;
#endif
  return false;
}

} // namespace rescrnet
