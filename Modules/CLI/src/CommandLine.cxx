// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/cli/CommandLine.h"

#include "rescrnet/AtomicFile.h"
#include "rescrnet/TextUtilities.h"
#include "rescrnet/cli/Progress.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace rescrnet::cli
{

namespace
{

std::string
Join(const std::vector<std::string> & items, const std::string & separator)
{
  std::string out;
  for (size_t i = 0; i < items.size(); ++i)
    out += (i ? separator : std::string()) + items[i];
  return out;
}

bool
ParseInt64(const std::string & text, int64_t & value)
{
  const std::string s = Trim(text);
  if (s.empty())
    return false;
  const char * first = s.data();
  if (*first == '+')
    ++first;
  const auto result = std::from_chars(first, s.data() + s.size(), value);
  return result.ec == std::errc() && result.ptr == s.data() + s.size();
}

bool
ParseDouble(const std::string & text, double & value)
{
  const std::string s = Trim(text);
  if (s.empty())
    return false;
  errno = 0;
  char * end = nullptr;
  value = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && errno != ERANGE && std::isfinite(value);
}

// "-5", "-0.5", "-.5" and "-" are values, not options.
bool
LooksLikeOption(const std::string & token)
{
  return token.size() >= 2 && token[0] == '-' &&
         (token[1] == '-' || std::isalpha(static_cast<unsigned char>(token[1])));
}

// Checks one value against its parameter; throws CommandLineError.
void
CheckValue(const Parameter & p, const std::string & value)
{
  const std::string who = p.DisplayName();
  if (p.IsEnumeration())
  {
    if (std::find(p.elements.begin(), p.elements.end(), value) == p.elements.end())
      throw CommandLineError(who + " must be one of " + Join(p.elements, ", ") + "; got '" + value + "'");
    return;
  }
  if (p.IsVector() && !p.IsNumeric())
    return;
  if (!p.IsNumeric())
    return;
  const std::vector<std::string> items = p.IsVector() ? SplitComma(value) : std::vector<std::string>{ value };
  const char * expects = p.IsVector() ? (p.IsIntegral() ? "comma-separated integers" : "comma-separated numbers")
                                      : (p.IsIntegral() ? "an integer" : "a number");
  if (items.empty())
    throw CommandLineError(who + " expects " + expects + ", got '" + value + "'");
  if (p.type == ParameterType::Point && items.size() != 3)
    throw CommandLineError(who + " expects a point x,y,z, got '" + value + "'");
  if (p.type == ParameterType::Region && items.size() != 6)
    throw CommandLineError(who + " expects a region x,y,z,rx,ry,rz, got '" + value + "'");
  for (const auto & item : items)
  {
    double  v = 0.0;
    int64_t i = 0;
    if (p.IsIntegral() ? !ParseInt64(item, i) : !ParseDouble(item, v))
      throw CommandLineError(who + " expects " + expects + ", got '" + value + "'");
    if (p.IsIntegral())
      v = static_cast<double>(i);
    if (p.minimum && p.maximum && (v < *p.minimum || v > *p.maximum))
      throw CommandLineError(who + " must be between " + FormatNumber(*p.minimum) + " and " + FormatNumber(*p.maximum) +
                             ", got " + Trim(item));
    if (p.minimum && v < *p.minimum)
      throw CommandLineError(who + " must be at least " + FormatNumber(*p.minimum) + ", got " + Trim(item));
    if (p.maximum && v > *p.maximum)
      throw CommandLineError(who + " must be at most " + FormatNumber(*p.maximum) + ", got " + Trim(item));
  }
}

void
CheckInputPath(const Parameter & p, const std::string & value)
{
  if (!p.IsPath() || p.channel != "input" || value.empty())
    return;
  std::error_code ec;
  const auto      status = std::filesystem::status(value, ec);
  if (!std::filesystem::exists(status))
    throw CommandLineError(p.DisplayName() + ": '" + value + "' does not exist");
  if (p.type == ParameterType::Directory && !std::filesystem::is_directory(status))
    throw CommandLineError(p.DisplayName() + ": '" + value + "' is not a directory");
}

std::string
ValueKind(const Parameter & p)
{
  switch (p.type)
  {
    case ParameterType::Integer:
    case ParameterType::IntegerEnumeration:
      return "int";
    case ParameterType::Float:
    case ParameterType::Double:
    case ParameterType::FloatEnumeration:
    case ParameterType::DoubleEnumeration:
      return "number";
    case ParameterType::IntegerVector:
      return "int,...";
    case ParameterType::FloatVector:
    case ParameterType::DoubleVector:
      return "number,...";
    case ParameterType::StringVector:
      return "string,...";
    case ParameterType::Point:
      return "x,y,z";
    case ParameterType::Region:
      return "x,y,z,rx,ry,rz";
    case ParameterType::Boolean:
      return "";
    default:
      return p.tag;
  }
}

// Appends "  left  text" with `text` wrapped at 100 columns under itself.
void
AddEntry(std::ostringstream & os, const std::string & left, const std::string & text, size_t column)
{
  constexpr size_t width = 100;
  std::string      line = "  " + left;
  if (line.size() + 2 > column)
  {
    os << line << '\n';
    line.clear();
  }
  line.resize(column, ' ');
  const size_t       indent = column;
  std::istringstream words(text);
  std::string        word;
  bool               first = true;
  while (words >> word)
  {
    if (!first && line.size() + 1 + word.size() > width)
    {
      os << line << '\n';
      line = std::string(indent, ' ') + word;
    }
    else
    {
      line += (first ? "" : " ") + word;
    }
    first = false;
  }
  os << line << '\n';
}

void
AddParagraph(std::ostringstream & os, const std::string & text)
{
  constexpr size_t   width = 100;
  std::istringstream words(text);
  std::string        word;
  std::string        line;
  while (words >> word)
  {
    if (!line.empty() && line.size() + 1 + word.size() > width)
    {
      os << line << '\n';
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty())
    os << line << '\n';
}

std::string
ParameterHelp(const Parameter & p)
{
  std::string text = p.label.empty() ? std::string() : p.label + ".";
  if (!p.description.empty())
    text += (text.empty() ? "" : " ") + p.description;
  std::vector<std::string> notes;
  if (p.IsEnumeration())
    notes.push_back("one of: " + Join(p.elements, ", "));
  if (p.minimum && p.maximum)
    notes.push_back("range " + FormatNumber(*p.minimum) + " to " + FormatNumber(*p.maximum));
  else if (p.minimum)
    notes.push_back("at least " + FormatNumber(*p.minimum));
  else if (p.maximum)
    notes.push_back("at most " + FormatNumber(*p.maximum));
  if (p.defaultValue && !p.defaultValue->empty() && !p.IsBoolean())
    notes.push_back("default: " + *p.defaultValue);
  if (p.IsPath() && !p.channel.empty())
    notes.push_back(p.channel);
  if (p.IsMultiple())
    notes.push_back("may be repeated");
  if (!notes.empty())
    text += " [" + Join(notes, "; ") + "]";
  return text;
}

std::string
OptionLeft(const Parameter & p)
{
  std::string left;
  if (!p.flag.empty())
    left += "-" + p.flag + (p.longflag.empty() ? "" : ", ");
  if (!p.longflag.empty())
    left += "--" + p.longflag;
  if (!p.IsBoolean())
    left += " <" + ValueKind(p) + ">";
  return left;
}

} // namespace

// ---------------------------------------------------------------------------------------------------------------
// Arguments

Arguments::Arguments(ModuleDescription description)
  : m_Description(std::move(description))
{}

const Parameter &
Arguments::Require(const std::string & name) const
{
  const Parameter * p = m_Description.FindParameter(name);
  if (!p)
    throw std::invalid_argument("the XML description declares no parameter '" + name + "'");
  return *p;
}

bool
Arguments::IsSet(const std::string & name) const
{
  Require(name);
  return m_Values.count(name) > 0;
}

std::string
Arguments::GetString(const std::string & name) const
{
  const Parameter & p = Require(name);
  const auto        it = m_Values.find(name);
  if (p.IsBoolean())
    return it != m_Values.end() ? "true" : "false";
  if (it != m_Values.end())
    return it->second.back();
  return p.defaultValue.value_or(std::string());
}

int64_t
Arguments::GetInt(const std::string & name) const
{
  const Parameter & p = Require(name);
  if (!p.IsIntegral() || p.IsVector())
    throw std::invalid_argument("GetInt: parameter '" + name + "' is <" + p.tag + ">, not an integer");
  int64_t v = 0;
  if (!ParseInt64(GetString(name), v))
    throw std::out_of_range("parameter '" + name + "' has no value");
  return v;
}

double
Arguments::GetDouble(const std::string & name) const
{
  const Parameter & p = Require(name);
  if (!p.IsNumeric() || p.IsVector())
    throw std::invalid_argument("GetDouble: parameter '" + name + "' is <" + p.tag + ">, not a number");
  double v = 0.0;
  if (!ParseDouble(GetString(name), v))
    throw std::out_of_range("parameter '" + name + "' has no value");
  return v;
}

bool
Arguments::GetBool(const std::string & name) const
{
  const Parameter & p = Require(name);
  if (!p.IsBoolean())
    throw std::invalid_argument("GetBool: parameter '" + name + "' is <" + p.tag + ">, not a boolean");
  return m_Values.count(name) > 0;
}

std::vector<std::string>
Arguments::GetStringVector(const std::string & name) const
{
  return SplitComma(GetString(name));
}

std::vector<double>
Arguments::GetDoubleVector(const std::string & name) const
{
  const Parameter & p = Require(name);
  if (!p.IsNumeric())
    throw std::invalid_argument("GetDoubleVector: parameter '" + name + "' is <" + p.tag + ">, not numeric");
  std::vector<double> out;
  for (const auto & item : GetStringVector(name))
  {
    double v = 0.0;
    if (!ParseDouble(item, v))
      throw std::out_of_range("parameter '" + name + "': '" + item + "' is not a number");
    out.push_back(v);
  }
  return out;
}

std::vector<int64_t>
Arguments::GetIntVector(const std::string & name) const
{
  const Parameter & p = Require(name);
  if (!p.IsIntegral())
    throw std::invalid_argument("GetIntVector: parameter '" + name + "' is <" + p.tag + ">, not integral");
  std::vector<int64_t> out;
  for (const auto & item : GetStringVector(name))
  {
    int64_t v = 0;
    if (!ParseInt64(item, v))
      throw std::out_of_range("parameter '" + name + "': '" + item + "' is not an integer");
    out.push_back(v);
  }
  return out;
}

std::vector<std::string>
Arguments::GetAll(const std::string & name) const
{
  const Parameter & p = Require(name);
  const auto        it = m_Values.find(name);
  if (it != m_Values.end())
    return it->second;
  if (p.defaultValue && !p.defaultValue->empty())
    return { *p.defaultValue };
  return {};
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

Arguments
ParseArguments(const ModuleDescription & description, const std::vector<std::string> & args)
{
  Arguments result(description);
  // --help and --version win over everything else, wherever they are (before "--").
  for (const auto & a : args)
  {
    if (a == "--")
      break;
    if (a == "--help" || a == "-h")
      result.m_Help = true;
    else if (a == "--version")
      result.m_Version = true;
  }
  if (result.m_Help || result.m_Version)
    return result;

  std::vector<std::string> positional;
  bool                     onlyPositional = false;
  for (size_t i = 0; i < args.size(); ++i)
  {
    const std::string & token = args[i];
    if (onlyPositional || !LooksLikeOption(token))
    {
      positional.push_back(token);
      continue;
    }
    if (token == "--")
    {
      onlyPositional = true;
      continue;
    }
    std::string key;
    std::string value;
    bool        hasValue = false;
    const bool  isLong = token.compare(0, 2, "--") == 0;
    const auto  eq = token.find('=');
    key = token.substr(isLong ? 2 : 1, eq == std::string::npos ? std::string::npos : eq - (isLong ? 2 : 1));
    if (eq != std::string::npos)
    {
      value = token.substr(eq + 1);
      hasValue = true;
    }
    // The value of an option: after '=', else the next argument.
    const auto takeValue = [&](const std::string & who) {
      if (hasValue)
        return value;
      if (i + 1 >= args.size() || args[i + 1].compare(0, 2, "--") == 0)
        throw CommandLineError(who + " expects a value");
      return args[++i];
    };
    const auto noValue = [&](const std::string & who) {
      if (hasValue)
        throw CommandLineError(who + " is a switch and takes no value");
    };

    if (isLong)
    {
      if (key == "xml")
      {
        if (i != 0)
          throw CommandLineError("--xml is accepted only as the first argument");
        noValue(token);
        continue;
      }
      if (key == "echo")
      {
        noValue("--echo");
        result.m_Echo = true;
        continue;
      }
      if (key == "returnparameterfile")
      {
        result.m_ReturnParameterFile = takeValue("--returnparameterfile");
        if (result.m_ReturnParameterFile.empty())
          throw CommandLineError("--returnparameterfile expects a file name");
        continue;
      }
      if (key == "processinformationaddress")
      {
        result.m_ProcessInformationAddress = takeValue("--processinformationaddress");
        continue;
      }
    }
    const Parameter * p =
      isLong ? description.FindLongflag(key) : (key.size() == 1 ? description.FindFlag(key) : nullptr);
    if (!p)
      throw CommandLineError("unknown option " + (isLong ? "--" + key : "-" + key) + " (see --help)");
    const std::string who = isLong ? "--" + key : "-" + key;
    std::string       v;
    if (p->IsBoolean())
    {
      noValue(who);
      v = "true";
    }
    else
    {
      v = takeValue(who);
      CheckValue(*p, v);
    }
    auto & values = result.m_Values[p->name];
    if (!values.empty() && !p->IsMultiple())
      throw CommandLineError(p->DisplayName() + " is given more than once");
    values.push_back(v);
  }

  const auto expected = description.PositionalParameters();
  if (positional.size() > expected.size())
    throw CommandLineError("unexpected argument '" + positional[expected.size()] + "' (see --help)");
  if (positional.size() < expected.size())
  {
    const Parameter & missing = *expected[positional.size()];
    throw CommandLineError("missing argument " + missing.DisplayName() +
                           (missing.label.empty() ? std::string() : " (" + missing.label + ")") + " (see --help)");
  }
  for (size_t k = 0; k < expected.size(); ++k)
  {
    CheckValue(*expected[k], positional[k]);
    result.m_Values[expected[k]->name].push_back(positional[k]);
  }
  for (const auto & [name, values] : result.m_Values)
    for (const auto & v : values)
      CheckInputPath(*description.FindParameter(name), v);
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Help and echo

std::string
UsageText(const std::string & toolName, const ModuleDescription & d)
{
  std::ostringstream os;
  os << "Usage: " << toolName << " [options]";
  for (const auto * p : d.PositionalParameters())
    os << " <" << p->name << ">";
  os << "\n\n";
  os << d.title << (d.version.empty() ? std::string() : " (version " + d.version + ")") << "\n";
  AddParagraph(os, d.description);

  // The left column fits the longest flag (within reason).
  size_t column = 16;
  for (const auto * p : d.Parameters())
    if (!p->IsReturnParameter())
      column = std::max(column, (p->index ? p->name.size() + 2 : OptionLeft(*p).size()) + 4);
  column = std::min<size_t>(column, 36);

  const auto positional = d.PositionalParameters();
  if (!positional.empty())
  {
    os << "\nArguments:\n";
    for (const auto * p : positional)
      AddEntry(os, "<" + p->name + ">", ParameterHelp(*p), column);
  }
  for (const auto & g : d.groups)
  {
    bool any = false;
    for (const auto & p : g.parameters)
      any = any || (!p.index && !p.IsReturnParameter());
    if (!any)
      continue;
    os << '\n' << (g.label.empty() ? std::string("Options") : g.label) << (g.advanced ? " (advanced)" : "") << ":\n";
    for (const auto & p : g.parameters)
      if (!p.index && !p.IsReturnParameter())
        AddEntry(os, OptionLeft(p), ParameterHelp(p), column);
  }
  os << "\nAutomatic options:\n";
  AddEntry(os, "-h, --help", "Print this help and exit.", column);
  AddEntry(os, "--version", "Print the version and exit.", column);
  AddEntry(os, "--xml", "Print the Slicer XML description and exit (first argument only).", column);
  AddEntry(os, "--echo", "Print the parsed arguments before running.", column);
  AddEntry(os, "--returnparameterfile <file>", "Write the return parameters there as 'name = value' lines.", column);
  AddEntry(os, "--processinformationaddress <address>", "Accepted for Slicer and ignored.", column);
  const auto returned = d.ReturnParameters();
  if (!returned.empty())
  {
    os << "\nReturn parameters (written to --returnparameterfile):\n";
    for (const auto * p : returned)
      AddEntry(os, p->name + " (" + p->tag + ")", ParameterHelp(*p), column);
  }
  return os.str();
}

std::string
EchoText(const std::string & toolName, const Arguments & arguments)
{
  std::ostringstream os;
  os << toolName << " arguments:\n";
  for (const auto * p : arguments.Description().Parameters())
  {
    if (p->IsReturnParameter())
      continue;
    std::string value = p->IsMultiple() ? Join(arguments.GetAll(p->name), " | ") : arguments.GetString(p->name);
    os << "  " << p->name << " (" << (p->index ? "argument " + std::to_string(*p->index + 1) : p->DisplayName())
       << ") = " << value << (arguments.IsSet(p->name) || p->IsBoolean() ? "" : " [default]") << '\n';
  }
  if (!arguments.ReturnParameterFile().empty())
    os << "  returnparameterfile = " << arguments.ReturnParameterFile() << '\n';
  return os.str();
}

// ---------------------------------------------------------------------------------------------------------------
// Return parameters

std::string
FormatNumber(double value)
{
  char       buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

ReturnParameters::ReturnParameters(const ModuleDescription & description)
{
  for (const auto * p : description.ReturnParameters())
    m_Order.push_back(p->name);
}

void
ReturnParameters::Set(const std::string & name, const std::string & value)
{
  if (std::find(m_Order.begin(), m_Order.end(), name) == m_Order.end())
    throw std::invalid_argument("'" + name +
                                "' is not a return parameter of the XML description (an output-channel parameter "
                                "without index)");
  if (value.find_first_of("\r\n") != std::string::npos)
    throw std::invalid_argument("return parameter '" + name + "' holds a line break");
  m_Values[name] = value;
}

void
ReturnParameters::Set(const std::string & name, bool value)
{
  Set(name, std::string(value ? "true" : "false"));
}

void
ReturnParameters::SetInt64(const std::string & name, int64_t value)
{
  Set(name, std::to_string(value));
}

void
ReturnParameters::Set(const std::string & name, double value)
{
  Set(name, FormatNumber(value));
}

void
ReturnParameters::Set(const std::string & name, const std::vector<double> & values)
{
  std::vector<std::string> items;
  for (double v : values)
    items.push_back(FormatNumber(v));
  Set(name, Join(items, ","));
}

void
ReturnParameters::Set(const std::string & name, const std::vector<int64_t> & values)
{
  std::vector<std::string> items;
  for (int64_t v : values)
    items.push_back(std::to_string(v));
  Set(name, Join(items, ","));
}

bool
ReturnParameters::IsSet(const std::string & name) const
{
  return m_Values.count(name) > 0;
}

std::string
ReturnParameters::Text() const
{
  std::string text;
  for (const auto & name : m_Order)
  {
    const auto it = m_Values.find(name);
    if (it != m_Values.end())
      text += name + " = " + it->second + "\n";
  }
  return text;
}

void
ReturnParameters::Write(const std::string & path) const
{
  try
  {
    WriteFileAtomically(path, Text());
  }
  catch (const AtomicFileError & e)
  {
    throw std::runtime_error("cannot write the return parameter file: " + std::string(e.what()));
  }
}

std::map<std::string, std::string>
ReadReturnParameterFile(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read return parameter file '" + path + "'");
  std::map<std::string, std::string> values;
  std::string                        line;
  while (std::getline(in, line))
  {
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      continue;
    values[Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------------------
// Run

int
Run(int argc, char * argv[], std::string_view toolName, std::string_view xml, const ModuleBody & body)
{
  // Slicer's discovery: the XML, first and alone, before anything else touches stdout or stderr.
  if (argc >= 2 && std::strcmp(argv[1], "--xml") == 0)
  {
    std::cout.write(xml.data(), static_cast<std::streamsize>(xml.size()));
    if (xml.empty() || xml.back() != '\n')
      std::cout << '\n';
    std::cout.flush();
    return std::cout ? EXIT_SUCCESS : EXIT_FAILURE;
  }

  const std::string name(toolName);
  ModuleDescription description;
  try
  {
    description = ParseModuleDescription(std::string(xml));
  }
  catch (const std::exception & e)
  {
    std::cerr << name << ": invalid XML description: " << e.what() << std::endl;
    return EXIT_FAILURE;
  }

  Arguments arguments;
  try
  {
    arguments = ParseArguments(description, std::vector<std::string>(argv + std::min(argc, 1), argv + argc));
  }
  catch (const std::exception & e)
  {
    std::cerr << name << ": " << OneLine(e.what()) << std::endl;
    return EXIT_FAILURE;
  }
  if (arguments.HelpRequested())
  {
    std::cout << UsageText(name, description) << std::flush;
    return EXIT_SUCCESS;
  }
  if (arguments.VersionRequested())
  {
    std::cout << name << ' ' << description.version << std::endl;
    return EXIT_SUCCESS;
  }
  if (arguments.EchoRequested())
    std::cout << EchoText(name, arguments) << std::flush;

  ReturnParameters returned(description);
  int              status = EXIT_FAILURE;
  try
  {
    status = body(arguments, returned);
    EndProgressLine();
  }
  catch (const std::exception & e)
  {
    EndProgressLine();
    std::cout.flush();
    std::cerr << name << ": " << OneLine(e.what()) << std::endl;
    return EXIT_FAILURE;
  }
  catch (...)
  {
    EndProgressLine();
    std::cout.flush();
    std::cerr << name << ": unknown error" << std::endl;
    return EXIT_FAILURE;
  }
  std::cout.flush();
  if (status == EXIT_SUCCESS && !arguments.ReturnParameterFile().empty())
  {
    try
    {
      returned.Write(arguments.ReturnParameterFile());
    }
    catch (const std::exception & e)
    {
      std::cerr << name << ": " << e.what() << std::endl;
      return EXIT_FAILURE;
    }
  }
  return status;
}

} // namespace rescrnet::cli
