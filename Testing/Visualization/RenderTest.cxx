// SPDX-License-Identifier: Apache-2.0
// VTK rendering through X (Xvfb in the test script): each picture is compared with its committed baseline in
// Testing/Data/Visualization with a tolerance, and checked not to be blank. Skipped, with the reason, without a
// display.
#include "VizTestData.h"

#include "rescrnet/viz/Figures.h"
#include "rescrnet/viz/Results.h"
#include "rescrnet/viz/Scene.h"
#include "rescrnet/viz/TrainingCurve.h"
#include "rescrnet/viz/Viewer.h"

#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderWindowInteractor.h>

#include <fstream>

namespace fs = std::filesystem;
namespace viz = rescrnet::viz;
using namespace rescrnet::testing;

#define RESCRNET_DISPLAY_OR_SKIP()                                                                                     \
  if (!viz::CanRender())                                                                                               \
  {                                                                                                                    \
    GTEST_SKIP() << "no X display: run the tests under xvfb-run (Utilities/test.sh does)";                             \
  }

namespace
{

// Renders `layers` with `style` at the image's size, without text, and writes the PNG.
// The pictures of a test go to a folder of their own (TemporaryDirectory() would empty the test's folder).
fs::path
RenderToFile(const viz::ImageLayers & layers, viz::OverlayStyle style, const std::string & name, int w = 0, int h = 0)
{
  style.showText = false;
  const auto folder = fs::temp_directory_path() / ("rescrnet-render-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const auto           path = folder / (name + ".png");
  viz::OffscreenWindow window;
  viz::RadiographScene scene;
  scene.SetLayers(layers);
  scene.SetStyle(style);
  viz::WritePNG(scene.Render(window, w, h), path.string());
  return path;
}

double
Distance(const itk::RGBPixel<unsigned char> & p, viz::Colour c)
{
  return std::abs(p[0] - c.r) + std::abs(p[1] - c.g) + std::abs(p[2] - c.b);
}

size_t
CountNear(const RGBImage * image, viz::Colour c, double tolerance = 30)
{
  size_t n = 0;
  for (size_t i = 0; i < image->GetPixelContainer()->Size(); ++i)
    n += Distance(image->GetBufferPointer()[i], c) <= tolerance;
  return n;
}

} // namespace

TEST(Render, OverlayFillAndOutline)
{
  RESCRNET_DISPLAY_OR_SKIP();
  viz::Presentation presentation{ 1000.0, 500.0, "test" };
  const auto        layers = viz::MakeLayers(Phantom(), PhantomLabels(), nullptr, nullptr, &presentation);
  const auto        path = RenderToFile(layers, viz::OverlayStyle{}, "overlay_fill_outline");
  auto              png = ReadRGB(path);
  ASSERT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 96u);
  EXPECT_TRUE(NotBlank(png));
  EXPECT_TRUE(MatchesBaseline(path, "overlay_fill_outline"));
  // Inside the right lung (viewer's left): the grey blended half with blue.
  const auto   inside = png->GetPixel({ { 28, 42 } });
  const double grey = 255.0 * Phantom()->GetPixel({ { 28, 42 } }) / 1000.0;
  EXPECT_NEAR(inside[2], 0.5 * grey + 0.5 * viz::palette::RightLung.b, 6);
  EXPECT_NEAR(inside[0], 0.5 * grey + 0.5 * viz::palette::RightLung.r, 6);
  // Outlines in both lung colours.
  EXPECT_GT(CountNear(png, viz::palette::RightLung), 40u);
  EXPECT_GT(CountNear(png, viz::palette::LeftLung), 40u);

  // Outline only: the lung's inside is grey again, the outline stays.
  viz::OverlayStyle outline;
  outline.mode = viz::OverlayMode::Outline;
  auto       outlined = ReadRGB(RenderToFile(layers, outline, "outline_only"));
  const auto p = outlined->GetPixel({ { 28, 42 } });
  EXPECT_NEAR(p[0], p[2], 3);
  EXPECT_GT(CountNear(outlined, viz::palette::RightLung), 40u);
}

