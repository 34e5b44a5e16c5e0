// SPDX-License-Identifier: Apache-2.0
// CXRLungSegmentationImageFilter against the four filters chained by hand (bit for bit), its options, outputs,
// progress and errors, with a tiny random network on a synthetic radiograph.
#include "itkCXRLungSegmentationImageFilter.h"
#include "itkCXRNetworkInputImageFilter.h"

#include "itkCommand.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"

#include "ResCRNetTestData.h"
#include "ResCRNetTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

namespace
{

using Image2D = itk::Image<float, 2>;
using Image3D = itk::Image<float, 3>;
using Label2D = itk::Image<unsigned char, 2>;

// A 64 x 56 "radiograph": a bright body with two darker lung fields, non-unit spacing, an origin and x flipped.
template <typename TImage>
typename TImage::Pointer
SyntheticRadiograph()
{
  auto                      image = TImage::New();
  typename TImage::SizeType size;
  size.Fill(1);
  typename TImage::RegionType region(size);
  region.SetSize(0, 64);
  region.SetSize(1, 56);
  image->SetRegions(region);
  image->Allocate();
  for (itk::ImageRegionIteratorWithIndex<TImage> it(image, region); !it.IsAtEnd(); ++it)
  {
    const double x = it.GetIndex()[0];
    const double y = it.GetIndex()[1];
    const bool   lung = std::hypot((x - 18) / 10, (y - 28) / 18) < 1 || std::hypot((x - 46) / 10, (y - 28) / 18) < 1;
    it.Set(static_cast<float>(lung ? 40 + (static_cast<int>(x + y) % 20) : 180 + (static_cast<int>(x) % 40)));
  }
  typename TImage::SpacingType spacing;
  spacing.Fill(1.0);
  spacing[0] = 0.7;
  spacing[1] = 1.3;
  image->SetSpacing(spacing);
  typename TImage::PointType origin;
  origin.Fill(0.0);
  origin[0] = 12.5;
  origin[1] = -40.0;
  image->SetOrigin(origin);
  typename TImage::DirectionType direction;
  direction.SetIdentity();
  direction(0, 0) = -1.0;
  image->SetDirection(direction);
  return image;
}

struct Settings
{
  double   threshold{ 0.5 };
  unsigned components{ 2 };
  bool     skip{ false };
  bool     leftRight{ false };
};

// The four filters chained by hand, as the applications did before the composite filter existed.
template <typename TImage, typename TLabel>
std::pair<typename TLabel::Pointer, Image2D::Pointer>
ExplicitChain(const TImage * image, const std::shared_ptr<const rescrnet::Predictor> & predictor, const Settings & s)
{
  using FloatImage = itk::Image<float, TImage::ImageDimension>;
  auto preprocess = itk::CXRPreprocessImageFilter<TImage, FloatImage>::New();
  preprocess->SetInput(image);
  preprocess->SetGridSize(predictor->info().input.width, predictor->info().input.height);
  auto equalize = itk::HistogramEqualizationImageFilter<FloatImage>::New();
  equalize->SetInput(preprocess->GetOutput());
  auto segment = itk::ResCRNetSegmentationImageFilter<FloatImage>::New();
  segment->SetInput(equalize->GetOutput());
  segment->SetPredictor(predictor);
  auto post = itk::LungMaskPostprocessImageFilter<FloatImage, TLabel>::New();
  post->SetInput(segment->GetProbabilityOutput());
  post->SetReferenceImage(image);
  post->SetThreshold(s.threshold);
  post->SetNumberOfComponents(s.components);
  post->SetSkipComponentSelection(s.skip);
  post->SetSkipHoleFilling(s.skip);
  post->SetLabelLeftRight(s.leftRight && !s.skip);
  post->Update();
  typename TLabel::Pointer labels = post->GetOutput();
  labels->DisconnectPipeline();
  Image2D::Pointer probability;
  if constexpr (TImage::ImageDimension == 2)
  {
    probability = itk::LungMaskPostprocessImageFilter<FloatImage, TLabel>::ResampleProbability(
      segment->GetProbabilityOutput(), image);
  }
  return { labels, probability };
}

template <typename TA, typename TB>
bool
SamePixelsAndGrid(const TA * a, const TB * b)
{
  static_assert(sizeof(typename TA::PixelType) == sizeof(typename TB::PixelType));
  if (a->GetLargestPossibleRegion() != b->GetLargestPossibleRegion() || a->GetSpacing() != b->GetSpacing() ||
      a->GetOrigin() != b->GetOrigin() || a->GetDirection() != b->GetDirection())
    return false;
  return std::memcmp(a->GetBufferPointer(),
                     b->GetBufferPointer(),
                     a->GetLargestPossibleRegion().GetNumberOfPixels() * sizeof(typename TA::PixelType)) == 0;
}

template <typename TImage>
size_t
CountNonZero(const TImage * image)
{
  size_t n = 0;
  for (itk::ImageRegionConstIterator<TImage> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
    n += it.Get() != 0;
  return n;
}

struct CXRLungSegmentationFilterTest : ::testing::Test
{
  void
  SetUp() override
  {
    directory = rescrnet::testing::TemporaryDirectory();
    modelPath = rescrnet::testing::WriteTinyLungModel(directory).string();
    predictor = std::make_shared<const rescrnet::Predictor>(rescrnet::Predictor::FromFile(modelPath));
  }

  std::filesystem::path                      directory;
  std::string                                modelPath;
  std::shared_ptr<const rescrnet::Predictor> predictor;
};

} // namespace

TEST_F(CXRLungSegmentationFilterTest, EqualsTheExplicitChainBitForBit)
{
  const auto image = SyntheticRadiograph<Image2D>();
  for (const Settings & s : { Settings{},
                              Settings{ 0.5, 2, false, true },
                              Settings{ 0.5, 2, true, true },
                              Settings{ 0.45, 1, false, true },
                              Settings{ 0.55, 0, false, false } })
  {
    auto filter = itk::CXRLungSegmentationImageFilter<Image2D>::New();
    filter->SetInput(image);
    filter->SetPredictor(predictor);
    filter->SetThreshold(s.threshold);
    filter->SetNumberOfComponents(s.components);
    filter->SetSkipPostprocessing(s.skip);
    filter->SetLabelLeftRight(s.leftRight);
    filter->Update();
    const auto [labels, probability] = ExplicitChain<Image2D, Label2D>(image, predictor, s);
    const std::string what = "threshold " + std::to_string(s.threshold) + ", components " +
                             std::to_string(s.components) + ", skip " + std::to_string(s.skip) + ", leftRight " +
                             std::to_string(s.leftRight);
    EXPECT_TRUE(SamePixelsAndGrid(filter->GetOutput(), labels.GetPointer())) << what;
    EXPECT_TRUE(SamePixelsAndGrid(filter->GetProbabilityOutput(), probability.GetPointer())) << what;
    EXPECT_GT(CountNonZero(labels.GetPointer()), 0u) << what; // the comparison is not between two empty masks
  }
}

TEST_F(CXRLungSegmentationFilterTest, ThreeDimensionalImageWithOneSlice)
{
  const auto image = SyntheticRadiograph<Image3D>();
  auto       filter = itk::CXRLungSegmentationImageFilter<Image3D>::New();
  filter->SetInput(image);
  filter->SetModelFileName(modelPath);
  filter->LabelLeftRightOn();
  filter->Update();
  const auto chain =
    ExplicitChain<Image3D, itk::Image<unsigned char, 3>>(image, predictor, Settings{ 0.5, 2, false, true });
  EXPECT_TRUE(SamePixelsAndGrid(filter->GetOutput(), chain.first.GetPointer()));
  EXPECT_EQ(filter->GetProbabilityOutput()->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
  EXPECT_EQ(filter->GetProbabilityOutput()->GetDirection(), image->GetDirection());
}

TEST_F(CXRLungSegmentationFilterTest, OptionsAndModel)
{
  auto filter = itk::CXRLungSegmentationImageFilter<Image2D>::New();
  EXPECT_DOUBLE_EQ(filter->GetThreshold(), 0.5);
  EXPECT_EQ(filter->GetNumberOfComponents(), 2u);
  EXPECT_FALSE(filter->GetSkipPostprocessing());
  EXPECT_FALSE(filter->GetLabelLeftRight());
  EXPECT_TRUE(filter->GetGenerateProbabilityMap());
  EXPECT_EQ(filter->GetNumberOfThreads(), 0);

  // Setters mark the filter modified only when the value changes.
  const auto before = filter->GetMTime();
  filter->SetModelFileName(modelPath);
  EXPECT_GT(filter->GetMTime(), before);
  const auto afterModel = filter->GetMTime();
  filter->SetModelFileName(modelPath);
  EXPECT_EQ(filter->GetMTime(), afterModel);
  EXPECT_EQ(filter->GetModelFileName(), modelPath);
  ASSERT_NE(filter->GetPredictor(), nullptr);
  EXPECT_EQ(filter->GetPredictor()->info().input.width, 48);

  // A shared predictor takes precedence and is the very object given.
  filter->SetPredictor(predictor);
  EXPECT_EQ(filter->GetPredictor(), predictor);
  filter->SetNumberOfThreads(1);
  EXPECT_EQ(filter->GetNumberOfThreads(), 1);

  std::ostringstream printed;
  filter->Print(printed);
  EXPECT_NE(printed.str().find("Threshold: 0.5"), std::string::npos) << printed.str();

  // Without the probability map, output 1 stays empty; the labels do not change.
  const auto image = SyntheticRadiograph<Image2D>();
  filter->SetInput(image);
  filter->GenerateProbabilityMapOff();
  filter->Update();
  EXPECT_EQ(filter->GetProbabilityOutput()->GetBufferedRegion().GetNumberOfPixels(), 0u);
  const auto chain = ExplicitChain<Image2D, Label2D>(image, predictor, Settings{});
  EXPECT_TRUE(SamePixelsAndGrid(filter->GetOutput(), chain.first.GetPointer()));
}

TEST_F(CXRLungSegmentationFilterTest, ReportsProgressToTheEnd)
{
  auto filter = itk::CXRLungSegmentationImageFilter<Image2D>::New();
  filter->SetInput(SyntheticRadiograph<Image2D>());
  filter->SetPredictor(predictor);
  std::vector<float> seen;
  auto               observer = itk::CStyleCommand::New();
  observer->SetClientData(&seen);
  observer->SetCallback([](itk::Object * caller, const itk::EventObject &, void * data) {
    static_cast<std::vector<float> *>(data)->push_back(static_cast<itk::ProcessObject *>(caller)->GetProgress());
  });
  filter->AddObserver(itk::ProgressEvent(), observer);
  filter->Update();
  ASSERT_GE(seen.size(), 10u);
  EXPECT_LT(seen.front(), 0.1f);
  EXPECT_FLOAT_EQ(seen.back(), 1.0f);
  // The stages' weights: the network (0.75 of the work) ends between 0.8 and 0.9. ITK's internal mini-pipelines
  // (equalization, connected components) step back a little when they start, never by much.
  EXPECT_TRUE(std::any_of(seen.begin(), seen.end(), [](float f) { return f >= 0.8f && f <= 0.9f; }));
  float largestStepBack = 0.0f;
  for (size_t i = 1; i < seen.size(); ++i)
    largestStepBack = std::max(largestStepBack, seen[i - 1] - seen[i]);
  EXPECT_LT(largestStepBack, 0.05f);
}

TEST_F(CXRLungSegmentationFilterTest, NoModelIsAnError)
{
  auto filter = itk::CXRLungSegmentationImageFilter<Image2D>::New();
  filter->SetInput(SyntheticRadiograph<Image2D>());
  EXPECT_THROW(filter->Update(), itk::ExceptionObject);
  filter->SetModelFileName((directory / "missing.rcn").string());
  try
  {
    filter->Update();
    ADD_FAILURE() << "no exception for a missing model file";
  }
  catch (const itk::ExceptionObject & e)
  {
    EXPECT_NE(std::string(e.GetDescription()).find("missing.rcn"), std::string::npos) << e.GetDescription();
  }
}

TEST_F(CXRLungSegmentationFilterTest, NetworkInputIsTheFirstTwoStages)
{
  const auto image = SyntheticRadiograph<Image2D>();
  auto       input = itk::CXRNetworkInputImageFilter<Image2D>::New();
  input->SetInput(image);
  input->SetGridSize(48, 40);
  input->Update();
  auto preprocess = itk::CXRPreprocessImageFilter<Image2D, Image2D>::New();
  preprocess->SetInput(image);
  preprocess->SetGridSize(48, 40);
  auto equalize = itk::HistogramEqualizationImageFilter<Image2D>::New();
  equalize->SetInput(preprocess->GetOutput());
  equalize->Update();
  EXPECT_TRUE(SamePixelsAndGrid(input->GetOutput(), equalize->GetOutput()));
  EXPECT_EQ(input->GetOutput()->GetLargestPossibleRegion().GetSize()[0], 48u);

  // A changed input and grid are followed (the output information comes from the new input, not stale pixels).
  auto smaller = itk::CXRPreprocessImageFilter<Image2D, Image2D>::New();
  smaller->SetInput(image);
  smaller->SetGridSize(32, 28);
  input->SetInput(smaller->GetOutput());
  input->SetGridSize(24, 20);
  input->Update();
  EXPECT_EQ(input->GetOutput()->GetLargestPossibleRegion().GetSize(), (itk::Size<2>{ { 24, 20 } }));
  for (unsigned d = 0; d < 2; ++d)
    EXPECT_NEAR(
      input->GetOutput()->GetSpacing()[d] * (d == 0 ? 24 : 20), image->GetSpacing()[d] * (d == 0 ? 64 : 56), 1e-9);
}
