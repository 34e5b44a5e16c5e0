// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/TextUtilities.h"

#include <sstream>

namespace rescrnet
{

std::string
Trim(const std::string & text)
{
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return std::string();
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::vector<std::string>
SplitComma(const std::string & text)
{
  std::vector<std::string> out;
  if (Trim(text).empty())
    return out;
  size_t begin = 0;
  while (true)
  {
    const size_t comma = text.find(',', begin);
    out.push_back(Trim(text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin)));
    if (comma == std::string::npos)
      break;
    begin = comma + 1;
  }
  return out;
}

std::string
OneLine(const std::string & text)
{
  std::string rest = text;
  const auto  itk = rest.find("ITK ERROR: ");
  if (itk != std::string::npos)
    rest = rest.substr(itk + 11);
  std::string        out;
  std::istringstream in(rest);
  std::string        line;
  while (std::getline(in, line))
  {
    line = Trim(line);
    if (line.rfind("Exception raised from", 0) == 0 || line.rfind("frame #", 0) == 0)
      break;
    if (!line.empty())
      out += (out.empty() ? "" : " ") + line;
  }
  return out.empty() ? std::string("unknown error") : out;
}

std::string
EscapeXML(const std::string & text)
{
  std::string out;
  for (char c : text)
  {
    switch (c)
    {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

} // namespace rescrnet