// The same overlay from the scene (VTK) and from the fallback (ITK): one look.
TEST(Render, FallbackLooksLikeTheScene)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  const auto layers =
    viz::MakeLayers(Phantom(), PhantomLabels(), PhantomLabels(96, 80, 0.05, false), PhantomProbability());
  viz::OverlayStyle style;
  ASSERT_EQ(viz::WriteOverlayPNG(layers, style, (dir / "vtk.png").string(), viz::OverlayBackend::VTK), "vtk");
  ASSERT_EQ(viz::WriteOverlayPNG(layers, style, (dir / "itk.png").string(), viz::OverlayBackend::ITK), "itk");
  auto         a = ReadRGB(dir / "vtk.png");
  auto         b = ReadRGB(dir / "itk.png");
  const size_t n = a->GetPixelContainer()->Size();
  ASSERT_EQ(n, b->GetPixelContainer()->Size());
  double total = 0;
  size_t off = 0;
  for (size_t i = 0; i < n; ++i)
  {
    const double d =
      Distance(a->GetBufferPointer()[i],
               { b->GetBufferPointer()[i][0], b->GetBufferPointer()[i][1], b->GetBufferPointer()[i][2] });
    total += d / 3.0;
    off += d > 120;
  }
  EXPECT_LT(total / n, 6.0) << "mean difference per channel";
  EXPECT_LT(off, n / 20) << "pixels that differ clearly (outline rasterization)";
  EXPECT_TRUE(NotBlank(a));
  EXPECT_TRUE(NotBlank(b));
}

TEST(Render, ReferenceOutline)
{
  RESCRNET_DISPLAY_OR_SKIP();
  viz::Presentation presentation{ 1000.0, 500.0, "test" };
  const auto        layers =
    viz::MakeLayers(Phantom(), PhantomLabels(), PhantomLabels(96, 80, 0.06, false), nullptr, &presentation);
  viz::OverlayStyle style;
  style.mode = viz::OverlayMode::Outline;
  const auto path = RenderToFile(layers, style, "reference_outline");
  auto       png = ReadRGB(path);
  EXPECT_TRUE(NotBlank(png));
  EXPECT_TRUE(MatchesBaseline(path, "reference_outline"));
  EXPECT_GT(CountNear(png, viz::palette::Reference), 60u);
  // Off: no yellow.
  style.showReference = false;
  EXPECT_LT(CountNear(ReadRGB(RenderToFile(layers, style, "no_reference")), viz::palette::Reference), 5u);
}

// An asymmetric phantom stored as PNG (as is), NRRD (x mirrored, direction -x) and DICOM (x mirrored, Patient
// Orientation R\F): the three screenshots agree, with the marker at the viewer's top left.
TEST(Render, OrientationOfPNGNRRDAndDICOM)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  WriteOrientationPhantoms(dir);
  viz::OverlayStyle style;
  style.hasWindowLevel = false;
  for (const char * file : { "phantom.png", "phantom.nrrd", "phantom.dcm" })
  {
    SCOPED_TRACE(file);
    auto layers = viz::LoadLayers({ (dir / file).string(), {}, {}, {}, {}, {} });
    // One grey presentation for all three (the DICOM's values are its own): compare the pictures, not the windows.
    const auto path =
      RenderToFile(layers, style, std::string("orientation_") + fs::path(file).extension().string().substr(1));
    auto shot = ReadRGB(path);
    EXPECT_TRUE(NotBlank(shot));
    EXPECT_TRUE(MatchesBaseline(path, "orientation", 8.0, 0.05));
    // The marker: brightest, at the top left; the top right is dark background.
    EXPECT_GT(shot->GetPixel({ { 7, 7 } })[0], 200);
    EXPECT_LT(shot->GetPixel({ { 88, 7 } })[0], 60);
  }
}

