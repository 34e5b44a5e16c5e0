// SPDX-License-Identifier: Apache-2.0
// Lung probability on the network grid -> lung mask on the original image's grid.
#ifndef itkLungMaskPostprocessImageFilter_h
#define itkLungMaskPostprocessImageFilter_h

#include "itkConnectedComponentImageFilter.h"
#include "itkImage.h"
#include "itkImageToImageFilter.h"
#include "itkRelabelComponentImageFilter.h"
#include "itkResampleImageFilter.h"

#include <vector>

namespace itk
{

/** \class LungMaskPostprocessImageFilter
 * \brief Turns a lung probability image into a lung mask on a reference grid: bilinear resampling, threshold,
 * the N largest connected components, hole filling and, optionally, right/left lung labels.
 *
 * Input 0 is the lung probability (e.g. output 1 of ResCRNetSegmentationImageFilter, on the network grid). The
 * optional ReferenceImage (any pixel type: only its geometry is used, typically the original radiograph) gives
 * the output grid; without it the output is on the probability image's grid. The steps:
 *
 * 1. Resample the probability onto the output grid with ResampleImageFilter, linear interpolation, and
 *    NearestNeighborExtrapolateImageFunction so that points beyond the outer pixel centres take the edge value
 *    (OpenCV's replicated border) rather than 0. Skipped when the grids are identical.
 * 2. Threshold: foreground where probability > Threshold (strictly greater; default 0.5, like `ch0 > 0.5`).
 * 3. Unless SkipComponentSelection: ConnectedComponentImageFilter + RelabelComponentImageFilter (sorted by size)
 *    and keep the NumberOfComponents largest (default 2, the two lungs; 0 keeps all).
 * 4. Unless SkipHoleFilling: BinaryFillholeImageFilter (foreground value 1). For a 3D image the holes are
 *    filled slice by slice (SliceBySliceImageFilter along axis 2), so a 3D image with a single slice gives the 2D
 *    result; the other steps work in the image's dimension (identical to 2D for a single slice).
 * 5. Output 0 = background, 1 = lung; or, with LabelLeftRight, 1 = the patient's right lung and 2 = the left
 *    lung. ITK's physical space is LPS (+x towards the patient's left), so the right lung is the component with
 *    the smaller physical x: each connected component of the final mask is labelled by its centroid's physical
 *    x, relative to the midpoint between the centroids of the two largest components (or, with a single
 *    component, relative to the centre of the image). A flipped direction matrix is therefore taken into
 *    account.
 *
 * FullyConnected (default off: face connectivity) applies to the component selection, the hole filling and the
 * left/right labelling.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TProbabilityImage, typename TLabelImage = Image<unsigned char, TProbabilityImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT LungMaskPostprocessImageFilter : public ImageToImageFilter<TProbabilityImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LungMaskPostprocessImageFilter);

  using Self = LungMaskPostprocessImageFilter;
  using Superclass = ImageToImageFilter<TProbabilityImage, TLabelImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using ProbabilityImageType = TProbabilityImage;
  using LabelImageType = TLabelImage;
  using LabelPixelType = typename LabelImageType::PixelType;
  static constexpr unsigned int ImageDimension = TProbabilityImage::ImageDimension;
  static_assert(TLabelImage::ImageDimension == ImageDimension,
                "LungMaskPostprocessImageFilter: the probability and label images must have the same dimension");

  /** Any image of the same dimension; only its geometry is used. */
  using ReferenceImageType = ImageBase<ImageDimension>;

  /** Output labels. */
  static constexpr unsigned char LungLabel = 1;
  static constexpr unsigned char RightLungLabel = 1;
  static constexpr unsigned char LeftLungLabel = 2;

  itkNewMacro(Self);
  itkTypeMacro(LungMaskPostprocessImageFilter, ImageToImageFilter);

  /** The grid of the output (e.g. the original radiograph); optional. */
  itkSetInputMacro(ReferenceImage, ReferenceImageType);
  itkGetInputMacro(ReferenceImage, ReferenceImageType);

  /** Foreground where probability > Threshold; default 0.5. */
  itkSetMacro(Threshold, double);
  itkGetConstMacro(Threshold, double);

