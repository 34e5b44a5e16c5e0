// SPDX-License-Identifier: Apache-2.0
// ResCRNetStageOptions <description.xml.in> <description.xml>
// Build-time tool: copies a module's XML description, replacing each line
//   @RESCRNET_OPTION stage|backend <name> <parameter>@
// by the Slicer XML element of that registered parameter's declaration (rescrnet::plugins::SlicerParameterXML), with
// the line's indentation. The parameters' declarations are thereby the single source of their options' flags,
// defaults, ranges and descriptions.
#include "rescrnet/AtomicFile.h"
#include "rescrnet/plugins/CommandLineOptions.h"
#include "rescrnet/plugins/ParameterChecks.h"

#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

int
main(int argc, char * argv[])
{
  if (argc != 3)
  {
    std::cerr << "usage: ResCRNetStageOptions <description.xml.in> <description.xml>" << std::endl;
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in)
  {
    std::cerr << "ResCRNetStageOptions: cannot read " << argv[1] << std::endl;
    return 1;
  }
  static const std::regex marker(
    R"(^(\s*)@RESCRNET_OPTION (stage|backend) ([a-z0-9-]+) ([A-Za-z_][A-Za-z0-9_]*)@\s*$)");
  std::ostringstream out;
  std::string        line;
  int                number = 0;
  try
  {
    while (std::getline(in, line))
    {
      ++number;
      std::smatch m;
      if (!std::regex_match(line, m, marker))
      {
        if (line.find("@RESCRNET_OPTION") != std::string::npos)
          throw std::invalid_argument("malformed marker (expected @RESCRNET_OPTION stage|backend <name> <parameter>@)");
        out << line << '\n';
        continue;
      }
      rescrnet::plugins::CommandLineOption option;
      option.kind =
        m[2] == "stage" ? rescrnet::plugins::ComponentKind::Stage : rescrnet::plugins::ComponentKind::Backend;
      option.component = m[3];
      option.parameter = m[4];
      out << rescrnet::plugins::SlicerParameterXML(rescrnet::plugins::DeclarationOf(option), m[1]);
    }
    rescrnet::WriteFileAtomically(argv[2], out.str());
  }
  catch (const std::exception & e)
  {
    std::cerr << argv[1] << ":" << number << ": " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
