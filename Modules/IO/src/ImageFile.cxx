// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/io/ImageFile.h"

#include "itkImageIOFactory.h"

#include <png.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace rescrnet::io
{

namespace fs = std::filesystem;

namespace
{

// Reads a PNG file with libpng and an error handler that reports instead of aborting: the header only, or every row.
void
DecodePNG(const std::string & path, bool headerOnly)
{
  std::FILE * fp = std::fopen(path.c_str(), "rb");
  if (!fp)
    throw ImageFileError("cannot read " + path + ": " + std::strerror(errno));
  struct Guard
  {
    std::FILE * f;
    ~Guard()
    {
      std::fclose(f);
    }
  } guard{ fp };
  unsigned char signature[8] = {};
  if (std::fread(signature, 1, 8, fp) != 8 || png_sig_cmp(signature, 0, 8) != 0)
    return; // not a PNG: another reader takes it
  static thread_local char message[256];
  message[0] = '\0';
  auto onError = [](png_structp png, png_const_charp msg) {
    std::snprintf(message, sizeof(message), "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
  };
  auto        onWarning = [](png_structp, png_const_charp) {};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, onError, onWarning);
  png_infop   info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info)
  {
    png_destroy_read_struct(&png, &info, nullptr);
    throw ImageFileError("cannot read " + path + ": out of memory");
  }
  if (setjmp(png_jmpbuf(png)))
  {
    png_destroy_read_struct(&png, &info, nullptr);
    throw ImageFileError("cannot read " + path + ": corrupt PNG (" + std::string(message) + ")");
  }
  png_init_io(png, fp);
  png_set_sig_bytes(png, 8);
  if (headerOnly)
    png_read_info(png, info);
  else
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
}

} // namespace

void
CheckPNGFile(const std::string & path)
{
  DecodePNG(path, false);
}

ImageFileInfo
ReadImageFileInfo(const std::string & path)
{
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw ImageFileError("cannot read " + path + ": no such file");
  if (fs::is_directory(path, ec))
    throw ImageFileError("cannot read " + path + ": is a folder");
  ImageFileInfo info;
  if (IsDicomFile(path))
  {
    // rescrnet::io::ReadRadiograph checks DICOM files as it reads them (single-frame projection radiographs).
    info.dimension = 2;
    info.dicom = true;
    return info;
  }
  DecodePNG(path, true);
  auto imageIO = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!imageIO)
    throw ImageFileError("cannot read " + path + ": not an image in a supported format");
  try
  {
    imageIO->SetFileName(path);
    imageIO->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw ImageFileError("cannot read " + path + ": " + OneLine(e.GetDescription()));
  }
  info.dimension = imageIO->GetNumberOfDimensions();
  for (unsigned d = 0; d < info.dimension; ++d)
    info.size.push_back(imageIO->GetDimensions(d));
  info.components = imageIO->GetNumberOfComponents();
  return info;
}

ImageFileInfo
CheckRadiographFile(const std::string & path)
{
  const ImageFileInfo info = ReadImageFileInfo(path);
  if (info.dicom)
    return info;
  if (info.components != 1 && info.components != 3 && info.components != 4)
    throw ImageFileError("cannot use " + path + ": " + std::to_string(info.components) +
                         " components per pixel (expected grey, RGB or RGBA)");
  if (info.dimension == 3 && info.size[2] != 1)
    throw ImageFileError("cannot use " + path + ": a 3-D volume with " + std::to_string(info.size[2]) +
                         " slices is not a radiograph");
  if (info.dimension != 2 && info.dimension != 3)
    throw ImageFileError("cannot use " + path + ": " + std::to_string(info.dimension) + "-D image");
  if (info.size[0] < 8 || info.size[1] < 8)
    throw ImageFileError("cannot use " + path + ": image of " + std::to_string(info.size[0]) + "x" +
                         std::to_string(info.size[1]) + " pixels is too small for a radiograph");
  return info;
}

bool
IsReadableImage(const std::string & path)
{
  auto imageIO = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  return imageIO != nullptr || IsDicomFile(path);
}

std::vector<std::string>
ListImages(const std::string & folder)
{
  std::vector<std::string> out;
  std::error_code          ec;
  for (const auto & entry : fs::directory_iterator(folder, ec))
  {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.empty() || name[0] == '.')
      continue;
    if (IsReadableImage(entry.path().string()))
      out.push_back(entry.path().string());
  }
  if (ec)
    throw ImageFileError("cannot list " + folder + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace rescrnet::io
