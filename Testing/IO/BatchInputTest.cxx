// SPDX-License-Identifier: Apache-2.0
// Batch input at archive scale: manifests, --shard K/N, and the merge of the shards' results CSVs.
#include "rescrnet/io/BatchInput.h"

#include "ResCRNetTestSupport.h"

#include "gtest/gtest.h"

#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;
using namespace rescrnet::io;

namespace
{
void
WriteText(const fs::path & path, const std::string & text)
{
  std::ofstream(path, std::ios::binary) << text;
}
} // namespace

TEST(BatchInput, ParsesShards)
{
  EXPECT_EQ(ParseShard("").count, 1u);
  const Shard s = ParseShard("3/8");
  EXPECT_EQ(s.index, 3u);
  EXPECT_EQ(s.count, 8u);
  for (const char * bad : { "8/8", "1", "-1/4", "1/0", "a/b", "1/4/2", " 1/4", "1/" })
    EXPECT_THROW(ParseShard(bad), BatchInputError) << bad;
}

TEST(BatchInput, ShardsPartitionTheListDeterministically)
{
  std::vector<std::string> paths;
  for (int i = 0; i < 23; ++i)
    paths.push_back("img" + std::to_string(i) + ".png");
  std::set<size_t> seen;
  size_t           smallest = paths.size(), largest = 0;
  for (size_t k = 0; k < 4; ++k)
  {
    const auto items = SelectShard(paths, { k, 4 });
    EXPECT_EQ(items.size(), SelectShard(paths, { k, 4 }).size());
    smallest = std::min(smallest, items.size());
    largest = std::max(largest, items.size());
    for (const auto & item : items)
    {
      EXPECT_EQ(item.index % 4, k);
      EXPECT_EQ(item.path, paths[item.index]);
      EXPECT_TRUE(seen.insert(item.index).second) << item.index << " in two shards";
    }
  }
  EXPECT_EQ(seen.size(), paths.size());
  EXPECT_LE(largest - smallest, 1u);
  EXPECT_EQ(SelectShard(paths, {}).size(), paths.size());
}

TEST(BatchInput, ReadsManifestsWithAndWithoutHeader)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  fs::create_directories(dir / "sub");
  WriteText(dir / "sub" / "a.png", "x");
  WriteText(dir / "b.png", "x");
  WriteText(dir / "m1.csv", "id,image\n1,sub/a.png\n2," + (dir / "b.png").string() + "\n3,\n");
  EXPECT_EQ(ReadManifest((dir / "m1.csv").string()),
            (std::vector<std::string>{ (dir / "sub" / "a.png").string(), (dir / "b.png").string() }));
  // One path per line, no header.
  WriteText(dir / "m2.csv", "sub/a.png\r\nb.png\r\n");
  EXPECT_EQ(ReadManifest((dir / "m2.csv").string()).size(), 2u);
  // A header that names neither column: the first column, after the header.
  WriteText(dir / "m3.csv", "file\nb.png\n");
  EXPECT_EQ(ReadManifest((dir / "m3.csv").string()), (std::vector<std::string>{ (dir / "b.png").string() }));
  WriteText(dir / "empty.csv", "image\n");
  EXPECT_THROW(ReadManifest((dir / "empty.csv").string()), BatchInputError);
  EXPECT_THROW(ReadManifest((dir / "missing.csv").string()), BatchInputError);
  WriteText(dir / "broken.csv", "image\n\"unterminated\n");
  EXPECT_THROW(ReadManifest((dir / "broken.csv").string()), BatchInputError);
  EXPECT_TRUE(IsManifest("x/list.CSV"));
  EXPECT_FALSE(IsManifest("x/cxr.png"));
}

TEST(BatchInput, RefusesInputsThatWouldWriteTheSameOutputs)
{
  EXPECT_NO_THROW(CheckDistinctStems({ "a/x.png", "a/y.png" }));
  try
  {
    CheckDistinctStems({ "a/x.png", "b/y.png", "b/x.dcm" });
    FAIL() << "no error";
  }
  catch (const BatchInputError & e)
  {
    EXPECT_NE(std::string(e.what()).find("a/x.png"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("b/x.dcm"), std::string::npos);
  }
}

TEST(BatchInput, MergesShardResultsInInputOrderAndFindsGapsAndOverlaps)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  WriteText(dir / "s0.csv", "image,status,index\na.png,ok,0\nc.png,ok,2\n");
  WriteText(dir / "s1.csv", "image,status,index\n\"b,1.png\",failed,1\n");
  const auto merged = MergeResultTables({ (dir / "s1.csv").string(), (dir / "s0.csv").string() });
  EXPECT_EQ(merged.text(), "image,status,index\na.png,ok,0\n\"b,1.png\",failed,1\nc.png,ok,2\n");
  // A shard missing: index 1 is in no file.
  EXPECT_THROW(MergeResultTables({ (dir / "s0.csv").string() }), BatchInputError);
  // The same shard twice.
  EXPECT_THROW(MergeResultTables({ (dir / "s0.csv").string(), (dir / "s0.csv").string(), (dir / "s1.csv").string() }),
               BatchInputError);
  WriteText(dir / "other.csv", "image,index\nb.png,1\n");
  EXPECT_THROW(MergeResultTables({ (dir / "s0.csv").string(), (dir / "other.csv").string() }), BatchInputError);
  WriteText(dir / "noindex.csv", "image,status\na.png,ok\n");
  EXPECT_THROW(MergeResultTables({ (dir / "noindex.csv").string() }), BatchInputError);
  EXPECT_THROW(MergeResultTables({ (dir / "missing.csv").string() }), BatchInputError);
  EXPECT_THROW(MergeResultTables({}), BatchInputError);
}
