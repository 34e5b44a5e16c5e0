// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/io/ImageFile.h"

#include "itkImageIOFactory.h"

#include "rescrnet/InputFile.h"

#include <cstdio> // before jpeglib.h, which needs FILE

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

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

// libjpeg's error manager with a jump back to the decoder instead of exit(); warnings that mean the data are
// incomplete (premature end of file) are errors too: ITK 5.2's JPEG reader crashes or zero-fills on such files.
struct JpegErrorManager
{
  jpeg_error_mgr pub;
  std::jmp_buf   jump;
  char           message[JMSG_LENGTH_MAX];
};

void
OnJpegError(j_common_ptr cinfo)
{
  auto * err = reinterpret_cast<JpegErrorManager *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void
OnJpegMessage(j_common_ptr cinfo, int level)
{
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    OnJpegError(cinfo);
}

// The C part of DecodeJPEG: no C++ object lives across setjmp. Returns false with `message` set on a decoding error;
// width and height from the header; stops after the header when headerOnly or when the image exceeds maxPixels.
bool
DecodeJPEGFile(std::FILE * fp, bool headerOnly, uint64_t maxPixels, uint64_t & width, uint64_t & height, char * message)
{
  jpeg_decompress_struct cinfo;
  JpegErrorManager       err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnJpegError;
  err.pub.emit_message = OnJpegMessage;
  err.message[0] = '\0';
  if (setjmp(err.jump))
  {
    std::snprintf(message, JMSG_LENGTH_MAX, "%s", err.message);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, fp);
  jpeg_read_header(&cinfo, TRUE);
  width = cinfo.image_width;
  height = cinfo.image_height;
  if (!headerOnly && width * height <= maxPixels)
  {
    jpeg_start_decompress(&cinfo);
    const JDIMENSION stride = cinfo.output_width * static_cast<JDIMENSION>(cinfo.output_components);
    JSAMPARRAY       row = (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo), JPOOL_IMAGE, stride, 1);
    while (cinfo.output_scanline < cinfo.output_height)
      jpeg_read_scanlines(&cinfo, row, 1);
    jpeg_finish_decompress(&cinfo);
  }
  jpeg_destroy_decompress(&cinfo);
  return true;
}

// Whether the file starts with a JPEG start-of-image marker.
bool
HasJPEGSignature(const std::string & path)
{
  std::FILE * fp = std::fopen(path.c_str(), "rb");
  if (!fp)
    return false;
  unsigned char signature[2] = {};
  const bool    jpeg = std::fread(signature, 1, 2, fp) == 2 && signature[0] == 0xFF && signature[1] == 0xD8;
  std::fclose(fp);
  return jpeg;
}

// Reads a JPEG file with libjpeg and an error handler that reports: the header only, or every scanline. Files that do
// not start with a JPEG marker are left to other readers.
void
DecodeJPEG(const std::string & path, bool headerOnly)
{
  if (!HasJPEGSignature(path))
    return;
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
  uint64_t width = 0, height = 0;
  char     message[JMSG_LENGTH_MAX] = {};
  if (!DecodeJPEGFile(fp, headerOnly, GetInputLimits().maxPixels, width, height, message))
    throw ImageFileError("cannot read " + path + ": corrupt or truncated JPEG (" + std::string(message) + ")");
  try
  {
    CheckPixelBudget(path, width, height);
  }
  catch (const InputFileError & e)
  {
    throw ImageFileError(e.what());
  }
}

