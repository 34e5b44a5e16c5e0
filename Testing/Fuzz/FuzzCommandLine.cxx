// SPDX-License-Identifier: Apache-2.0
// Fuzzes the Slicer XML parser and the argument parser. First byte even: the rest is a module description (XML);
// odd: the rest is a command line, one argument per line, parsed against the example module's description.
#include "rescrnet/cli/CommandLine.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace
{
const rescrnet::cli::ModuleDescription &
Example()
{
  static const rescrnet::cli::ModuleDescription description = [] {
    std::ifstream      in(RESCRNET_FUZZ_EXAMPLE_XML);
    std::ostringstream text;
    text << in.rdbuf();
    return rescrnet::cli::ParseModuleDescription(text.str());
  }();
  return description;
}
} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  if (size == 0)
    return 0;
  const std::string text(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] % 2 == 0)
  {
    try
    {
      rescrnet::cli::ParseModuleDescription(text);
    }
    catch (const rescrnet::cli::DescriptionError &)
    {}
    return 0;
  }
  std::vector<std::string> args;
  std::istringstream       lines(text);
  for (std::string line; std::getline(lines, line) && args.size() < 64;)
    args.push_back(line);
  try
  {
    rescrnet::cli::ParseArguments(Example(), args);
  }
  catch (const rescrnet::cli::CommandLineError &)
  {}
  return 0;
}
