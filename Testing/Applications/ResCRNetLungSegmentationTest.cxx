// SPDX-License-Identifier: Apache-2.0
// Runs the built segmentation, evaluation and training modules on small synthetic data: outputs, geometry, return
// parameters and the handling of bad input.
#include "ResCRNetTestData.h"
#include "RunProgram.h"

#include "rescrnet/CsvTable.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/cli/CommandLine.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"
#include "itkRGBPixel.h"

#include <cmath>
#include <cstdlib>

using namespace rescrnet::testing;

namespace
{
using FloatImage2 = itk::Image<float, 2>;
using FloatImage3 = itk::Image<float, 3>;
using LabelImage2 = itk::Image<unsigned char, 2>;
using LabelImage3 = itk::Image<unsigned char, 3>;

// A radiograph-like phantom: two dark ovals (lungs) in a bright body.
template <typename TImage>
typename TImage::Pointer
Phantom(unsigned w, unsigned h, bool mask = false)
{
  auto                        img = TImage::New();
  typename TImage::RegionType region;
  typename TImage::SizeType   size;
  size.Fill(1);
  size[0] = w;
  size[1] = h;
  region.SetSize(size);
  img->SetRegions(region);
  img->Allocate();
  for (itk::ImageRegionIterator<TImage> it(img, region); !it.IsAtEnd(); ++it)
  {
    const auto   idx = it.GetIndex();
    const double x = static_cast<double>(idx[0]) / w, y = static_cast<double>(idx[1]) / h;
    const bool   lung = std::pow((x - 0.3) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1 ||
                      std::pow((x - 0.7) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1;
    it.Set(mask ? (lung ? 255 : 0)
                : (lung ? 60.0f : 200.0f) + 10.0f * static_cast<float>((idx[0] * 7 + idx[1] * 3) % 5));
  }
  return img;
}

template <typename TImage>
void
Write(const TImage * image, const std::filesystem::path & path)
{
  auto writer = itk::ImageFileWriter<TImage>::New();
  writer->SetInput(image);
  writer->SetFileName(path.string());
  writer->Update();
}

template <typename TImage>
typename TImage::Pointer
Read(const std::filesystem::path & path)
{
  auto reader = itk::ImageFileReader<TImage>::New();
  reader->SetFileName(path.string());
  reader->Update();
  return reader->GetOutput();
}

bool
OneLine(const std::string & s)
{
  return !s.empty() && s.find('\n') == s.size() - 1;
}
} // namespace

TEST(ResCRNetLungSegmentation, KeepsTheGeometryOfA3DSingleSliceImage)
{
  const auto               dir = TemporaryDirectory();
  const auto               model = WriteTinyLungModel(dir);
  auto                     image = Phantom<FloatImage3>(70, 60);
  FloatImage3::SpacingType spacing;
  spacing[0] = 0.7;
  spacing[1] = 0.4;
  spacing[2] = 2.0;
  image->SetSpacing(spacing);
  FloatImage3::PointType origin;
  origin[0] = -12.5;
  origin[1] = 30.0;
  origin[2] = 4.0;
  image->SetOrigin(origin);
  FloatImage3::DirectionType direction;
  direction.SetIdentity();
  direction[0][0] = -1.0; // flipped
  image->SetDirection(direction);
  Write(image.GetPointer(), dir / "cxr.nrrd");

  const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                            { "--model",
                              model.string(),
                              "--leftRight",
                              "--overlay",
                              (dir / "overlay.png").string(),
                              "--probability",
                              (dir / "p.nrrd").string(),
                              "--returnparameterfile",
                              (dir / "rp.txt").string(),
                              (dir / "cxr.nrrd").string(),
                              (dir / "lungs.nrrd").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("<filter-progress>"), std::string::npos);
  auto labels = Read<LabelImage3>(dir / "lungs.nrrd");
  EXPECT_EQ(labels->GetLargestPossibleRegion().GetSize(), image->GetLargestPossibleRegion().GetSize());
  EXPECT_EQ(labels->GetSpacing(), image->GetSpacing());
  EXPECT_EQ(labels->GetOrigin(), image->GetOrigin());
  EXPECT_EQ(labels->GetDirection(), image->GetDirection());
  auto probability = Read<FloatImage3>(dir / "p.nrrd");
  EXPECT_EQ(probability->GetLargestPossibleRegion().GetSize(), image->GetLargestPossibleRegion().GetSize());
  auto overlay = Read<itk::Image<itk::RGBPixel<unsigned char>, 2>>(dir / "overlay.png");
  EXPECT_EQ(overlay->GetLargestPossibleRegion().GetSize()[0], 70u);
  EXPECT_EQ(overlay->GetLargestPossibleRegion().GetSize()[1], 60u);
  const auto params = rescrnet::cli::ReadReturnParameterFile((dir / "rp.txt").string());
  ASSERT_TRUE(params.count("totalLungPixels"));
  ASSERT_TRUE(params.count("totalLungAreaMM2"));
  const double pixels = std::stod(params.at("totalLungPixels"));
  EXPECT_NEAR(std::stod(params.at("totalLungAreaMM2")), pixels * 0.7 * 0.4, 1e-6 * (1 + pixels));
  EXPECT_EQ(std::stod(params.at("rightLungPixels")) + std::stod(params.at("leftLungPixels")), pixels);
}

// The overlay is the viewer's picture: drawn by VTK with a display, by the ITK fallback without one, and the two
// look the same.
TEST(ResCRNetLungSegmentation, OverlayWithAndWithoutDisplay)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  Write(Phantom<FloatImage2>(70, 60).GetPointer(), dir / "cxr.nrrd");
  Write(Phantom<LabelImage2>(70, 60, true).GetPointer(), dir / "mask.png");
  const auto run = [&](const std::string & overlay) {
    return RunProgram(ModulePath("ResCRNetLungSegmentation"),
                      { "--model",
                        model.string(),
                        "--leftRight",
                        "--reference",
                        (dir / "mask.png").string(),
                        "--overlay",
                        (dir / overlay).string(),
                        (dir / "cxr.nrrd").string(),
                        (dir / "lungs.nrrd").string() });
  };
  using RGBImage = itk::Image<itk::RGBPixel<unsigned char>, 2>;
  std::string display;
  if (const char * d = std::getenv("DISPLAY"))
    display = d;
  ::unsetenv("DISPLAY");
  const auto fallback = run("itk.png");
  if (!display.empty())
    ::setenv("DISPLAY", display.c_str(), 1);
  ASSERT_EQ(fallback.exitCode, 0) << fallback.err;
  auto itkPicture = Read<RGBImage>(dir / "itk.png");
  ASSERT_EQ(itkPicture->GetLargestPossibleRegion().GetSize()[0], 70u);
  ASSERT_EQ(itkPicture->GetLargestPossibleRegion().GetSize()[1], 60u);
  // The reference outline (yellow) and some coloured pixels are there, not only grey.
  size_t coloured = 0, yellow = 0;
  for (size_t i = 0; i < itkPicture->GetPixelContainer()->Size(); ++i)
  {
    const auto p = itkPicture->GetBufferPointer()[i];
    coloured += p[0] != p[1] || p[1] != p[2];
    yellow += p[0] == 240 && p[1] == 228 && p[2] == 66;
  }
  EXPECT_GT(coloured, 100u);
  EXPECT_GT(yellow, 20u);
  if (display.empty())
    GTEST_SKIP() << "no X display for the VTK half: run the tests under xvfb-run (Utilities/test.sh does)";
  const auto rendered = run("vtk.png");
  ASSERT_EQ(rendered.exitCode, 0) << rendered.err;
  auto   vtkPicture = Read<RGBImage>(dir / "vtk.png");
  double difference = 0;
  for (size_t i = 0; i < vtkPicture->GetPixelContainer()->Size(); ++i)
    for (int c = 0; c < 3; ++c)
      difference += std::abs(vtkPicture->GetBufferPointer()[i][c] - itkPicture->GetBufferPointer()[i][c]);
  EXPECT_LT(difference / (3.0 * vtkPicture->GetPixelContainer()->Size()), 5.0) << "mean difference per channel";
}

// At a terminal: one progress line with the count, the rate and the ETA, no Slicer tags; through a pipe: the tags.
TEST(ResCRNetLungSegmentation, ProgressLineAtATerminal)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  std::filesystem::create_directories(dir / "in");
  Write(Phantom<FloatImage2>(70, 60).GetPointer(), dir / "in" / "a.nrrd");
  Write(Phantom<FloatImage2>(60, 70).GetPointer(), dir / "in" / "b.nrrd");
  const auto terminal = RunInTerminal(ModulePath("ResCRNetLungSegmentation"),
                                      { "--model", model.string(), (dir / "in").string(), (dir / "out1").string() });
  ASSERT_EQ(terminal.exitCode, 0) << terminal.err;
  EXPECT_EQ(terminal.out.find("<filter-"), std::string::npos) << terminal.out;
  EXPECT_NE(terminal.out.find("100%  2/2 img"), std::string::npos) << terminal.out;
  EXPECT_NE(terminal.out.find("img/s  ETA 00:00"), std::string::npos) << terminal.out;
  EXPECT_NE(terminal.out.find("Segmented 2 images, 0 failed"), std::string::npos) << terminal.out;
  EXPECT_EQ(terminal.err.find("2/2"), std::string::npos) << terminal.err; // no second progress report on stderr
  const auto pipe = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                               { "--model", model.string(), (dir / "in").string(), (dir / "out2").string() });
  ASSERT_EQ(pipe.exitCode, 0) << pipe.err;
  EXPECT_NE(pipe.out.find("<filter-progress>1.0000</filter-progress>"), std::string::npos) << pipe.out;
  EXPECT_EQ(pipe.out.find('\r'), std::string::npos);
}

