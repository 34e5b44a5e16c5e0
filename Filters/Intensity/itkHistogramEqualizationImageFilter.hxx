// SPDX-License-Identifier: Apache-2.0
#ifndef itkHistogramEqualizationImageFilter_hxx
#define itkHistogramEqualizationImageFilter_hxx

#include "itkHistogramEqualizationImageFilter.h"

#include "itkImageToHistogramFilter.h"
#include "itkProgressAccumulator.h"
#include "itkUnaryGeneratorImageFilter.h"

#include <cmath>

namespace itk
{

template <typename TImage>
unsigned char
HistogramEqualizationImageFilter<TImage>::ToLevel(const PixelType & value)
{
  const double v = static_cast<double>(value);
  if (!(v > 0.0)) // also NaN
  {
    return 0;
  }
  if (v >= 255.0)
  {
    return 255;
  }
  return static_cast<unsigned char>(std::nearbyint(v));
}


template <typename TImage>
auto
HistogramEqualizationImageFilter<TImage>::ComputeLookupTable(const CountArrayType & histogram) -> LookupTableType
{
  LookupTableType lut{};
  SizeValueType   total = 0;
  for (const SizeValueType count : histogram)
  {
    total += count;
  }
  if (total == 0)
  {
    return lut;
  }
  unsigned int first = 0;
  while (histogram[first] == 0)
  {
    ++first;
  }
  if (histogram[first] == total)
  {
    // cv::equalizeHist: a single level is left as it is (dst.setTo(i)).
    lut[first] = static_cast<unsigned char>(first);
    return lut;
  }
  // cv::equalizeHist: float scale = (256 - 1.f) / (total - hist[i]); lut[i] = saturate_cast<uchar>(sum * scale).
  const float   scale = 255.0f / static_cast<float>(total - histogram[first]);
  SizeValueType sum = 0;
  lut[first] = 0;
  for (unsigned int i = first + 1; i < 256; ++i)
  {
    sum += histogram[i];
    const float mapped = std::nearbyint(static_cast<float>(sum) * scale);
    lut[i] = mapped >= 255.0f ? 255 : static_cast<unsigned char>(mapped);
  }
  return lut;
}


template <typename TImage>
void
HistogramEqualizationImageFilter<TImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<ImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}


template <typename TImage>
void
HistogramEqualizationImageFilter<TImage>::EnlargeOutputRequestedRegion(DataObject *)
{
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}


template <typename TImage>
void
HistogramEqualizationImageFilter<TImage>::GenerateData()
{
  // Work on a shallow copy so that the mini-pipeline does not reach upstream.
  typename ImageType::Pointer input = ImageType::New();
  input->Graft(const_cast<ImageType *>(this->GetInput()));

  auto progress = ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);

  using QuantizerType = UnaryGeneratorImageFilter<ImageType, LevelImageType>;
  auto quantizer = QuantizerType::New();
  quantizer->SetInput(input);
  quantizer->SetFunctor([](const PixelType & value) { return ToLevel(value); });
  quantizer->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  progress->RegisterInternalFilter(quantizer, 0.3f);

  using HistogramFilterType = Statistics::ImageToHistogramFilter<LevelImageType>;
  auto                                                         histogramFilter = HistogramFilterType::New();
  typename HistogramFilterType::HistogramSizeType              bins(1);
  typename HistogramFilterType::HistogramMeasurementVectorType lower(1);
  typename HistogramFilterType::HistogramMeasurementVectorType upper(1);
  bins[0] = 256;
  lower[0] = -0.5;
  upper[0] = 255.5;
  histogramFilter->SetInput(quantizer->GetOutput());
  histogramFilter->SetHistogramSize(bins);
  histogramFilter->SetHistogramBinMinimum(lower);
  histogramFilter->SetHistogramBinMaximum(upper);
  histogramFilter->SetAutoMinimumMaximum(false);
  histogramFilter->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  progress->RegisterInternalFilter(histogramFilter, 0.3f);
  histogramFilter->Update();

  const auto *  histogram = histogramFilter->GetOutput();
  SizeValueType counted = 0;
  for (unsigned int i = 0; i < 256; ++i)
  {
    m_Histogram[i] = static_cast<SizeValueType>(histogram->GetFrequency(i));
    counted += m_Histogram[i];
  }
  const SizeValueType total = input->GetLargestPossibleRegion().GetNumberOfPixels();
  if (counted != total)
  {
    itkExceptionMacro(<< "the histogram counted " << counted << " of " << total << " pixels");
  }
  m_LookupTable = ComputeLookupTable(m_Histogram);

  using MapperType = UnaryGeneratorImageFilter<LevelImageType, ImageType>;
  auto                  mapper = MapperType::New();
  const LookupTableType lut = m_LookupTable;
  mapper->SetInput(quantizer->GetOutput());
  mapper->SetFunctor([lut](const unsigned char & level) { return static_cast<PixelType>(lut[level]); });
  mapper->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  progress->RegisterInternalFilter(mapper, 0.4f);

  mapper->GraftOutput(this->GetOutput());
  mapper->Update();
  this->GraftOutput(mapper->GetOutput());
}


template <typename TImage>
void
HistogramEqualizationImageFilter<TImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "LookupTable:";
  for (const unsigned char level : m_LookupTable)
  {
    os << ' ' << static_cast<unsigned int>(level);
  }
  os << std::endl;
}

} // namespace itk

#endif
