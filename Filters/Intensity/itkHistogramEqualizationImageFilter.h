// SPDX-License-Identifier: Apache-2.0
// Global histogram equalization on 256 levels, with the mapping of OpenCV's cv::equalizeHist.
#ifndef itkHistogramEqualizationImageFilter_h
#define itkHistogramEqualizationImageFilter_h

#include "itkImage.h"
#include "itkImageToImageFilter.h"

#include <array>

namespace itk
{

/** \class HistogramEqualizationImageFilter
 * \brief Global histogram equalization on 256 levels with exactly the mapping of OpenCV's `cv::equalizeHist`.
 *
 * The input is expected to hold integral levels in [0, 255] (an 8-bit image, or the output of
 * CXRPreprocessImageFilter with RoundToInteger on). Other values are first brought to a level: rounded to the
 * nearest integer (ties to even) and clamped to [0, 255]; NaN becomes 0.
 *
 * The levels are counted with Statistics::ImageToHistogramFilter (256 unit bins centred on 0 .. 255). With
 * `hist` the counts, `i0` the lowest level present, `N` the number of pixels, OpenCV's rule is:
 * - if every pixel has level i0, the output is the input (every pixel keeps level i0);
 * - otherwise, in single precision, `scale = 255.f / (N - hist[i0])`, `lut[i0] = 0` and, for `i > i0`,
 *   `lut[i] = round(float(sum_{i0 < k <= i} hist[k]) * scale)` (ties to even, saturated to 255).
 * Each pixel is then replaced by lut[level], cast to the pixel type. The same image type is used for input and
 * output.
 *
 * The whole image is one histogram: a 3D image is equalized globally, not slice by slice.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TImage>
class ITK_TEMPLATE_EXPORT HistogramEqualizationImageFilter : public ImageToImageFilter<TImage, TImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(HistogramEqualizationImageFilter);

  using Self = HistogramEqualizationImageFilter;
  using Superclass = ImageToImageFilter<TImage, TImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using ImageType = TImage;
  using PixelType = typename ImageType::PixelType;
  static constexpr unsigned int ImageDimension = TImage::ImageDimension;

  /** The 256 levels the input is brought to before counting. */
  using LevelImageType = Image<unsigned char, ImageDimension>;
  using CountArrayType = std::array<SizeValueType, 256>;
  using LookupTableType = std::array<unsigned char, 256>;

  itkNewMacro(Self);
  itkTypeMacro(HistogramEqualizationImageFilter, ImageToImageFilter);

  /** Pixel count per level and the level mapping of the last update (entries below the first level present are
   * unused and set to 0). */
  const CountArrayType &
  GetHistogram() const
  {
    return m_Histogram;
  }
  const LookupTableType &
  GetLookupTable() const
  {
    return m_LookupTable;
  }

  /** The mapping of cv::equalizeHist for the given level counts (exposed for tests and for reuse). */
  static LookupTableType
  ComputeLookupTable(const CountArrayType & histogram);

  /** Brings a pixel value to one of the 256 levels: nearest integer (ties to even), clamped; NaN gives 0. */
  static unsigned char
  ToLevel(const PixelType & value);

protected:
  HistogramEqualizationImageFilter() = default;
  ~HistogramEqualizationImageFilter() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

  void
  GenerateInputRequestedRegion() override;

  void
  EnlargeOutputRequestedRegion(DataObject * output) override;

  void
  GenerateData() override;

private:
  CountArrayType  m_Histogram{};
  LookupTableType m_LookupTable{};
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkHistogramEqualizationImageFilter.hxx"
#endif

#endif
