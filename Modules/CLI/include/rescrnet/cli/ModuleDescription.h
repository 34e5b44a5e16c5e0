// SPDX-License-Identifier: Apache-2.0
// The Slicer Execution Model description of a command-line module, read from its XML: module metadata and the
// parameter table (name, flags, type, channel, index, default, constraints) that drives the argument parser, the
// generated --help text and the return-parameter writer. The XML is the single source of truth.
#ifndef rescrnet_cli_ModuleDescription_h
#define rescrnet_cli_ModuleDescription_h

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rescrnet::cli
{

// A description that is not well-formed XML, breaks a rule of Slicer's parser, or breaks the rules this parser relies
// on (unique names and flags, no flag on a positional parameter, booleans defaulting to false, ...).
class DescriptionError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

enum class ParameterType
{
  Integer,
  Float,
  Double,
  Boolean,
  String,
  IntegerVector,
  FloatVector,
  DoubleVector,
  StringVector,
  IntegerEnumeration,
  FloatEnumeration,
  DoubleEnumeration,
  StringEnumeration,
  File,
  Directory,
  Image,
  Geometry,
  Transform,
  Table,
  Measurement,
  Point,
  PointFile,
  Region
};

// The parameter type of an XML element name ("integer", "string-enumeration", "image", ...); nullopt if unknown.
std::optional<ParameterType>
ParameterTypeFromTag(const std::string & tag);
// The XML element name of a type.
std::string
ParameterTypeTag(ParameterType type);

struct Parameter
{
  ParameterType              type{ ParameterType::String };
  std::string                tag;      // XML element name
  std::string                name;     // C identifier; the longflag when <name> is absent
  std::string                flag;     // one character, without '-'; empty if none
  std::string                longflag; // identifier, without "--"; empty if none
  std::string                label;
  std::string                description;
  std::string                channel;      // "input", "output" or empty
  std::optional<int>         index;        // positional (0-based)
  std::optional<std::string> defaultValue; // as written in the XML
  std::vector<std::string>   elements;     // enumeration values
  std::optional<double>      minimum;
  std::optional<double>      maximum;
  std::optional<double>      step;
  // Element attributes as written: type, fileExtensions, reference, hidden, multiple, coordinateSystem.
  std::map<std::string, std::string> attributes;

  bool
  IsBoolean() const
  {
    return type == ParameterType::Boolean;
  }
  bool
  IsEnumeration() const;
  bool
  IsVector() const; // comma-separated values (the *-vector types, point, region)
  bool
  IsNumeric() const; // integer/float/double scalars, vectors and enumerations, point, region
  bool
  IsIntegral() const; // integer, integer-vector, integer-enumeration
  bool
  IsPath() const; // file, directory and the bulk types (image, geometry, transform, table, measurement, pointfile)
  bool
  IsMultiple() const; // attribute multiple="true": the flag may be repeated
  // channel=output, no index and not a path: written to --returnparameterfile instead of read from the command line.
  bool
  IsReturnParameter() const;
  // "--longflag" if any, else "-f", else "<name>" (positional).
  std::string
  DisplayName() const;
};

struct ParameterGroup
{
  std::string            label;
  std::string            description;
  bool                   advanced{ false };
  std::vector<Parameter> parameters;
};

struct ModuleDescription
{
  std::string                 category;
  std::string                 title;
  std::string                 description;
  std::string                 version;
  std::string                 documentationUrl;
  std::string                 license;
  std::string                 contributor;
  std::string                 acknowledgements;
  std::vector<ParameterGroup> groups;

  // Lookups over all groups; nullptr when absent. Flags and longflags are given without dashes.
  const Parameter *
  FindParameter(const std::string & name) const;
  const Parameter *
  FindLongflag(const std::string & longflag) const;
  const Parameter *
  FindFlag(const std::string & flag) const;
  // All parameters in declaration order.
  std::vector<const Parameter *>
  Parameters() const;
  // Indexed parameters, sorted by index.
  std::vector<const Parameter *>
  PositionalParameters() const;
  std::vector<const Parameter *>
  ReturnParameters() const;
};

// Every rule of 3D Slicer's own parser (SlicerExecutionModel's ModuleDescriptionParser.cxx), which silently drops a
// module whose description breaks one: the text begins with "<?xml "; <executable> is the outermost element and
// appears once; <parameters> only directly inside it; parameter elements (the 22 types Slicer knows) only directly
// inside <parameters>, with the attributes Slicer accepts for each (hidden, multiple, aggregate true/false; image,
// transform, geometry and table types from Slicer's lists; coordinateSystem ijk/lps/ras; no unknown attribute on
// file, image, transform, geometry, table, measurement, point, region); <name> and <longflag> (after leading '-')
// letters, digits and '_' starting with a letter or '_'; <flag> one character; <flag>/<longflag> and <index> not
// both; <flag>, <longflag>, <name>, <element>, <default>, <channel>, <index>, <constraints>, <minimum>, <maximum>,
// <step> only inside a parameter, <label> inside a group or parameter; no other element than those and the module
// metadata; at most 10 levels of nesting. Returns one "line N: problem" per broken rule (empty: Slicer accepts it).
std::vector<std::string>
CheckSlicerRules(const std::string & xml);

// Parses and validates a description; throws DescriptionError naming the line and the problem. First Slicer's rules
// (CheckSlicerRules), then the structural rules the parser relies on: known children of each parameter; <name>
// unique; <flag> a letter, <flag> and <longflag> unique and not reserved (h, xml, help, version, echo,
// returnparameterfile, processinformationaddress); indices 0..n-1 without gaps; every non-positional input parameter
// reachable by a flag; <boolean> defaults false (Slicer passes a boolean flag only when it is true); enumerations
// have elements and their defaults are among them; numeric defaults parse and respect the constraints.
ModuleDescription
ParseModuleDescription(const std::string & xml);

// The project's conventions beyond the structural rules: non-empty category, title, description and version; each
// <parameters> group and each parameter has a label and a description. Returns one message per problem.
std::vector<std::string>
CheckProjectRules(const ModuleDescription & description);

} // namespace rescrnet::cli

#endif
