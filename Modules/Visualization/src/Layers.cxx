// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/Layers.h"

#include "rescrnet/io/DicomRadiograph.h"
#include "rescrnet/io/ImageFile.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkLabelOverlapMeasuresImageFilter.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace rescrnet::viz
{

namespace fs = std::filesystem;

namespace
{

std::string
SizeText(const itk::Size<2> & s)
{
  return std::to_string(s[0]) + "x" + std::to_string(s[1]);
}

// An image read as it is stored: its 2-D pixels with the geometry of its index axes (3-D files with one slice keep
// their full 3-D direction).
template <typename TPixel>
struct StoredImage
{
  typename itk::Image<TPixel, 2>::Pointer image;
  std::array<double, 3>                   origin{ { 0, 0, 0 } };
  std::array<std::array<double, 3>, 2>    columns{ { { { 1, 0, 0 } }, { { 0, 1, 0 } } } }; // unit directions
  std::array<double, 2>                   spacing{ { 1, 1 } };
};

// Copies `in` into display order.
template <typename TPixel>
typename itk::Image<TPixel, 2>::Pointer
Reorient(const itk::Image<TPixel, 2> * in, const DisplayOrientation & o, const std::array<double, 2> & spacing)
{
  const auto                                 size = in->GetLargestPossibleRegion().GetSize();
  const auto                                 w = static_cast<size_t>(o.transpose ? size[1] : size[0]);
  const auto                                 h = static_cast<size_t>(o.transpose ? size[0] : size[1]);
  auto                                       out = itk::Image<TPixel, 2>::New();
  typename itk::Image<TPixel, 2>::RegionType region;
  region.SetSize({ { w, h } });
  out->SetRegions(region);
  out->Allocate();
  typename itk::Image<TPixel, 2>::SpacingType s;
  s[0] = o.transpose ? spacing[1] : spacing[0];
  s[1] = o.transpose ? spacing[0] : spacing[1];
  out->SetSpacing(s);
  const TPixel * src = in->GetBufferPointer();
  TPixel *       dst = out->GetBufferPointer();
  for (size_t j = 0; j < h; ++j)
    for (size_t i = 0; i < w; ++i)
    {
      const size_t x = o.flipX ? w - 1 - i : i; // along the screen's x, in the stored axis mapped there
      const size_t y = o.flipY ? h - 1 - j : j;
      const size_t a0 = o.transpose ? y : x;
      const size_t a1 = o.transpose ? x : y;
      dst[j * w + i] = src[a1 * size[0] + a0];
    }
  return out;
}

template <typename TPixel>
DisplayGeometry
GeometryOf(const StoredImage<TPixel> & s, const DisplayOrientation & o)
{
  const auto size = s.image->GetLargestPossibleRegion().GetSize();
  // Per stored index step, in mm.
  std::array<std::array<double, 3>, 2> step;
  for (unsigned a = 0; a < 2; ++a)
    for (unsigned r = 0; r < 3; ++r)
      step[a][r] = s.columns[a][r] * s.spacing[a];
  // Display axis x follows stored axis (transpose ? 1 : 0), y the other; a flip starts at the far end.
  const unsigned        ax = o.transpose ? 1 : 0, ay = o.transpose ? 0 : 1;
  DisplayGeometry       g;
  std::array<double, 3> origin = s.origin;
  for (unsigned r = 0; r < 3; ++r)
  {
    if (o.flipX)
      origin[r] += step[ax][r] * static_cast<double>(size[ax] - 1);
    if (o.flipY)
      origin[r] += step[ay][r] * static_cast<double>(size[ay] - 1);
    g.axes[0][r] = o.flipX ? -step[ax][r] : step[ax][r];
    g.axes[1][r] = o.flipY ? -step[ay][r] : step[ay][r];
  }
  g.origin = origin;
  return g;
}

// A one-slice volume as a 2-D image sharing its pixels, with its 3-D geometry.
template <typename TPixel>
StoredImage<TPixel>
FromMemory(const itk::Image<TPixel, 3> * volume)
{
  const auto size = volume->GetLargestPossibleRegion().GetSize();
  if (size[2] != 1)
    throw LayerError("a volume with " + std::to_string(size[2]) + " slices is not a radiograph");
  StoredImage<TPixel> s;
  s.image = itk::Image<TPixel, 2>::New();
  typename itk::Image<TPixel, 2>::RegionType region;
  region.SetSize({ { size[0], size[1] } });
  s.image->SetRegions(region);
  s.image->SetPixelContainer(const_cast<typename itk::Image<TPixel, 3>::PixelContainer *>(volume->GetPixelContainer()));
  for (unsigned a = 0; a < 2; ++a)
  {
    s.spacing[a] = volume->GetSpacing()[a];
    for (unsigned r = 0; r < 3; ++r)
      s.columns[a][r] = volume->GetDirection()[r][a];
  }
  for (unsigned r = 0; r < 3; ++r)
    s.origin[r] = volume->GetOrigin()[r];
  return s;
}

template <typename TPixel>
StoredImage<TPixel>
FromMemory(const itk::Image<TPixel, 2> * image)
{
  StoredImage<TPixel> s;
  s.image = const_cast<itk::Image<TPixel, 2> *>(image);
  for (unsigned a = 0; a < 2; ++a)
  {
    s.spacing[a] = image->GetSpacing()[a];
    s.origin[a] = image->GetOrigin()[a];
    for (unsigned r = 0; r < 2; ++r)
      s.columns[a][r] = image->GetDirection()[r][a];
    s.columns[a][2] = 0.0;
  }
  return s;
}

// Reads a 2-D image or a one-slice volume (Modules/IO: the corrupt-PNG guard, one-line errors naming the file).
template <typename TPixel>
StoredImage<TPixel>
ReadAnyStored(const std::string & path)
{
  try
  {
    const auto info = io::ReadImageFileInfo(path);
    if (info.dimension == 3 && info.size[2] == 1)
      return FromMemory<TPixel>(io::ReadImage<itk::Image<TPixel, 3>>(path).GetPointer());
    if (info.dimension != 2)
      throw LayerError("cannot show " + path + ": a " + std::to_string(info.dimension) + "-D image" +
                       (info.dimension == 3 ? " with " + std::to_string(info.size[2]) + " slices" : std::string()) +
                       " is not a radiograph");
    StoredImage<TPixel> stored = FromMemory<TPixel>(io::ReadImage<itk::Image<TPixel, 2>>(path).GetPointer());
    return stored;
  }
  catch (const io::ImageFileError & e)
  {
    throw LayerError(e.what());
  }
}

void
CheckSameSize(const itk::Size<2> & expected,
              const itk::Size<2> & actual,
              const std::string &  what,
              const std::string &  against = "the radiograph")
{
  if (expected != actual)
    throw LayerError(what + " is " + SizeText(actual) + " but " + against + " is " + SizeText(expected));
}

// Label maps: 0, 1, 2 kept; any other value makes the map binary (nonzero = 1).
void
NormalizeLabels(LabelImage * labels, bool binary)
{
  unsigned char * p = labels->GetBufferPointer();
  const size_t    n = labels->GetPixelContainer()->Size();
  const bool      other = std::any_of(p, p + n, [](unsigned char v) { return v > 2; });
  if (binary || other)
    for (size_t i = 0; i < n; ++i)
      p[i] = p[i] != 0 ? 1 : 0;
}

LabelImage::Pointer
LabelsFromFloat(const GreyImage * in)
{
  auto out = LabelImage::New();
  out->SetRegions(in->GetLargestPossibleRegion());
  out->CopyInformation(in);
  out->Allocate();
  const float *   src = in->GetBufferPointer();
  unsigned char * dst = out->GetBufferPointer();
  const size_t    n = in->GetPixelContainer()->Size();
  for (size_t i = 0; i < n; ++i)
  {
    const float v = src[i];
    dst[i] = !(v > 0.0f) ? 0 : v > 255.0f ? 255 : static_cast<unsigned char>(std::lround(v));
  }
  return out;
}

void
NormalizeProbability(GreyImage * p)
{
  float *      b = p->GetBufferPointer();
  const size_t n = p->GetPixelContainer()->Size();
  float        hi = 0.0f;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(b[i]))
      hi = std::max(hi, b[i]);
  const float scale = hi > 1.0f ? (hi <= 255.0f ? 255.0f : hi) : 1.0f;
  for (size_t i = 0; i < n; ++i)
    b[i] = std::isfinite(b[i]) ? std::clamp(b[i] / scale, 0.0f, 1.0f) : 0.0f;
}

// The finishing steps shared by files and memory: every layer into display order and checked against the grey.
struct Assembler
{
  ImageLayers           out;
  DisplayOrientation    orientation;
  itk::Size<2>          storedSize;
  std::array<double, 2> spacing{ { 1, 1 } };

  template <typename TPixel>
  void
  SetGrey(const StoredImage<TPixel> & s)
  {
    orientation = OrientationFromDirection(s.columns);
    storedSize = s.image->GetLargestPossibleRegion().GetSize();
    spacing = s.spacing;
    out.grey = Reorient<float>(s.image, orientation, spacing);
    out.geometry = GeometryOf(s, orientation);
  }
  template <typename TPixel>
  typename itk::Image<TPixel, 2>::Pointer
  Layer(const itk::Image<TPixel, 2> * image, const std::string & what)
  {
    CheckSameSize(storedSize, image->GetLargestPossibleRegion().GetSize(), what);
    return Reorient<TPixel>(image, orientation, spacing);
  }
};

} // namespace