// Where the pixel data of an uncompressed MetaImage (.mha, data LOCAL), NRRD (raw, attached) or NIfTI (.nii) file
// start, from its header; 0 when the file is compressed, detached or of another format (its reader checks it). ITK
// 5.2 zero-fills the missing end of such files (MetaIO prints "data not read completely" and goes on).
uint64_t
RawDataOffset(const std::string & path, const std::string & ioName)
{
  std::ifstream in(path, std::ios::binary);
  std::string   head(65536, '\0');
  in.read(&head[0], static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  auto lineOf = [&head](const std::string & key) {
    const size_t at = head.find(key);
    return at == std::string::npos ? std::string() : head.substr(at, head.find('\n', at) - at);
  };
  if (ioName == "MetaImageIO")
  {
    const std::string data = lineOf("ElementDataFile");
    const std::string compressed = lineOf("CompressedData");
    if (data.find("LOCAL") == std::string::npos || compressed.find("True") != std::string::npos)
      return 0;
    return head.find('\n', head.find("ElementDataFile")) + 1;
  }
  if (ioName == "NrrdImageIO")
  {
    const size_t end = head.find("\n\n");
    if (end == std::string::npos || lineOf("encoding:").find("raw") == std::string::npos ||
        !lineOf("data file:").empty() || !lineOf("datafile:").empty())
      return 0;
    return end + 2;
  }
  if (ioName == "NiftiImageIO" && head.size() >= 352 && std::memcmp(&head[344], "n+1", 4) == 0)
  {
    float offset = 0;
    std::memcpy(&offset, &head[108], sizeof(offset));
    int32_t headerSize = 0;
    std::memcpy(&headerSize, &head[0], sizeof(headerSize));
    if (headerSize != 348) // big-endian file
    {
      uint32_t bits = 0;
      std::memcpy(&bits, &offset, sizeof(bits));
      bits = __builtin_bswap32(bits);
      std::memcpy(&offset, &bits, sizeof(bits));
    }
    return std::isfinite(offset) && offset >= 352 ? static_cast<uint64_t>(offset) : 352;
  }
  return 0;
}

// libtiff reads a TIFF file cut inside its directory (the tags after the pixel data) with warnings only ("IO error
// during reading of ...; tag ignored"), printed on stderr, and ITK decodes it. The structure of a classic TIFF file
// (every directory, and every tag value stored outside its entry) must lie inside the file. BigTIFF and files that
// are not TIFF are left to the reader.
void
CheckTIFFStructure(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  char          head[8];
  if (!in.read(head, 8) || !((head[0] == 'I' && head[1] == 'I') || (head[0] == 'M' && head[1] == 'M')))
    return;
  const bool little = head[0] == 'I';
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  const auto     number = [&](const unsigned char * b, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<uint64_t>(b[little ? i : bytes - 1 - i]) << (8 * i);
    return v;
  };
  const auto * h = reinterpret_cast<const unsigned char *>(head);
  if (number(h + 2, 2) != 42)
    return; // BigTIFF (43) or not TIFF
  const auto cut = [&path](const std::string & what) {
    return ImageFileError("cannot read " + path + ": truncated or corrupt TIFF (" + what +
                          " beyond the end of the file)");
  };
  uint64_t directory = number(h + 4, 4);
  for (int ifd = 0; directory != 0 && ifd < 64; ++ifd)
  {
    unsigned char count[2];
    if (directory + 2 > size || !in.seekg(static_cast<std::streamoff>(directory)) ||
        !in.read(reinterpret_cast<char *>(count), 2))
      throw cut("image directory");
    const uint64_t entries = number(count, 2);
    if (directory + 2 + 12 * entries + 4 > size)
      throw cut("image directory");
    std::vector<unsigned char> table(12 * entries + 4);
    in.read(reinterpret_cast<char *>(table.data()), static_cast<std::streamsize>(table.size()));
    for (uint64_t e = 0; e < entries; ++e)
    {
      const unsigned char * entry = &table[12 * e];
      static const uint64_t typeBytes[] = { 0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4 };
      const uint64_t        type = number(entry + 2, 2);
      const uint64_t        bytes = type < 14 ? typeBytes[type] * number(entry + 4, 4) : 0;
      if (bytes > 4 && number(entry + 8, 4) + bytes > size)
        throw cut("the value of tag " + std::to_string(number(entry, 2)));
    }
    directory = number(&table[12 * entries], 4);
  }
}

// ITK 5.2's NIfTI reader replaces NaN pixels with 0 (the radiograph is then segmented as if it held zeros there), so
// the values of a floating-point NIfTI-1 file (.nii, or .nii.gz through zlib) are checked here first: every pixel
// and the intensity scaling (scl_slope, scl_inter) must be finite. Other files are left alone.
void
CheckNiftiValues(const std::string & path)
{
  const auto endsWith = [&path](const char * suffix) {
    const size_t n = std::strlen(suffix);
    return path.size() > n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (!endsWith(".nii") && !endsWith(".nii.gz"))
    return;
  gzFile file = gzopen(path.c_str(), "rb"); // reads uncompressed files as they are
  if (!file)
    return;
  struct Guard
  {
    gzFile f;
    ~Guard()
    {
      gzclose(f);
    }
  } guard{ file };
  unsigned char header[352];
  if (gzread(file, header, sizeof(header)) != static_cast<int>(sizeof(header)) ||
      std::memcmp(&header[344], "n+1", 4) != 0)
    return; // not a single-file NIfTI-1 image: the reader reports what is wrong
  int32_t headerSize = 0;
  std::memcpy(&headerSize, header, sizeof(headerSize));
  const bool swapped = headerSize != 348;
  const auto field = [&](size_t offset, size_t bytes) {
    unsigned char b[8];
    std::memcpy(b, &header[offset], bytes);
    if (swapped)
      std::reverse(b, b + bytes);
    uint64_t v = 0;
    std::memcpy(&v, b, bytes);
    return v;
  };
  const auto asFloat = [](uint64_t bits) {
    float          f;
    const uint32_t b = static_cast<uint32_t>(bits);
    std::memcpy(&f, &b, sizeof(f));
    return f;
  };
  const float slope = asFloat(field(112, 4)), intercept = asFloat(field(116, 4));
  if (!std::isfinite(slope) || !std::isfinite(intercept))
    throw ImageFileError("cannot use " + path + ": its intensity scaling (scl_slope " + std::to_string(slope) +
                         ", scl_inter " + std::to_string(intercept) + ") is not finite");
  const auto datatype = static_cast<int16_t>(field(70, 2));
  if (datatype != 16 && datatype != 64) // FLOAT32, FLOAT64
    return;
  const size_t bytes = datatype == 16 ? 4 : 8;
  const auto   dims = static_cast<int16_t>(field(40, 2));
  uint64_t     count = 1;
  for (int16_t d = 1; d <= std::min<int16_t>(dims, 7); ++d)
  {
    const auto extent = static_cast<int16_t>(field(40 + 2 * static_cast<size_t>(d), 2));
    if (extent <= 0 || !MultiplyWithoutOverflow(count, static_cast<uint64_t>(extent), count) ||
        count > GetInputLimits().maxPixels)
      return; // the header check (pixel budget) and the reader report it
  }
  const float voxOffset = asFloat(field(108, 4));
  if (std::isfinite(voxOffset) && voxOffset > 352.0f &&
      gzseek(file, static_cast<z_off_t>(voxOffset), SEEK_SET) != static_cast<z_off_t>(voxOffset))
    return;
  std::vector<unsigned char> chunk(bytes * 65536);
  while (count > 0)
  {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(count, 65536));
    if (gzread(file, chunk.data(), static_cast<unsigned>(n * bytes)) != static_cast<int>(n * bytes))
      return; // truncated: RawDataOffset's check and the reader report it
    for (size_t i = 0; i < n; ++i)
    {
      unsigned char * v = &chunk[i * bytes];
      if (swapped)
        std::reverse(v, v + bytes);
      double value;
      if (bytes == 4)
      {
        float f;
        std::memcpy(&f, v, 4);
        value = f;
      }
      else
        std::memcpy(&value, v, 8);
      if (!std::isfinite(value))
        throw ImageFileError("cannot use " + path + ": the image holds NaN or infinite pixel values");
    }
    count -= n;
  }
}

} // namespace

