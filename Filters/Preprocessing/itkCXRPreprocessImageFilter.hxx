// SPDX-License-Identifier: Apache-2.0
#ifndef itkCXRPreprocessImageFilter_hxx
#define itkCXRPreprocessImageFilter_hxx

#include "itkCXRPreprocessImageFilter.h"

#include "itkContinuousIndex.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageScanlineIterator.h"
#include "itkMath.h"

#include <algorithm>
#include <cmath>

namespace itk
{

template <typename TInputImage, typename TOutputImage>
CXRPreprocessImageFilter<TInputImage, TOutputImage>::CXRPreprocessImageFilter()
{
  m_GridSize[0] = 340;
  m_GridSize[1] = 300;
  this->DynamicMultiThreadingOn(); // the threader reports the progress
}


template <typename TInputImage, typename TOutputImage>
void
CXRPreprocessImageFilter<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation();

  const InputImageType * input = this->GetInput();
  OutputImageType *      output = this->GetOutput();
  if (input == nullptr || output == nullptr)
  {
    return;
  }
  if (m_GridSize[0] == 0 || m_GridSize[1] == 0)
  {
    itkExceptionMacro(<< "GridSize must be at least 1 x 1; got " << m_GridSize[0] << " x " << m_GridSize[1]);
  }

  const typename InputImageType::RegionType & inputRegion = input->GetLargestPossibleRegion();
  const typename InputImageType::SizeType &   inputSize = inputRegion.GetSize();
  if (inputRegion.GetNumberOfPixels() == 0)
  {
    itkExceptionMacro(<< "the input image is empty (size " << inputSize << ")");
  }

  typename OutputImageType::SizeType outputSize;
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    outputSize[d] = d < 2 ? m_GridSize[d] : inputSize[d];
  }

  // Same physical extent: the centre of output pixel 0 lies at input continuous index (0 + 0.5) * in/out - 0.5.
  typename OutputImageType::SpacingType   spacing;
  ContinuousIndex<double, ImageDimension> firstCentre;
  for (unsigned int d = 0; d < ImageDimension; ++d)
  {
    const double ratio = static_cast<double>(inputSize[d]) / static_cast<double>(outputSize[d]);
    spacing[d] = input->GetSpacing()[d] * ratio;
    firstCentre[d] = static_cast<double>(inputRegion.GetIndex()[d]) + 0.5 * ratio - 0.5;
  }
  typename OutputImageType::PointType origin;
  input->TransformContinuousIndexToPhysicalPoint(firstCentre, origin);

  output->SetLargestPossibleRegion(typename OutputImageType::RegionType(outputSize));
  output->SetSpacing(spacing);
  output->SetOrigin(origin);
  output->SetDirection(input->GetDirection());
}


template <typename TInputImage, typename TOutputImage>
void
CXRPreprocessImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  // The min-max range is global and the resize maps the whole extent: the whole input is needed.
  if (auto * input = const_cast<InputImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}


template <typename TInputImage, typename TOutputImage>
auto
CXRPreprocessImageFilter<TInputImage, TOutputImage>::ComputeAxisWeights(SizeValueType inputSize,
                                                                        SizeValueType outputSize) -> AxisWeights
{
  // cv::resize (INTER_LINEAR, floating-point images): scale_x = 1 / (dsize.width / ssize.width);
  // fx = (float)((dx + 0.5) * scale_x - 0.5); sx = cvFloor(fx); fx -= sx; then clamp to the border pixels.
  AxisWeights  weights;
  const double inverseScale = static_cast<double>(outputSize) / static_cast<double>(inputSize);
  const double scale = 1.0 / inverseScale;
  const auto   last = static_cast<IndexValueType>(inputSize) - 1;
  weights.first.resize(outputSize);
  weights.second.resize(outputSize);
  weights.firstWeight.resize(outputSize);
  weights.secondWeight.resize(outputSize);
  for (SizeValueType d = 0; d < outputSize; ++d)
  {
    float          f = static_cast<float>((static_cast<double>(d) + 0.5) * scale - 0.5);
    IndexValueType s = Math::Floor<IndexValueType>(f);
    f -= static_cast<float>(s);
    if (s < 0)
    {
      f = 0.0f;
      s = 0;
    }
    if (s >= last)
    {
      f = 0.0f;
      s = last;
    }
    weights.first[d] = s;
    weights.second[d] = std::min(s + 1, last);
    weights.firstWeight[d] = 1.0f - f;
    weights.secondWeight[d] = f;
  }
  return weights;
}


