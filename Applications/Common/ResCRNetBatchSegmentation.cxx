// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetBatchSegmentation.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
#include "rescrnet/JsonParsing.h"
#include "rescrnet/io/ImageFile.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace rescrnet::app
{

namespace fs = std::filesystem;

namespace
{

using Row = std::vector<std::string>;
constexpr size_t kImage = 0, kOutput = 1, kStatus = 2;

// Where the columns after the fixed ones are, for a header.
struct Layout
{
  size_t columns{ 0 }, seconds{ 0 }, message{ 0 }, index{ 0 };
  // Optional measure columns (npos: absent).
  size_t totalPixels{ std::string::npos }, totalArea{ std::string::npos }, qualityScore{ std::string::npos };

  explicit Layout(const Row & header)
    : columns(header.size())
    , seconds(header.size() - 3)
    , message(header.size() - 2)
    , index(header.size() - 1)
  {
    for (size_t c = 0; c < header.size(); ++c)
      if (header[c] == "total_pixels")
        totalPixels = c;
      else if (header[c] == "total_area_mm2")
        totalArea = c;
      else if (header[c] == "quality_score")
        qualityScore = c;
  }
};

std::string
CsvLine(const Row & row)
{
  std::string line;
  for (size_t c = 0; c < row.size(); ++c)
    line += (c ? "," : "") + CsvTable::quote(row[c]);
  return line + "\n";
}

bool
ParseUnsigned(const std::string & text, uint64_t & value)
{
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  value = std::stoull(text);
  return true;
}

// Rows of an earlier run by index: from its results CSV (complete, written atomically) and its journal (one record
// per line; a line cut short by the interruption, or any other malformed line, is ignored).
std::map<uint64_t, Row>
EarlierRows(const std::string & csvPath, const std::string & journalPath, const Row & header)
{
  std::map<uint64_t, Row> rows;
  const Layout            layout(header);
  const auto              take = [&](Row && row) {
    uint64_t index = 0;
    if (row.size() == layout.columns && ParseUnsigned(row[layout.index], index))
      rows[index] = std::move(row);
  };
  if (std::ifstream in{ csvPath, std::ios::binary })
  {
    try
    {
      auto records = ReadCsvRecords(in);
      if (!records.empty() && records.front() == header)
        for (size_t r = 1; r < records.size(); ++r)
          take(std::move(records[r]));
    }
    catch (const std::exception &)
    {
      // Not a results CSV of ours: nothing to resume from it.
    }
  }
  std::ifstream journal(journalPath, std::ios::binary);
  std::string   line;
  bool          first = true;
  while (std::getline(journal, line))
  {
    if (journal.eof())
      break; // no line end: cut short
    std::istringstream record(line + "\n");
    try
    {
      auto cells = ReadCsvRecords(record);
      if (cells.size() != 1)
        continue;
      if (first)
      {
        first = false;
        if (cells.front() != header)
          return rows;
        continue;
      }
      take(std::move(cells.front()));
    }
    catch (const std::exception &)
    {}
  }
  return rows;
}

// Lung pixels of a label map (nonzero), or -1 when it does not read back.
int64_t
LungPixelsOf(const std::string & path)
{
  using LabelImage = itk::Image<unsigned char, 3>;
  try
  {
    if (!fs::is_regular_file(path))
      return -1;
    auto reader = itk::ImageFileReader<LabelImage>::New();
    reader->SetFileName(path);
    reader->Update();
    int64_t n = 0;
    for (itk::ImageRegionConstIterator<LabelImage> it(reader->GetOutput(),
                                                      reader->GetOutput()->GetLargestPossibleRegion());
         !it.IsAtEnd();
         ++it)
      n += it.Get() != 0;
    return n;
  }
  catch (const std::exception &)
  {
    return -1;
  }
}

struct Outcome
{
  bool                     done{ false };
  bool                     ok{ false };
  Row                      row;
  std::vector<std::string> warnings;
};

double
NumberCell(const Row & row, size_t column)
{
  return column < row.size() ? std::strtod(row[column].c_str(), nullptr) : 0.0;
}

} // namespace

BatchSegmentation::BatchSegmentation(const plugins::Pipeline & pipeline, BatchOptions options)
  : m_Pipeline(pipeline)
  , m_Options(std::move(options))
{
  if (m_Options.resultsCsv.empty())
    m_Options.resultsCsv = (fs::path(m_Options.outputFolder) / "results.csv").string();
  m_Options.imagesInFlight = std::max(1u, m_Options.imagesInFlight);
}

std::vector<std::string>
BatchSegmentation::LungMeasures()
{
  return { "total_pixels", "total_area_mm2", "right_pixels", "left_pixels", "quality_score", "quality_flags" };
}

std::vector<std::string>
ListBatchInputs(const std::string &                              input,
                const plugins::Pipeline &                        pipeline,
                const std::string &                              outputFolder,
                const std::function<void(const std::string &)> & skipped)
{
  const auto listed = fs::is_directory(input) ? io::ListImages(input) : io::ReadManifest(input);
  // What this run would write for the listed images: a rerun into the input folder must not take the masks, overlays
  // and probability maps of the previous run for radiographs.
  std::set<fs::path> outputs;
  for (const auto & path : listed)
    for (const char * role : { "output", "overlay", "probability" })
      if (pipeline.UsesFile(role))
      {
        std::error_code ec;
        const auto      file = fs::path(outputFolder) / pipeline.FolderFileName(role, fs::path(path).stem().string());
        const auto      canonical = fs::weakly_canonical(file, ec);
        if (!ec)
          outputs.insert(canonical);
      }
  std::vector<std::string> paths;
  for (const auto & path : listed)
  {
    std::error_code ec;
    const auto      canonical = fs::weakly_canonical(path, ec);
    if (ec || !outputs.count(canonical))
      paths.push_back(path);
    else if (skipped)
      skipped(path);
  }
  if (paths.empty())
    throw std::runtime_error((fs::is_directory(input) ? "no readable images in folder " : "no images in manifest ") +
                             input);
  io::CheckDistinctStems(paths);
  return paths;
}

std::vector<std::string>
BatchSegmentation::Columns() const
{
  Row columns{ "image", m_Options.outputColumn, "status" };
  columns.insert(columns.end(), m_Options.measures.begin(), m_Options.measures.end());
  columns.insert(columns.end(), { "seconds", "message", "index" });
  return columns;
}

std::string
BatchSegmentation::OutputPath(const std::string & role, const std::string & image) const
{
  return (fs::path(m_Options.outputFolder) / m_Pipeline.FolderFileName(role, fs::path(image).stem().string())).string();
}

BatchSummary
BatchSegmentation::Run(const std::vector<io::BatchItem> & items) const
{
  const auto      start = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(m_Options.outputFolder, ec);
  if (!fs::is_directory(m_Options.outputFolder))
    throw std::runtime_error("cannot create output folder " + m_Options.outputFolder);
  CheckWritableFolder(m_Options.resultsCsv);
  const std::string journalPath = m_Options.resultsCsv + ".partial";
  const Row         header = Columns();
  const Layout      layout(header);

  // What an earlier run finished and left intact.
  std::vector<Outcome> outcomes(items.size());
  std::vector<char>    kept(items.size(), 0);
  BatchSummary         summary;
  summary.resultsCsv = m_Options.resultsCsv;
  if (m_Options.resume)
  {
    auto earlier = EarlierRows(m_Options.resultsCsv, journalPath, header);
    for (size_t i = 0; i < items.size(); ++i)
    {
      const auto it = earlier.find(items[i].index);
      if (it == earlier.end())
        continue;
      Row &    row = it->second;
      uint64_t pixels = 0;
      bool     intact =
        row[kStatus] == "ok" && row[kImage] == items[i].path && row[kOutput] == OutputPath("output", items[i].path);
      if (intact && layout.totalPixels != std::string::npos)
        intact =
          ParseUnsigned(row[layout.totalPixels], pixels) && LungPixelsOf(row[kOutput]) == static_cast<int64_t>(pixels);
      else if (intact)
        intact = io::IsReadableImage(row[kOutput]);
      for (const auto & role : m_Options.extraOutputs)
        intact = intact && io::IsReadableImage(OutputPath(role, items[i].path));
      if (!intact)
        continue;
      outcomes[i].done = outcomes[i].ok = true;
      outcomes[i].row = std::move(row);
      kept[i] = 1;
      ++summary.resumed;
    }
  }
  // The journal starts with what is kept, so that it stays complete over several interruptions; it is replaced
  // atomically, so that a full disk leaves the earlier journal as it was rather than an empty one.
  {
    std::string kept = CsvLine(header);
    for (const auto & o : outcomes)
      if (o.done)
        kept += CsvLine(o.row);
    WriteFileAtomically(journalPath, kept);
  }
  std::ofstream journal(journalPath, std::ios::binary | std::ios::app);
  if (!journal)
    throw AtomicFileError("cannot write the journal " + journalPath);

  // Workers take the images to run in order, at most imagesInFlight ahead of the oldest one not yet collected.
  std::vector<size_t> todo;
  for (size_t i = 0; i < items.size(); ++i)
    if (!outcomes[i].done)
      todo.push_back(i);
  std::mutex              mutex;
  std::condition_variable changed;
  size_t                  next = 0;      // in todo
  size_t                  collected = 0; // items collected by this thread
  bool                    stop = false;
  const auto              work = [&] {
    for (;;)
    {
      size_t i = 0;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock,
                     [&] { return stop || next == todo.size() || todo[next] < collected + m_Options.imagesInFlight; });
        if (stop || next == todo.size())
          return;
        i = todo[next++];
      }
      const std::string & image = items[i].path;
      plugins::RunFiles   files{ { "input", image }, { "output", OutputPath("output", image) } };
      for (const auto & role : m_Options.extraOutputs)
        files[role] = OutputPath(role, image);
      Outcome o;
      o.done = true;
      try
      {
        const auto r = m_Pipeline.Run(files);
        o.ok = true;
        o.warnings = r.warnings;
        o.row = { image, files["output"], "ok" };
        for (const auto & m : m_Options.measures)
          o.row.push_back(r.measures.contains(m) ? plugins::MeasureCell(r.measures[m]) : std::string());
        o.row.insert(o.row.end(), { CsvTable::number(r.seconds), "", std::to_string(items[i].index) });
      }
      catch (const std::exception & e)
      {
        o.row = Row(header.size());
        o.row[kImage] = image;
        o.row[kStatus] = "failed";
        o.row[layout.message] = e.what();
        o.row[layout.index] = std::to_string(items[i].index);
      }
      std::lock_guard<std::mutex> lock(mutex);
      outcomes[i] = std::move(o);
      changed.notify_all();
    }
  };
  std::vector<std::thread> workers;
  const auto               joinAll = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (auto & w : workers)
      if (w.joinable())
        w.join();
  };
  const size_t threads = std::min<size_t>(m_Options.imagesInFlight, todo.size());
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back(work);

  CsvTable table(header);
  try
  {
    for (size_t i = 0; i < items.size(); ++i)
    {
      Outcome o;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return outcomes[i].done; });
        o = std::move(outcomes[i]);
        collected = i + 1;
      }
      changed.notify_all();
      if (m_Options.warning)
        for (const auto & w : o.warnings)
          m_Options.warning(o.row[kImage] + ": " + w);
      if (!kept[i])
      {
        journal << CsvLine(o.row);
        journal.flush();
        if (!journal)
          throw AtomicFileError("cannot write the journal " + journalPath);
        if (o.ok)
          ++summary.segmented;
        else
        {
          ++summary.failed;
          if (m_Options.failure)
            m_Options.failure(o.row[kImage] + ": " + o.row[layout.message]);
        }
      }
      if (o.ok)
      {
        if (layout.totalPixels != std::string::npos)
          summary.totalPixels += std::strtoull(o.row[layout.totalPixels].c_str(), nullptr, 10);
        summary.totalAreaMM2 += NumberCell(o.row, layout.totalArea);
        if (layout.qualityScore != std::string::npos && !o.row[layout.qualityScore].empty() &&
            NumberCell(o.row, layout.qualityScore) < m_Options.lowQuality)
          ++summary.lowQuality;
      }
      table.addRow(std::move(o.row));
      if (m_Options.finished)
        m_Options.finished(i + 1, items.size());
    }
  }
  catch (...)
  {
    joinAll();
    throw;
  }
  joinAll();
  table.write(m_Options.resultsCsv);
  // The provenance of the results: the effective pipeline beside the CSV.
  const fs::path sidecar = fs::path(m_Options.resultsCsv).replace_extension(".pipeline.json");
  WriteFileAtomically(sidecar.string(), DumpJson(m_Pipeline.Effective(), 2) + "\n");
  journal.close();
  fs::remove(journalPath, ec);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

} // namespace rescrnet::app