TEST(ResCRNetLungSegmentation, ReferenceMaskGivesMetricsAndFoldersGiveACSV)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  std::filesystem::create_directories(dir / "in");
  Write(Phantom<LabelImage2>(64, 64).GetPointer(), dir / "in" / "a.png");
  Write(Phantom<FloatImage2>(80, 72).GetPointer(), dir / "in" / "b.nrrd");
  Write(Phantom<LabelImage2>(64, 64, true).GetPointer(), dir / "mask.png");
  const auto one = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                              { "--model",
                                model.string(),
                                "--reference",
                                (dir / "mask.png").string(),
                                "--returnparameterfile",
                                (dir / "rp.txt").string(),
                                (dir / "in" / "a.png").string(),
                                (dir / "a.nrrd").string() });
  ASSERT_EQ(one.exitCode, 0) << one.err;
  EXPECT_NE(one.out.find("Dice"), std::string::npos);
  const auto params = rescrnet::cli::ReadReturnParameterFile((dir / "rp.txt").string());
  ASSERT_TRUE(params.count("dice"));
  const double dice = std::stod(params.at("dice"));
  EXPECT_GE(dice, 0.0);
  EXPECT_LE(dice, 1.0);
  // The reference-free quality estimate comes back as a score in [0, 1] and flags from the documented set.
  ASSERT_TRUE(params.count("qualityScore"));
  ASSERT_TRUE(params.count("qualityFlags"));
  EXPECT_GE(std::stod(params.at("qualityScore")), 0.0);
  EXPECT_LE(std::stod(params.at("qualityScore")), 1.0);
  EXPECT_NE(one.out.find("Quality score"), std::string::npos) << one.out;

  const auto folder = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                                 { "--model", model.string(), (dir / "in").string(), (dir / "out").string() });
  ASSERT_EQ(folder.exitCode, 0) << folder.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "a_lungs.nrrd"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "b_lungs.nrrd"));
  const std::string csv = ReadWholeFile(dir / "out" / "results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  EXPECT_NE(csv.find(",ok,"), std::string::npos);
  std::istringstream in(csv);
  const auto         records = rescrnet::ReadCsvRecords(in);
  ASSERT_EQ(records.size(), 3u);
  const auto column = [&](const std::string & name) {
    const auto it = std::find(records[0].begin(), records[0].end(), name);
    return static_cast<size_t>(it - records[0].begin());
  };
  ASSERT_LT(column("quality_score"), records[0].size()) << csv;
  ASSERT_LT(column("quality_flags"), records[0].size()) << csv;
  for (size_t i = 1; i < records.size(); ++i)
  {
    const double score = std::stod(records[i].at(column("quality_score")));
    EXPECT_GE(score, 0.0);
    EXPECT_LE(score, 1.0);
  }
}

