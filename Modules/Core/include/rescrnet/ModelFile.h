// SPDX-License-Identifier: Apache-2.0
// The self-describing model file: one file with a JSON header (architecture, input grid and preprocessing, class
// names, provenance, metrics, tensor table) followed by the raw float32 tensors (weights and batch-norm statistics).
//
// Layout (little-endian):
//   8 bytes  magic "RESCRNET"
//   4 bytes  format version (uint32)
//   4 bytes  reserved (0)
//   8 bytes  header length N (uint64)
//   N bytes  header, UTF-8 JSON
//   data     tensors as listed in header["tensors"] (offsets relative to the start of data), CRC-32 in the header
#ifndef rescrnet_ModelFile_h
#define rescrnet_ModelFile_h

#include "rescrnet/JsonParsing.h"
#include "rescrnet/NetworkConfig.h"
#include "rescrnet/ResCRNet.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet
{

constexpr uint32_t ModelFileFormatVersion = 1;

class ModelFileError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct InputSpec
{
  int64_t width{ 340 };
  int64_t height{ 300 };
  int64_t channels{ 1 };
  // How images are prepared before the network: "minmax" scaling, "global-256" histogram equalization, then /255.
  std::string intensity{ "minmax" };
  std::string equalization{ "global-256" };
  std::string scale{ "divide-255" };

  nlohmann::ordered_json
  toJson() const;
  static InputSpec
  fromJson(const nlohmann::ordered_json & j);
};

struct ModelInfo
{
  NetworkConfig            architecture;
  InputSpec                input;
  std::vector<std::string> classes{ "lungs", "non_lungs" };
  // Who or what made the weights: {"kind": "trained"|"imported", "by": ..., "source": ..., ...}.
  nlohmann::ordered_json provenance = nlohmann::ordered_json::object();
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
};

struct LoadedModel
{
  ModelInfo info;
  ResCRNet  network{ nullptr };
};

// Writes atomically (temporary file, then rename). Throws ModelFileError.
void
SaveModel(const std::string & path, const ResCRNet & network, const ModelInfo & info);

// Reads and checks the header only.
ModelInfo
ReadModelInfo(const std::string & path);

// Reads, checks the header against the tensors and the architecture, and returns the network in eval mode.
// Errors name the problem: not a model file, newer format version, truncated, corrupted, wrong architecture.
LoadedModel
LoadModel(const std::string & path);

// CRC-32 (zlib's) of `size` bytes, continuing from `crc`.
uint32_t
Crc32(const void * data, size_t size, uint32_t crc = 0);

} // namespace rescrnet

#endif
