// SPDX-License-Identifier: Apache-2.0
// Built-in stages of the metrics family: the lungs' pixels and areas, and the comparison with a reference mask
// (LungSegmentationMetrics).
#include "BuiltIns.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkImageRegionConstIterator.h"
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
    auto              mask = ReadRadiographSlice(path, io::ReadOptions(), nullptr, nullptr);
    const auto        a = image->GetLargestPossibleRegion().GetSize();
    const auto        b = mask->GetLargestPossibleRegion().GetSize();
    if (a != b)
      throw StageError("reference mask " + path + " is " + std::to_string(b[0]) + "x" + std::to_string(b[1]) +
                       " but the image is " + std::to_string(a[0]) + "x" + std::to_string(a[1]));
    auto binarize = itk::BinaryThresholdImageFilter<ImageType, LabelImageType>::New();
    binarize->SetInput(mask);
    binarize->SetLowerThreshold(0.0f);
    binarize->SetUpperThreshold(0.0f);
    binarize->SetInsideValue(0);
    binarize->SetOutsideValue(1);
    binarize->Update();
    LabelImageType::Pointer reference = binarize->GetOutput();
    reference->CopyInformation(image); // a PNG mask carries no spacing of its own

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

} // namespace

void
RegisterMeasureStages(PluginFactory & factory)
{
  factory.RegisterStage<LungMeasuresStage>();
  factory.RegisterStage<CompareReferenceStage>();
}

} // namespace rescrnet::plugins
