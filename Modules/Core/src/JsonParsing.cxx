// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/JsonParsing.h"

#include <cmath>
#include <limits>

namespace rescrnet
{

nlohmann::ordered_json
ParseJson(const std::string & text, const JsonLimits & limits)
{
  if (text.size() > limits.maxBytes)
  {
    throw JsonError("JSON text of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                    std::to_string(limits.maxBytes));
  }
  // The callback sees every container as it opens, before its contents are read.
  const nlohmann::ordered_json::parser_callback_t checkDepth =
    [&limits](int depth, nlohmann::ordered_json::parse_event_t event, nlohmann::ordered_json &) {
      if ((event == nlohmann::ordered_json::parse_event_t::object_start ||
           event == nlohmann::ordered_json::parse_event_t::array_start) &&
          depth >= limits.maxDepth)
      {
        throw JsonError("JSON nesting deeper than " + std::to_string(limits.maxDepth) + " levels");
      }
      return true;
    };
  try
  {
    return nlohmann::ordered_json::parse(text, checkDepth);
  }
  catch (const nlohmann::ordered_json::exception & e)
  {
    throw JsonError(e.what());
  }
}

std::string
DumpJson(const nlohmann::ordered_json & value, int indent)
{
  return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

int64_t
JsonInteger(const nlohmann::ordered_json & value)
{
  if (value.is_number_unsigned())
  {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw JsonError("JSON integer " + std::to_string(v) + " is out of range");
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer())
    return value.get<int64_t>();
  if (value.is_number_float())
  {
    const double v = value.get<double>();
    if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9.0e18)
      return static_cast<int64_t>(v);
    throw JsonError("JSON number " + DumpJson(value) + " is not an integer");
  }
  throw JsonError("JSON value " + DumpJson(value).substr(0, 40) + " is not an integer");
}

} // namespace rescrnet
