// SPDX-License-Identifier: Apache-2.0
// Progress reporting for command-line modules, without ITK:
//  - Slicer's progress tags on stdout (flushed after each write), which Slicer scans for the last
//    <filter-progress>: ReportProgress() and ProgressStage for stages that are not ITK filters;
//  - ConsoleProgress, a "k/N  rate img/s  ETA mm:ss" line on stderr for long loops (folders of images, epochs).
// ITK filters are watched with FilterWatcher (FilterWatcher.h).
#ifndef rescrnet_cli_Progress_h
#define rescrnet_cli_Progress_h

#include <chrono>
#include <cstddef>
#include <iostream>
#include <string>

namespace rescrnet::cli
{

// <filter-progress>f</filter-progress>, f clamped to [0, 1], on `os` (stdout by default), flushed.
void
ReportProgress(double fraction, std::ostream & os = std::cout);
// <filter-stage-progress>f</filter-stage-progress>, flushed.
void
ReportStageProgress(double fraction, std::ostream & os = std::cout);

// The tags Slicer reads, for writers that are not ProgressStage or FilterWatcher. XML special characters in `name`
// and `comment` are escaped.
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

// "k/N  rate unit/s  ETA mm:ss" on stderr. On a terminal the line is rewritten in place ('\r') at most every 0.2 s;
// otherwise (a log file, Slicer) a full line is written at most every `interval` seconds, plus the last one.
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