// A left drag in the viewer changes the radiograph's window/level and never the labels' colours.
TEST(Render, WindowLevelActsOnTheGreyLayerOnly)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  Write(Phantom().GetPointer(), dir / "phantom.nrrd");
  Write(PhantomLabels().GetPointer(), dir / "labels.nrrd");
  viz::ViewerOptions options;
  options.offScreen = true;
  options.width = 192;
  options.height = 160;
  options.style.fillOpacity = 1.0; // opaque fill: its colour cannot depend on the grey
  options.style.mode = viz::OverlayMode::Fill;
  options.style.showText = false;
  viz::InteractiveViewer viewer({ { (dir / "phantom.nrrd").string(), (dir / "labels.nrrd").string(), {}, {}, {}, {} } },
                                options);
  viewer.Screenshot((dir / "before.png").string());
  const auto   before = ReadRGB(dir / "before.png");
  const double window = viewer.Scene().Window(), level = viewer.Scene().Level();
  viewer.Render();

  // A left drag through the interactor, as a mouse would do it (vtkInteractorStyleImage: window/level).
  auto * rwi = viewer.Interactor();
  rwi->SetEventInformation(96, 80);
  rwi->InvokeEvent(vtkCommand::LeftButtonPressEvent);
  rwi->SetEventInformation(150, 40);
  rwi->InvokeEvent(vtkCommand::MouseMoveEvent);
  rwi->InvokeEvent(vtkCommand::LeftButtonReleaseEvent);
  EXPECT_NE(viewer.Scene().Window(), window);
  EXPECT_NE(viewer.Scene().Level(), level);
  EXPECT_NE(viewer.Scene().CornerText(2).find("W/L"), std::string::npos);

  const auto path = dir / "window_level.png";
  viewer.Screenshot(path.string());
  const auto after = ReadRGB(path);
  // Same colour inside the lungs, another grey in the body.
  const itk::Index<2> lung{ { 56, 84 } }, body{ { 96, 30 } };
  EXPECT_EQ(before->GetPixel(lung), after->GetPixel(lung));
  EXPECT_LT(Distance(after->GetPixel(lung), viz::palette::RightLung), 6);
  EXPECT_NE(before->GetPixel(body)[0], after->GetPixel(body)[0]);
  EXPECT_TRUE(NotBlank(after));
  EXPECT_TRUE(MatchesBaseline(path, "window_level"));
}

TEST(Render, ViewerKeysAndProbe)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  Write(Phantom().GetPointer(), dir / "a.nrrd");
  Write(Phantom().GetPointer(), dir / "b.nrrd");
  Write(PhantomLabels().GetPointer(), dir / "a_lungs.nrrd");
  viz::ViewerOptions options;
  options.offScreen = true;
  options.width = 192;
  options.height = 160;
  options.screenshotFolder = dir.string();
  viz::InteractiveViewer viewer({ { (dir / "a.nrrd").string(), (dir / "a_lungs.nrrd").string(), {}, {}, {}, {} },
                                  { (dir / "b.nrrd").string(), {}, {}, {}, {}, {} },
                                  { (dir / "missing.nrrd").string(), {}, {}, {}, {}, {} } },
                                options);
  EXPECT_TRUE(viewer.HandleKey("o"));
  EXPECT_FALSE(viewer.Scene().Style().showOverlay);
  EXPECT_TRUE(viewer.HandleKey("f"));
  EXPECT_EQ(viewer.Scene().Style().mode, viz::OverlayMode::Fill);
  EXPECT_TRUE(viewer.HandleKey("plus"));
  EXPECT_DOUBLE_EQ(viewer.Scene().Style().fillOpacity, 0.6);
  EXPECT_TRUE(viewer.HandleKey("1"));
  EXPECT_FALSE(viewer.Scene().Style().showRight);
  EXPECT_TRUE(viewer.HandleKey("r"));
  EXPECT_TRUE(viewer.Scene().Style().showOverlay);
  EXPECT_DOUBLE_EQ(viewer.Scene().Style().fillOpacity, 0.5);
  EXPECT_FALSE(viewer.HandleKey("z"));
  // The probe at the window's centre: on the image, in mm, with the label.
  const std::string probe = viewer.Probe(96, 80);
  EXPECT_NE(probe.find("mm"), std::string::npos) << probe;
  EXPECT_NE(probe.find("grey"), std::string::npos) << probe;
  EXPECT_NE(probe.find("label"), std::string::npos) << probe;
  EXPECT_EQ(viewer.Probe(0, 0), ""); // outside the image (letterbox)
  EXPECT_TRUE(viewer.HandleKey("s"));
  EXPECT_TRUE(fs::exists(dir / "a_view.png")) << viewer.Message();
  EXPECT_TRUE(NotBlank(ReadRGB(dir / "a_view.png")));
  EXPECT_TRUE(viewer.HandleKey("n"));
  EXPECT_EQ(viewer.Current(), 1u);
  EXPECT_TRUE(viewer.HandleKey("n")); // unreadable: says why, keeps going
  EXPECT_EQ(viewer.Current(), 2u);
  EXPECT_NE(viewer.Message().find("missing.nrrd"), std::string::npos) << viewer.Message();
  EXPECT_TRUE(viewer.HandleKey("p"));
  EXPECT_EQ(viewer.Current(), 1u);
}

