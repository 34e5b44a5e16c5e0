// SPDX-License-Identifier: Apache-2.0
// Import of the authors' Keras HDF5 files (weights-only `*_weights.h5` with the sibling `.json` architecture, or
// full `*_all.h5` models). Layers are matched through the Keras graph (the JSON inbound nodes), never by the numbers
// in their auto-generated names, and the network configuration is read from the graph.
#ifndef rescrnet_KerasImport_h
#define rescrnet_KerasImport_h

#include "rescrnet/ModelFile.h"
#include "rescrnet/ResCRNet.h"

#include <stdexcept>
#include <string>

namespace rescrnet
{

class KerasImportError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct KerasImportResult
{
  ResCRNet  network{ nullptr };
  ModelInfo info;
  // How each block's Keras layers mapped onto the port, for the summary ("STEM: separable_conv2d, ...").
  std::vector<std::string> mapping;
};

// `architectureJson` may be empty: the model_config attribute of an `_all.h5` file is used, else the `.json` file
// beside a `_weights.h5` file (same name without `_weights.h5`).
KerasImportResult
ImportKerasModel(const std::string & h5Path, const std::string & architectureJson = std::string());

} // namespace rescrnet

#endif
