// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/FusedInference.h"

#include "rescrnet/DepthwiseConv.h"

#include "FusedKernels.h"

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

using namespace fused;

namespace
{
// Eval-mode batch norm as s x + t (double): s = gamma / sqrt(var + eps), t = beta - s mean.
std::pair<torch::Tensor, torch::Tensor>
batchNormScaleShift(const torch::nn::BatchNorm2dImpl & bn)
{
  const auto s =
    bn.weight.detach().to(torch::kDouble) / torch::sqrt(bn.running_var.detach().to(torch::kDouble) + bn.options.eps());
  const auto t = bn.bias.detach().to(torch::kDouble) - s * bn.running_mean.detach().to(torch::kDouble);
  return { s.contiguous(), t.contiguous() };
}

AffineT<float>
foldBatchNorm(const torch::nn::BatchNorm2dImpl & bn)
{
  const auto [s, t] = batchNormScaleShift(bn);
  AffineT<float> a;
  const auto     sa = s.accessor<double, 1>();
  const auto     ta = t.accessor<double, 1>();
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

using PlanF32 = NetPlan<float, Pointwise>;
using PlanBF16 = NetPlan<float, PointwisePairs>;
#if defined(RESCRNET_HAVE_FLOAT16)
using PlanF16 = NetPlan<_Float16, PointwiseT<_Float16>>;
#endif

// The fp32 plan in another precision: elementwise conversions of the per-channel data and of the pointwise products.
template <typename E, typename PW, typename ConvertPointwise>
NetPlan<E, PW>
convertPlan(const PlanF32 & f, ConvertPointwise convertPointwise)
{
  auto convert = [](const std::vector<float> & v) {
    std::vector<E> out(v.size());
    std::transform(v.begin(), v.end(), out.begin(), [](float x) { return static_cast<E>(x); });
    return out;
  };
  NetPlan<E, PW> p;
  p.inputChannels = f.inputChannels;
  p.channels = f.channels;
  p.filters = f.filters;
  p.classes = f.classes;
  p.maxPad = f.maxPad;
  p.slope = f.slope;
  p.head = f.head;
  for (const auto & fb : f.blocks)
  {
    typename NetPlan<E, PW>::Block b;
    b.inChannels = fb.inChannels;
    b.preActivation = fb.preActivation;
    b.pre.scale = convert(fb.pre.scale);
    b.pre.shift = convert(fb.pre.shift);
    b.shortcut = convertPointwise(fb.shortcut);
    for (const auto & fbr : fb.branches)
    {
      typename NetPlan<E, PW>::Branch br;
      br.k = fbr.k;
      br.d = fbr.d;
      br.dw1 = convert(fbr.dw1);
      br.dw2 = convert(fbr.dw2);
      br.pw1 = convertPointwise(fbr.pw1);
      br.pw2 = convertPointwise(fbr.pw2);
      b.branches.push_back(std::move(br));
    }
    p.blocks.push_back(std::move(b));
  }
  return p;
}

} // namespace

struct FusedInference::Plan
{
  PlanF32                   f32;
  std::unique_ptr<PlanBF16> bf16; // built when first needed
#if defined(RESCRNET_HAVE_FLOAT16)
  std::unique_ptr<PlanF16> f16;
#endif
};

struct FusedInference::Workspace
{
  int64_t H = -1, W = -1, pad = -1, channels = -1, elementSize = -1; // the geometry the planes are laid out for
  size_t  capacity = 0;                                              // bytes allocated
  int64_t Wr = 0, S = 0, PH = 0, PX = 0, plane = 0;
  // Four sets of planes (elements of elementSize bytes): block input, block output, branch input (pre-activated),
  // branch intermediates.
  void * x = nullptr;
  void * y = nullptr;
  void * x0 = nullptr;
  void * u = nullptr;
  void * memory = nullptr;
  // Per-thread scratch of the passes (see PassRunner).
  std::vector<char> scratch;

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
  PlanF32 &          plan = fresh->f32;
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
    const auto &   block = *network.convBlocks->ptr(b)->as<ConvResBlockImpl>();
    PlanF32::Block pb;
    pb.inChannels = b == 0 ? c.inputChannels : plan.channels;
    pb.preActivation = !block.isStem;
    if (pb.preActivation)
    {
      pb.pre = foldBatchNorm(*block.preBn);
    }
    pb.shortcut = foldPointwise(*block.shortcut, block.shortcutBn.get());
    for (size_t i = 0; i < block.branches->size(); ++i)
    {
      const auto &    branch = *block.branches->ptr(i)->as<AtrousBranchImpl>();
      PlanF32::Branch pbr;
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
std::atomic<bool> g_TileEmulation{ false };

#if defined(RESCRNET_DW_VECTOR)
// One (branch, row group) task: the depthwise rows of all channels, then the pointwise product on them; in pass 1
// the tasks of one branch also compute the shortcut of their rows (the block input through the 1x1 shortcut).
template <typename E, typename PW, int VW, int K>
RESCRNET_DW_INLINE void
blockTask(const PassArgs<E, PW> &                      p,
          const typename PassArgs<E, PW>::BranchArgs & a,
          const RowGroup &                             rg,
          char *                                       scratchBytes)
{
  const Geometry & g = *p.g;
  E *              scratch = reinterpret_cast<E *>(scratchBytes);
  depthwiseGroup<E, PW, VW, K>(g, a, rg, scratch);
  if constexpr (std::is_same_v<PW, PointwisePairs>)
  {
#  if defined(RESCRNET_HAVE_BF16_KERNELS)
    // bf16: the depthwise rows (fp32) as channel pairs, then the products on the pairs.
    const bool tiles = p.tiles != TileMode::DotProducts;
    auto       product =
      [&](const uint32_t * aRow, int64_t aStride, const PointwisePairs & pw, const Store<float> & st, int64_t y) {
        if (tiles)
        {
          pointwiseRowTiles(p.tiles, g, aRow, aStride, pw, st, y, p.slope);
        }
        else
        {
          pointwiseRowPairs(g, aRow, aStride, pw, st, y, p.slope);
        }
      };
    uint32_t *    pairs = reinterpret_cast<uint32_t *>(scratch + a.dwChannels * rg.n * g.Wr);
    const int64_t P = tiles ? a.pw->kTiles * 16 : a.pw->K2;
    packPairs(scratch, rg.n * g.Wr, g.Wr, a.dwChannels, rg.n, g.Wr, P, pairs);
    for (int64_t j = 0; j < rg.n; ++j)
    {
      product(pairs + j * g.Wr, rg.n * g.Wr, *a.pw, a.store, rg.y + j * a.d);
    }
    if (a.shortcut != nullptr)
    {
      Store<float> st;
      st.out = a.shortcutOut;
      uint32_t *    staged = pairs + P * rg.n * g.Wr;
      const int64_t Ps = tiles ? a.shortcut->kTiles * 16 : a.shortcut->K2;
      for (int64_t j = 0; j < rg.n; ++j)
      {
        const int64_t y = rg.y + j * a.d;
        packPairs(a.shortcutIn + (g.PH + y) * g.S + g.PX, g.plane, 0, a.shortcut->K, 1, g.Wr, Ps, staged);
        product(staged, g.Wr, *a.shortcut, st, y);
      }
    }
#  endif
  }
  else
  {
    for (int64_t j = 0; j < rg.n; ++j)
    {
      const int64_t y = rg.y + j * a.d;
      pointwiseRow<E, VW>(g, scratch + j * g.Wr, rg.n * g.Wr, *a.pw, a.store, y, p.slope);
    }
    if (a.shortcut != nullptr)
    {
      Store<E> st;
      st.out = a.shortcutOut;
      // Stage each input row (all channels) contiguously: one sequential stream per plane instead of one stream per
      // channel inside the product.
      E * staged = scratch + a.dwChannels * rg.n * g.Wr;
      for (int64_t j = 0; j < rg.n; ++j)
      {
        const int64_t y = rg.y + j * a.d;
        const E *     src = a.shortcutIn + (g.PH + y) * g.S + g.PX;
        for (int64_t c = 0; c < a.shortcut->K; ++c)
        {
          std::memcpy(staged + c * g.Wr, src + c * g.plane, static_cast<size_t>(g.Wr) * sizeof(E));
        }
        pointwiseRow<E, VW>(g, staged, g.Wr, *a.shortcut, st, y, p.slope);
      }
    }
  }
}

// Task t of a pass: kind 3, row t; otherwise the (branch, row group) pair tasks[t]. VW: elements per vector of the
// block kernels; HVW: floats per vector of the head.
template <typename E, typename PW, int VW, int HVW>
RESCRNET_DW_INLINE void
runTask(const PassArgs<E, PW> & p, int64_t t, char * scratch)
{
  if (p.kind == 3)
  {
    headRow<E, HVW>(
      *p.g, p.headIn, *p.head, p.classes, p.slope, t, reinterpret_cast<float *>(scratch), p.probabilities);
    return;
  }
  const auto & task = (*p.tasks)[static_cast<size_t>(t)];
  const auto & a = p.branches[static_cast<size_t>(task.first)];
  const auto & rg = (*a.groups)[static_cast<size_t>(task.second)];
  switch (a.k)
  {
    case 3:
      blockTask<E, PW, VW, 3>(p, a, rg, scratch);
      break;
    case 5:
      blockTask<E, PW, VW, 5>(p, a, rg, scratch);
      break;
    case 7:
      blockTask<E, PW, VW, 7>(p, a, rg, scratch);
      break;
    case 1:
      blockTask<E, PW, VW, 1>(p, a, rg, scratch);
      break;
    default:
      blockTask<E, PW, VW, 0>(p, a, rg, scratch);
      break;
  }
}

using F32Args = PassArgs<float, Pointwise>;

void
runGeneric(const void * p, int64_t t, char * s)
{
  runTask<float, Pointwise, 4, 4>(*static_cast<const F32Args *>(p), t, s);
}
#  if defined(RESCRNET_DW_X86)
__attribute__((target("avx2,fma"))) void
runAvx2(const void * p, int64_t t, char * s)
{
  runTask<float, Pointwise, 8, 8>(*static_cast<const F32Args *>(p), t, s);
}
__attribute__((target("avx512f,avx2,fma"))) void
runAvx512(const void * p, int64_t t, char * s)
{
  runTask<float, Pointwise, 16, 16>(*static_cast<const F32Args *>(p), t, s);
}
#  endif
#  if defined(RESCRNET_HAVE_FLOAT16)
__attribute__((target("avx512fp16,avx512bw,avx512vl,avx512dq,avx512f,avx2,fma,f16c"))) void
runAvx512Fp16(const void * p, int64_t t, char * s)
{
  runTask<_Float16, PointwiseT<_Float16>, 32, 16>(
    *static_cast<const PassArgs<_Float16, PointwiseT<_Float16>> *>(p), t, s);
}
#  endif
#  if defined(RESCRNET_HAVE_BF16_KERNELS)
RESCRNET_TARGET_BF16 void
runAvx512Bf16(const void * p, int64_t t, char * s)
{
  runTask<float, PointwisePairs, 16, 16>(*static_cast<const PassArgs<float, PointwisePairs> *>(p), t, s);
}
#  endif

struct KernelSet
{
  const char * name = "none";
  int          rows = 1; // rows per group (FusedBlocking<VW>::R)
  void (*run)(const void *, int64_t, char *) = nullptr;
  TileMode tiles = TileMode::DotProducts;
};

// The fp32 kernels: the instruction set DepthwiseConv2d uses.
KernelSet
fp32Kernels()
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

// Whether this build has the kernels of a precision.
bool
compiledIn(Precision p)
{
  switch (p)
  {
    case Precision::Float16:
#  if defined(RESCRNET_HAVE_FLOAT16)
      return true;
#  else
      return false;
#  endif
    case Precision::BFloat16:
#  if defined(RESCRNET_HAVE_BF16_KERNELS)
      return true;
#  else
      return false;
#  endif
    default:
      return true;
  }
}

KernelSet
kernelsFor(Precision p)
{
  switch (p)
  {
#  if defined(RESCRNET_HAVE_FLOAT16)
    case Precision::Float16:
      return { "avx512fp16", FusedBlocking<32>::R, &runAvx512Fp16 };
#  endif
#  if defined(RESCRNET_HAVE_BF16_KERNELS)
    case Precision::BFloat16:
      if (g_TileEmulation)
      {
        return { "amx-bf16 (emulated tiles)", FusedBlocking<16>::R, &runAvx512Bf16, TileMode::Emulated };
      }
      if (DetectedCpuFeatures().amx)
      {
        return { "amx-bf16", FusedBlocking<16>::R, &runAvx512Bf16, TileMode::Amx };
      }
      return { "avx512bf16", FusedBlocking<16>::R, &runAvx512Bf16, TileMode::DotProducts };
#  endif
    default:
      return fp32Kernels();
  }
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

int64_t
elementSize(Precision p)
{
  return p == Precision::Float16 ? 2 : 4;
}

// Work buffer layout for an H x W input with elements of `size` bytes.
struct Layout
{
  int64_t Wr, S, PH, PX, rows, plane;
  size_t  bytes;
};

Layout
layoutFor(int64_t H, int64_t W, int64_t maxPad, int64_t channels, int64_t size)
{
  const int64_t align = 64 / size; // elements per 64 bytes: the widest vector
  Layout        l{};
  l.Wr = roundUpTo(W, align);
  l.PH = maxPad;
  l.PX = roundUpTo(maxPad, align);
  l.S = l.PX + l.Wr + roundUpTo(maxPad, align);
  l.rows = H + 2 * l.PH;
  // Planes 64 bytes past a multiple of 4 KiB apart: the pointwise products read one row from each of up to 64
  // planes at once, and a multiple of 4 KiB would put them all in the same few L1 cache sets.
  l.plane = roundUpTo(l.rows * l.S, 4096 / size) + align;
  l.bytes = static_cast<size_t>(4 * channels * l.plane * size);
  return l;
}
} // namespace

const char *
FusedInference::Isa()
{
#if defined(RESCRNET_DW_VECTOR)
  return fp32Kernels().name;
#else
  return "none";
#endif
}

const char *
FusedInference::kernelName() const
{
#if defined(RESCRNET_DW_VECTOR)
  return kernelsFor(m_Precision).name;
#else
  return "none";
#endif
}

void
FusedInference::SetTileEmulation(bool on)
{
  g_TileEmulation = on;
}

int64_t
FusedInference::ReceptiveRadius() const
{
  // Each block's widest branch chains two convolutions of radius maxPad; the head is 1x1.
  return static_cast<int64_t>(m_Plan->f32.blocks.size()) * 2 * m_Plan->f32.maxPad;
}

size_t
FusedInference::WorkspaceBytes(int64_t height, int64_t width) const
{
  const PlanF32 & p = m_Plan->f32;
  return layoutFor(height, width, p.maxPad, std::max(p.channels, p.inputChannels), elementSize(m_Precision)).bytes;
}

torch::Tensor
FusedInference::forward(const torch::Tensor & images)
{
  TORCH_CHECK(images.dim() == 4, "FusedInference: expected [B, C, H, W], got ", images.dim(), " dimensions");
  const PlanF32 & plan = m_Plan->f32;
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

#if defined(RESCRNET_DW_VECTOR)
namespace
{
// Lays the work buffers out for an H x W input (reallocating only when they grow) and zeroes the planes' padding
// (top and bottom rows, left and right margins); the interiors are always written before they are read.
void
prepareWorkspace(FusedInference::Workspace & ws, int64_t H, int64_t W, int64_t pad, int64_t maxChannels, int64_t size)
{
  if (ws.H == H && ws.W == W && ws.pad == pad && ws.channels == maxChannels && ws.elementSize == size &&
      ws.memory != nullptr)
  {
    return;
  }
  const Layout l = layoutFor(H, W, pad, maxChannels, size);
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
  ws.pad = pad;
  ws.channels = maxChannels;
  ws.elementSize = size;
  ws.Wr = l.Wr;
  ws.PH = l.PH;
  ws.PX = l.PX;
  ws.S = l.S;
  ws.plane = l.plane;
  char * base = static_cast<char *>(ws.memory);
  ws.x = base;
  ws.y = base + maxChannels * ws.plane * size;
  ws.x0 = base + 2 * maxChannels * ws.plane * size;
  ws.u = base + 3 * maxChannels * ws.plane * size;
  // (All-zero bytes are +0 in every element type.)
  at::parallel_for(0, 4 * maxChannels, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p)
    {
      char * plane = base + p * ws.plane * size;
      auto   zero = [&](int64_t from, int64_t count) {
        std::memset(plane + from * size, 0, static_cast<size_t>(count * size));
      };
      zero(0, ws.PH * ws.S);
      zero((ws.PH + H) * ws.S, ws.PH * ws.S);
      for (int64_t r = ws.PH; r < ws.PH + H; ++r)
      {
        zero(r * ws.S, ws.PX);
        zero(r * ws.S + ws.PX + W, ws.S - ws.PX - W);
      }
    }
  });
}

// Copies image n of a contiguous [B, C, H, W] input into the padded block-input planes (converted to E).
template <typename E>
void
stageInput(const Geometry & g, const float * input, int64_t n, int64_t channels, E * planes)
{
  for (int64_t c = 0; c < channels; ++c)
  {
    for (int64_t y = 0; y < g.H; ++y)
    {
      E *           row = planes + c * g.plane + (g.PH + y) * g.S + g.PX;
      const float * src = input + ((n * channels + c) * g.H + y) * g.W;
      std::transform(src, src + g.W, row, [](float v) { return static_cast<E>(v); });
      std::fill_n(row + g.W, g.Wr - g.W, E(0));
    }
  }
}

// Row groups of the fused tasks, per (dilation, rows per group), built once per call.
class RowGroupCache
{
public:
  RowGroupCache(int64_t H, int rows)
    : m_H(H)
    , m_Rows(rows)
  {}
  const std::vector<RowGroup> *
  get(int64_t k, int64_t d)
  {
    // Kernels with compile-time sizes take several rows at a time (see blockTask).
    const int64_t R = (k == 3 || k == 5 || k == 7) ? m_Rows : 1;
    auto &        list = m_Groups[{ d, R }];
    if (list.empty())
    {
      list = rowGroups(m_H, d, R);
    }
    return &list;
  }

private:
  int64_t                                                      m_H;
  int                                                          m_Rows;
  std::map<std::pair<int64_t, int64_t>, std::vector<RowGroup>> m_Groups;
};

// Per-thread scratch (the depthwise rows of one group for all channels and, in bf16, their channel pairs; or the
// head's logits) and the loop that hands a pass's tasks to the threads in order.
class PassRunner
{
public:
  // The scratch lives in `ws` (kept between calls: allocating and faulting in megabytes per call costs about a
  // millisecond).
  PassRunner(const KernelSet &           isa,
             const Geometry &            g,
             int64_t                     maxChannels,
             int64_t                     classes,
             FusedInference::Workspace & ws)
    : m_Isa(isa)
    , m_Threads(std::max(1, at::get_num_threads()))
  {
    // In 4-byte words: fp32 rows (R + 1 per channel) and up to 16 pairs more than half the channels (AMX tiles run
    // over 32 channels at a time) for R + 1 rows; or the head's classes.
    const int64_t R = kMaxGroupRows;
    const int64_t pairs = roundUpTo((maxChannels + 1) / 2, 16);
    const int64_t words =
      std::max((maxChannels * (R + 1) + pairs * (R + 1)) * g.Wr, roundUpTo(classes, kChannelAlign) * g.Wr);
    m_ScratchBytes = roundUpTo(words * 4, 64);
    const size_t bytes = static_cast<size_t>(m_Threads * m_ScratchBytes + 64);
    if (ws.scratch.size() < bytes)
    {
      ws.scratch.clear();
      ws.scratch.shrink_to_fit();
      ws.scratch.resize(bytes);
    }
    m_Base = reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(ws.scratch.data()) + 63) / 64 * 64);
  }
  void
  run(const void * p, int64_t tasks)
  {
    std::atomic<int64_t> next{ 0 };
    at::parallel_for(0, m_Threads, 1, [&](int64_t b, int64_t e) {
      for (int64_t slot = b; slot < e; ++slot)
      {
        char * s = m_Base + slot * m_ScratchBytes;
        for (int64_t t = next++; t < tasks; t = next++)
        {
          m_Isa.run(p, t, s);
        }
      }
    });
  }

private:
  const KernelSet & m_Isa;
  int               m_Threads;
  int64_t           m_ScratchBytes = 0;
  char *            m_Base = nullptr;
};

// The two passes of one block. The branch with the smallest kernel (the cheapest tasks) also computes the shortcut
// in pass 1; pass 2 writes the next block's pre-activated input (when it has one) alongside the block output.
template <typename E, typename PW>
struct BlockPasses
{
  PassArgs<E, PW>                          p1, p2;
  std::vector<std::pair<int32_t, int32_t>> tasks;
};

template <typename E, typename PW>
void
planBlock(const NetPlan<E, PW> &            plan,
          size_t                            b,
          const Geometry &                  g,
          TileMode                          tiles,
          const FusedInference::Workspace & ws,
          const E *                         x,
          E *                               yb,
          RowGroupCache &                   groups,
          BlockPasses<E, PW> &              out)
{
  const auto & block = plan.blocks[b];
  const auto * next = b + 1 < plan.blocks.size() ? &plan.blocks[b + 1] : nullptr;
  E * const    x0 = static_cast<E *>(ws.x0);
  E * const    u = static_cast<E *>(ws.u);
  auto &       p1 = out.p1;
  auto &       p2 = out.p2;
  p1 = PassArgs<E, PW>{};
  p1.g = &g;
  p1.kind = 1;
  p1.slope = plan.slope;
  p1.tiles = tiles;
  p2 = p1;
  p2.kind = 2;
  size_t maxGroups = 0;
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
    const auto &                         br = block.branches[i];
    const int64_t                        first = static_cast<int64_t>(i) * plan.filters; // branch's channel 0
    typename PassArgs<E, PW>::BranchArgs a{};
    a.k = br.k;
    a.d = br.d;
    a.groups = groups.get(br.k, br.d);
    maxGroups = std::max(maxGroups, a.groups->size());
    // Pass 1: branch input (the pre-activated copy written by the previous block, or the raw input for the STEM)
    // -> depthwise -> pointwise (+ branch BN) -> LeakyReLU -> U.
    a.dw = br.dw1.data();
    a.dwIn = block.preActivation ? x0 : x;
    a.dwChannels = block.inChannels;
    a.pw = &br.pw1;
    a.store.out = u + first * g.plane;
    a.store.leaky = true;
    if (i == shortcutBranch)
    {
      a.shortcut = &block.shortcut;
      a.shortcutIn = x;
      a.shortcutOut = yb;
    }
    p1.branches.push_back(a);
    // Pass 2: U -> depthwise -> pointwise, added to the shortcut in the block output planes of branch i.
    auto a2 = a;
    a2.shortcut = nullptr;
    a2.dw = br.dw2.data();
    a2.dwIn = a.store.out;
    a2.dwChannels = plan.filters;
    a2.pw = &br.pw2;
    a2.store = Store<E>{};
    a2.store.out = yb + first * g.plane;
    a2.store.accumulate = true;
    if (next != nullptr && next->preActivation)
    {
      a2.store.out2 = x0 + first * g.plane;
      a2.store.scale2 = next->pre.scale.data() + first;
      a2.store.shift2 = next->pre.shift.data() + first;
    }
    p2.branches.push_back(a2);
  }
  // Tasks: the branches' row groups, interleaved so that threads taking consecutive tasks get a mix of cheap and
  // expensive branches.
  out.tasks.clear();
  for (size_t j = 0; j < maxGroups; ++j)
  {
    for (size_t i = 0; i < p1.branches.size(); ++i)
    {
      if (j < p1.branches[i].groups->size())
      {
        out.tasks.emplace_back(static_cast<int32_t>(i), static_cast<int32_t>(j));
      }
    }
  }
  p1.tasks = &out.tasks;
  p2.tasks = &out.tasks;
}
} // namespace
#endif // RESCRNET_DW_VECTOR

