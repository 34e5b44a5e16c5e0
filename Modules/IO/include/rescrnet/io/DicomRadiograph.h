// SPDX-License-Identifier: Apache-2.0
// Reading projection radiographs (CR, DX, and other single-frame X-ray images) from DICOM with DCMTK, with the grey
// levels a radiologist would see: modality transformation (rescale or Modality LUT), VOI (stored window or VOI LUT,
// or a min-max window), and MONOCHROME1 inverted exactly once, so that dense structures (bone) are bright.
#ifndef rescrnet_io_DicomRadiograph_h
#define rescrnet_io_DicomRadiograph_h

#include "itkImage.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

class DcmFileFormat;

namespace rescrnet::io
{

// A DICOM file that cannot be used: the message is one line, fit for the user.
class DicomError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

enum class VOIMode
{
  // The stored VOI transformation: the VOI LUT Sequence item or the Window Center/Width pair at `voiIndex` (the VOI
  // LUT first when both exist, unless `preferWindow`); a min-max window when none is stored or when the stored one
  // does not fit the pixel values (fewer than 5% of them fall inside it). Output 0..1.
  Stored,
  // A window over the image's minimum and maximum values. Output 0..1.
  MinMax,
  // No VOI: the modality values (after rescale or Modality LUT), MONOCHROME1 mirrored within its value range.
  None
};

struct ReadOptions
{
  VOIMode  voi{ VOIMode::Stored };
  unsigned voiIndex{ 0 };
  bool     preferWindow{ false };
  // Spacing: PixelSpacing (patient plane, possibly calibrated) when valid, else ImagerPixelSpacing (detector plane).
  bool preferImagerPixelSpacing{ false };
  // Refuse images whose Body Part Examined is set and is not CHEST (otherwise they load with a warning).
  bool refuseNonChest{ false };
  // Chest radiographs only: when the central column (mediastinum, spine) is clearly darker than both lung fields,
  // the file's presentation is a negative (e.g. a linear detector image stored as MONOCHROME2): invert it, with a
  // warning. Off by default: the DICOM presentation is returned as stored.
  bool fixNegativeChest{ false };
};

// What was read, for the caller and for writing derived objects (DICOM SEG).
struct RadiographInfo
{
  std::string              sopClassUID, sopInstanceUID, studyInstanceUID, seriesInstanceUID;
  std::string              patientID, patientName;
  std::string              modality, bodyPartExamined, viewPosition, patientOrientation;
  std::string              photometricInterpretation, presentationLUTShape, transferSyntaxUID;
  unsigned                 rows{ 0 }, columns{ 0 }, bitsAllocated{ 0 }, bitsStored{ 0 };
  bool                     inverted{ false };        // MONOCHROME1 (or Presentation LUT Shape INVERSE): inverted once
  bool                     negativeFixed{ false };   // inverted by ReadOptions::fixNegativeChest
  bool                     lossy{ false };           // Lossy Image Compression 01 or a lossy transfer syntax
  bool                     decodedWithGDCM{ false }; // JPEG 2000: decoded by ITK's GDCMImageIO
  bool                     hasPart10Header{ false };
  std::string              voi; // what was applied, e.g. "window 1 of 1 (C 2048, W 4096)", "VOI LUT 1 of 3 (NORMAL)"
  std::string              spacingSource;          // "PixelSpacing", "ImagerPixelSpacing" or "none"
  double                   spacing[2]{ 1.0, 1.0 }; // column (x) and row (y) spacing in mm
  std::vector<std::string> warnings;
  // The file's header (pixel data dropped), e.g. to copy patient and study modules.
  std::shared_ptr<DcmFileFormat> header;
};

// Reads a single-frame projection radiograph. The image is columns x rows, origin 0; spacing as in `info`; the
// direction is the identity, or x mirrored (-1) when Patient Orientation says the rows run to the patient's right.
// Throws DicomError (one line) for files that are not DICOM, cannot be decoded, or are not a single-frame
// projection radiograph (CT, MR, ..., multi-frame, colour, no pixel data). Warnings go to info->warnings.
itk::Image<float, 2>::Pointer
ReadRadiograph(const std::string & path, const ReadOptions & options = {}, RadiographInfo * info = nullptr);

// Whether `path` is a DICOM file: "DICM" at offset 128, or (files without a Part-10 header) a dataset that DCMTK
// parses with an image or SOP attribute in it. Never throws.
bool
IsDicomFile(const std::string & path);

// Reads the header of a DICOM file (pixel data not loaded). Throws DicomError.
std::shared_ptr<DcmFileFormat>
ReadDicomHeader(const std::string & path);

} // namespace rescrnet::io

#endif
