// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/cli/FilterWatcher.h"

#include "rescrnet/cli/Progress.h"

#include <algorithm>
#include <cmath>

namespace rescrnet::cli
{

FilterWatcher::FilterWatcher(itk::ProcessObject * process,
                             std::string          comment,
                             double               start,
                             double               end,
                             std::ostream &       os)
  : m_Process(process)
  , m_Comment(std::move(comment))
  , m_Start(std::min(1.0, std::max(0.0, start)))
  , m_End(std::min(1.0, std::max(0.0, end)))
  , m_Stream(os)
  , m_StartTime(std::chrono::steady_clock::now())
{
  if (!m_Process)
    return;
  auto onStart = CommandType::New();
  onStart->SetCallbackFunction(this, &FilterWatcher::OnStart);
  m_StartTag = m_Process->AddObserver(itk::StartEvent(), onStart);
  auto onProgress = CommandType::New();
  onProgress->SetCallbackFunction(this, &FilterWatcher::OnProgress);
  m_ProgressTag = m_Process->AddObserver(itk::ProgressEvent(), onProgress);
  auto onEnd = CommandType::New();
  onEnd->SetCallbackFunction(this, &FilterWatcher::OnEnd);
  m_EndTag = m_Process->AddObserver(itk::EndEvent(), onEnd);
}

FilterWatcher::~FilterWatcher()
{
  if (!m_Process)
    return;
  m_Process->RemoveObserver(m_StartTag);
  m_Process->RemoveObserver(m_ProgressTag);
  m_Process->RemoveObserver(m_EndTag);
}

void
FilterWatcher::OnStart()
{
  std::lock_guard<std::mutex> lock(m_Mutex);
  m_StartTime = std::chrono::steady_clock::now();
  WriteFilterStart(m_Stream, m_Process->GetNameOfClass(), m_Comment);
  ReportProgress(m_Start, m_Stream);
  m_LastReported = m_Start;
}

void
FilterWatcher::OnProgress()
{
  // Multi-threaded filters may invoke ProgressEvent from several threads, with readings slightly out of order:
  // report only forward steps of at least 0.005 (and the end), one thread at a time.
  const double                local = std::min(1.0, std::max(0.0, static_cast<double>(m_Process->GetProgress())));
  const double                overall = m_Start + local * (m_End - m_Start);
  std::lock_guard<std::mutex> lock(m_Mutex);
  if (overall < m_LastReported + 0.005 && !(local >= 1.0 && overall > m_LastReported))
    return;
  m_LastReported = overall;
  ReportProgress(overall, m_Stream);
  ReportStageProgress(local, m_Stream);
}

void
FilterWatcher::OnEnd()
{
  m_Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_StartTime).count();
  std::lock_guard<std::mutex> lock(m_Mutex);
  if (m_LastReported < m_End)
    ReportProgress(m_End, m_Stream);
  m_LastReported = m_End;
  WriteFilterEnd(m_Stream, m_Process->GetNameOfClass(), m_Seconds);
}

} // namespace rescrnet::cli
