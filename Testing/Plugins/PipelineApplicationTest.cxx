// SPDX-License-Identifier: Apache-2.0
// ResCRNetPipeline and the pipeline-driven ResCRNetLungSegmentation on synthetic data (the tiny model): the shipped
// pipeline runs, both commands give the same mask, --listPlugins lists the built-ins, and each kind of bad pipeline
// file gives its message with the JSON path, a non-zero exit and no output file.
#include "PluginTestSupport.h"

using namespace rescrnet::testing;
using rescrnet::plugins::Json;

TEST(ResCRNetPipeline, RunsTheShippedPipelineAndMatchesTheSegmentationCommand)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  const auto input = WritePhantom(dir / "input.nrrd");
  const auto pipeline = WritePipeline(dir / "lungs.json", ShippedPipeline(model));

  const auto viaPipeline = dir / "pipeline.nrrd";
  const auto r =
    RunProgram(ModulePath("ResCRNetPipeline"), { "--echo", pipeline.string(), input.string(), viaPipeline.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("Effective pipeline:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"stage\": \"lung-mask\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total_pixels = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Ran lung-segmentation@"), std::string::npos) << r.out;

  const auto viaCommand = dir / "command.nrrd";
  const auto s = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                            { "--model", model.string(), input.string(), viaCommand.string() });
  ASSERT_EQ(s.exitCode, 0) << s.err;
  const auto a = ReadLabels(viaPipeline);
  const auto b = ReadLabels(viaCommand);
  ASSERT_EQ(a->GetLargestPossibleRegion(), b->GetLargestPossibleRegion());
  const size_t n = a->GetLargestPossibleRegion().GetNumberOfPixels();
  EXPECT_TRUE(std::equal(a->GetBufferPointer(), a->GetBufferPointer() + n, b->GetBufferPointer()));
}

TEST(ResCRNetPipeline, SegmentationCommandTakesAnotherPipelineFile)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  const auto input = WritePhantom(dir / "input.nrrd");
  Json       doc = ShippedPipeline(model);
  doc["stages"][4]["parameters"]["threshold"] = 1.0; // nothing exceeds it: an empty mask
  const auto pipeline = WritePipeline(dir / "empty.json", doc);
  const auto output = dir / "labels.nrrd";
  const auto r = RunProgram(ModulePath("ResCRNetLungSegmentation"),
                            { "--pipeline", pipeline.string(), input.string(), output.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto   mask = ReadLabels(output);
  const size_t n = mask->GetLargestPossibleRegion().GetNumberOfPixels();
  EXPECT_EQ(std::count(mask->GetBufferPointer(), mask->GetBufferPointer() + n, 0), static_cast<long>(n));
}

TEST(ResCRNetPipeline, ListPluginsShowsStagesBackendsAndParameters)
{
  const auto r = RunProgram(ModulePath("ResCRNetPipeline"), { "--listPlugins" });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char * expected : { "rescrnetStage",
                                 "rescrnetBackend",
                                 "lung-mask  [built-in]",
                                 "write-dicom-seg",
                                 "torchscript",
                                 "threshold  a number in [0, 1], default 0.5" })
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
}

// A bad pipeline file: how it is made from the shipped one, and what the message must say.
struct BadPipeline
{
  std::string                        name;
  std::string                        expected; // in stderr
  std::function<std::string(Json &)> make;     // edits the document; returns the file's text, or "" to dump it
};

std::ostream &
operator<<(std::ostream & os, const BadPipeline & b)
{
  return os << b.name;
}

class BadPipelineFiles : public ::testing::TestWithParam<BadPipeline>
{};

