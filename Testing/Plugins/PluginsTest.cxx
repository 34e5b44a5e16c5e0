// SPDX-License-Identifier: Apache-2.0
// The registry on ITK's object factory, parameter declarations (validation, command-line text, help, Slicer XML)
// and the built-in stages' declarations.
#include "rescrnet/cli/ModuleDescription.h"
#include "rescrnet/plugins/CommandLineOptions.h"
#include "rescrnet/plugins/ParameterChecks.h"
#include "rescrnet/plugins/PluginAPI.h"
#include "rescrnet/plugins/Registry.h"

#include "ResCRNetTestSupport.h"

#include "itkObjectFactoryBase.h"

#include <algorithm>
#include <set>

using namespace rescrnet::plugins;

namespace
{

std::set<std::string>
Names(ComponentKind kind)
{
  std::set<std::string> names;
  for (const auto & c : ListRegistered(kind))
    names.insert(c.name);
  return names;
}

} // namespace

TEST(Registry, BuiltInsAreOverridesOfTwoBaseNamesInITKsFactory)
{
  RegisterBuiltIns();
  RegisterBuiltIns(); // once only
  const std::set<std::string> stages{ "read-image",    "cxr-preprocess", "histogram-equalization",
                                      "segment",       "lung-mask",      "probability-map",
                                      "lung-measures", "quality",        "compare-reference",
                                      "write-image",   "write-overlay",  "write-dicom-seg" };
  EXPECT_EQ(Names(ComponentKind::Stage), stages);
  EXPECT_EQ(Names(ComponentKind::Backend), (std::set<std::string>{ "rescrnet-model", "torchscript" }));
  for (const auto & c : ListRegistered(ComponentKind::Stage))
  {
    EXPECT_EQ(c.library, "built-in");
    EXPECT_FALSE(c.description.empty()) << c.name;
  }
  // ITK's own API sees the same overrides: one object per registered stage.
  const auto all = itk::ObjectFactoryBase::CreateAllInstance(StageBaseName);
  EXPECT_EQ(all.size(), stages.size());
  for (const auto & object : all)
  {
    const auto * stage = dynamic_cast<const Stage *>(object.GetPointer());
    ASSERT_NE(stage, nullptr);
    EXPECT_EQ(stages.count(stage->Describe().name), 1u) << stage->Describe().name;
  }
  EXPECT_EQ(itk::ObjectFactoryBase::CreateAllInstance(BackendBaseName).size(), 2u);
}

TEST(Registry, CreatesByNameAndReturnsNullForUnknownNames)
{
  RegisterBuiltIns();
  auto stage = CreateStage("lung-mask");
  ASSERT_TRUE(stage);
  EXPECT_EQ(stage->Describe().name, "lung-mask");
  EXPECT_NE(CreateStage("lung-mask"), stage); // a new object each time
  EXPECT_FALSE(CreateStage("no-such-stage"));
  EXPECT_FALSE(CreateBackend("no-such-backend"));
  EXPECT_TRUE(CreateBackend("torchscript"));
  const std::string names = RegisteredNames(ComponentKind::Stage);
  EXPECT_NE(names.find("read-image"), std::string::npos);
  EXPECT_NE(names.find("write-dicom-seg"), std::string::npos);
}

TEST(Registry, HonoursITKsEnableFlag)
{
  RegisterBuiltIns();
  itk::ObjectFactoryBase * builtIn = nullptr;
  for (auto * f : itk::ObjectFactoryBase::GetRegisteredFactories())
    if (auto * p = dynamic_cast<PluginFactory *>(f); p && p->GetPluginLibraryPath().empty())
      builtIn = f;
  ASSERT_NE(builtIn, nullptr);
  builtIn->SetEnableFlag(false, StageBaseName, "probability-map");
  EXPECT_FALSE(CreateStage("probability-map"));
  EXPECT_EQ(RegisteredNames(ComponentKind::Stage).find("probability-map"), std::string::npos);
  builtIn->SetEnableFlag(true, StageBaseName, "probability-map");
  EXPECT_TRUE(CreateStage("probability-map"));
}

TEST(Registry, EveryBuiltInDeclarationIsConsistent)
{
  RegisterBuiltIns();
  for (const auto & c : ListRegistered(ComponentKind::Stage))
  {
    const ComponentInfo info = CreateStage(c.name)->Describe();
    EXPECT_EQ(info.name, c.name);
    std::set<std::string> seen;
    for (const auto & p : info.parameters)
    {
      EXPECT_TRUE(seen.insert(p.name).second) << c.name << ": " << p.name << " twice";
      EXPECT_FALSE(p.description.empty()) << c.name << "." << p.name;
      if (!p.Required())
      {
        EXPECT_EQ(CheckParameterValue(p, p.defaultValue), "") << c.name << "." << p.name << " default";
      }
    }
  }
}

