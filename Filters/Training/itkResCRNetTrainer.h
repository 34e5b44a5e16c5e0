// SPDX-License-Identifier: Apache-2.0
// Training of Res-CR-Net as an ITK process object: image/label pairs in, the trained model out as a data object.
#ifndef itkResCRNetTrainer_h
#define itkResCRNetTrainer_h

#include "itkImage.h"
#include "itkProcessObject.h"
#include "itkResCRNetModelObject.h"

#include "rescrnet/Trainer.h"

#include <string>
#include <vector>

namespace itk
{

/** \class ResCRNetTrainer
 * \brief Trains a Res-CR-Net (rescrnet::Trainer) on image/label pairs and outputs the best model (by validation
 * loss) as a ResCRNetModelObject.
 *
 * Each image goes through the same filters as inference (CXRPreprocessImageFilter at the grid, then
 * HistogramEqualizationImageFilter, then / 255), so that training and inference cannot drift apart. Each label
 * image is resampled linearly onto the same grid, one channel per class, and turned back into one-hot by argmax.
 * Class channels follow the lung model's convention: label value v in 1 .. C-1 is class v-1, and 0 (background) is
 * the last class; with two classes any nonzero label is class 0 ("lungs") and 0 is class 1 ("non_lungs").
 *
 * Events: a ProgressEvent after every training step (GetLastStep() has the epoch, step, running loss, images per
 * second and ETA) and an IterationEvent after every epoch (GetLastEpoch() has loss, Tanimoto, val_loss,
 * val_tanimoto, val_dice, seconds). AbortGenerateData stops training after the current step.
 *
 * With a CacheFileName, the preprocessed tensors are stored there and reused while the inputs, grid and classes
 * are unchanged (checked through a CRC-32 of all pixel buffers).
 *
 * \ingroup ResCRNetFilters
 */
template <typename TImage, typename TLabelImage = Image<unsigned char, TImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT ResCRNetTrainer : public ProcessObject
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ResCRNetTrainer);
  using Self = ResCRNetTrainer;
  using Superclass = ProcessObject;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  using ImageType = TImage;
  using LabelImageType = TLabelImage;
  static constexpr unsigned int ImageDimension = TImage::ImageDimension;
  itkNewMacro(Self);
  itkTypeMacro(ResCRNetTrainer, ProcessObject);

  /** Adds a training or a validation pair (the label image on the image's grid). The source names the data set the
   * pair comes from (e.g. "MC", "QUEXNC"): training samples the sources by the trainer configuration's source weights,
   * and validation reports the Dice of each source. */
  void
  AddTrainingPair(const ImageType * image, const LabelImageType * labels, const std::string & source = "");
  void
  AddValidationPair(const ImageType * image, const LabelImageType * labels, const std::string & source = "");
  void
  ClearPairs();
  unsigned int
  GetNumberOfTrainingPairs() const
  {
    return static_cast<unsigned int>(m_TrainingInputs.size());
  }
  unsigned int
  GetNumberOfValidationPairs() const
  {
    return static_cast<unsigned int>(m_ValidationInputs.size());
  }

  void
  SetNetworkConfiguration(const rescrnet::NetworkConfig & c)
  {
    m_NetworkConfiguration = c;
    this->Modified();
  }
  const rescrnet::NetworkConfig &
  GetNetworkConfiguration() const
  {
    return m_NetworkConfiguration;
  }
  void
  SetTrainerConfiguration(const rescrnet::TrainerConfig & c)
  {
    m_TrainerConfiguration = c;
    this->Modified();
  }
  const rescrnet::TrainerConfig &
  GetTrainerConfiguration() const
  {
    return m_TrainerConfiguration;
  }
  /** Network grid (width x height) the images are resampled to; default 340 x 300. */
  itkSetMacro(GridWidth, unsigned int);
  itkGetConstMacro(GridWidth, unsigned int);
  itkSetMacro(GridHeight, unsigned int);
  itkGetConstMacro(GridHeight, unsigned int);
  void
  SetClassNames(const std::vector<std::string> & names)
  {
    m_ClassNames = names;
    this->Modified();
  }
  /** Recorded in the model file's provenance (e.g. command, data, machine). */
  void
  SetProvenance(const nlohmann::ordered_json & p)
  {
    m_Provenance = p;
    this->Modified();
  }
  /** Start from these weights instead of a fresh initialisation (fine-tuning); must match the configuration. */
  itkSetConstObjectMacro(InitialModel, ResCRNetModelObject);
  itkGetConstObjectMacro(InitialModel, ResCRNetModelObject);
  itkSetStringMacro(CacheFileName);
  itkGetStringMacro(CacheFileName);
  /** Continue from the checkpoint in the trainer configuration's checkpoint directory when there is one. */
  itkSetMacro(Resume, bool);
  itkGetConstMacro(Resume, bool);
  itkBooleanMacro(Resume);

  ResCRNetModelObject *
  GetModelOutput();

  const rescrnet::StepProgress &
  GetLastStep() const
  {
    return m_LastStep;
  }
  const rescrnet::EpochRecord &
  GetLastEpoch() const
  {
    return m_LastEpoch;
  }
  const std::vector<rescrnet::EpochRecord> &
  GetHistory() const
  {
    return m_History;
  }
  /** Why training ended: "completed", "early stopping", "time budget" or "stopped". */
  const std::string &
  GetStopReason() const
  {
    return m_StopReason;
  }
  /** Whether the last update continued from a checkpoint. */
  itkGetConstMacro(Resumed, bool);
  /** Writes the history as CSV (epoch, loss, tanimoto, val_loss, val_tanimoto, val_dice, seconds, learning_rate). */
  void
  WriteHistory(const std::string & fileName) const;

  /** The network input for one image: CXRPreprocess at width x height, equalization, / 255 -> [1, height, width]. */
  static torch::Tensor
  ImageToTensor(const ImageType * image, unsigned int width, unsigned int height);
  /** One-hot [classes, height, width] for a label image on `image`'s grid. */
  static torch::Tensor
  LabelsToTensor(const LabelImageType * labels,
                 const ImageType *      image,
                 unsigned int           width,
                 unsigned int           height,
                 unsigned int           classes);

