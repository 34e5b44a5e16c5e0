// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/viz/TrainingCurve.h"

#include "rescrnet/CsvTable.h"
#include "rescrnet/TextUtilities.h"

#include "rescrnet/viz/Palette.h"
#include "rescrnet/viz/Render.h"

#include <vtkAxis.h>
#include <vtkChartLegend.h>
#include <vtkChartXY.h>
#include <vtkContextActor.h>
#include <vtkContextScene.h>
#include <vtkDoubleArray.h>
#include <vtkImageData.h>
#include <vtkPen.h>
#include <vtkPlotLine.h>
#include <vtkRenderer.h>
#include <vtkTable.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>

namespace rescrnet::viz
{

namespace
{

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double
Parse(const std::string & cell)
{
  const std::string s = Trim(cell);
  if (s.empty())
    return kNaN;
  errno = 0;
  char *       end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() ? v : kNaN; // "nan", "inf" parse; other text is no value
}

// One line of a chart: the rows where both x and y are finite.
struct Series
{
  std::string         label;
  std::vector<double> x, y;
  Colour              colour;
  int                 lineType{ vtkPen::SOLID_LINE };
  float               width{ 2.5f };
  bool                markers{ true }; // circles on the points of short histories
};

Series
MakeSeries(const TrainingHistory & h, const std::string & column, const std::string & label, Colour colour)
{
  Series s;
  s.label = label;
  s.colour = colour;
  if (const auto * values = h.Column(column))
    for (size_t i = 0; i < h.epoch.size() && i < values->size(); ++i)
      if (std::isfinite(h.epoch[i]) && std::isfinite((*values)[i]))
      {
        s.x.push_back(h.epoch[i]);
        s.y.push_back((*values)[i]);
      }
  return s;
}

void
AddSeries(vtkChartXY * chart, const Series & s)
{
  if (s.x.empty())
    return;
  auto table = vtkSmartPointer<vtkTable>::New();
  auto x = vtkSmartPointer<vtkDoubleArray>::New();
  x->SetName("epoch");
  auto y = vtkSmartPointer<vtkDoubleArray>::New();
  y->SetName(s.label.c_str());
  for (size_t i = 0; i < s.x.size(); ++i)
  {
    x->InsertNextValue(s.x[i]);
    y->InsertNextValue(s.y[i]);
  }
  table->AddColumn(x);
  table->AddColumn(y);
  auto * plot = vtkPlotLine::SafeDownCast(chart->AddPlot(vtkChart::LINE));
  plot->SetInputData(table, 0, 1);
  plot->SetColor(s.colour.r, s.colour.g, s.colour.b, 255);
  plot->SetWidth(s.width);
  plot->GetPen()->SetLineType(s.lineType);
  plot->SetLabel(s.label);
  if (s.markers && s.x.size() <= 40)
  {
    plot->SetMarkerStyle(vtkPlotPoints::CIRCLE);
    plot->SetMarkerSize(6.0f);
  }
}

// Axis ranges over the finite values with a margin; a single value gets a range around it.
void
SetRanges(vtkChartXY * chart, const std::vector<Series> & series, double firstEpoch, double lastEpoch)
{
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto & s : series)
    for (double v : s.y)
    {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!(lo <= hi))
  {
    lo = 0.0;
    hi = 1.0;
  }
  const double pad = hi > lo ? 0.06 * (hi - lo) : std::max(1e-3, 0.05 * std::fabs(hi));
  auto *       left = chart->GetAxis(vtkAxis::LEFT);
  left->SetBehavior(vtkAxis::FIXED);
  left->SetRange(lo - pad, hi + pad);
  auto * bottom = chart->GetAxis(vtkAxis::BOTTOM);
  bottom->SetBehavior(vtkAxis::FIXED);
  if (lastEpoch > firstEpoch)
    bottom->SetRange(firstEpoch - 0.02 * (lastEpoch - firstEpoch), lastEpoch + 0.02 * (lastEpoch - firstEpoch));
  else
    bottom->SetRange(firstEpoch - 1.0, firstEpoch + 1.0);
}

vtkSmartPointer<vtkChartXY>
MakeChart(const std::string &         title,
          const std::string &         yTitle,
          std::vector<Series>         series,
          const std::optional<double> best,
          double                      firstEpoch,
          double                      lastEpoch,
          bool                        legendAtBottom)
{
  auto chart = vtkSmartPointer<vtkChartXY>::New();
  chart->SetTitle(title);
  chart->GetTitleProperties()->SetFontSize(16);
  chart->GetTitleProperties()->BoldOn();
  chart->GetAxis(vtkAxis::BOTTOM)->SetTitle("epoch");
  chart->GetAxis(vtkAxis::LEFT)->SetTitle(yTitle);
  for (int a : { vtkAxis::BOTTOM, vtkAxis::LEFT })
  {
    chart->GetAxis(a)->GetTitleProperties()->SetFontSize(13);
    chart->GetAxis(a)->GetLabelProperties()->SetFontSize(12);
  }
  SetRanges(chart, series, firstEpoch, lastEpoch);
  for (const auto & s : series)
    AddSeries(chart, s);
  if (best)
  {
    double range[2];
    chart->GetAxis(vtkAxis::LEFT)->GetRange(range);
    Series marker;
    marker.label = "best epoch " + FormatShort(*best);
    marker.colour = palette::FigureText;
    marker.lineType = vtkPen::DASH_LINE;
    marker.width = 1.5f;
    marker.markers = false;
    marker.x = { *best, *best };
    marker.y = { range[0], range[1] };
    AddSeries(chart, marker);
  }
  chart->SetShowLegend(true);
  auto * legend = chart->GetLegend();
  legend->SetHorizontalAlignment(vtkChartLegend::RIGHT);
  legend->SetVerticalAlignment(legendAtBottom ? vtkChartLegend::BOTTOM : vtkChartLegend::TOP);
  legend->GetLabelProperties()->SetFontSize(12);
  return chart;
}

} // namespace

