// SPDX-License-Identifier: Apache-2.0
// Run-time plugins: the example CLAHE plugin loads from ITKRESCRNET_PLUGIN_PATH (and --pluginPath) and runs inside a
// pipeline; each kind of broken plugin is reported, with its path and the loader's error, only when a pipeline needs
// a stage that is not registered, with a non-zero exit and no output file; --xml never loads plugins; the loader
// opens a library once per real path, skips relative entries and refuses a plugin whose names are taken.
#include "PluginTestSupport.h"

#include "rescrnet/plugins/PluginLoader.h"
#include "rescrnet/plugins/Registry.h"

using namespace rescrnet::testing;
using rescrnet::plugins::Json;
namespace fs = std::filesystem;

namespace
{

const fs::path ExampleDir = RESCRNET_EXAMPLE_PLUGIN_DIR;
const fs::path TestPluginsDir = RESCRNET_TEST_PLUGINS_DIR;

// The shipped pipeline with `stage` inserted after read-image.
Json
PipelineWithStage(const fs::path & model, const Json & stage)
{
  Json doc = ShippedPipeline(model);
  doc["stages"].insert(doc["stages"].begin() + 1, stage);
  return doc;
}

} // namespace

TEST(Plugins, ExamplePluginLoadsFromTheEnvironmentAndRunsInAPipeline)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  const auto input = WritePhantom(dir / "input.nrrd");
  const auto pipeline = WritePipeline(
    dir / "clahe.json", PipelineWithStage(model, { { "stage", "clahe" }, { "parameters", { { "radius", 4 } } } }));
  const ScopedEnvironment path("ITKRESCRNET_PLUGIN_PATH", ExampleDir.string());
  const auto              output = dir / "labels.nrrd";
  const auto              r =
    RunProgram(ModulePath("ResCRNetPipeline"), { "--echo", pipeline.string(), input.string(), output.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(fs::exists(output));
  // The effective pipeline names the library the stage came from.
  const std::string library = fs::canonical(ExampleDir / "libResCRNetCLAHEPlugin.so").string();
  EXPECT_NE(r.out.find("\"stage\": \"clahe\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"library\": \"" + library + "\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"radius\": 4"), std::string::npos) << r.out;

  // The plugin's parameter declarations validate the file like a built-in's.
  Json       bad = PipelineWithStage(model, { { "stage", "clahe" }, { "parameters", { { "radius", 0 } } } });
  const auto badFile = WritePipeline(dir / "bad-clahe.json", bad);
  const auto b =
    RunProgram(ModulePath("ResCRNetPipeline"), { badFile.string(), input.string(), (dir / "x.nrrd").string() });
  EXPECT_NE(b.exitCode, 0);
  EXPECT_NE(b.err.find("/stages/1/parameters/radius: 0 is out of range: expected an integer in [1, 256]"),
            std::string::npos)
    << b.err;
  EXPECT_FALSE(fs::exists(dir / "x.nrrd"));
}

TEST(Plugins, ExamplePluginLoadsFromPluginPathAndIsListed)
{
  const auto r = RunProgram(ModulePath("ResCRNetPipeline"), { "--listPlugins", "--pluginPath", ExampleDir.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const std::string library = fs::canonical(ExampleDir / "libResCRNetCLAHEPlugin.so").string();
  EXPECT_NE(r.out.find("clahe  [" + library + "]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("radius  an integer in [1, 256], default 8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Plugin libraries that failed to load: none"), std::string::npos) << r.out;
}

TEST(Plugins, XmlNeverLoadsPlugins)
{
  const auto              dir = TemporaryDirectory();
  const auto              marker = dir / "marker";
  const ScopedEnvironment path("ITKRESCRNET_PLUGIN_PATH", (TestPluginsDir / "marker").string());
  const ScopedEnvironment mark("RESCRNET_PLUGIN_MARKER", marker.string());
  for (const char * program : { "ResCRNetPipeline", "ResCRNetLungSegmentation" })
  {
    const auto x = RunProgram(ModulePath(program), { "--xml" });
    ASSERT_EQ(x.exitCode, 0) << x.err;
    EXPECT_FALSE(fs::exists(marker)) << program << " --xml loaded a plugin";
  }
  const auto l = RunProgram(ModulePath("ResCRNetPipeline"), { "--listPlugins" });
  ASSERT_EQ(l.exitCode, 0) << l.err;
  EXPECT_TRUE(fs::exists(marker)) << "the marker plugin was not loaded by --listPlugins: the test proves nothing";
}

// A broken plugin: its folder, and what the report says about it.
struct BrokenPlugin
{
  std::string kind;
  std::string reason;
};

std::ostream &
operator<<(std::ostream & os, const BrokenPlugin & b)
{
  return os << b.kind;
}

class BrokenPlugins : public ::testing::TestWithParam<BrokenPlugin>
{};

TEST_P(BrokenPlugins, AreReportedWhenAPipelineNeedsThemAndNeverCrash)
{
  const auto & broken = GetParam();
  const auto   dir = TemporaryDirectory();
  const auto   model = WriteTinyLungModel(dir);
  const auto   input = WritePhantom(dir / "input.nrrd");
  fs::path     folder = TestPluginsDir / broken.kind;
  fs::path     library = folder / ("librescrnet-test-" + broken.kind + ".so");
  if (broken.kind == "not-a-library")
  {
    folder = dir / "plugins";
    fs::create_directories(folder);
    library = folder / "libnotaplugin.so";
    std::ofstream(library) << "this is not a shared library\n";
  }
  ASSERT_TRUE(fs::exists(library)) << library;
  const ScopedEnvironment path("ITKRESCRNET_PLUGIN_PATH", folder.string());

  // A pipeline that needs no plugin runs, and says nothing about the broken one.
  const auto shipped = WritePipeline(dir / "shipped.json", ShippedPipeline(model));
  const auto ok =
    RunProgram(ModulePath("ResCRNetPipeline"), { shipped.string(), input.string(), (dir / "ok.nrrd").string() });
  EXPECT_EQ(ok.exitCode, 0) << ok.err;
  EXPECT_EQ(ok.err.find(library.filename().string()), std::string::npos) << ok.err;

  // A pipeline that names a stage nothing registered: the message lists the registered stages, the path searched
  // and the broken library with the loader's error.
  const auto pipeline =
    WritePipeline(dir / "needs-plugin.json", PipelineWithStage(model, { { "stage", broken.kind + "-stage" } }));
  const auto output = dir / "labels.nrrd";
  const auto r = RunProgram(ModulePath("ResCRNetPipeline"), { pipeline.string(), input.string(), output.string() });
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.exitCode, -1) << "crashed";
  EXPECT_FALSE(fs::exists(output));
  EXPECT_EQ(LineCount(r.err), 1u) << r.err;
  for (const std::string & expected :
       { "/stages/1/stage: unknown stage \"" + broken.kind + "-stage\"; registered: read-image",
         "plugin path: " + folder.string(),
         "failed " + fs::canonical(library).string() + ": " + broken.reason })
    EXPECT_NE(r.err.find(expected), std::string::npos) << "expected \"" << expected << "\" in\n" << r.err;

  // --listPlugins reports it too, and exits non-zero.
  const auto l = RunProgram(ModulePath("ResCRNetPipeline"), { "--listPlugins" });
  EXPECT_EQ(l.exitCode, 1);
  EXPECT_NE(l.out.find(fs::canonical(library).string() + ": " + broken.reason), std::string::npos) << l.out;
}

INSTANTIATE_TEST_SUITE_P(
  Kinds,
  BrokenPlugins,
  ::testing::Values(
    BrokenPlugin{ "not-a-library", "cannot be loaded: " },
    BrokenPlugin{ "no-factory", "not an ITKResCRNet plugin: no symbol rescrnetPluginFactory" },
    BrokenPlugin{ "abi", "ABI mismatch: the plugin was built for \"rescrnet-plugin-api=999;itk=4.13.3;" },
    BrokenPlugin{ "throws", "its registration threw: this test plugin's registration fails on purpose" }),
  [](const ::testing::TestParamInfo<BrokenPlugin> & info) {
    std::string name = info.param.kind;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  });

TEST(PluginLoader, OpensALibraryOncePerRealPathSkipsRelativeEntriesAndRefusesTakenNames)
{
  using namespace rescrnet::plugins;
  RegisterBuiltIns();
  const auto dir = TemporaryDirectory();
  const auto marker = TestPluginsDir / "marker" / "librescrnet-test-marker.so";
  fs::create_directories(dir / "links");
  fs::create_symlink(marker, dir / "links" / "liblinked.so");
  auto & loader = PluginLoader::Instance();
  loader.SetCommandLinePath((TestPluginsDir / "marker").string() + ":" + (dir / "links").string() + ":" +
                            marker.string() + ":relative/plugins:" + (TestPluginsDir / "conflict").string());
  loader.LoadAll();
  loader.LoadAll(); // nothing new

  const auto loaded = loader.Loaded();
  EXPECT_EQ(std::count_if(loaded.begin(),
                          loaded.end(),
                          [&](const LoadedPlugin & p) { return p.path == fs::canonical(marker).string(); }),
            1);
  EXPECT_TRUE(CreateStage("marker-stage"));
  EXPECT_EQ(LibraryOf(ComponentKind::Stage, "marker-stage"), fs::canonical(marker).string());

  const auto skipped = loader.Skipped();
  EXPECT_TRUE(std::any_of(skipped.begin(), skipped.end(), [](const std::string & s) {
    return s.find("relative/plugins from --pluginPath skipped: not an absolute path") != std::string::npos;
  }));

  const auto failures = loader.Failures();
  const auto conflict = fs::canonical(TestPluginsDir / "conflict" / "librescrnet-test-conflict.so").string();
  const auto found =
    std::find_if(failures.begin(), failures.end(), [&](const PluginFailure & f) { return f.path == conflict; });
  ASSERT_NE(found, failures.end());
  EXPECT_EQ(found->reason, "not registered: it would register stage 'read-image' (already registered by built-in)");
  EXPECT_EQ(LibraryOf(ComponentKind::Stage, "read-image"), "built-in");
}
