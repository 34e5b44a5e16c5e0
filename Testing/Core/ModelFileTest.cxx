// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/ModelFile.h"
#include "rescrnet/Predictor.h"

#include "ResCRNetTestData.h"
#include "ResCRNetTestSupport.h"

#include <fstream>
#include <functional>
#include <limits>
#include <iterator>

using namespace rescrnet;

namespace
{
NetworkConfig
smallConfig()
{
  NetworkConfig c = NetworkConfig::LungDefault();
  c.convResBlocks = 2;
  c.blockDropout = { 0.05, 0.05, 0.0 };
  return c;
}

std::string
readAll(const std::filesystem::path & p)
{
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void
writeAll(const std::filesystem::path & p, const std::string & bytes)
{
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

using json = nlohmann::ordered_json;

uint64_t
headerSizeOf(const std::string & bytes)
{
  uint64_t headerSize = 0;
  for (int i = 0; i < 8; ++i)
    headerSize |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[16 + i])) << (8 * i);
  return headerSize;
}

// Replaces the header text of a model file, keeping the tensor data (and its checksum) as they are.
std::string
replaceHeaderText(const std::string & bytes, const std::string & text)
{
  const uint64_t headerSize = headerSizeOf(bytes);
  std::string    out = bytes.substr(0, 16);
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  return out + text + bytes.substr(24 + headerSize);
}

// Edits the JSON header of a model file, keeping the tensor data as it is.
template <typename Edit>
std::string
rewriteHeader(const std::string & bytes, Edit edit)
{
  json header = json::parse(bytes.substr(24, headerSizeOf(bytes)));
  edit(header);
  return replaceHeaderText(bytes, header.dump(1));
}

struct ModelFileFixture : ::testing::Test
{
  void
  SetUp() override
  {
    torch::manual_seed(7);
    dir = rescrnet::testing::TemporaryDirectory();
    path = dir / "model.rcn";
    net = ResCRNet(smallConfig());
    // Non-trivial batch-norm statistics so that they must round-trip too.
    torch::NoGradGuard g;
    for (auto & b : net->named_buffers())
      if (b.key().find("running_") != std::string::npos)
        b.value().uniform_(0.5, 1.5);
    info.architecture = smallConfig();
    info.provenance["kind"] = "trained";
    info.provenance["by"] = "ModelFileTest";
    info.metrics["dice"] = 0.5;
    SaveModel(path.string(), net, info);
  }

  std::string
  loadError(const std::filesystem::path & p)
  {
    try
    {
      LoadModel(p.string());
    }
    catch (const ModelFileError & e)
    {
      return e.what();
    }
    return "no error";
  }

  std::filesystem::path dir, path;
  ResCRNet              net{ nullptr };
  ModelInfo             info;
};
} // namespace

TEST_F(ModelFileFixture, RoundTripReproducesOutputsAndHeader)
{
  LoadedModel m = LoadModel(path.string());
  EXPECT_EQ(m.info.architecture, smallConfig());
  EXPECT_EQ(m.info.classes, (std::vector<std::string>{ "lungs", "non_lungs" }));
  EXPECT_EQ(m.info.provenance.at("by"), "ModelFileTest");
  EXPECT_DOUBLE_EQ(m.info.metrics.at("dice").get<double>(), 0.5);
  EXPECT_EQ(m.info.input.width, 340);
  EXPECT_EQ(m.info.input.height, 300);
  net->eval();
  torch::NoGradGuard g;
  auto               x = torch::rand({ 1, 1, 24, 31 });
  EXPECT_TRUE(torch::equal(net->forward(x), m.network->forward(x)));
  // The predictor runs the fused path (batch norm folded): equal up to float rounding.
  Predictor p = Predictor::FromFile(path.string(), 1);
  EXPECT_LE((net->forward(x) - p.predict(x.squeeze(0))).abs().max().item<double>(), 2e-5);
}

TEST_F(ModelFileFixture, NotAModelFile)
{
  writeAll(dir / "other.rcn", "PNG\x89 this is not a model");
  EXPECT_NE(loadError(dir / "other.rcn").find("not a Res-CR-Net model file"), std::string::npos);
  EXPECT_NE(loadError(dir / "missing.rcn").find("cannot open"), std::string::npos);
}

TEST_F(ModelFileFixture, TruncatedFile)
{
  const std::string bytes = readAll(path);
  for (size_t keep : { size_t{ 12 }, size_t{ 200 }, bytes.size() - 100 })
  {
    writeAll(dir / "cut.rcn", bytes.substr(0, keep));
    EXPECT_NE(loadError(dir / "cut.rcn").find("truncated"), std::string::npos) << keep;
  }
}

TEST_F(ModelFileFixture, CorruptedData)
{
  std::string bytes = readAll(path);
  bytes[bytes.size() - 5] = static_cast<char>(bytes[bytes.size() - 5] ^ 0x40);
  writeAll(dir / "bad.rcn", bytes);
  EXPECT_NE(loadError(dir / "bad.rcn").find("checksum"), std::string::npos);
}

