// SPDX-License-Identifier: Apache-2.0
// Command-line options of a module that set a stage's or the model's parameter (e.g. --threshold for "lung-mask"):
// the option's XML element is generated from the parameter's declaration (ResCRNetStageOptions, at build time) and
// its value, when given, is applied to the pipeline before validation.
#ifndef rescrnet_plugins_CommandLineOptions_h
#define rescrnet_plugins_CommandLineOptions_h

#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/plugins/Pipeline.h"

#include <string>
#include <vector>

namespace rescrnet::plugins
{

struct CommandLineOption
{
  ComponentKind kind{ ComponentKind::Stage };
  std::string   component; // the stage (or, for kind Backend, the backend whose declaration gives the type)
  std::string   parameter; // also the option's name and longflag
};

// The settings of the options given on the command line (others keep the pipeline's values). A backend option
// applies to whatever backend the pipeline names. Throws std::invalid_argument for an option whose stage or
// parameter is not registered (a programming error).
std::vector<ParameterSetting>
SettingsFromCommandLine(const cli::Arguments & arguments, const std::vector<CommandLineOption> & options);

// The declaration of an option's parameter; throws std::invalid_argument when there is none.
ParameterSpec
DeclarationOf(const CommandLineOption & option);

} // namespace rescrnet::plugins

#endif
