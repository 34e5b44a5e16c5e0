// SPDX-License-Identifier: Apache-2.0
// The DICOM reader and SEG writer on small radiographs built in memory: modality and VOI transformations,
// MONOCHROME1, spacing, refusals, files without a Part-10 header, and a SEG round trip.
#include "ResCRNetTestSupport.h"
#include "SyntheticDicom.h"

#include "rescrnet/io/DicomRadiograph.h"
#include "rescrnet/io/DicomSegmentation.h"

#include "itkImageRegionIterator.h"

#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>

#include <algorithm>
#include <fstream>

using namespace rescrnet::testing;
namespace io = rescrnet::io;

namespace
{

std::vector<unsigned short>
Gradient(size_t n, unsigned modulo)
{
  std::vector<unsigned short> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<unsigned short>((i * 13) % modulo);
  return v;
}

// DICOM's linear window (PS3.3 C.11.2.1.2.1), output 0..1.
double
LinearWindow(double x, double c, double w)
{
  return std::clamp((x - (c - 0.5)) / (w - 1) + 0.5, 0.0, 1.0);
}

std::string
Message(const std::function<void()> & f)
{
  try
  {
    f();
  }
  catch (const io::DicomError & e)
  {
    return e.what();
  }
  return "(no error)";
}

bool
HasWarning(const io::RadiographInfo & info, const std::string & text)
{
  return std::any_of(info.warnings.begin(), info.warnings.end(), [&](const std::string & w) {
    return w.find(text) != std::string::npos;
  });
}

} // namespace

TEST(DicomRadiograph, Monochrome1WithRescaleAndWindowIsInvertedOnce)
{
  const auto dir = TemporaryDirectory();
  for (const bool presentationInverse : { false, true })
  {
    SyntheticRadiograph r;
    r.photometric = "MONOCHROME1";
    r.pixels = Gradient(static_cast<size_t>(r.rows) * r.columns, 4096);
    r.edit = [&](DcmDataset & ds) {
      ds.putAndInsertString(DCM_RescaleSlope, "2");
      ds.putAndInsertString(DCM_RescaleIntercept, "-100");
      ds.putAndInsertString(DCM_WindowCenter, "2000");
      ds.putAndInsertString(DCM_WindowWidth, "4000");
      ds.putAndInsertString(DCM_ImagerPixelSpacing, "0.2\\0.3");
      if (presentationInverse)
        ds.putAndInsertString(DCM_PresentationLUTShape, "INVERSE");
    };
    const auto path = dir / (presentationInverse ? "mono1-inverse.dcm" : "mono1.dcm");
    WriteSyntheticRadiograph(r, path);
    io::RadiographInfo info;
    auto               image = io::ReadRadiograph(path.string(), {}, &info);
    ASSERT_EQ(image->GetLargestPossibleRegion().GetSize()[0], r.columns);
    ASSERT_EQ(image->GetLargestPossibleRegion().GetSize()[1], r.rows);
    EXPECT_TRUE(info.inverted);
    EXPECT_EQ(info.spacingSource, "ImagerPixelSpacing");
    EXPECT_DOUBLE_EQ(image->GetSpacing()[0], 0.3); // column spacing is the second value
    EXPECT_DOUBLE_EQ(image->GetSpacing()[1], 0.2);
    EXPECT_NE(info.voi.find("window 1 of 1"), std::string::npos) << info.voi;
    const float * p = image->GetBufferPointer();
    double        worst = 0;
    for (size_t i = 0; i < r.pixels.size(); ++i)
    {
      const double modality = 2.0 * r.pixels[i] - 100.0;
      const double expected = 1.0 - LinearWindow(modality, 2000, 4000);
      worst = std::max(worst, std::abs(p[i] - expected));
    }
    EXPECT_LT(worst, 1e-3) << (presentationInverse ? "MONOCHROME1 + INVERSE" : "MONOCHROME1");
  }
}

