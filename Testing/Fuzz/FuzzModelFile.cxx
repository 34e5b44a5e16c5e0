// SPDX-License-Identifier: Apache-2.0
// Fuzzes the model-file reader (prefix, JSON header, tensor table, architecture, tensor data): the input is written to
// a temporary file and loaded; ModelFileError is the only outcome allowed besides success.
#include "rescrnet/ModelFile.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const std::string path = "/tmp/rescrnet-fuzz-model-" + std::to_string(::getpid()) + ".rcn";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  try
  {
    rescrnet::LoadModel(path);
  }
  catch (const rescrnet::ModelFileError &)
  {}
  std::remove(path.c_str());
  return 0;
}