TEST_F(ModelFileFixture, NewerFormatVersion)
{
  std::string bytes = readAll(path);
  bytes[8] = 9;
  writeAll(dir / "newer.rcn", bytes);
  EXPECT_NE(loadError(dir / "newer.rcn").find("format version 9 is newer"), std::string::npos);
}

TEST_F(ModelFileFixture, HeaderArchitectureThatDoesNotMatchTheWeights)
{
  // Same tensors, but the header claims 8 filters per branch: shapes no longer match.
  writeAll(dir / "mismatch.rcn", rewriteHeader(readAll(path), [](json & h) { h["architecture"]["filters"] = 8; }));
  const std::string err = loadError(dir / "mismatch.rcn");
  EXPECT_NE(err.find("wrong architecture"), std::string::npos) << err;
  EXPECT_NE(err.find("has shape"), std::string::npos) << err;
}

TEST_F(ModelFileFixture, HeaderWithFewerBlocksThanTheWeights)
{
  writeAll(dir / "fewer.rcn", rewriteHeader(readAll(path), [](json & h) {
             h["architecture"]["conv_res_blocks"] = 1;
             h["architecture"]["block_dropout"] = { 0.05, 0.0 };
           }));
  const std::string err = loadError(dir / "fewer.rcn");
  EXPECT_NE(err.find("wrong architecture"), std::string::npos) << err;
  EXPECT_NE(err.find("does not exist in the declared network"), std::string::npos) << err;
}

TEST_F(ModelFileFixture, HeaderWithMoreBlocksThanTheWeights)
{
  writeAll(dir / "more.rcn", rewriteHeader(readAll(path), [](json & h) {
             h["architecture"]["conv_res_blocks"] = 3;
             h["architecture"]["block_dropout"] = { 0.05, 0.05, 0.05, 0.0 };
           }));
  const std::string err = loadError(dir / "more.rcn");
  EXPECT_NE(err.find("the file lacks tensor"), std::string::npos) << err;
}

TEST_F(ModelFileFixture, SaveIsAtomicAndRefusesUnwritablePaths)
{
  EXPECT_THROW(SaveModel((dir / "no-such-dir" / "m.rcn").string(), net, info), ModelFileError);
  EXPECT_FALSE(std::filesystem::exists(dir / "no-such-dir"));
  ModelInfo wrong = info;
  wrong.classes = { "only-one" };
  EXPECT_THROW(SaveModel((dir / "w.rcn").string(), net, wrong), ModelFileError);
  EXPECT_FALSE(std::filesystem::exists(dir / "w.rcn"));
}

// The header is untrusted input: its length is checked before memory is allocated, its nesting while it is parsed.
TEST_F(ModelFileFixture, HeaderLengthBeyondTheLimit)
{
  std::string    bytes = readAll(path);
  const uint64_t huge = (64ull << 20) + 1;
  for (int i = 0; i < 8; ++i)
    bytes[16 + i] = static_cast<char>((huge >> (8 * i)) & 0xFF);
  writeAll(dir / "huge.rcn", bytes);
  const std::string err = loadError(dir / "huge.rcn");
  EXPECT_NE(err.find("header length 67108865"), std::string::npos) << err;
}

TEST_F(ModelFileFixture, HeaderNestedTooDeeply)
{
  const std::string bytes = readAll(path);
  json              header = json::parse(bytes.substr(24, headerSizeOf(bytes)));
  // 40 nested arrays inside the provenance: legal JSON, but no model header nests like that.
  std::string deep = header.dump();
  deep.insert(deep.rfind('}'), ",\"deep\":" + std::string(40, '[') + std::string(40, ']'));
  ASSERT_NO_THROW(json::parse(deep));
  writeAll(dir / "deep.rcn", replaceHeaderText(bytes, deep));
  const std::string err = loadError(dir / "deep.rcn");
  EXPECT_NE(err.find("corrupted model file header"), std::string::npos) << err;
  EXPECT_NE(err.find("nesting deeper than 32"), std::string::npos) << err;

  // 20 levels are fine (the limit rejects abuse, not documents).
  std::string nested = header.dump();
  nested.insert(nested.rfind('}'), ",\"nested\":" + std::string(20, '[') + std::string(20, ']'));
  writeAll(dir / "nested.rcn", replaceHeaderText(bytes, nested));
  EXPECT_EQ(loadError(dir / "nested.rcn"), "no error");
}

TEST_F(ModelFileFixture, HeaderThatIsNotJsonOrHasWrongTypes)
{
  const std::string bytes = readAll(path);
  writeAll(dir / "text.rcn", replaceHeaderText(bytes, "{\"format\": \"rescrnet-model\", NaN}"));
  EXPECT_NE(loadError(dir / "text.rcn").find("corrupted model file header"), std::string::npos);
  writeAll(dir / "half.rcn", rewriteHeader(bytes, [](json & h) { h["input"]["width"] = 340.5; }));
  const std::string half = loadError(dir / "half.rcn");
  EXPECT_NE(half.find("invalid model header"), std::string::npos) << half;
  EXPECT_NE(half.find("340.5"), std::string::npos) << half;
  writeAll(dir / "string.rcn", rewriteHeader(bytes, [](json & h) { h["architecture"]["filters"] = "eight"; }));
  EXPECT_NE(loadError(dir / "string.rcn").find("invalid model header"), std::string::npos);
  writeAll(dir / "offset.rcn", rewriteHeader(bytes, [](json & h) { h["tensors"][0]["offset"] = -4; }));
  EXPECT_NE(loadError(dir / "offset.rcn").find("bad extent"), std::string::npos) << loadError(dir / "offset.rcn");
}

