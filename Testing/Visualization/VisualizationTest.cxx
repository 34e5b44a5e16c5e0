// SPDX-License-Identifier: Apache-2.0
// Modules/Visualization without a display: layers and their orientation, presentation, areas, Dice, results and
// history CSV reading, the ITK overlay (the fallback that draws the segmentation command's overlay without X).
#include "VizTestData.h"

#include "rescrnet/viz/Figures.h"
#include "rescrnet/viz/Results.h"
#include "rescrnet/viz/Scene.h"
#include "rescrnet/viz/TrainingCurve.h"

#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;
namespace viz = rescrnet::viz;
using namespace rescrnet::testing;

namespace
{

// Sets DISPLAY to nothing for the scope (the fallback tests run even under Xvfb).
struct NoDisplay
{
  std::string saved;
  bool        had{ false };
  NoDisplay()
  {
    if (const char * d = std::getenv("DISPLAY"))
    {
      saved = d;
      had = true;
    }
    ::unsetenv("DISPLAY");
  }
  ~NoDisplay()
  {
    if (had)
      ::setenv("DISPLAY", saved.c_str(), 1);
  }
};

void
WriteText(const fs::path & path, const std::string & text)
{
  std::ofstream out(path, std::ios::binary);
  out << text;
}

} // namespace

TEST(VisualizationLayers, OrientationFromDirection)
{
  using Columns = std::array<std::array<double, 3>, 2>;
  // 2-D identity (PNG): as stored.
  auto o = viz::OrientationFromDirection(Columns{ { { { 1, 0, 0 } }, { { 0, 1, 0 } } } });
  EXPECT_FALSE(o.transpose || o.flipX || o.flipY);
  // x towards the patient's right (DICOM Patient Orientation R\F): mirrored.
  o = viz::OrientationFromDirection(Columns{ { { { -1, 0, 0 } }, { { 0, 1, 0 } } } });
  EXPECT_TRUE(o.flipX);
  EXPECT_FALSE(o.flipY || o.transpose);
  // A coronal slice, rows running to the feet (-z): as stored; to the head: flipped vertically.
  o = viz::OrientationFromDirection(Columns{ { { { 1, 0, 0 } }, { { 0, 0, -1 } } } });
  EXPECT_FALSE(o.transpose || o.flipX || o.flipY);
  o = viz::OrientationFromDirection(Columns{ { { { 1, 0, 0 } }, { { 0, 0, 1 } } } });
  EXPECT_TRUE(o.flipY);
  // Columns along the patient's left: transposed.
  o = viz::OrientationFromDirection(Columns{ { { { 0, 0, -1 } }, { { 1, 0, 0 } } } });
  EXPECT_TRUE(o.transpose);
  EXPECT_FALSE(o.flipX || o.flipY);
}

// The same radiograph stored three ways (PNG as is, NRRD with x mirrored and its direction saying so, DICOM with x
// mirrored and Patient Orientation R\F) comes out the same: the marker at the viewer's top left.
TEST(VisualizationLayers, SameDisplayOrderForPNGNRRDAndDICOM)
{
  const auto dir = TemporaryDirectory();
  WriteOrientationPhantoms(dir);
  for (const char * file : { "phantom.png", "phantom.nrrd", "phantom.dcm" })
  {
    SCOPED_TRACE(file);
    const auto layers = viz::LoadLayers({ (dir / file).string(), {}, {}, {}, {}, {} });
    ASSERT_EQ(layers.grey->GetLargestPossibleRegion().GetSize()[0], 96u);
    // The marker (brightest) at the top left, the background at the top right.
    const float marker = layers.grey->GetPixel({ { 6, 6 } });
    const float topRight = layers.grey->GetPixel({ { 89, 6 } });
    const float lung = layers.grey->GetPixel({ { 29, 40 } });
    EXPECT_GT(marker, topRight);
    EXPECT_GT(marker, lung);
    // Position in mm: the top-left display pixel of the mirrored NRRD is its last stored column.
    if (std::string(file) == "phantom.nrrd")
    {
      const auto p = layers.geometry.Physical(0, 0);
      EXPECT_DOUBLE_EQ(p[0], -0.5 * 95); // origin 0, x mirrored: column 95 at -47.5 mm
      EXPECT_DOUBLE_EQ(layers.grey->GetSpacing()[0], 0.5);
    }
  }
}

