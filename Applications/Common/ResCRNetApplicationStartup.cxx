// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetApplicationStartup.h"

#include "rescrnet/Predictor.h"
#include "rescrnet/plugins/PluginLoader.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace rescrnet::app
{

namespace fs = std::filesystem;

void
StartApplication(int, char *[])
{
  ReturnLargeBuffersToTheSystem();
}

std::string
DefaultPipelinePath()
{
  std::error_code ec;
  const fs::path  exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty())
    return std::string();
  // Relative paths from the executables' folders to the data folder, computed by CMake from the install layout.
  for (const char * relative : { RESCRNET_DATA_FROM_BIN, RESCRNET_DATA_FROM_CLI_MODULES })
  {
    const fs::path candidate = exe.parent_path() / relative / "Pipelines" / "lung-segmentation.json";
    if (fs::is_regular_file(candidate, ec))
      return fs::weakly_canonical(candidate, ec).string();
  }
  return std::string();
}

plugins::PipelineRequest
PipelineRequestFromArguments(const cli::Arguments & arguments, const std::vector<plugins::CommandLineOption> & options)
{
  const auto given = [&](const char * name) {
    return arguments.Description().FindParameter(name) && arguments.IsSet(name);
  };
  plugins::PipelineRequest request;
  if (given("pipeline"))
    request.file = arguments.GetString("pipeline");
  else
  {
    request.file = DefaultPipelinePath();
    if (request.file.empty())
      throw std::runtime_error("no pipeline: pass --pipeline FILE (the project's default pipeline, "
                               "Pipelines/lung-segmentation.json, was not found beside the executable)");
    if (const char * model = std::getenv("ITKRESCRNET_MODEL"); model && *model)
      request.model = model;
  }
  if (given("model"))
    request.model = arguments.GetString("model");
  if (given("overrides"))
    request.overrides = arguments.GetString("overrides");
  if (arguments.Description().FindParameter("pluginPath"))
    plugins::PluginLoader::Instance().SetCommandLinePath(arguments.GetString("pluginPath"));
  request.settings = plugins::SettingsFromCommandLine(arguments, options);
  return request;
}

bool
LabelsRightAndLeft(const plugins::Json & effective)
{
  if (!effective.contains("stages"))
    return false;
  for (const auto & stage : effective["stages"])
    if (stage.value("stage", std::string()) == "lung-mask")
    {
      const auto & p = stage["parameters"];
      return p.value("leftRight", false) && !p.value("skipPostprocessing", false);
    }
  return false;
}

} // namespace rescrnet::app
