// SPDX-License-Identifier: Apache-2.0
// Unit tests of ResCRNetSegmentationImageFilter with a tiny randomly initialised network saved to a temporary file.
#include "itkResCRNetSegmentationImageFilter.h"

#include "itkImageRegionIterator.h"

#include "rescrnet/ModelFile.h"
#include "rescrnet/Predictor.h"

#include "ResCRNetTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <random>

namespace
{

using FloatImage = itk::Image<float, 2>;
using FilterType = itk::ResCRNetSegmentationImageFilter<FloatImage>;

rescrnet::NetworkConfig
TinyConfig()
{
  rescrnet::NetworkConfig config = rescrnet::NetworkConfig::LungDefault();
  config.convResBlocks = 1;
  config.blockDropout = { 0.05, 0.0 };
  return config;
}

struct ResCRNetSegmentationFilterTest : ::testing::Test
{
  void
  SetUp() override
  {
    torch::manual_seed(11);
    directory = rescrnet::testing::TemporaryDirectory();
    modelPath = (directory / "tiny.rcn").string();
    rescrnet::ResCRNet network(TinyConfig());
    {
      // Non-trivial batch-norm statistics, so that the two classes get distinct probabilities.
      torch::NoGradGuard guard;
      for (auto & buffer : network->named_buffers())
      {
        if (buffer.key().find("running_var") != std::string::npos)
        {
          buffer.value().uniform_(0.5, 1.5);
        }
        else if (buffer.key().find("running_mean") != std::string::npos)
        {
          buffer.value().uniform_(-0.2, 0.2);
        }
      }
    }
    rescrnet::ModelInfo info;
    info.architecture = TinyConfig();
    info.provenance["kind"] = "trained";
    info.provenance["by"] = "ResCRNetSegmentationFilterTest";
    rescrnet::SaveModel(modelPath, network, info);

    // A 23 x 17 image of levels 0..255 with non-unit spacing, a non-zero origin and a flipped x axis.
    image = FloatImage::New();
    image->SetRegions(itk::Size<2>{ { 23, 17 } });
    image->Allocate();
    std::mt19937                       random(3);
    std::uniform_int_distribution<int> level(0, 255);
    for (itk::ImageRegionIterator<FloatImage> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
    {
      it.Set(static_cast<float>(level(random)));
    }
    const double spacing[2] = { 0.7, 1.3 };
    const double origin[2] = { 12.5, -40.0 };
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    FloatImage::DirectionType direction;
    direction.SetIdentity();
    direction(0, 0) = -1.0;
    image->SetDirection(direction);
  }

  // The predictor's output for the image, computed directly: [1, classes, H, W].
  torch::Tensor
  DirectPrediction(const FloatImage * input) const
  {
    const auto    size = input->GetLargestPossibleRegion().GetSize();
    torch::Tensor x = torch::empty({ 1, 1, static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]) });
    float *       data = x.data_ptr<float>();
    for (size_t i = 0; i < input->GetLargestPossibleRegion().GetNumberOfPixels(); ++i)
    {
      data[i] = input->GetBufferPointer()[i] / 255.0f;
    }
    return rescrnet::Predictor::FromFile(modelPath).predict(x).contiguous();
  }

  std::filesystem::path directory;
  std::string           modelPath;
  FloatImage::Pointer   image;
};

} // namespace

TEST_F(ResCRNetSegmentationFilterTest, MatchesThePredictorAndKeepsTheGeometry)
{
  auto filter = FilterType::New();
  filter->SetModelFileName(modelPath);
  filter->SetInput(image);
  filter->SetNumberOfThreads(1);
  filter->Update();
  const auto * output = filter->GetOutput();
  const auto * lungs = filter->GetProbabilityOutput();

  EXPECT_EQ(filter->GetNumberOfClasses(), 2u);
  EXPECT_EQ(filter->GetClassNames(), (std::vector<std::string>{ "lungs", "non_lungs" }));
  EXPECT_EQ(output->GetNumberOfComponentsPerPixel(), 2u);
  for (const itk::ImageBase<2> * result :
       { static_cast<const itk::ImageBase<2> *>(output), static_cast<const itk::ImageBase<2> *>(lungs) })
  {
    EXPECT_EQ(result->GetLargestPossibleRegion(), image->GetLargestPossibleRegion());
    EXPECT_EQ(result->GetSpacing(), image->GetSpacing());
    EXPECT_EQ(result->GetOrigin(), image->GetOrigin());
    EXPECT_EQ(result->GetDirection(), image->GetDirection());
  }

  const torch::Tensor expected = DirectPrediction(image);
  const float *       e = expected.data_ptr<float>();
  const size_t        plane = 23 * 17;
  double              maxDifference = 0.0;
  double              maxSumError = 0.0;
  float               minimum = 1.0f;
  float               maximum = 0.0f;
  for (size_t p = 0; p < plane; ++p)
  {
    const float * v = output->GetBufferPointer() + 2 * p;
    maxDifference = std::max({ maxDifference,
                               std::abs(static_cast<double>(v[0]) - e[p]),
                               std::abs(static_cast<double>(v[1]) - e[plane + p]),
                               std::abs(static_cast<double>(lungs->GetBufferPointer()[p]) - e[p]) });
    maxSumError = std::max(maxSumError, std::abs(static_cast<double>(v[0]) + v[1] - 1.0));
    minimum = std::min(minimum, v[0]);
    maximum = std::max(maximum, v[0]);
  }
  EXPECT_LE(maxDifference, 1e-6);
  EXPECT_LE(maxSumError, 1e-5);
  EXPECT_LT(minimum, maximum); // not a constant output
}

