// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetTrainingCurve.h"

#include "itkImage.h"
#include "itkRGBPixel.h"
#include "rescrnet/io/ImageFile.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

namespace rescrnet::app
{

namespace
{
using Pixel = itk::RGBPixel<unsigned char>;
using RGBImage = itk::Image<Pixel, 2>;

// A 5x7 bitmap font for the characters the plot needs (rows top to bottom, 5 bits each, MSB left).
const std::map<char, std::array<unsigned char, 7>> &
Font()
{
  static const std::map<char, std::array<unsigned char, 7>> font = {
    { '0', { 0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E } },
    { '1', { 0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E } },
    { '2', { 0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F } },
    { '3', { 0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E } },
    { '4', { 0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02 } },
    { '5', { 0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E } },
    { '6', { 0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E } },
    { '7', { 0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 } },
    { '8', { 0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E } },
    { '9', { 0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C } },
    { '.', { 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C } },
    { '-', { 0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00 } },
    { 'A', { 0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11 } },
    { 'C', { 0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E } },
    { 'E', { 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F } },
    { 'H', { 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11 } },
    { 'I', { 0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E } },
    { 'L', { 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F } },
    { 'M', { 0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11 } },
    { 'N', { 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 } },
    { 'O', { 0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E } },
    { 'P', { 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10 } },
    { 'R', { 0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11 } },
    { 'S', { 0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E } },
    { 'T', { 0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 } },
    { 'V', { 0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04 } },
    { ' ', { 0, 0, 0, 0, 0, 0, 0 } },
  };
  return font;
}

class Canvas
{
public:
  Canvas(int w, int h)
    : m_W(w)
    , m_H(h)
  {
    m_Image = RGBImage::New();
    RGBImage::RegionType region;
    region.SetSize({ { static_cast<itk::SizeValueType>(w), static_cast<itk::SizeValueType>(h) } });
    m_Image->SetRegions(region);
    m_Image->Allocate();
    Pixel white;
    white.Set(255, 255, 255);
    m_Image->FillBuffer(white);
  }
  void
  Set(int x, int y, const Pixel & p)
  {
    if (x >= 0 && y >= 0 && x < m_W && y < m_H)
      m_Image->SetPixel({ { x, y } }, p);
  }
  void
  Line(double x0, double y0, double x1, double y1, const Pixel & p, int thickness = 1)
  {
    const int n = static_cast<int>(std::max(std::fabs(x1 - x0), std::fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; ++i)
    {
      const double t = static_cast<double>(i) / n;
      const int    x = static_cast<int>(std::lround(x0 + t * (x1 - x0)));
      const int    y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      for (int dx = -(thickness / 2); dx <= thickness / 2; ++dx)
        for (int dy = -(thickness / 2); dy <= thickness / 2; ++dy)
          Set(x + dx, y + dy, p);
    }
  }
  void
  Text(int x, int y, const std::string & s, const Pixel & p, int scale = 2)
  {
    for (char ch : s)
    {
      const auto it = Font().find(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
      if (it != Font().end())
        for (int r = 0; r < 7; ++r)
          for (int c = 0; c < 5; ++c)
            if (it->second[static_cast<size_t>(r)] & (0x10 >> c))
              for (int sy = 0; sy < scale; ++sy)
                for (int sx = 0; sx < scale; ++sx)
                  Set(x + c * scale + sx, y + r * scale + sy, p);
      x += 6 * scale;
    }
  }
  RGBImage *
  Image()
  {
    return m_Image;
  }

private:
  int               m_W, m_H;
  RGBImage::Pointer m_Image;
};

Pixel
Rgb(unsigned char r, unsigned char g, unsigned char b)
{
  Pixel p;
  p.Set(r, g, b);
  return p;
}

std::string
Number(double v)
{
  char buf[32];
  std::snprintf(buf, sizeof(buf), std::fabs(v) >= 100 ? "%.0f" : "%.3f", v);
  return buf;
}

void
Panel(Canvas &                         canvas,
      int                              left,
      const std::string &              title,
      const std::vector<EpochRecord> & h,
      double EpochRecord::*train,
      double EpochRecord::*val)
{
  const int   top = 40, width = 440, height = 300, x0 = left + 80, y0 = top + height, plotW = width - 100;
  const Pixel black = Rgb(0, 0, 0), grey = Rgb(220, 220, 220), blue = Rgb(31, 119, 180), orange = Rgb(255, 127, 14);
  double      lo = 1e300, hi = -1e300;
  for (const auto & r : h)
  {
    lo = std::min({ lo, r.*train, r.*val });
    hi = std::max({ hi, r.*train, r.*val });
  }
  if (!(hi > lo))
  {
    hi = lo + 1e-3;
    lo -= 1e-3;
  }
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const int    epochs = static_cast<int>(h.size());
  const double e0 = h.front().epoch, e1 = std::max(h.back().epoch, h.front().epoch + int64_t{ 1 });
  auto         px = [&](double e) { return x0 + (e - e0) / (e1 - e0) * plotW; };
  auto         py = [&](double v) { return y0 - (v - lo) / (hi - lo) * height; };
  for (int i = 0; i <= 4; ++i)
  {
    const double v = lo + (hi - lo) * i / 4.0;
    canvas.Line(x0, py(v), x0 + plotW, py(v), grey);
    canvas.Text(left + 4, static_cast<int>(py(v)) - 6, Number(v), black, 2);
  }
  canvas.Line(x0, y0, x0 + plotW, y0, black, 2);
  canvas.Line(x0, y0, x0, y0 - height, black, 2);
  canvas.Text(x0, top - 30, title, black, 3);
  canvas.Text(x0, y0 + 10, std::to_string(static_cast<int>(e0)), black, 2);
  const std::string last = std::to_string(static_cast<int>(e1));
  canvas.Text(x0 + plotW - 12 * static_cast<int>(last.size()), y0 + 10, last, black, 2);
  canvas.Text(x0 + plotW / 2 - 30, y0 + 10, "EPOCH", black, 2);
  for (int i = 1; i < epochs; ++i)
  {
    canvas.Line(px(h[i - 1].epoch), py(h[i - 1].*train), px(h[i].epoch), py(h[i].*train), blue, 3);
    canvas.Line(px(h[i - 1].epoch), py(h[i - 1].*val), px(h[i].epoch), py(h[i].*val), orange, 3);
  }
  for (const auto & r : h)
  {
    canvas.Line(px(r.epoch) - 3, py(r.*train), px(r.epoch) + 3, py(r.*train), blue, 3);
    canvas.Line(px(r.epoch) - 3, py(r.*val), px(r.epoch) + 3, py(r.*val), orange, 3);
  }
}
} // namespace

void
WriteTrainingCurvePNG(const std::vector<EpochRecord> & history, const std::string & path)
{
  if (history.empty())
    return;
  Canvas canvas(900, 420);
  Panel(canvas, 0, "LOSS", history, &EpochRecord::loss, &EpochRecord::valLoss);
  Panel(canvas, 450, "TANIMOTO", history, &EpochRecord::tanimoto, &EpochRecord::valTanimoto);
  canvas.Line(300, 400, 340, 400, Rgb(31, 119, 180), 3);
  canvas.Text(350, 393, "TRAIN", Rgb(0, 0, 0), 2);
  canvas.Line(450, 400, 490, 400, Rgb(255, 127, 14), 3);
  canvas.Text(500, 393, "VAL", Rgb(0, 0, 0), 2);

  rescrnet::io::WriteImage(canvas.Image(), path);
}

} // namespace rescrnet::app
