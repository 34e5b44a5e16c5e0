// SPDX-License-Identifier: Apache-2.0
#ifndef itkResCRNetSegmentationImageFilter_hxx
#define itkResCRNetSegmentationImageFilter_hxx

#include "itkResCRNetSegmentationImageFilter.h"

#include "itkImageRegionConstIterator.h"

#include <exception>

namespace itk
{

template <typename TInputImage, typename TOutputImage>
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::ResCRNetSegmentationImageFilter()
{
  this->SetNumberOfRequiredOutputs(2);
  this->SetNthOutput(1, this->MakeOutput(1));
}


template <typename TInputImage, typename TOutputImage>
DataObject::Pointer
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::MakeOutput(DataObjectPointerArraySizeType index)
{
  if (index == 1)
  {
    return ProbabilityImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(index);
}


template <typename TInputImage, typename TOutputImage>
auto
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GetProbabilityOutput() -> ProbabilityImageType *
{
  return dynamic_cast<ProbabilityImageType *>(this->ProcessObject::GetOutput(1));
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::SetModelFileName(const std::string & fileName)
{
  if (fileName == m_ModelFileName)
  {
    return;
  }
  m_ModelFileName = fileName;
  if (m_PredictorFromFile)
  {
    m_Predictor.reset();
    m_PredictorFromFile = false;
  }
  this->Modified();
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::SetPrecision(const std::string & precision)
{
  if (precision == m_Precision)
  {
    return;
  }
  try
  {
    rescrnet::ParsePrecision(precision);
  }
  catch (const std::exception & e)
  {
    itkExceptionMacro(<< e.what());
  }
  m_Precision = precision;
  if (m_PredictorFromFile)
  {
    m_Predictor.reset();
    m_PredictorFromFile = false;
  }
  this->Modified();
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::SetPredictor(PredictorPointer predictor)
{
  if (predictor == m_Predictor)
  {
    return;
  }
  m_Predictor = std::move(predictor);
  m_PredictorFromFile = false;
  this->Modified();
}


template <typename TInputImage, typename TOutputImage>
auto
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GetPredictor() -> PredictorPointer
{
  this->LoadModelIfNeeded();
  return m_Predictor;
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::LoadModel()
{
  this->LoadModelIfNeeded();
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::LoadModelIfNeeded()
{
  if (m_Predictor)
  {
    return;
  }
  if (m_ModelFileName.empty())
  {
    itkExceptionMacro(<< "no model: call SetModelFileName() or SetPredictor() first");
  }
  std::shared_ptr<rescrnet::Predictor> predictor;
  try
  {
    predictor =
      std::make_shared<rescrnet::Predictor>(rescrnet::Predictor::FromFile(m_ModelFileName, m_NumberOfThreads));
  }
  catch (const c10::Error & e)
  {
    itkExceptionMacro(<< "cannot load the model \"" << m_ModelFileName << "\": " << e.what_without_backtrace());
  }
  catch (const std::exception & e)
  {
    itkExceptionMacro(<< "cannot load the model \"" << m_ModelFileName << "\": " << e.what());
  }
  try
  {
    predictor->setPrecision(rescrnet::ParsePrecision(m_Precision));
  }
  catch (const std::exception & e)
  {
    itkExceptionMacro(<< e.what());
  }
  m_Predictor = std::move(predictor);
  m_PredictorFromFile = true;
}


template <typename TInputImage, typename TOutputImage>
unsigned int
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GetNumberOfClasses()
{
  this->LoadModelIfNeeded();
  return static_cast<unsigned int>(m_Predictor->network()->config().numClasses);
}


template <typename TInputImage, typename TOutputImage>
std::vector<std::string>
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GetClassNames()
{
  this->LoadModelIfNeeded();
  return m_Predictor->info().classes;
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation(); // both outputs take the input's grid

  this->LoadModelIfNeeded();
  const rescrnet::NetworkConfig & config = m_Predictor->network()->config();
  if (config.inputChannels != 1)
  {
    itkExceptionMacro(<< "the model expects " << config.inputChannels
                      << " input channels; this filter feeds it one (a scalar image)");
  }
  const auto classes = static_cast<unsigned int>(config.numClasses);
  if (m_ProbabilityClassIndex >= classes)
  {
    itkExceptionMacro(<< "ProbabilityClassIndex is " << m_ProbabilityClassIndex << " but the model has " << classes
                      << " classes");
  }
  this->GetOutput()->SetNumberOfComponentsPerPixel(classes);
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  if (auto * input = const_cast<InputImageType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::EnlargeOutputRequestedRegion(DataObject *)
{
  // The network sees the whole image at once.
  this->GetOutput()->SetRequestedRegionToLargestPossibleRegion();
  this->GetProbabilityOutput()->SetRequestedRegionToLargestPossibleRegion();
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::GenerateData()
{
  this->AllocateOutputs();
  this->UpdateProgress(0.0f);

  const InputImageType *                      input = this->GetInput();
  const typename InputImageType::RegionType & region = input->GetLargestPossibleRegion();
  const auto                                  width = static_cast<int64_t>(region.GetSize(0));
  const auto                                  height = static_cast<int64_t>(region.GetSize(1));
  int64_t                                     batch = 1;
  for (unsigned int d = 2; d < ImageDimension; ++d)
  {
    batch *= static_cast<int64_t>(region.GetSize(d));
  }
  const auto classes = static_cast<int64_t>(this->GetOutput()->GetNumberOfComponentsPerPixel());
  const auto pixels = static_cast<size_t>(batch * height * width);

  torch::Tensor probabilities;
  try
  {
    // ITK's buffer order (x fastest, then y, then the other axes) is [B, H, W] in row-major order.
    torch::Tensor images = torch::empty({ batch, 1, height, width }, torch::kFloat32);
    float *       data = images.data_ptr<float>();
    for (ImageRegionConstIterator<InputImageType> it(input, region); !it.IsAtEnd(); ++it, ++data)
    {
      const auto value = static_cast<float>(it.Get());
      *data = m_ScaleInputBy255 ? value / 255.0f : value;
    }
    this->UpdateProgress(0.05f);

    if (m_NumberOfThreads > 0 && m_Predictor->threads() <= 0 && torch::get_num_threads() != m_NumberOfThreads)
    {
      torch::set_num_threads(m_NumberOfThreads);
    }
    probabilities = m_Predictor->predict(images);
    if (probabilities.dim() != 4 || probabilities.size(0) != batch || probabilities.size(1) != classes ||
        probabilities.size(2) != height || probabilities.size(3) != width)
    {
      itkExceptionMacro(<< "the network returned a tensor of shape " << probabilities.sizes() << "; expected [" << batch
                        << ", " << classes << ", " << height << ", " << width << "]");
    }
    probabilities = probabilities.to(torch::kFloat32).contiguous();
  }
  catch (const ExceptionObject &)
  {
    throw;
  }
  catch (const c10::Error & e)
  {
    itkExceptionMacro(<< "the forward pass failed: " << e.what_without_backtrace());
  }
  catch (const std::exception & e)
  {
    itkExceptionMacro(<< "the forward pass failed: " << e.what());
  }
  this->UpdateProgress(0.9f);

  // [B, C, H, W] planes -> interleaved vector pixels, and one plane -> output 1.
  const float * planes = probabilities.data_ptr<float>();
  const size_t  planeSize = static_cast<size_t>(height * width);
  auto *        vectors = this->GetOutput()->GetBufferPointer();
  float *       selected = this->GetProbabilityOutput()->GetBufferPointer();
  for (size_t p = 0; p < pixels; ++p)
  {
    const size_t  b = p / planeSize;
    const size_t  inPlane = p % planeSize;
    const float * first = planes + b * static_cast<size_t>(classes) * planeSize + inPlane;
    for (int64_t c = 0; c < classes; ++c)
    {
      vectors[p * static_cast<size_t>(classes) + static_cast<size_t>(c)] =
        static_cast<typename OutputImageType::InternalPixelType>(first[static_cast<size_t>(c) * planeSize]);
    }
    selected[p] = first[static_cast<size_t>(m_ProbabilityClassIndex) * planeSize];
  }
  this->UpdateProgress(1.0f);
}


template <typename TInputImage, typename TOutputImage>
void
ResCRNetSegmentationImageFilter<TInputImage, TOutputImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "ModelFileName: " << m_ModelFileName << std::endl;
  os << indent << "Predictor: " << (m_Predictor ? (m_PredictorFromFile ? "loaded from file" : "set") : "none")
     << std::endl;
  os << indent << "NumberOfThreads: " << m_NumberOfThreads << std::endl;
  os << indent << "Precision: " << m_Precision << std::endl;
  os << indent << "ScaleInputBy255: " << (m_ScaleInputBy255 ? "On" : "Off") << std::endl;
  os << indent << "ProbabilityClassIndex: " << m_ProbabilityClassIndex << std::endl;
}

} // namespace itk

#endif