template <typename P>
void
FusedInference::runPlan(const P & plan, const torch::Tensor & input, torch::Tensor & output)
{
#if defined(RESCRNET_DW_VECTOR)
  using E = typename P::Element;
  using BranchPW = typename P::PointwiseType;
  const int64_t   B = input.size(0), H = input.size(2), W = input.size(3);
  const KernelSet isa = kernelsFor(m_Precision);
  const int64_t   maxChannels = std::max(plan.channels, plan.inputChannels);
  Workspace &     ws = *m_Workspace;
  prepareWorkspace(ws, H, W, plan.maxPad, maxChannels, static_cast<int64_t>(sizeof(E)));
  const Geometry           g{ H, W, ws.Wr, ws.S, ws.PH, ws.PX, ws.plane };
  RowGroupCache            groups(H, isa.rows);
  PassRunner               runner(isa, g, maxChannels, plan.classes, ws);
  BlockPasses<E, BranchPW> passes;
  for (int64_t n = 0; n < B; ++n)
  {
    stageInput(g, input.data_ptr<float>(), n, plan.inputChannels, static_cast<E *>(ws.x));
    E * x = static_cast<E *>(ws.x);
    E * yb = static_cast<E *>(ws.y);
    for (size_t b = 0; b < plan.blocks.size(); ++b)
    {
      planBlock(plan, b, g, isa.tiles, ws, x, yb, groups, passes);
      runner.run(&passes.p1, static_cast<int64_t>(passes.tasks.size()));
      runner.run(&passes.p2, static_cast<int64_t>(passes.tasks.size()));
      std::swap(x, yb);
    }
    PassArgs<E, BranchPW> ph;
    ph.g = &g;
    ph.kind = 3;
    ph.slope = plan.slope;
    ph.headIn = x;
    ph.head = &plan.head;
    ph.classes = plan.classes;
    ph.probabilities = output.data_ptr<float>() + n * plan.classes * H * W;
    runner.run(&ph, H);
  }
#else
  (void)plan;
  (void)input;
  (void)output;
  throw std::runtime_error("FusedInference: not compiled in");
#endif
}

