#include "rescrnet/Losses.h"

namespace rescrnet {

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

torch::Tensor
ContourWeightMap(const torch::Tensor & target, int64_t window)
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
  auto       w = 1.0 + 2.0 * border;
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
