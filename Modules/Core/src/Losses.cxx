// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Losses.h"

namespace rescrnet
{

namespace F = torch::nn::functional;

int64_t
ContourWindowSize(int64_t shortSide)
{
  if (shortSide <= 150)
    return 11;
  if (shortSide <= 300)
    return 21;
  if (shortSide <= 600)
    return 31;
  return 41;
}

namespace
{
// 1 + 2 border, before the normalisation (no gradient).
torch::Tensor
contourBaseWeights(const torch::Tensor & target, int64_t window)
{
  TORCH_CHECK(target.dim() == 4, "ContourWeightMap expects [B, C, H, W]");
  if (window <= 0)
  {
    window = ContourWindowSize(std::min(target.size(2), target.size(3)));
  }
  torch::NoGradGuard noGrad;
  const auto         avg =
    F::avg_pool2d(target, F::AvgPool2dFuncOptions(window).stride(1).padding(window / 2).count_include_pad(false));
  const auto border = ((avg > 0.005) & (avg < 0.995)).to(target.scalar_type());
  return 1.0 + 2.0 * border;
}
} // namespace

torch::Tensor
ContourWeightMap(const torch::Tensor & target, int64_t window)
{
  auto               w = contourBaseWeights(target, window);
  torch::NoGradGuard noGrad;
  w = w * (static_cast<double>(w.numel()) / w.sum());
  return w * w;
}

torch::Tensor
WeightedTanimotoLoss(const torch::Tensor & p, const torch::Tensor & t, const torch::Tensor & w, double s)
{
  const auto pc = 1.0 - p;
  const auto tc = 1.0 - t;
  const auto td = ((w * t * p).sum() + s) / ((w * (t * t + p * p - t * p)).sum() + s);
  const auto tcomp = ((w * tc * pc).sum() + s) / ((w * (tc * tc + pc * pc - tc * pc)).sum() + s);
  return 1.0 - 0.5 * (td + tcomp);
}

torch::Tensor
ContourTanimotoLoss(const torch::Tensor & probabilities, const torch::Tensor & target)
{
  return WeightedTanimotoLoss(probabilities, target, ContourWeightMap(target), 1.0);
}

torch::Tensor
ContourTanimotoPartialSums(const torch::Tensor & p, const torch::Tensor & t)
{
  TORCH_CHECK(p.sizes() == t.sizes(), "ContourTanimotoPartialSums: probabilities and target differ in shape");
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  if (t.numel() == 0)
    return torch::zeros({ 6 }, opts);
  const auto base = contourBaseWeights(t, 0);
  const auto v = base * base; // 1 or 9: exact
  const auto pc = 1.0 - p;
  const auto tc = 1.0 - t;
  return torch::stack({ torch::tensor(static_cast<double>(t.numel()), opts),
                        base.sum(torch::kFloat64),
                        (v * t * p).sum(torch::kFloat64),
                        (v * (t * t + p * p - t * p)).sum(torch::kFloat64),
                        (v * tc * pc).sum(torch::kFloat64),
                        (v * (tc * tc + pc * pc - tc * pc)).sum(torch::kFloat64) });
}

torch::Tensor
ContourTanimotoLossFromSums(const torch::Tensor & local, const torch::Tensor & global, double s)
{
  TORCH_CHECK(local.numel() == 6 && global.numel() == 6, "ContourTanimotoLossFromSums expects 6 sums");
  const auto g = global.detach().to(torch::kFloat64);
  const auto l = local.to(torch::kFloat64);
  // The value is the global sum's; the gradient flows through this slice's sums only.
  const auto x = l + (g - l.detach());
  const auto c = (g[0] / g[1]).pow(2); // (N / S)^2 of the normalised, squared weights
  const auto td = (c * x[2] + s) / (c * x[3] + s);
  const auto tcomp = (c * x[4] + s) / (c * x[5] + s);
  return 1.0 - 0.5 * (td + tcomp);
}

torch::Tensor
TanimotoPartialSums(const torch::Tensor & p0, const torch::Tensor & t)
{
  torch::NoGradGuard g;
  const auto         p = p0.detach();
  const auto         pc = 1.0 - p;
  const auto         tc = 1.0 - t;
  return torch::stack({ (t * p).sum(torch::kFloat64),
                        (t * t + p * p - t * p).sum(torch::kFloat64),
                        (tc * pc).sum(torch::kFloat64),
                        (tc * tc + pc * pc - tc * pc).sum(torch::kFloat64) });
}

double
TanimotoCoefficientFromSums(const torch::Tensor & sums, double s)
{
  const auto x = sums.to(torch::kFloat64).contiguous();
  const auto a = x.data_ptr<double>();
  return 0.5 * ((a[0] + s) / (a[1] + s) + (a[2] + s) / (a[3] + s));
}

torch::Tensor
TanimotoCoefficient(const torch::Tensor & p, const torch::Tensor & t, double s)
{
  const auto pc = 1.0 - p;
  const auto tc = 1.0 - t;
  const auto td = ((t * p).sum() + s) / ((t * t + p * p - t * p).sum() + s);
  const auto tcomp = ((tc * pc).sum() + s) / ((tc * tc + pc * pc - tc * pc).sum() + s);
  return 0.5 * (td + tcomp);
}

torch::Tensor
DiceCoefficient(const torch::Tensor & p, const torch::Tensor & t, double s)
{
  return (2.0 * (t * p).sum() + s) / (t.sum() + p.sum() + s);
}

} // namespace rescrnet