TEST(VisualizationLayers, DicomWindowAndMonochrome1)
{
  const auto          dir = TemporaryDirectory();
  SyntheticRadiograph r;
  r.photometric = "MONOCHROME1";
  r.edit = [](DcmDataset & ds) {
    ds.putAndInsertString(DCM_WindowCenter, "2048");
    ds.putAndInsertString(DCM_WindowWidth, "4096");
  };
  // MONOCHROME1 stores dense (body) as low values: invert the phantom's values.
  for (unsigned y = 0; y < r.rows; ++y)
    for (unsigned x = 0; x < r.columns; ++x)
      r.pixels.push_back(static_cast<unsigned short>(4095 - PhantomValue(x, y, r.columns, r.rows, 4095)));
  WriteSyntheticRadiograph(r, dir / "m1.dcm");
  const auto layers = viz::LoadLayers({ (dir / "m1.dcm").string(), {}, {}, {}, {}, {} });
  // Shown as a radiologist expects: lungs dark, body bright.
  const float lung = layers.grey->GetPixel({ { 14, 20 } });
  const float body = layers.grey->GetPixel({ { 24, 3 } });
  EXPECT_LT(lung, body);
  EXPECT_NE(layers.presentation.source.find("DICOM window"), std::string::npos) << layers.presentation.source;
  EXPECT_DOUBLE_EQ(layers.presentation.window, 1.0);
}

TEST(VisualizationLayers, PercentilesAreasAndDice)
{
  auto ramp = NewImage<GreyImage>(100, 100);
  for (unsigned i = 0; i < 10000; ++i)
    ramp->GetBufferPointer()[i] = static_cast<float>(i);
  ramp->GetBufferPointer()[5] = std::numeric_limits<float>::quiet_NaN();
  const auto p = viz::PercentilePresentation(ramp);
  EXPECT_NEAR(p.level - 0.5 * p.window, 100.0, 2.0); // 1st percentile
  EXPECT_NEAR(p.level + 0.5 * p.window, 9899.0, 2.0);

  auto labels = NewImage<LabelImage>(10, 10, 0);
  for (unsigned x = 0; x < 4; ++x)
    labels->SetPixel({ { x, 0 } }, 1);
  labels->SetPixel({ { 9, 9 } }, 2);
  auto                   grey = NewImage<GreyImage>(10, 10, 1.0f);
  GreyImage::SpacingType spacing;
  spacing.Fill(5.0); // 25 mm2 = 0.25 cm2 per pixel
  grey->SetSpacing(spacing);
  const auto layers = viz::MakeLayers(grey, labels);
  const auto areas = viz::MeasureAreas(layers);
  EXPECT_TRUE(areas.leftRight);
  EXPECT_DOUBLE_EQ(areas.right, 1.0);
  EXPECT_DOUBLE_EQ(areas.left, 0.25);
  EXPECT_DOUBLE_EQ(areas.total, 1.25);

  auto reference = NewImage<LabelImage>(10, 10, 0);
  for (unsigned x = 0; x < 5; ++x)
    reference->SetPixel({ { x, 0 } }, 255);
  // 4 of 5 labelled pixels overlap 5 reference pixels: Dice 2*4/(5+5).
  EXPECT_DOUBLE_EQ(*viz::Dice(labels, reference), 0.8);
  EXPECT_DOUBLE_EQ(*viz::Dice(NewImage<LabelImage>(3, 3, 0), NewImage<LabelImage>(3, 3, 0)), 1.0);
  EXPECT_THROW(viz::MakeLayers(grey, NewImage<LabelImage>(9, 10, 0)), viz::LayerError);
}

