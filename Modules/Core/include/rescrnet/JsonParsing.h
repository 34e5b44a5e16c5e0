// SPDX-License-Identifier: Apache-2.0
// JSON for model headers, Keras model configurations, checkpoints and reports: nlohmann::ordered_json (keys keep
// their insertion order, so written headers read naturally), with the limits that untrusted text needs. The library
// is header-only, so Core still links LibTorch alone.
#ifndef rescrnet_JsonParsing_h
#define rescrnet_JsonParsing_h

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace rescrnet
{

// Text that is not JSON, breaks a limit, or holds a value of the wrong kind. The message names the problem.
class JsonError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct JsonLimits
{
  // Longest text accepted (checked before parsing).
  size_t maxBytes{ 64u << 20 };
  // Deepest nesting of objects and arrays accepted; model headers nest 4 levels, Keras configurations about 10.
  int maxDepth{ 64 };
};

// Parses `text` with the limits; throws JsonError. Python's NaN/Infinity are not JSON and are rejected.
nlohmann::ordered_json
ParseJson(const std::string & text, const JsonLimits & limits = JsonLimits());

// Serialises `value` (indent < 0: one line); invalid UTF-8 in strings is replaced, never thrown.
std::string
DumpJson(const nlohmann::ordered_json & value, int indent = -1);

// The integer in `value`: an integer number, or a floating-point number with an integral value in range. Throws
// JsonError otherwise (a string, 2.5, null, ...).
int64_t
JsonInteger(const nlohmann::ordered_json & value);

} // namespace rescrnet

#endif
