// SPDX-License-Identifier: Apache-2.0
// The segmentation module on a batch: a sharded run gives the masks and, merged (ResCRNetMergeResults), the results
// CSV of one run; an interrupted run resumes without segmenting the images it finished again.
#include "ResCRNetTestData.h"
#include "RunProgram.h"

#include "rescrnet/CsvTable.h"

#include "itkImage.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"

#include <chrono>
#include <cmath>
#include <sstream>

using namespace rescrnet::testing;
namespace fs = std::filesystem;

namespace
{
using FloatImage = itk::Image<float, 2>;
using LabelImage = itk::Image<unsigned char, 2>;

// Phantoms of different sizes and lung shapes, so that their masks differ.
void
WritePhantom(const fs::path & path, unsigned w, unsigned h, double shift)
{
  auto                   img = FloatImage::New();
  FloatImage::RegionType region;
  region.SetSize({ { w, h } });
  img->SetRegions(region);
  img->Allocate();
  for (itk::ImageRegionIterator<FloatImage> it(img, region); !it.IsAtEnd(); ++it)
  {
    const auto   idx = it.GetIndex();
    const double x = static_cast<double>(idx[0]) / w, y = static_cast<double>(idx[1]) / h;
    const bool   lung = std::pow((x - 0.3 - shift) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1 ||
                      std::pow((x - 0.7 + shift) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1;
    it.Set((lung ? 60.0f : 200.0f) + 10.0f * static_cast<float>((idx[0] * 7 + idx[1] * 3) % 5));
  }
  auto writer = itk::ImageFileWriter<FloatImage>::New();
  writer->SetInput(img);
  writer->SetFileName(path.string());
  writer->Update();
}

std::vector<std::string>
Images(const fs::path & dir, int n)
{
  fs::create_directories(dir);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i)
  {
    const std::string name = "cxr" + std::to_string(i) + ".nrrd";
    WritePhantom(dir / name, 60 + 4 * i, 56 + 2 * i, 0.02 * i);
    names.push_back(name);
  }
  return names;
}

std::vector<std::vector<std::string>>
ReadCsv(const fs::path & path)
{
  std::istringstream in(ReadWholeFile(path));
  return rescrnet::ReadCsvRecords(in);
}

// The table without its seconds column (timing differs between runs).
std::vector<std::vector<std::string>>
WithoutSeconds(std::vector<std::vector<std::string>> rows)
{
  EXPECT_FALSE(rows.empty());
  const auto column = std::find(rows.front().begin(), rows.front().end(), "seconds") - rows.front().begin();
  for (auto & row : rows)
    if (static_cast<size_t>(column) < row.size())
      row.erase(row.begin() + column);
  return rows;
}

bool
SamePixels(const fs::path & a, const fs::path & b)
{
  auto ra = itk::ImageFileReader<LabelImage>::New();
  ra->SetFileName(a.string());
  ra->Update();
  auto rb = itk::ImageFileReader<LabelImage>::New();
  rb->SetFileName(b.string());
  rb->Update();
  if (ra->GetOutput()->GetLargestPossibleRegion() != rb->GetOutput()->GetLargestPossibleRegion())
    return false;
  itk::ImageRegionConstIterator<LabelImage> ia(ra->GetOutput(), ra->GetOutput()->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<LabelImage> ib(rb->GetOutput(), rb->GetOutput()->GetLargestPossibleRegion());
  for (; !ia.IsAtEnd(); ++ia, ++ib)
    if (ia.Get() != ib.Get())
      return false;
  return true;
}

ProgramResult
Segment(const fs::path & model, std::vector<std::string> args)
{
  args.insert(args.begin(), { "--model", model.string() });
  return RunProgram(ModulePath("ResCRNetLungSegmentation"), args);
}
} // namespace

TEST(ResCRNetBatchSegmentation, TwoShardsGiveTheMasksAndMergedTheResultsOfOneRun)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  const auto names = Images(dir / "in", 5);
  // A manifest in another order than the folder, with relative and absolute paths.
  std::ofstream(dir / "manifest.csv") << "id,image\n"
                                      << "x,in/" << names[3] << "\ny," << (dir / "in" / names[0]).string() << "\n"
                                      << "z,in/" << names[4] << "\nw,in/" << names[1] << "\nv,in/" << names[2] << "\n";

  for (const std::string & input : { (dir / "in").string(), (dir / "manifest.csv").string() })
  {
    fs::remove_all(dir / "one");
    fs::remove_all(dir / "out");
    const auto one = Segment(model, { "--imagesInFlight", "1", input, (dir / "out").string() });
    ASSERT_EQ(one.exitCode, 0) << one.err;
    fs::rename(dir / "out", dir / "one");
    // The shards write into the same folder name as the single run (the label_map column names it).
    for (const std::string shard : { "0/2", "1/2" })
    {
      const auto r = Segment(model,
                             { "--shard",
                               shard,
                               "--outputCSV",
                               (dir / ("shard" + shard.substr(0, 1) + ".csv")).string(),
                               input,
                               (dir / "out").string() });
      ASSERT_EQ(r.exitCode, 0) << r.err;
      EXPECT_NE(r.out.find("of shard " + shard), std::string::npos) << r.out;
    }
    for (const auto & name : names)
    {
      const std::string mask = fs::path(name).stem().string() + "_lungs.nrrd";
      ASSERT_TRUE(fs::exists(dir / "out" / mask)) << mask;
      EXPECT_TRUE(SamePixels(dir / "one" / mask, dir / "out" / mask)) << mask;
    }
    EXPECT_EQ(ReadCsv(dir / "shard0.csv").size(), 1u + 3u);
    EXPECT_EQ(ReadCsv(dir / "shard1.csv").size(), 1u + 2u);
    const auto merge = RunProgram(ModulePath("ResCRNetMergeResults"),
                                  { "--shardResults",
                                    (dir / "shard1.csv").string(),
                                    "--shardResults",
                                    (dir / "shard0.csv").string(),
                                    (dir / "merged.csv").string() });
    ASSERT_EQ(merge.exitCode, 0) << merge.err;
    const auto single = ReadCsv(dir / "one" / "results.csv");
    ASSERT_EQ(single.size(), 6u);
    EXPECT_EQ(WithoutSeconds(ReadCsv(dir / "merged.csv")), WithoutSeconds(single));
    // Rows follow the input list: the folder's sorted names, or the manifest's order.
    EXPECT_NE(single[1][0].find(input == (dir / "in").string() ? names[0] : names[3]), std::string::npos);
    // One shard alone does not merge into a whole run.
    const auto partial = RunProgram(ModulePath("ResCRNetMergeResults"),
                                    { "--shardResults", (dir / "shard1.csv").string(), (dir / "m2.csv").string() });
    EXPECT_NE(partial.exitCode, 0);
    EXPECT_NE(partial.err.find("index 0"), std::string::npos) << partial.err;
    EXPECT_FALSE(fs::exists(dir / "m2.csv"));
  }
  // Out-of-range shards are refused before anything is written.
  const auto bad = Segment(model, { "--shard", "2/2", (dir / "in").string(), (dir / "bad").string() });
  EXPECT_NE(bad.exitCode, 0);
  EXPECT_NE(bad.err.find("2/2"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "bad" / "results.csv"));
}

TEST(ResCRNetBatchSegmentation, AnInterruptedRunResumesWithoutRedoingFinishedImages)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  const auto names = Images(dir / "in", 4);
  const auto full = Segment(model, { (dir / "in").string(), (dir / "out").string() });
  ASSERT_EQ(full.exitCode, 0) << full.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "results.csv.partial"));
  const auto reference = ReadCsv(dir / "out" / "results.csv");
  ASSERT_EQ(reference.size(), 5u);

  // The state a run killed while segmenting the fourth image leaves: no results CSV; a journal with the first three
  // images, the last of them cut short by the kill (no line end); the first label map intact; the second truncated
  // on disk (e.g. by a full disk later); the third and fourth missing.
  {
    std::ofstream journal(dir / "out" / "results.csv.partial", std::ios::binary);
    for (size_t r = 0; r < 3; ++r)
    {
      std::string line;
      for (size_t c = 0; c < reference[r].size(); ++c)
        line += (c ? "," : "") + rescrnet::CsvTable::quote(reference[r][c]);
      journal << line << "\n";
    }
    std::string cut;
    for (size_t c = 0; c < 4; ++c)
      cut += (c ? "," : "") + rescrnet::CsvTable::quote(reference[3][c]);
    journal << cut;
  }
  fs::remove(dir / "out" / "results.csv");
  const auto first = dir / "out" / "cxr0_lungs.nrrd";
  const auto old = fs::last_write_time(first) - std::chrono::hours(24);
  fs::last_write_time(first, old);
  fs::resize_file(dir / "out" / "cxr1_lungs.nrrd", fs::file_size(dir / "out" / "cxr1_lungs.nrrd") / 2);
  fs::remove(dir / "out" / "cxr2_lungs.nrrd");
  fs::remove(dir / "out" / "cxr3_lungs.nrrd");

  const auto resumed = Segment(model, { "--resume", (dir / "in").string(), (dir / "out").string() });
  ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("Segmented 3 images (resumed: 1 "), std::string::npos) << resumed.out;
  // The finished image was not segmented again; the damaged one was.
  EXPECT_EQ(fs::last_write_time(first), old);
  const auto again = ReadCsv(dir / "out" / "results.csv");
  EXPECT_EQ(again[1], reference[1]); // kept as it was, seconds included
  EXPECT_EQ(WithoutSeconds(again), WithoutSeconds(reference));
  for (const auto & name : names)
    EXPECT_TRUE(fs::exists(dir / "out" / (fs::path(name).stem().string() + "_lungs.nrrd"))) << name;
  EXPECT_FALSE(fs::exists(dir / "out" / "results.csv.partial"));

  // A finished run resumes to nothing to do and the same table.
  const auto nothing = Segment(model, { "--resume", (dir / "in").string(), (dir / "out").string() });
  ASSERT_EQ(nothing.exitCode, 0) << nothing.err;
  EXPECT_NE(nothing.out.find("Segmented 0 images (resumed: 4 "), std::string::npos) << nothing.out;
  EXPECT_EQ(ReadCsv(dir / "out" / "results.csv"), again);
}

