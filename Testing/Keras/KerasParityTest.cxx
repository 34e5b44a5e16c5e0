// SPDX-License-Identifier: Apache-2.0
// Parity of the LibTorch port with the authors' Keras weights: the fixtures in ../shared/models/cxr-net/reference
// were computed by an independent implementation of the same graph.
#include "rescrnet/KerasImport.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/Predictor.h"

#include "ResCRNetTestSupport.h"

#include <hdf5.h>

#include <fstream>
#include <map>

using namespace rescrnet;

namespace
{
const std::string ModelDir = "models/cxr-net/";
const std::string JmsWeights = ModelDir + "model_16F_5R1_0R2_2020-10-02_13_50_weights.h5";
const std::string JmsAll = ModelDir + "model_16F_5R1_0R2_2020-10-02_13_50_all.h5";
const std::string V7Weights = ModelDir + "model_16F_5R1_0R2_2020-10-16_21_26_weights.h5";
const std::string V7All = ModelDir + "model_16F_5R1_0R2_2020-10-16_21_26_all.h5";
const std::string Reference = ModelDir + "reference/";
// The architecture JSON shipped beside the JMS run; the V7 run used the identical graph.
const std::string ArchitectureJson = ModelDir + "model_16F_5R1_0R2_2020-10-02_13_50.json";

torch::Tensor
readRaw(const std::filesystem::path & p, std::vector<int64_t> shape)
{
  int64_t n = 1;
  for (auto s : shape)
    n *= s;
  auto          t = torch::empty(shape, torch::kFloat32);
  std::ifstream in(p, std::ios::binary);
  in.read(static_cast<char *>(t.data_ptr()), static_cast<std::streamsize>(n * 4));
  EXPECT_EQ(in.gcount(), n * 4) << p;
  return t;
}

const KerasImportResult &
jms(const std::filesystem::path & path)
{
  static const KerasImportResult result = ImportKerasModel(path.string());
  return result;
}

torch::Tensor
stateVector(const ResCRNet & net)
{
  std::vector<torch::Tensor> parts;
  for (const auto & kv : net->namedState())
    parts.push_back(kv.second.detach().flatten());
  return torch::cat(parts);
}
} // namespace

class JmsSoftmaxParity : public ::testing::TestWithParam<std::string>
{};