TEST(DicomRadiograph, Monochrome2ModalityValuesWithoutVOI)
{
  const auto          dir = TemporaryDirectory();
  SyntheticRadiograph r;
  r.pixels = Gradient(static_cast<size_t>(r.rows) * r.columns, 4096);
  r.edit = [](DcmDataset & ds) {
    ds.putAndInsertString(DCM_RescaleSlope, "0.5");
    ds.putAndInsertString(DCM_RescaleIntercept, "10");
    ds.putAndInsertString(DCM_PixelSpacing, "0.15\\0.15");
  };
  WriteSyntheticRadiograph(r, dir / "mono2.dcm");
  io::ReadOptions options;
  options.voi = io::VOIMode::None;
  io::RadiographInfo info;
  auto               image = io::ReadRadiograph((dir / "mono2.dcm").string(), options, &info);
  EXPECT_FALSE(info.inverted);
  EXPECT_EQ(info.spacingSource, "PixelSpacing");
  const float * p = image->GetBufferPointer();
  for (size_t i = 0; i < r.pixels.size(); ++i)
    ASSERT_NEAR(p[i], 0.5 * r.pixels[i] + 10, 1e-4) << i;
  // No stored window: a min-max window, with a warning.
  io::RadiographInfo stored;
  image = io::ReadRadiograph((dir / "mono2.dcm").string(), {}, &stored);
  EXPECT_TRUE(HasWarning(stored, "no stored window")) << stored.voi;
  const auto mm = std::minmax_element(image->GetBufferPointer(), image->GetBufferPointer() + r.pixels.size());
  EXPECT_NEAR(*mm.first, 0.0, 1e-3);
  EXPECT_NEAR(*mm.second, 1.0, 1e-3);
}

TEST(DicomRadiograph, VOILUTSequenceAndWindowSelection)
{
  const auto          dir = TemporaryDirectory();
  SyntheticRadiograph r;
  r.bitsAllocated = 8;
  r.bitsStored = 8;
  r.pixels = Gradient(static_cast<size_t>(r.rows) * r.columns, 256);
  r.edit = [](DcmDataset & ds) {
    // A VOI LUT that reverses the 8-bit range, and two windows.
    DcmItem * item = nullptr;
    ds.findOrCreateSequenceItem(DCM_VOILUTSequence, item, -2);
    const Uint16 descriptor[3] = { 256, 0, 8 };
    item->putAndInsertUint16Array(DCM_LUTDescriptor, descriptor, 3);
    std::vector<Uint16> lut(256);
    for (unsigned i = 0; i < 256; ++i)
      lut[i] = static_cast<Uint16>(255 - i);
    item->putAndInsertUint16Array(DCM_LUTData, lut.data(), 256);
    item->putAndInsertString(DCM_LUTExplanation, "REVERSED");
    ds.putAndInsertString(DCM_WindowCenter, "128\\64");
    ds.putAndInsertString(DCM_WindowWidth, "256\\128");
  };
  WriteSyntheticRadiograph(r, dir / "voilut.dcm");
  io::RadiographInfo info;
  auto               image = io::ReadRadiograph((dir / "voilut.dcm").string(), {}, &info);
  EXPECT_NE(info.voi.find("VOI LUT 1 of 1"), std::string::npos) << info.voi;
  const float * p = image->GetBufferPointer();
  for (size_t i = 0; i < r.pixels.size(); ++i)
    ASSERT_NEAR(p[i], (255.0 - r.pixels[i]) / 255.0, 5e-3) << i;

  io::ReadOptions second;
  second.preferWindow = true;
  second.voiIndex = 1;
  image = io::ReadRadiograph((dir / "voilut.dcm").string(), second, &info);
  EXPECT_NE(info.voi.find("window 2 of 2"), std::string::npos) << info.voi;
  p = image->GetBufferPointer();
  for (size_t i = 0; i < r.pixels.size(); ++i)
    ASSERT_NEAR(p[i], LinearWindow(r.pixels[i], 64, 128), 2e-3) << i;
}

TEST(DicomRadiograph, WindowThatDoesNotFitFallsBackToMinMax)
{
  const auto          dir = TemporaryDirectory();
  SyntheticRadiograph r;
  r.bitsStored = 16;
  r.pixels = Gradient(static_cast<size_t>(r.rows) * r.columns, 4096);
  for (auto & v : r.pixels)
    v = static_cast<unsigned short>(v + 40000);
  r.edit = [](DcmDataset & ds) {
    ds.putAndInsertString(DCM_WindowCenter, "2725");
    ds.putAndInsertString(DCM_WindowWidth, "5310");
  };
  WriteSyntheticRadiograph(r, dir / "nofit.dcm");
  io::RadiographInfo info;
  auto               image = io::ReadRadiograph((dir / "nofit.dcm").string(), {}, &info);
  EXPECT_TRUE(HasWarning(info, "does not fit")) << info.voi;
  EXPECT_NE(info.voi.find("min-max"), std::string::npos);
  const auto mm = std::minmax_element(image->GetBufferPointer(), image->GetBufferPointer() + r.pixels.size());
  EXPECT_NEAR(*mm.first, 0.0, 1e-3);
  EXPECT_NEAR(*mm.second, 1.0, 1e-3);
}

