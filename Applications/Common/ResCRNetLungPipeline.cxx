#include "ResCRNetLungPipeline.h"

#include "itkCXRPreprocessImageFilter.h"
#include "itkHistogramEqualizationImageFilter.h"
#include "itkLungMaskPostprocessImageFilter.h"
#include "itkLungSegmentationMetrics.h"
#include "itkResCRNetSegmentationImageFilter.h"
#include "rescrnet/io/DicomRadiograph.h"
#include "rescrnet/io/DicomSegmentation.h"
#include "rescrnet/viz/Scene.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageIOFactory.h"
#include "itkImageRegionConstIterator.h"

#include <png.h>

#include <algorithm>
#include <chrono>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <unistd.h>

namespace rescrnet::app
{

namespace fs = std::filesystem;
namespace io = rescrnet::io;
namespace viz = rescrnet::viz;

namespace
{

// Writes through a temporary file in the same folder (same extension, so ITK picks the same writer), then renames.
template <typename TImage>
void
WriteAtomically(const TImage * image, const std::string & path)
{
  const fs::path target(path);
  const fs::path folder = fs::absolute(target).parent_path();
  if (!fs::is_directory(folder))
    throw InputError("cannot write " + path + ": folder " + folder.string() + " does not exist");
  const fs::path tmp = folder / (".tmp-" + std::to_string(::getpid()) + "-" + target.filename().string());
  try
  {
    auto writer = itk::ImageFileWriter<TImage>::New();
    writer->SetInput(image);
    writer->SetFileName(tmp.string());
    writer->UseCompressionOn();
    writer->Update();
    fs::rename(tmp, target);
  }
  catch (const itk::ExceptionObject & e)
  {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw InputError("cannot write " + path + ": " + std::string(e.GetDescription()));
  }
  catch (const fs::filesystem_error & e)
  {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw InputError("cannot write " + path + ": " + e.code().message());
  }
}

std::string
OneLine(std::string s)
{
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

// ITK 5.2 reads PNG files with libpng's default error handler, which aborts the process on a corrupt file. Decode
// the file once with a handler that reports instead, so that a broken PNG is an error message, not a crash.
void
ValidatePNG(const std::string & path)
{
  std::FILE * fp = std::fopen(path.c_str(), "rb");
  if (!fp)
    throw InputError("cannot read " + path + ": " + std::strerror(errno));
  struct Guard
  {
    std::FILE * f;
    ~Guard()
    {
      std::fclose(f);
    }
  } guard{ fp };
  unsigned char signature[8] = {};
  if (std::fread(signature, 1, 8, fp) != 8 || png_sig_cmp(signature, 0, 8) != 0)
    return; // not a PNG: another reader takes it
  static thread_local char message[256];
  message[0] = '\0';
  auto onError = [](png_structp png, png_const_charp msg) {
    std::snprintf(message, sizeof(message), "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
  };
  auto        onWarning = [](png_structp, png_const_charp) {};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, onError, onWarning);
  png_infop   info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info)
  {
    png_destroy_read_struct(&png, &info, nullptr);
    throw InputError("cannot read " + path + ": out of memory");
  }
  if (setjmp(png_jmpbuf(png)))
  {
    png_destroy_read_struct(&png, &info, nullptr);
    throw InputError("cannot read " + path + ": corrupt PNG (" + std::string(message) + ")");
  }
  png_init_io(png, fp);
  png_set_sig_bytes(png, 8);
  png_read_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
}

struct ImageInfo
{
  unsigned              dimension{ 0 };
  std::vector<uint64_t> size;
};

ImageInfo
ProbeImage(const std::string & path)
{
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw InputError("cannot read " + path + ": no such file");
  if (fs::is_directory(path, ec))
    throw InputError("cannot read " + path + ": is a folder");
  ValidatePNG(path);
  auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io)
    throw InputError("cannot read " + path + ": not an image in a supported format");
  try
  {
    io->SetFileName(path);
    io->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError("cannot read " + path + ": " + OneLine(e.GetDescription()));
  }
  ImageInfo info;
  info.dimension = io->GetNumberOfDimensions();
  for (unsigned d = 0; d < info.dimension; ++d)
    info.size.push_back(io->GetDimensions(d));
  const unsigned components = io->GetNumberOfComponents();
  if (components != 1 && components != 3 && components != 4)
    throw InputError("cannot use " + path + ": " + std::to_string(components) +
                     " components per pixel (expected grey, RGB or RGBA)");
  if (info.dimension == 3 && info.size[2] != 1)
    throw InputError("cannot use " + path + ": a 3-D volume with " + std::to_string(info.size[2]) +
                     " slices is not a radiograph");
  if (info.dimension != 2 && info.dimension != 3)
    throw InputError("cannot use " + path + ": " + std::to_string(info.dimension) + "-D image");
  if (info.size[0] < 8 || info.size[1] < 8)
    throw InputError("cannot use " + path + ": image of " + std::to_string(info.size[0]) + "x" +
                     std::to_string(info.size[1]) + " pixels is too small for a radiograph");
  return info;
}

template <typename TImage>
typename TImage::Pointer
ReadImage(const std::string & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw InputError("cannot read " + path + ": " + OneLine(e.GetDescription()));
  }
  return reader->GetOutput();
}

