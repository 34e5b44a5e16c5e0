// SPDX-License-Identifier: Apache-2.0
// What the host does with parameter declarations (Parameters.h): validation of pipeline-file values, conversion of
// command-line text, help text and Slicer XML elements.
#ifndef rescrnet_plugins_ParameterChecks_h
#define rescrnet_plugins_ParameterChecks_h

#include "rescrnet/plugins/Parameters.h"

#include <string>

namespace rescrnet::plugins
{

// "a number in [0, 1]", "an integer >= 0", "one of \"output\", \"probability\"", "true or false", ...
std::string
DescribeType(const ParameterSpec & spec);

// Empty when `value` fits `spec` (type, range, choices), else the problem, e.g. "expected a number in [0, 1], got
// 1.5". Integers may be written as 2 or 2.0; booleans only as true/false.
std::string
CheckParameterValue(const ParameterSpec & spec, const Json & value);

// The value of command-line text for `spec` ("0.4" -> 0.4, "true" -> true, "2" -> 2); throws std::invalid_argument
// with the problem when it does not fit.
Json
ParameterFromText(const ParameterSpec & spec, const std::string & text);

// One help entry: "  threshold  number in [0, 1], default 0.5\n      Probability threshold: <description>\n".
std::string
ParameterHelp(const ParameterSpec & spec);

// The Slicer XML element of a parameter exposed as a command-line option (name and longflag = spec.name), indented
// by `indent`, e.g. <float> with <default> and <constraints>. Throws std::invalid_argument for a declaration Slicer
// cannot express (a boolean defaulting to true, a required parameter, a name that is not a C identifier).
std::string
SlicerParameterXML(const ParameterSpec & spec, const std::string & indent);

} // namespace rescrnet::plugins

#endif
