// SPDX-License-Identifier: Apache-2.0
// ResCRNetImportKeras [--config arch.json] <keras.h5> <model file>
// Imports a Keras HDF5 Res-CR-Net model, prints the layer mapping and the network summary, and saves the project's
// model file (atomically). Returns trainableParameters and batchNormStatistics.
#include "ResCRNetImportKerasXML.h"

#include "rescrnet/KerasImport.h"
#include "rescrnet/ModelFile.h"
#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/cli/Progress.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace cli = rescrnet::cli;

namespace
{

int
ImportKeras(const cli::Arguments & args, cli::ReturnParameters & returned)
{
  const std::string input = args.GetString("inputKeras");
  const std::string output = args.GetString("outputModel");
  // Fail before the import when the model file cannot be written there.
  const std::filesystem::path folder = std::filesystem::absolute(output).parent_path();
  if (!std::filesystem::is_directory(folder))
    throw std::runtime_error("cannot write " + output + ": folder " + folder.string() + " does not exist");

  cli::ProgressStage          reading("ImportKerasModel", "Reading " + input, 0.0, 0.8);
  rescrnet::KerasImportResult imported = rescrnet::ImportKerasModel(input, args.GetString("config"));
  reading.End();

  std::cout << "Keras layers mapped onto the network:\n";
  for (const auto & line : imported.mapping)
    std::cout << "  " << line << '\n';
  imported.network->printSummary(std::cout);
  std::cout << std::flush;

  cli::ProgressStage writing("SaveModel", "Writing " + output, 0.8, 1.0);
  rescrnet::SaveModel(output, imported.network, imported.info);
  writing.End();
  std::cout << "Saved " << output << std::endl;

  const rescrnet::ParameterCounts counts = imported.network->parameterCounts();
  returned.Set("trainableParameters", counts.trainable);
  returned.Set("batchNormStatistics", counts.batchNormStatistics);
  return EXIT_SUCCESS;
}

} // namespace

int
main(int argc, char * argv[])
{
  return cli::Run(argc, argv, cli::module::Name, cli::module::XML, ImportKeras);
}
