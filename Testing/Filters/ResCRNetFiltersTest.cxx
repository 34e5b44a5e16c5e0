// SPDX-License-Identifier: Apache-2.0
// Unit tests of the ITK filters that need no network: preprocessing, equalization, post-processing, metrics.
#include "itkCXRPreprocessImageFilter.h"
#include "itkHistogramEqualizationImageFilter.h"
#include "itkLungMaskPostprocessImageFilter.h"
#include "itkLungSegmentationMetrics.h"

#include "itkBinaryContourImageFilter.h"
#include "itkHausdorffDistanceImageFilter.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkRGBPixel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

namespace
{

template <typename TImage>
typename TImage::Pointer
MakeImage(const typename TImage::SizeType & size, typename TImage::PixelType value = {})
{
  auto image = TImage::New();
  image->SetRegions(typename TImage::RegionType(size));
  image->Allocate();
  image->FillBuffer(value);
  return image;
}

// A 2D image from rows of values (rows[y][x]).
template <typename TImage>
typename TImage::Pointer
MakeImage2D(const std::vector<std::vector<double>> & rows)
{
  typename TImage::SizeType size;
  size[0] = rows.front().size();
  size[1] = rows.size();
  auto image = MakeImage<TImage>(size);
  for (size_t y = 0; y < rows.size(); ++y)
  {
    for (size_t x = 0; x < rows[y].size(); ++x)
    {
      image->SetPixel({ { static_cast<itk::IndexValueType>(x), static_cast<itk::IndexValueType>(y) } },
                      static_cast<typename TImage::PixelType>(rows[y][x]));
    }
  }
  return image;
}

template <typename TImage>
std::vector<double>
Values(const TImage * image)
{
  std::vector<double> values;
  for (itk::ImageRegionConstIterator<TImage> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    values.push_back(static_cast<double>(it.Get()));
  }
  return values;
}

itk::Matrix<double, 2, 2>
FlipX()
{
  itk::Matrix<double, 2, 2> direction;
  direction.SetIdentity();
  direction(0, 0) = -1.0;
  return direction;
}

using FloatImage = itk::Image<float, 2>;
using UCharImage = itk::Image<unsigned char, 2>;

// 2x2 input [[0, 255], [5, 255]] resized to 4 x 3: cv2.resize(a, (4, 3), interpolation=cv2.INTER_LINEAR) on the
// float64 image gives, with x weights (1 | .75/.25 | .25/.75 | 1) and y weights (row 0 | 0.5/0.5 | row 1):
const std::vector<double> TinyResized = { 0.0, 63.75,  191.25,  255.0, //
                                          2.5, 65.625, 191.875, 255.0, //
                                          5.0, 67.5,   192.5,   255.0 };
// and cv2.convertScaleAbs rounds ties to even (2.5 -> 2, 67.5 -> 68, 192.5 -> 192):
const std::vector<double> TinyRounded = { 0, 64, 191, 255, 2, 66, 192, 255, 5, 68, 192, 255 };

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// CXRPreprocessImageFilter

TEST(CXRPreprocess, MatchesOpenCVResizeOnTinyImage)
{
  auto input = MakeImage2D<UCharImage>({ { 0, 255 }, { 5, 255 } });
  auto filter = itk::CXRPreprocessImageFilter<UCharImage>::New();
  filter->SetInput(input);
  filter->SetGridSize(4, 3);
  filter->RoundToIntegerOff();
  filter->Update();
  EXPECT_EQ(filter->GetOutput()->GetLargestPossibleRegion().GetSize(), (itk::Size<2>{ { 4, 3 } }));
  const auto values = Values(filter->GetOutput());
  ASSERT_EQ(values.size(), TinyResized.size());
  for (size_t i = 0; i < values.size(); ++i)
  {
    EXPECT_DOUBLE_EQ(values[i], TinyResized[i]) << "pixel " << i;
  }

  filter->RoundToIntegerOn();
  filter->Update();
  EXPECT_EQ(Values(filter->GetOutput()), TinyRounded);
  EXPECT_EQ(filter->GetInputMinimum(), 0.0);
  EXPECT_EQ(filter->GetInputMaximum(), 255.0);
}

TEST(CXRPreprocess, MinMaxScalesTo255AndConstantImageGivesZeros)
{
  // 16-bit input with range 1000..3000: (v - 1000) / 2000 * 255; identity grid.
  using UShortImage = itk::Image<unsigned short, 2>;
  auto input = MakeImage2D<UShortImage>({ { 1000, 2000 }, { 3000, 1500 } });
  auto filter = itk::CXRPreprocessImageFilter<UShortImage>::New();
  filter->SetInput(input);
  filter->SetGridSize(2, 2);
  filter->RoundToIntegerOff();
  filter->Update();
  EXPECT_EQ(Values(filter->GetOutput()), (std::vector<double>{ 0.0, 127.5, 255.0, 63.75 }));

  auto constant = MakeImage<FloatImage>({ { 5, 4 } }, 42.0f);
  auto constantFilter = itk::CXRPreprocessImageFilter<FloatImage>::New();
  constantFilter->SetInput(constant);
  constantFilter->SetGridSize(7, 3);
  constantFilter->Update();
  const auto values = Values(constantFilter->GetOutput());
  EXPECT_EQ(values.size(), 21u);
  EXPECT_TRUE(std::all_of(values.begin(), values.end(), [](double v) { return v == 0.0; }));
}

TEST(CXRPreprocess, GeometryKeepsThePhysicalExtentWithFlippedDirection)
{
  auto         input = MakeImage2D<FloatImage>({ { 0, 255 }, { 5, 255 } });
  const double spacing[2] = { 0.7, 1.3 };
  const double origin[2] = { 10.0, -20.0 };
  input->SetSpacing(spacing);
  input->SetOrigin(origin);
  input->SetDirection(FlipX());

  auto filter = itk::CXRPreprocessImageFilter<FloatImage>::New();
  filter->SetInput(input);
  filter->SetGridSize(4, 3);
  filter->Update();
  const FloatImage * output = filter->GetOutput();

  EXPECT_DOUBLE_EQ(output->GetSpacing()[0], 0.7 * 2 / 4);
  EXPECT_DOUBLE_EQ(output->GetSpacing()[1], 1.3 * 2 / 3);
  EXPECT_EQ(output->GetDirection(), FlipX());
  // Pixel 0's centre is at input continuous index (-0.25, -1/6); x runs backwards.
  EXPECT_NEAR(output->GetOrigin()[0], 10.0 + 0.7 * 0.25, 1e-12);
  EXPECT_NEAR(output->GetOrigin()[1], -20.0 - 1.3 / 6.0, 1e-12);
  // The outer pixel edges coincide.
  for (const auto & corner : { std::pair<double, double>{ -0.5, -0.5 }, std::pair<double, double>{ 1.5, 1.5 } })
  {
    itk::ContinuousIndex<double, 2> inputIndex;
    inputIndex[0] = corner.first;
    inputIndex[1] = corner.second;
    FloatImage::PointType point;
    input->TransformContinuousIndexToPhysicalPoint(inputIndex, point);
    itk::ContinuousIndex<double, 2> outputIndex;
    output->TransformPhysicalPointToContinuousIndex(point, outputIndex);
    EXPECT_NEAR(outputIndex[0], corner.first < 0 ? -0.5 : 3.5, 1e-9);
    EXPECT_NEAR(outputIndex[1], corner.second < 0 ? -0.5 : 2.5, 1e-9);
  }
  // The geometry does not change the values (the resize is in index space).
  EXPECT_EQ(Values(output), TinyRounded);
}

TEST(CXRPreprocess, SingleSlice3DInputKeepsOneSlice)
{
  using Image3D = itk::Image<unsigned short, 3>;
  auto                 input = MakeImage<Image3D>({ { 2, 2, 1 } });
  const unsigned short v[4] = { 0, 255, 5, 255 };
  std::copy(v, v + 4, input->GetBufferPointer());
  const double spacing[3] = { 0.5, 0.5, 2.5 };
  const double origin[3] = { 1.0, 2.0, 7.0 };
  input->SetSpacing(spacing);
  input->SetOrigin(origin);

  auto filter = itk::CXRPreprocessImageFilter<Image3D>::New();
  filter->SetInput(input);
  filter->SetGridSize(4, 3);
  filter->Update();
  const auto * output = filter->GetOutput();
  EXPECT_EQ(output->GetLargestPossibleRegion().GetSize(), (itk::Size<3>{ { 4, 3, 1 } }));
  EXPECT_DOUBLE_EQ(output->GetSpacing()[2], 2.5);
  EXPECT_DOUBLE_EQ(output->GetOrigin()[2], 7.0);
  EXPECT_EQ(Values(output), TinyRounded);
}

TEST(CXRPreprocess, RGBInputUsesLuma)
{
  using RGBImage = itk::Image<itk::RGBPixel<unsigned char>, 2>;
  auto                input = MakeImage<RGBImage>({ { 2, 2 } });
  const unsigned char grey[4] = { 0, 255, 5, 255 };
  for (int i = 0; i < 4; ++i)
  {
    itk::RGBPixel<unsigned char> p;
    p.Fill(grey[i]);
    input->GetBufferPointer()[i] = p;
  }
  auto filter = itk::CXRPreprocessImageFilter<RGBImage>::New();
  filter->SetInput(input);
  filter->SetGridSize(4, 3);
  filter->RoundToIntegerOff();
  filter->Update();
  const auto values = Values(filter->GetOutput());
  for (size_t i = 0; i < values.size(); ++i)
  {
    EXPECT_NEAR(values[i], TinyResized[i], 1e-9) << "pixel " << i;
  }
  // Pure red is darker than pure green (Rec. 601 weights 0.299 and 0.587).
  itk::RGBPixel<unsigned char> red, green;
  red.Set(255, 0, 0);
  green.Set(0, 255, 0);
  EXPECT_NEAR(itk::CXRGrayValue<itk::RGBPixel<unsigned char>>::Convert(red), 0.299 * 255, 1e-9);
  EXPECT_NEAR(itk::CXRGrayValue<itk::RGBPixel<unsigned char>>::Convert(green), 0.587 * 255, 1e-9);
}

TEST(CXRPreprocess, RejectsAnEmptyGrid)
{
  auto filter = itk::CXRPreprocessImageFilter<UCharImage>::New();
  filter->SetInput(MakeImage2D<UCharImage>({ { 1, 2 } }));
  filter->SetGridSize(0, 3);
  EXPECT_THROW(filter->Update(), itk::ExceptionObject);
}

// ---------------------------------------------------------------------------------------------------------------
// HistogramEqualizationImageFilter

TEST(HistogramEqualization, MatchesHandComputedCdfMapping)
{
  // Levels 10 x2, 20 x3, 30 x1, 40 x3 (N = 9). First level i0 = 10, scale = 255 / (9 - 2):
  // lut[10] = 0, lut[20] = round(3 * 255/7 = 109.29) = 109, lut[30] = round(4 * 255/7 = 145.71) = 146,
  // lut[40] = round(7 * 255/7) = 255.
  auto input = MakeImage2D<UCharImage>({ { 10, 10, 20 }, { 20, 20, 30 }, { 40, 40, 40 } });
  auto filter = itk::HistogramEqualizationImageFilter<UCharImage>::New();
  filter->SetInput(input);
  filter->Update();
  EXPECT_EQ(Values(filter->GetOutput()), (std::vector<double>{ 0, 0, 109, 109, 109, 146, 255, 255, 255 }));
  EXPECT_EQ(filter->GetHistogram()[20], 3u);
  EXPECT_EQ(filter->GetHistogram()[40], 3u);
}

TEST(HistogramEqualization, LookupTableRoundsTiesToEvenLikeOpenCV)
{
  // N - hist[i0] = 10, so scale = 25.5f exactly: 3 * 25.5 = 76.5 rounds to 76 (cvRound), 10 * 25.5 = 255.
  itk::HistogramEqualizationImageFilter<UCharImage>::CountArrayType histogram{};
  histogram[0] = 1;
  histogram[1] = 3;
  histogram[2] = 7;
  const auto lut = itk::HistogramEqualizationImageFilter<UCharImage>::ComputeLookupTable(histogram);
  EXPECT_EQ(lut[0], 0);
  EXPECT_EQ(lut[1], 76);
  EXPECT_EQ(lut[2], 255);
}

TEST(HistogramEqualization, SingleLevelImageIsUnchanged)
{
  auto input = MakeImage<UCharImage>({ { 4, 3 } }, 77);
  auto filter = itk::HistogramEqualizationImageFilter<UCharImage>::New();
  filter->SetInput(input);
  filter->Update();
  const auto values = Values(filter->GetOutput());
  EXPECT_TRUE(std::all_of(values.begin(), values.end(), [](double v) { return v == 77.0; }));
}

TEST(HistogramEqualization, FloatInputIsRoundedToLevelsAnd3DIsGlobal)
{
  // 19.6 and 20.4 are level 20; -3 clamps to 0; 300 clamps to 255. Levels 0 x1, 20 x2, 255 x1:
  // lut[0] = 0, lut[20] = round(2 * 255/3) = 170, lut[255] = 255.
  using Float3D = itk::Image<float, 3>;
  auto        input = MakeImage<Float3D>({ { 2, 2, 1 } });
  const float v[4] = { 19.6f, -3.0f, 300.0f, 20.4f };
  std::copy(v, v + 4, input->GetBufferPointer());
  auto filter = itk::HistogramEqualizationImageFilter<Float3D>::New();
  filter->SetInput(input);
  filter->Update();
  EXPECT_EQ(Values(filter->GetOutput()), (std::vector<double>{ 170, 0, 255, 170 }));
  EXPECT_EQ(filter->GetOutput()->GetLargestPossibleRegion().GetSize(), (itk::Size<3>{ { 2, 2, 1 } }));
}

// ---------------------------------------------------------------------------------------------------------------
// LungMaskPostprocessImageFilter

namespace
{

// 30 x 20 probabilities: blob A (x 2..9, y 2..11, 80 px) with a 2x2 hole (x 5..6, y 6..7), blob B (x 20..25,
// y 5..10, 36 px), a one-pixel speck at (15, 17), and one pixel at exactly 0.5 (not foreground).
FloatImage::Pointer
BlobProbabilities()
{
  auto image = MakeImage<FloatImage>({ { 30, 20 } }, 0.1f);
  for (itk::IndexValueType y = 0; y < 20; ++y)
  {
    for (itk::IndexValueType x = 0; x < 30; ++x)
    {
      const bool a = x >= 2 && x <= 9 && y >= 2 && y <= 11 && !(x >= 5 && x <= 6 && y >= 6 && y <= 7);
      const bool b = x >= 20 && x <= 25 && y >= 5 && y <= 10;
      if (a || b)
      {
        image->SetPixel({ { x, y } }, 0.9f);
      }
    }
  }
  image->SetPixel({ { 15, 17 } }, 0.95f);
  image->SetPixel({ { 15, 2 } }, 0.5f);
  return image;
}

std::map<int, int>
LabelCounts(const UCharImage * image)
{
  std::map<int, int> counts;
  for (itk::ImageRegionConstIterator<UCharImage> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    ++counts[it.Get()];
  }
  return counts;
}

} // namespace

TEST(LungMaskPostprocess, KeepsTwoLargestComponentsAndFillsHoles)
{
  auto filter = itk::LungMaskPostprocessImageFilter<FloatImage>::New();
  filter->SetInput(BlobProbabilities());
  filter->Update();
  const UCharImage * mask = filter->GetOutput();
  EXPECT_EQ(filter->GetNumberOfDetectedComponents(), 3u);
  EXPECT_EQ(LabelCounts(mask)[1], 80 + 36);     // hole filled, speck removed
  EXPECT_EQ(mask->GetPixel({ { 5, 6 } }), 1);   // the hole
  EXPECT_EQ(mask->GetPixel({ { 15, 17 } }), 0); // the speck
  EXPECT_EQ(mask->GetPixel({ { 15, 2 } }), 0);  // p == threshold is background
  EXPECT_EQ(LabelCounts(mask).size(), 2u);      // 0/1 output

  filter->SkipHoleFillingOn();
  filter->Update();
  EXPECT_EQ(LabelCounts(filter->GetOutput())[1], 76 + 36);

  filter->SkipComponentSelectionOn();
  filter->Update();
  EXPECT_EQ(LabelCounts(filter->GetOutput())[1], 76 + 36 + 1);

  filter->SkipComponentSelectionOff();
  filter->SkipHoleFillingOff();
  filter->SetNumberOfComponents(1);
  filter->Update();
  EXPECT_EQ(LabelCounts(filter->GetOutput())[1], 80);

  filter->SetNumberOfComponents(0); // all
  filter->Update();
  EXPECT_EQ(LabelCounts(filter->GetOutput())[1], 80 + 36 + 1);

  filter->SetNumberOfComponents(2);
  filter->SetThreshold(0.92);
  filter->Update();
  EXPECT_EQ(LabelCounts(filter->GetOutput())[1], 1); // only the speck is above 0.92
}

TEST(LungMaskPostprocess, LabelsRightAndLeftLungsFromThePhysicalX)
{
  // Blob A has the smaller column index. With the identity direction it has the smaller physical x, so it is the
  // patient's right lung (1); with direction diag(-1, 1) the columns run towards -x and A is the left lung (2).
  auto probabilities = BlobProbabilities();
  auto filter = itk::LungMaskPostprocessImageFilter<FloatImage>::New();
  filter->SetInput(probabilities);
  filter->LabelLeftRightOn();
  filter->Update();
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 3, 3 } }), 1);
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 21, 6 } }), 2);
  EXPECT_EQ(LabelCounts(filter->GetOutput())[1], 80);
  EXPECT_EQ(LabelCounts(filter->GetOutput())[2], 36);

  probabilities->SetDirection(FlipX());
  filter->Modified();
  filter->Update();
  EXPECT_EQ(filter->GetOutput()->GetDirection(), FlipX());
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 3, 3 } }), 2);
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 21, 6 } }), 1);

  // A single component is labelled by the side of the image centre it lies on.
  filter->SetNumberOfComponents(1);
  filter->Update();
  EXPECT_EQ(filter->GetOutput()->GetPixel({ { 3, 3 } }), 2); // flipped: low columns are at +x
  EXPECT_EQ(LabelCounts(filter->GetOutput()).count(1), 0u);
}

