// SPDX-License-Identifier: Apache-2.0
// Pipeline files in process: duplicate keys found with their JSON pointer, syntax errors with their place, size
// limits, override files merged by stage id, unused keys as warnings, the effective pipeline and its id.
#include "rescrnet/plugins/Pipeline.h"
#include "rescrnet/plugins/PipelineFile.h"

#include "ResCRNetTestData.h"
#include "ResCRNetTestSupport.h"

#include <fstream>

using namespace rescrnet::plugins;
using namespace rescrnet::testing;
namespace fs = std::filesystem;

namespace
{

std::string
ParseError(const std::string & text)
{
  try
  {
    ParseJsonDocument(text, "p.json");
  }
  catch (const PipelineError & e)
  {
    return e.what();
  }
  return "no error";
}

Json
Shipped(const fs::path & model)
{
  Json doc = ReadJsonDocument((SourceDirectory() / "Data" / "Pipelines" / "lung-segmentation.json").string());
  doc["model"]["file"] = fs::absolute(model).string();
  return doc;
}

fs::path
Write(const fs::path & path, const Json & doc)
{
  std::ofstream(path, std::ios::binary) << doc.dump(2);
  return path;
}

} // namespace

TEST(PipelineFile, DuplicateKeysAreErrorsWithTheirPointer)
{
  EXPECT_EQ(ParseError(R"({"a": 1, "a": 2})"),
            "p.json: /a: duplicate key \"a\" (a key may appear only once in an object)");
  EXPECT_NE(ParseError(R"({"stages": [{"stage": "x"}, {"stage": "y", "parameters": {"t": 1, "u": 2, "t": 3}}]})")
              .find("p.json: /stages/1/parameters/t: duplicate key \"t\""),
            std::string::npos);
  // The same key in two objects is no duplicate; keys with '/' and '~' are escaped as RFC 6901 says.
  EXPECT_NE(
    ParseError(R"({"s": [{"a": 1}, {"a": 2}], "m": {"a/b": {"c~": 1, "c~": 2}}})").find("p.json: /m/a~1b/c~0: dup"),
    std::string::npos);
  EXPECT_NO_THROW(ParseJsonDocument(R"({"s": [{"a": 1}, {"a": 2}], "a": [[1], [2]]})", "p.json"));
}

TEST(PipelineFile, SyntaxErrorsGiveTheirPlaceAndHugeOrDeepDocumentsAreRefused)
{
  EXPECT_NE(ParseError("{\"a\": 1,\n \"b\": }").find("p.json: not valid JSON: parse error at line 2"),
            std::string::npos);
  EXPECT_NE(ParseError("{\"a\": 1,\n \"b\": }").find("line 2"), std::string::npos)
    << ParseError("{\"a\": 1,\n \"b\": }");
  EXPECT_NE(ParseError(std::string((1u << 20) + 10, ' ')).find("too large"), std::string::npos);
  EXPECT_NE(ParseError(std::string(100, '[') + std::string(100, ']')).find("nested more than 64 levels"),
            std::string::npos);
}

TEST(PipelineFile, OverridesMergeByStageIdAndReportUnknownIds)
{
  Json       doc = Json::parse(R"({"name": "p", "stages": [{"stage": "a", "parameters": {"x": 1, "y": 2}},
                                                     {"stage": "w", "id": "w1"}, {"stage": "w", "id": "w2"}]})");
  const Json merged = MergeOverrides(doc,
                                     Json::parse(R"({"name": "q", "stages": {"a": {"parameters": {"x": 5, "y": null}},
                                                                  "w2": {"parameters": {"z": 1}}}})"),
                                     "o.json");
  EXPECT_EQ(merged["name"], "q");
  EXPECT_EQ(merged["stages"][0]["parameters"], Json::parse(R"({"x": 5})"));
  EXPECT_FALSE(merged["stages"][1].contains("parameters"));
  EXPECT_EQ(merged["stages"][2]["parameters"]["z"], 1);
  try
  {
    MergeOverrides(doc, Json::parse(R"({"stages": {"b": {}}})"), "o.json");
    FAIL() << "no error";
  }
  catch (const PipelineError & e)
  {
    EXPECT_STREQ(e.what(), "o.json: /stages/b: no stage has the id \"b\" (ids: a, w1, w2)");
  }
}

TEST(PipelineFile, LoadFillsDefaultsWarnsAboutUnusedKeysAndAppliesOverrideFiles)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  Json       doc = Shipped(model);
  doc["colour"] = "blue";
  doc["stages"][1]["note"] = "x";
  const auto file = Write(dir / "p.json", doc);
  const auto overrides =
    Write(dir / "o.json", Json::parse(R"({"stages": {"lung-mask": {"parameters": {"threshold": 0.7}}}})"));
  PipelineRequest request;
  request.file = file.string();
  request.overrides = overrides.string();
  request.settings.push_back({ ComponentKind::Stage, "lung-mask", "components", 1, "--numberOfComponents" });
  const auto pipeline = Pipeline::Load(request);

  const auto & warnings = pipeline->Warnings();
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find(": /colour: unused key (nothing reads it)"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find(": /stages/1/note: unused key"), std::string::npos) << warnings[1];

  const Json & e = pipeline->Effective();
  const Json & mask = e["stages"][4];
  EXPECT_EQ(mask["stage"], "lung-mask");
  EXPECT_EQ(mask["parameters"]["threshold"], 0.7);        // from the override file
  EXPECT_EQ(mask["parameters"]["components"], 1);         // from the command line
  EXPECT_EQ(mask["parameters"]["fullyConnected"], false); // a default, filled in
  EXPECT_EQ(e["model"]["network_data_format"]["inputs"]["image"]["spatial_shape"], Json::parse("[40, 48]"));
  EXPECT_EQ(e["source"]["overrides"], fs::absolute(overrides).lexically_normal().string());
  EXPECT_EQ(pipeline->Id().rfind("lung-segmentation@", 0), 0u);
  EXPECT_EQ(pipeline->Id().size(), std::string("lung-segmentation@").size() + 8);

  // A different parameter gives a different id; the same pipeline the same one.
  request.settings.clear();
  EXPECT_NE(Pipeline::Load(request)->Id(), pipeline->Id());
  request.settings.push_back({ ComponentKind::Stage, "lung-mask", "components", 1, "--numberOfComponents" });
  EXPECT_EQ(Pipeline::Load(request)->Id(), pipeline->Id());
  EXPECT_EQ(pipeline->MeasureNames({ "output" }).front(), "total_pixels");
}
