// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Trainer.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
#include "rescrnet/Losses.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <numeric>
#include <sstream>

namespace rescrnet
{

namespace
{

// Runs `save`, which writes into `dir`, after creating `dir`; a folder created here is removed again when the save
// fails and leaves it empty (a full disk), so that a failed run leaves nothing behind.
void
SaveInFolder(const std::filesystem::path & dir, const std::function<void()> & save)
{
  const bool created = std::filesystem::create_directories(dir);
  try
  {
    save();
  }
  catch (...)
  {
    std::error_code ec;
    if (created && std::filesystem::is_empty(dir, ec))
      std::filesystem::remove(dir, ec);
    throw;
  }
}
using Clock = std::chrono::steady_clock;

double
secondsSince(Clock::time_point t)
{
  return std::chrono::duration<double>(Clock::now() - t).count();
}

using json = nlohmann::ordered_json;

json
recordToJson(const EpochRecord & r)
{
  json j = json::object();
  j["epoch"] = r.epoch;
  j["loss"] = r.loss;
  j["tanimoto"] = r.tanimoto;
  j["val_loss"] = r.valLoss;
  j["val_tanimoto"] = r.valTanimoto;
  j["val_dice"] = r.valDice;
  j["seconds"] = r.seconds;
  j["learning_rate"] = r.learningRate;
  if (!r.valDiceBySource.empty())
  {
    json bySource = json::object();
    for (const auto & kv : r.valDiceBySource)
      bySource[kv.first] = kv.second;
    j["val_dice_by_source"] = bySource;
  }
  return j;
}

EpochRecord
recordFromJson(const json & j)
{
  EpochRecord r;
  r.epoch = JsonInteger(j.at("epoch"));
  r.loss = j.at("loss").get<double>();
  r.tanimoto = j.at("tanimoto").get<double>();
  r.valLoss = j.at("val_loss").get<double>();
  r.valTanimoto = j.at("val_tanimoto").get<double>();
  r.valDice = j.at("val_dice").get<double>();
  r.seconds = j.at("seconds").get<double>();
  r.learningRate = j.at("learning_rate").get<double>();
  if (const auto bySource = j.find("val_dice_by_source"); bySource != j.end())
    for (const auto & kv : bySource->items())
      r.valDiceBySource.emplace_back(kv.key(), kv.value().get<double>());
  return r;
}

std::vector<torch::Tensor>
cloneState(const ResCRNet & net)
{
  std::vector<torch::Tensor> out;
  for (const auto & kv : net->namedState())
    out.push_back(kv.second.detach().clone());
  return out;
}

void
copyState(ResCRNet & dst, const ResCRNet & src)
{
  torch::NoGradGuard g;
  auto               d = dst->namedState();
  auto               s = src->namedState();
  for (size_t i = 0; i < d.size(); ++i)
    d[i].second.copy_(s[i].second);
}

std::vector<torch::nn::BatchNorm2d>
batchNorms(ResCRNet & net)
{
  std::vector<torch::nn::BatchNorm2d> out;
  for (const auto & m : net->modules(false))
  {
    if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(m))
      out.emplace_back(bn);
  }
  return out;
}

// Sum over images of the lung (class 0) Dice at p > 0.5; an image with neither segmentation nor reference counts 1.
torch::Tensor
diceSum(const torch::Tensor & p, const torch::Tensor & t)
{
  auto seg = (p.select(1, 0) > 0.5).to(torch::kFloat32);
  auto ref = (t.select(1, 0) > 0.5).to(torch::kFloat32);
  auto inter = (seg * ref).sum({ 1, 2 });
  auto sums = seg.sum({ 1, 2 }) + ref.sum({ 1, 2 });
  auto d = torch::where(sums > 0, 2.0 * inter / sums.clamp_min(1.0), torch::ones_like(sums));
  return d.sum();
}

// Averages the floating-point batch-norm buffers (running mean and variance) over the ranks.
void
averageRunningStatistics(ResCRNet & network, ProcessGroup & group)
{
  std::vector<torch::Tensor> stats;
  for (auto & bn : batchNorms(network))
  {
    stats.push_back(bn->running_mean);
    stats.push_back(bn->running_var);
  }
  group.allReduceSum(stats);
  torch::NoGradGuard g;
  for (auto & t : stats)
    t.div_(static_cast<double>(group.worldSize()));
}
} // namespace

