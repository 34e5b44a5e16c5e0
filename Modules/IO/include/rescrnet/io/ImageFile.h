// SPDX-License-Identifier: Apache-2.0
// Reading and writing images for the project's tools and for C++ users: any format ITK reads (PNG, JPEG, TIFF, NRRD,
// NIfTI, MetaImage, ...), DICOM radiographs through rescrnet::io::ReadRadiograph (VOI, MONOCHROME1), a guard that
// decodes PNG files before ITK 5.2's reader (whose libpng error handler aborts the process on a corrupt file), and
// writing through rescrnet::AtomicFile (a temporary file in the target's folder, flushed, then renamed).
#ifndef rescrnet_io_ImageFile_h
#define rescrnet_io_ImageFile_h

#include "rescrnet/AtomicFile.h"
#include "rescrnet/TextUtilities.h"
#include "rescrnet/io/DicomRadiograph.h"

#include "itkCastImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace rescrnet::io
{

// An image file that cannot be read or written: the message is one line naming the file, fit for the user.
class ImageFileError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// Messages that the libraries behind ITK's readers print on std::cerr while a file is probed or read (MetaIO:
// "MetaImage: M_Read: Error parsing file", ...) are captured, so that the tools print one line; the first captured line
// explains a failure better than ITK's exception. std::cerr is swapped for the object's lifetime: other threads'
// messages in that time are captured too. Captures are serialised by one process-wide (recursive) lock, so that
// threads reading images at the same time (the batch mode's images in flight) never swap std::cerr under each other.
class StandardErrorCapture
{
public:
  StandardErrorCapture()
    : m_Lock(Mutex())
    , m_Previous(std::cerr.rdbuf(m_Text.rdbuf()))
  {}
  ~StandardErrorCapture()
  {
    std::cerr.rdbuf(m_Previous);
  }
  StandardErrorCapture(const StandardErrorCapture &) = delete;
  StandardErrorCapture &
  operator=(const StandardErrorCapture &) = delete;

  // "cannot read P: " and the first captured line, or `description` when nothing was captured.
  std::string
  Message(const std::string & path, const std::string & description) const
  {
    const std::string text = m_Text.str();
    const std::string first = text.substr(0, text.find('\n'));
    return "cannot read " + path + ": " + OneLine(Trim(first).empty() ? description : first);
  }

private:
  static std::recursive_mutex &
  Mutex()
  {
    static std::recursive_mutex mutex;
    return mutex;
  }

  std::unique_lock<std::recursive_mutex> m_Lock; // first: taken before std::cerr is swapped, released after
  std::ostringstream                     m_Text;
  std::streambuf *                       m_Previous;
};

// What a file holds, from its header.
struct ImageFileInfo
{
  unsigned              dimension{ 0 };
  std::vector<uint64_t> size;
  unsigned              components{ 1 };
  bool                  dicom{ false };
};

// The header of `path` (DICOM files: 2-D). Throws ImageFileError when the file does not exist, is a folder, is a
// corrupt PNG, or is in no format ITK or rescrnet::io reads.
ImageFileInfo
ReadImageFileInfo(const std::string & path);

// ReadImageFileInfo, and a radiograph-like image: 1, 3 or 4 components (grey, RGB, RGBA), 2-D or 3-D with one slice,
// at least 8 x 8 pixels. Throws ImageFileError naming what is wrong.
ImageFileInfo
CheckRadiographFile(const std::string & path);

// Whether ITK can read `path` as an image (by its content and extension), or it is a DICOM file. Never throws.
bool
IsReadableImage(const std::string & path);

// The image files of `folder`, sorted by name (hidden and unreadable files skipped).
std::vector<std::string>
ListImages(const std::string & folder);

// Decodes `path` completely when it is a PNG file, with a libpng error handler that reports instead of aborting;
// throws ImageFileError for a corrupt PNG. Other files are left to their readers.
void
CheckPNGFile(const std::string & path);

// Decodes `path` completely when it is a PNG or a JPEG file, with error handlers that report instead of aborting or
// crashing (ITK 5.2's readers abort on a corrupt PNG and crash or zero-fill on a truncated JPEG); throws
// ImageFileError for a corrupt or truncated file or one beyond the pixel budget. Other files are left to their readers.
void
CheckDecodableFile(const std::string & path);

// Reads `path` into a scalar image: ITK converts colour to luminance. DICOM files are read with ReadRadiograph and
// `dicomOptions` (2-D images only; `dicomInfo`, when given, receives what was read, warnings included). PNG files
// pass ReadImageFileInfo (a regular file of bounded size, the pixel budget from its header: --maxPixels) and
// CheckDecodableFile first. Throws ImageFileError (DICOM: its DicomError message).
template <typename TImage>
typename TImage::Pointer
ReadImage(const std::string & path,
          const ReadOptions & dicomOptions = ReadOptions(),
          RadiographInfo *    dicomInfo = nullptr)
{
  if (IsDicomFile(path))
  {
    if constexpr (TImage::ImageDimension == 2)
    {
      itk::Image<float, 2>::Pointer radiograph;
      try
      {
        radiograph = ReadRadiograph(path, dicomOptions, dicomInfo);
      }
      catch (const DicomError & e)
      {
        throw ImageFileError(e.what());
      }
      if constexpr (std::is_same_v<TImage, itk::Image<float, 2>>)
      {
        return radiograph;
      }
      else
      {
        auto cast = itk::CastImageFilter<itk::Image<float, 2>, TImage>::New();
        cast->SetInput(radiograph);
        cast->Update();
        return cast->GetOutput();
      }
    }
    else
    {
      throw ImageFileError("cannot read " + path + " as a " + std::to_string(TImage::ImageDimension) +
                           "-D image: DICOM radiographs are 2-D");
    }
  }
  ReadImageFileInfo(path);
  CheckDecodableFile(path);
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path);
  {
    StandardErrorCapture capture;
    try
    {
      reader->Update();
    }
    catch (const itk::ExceptionObject & e)
    {
      throw ImageFileError(capture.Message(path, e.GetDescription()));
    }
  }
  if constexpr (std::is_floating_point_v<typename TImage::PixelType>)
  {
    const auto * image = reader->GetOutput();
    const auto * begin = image->GetBufferPointer();
    const auto * end = begin + image->GetBufferedRegion().GetNumberOfPixels();
    if (std::find_if(begin, end, [](auto v) { return !std::isfinite(v); }) != end)
      throw ImageFileError("cannot use " + path + ": the image holds NaN or infinite pixel values");
  }
  return reader->GetOutput();
}