protected:
  ResCRNetTrainer();
  ~ResCRNetTrainer() override = default;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;
  void
  GenerateData() override;
  using Superclass::MakeOutput;
  DataObject::Pointer MakeOutput(DataObjectPointerArraySizeType) override;

private:
  rescrnet::TrainingData
  Prepare(const std::vector<std::pair<typename ImageType::ConstPointer, typename LabelImageType::ConstPointer>> & pairs,
          const std::string &                                                                                     what);
  uint32_t
  InputChecksum() const;

  using PairList = std::vector<std::pair<typename ImageType::ConstPointer, typename LabelImageType::ConstPointer>>;
  PairList                           m_TrainingInputs;
  PairList                           m_ValidationInputs;
  std::vector<std::string>           m_TrainingSources;
  std::vector<std::string>           m_ValidationSources;
  rescrnet::NetworkConfig            m_NetworkConfiguration{ rescrnet::NetworkConfig::LungDefault() };
  rescrnet::TrainerConfig            m_TrainerConfiguration;
  unsigned int                       m_GridWidth{ 340 };
  unsigned int                       m_GridHeight{ 300 };
  std::vector<std::string>           m_ClassNames{ "lungs", "non_lungs" };
  nlohmann::ordered_json             m_Provenance = nlohmann::ordered_json::object();
  ResCRNetModelObject::ConstPointer  m_InitialModel;
  std::string                        m_CacheFileName;
  bool                               m_Resume{ false };
  bool                               m_Resumed{ false };
  rescrnet::StepProgress             m_LastStep;
  rescrnet::EpochRecord              m_LastEpoch;
  std::vector<rescrnet::EpochRecord> m_History;
  std::string                        m_StopReason;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkResCRNetTrainer.hxx"
#endif

#endif
