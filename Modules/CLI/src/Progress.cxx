// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/cli/Progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <sstream>

#include <unistd.h>

namespace rescrnet::cli
{

namespace
{

// Progress may come from several threads; tags must not interleave.
std::mutex &
OutputMutex()
{
  static std::mutex m;
  return m;
}

double
Clamp01(double f)
{
  if (!std::isfinite(f))
    return 0.0;
  return std::min(1.0, std::max(0.0, f));
}

std::string
Escape(const std::string & s)
{
  std::string out;
  for (char c : s)
  {
    switch (c)
    {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\n':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string
Fixed(double v, int decimals)
{
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, v);
  return buffer;
}

} // namespace

void
ReportProgress(double fraction, std::ostream & os)
{
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-progress>" << Fixed(Clamp01(fraction), 4) << "</filter-progress>\n" << std::flush;
}

void
ReportStageProgress(double fraction, std::ostream & os)
{
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-stage-progress>" << Fixed(Clamp01(fraction), 4) << "</filter-stage-progress>\n" << std::flush;
}

void
WriteFilterStart(std::ostream & os, const std::string & name, const std::string & comment)
{
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-start>\n"
     << "<filter-name>" << Escape(name) << "</filter-name>\n"
     << "<filter-comment> \"" << Escape(comment) << "\" </filter-comment>\n"
     << "</filter-start>\n"
     << std::flush;
}

void
WriteFilterEnd(std::ostream & os, const std::string & name, double seconds)
{
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-end>\n"
     << "<filter-name>" << Escape(name) << "</filter-name>\n"
     << "<filter-time>" << Fixed(std::max(0.0, seconds), 3) << "</filter-time>\n"
     << "</filter-end>\n"
     << std::flush;
}

// ---------------------------------------------------------------------------------------------------------------

ProgressStage::ProgressStage(std::string name, std::string comment, double start, double end, std::ostream & os)
  : m_Name(std::move(name))
  , m_Start(Clamp01(start))
  , m_End(Clamp01(end))
  , m_Stream(os)
  , m_StartTime(std::chrono::steady_clock::now())
  , m_UncaughtExceptions(std::uncaught_exceptions())
{
  WriteFilterStart(m_Stream, m_Name, comment);
  Update(0.0);
}

ProgressStage::~ProgressStage()
{
  if (!m_Ended && std::uncaught_exceptions() > m_UncaughtExceptions)
  {
    m_Ended = true;
    WriteFilterEnd(m_Stream, m_Name, ElapsedSeconds());
    return;
  }
  End();
}

void
ProgressStage::Update(double stageFraction)
{
  if (m_Ended)
    return;
  const double local = Clamp01(stageFraction);
  const double overall = m_Start + local * (m_End - m_Start);
  // Forward steps of at least 0.005 of the run, and the end: Slicer's progress bar never goes back.
  if (m_LastReported >= 0.0 && overall < m_LastReported + 0.005 && !(local >= 1.0 && overall > m_LastReported))
    return;
  m_LastReported = overall;
  ReportProgress(overall, m_Stream);
  ReportStageProgress(local, m_Stream);
}

void
ProgressStage::End()
{
  if (m_Ended)
    return;
  Update(1.0);
  m_Ended = true;
  WriteFilterEnd(m_Stream, m_Name, ElapsedSeconds());
}

double
ProgressStage::ElapsedSeconds() const
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_StartTime).count();
}

// ---------------------------------------------------------------------------------------------------------------

std::string
FormatDuration(double seconds)
{
  if (!std::isfinite(seconds) || seconds < 0.0)
    return "--:--";
  const auto      total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600;
  const long long m = (total / 60) % 60;
  const long long s = total % 60;
  char            buffer[48];
  if (h > 0)
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", h, m, s);
  else
    std::snprintf(buffer, sizeof(buffer), "%02lld:%02lld", m, s);
  return buffer;
}

ConsoleProgress::ConsoleProgress(std::size_t total, std::string unit)
  : ConsoleProgress(total, std::move(unit), std::cerr, ::isatty(STDERR_FILENO) == 1)
{}

ConsoleProgress::ConsoleProgress(std::size_t total, std::string unit, std::ostream & os, bool terminal, double interval)
  : m_Total(total)
  , m_Unit(std::move(unit))
  , m_Stream(os)
  , m_Terminal(terminal)
  , m_Interval(interval)
  , m_StartTime(std::chrono::steady_clock::now())
  , m_LastWrite(m_StartTime)
{}

ConsoleProgress::~ConsoleProgress()
{
  Finish();
}

std::string
ConsoleProgress::Line(std::size_t done, double elapsedSeconds) const
{
  std::ostringstream os;
  os << done << '/' << m_Total << "  ";
  const double rate = elapsedSeconds > 0.0 ? static_cast<double>(done) / elapsedSeconds : 0.0;
  if (done > 0 && elapsedSeconds > 0.0)
    os << Fixed(rate, rate < 10.0 ? 2 : 1) << ' ' << m_Unit << "/s";
  else
    os << "-- " << m_Unit << "/s";
  const double remaining = done >= m_Total ? 0.0 : rate > 0.0 ? static_cast<double>(m_Total - done) / rate : -1.0;
  os << "  ETA " << FormatDuration(remaining);
  return os.str();
}

void
ConsoleProgress::Update(std::size_t done)
{
  if (m_Finished)
    return;
  m_Done = std::min(done, m_Total);
  const auto   now = std::chrono::steady_clock::now();
  const double sinceLast = std::chrono::duration<double>(now - m_LastWrite).count();
  if (m_Done >= m_Total)
  {
    Finish();
    return;
  }
  if (sinceLast >= (m_Terminal ? std::min(0.2, m_Interval) : m_Interval) || !m_Written)
    Write(false);
}

void
ConsoleProgress::Finish()
{
  if (m_Finished)
    return;
  m_Finished = true;
  Write(true);
}

void
ConsoleProgress::Write(bool final)
{
  const auto        now = std::chrono::steady_clock::now();
  const std::string line = Line(m_Done, std::chrono::duration<double>(now - m_StartTime).count());
  m_LastWrite = now;
  m_Written = true;
  if (m_Terminal)
  {
    // Rewrite in place; pad over the end of a longer previous line.
    std::string padded = line;
    if (padded.size() < m_LastWidth)
      padded.append(m_LastWidth - padded.size(), ' ');
    m_LastWidth = line.size();
    m_Stream << '\r' << padded << (final ? "\n" : "") << std::flush;
  }
  else
  {
    m_Stream << line << '\n' << std::flush;
  }
}

} // namespace rescrnet::cli
