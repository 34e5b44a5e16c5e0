// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/Registry.h"

#include "BuiltIns.h"

#include "itkObjectFactoryBase.h"

#include <iterator>
#include <mutex>

namespace rescrnet::plugins
{

namespace
{

const char *
BaseName(ComponentKind kind)
{
  return kind == ComponentKind::Stage ? StageBaseName : BackendBaseName;
}

std::string
LibraryName(PluginFactory * factory)
{
  return factory->GetPluginLibraryPath().empty() ? std::string("built-in") : factory->GetPluginLibraryPath();
}

itk::LightObject::Pointer
Create(ComponentKind kind, const std::string & name)
{
  for (itk::ObjectFactoryBase * base : itk::ObjectFactoryBase::GetRegisteredFactories())
    if (auto * factory = dynamic_cast<PluginFactory *>(base))
      if (auto object = factory->Create(BaseName(kind), name))
        return object;
  return nullptr;
}

} // namespace

void
RegisterBuiltIns()
{
  static std::mutex                 mutex;
  static PluginFactory::Pointer     builtIns;
  const std::lock_guard<std::mutex> lock(mutex);
  if (!builtIns)
    builtIns = PluginFactory::Make("ITKResCRNet built-in stages and model backends", RegisterBuiltInComponents);
  // Registered again after an ObjectFactoryBase::ReHash() or UnRegisterAllFactories() removed it.
  for (itk::ObjectFactoryBase * f : itk::ObjectFactoryBase::GetRegisteredFactories())
    if (f == builtIns.GetPointer())
      return;
  itk::ObjectFactoryBase::RegisterFactory(builtIns);
}

std::vector<RegisteredComponent>
ListRegistered(ComponentKind kind)
{
  std::vector<RegisteredComponent> list;
  const std::string                base = BaseName(kind);
  for (itk::ObjectFactoryBase * f : itk::ObjectFactoryBase::GetRegisteredFactories())
  {
    auto * factory = dynamic_cast<PluginFactory *>(f);
    if (!factory)
      continue;
    // ITK's listing: four parallel lists, one entry per override.
    const auto bases = f->GetClassOverrideNames();
    const auto names = f->GetClassOverrideWithNames();
    const auto descriptions = f->GetClassOverrideDescriptions();
    const auto enabled = f->GetEnableFlags();
    auto       b = bases.begin();
    auto       n = names.begin();
    auto       d = descriptions.begin();
    auto       e = enabled.begin();
    for (; b != bases.end() && n != names.end() && d != descriptions.end() && e != enabled.end(); ++b, ++n, ++d, ++e)
      if (*b == base)
        list.push_back({ kind, *n, *d, LibraryName(factory), *e });
  }
  return list;
}

std::string
RegisteredNames(ComponentKind kind)
{
  std::string names;
  for (const auto & c : ListRegistered(kind))
    if (c.enabled)
      names += (names.empty() ? "" : ", ") + c.name;
  return names.empty() ? std::string("none") : names;
}

Stage::Pointer
CreateStage(const std::string & name)
{
  return dynamic_cast<Stage *>(Create(ComponentKind::Stage, name).GetPointer());
}

ModelBackend::Pointer
CreateBackend(const std::string & name)
{
  return dynamic_cast<ModelBackend *>(Create(ComponentKind::Backend, name).GetPointer());
}

std::string
LibraryOf(ComponentKind kind, const std::string & name)
{
  for (const auto & c : ListRegistered(kind))
    if (c.name == name)
      return c.library;
  return std::string();
}

} // namespace rescrnet::plugins
