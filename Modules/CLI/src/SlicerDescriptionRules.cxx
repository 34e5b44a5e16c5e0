// SPDX-License-Identifier: Apache-2.0
// The rules of 3D Slicer's own description parser (SlicerExecutionModel, ModuleDescriptionParser/
// ModuleDescriptionParser.cxx), restated. Slicer drops a module whose --xml output breaks any of them, without telling
// the user, so the project checks them at build time and again whenever it parses a description.
//
// Slicer's parser is a stream of expat callbacks whose checks depend on what came before (a <flag> after an <index>
// is refused at the flag, an <index> after a <flag> at the index), so this checker is one too.
#include "rescrnet/cli/ModuleDescription.h"

#include "rescrnet/TextUtilities.h"

#include <expat.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace rescrnet::cli
{

namespace
{

// Slicer keeps the text of each open element in a table of 10 levels and indexes past its end on deeper nesting.
constexpr int SlicerMaximumDepth = 10;

// An attribute rule: the values allowed, or any value when the set is empty.
using AttributeRules = std::map<std::string, std::set<std::string>>;

const std::set<std::string> TrueFalse{ "true", "false" };

// The parameter elements Slicer knows, each with the attributes it checks. `strict` elements refuse attributes not
// listed; the others ignore them.
struct ParameterElementRules
{
  bool           strict{ false };
  AttributeRules attributes;
};

const std::map<std::string, ParameterElementRules> &
ParameterElements()
{
  static const ParameterElementRules hiddenOnly{ false, { { "hidden", TrueFalse } } };
  static const ParameterElementRules anything{ false, {} };
  static const ParameterElementRules pointLike{
    true, { { "multiple", TrueFalse }, { "coordinateSystem", { "ijk", "lps", "ras" } } }
  };
  static const std::map<std::string, ParameterElementRules> elements{
    { "integer", hiddenOnly },
    { "float", hiddenOnly },
    { "double", hiddenOnly },
    { "string", hiddenOnly },
    { "boolean", hiddenOnly },
    { "integer-vector", anything },
    { "float-vector", anything },
    { "double-vector", anything },
    { "string-vector", anything },
    { "point", pointLike },
    { "region", pointLike },
    { "string-enumeration", hiddenOnly },
    { "integer-enumeration", hiddenOnly },
    { "float-enumeration", hiddenOnly },
    { "double-enumeration", hiddenOnly },
    { "file", { true, { { "multiple", TrueFalse }, { "fileExtensions", {} } } } },
    { "directory", anything },
    { "transform",
      { true,
        { { "multiple", TrueFalse },
          { "type", { "linear", "nonlinear", "bspline" } },
          { "fileExtensions", {} },
          { "reference", {} } } } },
    { "image",
      { true,
        { { "multiple", TrueFalse },
          { "type",
            { "any",
              "scalar",
              "label",
              "tensor",
              "diffusion-weighted",
              "vector",
              "signal",
              "multichannel",
              "dynamic-contrast-enhanced" } },
          { "fileExtensions", {} },
          { "hidden", TrueFalse },
          { "reference", {} } } } },
    { "geometry",
      { true,
        { { "multiple", TrueFalse },
          { "aggregate", TrueFalse },
          { "type", { "fiberbundle", "model" } },
          { "fileExtensions", {} },
          { "reference", {} } } } },
    { "table",
      { true,
        { { "multiple", TrueFalse },
          { "reference", {} },
          { "hidden", TrueFalse },
          { "type", { "color" } },
          { "fileExtensions", {} } } } },
    { "measurement",
      { true,
        { { "multiple", TrueFalse },
          { "reference", {} },
          { "hidden", TrueFalse },
          { "type", {} },
          { "fileExtensions", {} } } } },
  };
  return elements;
}

// Elements Slicer accepts wherever they appear (module metadata; <description> also labels groups and parameters).
const std::set<std::string> &
FreeElements()
{
  static const std::set<std::string> free{ "category",    "title",       "version",  "documentation-url",
                                           "license",     "contributor", "location", "acknowledgements",
                                           "description", "executable" };
  return free;
}

// Elements Slicer accepts only while a parameter is open (at any depth below it).
const std::set<std::string> &
ParameterChildElements()
{
  static const std::set<std::string> children{ "flag",    "longflag", "name",        "label",   "element", "default",
                                               "channel", "index",    "constraints", "minimum", "maximum", "step" };
  return children;
}

std::string
WithoutLeadingDashes(std::string s)
{
  s.erase(0, s.find_first_not_of('-'));
  return s;
}

// Slicer's identifier rule for <name> and <longflag>: a letter or '_', then letters, digits and '_'.
bool
IsSlicerIdentifier(const std::string & s)
{
  const auto isLetter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return !s.empty() && isLetter(s[0]) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return isLetter(c) || (c >= '0' && c <= '9'); });
}

