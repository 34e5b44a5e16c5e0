// SPDX-License-Identifier: Apache-2.0
// ResCRNetEvaluate --model FILE (--split CSV [--subset test] | --images DIR --masks DIR) [--outputCSV F]
//                  [--summaryJson F] [--threads N] [--precision P] [--skipPostprocessing]
// Runs the full lung pipeline on image/mask pairs and reports per-image metrics and a summary per source.
#include "ResCRNetEvaluateXML.h"

#include "ResCRNetApplicationStartup.h"

#include "itkImage.h"
#include "itkLungMaskQualityCalculator.h"
#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
#include "rescrnet/JsonParsing.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/Dataset.h"
#include "rescrnet/plugins/Pipeline.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace io = rescrnet::io;
namespace plugins = rescrnet::plugins;
using json = nlohmann::ordered_json;

namespace
{

using Pair = io::ImagePair;

// The metrics of the pipeline's compare-reference stage.
struct Metrics
{
  double dice{ 0 }, jaccard{ 0 }, precision{ 0 }, recall{ 0 }, f1{ 0 }, pixelAccuracy{ 0 };
  double hausdorffMM{ 0 }, hausdorff95MM{ 0 }, meanSurfaceDistanceMM{ 0 };
};

// The reference-free quality estimate of the pipeline's quality stage: score, ';'-separated flags, the signals
// behind them (name, value) in LungMaskQualityCalculator's order; zero and empty without a quality stage.
struct Quality
{
  double                                      score{ 0 };
  std::string                                 flags;
  std::vector<std::pair<std::string, double>> signals;
};

struct Row
{
  Pair    pair;
  Metrics m;
  Quality quality;
  double  seconds{ 0 };
};

// The options that set parameters of the pipeline's stages and model (their XML comes from the declarations).
const std::vector<plugins::CommandLineOption> StageOptions = {
  { plugins::ComponentKind::Stage, "lung-mask", "threshold" },
  { plugins::ComponentKind::Stage, "lung-mask", "skipPostprocessing" },
  { plugins::ComponentKind::Backend, "rescrnet-model", "threads" },
  { plugins::ComponentKind::Backend, "rescrnet-model", "precision" },
};

Metrics
MetricsOf(const plugins::Json & measures, const std::string & image)
{
  if (!measures.contains("dice"))
    throw std::runtime_error("the pipeline measured no Dice for " + image + ": it needs a compare-reference stage");
  const auto get = [&](const char * name) { return measures.value(name, 0.0); };
  return { get("dice"),           get("jaccard"),      get("precision"), get("recall"),         get("f1"),
           get("pixel_accuracy"), get("hausdorff_mm"), get("hd95_mm"),   get("mean_surface_mm") };
}

Quality
QualityOf(const plugins::Json & measures)
{
  Quality q;
  if (!measures.contains("quality_score"))
    return q;
  q.score = measures.value("quality_score", 0.0);
  q.flags = measures.value("quality_flags", std::string());
  using Calculator = itk::LungMaskQualityCalculator<itk::Image<float, 2>, itk::Image<unsigned char, 2>>;
  for (const char * name : Calculator::SignalNames())
    q.signals.emplace_back(name, measures.value(std::string("quality_") + name, 0.0));
  return q;
}

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

// The quality score is calibrated to tell masks with Dice below this from the rest.
constexpr double QualityDiceLimit = 0.90;

// Area under the ROC curve of the quality score for telling masks with Dice >= QualityDiceLimit (positives) from
// those below (Mann-Whitney U, ties counted half); NaN when either class is empty.
double
QualityAuc(const std::vector<const Row *> & rows)
{
  std::vector<double> good, bad;
  for (const Row * r : rows)
    (r->m.dice >= QualityDiceLimit ? good : bad).push_back(r->quality.score);
  if (good.empty() || bad.empty())
    return std::nan("");
  double u = 0;
  for (double g : good)
    for (double b : bad)
      u += g > b ? 1.0 : (g == b ? 0.5 : 0.0);
  return u / (static_cast<double>(good.size()) * static_cast<double>(bad.size()));
}

json
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
  json j = json::object();
  j["n"] = static_cast<int64_t>(rows.size());
  j["dice_mean"] = Mean(dice);
  j["dice_median"] = Median(dice);
  j["dice_min"] = dice.empty() ? 0.0 : *std::min_element(dice.begin(), dice.end());
  j["jaccard_mean"] = Mean(jac);
  j["precision_mean"] = Mean(prec);
  j["recall_mean"] = Mean(rec);
  j["hd95_mean_mm"] = Mean(hd95);
  j["below_0.90"] = static_cast<int64_t>(
    std::count_if(rows.begin(), rows.end(), [](const Row * r) { return r->m.dice < QualityDiceLimit; }));
  const double auc = QualityAuc(rows);
  if (std::isfinite(auc))
    j["quality_auc"] = auc;
  return j;
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
  for (const char * out : { "outputCSV", "summaryJson" })
    if (args.IsSet(out))
      rescrnet::CheckWritableFolder(args.GetString(out));
  const auto pairs = splitMode ? io::ReadSplitPairs(args.GetString("split"), args.GetString("subset"))
                               : io::MatchFolderPairs(args.GetString("images"), args.GetString("masks"));