TEST(LungMaskPostprocess, ResamplesOntoTheReferenceGridWithEdgeClamping)
{
  // Probabilities on a 4 x 3 grid (spacing 2, flipped x); left two columns lung. The reference (any pixel type)
  // has spacing 1 over the same extent plus one extra pixel on every side, so its outer pixels lie beyond the
  // outer pixel centres of the probability grid, where only an edge-replicating extrapolator gives a value.
  auto probabilities = MakeImage<FloatImage>({ { 4, 3 } }, 0.0f);
  for (itk::IndexValueType y = 0; y < 3; ++y)
  {
    probabilities->SetPixel({ { 0, y } }, 1.0f);
    probabilities->SetPixel({ { 1, y } }, 1.0f);
  }
  const double spacing[2] = { 2.0, 2.0 };
  const double origin[2] = { 100.0, 50.0 };
  probabilities->SetSpacing(spacing);
  probabilities->SetOrigin(origin);
  probabilities->SetDirection(FlipX());

  using ShortImage = itk::Image<short, 2>;
  auto reference = MakeImage<ShortImage>({ { 10, 8 } });
  reference->SetDirection(FlipX());
  // Probability pixel (0, 0) covers [-0.5, 0.5] in index, i.e. x in [101, 99], y in [49, 51]; the reference's
  // pixel 1 starts at that edge, its pixel 0 lies outside.
  const double referenceOrigin[2] = { 100.0 + 1.0 - 0.5 + 1.0, 50.0 - 1.0 + 0.5 - 1.0 };
  reference->SetOrigin(referenceOrigin);

  auto filter = itk::LungMaskPostprocessImageFilter<FloatImage>::New();
  filter->SetInput(probabilities);
  filter->SetReferenceImage(reference);
  filter->SkipComponentSelectionOn();
  filter->Update();
  const UCharImage * mask = filter->GetOutput();
  EXPECT_EQ(mask->GetLargestPossibleRegion(), reference->GetLargestPossibleRegion());
  EXPECT_EQ(mask->GetSpacing(), reference->GetSpacing());
  EXPECT_EQ(mask->GetOrigin(), reference->GetOrigin());
  EXPECT_EQ(mask->GetDirection(), reference->GetDirection());
  // Reference column k maps to probability column (k - 1.5) / 2: columns 0..3 see p = 1 (column 0 and rows 0 and
  // 7 only through the extrapolator), column 4 sees 0.75, column 5 sees 0.25 and 6..9 see 0.
  for (itk::IndexValueType y = 0; y < 8; ++y)
  {
    for (itk::IndexValueType x = 0; x < 10; ++x)
    {
      EXPECT_EQ(mask->GetPixel({ { x, y } }), x <= 4 ? 1 : 0) << "at " << x << ", " << y;
    }
  }
}

