// SPDX-License-Identifier: Apache-2.0
// ResCRNetLungSegmentation [options] <input image or folder> <output label map or folder>
// Segments the lungs on chest radiographs with Res-CR-Net: runs the default pipeline file
// (Data/Pipelines/lung-segmentation.json) or --pipeline FILE (see the XML description for every option).
#include "ResCRNetLungSegmentationXML.h"

#include "ResCRNetApplicationStartup.h"
#include "ResCRNetBatchSegmentation.h"

#include "rescrnet/JsonParsing.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/BatchInput.h"
#include "rescrnet/io/ImageFile.h"
#include "rescrnet/plugins/Pipeline.h"

#include <filesystem>
#include <iostream>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace plugins = rescrnet::plugins;
namespace fs = std::filesystem;

namespace
{

// Masks scoring below this are counted and named as worth a look (the flag "low_score" uses the same limit).
constexpr double qualityWarning = 0.5;

// The options that set parameters of the pipeline's stages and model (their XML comes from the declarations).
const std::vector<plugins::CommandLineOption> StageOptions = {
  { plugins::ComponentKind::Stage, "lung-mask", "threshold" },
  { plugins::ComponentKind::Stage, "lung-mask", "components" },
  { plugins::ComponentKind::Stage, "lung-mask", "skipPostprocessing" },
  { plugins::ComponentKind::Stage, "lung-mask", "leftRight" },
  { plugins::ComponentKind::Backend, "rescrnet-model", "threads" },
  { plugins::ComponentKind::Backend, "rescrnet-model", "precision" },
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

// A folder or a manifest (one shard of it with --shard), through app::BatchSegmentation.
int
SegmentBatch(const cli::Arguments & args, cli::ReturnParameters & returned, const plugins::Pipeline & pipeline)
{
  namespace io = rescrnet::io;
  const std::string input = args.GetString("inputVolume");
  const auto paths = app::ListBatchInputs(input, pipeline, args.GetString("outputLabel"), [](const std::string & p) {
    std::cerr << cli::module::Name << ": skipped " << p << ": an output of an earlier run" << std::endl;
  });
  const io::Shard shard = io::ParseShard(args.GetString("shard"));
  const auto      items = io::SelectShard(paths, shard);

  app::BatchOptions options;
  options.outputFolder = args.GetString("outputLabel");
  options.resultsCsv = args.GetString("outputCSV");
  if (options.resultsCsv.empty() && shard.count > 1)
    options.resultsCsv = (fs::path(options.outputFolder) /
                          ("results-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".csv"))
                           .string();
  options.measures = app::BatchSegmentation::LungMeasures();
  for (const char * role : { "overlay", "probability" })
    if (args.IsSet(role))
    {
      if (!pipeline.UsesFile(role))
        throw std::runtime_error(std::string("--") + role + ": the pipeline " + pipeline.Name() +
                                 " has no stage for \"" + role + "\"");
      options.extraOutputs.insert(role);
    }
  options.resume = args.GetBool("resume");
  options.imagesInFlight = static_cast<unsigned>(args.GetInt("imagesInFlight"));
  options.lowQuality = qualityWarning;
  cli::ConsoleProgress progress(items.size(), "img");
  options.finished = [&](size_t done, size_t total) {
    progress.Update(done);
    cli::ReportProgress(static_cast<double>(done) / static_cast<double>(std::max<size_t>(total, 1)));
  };
  options.failure = [](const std::string & line) { std::cerr << cli::module::Name << ": " << line << std::endl; };
  options.warning = [](const std::string & line) {
    std::cerr << cli::module::Name << ": warning: " << line << std::endl;
  };
  const auto s = app::BatchSegmentation(pipeline, options).Run(items);
  progress.Finish();
  std::cout << "Segmented " << s.segmented << " images";
  if (s.resumed)
    std::cout << " (resumed: " << s.resumed << " finished by an earlier run kept)";
  if (shard.count > 1)
    std::cout << " of shard " << shard.index << "/" << shard.count << " (" << items.size() << " of " << paths.size()
              << " images)";
  std::cout << ", " << s.failed << " failed, in " << s.seconds << " s ("
            << static_cast<double>(s.segmented + s.failed) / std::max(s.seconds, 1e-9) << " images/s); results in "
            << s.resultsCsv << std::endl;
  if (s.lowQuality > 0)
    std::cout << s.lowQuality << " masks have a quality score below " << qualityWarning
              << " (column quality_score of the results); review them first" << std::endl;
  returned.Set("imagesProcessed", static_cast<int64_t>(s.segmented + s.resumed));
  returned.Set("totalLungPixels", static_cast<int64_t>(s.totalPixels));
  returned.Set("totalLungAreaMM2", s.totalAreaMM2);
  return s.failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
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
  if (fs::is_directory(input) || rescrnet::io::IsManifest(input))
  {
    if (!args.GetString("outputSEG").empty())
      throw std::runtime_error("--outputSEG needs a single DICOM image as input, not a folder or manifest");
    return SegmentBatch(args, returned, *pipeline);
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
  if (m.contains("quality_score"))
  {
    const std::string flags = m.value("quality_flags", std::string());
    std::cout << "Quality score " << Measure(m, "quality_score") << " ("
              << (flags.empty() ? std::string("no flags") : "flags: " + flags) << ")" << std::endl;
    returned.Set("qualityScore", Measure(m, "quality_score"));
    returned.Set("qualityFlags", flags);
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