void
TrainingData::validate(const NetworkConfig & config, const std::string & what) const
{
  if (!images.defined() || !masks.defined())
    throw std::invalid_argument(what + ": no images");
  if (images.dim() != 4 || masks.dim() != 4)
    throw std::invalid_argument(what + ": images and masks must be [N, C, H, W]");
  if (images.size(0) != masks.size(0) || images.size(2) != masks.size(2) || images.size(3) != masks.size(3))
    throw std::invalid_argument(what + ": images and masks differ in count or size");
  if (images.size(1) != config.inputChannels)
    throw std::invalid_argument(what + ": images have " + std::to_string(images.size(1)) +
                                " channel(s), the network expects " + std::to_string(config.inputChannels));
  if (masks.size(1) != config.numClasses)
    throw std::invalid_argument(what + ": masks have " + std::to_string(masks.size(1)) + " classes, the network has " +
                                std::to_string(config.numClasses));
  if (!sources.empty() && static_cast<int64_t>(sources.size()) != images.size(0))
    throw std::invalid_argument(what + ": " + std::to_string(sources.size()) + " source names for " +
                                std::to_string(images.size(0)) + " images");
}

std::vector<std::string>
TrainingData::sourceNames() const
{
  std::vector<std::string> names;
  for (const auto & s : sources)
    if (std::find(names.begin(), names.end(), s) == names.end())
      names.push_back(s);
  return names;
}

TrainingData
TrainingData::subset(const std::string & source) const
{
  std::vector<int64_t> idx;
  for (size_t i = 0; i < sources.size(); ++i)
    if (sources[i] == source)
      idx.push_back(static_cast<int64_t>(i));
  TrainingData out;
  if (idx.empty())
    return out;
  const auto index = torch::tensor(idx);
  out.images = images.index_select(0, index);
  out.masks = masks.index_select(0, index);
  for (int64_t i : idx)
  {
    if (static_cast<size_t>(i) < ids.size())
      out.ids.push_back(ids[static_cast<size_t>(i)]);
    out.sources.push_back(source);
  }
  return out;
}

nlohmann::ordered_json
TrainerConfig::toJson() const
{
  json j = json::object();
  j["epochs"] = epochs;
  j["batch_size"] = batchSize;
  j["learning_rate"] = learningRate;
  j["adam_epsilon"] = adamEpsilon;
  j["seed"] = static_cast<uint64_t>(seed);
  j["shuffle"] = shuffle;
  j["augmentation"] = augmentation.toJson();
  if (!sourceWeights.empty())
  {
    json weights = json::object();
    for (const auto & kv : sourceWeights)
      weights[kv.first] = kv.second;
    j["source_weights"] = weights;
  }
  j["learning_rate_drop_epochs"] = learningRateDropEpochs;
  j["learning_rate_drop_factor"] = learningRateDropFactor;
  j["max_minutes"] = maxMinutes;
  j["early_stopping_patience"] = earlyStoppingPatience;
  j["early_stopping_min_delta"] = earlyStoppingMinDelta;
  j["batch_norm_recalibration_batches"] = batchNormRecalibrationBatches;
  if (distributed.enabled())
    j["distributed"] = distributed.toJson();
  j["loss"] = "weighted Tanimoto with complement, contour weights, smoothing 1";
  return j;
}