TEST_F(ResCRNetSegmentationFilterTest, SharedPredictorClassIndexAndUnscaledInput)
{
  auto predictor = std::make_shared<rescrnet::Predictor>(rescrnet::Predictor::FromFile(modelPath));
  auto first = FilterType::New();
  first->SetPredictor(predictor);
  first->SetInput(image);
  first->Update();

  // Class 1 on output 1; the input already divided by 255 with the scaling off gives the same probabilities.
  auto scaled = FloatImage::New();
  scaled->CopyInformation(image);
  scaled->SetRegions(image->GetLargestPossibleRegion());
  scaled->Allocate();
  for (size_t i = 0; i < image->GetLargestPossibleRegion().GetNumberOfPixels(); ++i)
  {
    scaled->GetBufferPointer()[i] = image->GetBufferPointer()[i] / 255.0f;
  }
  auto second = FilterType::New();
  second->SetPredictor(predictor);
  second->SetProbabilityClassIndex(1);
  second->ScaleInputBy255Off();
  second->SetInput(scaled);
  second->Update();
  EXPECT_EQ(first->GetPredictor(), second->GetPredictor());

  for (size_t p = 0; p < 23 * 17; ++p)
  {
    EXPECT_EQ(first->GetOutput()->GetBufferPointer()[2 * p + 1], second->GetProbabilityOutput()->GetBufferPointer()[p]);
    ASSERT_EQ(first->GetOutput()->GetBufferPointer()[2 * p], second->GetOutput()->GetBufferPointer()[2 * p]);
  }
}

TEST_F(ResCRNetSegmentationFilterTest, SingleSlice3DMatches2D)
{
  using Float3D = itk::Image<float, 3>;
  auto volume = Float3D::New();
  volume->SetRegions(itk::Size<3>{ { 23, 17, 1 } });
  volume->Allocate();
  std::copy(image->GetBufferPointer(), image->GetBufferPointer() + 23 * 17, volume->GetBufferPointer());
  const double spacing[3] = { 0.7, 1.3, 3.0 };
  volume->SetSpacing(spacing);

  auto filter3D = itk::ResCRNetSegmentationImageFilter<Float3D>::New();
  filter3D->SetModelFileName(modelPath);
  filter3D->SetInput(volume);
  filter3D->Update();
  EXPECT_EQ(filter3D->GetOutput()->GetLargestPossibleRegion().GetSize(), (itk::Size<3>{ { 23, 17, 1 } }));
  EXPECT_EQ(filter3D->GetProbabilityOutput()->GetSpacing()[2], 3.0);

  auto filter2D = FilterType::New();
  filter2D->SetModelFileName(modelPath);
  filter2D->SetInput(image);
  filter2D->Update();
  for (size_t p = 0; p < 23 * 17; ++p)
  {
    ASSERT_NEAR(filter3D->GetProbabilityOutput()->GetBufferPointer()[p],
                filter2D->GetProbabilityOutput()->GetBufferPointer()[p],
                1e-6)
      << "pixel " << p;
  }
}

TEST_F(ResCRNetSegmentationFilterTest, ErrorsBecomeITKExceptions)
{
  auto noModel = FilterType::New();
  noModel->SetInput(image);
  try
  {
    noModel->Update();
    FAIL() << "expected an exception";
  }
  catch (const itk::ExceptionObject & e)
  {
    EXPECT_NE(std::string(e.GetDescription()).find("SetModelFileName"), std::string::npos) << e.GetDescription();
  }

  auto missing = FilterType::New();
  missing->SetInput(image);
  missing->SetModelFileName((directory / "missing.rcn").string());
  EXPECT_THROW(missing->Update(), itk::ExceptionObject);

  const auto notAModel = directory / "not-a-model.rcn";
  {
    std::ofstream out(notAModel);
    out << "hello";
  }
  auto corrupt = FilterType::New();
  corrupt->SetInput(image);
  corrupt->SetModelFileName(notAModel.string());
  try
  {
    corrupt->Update();
    FAIL() << "expected an exception";
  }
  catch (const itk::ExceptionObject & e)
  {
    EXPECT_NE(std::string(e.GetDescription()).find("not-a-model.rcn"), std::string::npos) << e.GetDescription();
  }

  auto badClass = FilterType::New();
  badClass->SetInput(image);
  badClass->SetModelFileName(modelPath);
  badClass->SetProbabilityClassIndex(2);
  EXPECT_THROW(badClass->Update(), itk::ExceptionObject);
}