  const auto pipeline = plugins::Pipeline::Load(app::PipelineRequestFromArguments(args, StageOptions));
  for (const auto & w : pipeline->Warnings())
    std::cerr << cli::module::Name << ": warning: " << w << std::endl;
  if (args.EchoRequested())
    std::cout << "Effective pipeline:\n" << rescrnet::DumpJson(pipeline->Effective(), 2) << std::endl;
  const std::string model = pipeline->Effective().contains("model")
                              ? pipeline->Effective()["model"].value("file", std::string())
                              : std::string("none");
  bool              postprocessing = true;
  for (const auto & stage : pipeline->Effective()["stages"])
    if (stage.value("stage", std::string()) == "lung-mask")
      postprocessing = !stage["parameters"].value("skipPostprocessing", false);
  std::cout << "Evaluating " << pairs.size() << " image/mask pairs with " << model << " (pipeline " << pipeline->Id()
            << (postprocessing ? "" : ", no post-processing") << ")" << std::endl;
  std::vector<Row>     rows;
  cli::ConsoleProgress progress(pairs.size(), "img");
  double               seconds = 0;
  for (size_t i = 0; i < pairs.size(); ++i)
  {
    const auto r = pipeline->Run({ { "input", pairs[i].image }, { "reference", pairs[i].mask } }, [&](double f) {
      cli::ReportProgress((static_cast<double>(i) + f) / static_cast<double>(pairs.size()));
    });
    rows.push_back({ pairs[i], MetricsOf(r.measures, pairs[i].image), QualityOf(r.measures), r.seconds });
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
  json summary = json::object();
  summary["model"] = model;
  summary["pipeline"] = pipeline->Id();
  summary["postprocessing"] = postprocessing;
  summary["images"] = static_cast<int64_t>(rows.size());
  summary["seconds_per_image"] = seconds / static_cast<double>(rows.size());
  summary["overall"] = Summary(all);
  json sources = json::object();
  for (const auto & kv : bySource)
    sources[kv.first] = Summary(kv.second);
  summary["by_source"] = sources;

  // The summary table.
  std::cout << std::left << std::setw(10) << "source" << std::right << std::setw(6) << "n" << std::setw(10) << "Dice"
            << std::setw(10) << "median" << std::setw(10) << "min" << std::setw(10) << "Jaccard" << std::setw(11)
            << "precision" << std::setw(10) << "recall" << std::setw(12) << "HD95 mm"
            << "\n";
  auto printRow = [](const std::string & name, const json & s) {
    std::cout << std::left << std::setw(10) << name << std::right << std::setw(6) << s.at("n").get<int64_t>()
              << std::fixed << std::setprecision(4) << std::setw(10) << s.at("dice_mean").get<double>() << std::setw(10)
              << s.at("dice_median").get<double>() << std::setw(10) << s.at("dice_min").get<double>() << std::setw(10)
              << s.at("jaccard_mean").get<double>() << std::setw(11) << s.at("precision_mean").get<double>()
              << std::setw(10) << s.at("recall_mean").get<double>() << std::setprecision(2) << std::setw(12)
              << s.at("hd95_mean_mm").get<double>() << "\n";
    std::cout.unsetf(std::ios::fixed);
  };
  for (const auto & [name, source] : sources.items())
    printRow(name, source);
  printRow("overall", summary["overall"]);
  std::cout << std::setprecision(3) << summary["seconds_per_image"].get<double>() << " s per image" << std::endl;
  const json & overall = summary["overall"];
  if (overall.contains("quality_auc"))
    std::cout << "Quality score: AUC " << overall.at("quality_auc").get<double>() << " for telling the "
              << overall.at("below_0.90").get<int64_t>() << " masks with Dice < " << QualityDiceLimit
              << " from the rest" << std::endl;

  if (args.IsSet("outputCSV"))
  {
    using rescrnet::CsvTable;
    std::vector<std::string> header{ "id",           "source",          "dice",
                                     "jaccard",      "precision",       "recall",
                                     "f1",           "pixel_accuracy",  "hausdorff_mm",
                                     "hd95_mm",      "mean_surface_mm", "quality_score",
                                     "quality_flags" };
    if (!rows.empty())
      for (const auto & signal : rows.front().quality.signals)
        header.push_back("quality_" + signal.first);
    header.push_back("seconds");
    CsvTable csv(header);
    for (const auto & r : rows)
    {
      std::vector<std::string> cells{ r.pair.id,
                                      r.pair.source,
                                      CsvTable::number(r.m.dice),
                                      CsvTable::number(r.m.jaccard),
                                      CsvTable::number(r.m.precision),
                                      CsvTable::number(r.m.recall),
                                      CsvTable::number(r.m.f1),
                                      CsvTable::number(r.m.pixelAccuracy),
                                      CsvTable::number(r.m.hausdorffMM),
                                      CsvTable::number(r.m.hausdorff95MM),
                                      CsvTable::number(r.m.meanSurfaceDistanceMM),
                                      CsvTable::number(r.quality.score),
                                      r.quality.flags };
      for (const auto & signal : r.quality.signals)
        cells.push_back(CsvTable::number(signal.second));
      cells.push_back(CsvTable::number(r.seconds));
      csv.addRow(cells);
    }
    csv.write(args.GetString("outputCSV"));
  }
  if (args.IsSet("summaryJson"))
    rescrnet::WriteFileAtomically(args.GetString("summaryJson"), rescrnet::DumpJson(summary, 2) + "\n");
  returned.Set("imagesEvaluated", static_cast<int64_t>(rows.size()));
  returned.Set("diceMean", summary["overall"].at("dice_mean").get<double>());
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  app::StartApplication(argc, argv);
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, Evaluate);
}
