// SPDX-License-Identifier: Apache-2.0
// A pipeline stage: an itk::Object registered with ITK's object factory as an override of "rescrnetStage". Pipeline
// files name stages by their registry name and give their parameters; the pipeline validates the parameters against
// the stage's declarations, configures each stage once, checks that every image a stage reads is produced by an
// earlier one, and then runs the stages in order on each input. Header-only: plugins compile against it.
#ifndef rescrnet_plugins_Stage_h
#define rescrnet_plugins_Stage_h

#include "rescrnet/plugins/Parameters.h"
#include "rescrnet/plugins/PipelineData.h"

#include "itkObject.h"

#include <string>
#include <vector>

namespace rescrnet::plugins
{

class ModelBackend;

// The model's data contract as the pipeline resolved it: the pipeline file's network_data_format (MONAI's
// metadata), completed and checked against what the model file itself declares.
struct ModelContract
{
  int64_t                  inputChannels{ 1 };
  int64_t                  height{ 0 }; // the network grid the images are resized to
  int64_t                  width{ 0 };
  double                   inputMinimum{ 0.0 }; // the network input's value range: [0, 1] means levels / 255
  double                   inputMaximum{ 1.0 };
  std::vector<std::string> classNames; // output channel c is classNames[c]
};

// What a stage sees when it is configured.
struct StageContext
{
  const ModelBackend * model{ nullptr }; // the pipeline's model; nullptr when the pipeline has none
  ModelContract        contract;         // meaningful when model != nullptr
  std::string          pipelineFile;     // the pipeline file's path
};

class Stage : public itk::Object
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(Stage);
  using Self = Stage;
  using Superclass = itk::Object;
  using Pointer = itk::SmartPointer<Self>;
  using ConstPointer = itk::SmartPointer<const Self>;
  itkTypeMacro(Stage, Object);

  // Name, one-line summary and parameter declarations; the same for every instance.
  virtual ComponentInfo
  Describe() const = 0;

  // Takes the validated parameters (see ParameterValues). Throws StageError for what the declarations cannot
  // express (e.g. a class name the model does not have), naming the parameter. Reads no image and no input file.
  virtual void
  Configure(const ParameterValues & values, const StageContext & context) = 0;

  // The images the configured stage reads and writes.
  virtual std::vector<Slot>
  Inputs() const = 0;
  virtual std::vector<Slot>
  Outputs() const
  {
    return {};
  }
  // The run file this stage reads or writes ("reference", "output", "probability", "overlay", "seg"); the stage is
  // skipped when the run has none. Empty: the stage does not depend on a run file.
  virtual std::string
  FileRole() const
  {
    return std::string();
  }
  // The measures it adds to PipelineData::measures (columns of the results CSV), in order.
  virtual std::vector<std::string>
  Measures() const
  {
    return {};
  }
  // A stage that writes no file and no measure runs only when a later stage reads one of its images; return true
  // when it must run anyway.
  virtual bool
  AlwaysRuns() const
  {
    return false;
  }
  // Its share of a run's time relative to the others (the network's stage says 15, a reader 1), for progress.
  virtual double
  RelativeCost() const
  {
    return 1.0;
  }
  // Cheap checks before any stage of the run executes (e.g. that an output's folder is writable), so that a run
  // that would fail late fails before it has written anything. Throws StageError.
  virtual void
  Prepare(const PipelineData &) const
  {}
  // Runs on one input; throws StageError (or any std::exception) with a one-line message. In folder mode several
  // inputs run at once (images in flight), so Execute() keeps what it computes in `data`, not in the stage.
  virtual void
  Execute(PipelineData & data) const = 0;

protected:
  Stage() = default;
  ~Stage() override = default;
};

} // namespace rescrnet::plugins

#endif