DisplayOrientation
OrientationFromDirection(const std::array<std::array<double, 3>, 2> & columns)
{
  // Screen right: the patient's left (+x). Screen down: +y (2-D files) or the feet (-z).
  const auto         across = [](const std::array<double, 3> & c) { return c[0]; };
  const auto         down = [](const std::array<double, 3> & c) { return c[1] - c[2]; };
  DisplayOrientation o;
  o.transpose = std::fabs(across(columns[1])) > std::fabs(across(columns[0]));
  const auto & x = columns[o.transpose ? 1 : 0];
  const auto & y = columns[o.transpose ? 0 : 1];
  o.flipX = across(x) < 0.0;
  o.flipY = down(y) < 0.0;
  return o;
}

bool
ImageLayers::LeftRight() const
{
  if (!labels)
    return false;
  const unsigned char * p = labels->GetBufferPointer();
  return std::find(p, p + labels->GetPixelContainer()->Size(), 2) != p + labels->GetPixelContainer()->Size();
}

Presentation
PercentilePresentation(const GreyImage * image, double low, double high)
{
  const float *      p = image->GetBufferPointer();
  const size_t       n = image->GetPixelContainer()->Size();
  const size_t       stride = std::max<size_t>(1, n / 1000000);
  std::vector<float> values;
  values.reserve(n / stride + 1);
  for (size_t i = 0; i < n; i += stride)
    if (std::isfinite(p[i]))
      values.push_back(p[i]);
  Presentation out;
  out.source = "1st-99th percentiles";
  if (values.empty())
    return out;
  const auto at = [&](double q) {
    const auto k = static_cast<size_t>(std::llround(q * static_cast<double>(values.size() - 1)));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return static_cast<double>(values[k]);
  };
  const double lo = at(low), hi = at(high);
  out.window = hi > lo ? hi - lo : std::max(1e-6, std::fabs(lo) * 1e-3);
  out.level = hi > lo ? 0.5 * (lo + hi) : lo;
  return out;
}

