// SPDX-License-Identifier: Apache-2.0
#include "BuiltIns.h"

#include "itkBinaryThresholdImageFilter.h"
#include "itkExtractImageFilter.h"
#include "itkMetaDataObject.h"

namespace rescrnet::plugins
{

void
RegisterBuiltInComponents(PluginFactory & factory)
{
  RegisterImageStages(factory);
  RegisterSegmentationStages(factory);
  RegisterMeasureStages(factory);
  RegisterWriterStages(factory);
  RegisterBackends(factory);
}

ImageType::Pointer
ReadRadiographSlice(const std::string &          path,
                    const io::ReadOptions &      options,
                    std::vector<std::string> *   warnings,
                    itk::ImageBase<3>::Pointer * geometry)
{
  const io::ImageFileInfo info = io::CheckRadiographFile(path);
  if (info.dimension == 2)
  {
    io::RadiographInfo dicomInfo;
    auto               image = io::ReadImage<ImageType>(path, options, &dicomInfo);
    if (warnings)
      warnings->insert(warnings->end(), dicomInfo.warnings.begin(), dicomInfo.warnings.end());
    if (!dicomInfo.voi.empty())
      itk::EncapsulateMetaData<std::string>(image->GetMetaDataDictionary(), AppliedVOIKey, dicomInfo.voi);
    return image;
  }
  using VolumeType = itk::Image<float, 3>;
  auto volume = io::ReadImage<VolumeType>(path, options);
  auto region = volume->GetLargestPossibleRegion();
  region.SetSize(2, 0);
  auto extract = itk::ExtractImageFilter<VolumeType, ImageType>::New();
  extract->SetExtractionRegion(region);
  extract->SetDirectionCollapseToSubmatrix();
  extract->SetInput(volume);
  try
  {
    extract->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw io::ImageFileError("cannot read " + path + " as a radiograph: " + OneLine(e.GetDescription()));
  }
  if (geometry)
  {
    auto g = VolumeType::New();
    g->CopyInformation(volume);
    *geometry = g.GetPointer();
  }
  ImageType::Pointer slice = extract->GetOutput();
  slice->DisconnectPipeline();
  return slice;
}

LabelImageType::Pointer
ReadReferenceMask(const std::string & path, const ImageType * image)
{
  auto       mask = ReadRadiographSlice(path, io::ReadOptions(), nullptr, nullptr);
  const auto a = image->GetLargestPossibleRegion().GetSize();
  const auto b = mask->GetLargestPossibleRegion().GetSize();
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
  reference->DisconnectPipeline();
  reference->CopyInformation(image);
  return reference;
}

} // namespace rescrnet::plugins
