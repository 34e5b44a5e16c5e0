// SPDX-License-Identifier: Apache-2.0
// ResCRNetMergeResults --shardResults shard0.csv --shardResults shard1.csv ... <merged.csv>
// Merges the results CSVs of a sharded batch (rescrnet::io::MergeResultTables; see the XML description).
#include "ResCRNetMergeResultsXML.h"

#include "rescrnet/io/BatchInput.h"
#include "rescrnet/cli/CommandLine.h"

#include <iostream>

namespace cli = rescrnet::cli;

namespace
{

int
Merge(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  const auto inputs = args.GetAll("shardResults");
  if (inputs.empty())
    throw std::runtime_error("no --shardResults given");
  const std::string output = args.GetString("outputCSV");
  for (const auto & input : inputs)
    if (input == output)
      throw std::runtime_error("the merged CSV " + output + " would overwrite one of its inputs");
  const auto merged = rescrnet::io::MergeResultTables(inputs);
  merged.write(output);
  std::cout << "Merged " << merged.rowCount() << " rows of " << inputs.size() << " results CSVs into " << output
            << std::endl;
  returned.Set("imagesMerged", static_cast<int64_t>(merged.rowCount()));
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, Merge);
}
