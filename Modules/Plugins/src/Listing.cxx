// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/Listing.h"

#include "rescrnet/plugins/ParameterChecks.h"
#include "rescrnet/plugins/PluginLoader.h"
#include "rescrnet/plugins/Registry.h"

#include <sstream>

namespace rescrnet::plugins
{

std::string
PluginListing()
{
  RegisterBuiltIns();
  PluginLoader & loader = PluginLoader::Instance();
  loader.LoadAll();
  std::ostringstream text;
  for (const auto kind : { ComponentKind::Stage, ComponentKind::Backend })
  {
    text << (kind == ComponentKind::Stage ? "Stages" : "Model backends") << " (ITK object factory overrides of \""
         << (kind == ComponentKind::Stage ? StageBaseName : BackendBaseName) << "\"):\n";
    for (const auto & c : ListRegistered(kind))
    {
      text << "  " << c.name << (c.enabled ? "" : " (disabled)") << "  [" << c.library << "]\n";
      text << "      " << c.description << "\n";
      ComponentInfo info;
      if (kind == ComponentKind::Stage)
      {
        if (auto stage = CreateStage(c.name))
          info = stage->Describe();
      }
      else if (auto backend = CreateBackend(c.name))
        info = backend->Describe();
      for (const auto & p : info.parameters)
        text << ParameterHelp(p);
    }
    text << "\n";
  }
  text << "Plugin search path:\n";
  for (const auto & e : loader.SearchPath())
    text << "  " << (e.path.empty() ? std::string("(empty)") : e.path) << "  (" << e.origin << ")\n";
  for (const auto & s : loader.Skipped())
    text << "  " << s << "\n";
  text << "Plugin libraries loaded:" << (loader.Loaded().empty() ? " none" : "") << "\n";
  for (const auto & l : loader.Loaded())
    text << "  " << l.path << "  (" << l.description << ")\n";
  text << "Plugin libraries that failed to load:" << (loader.Failures().empty() ? " none" : "") << "\n";
  for (const auto & f : loader.Failures())
    text << "  " << f.path << ": " << f.reason << "\n";
  return text.str();
}

} // namespace rescrnet::plugins