void
TrainerConfig::validate() const
{
  auto fail = [](const std::string & what) { throw std::invalid_argument(what); };
  auto number = [&fail](const char * name, double value, double lo, double hi, bool openLow) {
    if (!std::isfinite(value) || value > hi || (openLow ? value <= lo : value < lo))
    {
      char text[160];
      std::snprintf(text, sizeof(text), " must be a number in %s%g, %g], not %g", openLow ? "(" : "[", lo, hi, value);
      fail(std::string(name) + text);
    }
  };
  if (epochs < 1 || epochs > 1000000)
    fail("epochs must be in [1, 1000000], not " + std::to_string(epochs));
  if (batchSize < 1 || batchSize > 65536)
    fail("the batch size must be in [1, 65536], not " + std::to_string(batchSize));
  number("the learning rate", learningRate, 0.0, 10.0, true);
  number("Adam's epsilon", adamEpsilon, 0.0, 1.0, true);
  number("the learning-rate drop factor", learningRateDropFactor, 0.0, 1.0, true);
  for (int64_t e : learningRateDropEpochs)
    if (e < 1)
      fail("learning-rate drop epochs must be >= 1, not " + std::to_string(e));
  number("the time budget (minutes)", maxMinutes, 0.0, 1.0e7, false);
  if (earlyStoppingPatience < 0)
    fail("the early-stopping patience must be >= 0");
  number("the early-stopping minimum change", earlyStoppingMinDelta, 0.0, 1.0e6, false);
  if (batchNormRecalibrationBatches < 0 || batchNormRecalibrationBatches > 1000000)
    fail("batch-norm recalibration batches must be in [0, 1000000]");
  if (threads < 0 || threads > 4096)
    fail("threads must be in [0, 4096], not " + std::to_string(threads));
  const AugmentationConfig & a = augmentation;
  number("the rotation (degrees)", a.rotationDegrees, 0.0, 360.0, false);
  number("the width shift", a.widthShift, 0.0, 1.0, false);
  number("the height shift", a.heightShift, 0.0, 1.0, false);
  number("the shear (degrees)", a.shearDegrees, 0.0, 89.0, false);
  number("the zoom", a.zoom, 0.0, 0.99, false);
  number("the gamma range", a.gamma, 0.0, 10.0, false);
  number("the contrast range", a.contrast, 0.0, 1.0, false);
  number("the brightness range", a.brightness, 0.0, 1.0, false);
  number("the opacity strength", a.opacityStrength, 0.0, 10.0, false);
  if (a.opacities < 0 || a.opacities > 100)
    fail("opacities must be in [0, 100], not " + std::to_string(a.opacities));
  distributed.validate();
}

Trainer::Trainer(ResCRNet network, ModelInfo info, TrainerConfig config)
  : m_Network(std::move(network))
  , m_Info(std::move(info))
  , m_Config(std::move(config))
{
  m_Config.validate();
  m_Info.architecture = m_Network->config();
  m_Optimizer = std::make_unique<torch::optim::Adam>(
    m_Network->parameters(), torch::optim::AdamOptions(m_Config.learningRate).eps(m_Config.adamEpsilon));
  if (m_Config.distributed.enabled())
    m_Group = std::make_unique<ProcessGroup>(m_Config.distributed);
}

void
Trainer::setTrainingData(TrainingData data)
{
  data.validate(m_Network->config(), "training data");
  const auto names = data.sourceNames();
  double     total = 0;
  for (const auto & kv : m_Config.sourceWeights)
  {
    if (!(kv.second >= 0.0) || !std::isfinite(kv.second))
      throw std::invalid_argument("source weight of " + kv.first + " must be a finite number >= 0");
    if (std::find(names.begin(), names.end(), kv.first) == names.end())
      throw std::invalid_argument("source weight for " + kv.first + ", which no training sample comes from");
    total += kv.second;
  }
  if (!m_Config.sourceWeights.empty() && !(total > 0.0))
    throw std::invalid_argument("the source weights sum to 0");
  for (const auto & name : names)
    if (!m_Config.sourceWeights.empty() && std::none_of(m_Config.sourceWeights.begin(),
                                                        m_Config.sourceWeights.end(),
                                                        [&](const auto & kv) { return kv.first == name; }))
      throw std::invalid_argument("no source weight for the training source " + name);
  m_Train = std::move(data);
}

void
Trainer::setValidationData(TrainingData data)
{
  data.validate(m_Network->config(), "validation data");
  m_Val = std::move(data);
}

std::vector<int64_t>
Trainer::epochOrder(int64_t epoch) const
{
  return SampleOrder(m_Train.sources, m_Train.size(), m_Config, epoch);
}