// The viewer's event loop: it opens a window on the (virtual) screen, takes keys from X and quits on 'q'.
TEST(Render, ViewerEventLoop)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  Write(Phantom().GetPointer(), dir / "a.nrrd");
  Write(PhantomProbability().GetPointer(), dir / "a_probability.nrrd");
  viz::ViewerOptions options;
  options.width = 400;
  options.height = 333;
  viz::InteractiveViewer viewer(
    { { (dir / "a.nrrd").string(), {}, {}, (dir / "a_probability.nrrd").string(), {}, {} } }, options);
  auto * rwi = viewer.Interactor();
  // After the first render (in Run(), before the loop): a timer that sends a key as X delivers it ('m': probability
  // off), then 'q'. (A StartEvent observer would replace the loop instead.)
  auto rendered = vtkSmartPointer<vtkCallbackCommand>::New();
  rendered->SetClientData(rwi);
  rendered->SetCallback([](vtkObject *, unsigned long, void * interactor, void *) {
    static bool once = false;
    if (!once)
      static_cast<vtkRenderWindowInteractor *>(interactor)->CreateOneShotTimer(50);
    once = true;
  });
  viewer.Window()->AddObserver(vtkCommand::EndEvent, rendered);
  auto timer = vtkSmartPointer<vtkCallbackCommand>::New();
  timer->SetCallback([](vtkObject * caller, unsigned long, void *, void *) {
    auto * interactor = static_cast<vtkRenderWindowInteractor *>(caller);
    interactor->SetKeyEventInformation(0, 0, 'm', 1, "m");
    interactor->InvokeEvent(vtkCommand::KeyPressEvent);
    interactor->InvokeEvent(vtkCommand::CharEvent);
    interactor->SetKeyEventInformation(0, 0, 'q', 1, "q");
    interactor->InvokeEvent(vtkCommand::KeyPressEvent);
    interactor->InvokeEvent(vtkCommand::CharEvent);
  });
  rwi->AddObserver(vtkCommand::TimerEvent, timer);
  EXPECT_TRUE(viewer.Scene().Style().showProbability);
  viewer.Run(); // returns on 'q'
  EXPECT_FALSE(viewer.Scene().Style().showProbability);
  EXPECT_EQ(viewer.Window()->GetSize()[0], 400);
}

TEST(Render, CornerTextShowsAreasDiceAndQuality)
{
  RESCRNET_DISPLAY_OR_SKIP();
  auto layers =
    viz::MakeLayers(Phantom(), PhantomLabels(), PhantomLabels(96, 80, 0.0, false), nullptr, nullptr, "x.png");
  layers.qualityScore = 0.42;
  layers.qualityFlags = { "area_small", "border" };
  viz::RadiographScene scene;
  scene.SetLayers(layers);
  EXPECT_NE(scene.CornerText(2).find("x.png"), std::string::npos);
  EXPECT_NE(scene.CornerText(2).find("1st-99th percentiles"), std::string::npos);
  EXPECT_NE(scene.CornerText(3).find("R "), std::string::npos);
  EXPECT_NE(scene.CornerText(3).find("cm2"), std::string::npos);
  EXPECT_NE(scene.CornerText(3).find("Dice 1.000"), std::string::npos) << scene.CornerText(3);
  EXPECT_NE(scene.CornerText(0).find("quality 0.42"), std::string::npos);
  EXPECT_NE(scene.CornerText(0).find("area_small border"), std::string::npos);
  // From a results CSV with the quality columns (as the segmentation command writes them): the same corner text.
  const auto dir = TemporaryDirectory();
  Write(Phantom().GetPointer(), dir / "y.nrrd");
  std::ofstream(dir / "results.csv") << "image,label_map,status,quality_score,quality_flags\n"
                                        "y.nrrd,,ok,0.37,low_contrast; border\n";
  const auto rows = viz::ReadResultsCSV((dir / "results.csv").string());
  ASSERT_EQ(rows.size(), 1u);
  viz::RadiographScene fromCSV;
  fromCSV.SetLayers(viz::LoadLayers(rows[0].files));
  EXPECT_NE(fromCSV.CornerText(0).find("quality 0.37"), std::string::npos) << fromCSV.CornerText(0);
  EXPECT_NE(fromCSV.CornerText(0).find("low_contrast border"), std::string::npos) << fromCSV.CornerText(0);
  viz::OffscreenWindow window;
  auto                 shot = viz::ToITK(scene.Render(window, 400, 333));
  EXPECT_TRUE(NotBlank(shot));
  // White text in the top-left corner, where the phantom is dark background.
  size_t white = 0;
  for (unsigned y = 0; y < 30; ++y)
    for (unsigned x = 0; x < 120; ++x)
      white += Distance(shot->GetPixel({ { x, y } }), viz::palette::Text) < 60;
  EXPECT_GT(white, 20u);
}

