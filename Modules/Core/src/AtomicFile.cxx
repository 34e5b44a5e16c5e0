// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/AtomicFile.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
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
  const fs::path               target(path);
  return (fs::path(FolderOf(path)) /
          (".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + target.filename().string()))
    .string();
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
  if (fs::is_directory(path, ec))
    throw AtomicFileError("cannot write " + path + ": is a folder");
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
}

void
AtomicFile::commit()
{
  if (m_Committed)
    return;
  try
  {
    Flush(m_TemporaryPath, m_Path);
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
