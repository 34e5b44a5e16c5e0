// SPDX-License-Identifier: Apache-2.0
// The start-up shared by the command-line modules that run a trained model (ResCRNetLungSegmentation,
// ResCRNetEvaluate): argv[0] for finding the default model, the allocator setting, and the model and predictor.
#ifndef ResCRNetApplicationStartup_h
#define ResCRNetApplicationStartup_h

#include "rescrnet/Predictor.h"

#include <memory>
#include <string>

namespace rescrnet::app
{

// Call first in main(): remembers argv[0] (for ModelPath()'s default) and makes the C library return large buffers to
// the system (rescrnet::ReturnLargeBuffersToTheSystem).
void
StartApplication(int argc, char * argv[]);

// The default model, found relative to the executable as the build and install trees lay it out:
// <prefix>/share/ITKResCRNet/Models/ResCRNet-lungs-default.rcn from <prefix>/bin and from
// <prefix>/lib/ITKResCRNet/cli-modules (Slicer's module path), <build>/share/... from <build>/bin; or
// $ITKRESCRNET_MODEL. Empty when there is none.
std::string
DefaultModelPath(const char * argv0);

// `requested` when it is not empty, else the project's default model (DefaultModelPath() with the argv[0] given to
// StartApplication()). Throws std::runtime_error when there is neither.
std::string
ModelPath(const std::string & requested);

// A predictor for the model file `model` with `threads` threads (Predictor::FromFile).
std::shared_ptr<const Predictor>
LoadPredictor(const std::string & model, int threads);

} // namespace rescrnet::app

#endif