TEST(LungMaskPostprocess, SingleSlice3D)
{
  using Float3D = itk::Image<float, 3>;
  using UChar3D = itk::Image<unsigned char, 3>;
  auto       probabilities = MakeImage<Float3D>({ { 30, 20, 1 } });
  const auto blobs = BlobProbabilities();
  std::copy(blobs->GetBufferPointer(), blobs->GetBufferPointer() + 600, probabilities->GetBufferPointer());
  auto filter = itk::LungMaskPostprocessImageFilter<Float3D, UChar3D>::New();
  filter->SetInput(probabilities);
  filter->LabelLeftRightOn();
  filter->Update();
  const auto values = Values(filter->GetOutput());
  EXPECT_EQ(std::count(values.begin(), values.end(), 1.0), 80);
  EXPECT_EQ(std::count(values.begin(), values.end(), 2.0), 36);
  EXPECT_EQ(filter->GetOutput()->GetLargestPossibleRegion().GetSize(), (itk::Size<3>{ { 30, 20, 1 } }));
}

// ---------------------------------------------------------------------------------------------------------------
// LungSegmentationMetrics

namespace
{

UCharImage::Pointer
Square(itk::IndexValueType x0, itk::IndexValueType y0, itk::IndexValueType side, unsigned char label = 1)
{
  auto         image = MakeImage<UCharImage>({ { 30, 30 } });
  const double spacing[2] = { 0.5, 0.5 };
  const double origin[2] = { -3.0, 4.0 };
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  for (itk::IndexValueType y = y0; y < y0 + side; ++y)
  {
    for (itk::IndexValueType x = x0; x < x0 + side; ++x)
    {
      image->SetPixel({ { x, y } }, label);
    }
  }
  return image;
}

// Brute-force surface distances: surface = foreground pixels with a background face neighbour.
std::vector<double>
BruteForceSurfaceDistances(const UCharImage * a, const UCharImage * b)
{
  const auto surface = [](const UCharImage * image) {
    std::vector<itk::Index<2>> points;
    const auto                 region = image->GetLargestPossibleRegion();
    for (itk::ImageRegionConstIteratorWithIndex<UCharImage> it(image, region); !it.IsAtEnd(); ++it)
    {
      if (!it.Get())
      {
        continue;
      }
      bool border = false;
      for (unsigned int d = 0; d < 2; ++d)
      {
        for (int step : { -1, 1 })
        {
          auto n = it.GetIndex();
          n[d] += step;
          border = border || (region.IsInside(n) && image->GetPixel(n) == 0);
        }
      }
      if (border)
      {
        points.push_back(it.GetIndex());
      }
    }
    return points;
  };
  const auto sa = surface(a);
  const auto sb = surface(b);
  const auto directed = [&a](const std::vector<itk::Index<2>> & from, const std::vector<itk::Index<2>> & to) {
    std::vector<double> d;
    for (const auto & p : from)
    {
      double best = std::numeric_limits<double>::infinity();
      for (const auto & q : to)
      {
        const double dx = (p[0] - q[0]) * a->GetSpacing()[0];
        const double dy = (p[1] - q[1]) * a->GetSpacing()[1];
        best = std::min(best, std::sqrt(dx * dx + dy * dy));
      }
      d.push_back(best);
    }
    return d;
  };
  auto       pooled = directed(sa, sb);
  const auto back = directed(sb, sa);
  pooled.insert(pooled.end(), back.begin(), back.end());
  return pooled;
}

} // namespace

