// SPDX-License-Identifier: Apache-2.0
// The VTK scene of one radiograph: a vtkImageStack of image layers (the grey radiograph with its window/level, the
// probability map through viridis, the lung labels filled) plus the lung and reference outlines as lines
// (vtkDiscreteFlyingEdges2D), a colour bar for the probability and the corner text. The grey layer is the stack's
// active layer, so window/level interaction acts on the radiograph and never on the labels. While a probability map
// is shown, the lungs are outlined, not filled (the two colourings would mix).
//
// The same scene draws the interactive viewer, `--screenshot`, the cells of panels and contact sheets, and the
// segmentation command's `--overlay` PNG (FallbackOverlay() draws the same picture with ITK where there is no
// display).
#ifndef rescrnet_viz_Scene_h
#define rescrnet_viz_Scene_h

#include "rescrnet/viz/Layers.h"
#include "rescrnet/viz/Palette.h"
#include "rescrnet/viz/Render.h"

#include <vtkSmartPointer.h>

#include <memory>
#include <optional>
#include <string>

class vtkImageData;
class vtkImageProperty;
class vtkImageStack;
class vtkRenderer;

namespace rescrnet::viz
{

class RadiographScene
{
public:
  RadiographScene();
  ~RadiographScene();
  RadiographScene(const RadiographScene &) = delete;
  RadiographScene &
  operator=(const RadiographScene &) = delete;

  // Replaces the layers (the window/level returns to the layers' presentation unless the style fixes it).
  void
  SetLayers(ImageLayers layers);
  const ImageLayers &
  Layers() const;
  void
  SetStyle(const OverlayStyle & style);
  const OverlayStyle &
  Style() const;
  // Dice of the labels against the reference, when both are shown.
  std::optional<double>
  DiceValue() const;

  // Adds the scene's props to `renderer` (once; a scene belongs to one renderer at a time).
  void
  AddTo(vtkRenderer * renderer);
  void
  RemoveFrom(vtkRenderer * renderer);
  // Parallel projection fitting the whole image into a width x height viewport, row 0 at the top (the camera looks
  // along +z with -y up).
  void
  ResetCamera(vtkRenderer * renderer, int width, int height) const;

  // The grey layer's property (window/level), the stack (its active layer is the grey layer).
  vtkImageProperty *
  GreyProperty() const;
  vtkImageStack *
  Stack() const;
  // Current window/level of the grey layer.
  double
  Window() const;
  double
  Level() const;
  // The text of a corner (0 lower left, 1 lower right, 2 upper left, 3 upper right), as shown.
  std::string
  CornerText(int corner) const;
  // Text for the lower-right corner (the viewer's probe); re-shown at the next render.
  void
  SetProbeText(const std::string & text);
  // Refreshes the corner text (window/level after an interaction).
  void
  UpdateText();

  // Renders the scene alone into an off-screen window of width x height (0: the image's size, its longest side
  // capped at `maxSide`) and returns the pixels.
  vtkSmartPointer<vtkImageData>
  Render(OffscreenWindow & window, int width = 0, int height = 0, int maxSide = 0);

private:
  struct Internals;
  std::unique_ptr<Internals> m_Internals;
};

// The size a render of `layers` gets for a requested width x height (0 x 0: the image size, longest side capped at
// `maxSide` when positive; one of them 0: the other scaled with the image's aspect ratio).
void
RenderSize(const ImageLayers & layers, int & width, int & height, int maxSide = 0);

// The overlay PNG of the segmentation command and the viewer: drawn by the scene (VTK) when a display is available,
// else by FallbackOverlay(). Returns "vtk" or "itk" for the one that drew it. Writes atomically; throws RenderError.
// `width`/`height` 0: the image's own size.
enum class OverlayBackend
{
  Automatic,
  VTK,
  ITK
};
std::string
WriteOverlayPNG(const ImageLayers &  layers,
                const OverlayStyle & style,
                const std::string &  path,
                OverlayBackend       backend = OverlayBackend::Automatic);

// The scene's picture drawn with ITK only (no display needed), at the image's size: the grey layer through the
// window/level, the probability, the fill and the outlines in the same colours, opacities and widths; no text.
RGBImage::Pointer
FallbackOverlay(const ImageLayers & layers, const OverlayStyle & style);

} // namespace rescrnet::viz

#endif