Presentation
DicomPresentation(const GreyImage * image, const std::string & appliedVOI)
{
  if (appliedVOI.rfind("min-max", 0) == 0 || appliedVOI.empty())
    return PercentilePresentation(image);
  Presentation out;
  out.source = "DICOM " + appliedVOI;
  return out;
}

ImageLayers
LoadLayers(const LayerFiles & files)
{
  Assembler a;
  a.out.path = files.image;
  a.out.name = fs::path(files.image).filename().string();
  a.out.qualityScore = files.qualityScore;
  a.out.qualityFlags = files.qualityFlags;
  if (io::IsDicomFile(files.image))
  {
    io::ReadOptions options;
    options.fixNegativeChest = true; // as the segmentation pipeline reads it
    io::RadiographInfo info;
    StoredImage<float> s;
    try
    {
      s = FromMemory<float>(io::ReadImage<itk::Image<float, 2>>(files.image, options, &info).GetPointer());
    }
    catch (const io::ImageFileError & e)
    {
      throw LayerError(e.what());
    }
    a.SetGrey(s);
    a.out.presentation = DicomPresentation(a.out.grey, info.voi);
    a.out.warnings = info.warnings;
  }
  else
  {
    a.SetGrey(ReadAnyStored<float>(files.image));
    a.out.presentation = PercentilePresentation(a.out.grey);
  }
  if (!files.labels.empty())
  {
    // Read as float: label maps come as 8-bit PNG, 16-bit NRRD, ...
    auto stored = ReadAnyStored<float>(files.labels);
    a.out.labels = a.Layer<unsigned char>(LabelsFromFloat(stored.image), "the label map " + files.labels);
    NormalizeLabels(a.out.labels, false);
  }
  if (!files.reference.empty())
  {
    auto stored = ReadAnyStored<float>(files.reference);
    a.out.reference = a.Layer<unsigned char>(LabelsFromFloat(stored.image), "the reference mask " + files.reference);
    NormalizeLabels(a.out.reference, true);
  }
  if (!files.probability.empty())
  {
    auto stored = ReadAnyStored<float>(files.probability);
    a.out.probability = a.Layer<float>(stored.image, "the probability map " + files.probability);
    NormalizeProbability(a.out.probability);
  }
  if (a.out.labels)
    a.out.labels->SetSpacing(a.out.grey->GetSpacing());
  if (a.out.reference)
    a.out.reference->SetSpacing(a.out.grey->GetSpacing());
  if (a.out.probability)
    a.out.probability->SetSpacing(a.out.grey->GetSpacing());
  return a.out;
}

