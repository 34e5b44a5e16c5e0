// SPDX-License-Identifier: Apache-2.0
// A quality estimate of a lung mask without a reference: signals from the mask and the lung probability, one score
// and named flags.
#ifndef itkLungMaskQualityCalculator_h
#define itkLungMaskQualityCalculator_h

#include "itkImage.h"
#include "itkObject.h"
#include "itkObjectFactory.h"

#include <array>
#include <string>
#include <vector>

namespace itk
{

/** \class LungMaskQualityCalculator
 * \brief Estimates, without a reference, how likely a lung mask is to be right: signals computed from the final
 * mask and the network's lung probability, a score in [0, 1] (an estimate of the probability that the mask's Dice
 * against a reference is at least 0.90) and named flags.
 *
 * Inputs: the final mask (LabelImage: any nonzero pixel is lung, e.g. the output of LungMaskPostprocessImageFilter)
 * and the lung probability (ProbabilityImage: class 0 of ResCRNetSegmentationImageFilter, on the network grid or
 * any other grid). Signals (all dimensionless, so independent of the grids' sizes):
 * - AreaFraction: lung pixels of the mask / pixels of the image.
 * - LungCount: connected components of the mask (face connectivity).
 * - RightLeftRatio: area of the smaller of the two largest components / area of the larger (0 with fewer than 2).
 * - DiscardedFraction: on the probability grid, the part of the foreground (probability > Threshold) outside its
 *   two largest components, i.e. what the post-processing has to throw away.
 * - UncertainFraction: pixels with a probability in (0.2, 0.8) / foreground pixels (probability > Threshold).
 * - MeanMargin: mean of |p - Threshold| / max(Threshold, 1 - Threshold) over the pixels with p > 0.05 (1: every
 *   pixel decided with certainty, 0: every pixel at the threshold).
 * - MaskEntropy: mean binary entropy (bits) of the probability over the foreground.
 * - BorderFraction: the part of the mask's pixels in the outer 2 % frame of the image (each side).
 *
 * The score is a logistic model of these signals, sigma(bias + sum_i w_i (s_i - mean_i) / scale_i), with the
 * LungCount entering as (LungCount != 2). Its coefficients come from SetCalibration(); the default calibration was
 * fitted on the `val` splits of the project's data sets with the default model (Utilities/calibrate-quality.py;
 * Data/Models/ResCRNet-lungs-default.md gives the figures). A model with its own calibration should set it.
 *
 * Flags (names as written in results, in this order; thresholds are the constants below):
 * - "no_lung": the mask is empty; "one_lung": one component; "extra_components": more than two components;
 * - "small_area": AreaFraction < SmallAreaFraction; "large_area": AreaFraction > LargeAreaFraction;
 * - "asymmetric": RightLeftRatio < AsymmetryRatio (with two components);
 * - "fragmented": DiscardedFraction > FragmentedFraction;
 * - "uncertain": UncertainFraction > UncertainFractionLimit;
 * - "touches_border": BorderFraction > BorderFractionLimit;
 * - "low_score": score < LowScore.
 *
 * \ingroup ResCRNetFilters
 */
template <typename TProbabilityImage, typename TLabelImage>
class ITK_TEMPLATE_EXPORT LungMaskQualityCalculator : public Object
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LungMaskQualityCalculator);

  using Self = LungMaskQualityCalculator;
  using Superclass = Object;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  using ProbabilityImageType = TProbabilityImage;
  using LabelImageType = TLabelImage;
  static constexpr unsigned int ImageDimension = TLabelImage::ImageDimension;
  static_assert(TProbabilityImage::ImageDimension == ImageDimension,
                "LungMaskQualityCalculator: the probability and label images must have the same dimension");

  /** The number of signals that enter the score, in the order of Signals(). */
  static constexpr unsigned int NumberOfSignals = 8;
  using SignalVector = std::array<double, NumberOfSignals>;

  /** The logistic model of the score. */
  struct Calibration
  {
    SignalVector mean{};
    SignalVector scale{};
    SignalVector weight{};
    double       bias{ 0.0 };
  };
  /** The calibration fitted on the val splits with the default model. */
  static Calibration
  DefaultCalibration();

  /** Flag thresholds: each lies beyond the 1st or 99th percentile of its signal over the val masks with Dice >= 0.90
   * (default model; Utilities/calibrate-quality.py prints the percentiles), so a flag is rare on a good mask. */
  static constexpr double SmallAreaFraction = 0.10;
  static constexpr double LargeAreaFraction = 0.40;
  static constexpr double AsymmetryRatio = 0.40;
  static constexpr double FragmentedFraction = 0.10;
  static constexpr double UncertainFractionLimit = 0.50;
  static constexpr double BorderFractionLimit = 0.05;
  static constexpr double LowScore = 0.5;

  itkNewMacro(Self);
  itkTypeMacro(LungMaskQualityCalculator, Object);

  itkSetConstObjectMacro(LabelImage, LabelImageType);
  itkGetConstObjectMacro(LabelImage, LabelImageType);
  itkSetConstObjectMacro(ProbabilityImage, ProbabilityImageType);
  itkGetConstObjectMacro(ProbabilityImage, ProbabilityImageType);
  /** The probability threshold the mask was made with; default 0.5. */
  itkSetMacro(Threshold, double);
  itkGetConstMacro(Threshold, double);

  void
  SetCalibration(const Calibration & c)
  {
    m_Calibration = c;
    this->Modified();
  }
  const Calibration &
  GetCalibration() const
  {
    return m_Calibration;
  }

  /** Computes the signals, the score and the flags; throws ExceptionObject when an input is missing, empty or holds
   * a non-finite probability. */
  void
  Compute();

  itkGetConstMacro(AreaFraction, double);
  itkGetConstMacro(LungCount, SizeValueType);
  itkGetConstMacro(RightLeftRatio, double);
  itkGetConstMacro(DiscardedFraction, double);
  itkGetConstMacro(UncertainFraction, double);
  itkGetConstMacro(MeanMargin, double);
  itkGetConstMacro(MaskEntropy, double);
  itkGetConstMacro(BorderFraction, double);
  itkGetConstMacro(Score, double);
  const std::vector<std::string> &
  GetFlags() const
  {
    return m_Flags;
  }
  /** The flags joined by ';' (empty when there is none). */
  std::string
  GetFlagsString() const;

  /** The signals of the last Compute() in the order of the calibration vectors: AreaFraction, LungCount != 2,
   * RightLeftRatio, DiscardedFraction, UncertainFraction, MeanMargin, MaskEntropy, BorderFraction. */
  SignalVector
  GetSignals() const;
  /** Names of the signals in that order (as used in CSV headers). */
  static const std::array<const char *, NumberOfSignals> &
  SignalNames();
  /** The score of a signal vector under a calibration. */
  static double
  ScoreOf(const SignalVector & signals, const Calibration & calibration);

protected:
  LungMaskQualityCalculator();
  ~LungMaskQualityCalculator() override = default;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  void
  ComputeMaskSignals();
  void
  ComputeProbabilitySignals();
  void
  ComputeFlags();

  typename LabelImageType::ConstPointer       m_LabelImage;
  typename ProbabilityImageType::ConstPointer m_ProbabilityImage;
  double                                      m_Threshold{ 0.5 };
  Calibration                                 m_Calibration;

  double                   m_AreaFraction{ 0.0 };
  SizeValueType            m_LungCount{ 0 };
  double                   m_RightLeftRatio{ 0.0 };
  double                   m_DiscardedFraction{ 0.0 };
  double                   m_UncertainFraction{ 0.0 };
  double                   m_MeanMargin{ 0.0 };
  double                   m_MaskEntropy{ 0.0 };
  double                   m_BorderFraction{ 0.0 };
  double                   m_Score{ 0.0 };
  std::vector<std::string> m_Flags;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkLungMaskQualityCalculator.hxx"
#endif

#endif