TEST(LungSegmentationMetrics, TwoOffsetSquares)
{
  // 10 x 10 squares, the reference shifted by 3 pixels in x; spacing 0.5 mm; 30 x 30 pixels.
  auto segmentation = Square(5, 5, 10);
  auto reference = Square(8, 5, 10, 2); // any nonzero label is foreground
  auto metrics = itk::LungSegmentationMetrics<UCharImage>::New();
  metrics->SetSegmentation(segmentation);
  metrics->SetReference(reference);
  metrics->Compute();

  EXPECT_EQ(metrics->GetTruePositives(), 70u);
  EXPECT_EQ(metrics->GetFalsePositives(), 30u);
  EXPECT_EQ(metrics->GetFalseNegatives(), 30u);
  EXPECT_EQ(metrics->GetTrueNegatives(), 900u - 130u);
  EXPECT_DOUBLE_EQ(metrics->GetDice(), 0.7);
  EXPECT_DOUBLE_EQ(metrics->GetF1(), 0.7);
  EXPECT_DOUBLE_EQ(metrics->GetJaccard(), 70.0 / 130.0);
  EXPECT_DOUBLE_EQ(metrics->GetPrecision(), 0.7);
  EXPECT_DOUBLE_EQ(metrics->GetRecall(), 0.7);
  EXPECT_DOUBLE_EQ(metrics->GetPixelAccuracy(), (70.0 + 770.0) / 900.0);
  EXPECT_NEAR(metrics->GetHausdorffDistance(), 1.5, 1e-6);

  // The same as ITK's HausdorffDistanceImageFilter between the contours.
  using ContourType = itk::BinaryContourImageFilter<UCharImage, UCharImage>;
  auto c1 = ContourType::New();
  c1->SetInput(segmentation);
  c1->SetForegroundValue(1);
  auto c2 = ContourType::New();
  c2->SetInput(reference);
  c2->SetForegroundValue(2);
  auto hausdorff = itk::HausdorffDistanceImageFilter<UCharImage, UCharImage>::New();
  hausdorff->SetInput1(c1->GetOutput());
  hausdorff->SetInput2(c2->GetOutput());
  hausdorff->Update();
  EXPECT_NEAR(metrics->GetHausdorffDistance(), hausdorff->GetHausdorffDistance(), 1e-6);

  // HD95 and the mean surface distance against a brute-force evaluation of the documented definitions.
  auto pooled = BruteForceSurfaceDistances(segmentation, reference);
  ASSERT_EQ(metrics->GetSurfaceDistances().size(), pooled.size());
  double sum = 0.0;
  for (double d : pooled)
  {
    sum += d;
  }
  EXPECT_NEAR(metrics->GetMeanSurfaceDistance(), sum / static_cast<double>(pooled.size()), 1e-6);
  std::sort(pooled.begin(), pooled.end());
  const double rank = 0.95 * static_cast<double>(pooled.size() - 1);
  const auto   lo = static_cast<size_t>(rank);
  const double hd95 = pooled[lo] + (pooled[std::min(lo + 1, pooled.size() - 1)] - pooled[lo]) * (rank - lo);
  EXPECT_NEAR(metrics->GetHausdorffDistance95(), hd95, 1e-6);
  EXPECT_GT(metrics->GetMeanSurfaceDistance(), 0.0);
  EXPECT_LT(metrics->GetMeanSurfaceDistance(), metrics->GetHausdorffDistance95() + 1e-9);
}

