// SPDX-License-Identifier: Apache-2.0
// Data-parallel training: the split form of the loss, the rank slices, the configuration from the environment, and
// two processes on loopback against one process with the combined batch. The processes are this test executable
// itself, started again with RESCRNET_DISTRIBUTED_TEST_WORKER set: a static initialiser then runs the worker and
// exits before GoogleTest starts.
#include "rescrnet/Distributed.h"
#include "rescrnet/Losses.h"
#include "rescrnet/Trainer.h"

#include "ResCRNetTestData.h"
#include "ResCRNetTestSupport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

extern char ** environ;

using namespace rescrnet;
namespace fs = std::filesystem;

namespace
{

// Synthetic images with a disc each, [n, 1, size, size] and one-hot masks [n, 2, size, size].
TrainingData
discs(int64_t n, int64_t size, uint64_t seed)
{
  return rescrnet::testing::SyntheticDiscs(n, size, seed, "disc");
}

// A tiny network without dropout, so that the processes' random draws cannot differ.
NetworkConfig
tinyNetwork()
{
  NetworkConfig c = rescrnet::testing::TinyNetworkConfig();
  c.blockDropout = { 0.0, 0.0 };
  return c;
}

// 11 training images in global batches of 4: 3 steps (4, 4 and 3 images, the last split unevenly 1 + 2).
constexpr int64_t kTrainImages = 11;
constexpr int64_t kValImages = 5; // validation batches 4 and 1 (rank 0's half of the second is empty)
constexpr int64_t kBatch = 4;
constexpr double  kLearningRate = 1e-2;
constexpr int64_t kRecalibration = 2;
// Adam divides by sqrt(v) + epsilon: with Keras' 1e-7, a weight whose gradient is nearly 0 takes steps set by the
// rounding noise of that gradient (one weight here moves 1.5e-5 of its tensor's scale apart between two summation
// orders). 1e-5 keeps such weights still, so the comparison sees the gradients rather than Adam's amplified noise.
constexpr double kAdamEpsilon = 1e-5;

TrainerConfig
trainingConfig(const fs::path & checkpoints, int64_t epochs)
{
  TrainerConfig c;
  c.epochs = epochs;
  c.batchSize = kBatch;
  c.learningRate = kLearningRate;
  c.adamEpsilon = kAdamEpsilon;
  c.seed = 42;
  c.threads = 1;
  c.augmentation = AugmentationConfig::None();
  c.batchNormRecalibrationBatches = kRecalibration;
  c.checkpointDirectory = checkpoints.string();
  return c;
}

// The worker: RANK etc. from the environment; RESCRNET_DISTRIBUTED_TEST_WORKER names the output folder and
// RESCRNET_DISTRIBUTED_TEST_PHASE is "train" (1 epoch, own checkpoint folder per rank) or "resume" (both ranks
// resume from rank 0's folder and train a second epoch without batch-norm recalibration).
int
runWorker(const std::string & out)
{
  try
  {
    DistributedConfig d = DistributedConfig::FromEnvironment();
    d.timeoutSeconds = 20;
    const char *      phaseVariable = std::getenv("RESCRNET_DISTRIBUTED_TEST_PHASE");
    const std::string phase = phaseVariable ? phaseVariable : "train";
    torch::set_num_threads(1);
    const auto train = discs(kTrainImages, 24, 1);
    const auto val = discs(kValImages, 24, 2);
    // Different initial weights per rank: the broadcast of rank 0's state must make them equal.
    torch::manual_seed(d.rank == 0 ? 5 : 77);
    const bool    resume = phase == "resume";
    TrainerConfig c =
      trainingConfig(fs::path(out) / (resume ? "rank0" : "rank" + std::to_string(d.rank)), resume ? 2 : 1);
    c.distributed = d;
    if (resume) // the second epoch exercises the averaging of the ranks' running statistics instead
      c.batchNormRecalibrationBatches = 0;
    Trainer t(ResCRNet(tinyNetwork()), ModelInfo{}, c);
    t.setTrainingData(train);
    t.setValidationData(val);
    const bool resumed = resume && t.resume();
    t.run();
    std::vector<torch::Tensor> result;
    for (const auto & kv : t.network()->namedState())
      result.push_back(kv.second.detach().clone());
    std::vector<double> history;
    for (const auto & r : t.history())
      history.insert(history.end(), { r.loss, r.tanimoto, r.valLoss, r.valTanimoto, r.valDice });
    result.push_back(torch::tensor(history, torch::kFloat64));
    result.push_back(torch::tensor({ resumed ? 1 : 0 }));
    torch::save(result, (fs::path(out) / (phase + "-rank" + std::to_string(d.rank) + ".pt")).string());
    return 0;
  }
  catch (const std::exception & e)
  {
    std::fprintf(stderr, "distributed test worker: %s\n", e.what());
    return 1;
  }
}

[[maybe_unused]] const bool g_IsWorker = [] {
  const char * out = std::getenv("RESCRNET_DISTRIBUTED_TEST_WORKER");
  if (!out || !*out)
    return false;
  const int rc = runWorker(out);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(rc); // before GoogleTest's main, and without tearing down LibTorch's threads
}();

// A port that was free a moment ago (the kernel's choice for port 0 on loopback).
int
freePort()
{
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0)
    return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int       port = 0;
  if (::bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr *>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

// Runs the two workers of `phase`; true when both exit with 0 before the deadline. Kills them otherwise.
bool
runWorkers(const fs::path & out, const std::string & phase, std::chrono::steady_clock::time_point deadline)
{
  for (int attempt = 0; attempt < 3; ++attempt)
  {
    const int port = freePort();
    if (port == 0)
      continue;
    std::vector<pid_t> pids;
    for (int rank = 0; rank < 2; ++rank)
    {
      std::vector<std::string> env;
      for (char ** e = environ; *e; ++e)
      {
        const std::string v(*e);
        if (v.rfind("RANK=", 0) != 0 && v.rfind("WORLD_SIZE=", 0) != 0 && v.rfind("MASTER_", 0) != 0 &&
            v.rfind("RESCRNET_DISTRIBUTED_TEST_", 0) != 0)
          env.push_back(v);
      }
      env.insert(env.end(),
                 { "RANK=" + std::to_string(rank),
                   "WORLD_SIZE=2",
                   "MASTER_ADDR=127.0.0.1",
                   "MASTER_PORT=" + std::to_string(port),
                   "RESCRNET_DISTRIBUTED_TEST_WORKER=" + out.string(),
                   "RESCRNET_DISTRIBUTED_TEST_PHASE=" + phase,
                   "OMP_NUM_THREADS=1" });
      std::vector<char *> envp;
      for (auto & v : env)
        envp.push_back(v.data());
      envp.push_back(nullptr);
      std::string exe = fs::read_symlink("/proc/self/exe").string();
      char *      argv[] = { exe.data(), nullptr };
      pid_t       pid = 0;
      if (::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()) == 0)
        pids.push_back(pid);
    }
    bool ok = pids.size() == 2;
    // Wait for both; a failure or the deadline ends the other one too.
    std::vector<bool> done(pids.size(), false);
    while (ok && !std::all_of(done.begin(), done.end(), [](bool b) { return b; }))
    {
      for (size_t i = 0; i < pids.size(); ++i)
      {
        int status = 0;
        if (!done[i] && ::waitpid(pids[i], &status, WNOHANG) == pids[i])
        {
          done[i] = true;
          ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
      }
      if (std::chrono::steady_clock::now() > deadline)
      {
        ADD_FAILURE() << "the " << phase << " workers did not finish in time";
        ok = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (size_t i = 0; i < pids.size(); ++i)
    {
      if (!done[i])
      {
        ::kill(pids[i], SIGKILL);
        ::waitpid(pids[i], nullptr, 0);
      }
    }
    if (ok)
      return true;
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::fprintf(stderr, "%s workers failed on port %d (attempt %d)\n", phase.c_str(), port, attempt + 1);
  }
  return false;
}

// The trainer's epoch order (the data order is seeded, the same for every rank).
std::vector<int64_t>
epochOrder(int64_t n, uint64_t seed, int64_t epoch)
{
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 g(MixSeed(seed, static_cast<uint64_t>(epoch), 1));
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[static_cast<size_t>(g.next() % i)]);
  return order;
}

// max |a - b| / max |b| over a tensor.
double
maxRelativeDifference(const torch::Tensor & a, const torch::Tensor & b)
{
  const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  return (x - y).abs().max().item<double>() / std::max(y.abs().max().item<double>(), 1e-30);
}

} // namespace

TEST(Losses, SplitContourTanimotoEqualsTheWholeBatchLoss)
{
  const auto data = discs(5, 32, 3);
  torch::manual_seed(4);
  const auto logits = torch::randn({ 5, 2, 32, 32 });
  // Whole batch.
  auto p = torch::softmax(logits, 1).requires_grad_(true);
  auto whole = ContourTanimotoLoss(p, data.masks);
  whole.backward();
  const auto wholeGrad = p.grad().clone();
  // Slices of 2, 0 and 3 images: partial sums, added, then each slice's loss and gradient.
  auto                       q = torch::softmax(logits, 1).requires_grad_(true);
  const std::vector<int64_t> cuts{ 0, 2, 2, 5 };
  std::vector<torch::Tensor> locals;
  auto                       global = torch::zeros({ 6 }, torch::kFloat64);
  auto                       tani = torch::zeros({ 4 }, torch::kFloat64);
  for (size_t k = 0; k + 1 < cuts.size(); ++k)
  {
    auto slice = q.slice(0, cuts[k], cuts[k + 1]);
    auto t = data.masks.slice(0, cuts[k], cuts[k + 1]);
    locals.push_back(ContourTanimotoPartialSums(slice, t));
    global += locals.back().detach();
    tani += TanimotoPartialSums(slice, t);
  }
  EXPECT_EQ(global[0].item<double>(), static_cast<double>(data.masks.numel()));
  for (size_t k = 0; k < locals.size(); ++k)
  {
    auto loss = ContourTanimotoLossFromSums(locals[k], global);
    EXPECT_NEAR(loss.item<double>(), whole.item<double>(), 1e-6) << "slice " << k;
    if (cuts[k + 1] > cuts[k])
      loss.backward();
  }
  EXPECT_LT(maxRelativeDifference(q.grad(), wholeGrad), 1e-5);
  std::printf("split loss: gradient max relative difference %.3g\n", maxRelativeDifference(q.grad(), wholeGrad));
  EXPECT_NEAR(TanimotoCoefficientFromSums(tani), TanimotoCoefficient(p.detach(), data.masks).item<double>(), 1e-6);
  // The weight normalisation really is global: a slice alone gives another loss.
  EXPECT_GT(std::abs(ContourTanimotoLoss(p.detach().slice(0, 0, 2), data.masks.slice(0, 0, 2)).item<double>() -
                     whole.item<double>()),
            1e-4);
}

TEST(Distributed, RankSlicesCoverTheBatchContiguously)
{
  EXPECT_EQ(RankSlice(4, 0, 2), std::make_pair(int64_t{ 0 }, int64_t{ 2 }));
  EXPECT_EQ(RankSlice(4, 1, 2), std::make_pair(int64_t{ 2 }, int64_t{ 4 }));
  EXPECT_EQ(RankSlice(3, 0, 2), std::make_pair(int64_t{ 0 }, int64_t{ 1 }));
  EXPECT_EQ(RankSlice(3, 1, 2), std::make_pair(int64_t{ 1 }, int64_t{ 3 }));
  EXPECT_EQ(RankSlice(1, 0, 2), std::make_pair(int64_t{ 0 }, int64_t{ 0 }));
  for (int64_t b = 0; b < 20; ++b)
  {
    for (int w = 1; w < 6; ++w)
    {
      int64_t next = 0;
      for (int r = 0; r < w; ++r)
      {
        const auto s = RankSlice(b, r, w);
        EXPECT_EQ(s.first, next);
        EXPECT_LE(s.second - s.first, b / w + 1);
        EXPECT_GE(s.second - s.first, b / w);
        next = s.second;
      }
      EXPECT_EQ(next, b);
    }
  }
}

TEST(Distributed, ConfigurationFromTheTorchrunVariables)
{
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  ::unsetenv("MASTER_ADDR");
  ::unsetenv("MASTER_PORT");
  DistributedConfig d = DistributedConfig::FromEnvironment();
  EXPECT_EQ(d.worldSize, 1);
  EXPECT_EQ(d.rank, 0);
  EXPECT_EQ(d.masterAddress, "127.0.0.1");
  EXPECT_EQ(d.masterPort, 29500);
  EXPECT_FALSE(d.enabled());
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "3", 1);
  ::setenv("MASTER_ADDR", "node1", 1);
  ::setenv("MASTER_PORT", "23456", 1);
  d = DistributedConfig::FromEnvironment();
  EXPECT_EQ(d.worldSize, 4);
  EXPECT_EQ(d.rank, 3);
  EXPECT_EQ(d.masterAddress, "node1");
  EXPECT_EQ(d.masterPort, 23456);
  EXPECT_NO_THROW(d.validate());
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(DistributedConfig::FromEnvironment(), std::invalid_argument);
  ::unsetenv("WORLD_SIZE");
  ::unsetenv("RANK");
  ::unsetenv("MASTER_ADDR");
  ::unsetenv("MASTER_PORT");
  d.rank = 4;
  EXPECT_THROW(d.validate(), std::invalid_argument);
  d.rank = 0;
  d.masterPort = 70000;
  EXPECT_THROW(d.validate(), std::invalid_argument);
  // A trainer rejects a bad configuration before it tries to connect.
  TrainerConfig c = trainingConfig("", 1);
  c.distributed.worldSize = 2;
  c.distributed.rank = 2;
  EXPECT_THROW(Trainer(ResCRNet(tinyNetwork()), ModelInfo{}, c), std::invalid_argument);
}

TEST(Distributed, TwoProcessesMatchOneProcessWithTheCombinedBatch)
{
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(28);
  const auto dir = rescrnet::testing::TemporaryDirectory();
  ASSERT_TRUE(runWorkers(dir, "train", deadline));

  // One process, the same 3 steps: each global batch goes through the network as the two ranks' slices (batch
  // norm sees per-slice statistics, as on the ranks), and the loss is ContourTanimotoLoss of the whole batch.
  torch::set_num_threads(1);
  const auto train = discs(kTrainImages, 24, 1);
  const auto val = discs(kValImages, 24, 2);
  torch::manual_seed(5);
  ResCRNet            reference(tinyNetwork());
  torch::optim::Adam  adam(reference->parameters(), torch::optim::AdamOptions(kLearningRate).eps(kAdamEpsilon));
  const auto          order = epochOrder(kTrainImages, 42, 1);
  double              lossSum = 0;
  std::vector<double> losses;
  reference->train();
  for (int64_t b0 = 0; b0 < kTrainImages; b0 += kBatch)
  {
    const int64_t              b1 = std::min(kTrainImages, b0 + kBatch);
    std::vector<torch::Tensor> probs, masks;
    for (int rank = 0; rank < 2; ++rank)
    {
      const auto s = RankSlice(b1 - b0, rank, 2);
      if (s.first == s.second)
        continue;
      auto index = torch::tensor(std::vector<int64_t>(order.begin() + b0 + s.first, order.begin() + b0 + s.second));
      probs.push_back(reference->forward(train.images.index_select(0, index)));
      masks.push_back(train.masks.index_select(0, index));
    }
    auto loss = ContourTanimotoLoss(torch::cat(probs), torch::cat(masks));
    adam.zero_grad();
    loss.backward();
    adam.step();
    lossSum += loss.item<double>() * static_cast<double>(b1 - b0);
  }
  Trainer::RecalibrateBatchNorm(reference, train, kRecalibration, kBatch);
  const EpochRecord v = Trainer::Evaluate(reference, val, kBatch);

  std::vector<torch::Tensor> rank0, rank1;
  torch::load(rank0, (dir / "train-rank0.pt").string());
  torch::load(rank1, (dir / "train-rank1.pt").string());
  const auto state = reference->namedState();
  ASSERT_EQ(rank0.size(), state.size() + 2);
  ASSERT_EQ(rank1.size(), state.size() + 2);
  // The ranks hold the same state, bit for bit (the same summed gradients, the same Adam step).
  for (size_t i = 0; i < state.size(); ++i)
    EXPECT_TRUE(torch::equal(rank0[i], rank1[i])) << state[i].first;

  // Biases that feed batch norm straight away cancel out (in training and, once the running mean has absorbed
  // them, in inference): their exact gradient is 0, and Adam turns the rounding noise of that 0 into steps of about
  // the learning rate, different in every summation order. They are left out of the weight comparison; the network
  // function, checked below, does not depend on them.
  ResCRNet distributed(tinyNetwork());
  {
    torch::NoGradGuard g;
    auto               d = distributed->namedState();
    for (size_t i = 0; i < d.size(); ++i)
      d[i].second.copy_(rank0[i]);
  }
  const auto cancelled = [&](const std::string & name) {
    torch::NoGradGuard g;
    ResCRNet           probe(tinyNetwork());
    auto               d = probe->namedState();
    for (size_t i = 0; i < d.size(); ++i)
      d[i].second.copy_(rank0[i]);
    probe->train();
    const auto x = train.images.slice(0, 0, 4);
    const auto before = probe->forward(x);
    for (auto & kv : d)
      if (kv.first == name)
        kv.second.add_(0.1);
    return (probe->forward(x) - before).abs().max().item<double>() < 1e-5;
  };
  double maxParameterDifference = 0;
  int    compared = 0, skipped = 0;
  for (size_t i = 0; i < state.size(); ++i)
  {
    if (!state[i].second.requires_grad())
      continue;
    if (cancelled(state[i].first))
    {
      ++skipped;
      continue;
    }
    ++compared;
    maxParameterDifference = std::max(maxParameterDifference, maxRelativeDifference(rank0[i], state[i].second));
  }
  // Batch-norm variances (the means absorb the cancelled biases).
  double maxVarianceDifference = 0;
  for (size_t i = 0; i < state.size(); ++i)
    if (state[i].first.find("running_var") != std::string::npos)
      maxVarianceDifference = std::max(maxVarianceDifference, maxRelativeDifference(rank0[i], state[i].second));
  // The trained networks in inference.
  distributed->eval();
  reference->eval();
  double outputDifference = 0;
  {
    torch::NoGradGuard g;
    outputDifference = (distributed->forward(val.images) - reference->forward(val.images)).abs().max().item<double>();
  }
  std::printf("2 processes vs 1 process after 3 steps: max relative difference of %d weight tensors %.3g (%d "
              "biases cancelled by batch norm left out), of the batch-norm variances %.3g; max output difference "
              "%.3g\n",
              compared,
              maxParameterDifference,
              skipped,
              maxVarianceDifference,
              outputDifference);
  EXPECT_GT(compared, 30);
  EXPECT_LT(maxParameterDifference, 1e-5);
  EXPECT_LT(maxVarianceDifference, 1e-4);
  EXPECT_LT(outputDifference, 1e-5);
  // The recorded figures are those of one process.
  const auto h0 = rank0[state.size()];
  ASSERT_EQ(h0.numel(), 5);
  EXPECT_TRUE(torch::equal(h0, rank1[state.size()]));
  EXPECT_NEAR(h0[0].item<double>(), lossSum / static_cast<double>(kTrainImages), 1e-6);
  EXPECT_NEAR(h0[2].item<double>(), v.valLoss, 1e-5);
  EXPECT_NEAR(h0[3].item<double>(), v.valTanimoto, 1e-5);
  EXPECT_NEAR(h0[4].item<double>(), v.valDice, 1e-6);
  // Only rank 0 writes.
  EXPECT_TRUE(fs::exists(dir / "rank0" / "checkpoint.json"));
  EXPECT_TRUE(fs::exists(dir / "rank0" / "best.rcn"));
  EXPECT_FALSE(fs::exists(dir / "rank1"));

  // Both ranks resume from rank 0's checkpoint and train a second epoch in step.
  ASSERT_TRUE(runWorkers(dir, "resume", deadline));
  std::vector<torch::Tensor> resumed0, resumed1;
  torch::load(resumed0, (dir / "resume-rank0.pt").string());
  torch::load(resumed1, (dir / "resume-rank1.pt").string());
  EXPECT_EQ(resumed0.back().item<int64_t>(), 1);
  EXPECT_EQ(resumed1.back().item<int64_t>(), 1);
  for (size_t i = 0; i < state.size(); ++i)
    EXPECT_TRUE(torch::equal(resumed0[i], resumed1[i])) << state[i].first;
  const auto h = resumed0[state.size()];
  ASSERT_EQ(h.numel(), 10);
  EXPECT_TRUE(torch::equal(h.slice(0, 0, 5), h0)); // the first epoch comes from the checkpoint
  EXPECT_FALSE(torch::equal(resumed0[0], rank0[0]));
}
