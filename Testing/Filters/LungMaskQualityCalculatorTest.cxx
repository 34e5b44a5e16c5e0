// SPDX-License-Identifier: Apache-2.0
// The reference-free quality estimate of a lung mask on synthetic phantoms with known signal values.
#include "itkLungMaskQualityCalculator.h"

#include "itkImageRegionIteratorWithIndex.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace
{
using ProbabilityType = itk::Image<float, 2>;
using LabelType = itk::Image<unsigned char, 2>;
using Calculator = itk::LungMaskQualityCalculator<ProbabilityType, LabelType>;

template <typename TImage>
typename TImage::Pointer
Draw(unsigned int width, unsigned int height, const std::function<double(int, int)> & value)
{
  auto                      image = TImage::New();
  typename TImage::SizeType size{ { width, height } };
  image->SetRegions(size);
  image->Allocate();
  for (itk::ImageRegionIteratorWithIndex<TImage> it(image, image->GetBufferedRegion()); !it.IsAtEnd(); ++it)
    it.Set(static_cast<typename TImage::PixelType>(
      value(static_cast<int>(it.GetIndex()[0]), static_cast<int>(it.GetIndex()[1]))));
  return image;
}

// Two rectangular "lungs" in a 100 x 100 image: x 20..39 and 60..79 (the right one `rightWidth` wide), y 20..79.
bool
InLungs(int x, int y, int rightWidth = 20)
{
  return y >= 20 && y < 80 && ((x >= 20 && x < 20 + rightWidth) || (x >= 60 && x < 80));
}

Calculator::Pointer
Assess(const LabelType * labels, const ProbabilityType * probability)
{
  auto q = Calculator::New();
  q->SetLabelImage(labels);
  q->SetProbabilityImage(probability);
  q->Compute();
  return q;
}
} // namespace

TEST(LungMaskQuality, ConfidentTwoLungMaskHasExactSignalsAndNoFlags)
{
  auto labels = Draw<LabelType>(100, 100, [](int x, int y) { return InLungs(x, y) ? (x < 50 ? 1 : 2) : 0; });
  auto p = Draw<ProbabilityType>(100, 100, [](int x, int y) { return InLungs(x, y) ? 0.99 : 0.01; });
  auto q = Assess(labels, p);
  EXPECT_DOUBLE_EQ(q->GetAreaFraction(), 2400.0 / 10000.0);
  EXPECT_EQ(q->GetLungCount(), 2u);
  EXPECT_DOUBLE_EQ(q->GetRightLeftRatio(), 1.0);
  EXPECT_DOUBLE_EQ(q->GetDiscardedFraction(), 0.0);
  EXPECT_DOUBLE_EQ(q->GetUncertainFraction(), 0.0);
  EXPECT_NEAR(q->GetMeanMargin(), 0.98, 1e-6); // only the lung pixels have p > 0.05
  const double h = -(0.99 * std::log2(0.99) + 0.01 * std::log2(0.01));
  EXPECT_NEAR(q->GetMaskEntropy(), h, 1e-6);
  EXPECT_DOUBLE_EQ(q->GetBorderFraction(), 0.0);
  EXPECT_TRUE(q->GetFlags().empty()) << q->GetFlagsString();
  EXPECT_GT(q->GetScore(), 0.5);
  EXPECT_LE(q->GetScore(), 1.0);
}

