// SPDX-License-Identifier: Apache-2.0
// Real-data tests of the filters against the reference fixtures in the shared data (skipped when it is absent):
// preprocessing + equalization must reproduce the OpenCV pipeline's 8-bit network input, the post-processing of the
// reference softmax must give the reference lung pixel counts and Dice, and the composite filter with the default
// model must give the masks of the four filters chained by hand, bit for bit.
#include "itkCXRLungSegmentationImageFilter.h"
#include "itkCXRPreprocessImageFilter.h"
#include "itkHistogramEqualizationImageFilter.h"
#include "itkLungMaskPostprocessImageFilter.h"
#include "itkLungSegmentationMetrics.h"

#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"

#include "ResCRNetTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <iostream>
#include <vector>

namespace
{

using UCharImage = itk::Image<unsigned char, 2>;
using FloatImage = itk::Image<float, 2>;

struct ReferenceCase
{
  const char * id;
  long         lungPixels; // p0 > 0.5 at 300 x 340 (reference README)
  double       dice;       // lung Dice of the reference model vs the ground truth at 256 x 256 (reference README)
};

void
PrintTo(const ReferenceCase & c, std::ostream * os)
{
  *os << c.id;
}

const ReferenceCase Cases[] = { { "MCUCXR_0006_0", 14644, 0.9489 },
                                { "MCUCXR_0117_1", 14945, 0.9485 },
                                { "CHNCXR_0004_0", 23074, 0.9635 },
                                { "CHNCXR_0334_1", 30260, 0.9791 } };

UCharImage::Pointer
ReadUChar(const std::filesystem::path & path)
{
  auto reader = itk::ImageFileReader<UCharImage>::New();
  reader->SetFileName(path.string());
  reader->Update();
  return reader->GetOutput();
}

std::vector<float>
ReadFloats(const std::filesystem::path & path, size_t count)
{
  std::vector<float> values(count);
  std::ifstream      in(path, std::ios::binary);
  in.read(reinterpret_cast<char *>(values.data()), static_cast<std::streamsize>(count * sizeof(float)));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), count * sizeof(float)) << path;
  return values;
}

class ReferenceFixture : public ::testing::TestWithParam<ReferenceCase>
{};

} // namespace

TEST_P(ReferenceFixture, PreprocessAndEqualizeReproduceTheNetworkInput)
{
  const std::string id = GetParam().id;
  RESCRNET_SHARED_OR_SKIP(imagePath, "data/cxr-lungs-256/images/" + id + ".png");
  RESCRNET_SHARED_OR_SKIP(equalizedPath, "models/cxr-net/reference/" + id + "_equalized_300x340_u8.png");
  RESCRNET_SHARED_OR_SKIP(inputPath, "models/cxr-net/reference/" + id + "_input_1x300x340_f32.raw");

  auto preprocess = itk::CXRPreprocessImageFilter<UCharImage>::New(); // default grid 340 x 300
  preprocess->SetInput(ReadUChar(imagePath));
  auto equalize = itk::HistogramEqualizationImageFilter<FloatImage>::New();
  equalize->SetInput(preprocess->GetOutput());
  equalize->Update();
  const FloatImage * result = equalize->GetOutput();
  ASSERT_EQ(result->GetLargestPossibleRegion().GetSize(), (itk::Size<2>{ { 340, 300 } }));

  const auto expected = ReadUChar(equalizedPath);
  ASSERT_EQ(expected->GetLargestPossibleRegion().GetSize(), (itk::Size<2>{ { 340, 300 } }));
  const std::vector<float> input = ReadFloats(inputPath, 340 * 300);

  size_t differing = 0;
  double maxDifference = 0.0;
  size_t inputMismatches = 0;
  for (size_t i = 0; i < 340 * 300; ++i)
  {
    const float  level = result->GetBufferPointer()[i];
    const double difference = std::abs(static_cast<double>(level) - expected->GetBufferPointer()[i]);
    differing += difference > 0.0 ? 1 : 0;
    maxDifference = std::max(maxDifference, difference);
    // The network input float32(eq / 255.0), bit for bit.
    const float scaled = level / 255.0f;
    inputMismatches += std::memcmp(&scaled, &input[i], sizeof(float)) != 0 ? 1 : 0;
  }
  std::cout << id << ": " << differing << " of " << 340 * 300 << " equalized pixels differ, max |difference| "
            << maxDifference << "; " << inputMismatches << " network inputs differ from the float32 reference"
            << std::endl;
  RecordProperty("DifferingPixels", static_cast<int>(differing));
  RecordProperty("MaxAbsDifference", static_cast<int>(maxDifference));
  EXPECT_EQ(differing, 0u);
  EXPECT_EQ(maxDifference, 0.0);
  EXPECT_EQ(inputMismatches, 0u);
}