TEST(ParameterChecks, ValidatesTypesRangesAndChoices)
{
  const auto number = ParameterSpec::Number("threshold", 0.5, 0.0, 1.0, 0.05, "Threshold", "t");
  EXPECT_EQ(CheckParameterValue(number, 0.25), "");
  EXPECT_EQ(CheckParameterValue(number, 1), "");
  EXPECT_NE(CheckParameterValue(number, 1.5).find("out of range: expected a number in [0, 1]"), std::string::npos);
  EXPECT_NE(CheckParameterValue(number, "0.5").find("expected a number in [0, 1], got \"0.5\""), std::string::npos);
  EXPECT_NE(CheckParameterValue(number, true).find("expected a number"), std::string::npos);

  const auto integer = ParameterSpec::Integer("components", 2, 0, 100, "Components", "c");
  EXPECT_EQ(CheckParameterValue(integer, 3), "");
  EXPECT_EQ(CheckParameterValue(integer, 3.0), ""); // an integral value written as a float
  EXPECT_NE(CheckParameterValue(integer, 2.5).find("expected an integer in [0, 100]"), std::string::npos);
  EXPECT_NE(CheckParameterValue(integer, -1).find("out of range"), std::string::npos);

  const auto flag = ParameterSpec::Boolean("leftRight", false, "Sides", "s");
  EXPECT_EQ(CheckParameterValue(flag, true), "");
  EXPECT_NE(CheckParameterValue(flag, 1).find("expected true or false"), std::string::npos);

  const auto choice = ParameterSpec::Choice("activation", "none", { "none", "softmax" }, "Activation", "a");
  EXPECT_EQ(CheckParameterValue(choice, "softmax"), "");
  EXPECT_NE(CheckParameterValue(choice, "relu").find("is not one of \"none\", \"softmax\""), std::string::npos);

  const auto file = ParameterSpec::File("weights", nullptr, "Weights", "w");
  EXPECT_TRUE(file.Required());
  EXPECT_NE(CheckParameterValue(file, "").find("expected a file name"), std::string::npos);
}

TEST(ParameterChecks, ConvertsCommandLineText)
{
  const auto integer = ParameterSpec::Integer("components", 2, 0, 100, "Components", "c");
  EXPECT_EQ(ParameterFromText(integer, "4"), Json(4));
  EXPECT_TRUE(ParameterFromText(integer, "4").is_number_integer());
  EXPECT_THROW(ParameterFromText(integer, "4x"), std::invalid_argument);
  EXPECT_THROW(ParameterFromText(integer, "101"), std::invalid_argument);
  EXPECT_EQ(ParameterFromText(ParameterSpec::Boolean("b", false, "B", "b"), "true"), Json(true));
  EXPECT_THROW(ParameterFromText(ParameterSpec::Boolean("b", false, "B", "b"), "yes"), std::invalid_argument);
  EXPECT_EQ(ParameterFromText(ParameterSpec::Number("t", 0.5, 0.0, 1.0, 0.0, "T", "t"), "0.4"), Json(0.4));
}

TEST(ParameterChecks, SlicerXMLFromTheDeclarationPassesSlicersRules)
{
  RegisterBuiltIns();
  std::string body;
  for (const auto & [kind, component, parameter] : std::vector<std::tuple<ComponentKind, std::string, std::string>>{
         { ComponentKind::Stage, "lung-mask", "threshold" },
         { ComponentKind::Stage, "lung-mask", "components" },
         { ComponentKind::Stage, "lung-mask", "leftRight" },
         { ComponentKind::Backend, "torchscript", "activation" } })
    body += SlicerParameterXML(DeclarationOf({ kind, component, parameter }), "    ");
  EXPECT_NE(body.find("<float>\n      <name>threshold</name>\n      <longflag>threshold</longflag>"), std::string::npos)
    << body;
  EXPECT_NE(body.find("<default>0.5</default>"), std::string::npos);
  EXPECT_NE(body.find("<constraints><minimum>0</minimum><maximum>1</maximum><step>0.05</step></constraints>"),
            std::string::npos);
  EXPECT_NE(body.find("<string-enumeration>"), std::string::npos);
  const std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<executable>\n  <category>Test</category>\n"
                          "  <title>T</title>\n  <description>D</description>\n  <version>1</version>\n"
                          "  <parameters>\n    <label>L</label>\n    <description>D</description>\n" +
                          body + "  </parameters>\n</executable>\n";
  EXPECT_TRUE(rescrnet::cli::CheckSlicerRules(xml).empty());
  const auto description = rescrnet::cli::ParseModuleDescription(xml);
  EXPECT_TRUE(rescrnet::cli::CheckProjectRules(description).empty());
  ASSERT_NE(description.FindLongflag("components"), nullptr);
  EXPECT_EQ(description.FindLongflag("components")->maximum, 100.0);

  // What Slicer cannot express is refused.
  EXPECT_THROW(SlicerParameterXML(ParameterSpec::Boolean("on", true, "On", "d"), ""), std::invalid_argument);
  EXPECT_THROW(SlicerParameterXML(ParameterSpec::String("two-words", "", "L", "d"), ""), std::invalid_argument);
  EXPECT_THROW(SlicerParameterXML(ParameterSpec::File("f", nullptr, "L", "d"), ""), std::invalid_argument);
}

TEST(ParameterChecks, HelpShowsTypeDefaultAndDescription)
{
  const std::string help =
    ParameterHelp(ParameterSpec::Number("threshold", 0.5, 0.0, 1.0, 0.05, "Threshold", "Lung above it"));
  EXPECT_NE(help.find("threshold  a number in [0, 1], default 0.5"), std::string::npos) << help;
  EXPECT_NE(help.find("Threshold: Lung above it"), std::string::npos) << help;
}

TEST(PluginABI, NamesThePluginAPIITKAndLibTorchVersions)
{
  const std::string abi = RESCRNET_PLUGIN_ABI;
  EXPECT_EQ(abi.rfind("rescrnet-plugin-api=1;itk=" ITK_VERSION ";libtorch=", 0), 0u) << abi;
  EXPECT_EQ(abi.find("libtorch=unknown"), std::string::npos) << abi;
}
