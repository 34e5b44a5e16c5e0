// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/OverlayRenderer.h"

#include "rescrnet/AtomicFile.h"

#include "itkImageRegionConstIterator.h"

#include <vtkCamera.h>
#include <vtkImageActor.h>
#include <vtkImageData.h>
#include <vtkImageMapToColors.h>
#include <vtkImageProperty.h>
#include <vtkImageSliceMapper.h>
#include <vtkLookupTable.h>
#include <vtkMatrix3x3.h>
#include <vtkPNGWriter.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkWindowToImageFilter.h>

#include <X11/Xlib.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

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
  double direction[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
  for (unsigned r = 0; r < 2; ++r)
    for (unsigned c = 0; c < 2; ++c)
      direction[r * 3 + c] = image->GetDirection()[r][c];
  out->SetDirectionMatrix(direction);
  out->AllocateScalars(vtkType, 1);
  std::memcpy(out->GetScalarPointer(), image->GetBufferPointer(), size[0] * size[1] * sizeof(TPixel));
  return out;
}
} // namespace

vtkSmartPointer<vtkImageData>
ToVTK(const itk::Image<float, 2> * image)
{
  return Copy(image, VTK_FLOAT);
}

vtkSmartPointer<vtkImageData>
ToVTK(const itk::Image<unsigned char, 2> * image)
{
  return Copy(image, VTK_UNSIGNED_CHAR);
}

bool
CanRender()
{
  const char * display = std::getenv("DISPLAY");
  if (!display || !*display)
    return false;
  Display * d = XOpenDisplay(display);
  if (!d)
    return false;
  XCloseDisplay(d);
  return true;
}

void
RenderOverlayPNG(const itk::Image<float, 2> *         grey,
                 const itk::Image<unsigned char, 2> * labels,
                 const std::string &                  path,
                 double                               opacity,
                 int                                  width,
                 int                                  height)
{
  const char * display = std::getenv("DISPLAY");
  if (!display || !*display)
    throw std::runtime_error("cannot render " + path + ": no X display (run under xvfb-run)");
  const auto size = grey->GetLargestPossibleRegion().GetSize();
  if (labels->GetLargestPossibleRegion().GetSize() != size)
    throw std::runtime_error("cannot render " + path + ": image and labels differ in size");
  if (width <= 0 || height <= 0)
  {
    width = static_cast<int>(size[0]);
    height = static_cast<int>(size[1]);
  }
  // Grey levels: window over the image's range.
  float lo = 0, hi = 0;
  bool  first = true;
  for (itk::ImageRegionConstIterator<itk::Image<float, 2>> it(grey, grey->GetLargestPossibleRegion()); !it.IsAtEnd();
       ++it)
  {
    lo = first ? it.Get() : std::min(lo, it.Get());
    hi = first ? it.Get() : std::max(hi, it.Get());
    first = false;
  }
  auto greyActor = vtkSmartPointer<vtkImageActor>::New();
  greyActor->GetMapper()->SetInputData(ToVTK(grey));
  greyActor->GetProperty()->SetColorWindow(hi > lo ? hi - lo : 1.0);
  greyActor->GetProperty()->SetColorLevel(0.5 * (hi + lo));
  greyActor->GetProperty()->SetInterpolationTypeToNearest();

  auto lut = vtkSmartPointer<vtkLookupTable>::New();
  lut->SetNumberOfTableValues(256);
  lut->SetTableRange(0, 255);
  for (int i = 0; i < 256; ++i)
    lut->SetTableValue(i, 0, 0, 0, 0); // background fully transparent
  lut->SetTableValue(1, 1.0, 0.2, 0.2, opacity);
  lut->SetTableValue(2, 0.2, 1.0, 0.2, opacity);
  lut->Build();
  auto colours = vtkSmartPointer<vtkImageMapToColors>::New();
  colours->SetInputData(ToVTK(labels));
  colours->SetLookupTable(lut);
  colours->SetOutputFormatToRGBA();
  auto labelActor = vtkSmartPointer<vtkImageActor>::New();
  labelActor->GetMapper()->SetInputConnection(colours->GetOutputPort());
  labelActor->GetProperty()->SetInterpolationTypeToNearest();

  auto renderer = vtkSmartPointer<vtkRenderer>::New();
  renderer->AddActor(greyActor);
  renderer->AddActor(labelActor);
  renderer->SetBackground(0, 0, 0);
  auto window = vtkSmartPointer<vtkRenderWindow>::New();
  window->SetOffScreenRendering(1);
  window->AddRenderer(renderer);
  window->SetSize(width, height);
  // Radiograph convention: row 0 at the top.
  auto * camera = renderer->GetActiveCamera();
  camera->ParallelProjectionOn();
  renderer->ResetCamera();
  camera->SetViewUp(0, -1, 0);
  camera->SetPosition(camera->GetFocalPoint()[0], camera->GetFocalPoint()[1], -1.0);
  renderer->ResetCamera();
  const double extentY = static_cast<double>(size[1]) * grey->GetSpacing()[1];
  camera->SetParallelScale(0.5 * extentY);
  window->Render();

  auto grab = vtkSmartPointer<vtkWindowToImageFilter>::New();
  grab->SetInput(window);
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  grab->Update();
  rescrnet::AtomicFile file(path);
  auto                 writer = vtkSmartPointer<vtkPNGWriter>::New();
  writer->SetInputConnection(grab->GetOutputPort());
  writer->SetFileName(file.temporaryPath().c_str());
  writer->Write();
  if (writer->GetErrorCode() != 0)
    throw std::runtime_error("cannot write " + path);
  file.commit();
}

} // namespace rescrnet::viz
