// SPDX-License-Identifier: Apache-2.0
// Writing a plugin: a MODULE library that defines stages (and/or model backends) and exports them with
//
//   #include "rescrnet/plugins/PluginAPI.h"
//   void Register(rescrnet::plugins::PluginFactory & factory) { factory.RegisterStage<MyStage>(); }
//   RESCRNET_PLUGIN("My stages", Register)
//
// RESCRNET_PLUGIN defines the library's two C entry points: rescrnetPluginABI(), which returns the ABI string
// (RESCRNET_PLUGIN_ABI: plugin API, ITK and LibTorch versions) that the host compares with its own before anything
// else, and rescrnetPluginFactory(), which builds the factory (calling `Register`) and returns it. The host registers
// the factory with ITK's object factory (ObjectFactoryBase::RegisterFactory), so stages and backends are overrides of
// "rescrnetStage" and "rescrnetBackend", listed with ITK's own GetClassOverrideWithNames/Descriptions.
//
// Plugins are loaded by the ITKResCRNet tools from --pluginPath, $ITKRESCRNET_PLUGIN_PATH and
// <prefix>/lib/ITKResCRNet/plugins, never through ITK_AUTOLOAD_PATH: a plugin does not define itkLoad(), so other ITK
// programs (3D Slicer) never load it. Header-only, like Stage.h and ModelBackend.h: a plugin links ITK and, for a
// backend, LibTorch, but no ITKResCRNet library.
#ifndef rescrnet_plugins_PluginAPI_h
#define rescrnet_plugins_PluginAPI_h

#include "rescrnet/plugins/PluginABI.h"
#include "rescrnet/plugins/Stage.h"

#include "itkCreateObjectFunction.h"
#include "itkObjectFactoryBase.h"

#include <string>
#include <vector>

namespace rescrnet::plugins
{

// The base names under which stages and backends are registered with ITK's object factory.
constexpr const char * StageBaseName = "rescrnetStage";
constexpr const char * BackendBaseName = "rescrnetBackend";
// The plugin entry points.
constexpr const char * PluginABISymbol = "rescrnetPluginABI";
constexpr const char * PluginFactorySymbol = "rescrnetPluginFactory";

class PluginFactory : public itk::ObjectFactoryBase
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(PluginFactory);
  using Self = PluginFactory;
  using Superclass = itk::ObjectFactoryBase;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;
  itkFactorylessNewMacro(Self);
  itkTypeMacro(PluginFactory, ObjectFactoryBase);

  // A factory with `description`, filled by `registration`.
  static Pointer
  Make(const char * description, void (*registration)(PluginFactory &))
  {
    auto factory = New();
    factory->m_Description = description;
    registration(*factory);
    return factory;
  }

  const char *
  GetITKSourceVersion() const override
  {
    return ITK_SOURCE_VERSION;
  }
  const char *
  GetDescription() const override
  {
    return m_Description.c_str();
  }

  // Registers TStage (a Stage with itkNewMacro) under its Describe().name.
  template <typename TStage>
  void
  RegisterStage()
  {
    const ComponentInfo info = TStage::New()->Describe();
    this->Add(StageBaseName, info.name, info.summary, itk::CreateObjectFunction<TStage>::New());
  }
  // Registers TBackend (a ModelBackend with itkNewMacro) under its Describe().name.
  template <typename TBackend>
  void
  RegisterBackend()
  {
    const ComponentInfo info = TBackend::New()->Describe();
    this->Add(BackendBaseName, info.name, info.summary, itk::CreateObjectFunction<TBackend>::New());
  }

  // A new object of the override `name` of `baseName` ("rescrnetStage" or "rescrnetBackend"); null when this
  // factory has none or it is disabled (ObjectFactoryBase::SetEnableFlag).
  itk::LightObject::Pointer
  Create(const std::string & baseName, const std::string & name)
  {
    for (const auto & c : m_Creators)
      if (c.baseName == baseName && c.name == name && this->GetEnableFlag(baseName.c_str(), name.c_str()))
        return c.create->CreateObject();
    return nullptr;
  }

  // The library the factory came from (set by the loader; empty for the built-in factory). ITK's own
  // GetLibraryPath() is set only for factories that ITK loaded from ITK_AUTOLOAD_PATH.
  const std::string &
  GetPluginLibraryPath() const
  {
    return m_LibraryPath;
  }
  void
  SetPluginLibraryPath(const std::string & path)
  {
    m_LibraryPath = path;
  }

protected:
  PluginFactory() = default;
  ~PluginFactory() override = default;

private:
  struct Creator
  {
    std::string                            baseName;
    std::string                            name;
    itk::CreateObjectFunctionBase::Pointer create;
  };

  void
  Add(const char *                           baseName,
      const std::string &                    name,
      const std::string &                    summary,
      itk::CreateObjectFunctionBase::Pointer create)
  {
    this->RegisterOverride(baseName, name.c_str(), summary.c_str(), true, create);
    m_Creators.push_back({ baseName, name, create });
  }

  std::string          m_Description;
  std::string          m_LibraryPath;
  std::vector<Creator> m_Creators;
};

} // namespace rescrnet::plugins

#define RESCRNET_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

// Defines the plugin's entry points; `registration` is a function void(rescrnet::plugins::PluginFactory &).
#define RESCRNET_PLUGIN(description, registration)                                                                     \
  RESCRNET_PLUGIN_EXPORT const char * rescrnetPluginABI()                                                              \
  {                                                                                                                    \
    return RESCRNET_PLUGIN_ABI;                                                                                        \
  }                                                                                                                    \
  RESCRNET_PLUGIN_EXPORT itk::ObjectFactoryBase * rescrnetPluginFactory()                                              \
  {                                                                                                                    \
    static const ::rescrnet::plugins::PluginFactory::Pointer factory =                                                 \
      ::rescrnet::plugins::PluginFactory::Make(description, registration);                                             \
    return factory.GetPointer();                                                                                       \
  }

#endif
