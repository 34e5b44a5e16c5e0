// SPDX-License-Identifier: Apache-2.0
// Built-in writer stages: any image of the pipeline (with the effective pipeline recorded in formats that keep
// metadata, e.g. NRRD), the overlay PNG, and the DICOM Segmentation object. Every output is written atomically, to
// a folder checked before the run, and never over the run's input.
#include "BuiltIns.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/io/DicomSegmentation.h"
#include "rescrnet/viz/Layers.h"
#include "rescrnet/viz/Palette.h"
#include "rescrnet/viz/Render.h"
#include "rescrnet/viz/Scene.h"

#include "itkMetaDataObject.h"

#include <cstring>
#include <filesystem>
#include <optional>

namespace rescrnet::plugins
{

namespace
{

namespace fs = std::filesystem;

// The metadata keys under which written images record the pipeline.
constexpr const char * PipelineKey = "rescrnet_pipeline";
constexpr const char * PipelineIdKey = "rescrnet_pipeline_id";

// The destination of `role`: its folder must be writable and it must not be the run's input.
std::string
CheckDestination(const PipelineData & data, const std::string & role)
{
  const std::string path = data.File(role);
  std::error_code   ec;
  const auto        input = fs::weakly_canonical(data.File("input"), ec);
  if (!data.File("input").empty() && fs::weakly_canonical(path, ec) == input)
    throw StageError("refusing to write " + path + ": it is the input");
  CheckWritableFolder(path);
  return path;
}

// The 3-D counterpart of a 2-D image type.
template <typename TImage>
struct Volume;
template <typename TPixel>
struct Volume<itk::Image<TPixel, 2>>
{
  using Type = itk::Image<TPixel, 3>;
};
template <typename TPixel>
struct Volume<itk::VectorImage<TPixel, 2>>
{
  using Type = itk::VectorImage<TPixel, 3>;
};

// `image` on the input's 3-D grid (one slice) when the input was 3-D; the pixels are shared, not copied.
template <typename TImage>
itk::ImageBase<3>::Pointer
OnInputGrid(const TImage * image, const itk::ImageBase<3> * geometry)
{
  using VolumeType = typename Volume<TImage>::Type;
  auto volume = VolumeType::New();
  volume->CopyInformation(geometry);
  auto region = geometry->GetLargestPossibleRegion();
  auto spacing = geometry->GetSpacing();
  auto origin = geometry->GetOrigin();
  auto direction = geometry->GetDirection();
  for (unsigned d = 0; d < 2; ++d)
  {
    region.SetIndex(d, image->GetLargestPossibleRegion().GetIndex(d));
    region.SetSize(d, image->GetLargestPossibleRegion().GetSize(d));
    spacing[d] = image->GetSpacing()[d];
    origin[d] = image->GetOrigin()[d];
    for (unsigned e = 0; e < 2; ++e)
      direction[d][e] = image->GetDirection()[d][e];
  }
  region.SetSize(2, 1);
  volume->SetRegions(region);
  volume->SetSpacing(spacing);
  volume->SetOrigin(origin);
  volume->SetDirection(direction);
  if constexpr (std::is_same_v<TImage, ClassImageType>)
    volume->SetNumberOfComponentsPerPixel(image->GetNumberOfComponentsPerPixel());
  volume->SetPixelContainer(const_cast<typename TImage::PixelContainer *>(image->GetPixelContainer()));
  volume->SetMetaDataDictionary(image->GetMetaDataDictionary());
  return volume.GetPointer();
}

template <typename TImage>
void
WriteWithProvenance(const TImage * image, const PipelineData & data, const std::string & path, bool record)
{
  const auto write = [&](auto * out) {
    if (record)
    {
      itk::EncapsulateMetaData<std::string>(out->GetMetaDataDictionary(), PipelineIdKey, data.pipelineId);
      itk::EncapsulateMetaData<std::string>(out->GetMetaDataDictionary(),
                                            PipelineKey,
                                            data.provenance.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    io::WriteImage(out, path);
  };
  if (data.sliceGeometry)
  {
    auto volume = OnInputGrid(image, data.sliceGeometry.GetPointer());
    write(static_cast<typename Volume<TImage>::Type *>(volume.GetPointer()));
  }
  else
  {
    // A copy of the image object (sharing its pixels), so that the metadata stays with this file.
    auto copy = TImage::New();
    copy->Graft(image);
    copy->SetMetaDataDictionary(image->GetMetaDataDictionary());
    write(copy.GetPointer());
  }
}

// write-image: an image of the pipeline to one of the run's destinations.
class WriteImageStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(WriteImageStage);
  using Self = WriteImageStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(WriteImageStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "write-image",
             "Writes an image of the pipeline to a destination of the run (format from the extension), on the "
             "input's grid; skipped when the run has no such destination",
             { ParameterSpec::String("image", "mask", "Image", "The image it writes"),
               ParameterSpec::Choice("destination",
                                     "output",
                                     { "output", "probability" },
                                     "Destination",
                                     "The run's file: \"output\" (the module's output argument) or \"probability\" "
                                     "(--probability)"),
               ParameterSpec::String("folderFileName",
                                     "{stem}_{destination}.nrrd",
                                     "File name in folder mode",
                                     "For a folder of inputs: the file in the output folder; {stem} is the input's "
                                     "name without extension"),
               ParameterSpec::Boolean("recordPipeline",
                                      true,
                                      "Record the pipeline",
                                      "Write the effective pipeline into the file's metadata (NRRD key "
                                      "rescrnet_pipeline) where the format keeps metadata") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Image = values.GetString("image");
    m_Destination = values.GetString("destination");
    m_Record = values.GetBool("recordPipeline");
    const std::string pattern = values.GetString("folderFileName");
    if (pattern.find("{stem}") == std::string::npos)
      throw StageError("\"" + pattern + "\" must contain {stem}, or every input would write the same file",
                       "folderFileName");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Image, SlotKind::Any } };
  }
  std::string
  FileRole() const override
  {
    return m_Destination;
  }
  void
  Prepare(const PipelineData & data) const override
  {
    CheckDestination(data, m_Destination);
  }
  void
  Execute(PipelineData & data) const override
  {
    const std::string path = data.File(m_Destination);
    switch (data.Kind(m_Image))
    {
      case SlotKind::Labels:
        WriteWithProvenance(data.Get<LabelImageType>(m_Image), data, path, m_Record);
        break;
      case SlotKind::Classes:
        WriteWithProvenance(data.Get<ClassImageType>(m_Image), data, path, m_Record);
        break;
      default:
        WriteWithProvenance(data.Get<ImageType>(m_Image), data, path, m_Record);
    }
  }

protected:
  WriteImageStage() = default;
  ~WriteImageStage() override = default;

private:
  std::string m_Image, m_Destination;
  bool        m_Record{ true };
};

// write-overlay: the viewer's picture of the radiograph with the mask filled and outlined (and the reference's outline
// when the run has one), drawn by VTK when a display is available and by its ITK fallback, in the same colours, when
// none is (Modules/Visualization); a DICOM radiograph keeps the window or VOI LUT it was read through.
class WriteOverlayStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(WriteOverlayStage);
  using Self = WriteOverlayStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(WriteOverlayStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "write-overlay",
             "Writes the viewer's picture of the radiograph with the mask filled and outlined (and the reference "
             "mask's outline when the run has one) as an RGB PNG (--overlay); skipped without it",
             { ParameterSpec::String("image", "image", "Radiograph", "The grey image under the labels"),
               ParameterSpec::String("mask", "mask", "Mask", "The label map drawn over it (same grid)"),
               ParameterSpec::String("folderFileName",
                                     "{stem}_overlay.png",
                                     "File name in folder mode",
                                     "For a folder of inputs: the file in the output folder") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Image = values.GetString("image");
    m_Mask = values.GetString("mask");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Image, SlotKind::Image }, { m_Mask, SlotKind::Labels } };
  }
  std::string
  FileRole() const override
  {
    return "overlay";
  }
  void
  Prepare(const PipelineData & data) const override
  {
    CheckDestination(data, "overlay");
  }
  void
  Execute(PipelineData & data) const override
  {
    const ImageType *       image = data.Get<ImageType>(m_Image);
    LabelImageType::Pointer reference;
    if (!data.File("reference").empty())
      reference = ReadReferenceMask(data.File("reference"), image);
    std::optional<viz::Presentation> presentation;
    std::string                      voi;
    if (itk::ExposeMetaData<std::string>(image->GetMetaDataDictionary(), AppliedVOIKey, voi) && !voi.empty())
      presentation = viz::DicomPresentation(image, voi);
    const std::string path = data.File("overlay");
    try
    {
      viz::WriteOverlayPNG(viz::MakeLayers(image,
                                           data.Get<LabelImageType>(m_Mask),
                                           reference.GetPointer(),
                                           nullptr,
                                           presentation ? &*presentation : nullptr),
                           viz::OverlayStyle{},
                           path);
    }
    catch (const viz::LayerError & e)
    {
      throw StageError("cannot draw the overlay " + path + ": " + e.what());
    }
    catch (const viz::RenderError & e)
    {
      throw StageError(e.what());
    }
  }

protected:
  WriteOverlayStage() = default;
  ~WriteOverlayStage() override = default;

private:
  std::string m_Image, m_Mask;
};

