// SPDX-License-Identifier: Apache-2.0
#ifndef itkLungMaskPostprocessImageFilter_hxx
#define itkLungMaskPostprocessImageFilter_hxx

#include "itkLungMaskPostprocessImageFilter.h"

#include "itkBinaryFillholeImageFilter.h"
#include "itkConnectedComponentImageFilter.h"
#include "itkContinuousIndex.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkLinearInterpolateImageFunction.h"
#include "itkNearestNeighborExtrapolateImageFunction.h"
#include "itkProgressAccumulator.h"
#include "itkRelabelComponentImageFilter.h"
#include "itkResampleImageFilter.h"
#include "itkSliceBySliceImageFilter.h"
#include "itkUnaryGeneratorImageFilter.h"

#include <algorithm>
#include <vector>

namespace itk
{

template <typename TProbabilityImage, typename TLabelImage>
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::LungMaskPostprocessImageFilter()
{
  this->AddOptionalInputName("ReferenceImage");
}


template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation(); // the probability image's grid
  if (const ReferenceImageType * reference = this->GetReferenceImage())
  {
    this->GetOutput()->CopyInformation(reference);
  }
}


template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::GenerateInputRequestedRegion()
{
  // Not the superclass: it would copy the output region onto the probability image, which has another grid.
  if (auto * input = const_cast<ProbabilityImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * reference = const_cast<ReferenceImageType *>(this->GetReferenceImage()))
  {
    reference->SetRequestedRegionToLargestPossibleRegion();
  }
}


template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::EnlargeOutputRequestedRegion(DataObject *)
{
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}


template <typename TProbabilityImage, typename TLabelImage>
auto
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::MakeResampler(const ProbabilityImageType * probability,
                                                                              const ReferenceImageType *   reference) ->
  typename ResamplerType::Pointer
{
  auto resampler = ResamplerType::New();
  resampler->SetInput(probability);
  resampler->SetReferenceImage(reference);
  resampler->UseReferenceImageOn();
  resampler->SetInterpolator(LinearInterpolateImageFunction<ProbabilityImageType, double>::New());
  // Beyond the outermost pixel centres the edge value is kept (as OpenCV's replicated border), not 0.
  resampler->SetExtrapolator(NearestNeighborExtrapolateImageFunction<ProbabilityImageType, double>::New());
  resampler->SetDefaultPixelValue(0);
  return resampler;
}

template <typename TProbabilityImage, typename TLabelImage>
auto
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::ResampleProbability(
  const ProbabilityImageType * probability,
  const ReferenceImageType *   reference) -> typename ProbabilityOnGridType::Pointer
{
  auto resampler = MakeResampler(probability, reference);
  resampler->Update();
  return resampler->GetOutput();
}

template <typename TProbabilityImage, typename TLabelImage>
bool
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::IsOnOutputGrid(const ProbabilityImageType * probability,
                                                                               const ReferenceImageType *   reference)
{
  if (reference == nullptr)
  {
    return true;
  }
  const double tolerance = 1e-6 * probability->GetSpacing()[0];
  return reference->GetLargestPossibleRegion() == probability->GetLargestPossibleRegion() &&
         reference->GetSpacing().GetVnlVector().is_equal(probability->GetSpacing().GetVnlVector(), tolerance) &&
         reference->GetOrigin().GetVnlVector().is_equal(probability->GetOrigin().GetVnlVector(), tolerance) &&
         reference->GetDirection().GetVnlMatrix().is_equal(probability->GetDirection().GetVnlMatrix(), 1e-9);
}

template <typename TProbabilityImage, typename TLabelImage>
auto
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::ThresholdOnOutputGrid(
  const ProbabilityImageType * probability,
  const ReferenceImageType *   reference,
  StageList &                  stages) const -> MaskImageType *
{
  using ProbabilityPixelType = typename ProbabilityImageType::PixelType;
  const double threshold = m_Threshold;
  if (IsOnOutputGrid(probability, reference))
  {
    auto direct = UnaryGeneratorImageFilter<ProbabilityImageType, MaskImageType>::New();
    direct->SetFunctor([threshold](const ProbabilityPixelType & p) -> unsigned char {
      return static_cast<double>(p) > threshold ? 1 : 0;
    });
    direct->SetInput(probability);
    direct->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
    stages.push_back(direct.GetPointer());
    return direct->GetOutput();
  }
  auto resampler = MakeResampler(probability, reference);
  resampler->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  auto resampled = UnaryGeneratorImageFilter<FloatImageType, MaskImageType>::New();
  resampled->SetFunctor([threshold](const float & p) -> unsigned char { return p > threshold ? 1 : 0; });
  resampled->SetInput(resampler->GetOutput());
  resampled->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  stages.push_back(resampler.GetPointer());
  stages.push_back(resampled.GetPointer());
  return resampled->GetOutput();
}

