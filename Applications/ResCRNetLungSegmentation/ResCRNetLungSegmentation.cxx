// SPDX-License-Identifier: Apache-2.0
// ResCRNetLungSegmentation [options] <input image or folder> <output label map or folder>
// Segments the lungs on chest radiographs with Res-CR-Net: runs the default pipeline file
// (Data/Pipelines/lung-segmentation.json) or --pipeline FILE (see the XML description for every option).
#include "ResCRNetLungSegmentationXML.h"

#include "ResCRNetApplicationStartup.h"

#include "rescrnet/JsonParsing.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/plugins/FolderRun.h"
#include "rescrnet/plugins/Pipeline.h"

#include <filesystem>
#include <iostream>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace plugins = rescrnet::plugins;
namespace fs = std::filesystem;

namespace
{

// The options that set parameters of the pipeline's stages and model (their XML comes from the declarations).
const std::vector<plugins::CommandLineOption> StageOptions = {
  { plugins::ComponentKind::Stage, "lung-mask", "threshold" },
  { plugins::ComponentKind::Stage, "lung-mask", "components" },
  { plugins::ComponentKind::Stage, "lung-mask", "skipPostprocessing" },
  { plugins::ComponentKind::Stage, "lung-mask", "leftRight" },
  { plugins::ComponentKind::Backend, "rescrnet-model", "threads" },
};

// The run files of the optional outputs given on the command line, each of which the pipeline must write.
plugins::RunFiles
OptionalFiles(const cli::Arguments & args, const plugins::Pipeline & pipeline)
{
  plugins::RunFiles files;
  for (const auto & [option, role] : std::vector<std::pair<std::string, std::string>>{ { "probability", "probability" },
                                                                                       { "overlay", "overlay" },
                                                                                       { "outputSEG", "seg" },
                                                                                       { "reference", "reference" } })
  {
    const std::string path = args.GetString(option);
    if (path.empty())
      continue;
    if (!pipeline.UsesFile(role))
      throw std::runtime_error("--" + option + ": the pipeline " + pipeline.Name() + " has no stage for \"" + role +
                               "\"");
    files[role] = path;
  }
  return files;
}

double
Measure(const plugins::Json & measures, const char * name)
{
  return measures.contains(name) && measures[name].is_number() ? measures[name].get<double>() : 0.0;
}

int64_t
Count(const plugins::Json & measures, const char * name)
{
  return static_cast<int64_t>(Measure(measures, name));
}

int
SegmentFolder(const cli::Arguments & args, cli::ReturnParameters & returned, const plugins::Pipeline & pipeline)
{
  plugins::FolderRunOptions options;
  options.inputFolder = args.GetString("inputVolume");
  options.outputFolder = args.GetString("outputLabel");
  options.csv = args.GetString("outputCSV");
  options.outputColumn = "label_map";
  options.toolName = cli::module::Name;
  for (const char * role : { "overlay", "probability" })
    if (args.IsSet(role))
      options.destinations.insert(role);
  const auto items = plugins::RunFolder(pipeline, options);
  size_t     ok = 0;
  int64_t    totalPixels = 0;
  double     totalArea = 0;
  for (const auto & item : items)
    if (item.ok)
    {
      ++ok;
      totalPixels += Count(item.measures, "total_pixels");
      totalArea += Measure(item.measures, "total_area_mm2");
    }
  std::cout << "Segmented " << ok << " of " << items.size() << " images; results in "
            << (options.csv.empty() ? (fs::path(options.outputFolder) / "results.csv").string() : options.csv)
            << std::endl;
  returned.Set("imagesProcessed", static_cast<int64_t>(ok));
  returned.Set("totalLungPixels", totalPixels);
  returned.Set("totalLungAreaMM2", totalArea);
  return ok == items.size() ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
Segment(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  const auto pipeline = plugins::Pipeline::Load(app::PipelineRequestFromArguments(args, StageOptions));
  for (const auto & w : pipeline->Warnings())
    std::cerr << cli::module::Name << ": warning: " << w << std::endl;
  if (args.EchoRequested())
    std::cout << "Effective pipeline:\n" << rescrnet::DumpJson(pipeline->Effective(), 2) << std::endl;

  const std::string input = args.GetString("inputVolume");
  if (fs::is_directory(input))
  {
    if (!args.GetString("outputSEG").empty())
      throw std::runtime_error("--outputSEG needs a single DICOM image as input, not a folder");
    return SegmentFolder(args, returned, *pipeline);
  }

  plugins::RunFiles files = OptionalFiles(args, *pipeline);
  files["input"] = input;
  files["output"] = args.GetString("outputLabel");
  const auto r = pipeline->Run(files, [](double f) { cli::ReportProgress(f); });
  for (const auto & w : r.warnings)
    std::cerr << cli::module::Name << ": warning: " << w << std::endl;

  const auto & m = r.measures;
  const bool   sides = app::LabelsRightAndLeft(pipeline->Effective());
  std::cout << "Lungs: " << Count(m, "total_pixels") << " pixels, " << Measure(m, "total_area_mm2") << " mm2";
  if (sides)
    std::cout << " (right " << Measure(m, "right_area_mm2") << " mm2, left " << Measure(m, "left_area_mm2") << " mm2)";
  std::cout << std::endl;
  returned.Set("imagesProcessed", int64_t{ 1 });
  returned.Set("totalLungPixels", Count(m, "total_pixels"));
  returned.Set("totalLungAreaMM2", Measure(m, "total_area_mm2"));
  if (sides)
  {
    returned.Set("rightLungPixels", Count(m, "right_pixels"));
    returned.Set("leftLungPixels", Count(m, "left_pixels"));
    returned.Set("rightLungAreaMM2", Measure(m, "right_area_mm2"));
    returned.Set("leftLungAreaMM2", Measure(m, "left_area_mm2"));
  }
  if (m.contains("dice"))
  {
    std::cout << "Dice " << Measure(m, "dice") << ", Jaccard " << Measure(m, "jaccard") << ", precision "
              << Measure(m, "precision") << ", recall " << Measure(m, "recall") << ", pixel accuracy "
              << Measure(m, "pixel_accuracy") << ", Hausdorff " << Measure(m, "hausdorff_mm") << " mm, HD95 "
              << Measure(m, "hd95_mm") << " mm, mean surface distance " << Measure(m, "mean_surface_mm") << " mm"
              << std::endl;
    returned.Set("dice", Measure(m, "dice"));
  }
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  app::StartApplication(argc, argv);
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, Segment);
}
