// SPDX-License-Identifier: Apache-2.0
// ResCRNetImportKeras on the authors' lung model (weights-only with its JSON, and the full _all.h5): a loadable
// model file, the 58,309 trainable parameters in the summary and in the return parameters.
#include "rescrnet/ModelFile.h"
#include "rescrnet/cli/CommandLine.h"

#include "RunProgram.h"

using namespace rescrnet::testing;

namespace
{

void
ImportAndCheck(const std::filesystem::path & h5, const std::vector<std::string> & extra = {})
{
  const auto               dir = TemporaryDirectory();
  const auto               model = dir / "lungs.rcn";
  const auto               params = dir / "import.params";
  std::vector<std::string> args{ "--returnparameterfile", params.string() };
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), { h5.string(), model.string() });
  const auto r = RunProgram(ModulePath("ResCRNetImportKeras"), args);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("58309"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("STEM"), std::string::npos) << "the layer mapping\n" << r.out;
  EXPECT_NE(r.out.find("<filter-end>"), std::string::npos) << r.out;

  const rescrnet::LoadedModel loaded = rescrnet::LoadModel(model.string());
  EXPECT_EQ(loaded.network->parameterCounts().trainable, 58309);
  EXPECT_EQ(loaded.info.provenance.value("kind", std::string()), "imported");

  const auto values = rescrnet::cli::ReadReturnParameterFile(params.string());
  EXPECT_EQ(values.at("trainableParameters"), "58309");
  EXPECT_EQ(values.at("batchNormStatistics"), std::to_string(loaded.network->parameterCounts().batchNormStatistics));
  // Only the model and the parameters: no temporary file left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
}

} // namespace

TEST(ResCRNetImportKerasRealData, WeightsWithSiblingJson)
{
  RESCRNET_SHARED_OR_SKIP(weights, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5");
  ImportAndCheck(weights);
}

TEST(ResCRNetImportKerasRealData, WeightsWithExplicitConfig)
{
  RESCRNET_SHARED_OR_SKIP(weights, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5");
  RESCRNET_SHARED_OR_SKIP(json, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50.json");
  ImportAndCheck(weights, { "--config", json.string() });
}

TEST(ResCRNetImportKerasRealData, FullModel)
{
  RESCRNET_SHARED_OR_SKIP(all, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_all.h5");
  ImportAndCheck(all);
}
