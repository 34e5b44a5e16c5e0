// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/io/Dataset.h"

#include "rescrnet/CsvTable.h"
#include "rescrnet/io/ImageFile.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>

namespace rescrnet::io
{

namespace fs = std::filesystem;

std::vector<ImagePair>
ReadSplitPairs(const std::string & csvPath, const std::string & subset)
{
  std::ifstream in(csvPath, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + csvPath);
  std::vector<std::vector<std::string>> records;
  try
  {
    records = ReadCsvRecords(in);
  }
  catch (const std::invalid_argument & e)
  {
    throw std::runtime_error(csvPath + ": " + e.what());
  }
  if (records.empty())
    throw std::runtime_error(csvPath + ": empty file (expected id,image,mask,source,...,split)");
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < records[0].size(); ++i)
    col[records[0][i]] = i;
  for (const char * need : { "image", "mask" })
    if (!col.count(need))
      throw std::runtime_error(csvPath + ": no '" + need + "' column (expected id,image,mask,source,...,split)");
  if (subset != "all" && !col.count("split"))
    throw std::runtime_error(csvPath + ": no 'split' column for --subset " + subset);
  const fs::path         base = fs::absolute(csvPath).parent_path();
  std::vector<ImagePair> pairs;
  for (size_t r = 1; r < records.size(); ++r)
  {
    const auto & cells = records[r];
    auto         get = [&](const std::string & name) {
      auto it = col.find(name);
      return it != col.end() && it->second < cells.size() ? cells[it->second] : std::string();
    };
    if (subset != "all" && get("split") != subset)
      continue;
    ImagePair p;
    p.image = (base / get("image")).string();
    p.mask = (base / get("mask")).string();
    p.id = col.count("id") ? get("id") : fs::path(p.image).stem().string();
    p.source = col.count("source") ? get("source") : base.filename().string();
    pairs.push_back(p);
  }
  if (pairs.empty())
    throw std::runtime_error(csvPath + ": no rows with split '" + subset + "'");
  return pairs;
}

std::vector<ImagePair>
MatchFolderPairs(const std::string & images, const std::string & masks)
{
  std::map<std::string, std::string> byStem, byName;
  for (const auto & m : ListImages(masks))
  {
    byName[fs::path(m).filename().string()] = m;
    byStem[fs::path(m).stem().string()] = m;
  }
  std::vector<ImagePair> pairs;
  const std::string      source = fs::path(fs::absolute(images)).lexically_normal().filename().string();
  for (const auto & image : ListImages(images))
  {
    const fs::path p(image);
    std::string    mask;
    if (byName.count(p.filename().string()))
      mask = byName[p.filename().string()];
    else if (byStem.count(p.stem().string()))
      mask = byStem[p.stem().string()];
    if (mask.empty())
    {
      std::cerr << "no mask for " << image << "; skipped" << std::endl;
      continue;
    }
    pairs.push_back({ p.stem().string(), image, mask, source.empty() ? "folder" : source });
  }
  if (pairs.empty())
    throw std::runtime_error("no image/mask pairs matched by file name in " + images + " and " + masks);
  return pairs;
}

} // namespace rescrnet::io
