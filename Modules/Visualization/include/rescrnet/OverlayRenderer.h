// SPDX-License-Identifier: Apache-2.0
// VTK rendering of a radiograph with its lung label map: an image actor for the grey levels and a semi-transparent
// coloured actor for the labels, rendered off screen to a PNG (through X: Debian's VTK has no OSMesa/EGL, so tests
// run under Xvfb). The ITK -> VTK bridge is a deep copy (Debian's ITK has no ITKVtkGlue).
#ifndef rescrnet_OverlayRenderer_h
#define rescrnet_OverlayRenderer_h

#include "itkImage.h"

#include <vtkSmartPointer.h>

#include <string>

class vtkImageData;

namespace rescrnet::viz
{

// A deep copy of a 2-D ITK image into vtkImageData (spacing and origin kept; VTK 9 image data carries a direction
// too, which is copied).
vtkSmartPointer<vtkImageData>
ToVTK(const itk::Image<float, 2> * image);
vtkSmartPointer<vtkImageData>
ToVTK(const itk::Image<unsigned char, 2> * image);

// Whether an X display is available for rendering (DISPLAY set and the server answers).
bool
CanRender();

// Renders `grey` with `labels` overlaid (1 = red, 2 = green, at `opacity`) to a PNG of width x height pixels
// (0 = the image's size). Throws std::runtime_error when there is no display or the file cannot be written.
void
RenderOverlayPNG(const itk::Image<float, 2> *         grey,
                 const itk::Image<unsigned char, 2> * labels,
                 const std::string &                  path,
                 double                               opacity = 0.4,
                 int                                  width = 0,
                 int                                  height = 0);

} // namespace rescrnet::viz

#endif
