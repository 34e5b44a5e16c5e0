// SPDX-License-Identifier: Apache-2.0
// ResCRNetCheckDescription <description.xml>...
// Checks Slicer command-line module descriptions at build time: the rules of Slicer's own parser (a module that
// breaks one silently disappears from Slicer), the structural rules the project's parser relies on and the
// project's conventions. Prints "<file>:<problem>" per problem and exits with 1 when there is any.
#include "rescrnet/cli/ModuleDescription.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

int
main(int argc, char * argv[])
{
  if (argc < 2)
  {
    std::cerr << "Usage: ResCRNetCheckDescription <description.xml>..." << std::endl;
    return EXIT_FAILURE;
  }
  int problems = 0;
  for (int i = 1; i < argc; ++i)
  {
    const std::string path = argv[i];
    std::ifstream     in(path, std::ios::binary);
    if (!in)
    {
      std::cerr << path << ": cannot read" << std::endl;
      ++problems;
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    for (const auto & problem : rescrnet::cli::CheckSlicerRules(text.str()))
    {
      std::cerr << path << ":" << problem << " (Slicer would not load this module)" << std::endl;
      ++problems;
    }
    if (problems > 0)
      continue;
    try
    {
      const auto description = rescrnet::cli::ParseModuleDescription(text.str());
      for (const auto & problem : rescrnet::cli::CheckProjectRules(description))
      {
        std::cerr << path << ": " << problem << std::endl;
        ++problems;
      }
    }
    catch (const rescrnet::cli::DescriptionError & e)
    {
      std::cerr << path << ":" << e.what() << std::endl;
      ++problems;
    }
  }
  return problems == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
