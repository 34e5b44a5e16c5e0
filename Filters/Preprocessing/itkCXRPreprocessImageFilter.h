// SPDX-License-Identifier: Apache-2.0
// Chest X-ray preprocessing for Res-CR-Net: grey value, min-max to [0, 255], bilinear resize to the network grid.
#ifndef itkCXRPreprocessImageFilter_h
#define itkCXRPreprocessImageFilter_h

#include "itkCXRGrayValue.h"
#include "itkImage.h"
#include "itkImageToImageFilter.h"

#include <vector>

namespace itk
{

/** \class CXRPreprocessImageFilter
 * \brief Prepares a chest X-ray for Res-CR-Net: grey value, min-max scaling to [0, 255] and a bilinear resize
 * to the network grid, reproducing OpenCV's reference pipeline.
 *
 * The steps, which match the reference `Predict_new_patient.py` up to (not including) `cv2.equalizeHist`:
 *
 * 1. Grey value (CXRGrayValue): scalars as they are; RGB/RGBA as Rec. 601 luma.
 * 2. Min-max scaling in double precision, `a = (g - min) / (max - min) * 255`, evaluated in that order as
 *    NumPy does. A constant image becomes all zeros.
 * 3. Bilinear resize of axes 0 and 1 to GridSize (width x height, default 340 x 300) with exactly the arithmetic
 *    of `cv2.resize(..., INTER_LINEAR)` on a float64 image: the source coordinate of destination pixel d is
 *    `(d + 0.5) * scale - 0.5` (half-pixel centres), computed as OpenCV does with single-precision weights and
 *    double-precision sums, rows first and then columns; coordinates beyond the first or last pixel centre take
 *    the edge pixel (replicated border).
 * 4. Optionally (RoundToInteger, default on) `cv2.convertScaleAbs`: the value is converted to float, rounded to the
 *    nearest integer (ties to even) and saturated to [0, 255], so that the histogram equalization that follows sees
 *    8-bit levels.
 *
 * The resize is done in index space rather than with ResampleImageFilter: ResampleImageFilter (linear
 * interpolation, nearest-neighbour extrapolation, the geometry below) maps the same pixel centres, but with
 * double-precision weights and another summation order, which moves values lying on a rounding tie of step 4 to
 * the other integer. On the four reference images that changed 9 to 28 of the 102000 8-bit pixels (and, after
 * equalization, 6 to 28 pixels by up to 4 levels); rounding the double value without the float conversion of
 * step 4 changed 0 to 11. The index-space resize with the float conversion reproduces OpenCV 4.6 to the bit.
 *
 * Output geometry: the output covers the same physical extent as the input. Along axes 0 and 1 the spacing is
 * `inputSpacing * inputSize / outputSize` and the origin is moved so that the outer pixel edges coincide; the
 * direction is the input's. Axes beyond the second (e.g. a 3D image with a single slice) keep their size,
 * spacing and origin: each slice is resized on its own, while the min-max range is taken over the whole image.
 * The output's largest possible region starts at index 0.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TInputImage, typename TOutputImage = Image<float, TInputImage::ImageDimension>>
class ITK_TEMPLATE_EXPORT CXRPreprocessImageFilter : public ImageToImageFilter<TInputImage, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(CXRPreprocessImageFilter);

  using Self = CXRPreprocessImageFilter;
  using Superclass = ImageToImageFilter<TInputImage, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using InputImageType = TInputImage;
  using OutputImageType = TOutputImage;
  using InputPixelType = typename InputImageType::PixelType;
  using OutputPixelType = typename OutputImageType::PixelType;
  using OutputImageRegionType = typename OutputImageType::RegionType;

  static constexpr unsigned int ImageDimension = TOutputImage::ImageDimension;
  static_assert(TInputImage::ImageDimension == TOutputImage::ImageDimension,
                "CXRPreprocessImageFilter: the input and output images must have the same dimension");
  static_assert(ImageDimension >= 2, "CXRPreprocessImageFilter: the images need at least two dimensions");

  /** Width (axis 0) and height (axis 1) of the network grid. */
  using GridSizeType = Size<2>;

  itkNewMacro(Self);
  itkTypeMacro(CXRPreprocessImageFilter, ImageToImageFilter);

  /** The network grid, width x height; default 340 x 300. */
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

  /** Round to the nearest integer and saturate to [0, 255] (cv2.convertScaleAbs); default on. */
  itkSetMacro(RoundToInteger, bool);
  itkGetConstMacro(RoundToInteger, bool);
  itkBooleanMacro(RoundToInteger);

  /** Grey-value range of the input found by the last update. */
  itkGetConstMacro(InputMinimum, double);
  itkGetConstMacro(InputMaximum, double);

protected:
  CXRPreprocessImageFilter();
  ~CXRPreprocessImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  void
  GenerateOutputInformation() override;

  void
  GenerateInputRequestedRegion() override;

  void
  BeforeThreadedGenerateData() override;

  void
  DynamicThreadedGenerateData(const OutputImageRegionType & outputRegionForThread) override;

private:
  /** Source pixels and weights of one output axis, as cv::resize computes them. */
  struct AxisWeights
  {
    std::vector<IndexValueType> first;
    std::vector<IndexValueType> second;
    std::vector<float>          firstWeight;
    std::vector<float>          secondWeight;
  };

  static AxisWeights
  ComputeAxisWeights(SizeValueType inputSize, SizeValueType outputSize);

  double
  ScaledValue(const InputImageType * input, const typename InputImageType::IndexType & index) const;

  GridSizeType m_GridSize;
  bool         m_RoundToInteger{ true };
  double       m_InputMinimum{ 0.0 };
  double       m_InputMaximum{ 0.0 };
  AxisWeights  m_Weights[2];
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkCXRPreprocessImageFilter.hxx"
#endif

#endif
