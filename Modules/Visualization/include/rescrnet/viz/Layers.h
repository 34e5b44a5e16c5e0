// SPDX-License-Identifier: Apache-2.0
// The layers of one radiograph as the viewer and the figures show it: the grey image with its presentation
// (window/level), the predicted lung labels, an optional reference mask and an optional probability map, all in
// display order (index x to the viewer's right, index y down), so that the patient's right is on the viewer's left
// and the head is up, whatever the file's own orientation (PNG, NRRD with a direction, DICOM with Patient
// Orientation).
#ifndef rescrnet_viz_Layers_h
#define rescrnet_viz_Layers_h

#include "itkImage.h"

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet::viz
{

using GreyImage = itk::Image<float, 2>;
using LabelImage = itk::Image<unsigned char, 2>;

// A file that cannot be shown; the message is one line naming the file.
class LayerError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// Window/level in the grey layer's values, and where it came from (shown in the corner text).
struct Presentation
{
  double      window{ 1.0 };
  double      level{ 0.5 };
  std::string source;
};

// How an image's index axes map onto the screen: transpose (index axis 1 runs across the screen), then mirror.
struct DisplayOrientation
{
  bool transpose{ false };
  bool flipX{ false };
  bool flipY{ false };
};

// The orientation that puts the patient's left (+x in ITK's LPS) on the viewer's right and the head (+z) up; an
// index axis along +y (as in every 2-D file with the identity direction: PNG, JPEG) runs down the screen.
// `columns` holds the physical direction of index axes 0 and 1 (the direction matrix's first two columns).
DisplayOrientation
OrientationFromDirection(const std::array<std::array<double, 3>, 2> & columns);

// Where a display pixel lies in the patient (mm, ITK's LPS frame of the file).
struct DisplayGeometry
{
  std::array<double, 3>                origin{ { 0, 0, 0 } };
  std::array<std::array<double, 3>, 2> axes{ { { { 1, 0, 0 } }, { { 0, 1, 0 } } } }; // per display index step

  std::array<double, 3>
  Physical(double i, double j) const
  {
    return { origin[0] + i * axes[0][0] + j * axes[1][0],
             origin[1] + i * axes[0][1] + j * axes[1][1],
             origin[2] + i * axes[0][2] + j * axes[1][2] };
  }
};

struct ImageLayers
{
  std::string              path;        // the radiograph's file
  std::string              name;        // its file name, for titles
  GreyImage::Pointer       grey;        // display order, origin 0, identity direction, the file's pixel spacing
  LabelImage::Pointer      labels;      // 0 background, 1 right lung (or lung), 2 left lung; may be null
  LabelImage::Pointer      reference;   // 0/1; may be null
  GreyImage::Pointer       probability; // 0..1; may be null
  Presentation             presentation;
  DisplayGeometry          geometry;
  std::vector<std::string> warnings;
  // From a results CSV (the quality-control columns), when present.
  std::optional<double>    qualityScore;
  std::vector<std::string> qualityFlags;

  // Whether the labels tell the lungs apart (some pixel is 2).
  bool
  LeftRight() const;
};

// The files of one radiograph; every path but `image` may be empty.
struct LayerFiles
{
  std::string              image;
  std::string              labels;
  std::string              reference;
  std::string              probability;
  std::optional<double>    qualityScore;
  std::vector<std::string> qualityFlags;
};

// Reads a radiograph (PNG, JPEG, TIFF, NRRD, NIfTI, MHA: 2-D or 3-D with one slice; DICOM through rescrnet::io with
// its VOI and MONOCHROME1 applied) and its layers, which must lie on the same grid. Label maps with values other
// than 0, 1, 2 and reference masks are read as nonzero = lung; a probability map above 1 is scaled into 0..1.
// Throws LayerError.
ImageLayers
LoadLayers(const LayerFiles & files);

// The layers of images already in memory, on the radiograph's grid as read (any direction); `labels`, `reference`
// and `probability` may be null. Without a presentation, the 1st-99th percentiles of `grey`. Throws LayerError when
// a layer's size differs from the radiograph's.
ImageLayers
MakeLayers(const GreyImage *    grey,
           const LabelImage *   labels,
           const LabelImage *   reference = nullptr,
           const GreyImage *    probability = nullptr,
           const Presentation * presentation = nullptr,
           const std::string &  name = std::string());

// The same for one-slice volumes (how 3D Slicer passes radiographs), oriented by their 3-D direction.
using GreyVolume = itk::Image<float, 3>;
using LabelVolume = itk::Image<unsigned char, 3>;
ImageLayers
MakeLayers(const GreyVolume *   grey,
           const LabelVolume *  labels,
           const LabelVolume *  reference = nullptr,
           const GreyVolume *   probability = nullptr,
           const Presentation * presentation = nullptr,
           const std::string &  name = std::string());

// Window/level over the `low`..`high` quantiles of the finite pixel values (a sample of at most a million pixels).
Presentation
PercentilePresentation(const GreyImage * image, double low = 0.01, double high = 0.99);

// The presentation of a DICOM radiograph read by rescrnet::io::ReadRadiograph (values 0..1 after its VOI): the
// stored window or VOI LUT as it was applied, else (the reader's min-max window) the percentiles.
Presentation
DicomPresentation(const GreyImage * image, const std::string & appliedVOI);

struct LungAreas
{
  double right{ 0 }, left{ 0 }, total{ 0 }; // cm2
  bool   leftRight{ false };
};

LungAreas
MeasureAreas(const ImageLayers & layers);

// Dice of the nonzero pixels of two masks of the same size (1 when both are empty); nullopt when either is null.
std::optional<double>
Dice(const LabelImage * segmentation, const LabelImage * reference);

// Dice of a label map file against a reference mask file (same grid); throws LayerError.
double
DiceOfFiles(const std::string & labels, const std::string & reference);

} // namespace rescrnet::viz

#endif
