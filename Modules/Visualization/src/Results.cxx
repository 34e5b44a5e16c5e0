#include "rescrnet/viz/Results.h"

#include "rescrnet/io/DicomRadiograph.h"

#include "itkImageIOFactory.h"

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
  const std::string s = TrimCell(cell);
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
  const std::string s = TrimCell(cell);
  if (s.empty())
    return s;
  const fs::path p(s);
  return p.is_absolute() ? s : (base / p).lexically_normal().string();
}

bool
IsImageFile(const fs::path & path)
{
  auto io = itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  return io != nullptr || io::IsDicomFile(path.string());
}

} // namespace

std::string
TrimCell(const std::string & s)
{
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return std::string();
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::vector<std::string>
SplitCSVLine(const std::string & line)
{
  std::vector<std::string> cells(1);
  bool                     quoted = false;
  for (size_t i = 0; i < line.size(); ++i)
  {
    const char c = line[i];
    if (quoted)
    {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      {
        cells.back() += '"';
        ++i;
      }
      else if (c == '"')
        quoted = false;
      else
        cells.back() += c;
    }
    else if (c == '"')
      quoted = true;
    else if (c == ',')
      cells.emplace_back();
    else if (c != '\r' && c != '\n')
      cells.back() += c;
  }
  return cells;
}

std::vector<std::string>
SplitFlags(const std::string & cell)
{
  std::vector<std::string> flags;
  size_t                   begin = 0;
  while (begin <= cell.size())
  {
    const size_t      end = std::min(cell.find(';', begin), cell.size());
    const std::string flag = TrimCell(cell.substr(begin, end - begin));
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
  const fs::path base = fs::absolute(path).parent_path();
  std::string    line;
  if (!std::getline(in, line))
    throw LayerError(path + ": empty file (expected a header line with an 'image' column)");
  std::map<std::string, size_t> column;
  const auto                    header = SplitCSVLine(line);
  for (size_t i = 0; i < header.size(); ++i)
    column.emplace(TrimCell(header[i]), i);
  if (!column.count("image"))
    throw LayerError(path + ": no 'image' column in the header");
  std::vector<ResultRow> rows;
  size_t                 number = 1;
  while (std::getline(in, line))
  {
    ++number;
    if (TrimCell(line).empty())
      continue;
    const auto cells = SplitCSVLine(line);
    const auto cell = [&](const char * name) {
      const auto it = column.find(name);
      return it != column.end() && it->second < cells.size() ? cells[it->second] : std::string();
    };
    const std::string where = path + " line " + std::to_string(number);
    ResultRow         row;
    row.files.image = Resolve(base, cell("image"));
    if (row.files.image.empty())
      throw LayerError(where + ": no image");
    row.files.labels = Resolve(base, cell("label_map"));
    row.files.probability = Resolve(base, cell("probability"));
    row.files.reference = Resolve(base, cell("reference"));
    row.files.qualityScore = Number(cell("quality_score"), where);
    row.files.qualityFlags = SplitFlags(cell("quality_flags"));
    row.status = TrimCell(cell("status"));
    row.dice = Number(cell("dice"), where);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string>
ListImageFiles(const std::string & folder)
{
  std::vector<std::string> out;
  std::error_code          ec;
  for (const auto & entry : fs::directory_iterator(folder, ec))
  {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_regular_file(ec))
      continue;
    if (IsImageFile(entry.path()))
      out.push_back(entry.path().string());
  }
  if (ec)
    throw LayerError("cannot list " + folder + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
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
  for (const auto & file : ListImageFiles(path))
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
