// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/Viewer.h"

#include "rescrnet/viz/Render.h"
#include "rescrnet/viz/Results.h"
#include "rescrnet/viz/Scene.h"

#include <vtkCallbackCommand.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkInteractorStyleImage.h>
#include <vtkObjectFactory.h>
#include <vtkRenderWindow.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace rescrnet::viz
{

namespace fs = std::filesystem;

namespace
{

// vtkInteractorStyleImage (left drag: window/level of the stack's active layer, which is the radiograph) with the
// viewer's keys and the probe.
class ViewerStyle : public vtkInteractorStyleImage
{
public:
  static ViewerStyle *
  New();
  vtkTypeMacro(ViewerStyle, vtkInteractorStyleImage);

  InteractiveViewer * Viewer{ nullptr };

  void
  OnChar() override
  {
    auto *      rwi = this->Interactor;
    std::string key = rwi->GetKeySym() ? rwi->GetKeySym() : "";
    if (key.empty() && rwi->GetKeyCode())
      key = std::string(1, rwi->GetKeyCode());
    if (Viewer && Viewer->HandleKey(key))
      return;
    if (key == "q" || key == "Q" || key == "Escape")
      rwi->ExitCallback();
    // Other keys of the superclasses (fly-to, wireframe, stereo, 3-D slicing) have no meaning here.
  }

  void
  OnMouseMove() override
  {
    vtkInteractorStyleImage::OnMouseMove();
    if (Viewer)
    {
      const int * p = this->Interactor->GetEventPosition();
      Viewer->Probe(p[0], p[1]);
      Viewer->Render();
    }
  }

  void
  WindowLevel() override
  {
    vtkInteractorStyleImage::WindowLevel();
    if (Viewer)
      Viewer->Scene().UpdateText();
  }

protected:
  ViewerStyle()
  {
    this->SetInteractionModeToImage2D();
  }
};
vtkStandardNewMacro(ViewerStyle);

} // namespace

std::string
ViewerHelp()
{
  return "mouse: left drag window/level, right drag or wheel zoom, middle drag pan, move: probe\n"
         "keys:  o overlay on/off, f fill/outline/both, + - fill opacity, 1 2 right/left lung on/off,\n"
         "       g reference on/off, m probability on/off, n/space/PageDown next, p/BackSpace/PageUp previous,\n"
         "       s screenshot, r reset, h help, q quit";
}

struct InteractiveViewer::Internals
{
  std::vector<LayerFiles>                    images;
  ViewerOptions                              options;
  size_t                                     current{ 0 };
  std::string                                message;
  RadiographScene                            scene;
  vtkSmartPointer<vtkRenderWindow>           window;
  vtkSmartPointer<vtkRenderer>               renderer;
  vtkSmartPointer<vtkRenderWindowInteractor> interactor;
  vtkSmartPointer<ViewerStyle>               style;
  bool                                       hasLayers{ false };
};

InteractiveViewer::InteractiveViewer(std::vector<LayerFiles> images, ViewerOptions options)
  : m_Internals(std::make_unique<Internals>())
{
  auto & in = *m_Internals;
  if (images.empty())
    throw LayerError("no images to show");
  RequireDisplay("the viewer");
  in.images = std::move(images);
  in.options = std::move(options);
  in.window = vtkSmartPointer<vtkRenderWindow>::New();
  in.window->SetOffScreenRendering(in.options.offScreen ? 1 : 0);
  in.window->SetMultiSamples(0);
  in.window->SetSize(in.options.width, in.options.height);
  in.renderer = vtkSmartPointer<vtkRenderer>::New();
  in.window->AddRenderer(in.renderer);
  // Off screen (tests): an interactor without X's event loop. (VTK 9.1's X interactors share a static list that
  // its event loop walks; interactors that never ran must not be in it.)
  if (in.options.offScreen)
    in.interactor = vtkSmartPointer<vtkGenericRenderWindowInteractor>::New();
  else
    in.interactor = vtkSmartPointer<vtkRenderWindowInteractor>::New();
  in.interactor->SetRenderWindow(in.window);
  in.style = vtkSmartPointer<ViewerStyle>::New();
  in.style->Viewer = this;
  in.interactor->SetInteractorStyle(in.style);
  in.style->SetCurrentRenderer(in.renderer);
  in.scene.SetStyle(in.options.style);
  // The first image that can be shown; the reasons of those that cannot are kept for the error.
  std::string reasons;
  for (size_t i = 0; i < in.images.size() && !in.hasLayers; ++i)
  {
    Show(i);
    if (!in.hasLayers)
      reasons = in.message;
  }
  if (!in.hasLayers)
    throw LayerError(in.images.size() == 1 ? reasons
                                           : "none of the " + std::to_string(in.images.size()) +
                                               " images can be shown (the last: " + reasons + ")");
}

InteractiveViewer::~InteractiveViewer()
{
  m_Internals->style->Viewer = nullptr;
}

void
InteractiveViewer::Run()
{
  auto & in = *m_Internals;
  in.interactor->Initialize();
  Render();
  in.interactor->Start();
}

void
InteractiveViewer::Show(size_t index)
{
  auto & in = *m_Internals;
  index = std::min(index, in.images.size() - 1);
  try
  {
    in.scene.SetLayers(LoadLayers(in.images[index]));
    in.current = index;
    in.message.clear();
    if (!in.hasLayers)
      in.scene.AddTo(in.renderer);
    in.hasLayers = true;
    in.scene.SetStyle(in.scene.Style());
    int * size = in.window->GetSize();
    in.scene.ResetCamera(in.renderer, size[0], size[1]);
  }
  catch (const std::exception & e)
  {
    in.current = index;
    in.message = e.what();
    if (in.hasLayers)
      in.scene.SetProbeText(in.message); // the previous picture stays, with the reason
  }
  const std::string name = fs::path(in.images[in.current].image).filename().string();
  const std::string title =
    "ResCRNetView - " + name + " (" + std::to_string(in.current + 1) + "/" + std::to_string(in.images.size()) + ")";
  in.window->SetWindowName(title.c_str());
  if (in.hasLayers)
    Render();
}

size_t
InteractiveViewer::Current() const
{
  return m_Internals->current;
}

size_t
InteractiveViewer::Count() const
{
  return m_Internals->images.size();
}

const std::string &
InteractiveViewer::Message() const
{
  return m_Internals->message;
}

RadiographScene &
InteractiveViewer::Scene()
{
  return m_Internals->scene;
}

vtkRenderWindow *
InteractiveViewer::Window() const
{
  return m_Internals->window;
}

vtkRenderWindowInteractor *
InteractiveViewer::Interactor() const
{
  return m_Internals->interactor;
}

void
InteractiveViewer::Render()
{
  if (m_Internals->hasLayers)
    m_Internals->window->Render();
}

bool
InteractiveViewer::HandleKey(const std::string & key)
{
  auto &       in = *m_Internals;
  OverlayStyle s = in.scene.Style();
  const auto   apply = [&]() {
    in.scene.SetStyle(s);
    Render();
  };
  if (key == "o" || key == "O")
    s.showOverlay = !s.showOverlay;
  else if (key == "f" || key == "F")
    s.mode = s.mode == OverlayMode::Both   ? OverlayMode::Fill
             : s.mode == OverlayMode::Fill ? OverlayMode::Outline
                                           : OverlayMode::Both;
  else if (key == "plus" || key == "equal" || key == "KP_Add" || key == "+")
    s.fillOpacity = std::min(1.0, std::round((s.fillOpacity + 0.1) * 10.0) / 10.0);
  else if (key == "minus" || key == "KP_Subtract" || key == "-")
    s.fillOpacity = std::max(0.0, std::round((s.fillOpacity - 0.1) * 10.0) / 10.0);
  else if (key == "1")
    s.showRight = !s.showRight;
  else if (key == "2")
    s.showLeft = !s.showLeft;
  else if (key == "g" || key == "G")
    s.showReference = !s.showReference;
  else if (key == "m" || key == "M")
    s.showProbability = !s.showProbability;
  else if (key == "n" || key == "N" || key == "Next" || key == "space" || key == "Page_Down")
  {
    if (in.current + 1 < in.images.size())
      Show(in.current + 1);
    return true;
  }
  else if (key == "p" || key == "P" || key == "Prior" || key == "BackSpace" || key == "Page_Up")
  {
    if (in.current > 0)
      Show(in.current - 1);
    return true;
  }
  else if (key == "s" || key == "S")
  {
    const std::string path =
      (fs::path(in.options.screenshotFolder) / (StemOf(in.images[in.current].image) + "_view.png")).string();
    try
    {
      Screenshot(path);
      in.message = "wrote " + path;
    }
    catch (const std::exception & e)
    {
      in.message = e.what();
    }
    in.scene.SetProbeText(in.message);
    Render();
    return true;
  }
  else if (key == "r" || key == "R")
  {
    s = in.options.style;
    const auto & p = in.scene.Layers().presentation;
    in.scene.GreyProperty()->SetColorWindow(s.hasWindowLevel ? s.window : p.window);
    in.scene.GreyProperty()->SetColorLevel(s.hasWindowLevel ? s.level : p.level);
    int * size = in.window->GetSize();
    if (in.hasLayers)
      in.scene.ResetCamera(in.renderer, size[0], size[1]);
  }
  else if (key == "h" || key == "H" || key == "question")
  {
    in.message = ViewerHelp();
    in.scene.SetProbeText(in.message);
    Render();
    return true;
  }
  else
    return false;
  apply();
  return true;
}

std::string
InteractiveViewer::Probe(int x, int y)
{
  auto & in = *m_Internals;
  if (!in.hasLayers)
    return std::string();
  in.renderer->SetDisplayPoint(x, y, 0.0);
  in.renderer->DisplayToWorld();
  double world[4];
  in.renderer->GetWorldPoint(world);
  if (world[3] != 0.0)
    for (int k = 0; k < 3; ++k)
      world[k] /= world[3];
  const ImageLayers & layers = in.scene.Layers();
  const auto          size = layers.grey->GetLargestPossibleRegion().GetSize();
  const double        fi = world[0] / layers.grey->GetSpacing()[0];
  const double        fj = world[1] / layers.grey->GetSpacing()[1];
  std::string         text;
  if (std::isfinite(fi) && std::isfinite(fj) && fi > -0.5 && fj > -0.5 && fi < size[0] - 0.5 && fj < size[1] - 0.5)
  {
    const itk::Index<2> index{ { static_cast<itk::IndexValueType>(std::lround(fi)),
                                 static_cast<itk::IndexValueType>(std::lround(fj)) } };
    const auto          p = layers.geometry.Physical(static_cast<double>(index[0]), static_cast<double>(index[1]));
    text = "(" + FormatFixed(p[0], 1) + ", " + FormatFixed(p[1], 1) + ", " + FormatFixed(p[2], 1) + ") mm\ngrey " +
           FormatFixed(layers.grey->GetPixel(index), 3);
    if (layers.labels)
    {
      const unsigned label = layers.labels->GetPixel(index);
      text += "  label " + std::to_string(label) +
              (label == 0   ? " (background)"
               : label == 1 ? (layers.LeftRight() ? " (right lung)" : " (lung)")
               : label == 2 ? " (left lung)"
                            : "");
    }
    if (layers.probability)
      text += "  p " + FormatFixed(layers.probability->GetPixel(index), 2);
  }
  in.scene.SetProbeText(text);
  return text;
}

void
InteractiveViewer::Screenshot(const std::string & path)
{
  auto & in = *m_Internals;
  in.window->Render();
  auto grab = vtkSmartPointer<vtkWindowToImageFilter>::New();
  grab->SetInput(in.window);
  grab->SetInputBufferTypeToRGB();
  grab->ReadFrontBufferOff();
  grab->Update();
  WritePNG(grab->GetOutput(), path);
}

} // namespace rescrnet::viz
