// SPDX-License-Identifier: Apache-2.0
// The lung segmentation of many files (a folder, a manifest, one shard of either) into an output folder and a
// results CSV, at the network's pace and resumable:
// - images in flight: while the network segments one image, other workers read and decode the next ones and write
//   the outputs of the previous ones (the network itself runs one image at a time, on all its threads); a bounded
//   window keeps at most `imagesInFlight` images in memory and the results in input order;
// - every finished image is appended to a journal (<results CSV>.partial) at once; the results CSV is written
//   atomically at the end and the journal removed;
// - resume: images whose row (results CSV or journal of an earlier run) says ok, whose label map reads back with
//   the recorded number of lung pixels and whose overlay (when asked for) is readable are not segmented again: their
//   rows are kept as they are.
// Results CSV columns: image, label_map, status, total_pixels, total_area_mm2, right_pixels, left_pixels, seconds,
// message, index (the image's position in the whole input list, the same in every shard: rescrnet::io::BatchInput).
#ifndef ResCRNetBatchSegmentation_h
#define ResCRNetBatchSegmentation_h

#include "ResCRNetLungPipeline.h"

#include "rescrnet/io/BatchInput.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rescrnet::app
{

struct BatchOptions
{
  std::string outputFolder;
  std::string resultsCsv; // default: results.csv in the output folder
  bool        overlay{ false };
  bool        resume{ false };
  // Images being read, segmented or written at the same time (1: one after the other).
  unsigned imagesInFlight{ 3 };
  // Masks whose quality score is below this are counted in BatchSummary::lowQuality.
  double lowQuality{ 0.5 };
  // Called on the calling thread: items finished (segmented, failed or resumed) of all items; and the fraction of
  // the batch done, for progress bars that move within an image.
  std::function<void(size_t done, size_t total)> finished;
  // Failures, one line each (on the calling thread).
  std::function<void(const std::string &)> failure;
};

struct BatchSummary
{
  size_t      segmented{ 0 }; // in this run
  size_t      resumed{ 0 };   // kept from an earlier run
  size_t      failed{ 0 };
  size_t      lowQuality{ 0 }; // ok masks with a quality score below BatchOptions::lowQuality
  uint64_t    totalPixels{ 0 }; // of all ok images, resumed ones included
  double      totalAreaMM2{ 0 };
  double      seconds{ 0 };
  std::string resultsCsv;
};

class BatchSegmentation
{
public:
  BatchSegmentation(const LungPipeline & pipeline, BatchOptions options);

  // Segments `items` (rescrnet::io::SelectShard); writes the label maps (and overlays) and the results CSV.
  BatchSummary
  Run(const std::vector<io::BatchItem> & items) const;

  // The results CSV's header.
  static std::vector<std::string>
  Columns();

  // The label map written for `image`: <output folder>/<stem>_lungs.nrrd.
  std::string
  LabelMapPath(const std::string & image) const;

private:
  const LungPipeline & m_Pipeline;
  BatchOptions         m_Options;
};

} // namespace rescrnet::app

#endif