  /** How many of the largest components to keep; default 2; 0 keeps all. */
  itkSetMacro(NumberOfComponents, SizeValueType);
  itkGetConstMacro(NumberOfComponents, SizeValueType);

  itkSetMacro(SkipComponentSelection, bool);
  itkGetConstMacro(SkipComponentSelection, bool);
  itkBooleanMacro(SkipComponentSelection);

  itkSetMacro(SkipHoleFilling, bool);
  itkGetConstMacro(SkipHoleFilling, bool);
  itkBooleanMacro(SkipHoleFilling);

  /** Label the right lung 1 and the left lung 2 (default off: 0/1 output). */
  itkSetMacro(LabelLeftRight, bool);
  itkGetConstMacro(LabelLeftRight, bool);
  itkBooleanMacro(LabelLeftRight);

  /** Connectivity of components and holes: off (default) = face neighbours only. */
  itkSetMacro(FullyConnected, bool);
  itkGetConstMacro(FullyConnected, bool);
  itkBooleanMacro(FullyConnected);

  /** Connected components found after thresholding in the last update (0 with SkipComponentSelection). */
  itkGetConstMacro(NumberOfDetectedComponents, SizeValueType);

  /** The lung probability on the reference grid (float), resampled exactly as this filter does before its
   * threshold: bilinear, edge values kept beyond the outermost pixel centres. */
  using ProbabilityOnGridType = Image<float, ImageDimension>;
  static typename ProbabilityOnGridType::Pointer
  ResampleProbability(const ProbabilityImageType * probability, const ReferenceImageType * reference);

protected:
  using ResamplerType = ResampleImageFilter<ProbabilityImageType, Image<float, ImageDimension>>;
  static typename ResamplerType::Pointer
  MakeResampler(const ProbabilityImageType * probability, const ReferenceImageType * reference);

  LungMaskPostprocessImageFilter();
  ~LungMaskPostprocessImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  /** The reference image may be on another grid than the probability image. */
  void
  VerifyInputInformation() ITKv5_CONST override
  {}

  void
  GenerateOutputInformation() override;

  void
  GenerateInputRequestedRegion() override;

  void
  EnlargeOutputRequestedRegion(DataObject * output) override;

  void
  GenerateData() override;

private:
  using FloatImageType = Image<float, ImageDimension>;
  using MaskImageType = Image<unsigned char, ImageDimension>;
  using ComponentImageType = Image<unsigned int, ImageDimension>;
  using ConnectedType = ConnectedComponentImageFilter<MaskImageType, ComponentImageType>;
  using RelabelType = RelabelComponentImageFilter<ComponentImageType, ComponentImageType>;
  /** The internal filters of one update, in pipeline order (kept alive until it ends). */
  using StageList = std::vector<ProcessObject::Pointer>;

  /** Whether the reference grid is the probability image's (no resampling needed). */
  static bool
  IsOnOutputGrid(const ProbabilityImageType * probability, const ReferenceImageType * reference);

  /** Step 1: the probability on the output grid (resampled unless it already is), thresholded. */
  MaskImageType *
  ThresholdOnOutputGrid(const ProbabilityImageType * probability,
                        const ReferenceImageType *   reference,
                        StageList &                  stages) const;

  /** Step 2: the NumberOfComponents largest connected components; `relabel` counts the components found. */
  MaskImageType *
  KeepLargestComponents(MaskImageType * mask, StageList & stages, RelabelType *& relabel) const;

  /** Step 3: holes filled (slice by slice in 3D). */
  MaskImageType *
  FillHoles(MaskImageType * mask, StageList & stages) const;

  /** Step 5: the label (right or left lung) of each component, indexed by component label, from their centroids. */
  static std::vector<LabelPixelType>
  SideOfEachComponent(const ComponentImageType * components, SizeValueType count);

  double        m_Threshold{ 0.5 };
  SizeValueType m_NumberOfComponents{ 2 };
  bool          m_SkipComponentSelection{ false };
  bool          m_SkipHoleFilling{ false };
  bool          m_LabelLeftRight{ false };
  bool          m_FullyConnected{ false };
  SizeValueType m_NumberOfDetectedComponents{ 0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkLungMaskPostprocessImageFilter.hxx"
#endif

#endif
