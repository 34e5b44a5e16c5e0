// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/PluginLoader.h"

#include "rescrnet/TextUtilities.h"
#include "rescrnet/plugins/Registry.h"

#include "itkObjectFactoryBase.h"

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <set>
#include <sstream>

namespace rescrnet::plugins
{

namespace fs = std::filesystem;

namespace
{

std::vector<std::string>
SplitPath(const std::string & text)
{
  std::vector<std::string> parts;
  std::string              part;
  std::istringstream       in(text);
  while (std::getline(in, part, ':'))
    parts.push_back(part);
  if (!text.empty() && text.back() == ':')
    parts.emplace_back();
  return parts;
}

std::string
DlError(const char * fallback)
{
  const char * e = dlerror();
  return OneLine(e ? e : fallback);
}

// The names `factory` would register that are registered already (by another factory).
std::vector<std::string>
Conflicts(itk::ObjectFactoryBase * factory)
{
  std::vector<std::string> conflicts;
  const auto               bases = factory->GetClassOverrideNames();
  const auto               names = factory->GetClassOverrideWithNames();
  auto                     b = bases.begin();
  for (auto n = names.begin(); b != bases.end() && n != names.end(); ++b, ++n)
  {
    const bool stage = *b == StageBaseName;
    if (!stage && *b != BackendBaseName)
      continue;
    const std::string owner = LibraryOf(stage ? ComponentKind::Stage : ComponentKind::Backend, *n);
    if (!owner.empty())
      conflicts.push_back((stage ? "stage '" : "backend '") + *n + "' (already registered by " + owner + ")");
  }
  return conflicts;
}

} // namespace

PluginLoader &
PluginLoader::Instance()
{
  static PluginLoader loader;
  return loader;
}

std::string
PluginLoader::HostABI()
{
  return RESCRNET_PLUGIN_ABI;
}

std::string
PluginLoader::InstalledPluginFolder()
{
  std::error_code ec;
  const fs::path  exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty())
    return std::string();
  // Relative paths from the executables' folders (<prefix>/bin, the Slicer module folder) to the plugin folder,
  // computed by CMake from the install layout; the build tree has the same layout.
  for (const char * relative : { RESCRNET_PLUGINS_FROM_BIN, RESCRNET_PLUGINS_FROM_CLI_MODULES })
  {
    const fs::path candidate = exe.parent_path() / relative;
    if (fs::is_directory(candidate, ec))
      return fs::weakly_canonical(candidate, ec).string();
  }
  return (exe.parent_path() / RESCRNET_PLUGINS_FROM_BIN).lexically_normal().string();
}

void
PluginLoader::SetCommandLinePath(const std::string & path)
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  m_CommandLinePath = path;
}

std::vector<PluginSearchEntry>
PluginLoader::SearchPath() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  std::vector<PluginSearchEntry>              entries;
  if (!m_CommandLinePath.empty())
    for (const auto & p : SplitPath(m_CommandLinePath))
      entries.push_back({ p, "--pluginPath" });
  if (const char * env = std::getenv("ITKRESCRNET_PLUGIN_PATH"))
    for (const auto & p : SplitPath(env))
      entries.push_back({ p, "ITKRESCRNET_PLUGIN_PATH" });
  const std::string installed = InstalledPluginFolder();
  if (!installed.empty())
    entries.push_back({ installed, "install tree" });
  return entries;
}