void
FusedInference::run(const torch::Tensor & input, torch::Tensor & output)
{
  switch (m_Precision)
  {
#if defined(RESCRNET_HAVE_FLOAT16)
    case Precision::Float16:
      if (!m_Plan->f16)
      {
        m_Plan->f16 =
          std::make_unique<PlanF16>(convertPlan<_Float16, PointwiseT<_Float16>>(m_Plan->f32, [](const Pointwise & f) {
            PointwiseT<_Float16> h;
            h.K = f.K;
            h.M = f.M;
            h.ld = f.ld;
            h.w.assign(f.w.begin(), f.w.end());
            h.bias.assign(f.bias.begin(), f.bias.end());
            return h;
          }));
      }
      runPlan(*m_Plan->f16, input, output);
      return;
#endif
    case Precision::BFloat16:
      if (!m_Plan->bf16)
      {
        m_Plan->bf16 = std::make_unique<PlanBF16>(convertPlan<float, PointwisePairs>(m_Plan->f32, toPairs));
      }
      runPlan(*m_Plan->bf16, input, output);
      return;
    default:
      runPlan(m_Plan->f32, input, output);
      return;
  }
}

torch::Tensor
FusedInference::ProbeImage(int64_t height, int64_t width)
{
  // A chest-radiograph-like pattern: a bright body, two darker lung fields with rib-like stripes, a bright
  // mediastinum, soft edges and a little noise (a fixed linear congruential sequence), clipped to [0, 1].
  auto     image = torch::empty({ 1, 1, height, width }, torch::kFloat);
  float *  p = image.data_ptr<float>();
  uint32_t state = 12345u;
  for (int64_t y = 0; y < height; ++y)
  {
    for (int64_t x = 0; x < width; ++x)
    {
      const double u = (x + 0.5) / static_cast<double>(width), v = (y + 0.5) / static_cast<double>(height);
      double       value = 0.75 - 0.15 * v;
      for (const double cx : { 0.3, 0.7 })
      {
        const double r = std::hypot((u - cx) / 0.16, (v - 0.48) / 0.32);
        const double inside = 1.0 / (1.0 + std::exp((r - 1.0) * 12.0)); // soft edge
        value -= inside * (0.45 - 0.08 * std::sin(2.0 * M_PI * v * 11.0));
      }
      value += 0.15 * std::exp(-std::pow((u - 0.5) / 0.06, 2.0)); // mediastinum
      state = state * 1664525u + 1013904223u;
      value += 0.04 * (static_cast<double>(state >> 8) / 16777216.0 - 0.5);
      p[y * width + x] = static_cast<float>(std::clamp(value, 0.0, 1.0));
    }
  }
  return image;
}

