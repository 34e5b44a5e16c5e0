// SPDX-License-Identifier: Apache-2.0
// The lung segmentation of one file for the command-line modules: read it (rescrnet::io), segment it
// (itk::CXRLungSegmentationImageFilter), measure the lungs, compare with a reference mask, and write the label map,
// the probability map, an overlay PNG and a DICOM SEG (rescrnet::io, all atomically).
#ifndef ResCRNetLungPipeline_h
#define ResCRNetLungPipeline_h

#include "rescrnet/Predictor.h"

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet::app
{

// Bad input: the message is one line, fit for the user.
class InputError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct PipelineOptions
{
  double   threshold{ 0.5 };
  unsigned numberOfComponents{ 2 };
  // Keep the resampling back onto the image grid and the threshold; skip component selection and hole filling.
  bool skipPostprocessing{ false };
  bool leftRight{ false };
};

struct LungMeasures
{
  uint64_t rightPixels{ 0 }, leftPixels{ 0 }, totalPixels{ 0 };
  double   rightAreaMM2{ 0 }, leftAreaMM2{ 0 }, totalAreaMM2{ 0 };
};

struct SegmentationMetricsValues
{
  double dice{ 0 }, jaccard{ 0 }, precision{ 0 }, recall{ 0 }, f1{ 0 }, pixelAccuracy{ 0 };
  double hausdorffMM{ 0 }, hausdorff95MM{ 0 }, meanSurfaceDistanceMM{ 0 };
};

struct OutputFiles
{
  std::string labelMap;    // required unless empty (evaluation)
  std::string probability; // optional: lung probability on the image grid (float)
  std::string overlay;     // optional: PNG with mask fill and outline
  std::string outputSEG;   // optional: DICOM Segmentation on the source's grid (the input must be a DICOM file)
  std::string modelName;   // for the DICOM SEG: the model in its algorithm identification
};

struct SegmentationResult
{
  LungMeasures                             measures;
  std::optional<SegmentationMetricsValues> metrics;
  unsigned                                 dimension{ 2 };
  std::vector<uint64_t>                    size;
  std::vector<double>                      spacing;
  double                                   seconds{ 0 };
  std::vector<std::string>                 warnings; // e.g. from reading a DICOM file
};

class LungPipeline
{
public:
  LungPipeline(std::shared_ptr<const Predictor> predictor, PipelineOptions options);

  // Segments `image` (PNG, JPEG, TIFF, NRRD, NIfTI, MHA through ITK; DICOM radiographs through rescrnet::io, with
  // their VOI and MONOCHROME1 applied; 2-D, or 3-D with one slice). With a
  // `referenceMask` (nonzero = lung, same grid) the metrics are computed. `progress` receives 0..1.
  // Throws InputError for unusable input, std::exception otherwise; never leaves a partial output file.
  SegmentationResult
  Run(const std::string &                 image,
      const OutputFiles &                 outputs,
      const std::string &                 referenceMask = std::string(),
      const std::function<void(double)> & progress = {}) const;

  const PipelineOptions &
  Options() const
  {
    return m_Options;
  }

private:
  std::shared_ptr<const Predictor> m_Predictor;
  PipelineOptions                  m_Options;
};

} // namespace rescrnet::app

#endif
