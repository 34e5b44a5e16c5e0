// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetLungPipeline.h"

#include "itkCXRLungSegmentationImageFilter.h"
#include "itkLungSegmentationMetrics.h"
#include "rescrnet/io/DicomSegmentation.h"
#include "rescrnet/io/ImageFile.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkCommand.h"
#include "itkExtractImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkLabelContourImageFilter.h"
#include "itkLabelOverlayImageFilter.h"
#include "itkRGBPixel.h"
#include "itkRescaleIntensityImageFilter.h"

#include <chrono>
#include <filesystem>

namespace rescrnet::app
{

namespace fs = std::filesystem;
namespace io = rescrnet::io;

namespace
{

using RGBPixelType = itk::RGBPixel<unsigned char>;

// The 2-D view of a 2-D image or of a 3-D image with one slice.
template <typename TImage>
typename itk::Image<typename TImage::PixelType, 2>::Pointer
AsSlice(const TImage * image)
{
  using SliceType = itk::Image<typename TImage::PixelType, 2>;
  if constexpr (TImage::ImageDimension == 2)
  {
    return const_cast<SliceType *>(image);
  }
  else
  {
    auto extract = itk::ExtractImageFilter<TImage, SliceType>::New();
    auto region = image->GetLargestPossibleRegion();
    region.SetSize(2, 0);
    extract->SetExtractionRegion(region);
    extract->SetDirectionCollapseToSubmatrix();
    extract->SetInput(image);
    extract->Update();
    return extract->GetOutput();
  }
}

// Grey radiograph (rescaled to 8 bits) with the lungs filled at 35% opacity and outlined.
template <typename TFloatImage, typename TLabelImage>
void
WriteOverlay(const TFloatImage * grey, const TLabelImage * labels, const std::string & path)
{
  using Grey2D = itk::Image<unsigned char, 2>;
  using Label2D = itk::Image<unsigned char, 2>;
  using RGB2D = itk::Image<RGBPixelType, 2>;
  auto rescale = itk::RescaleIntensityImageFilter<itk::Image<float, 2>, Grey2D>::New();
  rescale->SetInput(AsSlice(grey));
  rescale->SetOutputMinimum(0);
  rescale->SetOutputMaximum(255);
  auto labelSlice = AsSlice(labels);
  auto fill = itk::LabelOverlayImageFilter<Grey2D, Label2D, RGB2D>::New();
  fill->SetInput(rescale->GetOutput());
  fill->SetLabelImage(labelSlice);
  fill->SetOpacity(0.35);
  fill->Update();
  auto contour = itk::LabelContourImageFilter<Label2D, Label2D>::New();
  contour->SetInput(labelSlice);
  contour->SetFullyConnected(true);
  contour->SetBackgroundValue(0);
  contour->Update();
  RGB2D::Pointer rgb = fill->GetOutput();
  rgb->DisconnectPipeline();
  auto functor = fill->GetFunctor();
  functor.SetOpacity(1.0); // outlines in the label's own colour
  itk::ImageRegionConstIterator<Label2D> c(contour->GetOutput(), rgb->GetLargestPossibleRegion());
  itk::ImageRegionIterator<RGB2D>        o(rgb, rgb->GetLargestPossibleRegion());
  for (; !c.IsAtEnd(); ++c, ++o)
  {
    if (c.Get() != 0)
    {
      // The overlay colour of this label at full opacity.
      o.Set(functor(0, c.Get()));
    }
  }
  io::WriteImage(rgb.GetPointer(), path);
}

// The reference mask: nonzero = lung, on the image's geometry (a PNG mask carries no spacing of its own).
template <typename TImage, typename TLabelImage>
typename TLabelImage::Pointer
ReadReferenceMask(const std::string & path, const TImage * image)
{
  io::CheckRadiographFile(path);
  auto       mask = io::ReadImage<TImage>(path);
  const auto a = image->GetLargestPossibleRegion().GetSize();
  const auto b = mask->GetLargestPossibleRegion().GetSize();
  if (a != b)
    throw InputError("reference mask " + path + " is " + std::to_string(b[0]) + "x" + std::to_string(b[1]) +
                     " but the image is " + std::to_string(a[0]) + "x" + std::to_string(a[1]));
  auto binarize = itk::BinaryThresholdImageFilter<TImage, TLabelImage>::New();
  binarize->SetInput(mask);
  binarize->SetLowerThreshold(0.0f);
  binarize->SetUpperThreshold(0.0f);
  binarize->SetInsideValue(0);
  binarize->SetOutsideValue(1);
  binarize->Update();
  typename TLabelImage::Pointer reference = binarize->GetOutput();
  reference->CopyInformation(image);
  return reference;
}

// Pixels and areas of the lungs (of each side with `leftRight`).
template <typename TLabelImage>
LungMeasures
MeasureLungs(const TLabelImage * labels, bool leftRight)
{
  LungMeasures m;
  const double pixelArea = labels->GetSpacing()[0] * labels->GetSpacing()[1];
  for (itk::ImageRegionConstIterator<TLabelImage> it(labels, labels->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
  {
    const unsigned char v = it.Get();
    if (v == 0)
      continue;
    ++m.totalPixels;
    if (leftRight && v == 1)
      ++m.rightPixels;
    if (leftRight && v == 2)
      ++m.leftPixels;
  }
  m.totalAreaMM2 = static_cast<double>(m.totalPixels) * pixelArea;
  m.rightAreaMM2 = static_cast<double>(m.rightPixels) * pixelArea;
  m.leftAreaMM2 = static_cast<double>(m.leftPixels) * pixelArea;
  return m;
}

template <typename TLabelImage>
SegmentationMetricsValues
CompareWithReference(const TLabelImage * labels, const TLabelImage * reference)
{
  auto metrics = itk::LungSegmentationMetrics<TLabelImage>::New();
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
  return m;
}

template <unsigned D>
SegmentationResult
RunPipeline(const std::shared_ptr<const Predictor> & predictor,
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

  // ITK converts RGB(A) to luminance when reading into a scalar image; DICOM radiographs go through rescrnet::io.
  io::ReadOptions dicomOptions;
  dicomOptions.fixNegativeChest = true;
  io::RadiographInfo dicomInfo;
  auto               image = io::ReadImage<FloatImage>(imagePath, dicomOptions, &dicomInfo);
  report(0.05);
  typename LabelImage::Pointer reference;
  if (!referencePath.empty())
    reference = ReadReferenceMask<FloatImage, LabelImage>(referencePath, image.GetPointer());

  auto segment = itk::CXRLungSegmentationImageFilter<FloatImage, LabelImage>::New();
  segment->SetInput(image);
  segment->SetPredictor(predictor);
  segment->SetThreshold(options.threshold);
  segment->SetNumberOfComponents(options.numberOfComponents);
  segment->SetSkipPostprocessing(options.skipPostprocessing);
  segment->SetLabelLeftRight(options.leftRight);
  segment->SetGenerateProbabilityMap(!outputs.probability.empty());
  // The filter's progress (0..1) is the pipeline's from 0.05 (image read) to 0.9 (outputs written), in steps of at
  // least 1% (ITK's internal filters report hundreds of small, sometimes backward, steps).
  double                      reported = 0.05;
  const std::function<void()> forward = [&] {
    const double f = 0.05 + 0.85 * segment->GetProgress();
    if (f >= reported + 0.01)
    {
      reported = f;
      report(f);
    }
  };
  auto observer = itk::CStyleCommand::New();
  observer->SetClientData(const_cast<std::function<void()> *>(&forward));
  observer->SetCallback([](itk::Object *, const itk::EventObject &, void * data) {
    (*static_cast<const std::function<void()> *>(data))();
  });
  segment->AddObserver(itk::ProgressEvent(), observer);
  try
  {
    segment->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::runtime_error(OneLine(e.GetDescription()));
  }
  report(0.9);
  typename LabelImage::Pointer labels = segment->GetOutput();

  SegmentationResult result;
  result.dimension = D;
  result.warnings = dicomInfo.warnings;
  const auto size = image->GetLargestPossibleRegion().GetSize();
  for (unsigned d = 0; d < D; ++d)
  {
    result.size.push_back(size[d]);
    result.spacing.push_back(image->GetSpacing()[d]);
  }
  result.measures = MeasureLungs(labels.GetPointer(), options.leftRight);
  if (reference)
    result.metrics = CompareWithReference(labels.GetPointer(), reference.GetPointer());

  if (!outputs.probability.empty())
    io::WriteImage(segment->GetProbabilityOutput(), outputs.probability);
  if (!outputs.overlay.empty())
    WriteOverlay(image.GetPointer(), labels.GetPointer(), outputs.overlay);
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
    io::WriteImage(labels.GetPointer(), outputs.labelMap);
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
  try
  {
    const io::ImageFileInfo info = io::CheckRadiographFile(image);
    if (!outputs.outputSEG.empty() && !info.dicom)
      throw InputError("cannot write the DICOM SEG " + outputs.outputSEG + ": the input " + image +
                       " is not a DICOM file");
    for (const std::string & out : { outputs.labelMap, outputs.probability, outputs.overlay, outputs.outputSEG })
      if (!out.empty())
        CheckWritableFolder(out);
    SegmentationResult r = info.dimension == 2
                             ? RunPipeline<2>(m_Predictor, m_Options, image, outputs, referenceMask, progress)
                             : RunPipeline<3>(m_Predictor, m_Options, image, outputs, referenceMask, progress);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
  }
  catch (const io::ImageFileError & e)
  {
    throw InputError(e.what());
  }
  catch (const AtomicFileError & e)
  {
    throw InputError(e.what());
  }
}

} // namespace rescrnet::app