// write-dicom-seg: the mask as a binary DICOM Segmentation of the (DICOM) input, with the pipeline as provenance.
class WriteDicomSegStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(WriteDicomSegStage);
  using Self = WriteDicomSegStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(WriteDicomSegStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "write-dicom-seg",
             "Writes the mask as a DICOM Segmentation referencing the DICOM input (--outputSEG), with the model and "
             "the pipeline in the algorithm's parameters; skipped without it",
             { ParameterSpec::String("mask", "mask", "Mask", "The label map it writes (1 = lung, or 1/2 = right/left)"),
               ParameterSpec::String("seriesDescription",
                                     "Lung segmentation (Res-CR-Net)",
                                     "Series description",
                                     "The SEG's series "
                                     "description"),
               ParameterSpec::String("folderFileName",
                                     "{stem}_seg.dcm",
                                     "File name in folder mode",
                                     "For a folder of inputs: the file in the output folder") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Mask = values.GetString("mask");
    m_SeriesDescription = values.GetString("seriesDescription");
    if (m_SeriesDescription.size() > 64)
      throw StageError("at most 64 characters (DICOM LO)", "seriesDescription");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Mask, SlotKind::Labels } };
  }
  std::string
  FileRole() const override
  {
    return "seg";
  }
  void
  Prepare(const PipelineData & data) const override
  {
    const std::string path = CheckDestination(data, "seg");
    if (!io::ReadImageFileInfo(data.File("input")).dicom)
      throw StageError("cannot write the DICOM SEG " + path + ": the input " + data.File("input") +
                       " is not a DICOM file");
  }
  void
  Execute(PipelineData & data) const override
  {
    const LabelImageType * mask = data.Get<LabelImageType>(m_Mask);
    std::string            meaning;
    io::SegWriterOptions   options;
    options.leftRight = itk::ExposeMetaData<std::string>(mask->GetMetaDataDictionary(), LabelMeaningKey, meaning) &&
                        meaning == "right-left";
    options.seriesDescription = m_SeriesDescription;
    if (data.provenance.is_object() && data.provenance.contains("model"))
      options.modelName = fs::path(data.provenance["model"].value("file", std::string())).filename().string();
    // The whole effective pipeline when it fits the attribute (LT, 10240 characters), else its id.
    const std::string pipeline = data.provenance.dump(-1, ' ', false, Json::error_handler_t::replace);
    options.algorithmParameters =
      "pipeline=" + (pipeline.size() + options.modelName.size() < 10000 ? pipeline : data.pipelineId);
    try
    {
      io::WriteLungSegmentation(data.File("seg"), mask, data.File("input"), options);
    }
    catch (const io::DicomError & e)
    {
      throw StageError(e.what());
    }
  }

protected:
  WriteDicomSegStage() = default;
  ~WriteDicomSegStage() override = default;

private:
  std::string m_Mask, m_SeriesDescription;
};

} // namespace

void
RegisterWriterStages(PluginFactory & factory)
{
  factory.RegisterStage<WriteImageStage>();
  factory.RegisterStage<WriteOverlayStage>();
  factory.RegisterStage<WriteDicomSegStage>();
}

} // namespace rescrnet::plugins
