// SPDX-License-Identifier: Apache-2.0
// Runs a built executable with its stdout and stderr captured separately (no shell, so no quoting), for the tests
// of command-line modules. Header-only; POSIX.
#ifndef RunProgram_h
#define RunProgram_h

#include "ResCRNetTestSupport.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <fcntl.h>
#include <pty.h>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char ** environ;

namespace rescrnet::testing
{

struct ProgramResult
{
  int         exitCode{ -1 }; // -1: could not start or killed by a signal
  std::string out;
  std::string err;
};

// The path of a module built into build/bin.
inline std::filesystem::path
ModulePath(const std::string & name)
{
  return BinaryDirectory() / "bin" / name;
}

inline std::string
ReadWholeFile(const std::filesystem::path & path)
{
  std::ifstream      in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts `program` with `args` and the file actions; returns its pid, or 0 when it could not start.
inline pid_t
Spawn(const std::filesystem::path &      program,
      const std::vector<std::string> &   args,
      const posix_spawn_file_actions_t * actions)
{
  std::vector<std::string> all{ program.string() };
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto & a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  return posix_spawn(&pid, program.c_str(), actions, nullptr, argv.data(), environ) == 0 ? pid : 0;
}

// The exit code of `pid`, -1 when it was killed by a signal.
inline int
WaitFor(pid_t pid)
{
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline ProgramResult
RunProgram(const std::filesystem::path & program, const std::vector<std::string> & args)
{
  static int    counter = 0;
  const auto    dir = std::filesystem::temp_directory_path();
  const auto    stem = "rescrnet-run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const auto    outPath = dir / (stem + ".out");
  const auto    errPath = dir / (stem + ".err");
  ProgramResult result;

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  result.exitCode = WaitFor(Spawn(program, args, &actions));
  posix_spawn_file_actions_destroy(&actions);
  result.out = ReadWholeFile(outPath);
  result.err = ReadWholeFile(errPath);
  std::error_code ec;
  std::filesystem::remove(outPath, ec);
  std::filesystem::remove(errPath, ec);
  return result;
}

// Runs `program` with its stdout on a pseudo-terminal (as a person's shell would), stderr captured apart; `out`
// holds what the terminal received (the tty may translate "\n" to "\r\n").
inline ProgramResult
RunInTerminal(const std::filesystem::path & program, const std::vector<std::string> & args)
{
  ProgramResult result;
  int           master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0)
    return result;
  static int counter = 0;
  const auto errPath = std::filesystem::temp_directory_path() /
                       ("rescrnet-tty-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, slave, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addclose(&actions, master);
  posix_spawn_file_actions_addclose(&actions, slave);
  const pid_t pid = Spawn(program, args, &actions);
  posix_spawn_file_actions_destroy(&actions);
  ::close(slave); // the child holds the only other end: reading ends (EIO) when it exits
  if (pid > 0)
  {
    char    buffer[4096];
    ssize_t n = 0;
    while ((n = ::read(master, buffer, sizeof(buffer))) > 0)
      result.out.append(buffer, static_cast<size_t>(n));
    result.exitCode = WaitFor(pid);
  }
  ::close(master);
  result.err = ReadWholeFile(errPath);
  std::error_code ec;
  std::filesystem::remove(errPath, ec);
  return result;
}

inline size_t
LineCount(const std::string & s)
{
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// The source XML as embedded: @PROJECT_VERSION@ replaced.
inline std::string
EmbeddedXML(const std::filesystem::path & source, const std::string & version)
{
  std::string       xml = ReadWholeFile(source);
  const std::string placeholder = "@PROJECT_VERSION@";
  for (auto at = xml.find(placeholder); at != std::string::npos; at = xml.find(placeholder, at + version.size()))
    xml.replace(at, placeholder.size(), version);
  return xml;
}

// Whether `xml` is well-formed for xmllint; nullopt when xmllint is not installed.
inline std::optional<bool>
XmllintAccepts(const std::string & xml)
{
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
    return std::nullopt;
  const auto path = TemporaryDirectory() / "description.xml";
  std::ofstream(path, std::ios::binary) << xml;
  const std::string command = "xmllint --noout '" + path.string() + "'";
  return std::system(command.c_str()) == 0;
}

} // namespace rescrnet::testing

#endif
