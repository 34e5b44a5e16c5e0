// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/CommandLineOptions.h"

#include "rescrnet/plugins/ParameterChecks.h"

namespace rescrnet::plugins
{

ParameterSpec
DeclarationOf(const CommandLineOption & option)
{
  RegisterBuiltIns();
  itk::Object::Pointer object;
  if (option.kind == ComponentKind::Stage)
    object = CreateStage(option.component).GetPointer();
  else
    object = CreateBackend(option.component).GetPointer();
  const ComponentInfo info =
    option.kind == ComponentKind::Stage
      ? (object ? static_cast<Stage *>(object.GetPointer())->Describe() : ComponentInfo())
      : (object ? static_cast<ModelBackend *>(object.GetPointer())->Describe() : ComponentInfo());
  const ParameterSpec * spec = info.FindParameter(option.parameter);
  if (!spec)
    throw std::invalid_argument("no parameter \"" + option.parameter + "\" of \"" + option.component +
                                "\" is registered");
  return *spec;
}

std::vector<ParameterSetting>
SettingsFromCommandLine(const cli::Arguments & arguments, const std::vector<CommandLineOption> & options)
{
  std::vector<ParameterSetting> settings;
  for (const auto & option : options)
  {
    if (!arguments.IsSet(option.parameter))
      continue;
    const ParameterSpec spec = DeclarationOf(option);
    ParameterSetting    s;
    s.kind = option.kind;
    s.component = option.kind == ComponentKind::Stage ? option.component : std::string();
    s.parameter = option.parameter;
    s.origin = "--" + option.parameter;
    try
    {
      s.value = ParameterFromText(spec, arguments.GetString(option.parameter));
    }
    catch (const std::invalid_argument & e)
    {
      throw cli::CommandLineError(s.origin + ": " + e.what());
    }
    settings.push_back(s);
  }
  return settings;
}

} // namespace rescrnet::plugins
