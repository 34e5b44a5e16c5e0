// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/AtomicFile.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <climits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rescrnet
{

namespace fs = std::filesystem;

namespace
{

std::string
FolderOf(const std::string & path)
{
  const fs::path folder = fs::absolute(fs::path(path)).parent_path();
  return folder.empty() ? std::string("/") : folder.string();
}

std::string
TemporaryPathFor(const std::string & path)
{
  static std::atomic<unsigned> counter{ 0 };
  const std::string            prefix = ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-";
  std::string                  name = fs::path(path).filename().string();
  // A name near NAME_MAX would not fit behind the prefix: keep its end, which holds the extension(s) that writers
  // choose the format by.
  constexpr size_t maxName = NAME_MAX;
  if (prefix.size() + name.size() > maxName)
    name = name.substr(name.size() - (maxName - prefix.size()));
  return (fs::path(FolderOf(path)) / (prefix + name)).string();
}

// Writes the file's data to the disk (a rename of an unflushed file can leave an empty target after a crash).
void
Flush(const std::string & path, const std::string & target)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw AtomicFileError("cannot write " + target + ": " + std::strerror(errno));
  const int flushed = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (flushed != 0)
    throw AtomicFileError("cannot write " + target + ": " + std::strerror(error));
}

} // namespace

void
CheckWritableFolder(const std::string & path)
{
  if (path.empty())
    throw AtomicFileError("cannot write a file without a name");
  const std::string folder = FolderOf(path);
  std::error_code   ec;
  if (!fs::is_directory(folder, ec))
    throw AtomicFileError("cannot write " + path + ": folder " + folder + " does not exist");
  if (::access(folder.c_str(), W_OK) != 0)
    throw AtomicFileError("cannot write " + path + ": folder " + folder + " is not writable");
  struct stat st
  {};
  if (::stat(path.c_str(), &st) == 0)
  {
    if (S_ISDIR(st.st_mode))
      throw AtomicFileError("cannot write " + path + ": is a folder");
    // Renaming over a FIFO or a device would replace it (as root, /dev/null itself).
    if (!S_ISREG(st.st_mode))
      throw AtomicFileError("cannot write " + path + ": not a regular file (" +
                            (S_ISFIFO(st.st_mode)  ? "a FIFO"
                             : S_ISCHR(st.st_mode) ? "a character device"
                             : S_ISBLK(st.st_mode) ? "a block device"
                                                   : "a socket") +
                            ")");
  }
  else if (errno == ELOOP)
    throw AtomicFileError("cannot write " + path + ": too many levels of symbolic links (a link loop)");
  if (fs::path(path).filename().string().size() > NAME_MAX)
    throw AtomicFileError("cannot write " + path + ": file name longer than " + std::to_string(NAME_MAX) + " bytes");
}

bool
IsSameFile(const std::string & a, const std::string & b)
{
  struct stat sa
  {
  }, sb{};
  if (a.empty() || b.empty() || ::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0)
    return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void
CheckOutputFiles(const std::vector<std::string> & outputs, const std::vector<std::string> & inputs)
{
  for (size_t i = 0; i < outputs.size(); ++i)
  {
    const std::string & out = outputs[i];
    if (out.empty())
      continue;
    for (const std::string & in : inputs)
      if (IsSameFile(out, in))
        throw AtomicFileError("refusing to write " + out + ": it is the input " + in +
                              " (a run never overwrites its input)");
    CheckWritableFolder(out);
    std::error_code ec;
    const fs::path  normal = fs::weakly_canonical(fs::absolute(out), ec);
    for (size_t j = 0; j < i; ++j)
    {
      if (outputs[j].empty())
        continue;
      const fs::path other = fs::weakly_canonical(fs::absolute(outputs[j]), ec);
      if (IsSameFile(out, outputs[j]) || (!normal.empty() && normal == other))
        throw AtomicFileError("cannot write " + out + " and " + outputs[j] + ": they are the same file");
    }
  }
}

AtomicFile::AtomicFile(std::string path)
  : m_Path(std::move(path))
{
  CheckWritableFolder(m_Path);
  m_TemporaryPath = TemporaryPathFor(m_Path);
}

AtomicFile::~AtomicFile()
{
  if (!m_Committed)
    std::remove(m_TemporaryPath.c_str());
}

void
AtomicFile::write(const std::string & bytes)
{
  std::FILE * out = std::fopen(m_TemporaryPath.c_str(), "wb");
  if (!out)
    throw AtomicFileError("cannot write " + m_Path + ": " + std::strerror(errno));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), out);
  const int    writeError = errno;
  const bool   closed = std::fclose(out) == 0;
  if (written != bytes.size() || !closed)
  {
    const int error = written != bytes.size() ? writeError : errno;
    std::remove(m_TemporaryPath.c_str());
    throw AtomicFileError("cannot write " + m_Path + ": " + std::strerror(error));
  }
  m_Written = true;
}

void
AtomicFile::commit()
{
  if (m_Committed)
    return;
  try
  {
    Flush(m_TemporaryPath, m_Path);
    // A library writer that lost its only write (a full disk when it flushes a small file at close) and did not say
    // so leaves an empty file: never an output.
    std::error_code ec;
    if (!m_Written && fs::file_size(m_TemporaryPath, ec) == 0 && !ec)
      throw AtomicFileError("cannot write " + m_Path + ": nothing was written (is the disk full?)");
    if (std::rename(m_TemporaryPath.c_str(), m_Path.c_str()) != 0)
      throw AtomicFileError("cannot write " + m_Path + ": " + std::strerror(errno));
  }
  catch (...)
  {
    std::remove(m_TemporaryPath.c_str());
    throw;
  }
  m_Committed = true;
}

void
WriteFileAtomically(const std::string & path, const std::string & bytes)
{
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

} // namespace rescrnet
