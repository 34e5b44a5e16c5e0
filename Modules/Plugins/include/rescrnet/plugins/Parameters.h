// SPDX-License-Identifier: Apache-2.0
// One declaration per parameter of a pipeline stage or model backend: name, type, default, range, label and
// description. The declaration drives the validation of pipeline files, the stage's help text (--listPlugins) and,
// for a parameter that a command-line module exposes as an option, its Slicer XML element. Header-only: plugins
// compile against it.
#ifndef rescrnet_plugins_Parameters_h
#define rescrnet_plugins_Parameters_h

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rescrnet::plugins
{

using Json = nlohmann::ordered_json;

enum class ParameterType
{
  Boolean, // true / false
  Integer, // a whole number, optionally within [minimum, maximum]
  Number,  // a number, optionally within [minimum, maximum]
  String,  // any text
  Choice,  // one of `choices`
  File     // a path; relative paths are relative to the pipeline file's folder
};

struct ParameterSpec
{
  std::string              name; // the JSON key; also the command-line flag where a module exposes it (camelCase)
  ParameterType            type{ ParameterType::String };
  Json                     defaultValue; // null: the parameter is required
  std::optional<double>    minimum;      // Integer and Number
  std::optional<double>    maximum;
  double                   step{ 0 }; // the slider step Slicer shows (0: none)
  std::vector<std::string> choices;   // Choice
  std::string              label;     // a few words, for help and Slicer's GUI
  std::string              description;
  // False for a parameter that changes only how a result is computed, never the result (threads): it is left out of
  // the effective pipeline recorded with the outputs, which are then byte-identical whatever its value.
  bool changesResults{ true };

  bool
  Required() const
  {
    return defaultValue.is_null();
  }

  static ParameterSpec
  Boolean(std::string name, bool defaultValue, std::string label, std::string description)
  {
    return Make(std::move(name), ParameterType::Boolean, defaultValue, std::move(label), std::move(description));
  }
  static ParameterSpec
  Integer(std::string           name,
          Json                  defaultValue,
          std::optional<double> minimum,
          std::optional<double> maximum,
          std::string           label,
          std::string           description)
  {
    auto p =
      Make(std::move(name), ParameterType::Integer, std::move(defaultValue), std::move(label), std::move(description));
    p.minimum = minimum;
    p.maximum = maximum;
    p.step = 1;
    return p;
  }
  static ParameterSpec
  Number(std::string           name,
         Json                  defaultValue,
         std::optional<double> minimum,
         std::optional<double> maximum,
         double                step,
         std::string           label,
         std::string           description)
  {
    auto p =
      Make(std::move(name), ParameterType::Number, std::move(defaultValue), std::move(label), std::move(description));
    p.minimum = minimum;
    p.maximum = maximum;
    p.step = step;
    return p;
  }
  static ParameterSpec
  String(std::string name, Json defaultValue, std::string label, std::string description)
  {
    return Make(
      std::move(name), ParameterType::String, std::move(defaultValue), std::move(label), std::move(description));
  }
  static ParameterSpec
  Choice(std::string              name,
         Json                     defaultValue,
         std::vector<std::string> choices,
         std::string              label,
         std::string              description)
  {
    auto p =
      Make(std::move(name), ParameterType::Choice, std::move(defaultValue), std::move(label), std::move(description));
    p.choices = std::move(choices);
    return p;
  }
  static ParameterSpec
  File(std::string name, Json defaultValue, std::string label, std::string description)
  {
    return Make(
      std::move(name), ParameterType::File, std::move(defaultValue), std::move(label), std::move(description));
  }

private:
  static ParameterSpec
  Make(std::string name, ParameterType type, Json defaultValue, std::string label, std::string description)
  {
    ParameterSpec p;
    p.name = std::move(name);
    p.type = type;
    p.defaultValue = std::move(defaultValue);
    p.label = std::move(label);
    p.description = std::move(description);
    return p;
  }
};

// What a stage or backend is: its registry name, one line for listings, and its parameters.
struct ComponentInfo
{
  std::string                name;    // as pipeline files name it, e.g. "lung-mask"
  std::string                summary; // one line
  std::vector<ParameterSpec> parameters;

  const ParameterSpec *
  FindParameter(const std::string & parameter) const
  {
    for (const auto & p : parameters)
      if (p.name == parameter)
        return &p;
    return nullptr;
  }
};

// A stage's or backend's parameters after validation: every declared parameter present (given or default), each of
// its declared type and range, File parameters made absolute. The getters throw std::invalid_argument for a name
// the component did not declare or a getter that does not fit its type (programming errors).
class ParameterValues
{
public:
  ParameterValues() = default;
  explicit ParameterValues(Json values)
    : m_Values(std::move(values))
  {}

  bool
  GetBool(const std::string & name) const
  {
    return Checked(name, &Json::is_boolean, "a boolean").template get<bool>();
  }
  int64_t
  GetInt(const std::string & name) const
  {
    return Checked(name, &Json::is_number_integer, "an integer").template get<int64_t>();
  }
  double
  GetNumber(const std::string & name) const
  {
    return Checked(name, &Json::is_number, "a number").template get<double>();
  }
  std::string
  GetString(const std::string & name) const
  {
    return Checked(name, &Json::is_string, "a string").template get<std::string>();
  }
  const Json &
  AsJson() const
  {
    return m_Values;
  }

private:
  const Json &
  Checked(const std::string & name, bool (Json::*is)() const noexcept, const char * what) const
  {
    if (!m_Values.is_object() || !m_Values.contains(name))
      throw std::invalid_argument("parameter '" + name + "' was not declared");
    const Json & v = m_Values.at(name);
    if (!(v.*is)())
      throw std::invalid_argument("parameter '" + name + "' is not " + what);
    return v;
  }

  Json m_Values = Json::object();
};

} // namespace rescrnet::plugins

#endif
