// SPDX-License-Identifier: Apache-2.0
// ResCRNetFolderBenchmark MODEL.rcn FOLDER|MANIFEST.csv [--threads 2] [--precision fp32] [--images 20]
//                         [--inFlight 1,3] [--rounds 2] [--json out.json]
// Folder-mode throughput next to the network's: the first --images images of the folder (or manifest) go through
// app::BatchSegmentation with the default pipeline file (read, preprocess, network, post-process, quality, write
// the label map; results CSV) into a
// temporary folder, once for every --inFlight value; the network alone runs the same number of images on the
// model's input grid (Predictor::predict at batch 1, inputs prepared beforehand). Prints images/s of each and the
// end-to-end share of the network-only rate (the acceptance target: at least 90 %). The measurements alternate for
// --rounds rounds and each reports its best round (the machine is shared: alternating spreads its load over all).
#include "ResCRNetApplicationStartup.h"
#include "ResCRNetBatchSegmentation.h"

#include "rescrnet/JsonParsing.h"
#include "rescrnet/Precision.h"
#include "rescrnet/Predictor.h"
#include "rescrnet/io/BatchInput.h"
#include "rescrnet/io/ImageFile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace rescrnet;

int
main(int argc, char * argv[])
{
  app::StartApplication(argc, argv);
  try
  {
    if (argc < 3)
    {
      std::cerr << "usage: ResCRNetFolderBenchmark MODEL.rcn FOLDER|MANIFEST.csv [--threads 2] [--precision fp32] "
                   "[--images 20] [--inFlight 1,3] [--json out.json]\n";
      return 2;
    }
    const std::string     model = argv[1], input = argv[2];
    int                   threads = 2;
    int                   rounds = 2;
    size_t                count = 20;
    std::string           precision = "fp32", json;
    std::vector<unsigned> inFlight{ 1, 3 };
    for (int i = 3; i < argc; ++i)
    {
      const std::string a = argv[i];
      if (i + 1 >= argc)
        throw std::invalid_argument("missing value after " + a);
      const std::string v = argv[++i];
      if (a == "--threads")
        threads = std::stoi(v);
      else if (a == "--images")
        count = static_cast<size_t>(std::stoul(v));
      else if (a == "--precision")
        precision = v;
      else if (a == "--rounds")
        rounds = std::max(1, std::stoi(v));
      else if (a == "--json")
        json = v;
      else if (a == "--inFlight")
      {
        inFlight.clear();
        std::stringstream list(v);
        std::string       item;
        while (std::getline(list, item, ','))
          inFlight.push_back(static_cast<unsigned>(std::stoul(item)));
      }
      else
        throw std::invalid_argument("unknown option " + a);
    }
    auto paths = fs::is_directory(input) ? io::ListImages(input) : io::ReadManifest(input);
    if (paths.size() > count)
      paths.resize(count);
    if (paths.empty())
      throw std::runtime_error("no images in " + input);
    // The network alone: a predictor of its own with the pipeline's model settings.
    auto predictor = std::make_shared<Predictor>(Predictor::FromFile(model, threads));
    predictor->setPrecision(ParsePrecision(precision));
    // The folder mode: the default pipeline file with this model, threads and precision.
    plugins::PipelineRequest request;
    request.file = app::DefaultPipelinePath();
    if (request.file.empty())
      throw std::runtime_error("the default pipeline (Pipelines/lung-segmentation.json) was not found");
    request.model = model;
    request.settings = { { plugins::ComponentKind::Backend, "", "threads", threads, "--threads" },
                         { plugins::ComponentKind::Backend, "", "precision", precision, "--precision" } };
    const auto pipeline = plugins::Pipeline::Load(request);
    const auto items = io::SelectShard(paths, {});
    const auto grid = predictor->info().input;

    // The network alone, on the model's grid, after one warm-up (which also resolves auto precision); then the
    // folder mode for every --inFlight value; alternating, --rounds times.
    const auto x = torch::rand({ 1, 1, grid.height, grid.width });
    predictor->predict(x);
    const fs::path      tmp = fs::temp_directory_path() / ("rescrnet-folder-benchmark-" + std::to_string(getpid()));
    double              networkSeconds = 1e300;
    std::vector<double> batchSeconds(inFlight.size(), 1e300);
    for (int round = 0; round < rounds; ++round)
    {
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < paths.size(); ++i)
        predictor->predict(x);
      networkSeconds =
        std::min(networkSeconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      for (size_t k = 0; k < inFlight.size(); ++k)
      {
        fs::remove_all(tmp);
        app::BatchOptions options;
        options.outputFolder = tmp.string();
        options.imagesInFlight = inFlight[k];
        options.measures = app::BatchSegmentation::LungMeasures();
        const auto s = app::BatchSegmentation(*pipeline, options).Run(items);
        if (s.failed)
          throw std::runtime_error(std::to_string(s.failed) + " images failed");
        batchSeconds[k] = std::min(batchSeconds[k], s.seconds);
      }
    }
    fs::remove_all(tmp);
    const double networkRate = static_cast<double>(paths.size()) / networkSeconds;
    std::printf("%zu images, %d threads, %s (effective %s), network input %lldx%lld, best of %d rounds\n",
                paths.size(),
                threads,
                precision.c_str(),
                ToString(predictor->effectivePrecision()),
                static_cast<long long>(grid.width),
                static_cast<long long>(grid.height),
                rounds);
    std::printf("%-36s %8.2f images/s  (%.1f ms/image)\n", "network only", networkRate, 1000.0 / networkRate);
    auto result = nlohmann::ordered_json::object();
    result["images"] = paths.size();
    result["threads"] = threads;
    result["rounds"] = rounds;
    result["precision"] = ToString(predictor->effectivePrecision());
    result["network_only_images_per_s"] = networkRate;
    for (size_t k = 0; k < inFlight.size(); ++k)
    {
      const double rate = static_cast<double>(paths.size()) / batchSeconds[k];
      char         label[64];
      std::snprintf(label, sizeof(label), "end to end, %u in flight", inFlight[k]);
      std::printf("%-36s %8.2f images/s  (%.1f ms/image)  %5.1f %% of network only\n",
                  label,
                  rate,
                  1000.0 / rate,
                  100.0 * rate / networkRate);
      result["end_to_end_images_per_s_in_flight_" + std::to_string(inFlight[k])] = rate;
      result["end_to_end_share_of_network_in_flight_" + std::to_string(inFlight[k])] = rate / networkRate;
    }
    if (!json.empty())
      std::ofstream(json) << DumpJson(result, 2) << "\n";
    return 0;
  }
  catch (const std::exception & e)
  {
    std::cerr << "ResCRNetFolderBenchmark: " << e.what() << std::endl;
    return 1;
  }
}
