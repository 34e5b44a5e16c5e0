// SPDX-License-Identifier: Apache-2.0
// ResCRNetBenchmark MODEL.rcn [--threads-list 1,2] [--width 340 --height 300] [--train-width 128 --train-height 128]
//                   [--batch 8] [--repeats 3] [--json out.json] [--pytorch path/to/pytorch_eager.py]
//                   [--precisions fp32,fp16,bf16] [--inference-only]
// Measures, in one run and with the same weights: project inference (ms per image at batch 1 and 8, per thread
// count), the project training step (ms per image at batch 8), the same with LibTorch's own convolutions (the fast
// depthwise kernels switched off), PyTorch eager (Debian's python3-torch, through pytorch_eager.py), peak resident
// memory of single-image inference (measured in a child process) and the achieved GFLOP/s. Prints a table and JSON.
// Inference at batch 1 is measured in every precision of --precisions that runs on this CPU (default: fp32 and the
// reduced precisions the CPU runs, rescrnet::PrecisionAvailable); the output names the CPU features and says which
// were declared through RESCRNET_ASSUME_ISA rather than reported by CPUID.
#include "rescrnet/DepthwiseConv.h"
#include "rescrnet/JsonParsing.h"
#include "rescrnet/Losses.h"
#include "rescrnet/FusedInference.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/Precision.h"
#include "rescrnet/Predictor.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using Json = nlohmann::ordered_json;

