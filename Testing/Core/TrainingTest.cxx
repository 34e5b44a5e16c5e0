// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Augmentation.h"
#include "rescrnet/Losses.h"
#include "rescrnet/Trainer.h"

#include "ResCRNetTestData.h"
#include "ResCRNetTestSupport.h"

#include <algorithm>
#include <cmath>
#include <fstream>

using namespace rescrnet;
using torch::indexing::Slice;

TEST(Losses, WindowFollowsTheShortSide)
{
  EXPECT_EQ(ContourWindowSize(128), 11);
  EXPECT_EQ(ContourWindowSize(150), 11);
  EXPECT_EQ(ContourWindowSize(151), 21);
  EXPECT_EQ(ContourWindowSize(300), 21);
  EXPECT_EQ(ContourWindowSize(301), 31);
  EXPECT_EQ(ContourWindowSize(600), 31);
  EXPECT_EQ(ContourWindowSize(700), 41);
}

TEST(Losses, ContourWeightMapMatchesHandComputedValues)
{
  // One row [0 0 0 1 1 1], window 3: averages (padding excluded) 0 0 1/3 2/3 1 1, border 0 0 1 1 0 0,
  // w = 1 + 2 border = 1 1 3 3 1 1, normalised by 6/10, squared.
  auto t = torch::tensor({ 0.f, 0.f, 0.f, 1.f, 1.f, 1.f }).view({ 1, 1, 1, 6 });
  auto w = ContourWeightMap(t, 3);
  auto expected = torch::tensor({ 0.36f, 0.36f, 3.24f, 3.24f, 0.36f, 0.36f }).view({ 1, 1, 1, 6 });
  EXPECT_TRUE(torch::allclose(w, expected, 1e-6, 1e-6)) << w;
  // Normalisation is global over the batch tensor: the mean before squaring is 1.
  auto big = (torch::rand({ 2, 2, 40, 50 }) > 0.5).to(torch::kFloat32);
  EXPECT_NEAR(ContourWeightMap(big).sqrt().mean().item<double>(), 1.0, 1e-5);
}

TEST(Losses, WeightedTanimotoMatchesHandComputedValue)
{
  auto p = torch::tensor({ 0.8f, 0.3f });
  auto t = torch::tensor({ 1.f, 0.f });
  auto w = torch::tensor({ 1.f, 2.f });
  // T = 1.8 / 2.02, complement 2.4 / 2.62.
  const double expected = 1.0 - 0.5 * (1.8 / 2.02 + 2.4 / 2.62);
  EXPECT_NEAR(WeightedTanimotoLoss(p, t, w, 1.0).item<double>(), expected, 1e-6);
  EXPECT_NEAR(WeightedTanimotoLoss(t, t, w, 1.0).item<double>(), 0.0, 1e-7);
  // Unweighted coefficient and Dice.
  EXPECT_NEAR(TanimotoCoefficient(p, t).item<double>(), 0.5 * (1.8 / 1.93 + 1.7 / 1.83), 1e-6);
  EXPECT_NEAR(
    DiceCoefficient(torch::tensor({ 1.f, 0.f, 0.f }), torch::tensor({ 1.f, 0.f, 1.f })).item<double>(), 0.75, 1e-7);
}

namespace
{
// An L-shaped mask and an image drawn from it, [1, 1, H, W] / [1, 2, H, W].
std::pair<torch::Tensor, torch::Tensor>
lShape(int64_t h, int64_t w)
{
  auto m = torch::zeros({ h, w });
  m.index_put_({ Slice(h / 5, 4 * h / 5), Slice(w / 5, 2 * w / 5) }, 1.0);
  m.index_put_({ Slice(3 * h / 5, 4 * h / 5), Slice(w / 5, 4 * w / 5) }, 1.0);
  auto masks = torch::stack({ m, 1 - m }).unsqueeze(0);
  auto image = (0.1 + 0.8 * m).view({ 1, 1, h, w });
  return { image, masks };
}
} // namespace

TEST(Augmentation, MovesImageAndMaskIdentically)
{
  auto [image, masks] = lShape(60, 70);
  for (uint64_t seed = 1; seed <= 8; ++seed)
  {
    auto out = AugmentBatch(image, masks, AugmentationConfig::Keras(), { seed });
    // The image was drawn from the mask: thresholding the moved image must give the moved mask.
    auto fromImage = out.first[0][0] > 0.5;
    auto moved = out.second[0][0] > 0.5;
    EXPECT_LE((fromImage != moved).sum().item<int64_t>(), 2) << "seed " << seed;
    EXPECT_GT((out.second - masks).abs().sum().item<double>(), 0.0) << "transform was the identity";
    // Masks stay binary.
    EXPECT_TRUE(torch::equal(out.second, out.second.round()));
  }
}