TEST_P(JmsSoftmaxParity, MatchesReferenceWithin1e4)
{
  RESCRNET_SHARED_OR_SKIP(weights, JmsWeights);
  RESCRNET_SHARED_OR_SKIP(refDir, Reference);
  const std::string id = GetParam();
  const auto        input = readRaw(refDir / (id + "_input_1x300x340_f32.raw"), { 1, 1, 300, 340 });
  const auto        expected = readRaw(refDir / (id + "_jms_softmax_2x300x340_f32.raw"), { 1, 2, 300, 340 });
  Predictor         predictor(jms(weights).network, 2); // the fused inference path
  const auto        probs = predictor.predict(input);
  const double      maxDiff = (probs - expected).abs().max().item<double>();
  const int64_t     maskMismatch = ((probs[0][0] > 0.5) != (expected[0][0] > 0.5)).sum().item<int64_t>();
  RecordProperty("max_abs_diff", std::to_string(maxDiff));
  std::cout << id << ": max |softmax - reference| = " << maxDiff << ", mask pixels differing: " << maskMismatch
            << std::endl;
  EXPECT_LE(maxDiff, 1e-4);
  EXPECT_LE(maskMismatch, 5);
  // An independent figure from the fixture README: the mean lung probability per image.
  const std::map<std::string, double> meanP0 = { { "MCUCXR_0006_0", 0.143921 },
                                                 { "MCUCXR_0117_1", 0.147850 },
                                                 { "CHNCXR_0004_0", 0.229679 },
                                                 { "CHNCXR_0334_1", 0.301416 } };
  EXPECT_NEAR(probs[0][0].mean().item<double>(), meanP0.at(id), 1e-5);
  // The LibTorch modules (the training path) match too.
  ResCRNet net = jms(weights).network;
  net->eval();
  torch::NoGradGuard noGrad;
  const double       moduleDiff = (net->forward(input) - expected).abs().max().item<double>();
  std::cout << id << ": modules, max |softmax - reference| = " << moduleDiff << std::endl;
  EXPECT_LE(moduleDiff, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Fixtures,
                         JmsSoftmaxParity,
                         ::testing::Values("MCUCXR_0006_0", "MCUCXR_0117_1", "CHNCXR_0004_0", "CHNCXR_0334_1"));

TEST(JmsParity, StemMatchesReferenceWithin1e4)
{
  RESCRNET_SHARED_OR_SKIP(weights, JmsWeights);
  RESCRNET_SHARED_OR_SKIP(refDir, Reference);
  const auto input = readRaw(refDir / "MCUCXR_0006_0_input_1x300x340_f32.raw", { 1, 1, 300, 340 });
  const auto expected = readRaw(refDir / "MCUCXR_0006_0_jms_stem_48x300x340_f32.raw", { 1, 48, 300, 340 });
  ResCRNet   net = jms(weights).network;
  net->eval();
  torch::NoGradGuard g;
  const auto         stem = net->blockOutput(input, 0);
  const double       maxDiff = (stem - expected).abs().max().item<double>();
  std::cout << "STEM: max |port - reference| = " << maxDiff << std::endl;
  EXPECT_LE(maxDiff, 1e-4);
  // Spot values from the fixture README.
  EXPECT_NEAR(stem[0][0][0][0].item<double>(), -3.705621, 1e-4);
  EXPECT_NEAR(stem[0][47][299][339].item<double>(), 3.6351042, 1e-4);
}

TEST(JmsImport, MapsLayersThroughTheGraphAndReadsTheConfiguration)
{
  RESCRNET_SHARED_OR_SKIP(weights, JmsWeights);
  const KerasImportResult & r = jms(weights);
  EXPECT_EQ(r.info.architecture, NetworkConfig::LungDefault());
  EXPECT_EQ(r.network->parameterCounts().trainable, 58309);
  EXPECT_EQ(r.network->parameterCounts().batchNormStatistics, 1632);
  EXPECT_EQ(r.info.input.width, 340);
  EXPECT_EQ(r.info.input.height, 300);
  ASSERT_EQ(r.mapping.size(), 7u);
  // Keras auto-numbering does not follow the graph: the k5 branch of the STEM is separable_conv2d_2 -> _3.
  EXPECT_NE(r.mapping[0].find("k5 separable_conv2d_2 > batch_normalization_1 > separable_conv2d_3"), std::string::npos)
    << r.mapping[0];
  EXPECT_NE(r.mapping[0].find("shortcut conv2d > batch_normalization_3"), std::string::npos) << r.mapping[0];
  EXPECT_NE(r.mapping[1].find("pre batch_normalization_4"), std::string::npos) << r.mapping[1];
  EXPECT_NE(r.mapping[6].find("conv2d_6"), std::string::npos) << r.mapping[6];
  EXPECT_EQ(r.info.provenance.at("kind"), "imported");
}

TEST(JmsImport, AllFileGivesTheSameWeightsAsWeightsFile)
{
  RESCRNET_SHARED_OR_SKIP(weights, JmsWeights);
  RESCRNET_SHARED_OR_SKIP(all, JmsAll);
  const auto fromAll = ImportKerasModel(all.string());
  EXPECT_EQ(fromAll.info.provenance.at("architecture_source").get<std::string>().find("model_config") !=
              std::string::npos,
            true);
  EXPECT_TRUE(torch::equal(stateVector(fromAll.network), stateVector(jms(weights).network)));
}

// h5py 3 and the Keras versions on it write model_config as a variable-length UTF-8 string (the authors' file: a
// variable-length ASCII one). The same file with its model_config rewritten that way imports to the same weights.
TEST(JmsImport, ReadsAVariableLengthUtf8ModelConfig)
{
  RESCRNET_SHARED_OR_SKIP(all, JmsAll);
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto copy = dir / "vlen_all.h5";
  std::filesystem::copy_file(all, copy);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  {
    const hid_t file = H5Fopen(copy.string().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    std::string text;
    {
      const hid_t attr = H5Aopen(file, "model_config", H5P_DEFAULT);
      ASSERT_GE(attr, 0);
      const hid_t type = H5Aget_type(attr);
      ASSERT_EQ(H5Tget_cset(type), H5T_CSET_ASCII) << "the authors' file holds an ASCII string";
      if (H5Tis_variable_str(type) > 0)
      {
        char * value = nullptr;
        ASSERT_GE(H5Aread(attr, type, &value), 0);
        text = value;
        H5free_memory(value);
      }
      else
      {
        text.assign(H5Tget_size(type), '\0');
        ASSERT_GE(H5Aread(attr, type, text.data()), 0);
        text = text.substr(0, text.find('\0'));
      }
      H5Tclose(type);
      H5Aclose(attr);
    }
    ASSERT_GE(H5Adelete(file, "model_config"), 0);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(file, "model_config", type, space, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(attr, 0);
    const char * value = text.c_str();
    ASSERT_GE(H5Awrite(attr, type, &value), 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
  }
  const auto fromVariableLength = ImportKerasModel(copy.string());
  EXPECT_NE(fromVariableLength.info.provenance.at("architecture_source").get<std::string>().find("model_config"),
            std::string::npos);
  EXPECT_TRUE(
    torch::equal(stateVector(fromVariableLength.network), stateVector(ImportKerasModel(all.string()).network)));
}

TEST(JmsImport, SurvivesTheModelFileRoundTrip)
{
  RESCRNET_SHARED_OR_SKIP(weights, JmsWeights);
  const auto path = rescrnet::testing::TemporaryDirectory() / "jms.rcn";
  SaveModel(path.string(), jms(weights).network, jms(weights).info);
  const LoadedModel m = LoadModel(path.string());
  EXPECT_TRUE(torch::equal(stateVector(m.network), stateVector(jms(weights).network)));
  EXPECT_EQ(m.info.provenance.at("source"), "model_16F_5R1_0R2_2020-10-02_13_50_weights.h5");
}

TEST(V7Import, BothFilesImportToTheSameDistinctModel)
{
  RESCRNET_SHARED_OR_SKIP(v7w, V7Weights);
  RESCRNET_SHARED_OR_SKIP(v7a, V7All);
  RESCRNET_SHARED_OR_SKIP(jmsWeights, JmsWeights);
  RESCRNET_SHARED_OR_SKIP(refDir, Reference);
  RESCRNET_SHARED_OR_SKIP(architecture, ArchitectureJson);
  const auto w = ImportKerasModel(v7w.string(), architecture.string());
  const auto a = ImportKerasModel(v7a.string());
  EXPECT_EQ(w.network->parameterCounts().trainable, 58309);
  EXPECT_EQ(w.info.architecture, NetworkConfig::LungDefault());
  EXPECT_TRUE(torch::equal(stateVector(w.network), stateVector(a.network)));
  EXPECT_FALSE(torch::equal(stateVector(w.network), stateVector(jms(jmsWeights).network)));
  // The V7 model also segments lungs: its mask agrees broadly with the JMS reference output.
  const auto   input = readRaw(refDir / "CHNCXR_0004_0_input_1x300x340_f32.raw", { 1, 1, 300, 340 });
  const auto   expected = readRaw(refDir / "CHNCXR_0004_0_jms_softmax_2x300x340_f32.raw", { 1, 2, 300, 340 });
  const auto   probs = Predictor(w.network, 2).predict(input);
  const auto   a0 = probs[0][0] > 0.5, b0 = expected[0][0] > 0.5;
  const double dice = 2.0 * (a0 & b0).sum().item<double>() / (a0.sum().item<double>() + b0.sum().item<double>());
  std::cout << "V7 vs JMS lung Dice on CHNCXR_0004_0: " << dice << std::endl;
  EXPECT_GT(dice, 0.85);
}

TEST(KerasImportErrors, ClearMessages)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  {
    std::ofstream(dir / "not.h5") << "definitely not HDF5";
  }
  EXPECT_THROW(
    {
      try
      {
        ImportKerasModel((dir / "not.h5").string());
      }
      catch (const KerasImportError & e)
      {
        EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
        throw;
      }
    },
    KerasImportError);
  EXPECT_THROW(ImportKerasModel((dir / "missing.h5").string()), KerasImportError);
}

TEST(KerasImportErrors, WeightsWithoutArchitecture)
{
  RESCRNET_SHARED_OR_SKIP(weights, JmsWeights);
  const auto dir = rescrnet::testing::TemporaryDirectory();
  std::filesystem::copy_file(weights, dir / "lonely_weights.h5");
  try
  {
    ImportKerasModel((dir / "lonely_weights.h5").string());
    FAIL() << "expected an error";
  }
  catch (const KerasImportError & e)
  {
    EXPECT_NE(std::string(e.what()).find("no architecture"), std::string::npos) << e.what();
  }
}