namespace
{

struct Options
{
  std::string                      model;
  std::vector<int>                 threads{ 1, 2 };
  int64_t                          width{ 340 }, height{ 300 }, trainWidth{ 128 }, trainHeight{ 128 }, batch{ 8 };
  int                              repeats{ 3 };
  std::string                      json;
  std::string                      pytorch;
  bool                             rssChild{ false };
  bool                             inferenceOnly{ false };
  std::vector<rescrnet::Precision> precisions;
};

template <typename F>
double
BestSeconds(F && f, int repeats)
{
  f(); // warm-up
  double best = 1e300;
  for (int i = 0; i < repeats; ++i)
  {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double
InferenceMs(const rescrnet::LoadedModel & m,
            int64_t                       batch,
            int64_t                       h,
            int64_t                       w,
            int                           threads,
            int                           repeats,
            rescrnet::Precision           precision = rescrnet::Precision::Float32)
{
  rescrnet::Predictor p(m.network, m.info, threads);
  p.setPrecision(precision);
  const auto x = torch::rand({ batch, 1, h, w });
  return 1000.0 * BestSeconds([&] { p.predict(x); }, repeats) / static_cast<double>(batch);
}

double
TrainMs(const rescrnet::LoadedModel & m, const Options & o, int threads)
{
  torch::set_num_threads(threads);
  rescrnet::ResCRNet net(m.info.architecture);
  {
    torch::NoGradGuard g;
    auto               d = net->namedState();
    auto               s = m.network->namedState();
    for (size_t i = 0; i < d.size(); ++i)
      d[i].second.copy_(s[i].second);
  }
  net->train();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3).eps(1e-7));
  const auto         x = torch::rand({ o.batch, 1, o.trainHeight, o.trainWidth });
  const auto         mask = (torch::rand({ o.batch, 1, o.trainHeight, o.trainWidth }) > 0.5).to(torch::kFloat32);
  const auto         t = torch::cat({ mask, 1 - mask }, 1);
  const double       s = BestSeconds(
    [&] {
      opt.zero_grad();
      auto loss = rescrnet::ContourTanimotoLoss(net->forward(x), t);
      loss.backward();
      opt.step();
    },
    std::max(1, o.repeats - 1));
  return 1000.0 * s / static_cast<double>(o.batch);
}

// Peak resident memory (MB) of loading the model and segmenting one image, in a fresh child process.
double
PeakRssMb(const Options & o, const char * self, int threads)
{
  const std::string out = "/tmp/rescrnet-bench-rss-" + std::to_string(::getpid());
  const pid_t       pid = ::fork();
  if (pid == 0)
  {
    const std::string w = std::to_string(o.width), h = std::to_string(o.height), t = std::to_string(threads);
    ::execl(self,
            self,
            o.model.c_str(),
            "--rss-child",
            "--width",
            w.c_str(),
            "--height",
            h.c_str(),
            "--threads-list",
            t.c_str(),
            "--json",
            out.c_str(),
            static_cast<char *>(nullptr));
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(out);
  double        mb = -1;
  in >> mb;
  std::remove(out.c_str());
  return mb;
}

// VmHWM of this process (ru_maxrss would carry the parent's peak across fork and exec).
double
PeakRssOfThisProcessMb()
{
  std::ifstream status("/proc/self/status");
  std::string   line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

int
RssChild(const Options & o)
{
  rescrnet::ReturnLargeBuffersToTheSystem(); // as the applications do
  rescrnet::Predictor p = rescrnet::Predictor::FromFile(o.model, o.threads.front());
  p.predict(torch::rand({ 1, 1, o.height, o.width }));
  std::ofstream(o.json) << PeakRssOfThisProcessMb() << "\n";
  return 0;
}

Json
RunPytorch(const Options & o, int threads)
{
  if (o.pytorch.empty())
    return Json();
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 '" << o.pytorch << "' '" << o.model << "' --threads " << threads << " --width " << o.width
      << " --height " << o.height << " --train-width " << o.trainWidth << " --train-height " << o.trainHeight
      << " --batch " << o.batch << " --repeats " << o.repeats;
  std::unique_ptr<FILE, int (*)(FILE *)> pipe(::popen(cmd.str().c_str(), "r"), ::pclose);
  if (!pipe)
    return Json();
  std::string text;
  char        buf[4096];
  while (std::fgets(buf, sizeof(buf), pipe.get()))
    text += buf;
  try
  {
    return rescrnet::ParseJson(text);
  }
  catch (const std::exception &)
  {
    std::cerr << "ResCRNetBenchmark: PyTorch eager run failed: " << text << std::endl;
    return Json();
  }
}

std::vector<int>
ParseInts(const std::string & s)
{
  std::vector<int>  v;
  std::stringstream ss(s);
  std::string       item;
  while (std::getline(ss, item, ','))
    v.push_back(std::stoi(item));
  return v;
}

} // namespace

int
main(int argc, char * argv[])
{
  Options o;
  for (int i = 1; i < argc; ++i)
  {
    const std::string a = argv[i];
    auto              next = [&]() -> std::string {
      if (i + 1 >= argc)
      {
        std::cerr << "ResCRNetBenchmark: " << a << " needs a value" << std::endl;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads-list")
      o.threads = ParseInts(next());
    else if (a == "--width")
      o.width = std::stoll(next());
    else if (a == "--height")
      o.height = std::stoll(next());
    else if (a == "--train-width")
      o.trainWidth = std::stoll(next());
    else if (a == "--train-height")
      o.trainHeight = std::stoll(next());
    else if (a == "--batch")
      o.batch = std::stoll(next());
    else if (a == "--repeats")
      o.repeats = std::stoi(next());
    else if (a == "--json")
      o.json = next();
    else if (a == "--pytorch")
      o.pytorch = next();
    else if (a == "--inference-only")
      o.inferenceOnly = true;
    else if (a == "--precisions")
    {
      std::stringstream list(next());
      std::string       item;
      while (std::getline(list, item, ','))
        o.precisions.push_back(rescrnet::ParsePrecision(item));
    }
    else if (a == "--rss-child")
      o.rssChild = true;
    else if (a == "-h" || a == "--help")
    {
      std::cout << "usage: ResCRNetBenchmark MODEL.rcn [--threads-list 1,2] [--width 340 --height 300] [--train-width "
                   "128 --train-height 128] [--batch 8] [--repeats 3] [--json out.json] [--pytorch pytorch_eager.py]\n";
      return 0;
    }
    else if (o.model.empty())
      o.model = a;
    else
    {
      std::cerr << "ResCRNetBenchmark: unexpected argument " << a << std::endl;
      return 2;
    }
  }
  if (o.model.empty())
  {
    std::cerr << "ResCRNetBenchmark: give a model file (see --help)" << std::endl;
    return 2;
  }
  try
  {
    if (o.rssChild)
      return RssChild(o);
    const auto   model = rescrnet::LoadModel(o.model);
    const double gflopPerImage = model.network->flopsPerPixel() * static_cast<double>(o.width * o.height) / 1e9;
    Json         result = Json::object();
    result["model"] = o.model;
    result["size"] = { o.width, o.height };
    result["train_size"] = { o.trainWidth, o.trainHeight };
    result["batch"] = o.batch;
    result["gflop_per_image"] = gflopPerImage;
    result["fast_kernels_isa"] = rescrnet::DepthwiseConvolutionIsa();
    const rescrnet::CpuFeatures & cpu = rescrnet::DetectedCpuFeatures();
    result["cpu_features"] = cpu.describe();
    if (o.precisions.empty())
    {
      o.precisions.push_back(rescrnet::Precision::Float32);
      for (auto p : { rescrnet::Precision::Float16, rescrnet::Precision::BFloat16 })
        if (rescrnet::FusedInference::PrecisionSupported(p))
          o.precisions.push_back(p);
    }
    for (auto p : o.precisions)
      if (!rescrnet::FusedInference::PrecisionSupported(p))
        throw std::runtime_error(std::string("precision ") + rescrnet::ToString(p) + " does not run on this CPU");
    std::printf("CPU features: %s%s\n",
                cpu.describe().c_str(),
                cpu.assumedFp16 || cpu.assumedBf16
                  ? " -- features marked assumed are NOT reported by CPUID here; they were declared with "
                    "RESCRNET_ASSUME_ISA for this measurement (`auto` never uses them)"
                  : "");
    Json runs = Json::array();
    std::printf("%-34s %8s %14s %14s %10s\n", "ms per image", "threads", "project", "LibTorch conv", "PyTorch");
    for (int threads : o.threads)
    {
      Json r = Json::object();
      r["threads"] = threads;
      rescrnet::SetFastDepthwiseConvolution(true);
      const double                                fast1 = InferenceMs(model, 1, o.height, o.width, threads, o.repeats);
      Json                                        byPrecision = Json::object();
      std::vector<std::pair<std::string, double>> reduced;
      for (auto p : o.precisions)
      {
        if (p == rescrnet::Precision::Float32)
          continue;
        const double ms = InferenceMs(model, 1, o.height, o.width, threads, o.repeats, p);
        byPrecision[rescrnet::ToString(p)] = ms;
        reduced.emplace_back(rescrnet::ToString(p), ms);
      }
      byPrecision["fp32"] = fast1;
      r["inference_ms_batch1_by_precision"] = byPrecision;
      if (o.inferenceOnly)
      {
        std::printf("%-34s %8d %14.1f\n", "inference, batch 1", threads, fast1);
        for (const auto & [name, ms] : reduced)
          std::printf("%-34s %8d %14.1f\n", ("inference, batch 1, " + name).c_str(), threads, ms);
        runs.push_back(r);
        continue;
      }
      const double fast8 = InferenceMs(model, o.batch, o.height, o.width, threads, o.repeats);
      const double fastTrain = TrainMs(model, o, threads);
      rescrnet::SetFastDepthwiseConvolution(false);
      const double plain1 = InferenceMs(model, 1, o.height, o.width, threads, o.repeats);
      const double plainTrain = TrainMs(model, o, threads);
      rescrnet::SetFastDepthwiseConvolution(true);
      const Json   py = RunPytorch(o, threads);
      const double py1 = py.is_object() ? py.value("inference_ms_per_image_batch1", 0.0) : 0.0;
      const double pyTrain = py.is_object() ? py.value("train_ms_per_image", 0.0) : 0.0;
      r["inference_ms_batch1"] = fast1;
      r["inference_ms_batch8"] = fast8;
      r["train_ms_per_image"] = fastTrain;
      r["libtorch_conv_inference_ms_batch1"] = plain1;
      r["libtorch_conv_train_ms_per_image"] = plainTrain;
      r["pytorch_eager"] = py;
      r["gflops_inference_batch1"] = gflopPerImage / (fast1 / 1000.0);
      if (py1 > 0)
        r["inference_speedup_vs_pytorch"] = py1 / fast1;
      if (pyTrain > 0)
        r["train_speedup_vs_pytorch"] = pyTrain / fastTrain;
      r["peak_rss_mb_single_image"] = PeakRssMb(o, "/proc/self/exe", threads);
      runs.push_back(r);
      char py1s[32] = "-", pyTs[32] = "-";
      if (py1 > 0)
        std::snprintf(py1s, sizeof(py1s), "%.1f", py1);
      if (pyTrain > 0)
        std::snprintf(pyTs, sizeof(pyTs), "%.1f", pyTrain);
      std::printf("%-34s %8d %14.1f %14.1f %10s\n", "inference, batch 1", threads, fast1, plain1, py1s);
      for (const auto & [name, ms] : reduced)
      {
        std::printf("%-34s %8d %14.1f %14s %10s", ("inference, batch 1, " + name).c_str(), threads, ms, "", "");
        if (py1 > 0)
        {
          std::printf("   %.2fx PyTorch eager", py1 / ms);
          r[std::string("inference_speedup_vs_pytorch_") + name] = py1 / ms;
        }
        std::printf("\n");
      }
      std::printf("%-34s %8d %14.1f %14s %10s\n", "inference, batch 8", threads, fast8, "", "");
      std::printf("%-34s %8d %14.1f %14.1f %10s\n", "training step, batch 8", threads, fastTrain, plainTrain, pyTs);
      std::printf("  GFLOP/s (inference, batch 1): %.1f; peak RSS single image: %.0f MB",
                  gflopPerImage / (fast1 / 1000.0),
                  r["peak_rss_mb_single_image"].get<double>());
      if (py1 > 0 && pyTrain > 0)
        std::printf("; vs PyTorch eager: inference %.2fx, training %.2fx", py1 / fast1, pyTrain / fastTrain);
      std::printf("\n");
      std::fflush(stdout);
    }
    result["runs"] = runs;
    const std::string text = rescrnet::DumpJson(result, 2);
    if (!o.json.empty())
      std::ofstream(o.json) << text << "\n";
    std::cout << text << std::endl;
  }
  catch (const std::exception & e)
  {
    std::cerr << "ResCRNetBenchmark: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
