// SPDX-License-Identifier: Apache-2.0
// Runs a Res-CR-Net (rescrnet::Predictor, LibTorch) on an image and returns per-class probabilities on its grid.
#ifndef itkResCRNetSegmentationImageFilter_h
#define itkResCRNetSegmentationImageFilter_h

#include "itkImage.h"
#include "itkImageToImageFilter.h"
#include "itkVectorImage.h"

#include "rescrnet/Predictor.h"

#include <memory>
#include <string>
#include <vector>

namespace itk
{

/** \class ResCRNetSegmentationImageFilter
 * \brief Per-class probabilities of a Res-CR-Net model for every pixel of a single-channel image.
 *
 * The input holds the network's input values, on any grid: typically the output of CXRPreprocessImageFilter
 * followed by HistogramEqualizationImageFilter (levels 0 .. 255). With ScaleInputBy255 on (the default) each
 * value is converted to float and divided by 255.0f (a division, not a multiplication by the reciprocal, so the
 * network sees bit for bit what the reference `float32(eq / 255.0)` gives); with it off the values are passed as
 * they are.
 *
 * Output 0 (GetOutput()) is a VectorImage with one component per class, in the model's class order (for the
 * lung model component 0 = lungs, 1 = non-lungs); the components sum to 1. Output 1 (GetProbabilityOutput())
 * is the probability of the class ProbabilityClassIndex (default 0, lungs) as a scalar image. Both outputs have
 * the input's size, spacing, origin and direction.
 *
 * The network is fully convolutional, so any width and height works. Axes beyond the second are a batch: a 3D
 * image with one slice is one image, a 3D image with k slices is k images segmented independently.
 *
 * The model comes from SetModelFileName() (loaded lazily, on the first update or on LoadModel()) or from
 * SetPredictor(), which lets several filters share one loaded network. NumberOfThreads (0 = LibTorch's default)
 * is passed to Predictor::FromFile for a model file; for a predictor set with SetPredictor() it is applied with
 * torch::set_num_threads before the forward pass unless the predictor has its own thread count.
 *
 * Errors from LibTorch or from the model file (c10::Error, std::exception) are rethrown as itk::ExceptionObject.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TInputImage, typename TOutputImage = VectorImage<float, TInputImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT ResCRNetSegmentationImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(ResCRNetSegmentationImageFilter);

  using Self = ResCRNetSegmentationImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  using InputPixelType = typename InputImageType::PixelType;
  static constexpr unsigned int ImageDimension = TInputImage::ImageDimension;
  static_assert(TOutputImage::ImageDimension == ImageDimension,
                "ResCRNetSegmentationImageFilter: the input and output images must have the same dimension");
  static_assert(ImageDimension >= 2, "ResCRNetSegmentationImageFilter: the images need at least two dimensions");

  /** The scalar image of output 1. */
  using ProbabilityImageType = Image<float, ImageDimension>;
  using PredictorPointer = std::shared_ptr<const rescrnet::Predictor>;
  using DataObjectPointerArraySizeType = ProcessObject::DataObjectPointerArraySizeType;

  itkNewMacro(Self);
  itkTypeMacro(ResCRNetSegmentationImageFilter, ImageToImageFilter);

  /** A model file (rescrnet::SaveModel format); replaces a predictor loaded from another file. */
  void
  SetModelFileName(const std::string & fileName);
  itkGetConstReferenceMacro(ModelFileName, std::string);

  /** An already loaded predictor, possibly shared with other filters; takes precedence over ModelFileName. */
  void
  SetPredictor(PredictorPointer predictor);
  /** The predictor in use (loads the model file if needed). */
  PredictorPointer
  GetPredictor();

  /** Loads the model file now instead of on the first update; throws ExceptionObject on failure. */
  void
  LoadModel();

  /** Number of classes and their names (loads the model file if needed). */
  unsigned int
  GetNumberOfClasses();
  std::vector<std::string>
  GetClassNames();

  /** LibTorch intra-op threads; 0 (default) keeps LibTorch's default. */
  itkSetMacro(NumberOfThreads, int);
  itkGetConstMacro(NumberOfThreads, int);

  /** Arithmetic of the network: "fp32" (default), "bf16", "fp16" or "auto" (rescrnet/Precision.h). Applies to the
   * predictor loaded from ModelFileName (changing it reloads that one); a predictor set with SetPredictor() runs in
   * its own precision. Unknown names throw here; a precision this CPU does not run throws at the update. */
  void
  SetPrecision(const std::string & precision);
  itkGetConstReferenceMacro(Precision, std::string);

  /** Divide the input by 255.0f before the network (default on). */
  itkSetMacro(ScaleInputBy255, bool);
  itkGetConstMacro(ScaleInputBy255, bool);
  itkBooleanMacro(ScaleInputBy255);

  /** The class whose probability goes to output 1 (default 0, lungs). */
  itkSetMacro(ProbabilityClassIndex, unsigned int);
  itkGetConstMacro(ProbabilityClassIndex, unsigned int);

  /** Output 1: the probability of class ProbabilityClassIndex. */
  ProbabilityImageType *
  GetProbabilityOutput();

protected:
  ResCRNetSegmentationImageFilter();
  ~ResCRNetSegmentationImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  using Superclass::MakeOutput;
  DataObject::Pointer
  MakeOutput(DataObjectPointerArraySizeType index) override;

  void
  GenerateOutputInformation() override;

  void
  GenerateInputRequestedRegion() override;

  void
  EnlargeOutputRequestedRegion(DataObject * output) override;

  void
  GenerateData() override;

private:
  void
  LoadModelIfNeeded();

  std::string      m_ModelFileName;
  PredictorPointer m_Predictor;
  bool             m_PredictorFromFile{ false };
  int              m_NumberOfThreads{ 0 };
  std::string      m_Precision{ "fp32" };
  bool             m_ScaleInputBy255{ true };
  unsigned int     m_ProbabilityClassIndex{ 0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkResCRNetSegmentationImageFilter.hxx"
#endif

#endif
