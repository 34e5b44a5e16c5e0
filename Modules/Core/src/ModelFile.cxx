// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/ModelFile.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/InputFile.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace rescrnet
{

namespace
{
constexpr char     Magic[8] = { 'R', 'E', 'S', 'C', 'R', 'N', 'E', 'T' };
constexpr uint64_t PrefixSize = 24;
// Limits on the untrusted header, checked before it is read (size) and while it is parsed (nesting).
constexpr uint64_t MaxHeaderSize = 64ull << 20;
constexpr int      MaxHeaderDepth = 32;
// The largest model file read: the largest network NetworkConfig::validate accepts (1 GiB of float32) and its header.
constexpr uint64_t MaxModelFileSize = (1ull << 30) + MaxHeaderSize + PrefixSize;
// The largest input grid (width or height) a model file may declare.
constexpr int64_t MaxGridSize = 16384;

std::string
shapeString(const std::vector<int64_t> & s)
{
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
  {
    out += (i ? ", " : "") + std::to_string(s[i]);
  }
  return out + "]";
}

template <typename T>
void
putLE(std::string & out, T v)
{
  for (size_t i = 0; i < sizeof(T); ++i)
  {
    out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
  }
}

template <typename T>
T
getLE(const unsigned char * p)
{
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
  {
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  }
  return static_cast<T>(v);
}

using json = nlohmann::ordered_json;

struct Header
{
  json     document;
  uint32_t version{ 0 };
  uint64_t dataOffset{ 0 };
};

Header
readHeader(std::ifstream & in, const std::string & path, uint64_t fileSize)
{
  unsigned char prefix[PrefixSize];
  in.read(reinterpret_cast<char *>(prefix), PrefixSize);
  if (static_cast<uint64_t>(in.gcount()) < 8 || std::memcmp(prefix, Magic, 8) != 0)
  {
    throw ModelFileError(path + ": not a Res-CR-Net model file (no RESCRNET signature)");
  }
  if (static_cast<uint64_t>(in.gcount()) < PrefixSize)
  {
    throw ModelFileError(path + ": truncated model file (header incomplete)");
  }
  Header h;
  h.version = getLE<uint32_t>(prefix + 8);
  if (h.version > ModelFileFormatVersion)
  {
    throw ModelFileError(path + ": model file format version " + std::to_string(h.version) +
                         " is newer than this build reads (up to " + std::to_string(ModelFileFormatVersion) +
                         "); update ITKResCRNet");
  }
  if (h.version == 0)
  {
    throw ModelFileError(path + ": invalid model file format version 0");
  }
  const uint64_t headerSize = getLE<uint64_t>(prefix + 16);
  if (headerSize > MaxHeaderSize)
  {
    throw ModelFileError(path + ": corrupted model file (header length " + std::to_string(headerSize) + ")");
  }
  if (PrefixSize + headerSize > fileSize)
  {
    throw ModelFileError(path + ": truncated model file (header needs " + std::to_string(headerSize) +
                         " bytes, file has " + std::to_string(fileSize - PrefixSize) + ")");
  }
  std::string text(headerSize, '\0');
  in.read(&text[0], static_cast<std::streamsize>(headerSize));
  if (static_cast<uint64_t>(in.gcount()) != headerSize)
    throw ModelFileError(path + ": truncated model file (header incomplete)");
  try
  {
    JsonLimits limits;
    limits.maxBytes = MaxHeaderSize;
    limits.maxDepth = MaxHeaderDepth;
    h.document = ParseJson(text, limits);
  }
  catch (const JsonError & e)
  {
    throw ModelFileError(path + ": corrupted model file header (" + e.what() + ")");
  }
  const auto format = h.document.is_object() ? h.document.find("format") : h.document.end();
  if (format == h.document.end() || *format != "rescrnet-model")
  {
    throw ModelFileError(path + ": corrupted model file header (format is not rescrnet-model)");
  }
  h.dataOffset = PrefixSize + headerSize;
  return h;
}

ModelInfo
infoFromHeader(const json & j, const std::string & path)
{
  ModelInfo info;
  try
  {
    info.architecture = NetworkConfig::fromJson(j.at("architecture"));
    info.input = InputSpec::fromJson(j.at("input"));
    info.classes.clear();
    const json & classes = j.at("classes");
    if (!classes.is_array())
      throw JsonError("classes is not an array");
    if (classes.size() > static_cast<size_t>(NetworkConfig::MaxClasses))
      throw JsonError(std::to_string(classes.size()) + " class names");
    for (const json & c : classes)
    {
      info.classes.push_back(c.get<std::string>());
    }
    info.provenance = j.value("provenance", json::object());
    info.metrics = j.value("metrics", json::object());
  }
  catch (const std::exception & e)
  {
    throw ModelFileError(path + ": invalid model header: " + e.what());
  }
  if (static_cast<int64_t>(info.classes.size()) != info.architecture.numClasses)
  {
    throw ModelFileError(path + ": invalid model header: " + std::to_string(info.classes.size()) +
                         " class names for a network with " + std::to_string(info.architecture.numClasses) +
                         " classes");
  }
  if (info.input.channels != info.architecture.inputChannels)
  {
    throw ModelFileError(path + ": invalid model header: input has " + std::to_string(info.input.channels) +
                         " channel(s) but the network expects " + std::to_string(info.architecture.inputChannels));
  }
  return info;
}

} // namespace

uint32_t
Crc32(const void * data, size_t size, uint32_t crc)
{
  // zlib's CRC-32 (ISO-HDLC, the one of PNG and gzip), z_size_t lengths.
  return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef *>(data), size));
}

