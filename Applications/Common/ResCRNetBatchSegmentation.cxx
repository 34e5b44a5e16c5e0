// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetBatchSegmentation.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
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
#include <sstream>
#include <thread>

namespace rescrnet::app
{

namespace fs = std::filesystem;

namespace
{

using Row = std::vector<std::string>;
enum Column : size_t
{
  kImage = 0,
  kLabelMap = 1,
  kStatus = 2,
  kTotalPixels = 3,
  kTotalArea = 4,
  kQualityScore = 7,
  kMessage = 10,
  kIndex = 11,
  kColumns = 12
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
EarlierRows(const std::string & csvPath, const std::string & journalPath)
{
  std::map<uint64_t, Row> rows;
  const auto              header = BatchSegmentation::Columns();
  const auto              take = [&](Row && row) {
    uint64_t index = 0;
    if (row.size() == kColumns && ParseUnsigned(row[kIndex], index))
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

std::string
OverlayPath(const std::string & folder, const std::string & image)
{
  return (fs::path(folder) / (fs::path(image).stem().string() + "_overlay.png")).string();
}

struct Outcome
{
  bool     done{ false };
  bool     ok{ false };
  Row      row;
  uint64_t pixels{ 0 };
  double   area{ 0 };
};

} // namespace

BatchSegmentation::BatchSegmentation(const LungPipeline & pipeline, BatchOptions options)
  : m_Pipeline(pipeline)
  , m_Options(std::move(options))
{
  if (m_Options.resultsCsv.empty())
    m_Options.resultsCsv = (fs::path(m_Options.outputFolder) / "results.csv").string();
  m_Options.imagesInFlight = std::max(1u, m_Options.imagesInFlight);
}

std::vector<std::string>
BatchSegmentation::Columns()
{
  return { "image",       "label_map",     "status",        "total_pixels", "total_area_mm2", "right_pixels",
           "left_pixels", "quality_score", "quality_flags", "seconds",      "message",        "index" };
}

std::string
BatchSegmentation::LabelMapPath(const std::string & image) const
{
  return (fs::path(m_Options.outputFolder) / (fs::path(image).stem().string() + "_lungs.nrrd")).string();
}

BatchSummary
BatchSegmentation::Run(const std::vector<io::BatchItem> & items) const
{
  const auto      start = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(m_Options.outputFolder, ec);
  if (!fs::is_directory(m_Options.outputFolder))
    throw InputError("cannot create output folder " + m_Options.outputFolder);
  CheckWritableFolder(m_Options.resultsCsv);
  const std::string journalPath = m_Options.resultsCsv + ".partial";

  // What an earlier run finished and left intact.
  std::vector<Outcome> outcomes(items.size());
  std::vector<char>    kept(items.size(), 0);
  BatchSummary         summary;
  summary.resultsCsv = m_Options.resultsCsv;
  if (m_Options.resume)
  {
    auto earlier = EarlierRows(m_Options.resultsCsv, journalPath);
    for (size_t i = 0; i < items.size(); ++i)
    {
      const auto it = earlier.find(items[i].index);
      if (it == earlier.end())
        continue;
      Row &    row = it->second;
      uint64_t pixels = 0;
      if (row[kStatus] != "ok" || row[kImage] != items[i].path || row[kLabelMap] != LabelMapPath(items[i].path) ||
          !ParseUnsigned(row[kTotalPixels], pixels) || LungPixelsOf(row[kLabelMap]) != static_cast<int64_t>(pixels) ||
          (m_Options.overlay && !io::IsReadableImage(OverlayPath(m_Options.outputFolder, items[i].path))))
        continue;
      outcomes[i].done = outcomes[i].ok = true;
      outcomes[i].pixels = pixels;
      outcomes[i].area = std::strtod(row[kTotalArea].c_str(), nullptr);
      outcomes[i].row = std::move(row);
      kept[i] = 1;
      ++summary.resumed;
    }
  }
  // The journal starts with what is kept, so that it stays complete over several interruptions.
  std::ofstream journal(journalPath, std::ios::binary | std::ios::trunc);
  journal << CsvLine(Columns());
  for (const auto & o : outcomes)
    if (o.done)
      journal << CsvLine(o.row);
  journal.flush();
  if (!journal)
    throw AtomicFileError("cannot write the journal " + journalPath);

  // Workers take the images to segment in order, at most imagesInFlight ahead of the oldest one not yet collected.
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
      const std::string   labelMap = LabelMapPath(image);
      OutputFiles         files;
      files.labelMap = labelMap;
      if (m_Options.overlay)
        files.overlay = OverlayPath(m_Options.outputFolder, image);
      Outcome o;
      o.done = true;
      try
      {
        const auto r = m_Pipeline.Run(image, files);
        o.ok = true;
        o.pixels = r.measures.totalPixels;
        o.area = r.measures.totalAreaMM2;
        o.row = { image,
                  labelMap,
                  "ok",
                  std::to_string(r.measures.totalPixels),
                  CsvTable::number(r.measures.totalAreaMM2),
                  std::to_string(r.measures.rightPixels),
                  std::to_string(r.measures.leftPixels),
                  r.quality ? CsvTable::number(r.quality->score) : std::string(),
                  r.quality ? r.quality->flags : std::string(),
                  CsvTable::number(r.seconds),
                  "",
                  std::to_string(items[i].index) };
      }
      catch (const std::exception & e)
      {
        o.row = { image, "", "failed", "", "", "", "", "", "", "", e.what(), std::to_string(items[i].index) };
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

  CsvTable table(Columns());
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
            m_Options.failure(o.row[kImage] + ": " + o.row[kMessage]);
        }
      }
      if (o.ok)
      {
        summary.totalPixels += o.pixels;
        summary.totalAreaMM2 += o.area;
        if (!o.row[kQualityScore].empty() && std::strtod(o.row[kQualityScore].c_str(), nullptr) < m_Options.lowQuality)
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
  journal.close();
  fs::remove(journalPath, ec);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

} // namespace rescrnet::app