void
CheckPNGFile(const std::string & path)
{
  DecodePNG(path, false);
}

void
CheckDecodableFile(const std::string & path)
{
  DecodePNG(path, false);
  DecodeJPEG(path, false);
  CheckNiftiValues(path);
}

ImageFileInfo
ReadImageFileInfo(const std::string & path)
{
  try
  {
    CheckInputFile(path);
  }
  catch (const InputFileError & e)
  {
    throw ImageFileError(e.what());
  }
  ImageFileInfo info;
  if (IsDicomFile(path))
  {
    // rescrnet::io::ReadRadiograph checks DICOM files as it reads them (single-frame projection radiographs).
    info.dimension = 2;
    info.dicom = true;
    return info;
  }
  DecodePNG(path, true);
  DecodeJPEG(path, true);
  CheckTIFFStructure(path);
  itk::ImageIOBase::Pointer imageIO;
  {
    StandardErrorCapture capture;
    imageIO = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    if (!imageIO)
      throw ImageFileError("cannot read " + path + ": not an image in a supported format");
    try
    {
      imageIO->SetFileName(path);
      imageIO->ReadImageInformation();
    }
    catch (const itk::ExceptionObject & e)
    {
      throw ImageFileError(capture.Message(path, e.GetDescription()));
    }
  }
  info.dimension = imageIO->GetNumberOfDimensions();
  for (unsigned d = 0; d < info.dimension; ++d)
    info.size.push_back(imageIO->GetDimensions(d));
  info.components = imageIO->GetNumberOfComponents();
  // Spacing and origin that no radiograph has (NaN, 1e308 mm) would break every computation after the reader.
  for (unsigned d = 0; d < info.dimension; ++d)
  {
    const double spacing = imageIO->GetSpacing(d);
    if (!(spacing > 0.0 && spacing <= 1.0e4) || !std::isfinite(imageIO->GetOrigin(d)))
    {
      std::ostringstream text;
      text << "cannot use " << path << ": invalid spacing or origin in the header (spacing " << spacing
           << " mm, origin " << imageIO->GetOrigin(d) << " mm along axis " << d << ")";
      throw ImageFileError(text.str());
    }
  }
  // The pixel budget, from the header, before anything is decoded (--maxPixels).
  uint64_t pixels[3] = { 1, 1, 1 };
  for (unsigned d = 0; d < info.dimension && d < 3; ++d)
    pixels[d] = info.size[d];
  for (unsigned d = 3; d < info.dimension; ++d)
    pixels[2] = info.size[d] == 0 || pixels[2] <= UINT64_MAX / info.size[d] ? pixels[2] * info.size[d] : UINT64_MAX;
  try
  {
    CheckPixelBudget(path, pixels[0], pixels[1], pixels[2]);
  }
  catch (const InputFileError & e)
  {
    throw ImageFileError(e.what());
  }
  // Uncompressed pixel data must all be there.
  if (const uint64_t offset = RawDataOffset(path, imageIO->GetNameOfClass()); offset > 0)
  {
    std::error_code ec;
    const uint64_t  fileSize = fs::file_size(path, ec);
    const uint64_t  imageBytes = imageIO->GetImageSizeInBytes();
    if (!ec && fileSize < offset + imageBytes)
      throw ImageFileError("cannot read " + path + ": truncated file (the header declares " +
                           std::to_string(imageBytes) + " bytes of pixel data, the file holds " +
                           std::to_string(fileSize > offset ? fileSize - offset : 0) + ")");
  }
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
  // ITK 5.2's JPEG probe crashes on a truncated file: JPEG files are taken by their signature, and reading them
  // reports what is wrong with them.
  if (HasJPEGSignature(path))
    return true;
  StandardErrorCapture capture;
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
    if (name.empty() || name[0] == '.')
      continue;
    std::error_code statusError;
    const bool      regular = entry.is_regular_file(statusError);
    // A symbolic link loop is listed: reading it fails with the reason, which becomes the image's row in the results
    // instead of aborting the listing. A link to nothing is not an image and is left out.
    if (statusError)
    {
      if (statusError.value() == ELOOP)
        out.push_back(entry.path().string());
      continue;
    }
    if (regular && IsReadableImage(entry.path().string()))
      out.push_back(entry.path().string());
  }
  if (ec)
    throw ImageFileError("cannot list " + folder + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace rescrnet::io
