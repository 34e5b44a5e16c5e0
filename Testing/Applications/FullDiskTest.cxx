// SPDX-License-Identifier: Apache-2.0
// A full disk, simulated with the kernel's file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored): every write to a
// file fails once the file would pass the limit, whatever library writes it (stdio, iostreams, libpng, ITK, VTK,
// DCMTK). Each module must then fail with exit code 1 and one line naming the file, and leave no file behind: no
// partial output, no temporary file, no 0-byte CSV or JSON.
#include "ResCRNetTestData.h"
#include "RunProgram.h"

#include "itkImage.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"

#include <csignal>
#include <sstream>
#include <sys/resource.h>

using namespace rescrnet::testing;
namespace fs = std::filesystem;

namespace
{
using LabelImage = itk::Image<unsigned char, 2>;

void
WritePhantom(const fs::path & path, unsigned w, unsigned h, bool mask)
{
  auto                   img = LabelImage::New();
  LabelImage::RegionType region;
  region.SetSize({ { w, h } });
  img->SetRegions(region);
  img->Allocate();
  for (itk::ImageRegionIterator<LabelImage> it(img, region); !it.IsAtEnd(); ++it)
  {
    const auto   idx = it.GetIndex();
    const double x = static_cast<double>(idx[0]) / w, y = static_cast<double>(idx[1]) / h;
    const bool   lung = std::pow((x - 0.3) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1 ||
                      std::pow((x - 0.7) / 0.15, 2) + std::pow((y - 0.5) / 0.3, 2) < 1;
    it.Set(mask ? (lung ? 255 : 0) : static_cast<unsigned char>((lung ? 60 : 200) + (idx[0] * 7 + idx[1] * 3) % 5));
  }
  auto writer = itk::ImageFileWriter<LabelImage>::New();
  writer->SetInput(img);
  writer->SetFileName(path.string());
  writer->Update();
}

// Runs `program` with files limited to `bytes` each: stdout to /dev/null (a device: not limited), stderr through a
// pipe. Returns the exit code (-1 for a signal) and stderr.
ProgramResult
RunOnFullDisk(const std::string & program, const std::vector<std::string> & args, rlim_t bytes)
{
  ProgramResult result;
  int           pipeEnds[2];
  if (::pipe(pipeEnds) != 0)
    return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipeEnds[0]);
  posix_spawn_file_actions_addclose(&actions, pipeEnds[1]);
  // The child inherits the limit and the ignored signal (a write past the limit then fails with EFBIG).
  struct rlimit saved;
  ::getrlimit(RLIMIT_FSIZE, &saved);
  struct rlimit limited = saved;
  limited.rlim_cur = bytes;
  const auto previous = std::signal(SIGXFSZ, SIG_IGN);
  ::setrlimit(RLIMIT_FSIZE, &limited);
  const pid_t pid = Spawn(ModulePath(program), args, &actions);
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipeEnds[1]);
  char    buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(pipeEnds[0], buffer, sizeof(buffer))) > 0)
    result.err.append(buffer, static_cast<size_t>(n));
  ::close(pipeEnds[0]);
  result.exitCode = WaitFor(pid);
  return result;
}

