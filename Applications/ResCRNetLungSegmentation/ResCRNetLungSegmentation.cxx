// SPDX-License-Identifier: Apache-2.0
// ResCRNetLungSegmentation [options] <input image or folder> <output label map or folder>
// Segments the lungs on chest radiographs with Res-CR-Net (see the XML description for every option).
#include "ResCRNetLungSegmentationXML.h"

#include "ResCRNetApplicationStartup.h"
#include "ResCRNetLungPipeline.h"

#include "rescrnet/CsvTable.h"
#include "rescrnet/Predictor.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/ImageFile.h"

#include <filesystem>
#include <iostream>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace fs = std::filesystem;

namespace
{

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

int
SegmentFolder(const cli::Arguments & args, cli::ReturnParameters & returned, const app::LungPipeline & pipeline)
{
  const std::string input = args.GetString("inputVolume");
  const std::string output = args.GetString("outputLabel");
  const auto        images = rescrnet::io::ListImages(input);
  if (images.empty())
    throw std::runtime_error("no readable images in folder " + input);
  std::error_code ec;
  fs::create_directories(output, ec);
  if (!fs::is_directory(output))
    throw std::runtime_error("cannot create output folder " + output);
  std::string csvPath = args.GetString("outputCSV");
  if (csvPath.empty())
    csvPath = (fs::path(output) / "results.csv").string();
  rescrnet::CheckWritableFolder(csvPath);

  using rescrnet::CsvTable;
  CsvTable             csv({ "image",
                             "label_map",
                             "status",
                             "total_pixels",
                             "total_area_mm2",
                             "right_pixels",
                             "left_pixels",
                             "seconds",
                             "message" });
  cli::ConsoleProgress progress(images.size(), "img");
  size_t               done = 0, failed = 0;
  uint64_t             totalPixels = 0;
  double               totalArea = 0;
  for (const auto & image : images)
  {
    const std::string stem = fs::path(image).stem().string();
    const std::string labelMap = (fs::path(output) / (stem + "_lungs.nrrd")).string();
    app::OutputFiles  files;
    files.labelMap = labelMap;
    if (args.IsSet("overlay"))
      files.overlay = (fs::path(output) / (stem + "_overlay.png")).string();
    try
    {
      const auto r = pipeline.Run(image, files, std::string(), [&](double f) {
        cli::ReportProgress((static_cast<double>(done) + f) / static_cast<double>(images.size()));
      });
      csv.addRow({ image,
                   labelMap,
                   "ok",
                   std::to_string(r.measures.totalPixels),
                   CsvTable::number(r.measures.totalAreaMM2),
                   std::to_string(r.measures.rightPixels),
                   std::to_string(r.measures.leftPixels),
                   CsvTable::number(r.seconds) });
      totalPixels += r.measures.totalPixels;
      totalArea += r.measures.totalAreaMM2;
    }
    catch (const std::exception & e)
    {
      ++failed;
      csv.addRow({ image, "", "failed", "", "", "", "", "", e.what() });
      std::cerr << "ResCRNetLungSegmentation: " << e.what() << std::endl;
    }
    progress.Update(++done);
  }
  progress.Finish();
  csv.write(csvPath);
  std::cout << "Segmented " << (done - failed) << " of " << images.size() << " images; results in " << csvPath
            << std::endl;
  returned.Set("imagesProcessed", static_cast<int64_t>(done - failed));
  returned.Set("totalLungPixels", static_cast<int64_t>(totalPixels));
  returned.Set("totalLungAreaMM2", totalArea);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
Segment(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  const std::string       model = app::ModelPath(args.GetString("model"));
  const app::LungPipeline pipeline(app::LoadPredictor(model, static_cast<int>(args.GetInt("threads"))), Options(args));
  const std::string       input = args.GetString("inputVolume");
  if (fs::is_directory(input))
  {
    if (!args.GetString("outputSEG").empty())
      throw std::runtime_error("--outputSEG needs a single DICOM image as input, not a folder");
    return SegmentFolder(args, returned, pipeline);
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
