// SPDX-License-Identifier: Apache-2.0
// Fuzzes the pipeline files: JSON parsing (syntax, duplicate keys, size and nesting limits), override merging and the
// validation of Pipeline::Load (model backend and parameters, stages, slots, files, the model's data contract). The
// input is a pipeline file, optionally followed by a NUL byte and an override file; both are written to a temporary
// folder that also holds a tiny model, "tiny.rcn", for pipelines that name one. PipelineError is the only outcome
// allowed besides success.
#include "ResCRNetTestData.h"
#include "rescrnet/plugins/Pipeline.h"
#include "rescrnet/plugins/PipelineFile.h"
#include "rescrnet/plugins/Registry.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace
{

std::filesystem::path
Folder()
{
  static const std::filesystem::path folder = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("rescrnet-fuzz-pipeline-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    rescrnet::testing::WriteTinyLungModel(dir);
    rescrnet::plugins::RegisterBuiltIns();
    return dir;
  }();
  return folder;
}

void
Write(const std::filesystem::path & path, const char * data, size_t size)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(size));
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const auto                         dir = Folder();
  const char *                       text = reinterpret_cast<const char *>(data);
  const std::string                  whole(text, size);
  const size_t                       nul = whole.find('\0');
  rescrnet::plugins::PipelineRequest request;
  request.file = (dir / "pipeline.json").string();
  Write(request.file, text, nul == std::string::npos ? size : nul);
  if (nul != std::string::npos)
  {
    request.overrides = (dir / "overrides.json").string();
    Write(request.overrides, text + nul + 1, size - nul - 1);
  }
  try
  {
    rescrnet::plugins::Pipeline::Load(request);
  }
  catch (const rescrnet::plugins::PipelineError &)
  {}
  return 0;
}