TEST(LungMaskQuality, FailuresRaiseTheirFlagsAndLowerTheScore)
{
  auto good = Assess(Draw<LabelType>(100, 100, [](int x, int y) { return InLungs(x, y); }),
                     Draw<ProbabilityType>(100, 100, [](int x, int y) { return InLungs(x, y) ? 0.99 : 0.01; }));

  // One lung found, the other half-decided: one_lung, uncertain.
  auto oneLung =
    Assess(Draw<LabelType>(100, 100, [](int x, int y) { return InLungs(x, y) && x < 50; }),
           Draw<ProbabilityType>(100, 100, [](int x, int y) { return InLungs(x, y) ? (x < 50 ? 0.95 : 0.45) : 0.01; }));
  const auto & f = oneLung->GetFlags();
  EXPECT_NE(std::find(f.begin(), f.end(), "one_lung"), f.end()) << oneLung->GetFlagsString();
  EXPECT_NE(std::find(f.begin(), f.end(), "uncertain"), f.end()) << oneLung->GetFlagsString();
  EXPECT_DOUBLE_EQ(oneLung->GetRightLeftRatio(), 0.0);
  // 1200 of the 1200 foreground pixels (p > 0.5) are certain, the 1200 at 0.45 are uncertain.
  EXPECT_DOUBLE_EQ(oneLung->GetUncertainFraction(), 1.0);
  EXPECT_LT(oneLung->GetScore(), good->GetScore());

  // A small right lung and islands that post-processing discards, a mask reaching the image border.
  auto labels =
    Draw<LabelType>(100, 100, [](int x, int y) { return InLungs(x, y, 6) || (x < 4 && y >= 10 && y < 90); });
  auto p = Draw<ProbabilityType>(100, 100, [](int x, int y) {
    if (InLungs(x, y, 6))
      return 0.99;
    return (x % 5 == 2 && y % 5 == 2) ? 0.9 : 0.01; // 1-pixel islands
  });
  auto bad = Assess(labels, p);
  EXPECT_EQ(bad->GetLungCount(), 3u);
  EXPECT_NEAR(bad->GetRightLeftRatio(), 360.0 / 1200.0, 1e-12);
  const auto & g = bad->GetFlags();
  for (const char * name : { "extra_components", "asymmetric", "fragmented", "touches_border" })
    EXPECT_NE(std::find(g.begin(), g.end(), name), g.end()) << name << " missing in " << bad->GetFlagsString();
  EXPECT_GT(bad->GetDiscardedFraction(), Calculator::FragmentedFraction);
  EXPECT_GT(bad->GetBorderFraction(), Calculator::BorderFractionLimit);
  EXPECT_LT(bad->GetScore(), good->GetScore());

  // Nothing found.
  auto none = Assess(Draw<LabelType>(100, 100, [](int, int) { return 0; }),
                     Draw<ProbabilityType>(100, 100, [](int, int) { return 0.01; }));
  EXPECT_EQ(none->GetFlagsString().rfind("no_lung", 0), 0u) << none->GetFlagsString();
  EXPECT_DOUBLE_EQ(none->GetAreaFraction(), 0.0);
}

TEST(LungMaskQuality, ScoreFollowsTheCalibration)
{
  Calculator::Calibration c;
  c.scale.fill(1.0);
  c.weight[0] = 2.0; // area fraction
  c.bias = -0.5;
  Calculator::SignalVector s{};
  s[0] = 0.25;
  EXPECT_NEAR(Calculator::ScoreOf(s, c), 1.0 / (1.0 + std::exp(-(-0.5 + 2.0 * 0.25))), 1e-12);
  auto q = Calculator::New();
  q->SetCalibration(c);
  q->SetLabelImage(Draw<LabelType>(100, 100, [](int x, int y) { return InLungs(x, y); }));
  q->SetProbabilityImage(Draw<ProbabilityType>(100, 100, [](int x, int y) { return InLungs(x, y) ? 0.99 : 0.01; }));
  q->Compute();
  EXPECT_NEAR(q->GetScore(), 1.0 / (1.0 + std::exp(-(-0.5 + 2.0 * 0.24))), 1e-12);
  EXPECT_EQ(q->GetSignals()[0], q->GetAreaFraction());
}

TEST(LungMaskQuality, RefusesMissingInputsAndNonFiniteProbabilities)
{
  auto q = Calculator::New();
  EXPECT_THROW(q->Compute(), itk::ExceptionObject);
  q->SetLabelImage(Draw<LabelType>(10, 10, [](int, int) { return 1; }));
  q->SetProbabilityImage(
    Draw<ProbabilityType>(10, 10, [](int x, int) { return x == 3 ? std::numeric_limits<double>::quiet_NaN() : 0.9; }));
  EXPECT_THROW(q->Compute(), itk::ExceptionObject);
}
