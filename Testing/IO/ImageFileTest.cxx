// SPDX-License-Identifier: Apache-2.0
// rescrnet::io's image files and datasets: reading any format with the PNG guard, the radiograph checks, atomic
// writing, listing folders, split files with quoted cells.
#include "rescrnet/io/Dataset.h"
#include "rescrnet/io/ImageFile.h"

#include "itkImageRegionIterator.h"

#include "ResCRNetTestSupport.h"

#include <cstring>
#include <fstream>
#include <functional>

namespace
{

using Image2D = itk::Image<unsigned char, 2>;

Image2D::Pointer
Ramp(unsigned width, unsigned height)
{
  auto image = Image2D::New();
  image->SetRegions(itk::Size<2>{ { width, height } });
  image->Allocate();
  unsigned char v = 0;
  for (itk::ImageRegionIterator<Image2D> it(image, image->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
    it.Set(v++);
  return image;
}

std::string
ErrorOf(const std::function<void()> & f)
{
  try
  {
    f();
  }
  catch (const std::exception & e)
  {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(ImageFile, WritesAtomicallyAndReadsBack)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto image = Ramp(20, 12);
  for (const char * name : { "a.png", "a.nrrd", "a.nii.gz", "a.mha" })
  {
    const std::string path = (dir / name).string();
    rescrnet::io::WriteImage(image.GetPointer(), path);
    const auto back = rescrnet::io::ReadImage<Image2D>(path);
    ASSERT_EQ(back->GetLargestPossibleRegion(), image->GetLargestPossibleRegion()) << name;
    EXPECT_EQ(std::memcmp(back->GetBufferPointer(), image->GetBufferPointer(), 20 * 12), 0) << name;
    const auto info = rescrnet::io::CheckRadiographFile(path);
    EXPECT_EQ(info.dimension, 2u);
    EXPECT_EQ(info.size, (std::vector<uint64_t>{ 20, 12 }));
  }
  // Nothing but the four files (no temporary file left).
  size_t entries = 0;
  for (const auto & entry : std::filesystem::directory_iterator(dir))
  {
    ++entries;
    EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
  }
  EXPECT_EQ(entries, 4u);
  EXPECT_EQ(rescrnet::io::ListImages(dir.string()).size(), 4u);

  // A failed write leaves no partial file and names the file.
  const std::string missing =
    ErrorOf([&] { rescrnet::io::WriteImage(image.GetPointer(), (dir / "x" / "a.png").string()); });
  EXPECT_NE(missing.find("x/a.png"), std::string::npos) << missing;
  const std::string unknown =
    ErrorOf([&] { rescrnet::io::WriteImage(image.GetPointer(), (dir / "a.unknown").string()); });
  EXPECT_NE(unknown.find("cannot write"), std::string::npos) << unknown;
  EXPECT_EQ(rescrnet::io::ListImages(dir.string()).size(), 4u);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.unknown"));
}

TEST(ImageFile, BadInputIsOneLineNamingTheFile)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  std::ofstream(dir / "corrupt.png", std::ios::binary) << "\x89PNG\r\n\x1a\n this is not really a PNG";
  std::ofstream(dir / "text.png") << "hello";
  rescrnet::io::WriteImage(Ramp(4, 4).GetPointer(), (dir / "tiny.png").string());
  const std::pair<std::string, std::string> cases[] = {
    { "corrupt.png", "corrupt PNG" },
    { "text.png", "cannot read" },
    { "missing.png", "no such file" },
    { "tiny.png", "too small for a radiograph" },
    { "", "is a folder" },
  };
  for (const auto & [name, expected] : cases)
  {
    const std::string path = (dir / name).string();
    const std::string error = ErrorOf([&] { rescrnet::io::CheckRadiographFile(path); });
    EXPECT_NE(error.find(expected), std::string::npos) << name << ": " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  // The reader decodes a PNG with its own guard first: no abort on the corrupt file.
  const std::string error = ErrorOf([&] { rescrnet::io::ReadImage<Image2D>((dir / "corrupt.png").string()); });
  EXPECT_NE(error.find("corrupt PNG"), std::string::npos) << error;
  EXPECT_NE(error.find("corrupt.png"), std::string::npos) << error;
  // Listing goes by what ITK recognises (a PNG signature): the corrupt PNG and the tiny image, not the text file.
  EXPECT_EQ(rescrnet::io::ListImages(dir.string()).size(), 2u);
}

TEST(Dataset, SplitFileWithQuotedCellsAndFolders)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  std::ofstream(dir / "split.csv") << "id,image,mask,source,split\r\n"
                                      "a,\"images/a,1.png\",masks/a.png,MC,test\r\n"
                                      "b,images/b.png,masks/b.png,SH,train\r\n";
  const auto test = rescrnet::io::ReadSplitPairs((dir / "split.csv").string(), "test");
  ASSERT_EQ(test.size(), 1u);
  EXPECT_EQ(test[0].image, (dir / "images" / "a,1.png").string());
  EXPECT_EQ(test[0].source, "MC");
  EXPECT_EQ(rescrnet::io::ReadSplitPairs((dir / "split.csv").string(), "all").size(), 2u);
  EXPECT_NE(ErrorOf([&] { rescrnet::io::ReadSplitPairs((dir / "split.csv").string(), "val"); }).find("no rows"),
            std::string::npos);
  std::ofstream(dir / "bad.csv") << "id,picture\na,b\n";
  EXPECT_NE(ErrorOf([&] { rescrnet::io::ReadSplitPairs((dir / "bad.csv").string(), "all"); }).find("no 'image' column"),
            std::string::npos);

  std::filesystem::create_directories(dir / "images");
  std::filesystem::create_directories(dir / "masks");
  for (const char * name : { "p.png", "q.png" })
    rescrnet::io::WriteImage(Ramp(16, 16).GetPointer(), (dir / "images" / name).string());
  rescrnet::io::WriteImage(Ramp(16, 16).GetPointer(), (dir / "masks" / "p.nrrd").string()); // matched by stem
  const auto pairs = rescrnet::io::MatchFolderPairs((dir / "images").string(), (dir / "masks").string());
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].id, "p");
  EXPECT_EQ(pairs[0].source, "images");
}
