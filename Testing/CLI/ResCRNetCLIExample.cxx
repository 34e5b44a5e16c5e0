// SPDX-License-Identifier: Apache-2.0
// A command-line module for the tests of Modules/CLI: copies a text file and returns what it was given.
#include "ResCRNetCLIExampleXML.h"

#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace cli = rescrnet::cli;

namespace
{

int
Example(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  cli::ProgressStage copying("Copy", "Copying " + args.GetString("inputFile"));
  std::ifstream      in(args.GetString("inputFile"), std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (args.GetBool("fail"))
    throw std::runtime_error("failing as asked\n(second line of the message)");
  std::ofstream out(args.GetString("outputFile"), std::ios::binary);
  out << text.str();
  if (!out)
    throw std::runtime_error("cannot write " + args.GetString("outputFile"));
  copying.End();

  if (args.GetBool("verbose"))
    std::cout << "copied " << text.str().size() << " bytes\n";
  std::ostringstream summary;
  summary << "iterations=" << args.GetInt("iterations") << " device=" << args.GetString("device")
          << " spacing=" << args.GetDoubleVector("spacing").size() << " size=" << args.GetIntVector("size").size()
          << " extra=" << args.GetAll("extra").size() << " tag=" << args.GetString("tag");
  returned.Set("doubledThreshold", 2.0 * args.GetDouble("threshold"));
  returned.Set("inputBytes", text.str().size());
  returned.Set("summary", summary.str());
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, Example);
}
