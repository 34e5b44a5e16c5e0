// SPDX-License-Identifier: Apache-2.0
// Small DICOM radiographs built in memory with DCMTK for the IO tests: a phantom (two dark lungs in a bright body)
// with the attributes each test needs. Header-only.
#ifndef SyntheticDicom_h
#define SyntheticDicom_h

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace rescrnet::testing
{

struct SyntheticRadiograph
{
  unsigned short              rows{ 40 }, columns{ 48 };
  unsigned short              bitsAllocated{ 16 }, bitsStored{ 12 };
  std::string                 modality{ "CR" };
  std::string                 sopClass{ UID_ComputedRadiographyImageStorage };
  std::string                 photometric{ "MONOCHROME2" };
  std::vector<unsigned short> pixels; // stored values, row by row; empty: the phantom
  // Extra attributes, set after the defaults.
  std::function<void(DcmDataset &)> edit;
  bool                              part10{ true };
  bool                              pixelData{ true };
};

// Stored value of the phantom at (x, y): lungs low, body high (as MONOCHROME2 would display them).
inline unsigned short
PhantomValue(unsigned x, unsigned y, unsigned columns, unsigned rows, unsigned short maxValue)
{
  const double u = (x + 0.5) / columns, v = (y + 0.5) / rows;
  const bool   lung = std::pow((u - 0.3) / 0.15, 2) + std::pow((v - 0.5) / 0.3, 2) < 1 ||
                    std::pow((u - 0.7) / 0.15, 2) + std::pow((v - 0.5) / 0.3, 2) < 1;
  return static_cast<unsigned short>((lung ? 0.2 : 0.8) * maxValue + (x * 7 + y * 3) % 5);
}

inline void
WriteSyntheticRadiograph(const SyntheticRadiograph & r, const std::filesystem::path & path)
{
  DcmFileFormat file;
  DcmDataset &  ds = *file.getDataset();
  char          uid[100];
  ds.putAndInsertString(DCM_SOPClassUID, r.sopClass.c_str());
  ds.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  ds.putAndInsertString(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT));
  ds.putAndInsertString(DCM_SeriesInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT));
  ds.putAndInsertString(DCM_PatientName, "Phantom^Chest");
  ds.putAndInsertString(DCM_PatientID, "PH-001");
  ds.putAndInsertString(DCM_PatientBirthDate, "19700101");
  ds.putAndInsertString(DCM_PatientSex, "O");
  ds.putAndInsertString(DCM_StudyDate, "20240101");
  ds.putAndInsertString(DCM_StudyTime, "120000");
  ds.putAndInsertString(DCM_StudyID, "1");
  ds.putAndInsertString(DCM_AccessionNumber, "A1");
  ds.putAndInsertString(DCM_ReferringPhysicianName, "");
  ds.putAndInsertString(DCM_Modality, r.modality.c_str());
  ds.putAndInsertString(DCM_SeriesNumber, "1");
  ds.putAndInsertString(DCM_InstanceNumber, "1");
  ds.putAndInsertString(DCM_BodyPartExamined, "CHEST");
  ds.putAndInsertString(DCM_ViewPosition, "PA");
  ds.putAndInsertString(DCM_PatientOrientation, "L\\F");
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, r.photometric.c_str());
  ds.putAndInsertUint16(DCM_Rows, r.rows);
  ds.putAndInsertUint16(DCM_Columns, r.columns);
  ds.putAndInsertUint16(DCM_BitsAllocated, r.bitsAllocated);
  ds.putAndInsertUint16(DCM_BitsStored, r.bitsStored);
  ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(r.bitsStored - 1));
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  const size_t                n = static_cast<size_t>(r.rows) * r.columns;
  std::vector<unsigned short> pixels = r.pixels;
  if (pixels.empty())
  {
    pixels.resize(n);
    const auto maxValue = static_cast<unsigned short>((1u << r.bitsStored) - 1u);
    for (unsigned y = 0; y < r.rows; ++y)
      for (unsigned x = 0; x < r.columns; ++x)
        pixels[y * r.columns + x] = PhantomValue(x, y, r.columns, r.rows, maxValue);
  }
  if (r.pixelData)
  {
    if (r.bitsAllocated == 8)
    {
      std::vector<Uint8> bytes(pixels.begin(), pixels.end());
      ds.putAndInsertUint8Array(DCM_PixelData, bytes.data(), static_cast<unsigned long>(bytes.size()));
    }
    else
      ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), static_cast<unsigned long>(pixels.size()));
  }
  if (r.edit)
    r.edit(ds);
  if (r.part10)
    file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
  else
    ds.saveFile(path.c_str(), EXS_LittleEndianImplicit);
}

} // namespace rescrnet::testing

#endif