// Writes `image` to `path` atomically, in the format of its extension (compressed where the format allows). Throws
// ImageFileError; never leaves a partial file.
template <typename TImage>
void
WriteImage(const TImage * image, const std::string & path, bool compress = true)
{
  try
  {
    AtomicFile file(path);
    auto       writer = itk::ImageFileWriter<TImage>::New();
    writer->SetInput(image);
    writer->SetFileName(file.temporaryPath());
    writer->SetUseCompression(compress);
    writer->Update();
    // ITK's writers do not all report a failed write (the NRRD writer loses a full disk at the file's close): the
    // file must read back whole before it replaces the target.
    auto check = itk::ImageFileReader<TImage>::New();
    check->SetFileName(file.temporaryPath());
    try
    {
      StandardErrorCapture capture;
      check->Update();
    }
    catch (const itk::ExceptionObject &)
    {
      throw ImageFileError("cannot write " + path + ": the written file does not read back (is the disk full?)");
    }
    if (check->GetOutput()->GetLargestPossibleRegion().GetSize() != image->GetLargestPossibleRegion().GetSize())
      throw ImageFileError("cannot write " + path + ": the written file does not read back (is the disk full?)");
    file.commit();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw ImageFileError("cannot write " + path + ": " + OneLine(e.GetDescription()));
  }
  catch (const AtomicFileError & e)
  {
    throw ImageFileError(e.what());
  }
}

} // namespace rescrnet::io

#endif