TEST(Augmentation, FixedSeedGivesIdenticalBatches)
{
  auto [image, masks] = lShape(40, 50);
  auto               images = image.repeat({ 3, 1, 1, 1 });
  auto               ms = masks.repeat({ 3, 1, 1, 1 });
  AugmentationConfig c = AugmentationConfig::Keras();
  c.gamma = 0.3;
  c.opacities = 2;
  auto a = AugmentBatch(images, ms, c, { 11, 12, 13 });
  auto b = AugmentBatch(images, ms, c, { 11, 12, 13 });
  auto d = AugmentBatch(images, ms, c, { 11, 12, 14 });
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.second, b.second));
  EXPECT_TRUE(torch::equal(a.first[0], d.first[0]));
  EXPECT_FALSE(torch::equal(a.first[2], d.first[2]));
}

TEST(Augmentation, CanBeSwitchedOffAndFlipsAreExact)
{
  auto [image, masks] = lShape(30, 40);
  auto off = AugmentBatch(image, masks, AugmentationConfig::None(), { 5 });
  EXPECT_TRUE(torch::equal(off.first, image));
  SampleTransform flip;
  flip.flipHorizontal = true;
  EXPECT_TRUE(torch::allclose(ApplyGeometry(image[0], flip), image[0].flip({ 2 }), 1e-5, 1e-6));
  SampleTransform shift;
  shift.shiftX = 3.0; // output(x) = input(x + 3)
  auto moved = ApplyGeometry(image[0], shift);
  EXPECT_TRUE(torch::allclose(
    moved.index({ Slice(), Slice(), Slice(0, 30) }), image[0].index({ Slice(), Slice(), Slice(3, 33) }), 1e-5, 1e-5));
}

namespace
{
using rescrnet::testing::TinyNetworkConfig;

TrainingData
blobs(int64_t n, int64_t size, uint64_t seed)
{
  return rescrnet::testing::SyntheticDiscs(n, size, seed, "blob");
}

TrainerConfig
tinyTraining(const std::filesystem::path & dir, int64_t epochs)
{
  TrainerConfig c;
  c.epochs = epochs;
  c.batchSize = 3;
  c.threads = 1;
  c.seed = 42;
  c.batchNormRecalibrationBatches = 2;
  c.checkpointDirectory = dir.string();
  return c;
}
} // namespace

TEST(Trainer, ResumedRunReproducesTheUninterruptedLossSequence)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  auto       train = blobs(7, 24, 1);
  auto       val = blobs(3, 24, 2);

  torch::manual_seed(5);
  Trainer whole(ResCRNet(TinyNetworkConfig()), ModelInfo{}, tinyTraining(dir / "whole", 2));
  whole.setTrainingData(train);
  whole.setValidationData(val);
  whole.run();
  ASSERT_EQ(whole.history().size(), 2u);

  torch::manual_seed(5);
  Trainer first(ResCRNet(TinyNetworkConfig()), ModelInfo{}, tinyTraining(dir / "split", 1));
  first.setTrainingData(train);
  first.setValidationData(val);
  first.run();
  ASSERT_EQ(first.history().size(), 1u);

  torch::manual_seed(99); // a different initialisation: everything must come from the checkpoint
  Trainer second(ResCRNet(TinyNetworkConfig()), ModelInfo{}, tinyTraining(dir / "split", 2));
  second.setTrainingData(train);
  second.setValidationData(val);
  ASSERT_TRUE(second.resume());
  second.run();
  ASSERT_EQ(second.history().size(), 2u);
  for (size_t e = 0; e < 2; ++e)
  {
    EXPECT_DOUBLE_EQ(second.history()[e].loss, whole.history()[e].loss) << "epoch " << e + 1;
    EXPECT_DOUBLE_EQ(second.history()[e].valLoss, whole.history()[e].valLoss) << "epoch " << e + 1;
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "split" / "best.rcn"));
  second.writeHistoryCsv((dir / "history.csv").string());
  std::ifstream csv(dir / "history.csv");
  std::string   header;
  std::getline(csv, header);
  EXPECT_EQ(header, "epoch,loss,tanimoto,val_loss,val_tanimoto,val_dice,seconds,learning_rate");
}

