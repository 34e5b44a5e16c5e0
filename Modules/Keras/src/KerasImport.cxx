// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/KerasImport.h"
#include "rescrnet/InputFile.h"

#include <hdf5.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

namespace rescrnet
{

namespace
{

using json = nlohmann::ordered_json;

[[noreturn]] void
fail(const std::string & msg)
{
  throw KerasImportError(msg);
}

// RAII for HDF5 identifiers.
struct H5Id
{
  hid_t id{ -1 };
  herr_t (*close)(hid_t){ nullptr };
  H5Id(hid_t i, herr_t (*c)(hid_t))
    : id(i)
    , close(c)
  {}
  ~H5Id()
  {
    if (id >= 0 && close)
      close(id);
  }
  H5Id(H5Id && other) noexcept
    : id(other.id)
    , close(other.close)
  {
    other.id = -1;
  }
  H5Id(const H5Id &) = delete;
  H5Id &
  operator=(const H5Id &) = delete;
  bool
  valid() const
  {
    return id >= 0;
  }
};

// Reads a string attribute, or an array of strings; fixed or variable length. Non-string attributes read as empty.
std::vector<std::string>
readStringAttribute(hid_t loc, const char * name)
{
  std::vector<std::string> out;
  if (H5Aexists(loc, name) <= 0)
  {
    return out;
  }
  H5Id attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
  H5Id type(H5Aget_type(attr.id), H5Tclose);
  if (H5Tget_class(type.id) != H5T_STRING)
  {
    return out; // Keras writes an empty float64 array for layers without weights.
  }
  H5Id           space(H5Aget_space(attr.id), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.id);
  if (n <= 0)
  {
    return out;
  }
  if (H5Tis_variable_str(type.id) > 0)
  {
    std::vector<char *> buf(static_cast<size_t>(n), nullptr);
    H5Id                memType(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memType.id, H5T_VARIABLE);
    if (H5Aread(attr.id, memType.id, buf.data()) < 0)
      fail(std::string("cannot read HDF5 attribute ") + name);
    for (char * s : buf)
    {
      out.emplace_back(s ? s : "");
    }
    H5Dvlen_reclaim(memType.id, space.id, H5P_DEFAULT, buf.data());
  }
  else
  {
    const size_t      size = H5Tget_size(type.id);
    std::vector<char> buf(size * static_cast<size_t>(n) + 1, '\0');
    if (H5Aread(attr.id, type.id, buf.data()) < 0)
      fail(std::string("cannot read HDF5 attribute ") + name);
    for (hssize_t i = 0; i < n; ++i)
    {
      std::string s(buf.data() + static_cast<size_t>(i) * size, size);
      s = s.substr(0, s.find('\0'));
      out.push_back(s);
    }
  }
  return out;
}

struct KerasLayer
{
  std::string              name;
  std::string              cls;
  json                     config;
  std::vector<std::string> inbound;
};

class KerasGraph
{
public:
  explicit KerasGraph(const json & modelConfig)
  {
    const json & cfg = modelConfig.contains("config") ? modelConfig.at("config") : modelConfig;
    for (const json & l : cfg.at("layers"))
    {
      KerasLayer layer;
      layer.name = l.at("name").get<std::string>();
      layer.cls = l.at("class_name").get<std::string>();
      layer.config = l.at("config");
      for (const json & node : l.at("inbound_nodes"))
      {
        for (const json & in : node)
        {
          layer.inbound.push_back(in.at(0).get<std::string>());
        }
      }
      m_Order.push_back(layer.name);
      m_Layers.emplace(layer.name, layer);
    }
    for (const auto & name : m_Order)
    {
      for (const auto & in : m_Layers.at(name).inbound)
      {
        m_Consumers[in].push_back(name);
      }
    }
    const json & inputs = cfg.at("input_layers");
    if (!inputs.is_array() || inputs.size() != 1)
      fail("the Keras model has " + std::to_string(inputs.size()) + " inputs; Res-CR-Net has one");
    m_Input = inputs.at(0).at(0).get<std::string>();
  }

  const KerasLayer &
  layer(const std::string & name) const
  {
    auto it = m_Layers.find(name);
    if (it == m_Layers.end())
      fail("the Keras graph has no layer '" + name + "'");
    return it->second;
  }