TEST(VisualizationResults, ReadsResultsCSVByHeaderName)
{
  const auto dir = TemporaryDirectory();
  WriteText(dir / "results.csv",
            "status,image,label_map,quality_flags,quality_score,extra\n"
            "ok,a.png,out/a_lungs.nrrd,,0.91,x\n"
            "ok,\"b, with comma.png\",out/b_lungs.nrrd,area_small; border,0.2,y\n"
            "failed,c.png,,,,\n");
  const auto rows = viz::ReadResultsCSV((dir / "results.csv").string());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].files.image, (dir / "a.png").string());
  EXPECT_EQ(rows[0].files.labels, (dir / "out/a_lungs.nrrd").string());
  EXPECT_DOUBLE_EQ(*rows[0].files.qualityScore, 0.91);
  EXPECT_TRUE(rows[0].files.qualityFlags.empty());
  EXPECT_EQ(fs::path(rows[1].files.image).filename(), "b, with comma.png");
  EXPECT_EQ(rows[1].files.qualityFlags, (std::vector<std::string>{ "area_small", "border" }));
  EXPECT_EQ(rows[2].status, "failed");
  EXPECT_FALSE(rows[2].files.qualityScore);

  // Paths as the segmentation command writes them, relative to where it ran (not to the CSV's folder).
  fs::create_directories(dir / "run" / "images");
  fs::create_directories(dir / "run" / "out");
  WriteText(dir / "run" / "images" / "d.png", "x");
  const std::string fromHere = fs::relative(dir / "run" / "images" / "d.png").string();
  WriteText(dir / "run" / "out" / "results.csv", "image,label_map\n" + fromHere + ",d_lungs.nrrd\n");
  const auto run = viz::ReadResultsCSV((dir / "run" / "out" / "results.csv").string());
  ASSERT_EQ(run.size(), 1u);
  EXPECT_TRUE(fs::equivalent(run[0].files.image, dir / "run" / "images" / "d.png"))
    << run[0].files.image << " " << fromHere;
  EXPECT_EQ(run[0].files.labels, (dir / "run" / "out" / "d_lungs.nrrd").string()); // absent: beside the CSV

  // Without the quality columns: no quality, no error.
  WriteText(dir / "plain.csv", "image,label_map,status\na.png,a_lungs.nrrd,ok\n");
  const auto plain = viz::ReadResultsCSV((dir / "plain.csv").string());
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].files.qualityScore);
  // A score that is not a number names the line.
  WriteText(dir / "bad.csv", "image,quality_score\na.png,high\n");
  try
  {
    viz::ReadResultsCSV((dir / "bad.csv").string());
    FAIL() << "no error";
  }
  catch (const viz::LayerError & e)
  {
    EXPECT_NE(std::string(e.what()).find("record 2"), std::string::npos) << e.what();
  }
  WriteText(dir / "noimage.csv", "file,label_map\n");
  EXPECT_THROW(viz::ReadResultsCSV((dir / "noimage.csv").string()), viz::LayerError);
}

TEST(VisualizationResults, MatchesFilesByStem)
{
  const auto dir = TemporaryDirectory();
  fs::create_directories(dir / "out");
  auto labels = PhantomLabels(16, 16);
  Write(labels.GetPointer(), dir / "out" / "img1_lungs.nrrd");
  Write(labels.GetPointer(), dir / "out" / "img1_probability.nrrd");
  Write(labels.GetPointer(), dir / "out" / "img2.png");
  const viz::FileMatcher lab((dir / "out").string(), viz::FileMatcher::LabelSuffixes());
  const viz::FileMatcher prob((dir / "out").string(), viz::FileMatcher::ProbabilitySuffixes());
  EXPECT_EQ(fs::path(lab.Find("/data/img1.dcm")).filename(), "img1_lungs.nrrd");
  EXPECT_EQ(fs::path(prob.Find("/data/img1.dcm")).filename(), "img1_probability.nrrd");
  EXPECT_EQ(fs::path(lab.Find("/data/img2.jpg")).filename(), "img2.png");
  EXPECT_EQ(lab.Find("/data/img3.png"), "");
  EXPECT_EQ(viz::StemOf("/a/b/x.nii.gz"), "x");
}

// NaN (a diverged epoch), extra per-source columns and reordered columns: read by name, no crash, best epoch finite.
TEST(VisualizationCurves, ReadsHistoryWithNaNAndSourceColumns)
{
  const auto dir = TemporaryDirectory();
  WriteText(dir / "history.csv",
            "epoch,val_loss,loss,tanimoto,val_tanimoto,val_dice,val_dice_MC,val_dice_QUEXNC,seconds\n"
            "1,0.30,0.50,0.70,0.80,0.85,0.84,0.86,10\n"
            "2,nan,0.40,0.75,nan,nan,nan,0.88,10\n"
            "3,0.20,-nan,0.80,0.90,0.92,0.91,,10\n"
            "nan,0.1,0.1,0.1,0.1,0.1,0.1,0.1,1\n"
            "4,inf,0.30,0.85,0.89,0.91,0.90,0.93,10\n");
  const auto h = viz::ReadTrainingHistory((dir / "history.csv").string());
  EXPECT_EQ(h.epoch.size(), 4u); // the row without a finite epoch is dropped
  EXPECT_EQ(h.SourceDiceColumns(), (std::vector<std::string>{ "val_dice_MC", "val_dice_QUEXNC" }));
  ASSERT_TRUE(h.Column("val_dice_QUEXNC"));
  EXPECT_TRUE(std::isnan((*h.Column("val_dice_QUEXNC"))[2]));
  const auto best = viz::BestEpochRow(h);
  ASSERT_TRUE(best);
  EXPECT_DOUBLE_EQ(h.epoch[*best], 3.0);

  // All NaN: no best epoch, and drawing says so instead of crashing (no display: RenderError, not a crash).
  WriteText(dir / "nan.csv", "epoch,loss,val_loss\n1,nan,nan\n2,nan,nan\n");
  const auto allNaN = viz::ReadTrainingHistory((dir / "nan.csv").string());
  EXPECT_FALSE(viz::BestEpochRow(allNaN));
  WriteText(dir / "noepoch.csv", "loss,val_loss\n1,2\n");
  EXPECT_THROW(viz::ReadTrainingHistory((dir / "noepoch.csv").string()), std::runtime_error);
}