template <typename TProbabilityImage, typename TLabelImage>
auto
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::KeepLargestComponents(MaskImageType * mask,
                                                                                      StageList &     stages,
                                                                                      RelabelType *&  relabel) const
  -> MaskImageType *
{
  auto connected = ConnectedType::New();
  connected->SetInput(mask);
  connected->SetFullyConnected(m_FullyConnected);
  connected->SetBackgroundValue(0);
  connected->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  auto sorted = RelabelType::New();
  sorted->SetInput(connected->GetOutput());
  sorted->SortByObjectSizeOn();
  sorted->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  const SizeValueType kept = m_NumberOfComponents;
  auto                keep = UnaryGeneratorImageFilter<ComponentImageType, MaskImageType>::New();
  keep->SetInput(sorted->GetOutput());
  keep->SetFunctor(
    [kept](const unsigned int & label) -> unsigned char { return label != 0 && (kept == 0 || label <= kept) ? 1 : 0; });
  keep->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  stages.push_back(connected.GetPointer());
  stages.push_back(sorted.GetPointer());
  stages.push_back(keep.GetPointer());
  relabel = sorted.GetPointer();
  return keep->GetOutput();
}

template <typename TProbabilityImage, typename TLabelImage>
auto
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::FillHoles(MaskImageType * mask,
                                                                          StageList & stages) const -> MaskImageType *
{
  // In 3D, within each slice: every pixel of a single slice lies on the volume's border, where
  // BinaryFillholeImageFilter never fills.
  typename ImageToImageFilter<MaskImageType, MaskImageType>::Pointer fill;
  if constexpr (ImageDimension == 3)
  {
    using SliceMaskType = Image<unsigned char, 2>;
    auto sliceFill = BinaryFillholeImageFilter<SliceMaskType>::New();
    sliceFill->SetForegroundValue(1); // the default is the pixel type's maximum
    sliceFill->SetFullyConnected(m_FullyConnected);
    auto bySlice = SliceBySliceImageFilter<MaskImageType, MaskImageType>::New();
    bySlice->SetFilter(sliceFill);
    bySlice->SetDimension(2);
    fill = bySlice;
  }
  else
  {
    auto fillHoles = BinaryFillholeImageFilter<MaskImageType>::New();
    fillHoles->SetForegroundValue(1); // the default is the pixel type's maximum
    fillHoles->SetFullyConnected(m_FullyConnected);
    fill = fillHoles;
  }
  fill->SetInput(mask);
  fill->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  stages.push_back(fill.GetPointer());
  return fill->GetOutput();
}

template <typename TProbabilityImage, typename TLabelImage>
auto
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::SideOfEachComponent(
  const ComponentImageType * components,
  SizeValueType              count) -> std::vector<LabelPixelType>
{
  // Centroid (continuous index) and size of every component.
  std::vector<ContinuousIndex<double, ImageDimension>> centroids(count + 1);
  std::vector<SizeValueType>                           sizes(count + 1, 0);
  for (auto & c : centroids)
  {
    c.Fill(0.0);
  }
  for (ImageRegionConstIteratorWithIndex<ComponentImageType> it(components, components->GetLargestPossibleRegion());
       !it.IsAtEnd();
       ++it)
  {
    const SizeValueType label = it.Get();
    if (label == 0 || label > count)
    {
      continue;
    }
    ++sizes[label];
    for (unsigned int d = 0; d < ImageDimension; ++d)
    {
      centroids[label][d] += static_cast<double>(it.GetIndex()[d]);
    }
  }
  std::vector<double> physicalX(count + 1, 0.0);
  for (SizeValueType label = 1; label <= count; ++label)
  {
    for (unsigned int d = 0; d < ImageDimension; ++d)
    {
      centroids[label][d] /= static_cast<double>(std::max<SizeValueType>(sizes[label], 1));
    }
    typename ComponentImageType::PointType point;
    components->TransformContinuousIndexToPhysicalPoint(centroids[label], point);
    physicalX[label] = point[0];
  }

  // The split between right and left: midway between the two largest components, else the image centre.
  double split = 0.0;
  if (count >= 2)
  {
    std::vector<SizeValueType> order;
    for (SizeValueType label = 1; label <= count; ++label)
    {
      order.push_back(label);
    }
    std::stable_sort(
      order.begin(), order.end(), [&sizes](SizeValueType a, SizeValueType b) { return sizes[a] > sizes[b]; });
    split = 0.5 * (physicalX[order[0]] + physicalX[order[1]]);
  }
  else
  {
    const auto &                            region = components->GetLargestPossibleRegion();
    ContinuousIndex<double, ImageDimension> centre;
    for (unsigned int d = 0; d < ImageDimension; ++d)
    {
      centre[d] = static_cast<double>(region.GetIndex()[d]) + 0.5 * static_cast<double>(region.GetSize()[d] - 1);
    }
    typename ComponentImageType::PointType point;
    components->TransformContinuousIndexToPhysicalPoint(centre, point);
    split = point[0];
  }
  std::vector<LabelPixelType> side(count + 1, 0);
  for (SizeValueType label = 1; label <= count; ++label)
  {
    // LPS: +x points to the patient's left, so the patient's right lung has the smaller x.
    side[label] = static_cast<LabelPixelType>(physicalX[label] < split ? RightLungLabel : LeftLungLabel);
  }
  return side;
}

