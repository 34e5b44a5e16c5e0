// SPDX-License-Identifier: Apache-2.0
// Synthetic radiographs for the viewer's tests (a bright body with two dark lungs and a bright square marker at the
// patient's right shoulder, so that any mirror or flip shows), their label maps, and PNG comparison against the
// committed baselines in Testing/Data/Visualization (RESCRNET_UPDATE_BASELINES=1 rewrites them). Header-only.
#ifndef VizTestData_h
#define VizTestData_h

#include "ResCRNetTestSupport.h"

#include "rescrnet/viz/Layers.h"
#include "rescrnet/viz/Render.h"

#include "../IO/SyntheticDicom.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

namespace rescrnet::testing
{

using viz::GreyImage;
using viz::LabelImage;
using viz::RGBImage;

template <typename TImage>
typename TImage::Pointer
NewImage(unsigned w, unsigned h, typename TImage::PixelType value = {})
{
  auto                        image = TImage::New();
  typename TImage::RegionType region;
  region.SetSize({ { w, h } });
  image->SetRegions(region);
  image->Allocate();
  image->FillBuffer(value);
  return image;
}

// Lung k (1 = the patient's right = the viewer's left, 2 = left) at pixel (x, y) of a w x h phantom, or 0.
inline unsigned char
PhantomLung(double x, double y, unsigned w, unsigned h, double shift = 0.0)
{
  const double u = (x + 0.5) / w, v = (y + 0.5) / h;
  if (std::pow((u - 0.3 - shift) / 0.14, 2) + std::pow((v - 0.52) / 0.3, 2) < 1)
    return 1;
  if (std::pow((u - 0.7 - shift) / 0.14, 2) + std::pow((v - 0.52) / 0.3, 2) < 1)
    return 2;
  return 0;
}

// Grey values 0..1000: body 800, lungs 200 with a gentle gradient, background 50, the marker 1000.
inline GreyImage::Pointer
Phantom(unsigned w = 96, unsigned h = 80)
{
  auto image = NewImage<GreyImage>(w, h, 50.0f);
  for (unsigned y = 0; y < h; ++y)
    for (unsigned x = 0; x < w; ++x)
    {
      const double u = (x + 0.5) / w, v = (y + 0.5) / h;
      float        value = 50.0f;
      if (std::pow((u - 0.5) / 0.45, 2) + std::pow((v - 0.55) / 0.45, 2) < 1)
        value = 800.0f;
      if (PhantomLung(x, y, w, h))
        value = static_cast<float>(200.0 + 60.0 * v);
      if (x >= 3 && x < 13 && y >= 3 && y < 13)
        value = 1000.0f; // marker: the patient's right, up
      image->SetPixel({ { x, y } }, value);
    }
  return image;
}

inline LabelImage::Pointer
PhantomLabels(unsigned w = 96, unsigned h = 80, double shift = 0.0, bool leftRight = true)
{
  auto labels = NewImage<LabelImage>(w, h, 0);
  for (unsigned y = 0; y < h; ++y)
    for (unsigned x = 0; x < w; ++x)
    {
      const unsigned char l = PhantomLung(x, y, w, h, shift);
      labels->SetPixel({ { x, y } }, leftRight ? l : (l ? 1 : 0));
    }
  return labels;
}

inline GreyImage::Pointer
PhantomProbability(unsigned w = 96, unsigned h = 80)
{
  auto p = NewImage<GreyImage>(w, h, 0.0f);
  for (unsigned y = 0; y < h; ++y)
    for (unsigned x = 0; x < w; ++x)
    {
      // Soft edges: the mean of the lung indicator over a 5x5 neighbourhood.
      int count = 0;
      for (int dy = -2; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx)
          count += PhantomLung(x + dx, y + dy, w, h) != 0;
      p->SetPixel({ { x, y } }, count / 25.0f);
    }
  return p;
}

template <typename TImage>
void
Write(const TImage * image, const std::filesystem::path & path)
{
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path.string());
  writer->Update();
}

