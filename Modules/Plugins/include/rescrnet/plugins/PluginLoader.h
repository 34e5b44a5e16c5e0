// SPDX-License-Identifier: Apache-2.0
// Loading plugin libraries at run time, the elastix way: only when a pipeline names a stage or backend that is not
// registered (or when --listPlugins asks), from an explicit search path, with every failure kept for the message.
//
// Search path, in order: the --pluginPath entries, then $ITKRESCRNET_PLUGIN_PATH, then the install tree's
// <prefix>/lib/ITKResCRNet/plugins (found relative to the executable). Entries are ':'-separated folders (every
// "*.so" in them, by name) or library files. Empty and relative entries are skipped and reported: plugins are never
// loaded from the current directory. ITK_AUTOLOAD_PATH and itkLoad() are never used.
//
// Each library is opened once per real path (dlopen, RTLD_NOW | RTLD_LOCAL, so that an unresolved symbol fails the
// load instead of the process later), its ABI string (rescrnetPluginABI) is compared with the host's before its
// factory function (rescrnetPluginFactory) is called, and its factory is registered with ITK's object factory unless
// it would register a name that is already taken. Libraries are never closed: objects they created may live until
// the process ends. A failure (not a library, a missing symbol, another ABI, a registration that throws or returns
// nothing, a name conflict) never stops the program; it is recorded with the loader's error.
#ifndef rescrnet_plugins_PluginLoader_h
#define rescrnet_plugins_PluginLoader_h

#include <mutex>
#include <string>
#include <vector>

namespace rescrnet::plugins
{

struct PluginSearchEntry
{
  std::string path;
  std::string origin; // "--pluginPath", "ITKRESCRNET_PLUGIN_PATH" or "install tree"
};

struct LoadedPlugin
{
  std::string path; // real path
  std::string description;
};

struct PluginFailure
{
  std::string path;
  std::string reason;
};

class PluginLoader
{
public:
  // The process's loader.
  static PluginLoader &
  Instance();

  // The --pluginPath value (':'-separated); replaces an earlier one. Loads nothing.
  void
  SetCommandLinePath(const std::string & path);

  // The search path as it stands (the environment and the install tree are read at each call).
  std::vector<PluginSearchEntry>
  SearchPath() const;

  // Opens every library of the search path not opened before; returns how many were newly registered.
  size_t
  LoadAll();

  std::vector<LoadedPlugin>
  Loaded() const;
  std::vector<PluginFailure>
  Failures() const;
  // Search-path entries that could not be used (empty, relative, missing), with the reason.
  std::vector<std::string>
  Skipped() const;
  // Every library file tried so far (real paths), loaded or not.
  std::vector<std::string>
  Tried() const;

  // For messages: "searched: A, B (missing); failed: lib.so (reason); ...", or "no plugin folder exists".
  std::string
  Report() const;

  // The host's ABI string (RESCRNET_PLUGIN_ABI as the host was compiled).
  static std::string
  HostABI();

  // The install tree's plugin folder for this executable; empty when it cannot be located.
  static std::string
  InstalledPluginFolder();

private:
  PluginLoader() = default;

  void
  LoadLibrary(const std::string & path);
  std::vector<std::string>
  Candidates(const PluginSearchEntry & entry);

  mutable std::recursive_mutex m_Mutex;
  std::string                  m_CommandLinePath;
  std::vector<std::string>     m_Tried;
  std::vector<LoadedPlugin>    m_Loaded;
  std::vector<PluginFailure>   m_Failures;
  std::vector<std::string>     m_Skipped; // search entries that could not be used, with the reason
};

} // namespace rescrnet::plugins

#endif