std::vector<int64_t>
Trainer::SampleOrder(const std::vector<std::string> & sources,
                     int64_t                          size,
                     const TrainerConfig &            config,
                     int64_t                          epoch)
{
  const auto shuffle = [](std::vector<int64_t> & v, uint64_t seed) {
    SplitMix64 g(seed);
    for (size_t i = v.size(); i > 1; --i)
    {
      const size_t j = static_cast<size_t>(g.next() % i);
      std::swap(v[i - 1], v[j]);
    }
  };
  if (config.sourceWeights.empty())
  {
    std::vector<int64_t> order(static_cast<size_t>(size));
    std::iota(order.begin(), order.end(), 0);
    if (config.shuffle)
      shuffle(order, MixSeed(config.seed, static_cast<uint64_t>(epoch), 1));
    return order;
  }
  // Weighted sources: each source's samples come from an endless sequence of seeded permutations of that source
  // (cycle c permuted with its own seed), of which epoch e takes the next `count` entries. The order depends only on
  // the seed and the epoch, so a resumed run draws what the uninterrupted one would have drawn.
  double total = 0;
  for (const auto & kv : config.sourceWeights)
    total += kv.second;
  const double         n = static_cast<double>(size);
  std::vector<int64_t> order;
  uint64_t             sourceIndex = 0;
  for (const auto & kv : config.sourceWeights)
  {
    ++sourceIndex;
    std::vector<int64_t> members;
    for (size_t i = 0; i < sources.size(); ++i)
      if (sources[i] == kv.first)
        members.push_back(static_cast<int64_t>(i));
    const auto count = static_cast<int64_t>(std::llround(n * kv.second / total));
    if (members.empty() || count == 0)
      continue;
    const auto           m = static_cast<int64_t>(members.size());
    const int64_t        first = (epoch - 1) * count; // position in the endless sequence
    int64_t              cycle = -1;
    std::vector<int64_t> permuted;
    for (int64_t k = first; k < first + count; ++k)
    {
      if (k / m != cycle)
      {
        cycle = k / m;
        permuted = members;
        if (config.shuffle)
          shuffle(permuted, MixSeed(MixSeed(config.seed, sourceIndex, 3), static_cast<uint64_t>(cycle), 5));
      }
      order.push_back(permuted[static_cast<size_t>(k % m)]);
    }
  }
  if (config.shuffle)
    shuffle(order, MixSeed(config.seed, static_cast<uint64_t>(epoch), 1));
  return order;
}

double
Trainer::learningRateFor(int64_t epoch) const
{
  double lr = m_Config.learningRate;
  for (int64_t e : m_Config.learningRateDropEpochs)
    if (epoch >= e)
      lr *= m_Config.learningRateDropFactor;
  return lr;
}

void
Trainer::RecalibrateBatchNorm(ResCRNet &           network,
                              const TrainingData & data,
                              int64_t              batches,
                              int64_t              batchSize,
                              ProcessGroup *       group)
{
  if (batches <= 0 || data.size() == 0)
    return;
  auto                               bns = batchNorms(network);
  std::vector<c10::optional<double>> momenta;
  for (auto & bn : bns)
  {
    momenta.push_back(bn->options.momentum());
    bn->options.momentum(c10::nullopt); // cumulative average
    bn->reset_running_stats();
  }
  const bool wasTraining = network->is_training();
  network->train();
  torch::NoGradGuard g;
  const int64_t      n = data.size();
  const int64_t      total = std::min(n, batches * batchSize);
  const int64_t      ranks = group ? group->worldSize() : 1;
  const int64_t      rank = group ? group->rank() : 0;
  // Evenly spread over the data set, in a fixed order; with a process group the ranks take the batches in turn.
  for (int64_t start = 0, batch = 0; start < total; start += batchSize, ++batch)
  {
    if (batch % ranks != rank)
      continue;
    std::vector<int64_t> idx;
    for (int64_t k = start; k < std::min(total, start + batchSize); ++k)
      idx.push_back(k * n / total);
    network->forward(data.images.index_select(0, torch::tensor(idx)));
  }
  for (size_t i = 0; i < bns.size(); ++i)
    bns[i]->options.momentum(momenta[i]);
  if (group)
  {
    // Each rank holds the average over its own batches (momentum none: a cumulative average, counted in
    // num_batches_tracked); weighted by the counts and added, they give the average over all batches.
    std::vector<torch::Tensor> sums;
    for (auto & bn : bns)
    {
      const double count = static_cast<double>(bn->num_batches_tracked.item<int64_t>());
      bn->running_mean.mul_(count);
      bn->running_var.mul_(count);
      sums.insert(sums.end(), { bn->running_mean, bn->running_var, bn->num_batches_tracked });
    }
    group->allReduceSum(sums);
    for (auto & bn : bns)
    {
      const double count = static_cast<double>(bn->num_batches_tracked.item<int64_t>());
      bn->running_mean.div_(count);
      bn->running_var.div_(count);
    }
  }
  network->train(wasTraining);
}

