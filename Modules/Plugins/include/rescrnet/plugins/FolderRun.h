// SPDX-License-Identifier: Apache-2.0
// A pipeline on every image of a folder: one output per image in the output folder, a progress line with the rate
// and the time left, Slicer's progress tags, and a results CSV (one row per image: its files, status, the stages'
// measures, seconds, message) with the effective pipeline beside it (<csv>.pipeline.json). An image that fails is
// reported and recorded; the others go on.
#ifndef rescrnet_plugins_FolderRun_h
#define rescrnet_plugins_FolderRun_h

#include "rescrnet/plugins/Pipeline.h"

#include <set>
#include <string>
#include <vector>

namespace rescrnet::plugins
{

struct FolderRunOptions
{
  std::string           inputFolder;
  std::string           outputFolder;             // created when missing
  std::string           csv;                      // default: <outputFolder>/results.csv
  std::string           outputColumn{ "output" }; // the CSV column of each image's "output" file
  std::set<std::string> destinations{ "output" }; // the run files written for each image (Pipeline::FolderFileName)
  std::string           toolName;                 // prefix of the messages on stderr
};

struct FolderItem
{
  std::string image;
  std::string output;
  bool        ok{ false };
  Json        measures = Json::object();
  double      seconds{ 0 };
  std::string message;
};

// Throws std::runtime_error when the folder holds no image or an output cannot be created.
std::vector<FolderItem>
RunFolder(const Pipeline & pipeline, const FolderRunOptions & options);

// The CSV cell of a measure: integers in full, other numbers with 6 significant digits, text as it is.
std::string
MeasureCell(const Json & value);

} // namespace rescrnet::plugins

#endif
