// SPDX-License-Identifier: Apache-2.0
// The built-in stages and backends (registered by RegisterBuiltIns(), Registry.h), and what their implementations
// share. Internal to the Plugins library.
#ifndef rescrnet_plugins_BuiltIns_h
#define rescrnet_plugins_BuiltIns_h

#include "rescrnet/io/ImageFile.h"
#include "rescrnet/plugins/PipelineData.h"
#include "rescrnet/plugins/PluginAPI.h"

#include <string>

namespace rescrnet::plugins
{

// Registers every built-in stage and backend with `factory`.
void
RegisterBuiltInComponents(PluginFactory & factory);
void
RegisterImageStages(PluginFactory & factory);
void
RegisterSegmentationStages(PluginFactory & factory);
void
RegisterMeasureStages(PluginFactory & factory);
void
RegisterWriterStages(PluginFactory & factory);
void
RegisterBackends(PluginFactory & factory);

// Reads a radiograph (2-D, or 3-D with one slice, whose 3-D geometry goes to `geometry` when given) as a 2-D grey
// image: rescrnet::io's checks and DICOM handling. Throws io::ImageFileError.
ImageType::Pointer
ReadRadiographSlice(const std::string &          path,
                    const io::ReadOptions &      options,
                    std::vector<std::string> *   warnings,
                    itk::ImageBase<3>::Pointer * geometry);

// The run's reference mask `path` (nonzero = lung) on the geometry of `image` (a PNG mask carries no spacing of its
// own). Throws StageError when its size differs from the image's, io::ImageFileError when it does not read.
LabelImageType::Pointer
ReadReferenceMask(const std::string & path, const ImageType * image);

// The metadata key (string) under which ReadRadiographSlice records the VOI a DICOM radiograph was read through.
constexpr const char * AppliedVOIKey = "rescrnet_voi";
// The metadata key under which the label maps of "lung-mask" say what their labels mean ("lung" or "right-left").
constexpr const char * LabelMeaningKey = "rescrnet_labels";
// The metadata key (double) under which the label maps of "lung-mask" record the probability threshold they used.
constexpr const char * ThresholdKey = "rescrnet_threshold";

} // namespace rescrnet::plugins

#endif
