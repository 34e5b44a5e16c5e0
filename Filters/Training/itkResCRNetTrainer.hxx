// SPDX-License-Identifier: Apache-2.0
#ifndef itkResCRNetTrainer_hxx
#define itkResCRNetTrainer_hxx

#include "itkResCRNetTrainer.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkCXRNetworkInputImageFilter.h"
#include "itkCXRPreprocessImageFilter.h"
#include "itkChangeInformationImageFilter.h"
#include "itkLinearInterpolateImageFunction.h"
#include "itkNearestNeighborExtrapolateImageFunction.h"
#include "itkResampleImageFilter.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace itk
{

template <typename TImage, typename TLabelImage>
ResCRNetTrainer<TImage, TLabelImage>::ResCRNetTrainer()
{
  this->SetNumberOfRequiredOutputs(1);
  this->SetNthOutput(0, this->MakeOutput(0));
}

template <typename TImage, typename TLabelImage>
DataObject::Pointer
ResCRNetTrainer<TImage, TLabelImage>::MakeOutput(DataObjectPointerArraySizeType)
{
  return ResCRNetModelObject::New().GetPointer();
}

template <typename TImage, typename TLabelImage>
ResCRNetModelObject *
ResCRNetTrainer<TImage, TLabelImage>::GetModelOutput()
{
  return static_cast<ResCRNetModelObject *>(this->GetOutput(0));
}

template <typename TImage, typename TLabelImage>
void
ResCRNetTrainer<TImage, TLabelImage>::AddTrainingPair(const ImageType *      image,
                                                      const LabelImageType * labels,
                                                      const std::string &    source)
{
  if (!image || !labels)
  {
    itkExceptionMacro(<< "AddTrainingPair: null image or label image");
  }
  m_TrainingInputs.emplace_back(image, labels);
  m_TrainingSources.push_back(source);
  this->PushBackInput(image);
  this->PushBackInput(labels);
  this->Modified();
}

template <typename TImage, typename TLabelImage>
void
ResCRNetTrainer<TImage, TLabelImage>::AddValidationPair(const ImageType *      image,
                                                        const LabelImageType * labels,
                                                        const std::string &    source)
{
  if (!image || !labels)
  {
    itkExceptionMacro(<< "AddValidationPair: null image or label image");
  }
  m_ValidationInputs.emplace_back(image, labels);
  m_ValidationSources.push_back(source);
  this->PushBackInput(image);
  this->PushBackInput(labels);
  this->Modified();
}

template <typename TImage, typename TLabelImage>
void
ResCRNetTrainer<TImage, TLabelImage>::ClearPairs()
{
  m_TrainingInputs.clear();
  m_ValidationInputs.clear();
  m_TrainingSources.clear();
  m_ValidationSources.clear();
  this->SetNumberOfIndexedInputs(0);
  this->Modified();
}

template <typename TImage, typename TLabelImage>
torch::Tensor
ResCRNetTrainer<TImage, TLabelImage>::ImageToTensor(const ImageType * image, unsigned int width, unsigned int height)
{
  using FloatImage = Image<float, ImageDimension>;
  // The first stages of CXRLungSegmentationImageFilter: what the network sees at inference.
  auto networkInput = CXRNetworkInputImageFilter<ImageType, FloatImage>::New();
  networkInput->SetInput(image);
  networkInput->SetGridSize(width, height);
  networkInput->Update();
  const FloatImage * out = networkInput->GetOutput();
  const auto         size = out->GetLargestPossibleRegion().GetSize();
  for (unsigned int d = 2; d < ImageDimension; ++d)
  {
    if (size[d] != 1)
    {
      itkGenericExceptionMacro(<< "ResCRNetTrainer: training images must be 2-D (or 3-D with one slice)");
    }
  }
  auto t = torch::from_blob(const_cast<float *>(out->GetBufferPointer()),
                            { 1, static_cast<int64_t>(height), static_cast<int64_t>(width) },
                            torch::kFloat32)
             .clone();
  return t / 255.0f; // a division, as the reference float32(eq / 255.0)
}

template <typename TImage, typename TLabelImage>
torch::Tensor
ResCRNetTrainer<TImage, TLabelImage>::LabelsToTensor(const LabelImageType * labels,
                                                     const ImageType *      image,
                                                     unsigned int           width,
                                                     unsigned int           height,
                                                     unsigned int           classes)
{
  using FloatImage = Image<float, ImageDimension>;
  if (labels->GetLargestPossibleRegion().GetSize() != image->GetLargestPossibleRegion().GetSize())
  {
    itkGenericExceptionMacro(<< "ResCRNetTrainer: label image of size " << labels->GetLargestPossibleRegion().GetSize()
                             << " does not match its image of size " << image->GetLargestPossibleRegion().GetSize());
  }
  // The labels take the image's geometry (a PNG mask carries none of its own).
  auto geometry = ChangeInformationImageFilter<LabelImageType>::New();
  geometry->SetInput(labels);
  geometry->SetOutputSpacing(image->GetSpacing());
  geometry->SetOutputOrigin(image->GetOrigin());
  geometry->SetOutputDirection(image->GetDirection());
  geometry->ChangeSpacingOn();
  geometry->ChangeOriginOn();
  geometry->ChangeDirectionOn();
  // The network grid, as the preprocessing filter lays it out for this image.
  auto grid = CXRPreprocessImageFilter<ImageType, FloatImage>::New();
  grid->SetInput(image);
  grid->SetGridSize(width, height);
  grid->UpdateOutputInformation();

  std::vector<torch::Tensor> channels;
  for (unsigned int c = 0; c < classes; ++c)
  {
    using PixelType = typename LabelImageType::PixelType;
    auto select = BinaryThresholdImageFilter<LabelImageType, FloatImage>::New();
    select->SetInput(geometry->GetOutput());
    select->SetInsideValue(1.0f);
    select->SetOutsideValue(0.0f);
    if (c + 1 == classes) // background
    {
      select->SetLowerThreshold(0);
      select->SetUpperThreshold(0);
    }
    else if (classes == 2) // any nonzero label
    {
      select->SetLowerThreshold(1);
      select->SetUpperThreshold(NumericTraits<PixelType>::max());
    }
    else
    {
      select->SetLowerThreshold(static_cast<PixelType>(c + 1));
      select->SetUpperThreshold(static_cast<PixelType>(c + 1));
    }
    auto resample = ResampleImageFilter<FloatImage, FloatImage>::New();
    resample->SetInput(select->GetOutput());
    resample->SetInterpolator(LinearInterpolateImageFunction<FloatImage, double>::New());
    resample->SetExtrapolator(NearestNeighborExtrapolateImageFunction<FloatImage, double>::New());
    resample->SetSize(grid->GetOutput()->GetLargestPossibleRegion().GetSize());
    resample->SetOutputSpacing(grid->GetOutput()->GetSpacing());
    resample->SetOutputOrigin(grid->GetOutput()->GetOrigin());
    resample->SetOutputDirection(grid->GetOutput()->GetDirection());
    resample->Update();
    channels.push_back(torch::from_blob(resample->GetOutput()->GetBufferPointer(),
                                        { static_cast<int64_t>(height), static_cast<int64_t>(width) },
                                        torch::kFloat32)
                         .clone());
  }
  auto stacked = torch::stack(channels);
  return torch::one_hot(stacked.argmax(0), classes).permute({ 2, 0, 1 }).to(torch::kFloat32).contiguous();
}

template <typename TImage, typename TLabelImage>
uint32_t
ResCRNetTrainer<TImage, TLabelImage>::InputChecksum() const
{
  uint32_t crc = 0;
  auto     add = [&crc](const auto * img) {
    const size_t n = img->GetBufferedRegion().GetNumberOfPixels();
    crc = rescrnet::Crc32(img->GetBufferPointer(), n * sizeof(*img->GetBufferPointer()), crc);
  };
  for (const auto * list : { &m_TrainingInputs, &m_ValidationInputs })
  {
    for (const auto & p : *list)
    {
      add(p.first.GetPointer());
      add(p.second.GetPointer());
    }
  }
  const unsigned int tail[3] = { m_GridWidth, m_GridHeight, static_cast<unsigned int>(m_ClassNames.size()) };
  return rescrnet::Crc32(tail, sizeof(tail), crc);
}

template <typename TImage, typename TLabelImage>
rescrnet::TrainingData
ResCRNetTrainer<TImage, TLabelImage>::Prepare(const PairList & pairs, const std::string & what)
{
  rescrnet::TrainingData     data;
  std::vector<torch::Tensor> images, labels;
  for (size_t i = 0; i < pairs.size(); ++i)
  {
    try
    {
      images.push_back(ImageToTensor(pairs[i].first, m_GridWidth, m_GridHeight));
      labels.push_back(LabelsToTensor(
        pairs[i].second, pairs[i].first, m_GridWidth, m_GridHeight, static_cast<unsigned int>(m_ClassNames.size())));
    }
    catch (const ExceptionObject & e)
    {
      itkExceptionMacro(<< what << " pair " << i << ": " << e.GetDescription());
    }
    data.ids.push_back(what + std::to_string(i));
  }
  if (!images.empty())
  {
    data.images = torch::stack(images);
    data.masks = torch::stack(labels);
  }
  return data;
}

template <typename TImage, typename TLabelImage>
void
ResCRNetTrainer<TImage, TLabelImage>::GenerateData()
{
  m_Resumed = false;
  m_History.clear();
  m_StopReason.clear();
  if (m_TrainingInputs.empty())
  {
    itkExceptionMacro(<< "no training pairs");
  }
  if (static_cast<int64_t>(m_ClassNames.size()) != m_NetworkConfiguration.numClasses)
  {
    itkExceptionMacro(<< m_ClassNames.size() << " class names for a network with " << m_NetworkConfiguration.numClasses
                      << " classes");
  }
  const auto start = std::chrono::steady_clock::now();

  // Preprocessed tensors, from the cache when the inputs are unchanged.
  rescrnet::TrainingData train, val;
  const uint32_t         checksum = InputChecksum();
  const std::string      keyFile = m_CacheFileName + ".key";
  bool                   cached = false;
  if (!m_CacheFileName.empty() && std::filesystem::exists(m_CacheFileName) && std::filesystem::exists(keyFile))
  {
    std::ifstream key(keyFile);
    uint32_t      stored = 0;
    key >> stored;
    if (key && stored == checksum)
    {
      std::vector<torch::Tensor> tensors;
      torch::load(tensors, m_CacheFileName);
      if (tensors.size() == 4)
      {
        train.images = tensors[0];
        train.masks = tensors[1];
        if (tensors[2].numel() > 0)
        {
          val.images = tensors[2];
          val.masks = tensors[3];
        }
        cached = train.size() == static_cast<int64_t>(m_TrainingInputs.size());
      }
    }
  }
  if (!cached)
  {
    train = Prepare(m_TrainingInputs, "training");
    val = Prepare(m_ValidationInputs, "validation");
    if (!m_CacheFileName.empty())
    {
      std::vector<torch::Tensor> tensors{ train.images,
                                          train.masks,
                                          val.size() ? val.images : torch::empty({ 0 }),
                                          val.size() ? val.masks : torch::empty({ 0 }) };
      torch::save(tensors, m_CacheFileName);
      std::ofstream(keyFile) << checksum << "\n";
    }
  }
  train.sources = m_TrainingSources;
  if (val.size() > 0)
  {
    val.sources = m_ValidationSources;
  }
  this->UpdateProgress(0.0f);

  rescrnet::ModelInfo info;
  info.architecture = m_NetworkConfiguration;
  info.input.width = m_GridWidth;
  info.input.height = m_GridHeight;
  info.input.channels = m_NetworkConfiguration.inputChannels;
  info.classes = m_ClassNames;
  info.provenance = m_Provenance.is_object() ? m_Provenance : nlohmann::ordered_json::object();
  info.provenance["kind"] = "trained";
  info.provenance["trainer"] = m_TrainerConfiguration.toJson();
  info.provenance["training_images"] = static_cast<int64_t>(train.size());
  info.provenance["validation_images"] = static_cast<int64_t>(val.size());

  try
  {
    torch::manual_seed(static_cast<uint64_t>(m_TrainerConfiguration.seed));
    rescrnet::ResCRNet network(m_NetworkConfiguration);
    if (m_InitialModel && m_InitialModel->HasModel())
    {
      if (m_InitialModel->GetInfo().architecture != m_NetworkConfiguration)
      {
        itkExceptionMacro(<< "the initial model has another architecture than the configuration");
      }
      torch::NoGradGuard g;
      auto               dst = network->namedState();
      auto               src = m_InitialModel->GetNetwork()->namedState();
      for (size_t i = 0; i < dst.size(); ++i)
        dst[i].second.copy_(src[i].second);
      info.provenance["initial_model"] = m_InitialModel->GetInfo().provenance;
    }
    rescrnet::Trainer trainer(network, info, m_TrainerConfiguration);
    trainer.setTrainingData(train);
    if (val.size() > 0)
    {
      trainer.setValidationData(val);
    }
    if (m_Resume)
    {
      m_Resumed = trainer.resume();
      m_History = trainer.history(); // the epochs before the interruption stay in the record
    }
    const double totalSteps =
      static_cast<double>(m_TrainerConfiguration.epochs) *
      static_cast<double>((train.size() + m_TrainerConfiguration.batchSize - 1) / m_TrainerConfiguration.batchSize);
    trainer.onStep = [this, totalSteps](const rescrnet::StepProgress & p) {
      m_LastStep = p;
      const double done = static_cast<double>(p.epoch - 1) * static_cast<double>(p.steps) + static_cast<double>(p.step);
      this->UpdateProgress(static_cast<float>(std::min(1.0, done / totalSteps)));
    };
    trainer.onEpoch = [this](const rescrnet::EpochRecord & r) {
      m_LastEpoch = r;
      m_History.push_back(r);
      this->InvokeEvent(IterationEvent());
    };
    trainer.shouldStop = [this]() { return this->GetAbortGenerateData(); };
    trainer.run();
    m_History = trainer.history();
    m_StopReason = trainer.stopReason();

    // The best epoch's figures go into the model header.
    rescrnet::ModelInfo           outInfo = trainer.info();
    const rescrnet::EpochRecord * best = nullptr;
    for (const auto & r : m_History)
      if (!best || r.valLoss < best->valLoss)
        best = &r;
    if (best)
    {
      outInfo.metrics["best_epoch"] = best->epoch;
      outInfo.metrics["val_loss"] = best->valLoss;
      outInfo.metrics["val_tanimoto"] = best->valTanimoto;
      outInfo.metrics["val_dice"] = best->valDice;
    }
    outInfo.provenance["epochs_trained"] = static_cast<int64_t>(m_History.size());
    outInfo.provenance["stop_reason"] = m_StopReason;
    double seconds = 0;
    for (const auto & r : m_History)
      seconds += r.seconds;
    outInfo.provenance["training_seconds"] = seconds;
    outInfo.provenance["session_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    this->GetModelOutput()->SetModel(trainer.bestNetwork(), outInfo);
    m_History = trainer.history();
  }
  catch (const ExceptionObject &)
  {
    throw;
  }
  catch (const std::exception & e)
  {
    itkExceptionMacro(<< "training failed: " << e.what());
  }
  this->UpdateProgress(1.0f);
}

template <typename TImage, typename TLabelImage>
void
ResCRNetTrainer<TImage, TLabelImage>::WriteHistory(const std::string & fileName) const
{
  rescrnet::WriteTrainingHistoryCsv(m_History, fileName);
}

template <typename TImage, typename TLabelImage>
void
ResCRNetTrainer<TImage, TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "TrainingPairs: " << m_TrainingInputs.size() << std::endl;
  os << indent << "ValidationPairs: " << m_ValidationInputs.size() << std::endl;
  os << indent << "Grid: " << m_GridWidth << " x " << m_GridHeight << std::endl;
  os << indent << "Network: " << rescrnet::DumpJson(m_NetworkConfiguration.toJson()) << std::endl;
  os << indent << "Trainer: " << rescrnet::DumpJson(m_TrainerConfiguration.toJson()) << std::endl;
  os << indent << "CacheFileName: " << m_CacheFileName << std::endl;
  os << indent << "Resume: " << (m_Resume ? "On" : "Off") << std::endl;
  os << indent << "StopReason: " << m_StopReason << std::endl;
}

} // namespace itk

#endif
