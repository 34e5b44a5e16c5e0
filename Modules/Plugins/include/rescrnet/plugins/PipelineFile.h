// SPDX-License-Identifier: Apache-2.0
// Pipeline files: JSON documents (nlohmann::ordered_json) that name a model with its data contract and the ordered
// stages with their parameters, and override files merged on top. Reading, merging and editing; the validation is
// Pipeline::Load's (Pipeline.h). Data/Pipelines/lung-segmentation.json is the project's default pipeline.
#ifndef rescrnet_plugins_PipelineFile_h
#define rescrnet_plugins_PipelineFile_h

#include "rescrnet/plugins/Parameters.h"

#include <stdexcept>
#include <string>

namespace rescrnet::plugins
{

// A pipeline file (or override file) that cannot be used: one line, "<file>: <JSON pointer>: <problem>".
class PipelineError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// The JSON pointer (RFC 6901) of `key` inside the object at `parent` ("/stages/3" + "id" -> "/stages/3/id").
std::string
JsonPointer(const std::string & parent, const std::string & key);

// Parses `text` as the JSON document `source` (a file name, for messages): a syntax error gives its line and
// column; a key given twice in one object is an error naming the duplicate's pointer (nlohmann keeps the last one
// silently, so duplicates are caught while parsing); at most 1 MiB and 64 levels of nesting. Throws PipelineError.
Json
ParseJsonDocument(const std::string & text, const std::string & source);

// Reads and parses a file (ParseJsonDocument); throws PipelineError when it is missing or unreadable.
Json
ReadJsonDocument(const std::string & path);

// The id of a stage entry: its "id", else its "stage" name.
std::string
StageId(const Json & entry);

// `pipeline` with `overrides` merged on top: an RFC 7386 merge patch (objects merge key by key, null removes a key,
// other values replace), except that "stages" given as an object maps stage ids to patches of those stages (an
// array replaces the list). Throws PipelineError naming `overridesSource` for an unknown or ambiguous stage id.
Json
MergeOverrides(Json pipeline, const Json & overrides, const std::string & overridesSource);

} // namespace rescrnet::plugins

#endif
