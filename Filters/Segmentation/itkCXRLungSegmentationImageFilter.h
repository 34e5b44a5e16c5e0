// SPDX-License-Identifier: Apache-2.0
// Chest X-ray -> lung label map with Res-CR-Net, as one ITK filter: preprocess, equalize, segment, post-process.
#ifndef itkCXRLungSegmentationImageFilter_h
#define itkCXRLungSegmentationImageFilter_h

#include "itkCXRNetworkInputImageFilter.h"
#include "itkImage.h"
#include "itkImageToImageFilter.h"
#include "itkLungMaskPostprocessImageFilter.h"
#include "itkResCRNetSegmentationImageFilter.h"

#include "rescrnet/Predictor.h"

#include <memory>
#include <string>

namespace itk
{

/** \class CXRLungSegmentationImageFilter
 * \brief Segments the lungs on a chest radiograph: the whole Res-CR-Net pipeline in one filter.
 *
 * The stages, each an ITK filter of this module, with their progress accumulated:
 * 1. CXRNetworkInputImageFilter: grey value, min-max to [0, 255], bilinear resize to the model's grid (read from
 *    the model file: 340 x 300 for the authors' lung model), rounding, global histogram equalization;
 * 2. ResCRNetSegmentationImageFilter: the network (LibTorch), per-class probabilities on the grid;
 * 3. LungMaskPostprocessImageFilter: the lung probability back onto the input's grid (bilinear), threshold, the
 *    NumberOfComponents largest components and hole filling (unless SkipPostprocessing), right (1) / left (2) lung
 *    labels with LabelLeftRight.
 *
 * Output 0 (GetOutput()) is the label map and output 1 (GetProbabilityOutput()) the lung probability, both on the
 * input's grid (size, spacing, origin, direction). The input is any scalar image, 2-D or 3-D with one slice (how 3D
 * Slicer passes a radiograph).
 *
 * The model comes from SetModelFileName() (loaded on the first update, or by GetPredictor()) or from SetPredictor(),
 * which shares one loaded network between filters and threads. The filter gives the same label map, bit for bit, as
 * the four filters chained by hand with the same settings.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TInputImage, typename TOutputImage = Image<unsigned char, TInputImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT CXRLungSegmentationImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(CXRLungSegmentationImageFilter);

  using Self = CXRLungSegmentationImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  static constexpr unsigned int ImageDimension = TInputImage::ImageDimension;
  static_assert(TOutputImage::ImageDimension == ImageDimension,
                "CXRLungSegmentationImageFilter: the input and output images must have the same dimension");
  using ProbabilityImageType = Image<float, ImageDimension>;

  /** The network grid's image type and the stages. */
  using NetworkImageType = Image<float, ImageDimension>;
  using NetworkInputFilterType = CXRNetworkInputImageFilter<InputImageType, NetworkImageType>;
  using SegmentationFilterType = ResCRNetSegmentationImageFilter<NetworkImageType>;
  using PostprocessFilterType = LungMaskPostprocessImageFilter<NetworkImageType, OutputImageType>;
  using PredictorPointer = std::shared_ptr<const rescrnet::Predictor>;
  using DataObjectPointerArraySizeType = ProcessObject::DataObjectPointerArraySizeType;

  itkNewMacro(Self);
  itkTypeMacro(CXRLungSegmentationImageFilter, ImageToImageFilter);

  /** A model file (rescrnet::SaveModel format). */
  void
  SetModelFileName(const std::string & fileName);
  const std::string &
  GetModelFileName() const;

  /** An already loaded predictor, possibly shared with other filters; takes precedence over ModelFileName. */
  void
  SetPredictor(PredictorPointer predictor);
  /** The predictor in use (loads the model file if needed; throws ExceptionObject on failure). */
  PredictorPointer
  GetPredictor();

  /** LibTorch intra-op threads for the network; 0 (default) keeps LibTorch's (or the shared predictor's) setting. */
  void
  SetNumberOfThreads(int threads);
  int
  GetNumberOfThreads() const;

  /** Lungs where the probability is greater than Threshold; default 0.5. */
  itkSetMacro(Threshold, double);
  itkGetConstMacro(Threshold, double);

  /** How many of the largest components to keep; default 2 (the two lungs); 0 keeps all. */
  itkSetMacro(NumberOfComponents, SizeValueType);
  itkGetConstMacro(NumberOfComponents, SizeValueType);

  /** Keep the resampling and the threshold only: no component selection, no hole filling, no left/right labels. */
  itkSetMacro(SkipPostprocessing, bool);
  itkGetConstMacro(SkipPostprocessing, bool);
  itkBooleanMacro(SkipPostprocessing);

  /** Label the patient's right lung 1 and the left lung 2 (default off: 1 = lung). */
  itkSetMacro(LabelLeftRight, bool);
  itkGetConstMacro(LabelLeftRight, bool);
  itkBooleanMacro(LabelLeftRight);

  /** Compute output 1, the probability map (default on; off saves a resampling when only the labels are used). */
  itkSetMacro(GenerateProbabilityMap, bool);
  itkGetConstMacro(GenerateProbabilityMap, bool);
  itkBooleanMacro(GenerateProbabilityMap);

  /** Output 1: the lung probability on the input's grid. */
  ProbabilityImageType *
  GetProbabilityOutput();

  /** Connected components after the threshold in the last update (0 with SkipPostprocessing). */
  itkGetConstMacro(NumberOfDetectedComponents, SizeValueType);

protected:
  CXRLungSegmentationImageFilter();
  ~CXRLungSegmentationImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  using Superclass::MakeOutput;
  DataObject::Pointer
  MakeOutput(DataObjectPointerArraySizeType index) override;

  void
  GenerateInputRequestedRegion() override;

  void
  EnlargeOutputRequestedRegion(DataObject * output) override;

  void
  GenerateData() override;

private:
  /** Holds the model file name or the shared predictor, and loads the model (never connected to a pipeline). */
  typename SegmentationFilterType::Pointer m_Model;

  double        m_Threshold{ 0.5 };
  SizeValueType m_NumberOfComponents{ 2 };
  bool          m_SkipPostprocessing{ false };
  bool          m_LabelLeftRight{ false };
  bool          m_GenerateProbabilityMap{ true };
  SizeValueType m_NumberOfDetectedComponents{ 0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkCXRLungSegmentationImageFilter.hxx"
#endif

#endif
