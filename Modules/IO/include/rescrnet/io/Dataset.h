// SPDX-License-Identifier: Apache-2.0
// Image/mask pairs for evaluation and training: split CSV files (id,image,mask,source,...,split) and folders
// matched by file name.
#ifndef rescrnet_io_Dataset_h
#define rescrnet_io_Dataset_h

#include <string>
#include <vector>

namespace rescrnet::io
{

struct ImagePair
{
  std::string id, image, mask, source;
};

// Rows of `csvPath` (RFC 4180) whose split column equals `subset` ("all": every row). Paths are relative to the
// CSV's folder; the source is the source column, else the CSV's folder name. Throws std::runtime_error naming the
// problem (unreadable file, missing column, no matching rows).
std::vector<ImagePair>
ReadSplitPairs(const std::string & csvPath, const std::string & subset);

// Images of `images` paired with the masks of `masks` by file name (or by name without extension); the source is
// the image folder's name. Images without a mask are reported on stderr and skipped.
std::vector<ImagePair>
MatchFolderPairs(const std::string & images, const std::string & masks);

} // namespace rescrnet::io

#endif