std::vector<std::string>
FilesIn(const fs::path & dir)
{
  std::vector<std::string> names;
  for (const auto & e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Exit code 1, one line on stderr besides progress lines ("... img/s  ETA ..."), naming `named`, and no file in
// `out`.
void
ExpectCleanFailure(const ProgramResult & r, const fs::path & out, const std::string & named, const std::string & what)
{
  EXPECT_EQ(r.exitCode, 1) << what << '\n' << r.err;
  std::istringstream       lines(r.err);
  std::vector<std::string> messages;
  for (std::string line; std::getline(lines, line);)
    if (line.find("ETA") == std::string::npos)
      messages.push_back(line);
  ASSERT_EQ(messages.size(), 1u) << what << '\n' << r.err;
  EXPECT_NE(messages[0].find(named), std::string::npos) << what << ": the message names " << named << '\n' << r.err;
  EXPECT_EQ(FilesIn(out), std::vector<std::string>{}) << what;
}

class FullDisk : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    model = WriteTinyLungModel(dir);
    fs::create_directories(dir / "images");
    fs::create_directories(dir / "masks");
    fs::create_directories(dir / "out");
    for (const char * name : { "a.png", "b.png" })
    {
      WritePhantom(dir / "images" / name, 64, 64, false);
      WritePhantom(dir / "masks" / name, 64, 64, true);
    }
  }

  fs::path dir = TemporaryDirectory();
  fs::path model;
};

} // namespace

TEST_F(FullDisk, SegmentationOfOneImage)
{
  const auto image = (dir / "images" / "a.png").string();
  const auto mask = (dir / "out" / "a.nrrd").string();
  for (const std::string option : { "", "--probability", "--overlay" })
  {
    std::vector<std::string> args{ "--model", model.string() };
    if (!option.empty())
      args.insert(args.end(), { option, (dir / "out" / (option == "--overlay" ? "a.png" : "p.nrrd")).string() });
    args.insert(args.end(), { image, mask });
    const auto r = RunOnFullDisk("ResCRNetLungSegmentation", args, 0);
    ExpectCleanFailure(r, dir / "out", (dir / "out").string(), "segmentation " + option);
  }
}

TEST_F(FullDisk, SegmentationOfAFolder)
{
  // The label maps fit and the results CSV does not: no results CSV, not even an empty one, and exit code 1.
  const auto r = RunOnFullDisk(
    "ResCRNetLungSegmentation", { "--model", model.string(), (dir / "images").string(), (dir / "out").string() }, 0);
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_NE(r.err.find((dir / "out").string()), std::string::npos) << r.err;
  for (const auto & name : FilesIn(dir / "out"))
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
  EXPECT_FALSE(fs::exists(dir / "out" / "results.csv"));
  EXPECT_FALSE(fs::exists(dir / "out" / "results.csv.partial")) << "no empty journal";
}

TEST_F(FullDisk, Evaluation)
{
  const auto r = RunOnFullDisk("ResCRNetEvaluate",
                               { "--model",
                                 model.string(),
                                 "--images",
                                 (dir / "images").string(),
                                 "--masks",
                                 (dir / "masks").string(),
                                 "--outputCSV",
                                 (dir / "out" / "e.csv").string(),
                                 "--summaryJson",
                                 (dir / "out" / "s.json").string() },
                               0);
  ExpectCleanFailure(r, dir / "out", (dir / "out").string(), "evaluation");
}

TEST_F(FullDisk, Training)
{
  const auto r = RunOnFullDisk("ResCRNetTrain",
                               { "--images",
                                 (dir / "images").string(),
                                 "--masks",
                                 (dir / "masks").string(),
                                 "--grid",
                                 "32,24",
                                 "--convResBlocks",
                                 "1",
                                 "--filters",
                                 "4",
                                 "--batchSize",
                                 "2",
                                 "--threads",
                                 "1",
                                 "--epochs",
                                 "1",
                                 (dir / "out" / "m.rcn").string() },
                               0);
  ExpectCleanFailure(r, dir / "out", (dir / "out").string(), "training");
}

TEST_F(FullDisk, Pipeline)
{
  const auto pipeline = SourceDirectory() / "Data" / "Pipelines" / "lung-segmentation.json";
  const auto r = RunOnFullDisk("ResCRNetPipeline",
                               { "--model",
                                 model.string(),
                                 pipeline.string(),
                                 (dir / "images" / "a.png").string(),
                                 (dir / "out" / "a.nrrd").string() },
                               0);
  ExpectCleanFailure(r, dir / "out", (dir / "out").string(), "pipeline");
}
