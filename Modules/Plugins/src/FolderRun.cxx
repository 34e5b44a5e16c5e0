// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/FolderRun.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
#include "rescrnet/JsonParsing.h"
#include "rescrnet/cli/Progress.h"
#include "rescrnet/io/ImageFile.h"

#include <filesystem>
#include <iostream>

namespace rescrnet::plugins
{

namespace fs = std::filesystem;

std::string
MeasureCell(const Json & value)
{
  if (value.is_number_integer())
    return value.dump();
  if (value.is_number())
    return CsvTable::number(value.get<double>());
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_null())
    return std::string();
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::vector<FolderItem>
RunFolder(const Pipeline & pipeline, const FolderRunOptions & options)
{
  const auto images = io::ListImages(options.inputFolder);
  if (images.empty())
    throw std::runtime_error("no readable images in folder " + options.inputFolder);
  std::error_code ec;
  fs::create_directories(options.outputFolder, ec);
  if (!fs::is_directory(options.outputFolder))
    throw std::runtime_error("cannot create output folder " + options.outputFolder);
  const std::string csvPath =
    options.csv.empty() ? (fs::path(options.outputFolder) / "results.csv").string() : options.csv;
  CheckWritableFolder(csvPath);

  const auto               measures = pipeline.MeasureNames(options.destinations);
  std::vector<std::string> header{ "image", options.outputColumn, "status" };
  header.insert(header.end(), measures.begin(), measures.end());
  header.insert(header.end(), { "seconds", "message" });
  CsvTable csv(header);

  std::vector<FolderItem> items;
  cli::ConsoleProgress    progress(images.size(), "img");
  for (const auto & image : images)
  {
    const std::string stem = fs::path(image).stem().string();
    RunFiles          files{ { "input", image } };
    for (const auto & role : options.destinations)
      files[role] = (fs::path(options.outputFolder) / pipeline.FolderFileName(role, stem)).string();
    FolderItem item;
    item.image = image;
    item.output = files["output"];
    try
    {
      const double done = static_cast<double>(items.size());
      const auto   r =
        pipeline.Run(files, [&](double f) { cli::ReportProgress((done + f) / static_cast<double>(images.size())); });
      item.ok = true;
      item.measures = r.measures;
      item.seconds = r.seconds;
      for (const auto & w : r.warnings)
        std::cerr << options.toolName << ": warning: " << image << ": " << w << std::endl;
    }
    catch (const std::exception & e)
    {
      item.message = e.what();
      item.output.clear();
      std::cerr << options.toolName << ": " << e.what() << std::endl;
    }
    std::vector<std::string> row{ item.image, item.output, item.ok ? "ok" : "failed" };
    for (const auto & m : measures)
      row.push_back(item.measures.contains(m) ? MeasureCell(item.measures[m]) : std::string());
    row.push_back(item.ok ? CsvTable::number(item.seconds) : std::string());
    row.push_back(item.message);
    csv.addRow(row);
    items.push_back(std::move(item));
    progress.Update(items.size());
  }
  progress.Finish();
  csv.write(csvPath);
  // The provenance of the results: the effective pipeline beside the CSV.
  const fs::path sidecar = fs::path(csvPath).replace_extension(".pipeline.json");
  WriteFileAtomically(sidecar.string(), DumpJson(pipeline.Effective(), 2) + "\n");
  return items;
}

} // namespace rescrnet::plugins
