// SPDX-License-Identifier: Apache-2.0
// What the plugin and pipeline tests share: a phantom radiograph, the shipped pipeline pointed at another model,
// label maps read back. Header-only.
#ifndef PluginTestSupport_h
#define PluginTestSupport_h

#include "ResCRNetTestData.h"
#include "RunProgram.h"

#include "rescrnet/plugins/PipelineFile.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

namespace rescrnet::testing
{

using LabelImage = itk::Image<unsigned char, 2>;

// A radiograph-like phantom (two dark ovals in a bright body), 8-bit, written to `path`.
inline std::filesystem::path
WritePhantom(const std::filesystem::path & path, unsigned width = 96, unsigned height = 80)
{
  using ImageType = itk::Image<unsigned char, 2>;
  auto                  image = ImageType::New();
  ImageType::RegionType region;
  region.SetSize({ { width, height } });
  image->SetRegions(region);
  image->Allocate();
  for (itk::ImageRegionIterator<ImageType> it(image, region); !it.IsAtEnd(); ++it)
  {
    const auto   index = it.GetIndex();
    const double x = static_cast<double>(index[0]) / width, y = static_cast<double>(index[1]) / height;
    const bool   lung = std::pow((x - 0.3) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1 ||
                      std::pow((x - 0.7) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1;
    it.Set(static_cast<unsigned char>((lung ? 60 : 200) + 10 * ((index[0] * 7 + index[1] * 3) % 5)));
  }
  auto writer = itk::ImageFileWriter<ImageType>::New();
  writer->SetInput(image);
  writer->SetFileName(path.string());
  writer->Update();
  return path;
}

inline LabelImage::Pointer
ReadLabels(const std::filesystem::path & path)
{
  auto reader = itk::ImageFileReader<LabelImage>::New();
  reader->SetFileName(path.string());
  reader->Update();
  return reader->GetOutput();
}

// Data/Pipelines/lung-segmentation.json with `model` as its model file.
inline plugins::Json
ShippedPipeline(const std::filesystem::path & model)
{
  auto doc = plugins::ReadJsonDocument((SourceDirectory() / "Data" / "Pipelines" / "lung-segmentation.json").string());
  doc["model"]["file"] = std::filesystem::absolute(model).string();
  return doc;
}

inline std::filesystem::path
WritePipeline(const std::filesystem::path & path, const plugins::Json & doc)
{
  std::ofstream(path, std::ios::binary) << doc.dump(2) << "\n";
  return path;
}

// Sets an environment variable for the test's lifetime (the programs it runs inherit it).
class ScopedEnvironment
{
public:
  ScopedEnvironment(std::string name, const std::string & value)
    : m_Name(std::move(name))
  {
    if (const char * old = std::getenv(m_Name.c_str()))
      m_Old = old;
    ::setenv(m_Name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment()
  {
    if (m_Old)
      ::setenv(m_Name.c_str(), m_Old->c_str(), 1);
    else
      ::unsetenv(m_Name.c_str());
  }
  ScopedEnvironment(const ScopedEnvironment &) = delete;
  ScopedEnvironment &
  operator=(const ScopedEnvironment &) = delete;

private:
  std::string                m_Name;
  std::optional<std::string> m_Old;
};

} // namespace rescrnet::testing

#endif
