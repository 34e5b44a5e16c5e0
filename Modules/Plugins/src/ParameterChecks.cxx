// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/plugins/ParameterChecks.h"
#include "rescrnet/TextUtilities.h"

#include <cmath>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace rescrnet::plugins
{

namespace
{

std::string
Number(double v)
{
  std::ostringstream s;
  s.precision(12);
  s << v;
  return s.str();
}

std::string
Range(const ParameterSpec & spec)
{
  if (spec.minimum && spec.maximum)
    return " in [" + Number(*spec.minimum) + ", " + Number(*spec.maximum) + "]";
  if (spec.minimum)
    return " >= " + Number(*spec.minimum);
  if (spec.maximum)
    return " <= " + Number(*spec.maximum);
  return std::string();
}

std::string
Choices(const ParameterSpec & spec)
{
  std::string list;
  for (const auto & c : spec.choices)
    list += (list.empty() ? "\"" : ", \"") + c + "\"";
  return list;
}

std::string
Shown(const Json & value)
{
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}


} // namespace

std::string
DescribeType(const ParameterSpec & spec)
{
  switch (spec.type)
  {
    case ParameterType::Boolean:
      return "true or false";
    case ParameterType::Integer:
      return "an integer" + Range(spec);
    case ParameterType::Number:
      return "a number" + Range(spec);
    case ParameterType::String:
      return "a string";
    case ParameterType::Choice:
      return "one of " + Choices(spec);
    case ParameterType::File:
      return "a file name";
  }
  return "?";
}

std::string
CheckParameterValue(const ParameterSpec & spec, const Json & value)
{
  const auto wrong = [&] { return "expected " + DescribeType(spec) + ", got " + Shown(value); };
  switch (spec.type)
  {
    case ParameterType::Boolean:
      return value.is_boolean() ? std::string() : wrong();
    case ParameterType::Integer:
    case ParameterType::Number:
    {
      if (!value.is_number())
        return wrong();
      const double v = value.get<double>();
      if (!std::isfinite(v))
        return wrong();
      if (spec.type == ParameterType::Integer && (std::floor(v) != v || std::fabs(v) > 9.0e15))
        return wrong();
      if ((spec.minimum && v < *spec.minimum) || (spec.maximum && v > *spec.maximum))
        return Shown(value) + " is out of range: expected " + DescribeType(spec);
      return std::string();
    }
    case ParameterType::String:
    case ParameterType::File:
      return value.is_string() && (spec.type == ParameterType::String || !value.get<std::string>().empty())
               ? std::string()
               : wrong();
    case ParameterType::Choice:
      if (!value.is_string())
        return wrong();
      for (const auto & c : spec.choices)
        if (c == value.get<std::string>())
          return std::string();
      return Shown(value) + " is not " + DescribeType(spec);
  }
  return wrong();
}

Json
ParameterFromText(const ParameterSpec & spec, const std::string & text)
{
  Json value;
  switch (spec.type)
  {
    case ParameterType::Boolean:
      if (text != "true" && text != "false")
        throw std::invalid_argument("expected true or false, got '" + text + "'");
      value = text == "true";
      break;
    case ParameterType::Integer:
    case ParameterType::Number:
    {
      size_t used = 0;
      double v = 0;
      try
      {
        v = std::stod(text, &used);
      }
      catch (const std::exception &)
      {
        used = 0;
      }
      if (used != text.size() || text.empty())
        throw std::invalid_argument("expected " + DescribeType(spec) + ", got '" + text + "'");
      if (spec.type == ParameterType::Integer && std::floor(v) == v && std::fabs(v) < 9.0e15)
        value = static_cast<int64_t>(v);
      else
        value = v;
      break;
    }
    default:
      value = text;
  }
  const std::string problem = CheckParameterValue(spec, value);
  if (!problem.empty())
    throw std::invalid_argument(problem);
  return value;
}

std::string
ParameterHelp(const ParameterSpec & spec)
{
  std::string line = "    " + spec.name + "  " + DescribeType(spec);
  line += spec.Required() ? ", required" : ", default " + Shown(spec.defaultValue);
  line += "\n        " + (spec.label.empty() ? std::string() : spec.label + ": ") + spec.description + "\n";
  return line;
}

std::string
SlicerParameterXML(const ParameterSpec & spec, const std::string & indent)
{
  static const std::regex identifier("[A-Za-z_][A-Za-z0-9_]*");
  if (!std::regex_match(spec.name, identifier))
    throw std::invalid_argument("parameter '" + spec.name + "' is not a valid Slicer name and flag");
  if (spec.Required())
    throw std::invalid_argument("parameter '" + spec.name + "' has no default; Slicer options need one");
  if (spec.type == ParameterType::Boolean && spec.defaultValue.get<bool>())
    throw std::invalid_argument("boolean parameter '" + spec.name +
                                "' defaults to true; Slicer passes a boolean flag only to turn it on");
  std::string tag;
  switch (spec.type)
  {
    case ParameterType::Boolean:
      tag = "boolean";
      break;
    case ParameterType::Integer:
      tag = "integer";
      break;
    case ParameterType::Number:
      tag = "float";
      break;
    case ParameterType::String:
      tag = "string";
      break;
    case ParameterType::Choice:
      tag = "string-enumeration";
      break;
    case ParameterType::File:
      tag = "file";
      break;
  }
  const std::string in = indent + "  ";
  std::string       xml = indent + "<" + tag + ">\n";
  xml += in + "<name>" + spec.name + "</name>\n";
  xml += in + "<longflag>" + spec.name + "</longflag>\n";
  xml += in + "<label>" + EscapeXML(spec.label.empty() ? spec.name : spec.label) + "</label>\n";
  if (spec.type == ParameterType::File)
    xml += in + "<channel>input</channel>\n";
  xml += in + "<description>" + EscapeXML(spec.description) + "</description>\n";
  const std::string value =
    spec.defaultValue.is_string() ? spec.defaultValue.get<std::string>() : spec.defaultValue.dump();
  if (spec.type != ParameterType::File || !value.empty())
    xml += in + "<default>" + EscapeXML(value) + "</default>\n";
  for (const auto & c : spec.choices)
    xml += in + "<element>" + EscapeXML(c) + "</element>\n";
  if ((spec.type == ParameterType::Integer || spec.type == ParameterType::Number) && spec.minimum && spec.maximum)
  {
    xml += in + "<constraints><minimum>" + Number(*spec.minimum) + "</minimum><maximum>" + Number(*spec.maximum) +
           "</maximum>";
    if (spec.step > 0)
      xml += "<step>" + Number(spec.step) + "</step>";
    xml += "</constraints>\n";
  }
  xml += indent + "</" + tag + ">\n";
  return xml;
}

} // namespace rescrnet::plugins