TEST(LungSegmentationMetrics, PercentileInterpolatesLikeNumpy)
{
  // numpy.percentile([1, 2, 3, 4], 95) = 3.85; of [5] = 5.
  EXPECT_NEAR(itk::LungSegmentationMetrics<UCharImage>::Percentile({ 4, 1, 3, 2 }, 95.0), 3.85, 1e-12);
  EXPECT_EQ(itk::LungSegmentationMetrics<UCharImage>::Percentile({ 5 }, 95.0), 5.0);
  EXPECT_TRUE(std::isnan(itk::LungSegmentationMetrics<UCharImage>::Percentile({}, 95.0)));
}

TEST(LungSegmentationMetrics, IdenticalAndEmptyMasks)
{
  auto metrics = itk::LungSegmentationMetrics<UCharImage>::New();
  auto square = Square(5, 5, 10);
  metrics->SetSegmentation(square);
  metrics->SetReference(square);
  metrics->Compute();
  EXPECT_EQ(metrics->GetDice(), 1.0);
  EXPECT_EQ(metrics->GetHausdorffDistance(), 0.0);
  EXPECT_EQ(metrics->GetMeanSurfaceDistance(), 0.0);

  auto empty = Square(0, 0, 0);
  metrics->SetSegmentation(empty);
  metrics->SetReference(empty);
  metrics->Compute();
  EXPECT_EQ(metrics->GetDice(), 1.0);
  EXPECT_EQ(metrics->GetJaccard(), 1.0);
  EXPECT_EQ(metrics->GetPrecision(), 1.0);
  EXPECT_EQ(metrics->GetRecall(), 1.0);
  EXPECT_EQ(metrics->GetPixelAccuracy(), 1.0);
  EXPECT_EQ(metrics->GetHausdorffDistance(), 0.0);

  metrics->SetSegmentation(empty);
  metrics->SetReference(square);
  metrics->Compute();
  EXPECT_EQ(metrics->GetDice(), 0.0);
  EXPECT_EQ(metrics->GetPrecision(), 0.0);
  EXPECT_EQ(metrics->GetRecall(), 0.0);
  EXPECT_TRUE(std::isinf(metrics->GetHausdorffDistance()));
  EXPECT_TRUE(std::isinf(metrics->GetHausdorffDistance95()));
  EXPECT_TRUE(std::isinf(metrics->GetMeanSurfaceDistance()));
  EXPECT_DOUBLE_EQ(metrics->GetPixelAccuracy(), 800.0 / 900.0);
}