TEST(DicomRadiograph, SpacingWarningsAndFilesWithoutPart10Header)
{
  const auto          dir = TemporaryDirectory();
  SyntheticRadiograph r;
  r.part10 = false;
  r.edit = [](DcmDataset & ds) { ds.putAndInsertString(DCM_PixelSpacing, "0.000\\0.000"); };
  WriteSyntheticRadiograph(r, dir / "raw-dataset");
  EXPECT_TRUE(io::IsDicomFile((dir / "raw-dataset").string()));
  io::RadiographInfo info;
  auto               image = io::ReadRadiograph((dir / "raw-dataset").string(), {}, &info);
  EXPECT_FALSE(info.hasPart10Header);
  EXPECT_EQ(info.spacingSource, "none");
  EXPECT_TRUE(HasWarning(info, "Pixel Spacing is present but invalid"));
  EXPECT_TRUE(HasWarning(info, "spacing set to 1 x 1"));
  EXPECT_DOUBLE_EQ(image->GetSpacing()[0], 1.0);
  // Patient Orientation R\F: the image shows the patient's left on its left.
  r.part10 = true;
  r.edit = [](DcmDataset & ds) { ds.putAndInsertString(DCM_PatientOrientation, "R\\F"); };
  WriteSyntheticRadiograph(r, dir / "flipped.dcm");
  image = io::ReadRadiograph((dir / "flipped.dcm").string(), {}, &info);
  EXPECT_EQ(image->GetDirection()[0][0], -1.0);
  EXPECT_EQ(image->GetDirection()[1][1], 1.0);
  // Polarity: the phantom's lungs are dark.
  image = io::ReadRadiograph((dir / "raw-dataset").string(), {}, &info);
  EXPECT_LT(image->GetPixel({ { r.columns * 3 / 10, r.rows / 2 } }),
            image->GetPixel({ { r.columns / 2, r.rows / 2 } }));
}

