// SPDX-License-Identifier: Apache-2.0
// Files given to the project's tools are untrusted input. Before a file is opened by any reader (ITK, DCMTK, HDF5,
// libjpeg, the model-file reader, the CSV and JSON readers) it must be a regular file of a bounded size: a FIFO named
// "x.png" would block the reader forever, /dev/zero or /dev/urandom would be read until memory runs out, a symbolic
// link loop would fail with a raw library message. Limits on what a file may make the program allocate (pixels) are
// kept here too, so that every module applies the same ones; the command-line tools set them from --maxPixels.
// Plain C++17 and POSIX.
#ifndef rescrnet_InputFile_h
#define rescrnet_InputFile_h

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rescrnet
{

// An input file that cannot be used; the message is one line naming the file and the reason.
class InputFileError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// Limits on what one input may cost, checked before anything is allocated.
struct InputLimits
{
  // Pixels of one image (width x height x depth), from its header. 100 megapixels: ten times a large detector.
  uint64_t maxPixels{ 100'000'000 };
  // Bytes of one input file (images, models, Keras files, CSV and JSON files).
  uint64_t maxFileBytes{ uint64_t{ 4 } << 30 };
  // Bytes of a text file read whole into memory (JSON, CSV, architecture files).
  uint64_t maxTextBytes{ uint64_t{ 64 } << 20 };
};

// The process's limits (the defaults above until SetInputLimits); thread-safe to read while no one sets them.
const InputLimits &
GetInputLimits();
void
SetInputLimits(const InputLimits & limits);

// Throws InputFileError unless `path` names an existing regular file (after following symbolic links) of at most
// `maxBytes` bytes: "cannot read P: no such file", "... is a folder", "... not a regular file (a FIFO)",
// "... too many levels of symbolic links", "... N bytes exceeds the limit of M bytes". Returns the file's size.
// `what` names the role in messages ("cannot read the model file P: ..."); empty: "cannot read P: ...".
uint64_t
CheckInputFile(const std::string & path, uint64_t maxBytes, const std::string & what = std::string());
inline uint64_t
CheckInputFile(const std::string & path)
{
  return CheckInputFile(path, GetInputLimits().maxFileBytes);
}

// The whole content of a regular file of at most `maxBytes` bytes. The file is opened without blocking (a FIFO
// swapped in after the check does not hang the reader) and re-checked through its descriptor; a file that grows
// past the limit while it is read is refused. Throws InputFileError.
std::string
ReadInputFile(const std::string & path, uint64_t maxBytes, const std::string & what = std::string());

// Throws InputFileError unless width x height x depth fits in `maxPixels` (overflow-safe): "P: image of W x H pixels
// exceeds the limit of N pixels (--maxPixels)".
void
CheckPixelBudget(const std::string & path, uint64_t width, uint64_t height, uint64_t depth, uint64_t maxPixels);
inline void
CheckPixelBudget(const std::string & path, uint64_t width, uint64_t height, uint64_t depth = 1)
{
  CheckPixelBudget(path, width, height, depth, GetInputLimits().maxPixels);
}

// a + b and a * b when they fit in 64 bits; false when they would overflow.
inline bool
AddWithoutOverflow(uint64_t a, uint64_t b, uint64_t & sum)
{
  return !__builtin_add_overflow(a, b, &sum);
}
inline bool
MultiplyWithoutOverflow(uint64_t a, uint64_t b, uint64_t & product)
{
  return !__builtin_mul_overflow(a, b, &product);
}

} // namespace rescrnet

#endif
