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
  auto range = [&fail](const char * name, int64_t value, int64_t lo, int64_t hi) {
    if (value < lo || value > hi)
      fail(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], not " +
           std::to_string(value));
  };
  range("input_channels", inputChannels, 1, MaxInputChannels);
  range("num_classes", numClasses, 2, MaxClasses);
  range("conv_res_blocks", convResBlocks, 0, MaxConvResBlocks);
  range("filters", filters, 1, MaxFilters);
  if (kernels.empty())
    fail("kernels must not be empty");
  if (static_cast<int64_t>(kernels.size()) > MaxBranches)
    fail("at most " + std::to_string(MaxBranches) + " kernels (branches), not " + std::to_string(kernels.size()));
  if (kernels.size() != dilations.size())
    fail("kernels and dilations must have the same length");
  for (size_t i = 0; i < kernels.size(); ++i)
  {
    if (kernels[i] < 1 || kernels[i] % 2 == 0)
      fail("kernel sizes must be odd and positive");
    range("kernel size", kernels[i], 1, MaxKernel);
    range("dilation", dilations[i], 1, MaxDilation);
  }
  if (static_cast<int64_t>(blockDropout.size()) != convResBlocks + 1)
    fail("block_dropout must have conv_res_blocks + 1 entries (" + std::to_string(convResBlocks + 1) + "), not " +
         std::to_string(blockDropout.size()));
  for (double r : blockDropout)
    if (!(r >= 0.0 && r < 1.0)) // NaN fails too
      fail("dropout rates must be in [0, 1)");
  range("lstm_blocks", lstmBlocks, 0, MaxLstmBlocks);
  range("lstm_filters", lstmFilters, 1, MaxLstmFilters);
  if (!(lstmRecurrentDropout >= 0.0 && lstmRecurrentDropout < 1.0))
    fail("lstm_recurrent_dropout must be in [0, 1)");
  if (!(leakySlope >= 0.0 && leakySlope <= 1.0))
    fail("leaky_slope must be a finite number in [0, 1]");
  if (!(batchNormEpsilon > 0.0 && batchNormEpsilon <= 1.0))
    fail("batch_norm_epsilon must be in (0, 1]");
  if (!(batchNormMomentum >= 0.0 && batchNormMomentum <= 1.0))
    fail("batch_norm_momentum must be in [0, 1]");
  const double elements = stateElementCount();
  if (elements > MaxStateElements)
    fail("a network of " + std::to_string(static_cast<long long>(elements)) + " weights exceeds the limit of " +
         std::to_string(static_cast<long long>(MaxStateElements)));
}

double
NetworkConfig::stateElementCount() const
{
  const double f = static_cast<double>(filters);
  const double channels = f * static_cast<double>(kernels.size());
  auto         batchNorm = [](double c) { return 4.0 * c; }; // weight, bias, running mean and variance
  auto         separable = [](double in, double out, double k) { return in * k * k + out * in + out; };
  auto         block = [&](double in, bool stem) {
    double n = stem ? 0.0 : batchNorm(in);
    for (int64_t k : kernels)
    {
      const double kk = static_cast<double>(k);
      n += separable(in, f, kk) + batchNorm(f) + separable(f, f, kk);
    }
    return n + channels * in + channels + batchNorm(channels); // 1x1 shortcut and its batch norm
  };
  double n = block(static_cast<double>(inputChannels), true);
  n += static_cast<double>(convResBlocks) * block(channels, false);
  const double classes = static_cast<double>(numClasses);
  if (lstmBlocks == 0)
    return n + classes * channels + classes;
  const double lf = static_cast<double>(lstmFilters);
  for (int64_t i = 0; i < lstmBlocks; ++i)
  {
    const double in = i == 0 ? channels : classes;
    // 1x1 convolution, then four convolutional LSTMs with (3, classes) kernels on one input channel.
    n += classes * in + classes + 4.0 * (4.0 * lf * 3.0 * classes + 4.0 * lf * lf * 3.0 * classes + 4.0 * lf);
  }
  return n;
}

namespace
{
using json = nlohmann::ordered_json;

std::vector<int64_t>
intArray(const json & a)
{
  if (!a.is_array())
    throw JsonError("expected an array of integers, not " + DumpJson(a).substr(0, 40));
  if (a.size() > 1024)
    throw JsonError("an array of " + std::to_string(a.size()) + " integers is longer than any network needs");
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
  if (a.size() > 1024)
    throw JsonError("an array of " + std::to_string(a.size()) + " numbers is longer than any network needs");
  std::vector<double> out;
  for (const json & x : a)
  {
    if (!x.is_number())
      throw JsonError("expected a number, not " + DumpJson(x).substr(0, 40));
    out.push_back(x.get<double>());
  }
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