TEST(Render, PanelLayout)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  Write(Phantom().GetPointer(), dir / "a.nrrd");
  Write(PhantomLabels().GetPointer(), dir / "a_lungs.nrrd");
  Write(PhantomProbability().GetPointer(), dir / "a_probability.nrrd");
  Write(PhantomLabels(96, 80, 0.05, false).GetPointer(), dir / "a_mask.nrrd");
  Write(Phantom().GetPointer(), dir / "b.nrrd");
  Write(PhantomLabels(96, 80, 0.0, false).GetPointer(), dir / "b_lungs.nrrd");
  const auto        path = dir / "panel.png";
  viz::PanelOptions options;
  options.cellSize = 96;
  const size_t drawn =
    viz::WritePanel({ { (dir / "a.nrrd").string(),
                        (dir / "a_lungs.nrrd").string(),
                        (dir / "a_mask.nrrd").string(),
                        (dir / "a_probability.nrrd").string(),
                        0.7,
                        { "border" } },
                      { (dir / "b.nrrd").string(), (dir / "b_lungs.nrrd").string(), {}, {}, {}, {} } },
                    path.string(),
                    options);
  EXPECT_EQ(drawn, 2u);
  auto png = ReadRGB(path);
  // 4 columns of 96 with 12-pixel margins; 2 rows of 22 + 96 + 12 under a 30-pixel header; the probability legend.
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 12u + 4u * (96u + 12u));
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[1], 30u + 2u * (22u + 96u + 12u) + 56u);
  EXPECT_TRUE(NotBlank(png));
  EXPECT_TRUE(MatchesBaseline(path, "panel"));
  // The second row has no reference: a grey "no reference" cell in the last column.
  const auto missing = png->GetPixel({ { 12 + 3 * 108 + 5, 30 + 130 + 22 + 5 } });
  EXPECT_EQ(missing[0], 90);
}

