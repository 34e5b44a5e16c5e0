// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/cli/ModuleDescription.h"

#include "rescrnet/TextUtilities.h"

#include <expat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>

namespace rescrnet::cli
{

namespace
{

// A minimal element tree built with expat: the description is small and read once.
struct Node
{
  std::string                        name;
  std::map<std::string, std::string> attributes;
  std::string                        text;
  std::vector<std::unique_ptr<Node>> children;
  long                               line{ 0 };

  const Node *
  Child(const std::string & childName) const
  {
    for (const auto & c : children)
      if (c->name == childName)
        return c.get();
    return nullptr;
  }
};

struct TreeBuilder
{
  XML_Parser            parser{ nullptr };
  std::unique_ptr<Node> root;
  std::vector<Node *>   stack;

  static void XMLCALL
  Start(void * data, const XML_Char * name, const XML_Char ** attrs)
  {
    auto * self = static_cast<TreeBuilder *>(data);
    auto   node = std::make_unique<Node>();
    node->name = name;
    node->line = static_cast<long>(XML_GetCurrentLineNumber(self->parser));
    for (int i = 0; attrs[i] != nullptr; i += 2)
      node->attributes[attrs[i]] = attrs[i + 1];
    Node * raw = node.get();
    if (self->stack.empty())
      self->root = std::move(node);
    else
      self->stack.back()->children.push_back(std::move(node));
    self->stack.push_back(raw);
  }
  static void XMLCALL
  End(void * data, const XML_Char *)
  {
    static_cast<TreeBuilder *>(data)->stack.pop_back();
  }
  static void XMLCALL
  Text(void * data, const XML_Char * s, int len)
  {
    auto * self = static_cast<TreeBuilder *>(data);
    if (!self->stack.empty())
      self->stack.back()->text.append(s, static_cast<size_t>(len));
  }
};

std::unique_ptr<Node>
ParseTree(const std::string & xml)
{
  TreeBuilder                                             builder;
  std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> parser(XML_ParserCreate(nullptr), XML_ParserFree);
  if (!parser)
    throw DescriptionError("cannot create an XML parser");
  builder.parser = parser.get();
  XML_SetUserData(parser.get(), &builder);
  XML_SetElementHandler(parser.get(), &TreeBuilder::Start, &TreeBuilder::End);
  XML_SetCharacterDataHandler(parser.get(), &TreeBuilder::Text);
  if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_ERROR)
  {
    std::ostringstream msg;
    msg << "XML error at line " << XML_GetCurrentLineNumber(parser.get()) << ": "
        << XML_ErrorString(XML_GetErrorCode(parser.get()));
    throw DescriptionError(msg.str());
  }
  if (!builder.root)
    throw DescriptionError("empty XML description");
  return std::move(builder.root);
}

// Collapses runs of white space (descriptions are indented and wrapped in the XML).
std::string
Collapse(const std::string & s)
{
  std::string out;
  bool        space = false;
  for (char c : Trim(s))
  {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
    {
      space = true;
      continue;
    }
    if (space && !out.empty())
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string
ChildText(const Node & node, const std::string & name)
{
  const Node * c = node.Child(name);
  return c ? Collapse(c->text) : std::string();
}

[[noreturn]] void
Fail(const Node & node, const std::string & message)
{
  throw DescriptionError("line " + std::to_string(node.line) + ": " + message);
}

std::optional<double>
ParseNumber(const std::string & text)
{
  const std::string s = Trim(text);
  if (s.empty())
    return std::nullopt;
  errno = 0;
  char *       end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    return std::nullopt;
  return v;
}

bool
IsInteger(const std::string & text)
{
  const std::string s = Trim(text);
  if (s.empty())
    return false;
  errno = 0;
  char * end = nullptr;
  (void)std::strtoll(s.c_str(), &end, 10);
  return end == s.c_str() + s.size() && errno != ERANGE;
}

const std::set<std::string> &
ReservedLongflags()
{
  static const std::set<std::string> reserved{
    "xml", "help", "version", "echo", "returnparameterfile", "processinformationaddress", "serialize", "deserialize"
  };
  return reserved;
}

const std::set<std::string> &
ParameterChildren()
{
  static const std::set<std::string> known{ "name",    "flag",    "longflag", "label",       "description",
                                            "default", "channel", "index",    "constraints", "element" };
  return known;
}

// Checks a default or constraint value: numbers parse (integers for integral types), vectors element-wise.
void
CheckValue(const Node & node, const Parameter & p, const std::string & value, const std::string & what)
{
  if (!p.IsNumeric())
    return;
  const std::vector<std::string> items = p.IsVector() ? SplitComma(value) : std::vector<std::string>{ value };
  for (const auto & item : items)
  {
    const auto v = ParseNumber(item);
    if (!v || (p.IsIntegral() && !IsInteger(item)))
      Fail(node,
           "parameter '" + p.name + "': " + what + " '" + value + "' is not " +
             (p.IsIntegral() ? "an integer" : "a number"));
    if ((p.minimum && *v < *p.minimum) || (p.maximum && *v > *p.maximum))
      Fail(node, "parameter '" + p.name + "': " + what + " '" + value + "' is outside its constraints");
  }
}

Parameter
ReadParameter(const Node & node, ParameterType type)
{
  Parameter p;
  p.type = type;
  p.tag = node.name;
  p.attributes = node.attributes;
  for (const auto & child : node.children)
    if (!ParameterChildren().count(child->name))
      Fail(*child, "unknown element <" + child->name + "> in <" + node.name + ">");

  p.longflag = ChildText(node, "longflag");
  while (!p.longflag.empty() && p.longflag[0] == '-')
    p.longflag.erase(0, 1);
  p.flag = ChildText(node, "flag");
  while (!p.flag.empty() && p.flag[0] == '-')
    p.flag.erase(0, 1);
  p.name = ChildText(node, "name");
  if (p.name.empty())
    p.name = p.longflag;
  p.label = ChildText(node, "label");
  p.description = ChildText(node, "description");
  p.channel = ChildText(node, "channel");
  if (node.Child("default"))
    p.defaultValue = Trim(node.Child("default")->text);
  for (const auto & child : node.children)
    if (child->name == "element")
      p.elements.push_back(Trim(child->text));

  const std::string what = "<" + node.name + "> '" + p.name + "'";
  if (p.name.empty())
    Fail(node, "<" + node.name + "> has neither <name> nor <longflag>");
  if (!p.flag.empty() && (p.flag.size() != 1 || !std::isalpha(static_cast<unsigned char>(p.flag[0]))))
    Fail(node, what + ": <flag> '" + p.flag + "' must be a single letter");
  if (p.flag == "h")
    Fail(node, what + ": <flag> 'h' is reserved for --help");
  if (ReservedLongflags().count(p.longflag))
    Fail(node, what + ": <longflag> '" + p.longflag + "' is reserved for an automatic flag");
  if (!p.channel.empty() && p.channel != "input" && p.channel != "output")
    Fail(node, what + ": <channel> must be input or output, not '" + p.channel + "'");
  if (p.IsPath() && p.channel.empty())
    Fail(node, what + ": <channel> (input or output) is required for <" + node.name + ">");

  if (const Node * index = node.Child("index"))
  {
    const std::string text = Trim(index->text);
    if (!IsInteger(text) || std::strtol(text.c_str(), nullptr, 10) < 0)
      Fail(*index, what + ": <index> must be a non-negative integer");
    p.index = static_cast<int>(std::strtol(text.c_str(), nullptr, 10));
    if (!p.flag.empty() || !p.longflag.empty())
      Fail(node, what + ": a parameter with <index> cannot have <flag> or <longflag>");
  }
  else if (p.flag.empty() && p.longflag.empty() && !p.IsReturnParameter())
  {
    Fail(node, what + ": needs <index>, <flag> or <longflag> (or channel output, for a return parameter)");
  }

  if (const Node * constraints = node.Child("constraints"))
  {
    if (!p.IsNumeric())
      Fail(*constraints, what + ": <constraints> apply to numeric parameters only");
    for (const auto & c : constraints->children)
    {
      const auto v = ParseNumber(c->text);
      if (!v)
        Fail(*c, what + ": <" + c->name + "> '" + Trim(c->text) + "' is not a number");
      if (c->name == "minimum")
        p.minimum = v;
      else if (c->name == "maximum")
        p.maximum = v;
      else if (c->name == "step")
        p.step = v;
      else
        Fail(*c, what + ": unknown constraint <" + c->name + ">");
    }
    if (p.minimum && p.maximum && *p.minimum > *p.maximum)
      Fail(*constraints, what + ": <minimum> is greater than <maximum>");
  }

  if (p.IsEnumeration())
  {
    if (p.elements.empty())
      Fail(node, what + ": an enumeration needs <element> children");
    for (const auto & e : p.elements)
      CheckValue(node, p, e, "element");
    if (p.defaultValue && std::find(p.elements.begin(), p.elements.end(), *p.defaultValue) == p.elements.end())
      Fail(node, what + ": <default> '" + *p.defaultValue + "' is not one of its elements");
  }
  else if (!p.elements.empty())
  {
    Fail(node, what + ": <element> is allowed in enumerations only");
  }

  if (p.IsBoolean() && p.defaultValue && *p.defaultValue != "false")
    Fail(node,
         what +
           ": a boolean must default to false (Slicer passes the flag only when true; name it after the "
           "non-default action), not '" +
           *p.defaultValue + "'");
  if (p.defaultValue && !p.defaultValue->empty())
    CheckValue(node, p, *p.defaultValue, "<default>");
  return p;
}

} // namespace

std::optional<ParameterType>
ParameterTypeFromTag(const std::string & tag)
{
  static const std::map<std::string, ParameterType> types{ { "integer", ParameterType::Integer },
                                                           { "float", ParameterType::Float },
                                                           { "double", ParameterType::Double },
                                                           { "boolean", ParameterType::Boolean },
                                                           { "string", ParameterType::String },
                                                           { "integer-vector", ParameterType::IntegerVector },
                                                           { "float-vector", ParameterType::FloatVector },
                                                           { "double-vector", ParameterType::DoubleVector },
                                                           { "string-vector", ParameterType::StringVector },
                                                           { "integer-enumeration", ParameterType::IntegerEnumeration },
                                                           { "float-enumeration", ParameterType::FloatEnumeration },
                                                           { "double-enumeration", ParameterType::DoubleEnumeration },
                                                           { "string-enumeration", ParameterType::StringEnumeration },
                                                           { "file", ParameterType::File },
                                                           { "directory", ParameterType::Directory },
                                                           { "image", ParameterType::Image },
                                                           { "geometry", ParameterType::Geometry },
                                                           { "transform", ParameterType::Transform },
                                                           { "table", ParameterType::Table },
                                                           { "measurement", ParameterType::Measurement },
                                                           { "point", ParameterType::Point },
                                                           { "pointfile", ParameterType::PointFile },
                                                           { "region", ParameterType::Region } };
  const auto                                        it = types.find(tag);
  if (it == types.end())
    return std::nullopt;
  return it->second;
}

std::string
ParameterTypeTag(ParameterType type)
{
  switch (type)
  {
    case ParameterType::Integer:
      return "integer";
    case ParameterType::Float:
      return "float";
    case ParameterType::Double:
      return "double";
    case ParameterType::Boolean:
      return "boolean";
    case ParameterType::String:
      return "string";
    case ParameterType::IntegerVector:
      return "integer-vector";
    case ParameterType::FloatVector:
      return "float-vector";
    case ParameterType::DoubleVector:
      return "double-vector";
    case ParameterType::StringVector:
      return "string-vector";
    case ParameterType::IntegerEnumeration:
      return "integer-enumeration";
    case ParameterType::FloatEnumeration:
      return "float-enumeration";
    case ParameterType::DoubleEnumeration:
      return "double-enumeration";
    case ParameterType::StringEnumeration:
      return "string-enumeration";
    case ParameterType::File:
      return "file";
    case ParameterType::Directory:
      return "directory";
    case ParameterType::Image:
      return "image";
    case ParameterType::Geometry:
      return "geometry";
    case ParameterType::Transform:
      return "transform";
    case ParameterType::Table:
      return "table";
    case ParameterType::Measurement:
      return "measurement";
    case ParameterType::Point:
      return "point";
    case ParameterType::PointFile:
      return "pointfile";
    case ParameterType::Region:
      return "region";
  }
  return "string";
}

bool
Parameter::IsEnumeration() const
{
  return type == ParameterType::IntegerEnumeration || type == ParameterType::FloatEnumeration ||
         type == ParameterType::DoubleEnumeration || type == ParameterType::StringEnumeration;
}

bool
Parameter::IsVector() const
{
  return type == ParameterType::IntegerVector || type == ParameterType::FloatVector ||
         type == ParameterType::DoubleVector || type == ParameterType::StringVector || type == ParameterType::Point ||
         type == ParameterType::Region;
}

bool
Parameter::IsNumeric() const
{
  switch (type)
  {
    case ParameterType::Integer:
    case ParameterType::Float:
    case ParameterType::Double:
    case ParameterType::IntegerVector:
    case ParameterType::FloatVector:
    case ParameterType::DoubleVector:
    case ParameterType::IntegerEnumeration:
    case ParameterType::FloatEnumeration:
    case ParameterType::DoubleEnumeration:
    case ParameterType::Point:
    case ParameterType::Region:
      return true;
    default:
      return false;
  }
}

bool
Parameter::IsIntegral() const
{
  return type == ParameterType::Integer || type == ParameterType::IntegerVector ||
         type == ParameterType::IntegerEnumeration;
}

bool
Parameter::IsPath() const
{
  switch (type)
  {
    case ParameterType::File:
    case ParameterType::Directory:
    case ParameterType::Image:
    case ParameterType::Geometry:
    case ParameterType::Transform:
    case ParameterType::Table:
    case ParameterType::Measurement:
    case ParameterType::PointFile:
      return true;
    default:
      return false;
  }
}

bool
Parameter::IsMultiple() const
{
  const auto it = attributes.find("multiple");
  return it != attributes.end() && it->second == "true";
}

bool
Parameter::IsReturnParameter() const
{
  return channel == "output" && !index && !IsPath();
}

std::string
Parameter::DisplayName() const
{
  if (!longflag.empty())
    return "--" + longflag;
  if (!flag.empty())
    return "-" + flag;
  return "<" + name + ">";
}

const Parameter *
ModuleDescription::FindParameter(const std::string & name) const
{
  for (const auto & g : groups)
    for (const auto & p : g.parameters)
      if (p.name == name)
        return &p;
  return nullptr;
}

const Parameter *
ModuleDescription::FindLongflag(const std::string & longflag) const
{
  if (longflag.empty())
    return nullptr;
  for (const auto & g : groups)
    for (const auto & p : g.parameters)
      if (p.longflag == longflag)
        return &p;
  return nullptr;
}

const Parameter *
ModuleDescription::FindFlag(const std::string & flag) const
{
  if (flag.empty())
    return nullptr;
  for (const auto & g : groups)
    for (const auto & p : g.parameters)
      if (p.flag == flag)
        return &p;
  return nullptr;
}

std::vector<const Parameter *>
ModuleDescription::Parameters() const
{
  std::vector<const Parameter *> out;
  for (const auto & g : groups)
    for (const auto & p : g.parameters)
      out.push_back(&p);
  return out;
}

std::vector<const Parameter *>
ModuleDescription::PositionalParameters() const
{
  std::vector<const Parameter *> out;
  for (const auto * p : Parameters())
    if (p->index)
      out.push_back(p);
  std::sort(out.begin(), out.end(), [](const Parameter * a, const Parameter * b) { return *a->index < *b->index; });
  return out;
}

std::vector<const Parameter *>
ModuleDescription::ReturnParameters() const
{
  std::vector<const Parameter *> out;
  for (const auto * p : Parameters())
    if (p->IsReturnParameter())
      out.push_back(p);
  return out;
}

ModuleDescription
ParseModuleDescription(const std::string & xml)
{
  const auto                     root = ParseTree(xml); // well-formed XML first
  const std::vector<std::string> slicerProblems = CheckSlicerRules(xml);
  if (!slicerProblems.empty())
    throw DescriptionError(slicerProblems.front() + " (a rule of Slicer's parser)");
  if (root->name != "executable")
    Fail(*root, "the root element must be <executable>, not <" + root->name + ">");

  ModuleDescription                  d;
  static const std::set<std::string> metadata{
    "category", "title",       "description",      "version", "documentation-url",
    "license",  "contributor", "acknowledgements", "index",   "location"
  };
  for (const auto & child : root->children)
  {
    if (child->name == "parameters")
      continue;
    if (!metadata.count(child->name))
      Fail(*child, "unknown element <" + child->name + "> in <executable>");
  }
  d.category = ChildText(*root, "category");
  d.title = ChildText(*root, "title");
  d.description = ChildText(*root, "description");
  d.version = ChildText(*root, "version");
  d.documentationUrl = ChildText(*root, "documentation-url");
  d.license = ChildText(*root, "license");
  d.contributor = ChildText(*root, "contributor");
  d.acknowledgements = ChildText(*root, "acknowledgements");

  std::set<std::string>       names;
  std::set<std::string>       flags;
  std::set<std::string>       longflags;
  std::map<int, const Node *> indices;
  for (const auto & child : root->children)
  {
    if (child->name != "parameters")
      continue;
    ParameterGroup group;
    group.label = ChildText(*child, "label");
    group.description = ChildText(*child, "description");
    const auto advanced = child->attributes.find("advanced");
    group.advanced = advanced != child->attributes.end() && advanced->second == "true";
    for (const auto & element : child->children)
    {
      if (element->name == "label" || element->name == "description")
        continue;
      const auto type = ParameterTypeFromTag(element->name);
      if (!type)
        Fail(*element, "unknown parameter type <" + element->name + ">");
      Parameter p = ReadParameter(*element, *type);
      if (!names.insert(p.name).second)
        Fail(*element, "parameter name '" + p.name + "' is used twice");
      if (!p.flag.empty() && !flags.insert(p.flag).second)
        Fail(*element, "flag -" + p.flag + " is used twice");
      if (!p.longflag.empty() && !longflags.insert(p.longflag).second)
        Fail(*element, "longflag --" + p.longflag + " is used twice");
      if (p.index && !indices.emplace(*p.index, element.get()).second)
        Fail(*element, "index " + std::to_string(*p.index) + " is used twice");
      group.parameters.push_back(std::move(p));
    }
    d.groups.push_back(std::move(group));
  }
  int expected = 0;
  for (const auto & [index, node] : indices)
  {
    if (index != expected)
      Fail(*node, "indices must run 0..n-1 without gaps; index " + std::to_string(expected) + " is missing");
    ++expected;
  }
  return d;
}

std::vector<std::string>
CheckProjectRules(const ModuleDescription & d)
{
  std::vector<std::string>                           problems;
  const std::pair<const char *, const std::string *> required[] = {
    { "category", &d.category }, { "title", &d.title }, { "description", &d.description }, { "version", &d.version }
  };
  for (const auto & [element, value] : required)
    if (value->empty())
      problems.push_back(std::string("<") + element + "> is missing or empty");
  if (d.groups.empty())
    problems.push_back("no <parameters> group");
  for (size_t g = 0; g < d.groups.size(); ++g)
  {
    const auto &      group = d.groups[g];
    const std::string where = "<parameters> group " + std::to_string(g + 1);
    if (group.label.empty())
      problems.push_back(where + " has no <label>");
    if (group.description.empty())
      problems.push_back(where + " has no <description>");
    for (const auto & p : group.parameters)
    {
      if (p.label.empty())
        problems.push_back("parameter '" + p.name + "' has no <label>");
      if (p.description.empty())
        problems.push_back("parameter '" + p.name + "' has no <description>");
    }
  }
  return problems;
}

} // namespace rescrnet::cli
