// SPDX-License-Identifier: Apache-2.0
// Built-in stages of the metrics family: the lungs' pixels and areas, and the comparison with a reference mask
// (LungSegmentationMetrics), the reference-free quality estimate (LungMaskQualityCalculator).
#include "BuiltIns.h"

#include "itkImageRegionConstIterator.h"
#include "itkLungMaskQualityCalculator.h"
#include "itkLungSegmentationMetrics.h"
#include "itkMetaDataObject.h"

namespace rescrnet::plugins
{

namespace
{

bool
RightLeftLabels(const LabelImageType * mask)
{
  std::string meaning;
  return itk::ExposeMetaData<std::string>(mask->GetMetaDataDictionary(), LabelMeaningKey, meaning) &&
         meaning == "right-left";
}

// lung-measures: pixels and areas of the lungs (and of each side when the mask labels them).
class LungMeasuresStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LungMeasuresStage);
  using Self = LungMeasuresStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(LungMeasuresStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "lung-measures",
             "Pixels and areas (mm2) of the lungs, and of each lung when the mask labels right (1) and left (2)",
             { ParameterSpec::String("mask", "mask", "Mask", "The label map it measures") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Mask = values.GetString("mask");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Mask, SlotKind::Labels } };
  }
  std::vector<std::string>
  Measures() const override
  {
    return { "total_pixels", "total_area_mm2", "right_pixels", "left_pixels", "right_area_mm2", "left_area_mm2" };
  }
  void
  Execute(PipelineData & data) const override
  {
    const LabelImageType * mask = data.Get<LabelImageType>(m_Mask);
    const bool             sides = RightLeftLabels(mask);
    uint64_t               total = 0, right = 0, left = 0;
    for (itk::ImageRegionConstIterator<LabelImageType> it(mask, mask->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
    {
      const unsigned char v = it.Get();
      total += v != 0;
      right += sides && v == 1;
      left += sides && v == 2;
    }
    const double pixelArea = mask->GetSpacing()[0] * mask->GetSpacing()[1];
    data.measures["total_pixels"] = total;
    data.measures["total_area_mm2"] = static_cast<double>(total) * pixelArea;
    data.measures["right_pixels"] = right;
    data.measures["left_pixels"] = left;
    data.measures["right_area_mm2"] = static_cast<double>(right) * pixelArea;
    data.measures["left_area_mm2"] = static_cast<double>(left) * pixelArea;
  }

protected:
  LungMeasuresStage() = default;
  ~LungMeasuresStage() override = default;

private:
  std::string m_Mask;
};

// compare-reference: overlap and distances against the run's reference mask (nonzero = lung, same grid).
class CompareReferenceStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(CompareReferenceStage);
  using Self = CompareReferenceStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(CompareReferenceStage, Stage);

  ComponentInfo
  Describe() const override
  {
    return { "compare-reference",
             "LungSegmentationMetrics against the reference mask given with the run (skipped without one): Dice, "
             "Jaccard, precision, recall, F1, pixel accuracy, Hausdorff, HD95, mean surface distance",
             { ParameterSpec::String("mask", "mask", "Mask", "The label map it compares"),
               ParameterSpec::String("image", "image", "Image", "The input image (the reference takes its grid)") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Mask = values.GetString("mask");
    m_Image = values.GetString("image");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Mask, SlotKind::Labels }, { m_Image, SlotKind::Image } };
  }
  std::string
  FileRole() const override
  {
    return "reference";
  }
  std::vector<std::string>
  Measures() const override
  {
    return { "dice",           "jaccard",      "precision", "recall",         "f1",
             "pixel_accuracy", "hausdorff_mm", "hd95_mm",   "mean_surface_mm" };
  }
  void
  Prepare(const PipelineData & data) const override
  {
    io::CheckRadiographFile(data.File("reference"));
  }
  void
  Execute(PipelineData & data) const override
  {
    const std::string path = data.File("reference");
    const ImageType * image = data.Get<ImageType>(m_Image);
    const auto        reference = ReadReferenceMask(path, image);

    auto metrics = itk::LungSegmentationMetrics<LabelImageType>::New();
    metrics->SetSegmentation(data.Get<LabelImageType>(m_Mask));
    metrics->SetReference(reference);
    metrics->Compute();
    data.measures["dice"] = metrics->GetDice();
    data.measures["jaccard"] = metrics->GetJaccard();
    data.measures["precision"] = metrics->GetPrecision();
    data.measures["recall"] = metrics->GetRecall();
    data.measures["f1"] = metrics->GetF1();
    data.measures["pixel_accuracy"] = metrics->GetPixelAccuracy();
    data.measures["hausdorff_mm"] = metrics->GetHausdorffDistance();
    data.measures["hd95_mm"] = metrics->GetHausdorffDistance95();
    data.measures["mean_surface_mm"] = metrics->GetMeanSurfaceDistance();
  }

protected:
  CompareReferenceStage() = default;
  ~CompareReferenceStage() override = default;

private:
  std::string m_Mask, m_Image;
};


