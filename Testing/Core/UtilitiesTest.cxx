// SPDX-License-Identifier: Apache-2.0
// The file and text utilities: atomic writing, RFC 4180 CSV, one-line messages.
#include "rescrnet/AtomicFile.h"
#include "rescrnet/CsvTable.h"
#include "rescrnet/InputFile.h"
#include "rescrnet/TextUtilities.h"

#include "ResCRNetTestSupport.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <climits>

namespace
{

std::string
ReadAll(const std::filesystem::path & path)
{
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The names in `dir`, sorted.
std::vector<std::string>
Entries(const std::filesystem::path & dir)
{
  std::vector<std::string> names;
  for (const auto & entry : std::filesystem::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

TEST(AtomicFile, ReplacesTheTargetOnlyOnCommit)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto target = dir / "report.nii.gz";
  std::ofstream(target) << "old";
  {
    rescrnet::AtomicFile file(target.string());
    // Hidden, in the target's folder, ending like the target (writers choose the format by extension).
    const std::filesystem::path temporary(file.temporaryPath());
    EXPECT_EQ(temporary.parent_path(), dir);
    EXPECT_EQ(temporary.filename().string().rfind(".tmp-", 0), 0u) << temporary;
    EXPECT_NE(temporary.filename().string().find("report.nii.gz"), std::string::npos) << temporary;
    EXPECT_EQ(temporary.string().substr(temporary.string().size() - 7), ".nii.gz");
    file.write("new");
    EXPECT_EQ(ReadAll(target), "old"); // not yet
    file.commit();
  }
  EXPECT_EQ(ReadAll(target), "new");
  EXPECT_EQ(Entries(dir), std::vector<std::string>{ "report.nii.gz" });
}

TEST(AtomicFile, LeavesNothingBehindWhenNotCommitted)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  std::ofstream(dir / "keep.csv") << "old";
  {
    rescrnet::AtomicFile file((dir / "keep.csv").string());
    file.write("half written");
    // An error here (an exception, a failed writer) destroys the file object without a commit.
  }
  EXPECT_EQ(ReadAll(dir / "keep.csv"), "old");
  EXPECT_EQ(Entries(dir), std::vector<std::string>{ "keep.csv" });

  // A commit without content (the writer never created the temporary file) fails and leaves nothing.
  rescrnet::AtomicFile empty((dir / "never.png").string());
  EXPECT_THROW(empty.commit(), rescrnet::AtomicFileError);
  EXPECT_EQ(Entries(dir), std::vector<std::string>{ "keep.csv" });
}

TEST(AtomicFile, RefusesMissingOrUnwritableFolders)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  try
  {
    rescrnet::WriteFileAtomically((dir / "missing" / "a.json").string(), "{}");
    ADD_FAILURE() << "no error for a missing folder";
  }
  catch (const rescrnet::AtomicFileError & e)
  {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(rescrnet::CheckWritableFolder(dir.string()), rescrnet::AtomicFileError); // a folder, not a file
  if (::geteuid() != 0)                                                                 // root writes anywhere
  {
    std::filesystem::create_directory(dir / "locked");
    ::chmod((dir / "locked").c_str(), 0555);
    EXPECT_THROW(rescrnet::WriteFileAtomically((dir / "locked" / "a.json").string(), "{}"), rescrnet::AtomicFileError);
    ::chmod((dir / "locked").c_str(), 0755);
  }
  // A full disk: /dev/full accepts the open and fails the write.
  if (std::filesystem::exists("/dev/full"))
  {
    rescrnet::AtomicFile file((dir / "x.txt").string());
    std::filesystem::create_symlink("/dev/full", file.temporaryPath());
    EXPECT_THROW(file.write(std::string(1 << 16, 'x')), rescrnet::AtomicFileError);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "x.txt"));
}

TEST(CsvTable, QuotesAsRfc4180AndReadsBack)
{
  rescrnet::CsvTable table({ "image", "status", "message" });
  table.addRow({ "a,b.png", "ok", "" });
  table.addRow({ "plain.png", "failed", "cannot read \"x\": bad\nsecond line" });
  table.addRow({ "short.png" }); // padded
  EXPECT_EQ(table.text(),
            "image,status,message\n"
            "\"a,b.png\",ok,\n"
            "plain.png,failed,\"cannot read \"\"x\"\": bad\nsecond line\"\n"
            "short.png,,\n");
  EXPECT_THROW(table.addRow({ "1", "2", "3", "4" }), std::invalid_argument);

  std::istringstream in(table.text());
  const auto         records = rescrnet::ReadCsvRecords(in);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[1], (std::vector<std::string>{ "a,b.png", "ok", "" }));
  EXPECT_EQ(records[2], (std::vector<std::string>{ "plain.png", "failed", "cannot read \"x\": bad\nsecond line" }));
  EXPECT_EQ(records[3], (std::vector<std::string>{ "short.png", "", "" }));

  EXPECT_EQ(rescrnet::CsvTable::number(0.96704321), "0.967043");
  EXPECT_EQ(rescrnet::CsvTable::number(3.0), "3");
}

