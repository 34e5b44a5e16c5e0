// SPDX-License-Identifier: Apache-2.0
// ResCRNetPrecisionParity MODEL.rcn --split A/split.csv [--split B/split.csv ...] [--subset test]
//                         [--precision fp16|bf16] [--threads 2] [--csv per-image.csv] [--skipPostprocessing]
//                         [--referenceModules] [--record]
// The parity budget of reduced precision, measured on data: every image of the subset goes through the whole lung
// pipeline (preprocessing, network, post-processing) once in fp32 and once in the reduced precision; the tool
// reports, per split file, the mean Dice against the reference masks in both precisions and the pixels whose label
// differs between the two masks (--skipPostprocessing: before component selection and hole filling;
// --referenceModules: the reference runs on the LibTorch modules instead of the fused fp32 path, and --precision may
// be fp32, which measures how much the pipeline moves under float rounding alone; --record: write the outcome into
// the model file's metrics, "precision_parity": {"<precision>": {"passed": ..., ...}}, which Predictor's auto
// precision respects). The budget: mean Dice within 0.001 of fp32 and at most 0.2 % of the pixels
// differing in every image. Exit status 0 when the budget holds, 1 when it does not, 2 for a usage error.
// On machines whose hypervisor hides AVX512-FP16/BF16 from CPUID, run with RESCRNET_ASSUME_ISA (rescrnet/Precision.h).
#include "ResCRNetApplicationStartup.h"

#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/JsonParsing.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/Precision.h"
#include "rescrnet/io/Dataset.h"
#include "rescrnet/plugins/Pipeline.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace rescrnet;
using Json = nlohmann::ordered_json;