std::vector<std::string>
PluginLoader::Candidates(const PluginSearchEntry & entry)
{
  auto skip = [&](const std::string & why) {
    const std::string note =
      (entry.path.empty() ? std::string("(empty entry)") : entry.path) + " from " + entry.origin + " " + why;
    if (std::find(m_Skipped.begin(), m_Skipped.end(), note) == m_Skipped.end())
      m_Skipped.push_back(note);
    return std::vector<std::string>{};
  };
  if (entry.path.empty())
    return skip("skipped: plugins are never loaded from the current directory");
  const fs::path path(entry.path);
  if (path.is_relative())
    return skip("skipped: not an absolute path (plugins are never loaded relative to the current directory)");
  std::error_code ec;
  if (fs::is_regular_file(path, ec))
    return { path.string() };
  if (!fs::is_directory(path, ec))
    return entry.origin == "install tree" ? std::vector<std::string>{} : skip("does not exist");
  std::vector<std::string> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
  {
    const fs::path &  p = it->path();
    const std::string name = p.filename().string();
    if (!name.empty() && name[0] != '.' && p.extension() == ".so" && it->is_regular_file(ec))
      files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

size_t
PluginLoader::LoadAll()
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  const size_t                                before = m_Loaded.size();
  for (const auto & entry : SearchPath())
    for (const auto & file : Candidates(entry))
      LoadLibrary(file);
  return m_Loaded.size() - before;
}

void
PluginLoader::LoadLibrary(const std::string & file)
{
  std::error_code   ec;
  const std::string path = fs::weakly_canonical(file, ec).string();
  if (std::find(m_Tried.begin(), m_Tried.end(), path) != m_Tried.end())
    return; // the same library through another entry or a link
  m_Tried.push_back(path);
  auto fail = [&](const std::string & reason) { m_Failures.push_back({ path, reason }); };

  // Never closed: even a library that fails a later check has run its static initialisers.
  dlerror();
  void * handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return fail("cannot be loaded: " + DlError("dlopen failed"));
  dlerror();
  auto abi = reinterpret_cast<const char * (*)()>(dlsym(handle, PluginABISymbol));
  if (!abi)
    return fail(std::string("not an ITKResCRNet plugin: no symbol ") + PluginABISymbol + " (" + DlError("not found") +
                ")");
  const std::string pluginABI = abi() ? abi() : "";
  if (pluginABI != HostABI())
    return fail("ABI mismatch: the plugin was built for \"" + pluginABI + "\", this program is \"" + HostABI() +
                "\"; rebuild the plugin against this ITKResCRNet");
  dlerror();
  auto factoryFunction = reinterpret_cast<itk::ObjectFactoryBase * (*)()>(dlsym(handle, PluginFactorySymbol));
  if (!factoryFunction)
    return fail(std::string("not an ITKResCRNet plugin: no symbol ") + PluginFactorySymbol + " (" +
                DlError("not found") + ")");
  itk::ObjectFactoryBase * factory = nullptr;
  try
  {
    factory = factoryFunction();
  }
  catch (const std::exception & e)
  {
    return fail(std::string("its registration threw: ") + OneLine(e.what()));
  }
  catch (...)
  {
    return fail("its registration threw an exception that is not a std::exception");
  }
  auto * pluginFactory = dynamic_cast<PluginFactory *>(factory);
  if (!pluginFactory)
    return fail(std::string(PluginFactorySymbol) + " returned " +
                (factory ? "a factory that is not a rescrnet::plugins::PluginFactory" : "no factory"));
  const auto conflicts = Conflicts(pluginFactory);
  if (!conflicts.empty())
  {
    std::string list;
    for (const auto & c : conflicts)
      list += (list.empty() ? "" : ", ") + c;
    return fail("not registered: it would register " + list);
  }
  pluginFactory->SetPluginLibraryPath(path);
  itk::ObjectFactoryBase::RegisterFactory(pluginFactory);
  m_Loaded.push_back({ path, pluginFactory->GetDescription() });
}

std::vector<LoadedPlugin>
PluginLoader::Loaded() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  return m_Loaded;
}

std::vector<PluginFailure>
PluginLoader::Failures() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  return m_Failures;
}

std::vector<std::string>
PluginLoader::Skipped() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  return m_Skipped;
}

std::vector<std::string>
PluginLoader::Tried() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  return m_Tried;
}

std::string
PluginLoader::Report() const
{
  const std::lock_guard<std::recursive_mutex> lock(m_Mutex);
  std::string                                 text;
  auto        add = [&](const std::string & part) { text += (text.empty() ? "" : "; ") + part; };
  std::string searched;
  for (const auto & e : SearchPath())
    searched += (searched.empty() ? "" : ", ") + (e.path.empty() ? std::string("(empty)") : e.path);
  add("plugin path: " + (searched.empty() ? std::string("none") : searched));
  for (const auto & s : m_Skipped)
    add(s);
  if (m_Tried.empty())
    add("no plugin library found");
  for (const auto & l : m_Loaded)
    add("loaded " + l.path);
  for (const auto & f : m_Failures)
    add("failed " + f.path + ": " + f.reason);
  return text;
}

} // namespace rescrnet::plugins
