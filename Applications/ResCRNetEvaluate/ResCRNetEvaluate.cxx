// ResCRNetEvaluate --model FILE (--split CSV [--subset test] | --images DIR --masks DIR) [--output-csv F]
//                  [--summary-json F] [--threads N] [--skipPostprocessing]
// Runs the full lung pipeline on image/mask pairs and reports per-image metrics and a summary per source.
#include "ResCRNetEvaluateXML.h"

#include "ResCRNetApplicationStartup.h"
#include "ResCRNetDataset.h"
#include "ResCRNetLungPipeline.h"

#include "rescrnet/Json.h"
#include "rescrnet/Predictor.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace fs = std::filesystem;
using rescrnet::Json;

namespace
{

using Pair = app::ImagePair;

struct Row
{
  Pair                           pair;
  app::SegmentationMetricsValues m;
  double                         seconds{ 0 };
};

double
Mean(const std::vector<double> & v)
{
  double s = 0;
  for (double x : v)
    s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double
Median(std::vector<double> v)
{
  if (v.empty())
    return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Json
Summary(const std::vector<const Row *> & rows)
{
  std::vector<double> dice, jac, prec, rec, hd95;
  for (const Row * r : rows)
  {
    dice.push_back(r->m.dice);
    jac.push_back(r->m.jaccard);
    prec.push_back(r->m.precision);
    rec.push_back(r->m.recall);
    if (std::isfinite(r->m.hausdorff95MM))
      hd95.push_back(r->m.hausdorff95MM);
  }
  Json j = Json::object();
  j["n"] = static_cast<int64_t>(rows.size());
  j["dice_mean"] = Mean(dice);
  j["dice_median"] = Median(dice);
  j["dice_min"] = dice.empty() ? 0.0 : *std::min_element(dice.begin(), dice.end());
  j["jaccard_mean"] = Mean(jac);
  j["precision_mean"] = Mean(prec);
  j["recall_mean"] = Mean(rec);
  j["hd95_mean_mm"] = Mean(hd95);
  return j;
}

void
WriteText(const std::string & path, const std::string & text)
{
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out)
      throw std::runtime_error("cannot write " + path);
  }
  fs::rename(tmp, path);
}

int
Evaluate(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  const bool splitMode = args.IsSet("split");
  const bool folderMode = args.IsSet("images") || args.IsSet("masks");
  if (splitMode == folderMode)
    throw std::runtime_error("give either --split CSV or --images DIR with --masks DIR");
  if (folderMode && !(args.IsSet("images") && args.IsSet("masks")))
    throw std::runtime_error("--images and --masks go together");
  for (const char * out : { "outputCSV", "summaryJSON" })
  {
    const std::string p = args.GetString(out);
    if (!p.empty() && !fs::is_directory(fs::absolute(p).parent_path()))
      throw std::runtime_error("cannot write " + p + ": its folder does not exist");
  }
  const auto pairs = splitMode ? app::ReadSplitPairs(args.GetString("split"), args.GetString("subset"))
                               : app::MatchFolderPairs(args.GetString("images"), args.GetString("masks"));

  const std::string model = app::ModelPath(args.GetString("model"));
  auto predictor = app::LoadPredictor(model, static_cast<int>(args.GetInt("threads")), args.GetString("precision"));
  app::PipelineOptions options;
  options.skipPostprocessing = args.GetBool("skipPostprocessing");
  options.threshold = args.GetDouble("threshold");
  const app::LungPipeline pipeline(predictor, options);

  std::cout << "Evaluating " << pairs.size() << " image/mask pairs with " << model
            << (options.skipPostprocessing ? " (no post-processing)" : "") << std::endl;
  std::vector<Row>     rows;
  cli::ConsoleProgress progress(pairs.size(), "img");
  double               seconds = 0;
  for (size_t i = 0; i < pairs.size(); ++i)
  {
    const auto r = pipeline.Run(pairs[i].image, app::OutputFiles{}, pairs[i].mask, [&](double f) {
      cli::ReportProgress((static_cast<double>(i) + f) / static_cast<double>(pairs.size()));
    });
    rows.push_back({ pairs[i], *r.metrics, r.seconds });
    seconds += r.seconds;
    progress.Update(i + 1);
  }
  progress.Finish();

  std::map<std::string, std::vector<const Row *>> bySource;
  std::vector<const Row *>                        all;
  for (const auto & r : rows)
  {
    bySource[r.pair.source].push_back(&r);
    all.push_back(&r);
  }
  Json summary = Json::object();
  summary["model"] = model;
  summary["postprocessing"] = !options.skipPostprocessing;
  summary["images"] = static_cast<int64_t>(rows.size());
  summary["seconds_per_image"] = seconds / static_cast<double>(rows.size());
  summary["overall"] = Summary(all);
  Json sources = Json::object();
  for (const auto & kv : bySource)
    sources[kv.first] = Summary(kv.second);
  summary["by_source"] = sources;

  // The summary table.
  std::cout << std::left << std::setw(10) << "source" << std::right << std::setw(6) << "n" << std::setw(10) << "Dice"
            << std::setw(10) << "median" << std::setw(10) << "min" << std::setw(10) << "Jaccard" << std::setw(11)
            << "precision" << std::setw(10) << "recall" << std::setw(12) << "HD95 mm"
            << "\n";
  auto printRow = [](const std::string & name, const Json & s) {
    std::cout << std::left << std::setw(10) << name << std::right << std::setw(6) << s.at("n").asInt() << std::fixed
              << std::setprecision(4) << std::setw(10) << s.at("dice_mean").asDouble() << std::setw(10)
              << s.at("dice_median").asDouble() << std::setw(10) << s.at("dice_min").asDouble() << std::setw(10)
              << s.at("jaccard_mean").asDouble() << std::setw(11) << s.at("precision_mean").asDouble() << std::setw(10)
              << s.at("recall_mean").asDouble() << std::setprecision(2) << std::setw(12)
              << s.at("hd95_mean_mm").asDouble() << "\n";
    std::cout.unsetf(std::ios::fixed);
  };
  for (const auto & kv : sources.asObject())
    printRow(kv.first, kv.second);
  printRow("overall", summary["overall"]);
  std::cout << std::setprecision(3) << summary["seconds_per_image"].asDouble() << " s per image" << std::endl;

  if (args.IsSet("outputCSV"))
  {
    std::ostringstream csv;
    csv << "id,source,dice,jaccard,precision,recall,f1,pixel_accuracy,hausdorff_mm,hd95_mm,mean_surface_mm,seconds\n";
    csv << std::setprecision(6);
    for (const auto & r : rows)
      csv << r.pair.id << ',' << r.pair.source << ',' << r.m.dice << ',' << r.m.jaccard << ',' << r.m.precision << ','
          << r.m.recall << ',' << r.m.f1 << ',' << r.m.pixelAccuracy << ',' << r.m.hausdorffMM << ','
          << r.m.hausdorff95MM << ',' << r.m.meanSurfaceDistanceMM << ',' << r.seconds << "\n";
    WriteText(args.GetString("outputCSV"), csv.str());
  }
  if (args.IsSet("summaryJSON"))
    WriteText(args.GetString("summaryJSON"), summary.dump(2) + "\n");
  returned.Set("imagesEvaluated", static_cast<int64_t>(rows.size()));
  returned.Set("diceMean", summary["overall"].at("dice_mean").asDouble());
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  app::StartApplication(argc, argv);
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, Evaluate);
}
