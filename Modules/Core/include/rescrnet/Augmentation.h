// SPDX-License-Identifier: Apache-2.0
// Geometric (and optional intensity) augmentation for training, after Keras' ImageDataGenerator as the authors used
// it: rotation, shift, shear, zoom, horizontal and vertical flips, reflect padding, bilinear resampling. One transform
// is drawn per sample and applied to the image and its masks together, so they stay aligned; masks are rounded
// afterwards. Every draw comes from a seed, so a batch is reproducible.
#ifndef rescrnet_Augmentation_h
#define rescrnet_Augmentation_h

#include "rescrnet/JsonParsing.h"

#include <torch/torch.h>

#include <cstdint>

namespace rescrnet
{

struct AugmentationConfig
{
  bool   enabled{ true };
  double rotationDegrees{ 90.0 }; // uniform in [-r, r]
  double widthShift{ 0.1 };       // fraction of the width
  double heightShift{ 0.1 };      // fraction of the height
  double shearDegrees{ 15.0 };
  double zoom{ 0.1 }; // zx, zy independently in [1 - z, 1 + z]
  bool   horizontalFlip{ true };
  bool   verticalFlip{ true };
  // Intensity changes (image only; 0 = off). Gamma in [1/(1+g), 1+g]; contrast factor in [1-c, 1+c] about the
  // mean; brightness offset in [-b, b]; up to `opacities` Gaussian blobs that brighten the image like consolidation.
  double gamma{ 0.0 };
  double contrast{ 0.0 };
  double brightness{ 0.0 };
  int    opacities{ 0 };
  double opacityStrength{ 0.4 };

  // The authors' settings (rescrnet-spec section 7).
  static AugmentationConfig
  Keras();
  static AugmentationConfig
  None();

  nlohmann::ordered_json
  toJson() const;
  static AugmentationConfig
  fromJson(const nlohmann::ordered_json & j);
};

struct SampleTransform
{
  double thetaDegrees{ 0 };
  double shiftX{ 0 }; // pixels
  double shiftY{ 0 };
  double shearDegrees{ 0 };
  double zoomX{ 1 };
  double zoomY{ 1 };
  bool   flipHorizontal{ false };
  bool   flipVertical{ false };
  double gamma{ 1 };
  double contrast{ 1 };
  double brightness{ 0 };
  // Opacity blobs: centre (fraction of width/height), radius (fraction of the short side), strength.
  std::vector<std::array<double, 4>> opacities;
};

// Deterministic 64-bit generator (splitmix64) so that draws do not depend on the standard library.
class SplitMix64
{
public:
  explicit SplitMix64(uint64_t seed)
    : m_State(seed)
  {}
  uint64_t
  next();
  // Uniform in [0, 1).
  double
  uniform();
  double
  uniform(double lo, double hi)
  {
    return lo + (hi - lo) * uniform();
  }

private:
  uint64_t m_State;
};

// Draws one transform for an image of the given size.
SampleTransform
DrawTransform(const AugmentationConfig & config, int64_t height, int64_t width, uint64_t seed);

// Applies the geometric part of `t` to x [C, H, W] (bilinear, reflect padding).
torch::Tensor
ApplyGeometry(const torch::Tensor & x, const SampleTransform & t);

// Applies the intensity part of `t` to an image [1, H, W] in [0, 1]; the result stays in [0, 1].
torch::Tensor
ApplyIntensity(const torch::Tensor & image, const SampleTransform & t);

// Augments a batch: images [B, Cin, H, W], masks [B, C, H, W]; sample b uses seed seeds[b]. Masks are rounded.
std::pair<torch::Tensor, torch::Tensor>
AugmentBatch(const torch::Tensor &         images,
             const torch::Tensor &         masks,
             const AugmentationConfig &    config,
             const std::vector<uint64_t> & seeds);

// Mixes numbers into one seed (for seed, epoch, sample index).
uint64_t
MixSeed(uint64_t a, uint64_t b, uint64_t c = 0);

} // namespace rescrnet

#endif
