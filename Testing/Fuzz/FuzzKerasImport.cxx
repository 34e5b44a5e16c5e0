// SPDX-License-Identifier: Apache-2.0
// Fuzzes the Keras import. The first byte picks what the rest is:
// - even: a whole Keras HDF5 file (HDF5 structure, attributes such as model_config and weight_names, datasets);
// - odd: the architecture JSON (Keras model config: the graph walk, layer hyper-parameters, the network's ranges),
//   imported with an HDF5 file that holds no weights, made at start-up.
// KerasImportError is the only outcome allowed besides success.
#include "rescrnet/KerasImport.h"

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace
{

std::filesystem::path
Folder()
{
  static const std::filesystem::path folder = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("rescrnet-fuzz-keras-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const hid_t file = H5Fcreate((dir / "empty_weights.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file >= 0)
      H5Fclose(file);
    return dir;
  }();
  return folder;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  if (size == 0)
    return 0;
  const auto        dir = Folder();
  const bool        architecture = (data[0] & 1) != 0;
  const std::string path = (dir / (architecture ? "architecture.json" : "model_all.h5")).string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data) + 1, static_cast<std::streamsize>(size - 1));
  }
  try
  {
    if (architecture)
      rescrnet::ImportKerasModel((dir / "empty_weights.h5").string(), path);
    else
      rescrnet::ImportKerasModel(path);
  }
  catch (const rescrnet::KerasImportError &)
  {}
  return 0;
}