namespace
{
constexpr double kMaxDiceChange = 0.001;
constexpr double kMaxDifferingFraction = 0.002;

using LabelImage = itk::Image<unsigned char, 2>;

LabelImage::Pointer
ReadLabels(const std::string & path)
{
  auto reader = itk::ImageFileReader<LabelImage>::New();
  reader->SetFileName(path);
  reader->Update();
  return reader->GetOutput();
}

// Pixels whose label differs, and all pixels.
std::pair<uint64_t, uint64_t>
CompareLabels(const LabelImage * a, const LabelImage * b)
{
  if (a->GetLargestPossibleRegion() != b->GetLargestPossibleRegion())
  {
    throw std::runtime_error("the two masks have different sizes");
  }
  itk::ImageRegionConstIterator<LabelImage> ia(a, a->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImage> ib(b, b->GetLargestPossibleRegion());
  uint64_t                                  differing = 0, pixels = 0;
  for (; !ia.IsAtEnd(); ++ia, ++ib, ++pixels)
  {
    differing += (ia.Get() != 0) != (ib.Get() != 0) ? 1 : 0;
  }
  return { differing, pixels };
}

struct Options
{
  std::string              model;
  std::vector<std::string> splits;
  std::string              subset{ "test" };
  std::string              precision{ "fp16" };
  int                      threads{ 2 };
  std::string              csv;
  bool                     skipPostprocessing{ false };
  bool                     referenceModules{ false };
  bool                     record{ false };
};

int
Usage(const std::string & problem)
{
  if (!problem.empty())
  {
    std::cerr << "ResCRNetPrecisionParity: " << problem << std::endl;
  }
  std::cerr << "usage: ResCRNetPrecisionParity MODEL.rcn --split split.csv [--split ...] [--subset test] "
               "[--precision fp16|bf16] [--threads 2] [--csv per-image.csv] [--skipPostprocessing]"
            << std::endl;
  return 2;
}
// The default pipeline file with `model` in `precision` (--skipPostprocessing: without component selection and hole
// filling).
std::shared_ptr<const plugins::Pipeline>
LoadPipeline(const std::string & model, int threads, const std::string & precision, bool skipPostprocessing)
{
  plugins::PipelineRequest request;
  request.file = app::DefaultPipelinePath();
  if (request.file.empty())
    throw std::runtime_error("the default pipeline (Pipelines/lung-segmentation.json) was not found");
  request.model = model;
  request.settings = {
    { plugins::ComponentKind::Backend, "", "threads", threads, "--threads" },
    { plugins::ComponentKind::Backend, "", "precision", precision, "--precision" },
    { plugins::ComponentKind::Stage, "lung-mask", "skipPostprocessing", skipPostprocessing, "--skipPostprocessing" }
  };
  return plugins::Pipeline::Load(request);
}
} // namespace

int
main(int argc, char * argv[])
{
  app::StartApplication(argc, argv);
  Options o;
  for (int i = 1; i < argc; ++i)
  {
    const std::string a = argv[i];
    auto              next = [&]() -> std::string {
      if (i + 1 >= argc)
      {
        throw std::invalid_argument(a + " needs a value");
      }
      return argv[++i];
    };
    try
    {
      if (a == "--split")
        o.splits.push_back(next());
      else if (a == "--subset")
        o.subset = next();
      else if (a == "--precision")
        o.precision = next();
      else if (a == "--threads")
        o.threads = std::stoi(next());
      else if (a == "--csv")
        o.csv = next();
      else if (a == "--skipPostprocessing")
        o.skipPostprocessing = true;
      else if (a == "--referenceModules")
        o.referenceModules = true;
      else if (a == "--record")
        o.record = true;
      else if (a == "-h" || a == "--help")
        return Usage("");
      else if (o.model.empty() && a.rfind("--", 0) != 0)
        o.model = a;
      else
        return Usage("unexpected argument " + a);
    }
    catch (const std::exception & e)
    {
      return Usage(e.what());
    }
  }
  if (o.model.empty() || o.splits.empty())
  {
    return Usage("give a model file and at least one --split");
  }
  try
  {
    const Precision reduced = ParsePrecision(o.precision);
    if (reduced != Precision::Float16 && reduced != Precision::BFloat16 &&
        !(o.referenceModules && reduced == Precision::Float32))
    {
      return Usage("--precision: fp16 or bf16 (or fp32 with --referenceModules)");
    }
    const auto fp32Pipeline = LoadPipeline(o.model, o.threads, "fp32", o.skipPostprocessing);
    const auto reducedPipeline = LoadPipeline(o.model, o.threads, o.precision, o.skipPostprocessing);
    std::cout << "model " << o.model << "; CPU " << DetectedCpuFeatures().describe() << "; "
              << (o.referenceModules ? "fp32 on the LibTorch modules" : "fp32") << " vs " << o.precision << std::endl;
    // --skipPostprocessing: the network's own differences (thresholded probabilities on the image grid), without the
    // component selection and hole filling that can turn a few flipped pixels into a whole region.
    const fs::path tmp = fs::temp_directory_path() / ("rescrnet-parity-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    std::ofstream csv;
    if (!o.csv.empty())
    {
      csv.open(o.csv);
      csv << "split,id,source,dice_fp32,dice_" << o.precision << ",differing_pixels,pixels,differing_fraction\n";
    }
    bool        pass = true;
    double      maxDiceChange = 0, worstAll = 0;
    int64_t     imagesAll = 0, overAll = 0;
    Json        data = Json::array();
    const auto  start = std::chrono::steady_clock::now();
    std::size_t done = 0;
    for (const auto & split : o.splits)
    {
      const auto pairs = io::ReadSplitPairs(split, o.subset);
      double     diceA = 0, diceB = 0, worstFraction = 0;
      uint64_t   differingAll = 0, pixelsAll = 0;
      int        over = 0;
      for (const auto & pair : pairs)
      {
        const std::string fa = (tmp / "fp32.nrrd").string(), fb = (tmp / "reduced.nrrd").string();
        SetFastDepthwiseConvolution(!o.referenceModules);
        const auto ra = fp32Pipeline->Run({ { "input", pair.image }, { "output", fa }, { "reference", pair.mask } });
        SetFastDepthwiseConvolution(true);
        const auto rb = reducedPipeline->Run({ { "input", pair.image }, { "output", fb }, { "reference", pair.mask } });
        const auto [differing, pixels] = CompareLabels(ReadLabels(fa), ReadLabels(fb));
        const double fraction = static_cast<double>(differing) / static_cast<double>(pixels);
        const double da = ra.measures.value("dice", 0.0), db = rb.measures.value("dice", 0.0);
        diceA += da;
        diceB += db;
        differingAll += differing;
        pixelsAll += pixels;
        worstFraction = std::max(worstFraction, fraction);
        over += fraction > kMaxDifferingFraction ? 1 : 0;
        if (csv.is_open())
        {
          csv << split << ',' << pair.id << ',' << pair.source << ',' << da << ',' << db << ',' << differing << ','
              << pixels << ',' << fraction << "\n";
        }
        ++done;
        if (done % 20 == 0)
        {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::cerr << "  " << done << " images, " << s / static_cast<double>(done) << " s per image" << std::endl;
        }
      }
      const double n = static_cast<double>(pairs.size());
      const double meanA = diceA / n, meanB = diceB / n;
      const bool   ok = std::abs(meanB - meanA) <= kMaxDiceChange && over == 0;
      pass = pass && ok;
      maxDiceChange = std::max(maxDiceChange, std::abs(meanB - meanA));
      worstAll = std::max(worstAll, worstFraction);
      imagesAll += static_cast<int64_t>(pairs.size());
      overAll += over;
      data.push_back(fs::path(split).parent_path().filename().string() + "/" + fs::path(split).filename().string());
      std::printf("%s (%s, %zu images): mean Dice fp32 %.5f, %s %.5f (change %+.5f); differing pixels %.4f %% "
                  "overall, worst image %.4f %%, images over 0.2 %%: %d -> %s\n",
                  split.c_str(),
                  o.subset.c_str(),
                  pairs.size(),
                  meanA,
                  o.precision.c_str(),
                  meanB,
                  meanB - meanA,
                  100.0 * static_cast<double>(differingAll) / static_cast<double>(pixelsAll),
                  100.0 * worstFraction,
                  over,
                  ok ? "within the budget" : "OVER THE BUDGET");
      std::fflush(stdout);
    }
    fs::remove_all(tmp);
    if (o.record)
    {
      if (o.referenceModules || o.skipPostprocessing)
      {
        throw std::runtime_error("--record takes the budget's own measurement (no --referenceModules, no "
                                 "--skipPostprocessing)");
      }
      LoadedModel m = LoadModel(o.model);
      if (!m.info.metrics.is_object())
      {
        m.info.metrics = Json::object();
      }
      if (!m.info.metrics.contains("precision_parity"))
      {
        m.info.metrics["precision_parity"] = Json::object();
      }
      Json r = Json::object();
      r["passed"] = pass;
      r["subset"] = o.subset;
      r["data"] = data;
      r["images"] = imagesAll;
      r["max_mean_dice_change"] = maxDiceChange;
      r["worst_image_differing_fraction"] = worstAll;
      r["images_over_budget"] = overAll;
      r["budget"] = "mean Dice within 0.001 of fp32, at most 0.2 % of the mask pixels differing per image";
      m.info.metrics["precision_parity"][o.precision] = r;
      SaveModel(o.model, m.network, m.info);
      std::cout << "recorded in " << o.model << ": precision_parity." << o.precision << ".passed = " << std::boolalpha
                << pass << std::endl;
    }
    return pass ? 0 : 1;
  }
  catch (const std::exception & e)
  {
    std::cerr << "ResCRNetPrecisionParity: " << e.what() << std::endl;
    return 2;
  }
}
