// SPDX-License-Identifier: Apache-2.0
// ResCRNetLungSegmentation [options] <input image or folder> <output label map or folder>
// Segments the lungs on chest radiographs with Res-CR-Net (see the XML description for every option).
#include "ResCRNetLungSegmentationXML.h"

#include "ResCRNetApplicationStartup.h"
#include "ResCRNetBatchSegmentation.h"
#include "ResCRNetLungPipeline.h"

#include "rescrnet/Predictor.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/BatchInput.h"
#include "rescrnet/io/ImageFile.h"

#include <filesystem>
#include <iostream>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace fs = std::filesystem;

namespace
{

// Masks scoring below this are counted and named as worth a look (the flag "low_score" uses the same limit).
constexpr double qualityWarning = 0.5;

app::PipelineOptions
Options(const cli::Arguments & args)
{
  app::PipelineOptions o;
  o.threshold = args.GetDouble("threshold");
  o.numberOfComponents = static_cast<unsigned>(args.GetInt("components"));
  o.skipPostprocessing = args.GetBool("skipPostprocessing");
  o.leftRight = args.GetBool("leftRight");
  return o;
}

void
PrintMetrics(const app::SegmentationMetricsValues & m)
{
  std::cout << "Dice " << m.dice << ", Jaccard " << m.jaccard << ", precision " << m.precision << ", recall "
            << m.recall << ", pixel accuracy " << m.pixelAccuracy << ", Hausdorff " << m.hausdorffMM << " mm, HD95 "
            << m.hausdorff95MM << " mm, mean surface distance " << m.meanSurfaceDistanceMM << " mm" << std::endl;
}

// A folder or a manifest (one shard of it with --shard), through app::BatchSegmentation.
int
SegmentBatch(const cli::Arguments & args, cli::ReturnParameters & returned, const app::LungPipeline & pipeline)
{
  namespace io = rescrnet::io;
  const std::string input = args.GetString("inputVolume");
  const auto        paths = fs::is_directory(input) ? io::ListImages(input) : io::ReadManifest(input);
  if (paths.empty())
    throw std::runtime_error("no readable images in folder " + input);
  io::CheckDistinctStems(paths);
  const io::Shard shard = io::ParseShard(args.GetString("shard"));
  const auto      items = io::SelectShard(paths, shard);

  app::BatchOptions options;
  options.outputFolder = args.GetString("outputLabel");
  options.resultsCsv = args.GetString("outputCSV");
  if (options.resultsCsv.empty() && shard.count > 1)
    options.resultsCsv = (fs::path(options.outputFolder) /
                          ("results-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".csv"))
                           .string();
  options.overlay = args.IsSet("overlay");
  options.resume = args.GetBool("resume");
  options.imagesInFlight = static_cast<unsigned>(args.GetInt("imagesInFlight"));
  options.lowQuality = qualityWarning;
  cli::ConsoleProgress progress(items.size(), "img");
  options.finished = [&](size_t done, size_t total) {
    progress.Update(done);
    cli::ReportProgress(static_cast<double>(done) / static_cast<double>(std::max<size_t>(total, 1)));
  };
  options.failure = [](const std::string & line) { std::cerr << "ResCRNetLungSegmentation: " << line << std::endl; };
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
  const std::string       model = app::ModelPath(args.GetString("model"));
  const app::LungPipeline pipeline(
    app::LoadPredictor(model, static_cast<int>(args.GetInt("threads")), args.GetString("precision")), Options(args));
  const std::string input = args.GetString("inputVolume");
  if (fs::is_directory(input) || rescrnet::io::IsManifest(input))
  {
    if (!args.GetString("outputSEG").empty())
      throw std::runtime_error("--outputSEG needs a single DICOM image as input, not a folder or manifest");
    return SegmentBatch(args, returned, pipeline);
  }

  app::OutputFiles files;
  files.labelMap = args.GetString("outputLabel");
  files.probability = args.GetString("probability");
  files.overlay = args.GetString("overlay");
  files.outputSEG = args.GetString("outputSEG");
  files.modelName =
    args.GetString("model").empty() ? std::string("default") : fs::path(args.GetString("model")).filename().string();
  const auto r = pipeline.Run(input, files, args.GetString("reference"), [](double f) { cli::ReportProgress(f); });
  for (const auto & w : r.warnings)
    std::cerr << "ResCRNetLungSegmentation: warning: " << w << std::endl;

  std::cout << "Lungs: " << r.measures.totalPixels << " pixels, " << r.measures.totalAreaMM2 << " mm2";
  if (args.GetBool("leftRight"))
    std::cout << " (right " << r.measures.rightAreaMM2 << " mm2, left " << r.measures.leftAreaMM2 << " mm2)";
  std::cout << std::endl;
  returned.Set("imagesProcessed", int64_t{ 1 });
  returned.Set("totalLungPixels", static_cast<int64_t>(r.measures.totalPixels));
  returned.Set("totalLungAreaMM2", r.measures.totalAreaMM2);
  if (r.quality)
  {
    std::cout << "Quality score " << r.quality->score << " ("
              << (r.quality->flags.empty() ? std::string("no flags") : "flags: " + r.quality->flags) << ")"
              << std::endl;
    returned.Set("qualityScore", r.quality->score);
    returned.Set("qualityFlags", r.quality->flags);
  }
  if (args.GetBool("leftRight"))
  {
    returned.Set("rightLungPixels", static_cast<int64_t>(r.measures.rightPixels));
    returned.Set("leftLungPixels", static_cast<int64_t>(r.measures.leftPixels));
    returned.Set("rightLungAreaMM2", r.measures.rightAreaMM2);
    returned.Set("leftLungAreaMM2", r.measures.leftAreaMM2);
  }
  if (r.metrics)
  {
    PrintMetrics(*r.metrics);
    returned.Set("dice", r.metrics->dice);
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