// The overlay PNG: the viewer's picture (Modules/Visualization), drawn by VTK when a display is available and by its
// ITK fallback, in the same colours, when none is. With a reference mask, its outline too.
template <typename TFloatImage, typename TLabelImage>
void
WriteOverlay(const TFloatImage *       grey,
             const TLabelImage *       labels,
             const TLabelImage *       reference,
             const viz::Presentation * presentation,
             const std::string &       path)
{
  try
  {
    viz::WriteOverlayPNG(viz::MakeLayers(grey, labels, reference, nullptr, presentation), viz::OverlayStyle{}, path);
  }
  catch (const viz::LayerError & e)
  {
    throw InputError("cannot draw the overlay " + path + ": " + e.what());
  }
  catch (const viz::RenderError & e)
  {
    throw InputError(e.what());
  }
}

template <unsigned D>
SegmentationResult
RunPipeline(const Predictor &                        predictor,
            const std::shared_ptr<const Predictor> & shared,
            const PipelineOptions &                  options,
            const std::string &                      imagePath,
            const OutputFiles &                      outputs,
            const std::string &                      referencePath,
            const std::function<void(double)> &      progress)
{
  using FloatImage = itk::Image<float, D>;
  using LabelImage = itk::Image<unsigned char, D>;
  auto report = [&](double f) {
    if (progress)
      progress(f);
  };
  // ITK converts RGB(A) to luminance when reading into a scalar image. DICOM radiographs: rescrnet::io.
  std::vector<std::string>     warnings;
  std::optional<std::string>   appliedVOI; // a DICOM radiograph's window or VOI LUT, for the overlay
  typename FloatImage::Pointer image;
  if constexpr (D == 2)
  {
    if (io::IsDicomFile(imagePath))
    {
      io::ReadOptions dicomOptions;
      dicomOptions.fixNegativeChest = true;
      io::RadiographInfo dicomInfo;
      try
      {
        image = io::ReadRadiograph(imagePath, dicomOptions, &dicomInfo);
      }
      catch (const io::DicomError & e)
      {
        throw InputError(e.what());
      }
      warnings = dicomInfo.warnings;
      appliedVOI = dicomInfo.voi;
    }
  }
  if (!image)
    image = ReadImage<FloatImage>(imagePath);
  report(0.05);

  typename LabelImage::Pointer reference;
  if (!referencePath.empty())
  {
    ImageInfo  refInfo = ProbeImage(referencePath);
    auto       refFloat = ReadImage<FloatImage>(referencePath);
    const auto a = image->GetLargestPossibleRegion().GetSize();
    const auto b = refFloat->GetLargestPossibleRegion().GetSize();
    if (a != b)
      throw InputError("reference mask " + referencePath + " is " + std::to_string(b[0]) + "x" + std::to_string(b[1]) +
                       " but the image is " + std::to_string(a[0]) + "x" + std::to_string(a[1]));
    auto binarize = itk::BinaryThresholdImageFilter<FloatImage, LabelImage>::New();
    binarize->SetInput(refFloat);
    binarize->SetLowerThreshold(0.0f);
    binarize->SetUpperThreshold(0.0f);
    binarize->SetInsideValue(0);
    binarize->SetOutsideValue(1);
    binarize->Update();
    reference = binarize->GetOutput();
    // Compare on the image's geometry: a PNG mask carries no spacing of its own.
    reference->CopyInformation(image);
  }

  const InputSpec & grid = predictor.info().input;
  auto              preprocess = itk::CXRPreprocessImageFilter<FloatImage, FloatImage>::New();
  preprocess->SetInput(image);
  preprocess->SetGridSize(static_cast<itk::SizeValueType>(grid.width), static_cast<itk::SizeValueType>(grid.height));
  auto equalize = itk::HistogramEqualizationImageFilter<FloatImage>::New();
  equalize->SetInput(preprocess->GetOutput());
  auto segment = itk::ResCRNetSegmentationImageFilter<FloatImage>::New();
  segment->SetInput(equalize->GetOutput());
  segment->SetPredictor(shared);
  auto post = itk::LungMaskPostprocessImageFilter<FloatImage, LabelImage>::New();
  post->SetInput(segment->GetProbabilityOutput());
  post->SetReferenceImage(image);
  post->SetThreshold(options.threshold);
  post->SetNumberOfComponents(options.numberOfComponents);
  post->SetSkipComponentSelection(options.skipPostprocessing);
  post->SetSkipHoleFilling(options.skipPostprocessing);
  post->SetLabelLeftRight(options.leftRight && !options.skipPostprocessing);
  try
  {
    equalize->Update();
    report(0.15);
    segment->Update();
    report(0.8);
    post->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::runtime_error(OneLine(e.GetDescription()));
  }
  report(0.9);
  typename LabelImage::Pointer labels = post->GetOutput();

  SegmentationResult result;
  result.dimension = D;
  result.warnings = warnings;
  const auto size = image->GetLargestPossibleRegion().GetSize();
  for (unsigned d = 0; d < D; ++d)
  {
    result.size.push_back(size[d]);
    result.spacing.push_back(image->GetSpacing()[d]);
  }
  const double pixelArea = image->GetSpacing()[0] * image->GetSpacing()[1];
  for (itk::ImageRegionConstIterator<LabelImage> it(labels, labels->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    const unsigned char v = it.Get();
    if (v == 0)
      continue;
    ++result.measures.totalPixels;
    if (options.leftRight && v == 1)
      ++result.measures.rightPixels;
    if (options.leftRight && v == 2)
      ++result.measures.leftPixels;
  }
  result.measures.totalAreaMM2 = static_cast<double>(result.measures.totalPixels) * pixelArea;
  result.measures.rightAreaMM2 = static_cast<double>(result.measures.rightPixels) * pixelArea;
  result.measures.leftAreaMM2 = static_cast<double>(result.measures.leftPixels) * pixelArea;

  if (reference)
  {
    auto metrics = itk::LungSegmentationMetrics<LabelImage>::New();
    metrics->SetSegmentation(labels);
    metrics->SetReference(reference);
    metrics->Compute();
    SegmentationMetricsValues m;
    m.dice = metrics->GetDice();
    m.jaccard = metrics->GetJaccard();
    m.precision = metrics->GetPrecision();
    m.recall = metrics->GetRecall();
    m.f1 = metrics->GetF1();
    m.pixelAccuracy = metrics->GetPixelAccuracy();
    m.hausdorffMM = metrics->GetHausdorffDistance();
    m.hausdorff95MM = metrics->GetHausdorffDistance95();
    m.meanSurfaceDistanceMM = metrics->GetMeanSurfaceDistance();
    result.metrics = m;
  }

  if (!outputs.probability.empty())
  {
    // The lung probability on the image grid: the post-processing filter's resampling, without the threshold.
    auto probability = itk::LungMaskPostprocessImageFilter<FloatImage, LabelImage>::ResampleProbability(
      segment->GetProbabilityOutput(), image.GetPointer());
    WriteAtomically(probability.GetPointer(), outputs.probability);
  }
  if (!outputs.overlay.empty())
  {
    std::optional<viz::Presentation> presentation;
    if constexpr (D == 2)
      if (appliedVOI)
        presentation = viz::DicomPresentation(image, *appliedVOI);
    WriteOverlay(image.GetPointer(),
                 labels.GetPointer(),
                 reference.GetPointer(),
                 presentation ? &*presentation : nullptr,
                 outputs.overlay);
  }
  if (!outputs.outputSEG.empty())
  {
    if constexpr (D == 2)
    {
      io::SegWriterOptions segOptions;
      segOptions.leftRight = options.leftRight && !options.skipPostprocessing;
      segOptions.modelName = outputs.modelName;
      try
      {
        io::WriteLungSegmentation(outputs.outputSEG, labels.GetPointer(), imagePath, segOptions);
      }
      catch (const io::DicomError & e)
      {
        throw InputError(e.what());
      }
    }
  }
  if (!outputs.labelMap.empty())
    WriteAtomically(labels.GetPointer(), outputs.labelMap);
  report(1.0);
  return result;
}

} // namespace

