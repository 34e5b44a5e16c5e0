// SPDX-License-Identifier: Apache-2.0
// A pipeline file made runnable: read, merged with its override file and the command line's settings, validated
// before anything runs, its model loaded and its stages configured; then run on one input at a time.
//
// Validation (each problem a PipelineError "<file>: <JSON pointer>: <problem>"): the document's structure and
// format version; every stage and backend registered (plugins are loaded on demand when one is not, and the error
// lists the registered names and every plugin that failed); every parameter declared, present when required, of its
// type and within its range; stage ids unique; the model loaded and its declared data contract (channels, grid,
// classes, value range) in agreement with the file's network_data_format; every image a stage reads written by an
// earlier stage. Keys nothing reads are warnings (Warnings()).
#ifndef rescrnet_plugins_Pipeline_h
#define rescrnet_plugins_Pipeline_h

#include "rescrnet/plugins/ModelBackend.h"
#include "rescrnet/plugins/PipelineFile.h"
#include "rescrnet/plugins/Registry.h"
#include "rescrnet/plugins/Stage.h"

#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet::plugins
{

// A run that failed on its input (unreadable image, unwritable output, a stage's error): one line for the user.
class RunError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// A parameter value from the command line, applied before validation: to every stage named `component`, or to the
// model (kind Backend; `component` empty: whatever backend the pipeline names). `origin` names the option.
struct ParameterSetting
{
  ComponentKind kind{ ComponentKind::Stage };
  std::string   component;
  std::string   parameter;
  Json          value;
  std::string   origin; // e.g. "--threshold"
};

struct PipelineRequest
{
  std::string                   file;      // the pipeline file
  std::string                   overrides; // optional override file
  std::string                   model;     // optional: replaces the model file (relative to the current directory)
  std::vector<ParameterSetting> settings;
};

struct PipelineResult
{
  Json                     measures = Json::object();
  std::vector<std::string> warnings; // e.g. from reading a DICOM file
  double                   seconds{ 0 };
};

class Pipeline
{
public:
  // Throws PipelineError.
  static std::shared_ptr<const Pipeline>
  Load(const PipelineRequest & request);

  // The effective pipeline: the merged document with every default filled in, paths made absolute, the resolved
  // model contract and the library of every plugin stage. Printed by --echo and recorded with the outputs.
  const Json &
  Effective() const
  {
    return m_Effective;
  }
  // "name@crc32" of the effective pipeline (without its source paths).
  const std::string &
  Id() const
  {
    return m_Id;
  }
  const std::string &
  Name() const
  {
    return m_Name;
  }
  const std::vector<std::string> &
  Warnings() const
  {
    return m_Warnings;
  }
  // The model (null when the pipeline has none) and its resolved data contract.
  const ModelBackend *
  Model() const
  {
    return m_Model.GetPointer();
  }
  const ModelContract &
  Contract() const
  {
    return m_Contract;
  }

  // Whether a stage reads or writes the run file `role` ("reference", "output", "probability", "overlay", "seg").
  bool
  UsesFile(const std::string & role) const;
  // The measures a run with the files `roles` records, in order (the results' columns).
  std::vector<std::string>
  MeasureNames(const std::set<std::string> & roles) const;
  // The file name for `role` of the input named `stem` in folder mode: the writing stage's "folderFileName" with
  // "{stem}" replaced ("{stem}_<role>.nrrd" when it declares none).
  std::string
  FolderFileName(const std::string & role, const std::string & stem) const;

  // Runs the stages on `files` ("input" and the roles given): first every active stage's Prepare(), then Execute()
  // in order. Stages whose run file is absent, and stages whose images nothing active reads, are skipped.
  // `progress` receives 0..1. Throws RunError; a failure before the writers leaves no output file.
  PipelineResult
  Run(const RunFiles & files, const std::function<void(double)> & progress = {}) const;

private:
  struct StageEntry
  {
    std::string     id;
    std::string     name;
    std::string     pointer; // "/stages/3"
    Stage::Pointer  stage;
    ParameterValues values;
  };

  Pipeline() = default;

  std::vector<bool>
  ActiveStages(const std::set<std::string> & roles) const;

  Json                     m_Effective;
  std::string              m_Id;
  std::string              m_Name;
  std::vector<std::string> m_Warnings;
  ModelBackend::Pointer    m_Model;
  ModelContract            m_Contract;
  std::vector<StageEntry>  m_Stages;
};

// The CSV cell of a measure: integers in full, other numbers with 6 significant digits, text as it is.
std::string
MeasureCell(const Json & value);

} // namespace rescrnet::plugins

#endif
