// SPDX-License-Identifier: Apache-2.0
#ifndef itkLungMaskQualityCalculator_hxx
#define itkLungMaskQualityCalculator_hxx

#include "itkLungMaskQualityCalculator.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkConnectedComponentImageFilter.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkRelabelComponentImageFilter.h"

#include <algorithm>
#include <cmath>

namespace itk
{

namespace LungMaskQualityDetail
{
// Sizes (pixels) of the face-connected components of a binary image (1 = foreground), largest first.
template <typename TBinaryImage>
std::vector<SizeValueType>
ComponentSizes(const TBinaryImage * binary)
{
  using ComponentImageType = Image<unsigned int, TBinaryImage::ImageDimension>;
  auto components = ConnectedComponentImageFilter<TBinaryImage, ComponentImageType>::New();
  components->SetInput(binary);
  components->FullyConnectedOff();
  auto relabel = RelabelComponentImageFilter<ComponentImageType, ComponentImageType>::New();
  relabel->SetInput(components->GetOutput());
  relabel->Update();
  const auto & sizes = relabel->GetSizeOfObjectsInPixels();
  return std::vector<SizeValueType>(sizes.begin(), sizes.end());
}
} // namespace LungMaskQualityDetail

template <typename TProbabilityImage, typename TLabelImage>
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::LungMaskQualityCalculator()
  : m_Calibration(DefaultCalibration())
{}

template <typename TProbabilityImage, typename TLabelImage>
const std::array<const char *, LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::NumberOfSignals> &
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::SignalNames()
{
  static const std::array<const char *, NumberOfSignals> names{ "area_fraction",      "not_two_lungs",
                                                                "right_left_ratio",   "discarded_fraction",
                                                                "uncertain_fraction", "mean_margin",
                                                                "mask_entropy",       "border_fraction" };
  return names;
}

template <typename TProbabilityImage, typename TLabelImage>
typename LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::Calibration
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::DefaultCalibration()
{
  // Fitted by Utilities/calibrate-quality.py on the val splits of cxr-lungs-256 and cxr-lungs-pathology-256 (284
  // masks, 21 with Dice < 0.90) with Data/Models/ResCRNet-lungs-default.rcn: L2 strength 30 chosen by 10-fold
  // cross-validated AUC (0.905), then Platt-scaled. See the model card.
  Calibration c;
  c.mean = { 0.235084, 0, 0.747276, 0.00786273, 0.232236, 0.837658, 0.164924, 0.0013043 };
  c.scale = { 0.0478654, 1, 0.138389, 0.0227637, 0.133335, 0.0545438, 0.0697124, 0.0048089 };
  c.weight = { -0.10249, 0, 0.153054, -0.206819, -0.439595, 0.545514, -0.514714, -0.0809742 };
  c.bias = 3.69783;
  return c;
}

template <typename TProbabilityImage, typename TLabelImage>
double
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::ScoreOf(const SignalVector & signals,
                                                                   const Calibration &  calibration)
{
  double z = calibration.bias;
  for (unsigned int i = 0; i < NumberOfSignals; ++i)
  {
    const double scale = calibration.scale[i] > 0.0 ? calibration.scale[i] : 1.0;
    z += calibration.weight[i] * (signals[i] - calibration.mean[i]) / scale;
  }
  return 1.0 / (1.0 + std::exp(-z));
}

template <typename TProbabilityImage, typename TLabelImage>
typename LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::SignalVector
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::GetSignals() const
{
  return { m_AreaFraction,      m_LungCount != 2 ? 1.0 : 0.0,
           m_RightLeftRatio,    m_DiscardedFraction,
           m_UncertainFraction, m_MeanMargin,
           m_MaskEntropy,       m_BorderFraction };
}

template <typename TProbabilityImage, typename TLabelImage>
std::string
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::GetFlagsString() const
{
  std::string out;
  for (const auto & f : m_Flags)
    out += (out.empty() ? "" : ";") + f;
  return out;
}

template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::Compute()
{
  if (!m_LabelImage || !m_ProbabilityImage)
  {
    itkExceptionMacro(<< "Compute: the label image and the probability image are both required");
  }
  if (m_LabelImage->GetBufferedRegion().GetNumberOfPixels() == 0 ||
      m_ProbabilityImage->GetBufferedRegion().GetNumberOfPixels() == 0)
  {
    itkExceptionMacro(<< "Compute: empty image");
  }
  ComputeMaskSignals();
  ComputeProbabilitySignals();
  m_Score = ScoreOf(GetSignals(), m_Calibration);
  ComputeFlags();
}

template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::ComputeMaskSignals()
{
  using BinaryImageType = Image<unsigned char, ImageDimension>;
  auto binary = BinaryThresholdImageFilter<LabelImageType, BinaryImageType>::New();
  binary->SetInput(m_LabelImage);
  binary->SetLowerThreshold(0); // nonzero -> 1, zero -> 0 (inside = 0 .. 0 gives 0)
  binary->SetUpperThreshold(0);
  binary->SetInsideValue(0);
  binary->SetOutsideValue(1);
  binary->Update();
  const auto sizes = LungMaskQualityDetail::ComponentSizes(binary->GetOutput());

  const auto &  region = m_LabelImage->GetBufferedRegion();
  const auto    size = region.GetSize();
  SizeValueType lung = 0, border = 0;
  for (ImageRegionConstIteratorWithIndex<BinaryImageType> it(binary->GetOutput(), region); !it.IsAtEnd(); ++it)
  {
    if (!it.Get())
      continue;
    ++lung;
    const auto index = it.GetIndex();
    bool       inFrame = false;
    for (unsigned int d = 0; d < ImageDimension; ++d)
    {
      if (size[d] <= 1)
        continue; // the single slice of a 3-D radiograph
      const auto frame = std::max<IndexValueType>(1, static_cast<IndexValueType>(std::ceil(0.02 * size[d])));
      const auto offset = index[d] - region.GetIndex(d);
      inFrame = inFrame || offset < frame || offset >= static_cast<IndexValueType>(size[d]) - frame;
    }
    border += inFrame;
  }
  m_AreaFraction = static_cast<double>(lung) / static_cast<double>(region.GetNumberOfPixels());
  m_LungCount = sizes.size();
  m_RightLeftRatio = sizes.size() >= 2 ? static_cast<double>(sizes[1]) / static_cast<double>(sizes[0]) : 0.0;
  m_BorderFraction = lung ? static_cast<double>(border) / static_cast<double>(lung) : 0.0;
}

template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::ComputeProbabilitySignals()
{
  using BinaryImageType = Image<unsigned char, ImageDimension>;
  const auto & region = m_ProbabilityImage->GetBufferedRegion();
  auto         foreground = BinaryImageType::New();
  foreground->CopyInformation(m_ProbabilityImage);
  foreground->SetRegions(region);
  foreground->Allocate();
  const double                                            t = m_Threshold;
  const double                                            marginScale = std::max(t, 1.0 - t);
  SizeValueType                                           fg = 0, uncertain = 0, considered = 0;
  double                                                  margin = 0.0, entropy = 0.0;
  ImageRegionConstIteratorWithIndex<ProbabilityImageType> it(m_ProbabilityImage, region);
  for (; !it.IsAtEnd(); ++it)
  {
    const double p = static_cast<double>(it.Get());
    if (!std::isfinite(p))
    {
      itkExceptionMacro(<< "Compute: non-finite probability at " << it.GetIndex());
    }
    const bool inside = p > t;
    foreground->SetPixel(it.GetIndex(), inside);
    if (p > 0.05)
    {
      ++considered;
      margin += std::min(1.0, std::abs(p - t) / marginScale);
    }
    if (p > 0.2 && p < 0.8)
      ++uncertain;
    if (inside)
    {
      ++fg;
      const double q = std::min(std::max(p, 1e-12), 1.0 - 1e-12);
      entropy += -(q * std::log2(q) + (1.0 - q) * std::log2(1.0 - q));
    }
  }
  const auto    sizes = LungMaskQualityDetail::ComponentSizes(foreground.GetPointer());
  SizeValueType kept = 0;
  for (size_t i = 0; i < std::min<size_t>(2, sizes.size()); ++i)
    kept += sizes[i];
  m_DiscardedFraction = fg ? static_cast<double>(fg - kept) / static_cast<double>(fg) : 0.0;
  m_UncertainFraction = fg ? static_cast<double>(uncertain) / static_cast<double>(fg) : 1.0;
  m_MeanMargin = considered ? margin / static_cast<double>(considered) : 0.0;
  m_MaskEntropy = fg ? entropy / static_cast<double>(fg) : 1.0;
}

template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::ComputeFlags()
{
  m_Flags.clear();
  if (m_LungCount == 0)
    m_Flags.emplace_back("no_lung");
  else if (m_LungCount == 1)
    m_Flags.emplace_back("one_lung");
  else if (m_LungCount > 2)
    m_Flags.emplace_back("extra_components");
  if (m_LungCount > 0 && m_AreaFraction < SmallAreaFraction)
    m_Flags.emplace_back("small_area");
  if (m_AreaFraction > LargeAreaFraction)
    m_Flags.emplace_back("large_area");
  if (m_LungCount >= 2 && m_RightLeftRatio < AsymmetryRatio)
    m_Flags.emplace_back("asymmetric");
  if (m_DiscardedFraction > FragmentedFraction)
    m_Flags.emplace_back("fragmented");
  if (m_UncertainFraction > UncertainFractionLimit)
    m_Flags.emplace_back("uncertain");
  if (m_BorderFraction > BorderFractionLimit)
    m_Flags.emplace_back("touches_border");
  if (m_Score < LowScore)
    m_Flags.emplace_back("low_score");
}

template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskQualityCalculator<TProbabilityImage, TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Threshold: " << m_Threshold << std::endl;
  os << indent << "AreaFraction: " << m_AreaFraction << std::endl;
  os << indent << "LungCount: " << m_LungCount << std::endl;
  os << indent << "RightLeftRatio: " << m_RightLeftRatio << std::endl;
  os << indent << "DiscardedFraction: " << m_DiscardedFraction << std::endl;
  os << indent << "UncertainFraction: " << m_UncertainFraction << std::endl;
  os << indent << "MeanMargin: " << m_MeanMargin << std::endl;
  os << indent << "MaskEntropy: " << m_MaskEntropy << std::endl;
  os << indent << "BorderFraction: " << m_BorderFraction << std::endl;
  os << indent << "Score: " << m_Score << std::endl;
  os << indent << "Flags: " << GetFlagsString() << std::endl;
}

} // namespace itk

#endif