TEST(LungSegmentationMetrics, DifferentGridsThrowWithBothSizes)
{
  auto metrics = itk::LungSegmentationMetrics<UCharImage>::New();
  metrics->SetSegmentation(Square(5, 5, 10));
  metrics->SetReference(MakeImage<UCharImage>({ { 31, 30 } }));
  try
  {
    metrics->Compute();
    FAIL() << "expected an exception";
  }
  catch (const itk::ExceptionObject & e)
  {
    const std::string message = e.GetDescription();
    EXPECT_NE(message.find("[30, 30]"), std::string::npos) << message;
    EXPECT_NE(message.find("[31, 30]"), std::string::npos) << message;
  }

  auto         shifted = Square(5, 5, 10);
  const double origin[2] = { 0.0, 0.0 };
  shifted->SetOrigin(origin);
  metrics->SetReference(shifted);
  EXPECT_THROW(metrics->Compute(), itk::ExceptionObject);

  auto unset = itk::LungSegmentationMetrics<UCharImage>::New();
  EXPECT_THROW(unset->Compute(), itk::ExceptionObject);
}

// ---------------------------------------------------------------------------------------------------------------
// Progress events and PrintSelf

namespace
{

// Runs the filter and returns the progress values it reported.
std::vector<float>
ProgressOf(itk::ProcessObject * filter)
{
  std::vector<float> progress;
  filter->AddObserver(itk::ProgressEvent(),
                      [&progress, filter](const itk::EventObject &) { progress.push_back(filter->GetProgress()); });
  filter->Update();
  return progress;
}

} // namespace

