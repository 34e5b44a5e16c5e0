// SPDX-License-Identifier: Apache-2.0
// What flows through a pipeline's stages for one input: named images ("slots"), the run's files, the measures the
// results record, warnings, and the effective pipeline for provenance. Header-only: plugins compile against it.
//
// Slots hold 2-D images of three kinds: Image (itk::Image<float, 2>: radiographs, network inputs, probabilities),
// Labels (itk::Image<unsigned char, 2>: masks) and Classes (itk::VectorImage<float, 2>: one component per class).
// A 3-D input with one slice (how 3D Slicer passes a radiograph) is read as its 2-D slice; its 3-D geometry is kept
// in SliceGeometry so that writers return images on the input's own 3-D grid.
#ifndef rescrnet_plugins_PipelineData_h
#define rescrnet_plugins_PipelineData_h

#include "rescrnet/plugins/Parameters.h"

#include "itkImage.h"
#include "itkVectorImage.h"

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace rescrnet::plugins
{

using ImageType = itk::Image<float, 2>;
using LabelImageType = itk::Image<unsigned char, 2>;
using ClassImageType = itk::VectorImage<float, 2>;

enum class SlotKind
{
  Image,
  Labels,
  Classes,
  Any // in a stage's declaration of what it reads: any of the three (e.g. a writer)
};

inline const char *
SlotKindName(SlotKind kind)
{
  switch (kind)
  {
    case SlotKind::Image:
      return "image";
    case SlotKind::Labels:
      return "label map";
    case SlotKind::Classes:
      return "per-class image";
    case SlotKind::Any:
      return "image of any kind";
  }
  return "?";
}

template <typename TImage>
constexpr SlotKind
SlotKindOf()
{
  if constexpr (std::is_same_v<TImage, LabelImageType>)
    return SlotKind::Labels;
  else if constexpr (std::is_same_v<TImage, ClassImageType>)
    return SlotKind::Classes;
  else
  {
    static_assert(std::is_same_v<TImage, ImageType>, "slots hold ImageType, LabelImageType or ClassImageType");
    return SlotKind::Image;
  }
}

// A named image a stage reads or writes.
struct Slot
{
  std::string name;
  SlotKind    kind{ SlotKind::Image };
};

// A problem a stage reports while it runs or is configured: one line, fit for the user. With `parameter`, the
// validator points at that parameter in the pipeline file.
class StageError : public std::runtime_error
{
public:
  explicit StageError(const std::string & message, std::string parameter = std::string())
    : std::runtime_error(message)
    , m_Parameter(std::move(parameter))
  {}
  const std::string &
  Parameter() const
  {
    return m_Parameter;
  }

private:
  std::string m_Parameter;
};

// The run's files, by role. "input" is always present; the others when the command line gives them: "reference"
// (a mask to compare with), and the destinations "output", "probability", "overlay" and "seg".
using RunFiles = std::map<std::string, std::string>;

class PipelineData
{
public:
  RunFiles                 files;
  Json                     measures = Json::object(); // name -> number or text, in the order the stages add them
  std::vector<std::string> warnings;
  // The effective pipeline (what ran, with every default) and its short id ("name@crc32"), for outputs that record
  // their provenance.
  Json        provenance;
  std::string pipelineId;
  // The input's 3-D geometry when it was a 3-D image with one slice; null for 2-D inputs.
  itk::ImageBase<3>::Pointer sliceGeometry;
  // Receives the running stage's own progress (0..1); set by the pipeline.
  std::function<void(double)> stageProgress;

  std::string
  File(const std::string & role) const
  {
    const auto it = files.find(role);
    return it == files.end() ? std::string() : it->second;
  }

  bool
  Has(const std::string & slot) const
  {
    return m_Slots.count(slot) != 0;
  }

  template <typename TImage>
  void
  Set(const std::string & slot, TImage * image)
  {
    m_Slots[slot] = Entry{ SlotKindOf<TImage>(), image };
  }

  // The kind of the image in `slot`; throws StageError when there is none.
  SlotKind
  Kind(const std::string & slot) const
  {
    const auto it = m_Slots.find(slot);
    if (it == m_Slots.end())
      throw StageError("no image '" + slot + "' in the pipeline");
    return it->second.kind;
  }

  // The image in `slot`; throws StageError when there is none or it is of another kind.
  template <typename TImage>
  TImage *
  Get(const std::string & slot) const
  {
    const auto it = m_Slots.find(slot);
    if (it == m_Slots.end())
      throw StageError("no image '" + slot + "' in the pipeline");
    auto * image = dynamic_cast<TImage *>(it->second.image.GetPointer());
    if (it->second.kind != SlotKindOf<TImage>() || image == nullptr)
      throw StageError("'" + slot + "' is a " + SlotKindName(it->second.kind) + ", not a " +
                       SlotKindName(SlotKindOf<TImage>()));
    return image;
  }

  void
  ReportProgress(double fraction) const
  {
    if (stageProgress)
      stageProgress(fraction);
  }

private:
  struct Entry
  {
    SlotKind                 kind;
    itk::DataObject::Pointer image;
  };
  std::map<std::string, Entry> m_Slots;
};

} // namespace rescrnet::plugins

#endif
