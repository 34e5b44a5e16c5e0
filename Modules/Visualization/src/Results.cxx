// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/Results.h"

#include "rescrnet/CsvTable.h"
#include "rescrnet/TextUtilities.h"
#include "rescrnet/io/ImageFile.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace rescrnet::viz
{

namespace fs = std::filesystem;

namespace
{

std::optional<double>
Number(const std::string & cell, const std::string & where)
{
  const std::string s = Trim(cell);
  if (s.empty())
    return std::nullopt;
  errno = 0;
  char *       end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE)
    throw LayerError(where + ": '" + s + "' is not a number");
  if (!std::isfinite(v))
    return std::nullopt; // NaN: no value
  return v;
}

std::string
Resolve(const fs::path & base, const std::string & cell)
{
  const std::string s = Trim(cell);
  if (s.empty())
    return s;
  const fs::path p(s);
  if (p.is_absolute())
    return s;
  // The segmentation command writes the paths as it was given them (relative to where it ran): beside the CSV first,
  // else from the current folder when the file is there.
  const fs::path  besideCSV = (base / p).lexically_normal();
  std::error_code ec;
  if (!fs::exists(besideCSV, ec) && fs::exists(p, ec))
    return fs::absolute(p).lexically_normal().string();
  return besideCSV.string();
}

} // namespace

std::vector<std::string>
SplitFlags(const std::string & cell)
{
  std::vector<std::string> flags;
  size_t                   begin = 0;
  while (begin <= cell.size())
  {
    const size_t      end = std::min(cell.find(';', begin), cell.size());
    const std::string flag = Trim(cell.substr(begin, end - begin));
    if (!flag.empty())
      flags.push_back(flag);
    begin = end + 1;
  }
  return flags;
}

std::vector<ResultRow>
ReadResultsCSV(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw LayerError("cannot read " + path);
  std::vector<std::vector<std::string>> records;
  try
  {
    records = ReadCsvRecords(in);
  }
  catch (const std::invalid_argument & e)
  {
    throw LayerError(path + ": " + e.what());
  }
  if (records.empty())
    throw LayerError(path + ": empty file (expected a header line with an 'image' column)");
  const fs::path                base = fs::absolute(path).parent_path();
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < records[0].size(); ++i)
    column.emplace(Trim(records[0][i]), i);
  if (!column.count("image"))
    throw LayerError(path + ": no 'image' column in the header");
  std::vector<ResultRow> rows;
  for (size_t r = 1; r < records.size(); ++r)
  {
    const auto & cells = records[r];
    if (std::all_of(cells.begin(), cells.end(), [](const std::string & c) { return Trim(c).empty(); }))
      continue;
    const auto cell = [&](const char * name) {
      const auto it = column.find(name);
      return it != column.end() && it->second < cells.size() ? cells[it->second] : std::string();
    };
    const std::string where = path + " record " + std::to_string(r + 1);
    ResultRow         row;
    row.files.image = Resolve(base, cell("image"));
    if (row.files.image.empty())
      throw LayerError(where + ": no image");
    row.files.labels = Resolve(base, cell("label_map"));
    row.files.probability = Resolve(base, cell("probability"));
    row.files.reference = Resolve(base, cell("reference"));
    row.files.qualityScore = Number(cell("quality_score"), where);
    row.files.qualityFlags = SplitFlags(cell("quality_flags"));
    row.status = Trim(cell("status"));
    row.dice = Number(cell("dice"), where);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string
StemOf(const std::string & path)
{
  std::string name = fs::path(path).filename().string();
  for (const char * double_extension : { ".nii.gz", ".tar.gz" })
  {
    const std::string e(double_extension);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return name.substr(0, name.size() - e.size());
  }
  const auto dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

FileMatcher::FileMatcher(const std::string & path, std::vector<std::string> suffixes)
  : m_Suffixes(std::move(suffixes))
{
  std::error_code ec;
  if (fs::is_regular_file(path, ec))
  {
    m_File = path;
    return;
  }
  if (!fs::is_directory(path, ec))
    throw LayerError(path + " is neither a file nor a folder");
  std::vector<std::string> files;
  try
  {
    files = io::ListImages(path);
  }
  catch (const io::ImageFileError & e)
  {
    throw LayerError(e.what());
  }
  for (const auto & file : files)
    m_ByStem.emplace_back(StemOf(file), file);
  std::sort(m_ByStem.begin(), m_ByStem.end());
}

std::string
FileMatcher::Find(const std::string & image) const
{
  if (!m_File.empty())
    return m_File;
  const std::string stem = StemOf(image);
  for (const auto & suffix : m_Suffixes)
  {
    const std::string key = stem + suffix;
    const auto        it = std::lower_bound(
      m_ByStem.begin(), m_ByStem.end(), key, [](const auto & entry, const std::string & k) { return entry.first < k; });
    if (it != m_ByStem.end() && it->first == key && it->second != image)
      return it->second;
  }
  return std::string();
}

} // namespace rescrnet::viz
