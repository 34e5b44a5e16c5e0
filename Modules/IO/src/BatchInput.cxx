// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/io/BatchInput.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

namespace rescrnet::io
{

namespace fs = std::filesystem;

namespace
{

std::string
Lower(std::string s)
{
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A non-negative decimal number (digits only); false otherwise.
bool
ParseCount(const std::string & text, size_t & value)
{
  if (text.empty() || text.size() > 12 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
    return false;
  value = static_cast<size_t>(std::stoull(text));
  return true;
}

std::vector<std::vector<std::string>>
ReadRecords(const std::string & path, const char * what)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw BatchInputError("cannot read the " + std::string(what) + " " + path);
  try
  {
    return ReadCsvRecords(in);
  }
  catch (const std::exception & e)
  {
    throw BatchInputError(std::string(what) + " " + path + " is not valid CSV: " + e.what());
  }
}

} // namespace

Shard
ParseShard(const std::string & text)
{
  if (text.empty())
    return {};
  const auto slash = text.find('/');
  Shard      s;
  if (slash == std::string::npos || !ParseCount(text.substr(0, slash), s.index) ||
      !ParseCount(text.substr(slash + 1), s.count) || s.count == 0 || s.index >= s.count)
    throw BatchInputError("--shard " + text + ": expected K/N with 0 <= K < N (e.g. 0/4 ... 3/4)");
  return s;
}

bool
IsManifest(const std::string & path)
{
  return Lower(fs::path(path).extension().string()) == ".csv";
}

std::vector<std::string>
ReadManifest(const std::string & manifest)
{
  if (!fs::is_regular_file(manifest))
    throw BatchInputError("manifest " + manifest + " does not exist or is not a file");
  const auto records = ReadRecords(manifest, "manifest");
  const auto base = fs::path(manifest).parent_path();
  const auto resolve = [&](const std::string & p) { return fs::path(p).is_absolute() ? fs::path(p) : base / p; };
  size_t     column = 0;
  size_t     first = 0;
  if (!records.empty() && !records.front().empty())
  {
    const auto & head = records.front();
    bool         named = false;
    for (size_t c = 0; c < head.size() && !named; ++c)
      if (Lower(head[c]) == "image" || Lower(head[c]) == "path")
      {
        column = c;
        named = true;
      }
    // A header names columns; a header-less list starts with a file.
    first = named || !fs::is_regular_file(resolve(head.front())) ? 1 : 0;
  }
  std::vector<std::string> paths;
  for (size_t r = first; r < records.size(); ++r)
  {
    if (column >= records[r].size() || records[r][column].empty())
      continue;
    paths.push_back(resolve(records[r][column]).lexically_normal().string());
  }
  if (paths.empty())
    throw BatchInputError("manifest " + manifest +
                          " lists no image paths (column \"image\" or \"path\", or one path "
                          "per line)");
  return paths;
}

std::vector<BatchItem>
SelectShard(const std::vector<std::string> & paths, const Shard & shard)
{
  std::vector<BatchItem> items;
  for (size_t i = shard.index; i < paths.size(); i += shard.count)
    items.push_back({ i, paths[i] });
  return items;
}

void
CheckDistinctStems(const std::vector<std::string> & paths)
{
  std::map<std::string, const std::string *> seen;
  for (const auto & p : paths)
  {
    const auto [it, inserted] = seen.emplace(fs::path(p).stem().string(), &p);
    if (!inserted)
      throw BatchInputError("two inputs have the same file name stem \"" + it->first +
                            "\" and would write the same "
                            "outputs: " +
                            *it->second + " and " + p);
  }
}

CsvTable
MergeResultTables(const std::vector<std::string> & inputs)
{
  if (inputs.empty())
    throw BatchInputError("no results CSVs to merge");
  std::vector<std::string>                   header;
  size_t                                     indexColumn = 0;
  std::map<size_t, std::vector<std::string>> rows;
  std::map<size_t, const std::string *>      origin;
  for (const auto & input : inputs)
  {
    auto records = ReadRecords(input, "results CSV");
    if (records.empty())
      throw BatchInputError("results CSV " + input + " is empty");
    if (header.empty())
    {
      header = records.front();
      const auto it = std::find(header.begin(), header.end(), "index");
      if (it == header.end())
        throw BatchInputError("results CSV " + input + " has no column \"index\"");
      indexColumn = static_cast<size_t>(it - header.begin());
    }
    else if (records.front() != header)
      throw BatchInputError("results CSV " + input + " has other columns than " + inputs.front());
    for (size_t r = 1; r < records.size(); ++r)
    {
      size_t index = 0;
      if (indexColumn >= records[r].size() || !ParseCount(records[r][indexColumn], index))
        throw BatchInputError("results CSV " + input + ": row " + std::to_string(r + 1) + " has no valid index");
      if (rows.count(index))
        throw BatchInputError("image index " + std::to_string(index) + " is in both " + *origin[index] + " and " +
                              input + " (overlapping shards?)");
      rows[index] = std::move(records[r]);
      origin[index] = &input;
    }
  }
  CsvTable merged(header);
  size_t   expected = 0;
  for (auto & [index, cells] : rows)
  {
    if (index != expected)
      throw BatchInputError("image index " + std::to_string(expected) +
                            " is in none of the results CSVs (a shard "
                            "missing or unfinished?)");
    merged.addRow(std::move(cells));
    ++expected;
  }
  return merged;
}

} // namespace rescrnet::io
