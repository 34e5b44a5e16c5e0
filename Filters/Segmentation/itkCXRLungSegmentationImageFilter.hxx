// SPDX-License-Identifier: Apache-2.0
#ifndef itkCXRLungSegmentationImageFilter_hxx
#define itkCXRLungSegmentationImageFilter_hxx

#include "itkCXRLungSegmentationImageFilter.h"

#include "itkProgressAccumulator.h"

namespace itk
{

template <typename TInputImage, typename TOutputImage>
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::CXRLungSegmentationImageFilter()
  : m_Model(SegmentationFilterType::New())
{
  this->SetNumberOfRequiredOutputs(2);
  this->SetNthOutput(1, this->MakeOutput(1));
}

template <typename TInputImage, typename TOutputImage>
DataObject::Pointer
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::MakeOutput(DataObjectPointerArraySizeType index)
{
  if (index == 1)
  {
    return ProbabilityImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(index);
}

template <typename TInputImage, typename TOutputImage>
auto
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::GetProbabilityOutput() -> ProbabilityImageType *
{
  return dynamic_cast<ProbabilityImageType *>(this->ProcessObject::GetOutput(1));
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::SetModelFileName(const std::string & fileName)
{
  if (fileName != m_Model->GetModelFileName())
  {
    m_Model->SetModelFileName(fileName);
    this->Modified();
  }
}

template <typename TInputImage, typename TOutputImage>
const std::string &
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::GetModelFileName() const
{
  return m_Model->GetModelFileName();
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::SetPredictor(PredictorPointer predictor)
{
  const unsigned long before = m_Model->GetMTime();
  m_Model->SetPredictor(std::move(predictor));
  if (m_Model->GetMTime() != before)
  {
    this->Modified();
  }
}

template <typename TInputImage, typename TOutputImage>
auto
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::GetPredictor() -> PredictorPointer
{
  return m_Model->GetPredictor();
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::SetNumberOfThreads(int threads)
{
  if (threads != m_Model->GetNumberOfThreads())
  {
    m_Model->SetNumberOfThreads(threads);
    this->Modified();
  }
}

template <typename TInputImage, typename TOutputImage>
int
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::GetNumberOfThreads() const
{
  return m_Model->GetNumberOfThreads();
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  if (auto * input = const_cast<InputImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject *)
{
  for (unsigned int i = 0; i < this->GetNumberOfIndexedOutputs(); ++i)
  {
    if (auto * output = dynamic_cast<ImageBase<ImageDimension> *>(this->ProcessObject::GetOutput(i)))
    {
      output->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  // A shallow copy of the input, so that the internal pipeline does not reach back into the outer one.
  auto input = InputImageType::New();
  input->Graft(const_cast<InputImageType *>(this->GetInput()));
  const PredictorPointer      predictor = m_Model->GetPredictor();
  const rescrnet::InputSpec & grid = predictor->info().input;
  const ThreadIdType          workUnits = this->GetNumberOfWorkUnits();

  // 1. Preprocessing and equalization on the model's grid.
  auto networkInput = NetworkInputFilterType::New();
  networkInput->SetInput(input);
  networkInput->SetGridSize(static_cast<SizeValueType>(grid.width), static_cast<SizeValueType>(grid.height));
  networkInput->SetNumberOfWorkUnits(workUnits);

  // 2. The network.
  auto segmentation = SegmentationFilterType::New();
  segmentation->SetInput(networkInput->GetOutput());
  segmentation->SetPredictor(predictor);
  segmentation->SetNumberOfThreads(m_Model->GetNumberOfThreads());
  segmentation->SetNumberOfWorkUnits(workUnits);

  // 3. Back onto the input's grid, threshold, components, holes, sides.
  auto postprocess = PostprocessFilterType::New();
  postprocess->SetInput(segmentation->GetProbabilityOutput());
  postprocess->SetReferenceImage(input);
  postprocess->SetThreshold(m_Threshold);
  postprocess->SetNumberOfComponents(m_NumberOfComponents);
  postprocess->SetSkipComponentSelection(m_SkipPostprocessing);
  postprocess->SetSkipHoleFilling(m_SkipPostprocessing);
  postprocess->SetLabelLeftRight(m_LabelLeftRight && !m_SkipPostprocessing);
  postprocess->SetNumberOfWorkUnits(workUnits);

  auto progress = ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);
  progress->RegisterInternalFilter(networkInput, 0.1f);
  progress->RegisterInternalFilter(segmentation, 0.75f);
  progress->RegisterInternalFilter(postprocess, m_GenerateProbabilityMap ? 0.1f : 0.15f);

  postprocess->GraftOutput(this->GetOutput());
  postprocess->Update();
  this->GraftOutput(postprocess->GetOutput());
  m_NumberOfDetectedComponents = postprocess->GetNumberOfDetectedComponents();

  // Output 1: the lung probability on the input's grid, resampled as the post-processing does before its threshold.
  if (m_GenerateProbabilityMap)
  {
    auto probability = PostprocessFilterType::ResampleProbability(segmentation->GetProbabilityOutput(), input);
    this->GetProbabilityOutput()->Graft(probability);
  }
  this->UpdateProgress(1.0f);
}

template <typename TInputImage, typename TOutputImage>
void
CXRLungSegmentationImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "ModelFileName: " << m_Model->GetModelFileName() << std::endl;
  os << indent << "NumberOfThreads: " << m_Model->GetNumberOfThreads() << std::endl;
  os << indent << "Threshold: " << m_Threshold << std::endl;
  os << indent << "NumberOfComponents: " << m_NumberOfComponents << std::endl;
  os << indent << "SkipPostprocessing: " << (m_SkipPostprocessing ? "On" : "Off") << std::endl;
  os << indent << "LabelLeftRight: " << (m_LabelLeftRight ? "On" : "Off") << std::endl;
  os << indent << "GenerateProbabilityMap: " << (m_GenerateProbabilityMap ? "On" : "Off") << std::endl;
  os << indent << "NumberOfDetectedComponents: " << m_NumberOfDetectedComponents << std::endl;
}

} // namespace itk

#endif
