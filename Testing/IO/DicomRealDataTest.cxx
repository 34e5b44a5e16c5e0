// SPDX-License-Identifier: Apache-2.0
// The DICOM reader and SEG writer on the real radiographs in ../shared/dicom (see its README for what each file
// exercises): polarity and orientation of every chest radiograph, the documented handling of the other files, and
// SEG files that pass dciodvfy and read back with DCMTK. Skipped, with the reason, when ../shared is absent.
#include "ResCRNetTestSupport.h"

#include "rescrnet/io/DicomRadiograph.h"
#include "rescrnet/io/DicomSegmentation.h"

#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segutils.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

using namespace rescrnet::testing;
namespace io = rescrnet::io;

namespace
{

using FloatImage = itk::Image<float, 2>;
using LabelImage = itk::Image<unsigned char, 2>;

// Mean of the image over a box given in fractions of its width and height.
double
BoxMean(const FloatImage * image, double x0, double x1, double y0, double y1)
{
  const auto size = image->GetLargestPossibleRegion().GetSize();
  double     sum = 0;
  size_t     count = 0;
  for (auto y = static_cast<size_t>(y0 * size[1]); y < static_cast<size_t>(y1 * size[1]); ++y)
    for (auto x = static_cast<size_t>(x0 * size[0]); x < static_cast<size_t>(x1 * size[0]); ++x)
    {
      sum += image->GetBufferPointer()[y * size[0] + x];
      ++count;
    }
  return count ? sum / static_cast<double>(count) : 0.0;
}

struct Polarity
{
  double lungs, mediastinum, abdomen;
};

// Lungs dark, bones bright: the central lung fields against the mediastinum and spine column, and the upper
// abdomen below the diaphragm (which also tells an image upside down).
Polarity
MeasurePolarity(const FloatImage * image)
{
  Polarity p;
  p.lungs = 0.5 * (BoxMean(image, 0.2, 0.36, 0.35, 0.6) + BoxMean(image, 0.64, 0.8, 0.35, 0.6));
  p.mediastinum = BoxMean(image, 0.46, 0.54, 0.3, 0.8);
  p.abdomen = BoxMean(image, 0.3, 0.7, 0.88, 0.96);
  return p;
}

bool
HasWarning(const io::RadiographInfo & info, const std::string & text)
{
  for (const auto & w : info.warnings)
    if (w.find(text) != std::string::npos)
      return true;
  return false;
}

std::string
Describe(const io::RadiographInfo & info)
{
  std::ostringstream s;
  s << info.columns << "x" << info.rows << " " << info.photometricInterpretation << " voi=" << info.voi
    << " spacing=" << info.spacing[0] << "," << info.spacing[1] << " (" << info.spacingSource << ")"
    << (info.decodedWithGDCM ? " GDCM" : "") << " warnings:";
  for (const auto & w : info.warnings)
    s << " [" << w << "]";
  return s.str();
}

std::string
RunCommand(const std::string & command, int & status)
{
  std::string out;
  std::FILE * pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
  {
    status = -1;
    return out;
  }
  std::array<char, 4096> buffer;
  size_t                 got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    out.append(buffer.data(), got);
  status = ::pclose(pipe);
  return out;
}

bool
HaveDciodvfy()
{
  int status = 0;
  RunCommand("command -v dciodvfy", status);
  return status == 0;
}

// Two lungs (label 1 on the image's left = patient's right, 2 on its right), an ellipse each, on the image's grid;
// the last pixel is set so that a wrongly packed last byte shows.
LabelImage::Pointer
LungLabels(unsigned columns, unsigned rows)
{
  auto                   labels = LabelImage::New();
  LabelImage::RegionType region;
  region.SetSize(0, columns);
  region.SetSize(1, rows);
  labels->SetRegions(region);
  labels->Allocate(true);
  for (unsigned y = 0; y < rows; ++y)
    for (unsigned x = 0; x < columns; ++x)
    {
      const double  u = (x + 0.5) / columns, v = (y + 0.5) / rows;
      unsigned char l = 0;
      if (std::pow((u - 0.3) / 0.14, 2) + std::pow((v - 0.45) / 0.25, 2) < 1)
        l = 1;
      else if (std::pow((u - 0.7) / 0.14, 2) + std::pow((v - 0.45) / 0.25, 2) < 1)
        l = 2;
      labels->GetBufferPointer()[static_cast<size_t>(y) * columns + x] = l;
    }
  labels->GetBufferPointer()[static_cast<size_t>(rows) * columns - 1] = 2;
  labels->GetBufferPointer()[0] = 1;
  return labels;
}

struct ChestFile
{
  const char * name;
  const char * expectSpacingSource;
  double       spacing;
  bool         negative; // stored as a negative (lungs bright) by its MONOCHROME2 presentation
};

const ChestFile kChestFiles[] = {
  { "DX_chest_MONO1_12bit_J2KR_966fixed.dcm", "PixelSpacing", 0.16, false },
  { "DX_chest_MONO2_16bit_J2KR_DX_J2K_0Padding.dcm", "ImagerPixelSpacing", 0.4, true },
  { "CR_chest_MONO1_15bit_J2KI_RG1.dcm", "none", 1.0, false },
  { "CR_chest_MONO1_15bit_JLSN_RG1.dcm", "none", 1.0, false },
  { "CR_chest_MONO1_10bit_ACRNEMA_CR-MONO1-10-chest.dcm", "none", 1.0, false },
  { "CR_chest_MONO1_8bit_JPEGBaseline_Issue44.dcm", "PixelSpacing", 0.175, false },
  { "DERIVED_DX_chest_MONO1_12bit_uncompressed_from966.dcm", "PixelSpacing", 0.16, false },
  { "DERIVED_DX_chest_MONO1_12bit_RLE_from966.dcm", "PixelSpacing", 0.16, false },
};

class ChestRadiograph : public ::testing::TestWithParam<ChestFile>
{};

} // namespace

