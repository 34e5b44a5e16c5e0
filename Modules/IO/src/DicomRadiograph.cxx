// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/io/DicomRadiograph.h"

#include "DicomCodecs.h"
#include "rescrnet/InputFile.h"
#include "rescrnet/TextUtilities.h"

#include "itkGDCMImageIO.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmimgle/dipixel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace rescrnet::io
{

namespace fs = std::filesystem;

namespace
{

std::string
GetString(DcmItem & ds, const DcmTagKey & key, long pos = 0)
{
  OFString value;
  if (ds.findAndGetOFString(key, value, pos).good())
    return std::string(value.c_str());
  return std::string();
}

std::string
Upper(std::string s)
{
  for (char & c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

std::string
Number(double v)
{
  std::ostringstream s;
  s << v;
  return s.str();
}

// Modalities of images that are not projection radiographs.
bool
IsCrossSectionalOrNonImage(const std::string & modality)
{
  static const char * refused[] = { "CT",       "MR",  "PT",  "NM",   "US",  "OCT",      "OPT",    "IVUS",
                                    "SEG",      "SR",  "KO",  "PR",   "DOC", "RTSTRUCT", "RTDOSE", "RTPLAN",
                                    "RTRECORD", "REG", "ECG", "HD",   "SM",  "XC",       "ES",     "GM",
                                    "OP",       "BI",  "RWV", "PLAN", "FID", "AU",       "EPS",    "IVOCT" };
  for (const char * r : refused)
    if (modality == r)
      return true;
  return false;
}

bool
IsJPEG2000(E_TransferSyntax xfer)
{
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000 || xfer == EXS_JPEG2000MulticomponentLosslessOnly ||
         xfer == EXS_JPEG2000Multicomponent;
}

bool
ReadPair(DcmItem & ds, const DcmTagKey & key, double & a, double & b)
{
  Float64 v0 = 0, v1 = 0;
  if (ds.findAndGetFloat64(key, v0, 0).bad())
    return false;
  if (ds.findAndGetFloat64(key, v1, 1).bad())
    v1 = v0;
  a = v0;
  b = v1;
  return true;
}

// Decodes JPEG 2000 pixel data, which Debian's DCMTK cannot, with ITK's GDCMImageIO, and puts the stored values back
// into `ds` as native pixel data. GDCMImageIO inverts MONOCHROME1 itself (to MONOCHROME2) and applies the rescale;
// both are undone here so that the DCMTK path below applies them exactly once, as for every other file.
void
DecodeWithGDCM(const std::string & path, DcmDataset & ds, RadiographInfo & info)
{
  auto io = itk::GDCMImageIO::New();
  io->SetFileName(path);
  std::vector<double> values;
  try
  {
    io->ReadImageInformation();
    const size_t n = io->GetImageSizeInPixels();
    if (n != static_cast<size_t>(info.rows) * info.columns || io->GetNumberOfComponents() != 1)
      throw DicomError("GDCM decoded " + std::to_string(n) + " pixels of " +
                       std::to_string(io->GetNumberOfComponents()) + " components; expected " +
                       std::to_string(info.rows) + " x " + std::to_string(info.columns));
    std::vector<char> buffer(io->GetImageSizeInBytes());
    io->Read(buffer.data());
    values.resize(n);
    auto convert = [&](auto tag) {
      using T = decltype(tag);
      const T * p = reinterpret_cast<const T *>(buffer.data());
      for (size_t i = 0; i < n; ++i)
        values[i] = static_cast<double>(p[i]);
    };
    switch (io->GetComponentType())
    {
      case itk::IOComponentEnum::UCHAR:
        convert(static_cast<unsigned char>(0));
        break;
      case itk::IOComponentEnum::CHAR:
        convert(static_cast<signed char>(0));
        break;
      case itk::IOComponentEnum::USHORT:
        convert(static_cast<unsigned short>(0));
        break;
      case itk::IOComponentEnum::SHORT:
        convert(static_cast<short>(0));
        break;
      case itk::IOComponentEnum::UINT:
        convert(static_cast<unsigned int>(0));
        break;
      case itk::IOComponentEnum::INT:
        convert(static_cast<int>(0));
        break;
      case itk::IOComponentEnum::FLOAT:
        convert(0.0f);
        break;
      case itk::IOComponentEnum::DOUBLE:
        convert(0.0);
        break;
      default:
        throw DicomError("GDCM decoded an unsupported pixel type");
    }
  }
  catch (const itk::ExceptionObject & e)
  {
    throw DicomError("cannot decode " + path + " (" + info.transferSyntaxUID +
                     ") with GDCM: " + OneLine(e.GetDescription()));
  }
  Uint16 pixelRepresentation = 0;
  ds.findAndGetUint16(DCM_PixelRepresentation, pixelRepresentation);
  const bool   isSigned = pixelRepresentation == 1;
  const double lo = isSigned ? -std::ldexp(1.0, static_cast<int>(info.bitsStored) - 1) : 0.0;
  const double hi = isSigned ? std::ldexp(1.0, static_cast<int>(info.bitsStored) - 1) - 1.0
                             : std::ldexp(1.0, static_cast<int>(info.bitsStored)) - 1.0;
  const double slope = io->GetRescaleSlope() == 0.0 ? 1.0 : io->GetRescaleSlope();
  const double intercept = io->GetRescaleIntercept();
  // GDCMImageIO 5.2 converts MONOCHROME1 to MONOCHROME2 by mirroring the stored values within their range.
  const bool mirrored = info.photometricInterpretation == "MONOCHROME1";
  for (double & v : values)
  {
    double raw = std::round((v - intercept) / slope);
    if (mirrored)
      raw = lo + hi - raw;
    if (raw < lo || raw > hi)
      throw DicomError("cannot decode " + path + ": GDCM returned value " + Number(raw) + " outside the " +
                       std::to_string(info.bitsStored) + "-bit stored range");
    v = raw;
  }
  // Native pixel data in place of the encapsulated one.
  Uint16 bitsAllocated = 16;
  ds.findAndGetUint16(DCM_BitsAllocated, bitsAllocated);
  auto * pixelData = new DcmPixelData(DCM_PixelData);
  if (bitsAllocated == 8)
  {
    std::vector<Uint8> out(values.size());
    for (size_t i = 0; i < values.size(); ++i)
      out[i] = static_cast<Uint8>(static_cast<int>(values[i]) & 0xFF);
    pixelData->setVR(EVR_OB);
    pixelData->putUint8Array(out.data(), static_cast<unsigned long>(out.size()));
  }
  else if (bitsAllocated == 16)
  {
    std::vector<Uint16> out(values.size());
    for (size_t i = 0; i < values.size(); ++i)
      out[i] = static_cast<Uint16>(static_cast<int>(values[i]) & 0xFFFF);
    pixelData->setVR(EVR_OW);
    pixelData->putUint16Array(out.data(), static_cast<unsigned long>(out.size()));
  }
  else
  {
    delete pixelData;
    throw DicomError("cannot use " + path + ": " + std::to_string(bitsAllocated) + " bits allocated in JPEG 2000 data");
  }
  ds.insert(pixelData, OFTrue /*replaceOld*/);
  info.decodedWithGDCM = true;
}

// Modality values (after rescale or Modality LUT) of the decoded image.
std::vector<double>
ModalityValues(const DicomImage & image)
{
  const DiPixel * pixel = image.getInterData();
  if (!pixel || !pixel->getData())
    throw DicomError("no decoded pixel data");
  const size_t        n = pixel->getCount();
  std::vector<double> values(n);
  auto                convert = [&](auto tag) {
    using T = decltype(tag);
    const T * p = static_cast<const T *>(pixel->getData());
    for (size_t i = 0; i < n; ++i)
      values[i] = static_cast<double>(p[i]);
  };
  switch (pixel->getRepresentation())
  {
    case EPR_Uint8:
      convert(Uint8{});
      break;
    case EPR_Sint8:
      convert(Sint8{});
      break;
    case EPR_Uint16:
      convert(Uint16{});
      break;
    case EPR_Sint16:
      convert(Sint16{});
      break;
    case EPR_Uint32:
      convert(Uint32{});
      break;
    case EPR_Sint32:
      convert(Sint32{});
      break;
  }
  return values;
}

double
FractionInside(const std::vector<double> & values, double lo, double hi)
{
  if (values.empty())
    return 0.0;
  size_t inside = 0;
  for (double v : values)
    if (v > lo && v < hi)
      ++inside;
  return static_cast<double>(inside) / static_cast<double>(values.size());
}

constexpr double kMinimumFractionInsideVOI = 0.05;

// The attributes of the dataset that ReadRadiograph reports and checks.
void
ReadAttributes(DcmFileFormat & file, RadiographInfo & info)
{
  DcmDataset &  ds = *file.getDataset();
  DcmMetaInfo * meta = file.getMetaInfo();
  info.hasPart10Header = meta && meta->tagExists(DCM_TransferSyntaxUID);
  const DcmXfer xferInfo(ds.getOriginalXfer());
  info.transferSyntaxUID = xferInfo.getXferID();
  info.sopClassUID = GetString(ds, DCM_SOPClassUID);
  info.sopInstanceUID = GetString(ds, DCM_SOPInstanceUID);
  info.studyInstanceUID = GetString(ds, DCM_StudyInstanceUID);
  info.seriesInstanceUID = GetString(ds, DCM_SeriesInstanceUID);
  info.patientID = GetString(ds, DCM_PatientID);
  info.patientName = GetString(ds, DCM_PatientName);
  info.modality = Upper(GetString(ds, DCM_Modality));
  info.bodyPartExamined = Upper(GetString(ds, DCM_BodyPartExamined));
  info.viewPosition = Upper(GetString(ds, DCM_ViewPosition));
  info.photometricInterpretation = Upper(GetString(ds, DCM_PhotometricInterpretation));
  info.presentationLUTShape = Upper(GetString(ds, DCM_PresentationLUTShape));
  {
    OFString all;
    if (ds.findAndGetOFStringArray(DCM_PatientOrientation, all).good())
      info.patientOrientation = all.c_str();
  }
  Uint16 rows = 0, columns = 0, bitsAllocated = 0, bitsStored = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  ds.findAndGetUint16(DCM_BitsAllocated, bitsAllocated);
  ds.findAndGetUint16(DCM_BitsStored, bitsStored);
  info.rows = rows;
  info.columns = columns;
  info.bitsAllocated = bitsAllocated;
  info.bitsStored = bitsStored;
  info.lossy = GetString(ds, DCM_LossyImageCompression) == "01" || xferInfo.isLossy();
}

// Refuses what is not a single-frame projection radiograph; warns about what is unusual for a chest one.
void
CheckProjectionRadiograph(const std::string & path, DcmDataset & ds, const ReadOptions & options, RadiographInfo & info)
{
  Uint16 samples = 1;
  ds.findAndGetUint16(DCM_SamplesPerPixel, samples);
  const std::string what = info.modality.empty() ? std::string("this file") : "Modality " + info.modality;
  if (IsCrossSectionalOrNonImage(info.modality))
    throw DicomError("cannot use " + path + ": " + what + " is not a projection radiograph (CR, DX)");
  if (info.sopClassUID == UID_SegmentationStorage || info.sopClassUID == UID_CTImageStorage ||
      info.sopClassUID == UID_MRImageStorage || info.sopClassUID == UID_EnhancedCTImageStorage ||
      info.sopClassUID == UID_EnhancedMRImageStorage)
    throw DicomError("cannot use " + path + ": SOP class " + info.sopClassUID + " is not a projection radiograph");
  if (!ds.tagExists(DCM_PixelData))
    throw DicomError("cannot use " + path + ": no pixel data (a header-only DICOM file)");
  {
    Sint32 frames = 1;
    if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1)
      throw DicomError("cannot use " + path + ": " + std::to_string(frames) +
                       " frames (a multi-frame object is not a single radiograph)");
  }
  if (samples != 1 ||
      (info.photometricInterpretation != "MONOCHROME1" && info.photometricInterpretation != "MONOCHROME2"))
    throw DicomError("cannot use " + path + ": photometric interpretation " + info.photometricInterpretation +
                     " with " + std::to_string(samples) + " samples per pixel (a radiograph is greyscale)");
  if (info.rows < 8 || info.columns < 8)
    throw DicomError("cannot use " + path + ": image of " + std::to_string(info.columns) + "x" +
                     std::to_string(info.rows) + " pixels is too small for a radiograph");
  if (info.bitsAllocated != 8 && info.bitsAllocated != 16)
    throw DicomError("cannot use " + path + ": " + std::to_string(info.bitsAllocated) +
                     " bits allocated (8 or 16 expected)");
  try
  {
    CheckPixelBudget(path, info.columns, info.rows);
  }
  catch (const InputFileError & e)
  {
    throw DicomError(e.what());
  }
  // Zero or negative spacing is a known encoder slip (warned below); non-finite or absurd values are refused.
  for (const auto & [key, name] :
       { std::pair{ DCM_PixelSpacing, "Pixel Spacing" }, std::pair{ DCM_ImagerPixelSpacing, "Imager Pixel Spacing" } })
  {
    double a = 0, b = 0;
    if (ReadPair(ds, key, a, b) && (!std::isfinite(a) || !std::isfinite(b) || a > 100.0 || b > 100.0))
      throw DicomError("cannot use " + path + ": " + name + " " + Number(a) + "\\" + Number(b) +
                       " mm is not a radiograph's pixel size");
  }
  // Native pixel data hold exactly Rows x Columns x samples values (plus one padding byte to an even length): fewer
  // would be decoded as zeros, more means wrong Rows/Columns or undeclared frames.
  DcmElement * pixelData = nullptr;
  if (!DcmXfer(ds.getOriginalXfer()).isEncapsulated() && ds.findAndGetElement(DCM_PixelData, pixelData).good() &&
      pixelData)
  {
    const uint64_t have = pixelData->getLength();
    const uint64_t need = uint64_t{ info.rows } * info.columns * samples * (info.bitsAllocated / 8);
    if (have < need || have > need + 1)
      throw DicomError("cannot use " + path + ": pixel data of " + std::to_string(have) + " bytes " +
                       (have < need ? "is shorter" : "is longer") + " than Rows x Columns (" +
                       std::to_string(info.rows) + " x " + std::to_string(info.columns) + " x " +
                       std::to_string(info.bitsAllocated / 8) + " bytes = " + std::to_string(need) + ")");
  }
  if (info.modality.empty())
    info.warnings.push_back("no Modality: assuming a projection radiograph");
  else if (info.modality != "CR" && info.modality != "DX" && info.modality != "RG")
    info.warnings.push_back("Modality " + info.modality + " is not a chest radiograph modality (CR, DX)");
  if (!info.bodyPartExamined.empty() && info.bodyPartExamined != "CHEST" && info.bodyPartExamined != "THORAX" &&
      info.bodyPartExamined != "LUNG")
  {
    if (options.refuseNonChest)
      throw DicomError("cannot use " + path + ": Body Part Examined is " + info.bodyPartExamined + ", not CHEST");
    info.warnings.push_back("Body Part Examined is " + info.bodyPartExamined + ", not CHEST");
  }
  if (info.viewPosition == "LL" || info.viewPosition == "RL" || info.viewPosition == "LATERAL")
    info.warnings.push_back("View Position " + info.viewPosition + ": a lateral view, not a frontal one");
  if (Upper(GetString(ds, DCM_PresentationIntentType)) == "FOR PROCESSING")
    info.warnings.push_back("a FOR PROCESSING image (raw detector data), not one for presentation");
}

// The decoded image (DCMTK's codecs, or GDCM for JPEG 2000, after which `decodeXfer` is explicit little endian),
// with MONOCHROME1 rendered as MONOCHROME2: ReadRadiograph inverts once, itself.
std::unique_ptr<DicomImage>
DecodeImage(const std::string & path, DcmDataset & ds, RadiographInfo & info, E_TransferSyntax & decodeXfer)
{
  const E_TransferSyntax xfer = ds.getOriginalXfer();
  decodeXfer = xfer;
  if (IsJPEG2000(xfer))
  {
    DecodeWithGDCM(path, ds, info);
    decodeXfer = EXS_LittleEndianExplicit;
  }
  info.inverted = info.photometricInterpretation == "MONOCHROME1" || info.presentationLUTShape == "INVERSE";
  if (info.photometricInterpretation == "MONOCHROME1" && info.presentationLUTShape == "IDENTITY")
    info.warnings.push_back("MONOCHROME1 with Presentation LUT Shape IDENTITY: inverted as MONOCHROME1");
  auto image = std::make_unique<DicomImage>(&ds, decodeXfer, 0UL);
  if (image->getStatus() != EIS_Normal)
  {
    std::string   why = DicomImage::getString(image->getStatus());
    const DcmXfer xferInfo(xfer);
    if (xferInfo.isEncapsulated())
      why += " (transfer syntax " + std::string(xferInfo.getXferName()) + ")";
    throw DicomError("cannot decode " + path + ": " + why);
  }
  if (!image->isMonochrome() || image->getFrameCount() != 1)
    throw DicomError("cannot use " + path + ": not a single-frame greyscale image");
  image->setPresentationLutShape(ESP_Identity);
  return image;
}

// Pixel spacing: PixelSpacing (patient plane) unless options prefer ImagerPixelSpacing (detector plane).
void
ReadSpacing(DcmDataset & ds, const ReadOptions & options, RadiographInfo & info)
{
  double ps[2] = { 0, 0 }, ips[2] = { 0, 0 };
  // A radiograph's pixels measure well under 100 mm; NaN, infinity or 1e308 would break every later computation.
  auto       plausible = [](const double(&s)[2]) { return s[0] > 0 && s[0] <= 100.0 && s[1] > 0 && s[1] <= 100.0; };
  const bool hasPS = ReadPair(ds, DCM_PixelSpacing, ps[0], ps[1]) && plausible(ps);
  const bool hasIPS = ReadPair(ds, DCM_ImagerPixelSpacing, ips[0], ips[1]) && plausible(ips);
  const bool usePS = hasPS && (!hasIPS || !options.preferImagerPixelSpacing);
  const bool useIPS = !usePS && hasIPS;
  if (ds.tagExists(DCM_PixelSpacing) && !hasPS)
    info.warnings.push_back("Pixel Spacing is present but invalid (" + GetString(ds, DCM_PixelSpacing) + "\\" +
                            GetString(ds, DCM_PixelSpacing, 1) + ")");
  // DICOM's pairs are row spacing (between rows, y) then column spacing (x).
  if (usePS)
  {
    info.spacingSource = "PixelSpacing";
    info.spacing[0] = ps[1];
    info.spacing[1] = ps[0];
    if (hasIPS && (std::abs(ps[0] - ips[0]) > 1e-6 || std::abs(ps[1] - ips[1]) > 1e-6))
      info.warnings.push_back("Pixel Spacing " + Number(ps[0]) + " differs from Imager Pixel Spacing " +
                              Number(ips[0]) + ": using Pixel Spacing");
  }
  else if (useIPS)
  {
    info.spacingSource = "ImagerPixelSpacing";
    info.spacing[0] = ips[1];
    info.spacing[1] = ips[0];
  }
  else
  {
    info.spacingSource = "none";
    info.warnings.push_back("no Pixel Spacing or Imager Pixel Spacing: spacing set to 1 x 1 (areas in pixels)");
  }
}

// The output image: columns x rows, the spacing read, x mirrored when Patient Orientation says the rows run to the
// patient's right.
itk::Image<float, 2>::Pointer
MakeOutputImage(RadiographInfo & info)
{
  auto                             out = itk::Image<float, 2>::New();
  itk::Image<float, 2>::RegionType region;
  region.SetSize(0, info.columns);
  region.SetSize(1, info.rows);
  out->SetRegions(region);
  out->Allocate();
  itk::Image<float, 2>::SpacingType spacing;
  spacing[0] = info.spacing[0];
  spacing[1] = info.spacing[1];
  out->SetSpacing(spacing);
  itk::Image<float, 2>::DirectionType direction;
  direction.SetIdentity();
  // Patient Orientation's first value is the direction of the rows (increasing column): R means the image shows
  // the patient's left on its left side, so x (LPS: towards the patient's left) is mirrored.
  if (!info.patientOrientation.empty() && std::toupper(static_cast<unsigned char>(info.patientOrientation[0])) == 'R')
    direction[0][0] = -1.0;
  out->SetDirection(direction);
  const std::string po = Upper(info.patientOrientation);
  if (!po.empty() &&
      !((po[0] == 'L' || po[0] == 'R') && po.find('\\') != std::string::npos && po[po.find('\\') + 1] == 'F'))
    info.warnings.push_back("Patient Orientation " + po + ": not an upright frontal view");
  return out;
}

// VOIMode::None: the modality values (a fractional rescale applied in double precision), MONOCHROME1 mirrored.
void
WriteModalityValues(const std::string &         path,
                    DcmDataset &                ds,
                    DicomImage &                image,
                    E_TransferSyntax            decodeXfer,
                    const std::vector<double> & values,
                    RadiographInfo &            info,
                    float *                     buffer)
{
  info.voi = "none (modality values)";
  double absMin = 0, absMax = 0;
  if (!values.empty())
  {
    const auto mm = std::minmax_element(values.begin(), values.end());
    absMin = *mm.first;
    absMax = *mm.second;
  }
  image.getMinMaxValues(absMin, absMax, 1);
  std::vector<double> modality = values;
  // DCMTK keeps modality values as integers; a fractional rescale is applied here, in double precision.
  Float64    slope = 1, intercept = 0;
  const bool hasRescale =
    ds.findAndGetFloat64(DCM_RescaleSlope, slope).good() | ds.findAndGetFloat64(DCM_RescaleIntercept, intercept).good();
  if (hasRescale && !ds.tagExists(DCM_ModalityLUTSequence) && slope != 0 &&
      (slope != std::round(slope) || intercept != std::round(intercept)))
  {
    DicomImage rawImage(&ds, decodeXfer, CIF_IgnoreModalityTransformation);
    if (rawImage.getStatus() != EIS_Normal)
      throw DicomError("cannot decode " + path + ": " + std::string(DicomImage::getString(rawImage.getStatus())));
    modality = ModalityValues(rawImage);
    double rawMin = 0, rawMax = 0;
    rawImage.getMinMaxValues(rawMin, rawMax, 1);
    for (double & v : modality)
      v = v * slope + intercept;
    absMin = std::min(rawMin * slope + intercept, rawMax * slope + intercept);
    absMax = std::max(rawMin * slope + intercept, rawMax * slope + intercept);
  }
  const size_t n = static_cast<size_t>(info.rows) * info.columns;
  for (size_t i = 0; i < n; ++i)
    buffer[i] = static_cast<float>(info.inverted ? absMin + absMax - modality[i] : modality[i]);
}

// Which of the `count` stored VOI LUTs or windows (`what`) to use: options.voiIndex, the last when fewer are stored
// (with a warning).
unsigned long
StoredVOIIndex(const ReadOptions & options, unsigned long count, const char * what, RadiographInfo & info)
{
  if (options.voiIndex < count)
    return options.voiIndex;
  info.warnings.push_back(std::string(what) + " " + std::to_string(options.voiIndex + 1) + " requested but only " +
                          std::to_string(count) + " stored: using the last");
  return count - 1;
}

// The stored VOI LUT `options.voiIndex` (the last when there are fewer) when it fits the pixel values.
bool
ApplyStoredVOILut(DcmDataset &                ds,
                  DicomImage &                image,
                  const ReadOptions &         options,
                  const std::vector<double> & values,
                  double                      minValue,
                  double                      maxValue,
                  RadiographInfo &            info)
{
  const unsigned long luts = image.getVoiLutCount();
  const unsigned long index = StoredVOIIndex(options, luts, "VOI LUT", info);
  // The LUT's input range, from its descriptor: entries, first mapped value.
  double    lo = minValue, hi = maxValue;
  DcmItem * item = nullptr;
  if (ds.findAndGetSequenceItem(DCM_VOILUTSequence, item, static_cast<signed long>(index)).good() && item)
  {
    Uint16 entries = 0, firstRaw = 0;
    if (item->findAndGetUint16(DCM_LUTDescriptor, entries, 0).good() &&
        item->findAndGetUint16(DCM_LUTDescriptor, firstRaw, 1).good())
    {
      Uint16 pixelRepresentation = 0;
      ds.findAndGetUint16(DCM_PixelRepresentation, pixelRepresentation);
      const double count = entries == 0 ? 65536.0 : entries;
      const double first =
        pixelRepresentation == 1 ? static_cast<double>(static_cast<Sint16>(firstRaw)) : static_cast<double>(firstRaw);
      lo = first - 0.5;
      hi = first + count - 0.5;
    }
  }
  if (FractionInside(values, lo, hi) < kMinimumFractionInsideVOI)
  {
    info.warnings.push_back("the stored VOI LUT (input " + Number(lo + 0.5) + ".." + Number(hi - 0.5) +
                            ") does not fit the pixel values (" + Number(minValue) + ".." + Number(maxValue) +
                            "): min-max window used");
    return false;
  }
  if (!image.setVoiLut(index))
  {
    info.warnings.push_back("the stored VOI LUT cannot be applied: min-max window used");
    return false;
  }
  const char * explanation = image.getVoiTransformationExplanation();
  info.voi = "VOI LUT " + std::to_string(index + 1) + " of " + std::to_string(luts) +
             (explanation && *explanation ? " (" + std::string(explanation) + ")" : std::string());
  return true;
}

// The stored window `options.voiIndex` (the last when there are fewer) when it fits the pixel values.
bool
ApplyStoredWindow(DcmDataset &                ds,
                  DicomImage &                image,
                  const ReadOptions &         options,
                  const std::vector<double> & values,
                  double                      minValue,
                  double                      maxValue,
                  RadiographInfo &            info)
{
  const unsigned long windows = image.getWindowCount();
  const unsigned long index = StoredVOIIndex(options, windows, "window", info);
  Float64             center = 0, width = 0;
  ds.findAndGetFloat64(DCM_WindowCenter, center, static_cast<unsigned long>(index));
  ds.findAndGetFloat64(DCM_WindowWidth, width, static_cast<unsigned long>(index));
  if (width < 1 || FractionInside(values, center - width / 2, center + width / 2) < kMinimumFractionInsideVOI)
  {
    info.warnings.push_back("the stored window (center " + Number(center) + ", width " + Number(width) +
                            ") does not fit the pixel values (" + Number(minValue) + ".." + Number(maxValue) +
                            "): min-max window used");
    return false;
  }
  if (!image.setWindow(index))
  {
    info.warnings.push_back("the stored window cannot be applied: min-max window used");
    return false;
  }
  info.voi = "window " + std::to_string(index + 1) + " of " + std::to_string(windows) + " (center " + Number(center) +
             ", width " + Number(width) + ")";
  const std::string function = Upper(GetString(ds, DCM_VOILUTFunction));
  if (!function.empty())
    info.voi += " " + function;
  return true;
}

// VOIMode::Stored and MinMax: the VOI applied by DCMTK, rendered to 0..1, MONOCHROME1 inverted.
void
WriteVOIValues(const std::string &         path,
               DcmDataset &                ds,
               DicomImage &                image,
               const ReadOptions &         options,
               const std::vector<double> & values,
               RadiographInfo &            info,
               float *                     buffer)
{
  double minValue = 0, maxValue = 0;
  if (!values.empty())
  {
    const auto mm = std::minmax_element(values.begin(), values.end());
    minValue = *mm.first;
    maxValue = *mm.second;
  }
  bool applied = false;
  if (options.voi == VOIMode::Stored)
  {
    const unsigned long windows = image.getWindowCount();
    const unsigned long luts = image.getVoiLutCount();
    if (luts > 0 && (windows == 0 || !options.preferWindow))
      applied = ApplyStoredVOILut(ds, image, options, values, minValue, maxValue, info);
    else if (windows > 0)
      applied = ApplyStoredWindow(ds, image, options, values, minValue, maxValue, info);
    else
      info.warnings.push_back("no stored window or VOI LUT: min-max window used");
  }
  if (!applied)
  {
    image.setVoiLutFunction(EFV_Linear);
    if (!image.setMinMaxWindow(0))
      throw DicomError("cannot compute a window for " + path);
    info.voi = "min-max window (" + Number(minValue) + ".." + Number(maxValue) + ")";
  }
  const void * rendered = image.getOutputData(16);
  if (!rendered)
    throw DicomError("cannot render " + path + ": " + std::string(DicomImage::getString(image.getStatus())));
  const Uint16 * p = static_cast<const Uint16 *>(rendered);
  const size_t   n = static_cast<size_t>(info.rows) * info.columns;
  for (size_t i = 0; i < n; ++i)
  {
    const float v = static_cast<float>(p[i]) / 65535.0f;
    buffer[i] = info.inverted ? 1.0f - v : v;
  }
}

// ReadOptions::fixNegativeChest: inverts an image whose mediastinum is clearly darker than both lung fields.
void
FixNegativeChest(float * buffer, RadiographInfo & info)
{
  const size_t rows = info.rows, columns = info.columns;
  auto         boxMean = [&](double x0, double x1, double y0, double y1) {
    double sum = 0;
    size_t count = 0;
    for (auto y = static_cast<size_t>(y0 * rows); y < static_cast<size_t>(y1 * rows); ++y)
      for (auto x = static_cast<size_t>(x0 * columns); x < static_cast<size_t>(x1 * columns); ++x, ++count)
        sum += buffer[y * columns + x];
    return count ? sum / static_cast<double>(count) : 0.0;
  };
  const double centre = boxMean(0.46, 0.54, 0.3, 0.8);
  const double right = boxMean(0.2, 0.36, 0.35, 0.6), left = boxMean(0.64, 0.8, 0.35, 0.6);
  if (centre < right - 0.1 && centre < left - 0.1)
  {
    for (size_t i = 0; i < rows * columns; ++i)
      buffer[i] = 1.0f - buffer[i];
    info.negativeFixed = true;
    info.warnings.push_back("the image looks like a negative (mediastinum darker than the lungs): inverted");
  }
}

} // namespace

namespace
{
// A regular file of bounded size (a FIFO would block DCMTK, a device would feed it without end).
void
CheckDicomInputFile(const std::string & path)
{
  try
  {
    CheckInputFile(path);
  }
  catch (const InputFileError & e)
  {
    throw DicomError(e.what());
  }
}
} // namespace

std::shared_ptr<DcmFileFormat>
ReadDicomHeader(const std::string & path)
{
  CheckDicomInputFile(path);
  RegisterDecoders();
  auto              file = std::make_shared<DcmFileFormat>();
  const OFCondition status = file->loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
  if (status.bad())
    throw DicomError("cannot read " + path + " as DICOM: " + std::string(status.text()));
  return file;
}

bool
IsDicomFile(const std::string & path)
{
  RegisterDecoders();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return false;
  {
    std::ifstream in(path, std::ios::binary);
    char          head[132] = {};
    if (!in.read(head, sizeof(head)))
      return false;
    if (std::memcmp(head + 128, "DICM", 4) == 0)
      return true;
    // A dataset without a Part-10 header starts with a group 0x0002..0x0028 tag in either byte order; anything
    // else (PNG, JPEG, NRRD, ...) is not tried.
    const unsigned groupLE = static_cast<unsigned char>(head[0]) | (static_cast<unsigned char>(head[1]) << 8);
    const unsigned groupBE = static_cast<unsigned char>(head[1]) | (static_cast<unsigned char>(head[0]) << 8);
    if (!(groupLE >= 0x0002 && groupLE <= 0x0028) && !(groupBE >= 0x0002 && groupBE <= 0x0028))
      return false;
  }
  DcmFileFormat file;
  if (file.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 256, ERM_dataset).bad())
    return false;
  DcmDataset * ds = file.getDataset();
  return ds && (ds->tagExists(DCM_SOPClassUID) || ds->tagExists(DCM_Rows) || ds->tagExists(DCM_Modality));
}

itk::Image<float, 2>::Pointer
ReadRadiograph(const std::string & path, const ReadOptions & options, RadiographInfo * infoOut)
{
  RegisterDecoders();
  CheckDicomInputFile(path);
  if (!IsDicomFile(path))
    throw DicomError("cannot read " + path + ": not a DICOM file");
  auto              file = std::make_shared<DcmFileFormat>();
  const OFCondition status = file->loadFile(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
  if (status.bad())
    throw DicomError("cannot read " + path + " as DICOM: " + std::string(status.text()));
  DcmDataset &   ds = *file->getDataset();
  RadiographInfo info;
  ReadAttributes(*file, info);
  CheckProjectionRadiograph(path, ds, options, info);

  E_TransferSyntax decodeXfer = EXS_Unknown;
  auto             image = DecodeImage(path, ds, info, decodeXfer);
  ReadSpacing(ds, options, info);
  const std::vector<double> values = ModalityValues(*image);
  const size_t              n = static_cast<size_t>(info.rows) * info.columns;
  if (values.size() < n)
    throw DicomError("cannot decode " + path + ": " + std::to_string(values.size()) + " pixels decoded of " +
                     std::to_string(n));
  auto    out = MakeOutputImage(info);
  float * buffer = out->GetBufferPointer();
  if (options.voi == VOIMode::None)
    WriteModalityValues(path, ds, *image, decodeXfer, values, info, buffer);
  else
    WriteVOIValues(path, ds, *image, options, values, info, buffer);
  if (options.fixNegativeChest && options.voi != VOIMode::None)
    FixNegativeChest(buffer, info);

  // Keep the header only.
  image.reset();
  delete ds.remove(DCM_PixelData);
  info.header = file;
  if (infoOut)
    *infoOut = std::move(info);
  return out;
}

} // namespace rescrnet::io
