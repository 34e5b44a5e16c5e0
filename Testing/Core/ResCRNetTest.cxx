// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/ResCRNet.h"

#include <gtest/gtest.h>

#include <sstream>

using namespace rescrnet;

TEST(ResCRNet, LungModelHasThePublishedParameterCounts)
{
  ResCRNet   net(NetworkConfig::LungDefault());
  const auto counts = net->parameterCounts();
  EXPECT_EQ(counts.trainable, 58309);
  EXPECT_EQ(counts.batchNormStatistics, 1632);
}

TEST(ResCRNet, MicroscopyModelHasThePublishedParameterCounts)
{
  ResCRNet   net(NetworkConfig::MicroscopyDefault());
  const auto counts = net->parameterCounts();
  EXPECT_EQ(counts.trainable, 59165);
  EXPECT_EQ(counts.batchNormStatistics, 1632);
}

TEST(ResCRNet, PaperLayoutWithFourBlocksCounts47189)
{
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 4;
  c.blockDropout = { 0.05, 0.05, 0.05, 0.05, 0.05 };
  ResCRNet net(c);
  EXPECT_EQ(net->parameterCounts().trainable, 47189);
  EXPECT_EQ(net->parameterCounts().batchNormStatistics, 1344);
}

TEST(ResCRNet, LstmBlockParameterCountFollowsTheSpec)
{
  // 1x1 conv 48 -> C plus 4 ConvLSTMs of 24C + 4 parameters each.
  for (int64_t classes : { 2, 4 })
  {
    NetworkConfig c = NetworkConfig::LungDefault();
    c.numClasses = classes;
    ResCRNet withoutLstm(c);
    c.lstmBlocks = 1;
    ResCRNet   withLstm(c);
    const auto head = withoutLstm->parameterCounts().trainable - (48 * classes + classes);
    EXPECT_EQ(withLstm->parameterCounts().trainable - head, 48 * classes + classes + 4 * (24 * classes + 4));
  }
}

TEST(ResCRNet, KeepsAnyInputSizeAndOutputsProbabilities)
{
  torch::manual_seed(1);
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 1;
  c.blockDropout = { 0.05, 0.0 };
  ResCRNet net(c);
  net->eval();
  for (auto hw : { std::pair<int64_t, int64_t>{ 17, 23 }, { 40, 9 }, { 1, 1 } })
  {
    torch::NoGradGuard g;
    auto               y = net->forward(torch::rand({ 2, 1, hw.first, hw.second }));
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{ 2, 2, hw.first, hw.second }));
    EXPECT_TRUE(torch::allclose(y.sum(1), torch::ones({ 2, hw.first, hw.second }), 1e-5, 1e-6));
    EXPECT_GE(y.min().item<float>(), 0.0f);
  }
}

TEST(ResCRNet, LstmNetworkRunsAndIsTranslationSensitiveAlongRows)
{
  torch::manual_seed(2);
  NetworkConfig c = NetworkConfig::MicroscopyDefault();
  c.convResBlocks = 0;
  c.blockDropout = { 0.0 };
  ResCRNet net(c);
  net->eval();
  torch::NoGradGuard g;
  auto               x = torch::rand({ 1, 3, 12, 80 });
  auto               y = net->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{ 1, 4, 12, 80 }));
  EXPECT_TRUE(torch::allclose(y.sum(1), torch::ones({ 1, 12, 80 }), 1e-5, 1e-6));
  // The LSTM scans whole rows and columns: changing one far pixel changes the output elsewhere.
  auto x2 = x.clone();
  x2.index_put_({ 0, 0, 11, 79 }, 5.0); // beyond the STEM's 61-pixel receptive field
  auto y2 = net->forward(x2);
  // Columns 0..39 lie outside the STEM's reach from column 79: only the LSTM scans can carry the change there.
  const auto changed =
    ((y2 - y).abs().amax(1) > 0).index({ 0, torch::indexing::Slice(), torch::indexing::Slice(0, 40) });
  EXPECT_GT(changed.sum().item<int64_t>(), 12 * 40 / 2);
  // Without LSTM blocks the same change cannot reach those columns.
  c.lstmBlocks = 0;
  ResCRNet plain(c);
  plain->eval();
  const auto plainChanged = ((plain->forward(x2) - plain->forward(x)).abs().amax(1) > 0)
                              .index({ 0, torch::indexing::Slice(), torch::indexing::Slice(0, 40) });
  EXPECT_EQ(plainChanged.sum().item<int64_t>(), 0);
}

TEST(ResCRNet, ReceptiveFieldAndFlops)
{
  ResCRNet net(NetworkConfig::LungDefault());
  // STEM + 5 CONV RES, each with two 7x7 dilation-5 separable convolutions (extent 31).
  EXPECT_EQ(net->receptiveField(), 1 + 6 * 60);
  // About 11.5 GFLOP per 340x300 image.
  EXPECT_NEAR(net->flopsPerPixel() * 340 * 300 / 1e9, 11.5, 0.2);
  std::ostringstream os;
  net->printSummary(os);
  EXPECT_NE(os.str().find("58309"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("receptive field: 361 x 361"), std::string::npos) << os.str();
}

TEST(ResCRNet, DropoutIsInactiveInEvalMode)
{
  torch::manual_seed(3);
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 1;
  c.blockDropout = { 0.5, 0.0 };
  ResCRNet net(c);
  net->eval();
  torch::NoGradGuard g;
  auto               x = torch::rand({ 1, 1, 16, 16 });
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
  net->train();
  EXPECT_FALSE(torch::equal(net->forward(x), net->forward(x)));
}

TEST(NetworkConfig, JsonRoundTripAndValidation)
{
  const NetworkConfig c = NetworkConfig::MicroscopyDefault();
  EXPECT_EQ(NetworkConfig::fromJson(c.toJson()), c);
  nlohmann::ordered_json j = c.toJson();
  j["block_dropout"] = { 0.1 };
  EXPECT_THROW(NetworkConfig::fromJson(j), std::invalid_argument);
  nlohmann::ordered_json k = c.toJson();
  k["kernels"] = { 4, 5, 7 };
  EXPECT_THROW(NetworkConfig::fromJson(k), std::invalid_argument);
  nlohmann::ordered_json f = c.toJson();
  f["filters"] = 16.5;
  EXPECT_THROW(NetworkConfig::fromJson(f), std::invalid_argument);
  f["filters"] = 16.0; // an integral float is the integer it spells
  EXPECT_EQ(NetworkConfig::fromJson(f), c);
}
