// SPDX-License-Identifier: Apache-2.0
// The project's one way of writing a file: the content goes to a temporary file in the target's folder, is flushed
// to disk, and is renamed over the target only when complete, so that a failed or interrupted run never leaves a
// partial file behind (a full disk, a crash, a killed process). Model files, checkpoints, images, CSV and JSON
// reports, DICOM SEG objects and PNG snapshots are all written through it. Plain C++17 and POSIX: Core stays
// LibTorch-only, and every other module can use it.
#ifndef rescrnet_AtomicFile_h
#define rescrnet_AtomicFile_h

#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet
{

// The target cannot be written; the message is one line naming the file and the reason.
class AtomicFileError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// A file that replaces `path` when commit() succeeds. The temporary file is "<folder>/.tmp-<pid>-<n>-<name>": in
// the same folder (so the rename is atomic), hidden, and ending like the target (so that writers that choose the
// format by extension, ITK's and VTK's, choose the same one). It is removed when the AtomicFile is destroyed
// without a successful commit(), and when commit() fails.
//
//   rescrnet::AtomicFile file(path);          // throws when the folder does not exist or is not writable
//   writer->SetFileName(file.temporaryPath()); // or write bytes with file.write(...)
//   writer->Update();
//   file.commit();                            // flushes, then renames over `path`
class AtomicFile
{
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &
  operator=(const AtomicFile &) = delete;

  const std::string &
  path() const
  {
    return m_Path;
  }
  const std::string &
  temporaryPath() const
  {
    return m_TemporaryPath;
  }

  // Writes `bytes` to the temporary file (replacing what it held). Throws AtomicFileError (e.g. a full disk).
  void
  write(const std::string & bytes);

  // Flushes the temporary file to disk and renames it over the target. Throws AtomicFileError when the temporary
  // file is missing, empty without a write() (a library writer that failed silently) or cannot be flushed or
  // renamed; the temporary file is gone either way.
  void
  commit();

private:
  std::string m_Path;
  std::string m_TemporaryPath;
  bool        m_Committed{ false };
  bool        m_Written{ false }; // by write(): its size is known to be right, even 0
};

// AtomicFile(path).write(bytes) and commit().
void
WriteFileAtomically(const std::string & path, const std::string & bytes);

// Throws AtomicFileError unless `path`'s folder exists and is writable and `path` is not a folder or an existing
// non-regular file such as a FIFO or a device (the check AtomicFile makes), so that a run can refuse an unwritable
// output before it does the work.
void
CheckWritableFolder(const std::string & path);

// Whether `a` and `b` name the same existing file (same device and inode: symbolic links, hard links, "./x" and
// "x" all count). False when either does not exist.
bool
IsSameFile(const std::string & a, const std::string & b);

// The shared output guard, for every tool before it starts the work: each non-empty output passes
// CheckWritableFolder, no output is one of the `inputs` (by IsSameFile: a run never overwrites its input), and no
// two outputs are the same file or path. Throws AtomicFileError with one line naming the files.
void
CheckOutputFiles(const std::vector<std::string> & outputs, const std::vector<std::string> & inputs = {});

} // namespace rescrnet

#endif
