// SPDX-License-Identifier: Apache-2.0
// ResCRNetTrain [options] <output model file>
// Trains Res-CR-Net on image/mask pairs (a split CSV or folders); a thin wrapper over itk::ResCRNetTrainer.
#include "ResCRNetTrainXML.h"

#include "itkCommand.h"
#include "itkResCRNetTrainer.h"
#include "rescrnet/io/Dataset.h"
#include "rescrnet/io/ImageFile.h"

#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/viz/Render.h"
#include "rescrnet/viz/TrainingCurve.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace cli = rescrnet::cli;
namespace io = rescrnet::io;
namespace fs = std::filesystem;

namespace
{

using ImageType = itk::Image<float, 2>;
using LabelType = itk::Image<unsigned char, 2>;
using TrainerType = itk::ResCRNetTrainer<ImageType, LabelType>;

std::string g_CommandLine;

template <typename TImage>
typename TImage::Pointer
Read(const std::string & path)
{
  io::CheckRadiographFile(path);
  return io::ReadImage<TImage>(path);
}

std::vector<io::ImagePair>
Pairs(const cli::Arguments & args, bool validation)
{
  if (args.IsSet("split"))
  {
    std::vector<io::ImagePair> pairs;
    for (const auto & split : args.GetAll("split"))
    {
      auto some = io::ReadSplitPairs(split, args.GetString(validation ? "valSubset" : "trainSubset"));
      pairs.insert(pairs.end(), some.begin(), some.end());
    }
    return pairs;
  }
  const std::string images = args.GetString(validation ? "valImages" : "images");
  const std::string masks = args.GetString(validation ? "valMasks" : "masks");
  if (images.empty() && masks.empty() && validation)
    return {};
  if (images.empty() || masks.empty())
    throw std::runtime_error(validation ? "--valImages and --valMasks go together"
                                        : "give --split CSV or --images DIR with --masks DIR");
  return io::MatchFolderPairs(images, masks);
}

// "MC=1,SH=1,QUEXNC=2" -> {{MC, 1}, {SH, 1}, {QUEXNC, 2}}.
rescrnet::SourceWeights
SourceWeights(const std::string & text)
{
  rescrnet::SourceWeights weights;
  std::stringstream       in(text);
  std::string             item;
  while (std::getline(in, item, ','))
  {
    const auto   eq = item.find('=');
    char *       end = nullptr;
    const double w = eq == std::string::npos ? 0.0 : std::strtod(item.c_str() + eq + 1, &end);
    if (eq == std::string::npos || eq == 0 || end == item.c_str() + eq + 1 || *end != '\0' || !std::isfinite(w) ||
        w < 0.0)
      throw std::runtime_error("--sourceWeights: '" + item + "' is not SOURCE=WEIGHT with a weight >= 0");
    weights.emplace_back(item.substr(0, eq), w);
  }
  return weights;
}

std::string
Clock(double seconds)
{
  const long s = static_cast<long>(seconds);
  char       buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

// The training curves of `history` (the CSV just written) into `curve`, with the viewer's chart code
// (ResCRNetView --curve draws the same). Without a display there is no curve: one note says how to draw it later.
void
DrawCurve(const std::string & history, const std::string & curve)
{
  static bool noted = false;
  try
  {
    if (!rescrnet::viz::CanRender())
      throw rescrnet::viz::RenderError("no X display");
    rescrnet::viz::WriteTrainingCurvePNG(history, curve);
  }
  catch (const std::exception & e)
  {
    if (!noted)
      cli::PrintAboveProgress("ResCRNetTrain: the training curve is not drawn (" + std::string(e.what()) +
                              "); draw it with: ResCRNetView --curve " + history + " " + curve +
                              " (under xvfb-run -a on a server)");
    noted = true;
  }
}

int
Train(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  // Data-parallel training: the flags, else the variables torchrun sets. Only rank 0 writes files.
  rescrnet::DistributedConfig distributed = rescrnet::DistributedConfig::FromEnvironment();
  if (args.IsSet("worldSize"))
    distributed.worldSize = static_cast<int>(args.GetInt("worldSize"));
  if (args.IsSet("rank"))
    distributed.rank = static_cast<int>(args.GetInt("rank"));
  if (args.IsSet("masterAddress"))
    distributed.masterAddress = args.GetString("masterAddress");
  if (args.IsSet("masterPort"))
    distributed.masterPort = static_cast<int>(args.GetInt("masterPort"));
  distributed.validate();
  const bool writer = distributed.rank == 0;

  const std::string output = args.GetString("outputModel");
  const fs::path    folder = fs::absolute(output).parent_path();
  if (writer && !fs::is_directory(folder))
    throw std::runtime_error("cannot write " + output + ": folder " + folder.string() + " does not exist");
  const std::string history = args.IsSet("history") ? args.GetString("history") : output + ".history.csv";
  const std::string curve = args.IsSet("curve") ? args.GetString("curve") : output + ".curve.png";
  const std::string checkpoints =
    args.IsSet("checkpointDir") ? args.GetString("checkpointDir") : output + ".checkpoints";

  const auto grid = args.GetIntVector("grid");
  if (grid.size() != 2 || grid[0] < 8 || grid[1] < 8)
    throw std::runtime_error("--grid expects width,height of at least 8,8");

  rescrnet::NetworkConfig network = rescrnet::NetworkConfig::LungDefault();
  network.convResBlocks = args.GetInt("convResBlocks");
  network.filters = args.GetInt("filters");
  network.blockDropout.assign(static_cast<size_t>(network.convResBlocks + 1), 0.05);
  network.blockDropout.back() = 0.0; // the lung code's last CONV RES block has no dropout
  itk::ResCRNetModelObject::Pointer initial;
  if (args.IsSet("initModel"))
  {
    auto loaded = rescrnet::LoadModel(args.GetString("initModel"));
    network = loaded.info.architecture;
    initial = itk::ResCRNetModelObject::New();
    initial->SetModel(loaded.network, loaded.info);
  }

  rescrnet::TrainerConfig config;
  config.epochs = args.GetInt("epochs");
  config.batchSize = args.GetInt("batchSize");
  config.learningRate = args.GetDouble("learningRate");
  config.learningRateDropEpochs = args.GetIntVector("lrDropEpochs");
  config.learningRateDropFactor = args.GetDouble("lrDropFactor");
  config.seed = static_cast<uint64_t>(args.GetInt("seed"));
  config.maxMinutes = args.GetDouble("maxMinutes");
  config.earlyStoppingPatience = args.GetInt("patience");
  config.earlyStoppingMinDelta = args.GetDouble("minDelta");
  config.batchNormRecalibrationBatches = args.GetInt("bnRecalibrationBatches");
  config.threads = static_cast<int>(args.GetInt("threads"));
  config.checkpointDirectory = checkpoints;
  config.distributed = distributed;
  auto & aug = config.augmentation;
  aug.enabled = !args.GetBool("noAugmentation");
  aug.rotationDegrees = args.GetDouble("rotation");
  aug.widthShift = aug.heightShift = args.GetDouble("shift");
  aug.shearDegrees = args.GetDouble("shear");
  aug.zoom = args.GetDouble("zoom");
  aug.horizontalFlip = !args.GetBool("noHorizontalFlip");
  aug.verticalFlip = !args.GetBool("noVerticalFlip");
  aug.gamma = args.GetDouble("gamma");
  aug.contrast = args.GetDouble("contrast");
  aug.brightness = args.GetDouble("brightness");
  aug.opacities = static_cast<int>(args.GetInt("opacities"));
  config.sourceWeights = SourceWeights(args.GetString("sourceWeights"));

  const auto trainPairs = Pairs(args, false);
  const auto valPairs = Pairs(args, true);
  std::cout << "Reading " << trainPairs.size() << " training and " << valPairs.size() << " validation pairs"
            << std::endl;
  auto trainer = TrainerType::New();
  trainer->SetGridWidth(static_cast<unsigned>(grid[0]));
  trainer->SetGridHeight(static_cast<unsigned>(grid[1]));
  trainer->SetNetworkConfiguration(network);
  trainer->SetTrainerConfiguration(config);
  trainer->SetResume(args.GetBool("resume"));
  if (initial)
    trainer->SetInitialModel(initial);
  if (args.IsSet("cache") && writer) // other ranks preprocess for themselves rather than race rank 0 on the file
    trainer->SetCacheFileName(args.GetString("cache"));
  for (const auto & p : trainPairs)
    trainer->AddTrainingPair(Read<ImageType>(p.image), Read<LabelType>(p.mask), p.source);
  for (const auto & p : valPairs)
    trainer->AddValidationPair(Read<ImageType>(p.image), Read<LabelType>(p.mask), p.source);

  char host[256] = "unknown";
  ::gethostname(host, sizeof(host) - 1);
  nlohmann::ordered_json provenance = nlohmann::ordered_json::object();
  provenance["by"] = "ITKResCRNet ResCRNetTrain " RESCRNET_PROJECT_VERSION;
  provenance["command"] = g_CommandLine;
  if (args.IsSet("split"))
  {
    nlohmann::ordered_json data = nlohmann::ordered_json::array();
    for (const auto & split : args.GetAll("split"))
      data.push_back(fs::path(split).parent_path().filename().string() + "/" + fs::path(split).filename().string());
    provenance["data"] = data;
  }
  else
    provenance["data"] = args.GetString("images");
  provenance["machine"] = std::string(host) + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
  trainer->SetProvenance(provenance);

  // Progress: Slicer tags on stdout and a line with loss, rate and ETA on stderr; at a terminal, the progress line
  // on stdout with the epoch, step and loss.
  auto       last = std::chrono::steady_clock::now() - std::chrono::seconds(60);
  const bool terminal = ::isatty(STDERR_FILENO);
  const bool progressLine = cli::CurrentProgressMode() == cli::ProgressMode::Line;
  auto       stepObserver = [&]() {
    if (!writer)
      return; // rank 0 reports for all
    const auto & p = trainer->GetLastStep();
    cli::ReportProgress(trainer->GetProgress());
    if (p.steps == 0)
      return; // the start of the run, before the first step
    char line[256];
    std::snprintf(line,
                  sizeof(line),
                  "epoch %lld/%lld  step %lld/%lld  loss %.4f  %.2f img/s",
                  static_cast<long long>(p.epoch),
                  static_cast<long long>(p.epochs),
                  static_cast<long long>(p.step),
                  static_cast<long long>(p.steps),
                  p.loss,
                  p.imagesPerSecond);
    if (progressLine)
    {
      cli::SetProgressDetail(line); // the line has its own ETA
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (p.step != p.steps && now - last < std::chrono::seconds(terminal ? 1 : 30))
      return;
    last = now;
    std::cerr << (terminal ? "\r" : "") << line << "  ETA " << Clock(p.etaSeconds) << (terminal ? "   " : "\n")
              << std::flush;
  };
  auto epochObserver = [&]() {
    if (!writer)
      return;
    const auto & r = trainer->GetLastEpoch();
    char         line[256];
    std::snprintf(line,
                  sizeof(line),
                  "epoch %lld: loss %.4f  tanimoto %.4f  val_loss %.4f  val_tanimoto %.4f  val_dice %.4f  (%.0f s)",
                  static_cast<long long>(r.epoch),
                  r.loss,
                  r.tanimoto,
                  r.valLoss,
                  r.valTanimoto,
                  r.valDice,
                  r.seconds);
    if (progressLine)
      cli::PrintAboveProgress(line);
    else
      std::cerr << (terminal ? "\r" : "") << line << std::endl;
    // The record so far, after every epoch, so that a long run can be watched.
    rescrnet::WriteTrainingHistoryCsv(trainer->GetHistory(), history);
    DrawCurve(history, curve);
  };
  struct Lambda : itk::Command
  {
    std::function<void()> f;
    void
    Execute(itk::Object *, const itk::EventObject &) override
    {
      f();
    }
    void
    Execute(const itk::Object *, const itk::EventObject &) override
    {
      f();
    }
  };
  itk::SmartPointer<Lambda> stepCmd = new Lambda;
  stepCmd->UnRegister();
  stepCmd->f = stepObserver;
  itk::SmartPointer<Lambda> epochCmd = new Lambda;
  epochCmd->UnRegister();
  epochCmd->f = epochObserver;
  trainer->AddObserver(itk::ProgressEvent(), stepCmd);
  trainer->AddObserver(itk::IterationEvent(), epochCmd);

  std::cout << "Training " << config.epochs << " epochs at " << grid[0] << "x" << grid[1] << ", batch "
            << config.batchSize << ", checkpoints in " << checkpoints;
  if (distributed.enabled())
    std::cout << "; rank " << distributed.rank << " of " << distributed.worldSize << " (rendezvous "
              << distributed.masterAddress << ":" << distributed.masterPort << ")";
  std::cout << std::endl;
  try
  {
    trainer->Update();
  }
  catch (const itk::ExceptionObject & e)
  {
    throw std::runtime_error(e.GetDescription());
  }
  if (trainer->GetResumed())
    std::cout << "Continued from the checkpoint in " << checkpoints << std::endl;
  if (trainer->GetHistory().empty())
    throw std::runtime_error("no epoch completed (" + trainer->GetStopReason() + "); nothing written");
  if (!writer)
  {
    std::cout << "Rank " << distributed.rank << " stopped: " << trainer->GetStopReason() << " (rank 0 writes the files)"
              << std::endl;
    return EXIT_SUCCESS;
  }
  trainer->GetModelOutput()->Write(output);
  rescrnet::WriteTrainingHistoryCsv(trainer->GetHistory(), history);
  DrawCurve(history, curve);

  const auto & metrics = trainer->GetModelOutput()->GetInfo().metrics;
  std::cout << "Stopped: " << trainer->GetStopReason() << ". Saved " << output << " (epoch "
            << metrics.value("best_epoch", int64_t{ 0 }) << ", val_loss " << metrics.value("val_loss", 0.0)
            << ", val_dice " << metrics.value("val_dice", 0.0) << "); history " << history << ", curve " << curve
            << std::endl;
  returned.Set("epochsTrained", static_cast<int64_t>(trainer->GetHistory().size()));
  returned.Set("bestValLoss", metrics.value("val_loss", 0.0));
  returned.Set("bestValDice", metrics.value("val_dice", 0.0));
  returned.Set("stopReason", trainer->GetStopReason());
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  std::ostringstream cmd;
  for (int i = 0; i < argc; ++i)
    cmd << (i ? " " : "") << (i == 0 ? fs::path(argv[0]).filename().string() : std::string(argv[i]));
  g_CommandLine = cmd.str();
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, Train);
}