template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::GenerateData()
{
  typename ProbabilityImageType::Pointer probability = ProbabilityImageType::New();
  probability->Graft(const_cast<ProbabilityImageType *>(this->GetInput()));
  const unsigned int workUnits = this->GetNumberOfWorkUnits();

  // The stages are chained first, then registered with equal weights, then run.
  StageList       stages;
  RelabelType *   relabel = nullptr;
  MaskImageType * mask = this->ThresholdOnOutputGrid(probability, this->GetReferenceImage(), stages); // 1.
  if (!m_SkipComponentSelection)
  {
    mask = this->KeepLargestComponents(mask, stages, relabel); // 2.
  }
  if (!m_SkipHoleFilling)
  {
    mask = this->FillHoles(mask, stages); // 3.
  }
  // 4. Output labels: the mask itself, or each component labelled by its side.
  auto sides = ConnectedType::New();
  auto outputMapper = UnaryGeneratorImageFilter<ComponentImageType, LabelImageType>::New();
  auto outputCast = UnaryGeneratorImageFilter<MaskImageType, LabelImageType>::New();
  if (m_LabelLeftRight)
  {
    sides->SetInput(mask);
    sides->SetFullyConnected(m_FullyConnected);
    sides->SetBackgroundValue(0);
    sides->SetNumberOfWorkUnits(workUnits);
    stages.push_back(sides.GetPointer());
    stages.push_back(outputMapper.GetPointer());
  }
  else
  {
    stages.push_back(outputCast.GetPointer());
  }

  auto progress = ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);
  for (const auto & stage : stages)
  {
    progress->RegisterInternalFilter(stage, 1.0f / static_cast<float>(stages.size()));
  }

  if (relabel != nullptr)
  {
    relabel->Update();
    m_NumberOfDetectedComponents = relabel->GetOriginalNumberOfObjects();
  }
  else
  {
    m_NumberOfDetectedComponents = 0;
  }

  if (!m_LabelLeftRight)
  {
    outputCast->SetInput(mask);
    outputCast->SetFunctor([](const unsigned char & v) { return static_cast<LabelPixelType>(v); });
    outputCast->SetNumberOfWorkUnits(workUnits);
    outputCast->GraftOutput(this->GetOutput());
    outputCast->Update();
    this->GraftOutput(outputCast->GetOutput());
    this->UpdateProgress(1.0f); // some internal filters stop short of 1
    return;
  }

  sides->Update();
  const std::vector<LabelPixelType> side = SideOfEachComponent(sides->GetOutput(), sides->GetObjectCount());
  outputMapper->SetInput(sides->GetOutput());
  outputMapper->SetFunctor(
    [side](const unsigned int & label) { return label < side.size() ? side[label] : static_cast<LabelPixelType>(0); });
  outputMapper->SetNumberOfWorkUnits(workUnits);
  outputMapper->GraftOutput(this->GetOutput());
  outputMapper->Update();
  this->GraftOutput(outputMapper->GetOutput());
  this->UpdateProgress(1.0f); // some internal filters stop short of 1
}


template <typename TProbabilityImage, typename TLabelImage>
void
LungMaskPostprocessImageFilter<TProbabilityImage, TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Threshold: " << m_Threshold << std::endl;
  os << indent << "NumberOfComponents: " << m_NumberOfComponents << std::endl;
  os << indent << "SkipComponentSelection: " << (m_SkipComponentSelection ? "On" : "Off") << std::endl;
  os << indent << "SkipHoleFilling: " << (m_SkipHoleFilling ? "On" : "Off") << std::endl;
  os << indent << "LabelLeftRight: " << (m_LabelLeftRight ? "On" : "Off") << std::endl;
  os << indent << "FullyConnected: " << (m_FullyConnected ? "On" : "Off") << std::endl;
  os << indent << "NumberOfDetectedComponents: " << m_NumberOfDetectedComponents << std::endl;
}

} // namespace itk

#endif
