// SPDX-License-Identifier: Apache-2.0
// Rendering support shared by the viewer and the figures: whether VTK can render (Debian's VTK renders through X
// only, on screen or off), ITK -> VTK copies, an off-screen window that captures what it draws, an RGB canvas that
// pictures and text are pasted onto, and atomic PNG writing.
#ifndef rescrnet_viz_Render_h
#define rescrnet_viz_Render_h

#include "rescrnet/viz/Layers.h"
#include "rescrnet/viz/Palette.h"

#include "itkRGBPixel.h"

#include <vtkImageData.h>
#include <vtkSmartPointer.h>

#include <stdexcept>
#include <string>

class vtkRenderWindow;
class vtkRenderer;

namespace rescrnet::viz
{

using RGBImage = itk::Image<itk::RGBPixel<unsigned char>, 2>;

// Rendering or writing failed; one line.
class RenderError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// Whether an X display is available (DISPLAY set and the server answers). Without one, Debian's VTK aborts the
// process on the first render, so every renderer checks this first.
bool
CanRender();

// Throws RenderError "cannot draw <what>: no X display ..." unless CanRender().
void
RequireDisplay(const std::string & what);

// Deep copies into vtkImageData (spacing and origin kept; the images are in display order, so no direction).
vtkSmartPointer<vtkImageData>
ToVTK(const GreyImage * image);
vtkSmartPointer<vtkImageData>
ToVTK(const LabelImage * image);

// An off-screen render window with one renderer; Capture() reads back what was drawn (RGB, VTK's bottom-up rows).
class OffscreenWindow
{
public:
  // Throws RenderError without a display.
  OffscreenWindow();
  ~OffscreenWindow();
  OffscreenWindow(const OffscreenWindow &) = delete;
  OffscreenWindow &
  operator=(const OffscreenWindow &) = delete;

  vtkRenderWindow *
  Window() const;
  vtkRenderer *
  Renderer() const;
  // Renders at width x height pixels and returns a copy of the pixels.
  vtkSmartPointer<vtkImageData>
  Capture(int width, int height);

private:
  vtkSmartPointer<vtkRenderWindow> m_Window;
  vtkSmartPointer<vtkRenderer>     m_Renderer;
};

// An RGB picture with its origin at the top left, for composing figures.
class Canvas
{
public:
  Canvas(int width, int height, Colour background = palette::FigureBackground);

  int
  Width() const
  {
    return m_Width;
  }
  int
  Height() const
  {
    return m_Height;
  }
  // Copies an RGB or RGBA vtkImageData (bottom-up rows, as VTK renders) with its top-left corner at (x, y).
  void
  Paste(vtkImageData * image, int x, int y);
  // Text in VTK's built-in font (FreeType, no display needed), `size` points at 72 dpi, its top-left corner at
  // (x, y), cut at `maxWidth` pixels (0: no limit) with an ellipsis. Returns the text's width in pixels.
  int
  Text(int x, int y, const std::string & text, int size, Colour colour = palette::FigureText, int maxWidth = 0);
  // The pixel at (x, y) from the top left.
  Colour
  At(int x, int y) const;
  vtkImageData *
  Image() const
  {
    return m_Image;
  }

private:
  int                           m_Width, m_Height;
  vtkSmartPointer<vtkImageData> m_Image;
};

// Width in pixels of `text` as Canvas::Text draws it.
int
TextWidth(const std::string & text, int size);

// Writes a PNG through a temporary file in the target folder, then renames it; never leaves a partial file. Throws
// RenderError.
void
WritePNG(vtkImageData * image, const std::string & path);
void
WritePNG(const RGBImage * image, const std::string & path);

// Numbers in pictures: `decimals` after the point ("0.920"), or `significant` digits ("1.23e+04", "181").
std::string
FormatFixed(double value, int decimals);
std::string
FormatShort(double value, int significant = 4);

// An ITK RGB image from a VTK RGB(A) image (rows flipped to top-down).
RGBImage::Pointer
ToITK(vtkImageData * image);

} // namespace rescrnet::viz

#endif