EpochRecord
Trainer::Evaluate(ResCRNet & network, const TrainingData & data, int64_t batchSize, ProcessGroup * group)
{
  EpochRecord r;
  if (data.size() == 0)
    return r;
  const bool wasTraining = network->is_training();
  network->eval();
  c10::InferenceMode guard;
  double             loss = 0, tani = 0, dice = 0;
  if (group)
  {
    // Each batch split over the ranks as in training; one all-reduce of all the batches' partial sums.
    const int64_t batches = (data.size() + batchSize - 1) / batchSize;
    auto          sums = torch::zeros({ batches, 11 }, torch::kFloat64);
    for (int64_t k = 0; k < batches; ++k)
    {
      const int64_t start = k * batchSize;
      const auto slice = RankSlice(std::min(data.size(), start + batchSize) - start, group->rank(), group->worldSize());
      if (slice.second == slice.first)
        continue;
      auto x = data.images.slice(0, start + slice.first, start + slice.second);
      auto t = data.masks.slice(0, start + slice.first, start + slice.second);
      auto p = network->forward(x);
      sums[k].slice(0, 0, 6).copy_(ContourTanimotoPartialSums(p, t));
      sums[k].slice(0, 6, 10).copy_(TanimotoPartialSums(p, t));
      sums[k][10].copy_(diceSum(p, t));
    }
    group->allReduceSum({ sums });
    for (int64_t k = 0; k < batches; ++k)
    {
      const double b = static_cast<double>(std::min(data.size(), (k + 1) * batchSize) - k * batchSize);
      auto         g = sums[k];
      loss += ContourTanimotoLossFromSums(g.slice(0, 0, 6), g.slice(0, 0, 6)).item<double>() * b;
      tani += TanimotoCoefficientFromSums(g.slice(0, 6, 10)) * b;
      dice += g[10].item<double>();
    }
  }
  else
  {
    for (int64_t start = 0; start < data.size(); start += batchSize)
    {
      const int64_t end = std::min(data.size(), start + batchSize);
      auto          x = data.images.slice(0, start, end);
      auto          t = data.masks.slice(0, start, end);
      auto          p = network->forward(x);
      const double  b = static_cast<double>(end - start);
      loss += ContourTanimotoLoss(p, t).item<double>() * b;
      tani += TanimotoCoefficient(p, t).item<double>() * b;
      dice += diceSum(p, t).item<double>();
    }
  }
  const double n = static_cast<double>(data.size());
  r.valLoss = loss / n;
  r.valTanimoto = tani / n;
  r.valDice = dice / n;
  network->train(wasTraining);
  return r;
}

void
Trainer::saveCheckpoint() const
{
  if (m_Config.checkpointDirectory.empty() || !writesFiles())
    return;
  const std::filesystem::path dir(m_Config.checkpointDirectory);
  SaveInFolder(dir, [&] { writeCheckpoint(dir); });
}

void
Trainer::writeCheckpoint(const std::filesystem::path & dir) const
{
  ModelInfo info = m_Info;
  info.provenance["checkpoint_epoch"] = m_History.empty() ? int64_t{ 0 } : m_History.back().epoch;
  SaveModel((dir / "checkpoint.rcn").string(), m_Network, info);
  {
    AtomicFile optimizerState((dir / "checkpoint-optimizer.pt").string());
    torch::save(*m_Optimizer, optimizerState.temporaryPath());
    optimizerState.commit();
  }
  json state = json::object();
  state["epoch"] = m_History.empty() ? int64_t{ 0 } : m_History.back().epoch;
  state["best_val_loss"] = m_BestValLoss;
  state["epochs_without_improvement"] = m_EpochsWithoutImprovement;
  state["config"] = m_Config.toJson();
  json hist = json::array();
  for (const auto & r : m_History)
    hist.push_back(recordToJson(r));
  state["history"] = hist;
  WriteFileAtomically((dir / "checkpoint.json").string(), DumpJson(state, 1));
}

bool
Trainer::resume()
{
  if (m_Config.checkpointDirectory.empty())
    return false;
  const std::filesystem::path dir(m_Config.checkpointDirectory);
  if (!std::filesystem::exists(dir / "checkpoint.json"))
    return false;
  std::ifstream      in(dir / "checkpoint.json");
  std::ostringstream text;
  text << in.rdbuf();
  const json  state = ParseJson(text.str());
  LoadedModel saved = LoadModel((dir / "checkpoint.rcn").string());
  if (saved.info.architecture != m_Network->config())
    throw std::runtime_error("checkpoint in " + dir.string() + " is for another architecture");
  const int64_t epoch = JsonInteger(state.at("epoch"));
  const auto    savedEpoch = saved.info.provenance.find("checkpoint_epoch");
  if (savedEpoch == saved.info.provenance.end() || JsonInteger(*savedEpoch) != epoch)
    throw std::runtime_error("checkpoint in " + dir.string() + " is inconsistent (model and state differ in epoch)");
  copyState(m_Network, saved.network);
  torch::load(*m_Optimizer, (dir / "checkpoint-optimizer.pt").string());
  m_History.clear();
  for (const json & r : state.at("history"))
    m_History.push_back(recordFromJson(r));
  m_BestValLoss = state.at("best_val_loss").get<double>();
  m_EpochsWithoutImprovement = JsonInteger(state.at("epochs_without_improvement"));
  if (std::filesystem::exists(dir / "best.rcn"))
    m_BestState = cloneState(LoadModel((dir / "best.rcn").string()).network);
  return true;
}

