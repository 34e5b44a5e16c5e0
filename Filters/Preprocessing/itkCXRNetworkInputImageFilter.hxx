// SPDX-License-Identifier: Apache-2.0
#ifndef itkCXRNetworkInputImageFilter_hxx
#define itkCXRNetworkInputImageFilter_hxx

#include "itkCXRNetworkInputImageFilter.h"

#include "itkProgressAccumulator.h"

namespace itk
{

template <typename TInputImage, typename TOutputImage>
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::CXRNetworkInputImageFilter()
{
  m_GridSize[0] = 340;
  m_GridSize[1] = 300;
}

template <typename TInputImage, typename TOutputImage>
auto
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::MakePreprocess(bool withPixels) const ->
  typename PreprocessFilterType::Pointer
{
  // A copy, so that the internal pipeline does not reach back into the outer one: the geometry alone for the output
  // information (the input's pixels may still be those of an earlier update), the pixels too for the data.
  auto input = InputImageType::New();
  if (withPixels)
  {
    input->Graft(const_cast<InputImageType *>(this->GetInput()));
  }
  else
  {
    input->CopyInformation(this->GetInput());
  }
  auto preprocess = PreprocessFilterType::New();
  preprocess->SetInput(input);
  preprocess->SetGridSize(m_GridSize);
  preprocess->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  return preprocess;
}

template <typename TInputImage, typename TOutputImage>
void
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  if (this->GetInput() == nullptr)
  {
    return;
  }
  auto preprocess = this->MakePreprocess(false);
  preprocess->UpdateOutputInformation();
  this->GetOutput()->CopyInformation(preprocess->GetOutput());
}

template <typename TInputImage, typename TOutputImage>
void
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  // Min-max scaling and resizing read the whole input.
  if (auto * input = const_cast<InputImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TInputImage, typename TOutputImage>
void
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject *)
{
  // The equalization's histogram covers the whole output.
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TInputImage, typename TOutputImage>
void
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  auto preprocess = this->MakePreprocess(true);
  auto equalize = EqualizationFilterType::New();
  equalize->SetInput(preprocess->GetOutput());
  equalize->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());

  auto progress = ProgressAccumulator::New();
  progress->SetMiniPipelineFilter(this);
  progress->RegisterInternalFilter(preprocess, 0.5f);
  progress->RegisterInternalFilter(equalize, 0.5f);

  equalize->GraftOutput(this->GetOutput());
  equalize->Update();
  this->GraftOutput(equalize->GetOutput());
}

template <typename TInputImage, typename TOutputImage>
void
CXRNetworkInputImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "GridSize: " << m_GridSize << std::endl;
}

} // namespace itk

#endif
