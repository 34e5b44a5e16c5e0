// SPDX-License-Identifier: Apache-2.0
// The interactive viewer: one radiograph at a time from a list (a folder, a results CSV), with the lung overlay.
//
//   mouse   left drag: window/level (of the radiograph only), right drag or wheel: zoom, middle drag: pan;
//           moving shows the position in mm, the grey value and the label under the pointer (lower right)
//   keys    o overlay on/off   f fill / outline / both   + - fill opacity   1 2 right / left lung on/off
//           g reference outline on/off   m probability map on/off   n, Page Down, space: next image
//           p, Page Up, BackSpace: previous image   s screenshot   r reset   h help   q quit
#ifndef rescrnet_viz_Viewer_h
#define rescrnet_viz_Viewer_h

#include "rescrnet/viz/Layers.h"
#include "rescrnet/viz/Palette.h"

#include <memory>
#include <string>
#include <vector>

class vtkRenderWindow;
class vtkRenderWindowInteractor;

namespace rescrnet::viz
{

class RadiographScene;

struct ViewerOptions
{
  OverlayStyle style;
  int          width{ 1000 };
  int          height{ 900 };
  std::string  screenshotFolder{ "." }; // where 's' writes <image stem>_view.png
  bool         offScreen{ false };      // tests: no window on the screen, no event loop
};

class InteractiveViewer
{
public:
  // Throws LayerError when `images` is empty, RenderError without a display. Unreadable images are shown as a
  // message in place of the picture.
  InteractiveViewer(std::vector<LayerFiles> images, ViewerOptions options);
  ~InteractiveViewer();
  InteractiveViewer(const InteractiveViewer &) = delete;
  InteractiveViewer &
  operator=(const InteractiveViewer &) = delete;

  // Opens the window and runs the event loop until the user quits.
  void
  Run();

  // What the keys do (keysym as X names it: "o", "plus", "Next", ...); returns whether the key was one of the
  // viewer's. Renders after a change.
  bool
  HandleKey(const std::string & keysym);
  // The probe text for a display position (pixels from the lower left, as VTK reports them); shows it.
  std::string
  Probe(int x, int y);
  // Shows image `index` of the list (clamped).
  void
  Show(size_t index);
  size_t
  Current() const;
  size_t
  Count() const;
  // The last message (an unreadable image, a screenshot written), also shown in the window.
  const std::string &
  Message() const;

  RadiographScene &
  Scene();
  vtkRenderWindow *
  Window() const;
  vtkRenderWindowInteractor *
  Interactor() const;
  // Writes what the window shows to `path`.
  void
  Screenshot(const std::string & path);
  // Renders the window.
  void
  Render();

private:
  struct Internals;
  std::unique_ptr<Internals> m_Internals;
};

// The viewer's help text (the keys and the mouse).
std::string
ViewerHelp();

} // namespace rescrnet::viz

#endif