TEST(Render, ContactSheetWorstFirst)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  fs::create_directories(dir / "masks");
  std::vector<viz::SheetEntry> entries;
  const double                 shifts[] = { 0.0, 0.12, 0.03, 0.2, 0.06 };
  for (int i = 0; i < 5; ++i)
  {
    const std::string stem = "img" + std::to_string(i);
    Write(Phantom().GetPointer(), dir / (stem + ".nrrd"));
    Write(PhantomLabels(96, 80, shifts[i]).GetPointer(), dir / (stem + "_lungs.nrrd"));
    Write(PhantomLabels(96, 80, 0.0, false).GetPointer(), dir / "masks" / (stem + ".nrrd"));
    entries.push_back({ { (dir / (stem + ".nrrd")).string(),
                          (dir / (stem + "_lungs.nrrd")).string(),
                          (dir / "masks" / (stem + ".nrrd")).string(),
                          {},
                          {},
                          {} },
                        std::nullopt,
                        {} });
  }
  // An image whose label map cannot be read: first of all, its thumbnail says why.
  std::ofstream(dir / "broken_lungs.nrrd") << "not an image";
  entries.push_back({ { (dir / "img0.nrrd").string(),
                        (dir / "broken_lungs.nrrd").string(),
                        (dir / "masks/img0.nrrd").string(),
                        {},
                        {},
                        {} },
                      std::nullopt,
                      {} });
  viz::ContactSheetOptions options;
  options.thumbnailSize = 80;
  options.columns = 3;
  const auto path = dir / "sheet.png";
  const auto result = viz::WriteContactSheet(entries, path.string(), options);
  EXPECT_EQ(result.order, viz::SheetOrder::Dice);
  ASSERT_EQ(result.ranked.size(), 6u);
  // Unreadable first, then the largest shift (worst Dice) to the smallest.
  EXPECT_EQ(fs::path(result.ranked[0].files.labels).filename(), "broken_lungs.nrrd");
  EXPECT_NE(result.ranked[0].error.find("broken_lungs.nrrd"), std::string::npos) << result.ranked[0].error;
  EXPECT_EQ(fs::path(result.ranked[1].files.image).filename(), "img3.nrrd");
  EXPECT_EQ(fs::path(result.ranked[2].files.image).filename(), "img1.nrrd");
  EXPECT_EQ(fs::path(result.ranked[5].files.image).filename(), "img0.nrrd");
  EXPECT_LT(*result.ranked[1].dice, *result.ranked[2].dice);
  EXPECT_EQ(result.shown, 5u);
  auto png = ReadRGB(path);
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 12u + 3u * (80u + 12u));
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[1], 34u + 2u * (80u + 34u + 12u));
  EXPECT_TRUE(NotBlank(png));
  EXPECT_TRUE(MatchesBaseline(path, "contact_sheet"));

  // Without references, by quality score (lowest first).
  for (size_t i = 0; i < 5; ++i)
  {
    entries[i].files.reference.clear();
    entries[i].files.qualityScore = 0.1 * static_cast<double>((i * 3) % 5);
  }
  entries.pop_back();
  const auto byQuality = viz::RankEntries(entries);
  EXPECT_EQ(byQuality.order, viz::SheetOrder::Quality);
  EXPECT_EQ(fs::path(byQuality.ranked[0].files.image).filename(), "img0.nrrd"); // score 0
  EXPECT_EQ(fs::path(byQuality.ranked[4].files.image).filename(), "img3.nrrd"); // score 0.4
}

TEST(Render, TrainingCurveFromHistoryCSV)
{
  RESCRNET_DISPLAY_OR_SKIP();
  const auto dir = TemporaryDirectory();
  std::ofstream(dir / "history.csv")
    << "epoch,loss,tanimoto,val_loss,val_tanimoto,val_dice,val_dice_MC,val_dice_QUEXNC,seconds,learning_rate\n"
       "1,0.217714,0.818369,0.109507,0.950914,0.936420,0.94,0.93,851.9,0.001\n"
       "2,0.128800,0.936534,0.088917,0.961436,0.949680,0.95,0.945,589.8,0.001\n"
       "3,0.112567,0.946320,nan,nan,nan,nan,nan,731.2,0.001\n"
       "4,0.104633,0.950722,0.083064,0.963683,0.951767,0.955,0.948,115.2,0.001\n"
       "5,0.101711,0.952315,0.075848,0.966727,0.956593,0.96,0.952,107.8,0.001\n"
       "6,0.096564,0.954979,0.076727,0.964948,0.954201,0.958,0.95,111.5,0.001\n";
  const auto path = dir / "curve.png";
  viz::WriteTrainingCurvePNG(viz::ReadTrainingHistory((dir / "history.csv").string()), path.string(), 800, 320);
  auto png = ReadRGB(path);
  EXPECT_EQ(png->GetLargestPossibleRegion().GetSize()[0], 800u);
  EXPECT_TRUE(NotBlank(png));
  EXPECT_TRUE(MatchesBaseline(path, "training_curve", 4.0, 0.03));
  EXPECT_GT(CountNear(png, viz::palette::Train, 40), 100u);
  EXPECT_GT(CountNear(png, viz::palette::Validation, 40), 100u);
}
