// SPDX-License-Identifier: Apache-2.0
// Command-line parsing driven by a module's XML description, the automatic Slicer flags, the generated --help text,
// the return-parameter file and Run(), which wraps a module's main with all of it.
//
//   --longflag value | --longflag=value | -f value    options (everything after "--" is positional)
//   --booleanflag                                      presence means true; booleans default to false
//   <value> ...                                        positional parameters, by <index>
//   --xml (argv[1] only), --help/-h, --version, --echo, --returnparameterfile FILE, --processinformationaddress X
#ifndef rescrnet_cli_CommandLine_h
#define rescrnet_cli_CommandLine_h

#include "rescrnet/cli/ModuleDescription.h"

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rescrnet::cli
{

// A command line that does not fit the description; the message is one line, without the tool name.
class CommandLineError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

class Arguments
{
public:
  Arguments() = default;
  explicit Arguments(ModuleDescription description);

  const ModuleDescription &
  Description() const
  {
    return m_Description;
  }

  // True when the parameter was given on the command line (a boolean: when its flag was present).
  bool
  IsSet(const std::string & name) const;

  // The value given on the command line, else the XML default, else "" (booleans: "true"/"false"). The typed getters
  // convert it (already checked while parsing); they throw std::invalid_argument for a name the XML does not declare
  // or a getter that does not fit the parameter's type, and std::out_of_range when there is no value to convert.
  std::string
  GetString(const std::string & name) const;
  int64_t
  GetInt(const std::string & name) const;
  double
  GetDouble(const std::string & name) const;
  bool
  GetBool(const std::string & name) const;
  std::vector<std::string>
  GetStringVector(const std::string & name) const; // comma-separated values (empty value: empty vector)
  std::vector<double>
  GetDoubleVector(const std::string & name) const;
  std::vector<int64_t>
  GetIntVector(const std::string & name) const;
  // Every value of a multiple="true" parameter, in command-line order (else the single value, if any).
  std::vector<std::string>
  GetAll(const std::string & name) const;

  // Automatic flags.
  bool
  HelpRequested() const
  {
    return m_Help;
  }
  bool
  VersionRequested() const
  {
    return m_Version;
  }
  bool
  EchoRequested() const
  {
    return m_Echo;
  }
  const std::string &
  ReturnParameterFile() const
  {
    return m_ReturnParameterFile;
  }
  const std::string &
  ProcessInformationAddress() const
  {
    return m_ProcessInformationAddress;
  }

private:
  friend Arguments
  ParseArguments(const ModuleDescription &, const std::vector<std::string> &);

  const Parameter &
  Require(const std::string & name) const;

  ModuleDescription                               m_Description;
  std::map<std::string, std::vector<std::string>> m_Values; // name -> values given (booleans: "true")
  bool                                            m_Help{ false };
  bool                                            m_Version{ false };
  bool                                            m_Echo{ false };
  std::string                                     m_ReturnParameterFile;
  std::string                                     m_ProcessInformationAddress;
};

// Parses `args` (argv[1..]) against the description: unknown options, missing or extra positional arguments, values
// that are not numbers, outside the constraints or not among an enumeration's elements, and input paths that do not
// exist throw CommandLineError with a one-line message such as "--threshold expects a number, got 'abc'".
// With --help or --version the remaining arguments are not checked.
Arguments
ParseArguments(const ModuleDescription & description, const std::vector<std::string> & args);

// --help text generated from the description: usage line, positional arguments, one section per parameter group
// (flags, value type, default, constraints, enumeration values, description), automatic flags, return parameters.
std::string
UsageText(const std::string & toolName, const ModuleDescription & description);

// --echo text: every parameter with its value, one per line.
std::string
EchoText(const std::string & toolName, const Arguments & arguments);

// Return parameters (channel=output, no index) to write as "name = value" lines to --returnparameterfile. Only names
// the XML declares as return parameters are accepted.
class ReturnParameters
{
public:
  ReturnParameters() = default;
  explicit ReturnParameters(const ModuleDescription & description);

  // Throws std::invalid_argument when `name` is not a return parameter of the description or the value holds a line
  // break. Numbers are written in full precision, booleans as true/false, vectors comma-separated.
  void
  Set(const std::string & name, const std::string & value);
  void
  Set(const std::string & name, const char * value)
  {
    Set(name, std::string(value));
  }
  void
  Set(const std::string & name, bool value);
  void
  Set(const std::string & name, int value)
  {
    SetInt64(name, static_cast<int64_t>(value));
  }
  void
  Set(const std::string & name, long value)
  {
    SetInt64(name, static_cast<int64_t>(value));
  }
  void
  Set(const std::string & name, long long value)
  {
    SetInt64(name, static_cast<int64_t>(value));
  }
  void
  Set(const std::string & name, unsigned int value)
  {
    SetInt64(name, static_cast<int64_t>(value));
  }
  void
  Set(const std::string & name, unsigned long value)
  {
    Set(name, std::to_string(value));
  }
  void
  Set(const std::string & name, unsigned long long value)
  {
    Set(name, std::to_string(value));
  }
  void
  Set(const std::string & name, double value);
  void
  Set(const std::string & name, float value)
  {
    Set(name, static_cast<double>(value));
  }
  void
  Set(const std::string & name, const std::vector<double> & values);
  void
  Set(const std::string & name, const std::vector<int64_t> & values);

  bool
  IsSet(const std::string & name) const;
  const std::map<std::string, std::string> &
  Values() const
  {
    return m_Values;
  }

  // "name = value" lines in declaration order (unset parameters are left out).
  std::string
  Text() const;
  // Writes Text() atomically: a temporary file beside `path`, then a rename. Throws std::runtime_error.
  void
  Write(const std::string & path) const;

private:
  void
  SetInt64(const std::string & name, int64_t value);

  std::vector<std::string>           m_Order; // declared return parameters
  std::map<std::string, std::string> m_Values;
};

// Reads a "name = value" file (split at the first '=', whitespace trimmed), as Slicer does.
std::map<std::string, std::string>
ReadReturnParameterFile(const std::string & path);

// Formats a number in the shortest form that reads back exactly ("0.1", "58309", "1e-07").
std::string
FormatNumber(double value);

using ModuleBody = std::function<int(const Arguments &, ReturnParameters &)>;

// The whole main of a module:
//  1. argv[1] == "--xml": writes `xml` to stdout and returns 0, before anything else touches stdout or stderr;
//  2. parses the description and the arguments (error: one line "<toolName>: message" on stderr, returns 1);
//  3. --help / --version: prints to stdout and returns 0; --echo: prints the arguments, then continues;
//  4. runs `body`; an exception becomes one line "<toolName>: what" on stderr and exit code 1;
//  5. when body returns 0 and --returnparameterfile was given, writes the return parameters atomically.
int
Run(int argc, char * argv[], std::string_view toolName, std::string_view xml, const ModuleBody & body);

} // namespace rescrnet::cli

#endif
