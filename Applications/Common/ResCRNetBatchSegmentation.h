// SPDX-License-Identifier: Apache-2.0
// A pipeline (rescrnet::plugins::Pipeline) on many files (a folder, a manifest, one shard of either) into an output
// folder and a results CSV, at the network's pace and resumable; the folder mode of ResCRNetLungSegmentation and
// ResCRNetPipeline:
// - images in flight: while the network segments one image, other workers read and decode the next ones and write
//   the outputs of the previous ones (the network itself runs one image at a time, on all its threads); a bounded
//   window keeps at most `imagesInFlight` images in memory and the results in input order;
// - every finished image is appended to a journal (<results CSV>.partial) at once; the results CSV is written
//   atomically at the end, the effective pipeline beside it (<results CSV without .csv>.pipeline.json), and the
//   journal removed;
// - resume: images whose row (results CSV or journal of an earlier run) says ok, whose output reads back (with the
//   recorded number of lung pixels when the table has total_pixels) and whose other outputs (overlay, probability,
//   when asked for) are readable are not run again: their rows are kept as they are.
// Results CSV columns: image, <output column>, status, <measures>, seconds, message, index (the image's position in
// the whole input list, the same in every shard: rescrnet::io::BatchInput).
#ifndef ResCRNetBatchSegmentation_h
#define ResCRNetBatchSegmentation_h

#include "rescrnet/io/BatchInput.h"
#include "rescrnet/plugins/Pipeline.h"

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace rescrnet::app
{

struct BatchOptions
{
  std::string outputFolder;
  std::string resultsCsv;                  // default: results.csv in the output folder
  std::string outputColumn{ "label_map" }; // the column of each image's "output" file
  // The measures recorded, in order (a measure the pipeline does not produce gives empty cells).
  std::vector<std::string> measures;
  // The run files written for each image besides "output" (e.g. "overlay", "probability"), named by
  // Pipeline::FolderFileName.
  std::set<std::string> extraOutputs;
  bool                  resume{ false };
  // Images being read, segmented or written at the same time (1: one after the other).
  unsigned imagesInFlight{ 3 };
  // Masks whose quality_score is below this are counted in BatchSummary::lowQuality.
  double lowQuality{ 0.5 };
  // Called on the calling thread: items finished (segmented, failed or resumed) of all items.
  std::function<void(size_t done, size_t total)> finished;
  // Failures and warnings, one line each (on the calling thread).
  std::function<void(const std::string &)> failure;
  std::function<void(const std::string &)> warning;
};

struct BatchSummary
{
  size_t      segmented{ 0 }; // in this run
  size_t      resumed{ 0 };   // kept from an earlier run
  size_t      failed{ 0 };
  size_t      lowQuality{ 0 };  // ok masks with a quality_score below BatchOptions::lowQuality
  uint64_t    totalPixels{ 0 }; // of all ok images, resumed ones included (total_pixels)
  double      totalAreaMM2{ 0 };
  double      seconds{ 0 };
  std::string resultsCsv;
};

// The images of a folder (rescrnet::io::ListImages) or of a manifest (rescrnet::io::ReadManifest), in order, without
// the results of an earlier run: a listed file that is what `pipeline` writes in `outputFolder` ("output", "overlay"
// or "probability") for another listed image is left out and named through `skipped`. Throws when nothing is left or
// when two images would write the same outputs (rescrnet::io::CheckDistinctStems).
std::vector<std::string>
ListBatchInputs(const std::string &                              input,
                const plugins::Pipeline &                        pipeline,
                const std::string &                              outputFolder,
                const std::function<void(const std::string &)> & skipped);

class BatchSegmentation
{
public:
  BatchSegmentation(const plugins::Pipeline & pipeline, BatchOptions options);

  // Runs the pipeline on `items` (rescrnet::io::SelectShard); writes the outputs and the results CSV.
  BatchSummary
  Run(const std::vector<io::BatchItem> & items) const;

  // The results CSV's header.
  std::vector<std::string>
  Columns() const;

  // The file of run file `role` written for `image` in the output folder (Pipeline::FolderFileName).
  std::string
  OutputPath(const std::string & role, const std::string & image) const;

  // The measures of the lung segmentation's results: pixels and areas, quality score and flags.
  static std::vector<std::string>
  LungMeasures();

private:
  const plugins::Pipeline & m_Pipeline;
  BatchOptions              m_Options;
};

} // namespace rescrnet::app

#endif