// The fallback draws the lungs in the palette's colours: fill blended at its opacity, outline opaque, reference in
// its own colour; the window/level changes the grey layer only.
TEST(VisualizationFallback, ColoursOpacitiesAndWindowLevel)
{
  auto              grey = Phantom();
  auto              labels = PhantomLabels();
  auto              reference = PhantomLabels(96, 80, 0.06, false);
  viz::Presentation presentation{ 1000.0, 500.0, "test" };
  const auto        layers = viz::MakeLayers(grey, labels, reference, nullptr, &presentation);
  viz::OverlayStyle style;
  style.showReference = false;
  auto         rgb = viz::FallbackOverlay(layers, style);
  const auto   inside = rgb->GetPixel({ { 28, 42 } }); // right lung, inside: grey ~230/1000 -> 58
  const float  g = grey->GetPixel({ { 28, 42 } });
  const double greyValue = 255.0 * (g - 0.0) / 1000.0;
  EXPECT_NEAR(inside[0], 0.5 * greyValue + 0.5 * viz::palette::RightLung.r, 2);
  EXPECT_NEAR(inside[2], 0.5 * greyValue + 0.5 * viz::palette::RightLung.b, 2);
  // On the left lung's boundary: the outline colour itself.
  unsigned edge = 0;
  for (unsigned x = 48; x < 96; ++x)
    if (labels->GetPixel({ { x, 42 } }) == 2)
    {
      edge = x;
      break;
    }
  ASSERT_GT(edge, 0u);
  const auto outline = rgb->GetPixel({ { edge, 42 } });
  EXPECT_EQ(outline[0], viz::palette::LeftLung.r);
  EXPECT_EQ(outline[1], viz::palette::LeftLung.g);
  // Background: grey.
  const auto background = rgb->GetPixel({ { 90, 2 } });
  EXPECT_EQ(background[0], background[1]);

  // Window/level: the grey pixels change, a fully opaque fill does not.
  style.fillOpacity = 1.0;
  style.mode = viz::OverlayMode::Fill;
  auto a = viz::FallbackOverlay(layers, style);
  style.hasWindowLevel = true;
  style.window = 300;
  style.level = 150;
  auto b = viz::FallbackOverlay(layers, style);
  EXPECT_EQ(a->GetPixel({ { 28, 42 } }), b->GetPixel({ { 28, 42 } }));
  EXPECT_NE(a->GetPixel({ { 48, 10 } })[0], b->GetPixel({ { 48, 10 } })[0]); // body: 800 -> 255 with W 300 L 150

  // The reference outline in its colour.
  style = viz::OverlayStyle{};
  style.showOverlay = false;
  auto     withReference = viz::FallbackOverlay(layers, style);
  unsigned yellow = 0;
  for (unsigned i = 0; i < 96 * 80; ++i)
  {
    const auto p = withReference->GetBufferPointer()[i];
    yellow +=
      p[0] == viz::palette::Reference.r && p[1] == viz::palette::Reference.g && p[2] == viz::palette::Reference.b;
  }
  EXPECT_GT(yellow, 100u);
}

// Without a display the segmentation command's overlay still appears, drawn by the fallback.
TEST(VisualizationFallback, OverlayWithoutDisplay)
{
  NoDisplay  noDisplay;
  const auto path = TemporaryDirectory() / "overlay.png";
  const auto layers = viz::MakeLayers(Phantom(), PhantomLabels());
  EXPECT_FALSE(viz::CanRender());
  EXPECT_EQ(viz::WriteOverlayPNG(layers, viz::OverlayStyle{}, path.string()), "itk");
  auto png = ReadRGB(path);
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 96u);
  EXPECT_TRUE(NotBlank(png));
  // Figures need a display: a clear error, not an abort.
  EXPECT_THROW(viz::WriteTrainingCurvePNG(viz::TrainingHistory{ { "epoch" }, { { 1.0 } }, { 1.0 } },
                                          (path.parent_path() / "c.png").string()),
               viz::RenderError);
  EXPECT_THROW(viz::OffscreenWindow{}, viz::RenderError);
}
