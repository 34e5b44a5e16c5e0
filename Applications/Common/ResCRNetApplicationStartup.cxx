// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetApplicationStartup.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace rescrnet::app
{

namespace
{
const char * g_Argv0 = nullptr;
} // namespace

std::string
DefaultModelPath(const char * argv0)
{
  namespace fs = std::filesystem;
  const char * name = "ResCRNet-lungs-default.rcn";
  if (const char * env = std::getenv("ITKRESCRNET_MODEL"))
    return env;
  std::error_code ec;
  fs::path        exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec && argv0)
    exe = fs::absolute(argv0);
  if (exe.empty())
    return std::string();
  // Relative paths from the executables' folders to the models' folder, computed by CMake from the install layout.
  for (const char * relative : { RESCRNET_MODELS_FROM_BIN, RESCRNET_MODELS_FROM_CLI_MODULES })
  {
    const fs::path candidate = exe.parent_path() / relative / name;
    if (fs::is_regular_file(candidate, ec))
      return fs::weakly_canonical(candidate, ec).string();
  }
  return std::string();
}

void
StartApplication(int argc, char * argv[])
{
  g_Argv0 = argc > 0 ? argv[0] : nullptr;
  ReturnLargeBuffersToTheSystem();
}

std::string
ModelPath(const std::string & requested)
{
  const std::string model = requested.empty() ? DefaultModelPath(g_Argv0) : requested;
  if (model.empty())
    throw std::runtime_error("no model: pass --model FILE (the project's default model was not found)");
  return model;
}

std::shared_ptr<const Predictor>
LoadPredictor(const std::string & model, int threads)
{
  return std::make_shared<const Predictor>(Predictor::FromFile(model, threads));
}

} // namespace rescrnet::app