nlohmann::ordered_json
InputSpec::toJson() const
{
  json j = json::object();
  j["width"] = width;
  j["height"] = height;
  j["channels"] = channels;
  j["intensity"] = intensity;
  j["equalization"] = equalization;
  j["scale"] = scale;
  return j;
}

InputSpec
InputSpec::fromJson(const nlohmann::ordered_json & j)
{
  InputSpec s;
  s.width = JsonInteger(j.at("width"));
  s.height = JsonInteger(j.at("height"));
  s.channels = JsonInteger(j.at("channels"));
  s.intensity = j.value("intensity", s.intensity);
  s.equalization = j.value("equalization", s.equalization);
  s.scale = j.value("scale", s.scale);
  if (s.width < 1 || s.height < 1 || s.channels < 1)
  {
    throw std::invalid_argument("input grid and channels must be positive");
  }
  if (s.width > MaxGridSize || s.height > MaxGridSize || s.channels > NetworkConfig::MaxInputChannels)
  {
    throw std::invalid_argument("input grid " + std::to_string(s.width) + " x " + std::to_string(s.height) + " x " +
                                std::to_string(s.channels) + " exceeds the limit of " + std::to_string(MaxGridSize) +
                                " x " + std::to_string(MaxGridSize) + " x " +
                                std::to_string(NetworkConfig::MaxInputChannels));
  }
  return s;
}

void
SaveModel(const std::string & path, const ResCRNet & network, const ModelInfo & info)
{
  if (network->config() != info.architecture)
  {
    throw ModelFileError("cannot save " + path + ": the model info's architecture differs from the network's");
  }
  if (static_cast<int64_t>(info.classes.size()) != info.architecture.numClasses)
  {
    throw ModelFileError("cannot save " + path + ": " + std::to_string(info.classes.size()) + " class names for " +
                         std::to_string(info.architecture.numClasses) + " classes");
  }
  std::string data;
  json        tensors = json::array();
  for (const auto & kv : network->namedState())
  {
    auto t = kv.second.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    json entry = json::object();
    json shape = json::array();
    for (int64_t s : t.sizes())
      shape.push_back(s);
    entry["name"] = kv.first;
    entry["shape"] = shape;
    entry["dtype"] = "float32";
    entry["offset"] = static_cast<uint64_t>(data.size());
    entry["nbytes"] = static_cast<uint64_t>(t.numel() * 4);
    tensors.push_back(entry);
    data.append(static_cast<const char *>(t.data_ptr()), static_cast<size_t>(t.numel()) * 4);
  }
  json header = json::object();
  header["format"] = "rescrnet-model";
  header["format_version"] = static_cast<int64_t>(ModelFileFormatVersion);
  header["architecture"] = info.architecture.toJson();
  header["input"] = info.input.toJson();
  header["classes"] = info.classes;
  const ParameterCounts pc = network->parameterCounts();
  header["trainable_parameters"] = pc.trainable;
  header["batch_norm_statistics"] = pc.batchNormStatistics;
  header["provenance"] = info.provenance;
  header["metrics"] = info.metrics;
  header["tensors"] = tensors;
  header["data_bytes"] = static_cast<uint64_t>(data.size());
  header["data_crc32"] = static_cast<uint64_t>(Crc32(data.data(), data.size()));
  const std::string text = DumpJson(header, 1);

  std::string prefix(Magic, 8);
  putLE<uint32_t>(prefix, ModelFileFormatVersion);
  putLE<uint32_t>(prefix, 0);
  putLE<uint64_t>(prefix, text.size());

  try
  {
    WriteFileAtomically(path, prefix + text + data);
  }
  catch (const AtomicFileError & e)
  {
    throw ModelFileError(e.what());
  }
}

