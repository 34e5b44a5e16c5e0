// SPDX-License-Identifier: Apache-2.0
// Slicer progress tags from a real ITK filter and from plain stages, and the console progress line.
#include "rescrnet/cli/FilterWatcher.h"
#include "rescrnet/cli/Progress.h"

#include "ResCRNetTestSupport.h"

#include "itkImage.h"
#include "itkShiftScaleImageFilter.h"

#include <regex>
#include <sstream>

using namespace rescrnet::cli;

namespace
{

// The values of every <tag>value</tag> in `text`.
std::vector<double>
TagValues(const std::string & text, const std::string & tag)
{
  std::vector<double> values;
  const std::regex    re("<" + tag + ">([^<]*)</" + tag + ">");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    values.push_back(std::stod((*it)[1].str()));
  return values;
}

} // namespace

TEST(FilterWatcher, ReportsStartProgressAndEndOfAnITKFilter)
{
  using ImageType = itk::Image<float, 2>;
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { 256, 256 } });
  image->Allocate();
  image->FillBuffer(1.0f);
  auto filter = itk::ShiftScaleImageFilter<ImageType, ImageType>::New();
  filter->SetInput(image);
  filter->SetScale(2.0);

  std::ostringstream os;
  {
    FilterWatcher watcher(filter, "Scaling <the> image", 0.2, 0.6, os);
    filter->Update();
    EXPECT_GE(watcher.GetElapsedSeconds(), 0.0);
  }
  const std::string text = os.str();
  EXPECT_EQ(text.rfind("<filter-start>\n<filter-name>ShiftScaleImageFilter</filter-name>\n"
                       "<filter-comment> \"Scaling &lt;the&gt; image\" </filter-comment>\n</filter-start>\n",
                       0),
            0u)
    << text;
  EXPECT_NE(text.find("<filter-end>\n<filter-name>ShiftScaleImageFilter</filter-name>\n<filter-time>"),
            std::string::npos)
    << text;
  const auto progress = TagValues(text, "filter-progress");
  ASSERT_GE(progress.size(), 2u) << text;
  EXPECT_DOUBLE_EQ(progress.front(), 0.2);
  EXPECT_DOUBLE_EQ(progress.back(), 0.6);
  for (size_t i = 0; i < progress.size(); ++i)
  {
    EXPECT_GE(progress[i], 0.2) << text;
    EXPECT_LE(progress[i], 0.6) << text;
    if (i > 0)
    {
      EXPECT_GE(progress[i], progress[i - 1]) << text;
    }
  }
  EXPECT_EQ(TagValues(text, "filter-time").size(), 1u);
  EXPECT_LT(text.find("<filter-progress>"), text.find("<filter-end>"));

  // The observers are gone with the watcher.
  filter->Modified();
  filter->Update();
  EXPECT_EQ(os.str(), text);
}

TEST(ProgressStage, MapsOntoItsShareOfTheRun)
{
  std::ostringstream os;
  {
    ProgressStage stage("Inference", "Running the network", 0.5, 1.0, os);
    for (int i = 1; i <= 1000; ++i)
      stage.Update(i / 1000.0);
  }
  const std::string text = os.str();
  EXPECT_NE(text.find("<filter-name>Inference</filter-name>"), std::string::npos);
  EXPECT_NE(text.find("<filter-comment> \"Running the network\" </filter-comment>"), std::string::npos);
  const auto progress = TagValues(text, "filter-progress");
  ASSERT_FALSE(progress.empty());
  EXPECT_DOUBLE_EQ(progress.front(), 0.5);
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);
  EXPECT_LE(progress.size(), 110u) << "throttled to steps of 0.005 of the run";
  EXPECT_EQ(TagValues(text, "filter-stage-progress").back(), 1.0);
  EXPECT_EQ(TagValues(text, "filter-time").size(), 1u);
}

TEST(ProgressStage, ExceptionEndsWithoutClaimingCompletion)
{
  std::ostringstream os;
  try
  {
    ProgressStage stage("Load", "Loading", 0.0, 0.5, os);
    stage.Update(0.3);
    throw std::runtime_error("boom");
  }
  catch (const std::runtime_error &)
  {}
  const std::string text = os.str();
  EXPECT_NE(text.find("<filter-end>"), std::string::npos);
  EXPECT_DOUBLE_EQ(TagValues(text, "filter-progress").back(), 0.15);
}