ResCRNet
Trainer::bestNetwork() const
{
  ResCRNet out(m_Network->config());
  copyState(out, m_Network);
  if (!m_BestState.empty())
  {
    torch::NoGradGuard g;
    auto               d = out->namedState();
    for (size_t i = 0; i < d.size(); ++i)
      d[i].second.copy_(m_BestState[i]);
  }
  out->eval();
  return out;
}

void
Trainer::run()
{
  if (m_Train.size() == 0)
    throw std::invalid_argument("no training data");
  if (m_Config.threads > 0)
    torch::set_num_threads(m_Config.threads);
  RunTiming timing;
  timing.start = Clock::now();
  timing.budgetSeconds = m_Config.maxMinutes * 60.0;
  timing.samplesPerEpoch = static_cast<int64_t>(epochOrder(1).size());
  timing.stepsPerEpoch = (timing.samplesPerEpoch + m_Config.batchSize - 1) / m_Config.batchSize;
  m_StopReason.clear();
  if (m_Group)
  {
    // Every rank must start from the same epoch (each resumed from the same checkpoint, or none did) and from rank
    // 0's weights and buffers.
    auto epochs = torch::tensor({ static_cast<int64_t>(m_History.size()) });
    m_Group->broadcast({ epochs });
    if (anyRank(epochs.item<int64_t>() != static_cast<int64_t>(m_History.size())))
      throw std::runtime_error("the ranks would start from different epochs: all of them must resume from the same "
                               "checkpoint (a checkpoint folder all of them can read), or none");
    synchronizeState();
  }
  for (int64_t epoch = static_cast<int64_t>(m_History.size()) + 1; epoch <= m_Config.epochs; ++epoch)
  {
    if (anyRank(timing.budgetSeconds > 0 &&
                secondsSince(timing.start) + timing.lastEpochSeconds > timing.budgetSeconds))
    {
      m_StopReason = "time budget";
      break;
    }
    const auto  epochStart = Clock::now();
    EpochRecord r;
    if (!trainEpoch(epoch, timing, r))
      return; // stopped or out of time within the epoch: the checkpoint holds the last complete one
    const bool stopEarly = concludeEpoch(r);
    r.seconds = secondsSince(epochStart);
    timing.lastEpochSeconds = r.seconds;
    m_History.back().seconds = r.seconds;
    saveCheckpoint();
    if (onEpoch)
      onEpoch(r);
    if (anyRank(stopEarly))
    {
      m_StopReason = "early stopping";
      return;
    }
  }
  if (m_StopReason.empty())
    m_StopReason = "completed";
}