// quality: the reference-free quality estimate of the mask from the mask and the lung probability on its grid
// (LungMaskQualityCalculator with the threshold the mask was made with: its ThresholdKey metadata, else 0.5).
class QualityStage : public Stage
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(QualityStage);
  using Self = QualityStage;
  using Superclass = Stage;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  itkTypeMacro(QualityStage, Stage);

  using Calculator = itk::LungMaskQualityCalculator<ImageType, LabelImageType>;

  ComponentInfo
  Describe() const override
  {
    return { "quality",
             "LungMaskQualityCalculator: a score in [0, 1] (the estimated probability that Dice >= 0.90), the flags "
             "(';'-separated, empty when none) and the signals behind them, without a reference",
             { ParameterSpec::String("mask", "mask", "Mask", "The label map it scores"),
               ParameterSpec::String(
                 "probability", "probability_map", "Probability", "The lung probability on the mask's grid") } };
  }
  void
  Configure(const ParameterValues & values, const StageContext &) override
  {
    m_Mask = values.GetString("mask");
    m_Probability = values.GetString("probability");
  }
  std::vector<Slot>
  Inputs() const override
  {
    return { { m_Mask, SlotKind::Labels }, { m_Probability, SlotKind::Image } };
  }
  std::vector<std::string>
  Measures() const override
  {
    std::vector<std::string> names{ "quality_score", "quality_flags" };
    for (const char * signal : Calculator::SignalNames())
      names.push_back(std::string("quality_") + signal);
    return names;
  }
  void
  Execute(PipelineData & data) const override
  {
    const LabelImageType * mask = data.Get<LabelImageType>(m_Mask);
    double                 threshold = 0.5;
    itk::ExposeMetaData<double>(mask->GetMetaDataDictionary(), ThresholdKey, threshold);
    auto quality = Calculator::New();
    quality->SetLabelImage(mask);
    quality->SetProbabilityImage(data.Get<ImageType>(m_Probability));
    quality->SetThreshold(threshold);
    try
    {
      quality->Compute();
    }
    catch (const itk::ExceptionObject & e)
    {
      throw StageError(std::string("quality: ") + e.GetDescription());
    }
    data.measures["quality_score"] = quality->GetScore();
    data.measures["quality_flags"] = quality->GetFlagsString();
    const auto & names = Calculator::SignalNames();
    const auto   signals = quality->GetSignals();
    for (size_t i = 0; i < names.size(); ++i)
      data.measures[std::string("quality_") + names[i]] = signals[i];
  }

protected:
  QualityStage() = default;
  ~QualityStage() override = default;

private:
  std::string m_Mask, m_Probability;
};

} // namespace

void
RegisterMeasureStages(PluginFactory & factory)
{
  factory.RegisterStage<LungMeasuresStage>();
  factory.RegisterStage<CompareReferenceStage>();
  factory.RegisterStage<QualityStage>();
}

} // namespace rescrnet::plugins