TEST(ResCRNetLungSegmentation, BadInputGivesOneLineAndNoOutput)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  Write(Phantom<LabelImage2>(64, 64).GetPointer(), dir / "cxr.png");
  Write(Phantom<LabelImage2>(1, 1).GetPointer(), dir / "tiny.png");
  Write(Phantom<LabelImage2>(32, 32, true).GetPointer(), dir / "small-mask.png");
  {
    std::ofstream(dir / "corrupt.png") << "\x89PNG\r\n\x1a\n this is not really a PNG";
  }
  struct Case
  {
    std::vector<std::string> args;
    std::string              output;
    std::string              expect;
  };
  const std::vector<Case> cases = {
    { { (dir / "missing.png").string(), (dir / "o1.nrrd").string() }, "o1.nrrd", "does not exist" },
    { { (dir / "corrupt.png").string(), (dir / "o2.nrrd").string() }, "o2.nrrd", "corrupt.png" },
    { { (dir / "tiny.png").string(), (dir / "o3.nrrd").string() }, "o3.nrrd", "too small" },
    { { "--reference", (dir / "small-mask.png").string(), (dir / "cxr.png").string(), (dir / "o4.nrrd").string() },
      "o4.nrrd",
      "32x32" },
    { { (dir / "cxr.png").string(), (dir / "no-such-folder" / "o5.nrrd").string() }, "no-such-folder", "cannot write" },
    { { "--model", (dir / "cxr.png").string(), (dir / "cxr.png").string(), (dir / "o6.nrrd").string() },
      "o6.nrrd",
      "not a Res-CR-Net model file" },
  };
  for (const auto & c : cases)
  {
    std::vector<std::string> args = c.args;
    if (args[0] != "--model")
      args.insert(args.begin(), { "--model", model.string() });
    const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"), args);
    EXPECT_NE(r.exitCode, 0) << c.expect;
    EXPECT_TRUE(OneLine(r.err)) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / c.output)) << c.output;
  }
  // Nothing half-written is left in the folder.
  for (const auto & entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().rfind(".tmp", 0), std::string::npos) << entry.path();
}