class SlicerRuleChecker
{
public:
  std::vector<std::string>
  Check(const std::string & xml)
  {
    if (xml.compare(0, 6, "<?xml ") != 0)
    {
      m_Problems.push_back("line 1: the first line must be an XML declaration ('<?xml version=\"1.0\" "
                           "encoding=\"utf-8\"?>'); Slicer refuses a description without one");
      return m_Problems;
    }
    std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> parser(XML_ParserCreate(nullptr), XML_ParserFree);
    if (!parser)
      throw DescriptionError("cannot create an XML parser");
    m_Parser = parser.get();
    XML_SetUserData(m_Parser, this);
    XML_SetElementHandler(m_Parser, &SlicerRuleChecker::OnStart, &SlicerRuleChecker::OnEnd);
    XML_SetCharacterDataHandler(m_Parser, &SlicerRuleChecker::OnText);
    if (XML_Parse(m_Parser, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_ERROR)
    {
      m_Problems.push_back("line " + std::to_string(XML_GetCurrentLineNumber(m_Parser)) +
                           ": XML error: " + XML_ErrorString(XML_GetErrorCode(m_Parser)));
    }
    return m_Problems;
  }

private:
  struct OpenElement
  {
    std::string name;
    std::string text;
  };

  // What Slicer's parser remembers about the parameter being read.
  struct ParameterState
  {
    bool open{ false };
    bool hasFlag{ false };
    bool hasIndex{ false };
  };

  static void XMLCALL
  OnStart(void * data, const XML_Char * name, const XML_Char ** attributes)
  {
    static_cast<SlicerRuleChecker *>(data)->Start(name, attributes);
  }
  static void XMLCALL
  OnEnd(void * data, const XML_Char * name)
  {
    static_cast<SlicerRuleChecker *>(data)->End(name);
  }
  static void XMLCALL
  OnText(void * data, const XML_Char * s, int length)
  {
    auto * self = static_cast<SlicerRuleChecker *>(data);
    if (!self->m_Open.empty())
      self->m_Open.back().text.append(s, static_cast<size_t>(length));
  }

  void
  Problem(const std::string & message)
  {
    m_Problems.push_back("line " + std::to_string(XML_GetCurrentLineNumber(m_Parser)) + ": " + message);
  }

  const std::string &
  Parent() const
  {
    static const std::string none;
    return m_Open.empty() ? none : m_Open.back().name;
  }

  void
  Start(const std::string & name, const XML_Char ** attributes)
  {
    const bool root = m_Open.empty();
    if (static_cast<int>(m_Open.size()) >= SlicerMaximumDepth)
      Problem("<" + name + "> is nested " + std::to_string(m_Open.size() + 1) + " levels deep; Slicer's parser reads " +
              std::to_string(SlicerMaximumDepth) + " at most");
    if (root && name != "executable")
      Problem("<executable> must be the outermost element, not <" + name + ">");
    else if (!root && name == "executable")
      Problem("<executable> was found inside <" + Parent() + ">");
    else if (name == "parameters")
    {
      if (Parent() != "executable")
        Problem("<parameters> can only be inside <executable>, not inside <" + Parent() + ">");
      else
        m_InGroup = true;
    }
    else if (const auto rules = ParameterElements().find(name); rules != ParameterElements().end())
    {
      if (!m_InGroup || Parent() != "parameters")
        Problem("<" + name + "> can only be used inside <parameters>, not inside <" + Parent() + ">");
      else
      {
        CheckAttributes(name, rules->second, attributes);
        m_Parameter = ParameterState{ true, false, false };
      }
    }
    m_Open.push_back({ name, std::string() });
  }

  void
  CheckAttributes(const std::string & element, const ParameterElementRules & rules, const XML_Char ** attributes)
  {
    for (int i = 0; attributes[i] != nullptr; i += 2)
    {
      const std::string attribute = attributes[i];
      const std::string value = attributes[i + 1];
      const auto        rule = rules.attributes.find(attribute);
      if (rule == rules.attributes.end())
      {
        if (rules.strict)
          Problem("\"" + attribute + "\" is not a valid attribute for <" + element + ">");
        continue;
      }
      if (!rule->second.empty() && !rule->second.count(value))
      {
        std::string allowed;
        for (const auto & v : rule->second)
          allowed += (allowed.empty() ? "\"" : ", \"") + v + "\"";
        Problem("\"" + value + "\" is not a valid value for the attribute \"" + attribute + "\" of <" + element +
                ">; Slicer accepts " + allowed);
      }
    }
  }

  void
  End(const std::string & name)
  {
    const std::string text = Trim(m_Open.back().text);
    m_Open.pop_back();
    if (name == "parameters")
    {
      m_InGroup = false;
      m_Parameter = ParameterState{};
    }
    else if (ParameterElements().count(name))
    {
      m_Parameter = ParameterState{};
    }
    else if (m_Parameter.open && ParameterChildElements().count(name))
    {
      EndParameterChild(name, text);
    }
    else if (name == "label" && m_InGroup)
    {
      // a group's label
    }
    else if (!FreeElements().count(name) && name != "index")
    {
      Problem("unrecognized element <" + name + ">");
    }
  }

  void
  EndParameterChild(const std::string & name, const std::string & text)
  {
    if (name == "flag")
    {
      const std::string flag = WithoutLeadingDashes(text);
      if (flag.size() > 1)
        Problem("<flag> can only hold one character; \"" + flag + "\" has more");
      else if (m_Parameter.hasIndex)
        Problem("<flag> cannot be given because the parameter has an <index>");
      else
        m_Parameter.hasFlag = m_Parameter.hasFlag || !flag.empty();
    }
    else if (name == "longflag")
    {
      const std::string longflag = WithoutLeadingDashes(text);
      if (!IsSlicerIdentifier(longflag))
        Problem("<longflag> can only contain letters, numbers and underscores and must start with a letter or '_'; "
                "the offending name is \"" +
                longflag + "\"");
      else if (m_Parameter.hasIndex)
        Problem("<longflag> cannot be given because the parameter has an <index>");
      else
        m_Parameter.hasFlag = true;
    }
    else if (name == "name")
    {
      if (!IsSlicerIdentifier(text))
        Problem("<name> can only contain letters, numbers and underscores and must start with a letter or '_'; "
                "the offending name is \"" +
                text + "\"");
    }
    else if (name == "index")
    {
      if (m_Parameter.hasFlag)
        Problem("<index> cannot be given because the parameter has a <flag> or <longflag>");
      else
        m_Parameter.hasIndex = true;
    }
  }

  XML_Parser               m_Parser{ nullptr };
  std::vector<OpenElement> m_Open;
  bool                     m_InGroup{ false };
  ParameterState           m_Parameter;
  std::vector<std::string> m_Problems;
};

} // namespace

std::vector<std::string>
CheckSlicerRules(const std::string & xml)
{
  return SlicerRuleChecker().Check(xml);
}

} // namespace rescrnet::cli