  std::vector<std::string>
  consumers(const std::string & name, const std::string & cls) const
  {
    std::vector<std::string> out;
    auto                     it = m_Consumers.find(name);
    if (it == m_Consumers.end())
      return out;
    for (const auto & c : it->second)
      if (cls.empty() || m_Layers.at(c).cls == cls)
        out.push_back(c);
    return out;
  }

  std::string
  single(const std::string & name, const std::string & cls) const
  {
    auto c = consumers(name, cls);
    if (c.size() != 1)
      fail("unexpected Keras graph: layer '" + name + "' feeds " + std::to_string(c.size()) + " " + cls +
           " layer(s), expected 1");
    return c[0];
  }

  const std::string &
  input() const
  {
    return m_Input;
  }

private:
  std::map<std::string, KerasLayer>               m_Layers;
  std::map<std::string, std::vector<std::string>> m_Consumers;
  std::vector<std::string>                        m_Order;
  std::string                                     m_Input;
};

// Keras stores hyper-parameters as float32 (alpha 0.1 reads as 0.10000000149): keep 7 significant digits.
double
tidy(double v)
{
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.7g", v);
  return std::strtod(buf, nullptr);
}

int64_t
pairValue(const json & config, const char * key)
{
  const json & v = config.at(key);
  if (JsonInteger(v.at(0)) != JsonInteger(v.at(1)))
    fail(std::string("non-square ") + key + " in layer '" + config.value("name", std::string()) + "'");
  return JsonInteger(v.at(0));
}

// The Keras layers that make one STEM or CONV RES block.
struct BlockLayers
{
  std::string              preBn; // empty for the STEM
  std::vector<std::string> sep1, bn, sep2;
  std::string              shortcut, shortcutBn, add;
  double                   dropout{ 0.0 };
};

class WeightReader
{
public:
  WeightReader(hid_t file, const std::string & path)
    : m_Path(path)
  {
    m_Root = H5Lexists(file, "model_weights", H5P_DEFAULT) > 0 ? "model_weights" : "/";
    m_Group = H5Gopen2(file, m_Root.c_str(), H5P_DEFAULT);
    if (m_Group < 0)
      fail(path + ": no Keras weights group");
  }
  ~WeightReader()
  {
    if (m_Group >= 0)
      H5Gclose(m_Group);
  }
  WeightReader(const WeightReader &) = delete;
  WeightReader &
  operator=(const WeightReader &) = delete;

