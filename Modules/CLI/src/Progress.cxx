// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/cli/Progress.h"
#include "rescrnet/TextUtilities.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <sstream>

#include <sys/ioctl.h>
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
Fixed(double v, int decimals)
{
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, v);
  return buffer;
}

// -1: not decided yet; else a ProgressMode.
std::atomic<int> g_Mode{ -1 };

ProgressMode
DecideMode()
{
  if (const char * forced = std::getenv("RESCRNET_PROGRESS"))
  {
    if (std::strcmp(forced, "tags") == 0)
      return ProgressMode::Tags;
    if (std::strcmp(forced, "line") == 0)
      return ProgressMode::Line;
  }
  return ::isatty(STDOUT_FILENO) == 1 ? ProgressMode::Line : ProgressMode::Tags;
}

// Reports to std::cout go to the line in line mode.
bool
ToLine(const std::ostream & os)
{
  return &os == &std::cout && CurrentProgressMode() == ProgressMode::Line;
}

std::size_t
TerminalWidth()
{
  struct winsize size
  {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20)
    return size.ws_col - 1; // the last column would wrap on some terminals
  return 100;
}

// The one line on stdout: the overall fraction (ReportProgress), the item count (ConsoleProgress) and a detail.
class TerminalLine
{
public:
  void
  Fraction(double f)
  {
    std::lock_guard<std::mutex> lock(m_Mutex);
    Start();
    m_Fraction = Clamp01(f);
    Draw(false);
  }
  void
  Count(std::size_t done, std::size_t total, const std::string & unit)
  {
    std::lock_guard<std::mutex> lock(m_Mutex);
    Start();
    m_Done = done;
    m_Total = total;
    m_Unit = unit;
    Draw(false);
  }
  void
  Detail(const std::string & detail)
  {
    std::lock_guard<std::mutex> lock(m_Mutex);
    m_Detail = detail;
    if (m_Active)
      Draw(false);
  }
  void
  End()
  {
    std::lock_guard<std::mutex> lock(m_Mutex);
    EndLocked();
  }
  void
  Above(const std::string & text, std::ostream & os)
  {
    std::lock_guard<std::mutex> lock(m_Mutex);
    if (m_Shown)
      std::cout << '\r' << std::string(m_Width, ' ') << '\r' << std::flush;
    os << text << '\n' << std::flush;
    if (m_Shown)
      Draw(true);
  }

private:
  void
  Start()
  {
    if (m_Active)
      return;
    m_Active = true;
    m_Start = std::chrono::steady_clock::now();
    m_LastDraw = m_Start - std::chrono::seconds(1);
  }
  void
  Draw(bool force)
  {
    const auto now = std::chrono::steady_clock::now();
    const bool complete =
      m_Fraction >= 1.0 ? (m_Total == 0 || m_Done >= m_Total) : (m_Fraction < 0.0 && m_Total > 0 && m_Done >= m_Total);
    if (!force && !complete && now - m_LastDraw < std::chrono::milliseconds(100))
      return;
    m_LastDraw = now;
    const double      elapsed = std::chrono::duration<double>(now - m_Start).count();
    const std::string text = ProgressLineText(m_Fraction, m_Done, m_Total, m_Unit, elapsed, m_Detail, TerminalWidth());
    std::string       padded = text;
    if (padded.size() < m_Width)
      padded.append(m_Width - padded.size(), ' ');
    m_Width = text.size();
    std::cout << '\r' << padded << std::flush;
    m_Shown = true;
    if (complete)
      EndLocked();
  }
  void
  EndLocked()
  {
    if (m_Shown)
      std::cout << '\n' << std::flush;
    m_Shown = false;
    m_Active = false;
    m_Fraction = -1.0;
    m_Done = m_Total = 0;
    m_Width = 0;
    m_Detail.clear();
  }

  std::mutex                            m_Mutex;
  bool                                  m_Active{ false };
  bool                                  m_Shown{ false };
  double                                m_Fraction{ -1.0 };
  std::size_t                           m_Done{ 0 }, m_Total{ 0 };
  std::string                           m_Unit{ "img" };
  std::string                           m_Detail;
  std::size_t                           m_Width{ 0 };
  std::chrono::steady_clock::time_point m_Start, m_LastDraw;
};