bool
Trainer::trainEpoch(int64_t epoch, RunTiming & timing, EpochRecord & record)
{
  const double lr = learningRateFor(epoch);
  for (auto & group : m_Optimizer->param_groups())
    static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);
  uint64_t dropoutSeed = MixSeed(m_Config.seed, static_cast<uint64_t>(epoch), 7);
  if (m_Config.distributed.rank > 0) // other samples, other dropout draws
    dropoutSeed = MixSeed(dropoutSeed, static_cast<uint64_t>(m_Config.distributed.rank), 11);
  torch::manual_seed(dropoutSeed);
  const auto order = epochOrder(epoch);
  const auto samples = static_cast<int64_t>(order.size());
  m_Network->train();
  double lossSum = 0, taniSum = 0;
  for (int64_t s = 0; s < timing.stepsPerEpoch; ++s)
  {
    const int64_t              b0 = s * m_Config.batchSize;
    const int64_t              b1 = std::min(samples, b0 + m_Config.batchSize);
    const std::vector<int64_t> idx(order.begin() + b0, order.begin() + b1);
    const double               b = static_cast<double>(b1 - b0);
    const auto                 figures = m_Group ? distributedStep(idx, epoch) : localStep(idx, epoch);
    lossSum += figures.first * b;
    taniSum += figures.second * b;
    ++timing.stepsDone;
    if (onStep)
    {
      StepProgress p;
      p.epoch = epoch;
      p.epochs = m_Config.epochs;
      p.step = s + 1;
      p.steps = timing.stepsPerEpoch;
      p.loss = lossSum / static_cast<double>(b1);
      const double elapsed = secondsSince(timing.start);
      p.imagesPerSecond = static_cast<double>(timing.stepsDone) * static_cast<double>(m_Config.batchSize) / elapsed;
      const int64_t remaining = (m_Config.epochs - epoch) * timing.stepsPerEpoch + (timing.stepsPerEpoch - s - 1);
      p.etaSeconds = elapsed / static_cast<double>(timing.stepsDone) * static_cast<double>(remaining);
      onStep(p);
    }
    bool stop = shouldStop && shouldStop();
    bool overBudget = !stop && timing.budgetSeconds > 0 && secondsSince(timing.start) > timing.budgetSeconds;
    if (m_Group)
    {
      // The ranks stop together: a request or an exhausted budget on any rank stops all of them.
      auto flags = torch::tensor({ int64_t{ stop }, int64_t{ overBudget } });
      m_Group->allReduceSum({ flags });
      stop = flags[0].item<int64_t>() > 0;
      overBudget = !stop && flags[1].item<int64_t>() > 0;
    }
    if (stop || overBudget)
    {
      m_StopReason = stop ? "stopped" : "time budget";
      return false;
    }
  }
  record.epoch = epoch;
  record.loss = lossSum / static_cast<double>(samples);
  record.tanimoto = taniSum / static_cast<double>(samples);
  record.learningRate = lr;
  return true;
}

std::pair<double, double>
Trainer::localStep(const std::vector<int64_t> & idx, int64_t epoch)
{
  std::vector<uint64_t> seeds;
  for (int64_t i : idx)
    seeds.push_back(MixSeed(m_Config.seed, static_cast<uint64_t>(epoch), 1000 + static_cast<uint64_t>(i)));
  auto index = torch::tensor(idx);
  auto batch = AugmentBatch(
    m_Train.images.index_select(0, index), m_Train.masks.index_select(0, index), m_Config.augmentation, seeds);
  auto probs = m_Network->forward(batch.first);
  auto loss = ContourTanimotoLoss(probs, batch.second);
  m_Optimizer->zero_grad();
  loss.backward();
  m_Optimizer->step();
  torch::NoGradGuard g;
  return { loss.item<double>(), TanimotoCoefficient(probs, batch.second).item<double>() };
}

bool
Trainer::concludeEpoch(EpochRecord & r)
{
  Trainer::RecalibrateBatchNorm(
    m_Network, m_Train, m_Config.batchNormRecalibrationBatches, m_Config.batchSize, m_Group.get());
  if (m_Group && m_Config.batchNormRecalibrationBatches <= 0)
    averageRunningStatistics(m_Network, *m_Group);
  if (m_Val.size() > 0)
  {
    const EpochRecord v = Evaluate(m_Network, m_Val, m_Config.batchSize, m_Group.get());
    r.valLoss = v.valLoss;
    r.valTanimoto = v.valTanimoto;
    r.valDice = v.valDice;
    const auto sources = m_Val.sourceNames();
    if (sources.size() > 1) // the per-image Dice does not depend on the batch, so each source's subset gives it
      for (const auto & source : sources)
        r.valDiceBySource.emplace_back(
          source, Evaluate(m_Network, m_Val.subset(source), m_Config.batchSize, m_Group.get()).valDice);
  }
  else
  {
    r.valLoss = r.loss;
    r.valTanimoto = r.tanimoto;
  }
  m_History.push_back(r);
  bool stopEarly = false;
  if (r.valLoss < m_BestValLoss - m_Config.earlyStoppingMinDelta)
  {
    m_EpochsWithoutImprovement = 0;
  }
  else
  {
    ++m_EpochsWithoutImprovement;
    stopEarly = m_Config.earlyStoppingPatience > 0 && m_EpochsWithoutImprovement >= m_Config.earlyStoppingPatience;
  }
  if (r.valLoss < m_BestValLoss)
  {
    m_BestValLoss = r.valLoss;
    m_BestState = cloneState(m_Network);
    if (!m_Config.checkpointDirectory.empty() && writesFiles())
    {
      ModelInfo info = m_Info;
      info.provenance["epoch"] = r.epoch;
      info.metrics["val_loss"] = r.valLoss;
      info.metrics["val_dice"] = r.valDice;
      for (const auto & kv : r.valDiceBySource)
        info.metrics["val_dice_" + kv.first] = kv.second;
      const std::filesystem::path dir(m_Config.checkpointDirectory);
      SaveInFolder(dir, [&] { SaveModel((dir / "best.rcn").string(), m_Network, info); });
    }
  }
  return stopEarly;
}

