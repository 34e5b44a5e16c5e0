// SPDX-License-Identifier: Apache-2.0
// The ResCRNetView command: screenshots, folders, results CSVs with quality columns, panels, contact sheets,
// training curves, and its errors (no display, unreadable files).
#include "RunProgram.h"
#include "VizTestData.h"

#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;
namespace viz = rescrnet::viz;
using namespace rescrnet::testing;

namespace
{

ProgramResult
View(const std::vector<std::string> & args)
{
  return RunProgram(ModulePath("ResCRNetView"), args);
}

// A folder with two phantoms, their label maps (as the segmentation command names them), reference masks and a
// results CSV with quality columns.
fs::path
MakeBatch()
{
  const auto dir = TemporaryDirectory();
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "out");
  fs::create_directories(dir / "masks");
  for (int i = 0; i < 2; ++i)
  {
    const std::string stem = "cxr" + std::to_string(i);
    Write(Phantom().GetPointer(), dir / "images" / (stem + ".nrrd"));
    Write(PhantomLabels(96, 80, 0.08 * i).GetPointer(), dir / "out" / (stem + "_lungs.nrrd"));
    Write(PhantomLabels(96, 80, 0.0, false).GetPointer(), dir / "masks" / (stem + ".nrrd"));
  }
  std::ofstream(dir / "out" / "results.csv")
    << "image,label_map,status,total_pixels,quality_score,quality_flags\n"
    << (dir / "images" / "cxr0.nrrd").string() << "," << (dir / "out" / "cxr0_lungs.nrrd").string() << ",ok,1,0.9,\n"
    << (dir / "images" / "cxr1.nrrd").string() << "," << (dir / "out" / "cxr1_lungs.nrrd").string()
    << ",ok,1,0.3,area_small;border\n";
  return dir;
}

struct WithoutDisplay
{
  std::string saved;
  WithoutDisplay()
  {
    if (const char * d = std::getenv("DISPLAY"))
      saved = d;
    ::unsetenv("DISPLAY");
  }
  ~WithoutDisplay()
  {
    if (!saved.empty())
      ::setenv("DISPLAY", saved.c_str(), 1);
  }
};

} // namespace

#define RESCRNET_DISPLAY_OR_SKIP()                                                                                     \
  if (!viz::CanRender())                                                                                               \
  {                                                                                                                    \
    GTEST_SKIP() << "no X display: run the tests under xvfb-run (Utilities/test.sh does)";                             \
  }

TEST(ResCRNetView, ScreenshotOfOneImage)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = MakeBatch();
  const auto shot = dir / "shot.png";
  const auto params = dir / "params.txt";
  const auto r = View({ (dir / "images" / "cxr1.nrrd").string(),
                        "--labels",
                        (dir / "out").string(),
                        "--reference",
                        (dir / "masks").string(),
                        "--screenshot",
                        shot.string(),
                        "--size",
                        "300,250",
                        "--returnparameterfile",
                        params.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto png = ReadRGB(shot);
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 300u);
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[1], 250u);
  EXPECT_TRUE(NotBlank(png));
  const auto returned = ReadWholeFile(params);
  EXPECT_NE(returned.find("dice = 0."), std::string::npos) << returned;
  EXPECT_NE(returned.find("imagesDrawn = 1"), std::string::npos) << returned;
}

TEST(ResCRNetView, ScreenshotsOfAFolderAndAResultsCSV)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = MakeBatch();
  auto       r = View({ (dir / "images").string(),
                        "--labels",
                        (dir / "out").string(),
                        "--screenshot",
                        (dir / "shots").string(),
                        "--hideText" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(NotBlank(ReadRGB(dir / "shots" / "cxr0_view.png")));
  EXPECT_TRUE(NotBlank(ReadRGB(dir / "shots" / "cxr1_view.png")));

  // A results CSV: label maps and quality from it; the contact sheet by quality, lowest first.
  r = View({ (dir / "out" / "results.csv").string(), "--contactSheet", (dir / "sheet.png").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("worst first by quality score"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("cxr1.nrrd: quality 0.3"), r.out.find("cxr0.nrrd: quality 0.9")) << r.out;
  EXPECT_TRUE(NotBlank(ReadRGB(dir / "sheet.png")));

  // With references: by Dice, the shifted mask first; a panel of the folder.
  r = View({ (dir / "images").string(),
             "--results",
             (dir / "out" / "results.csv").string(),
             "--reference",
             (dir / "masks").string(),
             "--contactSheet",
             (dir / "sheet2.png").string(),
             "--panel",
             (dir / "panel.png").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("worst first by Dice"), std::string::npos) << r.out;
  EXPECT_LT(r.out.find("cxr1.nrrd: Dice"), r.out.find("cxr0.nrrd: Dice 1")) << r.out;
  EXPECT_TRUE(NotBlank(ReadRGB(dir / "panel.png")));
}

TEST(ResCRNetView, TrainingCurve)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  std::ofstream(dir / "history.csv") << "epoch,loss,tanimoto,val_loss,val_tanimoto,val_dice\n"
                                        "1,0.3,0.7,0.2,0.8,0.85\n2,nan,0.75,0.15,0.85,0.9\n3,0.2,0.8,0.18,0.83,0.88\n";
  const auto r = View({ "--curve", (dir / "history.csv").string(), (dir / "curve.png").string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto png = ReadRGB(dir / "curve.png");
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 1100u);
  EXPECT_TRUE(NotBlank(png));
}

TEST(ResCRNetView, ClearErrors)
{
  const auto dir = MakeBatch();
  {
    // No display: one line, exit 1, nothing written.
    WithoutDisplay noDisplay;
    const auto     r = View({ (dir / "images" / "cxr0.nrrd").string(), "--screenshot", (dir / "x.png").string() });
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(LineCount(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("no X display"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "x.png"));
  }
  RESCRNET_DISPLAY_OR_SKIP();
  std::ofstream(dir / "broken.png") << "not a png";
  auto r = View({ (dir / "broken.png").string(), "--screenshot", (dir / "y.png").string() });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(LineCount(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "y.png"));
  // A label map of another size names both files.
  Write(PhantomLabels(50, 40).GetPointer(), dir / "small.nrrd");
  r = View({ (dir / "images" / "cxr0.nrrd").string(),
             "--labels",
             (dir / "small.nrrd").string(),
             "--screenshot",
             (dir / "z.png").string() });
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("small.nrrd is 50x40 but the radiograph is 96x80"), std::string::npos) << r.err;
}