namespace
{
template <unsigned D>
ImageLayers
MakeLayersOf(const itk::Image<float, D> *         grey,
             const itk::Image<unsigned char, D> * labels,
             const itk::Image<unsigned char, D> * reference,
             const itk::Image<float, D> *         probability,
             const Presentation *                 presentation,
             const std::string &                  name)
{
  if (!grey)
    throw LayerError("no radiograph to show");
  Assembler a;
  a.out.name = name;
  a.SetGrey(FromMemory<float>(grey));
  a.out.presentation = presentation ? *presentation : PercentilePresentation(a.out.grey);
  if (labels)
  {
    a.out.labels = a.Layer<unsigned char>(FromMemory<unsigned char>(labels).image, "the label map");
    NormalizeLabels(a.out.labels, false);
    a.out.labels->SetSpacing(a.out.grey->GetSpacing());
  }
  if (reference)
  {
    a.out.reference = a.Layer<unsigned char>(FromMemory<unsigned char>(reference).image, "the reference mask");
    NormalizeLabels(a.out.reference, true);
    a.out.reference->SetSpacing(a.out.grey->GetSpacing());
  }
  if (probability)
  {
    a.out.probability = a.Layer<float>(FromMemory<float>(probability).image, "the probability map");
    NormalizeProbability(a.out.probability);
    a.out.probability->SetSpacing(a.out.grey->GetSpacing());
  }
  return a.out;
}
} // namespace

ImageLayers
MakeLayers(const GreyImage *    grey,
           const LabelImage *   labels,
           const LabelImage *   reference,
           const GreyImage *    probability,
           const Presentation * presentation,
           const std::string &  name)
{
  return MakeLayersOf<2>(grey, labels, reference, probability, presentation, name);
}

ImageLayers
MakeLayers(const GreyVolume *   grey,
           const LabelVolume *  labels,
           const LabelVolume *  reference,
           const GreyVolume *   probability,
           const Presentation * presentation,
           const std::string &  name)
{
  return MakeLayersOf<3>(grey, labels, reference, probability, presentation, name);
}

LungAreas
MeasureAreas(const ImageLayers & layers)
{
  LungAreas areas;
  if (!layers.labels)
    return areas;
  const double pixelCM2 = layers.grey->GetSpacing()[0] * layers.grey->GetSpacing()[1] / 100.0;
  size_t       right = 0, left = 0;
  for (itk::ImageRegionConstIterator<LabelImage> it(layers.labels, layers.labels->GetLargestPossibleRegion());
       !it.IsAtEnd();
       ++it)
  {
    right += it.Get() == 1;
    left += it.Get() == 2;
  }
  areas.leftRight = left > 0;
  areas.right = static_cast<double>(right) * pixelCM2;
  areas.left = static_cast<double>(left) * pixelCM2;
  areas.total = areas.right + areas.left;
  return areas;
}

std::optional<double>
Dice(const LabelImage * segmentation, const LabelImage * reference)
{
  if (!segmentation || !reference)
    return std::nullopt;
  if (segmentation->GetLargestPossibleRegion().GetSize() != reference->GetLargestPossibleRegion().GetSize())
    return std::nullopt;
  const auto binary = [](const LabelImage * image) {
    auto threshold = itk::BinaryThresholdImageFilter<LabelImage, LabelImage>::New();
    threshold->SetInput(image);
    threshold->SetLowerThreshold(1);
    threshold->SetInsideValue(1);
    threshold->SetOutsideValue(0);
    threshold->Update();
    LabelImage::Pointer out = threshold->GetOutput();
    out->DisconnectPipeline();
    out->CopyInformation(image);
    return out;
  };
  auto a = binary(segmentation);
  auto b = binary(reference);
  b->CopyInformation(a); // same grid: compare pixel by pixel whatever the files said
  auto overlap = itk::LabelOverlapMeasuresImageFilter<LabelImage>::New();
  overlap->SetSourceImage(a);
  overlap->SetTargetImage(b);
  overlap->Update();
  const auto & labels = overlap->GetLabelSetMeasures();
  const auto   found = labels.find(1);
  if (found == labels.end())
    return 1.0; // both empty
  const double source = static_cast<double>(found->second.m_Source);
  const double target = static_cast<double>(found->second.m_Target);
  const double both = static_cast<double>(found->second.m_Intersection);
  return source + target > 0 ? 2.0 * both / (source + target) : 1.0;
}

double
DiceOfFiles(const std::string & labels, const std::string & reference)
{
  auto a = LabelsFromFloat(ReadAnyStored<float>(labels).image);
  auto b = LabelsFromFloat(ReadAnyStored<float>(reference).image);
  CheckSameSize(a->GetLargestPossibleRegion().GetSize(),
                b->GetLargestPossibleRegion().GetSize(),
                "the reference mask " + reference,
                "the label map " + labels);
  return *Dice(a, b);
}

} // namespace rescrnet::viz