// Model files are untrusted input: every extent, name and architecture value is checked before it is used.
TEST_F(ModelFileFixture, NegativeOverflowingAndOverlappingExtentsAreRefused)
{
  const std::string bytes = readAll(path);
  writeAll(dir / "wrap.rcn", rewriteHeader(bytes, [](json & h) {
             h["tensors"][0]["offset"] = 1;
             h["tensors"][0]["nbytes"] = std::numeric_limits<int64_t>::max();
           }));
  EXPECT_NE(loadError(dir / "wrap.rcn").find("bad extent"), std::string::npos) << loadError(dir / "wrap.rcn");
  writeAll(dir / "overlap.rcn", rewriteHeader(bytes, [](json & h) { h["tensors"][1]["offset"] = 0; }));
  EXPECT_NE(loadError(dir / "overlap.rcn").find("overlap"), std::string::npos) << loadError(dir / "overlap.rcn");
  writeAll(dir / "bytes.rcn", rewriteHeader(bytes, [](json & h) { h["data_bytes"] = -1; }));
  EXPECT_NE(loadError(dir / "bytes.rcn").find("invalid model header"), std::string::npos);
}

TEST_F(ModelFileFixture, DuplicateTensorIsNamed)
{
  const std::string bytes = readAll(path);
  std::string       name;
  writeAll(dir / "twice.rcn", rewriteHeader(bytes, [&name](json & h) {
             h["tensors"][1]["name"] = h["tensors"][0]["name"];
             name = h["tensors"][0]["name"].get<std::string>();
           }));
  const std::string err = loadError(dir / "twice.rcn");
  EXPECT_NE(err.find("'" + name + "' is listed twice"), std::string::npos) << err;
}

TEST_F(ModelFileFixture, ArchitectureValuesOutOfRangeAreRefusedBeforeAllocation)
{
  const std::string                                                      bytes = readAll(path);
  const std::vector<std::pair<std::string, std::function<void(json &)>>> cases = {
    { "leaky_slope", [](json & h) { h["architecture"]["leaky_slope"] = "NaN"; } },
    { "filters", [](json & h) { h["architecture"]["filters"] = 1 << 20; } },
    { "dilation", [](json & h) { h["architecture"]["dilations"][0] = 100000; } },
    { "kernel", [](json & h) { h["architecture"]["kernels"][0] = 1001; } },
    { "input grid", [](json & h) { h["input"]["width"] = 4294967360ll; } },
  };
  for (const auto & [what, edit] : cases)
  {
    writeAll(dir / "bad.rcn", rewriteHeader(bytes, edit));
    const std::string err = loadError(dir / "bad.rcn");
    EXPECT_NE(err.find((dir / "bad.rcn").string()), std::string::npos) << what << ": " << err;
    EXPECT_NE(err.find("invalid"), std::string::npos) << what << ": " << err;
  }
  NetworkConfig slope = smallConfig();
  slope.leakySlope = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(slope.validate(), std::invalid_argument);
}

// The size check made before the network is built is exact: it must never refuse a valid model.
TEST(NetworkConfigTest, StateElementCountMatchesTheNetwork)
{
  NetworkConfig withLstm = NetworkConfig::LungDefault();
  withLstm.lstmBlocks = 2;
  NetworkConfig twoBranches = rescrnet::testing::TinyNetworkConfig();
  twoBranches.kernels = { 3, 5 };
  twoBranches.dilations = { 1, 2 };
  for (const NetworkConfig & c :
       { NetworkConfig::LungDefault(), smallConfig(), rescrnet::testing::TinyNetworkConfig(), withLstm, twoBranches })
  {
    ResCRNet net(c);
    double   n = 0;
    for (const auto & kv : net->namedState())
      n += static_cast<double>(kv.second.numel());
    EXPECT_EQ(c.stateElementCount(), n) << c.toJson().dump();
  }
}

TEST(ModelFileInputTest, NonRegularAndMissingFilesAreRefused)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  for (const std::string & p : { std::string("/dev/zero"), dir.string(), (dir / "none.rcn").string() })
  {
    try
    {
      LoadModel(p);
      ADD_FAILURE() << p << " was loaded";
    }
    catch (const ModelFileError & e)
    {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
}

TEST(Crc32, IsTheStandardCrc32AndContinues)
{
  const std::string text = "123456789";
  EXPECT_EQ(Crc32(text.data(), text.size()), 0xCBF43926u); // the CRC-32 check value
  EXPECT_EQ(Crc32(text.data() + 4, 5, Crc32(text.data(), 4)), 0xCBF43926u);
  EXPECT_EQ(Crc32(nullptr, 0), 0u);
}
