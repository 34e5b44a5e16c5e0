// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/PipelineFile.h"

#include "rescrnet/TextUtilities.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace rescrnet::plugins
{

namespace
{

constexpr size_t MaxDocumentBytes = 1u << 20;
constexpr size_t MaxDepth = 64;

std::string
Escape(const std::string & key)
{
  std::string out;
  for (char c : key)
  {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// Follows the parser's events to know where it is, so that a duplicate key can be named by its pointer.
class DuplicateKeyFinder
{
public:
  bool
  operator()(int, Json::parse_event_t event, Json & parsed)
  {
    switch (event)
    {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
      {
        std::string component;
        if (!m_Stack.empty())
          component = m_Stack.back().array ? std::to_string(m_Stack.back().next++) : m_Stack.back().key;
        m_Stack.push_back({ event == Json::parse_event_t::array_start, 0, {}, std::move(component), {} });
        if (m_Stack.size() > MaxDepth && m_Problem.empty())
          m_Problem = Pointer() + ": nested more than " + std::to_string(MaxDepth) + " levels deep";
        break;
      }
      case Json::parse_event_t::key:
      {
        Frame & frame = m_Stack.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second && m_Problem.empty())
          m_Problem = JsonPointer(Pointer(), frame.key) + ": duplicate key \"" + frame.key +
                      "\" (a key may appear only once in an object)";
        break;
      }
      case Json::parse_event_t::value:
        if (!m_Stack.empty() && m_Stack.back().array)
          ++m_Stack.back().next;
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        m_Stack.pop_back();
        break;
    }
    return true;
  }

  const std::string &
  Problem() const
  {
    return m_Problem;
  }

private:
  struct Frame
  {
    bool                  array{ false };
    size_t                next{ 0 };
    std::set<std::string> keys;
    std::string           component; // this container's key or index in its parent
    std::string           key;       // the last key read (objects)
  };

  std::string
  Pointer() const
  {
    std::string p;
    for (size_t i = 1; i < m_Stack.size(); ++i)
      p += "/" + Escape(m_Stack[i].component);
    return p;
  }

  std::vector<Frame> m_Stack;
  std::string        m_Problem;
};

} // namespace

std::string
JsonPointer(const std::string & parent, const std::string & key)
{
  return parent + "/" + Escape(key);
}

Json
ParseJsonDocument(const std::string & text, const std::string & source)
{
  if (text.size() > MaxDocumentBytes)
    throw PipelineError(source + ": too large (" + std::to_string(text.size()) + " bytes; at most " +
                        std::to_string(MaxDocumentBytes) + ")");
  DuplicateKeyFinder finder;
  Json               document;
  try
  {
    document = Json::parse(text, std::ref(finder));
  }
  catch (const Json::parse_error & e)
  {
    std::string what = e.what();
    const auto  at = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && at != std::string::npos)
      what = what.substr(at + 2);
    throw PipelineError(source + ": not valid JSON: " + OneLine(what));
  }
  if (!finder.Problem().empty())
    throw PipelineError(source + ": " + finder.Problem());
  return document;
}

Json
ReadJsonDocument(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw PipelineError(path + ": cannot be read (missing or not readable)");
  // At most one byte past the limit is read, so that a huge file is refused without being loaded.
  std::vector<char> buffer(MaxDocumentBytes + 1);
  in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  if (in.bad())
    throw PipelineError(path + ": cannot be read");
  return ParseJsonDocument(std::string(buffer.data(), static_cast<size_t>(in.gcount())), path);
}

std::string
StageId(const Json & entry)
{
  if (!entry.is_object())
    return std::string();
  if (entry.contains("id") && entry["id"].is_string())
    return entry["id"].get<std::string>();
  if (entry.contains("stage") && entry["stage"].is_string())
    return entry["stage"].get<std::string>();
  return std::string();
}

Json
MergeOverrides(Json pipeline, const Json & overrides, const std::string & overridesSource)
{
  if (!overrides.is_object())
    throw PipelineError(overridesSource + ": /: an override file is a JSON object");
  if (!pipeline.is_object())
    return pipeline; // the validation reports it
  for (const auto & [key, value] : overrides.items())
  {
    if (key != "stages" || !value.is_object())
    {
      Json patch = Json::object();
      patch[key] = value;
      pipeline.merge_patch(patch);
      continue;
    }
    Json & stages = pipeline["stages"];
    if (!stages.is_array())
      throw PipelineError(overridesSource + ": /stages: the pipeline has no list of stages to patch");
    for (const auto & [id, patch] : value.items())
    {
      const std::string   where = overridesSource + ": " + JsonPointer("/stages", id);
      std::vector<size_t> matches;
      std::string         ids;
      for (size_t i = 0; i < stages.size(); ++i)
      {
        const std::string stageId = StageId(stages[i]);
        ids += (ids.empty() ? "" : ", ") + stageId;
        if (stageId == id)
          matches.push_back(i);
      }
      if (matches.empty())
        throw PipelineError(where + ": no stage has the id \"" + id + "\" (ids: " + ids + ")");
      if (matches.size() > 1)
        throw PipelineError(where + ": " + std::to_string(matches.size()) + " stages have the id \"" + id +
                            "\"; give them distinct \"id\"s to patch one");
      if (!patch.is_object())
        throw PipelineError(where + ": expected an object (a patch of the stage, e.g. {\"parameters\": {...}})");
      stages[matches.front()].merge_patch(patch);
    }
  }
  return pipeline;
}

} // namespace rescrnet::plugins