template <typename TInputImage, typename TOutputImage>
void
CXRPreprocessImageFilter<TInputImage, TOutputImage>::BeforeThreadedGenerateData()
{
  const InputImageType * input = this->GetInput();

  double minimum = NumericTraits<double>::max();
  double maximum = NumericTraits<double>::NonpositiveMin();
  for (ImageRegionConstIterator<InputImageType> it(input, input->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    const double value = CXRGrayValue<InputPixelType>::Convert(it.Get());
    minimum = std::min(minimum, value);
    maximum = std::max(maximum, value);
  }
  if (!std::isfinite(minimum) || !std::isfinite(maximum))
  {
    itkExceptionMacro(<< "the input image holds non-finite values (range " << minimum << " .. " << maximum << ")");
  }
  m_InputMinimum = minimum;
  m_InputMaximum = maximum;

  const typename InputImageType::SizeType & inputSize = input->GetLargestPossibleRegion().GetSize();
  for (unsigned int d = 0; d < 2; ++d)
  {
    m_Weights[d] = ComputeAxisWeights(inputSize[d], m_GridSize[d]);
  }
}


template <typename TInputImage, typename TOutputImage>
double
CXRPreprocessImageFilter<TInputImage, TOutputImage>::ScaledValue(const InputImageType *                     input,
                                                                 const typename InputImageType::IndexType & index) const
{
  const double range = m_InputMaximum - m_InputMinimum;
  if (range == 0.0)
  {
    return 0.0;
  }
  // NumPy's (a - a.min()) / (a.max() - a.min()) * 255.0, in the same order.
  return (CXRGrayValue<InputPixelType>::Convert(input->GetPixel(index)) - m_InputMinimum) / range * 255.0;
}


template <typename TInputImage, typename TOutputImage>
void
CXRPreprocessImageFilter<TInputImage, TOutputImage>::DynamicThreadedGenerateData(
  const OutputImageRegionType & outputRegionForThread)
{
  const InputImageType * input = this->GetInput();
  OutputImageType *      output = this->GetOutput();
  if (outputRegionForThread.GetNumberOfPixels() == 0)
  {
    return;
  }

  const typename InputImageType::IndexType  inputStart = input->GetLargestPossibleRegion().GetIndex();
  const typename OutputImageType::IndexType outputStart = output->GetLargestPossibleRegion().GetIndex();
  const AxisWeights &                       wx = m_Weights[0];
  const AxisWeights &                       wy = m_Weights[1];
  ImageScanlineIterator<OutputImageType>    it(output, outputRegionForThread);
  typename InputImageType::IndexType        source;

  while (!it.IsAtEnd())
  {
    const typename OutputImageType::IndexType lineIndex = it.GetIndex();
    for (unsigned int d = 2; d < ImageDimension; ++d)
    {
      source[d] = inputStart[d] + (lineIndex[d] - outputStart[d]);
    }
    const auto   y = static_cast<size_t>(lineIndex[1] - outputStart[1]);
    const double b0 = wy.firstWeight[y];
    const double b1 = wy.secondWeight[y];
    while (!it.IsAtEndOfLine())
    {
      const auto   x = static_cast<size_t>(it.GetIndex()[0] - outputStart[0]);
      const double a0 = wx.firstWeight[x];
      const double a1 = wx.secondWeight[x];
      const auto   x0 = inputStart[0] + wx.first[x];
      const auto   x1 = inputStart[0] + wx.second[x];

      // Rows first (HResizeLinear), then columns (VResizeLinear), as cv::resize sums them.
      source[1] = inputStart[1] + wy.first[y];
      source[0] = x0;
      double row0 = ScaledValue(input, source) * a0;
      source[0] = x1;
      row0 += ScaledValue(input, source) * a1;

      source[1] = inputStart[1] + wy.second[y];
      source[0] = x0;
      double row1 = ScaledValue(input, source) * a0;
      source[0] = x1;
      row1 += ScaledValue(input, source) * a1;

      const double value = row0 * b0 + row1 * b1;
      if (m_RoundToInteger)
      {
        // cv::convertScaleAbs on float64: converted to float, rounded to nearest (ties to even), saturated.
        float rounded = std::nearbyint(std::fabs(static_cast<float>(value)));
        if (!(rounded > 0.0f))
        {
          rounded = 0.0f;
        }
        else if (rounded > 255.0f)
        {
          rounded = 255.0f;
        }
        it.Set(static_cast<OutputPixelType>(rounded));
      }
      else
      {
        it.Set(static_cast<OutputPixelType>(value));
      }
      ++it;
    }
    it.NextLine();
  }
}


template <typename TInputImage, typename TOutputImage>
void
CXRPreprocessImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "GridSize: " << m_GridSize << std::endl;
  os << indent << "RoundToInteger: " << (m_RoundToInteger ? "On" : "Off") << std::endl;
  os << indent << "InputMinimum: " << m_InputMinimum << std::endl;
  os << indent << "InputMaximum: " << m_InputMaximum << std::endl;
}

} // namespace itk

#endif
