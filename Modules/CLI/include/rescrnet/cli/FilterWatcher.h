// SPDX-License-Identifier: Apache-2.0
// Watches an ITK process object and writes Slicer's progress tags on stdout (flushed after each write):
//   StartEvent    -> <filter-start><filter-name>Class</filter-name><filter-comment> "comment" </filter-comment>...
//   ProgressEvent -> <filter-progress>overall</filter-progress> with the filter's 0..1 mapped onto [start, end] of the
//                    whole run, and <filter-stage-progress>local</filter-stage-progress>
//   EndEvent      -> <filter-end><filter-name>Class</filter-name><filter-time>seconds</filter-time></filter-end>
// Progress lines are written when the overall fraction moved forward by at least 0.005, and at the end, so they
// never go backwards even when a multi-threaded filter reports from several threads.
#ifndef rescrnet_cli_FilterWatcher_h
#define rescrnet_cli_FilterWatcher_h

#include "itkCommand.h"
#include "itkProcessObject.h"

#include <chrono>
#include <iostream>
#include <mutex>
#include <string>

namespace rescrnet::cli
{

class FilterWatcher
{
public:
  FilterWatcher(itk::ProcessObject * process,
                std::string          comment = std::string(),
                double               start = 0.0,
                double               end = 1.0,
                std::ostream &       os = std::cout);
  // Removes the observers.
  ~FilterWatcher();
  FilterWatcher(const FilterWatcher &) = delete;
  FilterWatcher &
  operator=(const FilterWatcher &) = delete;

  itk::ProcessObject *
  GetProcess() const
  {
    return m_Process.GetPointer();
  }
  // Seconds between the last StartEvent and EndEvent.
  double
  GetElapsedSeconds() const
  {
    return m_Seconds;
  }

private:
  void
  OnStart();
  void
  OnProgress();
  void
  OnEnd();

  using CommandType = itk::SimpleMemberCommand<FilterWatcher>;

  itk::ProcessObject::Pointer           m_Process;
  std::string                           m_Comment;
  double                                m_Start;
  double                                m_End;
  std::ostream &                        m_Stream;
  std::chrono::steady_clock::time_point m_StartTime;
  double                                m_Seconds{ 0.0 };
  double                                m_LastReported{ -1.0 };
  std::mutex                            m_Mutex;
  unsigned long                         m_StartTag{ 0 };
  unsigned long                         m_ProgressTag{ 0 };
  unsigned long                         m_EndTag{ 0 };
};

} // namespace rescrnet::cli

#endif
