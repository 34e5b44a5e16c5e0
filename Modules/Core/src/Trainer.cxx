#include "rescrnet/Trainer.h"

#include "rescrnet/Losses.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

namespace rescrnet {

namespace {
using Clock = std::chrono::steady_clock;

double
secondsSince(Clock::time_point t)
{
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Json
recordToJson(const EpochRecord & r)
{
  Json j = Json::object();
  j["epoch"] = r.epoch;
  j["loss"] = r.loss;
  j["tanimoto"] = r.tanimoto;
  j["val_loss"] = r.valLoss;
  j["val_tanimoto"] = r.valTanimoto;
  j["val_dice"] = r.valDice;
  j["seconds"] = r.seconds;
  j["learning_rate"] = r.learningRate;
  return j;
}

EpochRecord
recordFromJson(const Json & j)
{
  EpochRecord r;
  r.epoch = j.at("epoch").asInt();
  r.loss = j.at("loss").asDouble();
  r.tanimoto = j.at("tanimoto").asDouble();
  r.valLoss = j.at("val_loss").asDouble();
  r.valTanimoto = j.at("val_tanimoto").asDouble();
  r.valDice = j.at("val_dice").asDouble();
  r.seconds = j.at("seconds").asDouble();
  r.learningRate = j.at("learning_rate").asDouble();
  return r;
}

void
writeTextAtomically(const std::filesystem::path & path, const std::string & text)
{
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out)
      throw std::runtime_error("cannot write " + path.string());
  }
  std::filesystem::rename(tmp, path);
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
}

Json
TrainerConfig::toJson() const
{
  Json j = Json::object();
  j["epochs"] = epochs;
  j["batch_size"] = batchSize;
  j["learning_rate"] = learningRate;
  j["adam_epsilon"] = adamEpsilon;
  j["seed"] = static_cast<uint64_t>(seed);
  j["shuffle"] = shuffle;
  j["augmentation"] = augmentation.toJson();
  Json drops = Json::array();
  for (auto e : learningRateDropEpochs)
    drops.push_back(Json(e));
  j["learning_rate_drop_epochs"] = drops;
  j["learning_rate_drop_factor"] = learningRateDropFactor;
  j["max_minutes"] = maxMinutes;
  j["early_stopping_patience"] = earlyStoppingPatience;
  j["early_stopping_min_delta"] = earlyStoppingMinDelta;
  j["batch_norm_recalibration_batches"] = batchNormRecalibrationBatches;
  j["loss"] = "weighted Tanimoto with complement, contour weights, smoothing 1";
  return j;
}

Trainer::Trainer(ResCRNet network, ModelInfo info, TrainerConfig config)
  : m_Network(std::move(network))
  , m_Info(std::move(info))
  , m_Config(std::move(config))
{
  if (m_Config.epochs < 1 || m_Config.batchSize < 1 || m_Config.learningRate <= 0.0)
    throw std::invalid_argument("epochs, batch size and learning rate must be positive");
  m_Info.architecture = m_Network->config();
  m_Optimizer = std::make_unique<torch::optim::Adam>(
    m_Network->parameters(), torch::optim::AdamOptions(m_Config.learningRate).eps(m_Config.adamEpsilon));
}

void
Trainer::setTrainingData(TrainingData data)
{
  data.validate(m_Network->config(), "training data");
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
  std::vector<int64_t> order(static_cast<size_t>(m_Train.size()));
  std::iota(order.begin(), order.end(), 0);
  if (m_Config.shuffle)
  {
    SplitMix64 g(MixSeed(m_Config.seed, static_cast<uint64_t>(epoch), 1));
    for (size_t i = order.size(); i > 1; --i)
    {
      const size_t j = static_cast<size_t>(g.next() % i);
      std::swap(order[i - 1], order[j]);
    }
  }
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
Trainer::RecalibrateBatchNorm(ResCRNet & network, const TrainingData & data, int64_t batches, int64_t batchSize)
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
  // Evenly spread over the data set, in a fixed order.
  for (int64_t start = 0; start < total; start += batchSize)
  {
    std::vector<int64_t> idx;
    for (int64_t k = start; k < std::min(total, start + batchSize); ++k)
      idx.push_back(k * n / total);
    network->forward(data.images.index_select(0, torch::tensor(idx)));
  }
  for (size_t i = 0; i < bns.size(); ++i)
    bns[i]->options.momentum(momenta[i]);
  network->train(wasTraining);
}

EpochRecord
Trainer::Evaluate(ResCRNet & network, const TrainingData & data, int64_t batchSize)
{
  EpochRecord r;
  if (data.size() == 0)
    return r;
  const bool wasTraining = network->is_training();
  network->eval();
  c10::InferenceMode guard;
  double             loss = 0, tani = 0, dice = 0;
  for (int64_t start = 0; start < data.size(); start += batchSize)
  {
    const int64_t end = std::min(data.size(), start + batchSize);
    auto          x = data.images.slice(0, start, end);
    auto          t = data.masks.slice(0, start, end);
    auto          p = network->forward(x);
    const double  b = static_cast<double>(end - start);
    loss += ContourTanimotoLoss(p, t).item<double>() * b;
    tani += TanimotoCoefficient(p, t).item<double>() * b;
    auto seg = (p.select(1, 0) > 0.5).to(torch::kFloat32);
    auto ref = (t.select(1, 0) > 0.5).to(torch::kFloat32);
    auto inter = (seg * ref).sum({ 1, 2 });
    auto sums = seg.sum({ 1, 2 }) + ref.sum({ 1, 2 });
    auto d = torch::where(sums > 0, 2.0 * inter / sums.clamp_min(1.0), torch::ones_like(sums));
    dice += d.sum().item<double>();
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
  if (m_Config.checkpointDirectory.empty())
    return;
  const std::filesystem::path dir(m_Config.checkpointDirectory);
  std::filesystem::create_directories(dir);
  ModelInfo info = m_Info;
  info.provenance["checkpoint_epoch"] = m_History.empty() ? int64_t{ 0 } : m_History.back().epoch;
  SaveModel((dir / "checkpoint.rcn").string(), m_Network, info);
  const auto optTmp = (dir / "checkpoint-optimizer.pt.tmp").string();
  torch::save(*m_Optimizer, optTmp);
  std::filesystem::rename(optTmp, dir / "checkpoint-optimizer.pt");
  Json state = Json::object();
  state["epoch"] = m_History.empty() ? int64_t{ 0 } : m_History.back().epoch;
  state["best_val_loss"] = m_BestValLoss;
  state["epochs_without_improvement"] = m_EpochsWithoutImprovement;
  state["config"] = m_Config.toJson();
  Json hist = Json::array();
  for (const auto & r : m_History)
    hist.push_back(recordToJson(r));
  state["history"] = hist;
  writeTextAtomically(dir / "checkpoint.json", state.dump(1));
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
  const Json  state = Json::parse(text.str());
  LoadedModel saved = LoadModel((dir / "checkpoint.rcn").string());
  if (saved.info.architecture != m_Network->config())
    throw std::runtime_error("checkpoint in " + dir.string() + " is for another architecture");
  const int64_t epoch = state.at("epoch").asInt();
  if (saved.info.provenance.value("checkpoint_epoch", int64_t{ -1 }) != epoch)
    throw std::runtime_error("checkpoint in " + dir.string() + " is inconsistent (model and state differ in epoch)");
  copyState(m_Network, saved.network);
  torch::load(*m_Optimizer, (dir / "checkpoint-optimizer.pt").string());
  m_History.clear();
  for (const Json & r : state.at("history").asArray())
    m_History.push_back(recordFromJson(r));
  m_BestValLoss = state.at("best_val_loss").asDouble();
  m_EpochsWithoutImprovement = state.at("epochs_without_improvement").asInt();
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
  const auto    start = Clock::now();
  const double  budget = m_Config.maxMinutes * 60.0;
  const int64_t steps = (m_Train.size() + m_Config.batchSize - 1) / m_Config.batchSize;
  double        lastEpochSeconds = 0;
  int64_t       stepsDone = 0;
  m_StopReason.clear();
  for (int64_t epoch = static_cast<int64_t>(m_History.size()) + 1; epoch <= m_Config.epochs; ++epoch)
  {
    if (budget > 0 && secondsSince(start) + lastEpochSeconds > budget)
    {
      m_StopReason = "time budget";
      break;
    }
    const auto   epochStart = Clock::now();
    const double lr = learningRateFor(epoch);
    for (auto & group : m_Optimizer->param_groups())
      static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);
    torch::manual_seed(MixSeed(m_Config.seed, static_cast<uint64_t>(epoch), 7));
    const auto order = epochOrder(epoch);
    m_Network->train();
    double lossSum = 0, taniSum = 0;
    for (int64_t s = 0; s < steps; ++s)
    {
      const int64_t         b0 = s * m_Config.batchSize;
      const int64_t         b1 = std::min(m_Train.size(), b0 + m_Config.batchSize);
      std::vector<int64_t>  idx(order.begin() + b0, order.begin() + b1);
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
      const double b = static_cast<double>(b1 - b0);
      lossSum += loss.item<double>() * b;
      {
        torch::NoGradGuard g;
        taniSum += TanimotoCoefficient(probs, batch.second).item<double>() * b;
      }
      ++stepsDone;
      if (onStep)
      {
        StepProgress p;
        p.epoch = epoch;
        p.epochs = m_Config.epochs;
        p.step = s + 1;
        p.steps = steps;
        p.loss = lossSum / static_cast<double>(b1);
        const double elapsed = secondsSince(start);
        p.imagesPerSecond = static_cast<double>(stepsDone) * static_cast<double>(m_Config.batchSize) / elapsed;
        const int64_t remaining = (m_Config.epochs - epoch) * steps + (steps - s - 1);
        p.etaSeconds = elapsed / static_cast<double>(stepsDone) * static_cast<double>(remaining);
        onStep(p);
      }
      if (shouldStop && shouldStop())
      {
        m_StopReason = "stopped";
        return;
      }
      if (budget > 0 && secondsSince(start) > budget)
      {
        // The partial epoch is dropped: the checkpoint holds the last complete one.
        m_StopReason = "time budget";
        return;
      }
    }
    EpochRecord r;
    r.epoch = epoch;
    r.loss = lossSum / static_cast<double>(m_Train.size());
    r.tanimoto = taniSum / static_cast<double>(m_Train.size());
    r.learningRate = lr;
    Trainer::RecalibrateBatchNorm(m_Network, m_Train, m_Config.batchNormRecalibrationBatches, m_Config.batchSize);
    if (m_Val.size() > 0)
    {
      const EpochRecord v = Evaluate(m_Network, m_Val, m_Config.batchSize);
      r.valLoss = v.valLoss;
      r.valTanimoto = v.valTanimoto;
      r.valDice = v.valDice;
    }
    else
    {
      r.valLoss = r.loss;
      r.valTanimoto = r.tanimoto;
    }
    r.seconds = secondsSince(epochStart);
    lastEpochSeconds = r.seconds;
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
      if (!m_Config.checkpointDirectory.empty())
      {
        ModelInfo info = m_Info;
        info.provenance["epoch"] = epoch;
        info.metrics["val_loss"] = r.valLoss;
        info.metrics["val_dice"] = r.valDice;
        std::filesystem::create_directories(m_Config.checkpointDirectory);
        SaveModel((std::filesystem::path(m_Config.checkpointDirectory) / "best.rcn").string(), m_Network, info);
      }
    }
    saveCheckpoint();
    if (onEpoch)
      onEpoch(r);
    if (stopEarly)
    {
      m_StopReason = "early stopping";
      return;
    }
  }
  if (m_StopReason.empty())
    m_StopReason = "completed";
}

void
Trainer::WriteHistoryCsv(const std::vector<EpochRecord> & history, const std::string & path)
{
  std::ostringstream os;
  os << "epoch,loss,tanimoto,val_loss,val_tanimoto,val_dice,seconds,learning_rate\n";
  char line[512];
  for (const auto & r : history)
  {
    std::snprintf(line,
                  sizeof(line),
                  "%lld,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%g\n",
                  static_cast<long long>(r.epoch),
                  r.loss,
                  r.tanimoto,
                  r.valLoss,
                  r.valTanimoto,
                  r.valDice,
                  r.seconds,
                  r.learningRate);
    os << line;
  }
  writeTextAtomically(path, os.str());
}

} // namespace rescrnet
