// SPDX-License-Identifier: Apache-2.0
// Reduced precision on the fused inference path: fp16 (AVX512-FP16) and bf16 (AVX512-BF16 dot products, and the AMX
// driver on tiles emulated in software) against fp32, the precision option of FusedInference and Predictor, auto's
// self-check, and CPU detection. The reduced-precision kernels run where the instructions execute: on machines
// whose hypervisor hides them from CPUID, the test declares them through RESCRNET_ASSUME_ISA after running them
// in a child process (rescrnet::testing::AssumeReducedPrecisionWhereItExecutes); elsewhere those tests are skipped.
#include "ResCRNetTestData.h"
#include "rescrnet/FusedInference.h"
#include "rescrnet/JsonParsing.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/Precision.h"
#include "rescrnet/Predictor.h"
#include "rescrnet/ResCRNet.h"

#include "ResCRNetTestSupport.h"

#include <gtest/gtest.h>

#include <cpuid.h>
#include <iostream>
#include <string>

using namespace rescrnet;
using Json = nlohmann::ordered_json;

namespace
{
// Before anything detects the CPU.
const std::string g_Assumed = rescrnet::testing::AssumeReducedPrecisionWhereItExecutes();

using rescrnet::testing::RandomNetwork;

double
maxAbsDiff(const torch::Tensor & a, const torch::Tensor & b)
{
  return (a - b).abs().max().item<double>();
}

double
differingFraction(const torch::Tensor & a, const torch::Tensor & b)
{
  return (a.argmax(1) != b.argmax(1)).to(torch::kDouble).mean().item<double>();
}

#define SKIP_UNLESS_SUPPORTED(p)                                                                                       \
  if (!FusedInference::PrecisionSupported(p))                                                                          \
  {                                                                                                                    \
    GTEST_SKIP() << ToString(p) << " does not run here (" << DetectedCpuFeatures().describe() << ")";                  \
  }

struct RestoreEmulation
{
  ~RestoreEmulation()
  {
    FusedInference::SetTileEmulation(false);
  }
};

// Reduced precision moves these random networks' probabilities by up to a few 1e-2 where a pixel's classes are close;
// a wrong tap, layout or conversion moves them by far more and flips many pixels.
constexpr double kReducedTolerance = 0.08;
constexpr double kReducedFlips = 0.01;
} // namespace

TEST(Precision, NamesRoundTripAndUnknownNamesAreRejected)
{
  for (Precision p : { Precision::Float32, Precision::BFloat16, Precision::Float16, Precision::Auto })
  {
    EXPECT_EQ(ParsePrecision(ToString(p)), p);
  }
  EXPECT_THROW(ParsePrecision("fp8"), std::invalid_argument);
  EXPECT_THROW(ParsePrecision("FP16"), std::invalid_argument);
  EXPECT_TRUE(PrecisionAvailable(Precision::Float32));
  EXPECT_TRUE(PrecisionAvailable(Precision::Auto));
}

TEST(Precision, DetectionFollowsCpuidUnlessDeclared)
{
  const CpuFeatures & f = DetectedCpuFeatures();
  std::cout << "CPU: " << f.describe() << "; declared by this test: '" << g_Assumed << "'" << std::endl;
  unsigned a = 0, b = 0, c = 0, d = 0;
  ASSERT_TRUE(__get_cpuid_count(7, 0, &a, &b, &c, &d));
  const bool     cpuidFp16 = (d & (1u << 23)) != 0;
  const unsigned maxSub = a;
  bool           cpuidBf16 = false;
  if (maxSub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d))
  {
    cpuidBf16 = (a & (1u << 5)) != 0;
  }
  // A feature is on when CPUID reports it (with the OS's AVX-512 state) or when it was declared, and only then.
  EXPECT_EQ(f.avx512fp16, (f.avx512 && cpuidFp16) || f.assumedFp16);
  EXPECT_EQ(f.avx512bf16, (f.avx512 && cpuidBf16) || f.assumedBf16);
  EXPECT_FALSE(f.assumedFp16 && cpuidFp16);
  EXPECT_FALSE(f.assumedBf16 && cpuidBf16);
  // AMX is never declared: it needs CPUID, the OS's tile state and the kernel's permission.
  if (f.amx)
  {
    EXPECT_TRUE(cpuidBf16);
  }
}

