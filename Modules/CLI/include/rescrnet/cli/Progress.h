// SPDX-License-Identifier: Apache-2.0
// Progress reporting for command-line modules, without ITK, for two readers:
//  - Slicer (and logs), which read stdout through a pipe: progress tags, flushed after each write; Slicer scans for
//    the last <filter-progress>. ReportProgress() and ProgressStage for stages that are not ITK filters, FilterWatcher
//    (FilterWatcher.h) for ITK filters; ConsoleProgress adds a "k/N  rate img/s  ETA mm:ss" line on stderr every few
//    seconds for long loops (folders of images, epochs).
//  - a person at a terminal: when stdout is a terminal, the same calls draw one updating line on stdout instead,
//    "[#######-------]  52%  13/25 img  1.90 img/s  ETA 00:06  <detail>", and no tags.
// The mode is chosen once per process from isatty(stdout); RESCRNET_PROGRESS=tags or =line overrides it. Only
// reports written to std::cout switch; explicit streams (tests, logs) always get the tags.
#ifndef rescrnet_cli_Progress_h
#define rescrnet_cli_Progress_h

#include <chrono>
#include <cstddef>
#include <iostream>
#include <string>

namespace rescrnet::cli
{

enum class ProgressMode
{
  Tags, // Slicer's tags on stdout
  Line  // one updating line on stdout for a person
};

// The mode of this process (decided at the first call); SetProgressMode() changes it (tests).
ProgressMode
CurrentProgressMode();
void
SetProgressMode(ProgressMode mode);

// Text shown at the end of the line (e.g. "epoch 3/30  loss 0.1234"); nothing in tag mode.
void
SetProgressDetail(const std::string & detail);
// Ends the line, if one is shown, with a newline (the next report starts a new line). Run() calls it before the
// module's result or error is printed; the line also ends by itself when the work is complete.
void
EndProgressLine();
// Writes `text` and a newline to `os` above the line (the line is cleared, then drawn again); in tag mode just
// writes it.
void
PrintAboveProgress(const std::string & text, std::ostream & os = std::cerr);
// The line's text for an overall fraction (negative: unknown), `done` of `total` items (total 0: no count), after
// `elapsedSeconds`, at most `width` characters.
std::string
ProgressLineText(double              fraction,
                 std::size_t         done,
                 std::size_t         total,
                 const std::string & unit,
                 double              elapsedSeconds,
                 const std::string & detail,
                 std::size_t         width = 100);

// <filter-progress>f</filter-progress>, f clamped to [0, 1], on `os` (stdout by default), flushed; in line mode
// with `os` std::cout, the line instead.
void
ReportProgress(double fraction, std::ostream & os = std::cout);
// <filter-stage-progress>f</filter-stage-progress>, flushed (nothing in line mode with std::cout).
void
ReportStageProgress(double fraction, std::ostream & os = std::cout);

// The tags Slicer reads, for writers that are not ProgressStage or FilterWatcher. XML special characters in `name`
// and `comment` are escaped. Nothing in line mode with std::cout.
void
WriteFilterStart(std::ostream & os, const std::string & name, const std::string & comment);
void
WriteFilterEnd(std::ostream & os, const std::string & name, double seconds);

// Maps a stage's own 0..1 onto [start, end] of the whole run. Slicer's tags are written on stdout from the
// constructor (<filter-start>), Update() (<filter-progress> overall, <filter-stage-progress> local, written when the
// overall fraction moved forward by at least 0.005 or reached the end) and End() or the destructor (<filter-end>, time;
// when the destructor runs because of an exception, only <filter-end> is written, not the stage's final progress).
class ProgressStage
{
public:
  ProgressStage(std::string    name,
                std::string    comment,
                double         start = 0.0,
                double         end = 1.0,
                std::ostream & os = std::cout);
  ~ProgressStage();
  ProgressStage(const ProgressStage &) = delete;
  ProgressStage &
  operator=(const ProgressStage &) = delete;

  void
  Update(double stageFraction);
  // Reports the end of the stage (progress `end`, <filter-end>); further calls do nothing.
  void
  End();
  double
  ElapsedSeconds() const;

private:
  std::string                           m_Name;
  double                                m_Start;
  double                                m_End;
  std::ostream &                        m_Stream;
  std::chrono::steady_clock::time_point m_StartTime;
  double                                m_LastReported{ -1.0 };
  bool                                  m_Ended{ false };
  int                                   m_UncaughtExceptions{ 0 };
};

// "k/N  rate unit/s  ETA mm:ss" for loops. Constructed with the total alone: in line mode, the count of the process's
// progress line; in tag mode, a line on stderr (rewritten in place ('\r') at most every 0.2 s when stderr is a
// terminal; otherwise, for a log file or Slicer, a full line at most every 5 seconds, plus the last one).
class ConsoleProgress
{
public:
  explicit ConsoleProgress(std::size_t total, std::string unit = "img");
  // Explicit stream and terminal mode, for tests and for callers that know better.
  ConsoleProgress(std::size_t total, std::string unit, std::ostream & os, bool terminal, double interval = 5.0);
  ~ConsoleProgress();
  ConsoleProgress(const ConsoleProgress &) = delete;
  ConsoleProgress &
  operator=(const ConsoleProgress &) = delete;

  // `done` items finished out of the total.
  void
  Update(std::size_t done);
  void
  Increment()
  {
    Update(m_Done + 1);
  }
  // Writes the final line (and the newline a terminal needs); the destructor calls it.
  void
  Finish();

  // The text for `done` items after `elapsedSeconds`, e.g. "12/40  3.1 img/s  ETA 00:09".
  std::string
  Line(std::size_t done, double elapsedSeconds) const;

private:
  void
  Write(bool final);

  std::size_t                           m_Total;
  std::string                           m_Unit;
  std::ostream &                        m_Stream;
  bool                                  m_ProgressLine{ false }; // drives the process's progress line
  bool                                  m_Terminal;
  double                                m_Interval;
  std::size_t                           m_Done{ 0 };
  std::size_t                           m_LastWidth{ 0 };
  bool                                  m_Finished{ false };
  bool                                  m_Written{ false };
  std::chrono::steady_clock::time_point m_StartTime;
  std::chrono::steady_clock::time_point m_LastWrite;
};

// "mm:ss", or "h:mm:ss" from one hour on; "--:--" for a negative or non-finite duration.
std::string
FormatDuration(double seconds);

} // namespace rescrnet::cli

#endif
