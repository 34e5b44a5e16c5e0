// SPDX-License-Identifier: Apache-2.0
// The colours and defaults of every picture the project draws of a radiograph and its lungs: the viewer, screenshots,
// panels, contact sheets, the segmentation command's overlay (VTK or its ITK fallback) and the training curves. One
// place, so that the same thing always looks the same.
//
// Colours are from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays distinguishable
// with the common colour-vision deficiencies: the patient's right lung blue, the left lung orange, the reference
// outline yellow (lighter than both, so it also differs in luminance). Probability maps use viridis (perceptually
// uniform, readable in grey and by colour-blind readers).
#ifndef rescrnet_viz_Palette_h
#define rescrnet_viz_Palette_h

#include <algorithm>
#include <array>
#include <cmath>

namespace rescrnet::viz
{

struct Colour
{
  unsigned char r{ 0 }, g{ 0 }, b{ 0 };

  // Components in 0..1, for VTK.
  double
  R() const
  {
    return r / 255.0;
  }
  double
  G() const
  {
    return g / 255.0;
  }
  double
  B() const
  {
    return b / 255.0;
  }
};

namespace palette
{
inline constexpr Colour RightLung{ 0, 114, 178 };  // Okabe-Ito blue: label 1 (the patient's right lung, or "lung")
inline constexpr Colour LeftLung{ 230, 159, 0 };   // Okabe-Ito orange: label 2 (the patient's left lung)
inline constexpr Colour Reference{ 240, 228, 66 }; // Okabe-Ito yellow: the reference mask's outline
inline constexpr Colour Text{ 255, 255, 255 };     // annotations over the radiograph
inline constexpr Colour Background{ 0, 0, 0 };     // around the radiograph
inline constexpr Colour FigureBackground{ 255, 255, 255 };
inline constexpr Colour FigureText{ 0, 0, 0 };
// Training curves: training and validation in blue and vermillion, per-source validation in the remaining
// Okabe-Ito colours, the best epoch in black.
inline constexpr Colour                Train{ 0, 114, 178 };
inline constexpr Colour                Validation{ 213, 94, 0 };
inline constexpr std::array<Colour, 5> Sources{
  { { 0, 158, 115 }, { 204, 121, 167 }, { 86, 180, 233 }, { 230, 159, 0 }, { 120, 120, 120 } }
};

// The colour of a lung label (1 = right or both lungs, 2 = left); other labels take the reference colour.
inline Colour
Label(unsigned label)
{
  return label == 1 ? RightLung : label == 2 ? LeftLung : Reference;
}

// Viridis at 9 evenly spaced stops (matplotlib's table, rounded to 8 bits), interpolated linearly.
inline constexpr std::array<Colour, 9> ViridisStops{ { { 68, 1, 84 },
                                                       { 71, 45, 123 },
                                                       { 59, 82, 139 },
                                                       { 44, 114, 142 },
                                                       { 33, 145, 140 },
                                                       { 39, 173, 129 },
                                                       { 92, 200, 99 },
                                                       { 170, 220, 50 },
                                                       { 253, 231, 37 } } };

// Viridis at t in [0, 1] (clamped; NaN maps to 0).
inline Colour
Viridis(double t)
{
  if (!(t > 0.0))
    t = 0.0;
  t = std::min(1.0, t) * (ViridisStops.size() - 1);
  const auto   i = std::min<size_t>(static_cast<size_t>(t), ViridisStops.size() - 2);
  const double f = t - static_cast<double>(i);
  const auto   mix = [f](unsigned char a, unsigned char b) {
    return static_cast<unsigned char>(std::lround(a + f * (static_cast<double>(b) - a)));
  };
  const Colour & a = ViridisStops[i];
  const Colour & b = ViridisStops[i + 1];
  return { mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b) };
}
} // namespace palette

// How the lungs are drawn. Slicer's defaults: fill at 0.5 opacity, outline at 1.0.
enum class OverlayMode
{
  Fill,
  Outline,
  Both
};

struct OverlayStyle
{
  OverlayMode mode{ OverlayMode::Both };
  double      fillOpacity{ 0.5 };
  double      outlineOpacity{ 1.0 };
  // Outline width in output pixels; 0: from the output size (OutlineWidthFor).
  double outlineWidth{ 0.0 };
  bool   showOverlay{ true }; // the predicted labels (fill and outline)
  bool   showRight{ true };   // label 1
  bool   showLeft{ true };    // label 2
  bool   showReference{ true };
  bool   showProbability{ true };
  double probabilityOpacity{ 0.6 };
  bool   showText{ true };        // corner annotations
  bool   showColourBar{ true };   // with a probability map
  bool   hasWindowLevel{ false }; // else the layers' presentation
  double window{ 1.0 };
  double level{ 0.5 };

  bool
  Fill() const
  {
    return mode != OverlayMode::Outline;
  }
  bool
  Outline() const
  {
    return mode != OverlayMode::Fill;
  }
  bool
  ShowsLabel(unsigned label) const
  {
    return showOverlay && ((label == 1 && showRight) || (label == 2 && showLeft) || label > 2);
  }
};

// The outline width for an output whose longest side is `pixels`: 2 up to 1000 pixels, then growing with the size,
// so that a full-resolution overlay of a 4000-pixel radiograph still shows its outlines.
inline double
OutlineWidthFor(double pixels)
{
  return std::max(2.0, 2.0 * std::round(pixels / 1000.0));
}

inline const char *
ModeName(OverlayMode mode)
{
  return mode == OverlayMode::Fill ? "fill" : mode == OverlayMode::Outline ? "outline" : "fill+outline";
}

} // namespace rescrnet::viz

#endif
