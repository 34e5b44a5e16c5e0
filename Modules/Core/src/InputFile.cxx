// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/InputFile.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rescrnet
{

namespace
{

InputLimits g_Limits;

std::string
Prefix(const std::string & path, const std::string & what)
{
  return "cannot read " + (what.empty() ? std::string() : what + " ") + path + ": ";
}

std::string
KindOf(mode_t mode)
{
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a file";
}

std::string
ReasonOf(int error)
{
  switch (error)
  {
    case ENOENT:
      return "no such file";
    case ELOOP:
      return "too many levels of symbolic links (a link loop)";
    case ENOTDIR:
      return "a component of the path is not a folder";
    case ENAMETOOLONG:
      return "file name too long";
    default:
      return std::strerror(error);
  }
}

// Throws unless `st` describes a regular file of at most maxBytes bytes.
uint64_t
CheckStatus(const struct stat & st, const std::string & path, uint64_t maxBytes, const std::string & what)
{
  if (S_ISDIR(st.st_mode))
    throw InputFileError(Prefix(path, what) + "is a folder");
  if (!S_ISREG(st.st_mode))
    throw InputFileError(Prefix(path, what) + "not a regular file (" + KindOf(st.st_mode) + ")");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0)
    throw InputFileError(Prefix(path, what) + "the file is empty");
  if (size > maxBytes)
    throw InputFileError(Prefix(path, what) + "the file's " + std::to_string(size) + " bytes exceed the limit of " +
                         std::to_string(maxBytes) + " bytes");
  return size;
}

} // namespace

const InputLimits &
GetInputLimits()
{
  return g_Limits;
}

void
SetInputLimits(const InputLimits & limits)
{
  g_Limits = limits;
}

uint64_t
CheckInputFile(const std::string & path, uint64_t maxBytes, const std::string & what)
{
  if (path.empty())
    throw InputFileError("cannot read " + (what.empty() ? std::string("a file") : what) + " without a name");
  struct stat st
  {};
  if (::stat(path.c_str(), &st) != 0)
    throw InputFileError(Prefix(path, what) + ReasonOf(errno));
  return CheckStatus(st, path, maxBytes, what);
}

std::string
ReadInputFile(const std::string & path, uint64_t maxBytes, const std::string & what)
{
  CheckInputFile(path, maxBytes, what);
  // O_NONBLOCK: opening a FIFO that replaced the checked file does not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    throw InputFileError(Prefix(path, what) + ReasonOf(errno));
  struct Closer
  {
    int fd;
    ~Closer()
    {
      ::close(fd);
    }
  } closer{ fd };
  struct stat st
  {};
  if (::fstat(fd, &st) != 0)
    throw InputFileError(Prefix(path, what) + ReasonOf(errno));
  const uint64_t size = CheckStatus(st, path, maxBytes, what);
  std::string    text;
  text.resize(static_cast<size_t>(size));
  size_t done = 0;
  while (done < text.size())
  {
    const ssize_t n = ::read(fd, &text[done], text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw InputFileError(Prefix(path, what) + ReasonOf(errno));
    if (n == 0)
      break; // shrank while being read
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  char extra = 0;
  if (done == size && ::read(fd, &extra, 1) > 0)
    throw InputFileError(Prefix(path, what) + "the file grew while it was read");
  return text;
}

void
CheckPixelBudget(const std::string & path, uint64_t width, uint64_t height, uint64_t depth, uint64_t maxPixels)
{
  uint64_t   area = 0, pixels = 0;
  const bool fits = MultiplyWithoutOverflow(width, height, area) && MultiplyWithoutOverflow(area, depth, pixels);
  if (!fits || pixels > maxPixels)
  {
    std::string size = std::to_string(width) + " x " + std::to_string(height);
    if (depth != 1)
      size += " x " + std::to_string(depth);
    throw InputFileError("cannot read " + path + ": an image of " + size + " pixels exceeds the limit of " +
                         std::to_string(maxPixels) + " pixels (--maxPixels)");
  }
}

} // namespace rescrnet