bool
FusedInference::PrecisionSupported(Precision p)
{
#if defined(RESCRNET_DW_VECTOR)
  return PrecisionAvailable(p) && compiledIn(p);
#else
  return p == Precision::Float32 || p == Precision::Auto;
#endif
}

namespace
{
std::runtime_error
unsupported(Precision p)
{
  return std::runtime_error(std::string("precision ") + ToString(p) +
                            " does not run on this CPU (CPUID reports: " + DetectedCpuFeatures().describe() + ")");
}
} // namespace

FusedInference::PrecisionCheck
FusedInference::CheckPrecision(Precision p, int64_t probeHeight, int64_t probeWidth)
{
  if (p == Precision::Auto)
  {
    throw std::invalid_argument("FusedInference::CheckPrecision: give fp32, bf16 or fp16");
  }
  if (!PrecisionSupported(p))
  {
    throw unsupported(p);
  }
  const Precision saved = m_Precision;
  const auto      probe = ProbeImage(probeHeight, probeWidth);
  m_Precision = Precision::Float32;
  const auto reference = forward(probe);
  m_Precision = p;
  torch::Tensor reduced;
  try
  {
    reduced = forward(probe);
  }
  catch (...)
  {
    m_Precision = saved;
    throw;
  }
  m_Precision = saved;
  PrecisionCheck check;
  check.precision = p;
  check.pixels = probeHeight * probeWidth;
  check.finite = torch::isfinite(reduced).all().item<bool>();
  check.maxProbabilityDifference = check.finite ? (reduced - reference).abs().max().item<double>() : 1.0;
  const auto differing = (reduced.argmax(1) != reference.argmax(1)).sum().item<int64_t>();
  check.differingFraction = static_cast<double>(differing) / static_cast<double>(check.pixels);
  check.passed = check.finite && check.differingFraction <= kMaxDifferingFraction;
  return check;
}

void
FusedInference::setPrecision(Precision                      p,
                             int64_t                        probeHeight,
                             int64_t                        probeWidth,
                             const std::vector<Precision> & excluded)
{
  if (p != Precision::Auto)
  {
    if (!PrecisionSupported(p))
    {
      throw unsupported(p);
    }
    m_Precision = p;
    return;
  }
  // bf16 only on AMX tiles: its AVX512-BF16 dot products run the 1x1 products at about the speed of fp32 FMAs
  // (measured on Sapphire/Emerald Rapids), so that the packing makes them slower than fp32 there.
  for (Precision candidate : { Precision::Float16, Precision::BFloat16 })
  {
    if ((candidate == Precision::BFloat16 && !DetectedCpuFeatures().amx) ||
        std::find(excluded.begin(), excluded.end(), candidate) != excluded.end())
    {
      continue;
    }
    // Only what CPUID reports: never a feature declared through RESCRNET_ASSUME_ISA.
    if (PrecisionSupported(candidate) && PrecisionReported(candidate) &&
        CheckPrecision(candidate, probeHeight, probeWidth).passed)
    {
      m_Precision = candidate;
      return;
    }
  }
  m_Precision = Precision::Float32;
}

} // namespace rescrnet
