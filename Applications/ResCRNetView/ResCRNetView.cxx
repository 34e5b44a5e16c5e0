// SPDX-License-Identifier: Apache-2.0
// ResCRNetView [options] <radiograph, folder or results CSV>
// ResCRNetView --curve history.csv <output PNG>
// Views radiographs with their lungs, renders screenshots, panels and contact sheets, and draws training curves (see
// the XML description for every option).
#include "ResCRNetViewXML.h"

#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/ImageFile.h"
#include "rescrnet/viz/Figures.h"
#include "rescrnet/viz/Render.h"
#include "rescrnet/viz/Results.h"
#include "rescrnet/viz/Scene.h"
#include "rescrnet/viz/TrainingCurve.h"
#include "rescrnet/viz/Viewer.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>

namespace cli = rescrnet::cli;
namespace viz = rescrnet::viz;
namespace fs = std::filesystem;

namespace
{

viz::OverlayStyle
Style(const cli::Arguments & args)
{
  viz::OverlayStyle s;
  const std::string mode = args.GetString("mode");
  s.mode = mode == "fill"      ? viz::OverlayMode::Fill
           : mode == "outline" ? viz::OverlayMode::Outline
                               : viz::OverlayMode::Both;
  s.fillOpacity = args.GetDouble("fillOpacity");
  s.outlineOpacity = args.GetDouble("outlineOpacity");
  s.outlineWidth = args.GetDouble("outlineWidth");
  s.showText = !args.GetBool("hideText");
  s.showColourBar = s.showText;
  if (args.GetDouble("window") > 0)
  {
    s.hasWindowLevel = true;
    s.window = args.GetDouble("window");
    s.level = args.GetDouble("level");
  }
  return s;
}

bool
IsCSV(const std::string & path)
{
  std::string extension = fs::path(path).extension().string();
  for (char & c : extension)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension == ".csv";
}

// The images to show with their layers: from a folder, a results CSV or one file; --labels, --reference and
// --probability (files or folders) fill in what the CSV does not give; --results adds label maps and quality.
std::vector<viz::LayerFiles>
Images(const cli::Arguments & args)
{
  const std::string            input = args.GetString("input");
  std::vector<viz::LayerFiles> images;
  std::error_code              ec;
  if (fs::is_directory(input, ec))
  {
    for (const auto & image : rescrnet::io::ListImages(input))
      images.push_back(viz::LayerFiles{ image, {}, {}, {}, {}, {} });
    if (images.empty())
      throw std::runtime_error("no readable images in folder " + input);
  }
  else if (IsCSV(input))
  {
    for (auto & row : viz::ReadResultsCSV(input))
      if (row.status != "failed")
        images.push_back(row.files);
    if (images.empty())
      throw std::runtime_error(input + ": no images");
  }
  else
  {
    if (!fs::exists(input, ec))
      throw std::runtime_error("input: '" + input + "' does not exist");
    images.push_back(viz::LayerFiles{ input, {}, {}, {}, {}, {} });
  }

  if (args.IsSet("results"))
  {
    std::map<std::string, viz::LayerFiles> byStem;
    for (auto & row : viz::ReadResultsCSV(args.GetString("results")))
      byStem[viz::StemOf(row.files.image)] = row.files;
    for (auto & image : images)
    {
      const auto it = byStem.find(viz::StemOf(image.image));
      if (it == byStem.end())
        continue;
      if (image.labels.empty())
        image.labels = it->second.labels;
      if (!image.qualityScore)
        image.qualityScore = it->second.qualityScore;
      if (image.qualityFlags.empty())
        image.qualityFlags = it->second.qualityFlags;
    }
  }
  const auto fill = [&](const char * name, std::string viz::LayerFiles::*member, std::vector<std::string> suffixes) {
    if (!args.IsSet(name))
      return;
    const viz::FileMatcher matcher(args.GetString(name), std::move(suffixes));
    for (auto & image : images)
      if ((image.*member).empty())
        image.*member = matcher.Find(image.image);
  };
  fill("labels", &viz::LayerFiles::labels, viz::FileMatcher::LabelSuffixes());
  fill("reference", &viz::LayerFiles::reference, viz::FileMatcher::ReferenceSuffixes());
  fill("probability", &viz::LayerFiles::probability, viz::FileMatcher::ProbabilitySuffixes());
  return images;
}

// --screenshot: one PNG, or a folder of them for several images.
size_t
Screenshots(const std::vector<viz::LayerFiles> & images,
            const std::string &                  target,
            const viz::OverlayStyle &            style,
            int                                  width,
            int                                  height,
            cli::ReturnParameters &              returned)
{
  viz::RequireDisplay("the screenshot " + target);
  viz::OffscreenWindow window;
  viz::RadiographScene scene;
  const bool           many = images.size() > 1;
  std::error_code      ec;
  if (many)
  {
    fs::create_directories(target, ec);
    if (!fs::is_directory(target, ec))
      throw std::runtime_error("cannot create the screenshot folder " + target);
  }
  std::optional<cli::ConsoleProgress> progress; // for a folder
  if (many)
    progress.emplace(images.size(), "img");
  size_t drawn = 0, failed = 0;
  for (const auto & image : images)
  {
    try
    {
      scene.SetLayers(viz::LoadLayers(image));
      scene.SetStyle(style);
      const std::string path = many ? (fs::path(target) / (viz::StemOf(image.image) + "_view.png")).string() : target;
      viz::WritePNG(scene.Render(window, width, height, 1024), path);
      ++drawn;
      if (!many && scene.DiceValue())
        returned.Set("dice", *scene.DiceValue());
    }
    catch (const viz::LayerError & e)
    {
      if (!many)
        throw;
      ++failed;
      std::cerr << "ResCRNetView: " << e.what() << std::endl;
    }
    if (progress)
      progress->Increment();
  }
  if (progress)
    progress->Finish();
  if (many)
    std::cout << "Wrote " << drawn << " screenshots into " << target
              << (failed ? " (" + std::to_string(failed) + " images could not be read)" : std::string()) << std::endl;
  else
    std::cout << "Wrote " << target << std::endl;
  return drawn;
}

int
View(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  const viz::OverlayStyle style = Style(args);
  const auto              size = args.GetIntVector("size");
  if (size.size() != 2 || size[0] < 0 || size[1] < 0 || size[0] > 16384 || size[1] > 16384)
    throw std::runtime_error("--size expects width,height between 0 and 16384");
  const int width = static_cast<int>(size[0]), height = static_cast<int>(size[1]);

  if (args.IsSet("curve"))
  {
    const std::string out = args.IsSet("screenshot") ? args.GetString("screenshot") : args.GetString("input");
    if (IsCSV(out))
      throw std::runtime_error("--curve writes a PNG; give the PNG to write, not " + out);
    const auto history = viz::ReadTrainingHistory(args.GetString("curve"));
    viz::WriteTrainingCurvePNG(history, out, width > 0 ? width : 1100, height > 0 ? height : 440);
    std::cout << "Wrote " << out << " (" << history.epoch.size() << " epochs)" << std::endl;
    return EXIT_SUCCESS;
  }

  const auto images = Images(args);
  size_t     drawn = 0;
  bool       wrote = false;
  if (args.IsSet("screenshot"))
  {
    drawn += Screenshots(images, args.GetString("screenshot"), style, width, height, returned);
    wrote = true;
  }
  if (args.IsSet("panel"))
  {
    viz::PanelOptions options;
    options.cellSize = static_cast<int>(args.GetInt("cellSize"));
    options.style = style;
    const auto                   rows = static_cast<size_t>(args.GetInt("panelRows"));
    std::vector<viz::LayerFiles> shown(images.begin(),
                                       images.begin() + static_cast<std::ptrdiff_t>(std::min(rows, images.size())));
    cli::ConsoleProgress         progress(shown.size(), "img");
    const size_t                 n =
      viz::WritePanel(shown, args.GetString("panel"), options, [&](size_t done, size_t) { progress.Update(done); });
    progress.Finish();
    drawn += n;
    std::cout << "Wrote " << args.GetString("panel") << " (" << n << " images"
              << (images.size() > shown.size() ? " of " + std::to_string(images.size()) + "; --panelRows"
                                               : std::string())
              << ")" << std::endl;
    wrote = true;
  }
  if (args.IsSet("contactSheet"))
  {
    viz::ContactSheetOptions options;
    options.thumbnailSize = static_cast<int>(args.GetInt("thumbnailSize"));
    options.columns = static_cast<int>(args.GetInt("columns"));
    options.maxThumbnails = static_cast<size_t>(args.GetInt("maxThumbnails"));
    options.style = style;
    std::vector<viz::SheetEntry> entries;
    for (const auto & image : images)
      entries.push_back(viz::SheetEntry{ image, std::nullopt, {} });
    cli::ConsoleProgress progress(std::min(entries.size(), options.maxThumbnails), "img");
    const auto           result = viz::WriteContactSheet(
      entries, args.GetString("contactSheet"), options, [&](size_t done, size_t) { progress.Update(done); });
    progress.Finish();
    drawn += result.shown;
    std::cout << "Wrote " << args.GetString("contactSheet") << ": " << result.shown << " of " << result.total
              << " images, worst first by " << viz::OrderName(result.order) << std::endl;
    for (size_t i = 0; i < std::min<size_t>(5, result.ranked.size()); ++i)
    {
      const auto & e = result.ranked[i];
      std::cout << "  " << fs::path(e.files.image).filename().string();
      if (!e.error.empty())
        std::cout << ": " << e.error;
      else if (e.dice)
        std::cout << ": Dice " << *e.dice;
      else if (e.files.qualityScore)
        std::cout << ": quality " << *e.files.qualityScore;
      std::cout << std::endl;
    }
    wrote = true;
  }
  returned.Set("imagesDrawn", static_cast<int64_t>(drawn));
  if (wrote)
    return EXIT_SUCCESS;

  viz::ViewerOptions options;
  options.style = style;
  if (width > 0 && height > 0)
  {
    options.width = width;
    options.height = height;
  }
  viz::InteractiveViewer viewer(images, options);
  std::cout << viz::ViewerHelp() << std::endl;
  viewer.Run();
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, View);
}