TEST(Trainer, LearnsASimpleSegmentation)
{
  auto          train = blobs(12, 24, 3);
  TrainerConfig c = tinyTraining("", 6);
  c.augmentation = AugmentationConfig::None();
  c.learningRate = 1e-2;
  torch::manual_seed(1);
  Trainer t(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  t.setTrainingData(train);
  t.setValidationData(train);
  t.run();
  EXPECT_EQ(t.stopReason(), "completed");
  EXPECT_LT(t.history().back().loss, 0.6 * t.history().front().loss);
  EXPECT_GT(t.history().back().valDice, 0.8);
}

TEST(Trainer, TimeBudgetAndEarlyStopping)
{
  auto          train = blobs(6, 16, 4);
  TrainerConfig c = tinyTraining("", 50);
  c.maxMinutes = 1e-6;
  Trainer budget(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  budget.setTrainingData(train);
  budget.run();
  EXPECT_EQ(budget.stopReason(), "time budget");
  EXPECT_TRUE(budget.history().empty());

  c.maxMinutes = 0;
  c.earlyStoppingPatience = 1;
  c.earlyStoppingMinDelta = 10.0; // no epoch can improve by that much
  Trainer early(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  early.setTrainingData(train);
  early.run();
  EXPECT_EQ(early.stopReason(), "early stopping");
  // The first epoch sets the baseline; the second fails to improve on it by min_delta.
  EXPECT_EQ(early.history().size(), 2u);
}

TEST(Trainer, BatchNormRecalibrationMatchesBatchStatistics)
{
  NetworkConfig cfg = TinyNetworkConfig();
  cfg.blockDropout = { 0.0, 0.0 };
  ResCRNet net(cfg);
  {
    torch::NoGradGuard g;
    for (auto & b : net->named_buffers())
      if (b.key().find("running_mean") != std::string::npos)
        b.value().fill_(100.0);
  }
  auto data = blobs(4, 20, 5);
  net->eval();
  torch::NoGradGuard g;
  auto               train = [&] {
    net->train();
    auto y = net->forward(data.images);
    net->eval();
    return y;
  }();
  EXPECT_GT((net->forward(data.images) - train).abs().max().item<double>(), 0.1);
  Trainer::RecalibrateBatchNorm(net, data, 1, 4);
  EXPECT_LT((net->forward(data.images) - train).abs().max().item<double>(), 2e-3);
  // The momentum is restored afterwards.
  for (const auto & m : net->modules(false))
  {
    if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(m))
    {
      EXPECT_TRUE(bn->options.momentum().has_value());
    }
  }
}

TEST(Trainer, RejectsMismatchedData)
{
  Trainer      t(ResCRNet(TinyNetworkConfig()), ModelInfo{}, tinyTraining("", 1));
  TrainingData d = blobs(2, 16, 6);
  d.masks = d.masks.slice(1, 0, 1);
  EXPECT_THROW(t.setTrainingData(d), std::invalid_argument);
}

TEST(Trainer, SourceWeightsSetTheShareOfEachSourceAndCycleThroughItsImages)
{
  // 10 images of A and 30 of B, weights 1:1: each epoch has 40 samples, 20 of each source. A's 10 images appear
  // twice per epoch, B's 30 in turn: over three epochs (60 B draws) every B image exactly twice.
  std::vector<std::string> sources(10, "A");
  sources.insert(sources.end(), 30, "B");
  TrainerConfig c;
  c.seed = 7;
  c.sourceWeights = { { "A", 1.0 }, { "B", 1.0 } };
  std::vector<int> seen(40, 0);
  for (int64_t epoch = 1; epoch <= 3; ++epoch)
  {
    const auto order = Trainer::SampleOrder(sources, 40, c, epoch);
    ASSERT_EQ(order.size(), 40u);
    int fromA = 0;
    for (int64_t i : order)
    {
      ASSERT_GE(i, 0);
      ASSERT_LT(i, 40);
      fromA += i < 10;
      ++seen[static_cast<size_t>(i)];
    }
    EXPECT_EQ(fromA, 20) << "epoch " << epoch;
    // The same epoch gives the same order (resume), another epoch another one.
    EXPECT_EQ(order, Trainer::SampleOrder(sources, 40, c, epoch));
    EXPECT_NE(order, Trainer::SampleOrder(sources, 40, c, epoch + 1));
  }
  for (size_t i = 0; i < 10; ++i)
    EXPECT_EQ(seen[i], 6) << "A image " << i;
  for (size_t i = 10; i < 40; ++i)
    EXPECT_EQ(seen[i], 2) << "B image " << i;

  // Weight 3:1 -> 30 of A, 10 of B; a weight of 0 leaves a source out.
  c.sourceWeights = { { "A", 3.0 }, { "B", 1.0 } };
  const auto skewed = Trainer::SampleOrder(sources, 40, c, 1);
  EXPECT_EQ(std::count_if(skewed.begin(), skewed.end(), [](int64_t i) { return i < 10; }), 30);
  c.sourceWeights = { { "A", 0.0 }, { "B", 1.0 } };
  const auto onlyB = Trainer::SampleOrder(sources, 40, c, 1);
  EXPECT_EQ(std::count_if(onlyB.begin(), onlyB.end(), [](int64_t i) { return i < 10; }), 0);
  EXPECT_EQ(onlyB.size(), 40u);

  // Without weights: a permutation of all samples.
  c.sourceWeights.clear();
  auto plain = Trainer::SampleOrder(sources, 40, c, 1);
  std::sort(plain.begin(), plain.end());
  for (int64_t i = 0; i < 40; ++i)
    EXPECT_EQ(plain[static_cast<size_t>(i)], i);
}

TEST(Trainer, ValidationIsReportedPerSource)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  auto       train = blobs(6, 24, 11);
  train.sources = { "A", "A", "A", "B", "B", "B" };
  auto val = blobs(5, 24, 12);
  val.sources = { "A", "B", "B", "A", "B" };
  TrainerConfig c = tinyTraining(dir / "ckpt", 1);
  c.sourceWeights = { { "A", 2.0 }, { "B", 1.0 } };
  torch::manual_seed(2);
  Trainer t(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  t.setTrainingData(train);
  t.setValidationData(val);
  t.run();
  ASSERT_EQ(t.history().size(), 1u);
  const auto & r = t.history()[0];
  ASSERT_EQ(r.valDiceBySource.size(), 2u);
  EXPECT_EQ(r.valDiceBySource[0].first, "A");
  EXPECT_EQ(r.valDiceBySource[1].first, "B");
  // The overall Dice is the mean over images, so the sources' Dice weighted by their image counts.
  EXPECT_NEAR(r.valDice, (2 * r.valDiceBySource[0].second + 3 * r.valDiceBySource[1].second) / 5, 1e-6);
  t.writeHistoryCsv((dir / "history.csv").string());
  std::ifstream csv(dir / "history.csv");
  std::string   header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  EXPECT_EQ(header, "epoch,loss,tanimoto,val_loss,val_tanimoto,val_dice,seconds,learning_rate,val_dice_A,val_dice_B");
  EXPECT_EQ(std::count(row.begin(), row.end(), ','), 9);
  // The per-source figures survive a checkpoint round trip.
  Trainer resumed(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  resumed.setTrainingData(train);
  ASSERT_TRUE(resumed.resume());
  ASSERT_EQ(resumed.history().size(), 1u);
  EXPECT_EQ(resumed.history()[0].valDiceBySource, r.valDiceBySource);
}

TEST(Trainer, RejectsSourceWeightsThatDoNotMatchTheData)
{
  auto train = blobs(4, 16, 13);
  train.sources = { "A", "A", "B", "B" };
  TrainerConfig c = tinyTraining("", 1);
  c.sourceWeights = { { "A", 1.0 } }; // B has no weight
  Trainer missing(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  EXPECT_THROW(missing.setTrainingData(train), std::invalid_argument);
  c.sourceWeights = { { "A", 1.0 }, { "B", 1.0 }, { "C", 1.0 } }; // no image from C
  Trainer unknown(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  EXPECT_THROW(unknown.setTrainingData(train), std::invalid_argument);
  c.sourceWeights = { { "A", 0.0 }, { "B", 0.0 } };
  Trainer zero(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  EXPECT_THROW(zero.setTrainingData(train), std::invalid_argument);
  c.sourceWeights = { { "A", -1.0 }, { "B", 1.0 } };
  Trainer negative(ResCRNet(TinyNetworkConfig()), ModelInfo{}, c);
  EXPECT_THROW(negative.setTrainingData(train), std::invalid_argument);
}

// Settings are checked before any data are read or any file is written: a learning rate of 1e308 or NaN, a zoom of
// 1 or a negative batch size are refused by name.
TEST(Trainer, ConfigurationOutOfRangeIsRefusedUpFront)
{
  auto refused = [](auto edit, const std::string & what) {
    TrainerConfig c;
    edit(c);
    try
    {
      c.validate();
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << what << " was accepted";
  };
  refused([](TrainerConfig & c) { c.learningRate = 1e308; }, "the learning rate");
  refused([](TrainerConfig & c) { c.learningRate = std::nan(""); }, "the learning rate");
  refused([](TrainerConfig & c) { c.batchSize = -1; }, "batch size");
  refused([](TrainerConfig & c) { c.augmentation.zoom = 1.0; }, "zoom");
  EXPECT_NO_THROW(TrainerConfig().validate());
}