TerminalLine &
TheLine()
{
  static TerminalLine line;
  return line;
}

} // namespace

ProgressMode
CurrentProgressMode()
{
  int mode = g_Mode.load();
  if (mode < 0)
  {
    mode = static_cast<int>(DecideMode());
    g_Mode.store(mode);
  }
  return static_cast<ProgressMode>(mode);
}

void
SetProgressMode(ProgressMode mode)
{
  g_Mode.store(static_cast<int>(mode));
}

void
SetProgressDetail(const std::string & detail)
{
  if (CurrentProgressMode() == ProgressMode::Line)
    TheLine().Detail(detail);
}

void
EndProgressLine()
{
  TheLine().End();
}

void
PrintAboveProgress(const std::string & text, std::ostream & os)
{
  if (CurrentProgressMode() == ProgressMode::Line)
    TheLine().Above(text, os);
  else
    os << text << '\n' << std::flush;
}

std::string
ProgressLineText(double              fraction,
                 std::size_t         done,
                 std::size_t         total,
                 const std::string & unit,
                 double              elapsedSeconds,
                 const std::string & detail,
                 std::size_t         width)
{
  const double       f = fraction >= 0.0 ? Clamp01(fraction)
                         : total > 0     ? static_cast<double>(std::min(done, total)) / static_cast<double>(total)
                                         : -1.0;
  std::ostringstream os;
  constexpr int      bar = 20;
  const int          filled = f >= 0.0 ? static_cast<int>(std::floor(f * bar)) : 0;
  os << '[' << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(bar - filled), '-')
     << "] ";
  char percent[16];
  std::snprintf(percent, sizeof(percent), "%3d%%", f >= 0.0 ? static_cast<int>(std::floor(f * 100.0)) : 0);
  os << percent;
  if (total > 0)
  {
    os << "  " << done << '/' << total << ' ' << unit;
    if (done > 0 && elapsedSeconds > 0.0)
    {
      const double rate = static_cast<double>(done) / elapsedSeconds;
      os << "  " << Fixed(rate, rate < 10.0 ? 2 : 1) << ' ' << unit << "/s";
    }
  }
  const double eta = f >= 1.0 ? 0.0 : f > 0.0 && elapsedSeconds > 0.0 ? elapsedSeconds * (1.0 - f) / f : -1.0;
  os << "  ETA " << FormatDuration(eta);
  if (!detail.empty())
    os << "  " << detail;
  std::string text = os.str();
  if (text.size() > width)
    text.resize(width);
  return text;
}

void
ReportProgress(double fraction, std::ostream & os)
{
  if (ToLine(os))
  {
    TheLine().Fraction(fraction);
    return;
  }
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-progress>" << Fixed(Clamp01(fraction), 4) << "</filter-progress>\n" << std::flush;
}

void
ReportStageProgress(double fraction, std::ostream & os)
{
  if (ToLine(os))
    return;
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-stage-progress>" << Fixed(Clamp01(fraction), 4) << "</filter-stage-progress>\n" << std::flush;
}

void
WriteFilterStart(std::ostream & os, const std::string & name, const std::string & comment)
{
  if (ToLine(os))
    return;
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-start>\n"
     << "<filter-name>" << EscapeXML(name) << "</filter-name>\n"
     << "<filter-comment> \"" << EscapeXML(comment) << "\" </filter-comment>\n"
     << "</filter-start>\n"
     << std::flush;
}

void
WriteFilterEnd(std::ostream & os, const std::string & name, double seconds)
{
  if (ToLine(os))
    return;
  std::lock_guard<std::mutex> lock(OutputMutex());
  os << "<filter-end>\n"
     << "<filter-name>" << EscapeXML(name) << "</filter-name>\n"
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
{
  m_ProgressLine = CurrentProgressMode() == ProgressMode::Line;
}

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
  if (m_ProgressLine)
  {
    TheLine().Count(m_Done, m_Total, m_Unit);
    if (m_Done >= m_Total)
      m_Finished = true;
    return;
  }
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
  if (m_ProgressLine)
  {
    TheLine().Count(m_Done, m_Total, m_Unit);
    TheLine().End(); // a loop that stopped early ends its line too
    return;
  }
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
