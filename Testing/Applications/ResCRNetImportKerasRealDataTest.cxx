// SPDX-License-Identifier: Apache-2.0
// ResCRNetImportKeras on the authors' lung model (weights-only with its JSON, and the full _all.h5): a loadable
// model file, the 58,309 trainable parameters in the summary and in the return parameters.
#include "rescrnet/ModelFile.h"
#include "rescrnet/cli/CommandLine.h"

#include "RunProgram.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

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

// The architecture file is untrusted input: a device, a FIFO or an oversized file is refused with one line naming it,
// before anything is read (reading /dev/urandom whole ran past 8 GB), and no model file is written.
TEST(ResCRNetImportKerasRealData, RefusesAnArchitectureFileThatIsNotABoundedRegularFile)
{
  RESCRNET_SHARED_OR_SKIP(weights, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5");
  const auto dir = TemporaryDirectory();
  const auto model = dir / "lungs.rcn";
  const auto fifo = dir / "arch.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto huge = dir / "huge.json";
  {
    std::ofstream(huge) << "{";
  }
  std::filesystem::resize_file(huge, (uint64_t{ 64 } << 20) + 1); // sparse: costs no disk
  const std::vector<std::pair<std::string, std::string>> cases{ { "/dev/urandom", "not a regular file" },
                                                                { fifo.string(), "not a regular file" },
                                                                { huge.string(), "exceed the limit" } };
  for (const auto & [config, expected] : cases)
  {
    const auto r =
      RunProgram(ModulePath("ResCRNetImportKeras"), { "--config", config, weights.string(), model.string() });
    EXPECT_EQ(r.exitCode, 1) << config << '\n' << r.err;
    EXPECT_NE(r.err.find(config), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(model)) << config;
  }
}
