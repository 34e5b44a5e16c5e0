// SPDX-License-Identifier: Apache-2.0
// The text of --listPlugins: the registered stages and model backends with their library, summary and parameters,
// the plugin search path, and every plugin that was loaded or failed to load (with the reason).
#ifndef rescrnet_plugins_Listing_h
#define rescrnet_plugins_Listing_h

#include <string>

namespace rescrnet::plugins
{

// Loads every plugin of the search path first (PluginLoader::LoadAll).
std::string
PluginListing();

} // namespace rescrnet::plugins

#endif
