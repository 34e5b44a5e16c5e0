// SPDX-License-Identifier: Apache-2.0
// Built-in stages of the segmentation families: the network (through the pipeline's model backend), the lung mask
// (LungMaskPostprocessImageFilter) and the lung probability on the input's grid.
#include "BuiltIns.h"

#include "rescrnet/plugins/ModelBackend.h"

#include "itkImageRegionConstIterator.h"
#include "itkLungMaskPostprocessImageFilter.h"
#include "itkMetaDataObject.h"

namespace rescrnet::plugins
{

namespace
{

using PostprocessFilterType = itk::LungMaskPostprocessImageFilter<ImageType, LabelImageType>;

// segment: the network's per-class output for an image on the network grid.
class SegmentStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(SegmentStage);
  using Self = SegmentStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(SegmentStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "segment",
             "Runs the pipeline's model on the network input: per-class output and the probability of one class",
             { ParameterSpec::String("input",
                                     "network_input",
                                     "Network input",
                                     "The image the network reads (levels "
                                     "0..255 for a value range of [0, 1])"),
               ParameterSpec::String("classes", "classes", "Per-class output", "The per-class image it writes"),
               ParameterSpec::String("output", "probability", "Class probability", "The image of one class it writes"),
               ParameterSpec::String("class", "", "Class", "The class of that image, by name (empty: the first)") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext & context) override
  {
    if (!context.model)
      throw StageError("the stage \"segment\" needs a model, and the pipeline has none");
    m_Model = context.model;
    m_Contract = context.contract;
    m_Input = values.GetString("input");
    m_Classes = values.GetString("classes");
    m_Output = values.GetString("output");
    const std::string name = values.GetString("class");
    m_Class = 0;
    if (!name.empty())
    {
      const auto & names = m_Contract.classNames;
      const auto   found = std::find(names.begin(), names.end(), name);
      if (found == names.end())
      {
        std::string list;
        for (const auto & n : names)
          list += (list.empty() ? "" : ", ") + n;
        throw StageError("\"" + name + "\" is not a class of the model (" + list + ")", "class");
      }
      m_Class = static_cast<size_t>(found - names.begin());
    }
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Input, SlotKind::Image } };
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Classes, SlotKind::Classes }, { m_Output, SlotKind::Image } };
  }
  double
  RelativeCost() const override
  {
    return 15.0;
  }
  void
  Execute(PipelineData & data) const override
  {
    const ImageType * input = data.Get<ImageType>(m_Input);
    const auto        region = input->GetLargestPossibleRegion();
    const auto        width = static_cast<int64_t>(region.GetSize(0));
    const auto        height = static_cast<int64_t>(region.GetSize(1));
    const bool        divide = m_Contract.inputMaximum == 1.0;
    // ITK's buffer order (x fastest) is [H, W] row-major; levels / 255.0f as ResCRNetSegmentationImageFilter does.
    torch::Tensor images = torch::empty({ 1, 1, height, width }, torch::kFloat32);
    float *       values = images.data_ptr<float>();
    for (itk::ImageRegionConstIterator<ImageType> it(input, region); !it.IsAtEnd(); ++it, ++values)
      *values = divide ? it.Get() / 255.0f : it.Get();
    data.ReportProgress(0.05);

    torch::Tensor output = m_Model->Predict(images);
    const auto    classes = static_cast<int64_t>(m_Contract.classNames.size());
    if (output.dim() != 4 || output.size(0) != 1 || output.size(1) != classes || output.size(2) != height ||
        output.size(3) != width)
    {
      std::ostringstream shape;
      shape << output.sizes();
      throw StageError("the model returned a tensor of shape " + shape.str() + "; the pipeline expects [1, " +
                       std::to_string(classes) + ", " + std::to_string(height) + ", " + std::to_string(width) +
                       "] (network_data_format's output num_channels, and the input's grid)");
    }
    output = output.to(torch::kFloat32).contiguous();
    data.ReportProgress(0.9);

    auto perClass = ClassImageType::New();
    perClass->CopyInformation(input);
    perClass->SetRegions(region);
    perClass->SetNumberOfComponentsPerPixel(static_cast<unsigned>(classes));
    perClass->Allocate();
    auto probability = ImageType::New();
    probability->CopyInformation(input);
    probability->SetRegions(region);
    probability->Allocate();
    const float * planes = output.data_ptr<float>();
    const auto    planeSize = static_cast<size_t>(height * width);
    float *       vectors = perClass->GetBufferPointer();
    float *       selected = probability->GetBufferPointer();
    for (size_t p = 0; p < planeSize; ++p)
    {
      for (size_t c = 0; c < static_cast<size_t>(classes); ++c)
        vectors[p * static_cast<size_t>(classes) + c] = planes[c * planeSize + p];
      selected[p] = planes[m_Class * planeSize + p];
    }
    data.Set(m_Classes, perClass.GetPointer());
    data.Set(m_Output, probability.GetPointer());
  }

protected:
  SegmentStage() = default;
  ~SegmentStage() override = default;

private:
  const ModelBackend * m_Model{ nullptr };
  ModelContract        m_Contract;
  std::string          m_Input, m_Classes, m_Output;
  size_t               m_Class{ 0 };
};

