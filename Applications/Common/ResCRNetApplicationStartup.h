// SPDX-License-Identifier: Apache-2.0
// The start-up shared by the command-line modules that run pipelines (ResCRNetLungSegmentation, ResCRNetEvaluate,
// ResCRNetPipeline): the allocator setting, the default pipeline file, and the pipeline request from the command line.
#ifndef ResCRNetApplicationStartup_h
#define ResCRNetApplicationStartup_h

#include "rescrnet/cli/CommandLine.h"
#include "rescrnet/plugins/CommandLineOptions.h"
#include "rescrnet/plugins/Pipeline.h"

#include <string>
#include <vector>

namespace rescrnet::app
{

// Call first in main(): makes the C library return large buffers to the system
// (rescrnet::ReturnLargeBuffersToTheSystem).
void
StartApplication(int argc, char * argv[]);

// The project's default pipeline, Data/Pipelines/lung-segmentation.json, found relative to the executable as the
// build and install trees lay it out: <prefix>/share/ITKResCRNet/Pipelines from <prefix>/bin and from
// <prefix>/lib/ITKResCRNet/cli-modules (Slicer's module path), <build>/share/... from <build>/bin. Empty when absent.
std::string
DefaultPipelinePath();

// The pipeline a module runs: --pipeline FILE, else the default pipeline (with $ITKRESCRNET_MODEL, when set, as its
// model); --model FILE replaces the model; --overrides FILE is merged on top; the `options` given on the command
// line set their stages' parameters; --pluginPath goes to the plugin loader. Parameters the module's description
// does not declare are left out. Throws std::runtime_error when there is no pipeline file.
plugins::PipelineRequest
PipelineRequestFromArguments(const cli::Arguments & arguments, const std::vector<plugins::CommandLineOption> & options);

// Whether the effective pipeline labels right (1) and left (2) lungs: a "lung-mask" stage with leftRight on and
// skipPostprocessing off.
bool
LabelsRightAndLeft(const plugins::Json & effective);

} // namespace rescrnet::app

#endif