TEST(FilterConventions, ProgressReachesOneAndPrintSelfNamesTheSettings)
{
  auto preprocess = itk::CXRPreprocessImageFilter<UCharImage>::New();
  preprocess->SetInput(MakeImage2D<UCharImage>({ { 0, 255 }, { 5, 255 } }));
  preprocess->SetGridSize(4, 3);
  auto equalize = itk::HistogramEqualizationImageFilter<FloatImage>::New();
  equalize->SetInput(preprocess->GetOutput());
  auto postprocess = itk::LungMaskPostprocessImageFilter<FloatImage>::New();
  postprocess->SetInput(BlobProbabilities());
  postprocess->LabelLeftRightOn();

  for (itk::ProcessObject * filter : std::vector<itk::ProcessObject *>{ preprocess, equalize, postprocess })
  {
    const auto progress = ProgressOf(filter);
    ASSERT_FALSE(progress.empty()) << filter->GetNameOfClass();
    EXPECT_FLOAT_EQ(progress.back(), 1.0f) << filter->GetNameOfClass();
    // (ProgressAccumulator does not make the mini-pipelines' progress monotonic.)
    EXPECT_TRUE(std::all_of(progress.begin(), progress.end(), [](float p) { return p >= 0.0f && p <= 1.0f; }));
  }

  std::ostringstream text;
  preprocess->Print(text);
  equalize->Print(text);
  postprocess->Print(text);
  auto metrics = itk::LungSegmentationMetrics<UCharImage>::New();
  metrics->Print(text);
  for (const char * setting : { "GridSize: [4, 3]",
                                "RoundToInteger: On",
                                "LookupTable:",
                                "Threshold: 0.5",
                                "LabelLeftRight: On",
                                "NumberOfDetectedComponents: 3",
                                "HausdorffDistance95:" })
  {
    EXPECT_NE(text.str().find(setting), std::string::npos) << setting;
  }
}
