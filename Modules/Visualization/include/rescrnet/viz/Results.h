// SPDX-License-Identifier: Apache-2.0
// Reading what the segmentation command wrote for a folder (results.csv) and pairing image folders with label,
// reference and probability folders, so that the viewer and the figures can show a batch.
#ifndef rescrnet_viz_Results_h
#define rescrnet_viz_Results_h

#include "rescrnet/viz/Layers.h"

#include <optional>
#include <string>
#include <vector>

namespace rescrnet::viz
{

// One row of a results CSV; the columns are found by their header names, extra columns are ignored:
//   image (required), label_map, status ("ok" or "failed"), probability, reference,
//   quality_score (0..1, higher is better) and quality_flags (names separated by ';'), dice.
struct ResultRow
{
  LayerFiles            files; // relative paths: beside the CSV, else from the current folder if the file is there
  std::string           status;
  std::optional<double> dice;
};

// Throws LayerError (one line naming the file and the line) for a file that cannot be read, has no `image` column,
// or a quality_score / dice that is not a number. Empty cells are absent values.
std::vector<ResultRow>
ReadResultsCSV(const std::string & path);

// Flags of a quality_flags cell: split at ';', trimmed, empty names dropped.
std::vector<std::string>
SplitFlags(const std::string & cell);

// Finds the file of a folder that belongs to an image: its stem followed by one of `suffixes` (tried in order; ""
// is the stem alone), any image extension, never the image itself. The folder is listed once. Constructed from a
// file instead of a folder, it returns that file for every image.
class FileMatcher
{
public:
  FileMatcher() = default;
  // Throws LayerError when `path` is neither a folder nor a file.
  FileMatcher(const std::string & path, std::vector<std::string> suffixes);

  // Empty when nothing matches (or the matcher is empty).
  std::string
  Find(const std::string & image) const;

  // The suffixes of the segmentation command's outputs and of mask folders.
  static std::vector<std::string>
  LabelSuffixes()
  {
    return { "_lungs", "_labels", "_label", "" };
  }
  static std::vector<std::string>
  ProbabilitySuffixes()
  {
    return { "_probability", "_prob", "" };
  }
  static std::vector<std::string>
  ReferenceSuffixes()
  {
    return { "", "_mask", "_reference" };
  }

private:
  std::string                                      m_File;
  std::vector<std::string>                         m_Suffixes;
  std::vector<std::pair<std::string, std::string>> m_ByStem; // sorted (stem, path)
};

// A file name without its extension (".nii.gz" counts as one).
std::string
StemOf(const std::string & path);

} // namespace rescrnet::viz

#endif
