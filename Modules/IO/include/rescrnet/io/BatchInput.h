// SPDX-License-Identifier: Apache-2.0
// The images of a batch run at archive scale: a folder or a manifest (CSV of paths), a deterministic share of them
// for one of N processes (--shard K/N: Slurm job arrays, Kubernetes indexed jobs, GNU parallel), and the merge of the
// shards' results CSVs into the table one run over all images writes.
#ifndef rescrnet_io_BatchInput_h
#define rescrnet_io_BatchInput_h

#include "rescrnet/CsvTable.h"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet::io
{

// Unusable batch input (manifest, shard, results CSVs); the message is one line naming the file.
class BatchInputError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// One image of a batch: its position in the whole input list (the same in every shard) and its path.
struct BatchItem
{
  size_t      index{ 0 };
  std::string path;
};

// Shard `index` of `count` (0 <= index < count).
struct Shard
{
  size_t index{ 0 };
  size_t count{ 1 };
};

// "K/N" with 0 <= K < N (Slurm: --shard ${SLURM_ARRAY_TASK_ID}/N with --array=0-(N-1)); empty text: 0/1. Throws
// BatchInputError for anything else.
Shard
ParseShard(const std::string & text);

// Whether `path` names a manifest (extension .csv, any case).
bool
IsManifest(const std::string & path);

// The image paths of a manifest: the column "image" (or "path"), or the first column when the header has neither;
// a first row that names no such column and is an existing file is taken as data (a header-less list). Relative
// paths are relative to the manifest's folder; empty cells are skipped. Throws BatchInputError naming the manifest
// (unreadable, no paths, malformed CSV).
std::vector<std::string>
ReadManifest(const std::string & manifest);

// The items of `paths` that belong to `shard`: every item whose index i satisfies i % count == index (round robin,
// so that the shards are within one image of each other in size and interleave like one run's order).
std::vector<BatchItem>
SelectShard(const std::vector<std::string> & paths, const Shard & shard);

// Output names are derived from the image's file name (stem); two inputs with the same stem would write the same
// files. Throws BatchInputError naming both paths (checked on the whole list, so that every shard agrees).
void
CheckDistinctStems(const std::vector<std::string> & paths);

// The rows of the results CSVs `inputs` (the same header, which holds the column "index") in one table sorted by
// index, as one run over all images writes it. Throws BatchInputError for a missing or unreadable file, different
// headers, a repeated index (the same image in two shards) or a gap (a shard missing or unfinished).
CsvTable
MergeResultTables(const std::vector<std::string> & inputs);

} // namespace rescrnet::io

#endif