// X.nrrd and X.png would both write X_lungs.nrrd: the run is refused before anything is written, naming both files.
TEST(ResCRNetBatchSegmentation, RefusesTwoImagesThatWouldWriteTheSameOutputs)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  Images(dir / "in", 2);
  auto png = itk::ImageFileReader<LabelImage>::New(); // the same radiograph as 8-bit PNG
  png->SetFileName((dir / "in" / "cxr0.nrrd").string());
  auto writer = itk::ImageFileWriter<LabelImage>::New();
  writer->SetInput(png->GetOutput());
  writer->SetFileName((dir / "in" / "cxr0.png").string());
  writer->Update();
  const auto r = Segment(model, { (dir / "in").string(), (dir / "out").string() });
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_NE(r.err.find("cxr0.nrrd"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cxr0.png"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "cxr0_lungs.nrrd"));
  EXPECT_FALSE(fs::exists(dir / "out" / "results.csv"));
}

// A rerun whose output folder is the input folder: the masks, overlays and probability maps of the first run are not
// taken for radiographs (each is named as skipped), and the results are those of the first run.
TEST(ResCRNetBatchSegmentation, ARerunIntoTheInputFolderDoesNotSegmentThePreviousOutputs)
{
  const auto                     dir = TemporaryDirectory();
  const auto                     model = WriteTinyLungModel(dir);
  const auto                     names = Images(dir / "in", 2);
  const std::vector<std::string> args{ "--overlay",          "yes", "--probability", "yes", (dir / "in").string(),
                                       (dir / "in").string() };
  // --overlay/--probability in folder mode take a value (any): the file names follow the pipeline.
  const auto first = Segment(model, args);
  ASSERT_EQ(first.exitCode, 0) << first.err;
  const auto reference = ReadCsv(dir / "in" / "results.csv");
  ASSERT_EQ(reference.size(), 3u);
  const auto second = Segment(model, args);
  ASSERT_EQ(second.exitCode, 0) << second.err;
  EXPECT_NE(second.out.find("Segmented 2 images"), std::string::npos) << second.out;
  for (const auto & name : names)
  {
    const std::string stem = fs::path(name).stem().string();
    EXPECT_NE(second.err.find("skipped " + (dir / "in" / (stem + "_lungs.nrrd")).string()), std::string::npos)
      << second.err;
    EXPECT_FALSE(fs::exists(dir / "in" / (stem + "_lungs_lungs.nrrd")));
  }
  EXPECT_EQ(WithoutSeconds(ReadCsv(dir / "in" / "results.csv")), WithoutSeconds(reference));
}

// A symbolic link loop in the folder does not abort the batch: it gets a row saying why it could not be read, the
// other images are segmented, and the exit code says that one image failed.
TEST(ResCRNetBatchSegmentation, ASymbolicLinkLoopGetsARowAndTheOthersAreSegmented)
{
  const auto dir = TemporaryDirectory();
  const auto model = WriteTinyLungModel(dir);
  Images(dir / "in", 2);
  fs::create_symlink("loop.png", dir / "in" / "loop.png");
  fs::create_symlink(dir / "in" / "nothing.png", dir / "in" / "dangling.png");
  const auto r = Segment(model, { (dir / "in").string(), (dir / "out").string() });
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_NE(r.err.find("loop.png"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out" / "cxr0_lungs.nrrd"));
  EXPECT_TRUE(fs::exists(dir / "out" / "cxr1_lungs.nrrd"));
  const auto rows = ReadCsv(dir / "out" / "results.csv");
  ASSERT_EQ(rows.size(), 4u); // header, cxr0, cxr1, loop
  const auto loop = std::find_if(
    rows.begin(), rows.end(), [](const auto & row) { return row.front().find("loop.png") != std::string::npos; });
  ASSERT_NE(loop, rows.end());
  EXPECT_NE((*loop)[2], "ok");
  const auto message = std::find(rows.front().begin(), rows.front().end(), "message") - rows.front().begin();
  EXPECT_NE((*loop)[static_cast<size_t>(message)].find("symbolic links"), std::string::npos) << (*loop)[2];
}

// The same inputs give byte-identical outputs (label maps, probability maps, overlays, and the results CSV but for
// its seconds column) whatever the number of network threads and of images in flight, run after run. Done with
// the committed default model on radiograph-sized phantoms, so that the network's multi-threaded kernels do real
// work.
TEST(ResCRNetBatchSegmentation, OutputsAreByteIdenticalAcrossRunsAndThreadCounts)
{
  const auto dir = TemporaryDirectory();
  const auto model = SourceDirectory() / "Data" / "Models" / "ResCRNet-lungs-default.rcn";
  fs::create_directories(dir / "in");
  for (int i = 0; i < 3; ++i)
    WritePhantom(dir / "in" / ("cxr" + std::to_string(i) + ".nrrd"), 300 + 20 * i, 280 + 10 * i, 0.02 * i);
  const std::vector<std::vector<std::string>> settings{
    { "--threads", "1", "--imagesInFlight", "1" },
    { "--threads", "2", "--imagesInFlight", "3" },
    { "--threads", "2", "--imagesInFlight", "3" },
    { "--threads", "0", "--imagesInFlight", "2" },
  };
  std::map<std::string, std::string> first;
  for (size_t s = 0; s < settings.size(); ++s)
  {
    const auto out = dir / ("out" + std::to_string(s));
    auto       args = settings[s];
    args.insert(args.end(), { "--overlay", "yes", "--probability", "yes", (dir / "in").string(), out.string() });
    const auto r = Segment(model, args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::map<std::string, std::string> files;
    for (const auto & entry : fs::directory_iterator(out))
    {
      const std::string  name = entry.path().filename().string();
      std::ostringstream content;
      if (name == "results.csv") // but for the seconds, and the output folder in the label_map column
        for (const auto & row : WithoutSeconds(ReadCsv(entry.path())))
          for (const auto & cell : row)
            content << (cell.rfind(out.string(), 0) == 0 ? cell.substr(out.string().size()) : cell) << '\x1f';
      else
        content << ReadWholeFile(entry.path());
      files[name] = content.str();
    }
    EXPECT_EQ(files.size(), 3u * 3u + 2u) << "masks, overlays, probability maps, results CSV, effective pipeline";
    if (s == 0)
      first = files;
    else
      for (const auto & [name, content] : first)
        EXPECT_TRUE(files.count(name) && files.at(name) == content)
          << name << " differs with " << settings[s][1] << " threads, " << settings[s][3] << " images in flight";
  }
}