TEST(Precision, UnsupportedPrecisionsAreRefusedWithTheReason)
{
  ResCRNet       net = RandomNetwork(NetworkConfig::LungDefault(), 3);
  FusedInference fused(*net);
  Predictor      predictor(net, 1);
  for (Precision p : { Precision::Float16, Precision::BFloat16 })
  {
    if (FusedInference::PrecisionSupported(p))
    {
      continue;
    }
    EXPECT_THROW(fused.setPrecision(p), std::runtime_error);
    try
    {
      predictor.setPrecision(p);
      ADD_FAILURE() << "accepted " << ToString(p);
    }
    catch (const std::invalid_argument & e)
    {
      EXPECT_NE(std::string(e.what()).find("CPUID"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(fused.precision(), Precision::Float32);
  EXPECT_EQ(predictor.precision(), Precision::Float32);
}

TEST(FusedPrecision, Fp16FollowsFp32OnOddSizesAndBatches)
{
  SKIP_UNLESS_SUPPORTED(Precision::Float16);
  ResCRNet       net = RandomNetwork(NetworkConfig::LungDefault(), 11);
  FusedInference fused(*net);
  for (const auto & shape : std::vector<std::vector<int64_t>>{ { 1, 1, 37, 53 }, { 2, 1, 21, 16 }, { 1, 1, 64, 70 } })
  {
    torch::manual_seed(3);
    const auto x = torch::rand(shape);
    fused.setPrecision(Precision::Float32);
    const auto reference = fused.forward(x);
    fused.setPrecision(Precision::Float16);
    EXPECT_STREQ(fused.kernelName(), "avx512fp16");
    const auto got = fused.forward(x);
    std::cout << x.sizes() << " fp16 vs fp32: max " << maxAbsDiff(got, reference) << ", argmax differs on "
              << differingFraction(got, reference) << std::endl;
    EXPECT_LE(maxAbsDiff(got, reference), kReducedTolerance);
    EXPECT_LE(differingFraction(got, reference), kReducedFlips);
    EXPECT_LE((got.sum(1) - 1.0).abs().max().item<double>(), 1e-5); // the softmax stays in fp32
    // Deterministic: the same bits again.
    EXPECT_TRUE(torch::equal(fused.forward(x), got));
  }
}

TEST(FusedPrecision, ReducedPrecisionsOnOtherConfigurations)
{
  NetworkConfig c;
  c.inputChannels = 3;
  c.numClasses = 3;
  c.convResBlocks = 2;
  c.filters = 6;           // odd channel pairs for bf16, partial 8-channel tiles
  c.kernels = { 1, 3, 9 }; // 1 and 9 take the generic kernel-size paths
  c.dilations = { 1, 2, 2 };
  c.blockDropout = { 0.1, 0.0, 0.0 };
  c.validate();
  ResCRNet       net = RandomNetwork(c, 5);
  FusedInference fused(*net);
  torch::manual_seed(4);
  const auto x = torch::rand({ 2, 3, 29, 41 });
  const auto reference = fused.forward(x);
  int        ran = 0;
  for (Precision p : { Precision::Float16, Precision::BFloat16 })
  {
    if (!FusedInference::PrecisionSupported(p))
    {
      continue;
    }
    fused.setPrecision(p);
    const auto got = fused.forward(x);
    std::cout << ToString(p) << " vs fp32: max " << maxAbsDiff(got, reference) << std::endl;
    EXPECT_LE(maxAbsDiff(got, reference), kReducedTolerance) << ToString(p);
    EXPECT_LE(differingFraction(got, reference), kReducedFlips) << ToString(p);
    ++ran;
  }
  if (ran == 0)
  {
    GTEST_SKIP() << "no reduced precision runs here (" << DetectedCpuFeatures().describe() << ")";
  }
}

TEST(FusedPrecision, Bf16DotProductsAndTheAmxDriverOnEmulatedTilesAgree)
{
  SKIP_UNLESS_SUPPORTED(Precision::BFloat16);
  RestoreEmulation restore;
  ResCRNet         net = RandomNetwork(NetworkConfig::LungDefault(), 21);
  FusedInference   fused(*net);
  torch::manual_seed(5);
  const auto x = torch::rand({ 1, 1, 35, 50 });
  const auto reference = fused.forward(x);
  fused.setPrecision(Precision::BFloat16);
  FusedInference::SetTileEmulation(false);
  const std::string kernels = fused.kernelName();
  const auto        dot = fused.forward(x);
  FusedInference::SetTileEmulation(true);
  EXPECT_STREQ(fused.kernelName(), "amx-bf16 (emulated tiles)");
  const auto tiles = fused.forward(x);
  std::cout << kernels << " vs fp32: max " << maxAbsDiff(dot, reference) << "; emulated AMX tiles vs " << kernels
            << ": max " << maxAbsDiff(tiles, dot) << std::endl;
  EXPECT_LE(maxAbsDiff(dot, reference), kReducedTolerance);
  EXPECT_LE(differingFraction(dot, reference), kReducedFlips);
  // The same bfloat16 products summed in fp32 in another order; the next layer's bfloat16 rounding amplifies the
  // last-bit differences, so whole networks agree as closely as either does with fp32 (FusedBf16KernelsTest checks
  // the products themselves).
  EXPECT_LE(maxAbsDiff(tiles, reference), kReducedTolerance);
  EXPECT_LE(differingFraction(tiles, reference), kReducedFlips);
}

TEST(FusedPrecision, AutoTakesFp32WhenTheSelfCheckFails)
{
  ResCRNet net = RandomNetwork(NetworkConfig::LungDefault(), 31);
  {
    // Activations beyond the half-precision range (65504): fp16 turns them into infinities.
    torch::NoGradGuard noGrad;
    auto &             stemShortcut = net->convBlocks->ptr(0)->as<ConvResBlockImpl>()->shortcut->weight;
    stemShortcut.mul_(1e6);
  }
  FusedInference fused(*net);
  fused.setPrecision(Precision::Auto, 40, 48);
  if (FusedInference::PrecisionSupported(Precision::Float16))
  {
    const auto check = fused.CheckPrecision(Precision::Float16, 40, 48);
    EXPECT_FALSE(check.passed);
    EXPECT_FALSE(check.finite);
  }
  EXPECT_NE(fused.precision(), Precision::Float16);
  // Without AMX, auto does not consider bf16 (its dot products are not faster than fp32).
  if (!DetectedCpuFeatures().amx)
  {
    EXPECT_EQ(fused.precision(), Precision::Float32);
  }
}

TEST(FusedPrecision, AutoTakesFp16OnlyWhereCpuidReportsItAndTheProbeAgrees)
{
  ResCRNet       net = RandomNetwork(NetworkConfig::LungDefault(), 41);
  FusedInference fused(*net);
  fused.setPrecision(Precision::Auto, 60, 64);
  if (!PrecisionReported(Precision::Float16))
  {
    // Declared features (RESCRNET_ASSUME_ISA) are for explicit requests only.
    EXPECT_NE(fused.precision(), Precision::Float16);
  }
  if (!FusedInference::PrecisionSupported(Precision::Float16))
  {
    GTEST_SKIP() << "fp16 does not run here; auto took " << ToString(fused.precision());
  }
  const auto check = fused.CheckPrecision(Precision::Float16, 60, 64);
  std::cout << "probe: " << check.differingFraction << " of " << check.pixels << " pixels differ, max "
            << check.maxProbabilityDifference << "; auto took " << ToString(fused.precision()) << std::endl;
  EXPECT_TRUE(check.finite);
  EXPECT_EQ(check.passed, check.differingFraction <= FusedInference::kMaxDifferingFraction);
  if (PrecisionReported(Precision::Float16))
  {
    EXPECT_EQ(check.passed, fused.precision() == Precision::Float16);
  }
  // The probe is a radiograph-like pattern in [0, 1], the same every time.
  EXPECT_TRUE(torch::equal(FusedInference::ProbeImage(60, 64), FusedInference::ProbeImage(60, 64)));
  const auto probe = FusedInference::ProbeImage(60, 64);
  EXPECT_GE(probe.min().item<float>(), 0.0f);
  EXPECT_LE(probe.max().item<float>(), 1.0f);
  EXPECT_GT(probe.std().item<float>(), 0.1f);
}

TEST(FusedPrecision, PredictorAppliesThePrecisionAndReadsNewWeights)
{
  SKIP_UNLESS_SUPPORTED(Precision::Float16);
  ResCRNet  net = RandomNetwork(NetworkConfig::LungDefault(), 51);
  Predictor predictor(net, 2);
  torch::manual_seed(9);
  const auto x = torch::rand({ 1, 1, 33, 35 });
  const auto fp32 = predictor.predict(x);
  EXPECT_EQ(predictor.effectivePrecision(), Precision::Float32);
  predictor.setPrecision(Precision::Float16);
  EXPECT_EQ(predictor.effectivePrecision(), Precision::Float16);
  const auto fp16 = predictor.predict(x);
  EXPECT_FALSE(torch::equal(fp16, fp32));
  EXPECT_LE(maxAbsDiff(fp16, fp32), kReducedTolerance);
  // A copy shares the engine but keeps its own precision.
  Predictor copy = predictor;
  copy.setPrecision(Precision::Float32);
  EXPECT_TRUE(torch::equal(copy.predict(x), fp32));
  EXPECT_TRUE(torch::equal(predictor.predict(x), fp16));
  // Weights changed in place are seen (the checksum of the parameters changes).
  {
    torch::NoGradGuard noGrad;
    net->parameters().front().mul_(-1.5);
  }
  FusedInference fresh(*net);
  fresh.setPrecision(Precision::Float16);
  EXPECT_TRUE(torch::equal(predictor.predict(x), fresh.forward(x)));
}

TEST(FusedPrecision, Fp16TilesOfLargeInputsEqualOnePass)
{
  SKIP_UNLESS_SUPPORTED(Precision::Float16);
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 1;
  c.kernels = { 3, 5, 5 };
  c.dilations = { 1, 2, 3 };
  c.blockDropout = { 0.05, 0.0 };
  ResCRNet       net = RandomNetwork(c, 61);
  FusedInference fused(*net);
  fused.setPrecision(Precision::Float16);
  torch::manual_seed(12);
  const auto x = torch::rand({ 1, 1, 150, 170 });
  const auto whole = fused.forward(x);
  // fp16 planes take half the bytes.
  EXPECT_LT(fused.WorkspaceBytes(150, 170), FusedInference(*net).WorkspaceBytes(150, 170));
  fused.setMaxWorkspaceBytes(fused.WorkspaceBytes(100, 100));
  EXPECT_TRUE(torch::equal(fused.forward(x), whole));
}

TEST(FusedPrecision, AutoRespectsTheModelsMeasuredParityRecord)
{
  ResCRNet  net = RandomNetwork(NetworkConfig::LungDefault(), 71);
  ModelInfo info;
  info.architecture = net->config();
  info.metrics = Json::object();
  info.metrics["precision_parity"] = Json::object();
  Json failed = Json::object();
  failed["passed"] = false;
  info.metrics["precision_parity"]["fp16"] = failed;
  Json passed = Json::object();
  passed["passed"] = true;
  info.metrics["precision_parity"]["bf16"] = passed;
  Predictor predictor(net, info, 1);
  EXPECT_EQ(predictor.failedParityRecords(), std::vector<Precision>{ Precision::Float16 });
  predictor.setPrecision(Precision::Auto);
  EXPECT_NE(predictor.effectivePrecision(), Precision::Float16);
  // Without a record, only the probe decides.
  EXPECT_TRUE(Predictor(net, 1).failedParityRecords().empty());
  // The excluded list reaches the engine: with fp16 excluded, auto never takes it.
  FusedInference fused(*net);
  fused.setPrecision(Precision::Auto, 40, 48, { Precision::Float16, Precision::BFloat16 });
  EXPECT_EQ(fused.precision(), Precision::Float32);
}
