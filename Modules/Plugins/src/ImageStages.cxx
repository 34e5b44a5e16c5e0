// SPDX-License-Identifier: Apache-2.0
// Built-in stages of the image families: reading the radiograph, the preprocessing (CXRPreprocessImageFilter) and
// the global histogram equalization (HistogramEqualizationImageFilter).
#include "BuiltIns.h"

#include "rescrnet/plugins/ModelBackend.h"

#include "itkCXRPreprocessImageFilter.h"
#include "itkHistogramEqualizationImageFilter.h"

namespace rescrnet::plugins
{

namespace
{

// read-image: the input file as a grey image.
class ReadImageStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ReadImageStage);
  using Self = ReadImageStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(ReadImageStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return {
      "read-image",
      "Reads the input radiograph (PNG, JPEG, TIFF, NRRD, NIfTI, MHA; DICOM CR/DX with VOI and MONOCHROME1) "
      "as a grey image",
      { ParameterSpec::String("output", "image", "Image", "The image it writes"),
        ParameterSpec::Boolean("fixNegativeChest",
                               true,
                               "Fix negative DICOM chest images",
                               "Invert a DICOM chest radiograph stored as a negative (dark mediastinum)"),
        ParameterSpec::Boolean("preferImagerPixelSpacing",
                               false,
                               "Prefer Imager Pixel Spacing",
                               "DICOM: the detector-plane spacing even when Pixel Spacing is present"),
        ParameterSpec::Boolean(
          "refuseNonChest", false, "Refuse non-chest DICOM", "DICOM: refuse a Body Part Examined other than CHEST") }
    };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Output = values.GetString("output");
    m_Options.fixNegativeChest = values.GetBool("fixNegativeChest");
    m_Options.preferImagerPixelSpacing = values.GetBool("preferImagerPixelSpacing");
    m_Options.refuseNonChest = values.GetBool("refuseNonChest");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return {};
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Output, SlotKind::Image } };
  }
  std::string
  FileRole() const override
  {
    return "input";
  }
  void
  Prepare(const PipelineData & data) const override
  {
    io::CheckRadiographFile(data.File("input"));
  }
  void
  Execute(PipelineData & data) const override
  {
    auto image = ReadRadiographSlice(data.File("input"), m_Options, &data.warnings, &data.sliceGeometry);
    data.Set(m_Output, image.GetPointer());
  }

protected:
  ReadImageStage() = default;
  ~ReadImageStage() override = default;

private:
  std::string     m_Output{ "image" };
  io::ReadOptions m_Options;
};

// cxr-preprocess: min-max to [0, 255] and the bilinear resize to the network grid.
class CXRPreprocessStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(CXRPreprocessStage);
  using Self = CXRPreprocessStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(CXRPreprocessStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "cxr-preprocess",
             "CXRPreprocessImageFilter: min-max scaling to [0, 255] and OpenCV's bilinear resize to the network grid",
             { ParameterSpec::String("input", "image", "Input image", "The image it reads"),
               ParameterSpec::String("output", "network_input", "Output image", "The image it writes"),
               ParameterSpec::Integer(
                 "width", 0, 0, 65535, "Grid width", "Width of the grid in pixels (0: the model's grid)"),
               ParameterSpec::Integer(
                 "height", 0, 0, 65535, "Grid height", "Height of the grid in pixels (0: the model's grid)"),
               ParameterSpec::Boolean("roundToInteger",
                                      true,
                                      "Round to integer levels",
                                      "Round to 8-bit levels as cv2.convertScaleAbs does (for the equalization)") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext & context) override
  {
    m_Input = values.GetString("input");
    m_Output = values.GetString("output");
    m_Width = values.GetInt("width");
    m_Height = values.GetInt("height");
    for (const char * axis : { "width", "height" })
      if (values.GetInt(axis) == 0 && !context.model)
        throw StageError("0 means the model's grid, and the pipeline has no model", axis);
    if (m_Width == 0)
      m_Width = context.contract.width;
    if (m_Height == 0)
      m_Height = context.contract.height;
    m_Round = values.GetBool("roundToInteger");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Input, SlotKind::Image } };
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Output, SlotKind::Image } };
  }
  void
  Execute(PipelineData & data) const override
  {
    auto filter = itk::CXRPreprocessImageFilter<ImageType, ImageType>::New();
    filter->SetInput(data.Get<ImageType>(m_Input));
    filter->SetGridSize(static_cast<itk::SizeValueType>(m_Width), static_cast<itk::SizeValueType>(m_Height));
    filter->SetRoundToInteger(m_Round);
    filter->Update();
    ImageType::Pointer output = filter->GetOutput();
    output->DisconnectPipeline();
    data.Set(m_Output, output.GetPointer());
  }

protected:
  CXRPreprocessStage() = default;
  ~CXRPreprocessStage() override = default;

private:
  std::string m_Input, m_Output;
  int64_t     m_Width{ 0 }, m_Height{ 0 };
  bool        m_Round{ true };
};

// histogram-equalization: cv2.equalizeHist's global equalization, in place.
class HistogramEqualizationStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(HistogramEqualizationStage);
  using Self = HistogramEqualizationStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(HistogramEqualizationStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "histogram-equalization",
             "HistogramEqualizationImageFilter: global equalization on 256 levels with cv2.equalizeHist's mapping",
             { ParameterSpec::String("image", "network_input", "Image", "The image it equalizes in place") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Image = values.GetString("image");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Image, SlotKind::Image } };
  }
  std::vector<Slot>
  Outputs() const override
  {
    return { { m_Image, SlotKind::Image } };
  }
  void
  Execute(PipelineData & data) const override
  {
    auto filter = itk::HistogramEqualizationImageFilter<ImageType>::New();
    filter->SetInput(data.Get<ImageType>(m_Image));
    filter->Update();
    ImageType::Pointer output = filter->GetOutput();
    output->DisconnectPipeline();
    data.Set(m_Image, output.GetPointer());
  }

protected:
  HistogramEqualizationStage() = default;
  ~HistogramEqualizationStage() override = default;

private:
  std::string m_Image;
};

} // namespace

void
RegisterImageStages(PluginFactory & factory)
{
  factory.RegisterStage<ReadImageStage>();
  factory.RegisterStage<CXRPreprocessStage>();
  factory.RegisterStage<HistogramEqualizationStage>();
}

} // namespace rescrnet::plugins
