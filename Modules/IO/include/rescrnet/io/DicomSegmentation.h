// SPDX-License-Identifier: Apache-2.0
// Writing lung segmentations of projection radiographs as DICOM Segmentation objects (binary SEG, dcmseg), and
// reading them back. Radiographs have no Frame of Reference: each frame references the source image through the
// Derivation Image functional group, Segment Number is the only dimension index, there are no plane position,
// orientation or pixel measures groups, and the SEG has the source image's rows and columns.
#ifndef rescrnet_io_DicomSegmentation_h
#define rescrnet_io_DicomSegmentation_h

#include "rescrnet/io/DicomRadiograph.h"

#include "itkImage.h"

#include <string>
#include <vector>

namespace rescrnet::io
{

struct SegWriterOptions
{
  std::string algorithmName{ "Res-CR-Net" };
  std::string algorithmVersion; // default: the project's version
  std::string modelName;        // e.g. the model file's name; written as the algorithm's parameters
  // More of the algorithm's parameters (e.g. "pipeline=..." for provenance), after "model=<modelName>; ". The
  // Algorithm Parameters attribute (LT) holds at most 10240 characters: longer text is an error.
  std::string algorithmParameters;
  // Labels 1 = patient's right lung, 2 = left lung, written as two segments; otherwise every nonzero label is lung.
  bool        leftRight{ false };
  std::string manufacturer{ "ITKResCRNet" };
  std::string seriesDescription{ "Lung segmentation (Res-CR-Net)" };
  std::string seriesNumber{ "901" };
};

// Writes `labels` (0 background, 1 lung; or 1 right, 2 left with options.leftRight) on the pixel grid of the DICOM
// radiograph `sourceDicom` as a binary DICOM SEG at `path`, atomically (temporary file and rename). The patient and
// study are copied from the source and the source image is referenced. Throws DicomError.
void
WriteLungSegmentation(const std::string &                  path,
                      const itk::Image<unsigned char, 2> * labels,
                      const std::string &                  sourceDicom,
                      const SegWriterOptions &             options = {});

// A segment read back from a SEG file.
struct SegmentRead
{
  unsigned                   number{ 0 };
  std::string                label;
  std::string                propertyTypeCode; // e.g. "39607008"
  std::string                referencedSOPInstanceUID;
  std::vector<unsigned char> mask; // rows * columns, 0/1, row by row
};

struct SegmentationRead
{
  unsigned                 rows{ 0 }, columns{ 0 };
  std::string              studyInstanceUID, patientID;
  std::string              referencedSeriesInstanceUID, referencedSOPInstanceUID; // Common Instance Reference
  std::vector<SegmentRead> segments;
};

// Reads a binary SEG written by WriteLungSegmentation with DCMTK (DcmSegmentation::loadFile): one frame per segment.
SegmentationRead
ReadLungSegmentation(const std::string & path);

} // namespace rescrnet::io

#endif