bool
Trainer::anyRank(bool flag)
{
  return m_Group ? m_Group->any(flag) : flag;
}

void
Trainer::synchronizeState()
{
  std::vector<torch::Tensor> state;
  for (const auto & kv : m_Network->namedState())
    state.push_back(kv.second);
  m_Group->broadcast(state, 0);
}

std::pair<double, double>
Trainer::distributedStep(const std::vector<int64_t> & idx, int64_t epoch)
{
  const auto                 slice = RankSlice(static_cast<int64_t>(idx.size()), m_Group->rank(), m_Group->worldSize());
  const std::vector<int64_t> mine(idx.begin() + slice.first, idx.begin() + slice.second);
  auto                       local = torch::zeros({ 6 }, torch::kFloat64);
  auto                       tani = torch::zeros({ 4 }, torch::kFloat64);
  if (!mine.empty())
  {
    std::vector<uint64_t> seeds;
    for (int64_t i : mine)
      seeds.push_back(MixSeed(m_Config.seed, static_cast<uint64_t>(epoch), 1000 + static_cast<uint64_t>(i)));
    auto index = torch::tensor(mine);
    auto batch = AugmentBatch(
      m_Train.images.index_select(0, index), m_Train.masks.index_select(0, index), m_Config.augmentation, seeds);
    auto probs = m_Network->forward(batch.first);
    local = ContourTanimotoPartialSums(probs, batch.second);
    tani = TanimotoPartialSums(probs, batch.second);
  }
  // The global batch's sums: the weight normalisation, the weighted Tanimoto terms and the unweighted metric.
  auto sums = torch::cat({ local.detach(), tani });
  m_Group->allReduceSum({ sums });
  const auto global = sums.slice(0, 0, 6);
  m_Optimizer->zero_grad();
  if (!mine.empty())
    ContourTanimotoLossFromSums(local, global).backward();
  // Each rank's gradient is the global loss's gradient through its own samples: their sum is the whole gradient.
  std::vector<torch::Tensor> grads;
  for (auto & p : m_Network->parameters())
  {
    if (!p.grad().defined())
      p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  m_Group->allReduceSum(grads);
  m_Optimizer->step();
  return { ContourTanimotoLossFromSums(global, global).item<double>(),
           TanimotoCoefficientFromSums(sums.slice(0, 6, 10)) };
}

void
Trainer::writeHistoryCsv(const std::string & path) const
{
  WriteTrainingHistoryCsv(m_History, path);
}

void
WriteTrainingHistoryCsv(const std::vector<EpochRecord> & history, const std::string & path)
{
  std::vector<std::string> sources;
  for (const auto & r : history)
    if (sources.empty())
      for (const auto & kv : r.valDiceBySource)
        sources.push_back(kv.first);
  std::vector<std::string> header{ "epoch",        "loss",     "tanimoto", "val_loss",
                                   "val_tanimoto", "val_dice", "seconds",  "learning_rate" };
  for (const auto & source : sources)
    header.push_back("val_dice_" + source);
  CsvTable   table(header);
  const auto fixed = [](const char * format, double value) {
    char cell[64];
    std::snprintf(cell, sizeof(cell), format, value);
    return std::string(cell);
  };
  for (const auto & r : history)
  {
    std::vector<std::string> row{ std::to_string(r.epoch),  fixed("%.6f", r.loss),        fixed("%.6f", r.tanimoto),
                                  fixed("%.6f", r.valLoss), fixed("%.6f", r.valTanimoto), fixed("%.6f", r.valDice),
                                  fixed("%.1f", r.seconds), fixed("%g", r.learningRate) };
    for (const auto & source : sources)
    {
      const auto it = std::find_if(
        r.valDiceBySource.begin(), r.valDiceBySource.end(), [&](const auto & kv) { return kv.first == source; });
      row.push_back(it != r.valDiceBySource.end() ? fixed("%.6f", it->second) : std::string());
    }
    table.addRow(row);
  }
  table.write(path);
}

} // namespace rescrnet