LungPipeline::LungPipeline(std::shared_ptr<const Predictor> predictor, PipelineOptions options)
  : m_Predictor(std::move(predictor))
  , m_Options(options)
{
  if (!m_Predictor)
    throw std::invalid_argument("LungPipeline needs a model");
  if (m_Predictor->network()->config().inputChannels != 1)
    throw InputError("the model expects " + std::to_string(m_Predictor->network()->config().inputChannels) +
                     " input channels; chest X-rays have one");
}

SegmentationResult
LungPipeline::Run(const std::string &                 image,
                  const OutputFiles &                 outputs,
                  const std::string &                 referenceMask,
                  const std::function<void(double)> & progress) const
{
  const auto start = std::chrono::steady_clock::now();
  // DICOM files are checked by rescrnet::io's reader (2-D radiographs only).
  const bool      dicom = io::IsDicomFile(image);
  const ImageInfo info = dicom ? ImageInfo{ 2, {} } : ProbeImage(image);
  if (!outputs.outputSEG.empty() && !dicom)
    throw InputError("cannot write the DICOM SEG " + outputs.outputSEG + ": the input " + image +
                     " is not a DICOM file");
  for (const std::string & out : { outputs.labelMap, outputs.probability, outputs.overlay, outputs.outputSEG })
  {
    if (out.empty())
      continue;
    const fs::path folder = fs::absolute(out).parent_path();
    if (!fs::is_directory(folder))
      throw InputError("cannot write " + out + ": folder " + folder.string() + " does not exist");
    if (::access(folder.c_str(), W_OK) != 0)
      throw InputError("cannot write " + out + ": folder " + folder.string() + " is not writable");
  }
  SegmentationResult r =
    info.dimension == 2 ? RunPipeline<2>(*m_Predictor, m_Predictor, m_Options, image, outputs, referenceMask, progress)
                        : RunPipeline<3>(*m_Predictor, m_Predictor, m_Options, image, outputs, referenceMask, progress);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

void
CheckImageFile(const std::string & path)
{
  ProbeImage(path);
}

bool
IsReadableImage(const std::string & path)
{
  auto imageIO = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  return imageIO != nullptr || io::IsDicomFile(path);
}

std::vector<std::string>
ListImages(const std::string & folder)
{
  std::vector<std::string> out;
  for (const auto & entry : fs::directory_iterator(folder))
  {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.empty() || name[0] == '.')
      continue;
    if (IsReadableImage(entry.path().string()))
      out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string
DefaultModelPath(const char * argv0)
{
  const char * name = "ResCRNet-lungs-default.rcn";
  if (const char * env = std::getenv("ITKRESCRNET_MODEL"))
    return env;
  std::vector<fs::path> candidates;
  std::error_code       ec;
  fs::path              exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec && argv0)
    exe = fs::absolute(argv0);
  if (!exe.empty())
  {
    const fs::path dir = exe.parent_path();
    // Install tree: <prefix>/bin or <prefix>/lib/ITKResCRNet/cli-modules.
    candidates.push_back(dir / ".." / "share" / "ITKResCRNet" / "Models" / name);
    candidates.push_back(dir / ".." / ".." / ".." / "share" / "ITKResCRNet" / "Models" / name);
  }
#ifdef RESCRNET_SOURCE_DIR
  // Build tree: the model committed in the source tree.
  candidates.push_back(fs::path(RESCRNET_SOURCE_DIR) / "Data" / "Models" / name);
#endif
  for (const auto & c : candidates)
    if (fs::is_regular_file(c, ec))
      return fs::weakly_canonical(c, ec).string();
  return std::string();
}

} // namespace rescrnet::app