TEST_P(ChestRadiograph, LoadsWithLungsDarkAndBonesBright)
{
  const ChestFile & f = GetParam();
  RESCRNET_SHARED_OR_SKIP(path, std::string("dicom/") + f.name);
  io::RadiographInfo  info;
  FloatImage::Pointer image;
  io::ReadOptions     options;
  options.fixNegativeChest = true;
  ASSERT_NO_THROW(image = io::ReadRadiograph(path.string(), options, &info));
  const auto size = image->GetLargestPossibleRegion().GetSize();
  EXPECT_EQ(size[0], info.columns);
  EXPECT_EQ(size[1], info.rows);
  EXPECT_EQ(info.spacingSource, f.expectSpacingSource);
  EXPECT_NEAR(image->GetSpacing()[0], f.spacing, 1e-9);
  EXPECT_NEAR(image->GetSpacing()[1], f.spacing, 1e-9);
  EXPECT_EQ(info.inverted, info.photometricInterpretation == "MONOCHROME1");
  const Polarity p = MeasurePolarity(image.GetPointer());
  EXPECT_GT(p.mediastinum, p.lungs + 0.05) << Describe(info);
  // #2 is stored upside down (the gastric bubble at the top; its Patient Orientation H\\L is wrong too).
  if (!f.negative)
  {
    EXPECT_GT(p.abdomen, p.lungs + 0.05) << Describe(info);
  }
  EXPECT_EQ(info.negativeFixed, f.negative) << Describe(info);
  std::cout << f.name << ": " << Describe(info) << " lungs " << p.lungs << " mediastinum " << p.mediastinum
            << " abdomen " << p.abdomen << std::endl;
}

