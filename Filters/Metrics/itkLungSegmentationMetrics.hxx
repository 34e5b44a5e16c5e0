// SPDX-License-Identifier: Apache-2.0
#ifndef itkLungSegmentationMetrics_hxx
#define itkLungSegmentationMetrics_hxx

#include "itkLungSegmentationMetrics.h"

#include "itkBinaryContourImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkLabelOverlapMeasuresImageFilter.h"
#include "itkSignedMaurerDistanceMapImageFilter.h"
#include "itkUnaryGeneratorImageFilter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace itk
{

template <typename TLabelImage>
double
LungSegmentationMetrics<TLabelImage>::Percentile(std::vector<double> values, double q)
{
  if (values.empty())
  {
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::sort(values.begin(), values.end());
  const double rank = std::min(std::max(q, 0.0), 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const auto   lower = static_cast<size_t>(std::floor(rank));
  const auto   upper = std::min(lower + 1, values.size() - 1);
  const double fraction = rank - static_cast<double>(lower);
  return values[lower] + (values[upper] - values[lower]) * fraction;
}


template <typename TLabelImage>
void
LungSegmentationMetrics<TLabelImage>::VerifyGrids() const
{
  if (!m_Segmentation || !m_Reference)
  {
    itkExceptionMacro(<< "both the segmentation and the reference must be set before Compute()");
  }
  const auto & s = *m_Segmentation;
  const auto & r = *m_Reference;
  const double tolerance = 1e-6 * std::max(std::abs(s.GetSpacing()[0]), 1e-12);
  const bool   same = s.GetLargestPossibleRegion() == r.GetLargestPossibleRegion() &&
                    s.GetSpacing().GetVnlVector().is_equal(r.GetSpacing().GetVnlVector(), tolerance) &&
                    s.GetOrigin().GetVnlVector().is_equal(r.GetOrigin().GetVnlVector(), tolerance) &&
                    s.GetDirection().GetVnlMatrix().is_equal(r.GetDirection().GetVnlMatrix(), 1e-9);
  if (!same)
  {
    itkExceptionMacro(<< "the segmentation and the reference are not on the same grid: segmentation size "
                      << s.GetLargestPossibleRegion().GetSize() << " index " << s.GetLargestPossibleRegion().GetIndex()
                      << " spacing " << s.GetSpacing() << " origin " << s.GetOrigin() << ", reference size "
                      << r.GetLargestPossibleRegion().GetSize() << " index " << r.GetLargestPossibleRegion().GetIndex()
                      << " spacing " << r.GetSpacing() << " origin " << r.GetOrigin()
                      << (s.GetDirection() != r.GetDirection() ? " (the directions differ too)" : ""));
  }
}


template <typename TLabelImage>
void
LungSegmentationMetrics<TLabelImage>::Compute()
{
  this->VerifyGrids();

  using PixelType = typename ImageType::PixelType;
  using BinarizerType = UnaryGeneratorImageFilter<ImageType, MaskImageType>;
  const auto binarize = [](const ImageType * image) {
    auto filter = BinarizerType::New();
    filter->SetInput(image);
    filter->SetFunctor([](const PixelType & v) -> unsigned char { return v != PixelType{} ? 1 : 0; });
    filter->Update();
    typename MaskImageType::Pointer mask = filter->GetOutput();
    mask->DisconnectPipeline();
    return mask;
  };
  const typename MaskImageType::Pointer segmentation = binarize(m_Segmentation);
  const typename MaskImageType::Pointer reference = binarize(m_Reference);

  // Confusion counts.
  m_TruePositives = m_FalsePositives = m_FalseNegatives = m_TrueNegatives = 0;
  const auto & region = segmentation->GetLargestPossibleRegion();
  for (ImageRegionConstIterator<MaskImageType> s(segmentation, region), r(reference, region); !s.IsAtEnd(); ++s, ++r)
  {
    if (s.Get())
    {
      ++(r.Get() ? m_TruePositives : m_FalsePositives);
    }
    else
    {
      ++(r.Get() ? m_FalseNegatives : m_TrueNegatives);
    }
  }
  const SizeValueType segmentationSize = m_TruePositives + m_FalsePositives;
  const SizeValueType referenceSize = m_TruePositives + m_FalseNegatives;
  const bool          bothEmpty = segmentationSize == 0 && referenceSize == 0;
  const auto          ratio = [bothEmpty](SizeValueType numerator, SizeValueType denominator) {
    return denominator == 0 ? (bothEmpty ? 1.0 : 0.0)
                                     : static_cast<double>(numerator) / static_cast<double>(denominator);
  };

  if (bothEmpty)
  {
    m_Dice = m_Jaccard = 1.0;
  }
  else
  {
    using OverlapType = LabelOverlapMeasuresImageFilter<MaskImageType>;
    auto overlap = OverlapType::New();
    overlap->SetSourceImage(segmentation);
    overlap->SetTargetImage(reference);
    overlap->Update();
    m_Dice = overlap->GetDiceCoefficient();
    m_Jaccard = overlap->GetJaccardCoefficient();
  }
  m_F1 = m_Dice;
  m_Precision = ratio(m_TruePositives, segmentationSize);
  m_Recall = ratio(m_TruePositives, referenceSize);
  m_PixelAccuracy = ratio(m_TruePositives + m_TrueNegatives, region.GetNumberOfPixels());

  // Surface distances.
  m_SurfaceDistances.clear();
  if (bothEmpty)
  {
    m_HausdorffDistance = m_HausdorffDistance95 = m_MeanSurfaceDistance = 0.0;
    return;
  }
  if (segmentationSize == 0 || referenceSize == 0)
  {
    m_HausdorffDistance = m_HausdorffDistance95 = m_MeanSurfaceDistance = std::numeric_limits<double>::infinity();
    return;
  }

  using ContourType = BinaryContourImageFilter<MaskImageType, MaskImageType>;
  const auto surfaceOf = [](MaskImageType * mask) {
    auto contour = ContourType::New();
    contour->SetInput(mask);
    contour->SetForegroundValue(1);
    contour->SetBackgroundValue(0);
    contour->SetFullyConnected(false);
    contour->Update();
    typename MaskImageType::Pointer surface = contour->GetOutput();
    surface->DisconnectPipeline();
    const bool empty = std::none_of(surface->GetBufferPointer(),
                                    surface->GetBufferPointer() + surface->GetBufferedRegion().GetNumberOfPixels(),
                                    [](unsigned char v) { return v != 0; });
    return empty ? typename MaskImageType::Pointer(mask) : surface;
  };
  const typename MaskImageType::Pointer segmentationSurface = surfaceOf(segmentation);
  const typename MaskImageType::Pointer referenceSurface = surfaceOf(reference);

  using DistanceImageType = Image<float, ImageDimension>;
  using DistanceType = SignedMaurerDistanceMapImageFilter<MaskImageType, DistanceImageType>;
  const auto distancesTo = [this, &region](MaskImageType * target, MaskImageType * from) {
    auto distance = DistanceType::New();
    distance->SetInput(target);
    distance->SetBackgroundValue(0);
    distance->SetUseImageSpacing(true);
    distance->SetSquaredDistance(false);
    distance->Update();
    // Outside the target the map is the distance to the nearest target pixel; on the target it is 0.
    ImageRegionConstIterator<DistanceImageType> d(distance->GetOutput(), region);
    ImageRegionConstIterator<MaskImageType>     t(target, region);
    for (ImageRegionConstIterator<MaskImageType> f(from, region); !f.IsAtEnd(); ++f, ++d, ++t)
    {
      if (f.Get())
      {
        m_SurfaceDistances.push_back(t.Get() ? 0.0 : std::max(0.0, static_cast<double>(d.Get())));
      }
    }
  };
  distancesTo(referenceSurface, segmentationSurface);
  distancesTo(segmentationSurface, referenceSurface);

  m_HausdorffDistance = *std::max_element(m_SurfaceDistances.begin(), m_SurfaceDistances.end());
  m_HausdorffDistance95 = Percentile(m_SurfaceDistances, 95.0);
  m_MeanSurfaceDistance = std::accumulate(m_SurfaceDistances.begin(), m_SurfaceDistances.end(), 0.0) /
                          static_cast<double>(m_SurfaceDistances.size());
}


template <typename TLabelImage>
void
LungSegmentationMetrics<TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Segmentation: " << m_Segmentation.GetPointer() << std::endl;
  os << indent << "Reference: " << m_Reference.GetPointer() << std::endl;
  os << indent << "Dice: " << m_Dice << std::endl;
  os << indent << "Jaccard: " << m_Jaccard << std::endl;
  os << indent << "Precision: " << m_Precision << std::endl;
  os << indent << "Recall: " << m_Recall << std::endl;
  os << indent << "F1: " << m_F1 << std::endl;
  os << indent << "PixelAccuracy: " << m_PixelAccuracy << std::endl;
  os << indent << "HausdorffDistance: " << m_HausdorffDistance << std::endl;
  os << indent << "HausdorffDistance95: " << m_HausdorffDistance95 << std::endl;
  os << indent << "MeanSurfaceDistance: " << m_MeanSurfaceDistance << std::endl;
  os << indent << "TP/FP/FN/TN: " << m_TruePositives << '/' << m_FalsePositives << '/' << m_FalseNegatives << '/'
     << m_TrueNegatives << std::endl;
}

} // namespace itk

#endif
