// SPDX-License-Identifier: Apache-2.0
// Replays fuzz corpora without libFuzzer: every file given (or found in a folder given) goes through the harness's
// LLVMFuzzerTestOneInput, so that every input a fuzzing run kept, and every crash found and fixed, stays tested in
// the normal build. A crash or an unexpected exception fails the test. Prints the number of inputs replayed.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int
main(int argc, char * argv[])
{
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i)
  {
    const fs::path p(argv[i]);
    if (fs::is_directory(p))
    {
      for (const auto & e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    }
    else
      files.push_back(p);
  }
  if (files.empty())
  {
    std::fprintf(stderr, "usage: %s corpus-folder-or-file...\n", argv[0]);
    return 2;
  }
  for (const auto & f : files)
  {
    std::ifstream     in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
