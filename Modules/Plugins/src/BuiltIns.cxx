// SPDX-License-Identifier: Apache-2.0
#include "BuiltIns.h"

#include "itkExtractImageFilter.h"

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

} // namespace rescrnet::plugins