namespace
{

// Opens a model file after checking that it is a regular file of a plausible size (a FIFO or a device would block
// the reader or feed it without end).
uint64_t
openModelFile(std::ifstream & in, const std::string & path)
{
  uint64_t size = 0;
  try
  {
    size = CheckInputFile(path, MaxModelFileSize, "the model file");
  }
  catch (const InputFileError & e)
  {
    // "cannot read the model file P: reason" as "P: cannot open model file (reason)", like the other messages here.
    const std::string text = e.what();
    const size_t      at = text.find(path + ": ");
    const std::string reason = at == std::string::npos ? text : text.substr(at + path.size() + 2);
    throw ModelFileError(path + ": cannot open model file (" + reason + ")");
  }
  in.open(path, std::ios::binary);
  if (!in)
  {
    throw ModelFileError(path + ": cannot open model file (" + std::strerror(errno) + ")");
  }
  return size;
}

// One entry of the tensor table, checked on its own: a name, a shape, float32, an extent inside the data.
struct TensorEntry
{
  std::string          name;
  std::vector<int64_t> shape;
  uint64_t             offset{ 0 };
  uint64_t             nbytes{ 0 };
};

std::vector<TensorEntry>
readTensorTable(const json & document, uint64_t dataBytes, const std::string & path)
{
  std::vector<TensorEntry> entries;
  std::set<std::string>    names;
  try
  {
    const json & table = document.at("tensors");
    if (!table.is_array())
      throw JsonError("tensors is not an array");
    for (const json & t : table)
    {
      TensorEntry e;
      e.name = t.at("name").get<std::string>();
      if (!names.insert(e.name).second)
        throw ModelFileError(path + ": corrupted model file (tensor '" + e.name + "' is listed twice)");
      const json & shape = t.at("shape");
      if (!shape.is_array() || shape.size() > 8)
        throw JsonError("shape of '" + e.name + "' is not an array of at most 8 sizes");
      for (const json & s : shape)
        e.shape.push_back(JsonInteger(s));
      if (t.value("dtype", std::string()) != "float32")
        throw ModelFileError(path + ": unsupported tensor type for '" + e.name + "'");
      const int64_t offset = JsonInteger(t.at("offset"));
      const int64_t nbytes = JsonInteger(t.at("nbytes"));
      uint64_t      end = 0;
      if (offset < 0 || nbytes < 0 ||
          !AddWithoutOverflow(static_cast<uint64_t>(offset), static_cast<uint64_t>(nbytes), end) || end > dataBytes)
        throw ModelFileError(path + ": corrupted model file (bad extent for tensor '" + e.name + "': offset " +
                             std::to_string(offset) + " with " + std::to_string(nbytes) + " bytes is outside the " +
                             std::to_string(dataBytes) + " bytes of tensor data)");
      e.offset = static_cast<uint64_t>(offset);
      e.nbytes = static_cast<uint64_t>(nbytes);
      entries.push_back(std::move(e));
    }
  }
  catch (const ModelFileError &)
  {
    throw;
  }
  catch (const std::exception & e)
  {
    throw ModelFileError(path + ": invalid tensor table: " + e.what());
  }
  // Extents must not overlap: every value belongs to one tensor.
  std::vector<const TensorEntry *> byOffset;
  for (const auto & e : entries)
    if (e.nbytes > 0)
      byOffset.push_back(&e);
  std::sort(byOffset.begin(), byOffset.end(), [](const TensorEntry * a, const TensorEntry * b) {
    return a->offset < b->offset;
  });
  for (size_t i = 1; i < byOffset.size(); ++i)
    if (byOffset[i - 1]->offset + byOffset[i - 1]->nbytes > byOffset[i]->offset)
      throw ModelFileError(path + ": corrupted model file (tensors '" + byOffset[i - 1]->name + "' and '" +
                           byOffset[i]->name + "' overlap)");
  return entries;
}

} // namespace

