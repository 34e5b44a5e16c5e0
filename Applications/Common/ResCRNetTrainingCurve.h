// SPDX-License-Identifier: Apache-2.0
// Training curves as a PNG without an X server: loss and Tanimoto against epoch, training and validation.
#ifndef ResCRNetTrainingCurve_h
#define ResCRNetTrainingCurve_h

#include "rescrnet/Trainer.h"

#include <string>
#include <vector>

namespace rescrnet::app
{

// Two panels (loss, Tanimoto) with axes, tick labels, training (blue) and validation (orange) curves, and a legend.
// Written atomically; throws std::runtime_error when the file cannot be written.
void
WriteTrainingCurvePNG(const std::vector<EpochRecord> & history, const std::string & path);

} // namespace rescrnet::app

#endif