// lung-mask: the probability back onto the input's grid, threshold, components, holes, sides.
class LungMaskStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LungMaskStage);
  using Self = LungMaskStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(LungMaskStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return {
      "lung-mask",
      "LungMaskPostprocessImageFilter: the lung probability resampled onto the input's grid, thresholded, the largest "
      "components kept, holes filled, optionally right/left labels",
      { ParameterSpec::String("probability", "probability", "Probability", "The probability image it reads"),
        ParameterSpec::String("reference", "image", "Reference grid", "The image whose grid the mask takes"),
        ParameterSpec::String("output", "mask", "Mask", "The label map it writes"),
        ParameterSpec::Number("threshold",
                              0.5,
                              0.0,
                              1.0,
                              0.05,
                              "Probability threshold",
                              "A pixel is lung when its probability exceeds this value"),
        ParameterSpec::Integer(
          "components", 2, 0, 100, "Components to keep", "Keep the N largest connected components (0 keeps all)"),
        ParameterSpec::Boolean("skipPostprocessing",
                               false,
                               "Skip post-processing",
                               "Keep the thresholded mask as it is: no component selection, no hole filling"),
        ParameterSpec::Boolean("leftRight",
                               false,
                               "Label left and right lungs",
                               "Label the patient's right lung 1 and left lung 2 (from the image direction)"),
        ParameterSpec::Boolean(
          "fullyConnected", false, "Fully connected", "Diagonal neighbours are connected (components, holes, sides)") }
    };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Probability = values.GetString("probability");
    m_Reference = values.GetString("reference");
    m_Output = values.GetString("output");
    m_Threshold = values.GetNumber("threshold");
    m_Components = values.GetInt("components");
    m_Skip = values.GetBool("skipPostprocessing");
    m_LeftRight = values.GetBool("leftRight");
    m_FullyConnected = values.GetBool("fullyConnected");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Probability, SlotKind::Image }, { m_Reference, SlotKind::Image } };
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Output, SlotKind::Labels } };
  }
  double
  RelativeCost() const override
  {
    return 2.0;
  }
  void
  Execute(PipelineData & data) const override
  {
    // The settings of itk::CXRLungSegmentationImageFilter, so that the masks are the same.
    auto postprocess = PostprocessFilterType::New();
    postprocess->SetInput(data.Get<ImageType>(m_Probability));
    postprocess->SetReferenceImage(data.Get<ImageType>(m_Reference));
    postprocess->SetThreshold(m_Threshold);
    postprocess->SetNumberOfComponents(static_cast<itk::SizeValueType>(m_Components));
    postprocess->SetSkipComponentSelection(m_Skip);
    postprocess->SetSkipHoleFilling(m_Skip);
    postprocess->SetLabelLeftRight(m_LeftRight && !m_Skip);
    postprocess->SetFullyConnected(m_FullyConnected);
    postprocess->Update();
    LabelImageType::Pointer mask = postprocess->GetOutput();
    mask->DisconnectPipeline();
    itk::EncapsulateMetaData<std::string>(
      mask->GetMetaDataDictionary(), LabelMeaningKey, m_LeftRight && !m_Skip ? "right-left" : "lung");
    itk::EncapsulateMetaData<double>(mask->GetMetaDataDictionary(), ThresholdKey, m_Threshold);
    data.Set(m_Output, mask.GetPointer());
  }

protected:
  LungMaskStage() = default;
  ~LungMaskStage() override = default;

private:
  std::string m_Probability, m_Reference, m_Output;
  double      m_Threshold{ 0.5 };
  int64_t     m_Components{ 2 };
  bool        m_Skip{ false }, m_LeftRight{ false }, m_FullyConnected{ false };
};

// probability-map: the probability resampled onto the input's grid, as lung-mask does before its threshold.
class ProbabilityMapStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ProbabilityMapStage);
  using Self = ProbabilityMapStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(ProbabilityMapStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "probability-map",
             "The probability resampled (bilinear) onto the input's grid, as lung-mask does before its threshold",
             { ParameterSpec::String("probability", "probability", "Probability", "The probability image it reads"),
               ParameterSpec::String("reference", "image", "Reference grid", "The image whose grid it takes"),
               ParameterSpec::String("output", "probability_map", "Output", "The image it writes") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Probability = values.GetString("probability");
    m_Reference = values.GetString("reference");
    m_Output = values.GetString("output");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Probability, SlotKind::Image }, { m_Reference, SlotKind::Image } };
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Output, SlotKind::Image } };
  }
  void
  Execute(PipelineData & data) const override
  {
    auto probability =
      PostprocessFilterType::ResampleProbability(data.Get<ImageType>(m_Probability), data.Get<ImageType>(m_Reference));
    data.Set(m_Output, probability.GetPointer());
  }

protected:
  ProbabilityMapStage() = default;
  ~ProbabilityMapStage() override = default;

private:
  std::string m_Probability, m_Reference, m_Output;
};

} // namespace

void
RegisterSegmentationStages(PluginFactory & factory)
{
  factory.RegisterStage<SegmentStage>();
  factory.RegisterStage<LungMaskStage>();
  factory.RegisterStage<ProbabilityMapStage>();
}

} // namespace rescrnet::plugins