// The phantom stored three ways in `dir`: phantom.png as is; phantom.nrrd, a one-slice volume with x mirrored, its
// direction saying so (-x) and 0.5 mm pixels; phantom.dcm with x mirrored and Patient Orientation R\F. Shown as
// radiologists expect, all three have the marker at the viewer's top left.
inline void
WriteOrientationPhantoms(const std::filesystem::path & dir)
{
  auto grey = Phantom();
  using UShortImage = itk::Image<unsigned short, 2>;
  auto png = NewImage<UShortImage>(96, 80);
  for (unsigned i = 0; i < 96 * 80; ++i)
    png->GetBufferPointer()[i] = static_cast<unsigned short>(grey->GetBufferPointer()[i]);
  Write(png.GetPointer(), dir / "phantom.png");

  using Volume = itk::Image<float, 3>;
  auto               nrrd = Volume::New();
  Volume::RegionType region;
  region.SetSize({ { 96, 80, 1 } });
  nrrd->SetRegions(region);
  nrrd->Allocate();
  SyntheticRadiograph dicom;
  dicom.columns = 96;
  dicom.rows = 80;
  for (unsigned y = 0; y < 80; ++y)
    for (unsigned x = 0; x < 96; ++x)
    {
      const float mirrored = grey->GetPixel({ { 95 - x, y } });
      nrrd->SetPixel({ { x, y, 0 } }, mirrored);
      dicom.pixels.push_back(static_cast<unsigned short>(mirrored));
    }
  Volume::DirectionType direction;
  direction.SetIdentity();
  direction[0][0] = -1.0; // x runs to the patient's right
  nrrd->SetDirection(direction);
  Volume::SpacingType spacing;
  spacing.Fill(0.5);
  nrrd->SetSpacing(spacing);
  Write(nrrd.GetPointer(), dir / "phantom.nrrd");
  dicom.edit = [](DcmDataset & ds) { ds.putAndInsertString(DCM_PatientOrientation, "R\\F"); };
  WriteSyntheticRadiograph(dicom, dir / "phantom.dcm");
}

inline RGBImage::Pointer
ReadRGB(const std::filesystem::path & path)
{
  auto reader = itk::ImageFileReader<RGBImage>::New();
  reader->SetFileName(path.string());
  reader->Update();
  return reader->GetOutput();
}

// Not blank: many distinct colours and a spread of brightness.
inline ::testing::AssertionResult
NotBlank(const RGBImage * image)
{
  std::set<unsigned> colours;
  double             sum = 0, sum2 = 0;
  const auto *       p = image->GetBufferPointer();
  const size_t       n = image->GetPixelContainer()->Size();
  for (size_t i = 0; i < n; ++i)
  {
    colours.insert((p[i][0] << 16) | (p[i][1] << 8) | p[i][2]);
    const double v = (p[i][0] + p[i][1] + p[i][2]) / 3.0;
    sum += v;
    sum2 += v * v;
  }
  const double mean = sum / n, sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
  if (colours.size() < 8 || sd < 10.0)
    return ::testing::AssertionFailure() << "blank picture: " << colours.size() << " colours, brightness sd " << sd;
  return ::testing::AssertionSuccess() << colours.size() << " colours, sd " << sd;
}

// The committed baseline of `name` (Testing/Data/Visualization/<name>.png).
inline std::filesystem::path
BaselinePath(const std::string & name)
{
  return SourceDirectory() / "Testing" / "Data" / "Visualization" / (name + ".png");
}

// Compares `image` with its baseline: same size, mean absolute difference per channel at most `meanTolerance` and
// at most `fraction` of the pixels off by more than 40 in some channel (Mesa versions differ in rounding and line
// rasterization). With RESCRNET_UPDATE_BASELINES=1 the baseline is rewritten instead.
inline ::testing::AssertionResult
MatchesBaseline(const std::filesystem::path & picture,
                const std::string &           name,
                double                        meanTolerance = 3.0,
                double                        fraction = 0.02)
{
  const auto baseline = BaselinePath(name);
  if (const char * update = std::getenv("RESCRNET_UPDATE_BASELINES"); update && std::string(update) == "1")
  {
    std::filesystem::create_directories(baseline.parent_path());
    std::filesystem::copy_file(picture, baseline, std::filesystem::copy_options::overwrite_existing);
    return ::testing::AssertionSuccess() << "baseline " << baseline << " rewritten";
  }
  if (!std::filesystem::exists(baseline))
    return ::testing::AssertionFailure() << "no baseline " << baseline << " (RESCRNET_UPDATE_BASELINES=1 writes it)";
  auto a = ReadRGB(picture);
  auto b = ReadRGB(baseline);
  if (a->GetLargestPossibleRegion().GetSize() != b->GetLargestPossibleRegion().GetSize())
    return ::testing::AssertionFailure() << "size " << a->GetLargestPossibleRegion().GetSize()
                                         << " but the baseline is " << b->GetLargestPossibleRegion().GetSize();
  const auto * pa = a->GetBufferPointer();
  const auto * pb = b->GetBufferPointer();
  const size_t n = a->GetPixelContainer()->Size();
  double       total = 0;
  size_t       off = 0;
  for (size_t i = 0; i < n; ++i)
  {
    int worst = 0;
    for (int c = 0; c < 3; ++c)
    {
      const int d = std::abs(static_cast<int>(pa[i][c]) - static_cast<int>(pb[i][c]));
      total += d;
      worst = std::max(worst, d);
    }
    off += worst > 40;
  }
  const double mean = total / (3.0 * n);
  if (mean > meanTolerance || off > fraction * n)
    return ::testing::AssertionFailure() << picture << " differs from " << baseline << ": mean difference " << mean
                                         << ", " << off << " of " << n << " pixels off by more than 40";
  return ::testing::AssertionSuccess() << "mean difference " << mean << ", " << off << " pixels off";
}

} // namespace rescrnet::testing

#endif