TEST(DicomRadiograph, RefusesWhatIsNotASingleFrameRadiograph)
{
  const auto dir = TemporaryDirectory();
  struct Case
  {
    std::string                                name;
    std::function<void(SyntheticRadiograph &)> make;
    std::string                                expect;
  };
  const std::vector<Case> cases = {
    { "ct.dcm",
      [](SyntheticRadiograph & r) {
        r.modality = "CT";
        r.sopClass = UID_CTImageStorage;
      },
      "Modality CT is not a projection radiograph" },
    { "multiframe.dcm",
      [](SyntheticRadiograph & r) {
        r.rows = 10;
        r.pixels = std::vector<unsigned short>(10u * r.columns * 2u, 100);
        r.edit = [](DcmDataset & ds) { ds.putAndInsertString(DCM_NumberOfFrames, "2"); };
      },
      "2 frames" },
    { "header-only.dcm", [](SyntheticRadiograph & r) { r.pixelData = false; }, "no pixel data" },
    { "rgb.dcm",
      [](SyntheticRadiograph & r) {
        r.edit = [](DcmDataset & ds) {
          ds.putAndInsertUint16(DCM_SamplesPerPixel, 3);
          ds.putAndInsertString(DCM_PhotometricInterpretation, "RGB");
        };
      },
      "photometric interpretation RGB" },
  };
  for (const auto & c : cases)
  {
    SyntheticRadiograph r;
    c.make(r);
    WriteSyntheticRadiograph(r, dir / c.name);
    const std::string message = Message([&] { io::ReadRadiograph((dir / c.name).string()); });
    EXPECT_NE(message.find(c.expect), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  {
    std::ofstream(dir / "text.dcm") << "this is not DICOM at all, just some text that is long enough to be read. "
                                       "this is not DICOM at all, just some text that is long enough to be read.";
  }
  EXPECT_FALSE(io::IsDicomFile((dir / "text.dcm").string()));
  EXPECT_NE(Message([&] { io::ReadRadiograph((dir / "text.dcm").string()); }).find("not a DICOM file"),
            std::string::npos);
  EXPECT_NE(Message([&] { io::ReadRadiograph((dir / "missing.dcm").string()); }).find("no such file"),
            std::string::npos);
}

TEST(DicomSegmentation, RoundTripOfLeftAndRightLungsOnAnOddGrid)
{
  const auto          dir = TemporaryDirectory();
  SyntheticRadiograph r;
  r.rows = 13; // 13 x 11: rows * columns % 8 = 7, where dcmseg 3.6.7 packs the last byte wrongly
  r.columns = 11;
  r.edit = [](DcmDataset & ds) {
    ds.putAndInsertString(DCM_LossyImageCompression, "01");
    ds.putAndInsertString(DCM_LossyImageCompressionRatio, "10");
    ds.putAndInsertString(DCM_LossyImageCompressionMethod, "ISO_10918_1");
    ds.putAndInsertString(DCM_PatientBirthDate, "not-a-date-0123456789"); // invalid DA: blanked in the SEG
  };
  WriteSyntheticRadiograph(r, dir / "src.dcm");
  io::RadiographInfo info;
  io::ReadRadiograph((dir / "src.dcm").string(), {}, &info);

  auto                                     labels = itk::Image<unsigned char, 2>::New();
  itk::Image<unsigned char, 2>::RegionType region;
  region.SetSize(0, r.columns);
  region.SetSize(1, r.rows);
  labels->SetRegions(region);
  labels->Allocate();
  const size_t n = static_cast<size_t>(r.rows) * r.columns;
  for (size_t i = 0; i < n; ++i)
    labels->GetBufferPointer()[i] = static_cast<unsigned char>((i * 7 + i / 3) % 3);
  labels->GetBufferPointer()[n - 1] = 2; // the last pixel set: lost by dcmseg's own packing
  io::SegWriterOptions options;
  options.leftRight = true;
  options.modelName = "tiny.rcn";
  io::WriteLungSegmentation((dir / "seg.dcm").string(), labels.GetPointer(), (dir / "src.dcm").string(), options);

  const auto seg = io::ReadLungSegmentation((dir / "seg.dcm").string());
  EXPECT_EQ(seg.rows, r.rows);
  EXPECT_EQ(seg.columns, r.columns);
  EXPECT_EQ(seg.studyInstanceUID, info.studyInstanceUID);
  EXPECT_EQ(seg.referencedSeriesInstanceUID, info.seriesInstanceUID);
  EXPECT_EQ(seg.referencedSOPInstanceUID, info.sopInstanceUID);
  ASSERT_EQ(seg.segments.size(), 2u);
  const char * codes[] = { "3341006", "44029006" };
  for (unsigned s = 0; s < 2; ++s)
  {
    EXPECT_EQ(seg.segments[s].number, s + 1);
    EXPECT_EQ(seg.segments[s].propertyTypeCode, codes[s]);
    EXPECT_EQ(seg.segments[s].referencedSOPInstanceUID, info.sopInstanceUID);
    size_t mismatches = 0;
    for (size_t i = 0; i < n; ++i)
      mismatches += seg.segments[s].mask[i] != (labels->GetBufferPointer()[i] == s + 1);
    EXPECT_EQ(mismatches, 0u) << "segment " << s + 1;
  }
  // The SEG carries the lossy flag of its source, and no invalid birth date.
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile((dir / "seg.dcm").c_str()).good());
  OFString value;
  file.getDataset()->findAndGetOFString(DCM_LossyImageCompression, value);
  EXPECT_EQ(value, "01");
  file.getDataset()->findAndGetOFString(DCM_PatientBirthDate, value);
  EXPECT_EQ(value, "");
  file.getDataset()->findAndGetOFString(DCM_Modality, value);
  EXPECT_EQ(value, "SEG");
  EXPECT_FALSE(file.getDataset()->tagExists(DCM_FrameOfReferenceUID));

  // A label map on another grid is refused.
  region.SetSize(0, r.columns + 1);
  auto other = itk::Image<unsigned char, 2>::New();
  other->SetRegions(region);
  other->Allocate(true);
  EXPECT_NE(Message([&] {
              io::WriteLungSegmentation((dir / "bad.dcm").string(), other.GetPointer(), (dir / "src.dcm").string());
            }).find("label map is 12x13"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.dcm"));
}
