// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Augmentation.h"

#include <cmath>

namespace rescrnet
{

namespace F = torch::nn::functional;

namespace
{
constexpr double Pi = 3.14159265358979323846;
}

uint64_t
SplitMix64::next()
{
  uint64_t z = (m_State += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double
SplitMix64::uniform()
{
  return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t
MixSeed(uint64_t a, uint64_t b, uint64_t c)
{
  SplitMix64 g(a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full ^
               (c + 1) * 0x165667B19E3779F9ull);
  g.next();
  return g.next();
}

AugmentationConfig
AugmentationConfig::Keras()
{
  return AugmentationConfig{};
}

AugmentationConfig
AugmentationConfig::None()
{
  AugmentationConfig c;
  c.enabled = false;
  return c;
}

nlohmann::ordered_json
AugmentationConfig::toJson() const
{
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["enabled"] = enabled;
  j["rotation_degrees"] = rotationDegrees;
  j["width_shift"] = widthShift;
  j["height_shift"] = heightShift;
  j["shear_degrees"] = shearDegrees;
  j["zoom"] = zoom;
  j["horizontal_flip"] = horizontalFlip;
  j["vertical_flip"] = verticalFlip;
  j["gamma"] = gamma;
  j["contrast"] = contrast;
  j["brightness"] = brightness;
  j["opacities"] = opacities;
  j["opacity_strength"] = opacityStrength;
  return j;
}

AugmentationConfig
AugmentationConfig::fromJson(const nlohmann::ordered_json & j)
{
  AugmentationConfig c;
  c.enabled = j.value("enabled", c.enabled);
  c.rotationDegrees = j.value("rotation_degrees", c.rotationDegrees);
  c.widthShift = j.value("width_shift", c.widthShift);
  c.heightShift = j.value("height_shift", c.heightShift);
  c.shearDegrees = j.value("shear_degrees", c.shearDegrees);
  c.zoom = j.value("zoom", c.zoom);
  c.horizontalFlip = j.value("horizontal_flip", c.horizontalFlip);
  c.verticalFlip = j.value("vertical_flip", c.verticalFlip);
  c.gamma = j.value("gamma", c.gamma);
  c.contrast = j.value("contrast", c.contrast);
  c.brightness = j.value("brightness", c.brightness);
  c.opacities = static_cast<int>(j.contains("opacities") ? JsonInteger(j.at("opacities")) : c.opacities);
  c.opacityStrength = j.value("opacity_strength", c.opacityStrength);
  return c;
}

SampleTransform
DrawTransform(const AugmentationConfig & c, int64_t height, int64_t width, uint64_t seed)
{
  SampleTransform t;
  if (!c.enabled)
  {
    return t;
  }
  SplitMix64 g(seed);
  // Every draw happens whatever the ranges, so changing one range does not reshuffle the others.
  t.thetaDegrees = g.uniform(-c.rotationDegrees, c.rotationDegrees);
  t.shiftX = g.uniform(-c.widthShift, c.widthShift) * static_cast<double>(width);
  t.shiftY = g.uniform(-c.heightShift, c.heightShift) * static_cast<double>(height);
  t.shearDegrees = g.uniform(-c.shearDegrees, c.shearDegrees);
  t.zoomX = g.uniform(1.0 - c.zoom, 1.0 + c.zoom);
  t.zoomY = g.uniform(1.0 - c.zoom, 1.0 + c.zoom);
  t.flipHorizontal = c.horizontalFlip && g.uniform() < 0.5;
  t.flipVertical = c.verticalFlip && g.uniform() < 0.5;
  const double gammaDraw = g.uniform(-1.0, 1.0);
  t.gamma = c.gamma > 0 ? std::pow(1.0 + c.gamma, gammaDraw) : 1.0;
  t.contrast = 1.0 + c.contrast * g.uniform(-1.0, 1.0);
  t.brightness = c.brightness * g.uniform(-1.0, 1.0);
  const int n = c.opacities > 0 ? static_cast<int>(g.uniform() * (c.opacities + 1)) : 0;
  for (int i = 0; i < n; ++i)
  {
    const double cx = g.uniform(0.15, 0.85), cy = g.uniform(0.2, 0.8), r = g.uniform(0.05, 0.2);
    t.opacities.push_back({ cx, cy, r, c.opacityStrength * g.uniform(0.3, 1.0) });
  }
  return t;
}

torch::Tensor
ApplyGeometry(const torch::Tensor & x, const SampleTransform & t)
{
  TORCH_CHECK(x.dim() == 3, "ApplyGeometry expects [C, H, W]");
  const double H = static_cast<double>(x.size(1)), W = static_cast<double>(x.size(2));
  // Output -> input mapping in pixel offsets from the centre: rotation * shear * zoom, then the shift
  // (as Keras composes them), expressed in affine_grid's normalised coordinates.
  const double th = t.thetaDegrees * Pi / 180.0, sh = t.shearDegrees * Pi / 180.0;
  const double r00 = std::cos(th), r01 = -std::sin(th), r10 = std::sin(th), r11 = std::cos(th);
  // shear matrix [[1, -sin(sh)], [0, cos(sh)]], zoom diag(zx, zy)
  const double s00 = 1.0, s01 = -std::sin(sh), s10 = 0.0, s11 = std::cos(sh);
  const double m00 = (r00 * s00 + r01 * s10) * t.zoomX, m01 = (r00 * s01 + r01 * s11) * t.zoomY;
  const double m10 = (r10 * s00 + r11 * s10) * t.zoomX, m11 = (r10 * s01 + r11 * s11) * t.zoomY;
  // normalised u = x / (W/2), v = y / (H/2)
  const double a00 = m00, a01 = m01 * H / W, a10 = m10 * W / H, a11 = m11;
  const double b0 = t.shiftX * 2.0 / W, b1 = t.shiftY * 2.0 / H;
  auto         theta = torch::tensor({ a00, a01, b0, a10, a11, b1 }, torch::kFloat32).view({ 1, 2, 3 });
  auto         input = x.unsqueeze(0).to(torch::kFloat32);
  auto         grid = F::affine_grid(theta, { 1, x.size(0), x.size(1), x.size(2) }, false);
  auto         out = F::grid_sample(
               input,
               grid,
               F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kReflection).align_corners(false))
               .squeeze(0);
  if (t.flipHorizontal)
    out = out.flip({ 2 });
  if (t.flipVertical)
    out = out.flip({ 1 });
  return out;
}

torch::Tensor
ApplyIntensity(const torch::Tensor & image, const SampleTransform & t)
{
  auto x = image;
  if (t.gamma != 1.0)
    x = x.clamp(0.0, 1.0).pow(t.gamma);
  if (t.contrast != 1.0)
    x = (x - x.mean()) * t.contrast + x.mean();
  if (t.brightness != 0.0)
    x = x + t.brightness;
  if (!t.opacities.empty())
  {
    const int64_t H = x.size(-2), W = x.size(-1);
    auto          ys = torch::arange(H, torch::kFloat32).view({ H, 1 }) / static_cast<double>(H);
    auto          xs = torch::arange(W, torch::kFloat32).view({ 1, W }) / static_cast<double>(W);
    const double  aspect = static_cast<double>(W) / static_cast<double>(H);
    for (const auto & o : t.opacities)
    {
      const double r = o[2];
      auto         d2 = (xs - o[0]).pow(2) * aspect + (ys - o[1]).pow(2) / aspect;
      auto         blob = torch::exp(-d2 / (2.0 * r * r)) * o[3];
      // Consolidation brightens towards white without exceeding it.
      x = x + (1.0 - x) * blob;
    }
  }
  return x.clamp(0.0, 1.0);
}

std::pair<torch::Tensor, torch::Tensor>
AugmentBatch(const torch::Tensor &         images,
             const torch::Tensor &         masks,
             const AugmentationConfig &    config,
             const std::vector<uint64_t> & seeds)
{
  TORCH_CHECK(images.size(0) == static_cast<int64_t>(seeds.size()), "one seed per sample");
  if (!config.enabled)
  {
    return { images, masks };
  }
  const int64_t              cin = images.size(1);
  std::vector<torch::Tensor> outImages, outMasks;
  for (int64_t b = 0; b < images.size(0); ++b)
  {
    const auto t = DrawTransform(config, images.size(2), images.size(3), seeds[static_cast<size_t>(b)]);
    // One resampling of image and masks together keeps them aligned by construction.
    auto both = ApplyGeometry(torch::cat({ images[b], masks[b] }, 0), t);
    outImages.push_back(ApplyIntensity(both.slice(0, 0, cin), t));
    outMasks.push_back(both.slice(0, cin).round());
  }
  return { torch::stack(outImages), torch::stack(outMasks) };
}

} // namespace rescrnet