TEST(Progress, PlainReports)
{
  std::ostringstream os;
  ReportProgress(0.25, os);
  ReportProgress(7.0, os);
  ReportStageProgress(-1.0, os);
  EXPECT_EQ(os.str(),
            "<filter-progress>0.2500</filter-progress>\n<filter-progress>1.0000</filter-progress>\n"
            "<filter-stage-progress>0.0000</filter-stage-progress>\n");
}

TEST(ConsoleProgress, Line)
{
  std::ostringstream os;
  ConsoleProgress    p(40, "img", os, false);
  EXPECT_EQ(p.Line(0, 0.0), "0/40  -- img/s  ETA --:--");
  EXPECT_EQ(p.Line(10, 4.0), "10/40  2.50 img/s  ETA 00:12");
  EXPECT_EQ(p.Line(20, 1.0), "20/40  20.0 img/s  ETA 00:01");
  EXPECT_EQ(p.Line(40, 8.0), "40/40  5.00 img/s  ETA 00:00");
  EXPECT_EQ(FormatDuration(59.4), "00:59");
  EXPECT_EQ(FormatDuration(61), "01:01");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
  EXPECT_EQ(FormatDuration(-1), "--:--");
}

TEST(ConsoleProgress, NotATerminalWritesWholeLinesRarely)
{
  std::ostringstream os;
  {
    ConsoleProgress p(1000, "img", os, false, 3600.0);
    for (int i = 0; i < 1000; ++i)
      p.Increment();
  }
  const std::string text = os.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text; // the first update and the last
  EXPECT_NE(text.find("1000/1000"), std::string::npos) << text;
}

TEST(ConsoleProgress, TerminalRewritesInPlace)
{
  std::ostringstream os;
  {
    ConsoleProgress p(3, "epoch", os, true, 0.0);
    p.Update(1);
    p.Update(2);
  }
  const std::string text = os.str();
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("2/3"), std::string::npos);
  EXPECT_NE(text.find("epoch/s"), std::string::npos);
}

TEST(ProgressLine, Text)
{
  // Fraction only (one image): bar, percent, ETA from the elapsed time.
  EXPECT_EQ(ProgressLineText(0.25, 0, 0, "img", 3.0, ""), "[#####---------------]  25%  ETA 00:09");
  // A count (a folder): done/total and the rate; the fraction, when known, sets the ETA.
  EXPECT_EQ(ProgressLineText(-1.0, 10, 40, "img", 4.0, ""),
            "[#####---------------]  25%  10/40 img  2.50 img/s  ETA 00:12");
  EXPECT_EQ(ProgressLineText(0.5, 1, 2, "img", 2.0, "cxr.png"),
            "[##########----------]  50%  1/2 img  0.50 img/s  ETA 00:02  cxr.png");
  EXPECT_EQ(ProgressLineText(1.0, 0, 0, "img", 2.0, ""), "[####################] 100%  ETA 00:00");
  // Nothing known yet; NaN is no fraction; the width is a limit.
  EXPECT_EQ(ProgressLineText(-1.0, 0, 0, "img", 0.0, ""), "[--------------------]   0%  ETA --:--");
  EXPECT_EQ(ProgressLineText(std::nan(""), 0, 0, "img", 1.0, ""), "[--------------------]   0%  ETA --:--");
  EXPECT_EQ(ProgressLineText(0.5, 0, 0, "img", 1.0, "detail", 10).size(), 10u);
}

// Explicit streams always get the tags, whatever the mode: the mode only redirects reports meant for stdout.
TEST(ProgressLine, ExplicitStreamsKeepTheTags)
{
  const ProgressMode saved = CurrentProgressMode();
  SetProgressMode(ProgressMode::Line);
  std::ostringstream os;
  ReportProgress(0.5, os);
  {
    ProgressStage stage("Stage", "comment", 0.0, 1.0, os);
  }
  SetProgressMode(saved);
  EXPECT_NE(os.str().find("<filter-progress>0.5000</filter-progress>"), std::string::npos);
  EXPECT_NE(os.str().find("<filter-end>"), std::string::npos);
}