const std::vector<double> *
TrainingHistory::Column(const std::string & name) const
{
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? nullptr : &values[static_cast<size_t>(it - names.begin())];
}

std::vector<std::string>
TrainingHistory::SourceDiceColumns() const
{
  std::vector<std::string> out;
  for (const auto & n : names)
    if (n.size() > 9 && n.compare(0, 9, "val_dice_") == 0)
      out.push_back(n);
  return out;
}

TrainingHistory
ReadTrainingHistory(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::vector<std::vector<std::string>> records;
  try
  {
    records = ReadCsvRecords(in);
  }
  catch (const std::invalid_argument & e)
  {
    throw std::runtime_error(path + ": " + e.what());
  }
  if (records.empty())
    throw std::runtime_error(path + ": empty file (expected a header line with an 'epoch' column)");
  TrainingHistory h;
  for (const auto & cell : records[0])
    h.names.push_back(Trim(cell));
  const auto epochColumn = std::find(h.names.begin(), h.names.end(), "epoch");
  if (epochColumn == h.names.end())
    throw std::runtime_error(path + ": no 'epoch' column in the header");
  const auto epochIndex = static_cast<size_t>(epochColumn - h.names.begin());
  h.values.resize(h.names.size());
  for (size_t r = 1; r < records.size(); ++r)
  {
    const auto & cells = records[r];
    const double epoch = epochIndex < cells.size() ? Parse(cells[epochIndex]) : kNaN;
    if (!std::isfinite(epoch))
      continue; // also blank lines
    h.epoch.push_back(epoch);
    for (size_t c = 0; c < h.names.size(); ++c)
      h.values[c].push_back(c < cells.size() ? Parse(cells[c]) : kNaN);
  }
  return h;
}