ModelInfo
ReadModelInfo(const std::string & path)
{
  std::ifstream  in;
  const uint64_t fileSize = openModelFile(in, path);
  const Header   h = readHeader(in, path, fileSize);
  return infoFromHeader(h.document, path);
}

LoadedModel
LoadModel(const std::string & path)
{
  std::ifstream  in;
  const uint64_t fileSize = openModelFile(in, path);
  const Header   h = readHeader(in, path, fileSize);
  LoadedModel    model;
  model.info = infoFromHeader(h.document, path);

  uint64_t dataBytes = 0;
  uint32_t crc = 0;
  try
  {
    const int64_t bytes = JsonInteger(h.document.at("data_bytes"));
    const int64_t checksum = JsonInteger(h.document.at("data_crc32"));
    if (bytes < 0 || checksum < 0 || checksum > 0xFFFFFFFFll)
      throw JsonError("data_bytes or data_crc32 out of range");
    dataBytes = static_cast<uint64_t>(bytes);
    crc = static_cast<uint32_t>(checksum);
  }
  catch (const std::exception & e)
  {
    throw ModelFileError(path + ": invalid model header: " + e.what());
  }
  uint64_t dataEnd = 0;
  if (!AddWithoutOverflow(h.dataOffset, dataBytes, dataEnd) || dataEnd > fileSize)
  {
    throw ModelFileError(path + ": truncated model file (tensor data needs " + std::to_string(dataBytes) +
                         " bytes, file has " + std::to_string(fileSize - h.dataOffset) + ")");
  }
  // Everything the network will need is checked against the file before anything is allocated for it.
  const std::vector<TensorEntry> table = readTensorTable(h.document, dataBytes, path);
  const double                   needed = 4.0 * model.info.architecture.stateElementCount();
  if (needed > static_cast<double>(dataBytes))
  {
    throw ModelFileError(path + ": wrong architecture: the file lacks tensors of the declared network (it needs " +
                         std::to_string(static_cast<long long>(needed)) + " bytes of tensors, the file holds " +
                         std::to_string(dataBytes) + ")");
  }
  std::string data(dataBytes, '\0');
  in.read(&data[0], static_cast<std::streamsize>(dataBytes));
  if (static_cast<uint64_t>(in.gcount()) != dataBytes)
  {
    throw ModelFileError(path + ": truncated model file (tensor data incomplete)");
  }
  if (Crc32(data.data(), data.size()) != crc)
  {
    throw ModelFileError(path + ": corrupted model file (tensor data checksum mismatch)");
  }

  model.network = ResCRNet(model.info.architecture);
  std::map<std::string, torch::Tensor> expected;
  for (auto & kv : model.network->namedState())
  {
    expected.emplace(kv.first, kv.second);
  }
  torch::NoGradGuard noGrad;
  for (const TensorEntry & t : table)
  {
    auto it = expected.find(t.name);
    if (it == expected.end())
    {
      throw ModelFileError(path + ": wrong architecture: tensor '" + t.name +
                           "' in the file does not exist in the declared network");
    }
    const std::vector<int64_t> want(it->second.sizes().begin(), it->second.sizes().end());
    if (t.shape != want)
    {
      throw ModelFileError(path + ": wrong architecture: tensor '" + t.name + "' has shape " + shapeString(t.shape) +
                           " in the file but the network needs " + shapeString(want));
    }
    if (t.nbytes != static_cast<uint64_t>(it->second.numel()) * 4)
    {
      throw ModelFileError(path + ": corrupted model file (tensor '" + t.name + "' has " + std::to_string(t.nbytes) +
                           " bytes for " + std::to_string(it->second.numel()) + " values)");
    }
    auto src = torch::from_blob(&data[static_cast<size_t>(t.offset)], it->second.sizes(), torch::kFloat32);
    if (!torch::isfinite(src).all().item<bool>())
    {
      throw ModelFileError(path + ": corrupted model file (tensor '" + t.name + "' holds NaN or infinite values)");
    }
    it->second.copy_(src);
  }
  if (table.size() != expected.size())
  {
    std::set<std::string> present;
    for (const TensorEntry & t : table)
      present.insert(t.name);
    std::string missing;
    for (const auto & kv : expected)
    {
      if (!present.count(kv.first))
      {
        missing = kv.first;
        break;
      }
    }
    throw ModelFileError(path + ": wrong architecture: the file lacks tensor '" + missing + "' (" +
                         std::to_string(expected.size() - table.size()) + " missing)");
  }
  model.network->eval();
  return model;
}

} // namespace rescrnet