  // Reads weight `kind` (e.g. "depthwise_kernel") of Keras layer `layer`.
  torch::Tensor
  read(const std::string & layer, const std::string & kind) const
  {
    if (H5Lexists(m_Group, layer.c_str(), H5P_DEFAULT) <= 0)
      fail(m_Path + ": no weights for Keras layer '" + layer + "'");
    H5Id g(H5Gopen2(m_Group, layer.c_str(), H5P_DEFAULT), H5Gclose);
    for (const std::string & w : readStringAttribute(g.id, "weight_names"))
    {
      std::string base = w.substr(w.rfind('/') + 1);
      base = base.substr(0, base.find(':'));
      if (base != kind)
        continue;
      H5Id ds(H5Dopen2(g.id, w.c_str(), H5P_DEFAULT), H5Dclose);
      if (!ds.valid())
        fail(m_Path + ": cannot open dataset " + layer + "/" + w);
      H5Id      space(H5Dget_space(ds.id), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.id);
      if (rank < 1 || rank > 4)
        fail(m_Path + ": dataset " + layer + "/" + w + " has " + std::to_string(rank) +
             " dimensions; a Keras weight has 1 to 4");
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      H5Sget_simple_extent_dims(space.id, dims.data(), nullptr);
      // The extents are the file's word: checked (overflow-safe) before anything is allocated. No Res-CR-Net weight
      // comes near 2^26 values (256 MiB).
      uint64_t elements = 1;
      for (const hsize_t d : dims)
        if (!rescrnet::MultiplyWithoutOverflow(elements, d, elements) || elements > (uint64_t{ 1 } << 26))
          fail(m_Path + ": dataset " + layer + "/" + w + " declares more values than any Res-CR-Net weight");
      std::vector<int64_t> shape(dims.begin(), dims.end());
      auto                 t = torch::empty(shape, torch::kFloat32);
      if (H5Dread(ds.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr<float>()) < 0)
        fail(m_Path + ": cannot read dataset " + layer + "/" + w);
      return t;
    }
    fail(m_Path + ": Keras layer '" + layer + "' has no weight '" + kind + "'");
  }

private:
  std::string m_Path;
  std::string m_Root;
  hid_t       m_Group{ -1 };
};

void
assign(torch::Tensor & dst, const torch::Tensor & src, const std::string & what)
{
  if (!dst.sizes().equals(src.sizes()))
  {
    std::ostringstream os;
    os << "shape mismatch for " << what << ": Keras " << src.sizes() << ", port " << dst.sizes();
    fail(os.str());
  }
  if (!torch::isfinite(src).all().item<bool>())
    fail("non-finite values (NaN or infinity) in " + what);
  torch::NoGradGuard noGrad;
  dst.copy_(src);
}

void
loadBatchNorm(const WeightReader & w, const std::string & layer, torch::nn::BatchNorm2d & bn)
{
  assign(bn->weight, w.read(layer, "gamma"), layer + "/gamma");
  assign(bn->bias, w.read(layer, "beta"), layer + "/beta");
  assign(bn->running_mean, w.read(layer, "moving_mean"), layer + "/moving_mean");
  assign(bn->running_var, w.read(layer, "moving_variance"), layer + "/moving_variance");
}

void
loadSeparable(const WeightReader & w, const std::string & layer, SeparableConv2d & conv)
{
  // depthwise (k, k, Cin, 1) -> (Cin, 1, k, k); pointwise (1, 1, Cin, F) -> (F, Cin, 1, 1)
  assign(conv->depthwise->weight, w.read(layer, "depthwise_kernel").permute({ 2, 3, 0, 1 }), layer + "/depthwise");
  assign(conv->pointwise->weight, w.read(layer, "pointwise_kernel").permute({ 3, 2, 0, 1 }), layer + "/pointwise");
  assign(conv->pointwise->bias, w.read(layer, "bias"), layer + "/bias");
}

void
loadConv(const WeightReader & w, const std::string & layer, torch::nn::Conv2d & conv)
{
  assign(conv->weight, w.read(layer, "kernel").permute({ 3, 2, 0, 1 }), layer + "/kernel");
  assign(conv->bias, w.read(layer, "bias"), layer + "/bias");
}

// The whole content of a file, as untrusted input: a regular file of at most maxBytes (not /dev/urandom or a FIFO).
std::string
readBoundedFile(const std::string & path, uint64_t maxBytes, const char * what)
{
  try
  {
    return rescrnet::ReadInputFile(path, maxBytes, what);
  }
  catch (const rescrnet::InputFileError & e)
  {
    fail(e.what());
  }
}

std::string
baseName(const std::string & path)
{
  const auto p = path.find_last_of('/');
  return p == std::string::npos ? path : path.substr(p + 1);
}

// The HDF5 file, opened read-only. Throws KerasImportError for a missing, unreadable or non-HDF5 file.
H5Id
openKerasFile(const std::string & h5Path)
{
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); // errors are reported through exceptions instead
  try
  {
    rescrnet::CheckInputFile(h5Path, rescrnet::GetInputLimits().maxFileBytes, "the Keras file");
  }
  catch (const rescrnet::InputFileError & e)
  {
    fail(e.what());
  }
  if (H5Fis_hdf5(h5Path.c_str()) <= 0)
    fail(h5Path + ": not an HDF5 file");
  H5Id file(H5Fopen(h5Path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid())
    fail(h5Path + ": cannot open HDF5 file");
  return file;
}

// The Keras model configuration and where it came from: the explicit JSON file, else the model_config attribute of
// an `_all.h5` file, else the `.json` file beside a `_weights.h5` file.
struct Architecture
{
  json        config;
  std::string source;
};

Architecture
readArchitecture(hid_t file, const std::string & h5Path, const std::string & architectureJson)
{
  std::string  text;
  Architecture architecture;
  if (!architectureJson.empty())
  {
    text = readBoundedFile(architectureJson, rescrnet::GetInputLimits().maxTextBytes, "the architecture JSON");
    if (text.empty())
      fail(architectureJson + ": cannot read the architecture JSON");
    architecture.source = baseName(architectureJson);
  }
  else if (const auto attribute = readStringAttribute(file, "model_config"); !attribute.empty())
  {
    text = attribute[0];
    architecture.source = baseName(h5Path) + " (model_config)";
  }
  else
  {
    std::string sibling = h5Path;
    for (const char * suffix : { "_weights.h5", "_all.h5", ".h5" })
    {
      const std::string s(suffix);
      if (sibling.size() > s.size() && sibling.compare(sibling.size() - s.size(), s.size(), s) == 0)
      {
        sibling = sibling.substr(0, sibling.size() - s.size()) + ".json";
        break;
      }
    }
    std::error_code ec;
    if (std::filesystem::exists(sibling, ec))
      text = readBoundedFile(sibling, rescrnet::GetInputLimits().maxTextBytes, "the architecture JSON");
    if (text.empty())
      fail(h5Path + ": holds weights only and no architecture; expected " + sibling + " (or pass the JSON)");
    architecture.source = baseName(sibling);
  }
  try
  {
    architecture.config = ParseJson(text);
  }
  catch (const JsonError & e)
  {
    fail(architecture.source + ": invalid Keras model JSON: " + e.what());
  }
  return architecture;
}

// The Keras layers of the network: its blocks (STEM first) and the head.
struct NetworkLayers
{
  std::vector<BlockLayers> blocks;
  std::string              head, headActivation;
};

// The layers of block `index` (0: the STEM), which starts at `cur`, following the graph; false at the head.
bool
followBlock(const KerasGraph & graph, std::string & cur, size_t index, BlockLayers & b)
{
  std::string branchSource = cur;
  if (index > 0)
  {
    auto bns = graph.consumers(cur, "BatchNormalization");
    if (bns.empty())
      return false; // no pre-activation: the head follows
    b.preBn = bns.at(0);
    branchSource = graph.single(b.preBn, "LeakyReLU");
  }
  auto seps = graph.consumers(branchSource, "SeparableConv2D");
  if (seps.empty())
    fail("unexpected Keras graph: no separable convolutions after '" + branchSource + "'");
  // Follow each branch to the Concatenate, whose input order fixes the channel order.
  std::map<std::string, std::string> firstOfSecond;
  std::string                        concat;
  std::map<std::string, std::string> bnOfFirst;
  for (const auto & s1 : seps)
  {
    const std::string bn = graph.single(s1, "BatchNormalization");
    const std::string act = graph.single(bn, "LeakyReLU");
    const std::string s2 = graph.single(act, "SeparableConv2D");
    const std::string c = graph.single(s2, "Concatenate");
    if (!concat.empty() && c != concat)
      fail("unexpected Keras graph: branches of one block end in different Concatenate layers");
    concat = c;
    firstOfSecond[s2] = s1;
    bnOfFirst[s1] = bn;
  }
  for (const auto & s2 : graph.layer(concat).inbound)
  {
    const std::string s1 = firstOfSecond.at(s2);
    b.sep1.push_back(s1);
    b.bn.push_back(bnOfFirst.at(s1));
    b.sep2.push_back(s2);
  }
  std::vector<std::string> shortcuts = graph.consumers(cur, "Conv2D");
  if (shortcuts.size() != 1)
    fail("unexpected Keras graph: block input '" + cur + "' has " + std::to_string(shortcuts.size()) +
         " 1x1 shortcut convolutions");
  b.shortcut = shortcuts[0];
  b.shortcutBn = graph.single(b.shortcut, "BatchNormalization");
  b.add = graph.single(concat, "Add");
  if (graph.single(b.shortcutBn, "Add") != b.add)
    fail("unexpected Keras graph: shortcut of block " + std::to_string(index) + " joins another Add");
  cur = b.add;
  auto drops = graph.consumers(cur, "SpatialDropout2D");
  if (!drops.empty())
  {
    b.dropout = tidy(graph.layer(drops[0]).config.at("rate").get<double>());
    cur = drops[0];
  }
  return true;
}

NetworkLayers
walkGraph(const KerasGraph & graph)
{
  NetworkLayers layers;
  std::string   cur = graph.input();
  for (BlockLayers b; followBlock(graph, cur, layers.blocks.size(), b); b = BlockLayers())
  {
    layers.blocks.push_back(b);
    // A graph whose blocks feed back into earlier ones would be followed forever.
    if (layers.blocks.size() > static_cast<size_t>(NetworkConfig::MaxConvResBlocks) + 1)
      fail("unexpected Keras graph: more than " + std::to_string(NetworkConfig::MaxConvResBlocks + 1) +
           " blocks (a cycle?)");
  }
  if (graph.consumers(cur, "ConvLSTM2D").size() + graph.consumers(cur, "Bidirectional").size() > 0)
    fail("Keras models with LSTM RES blocks are not supported by the importer");
  layers.head = graph.single(cur, "Conv2D");
  layers.headActivation = graph.single(layers.head, "LeakyReLU");
  auto activations = graph.consumers(layers.headActivation, "");
  if (activations.size() != 1 || (graph.layer(activations[0]).cls != "Softmax" &&
                                  graph.layer(activations[0]).config.value("activation", std::string()) != "softmax"))
    fail("unexpected Keras graph: the head does not end in a softmax");
  return layers;
}

// The network configuration, read from the layers' configurations.
NetworkConfig
configurationOf(const KerasGraph & graph, const NetworkLayers & layers, int64_t inputChannels)
{
  NetworkConfig config;
  config.inputChannels = inputChannels;
  const json & firstSep = graph.layer(layers.blocks[0].sep1[0]).config;
  config.filters = JsonInteger(firstSep.at("filters"));
  config.kernels.clear();
  config.dilations.clear();
  for (const auto & s : layers.blocks[0].sep1)
  {
    const json & c = graph.layer(s).config;
    config.kernels.push_back(pairValue(c, "kernel_size"));
    config.dilations.push_back(pairValue(c, "dilation_rate"));
    if (JsonInteger(c.at("depth_multiplier")) != 1 || c.at("padding") != "same")
      fail("unsupported SeparableConv2D settings in '" + s + "'");
  }
  config.convResBlocks = static_cast<int64_t>(layers.blocks.size()) - 1;
  config.blockDropout.clear();
  for (const auto & b : layers.blocks)
    config.blockDropout.push_back(b.dropout);
  config.numClasses = JsonInteger(graph.layer(layers.head).config.at("filters"));
  config.leakySlope = tidy(graph.layer(layers.headActivation).config.at("alpha").get<double>());
  const json & bnCfg = graph.layer(layers.blocks[0].bn[0]).config;
  config.batchNormEpsilon = tidy(bnCfg.at("epsilon").get<double>());
  // Keras momentum m is PyTorch momentum 1 - m.
  config.batchNormMomentum = tidy(1.0 - bnCfg.at("momentum").get<double>());
  config.lstmBlocks = 0;
  config.validate();
  for (const auto & b : layers.blocks)
  {
    for (size_t i = 0; i < b.sep1.size(); ++i)
    {
      const json & c = graph.layer(b.sep1[i]).config;
      if (pairValue(c, "kernel_size") != config.kernels[i] || pairValue(c, "dilation_rate") != config.dilations[i])
        fail("unexpected Keras graph: block branches differ in kernel or dilation ('" + b.sep1[i] + "')");
    }
  }
  return config;
}

// Copies the Keras weights into `net`; returns how each block's layers mapped onto the port.
std::vector<std::string>
loadWeights(const WeightReader & weights, const NetworkLayers & layers, const NetworkConfig & config, ResCRNet & net)
{
  std::vector<std::string> mapping;
  for (size_t bi = 0; bi < layers.blocks.size(); ++bi)
  {
    const BlockLayers & b = layers.blocks[bi];
    auto                block = net->convBlocks[bi]->as<ConvResBlock>();
    std::string         line = bi == 0 ? "STEM:" : "CONV RES " + std::to_string(bi) + ":";
    if (!b.preBn.empty())
    {
      loadBatchNorm(weights, b.preBn, block->preBn);
      line += " pre " + b.preBn + ";";
    }
    for (size_t i = 0; i < b.sep1.size(); ++i)
    {
      auto branch = block->branches[i]->as<AtrousBranch>();
      loadSeparable(weights, b.sep1[i], branch->sep1);
      loadBatchNorm(weights, b.bn[i], branch->bn);
      loadSeparable(weights, b.sep2[i], branch->sep2);
      line += " k" + std::to_string(config.kernels[i]) + " " + b.sep1[i] + " > " + b.bn[i] + " > " + b.sep2[i] + ";";
    }
    loadConv(weights, b.shortcut, block->shortcut);
    loadBatchNorm(weights, b.shortcutBn, block->shortcutBn);
    line += " shortcut " + b.shortcut + " > " + b.shortcutBn;
    mapping.push_back(line);
  }
  loadConv(weights, layers.head, net->head);
  mapping.push_back("head: " + layers.head + " > " + layers.headActivation);
  return mapping;
}

json
provenanceOf(hid_t file, const std::string & h5Path, const std::string & architectureSource)
{
  json prov = json::object();
  prov["kind"] = "imported";
  prov["source"] = baseName(h5Path);
  prov["architecture_source"] = architectureSource;
  const auto kerasVersion = readStringAttribute(file, "keras_version");
  if (!kerasVersion.empty())
    prov["keras_version"] = kerasVersion[0];
  const std::string bytes = readBoundedFile(h5Path, rescrnet::GetInputLimits().maxFileBytes, "the Keras file");
  prov["source_crc32"] = static_cast<uint64_t>(Crc32(bytes.data(), bytes.size()));
  prov["licence"] = "Apache-2.0 (CXR-Net, dgattiwsu)";
  prov["imported_by"] = "ITKResCRNet ResCRNetImportKeras";
  return prov;
}

} // namespace

KerasImportResult
ImportKerasModel(const std::string & h5Path, const std::string & architectureJson)
{
  const H5Id         file = openKerasFile(h5Path);
  const Architecture architecture = readArchitecture(file.id, h5Path, architectureJson);

  KerasImportResult result;
  NetworkConfig     config;
  NetworkLayers     layers;
  try
  {
    const KerasGraph graph(architecture.config);
    const json &     shape = graph.layer(graph.input()).config.at("batch_input_shape");
    if (!shape.is_array() || shape.size() != 4)
      fail(architecture.source +
           ": unexpected Keras model JSON: batch_input_shape is not [batch, rows, columns, channels]");
    if (!shape.at(1).is_null() && !shape.at(2).is_null()) // a fixed grid
    {
      result.info.input.height = JsonInteger(shape.at(1));
      result.info.input.width = JsonInteger(shape.at(2));
    }
    layers = walkGraph(graph);
    config = configurationOf(graph, layers, JsonInteger(shape.at(3)));
  }
  catch (const JsonError & e)
  {
    fail(architecture.source + ": unexpected Keras model JSON: " + e.what());
  }
  catch (const json::exception & e)
  {
    fail(architecture.source + ": unexpected Keras model JSON: " + e.what());
  }
  catch (const std::out_of_range & e)
  {
    fail(architecture.source + ": unexpected Keras graph: " + e.what());
  }
  catch (const std::invalid_argument & e)
  {
    fail(architecture.source + ": " + e.what());
  }

  ResCRNet net(config);
  result.mapping = loadWeights(WeightReader(file.id, h5Path), layers, config, net);
  net->eval();
  result.network = net;
  result.info.architecture = config;
  result.info.input.channels = config.inputChannels;
  result.info.classes =
    config.numClasses == 2 ? std::vector<std::string>{ "lungs", "non_lungs" } : std::vector<std::string>{};
  for (int64_t c = static_cast<int64_t>(result.info.classes.size()); c < config.numClasses; ++c)
    result.info.classes.push_back("class_" + std::to_string(c));
  result.info.provenance = provenanceOf(file.id, h5Path, architecture.source);
  return result;
}

} // namespace rescrnet
