// SPDX-License-Identifier: Apache-2.0
// Overlap and surface-distance measures between a segmentation and a reference mask.
#ifndef itkLungSegmentationMetrics_h
#define itkLungSegmentationMetrics_h

#include "itkImage.h"
#include "itkObject.h"
#include "itkObjectFactory.h"

#include <vector>

namespace itk
{

/** \class LungSegmentationMetrics
 * \brief Compares a binary segmentation with a reference mask: Dice, Jaccard, precision, recall, F1, pixel
 * accuracy, Hausdorff distance, HD95 and the average symmetric surface distance.
 *
 * Any nonzero pixel is foreground (so a left/right labelled lung mask counts as one class). The two images must
 * be on the same grid (region, spacing, origin and direction); Compute() throws an ExceptionObject naming both
 * grids otherwise.
 *
 * Overlap, from the pixel counts TP, FP, FN, TN:
 * - Dice = 2TP / (2TP + FP + FN) and Jaccard = TP / (TP + FP + FN), from LabelOverlapMeasuresImageFilter;
 *   F1 is the Dice coefficient;
 * - Precision = TP / (TP + FP), Recall = TP / (TP + FN);
 * - PixelAccuracy = (TP + TN) / N over both classes, the paper's "accuracy".
 * A ratio whose denominator is 0 is 1 when both masks are empty (the segmentation is right) and 0 otherwise
 * (two empty masks: Dice = Jaccard = Precision = Recall = 1).
 *
 * Surface distances, in physical units (image spacing is used):
 * - the surface of a mask is its BinaryContourImageFilter contour (foreground pixels with a face-neighbouring
 *   background pixel); a mask without such pixels (one that fills the whole image) is its own surface;
 * - for every surface pixel of one mask, the distance to the nearest surface pixel of the other, from
 *   SignedMaurerDistanceMapImageFilter (Euclidean, between pixel centres), in both directions;
 * - HausdorffDistance is the largest of these distances; HausdorffDistance95 is the 95th percentile of the
 *   pooled distances of both directions, with linear interpolation between order statistics (numpy.percentile's
 *   default, as MedPy's hd95); MeanSurfaceDistance (average symmetric surface distance) is the mean of the pooled
 *   distances.
 * - Both masks empty: the distances are 0. Exactly one empty: the distances are +infinity.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT LungSegmentationMetrics : public Object
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LungSegmentationMetrics);

  using Self = LungSegmentationMetrics;
  using Superclass = Object;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using ImageType = TLabelImage;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;
  using MaskImageType = Image<unsigned char, ImageDimension>;

  itkNewMacro(Self);
  itkTypeMacro(LungSegmentationMetrics, Object);

  itkSetConstObjectMacro(Segmentation, ImageType);
  itkGetConstObjectMacro(Segmentation, ImageType);
  itkSetConstObjectMacro(Reference, ImageType);
  itkGetConstObjectMacro(Reference, ImageType);

  /** Computes every measure; throws ExceptionObject when an image is missing or the grids differ. */
  void
  Compute();

  itkGetConstMacro(Dice, double);
  itkGetConstMacro(Jaccard, double);
  itkGetConstMacro(Precision, double);
  itkGetConstMacro(Recall, double);
  itkGetConstMacro(F1, double);
  itkGetConstMacro(PixelAccuracy, double);
  itkGetConstMacro(HausdorffDistance, double);
  itkGetConstMacro(HausdorffDistance95, double);
  itkGetConstMacro(MeanSurfaceDistance, double);

  itkGetConstMacro(TruePositives, SizeValueType);
  itkGetConstMacro(FalsePositives, SizeValueType);
  itkGetConstMacro(FalseNegatives, SizeValueType);
  itkGetConstMacro(TrueNegatives, SizeValueType);

  /** The pooled surface distances of the last Compute() (segmentation -> reference, then reference ->
   * segmentation). */
  const std::vector<double> &
  GetSurfaceDistances() const
  {
    return m_SurfaceDistances;
  }

  /** The q-th percentile (0..100) of values, linear interpolation between order statistics; NaN when empty. */
  static double
  Percentile(std::vector<double> values, double q);

protected:
  LungSegmentationMetrics() = default;
  ~LungSegmentationMetrics() override = default;

  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  void
  VerifyGrids() const;

  typename ImageType::ConstPointer m_Segmentation;
  typename ImageType::ConstPointer m_Reference;

  double              m_Dice{ 0.0 };
  double              m_Jaccard{ 0.0 };
  double              m_Precision{ 0.0 };
  double              m_Recall{ 0.0 };
  double              m_F1{ 0.0 };
  double              m_PixelAccuracy{ 0.0 };
  double              m_HausdorffDistance{ 0.0 };
  double              m_HausdorffDistance95{ 0.0 };
  double              m_MeanSurfaceDistance{ 0.0 };
  SizeValueType       m_TruePositives{ 0 };
  SizeValueType       m_FalsePositives{ 0 };
  SizeValueType       m_FalseNegatives{ 0 };
  SizeValueType       m_TrueNegatives{ 0 };
  std::vector<double> m_SurfaceDistances;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkLungSegmentationMetrics.hxx"
#endif

#endif
