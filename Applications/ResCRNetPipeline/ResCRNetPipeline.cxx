// SPDX-License-Identifier: Apache-2.0
// ResCRNetPipeline [options] <pipeline.json> <input image or folder> <output image or folder>
// ResCRNetPipeline --listPlugins [--pluginPath DIRS]
// Runs any pipeline file (stages built in or from plugins, a Res-CR-Net or TorchScript model) on an image or on every
// image of a folder; lists the registered stages, backends and plugins.
#include "ResCRNetPipelineXML.h"

#include "ResCRNetApplicationStartup.h"
#include "ResCRNetBatchSegmentation.h"

#include "rescrnet/JsonParsing.h"
#include "rescrnet/TextUtilities.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/BatchInput.h"
#include "rescrnet/io/ImageFile.h"
#include "rescrnet/plugins/Listing.h"
#include "rescrnet/plugins/Pipeline.h"
#include "rescrnet/plugins/PluginLoader.h"

#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

namespace cli = rescrnet::cli;
namespace app = rescrnet::app;
namespace plugins = rescrnet::plugins;
namespace fs = std::filesystem;

namespace
{

const std::vector<plugins::CommandLineOption> StageOptions = {
  { plugins::ComponentKind::Backend, "rescrnet-model", "threads" },
  { plugins::ComponentKind::Backend, "rescrnet-model", "precision" },
};

// Prints the registered stages and backends; 1 when a plugin failed to load.
int
ListPlugins(const std::string & pluginPath)
{
  plugins::PluginLoader::Instance().SetCommandLinePath(pluginPath);
  std::cout << plugins::PluginListing() << std::flush;
  return plugins::PluginLoader::Instance().Failures().empty() ? EXIT_SUCCESS : EXIT_FAILURE;
}

// --listPlugins needs none of the positional arguments: the command line is parsed without them.
int
ListPluginsWithoutArguments(int argc, char * argv[])
{
  const std::string name(cli::module::Name);
  try
  {
    cli::ModuleDescription description = cli::ParseModuleDescription(std::string(cli::module::XML));
    for (auto & group : description.groups)
      group.parameters.erase(std::remove_if(group.parameters.begin(),
                                            group.parameters.end(),
                                            [](const cli::Parameter & p) { return p.index.has_value(); }),
                             group.parameters.end());
    const auto args = cli::ParseArguments(description, std::vector<std::string>(argv + 1, argv + argc));
    return ListPlugins(args.GetString("pluginPath"));
  }
  catch (const std::exception & e)
  {
    std::cerr << name << ": " << rescrnet::OneLine(e.what()) << std::endl;
    return EXIT_FAILURE;
  }
}

// A folder or a manifest of images, through app::BatchSegmentation (the folder mode of the segmentation command).
int
RunBatch(const cli::Arguments & args, cli::ReturnParameters & returned, const plugins::Pipeline & pipeline)
{
  namespace io = rescrnet::io;
  if (args.IsSet("outputSEG") || args.IsSet("reference"))
    throw std::runtime_error("--outputSEG and --reference need a single image as input, not a folder or manifest");
  const std::string input = args.GetString("inputVolume");
  const auto paths = app::ListBatchInputs(input, pipeline, args.GetString("outputVolume"), [](const std::string & p) {
    std::cerr << cli::module::Name << ": skipped " << p << ": an output of an earlier run" << std::endl;
  });
  const auto items = io::SelectShard(paths, io::Shard{});

  app::BatchOptions options;
  options.outputFolder = args.GetString("outputVolume");
  options.resultsCsv = args.GetString("outputCSV");
  options.outputColumn = "output";
  for (const char * role : { "overlay", "probability" })
    if (args.IsSet(role))
      options.extraOutputs.insert(role);
  std::set<std::string> roles = options.extraOutputs;
  roles.insert("output");
  options.measures = pipeline.MeasureNames(roles);
  cli::ConsoleProgress progress(items.size(), "img");
  options.finished = [&](size_t done, size_t total) {
    progress.Update(done);
    cli::ReportProgress(static_cast<double>(done) / static_cast<double>(std::max<size_t>(total, 1)));
  };
  options.failure = [](const std::string & line) { std::cerr << cli::module::Name << ": " << line << std::endl; };
  options.warning = [](const std::string & line) {
    std::cerr << cli::module::Name << ": warning: " << line << std::endl;
  };
  const auto s = app::BatchSegmentation(pipeline, options).Run(items);
  progress.Finish();
  std::cout << "Ran " << pipeline.Id() << " on " << s.segmented << " of " << items.size() << " images" << std::endl;
  returned.Set("imagesProcessed", static_cast<int64_t>(s.segmented));
  return s.failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
RunPipeline(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  if (args.GetBool("listPlugins"))
    return ListPlugins(args.GetString("pluginPath"));
  const auto pipeline = plugins::Pipeline::Load(app::PipelineRequestFromArguments(args, StageOptions));
  for (const auto & w : pipeline->Warnings())
    std::cerr << cli::module::Name << ": warning: " << w << std::endl;
  if (args.EchoRequested())
    std::cout << "Effective pipeline:\n" << rescrnet::DumpJson(pipeline->Effective(), 2) << std::endl;
  if (!pipeline->UsesFile("output"))
    throw std::runtime_error("the pipeline " + pipeline->Name() + " has no stage that writes \"output\"");

  const std::string input = args.GetString("inputVolume");
  if (fs::is_directory(input) || rescrnet::io::IsManifest(input))
    return RunBatch(args, returned, *pipeline);

  plugins::RunFiles files{ { "input", input }, { "output", args.GetString("outputVolume") } };
  for (const auto & [option, role] : std::vector<std::pair<std::string, std::string>>{ { "probability", "probability" },
                                                                                       { "overlay", "overlay" },
                                                                                       { "outputSEG", "seg" },
                                                                                       { "reference", "reference" } })
  {
    if (!args.IsSet(option))
      continue;
    if (!pipeline->UsesFile(role))
      throw std::runtime_error("--" + option + ": the pipeline " + pipeline->Name() + " has no stage for \"" + role +
                               "\"");
    files[role] = args.GetString(option);
  }
  const auto r = pipeline->Run(files, [](double f) { cli::ReportProgress(f); });
  for (const auto & w : r.warnings)
    std::cerr << cli::module::Name << ": warning: " << w << std::endl;
  for (const auto & [name, value] : r.measures.items())
    std::cout << name << " = " << plugins::MeasureCell(value) << "\n";
  std::cout << "Ran " << pipeline->Id() << " in " << r.seconds << " s" << std::endl;
  returned.Set("imagesProcessed", int64_t{ 1 });
  return EXIT_SUCCESS;
}

// --listPlugins anywhere before "--", unless Slicer asks for the description (--xml) or help is asked for.
bool
ListPluginsAsked(int argc, char * argv[])
{
  bool list = false;
  for (int i = 1; i < argc; ++i)
  {
    const std::string a = argv[i];
    if (a == "--")
      break;
    if (a == "--help" || a == "-h" || (i == 1 && a == "--xml"))
      return false;
    list = list || a == "--listPlugins";
  }
  return list;
}

} // namespace

int
main(int argc, char * argv[])
{
  app::StartApplication(argc, argv);
  if (ListPluginsAsked(argc, argv))
    return ListPluginsWithoutArguments(argc, argv);
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, RunPipeline);
}
