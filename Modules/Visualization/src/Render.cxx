// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/Render.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/TextUtilities.h"
#include "rescrnet/io/ImageFile.h"

#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkImageData.h>
#include <vtkPNGWriter.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkStdString.h>
#include <vtkTextProperty.h>
#include <vtkTextRenderer.h>
#include <vtkWindowToImageFilter.h>

#include <X11/Xlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace rescrnet::viz
{

namespace
{

template <typename TPixel>
vtkSmartPointer<vtkImageData>
Copy(const itk::Image<TPixel, 2> * image, int vtkType)
{
  auto       out = vtkSmartPointer<vtkImageData>::New();
  const auto size = image->GetLargestPossibleRegion().GetSize();
  out->SetDimensions(static_cast<int>(size[0]), static_cast<int>(size[1]), 1);
  out->SetSpacing(image->GetSpacing()[0], image->GetSpacing()[1], 1.0);
  out->SetOrigin(image->GetOrigin()[0], image->GetOrigin()[1], 0.0);
  out->AllocateScalars(vtkType, 1);
  std::memcpy(out->GetScalarPointer(), image->GetBufferPointer(), size[0] * size[1] * sizeof(TPixel));
  return out;
}

vtkSmartPointer<vtkTextProperty>
TextProperty(int size, Colour colour)
{
  auto p = vtkSmartPointer<vtkTextProperty>::New();
  p->SetFontFamilyToArial();
  p->SetFontSize(size);
  p->SetColor(colour.R(), colour.G(), colour.B());
  p->SetJustificationToLeft();
  p->SetVerticalJustificationToTop();
  return p;
}

} // namespace

bool
CanRender()
{
  const char * display = std::getenv("DISPLAY");
  if (!display || !*display)
    return false;
  // The connection that answered stays open: closing it could leave the X server without clients, and an Xvfb
  // started without -noreset then resets, refusing the connection VTK opens next (VTK aborts the process then).
  static std::mutex           mutex;
  static std::string          connected;
  static Display *            kept = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (kept && connected == display)
    return true;
  Display * d = XOpenDisplay(display);
  if (!d)
    return false;
  if (kept)
    XCloseDisplay(kept);
  kept = d;
  connected = display;
  return true;
}

void
RequireDisplay(const std::string & what)
{
  if (!CanRender())
    throw RenderError("cannot draw " + what +
                      ": no X display (VTK on Debian renders through X; on a server run under xvfb-run -a)");
}

vtkSmartPointer<vtkImageData>
ToVTK(const GreyImage * image)
{
  return Copy(image, VTK_FLOAT);
}

vtkSmartPointer<vtkImageData>
ToVTK(const LabelImage * image)
{
  return Copy(image, VTK_UNSIGNED_CHAR);
}

// ---------------------------------------------------------------------------------------------------------------

OffscreenWindow::OffscreenWindow()
{
  RequireDisplay("off screen");
  m_Window = vtkSmartPointer<vtkRenderWindow>::New();
  m_Window->SetOffScreenRendering(1);
  m_Window->SetMultiSamples(0); // the same pixels on every machine's Mesa
  m_Renderer = vtkSmartPointer<vtkRenderer>::New();
  m_Window->AddRenderer(m_Renderer);
}

OffscreenWindow::~OffscreenWindow() = default;

vtkRenderWindow *
OffscreenWindow::Window() const
{
  return m_Window;
}

vtkRenderer *
OffscreenWindow::Renderer() const
{
  return m_Renderer;
}

vtkSmartPointer<vtkImageData>
OffscreenWindow::Capture(int width, int height)
{
  m_Window->SetSize(width, height);
  m_Window->Render();
  auto grab = vtkSmartPointer<vtkWindowToImageFilter>::New();
  grab->SetInput(m_Window);
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  grab->ShouldRerenderOff();
  grab->Update();
  auto out = vtkSmartPointer<vtkImageData>::New();
  out->DeepCopy(grab->GetOutput());
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

Canvas::Canvas(int width, int height, Colour background)
  : m_Width(std::max(1, width))
  , m_Height(std::max(1, height))
{
  m_Image = vtkSmartPointer<vtkImageData>::New();
  m_Image->SetDimensions(m_Width, m_Height, 1);
  m_Image->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
  auto * p = static_cast<unsigned char *>(m_Image->GetScalarPointer());
  for (size_t i = 0; i < static_cast<size_t>(m_Width) * static_cast<size_t>(m_Height); ++i)
  {
    p[3 * i] = background.r;
    p[3 * i + 1] = background.g;
    p[3 * i + 2] = background.b;
  }
}

void
Canvas::Paste(vtkImageData * image, int x, int y)
{
  int dims[3];
  image->GetDimensions(dims);
  const int  components = image->GetNumberOfScalarComponents();
  const auto src = static_cast<const unsigned char *>(image->GetScalarPointer());
  auto *     dst = static_cast<unsigned char *>(m_Image->GetScalarPointer());
  for (int row = 0; row < dims[1]; ++row) // row 0 = top of the pasted picture
  {
    const int cy = y + row;
    if (cy < 0 || cy >= m_Height)
      continue;
    const unsigned char * s = src + static_cast<size_t>(dims[1] - 1 - row) * dims[0] * components;
    unsigned char *       d = dst + static_cast<size_t>(m_Height - 1 - cy) * m_Width * 3;
    for (int col = 0; col < dims[0]; ++col)
    {
      const int cx = x + col;
      if (cx < 0 || cx >= m_Width)
        continue;
      const unsigned char * sp = s + static_cast<size_t>(col) * components;
      unsigned char *       dp = d + static_cast<size_t>(cx) * 3;
      const double          alpha = components == 4 ? sp[3] / 255.0 : 1.0;
      for (int c = 0; c < 3; ++c)
      {
        const double value = components >= 3 ? sp[c] : sp[0];
        dp[c] = static_cast<unsigned char>(std::lround(alpha * value + (1.0 - alpha) * dp[c]));
      }
    }
  }
}

int
Canvas::Text(int x, int y, const std::string & text, int size, Colour colour, int maxWidth)
{
  if (text.empty())
    return 0;
  std::string shown = text;
  if (maxWidth > 0)
  {
    // Cut in the middle keeps both the start and the end of a long file name.
    while (shown.size() > 4 && TextWidth(shown, size) > maxWidth)
    {
      const size_t middle = shown.size() / 2;
      const size_t dots = shown.find("...");
      if (dots == std::string::npos)
        shown = shown.substr(0, middle - 1) + "..." + shown.substr(middle + 1);
      else
        shown = shown.substr(0, dots - 1) + "..." + shown.substr(dots + 4);
    }
  }
  auto * renderer = vtkTextRenderer::GetInstance();
  if (!renderer)
    throw RenderError("no text renderer (VTK's RenderingFreeType module is missing)");
  auto property = TextProperty(size, colour);
  auto image = vtkSmartPointer<vtkImageData>::New();
  int  dims[2] = { 0, 0 };
  if (!renderer->RenderString(property, vtkStdString(shown), image, dims, 72))
    return 0;
  Paste(image, x, y);
  return dims[0];
}

Colour
Canvas::At(int x, int y) const
{
  const auto * p = static_cast<const unsigned char *>(m_Image->GetScalarPointer()) +
                   (static_cast<size_t>(m_Height - 1 - y) * m_Width + static_cast<size_t>(x)) * 3;
  return { p[0], p[1], p[2] };
}

int
TextWidth(const std::string & text, int size)
{
  auto * renderer = vtkTextRenderer::GetInstance();
  if (!renderer || text.empty())
    return 0;
  int  box[4] = { 0, 0, 0, 0 };
  auto property = TextProperty(size, palette::FigureText);
  if (!renderer->GetBoundingBox(property, vtkStdString(text), box, 72))
    return 0;
  return box[1] - box[0] + 1;
}

// ---------------------------------------------------------------------------------------------------------------

void
WritePNG(vtkImageData * image, const std::string & path)
{
  try
  {
    AtomicFile file(path);
    auto       writer = vtkSmartPointer<vtkPNGWriter>::New();
    writer->SetInputData(image);
    writer->SetFileName(file.temporaryPath().c_str());
    // VTK's error (e.g. "Ran out of disk space") goes into the one-line message instead of onto stderr.
    std::string error;
    auto        observer = vtkSmartPointer<vtkCallbackCommand>::New();
    observer->SetClientData(&error);
    observer->SetCallback([](vtkObject *, unsigned long, void * client, void * call) {
      const std::string text = call ? static_cast<const char *>(call) : "";
      const size_t      colon = text.find("): ");
      *static_cast<std::string *>(client) = OneLine(colon == std::string::npos ? text : text.substr(colon + 3));
    });
    writer->AddObserver(vtkCommand::ErrorEvent, observer);
    writer->Write();
    if (writer->GetErrorCode() != 0 || !error.empty())
      throw RenderError("cannot write " + path + (error.empty() ? std::string() : ": " + error));
    file.commit();
  }
  catch (const AtomicFileError & e)
  {
    throw RenderError(e.what());
  }
}

void
WritePNG(const RGBImage * image, const std::string & path)
{
  try
  {
    io::WriteImage(image, path);
  }
  catch (const io::ImageFileError & e)
  {
    throw RenderError(e.what());
  }
}

std::string
FormatFixed(double value, int decimals)
{
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string
FormatShort(double value, int significant)
{
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", significant, value);
  return buffer;
}

RGBImage::Pointer
ToITK(vtkImageData * image)
{
  int dims[3];
  image->GetDimensions(dims);
  const int            components = image->GetNumberOfScalarComponents();
  auto                 out = RGBImage::New();
  RGBImage::RegionType region;
  region.SetSize({ { static_cast<itk::SizeValueType>(dims[0]), static_cast<itk::SizeValueType>(dims[1]) } });
  out->SetRegions(region);
  out->Allocate();
  const auto * src = static_cast<const unsigned char *>(image->GetScalarPointer());
  auto *       dst = out->GetBufferPointer();
  for (int y = 0; y < dims[1]; ++y)
    for (int x = 0; x < dims[0]; ++x)
    {
      const unsigned char * s = src + (static_cast<size_t>(dims[1] - 1 - y) * dims[0] + x) * components;
      auto &                d = dst[static_cast<size_t>(y) * dims[0] + x];
      d.Set(s[0], components >= 3 ? s[1] : s[0], components >= 3 ? s[2] : s[0]);
    }
  return out;
}

} // namespace rescrnet::viz
