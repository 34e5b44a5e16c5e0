// SPDX-License-Identifier: Apache-2.0
// The network's input from a chest X-ray: CXRPreprocessImageFilter then HistogramEqualizationImageFilter, as one
// filter (the first stages of CXRLungSegmentationImageFilter, and the trainer's preprocessing).
#ifndef itkCXRNetworkInputImageFilter_h
#define itkCXRNetworkInputImageFilter_h

#include "itkCXRPreprocessImageFilter.h"
#include "itkHistogramEqualizationImageFilter.h"
#include "itkImage.h"
#include "itkImageToImageFilter.h"

namespace itk
{

/** \class CXRNetworkInputImageFilter
 * \brief Grey value, min-max to [0, 255], bilinear resize to the network grid, rounding, and global histogram
 * equalization: what a Res-CR-Net sees, before the division by 255 that ResCRNetSegmentationImageFilter makes.
 *
 * A composite of CXRPreprocessImageFilter (GridSize, RoundToInteger on) and HistogramEqualizationImageFilter
 * (256 levels, cv2.equalizeHist's mapping), with their progress accumulated. The output is on the network grid,
 * covering the input's physical extent (see CXRPreprocessImageFilter); the input may be 2-D, or 3-D with its
 * slices equalized as one histogram as HistogramEqualizationImageFilter does.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TInputImage, typename TOutputImage = Image<float, TInputImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT CXRNetworkInputImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(CXRNetworkInputImageFilter);

  using Self = CXRNetworkInputImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  static constexpr unsigned int ImageDimension = TInputImage::ImageDimension;

  using PreprocessFilterType = CXRPreprocessImageFilter<InputImageType, OutputImageType>;
  using EqualizationFilterType = HistogramEqualizationImageFilter<OutputImageType>;
  using GridSizeType = typename PreprocessFilterType::GridSizeType;

  itkNewMacro(Self);
  itkTypeMacro(CXRNetworkInputImageFilter, ImageToImageFilter);

  /** The network grid, width x height; default 340 x 300 (the lung model's). */
  itkSetMacro(GridSize, GridSizeType);
  itkGetConstReferenceMacro(GridSize, GridSizeType);
  void
  SetGridSize(SizeValueType width, SizeValueType height)
  {
    GridSizeType size;
    size[0] = width;
    size[1] = height;
    this->SetGridSize(size);
  }

protected:
  CXRNetworkInputImageFilter();
  ~CXRNetworkInputImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  void
  GenerateOutputInformation() override;

  void
  GenerateInputRequestedRegion() override;

  void
  EnlargeOutputRequestedRegion(DataObject * output) override;

  void
  GenerateData() override;

private:
  /** The preprocessing filter on a copy of the input: its geometry, and its pixels `withPixels`. */
  typename PreprocessFilterType::Pointer
  MakePreprocess(bool withPixels) const;

  GridSizeType m_GridSize;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkCXRNetworkInputImageFilter.hxx"
#endif

#endif
