// SPDX-License-Identifier: Apache-2.0
// The registry of stages and model backends: ITK's object factory (overrides of "rescrnetStage" and
// "rescrnetBackend"), filled by RegisterBuiltIns() and by plugins (PluginLoader).
#ifndef rescrnet_plugins_Registry_h
#define rescrnet_plugins_Registry_h

#include "rescrnet/plugins/ModelBackend.h"
#include "rescrnet/plugins/PluginAPI.h"
#include "rescrnet/plugins/Stage.h"

#include <string>
#include <vector>

namespace rescrnet::plugins
{

// Registers the built-in stages and backends (once; later calls do nothing). An explicit call, not a static
// initialiser: a program that never calls it has an empty registry. The built-in stages:
//   read-image, cxr-preprocess, histogram-equalization, segment, lung-mask, probability-map, lung-measures,
//   compare-reference, write-image, write-overlay, write-dicom-seg
// and backends: rescrnet-model, torchscript.
void
RegisterBuiltIns();

enum class ComponentKind
{
  Stage,
  Backend
};

// A registered stage or backend, as ITK's object factory lists it.
struct RegisteredComponent
{
  ComponentKind kind{ ComponentKind::Stage };
  std::string   name;        // the override's name (GetClassOverrideWithNames)
  std::string   description; // its description (GetClassOverrideDescriptions)
  std::string   library;     // the plugin library it came from; "built-in" for RegisterBuiltIns()
  bool          enabled{ true };
};

// Every registered component of `kind`, in registration order.
std::vector<RegisteredComponent>
ListRegistered(ComponentKind kind);

// The registered names of `kind`, comma-separated, for messages.
std::string
RegisteredNames(ComponentKind kind);

// A new stage or backend of the registered `name`; null when none is registered (or it is disabled).
Stage::Pointer
CreateStage(const std::string & name);
ModelBackend::Pointer
CreateBackend(const std::string & name);

// The library that registered `name` ("built-in", a plugin's path, or empty when unknown).
std::string
LibraryOf(ComponentKind kind, const std::string & name);

} // namespace rescrnet::plugins

#endif