TEST_P(ReferenceFixture, PostprocessingOfTheReferenceSoftmax)
{
  const std::string id = GetParam().id;
  RESCRNET_SHARED_OR_SKIP(imagePath, "data/cxr-lungs-256/images/" + id + ".png");
  RESCRNET_SHARED_OR_SKIP(maskPath, "data/cxr-lungs-256/masks/" + id + ".png");
  RESCRNET_SHARED_OR_SKIP(softmaxPath, "models/cxr-net/reference/" + id + "_jms_softmax_2x300x340_f32.raw");

  // The lung probability (channel 0) on the network grid of the source image.
  const auto image = ReadUChar(imagePath);
  auto       preprocess = itk::CXRPreprocessImageFilter<UCharImage>::New();
  preprocess->SetInput(image);
  preprocess->UpdateOutputInformation();
  auto probability = FloatImage::New();
  probability->CopyInformation(preprocess->GetOutput());
  probability->SetRegions(preprocess->GetOutput()->GetLargestPossibleRegion());
  probability->Allocate();
  const std::vector<float> softmax = ReadFloats(softmaxPath, 2 * 340 * 300);
  std::copy(softmax.begin(), softmax.begin() + 340 * 300, probability->GetBufferPointer());

  // Threshold only, on the network grid: the reference count of p0 > 0.5.
  auto thresholdOnly = itk::LungMaskPostprocessImageFilter<FloatImage>::New();
  thresholdOnly->SetInput(probability);
  thresholdOnly->SkipComponentSelectionOn();
  thresholdOnly->SkipHoleFillingOn();
  thresholdOnly->Update();
  long lungPixels = 0;
  for (itk::ImageRegionConstIterator<UCharImage> it(thresholdOnly->GetOutput(),
                                                    thresholdOnly->GetOutput()->GetLargestPossibleRegion());
       !it.IsAtEnd();
       ++it)
  {
    lungPixels += it.Get();
  }
  EXPECT_EQ(lungPixels, GetParam().lungPixels);

  // The full post-processing back on the 256 x 256 grid, against the ground truth.
  auto postprocess = itk::LungMaskPostprocessImageFilter<FloatImage>::New();
  postprocess->SetInput(probability);
  postprocess->SetReferenceImage(image);
  postprocess->LabelLeftRightOn();
  postprocess->Update();
  const UCharImage * mask = postprocess->GetOutput();
  ASSERT_EQ(mask->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
  long right = 0;
  long left = 0;
  for (itk::ImageRegionConstIterator<UCharImage> it(mask, mask->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    right += it.Get() == 1 ? 1 : 0;
    left += it.Get() == 2 ? 1 : 0;
  }
  EXPECT_GT(right, 1000);
  EXPECT_GT(left, 1000);

  auto metrics = itk::LungSegmentationMetrics<UCharImage>::New();
  metrics->SetSegmentation(mask);
  metrics->SetReference(ReadUChar(maskPath));
  metrics->Compute();
  std::cout << id << ": " << postprocess->GetNumberOfDetectedComponents() << " components, Dice " << metrics->GetDice()
            << " (reference " << GetParam().dice << "), Jaccard " << metrics->GetJaccard() << ", HD "
            << metrics->GetHausdorffDistance() << ", HD95 " << metrics->GetHausdorffDistance95() << ", ASSD "
            << metrics->GetMeanSurfaceDistance() << ", accuracy " << metrics->GetPixelAccuracy() << std::endl;
  EXPECT_NEAR(metrics->GetDice(), GetParam().dice, 0.01);
}

INSTANTIATE_TEST_SUITE_P(Reference,
                         ReferenceFixture,
                         ::testing::ValuesIn(Cases),
                         [](const ::testing::TestParamInfo<ReferenceCase> & info) { return info.param.id; });

// The composite filter is the chain the applications used to wire by hand: same label maps and probability maps,
// bit for bit, on real radiographs with the project's default model.
TEST_P(ReferenceFixture, CompositeFilterEqualsTheChainWithTheDefaultModel)
{
  const std::string id = GetParam().id;
  RESCRNET_SHARED_OR_SKIP(imagePath, "data/cxr-lungs-256/images/" + id + ".png");
  const auto modelPath = rescrnet::testing::SourceDirectory() / "Data" / "Models" / "ResCRNet-lungs-default.rcn";
  ASSERT_TRUE(std::filesystem::exists(modelPath)) << modelPath;
  const auto predictor = std::make_shared<const rescrnet::Predictor>(rescrnet::Predictor::FromFile(modelPath.string()));

  auto reader = itk::ImageFileReader<FloatImage>::New();
  reader->SetFileName(imagePath.string());
  reader->Update();
  const FloatImage::Pointer image = reader->GetOutput();

  // The chain: the network once, the post-processing for each setting.
  auto preprocess = itk::CXRPreprocessImageFilter<FloatImage, FloatImage>::New();
  preprocess->SetInput(image);
  preprocess->SetGridSize(predictor->info().input.width, predictor->info().input.height);
  auto equalize = itk::HistogramEqualizationImageFilter<FloatImage>::New();
  equalize->SetInput(preprocess->GetOutput());
  auto segment = itk::ResCRNetSegmentationImageFilter<FloatImage>::New();
  segment->SetInput(equalize->GetOutput());
  segment->SetPredictor(predictor);
  segment->Update();
  const auto probability = itk::LungMaskPostprocessImageFilter<FloatImage, UCharImage>::ResampleProbability(
    segment->GetProbabilityOutput(), image);

  for (const bool leftRight : { true, false })
  {
    for (const bool skip : { false, true })
    {
      auto post = itk::LungMaskPostprocessImageFilter<FloatImage, UCharImage>::New();
      post->SetInput(segment->GetProbabilityOutput());
      post->SetReferenceImage(image);
      post->SetSkipComponentSelection(skip);
      post->SetSkipHoleFilling(skip);
      post->SetLabelLeftRight(leftRight && !skip);
      post->Update();

      auto composite = itk::CXRLungSegmentationImageFilter<FloatImage, UCharImage>::New();
      composite->SetInput(image);
      composite->SetPredictor(predictor);
      composite->SetLabelLeftRight(leftRight);
      composite->SetSkipPostprocessing(skip);
      composite->Update();

      const size_t pixels = image->GetLargestPossibleRegion().GetNumberOfPixels();
      EXPECT_EQ(composite->GetOutput()->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
      EXPECT_EQ(std::memcmp(composite->GetOutput()->GetBufferPointer(), post->GetOutput()->GetBufferPointer(), pixels),
                0)
        << id << " leftRight " << leftRight << " skip " << skip;
      EXPECT_EQ(std::memcmp(composite->GetProbabilityOutput()->GetBufferPointer(),
                            probability->GetBufferPointer(),
                            pixels * sizeof(float)),
                0)
        << id;
      size_t lungs = 0;
      for (size_t i = 0; i < pixels; ++i)
        lungs += composite->GetOutput()->GetBufferPointer()[i] != 0;
      EXPECT_GT(lungs, pixels / 10) << id; // real lungs, not two empty masks
    }
  }
}