TEST_P(BadPipelineFiles, GiveTheirMessageANonZeroExitAndNoOutput)
{
  const auto & bad = GetParam();
  const auto   dir = TemporaryDirectory();
  const auto   model = WriteTinyLungModel(dir);
  const auto   input = WritePhantom(dir / "input.nrrd");
  Json         doc = ShippedPipeline(model);
  std::string  text = bad.make(doc);
  if (text.empty())
    text = doc.dump(2);
  const auto pipeline = dir / "bad.json";
  std::ofstream(pipeline, std::ios::binary) << text;
  const auto output = dir / "labels.nrrd";
  const auto csv = dir / "results.csv";
  for (const char * program : { "ResCRNetPipeline", "ResCRNetLungSegmentation" })
  {
    const auto r =
      program == std::string("ResCRNetPipeline")
        ? RunProgram(ModulePath(program), { pipeline.string(), input.string(), output.string() })
        : RunProgram(ModulePath(program), { "--pipeline", pipeline.string(), input.string(), output.string() });
    EXPECT_NE(r.exitCode, 0) << program;
    EXPECT_NE(r.exitCode, -1) << program << " crashed";
    EXPECT_NE(r.err.find(pipeline.string() + ": " + bad.expected), std::string::npos)
      << program << ": expected \"" << bad.expected << "\" in:\n"
      << r.err;
    EXPECT_EQ(LineCount(r.err), 1u) << r.err;
    EXPECT_FALSE(std::filesystem::exists(output)) << program;
  }
}

INSTANTIATE_TEST_SUITE_P(
  Kinds,
  BadPipelineFiles,
  ::testing::Values(
    BadPipeline{ "SyntaxError",
                 "not valid JSON: parse error at line ",
                 [](Json & d) { return d.dump(2).substr(0, 200); } },
    BadPipeline{ "DuplicateKey",
                 "/stages/4/parameters/threshold: duplicate key \"threshold\"",
                 [](Json & d) {
                   std::string       t = d.dump(2);
                   const std::string key = "\"threshold\": 0.5";
                   const auto        at = t.find(key);
                   return t.replace(at, key.size(), "\"threshold\": 0.5, \"threshold\": 0.9");
                 } },
    BadPipeline{ "UnknownStage",
                 "/stages/2/stage: unknown stage \"sharpen\"; registered: read-image",
                 [](Json & d) {
                   d["stages"][2]["stage"] = "sharpen";
                   return std::string();
                 } },
    BadPipeline{ "UnknownParameter",
                 "/stages/4/parameters/treshold: unknown parameter \"treshold\" of the stage \"lung-mask\" (its "
                 "parameters: probability, reference, output, threshold",
                 [](Json & d) {
                   d["stages"][4]["parameters"]["treshold"] = 0.4;
                   return std::string();
                 } },
    BadPipeline{ "MissingStageName",
                 "/stages/1: missing \"stage\"",
                 [](Json & d) {
                   d["stages"][1].erase("stage");
                   return std::string();
                 } },
    BadPipeline{ "WrongType",
                 "/stages/4/parameters/threshold: expected a number in [0, 1], got \"high\"",
                 [](Json & d) {
                   d["stages"][4]["parameters"]["threshold"] = "high";
                   return std::string();
                 } },
    BadPipeline{ "OutOfRange",
                 "/stages/4/parameters/components: 500 is out of range: expected an integer in [0, 100]",
                 [](Json & d) {
                   d["stages"][4]["parameters"]["components"] = 500;
                   return std::string();
                 } },
    BadPipeline{ "ContractMismatch",
                 "/model/network_data_format/outputs/pred/channel_def: the model does not fit the pipeline: the file "
                 "declares the classes [heart, background], the model file has [lungs, non_lungs]",
                 [](Json & d) {
                   d["model"]["network_data_format"]["outputs"]["pred"]["channel_def"] = { { "0", "heart" },
                                                                                           { "1", "background" } };
                   return std::string();
                 } },
    BadPipeline{ "DuplicateStageId",
                 "/stages/11/id: duplicate stage id \"write-probability\"",
                 [](Json & d) {
                   d["stages"][11]["id"] = "write-probability";
                   return std::string();
                 } },
    BadPipeline{ "ImageNobodyWrites",
                 "/stages/3: stage \"segment\" reads the image \"equalized\", which no earlier stage writes",
                 [](Json & d) {
                   d["stages"][3]["parameters"]["input"] = "equalized";
                   return std::string();
                 } },
    BadPipeline{ "WrongFormat",
                 "/format: expected \"rescrnet-pipeline\"",
                 [](Json & d) {
                   d["format"] = "mhub";
                   return std::string();
                 } },
    BadPipeline{ "MissingModelFile",
                 "/model/file: cannot load the model",
                 [](Json & d) {
                   d["model"]["file"] = "no-such-model.rcn";
                   return std::string();
                 } }),
  [](const ::testing::TestParamInfo<BadPipeline> & info) { return info.param.name; });
