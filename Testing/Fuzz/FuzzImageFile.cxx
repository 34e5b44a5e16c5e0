// SPDX-License-Identifier: Apache-2.0
// Fuzzes the image front end (probe, PNG/JPEG guards, raw-data and budget checks, ITK readers, the DICOM radiograph
// reader): the first byte picks the file name extension, the rest is the file. ImageFileError is the only outcome
// allowed besides success. The pixel budget is lowered to one megapixel to keep executions fast.
#include "rescrnet/InputFile.h"
#include "rescrnet/io/ImageFile.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const char * const extensions[] = { ".png", ".jpg", ".tif", ".nrrd", ".mha", ".nii", ".dcm", ".bmp" };
  static const bool         limited = [] {
    rescrnet::InputLimits limits = rescrnet::GetInputLimits();
    limits.maxPixels = 1'000'000;
    rescrnet::SetInputLimits(limits);
    return true;
  }();
  (void)limited;
  if (size == 0)
    return 0;
  const std::string path = "/tmp/rescrnet-fuzz-image-" + std::to_string(::getpid()) +
                           extensions[data[0] % (sizeof(extensions) / sizeof(*extensions))];
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data) + 1, static_cast<std::streamsize>(size - 1));
  }
  try
  {
    rescrnet::io::ReadImage<itk::Image<float, 2>>(path);
  }
  catch (const rescrnet::io::ImageFileError &)
  {}
  std::remove(path.c_str());
  return 0;
}