std::optional<size_t>
BestEpochRow(const TrainingHistory & h)
{
  for (const char * name : { "val_loss", "loss" })
  {
    const auto * column = h.Column(name);
    if (!column)
      continue;
    std::optional<size_t> best;
    for (size_t i = 0; i < column->size(); ++i)
      if (std::isfinite((*column)[i]) && (!best || (*column)[i] < (*column)[*best]))
        best = i;
    if (best)
      return best;
  }
  return std::nullopt;
}

void
WriteTrainingCurvePNG(const TrainingHistory & h, const std::string & path, int width, int height)
{
  if (h.epoch.empty())
    throw std::runtime_error("cannot draw " + path + ": the training history has no epochs");
  RequireDisplay("the training curve " + path);
  const double          firstEpoch = *std::min_element(h.epoch.begin(), h.epoch.end());
  const double          lastEpoch = *std::max_element(h.epoch.begin(), h.epoch.end());
  const auto            bestRow = BestEpochRow(h);
  std::optional<double> best;
  std::string           bestText;
  if (bestRow)
  {
    best = h.epoch[*bestRow];
    const auto * valLoss = h.Column("val_loss");
    bestText = " - best epoch " + FormatShort(*best);
    if (valLoss && std::isfinite((*valLoss)[*bestRow]))
      bestText += ", val_loss " + FormatShort((*valLoss)[*bestRow]);
  }

  std::vector<Series> losses{ MakeSeries(h, "loss", "train loss", palette::Train),
                              MakeSeries(h, "val_loss", "val loss", palette::Validation) };
  std::vector<Series> overlap{ MakeSeries(h, "tanimoto", "train Tanimoto", palette::Train),
                               MakeSeries(h, "val_tanimoto", "val Tanimoto", palette::Validation),
                               MakeSeries(h, "val_dice", "val Dice", palette::Sources[0]) };
  overlap[2].lineType = vtkPen::DASH_LINE;
  size_t colour = 1;
  for (const auto & column : h.SourceDiceColumns())
  {
    Series s =
      MakeSeries(h, column, "val Dice " + column.substr(9), palette::Sources[colour % palette::Sources.size()]);
    s.width = 1.5f;
    s.lineType = vtkPen::DASH_LINE;
    overlap.push_back(s);
    ++colour;
  }
  const auto any = [](const std::vector<Series> & series) {
    return std::any_of(series.begin(), series.end(), [](const Series & s) { return !s.x.empty(); });
  };

  OffscreenWindow window;
  auto *          renderer = window.Renderer();
  renderer->RemoveAllViewProps();
  renderer->SetBackground(1.0, 1.0, 1.0);
  auto actor = vtkSmartPointer<vtkContextActor>::New();
  auto left = MakeChart(any(losses) ? "Loss" + bestText : "Loss (no finite values)",
                        "weighted Tanimoto loss",
                        losses,
                        best,
                        firstEpoch,
                        lastEpoch,
                        false);
  auto right = MakeChart(any(overlap) ? "Tanimoto and Dice" : "Tanimoto and Dice (no finite values)",
                         "overlap",
                         overlap,
                         best,
                         firstEpoch,
                         lastEpoch,
                         true);
  const float half = 0.5f * static_cast<float>(width);
  left->SetAutoSize(false);
  left->SetSize(vtkRectf(0.0f, 0.0f, half, static_cast<float>(height)));
  right->SetAutoSize(false);
  right->SetSize(vtkRectf(half, 0.0f, half, static_cast<float>(height)));
  actor->GetScene()->AddItem(left);
  actor->GetScene()->AddItem(right);
  renderer->AddActor(actor);
  auto image = window.Capture(width, height);
  renderer->RemoveActor(actor);
  WritePNG(image, path);
}

void
WriteTrainingCurvePNG(const std::string & historyCSV, const std::string & path)
{
  WriteTrainingCurvePNG(ReadTrainingHistory(historyCSV), path);
}

} // namespace rescrnet::viz
