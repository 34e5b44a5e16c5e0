// SPDX-License-Identifier: Apache-2.0
// ResCRNetLungSegmentation on DICOM input with --outputSEG: a synthetic MONOCHROME1 radiograph (always), and a real
// chest CR from ../shared/dicom (skipped when absent); the SEG matches the label map and references the source.
#include "ResCRNetTestData.h"
#include "RunProgram.h"
#include "SyntheticDicom.h"

#include "rescrnet/io/DicomRadiograph.h"
#include "rescrnet/io/DicomSegmentation.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

using namespace rescrnet::testing;
namespace io = rescrnet::io;

namespace
{

using LabelImage = itk::Image<unsigned char, 2>;

// Runs the module with --outputSEG (and --leftRight) and checks the SEG against the label map.
void
SegmentAndCheck(const std::filesystem::path & model,
                const std::filesystem::path & input,
                const std::filesystem::path & dir)
{
  const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                            { "--model",
                              model.string(),
                              "--leftRight",
                              "--outputSEG",
                              (dir / "seg.dcm").string(),
                              input.string(),
                              (dir / "lungs.nrrd").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto reader = itk::ImageFileReader<LabelImage>::New();
  reader->SetFileName((dir / "lungs.nrrd").string());
  reader->Update();
  LabelImage::Pointer labels = reader->GetOutput();
  io::RadiographInfo  info;
  io::ReadRadiograph(input.string(), {}, &info);
  const auto size = labels->GetLargestPossibleRegion().GetSize();
  ASSERT_EQ(size[0], info.columns);
  ASSERT_EQ(size[1], info.rows);
  const auto seg = io::ReadLungSegmentation((dir / "seg.dcm").string());
  EXPECT_EQ(seg.rows, info.rows);
  EXPECT_EQ(seg.columns, info.columns);
  EXPECT_EQ(seg.referencedSOPInstanceUID, info.sopInstanceUID);
  EXPECT_EQ(seg.studyInstanceUID, info.studyInstanceUID);
  ASSERT_EQ(seg.segments.size(), 2u);
  const size_t n = static_cast<size_t>(info.rows) * info.columns;
  for (unsigned s = 0; s < 2; ++s)
  {
    size_t mismatches = 0;
    for (size_t i = 0; i < n; ++i)
      mismatches += seg.segments[s].mask[i] != (labels->GetBufferPointer()[i] == s + 1);
    EXPECT_EQ(mismatches, 0u) << "segment " << s + 1;
  }
}

} // namespace

TEST(ResCRNetLungSegmentationDicom, WritesASegForASyntheticRadiograph)
{
  const auto          dir = TemporaryDirectory();
  const auto          model = WriteTinyLungModel(dir);
  SyntheticRadiograph r;
  r.rows = 60;
  r.columns = 70;
  r.photometric = "MONOCHROME1";
  r.edit = [](DcmDataset & ds) {
    ds.putAndInsertString(DCM_ImagerPixelSpacing, "0.5\\0.5");
    ds.putAndInsertString(DCM_WindowCenter, "2048");
    ds.putAndInsertString(DCM_WindowWidth, "4096");
  };
  WriteSyntheticRadiograph(r, dir / "cxr.dcm");
  SegmentAndCheck(model, dir / "cxr.dcm", dir);
}

TEST(ResCRNetLungSegmentationDicom, WritesASegForARealChestRadiograph)
{
  RESCRNET_SHARED_OR_SKIP(input, "dicom/CR_chest_MONO1_10bit_ACRNEMA_CR-MONO1-10-chest.dcm");
  const auto dir = TemporaryDirectory();
  SegmentAndCheck(WriteTinyLungModel(dir), input, dir);
}

TEST(ResCRNetLungSegmentationDicom, RefusesSegForNonDicomInputAndUnusableDicom)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  auto       png = LabelImage::New();
  png->SetRegions(LabelImage::RegionType({ { 0, 0 } }, { { 64, 64 } }));
  png->Allocate(true);
  auto writer = itk::ImageFileWriter<LabelImage>::New();
  writer->SetInput(png);
  writer->SetFileName((dir / "cxr.png").string());
  writer->Update();
  SyntheticRadiograph ct;
  ct.modality = "CT";
  ct.sopClass = UID_CTImageStorage;
  WriteSyntheticRadiograph(ct, dir / "ct.dcm");
  struct Case
  {
    std::string input, expect;
  };
  for (const Case & c : { Case{ "cxr.png", "is not a DICOM file" }, Case{ "ct.dcm", "not a projection radiograph" } })
  {
    const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                              { "--model",
                                model.string(),
                                "--outputSEG",
                                (dir / "seg.dcm").string(),
                                (dir / c.input).string(),
                                (dir / "lungs.nrrd").string() });
    EXPECT_NE(r.exitCode, 0);
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "seg.dcm"));
    EXPECT_FALSE(std::filesystem::exists(dir / "lungs.nrrd"));
  }
}