TEST(ResCRNetEvaluate, FolderModeWritesCSVAndSummary)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  std::filesystem::create_directories(dir / "images");
  std::filesystem::create_directories(dir / "masks");
  for (const char * name : { "p1.png", "p2.png" })
  {
    Write(Phantom<LabelImage2>(64, 64).GetPointer(), dir / "images" / name);
    Write(Phantom<LabelImage2>(64, 64, true).GetPointer(), dir / "masks" / name);
  }
  const auto r = RunProgram(ModulePath("ResCRNetEvaluate"),
                            { "--model",
                              model.string(),
                              "--images",
                              (dir / "images").string(),
                              "--masks",
                              (dir / "masks").string(),
                              "--outputCSV",
                              (dir / "e.csv").string(),
                              "--summaryJson",
                              (dir / "s.json").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto summary = nlohmann::ordered_json::parse(ReadWholeFile(dir / "s.json"));
  EXPECT_EQ(summary.at("images"), 2);
  EXPECT_TRUE(summary.at("overall").contains("dice_median"));
  EXPECT_TRUE(summary.at("overall").contains("hd95_mean_mm"));
  EXPECT_EQ(summary.at("by_source").at("images").at("n"), 2);
  EXPECT_TRUE(summary.at("overall").contains("below_0.90"));
  const std::string csv = ReadWholeFile(dir / "e.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  // The quality score and its signals sit beside the Dice, so that they can be compared and calibrated.
  for (const char * column : { ",quality_score,", ",quality_flags,", ",quality_uncertain_fraction,", ",seconds" })
    EXPECT_NE(csv.substr(0, csv.find('\n')).find(column), std::string::npos) << column << " in " << csv;

  const auto neither = RunProgram(ModulePath("ResCRNetEvaluate"), { "--model", model.string() });
  EXPECT_NE(neither.exitCode, 0);
  EXPECT_TRUE(OneLine(neither.err)) << neither.err;
}

TEST(ResCRNetTrain, TrainsResumesAndWritesTheRecord)
{
  const auto dir = TemporaryDirectory();
  std::filesystem::create_directories(dir / "images");
  std::filesystem::create_directories(dir / "masks");
  for (int i = 0; i < 4; ++i)
  {
    const std::string name = "case" + std::to_string(i) + ".png";
    Write(Phantom<LabelImage2>(48 + 4 * i, 48).GetPointer(), dir / "images" / name);
    Write(Phantom<LabelImage2>(48 + 4 * i, 48, true).GetPointer(), dir / "masks" / name);
  }
  const std::vector<std::string> common = { "--images",
                                            (dir / "images").string(),
                                            "--masks",
                                            (dir / "masks").string(),
                                            "--valImages",
                                            (dir / "images").string(),
                                            "--valMasks",
                                            (dir / "masks").string(),
                                            "--grid",
                                            "32,24",
                                            "--convResBlocks",
                                            "1",
                                            "--filters",
                                            "4",
                                            "--batchSize",
                                            "2",
                                            "--threads",
                                            "1",
                                            "--bnRecalibrationBatches",
                                            "2" };
  auto                           args = common;
  args.insert(args.end(), { "--epochs", "1", (dir / "m.rcn").string() });
  const auto first = RunProgram(ModulePath("ResCRNetTrain"), args);
  ASSERT_EQ(first.exitCode, 0) << first.err;
  EXPECT_NE(first.err.find("img/s"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("ETA"), std::string::npos) << first.err;
  args = common;
  args.insert(
    args.end(),
    { "--epochs", "2", "--resume", "--returnparameterfile", (dir / "rp.txt").string(), (dir / "m.rcn").string() });
  const auto second = RunProgram(ModulePath("ResCRNetTrain"), args);
  ASSERT_EQ(second.exitCode, 0) << second.err;
  EXPECT_NE(second.out.find("Continued from the checkpoint"), std::string::npos) << second.out;
  const auto model = rescrnet::LoadModel((dir / "m.rcn").string());
  EXPECT_EQ(model.info.input.width, 32);
  EXPECT_EQ(model.info.input.height, 24);
  EXPECT_EQ(model.info.provenance.at("kind"), "trained");
  EXPECT_NE(model.info.provenance.at("command").get<std::string>().find("ResCRNetTrain"), std::string::npos);
  const std::string history = ReadWholeFile(dir / "m.rcn.history.csv");
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 3) << history;
  // The curve is drawn by the viewer's chart code, which needs a display; without one the trainer says how to draw
  // it later.
  if (const char * display = std::getenv("DISPLAY"); display && *display)
  {
    auto curve = Read<itk::Image<itk::RGBPixel<unsigned char>, 2>>(dir / "m.rcn.curve.png");
    EXPECT_GT(curve->GetLargestPossibleRegion().GetNumberOfPixels(), 10000u);
  }
  else
  {
    EXPECT_FALSE(std::filesystem::exists(dir / "m.rcn.curve.png"));
    EXPECT_NE(first.err.find("ResCRNetView --curve"), std::string::npos) << first.err;
  }
  const auto params = rescrnet::cli::ReadReturnParameterFile((dir / "rp.txt").string());
  EXPECT_EQ(params.at("epochsTrained"), "2");
  EXPECT_EQ(params.at("stopReason"), "completed");
}