TEST(CsvTable, ReaderTakesCrlfAndBlankLinesAndRefusesUnterminatedQuotes)
{
  std::istringstream lf("id,image\r\nA,a.png\r\n\r\nB,\"b.png\"\r\n");
  const auto         records = rescrnet::ReadCsvRecords(lf);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2], (std::vector<std::string>{ "B", "b.png" }));
  std::istringstream open("id,image\nA,\"a.png\n");
  EXPECT_THROW(rescrnet::ReadCsvRecords(open), std::invalid_argument);
}

TEST(TextUtilities, OneLineTrimSplitComma)
{
  EXPECT_EQ(rescrnet::OneLine("/src/itkImageFileReader.hxx:98:\nITK ERROR: ImageFileReader(0x1): Could not\n read"),
            "ImageFileReader(0x1): Could not read");
  EXPECT_EQ(rescrnet::OneLine("bad value\nException raised from f at x.cpp:1\nframe #0: g"), "bad value");
  EXPECT_EQ(rescrnet::OneLine("\n \n"), "unknown error");
  EXPECT_EQ(rescrnet::Trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(rescrnet::SplitComma(" 1, 2 ,3"), (std::vector<std::string>{ "1", "2", "3" }));
  EXPECT_EQ(rescrnet::SplitComma("a,"), (std::vector<std::string>{ "a", "" }));
  EXPECT_TRUE(rescrnet::SplitComma("  ").empty());
}

// The shared output guard: no output is an input (by real path), outputs are distinct, and FIFOs, devices and
// names the temporary prefix would push over NAME_MAX are handled before any work.
TEST(AtomicFile, OutputGuardRefusesInputsDuplicatesAndSpecialFiles)
{
  const auto        dir = rescrnet::testing::TemporaryDirectory();
  const std::string input = (dir / "in.png").string();
  std::ofstream(input) << "x";
  const std::string link = (dir / "link.png").string();
  ASSERT_EQ(::symlink(input.c_str(), link.c_str()), 0);
  EXPECT_THROW(rescrnet::CheckOutputFiles({ link }, { input }), rescrnet::AtomicFileError);
  EXPECT_THROW(rescrnet::CheckOutputFiles({ (dir / "." / "in.png").string() }, { input }), rescrnet::AtomicFileError);
  const std::string out = (dir / "out.nrrd").string();
  EXPECT_THROW(rescrnet::CheckOutputFiles({ out, (dir / "." / "out.nrrd").string() }, {}), rescrnet::AtomicFileError);
  EXPECT_NO_THROW(rescrnet::CheckOutputFiles({ out, (dir / "b.nrrd").string() }, { input }));
  const std::string fifo = (dir / "fifo.csv").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(rescrnet::CheckWritableFolder(fifo), rescrnet::AtomicFileError);
  EXPECT_THROW(rescrnet::CheckWritableFolder((dir / std::string(NAME_MAX + 1, 'a')).string()),
               rescrnet::AtomicFileError);
  // A name of NAME_MAX bytes is writable: the temporary file keeps the name's end within NAME_MAX.
  const std::string longName = (dir / (std::string(NAME_MAX - 4, 'b') + ".csv")).string();
  rescrnet::WriteFileAtomically(longName, "a,b\n");
  EXPECT_TRUE(std::filesystem::exists(longName));
  size_t entries = 0;
  for ([[maybe_unused]] const auto & e : std::filesystem::directory_iterator(dir))
    ++entries;
  EXPECT_EQ(entries, 4u); // in.png, link.png, fifo.csv, the long name: no temporary file left
}

TEST(InputFile, RefusesWhatIsNotABoundedRegularFile)
{
  const auto        dir = rescrnet::testing::TemporaryDirectory();
  const std::string fifo = (dir / "x.png").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto message = [](const std::string & p, uint64_t limit) {
    try
    {
      rescrnet::ReadInputFile(p, limit, "the file");
    }
    catch (const rescrnet::InputFileError & e)
    {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(fifo, 100), "cannot read the file " + fifo + ": not a regular file (a FIFO)");
  EXPECT_EQ(message("/dev/urandom", 100), "cannot read the file /dev/urandom: not a regular file (a character device)");
  const std::string big = (dir / "big.json").string();
  std::ofstream(big) << std::string(101, ' ');
  EXPECT_EQ(message(big, 100), "cannot read the file " + big + ": the file's 101 bytes exceed the limit of 100 bytes");
  EXPECT_EQ(rescrnet::ReadInputFile(big, 101).size(), 101u);
  EXPECT_THROW(rescrnet::CheckPixelBudget("a.png", 20000, 20000, 1, 100'000'000), rescrnet::InputFileError);
  EXPECT_THROW(rescrnet::CheckPixelBudget("a.png", 1ull << 33, 1ull << 33, 1ull << 33, 100), rescrnet::InputFileError);
  EXPECT_NO_THROW(rescrnet::CheckPixelBudget("a.png", 10000, 10000, 1, 100'000'000));
}
