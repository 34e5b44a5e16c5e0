// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/NetworkConfig.h"

#include <stdexcept>

namespace rescrnet
{

NetworkConfig
NetworkConfig::LungDefault()
{
  return NetworkConfig{};
}

NetworkConfig
NetworkConfig::MicroscopyDefault()
{
  NetworkConfig c;
  c.inputChannels = 3;
  c.numClasses = 4;
  c.convResBlocks = 5;
  c.blockDropout = { 0.05, 0.05, 0.05, 0.05, 0.05, 0.05 };
  c.lstmBlocks = 1;
  return c;
}

void
NetworkConfig::validate() const
{
  auto fail = [](const std::string & what) { throw std::invalid_argument("invalid network configuration: " + what); };
  if (inputChannels < 1)
    fail("input_channels must be >= 1");
  if (numClasses < 2)
    fail("num_classes must be >= 2");
  if (convResBlocks < 0)
    fail("conv_res_blocks must be >= 0");
  if (filters < 1)
    fail("filters must be >= 1");
  if (kernels.empty())
    fail("kernels must not be empty");
  if (kernels.size() != dilations.size())
    fail("kernels and dilations must have the same length");
  for (size_t i = 0; i < kernels.size(); ++i)
  {
    if (kernels[i] < 1 || kernels[i] % 2 == 0)
      fail("kernel sizes must be odd and positive");
    if (dilations[i] < 1)
      fail("dilations must be positive");
  }
  if (static_cast<int64_t>(blockDropout.size()) != convResBlocks + 1)
    fail("block_dropout must have conv_res_blocks + 1 entries (" + std::to_string(convResBlocks + 1) + "), not " +
         std::to_string(blockDropout.size()));
  for (double r : blockDropout)
    if (r < 0.0 || r >= 1.0)
      fail("dropout rates must be in [0, 1)");
  if (lstmBlocks < 0)
    fail("lstm_blocks must be >= 0");
  if (lstmFilters < 1)
    fail("lstm_filters must be >= 1");
  if (lstmRecurrentDropout < 0.0 || lstmRecurrentDropout >= 1.0)
    fail("lstm_recurrent_dropout must be in [0, 1)");
  if (batchNormEpsilon <= 0.0)
    fail("batch_norm_epsilon must be > 0");
}

namespace
{
using json = nlohmann::ordered_json;

std::vector<int64_t>
intArray(const json & a)
{
  if (!a.is_array())
    throw JsonError("expected an array of integers, not " + DumpJson(a).substr(0, 40));
  std::vector<int64_t> out;
  for (const json & x : a)
    out.push_back(JsonInteger(x));
  return out;
}

std::vector<double>
doubleArray(const json & a)
{
  if (!a.is_array())
    throw JsonError("expected an array of numbers, not " + DumpJson(a).substr(0, 40));
  std::vector<double> out;
  for (const json & x : a)
    out.push_back(x.get<double>());
  return out;
}
} // namespace

nlohmann::ordered_json
NetworkConfig::toJson() const
{
  json j = json::object();
  j["type"] = "Res-CR-Net";
  j["input_channels"] = inputChannels;
  j["num_classes"] = numClasses;
  j["conv_res_blocks"] = convResBlocks;
  j["filters"] = filters;
  j["kernels"] = kernels;
  j["dilations"] = dilations;
  j["block_dropout"] = blockDropout;
  j["lstm_blocks"] = lstmBlocks;
  j["lstm_filters"] = lstmFilters;
  j["lstm_recurrent_dropout"] = lstmRecurrentDropout;
  j["leaky_slope"] = leakySlope;
  j["batch_norm_epsilon"] = batchNormEpsilon;
  j["batch_norm_momentum"] = batchNormMomentum;
  return j;
}

NetworkConfig
NetworkConfig::fromJson(const nlohmann::ordered_json & j)
{
  if (!j.is_object())
    throw std::invalid_argument("invalid network configuration: not a JSON object");
  NetworkConfig c;
  try
  {
    const std::string type = j.value("type", std::string("Res-CR-Net"));
    if (type != "Res-CR-Net")
      throw std::invalid_argument("invalid network configuration: unknown type '" + type + "'");
    const auto integer = [&j](const char * key, int64_t fallback) {
      return j.contains(key) ? JsonInteger(j.at(key)) : fallback;
    };
    c.inputChannels = JsonInteger(j.at("input_channels"));
    c.numClasses = JsonInteger(j.at("num_classes"));
    c.convResBlocks = JsonInteger(j.at("conv_res_blocks"));
    c.filters = JsonInteger(j.at("filters"));
    c.kernels = intArray(j.at("kernels"));
    c.dilations = intArray(j.at("dilations"));
    c.blockDropout = doubleArray(j.at("block_dropout"));
    c.lstmBlocks = integer("lstm_blocks", 0);
    c.lstmFilters = integer("lstm_filters", 1);
    c.lstmRecurrentDropout = j.value("lstm_recurrent_dropout", 0.1);
    c.leakySlope = j.value("leaky_slope", 0.1);
    c.batchNormEpsilon = j.value("batch_norm_epsilon", 1e-3);
    c.batchNormMomentum = j.value("batch_norm_momentum", 0.01);
  }
  catch (const std::invalid_argument &)
  {
    throw;
  }
  catch (const std::exception & e)
  {
    throw std::invalid_argument(std::string("invalid network configuration: ") + e.what());
  }
  c.validate();
  return c;
}

bool
NetworkConfig::operator==(const NetworkConfig & o) const
{
  return toJson() == o.toJson();
}

} // namespace rescrnet
