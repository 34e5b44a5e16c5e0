// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/Figures.h"

#include "rescrnet/viz/Render.h"
#include "rescrnet/viz/Scene.h"

#include <vtkImageData.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace rescrnet::viz
{

namespace fs = std::filesystem;

namespace
{

constexpr int    kMargin = 12;
constexpr Colour kMissing{ 90, 90, 90 };

std::string
Thousands(size_t n)
{
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s;
}

// A grey box with a short message, for a cell without data.
void
MissingCell(Canvas & canvas, int x, int y, int size, const std::string & message)
{
  auto box = vtkSmartPointer<vtkImageData>::New();
  box->SetDimensions(size, size, 1);
  box->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
  auto * p = static_cast<unsigned char *>(box->GetScalarPointer());
  for (size_t i = 0; i < static_cast<size_t>(size) * size; ++i)
  {
    p[3 * i] = kMissing.r;
    p[3 * i + 1] = kMissing.g;
    p[3 * i + 2] = kMissing.b;
  }
  canvas.Paste(box, x, y);
  canvas.Text(x + 4, y + size / 2 - 8, message, 11, palette::Text, size - 8);
}

// A horizontal viridis bar from 0 to 1 with its labels.
void
ProbabilityLegend(Canvas & canvas, int x, int y, int width)
{
  auto bar = vtkSmartPointer<vtkImageData>::New();
  bar->SetDimensions(width, 12, 1);
  bar->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
  auto * p = static_cast<unsigned char *>(bar->GetScalarPointer());
  for (int row = 0; row < 12; ++row)
    for (int col = 0; col < width; ++col)
    {
      const Colour    c = palette::Viridis(width > 1 ? col / (width - 1.0) : 0.0);
      unsigned char * q = p + 3 * (static_cast<size_t>(row) * width + col);
      q[0] = c.r;
      q[1] = c.g;
      q[2] = c.b;
    }
  canvas.Text(x, y, "lung probability", 12);
  canvas.Paste(bar, x, y + 18);
  canvas.Text(x, y + 32, "0", 11);
  canvas.Text(x + width - TextWidth("1", 11), y + 32, "1", 11);
}

enum class Column
{
  Radiograph,
  Prediction,
  Probability,
  Comparison
};

OverlayStyle
StyleFor(Column column, OverlayStyle base)
{
  base.showText = false;
  base.showColourBar = false;
  base.showProbability = false;
  base.showReference = false;
  switch (column)
  {
    case Column::Radiograph:
      base.showOverlay = false;
      break;
    case Column::Prediction:
      base.mode = OverlayMode::Both;
      break;
    case Column::Probability:
      base.showOverlay = false;
      base.showProbability = true;
      base.probabilityOpacity = 1.0;
      break;
    case Column::Comparison:
      base.mode = OverlayMode::Outline;
      base.showReference = true;
      break;
  }
  return base;
}

// The score line under a thumbnail or beside a panel row.
std::string
ScoreText(const ImageLayers * layers, const std::optional<double> & dice, const LayerFiles & files)
{
  std::string s;
  if (dice)
    s += "Dice " + FormatFixed(*dice, 3);
  const auto & score = layers ? layers->qualityScore : files.qualityScore;
  const auto & flags = layers ? layers->qualityFlags : files.qualityFlags;
  if (score)
    s += std::string(s.empty() ? "" : "  ") + "quality " + FormatFixed(*score, 2);
  for (const auto & f : flags)
    s += " " + f;
  return s;
}

} // namespace

const char *
OrderName(SheetOrder order)
{
  switch (order)
  {
    case SheetOrder::Dice:
      return "Dice against the reference";
    case SheetOrder::Quality:
      return "quality score";
    default:
      return "file name";
  }
}

size_t
WritePanel(const std::vector<LayerFiles> & rows,
           const std::string &             path,
           const PanelOptions &            options,
           const FigureProgress &          progress)
{
  RequireDisplay("the panel " + path);
  if (rows.empty())
    throw LayerError("no images for the panel " + path);
  std::vector<Column> columns{ Column::Radiograph };
  const auto          any = [&](std::string LayerFiles::*member) {
    return std::any_of(rows.begin(), rows.end(), [&](const LayerFiles & f) { return !(f.*member).empty(); });
  };
  if (any(&LayerFiles::labels))
    columns.push_back(Column::Prediction);
  if (any(&LayerFiles::probability))
    columns.push_back(Column::Probability);
  if (any(&LayerFiles::reference))
    columns.push_back(Column::Comparison);

  const int  cell = std::max(32, options.cellSize);
  const int  titleHeight = 22, headerHeight = 30;
  const bool probabilityLegend = any(&LayerFiles::probability);
  const int  legendHeight = 56; // the colour key, and the probability's colour bar
  const int  width = kMargin + static_cast<int>(columns.size()) * (cell + kMargin);
  const int  height = headerHeight + static_cast<int>(rows.size()) * (titleHeight + cell + kMargin) + legendHeight;
  Canvas     canvas(width, height);
  for (size_t c = 0; c < columns.size(); ++c)
  {
    static const char * titles[] = { "radiograph", "prediction", "probability", "vs reference" };
    const std::string   title = titles[static_cast<int>(columns[c])];
    const int           x = kMargin + static_cast<int>(c) * (cell + kMargin);
    canvas.Text(x + std::max(0, (cell - TextWidth(title, 14)) / 2), 8, title, 14, palette::FigureText, cell);
  }

  OffscreenWindow window;
  RadiographScene scene;
  size_t          drawn = 0;
  for (size_t r = 0; r < rows.size(); ++r)
  {
    const int y = headerHeight + static_cast<int>(r) * (titleHeight + cell + kMargin);
    const int top = y + titleHeight;
    try
    {
      scene.SetLayers(LoadLayers(rows[r]));
      const ImageLayers & layers = scene.Layers();
      canvas.Text(kMargin,
                  y + 2,
                  layers.name + "   " + ScoreText(&layers, scene.DiceValue(), rows[r]),
                  13,
                  palette::FigureText,
                  width - 2 * kMargin);
      for (size_t c = 0; c < columns.size(); ++c)
      {
        const int x = kMargin + static_cast<int>(c) * (cell + kMargin);
        if (columns[c] == Column::Prediction && !layers.labels)
          MissingCell(canvas, x, top, cell, "no label map");
        else if (columns[c] == Column::Probability && !layers.probability)
          MissingCell(canvas, x, top, cell, "no probability");
        else if (columns[c] == Column::Comparison && !layers.reference)
          MissingCell(canvas, x, top, cell, "no reference");
        else
        {
          scene.SetStyle(StyleFor(columns[c], options.style));
          canvas.Paste(scene.Render(window, cell, cell), x, top);
        }
      }
      ++drawn;
    }
    catch (const LayerError & e)
    {
      canvas.Text(kMargin, y + 2, fs::path(rows[r].image).filename().string(), 13);
      MissingCell(canvas, kMargin, top, cell, "unreadable");
      canvas.Text(2 * kMargin + cell, top + 8, e.what(), 12, palette::FigureText, width - 3 * kMargin - cell);
    }
    if (progress)
      progress(r + 1, rows.size());
  }
  if (drawn == 0)
    throw LayerError("none of the " + std::to_string(rows.size()) + " images of the panel " + path + " can be read");
  const int barWidth = std::min(cell, 200);
  if (probabilityLegend)
    ProbabilityLegend(canvas, kMargin, height - legendHeight + 4, barWidth);
  const int keyX = kMargin + (probabilityLegend ? barWidth + 2 * kMargin : 0);
  canvas.Text(keyX,
              height - legendHeight + 4,
              "blue: right lung, orange: left lung",
              11,
              palette::FigureText,
              width - keyX - kMargin);
  if (columns.back() == Column::Comparison)
    canvas.Text(keyX, height - legendHeight + 20, "yellow: reference", 11, palette::FigureText, width - keyX - kMargin);
  WritePNG(canvas.Image(), path);
  return drawn;
}

ContactSheetResult
RankEntries(std::vector<SheetEntry> entries, const FigureProgress & progress)
{
  ContactSheetResult result;
  result.total = entries.size();
  const bool byDice = std::any_of(entries.begin(), entries.end(), [](const SheetEntry & e) {
    return e.dice || (!e.files.labels.empty() && !e.files.reference.empty());
  });
  const bool byQuality =
    std::any_of(entries.begin(), entries.end(), [](const SheetEntry & e) { return e.files.qualityScore.has_value(); });
  result.order = byDice ? SheetOrder::Dice : byQuality ? SheetOrder::Quality : SheetOrder::Name;
  for (size_t i = 0; i < entries.size(); ++i)
  {
    auto & e = entries[i];
    if (byDice && !e.dice && !e.files.labels.empty() && !e.files.reference.empty())
    {
      try
      {
        e.dice = DiceOfFiles(e.files.labels, e.files.reference);
      }
      catch (const LayerError & error)
      {
        e.error = error.what();
      }
    }
    if (progress)
      progress(i + 1, entries.size());
  }
  // Unreadable first, then worst first; entries without a value after those with one; then by name.
  const auto key = [&](const SheetEntry & e) -> std::optional<double> {
    return result.order == SheetOrder::Dice      ? e.dice
           : result.order == SheetOrder::Quality ? e.files.qualityScore
                                                 : std::nullopt;
  };
  std::stable_sort(entries.begin(), entries.end(), [&](const SheetEntry & a, const SheetEntry & b) {
    if (a.error.empty() != b.error.empty())
      return !a.error.empty();
    const auto ka = key(a), kb = key(b);
    if (ka.has_value() != kb.has_value())
      return ka.has_value();
    if (ka && kb && *ka != *kb)
      return *ka < *kb;
    return fs::path(a.files.image).filename() < fs::path(b.files.image).filename();
  });
  result.ranked = std::move(entries);
  return result;
}

ContactSheetResult
WriteContactSheet(std::vector<SheetEntry>     entries,
                  const std::string &         path,
                  const ContactSheetOptions & options,
                  const FigureProgress &      progress)
{
  RequireDisplay("the contact sheet " + path);
  if (entries.empty())
    throw LayerError("no images for the contact sheet " + path);
  ContactSheetResult result = RankEntries(std::move(entries));
  const size_t       n = std::min(result.ranked.size(), std::max<size_t>(1, options.maxThumbnails));
  const int          thumb = std::max(48, options.thumbnailSize);
  const int          columns = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(1, options.columns))));
  const int          rows = static_cast<int>((n + static_cast<size_t>(columns) - 1) / static_cast<size_t>(columns));
  const int          captionHeight = 34, titleHeight = 34;
  const int          width = kMargin + columns * (thumb + kMargin);
  const int          height = titleHeight + rows * (thumb + captionHeight + kMargin);
  Canvas             canvas(width, height);
  const std::string  title = (n < result.total ? "the worst " + Thousands(n) + " of " : std::string()) +
                            Thousands(result.total) + (result.total == 1 ? " image" : " images") +
                            (result.order == SheetOrder::Dice      ? ", worst first by Dice"
                             : result.order == SheetOrder::Quality ? ", worst first by quality"
                                                                   : ", by name");
  canvas.Text(kMargin, 8, title, 15, palette::FigureText, width - 2 * kMargin);

  OverlayStyle style = options.style;
  style.mode = OverlayMode::Both;
  style.showText = false;
  style.showColourBar = false;
  style.showProbability = false;
  style.showReference = true;
  OffscreenWindow window;
  RadiographScene scene;
  for (size_t i = 0; i < n; ++i)
  {
    SheetEntry & e = result.ranked[i];
    const int    x = kMargin + static_cast<int>(i % static_cast<size_t>(columns)) * (thumb + kMargin);
    const int y = titleHeight + static_cast<int>(i / static_cast<size_t>(columns)) * (thumb + captionHeight + kMargin);
    std::string score;
    if (e.error.empty())
    {
      try
      {
        LayerFiles files = e.files;
        files.probability.clear(); // thumbnails show the masks
        scene.SetLayers(LoadLayers(files));
        scene.SetStyle(style);
        canvas.Paste(scene.Render(window, thumb, thumb), x, y);
        score = ScoreText(&scene.Layers(), e.dice, e.files);
        ++result.shown;
      }
      catch (const LayerError & error)
      {
        e.error = error.what();
      }
    }
    if (!e.error.empty())
    {
      MissingCell(canvas, x, y, thumb, "unreadable");
      score = e.error;
    }
    canvas.Text(x, y + thumb + 3, fs::path(e.files.image).filename().string(), 11, palette::FigureText, thumb);
    canvas.Text(x, y + thumb + 18, score, 11, palette::FigureText, thumb);
    if (progress)
      progress(i + 1, n);
  }
  WritePNG(canvas.Image(), path);
  return result;
}

} // namespace rescrnet::viz