TEST_P(ChestRadiograph, SegmentationPassesDciodvfyAndReadsBack)
{
  const ChestFile & f = GetParam();
  RESCRNET_SHARED_OR_SKIP(path, std::string("dicom/") + f.name);
  if (!HaveDciodvfy())
    GTEST_SKIP() << "dciodvfy (Debian package dicom3tools) is not installed";
  const auto         dir = TemporaryDirectory();
  io::RadiographInfo info;
  io::ReadRadiograph(path.string(), {}, &info);
  const auto labels = LungLabels(info.columns, info.rows);
  for (const bool leftRight : { true, false })
  {
    const auto           segPath = dir / (leftRight ? "seg-lr.dcm" : "seg.dcm");
    io::SegWriterOptions options;
    options.leftRight = leftRight;
    options.modelName = "test-model.rcn";
    ASSERT_NO_THROW(io::WriteLungSegmentation(segPath.string(), labels.GetPointer(), path.string(), options));

    int                status = 0;
    const std::string  report = RunCommand("dciodvfy '" + segPath.string() + "'", status);
    std::istringstream lines(report);
    std::string        line;
    unsigned           errors = 0;
    while (std::getline(lines, line))
      errors += line.find("Error") != std::string::npos;
    EXPECT_EQ(errors, 0u) << f.name << (leftRight ? " (left/right)" : "") << ":\n" << report;
    std::cout << f.name << (leftRight ? " left/right" : " lung") << ": dciodvfy " << errors << " errors\n"
              << report << std::endl;

    const auto seg = io::ReadLungSegmentation(segPath.string());
    EXPECT_EQ(seg.rows, info.rows);
    EXPECT_EQ(seg.columns, info.columns);
    EXPECT_EQ(seg.studyInstanceUID, info.studyInstanceUID);
    EXPECT_EQ(seg.referencedSeriesInstanceUID, info.seriesInstanceUID);
    EXPECT_EQ(seg.referencedSOPInstanceUID, info.sopInstanceUID);
    ASSERT_EQ(seg.segments.size(), leftRight ? 2u : 1u);
    const size_t n = static_cast<size_t>(info.rows) * info.columns;
    for (size_t s = 0; s < seg.segments.size(); ++s)
    {
      EXPECT_EQ(seg.segments[s].referencedSOPInstanceUID, info.sopInstanceUID);
      EXPECT_EQ(seg.segments[s].propertyTypeCode, leftRight ? (s == 0 ? "3341006" : "44029006") : "39607008");
      size_t mismatches = 0;
      for (size_t i = 0; i < n; ++i)
      {
        const unsigned char l = labels->GetBufferPointer()[i];
        mismatches += seg.segments[s].mask[i] != (leftRight ? l == s + 1 : l != 0);
      }
      EXPECT_EQ(mismatches, 0u) << "segment " << s + 1;
    }
    // DCMTK's own frame access agrees for the first frame (which starts on a byte boundary).
    DcmSegmentation * raw = nullptr;
    ASSERT_TRUE(DcmSegmentation::loadFile(segPath.c_str(), raw).good());
    std::unique_ptr<DcmSegmentation> dcmSeg(raw);
    const DcmIODTypes::Frame *       frame = dcmSeg->getFrame(0);
    ASSERT_NE(frame, nullptr);
    std::unique_ptr<DcmIODTypes::Frame> unpacked(
      DcmSegUtils::unpackBinaryFrame(frame, static_cast<Uint16>(info.rows), static_cast<Uint16>(info.columns)));
    ASSERT_NE(unpacked, nullptr);
    size_t mismatches = 0;
    for (size_t i = 0; i < n; ++i)
      mismatches += (unpacked->pixData[i] != 0) != (seg.segments[0].mask[i] != 0);
    EXPECT_EQ(mismatches, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(SharedDicom,
                         ChestRadiograph,
                         ::testing::ValuesIn(kChestFiles),
                         [](const ::testing::TestParamInfo<ChestFile> & i) {
                           std::string name = i.param.name;
                           name = name.substr(0, name.find('.'));
                           for (char & c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           return name;
                         });

TEST(SharedDicom, JPEG2000RLEAndUncompressedGiveTheSamePixels)
{
  // #1 (JPEG 2000, decoded by GDCM), #11 (uncompressed) and #12 (RLE) hold the same pixels: GDCM's own MONOCHROME1
  // inversion must be undone, not added to ours.
  RESCRNET_SHARED_OR_SKIP(j2k, "dicom/DX_chest_MONO1_12bit_J2KR_966fixed.dcm");
  RESCRNET_SHARED_OR_SKIP(raw, "dicom/DERIVED_DX_chest_MONO1_12bit_uncompressed_from966.dcm");
  RESCRNET_SHARED_OR_SKIP(rle, "dicom/DERIVED_DX_chest_MONO1_12bit_RLE_from966.dcm");
  for (const io::VOIMode mode : { io::VOIMode::Stored, io::VOIMode::None })
  {
    io::ReadOptions options;
    options.voi = mode;
    io::RadiographInfo a, b, c;
    auto               ia = io::ReadRadiograph(j2k.string(), options, &a);
    auto               ib = io::ReadRadiograph(raw.string(), options, &b);
    auto               ic = io::ReadRadiograph(rle.string(), options, &c);
    EXPECT_TRUE(a.decodedWithGDCM);
    EXPECT_FALSE(b.decodedWithGDCM);
    const size_t n = static_cast<size_t>(a.rows) * a.columns;
    size_t       diffAB = 0, diffBC = 0;
    for (size_t i = 0; i < n; ++i)
    {
      diffAB += ia->GetBufferPointer()[i] != ib->GetBufferPointer()[i];
      diffBC += ib->GetBufferPointer()[i] != ic->GetBufferPointer()[i];
    }
    EXPECT_EQ(diffAB, 0u);
    EXPECT_EQ(diffBC, 0u);
  }
}

TEST(SharedDicom, LossyJPEG2000AndJPEGLSOfTheSameImageAgree)
{
  RESCRNET_SHARED_OR_SKIP(j2k, "dicom/CR_chest_MONO1_15bit_J2KI_RG1.dcm");
  RESCRNET_SHARED_OR_SKIP(jls, "dicom/CR_chest_MONO1_15bit_JLSN_RG1.dcm");
  io::RadiographInfo a, b;
  auto               ia = io::ReadRadiograph(j2k.string(), {}, &a);
  auto               ib = io::ReadRadiograph(jls.string(), {}, &b);
  ASSERT_EQ(ia->GetLargestPossibleRegion(), ib->GetLargestPossibleRegion());
  double       sum = 0;
  const size_t n = static_cast<size_t>(a.rows) * a.columns;
  for (size_t i = 0; i < n; ++i)
    sum += std::abs(ia->GetBufferPointer()[i] - ib->GetBufferPointer()[i]);
  EXPECT_LT(sum / static_cast<double>(n), 0.01);
  EXPECT_TRUE(HasWarning(a, "Pixel Spacing is present but invalid"));
}

TEST(SharedDicom, StoredWindowThatDoesNotFitFallsBackToMinMax)
{
  RESCRNET_SHARED_OR_SKIP(path, "dicom/DX_chest_MONO2_16bit_J2KR_DX_J2K_0Padding.dcm");
  io::RadiographInfo info;
  io::ReadRadiograph(path.string(), {}, &info);
  EXPECT_TRUE(HasWarning(info, "does not fit")) << Describe(info);
  EXPECT_NE(info.voi.find("min-max"), std::string::npos);
}

TEST(SharedDicom, HeaderOnlyFileIsRefused)
{
  RESCRNET_SHARED_OR_SKIP(path, "dicom/DX_forpres_VOILUTSeq_NoPixelData_Issue56.dcm");
  EXPECT_TRUE(io::IsDicomFile(path.string()));
  try
  {
    io::ReadRadiograph(path.string());
    FAIL() << "a header-only file was accepted";
  }
  catch (const io::DicomError & e)
  {
    EXPECT_NE(std::string(e.what()).find("no pixel data"), std::string::npos) << e.what();
  }
}

TEST(SharedDicom, HipLoadsWithAWarningOrIsRefusedOnRequest)
{
  RESCRNET_SHARED_OR_SKIP(path, "dicom/CR_hip_MONO2_10bit_JPLL_RG2.dcm");
  io::RadiographInfo info;
  auto               image = io::ReadRadiograph(path.string(), {}, &info);
  EXPECT_TRUE(HasWarning(info, "Body Part Examined is HIP")) << Describe(info);
  EXPECT_FALSE(info.inverted);
  EXPECT_EQ(info.spacingSource, "PixelSpacing"); // ITK/GDCM would say 1 x 1 here
  EXPECT_DOUBLE_EQ(image->GetSpacing()[0], 0.2);
  EXPECT_NE(info.voi.find("window 1 of 1"), std::string::npos) << info.voi;
  io::ReadOptions strict;
  strict.refuseNonChest = true;
  EXPECT_THROW(io::ReadRadiograph(path.string(), strict), io::DicomError);
}

TEST(SharedDicom, MammogramUsesItsVOILUTsWithWarnings)
{
  RESCRNET_SHARED_OR_SKIP(path, "dicom/MG_forpres_12bit_JPLL_VOILUTSeq_GH133.dcm");
  io::RadiographInfo normal, softer, window;
  auto               a = io::ReadRadiograph(path.string(), {}, &normal);
  EXPECT_TRUE(HasWarning(normal, "Modality MG")) << Describe(normal);
  EXPECT_TRUE(HasWarning(normal, "Body Part Examined is BREAST"));
  EXPECT_NE(normal.voi.find("VOI LUT 1 of 3 (NORMAL)"), std::string::npos) << normal.voi;
  io::ReadOptions third;
  third.voiIndex = 2;
  auto b = io::ReadRadiograph(path.string(), third, &softer);
  EXPECT_NE(softer.voi.find("VOI LUT 3 of 3 (SOFTER)"), std::string::npos) << softer.voi;
  io::ReadOptions byWindow;
  byWindow.preferWindow = true;
  auto c = io::ReadRadiograph(path.string(), byWindow, &window);
  EXPECT_NE(window.voi.find("window 1 of 3"), std::string::npos) << window.voi;
  EXPECT_NE(window.voi.find("SIGMOID"), std::string::npos) << window.voi;
  size_t       differ = 0;
  const size_t n = static_cast<size_t>(normal.rows) * normal.columns;
  for (size_t i = 0; i < n; ++i)
    differ += std::abs(a->GetBufferPointer()[i] - b->GetBufferPointer()[i]) > 1e-3;
  EXPECT_GT(differ, n / 10);
  EXPECT_EQ(normal.spacingSource, "ImagerPixelSpacing");
}

TEST(SharedDicom, DentalPanoramicAppliesItsModalityLUT)
{
  RESCRNET_SHARED_OR_SKIP(path, "dicom/CR_dentalpano_MONO1_10bit_JPLL_ModalityLUTSeq.dcm");
  io::RadiographInfo info;
  auto               image = io::ReadRadiograph(path.string(), {}, &info);
  EXPECT_TRUE(info.inverted);
  EXPECT_TRUE(HasWarning(info, "no stored window")) << Describe(info);
  // Teeth (dense) are brighter than the air around the jaw: the central band vs the top corners.
  EXPECT_GT(BoxMean(image.GetPointer(), 0.3, 0.7, 0.4, 0.6), BoxMean(image.GetPointer(), 0.0, 0.1, 0.0, 0.1))
    << Describe(info);
}
