// SPDX-License-Identifier: Apache-2.0
// The XML description parser: the parameter table it builds and the rules it enforces.
#include "rescrnet/cli/ModuleDescription.h"

#include "ResCRNetTestSupport.h"

#include <fstream>
#include <sstream>

using namespace rescrnet::cli;

namespace
{

std::string
ReadFile(const std::filesystem::path & path)
{
  std::ifstream      in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string
ExampleXML()
{
  return ReadFile(rescrnet::testing::SourceDirectory() / "Testing" / "CLI" / "ResCRNetCLIExample.xml");
}

// A description with one group holding `parameters`.
std::string
WithParameters(const std::string & parameters)
{
  return "<?xml version=\"1.0\"?>\n<executable>\n<category>C</category><title>T</title>"
         "<description>D</description><version>1</version>\n"
         "<parameters><label>L</label><description>D</description>\n" +
         parameters + "\n</parameters>\n</executable>\n";
}

// The DescriptionError message of parsing `xml`, or "" when it parses.
std::string
ParseError(const std::string & xml)
{
  try
  {
    ParseModuleDescription(xml);
  }
  catch (const DescriptionError & e)
  {
    return e.what();
  }
  return std::string();
}

} // namespace

TEST(ModuleDescription, ReadsMetadataAndGroups)
{
  const ModuleDescription d = ParseModuleDescription(ExampleXML());
  EXPECT_EQ(d.category, "Testing.Command line");
  EXPECT_EQ(d.title, "CLI Example");
  EXPECT_EQ(d.version, "@PROJECT_VERSION@");
  EXPECT_NE(d.description.find("return parameters & progress"), std::string::npos) << d.description;
  EXPECT_EQ(d.documentationUrl, "https://example.invalid/ResCRNetCLIExample");
  EXPECT_EQ(d.license, "Apache-2.0");
  EXPECT_EQ(d.contributor, "ITKResCRNet authors");
  ASSERT_EQ(d.groups.size(), 3u);
  EXPECT_EQ(d.groups[0].label, "Input/Output");
  EXPECT_FALSE(d.groups[0].advanced);
  EXPECT_TRUE(d.groups[1].advanced);
  EXPECT_EQ(d.Parameters().size(), 15u);
  EXPECT_TRUE(CheckProjectRules(d).empty());
}

TEST(ModuleDescription, ReadsTheParameterTable)
{
  const ModuleDescription d = ParseModuleDescription(ExampleXML());

  const Parameter * threshold = d.FindParameter("threshold");
  ASSERT_NE(threshold, nullptr);
  EXPECT_EQ(threshold->type, ParameterType::Float);
  EXPECT_EQ(threshold->tag, "float");
  EXPECT_EQ(threshold->flag, "t");
  EXPECT_EQ(threshold->longflag, "threshold");
  EXPECT_EQ(threshold->label, "Threshold");
  EXPECT_EQ(threshold->description, "A number between 0 and 1");
  EXPECT_EQ(threshold->defaultValue.value_or("?"), "0.5");
  EXPECT_EQ(threshold->minimum.value_or(-1), 0.0);
  EXPECT_EQ(threshold->maximum.value_or(-1), 1.0);
  EXPECT_EQ(threshold->step.value_or(-1), 0.05);
  EXPECT_FALSE(threshold->index.has_value());
  EXPECT_EQ(d.FindFlag("t"), threshold);
  EXPECT_EQ(d.FindLongflag("threshold"), threshold);

  const Parameter * iterations = d.FindParameter("iterations");
  ASSERT_NE(iterations, nullptr);
  EXPECT_TRUE(iterations->IsIntegral());
  EXPECT_EQ(iterations->minimum.value_or(-1), 1.0);
  EXPECT_FALSE(iterations->maximum.has_value());

  const Parameter * device = d.FindParameter("device");
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->type, ParameterType::StringEnumeration);
  EXPECT_TRUE(device->IsEnumeration());
  EXPECT_EQ(device->elements, (std::vector<std::string>{ "cpu", "cuda" }));

  const Parameter * verbose = d.FindParameter("verbose");
  ASSERT_NE(verbose, nullptr);
  EXPECT_TRUE(verbose->IsBoolean());
  EXPECT_EQ(verbose->defaultValue.value_or("?"), "false");
  EXPECT_FALSE(d.FindParameter("fail")->defaultValue.has_value());

  EXPECT_EQ(d.FindParameter("spacing")->type, ParameterType::DoubleVector);
  EXPECT_TRUE(d.FindParameter("spacing")->IsVector());
  EXPECT_EQ(d.FindParameter("size")->type, ParameterType::IntegerVector);
  EXPECT_EQ(d.FindParameter("workDir")->type, ParameterType::Directory);
  EXPECT_TRUE(d.FindParameter("extra")->IsMultiple());
  EXPECT_EQ(d.FindParameter("outputFile")->attributes.at("fileExtensions"), ".txt");

  const auto positional = d.PositionalParameters();
  ASSERT_EQ(positional.size(), 2u);
  EXPECT_EQ(positional[0]->name, "inputFile");
  EXPECT_EQ(positional[0]->channel, "input");
  EXPECT_EQ(positional[1]->name, "outputFile");
  EXPECT_EQ(positional[1]->channel, "output");
  EXPECT_FALSE(positional[1]->IsReturnParameter()) << "an output file is not a return parameter";

  std::vector<std::string> returned;
  for (const auto * p : d.ReturnParameters())
    returned.push_back(p->name);
  EXPECT_EQ(returned, (std::vector<std::string>{ "doubledThreshold", "inputBytes", "summary" }));
}

TEST(ModuleDescription, NameDefaultsToLongflagAndDashesAreStripped)
{
  const auto d = ParseModuleDescription(
    WithParameters("<integer><longflag>--count</longflag><flag>-c</flag><label>C</label><description>D</description>"
                   "</integer>"));
  const Parameter * p = d.FindParameter("count");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->longflag, "count");
  EXPECT_EQ(p->flag, "c");
}

TEST(ModuleDescription, AllTypesAreKnown)
{
  for (const char * tag : { "integer",
                            "float",
                            "double",
                            "boolean",
                            "string",
                            "integer-vector",
                            "float-vector",
                            "double-vector",
                            "string-vector",
                            "integer-enumeration",
                            "float-enumeration",
                            "double-enumeration",
                            "string-enumeration",
                            "file",
                            "directory",
                            "image",
                            "geometry",
                            "transform",
                            "table",
                            "measurement",
                            "point",
                            "pointfile",
                            "region" })
  {
    const auto type = ParameterTypeFromTag(tag);
    ASSERT_TRUE(type.has_value()) << tag;
    EXPECT_EQ(ParameterTypeTag(*type), tag);
  }
  EXPECT_FALSE(ParameterTypeFromTag("matrix").has_value());
}

TEST(ModuleDescription, RejectsBooleanDefaultTrue)
{
  const std::string error =
    ParseError(WithParameters("<boolean><name>fill</name><longflag>fill</longflag><default>true</default></boolean>"));
  EXPECT_NE(error.find("boolean must default to false"), std::string::npos) << error;
  EXPECT_NE(error.find("line 5"), std::string::npos) << error;
  EXPECT_EQ(
    ParseError(WithParameters("<boolean><name>fill</name><longflag>fill</longflag><default>false</default></boolean>")),
    "");
}

TEST(ModuleDescription, RejectsBrokenRules)
{
  const std::pair<std::string, std::string> cases[] = {
    { "<integer><name>a</name><flag>ab</flag></integer>", "can only hold one character" },
    { "<integer><name>a</name><flag>1</flag></integer>", "must be a single letter" },
    { "<integer><name>a</name><flag>h</flag></integer>", "reserved for --help" },
    { "<integer><name>a</name><longflag>a b</longflag></integer>", "can only contain letters, numbers and" },
    { "<integer><name>a</name><longflag>a-</longflag></integer>", "can only contain letters, numbers and" },
    { "<integer><name>a</name><longflag>help</longflag></integer>", "reserved for an automatic flag" },
    { "<integer><name>a</name><longflag>returnparameterfile</longflag></integer>", "reserved" },
    { "<integer><name>1a</name><longflag>a</longflag></integer>", "<name> can only contain letters" },
    { "<file><name>a</name><channel>input</channel><index>0</index><longflag>a</longflag></file>",
      "<longflag> cannot be given because the parameter has an <index>" },
    { "<file><name>a</name><channel>input</channel><index>0</index><flag>a</flag></file>",
      "<flag> cannot be given because the parameter has an <index>" },
    { "<file><name>a</name><channel>input</channel><flag>a</flag><index>0</index></file>",
      "<index> cannot be given because the parameter has a <flag>" },
    { "<file><name>a</name><channel>input</channel><index>1</index></file>", "index 0 is missing" },
    { "<file><name>a</name><channel>input</channel><index>0</index></file>"
      "<file><name>b</name><channel>input</channel><index>0</index></file>",
      "index 0 is used twice" },
    { "<integer><name>a</name><longflag>x</longflag></integer><integer><name>a</name><longflag>y</longflag></integer>",
      "name 'a' is used twice" },
    { "<integer><name>a</name><longflag>x</longflag></integer><integer><name>b</name><longflag>x</longflag></integer>",
      "longflag --x is used twice" },
    { "<integer><name>a</name><flag>x</flag></integer><integer><name>b</name><flag>x</flag></integer>",
      "flag -x is used twice" },
    { "<integer><name>a</name></integer>", "needs <index>, <flag> or <longflag>" },
    { "<file><name>a</name><longflag>a</longflag></file>", "<channel> (input or output) is required" },
    { "<string-enumeration><name>a</name><longflag>a</longflag><element>x</element><default>y</default>"
      "</string-enumeration>",
      "not one of its elements" },
    { "<string-enumeration><name>a</name><longflag>a</longflag></string-enumeration>", "needs <element>" },
    { "<integer><name>a</name><longflag>a</longflag><default>1.5</default></integer>", "not an integer" },
    { "<float><name>a</name><longflag>a</longflag><default>x</default></float>", "not a number" },
    { "<float><name>a</name><longflag>a</longflag><default>2</default>"
      "<constraints><minimum>0</minimum><maximum>1</maximum></constraints></float>",
      "outside its constraints" },
    { "<string><name>a</name><longflag>a</longflag><constraints><minimum>0</minimum></constraints></string>",
      "numeric parameters only" },
    { "<integer><name>a</name><longflag>a</longflag><colour>red</colour></integer>", "unrecognized element <colour>" },
    { "<matrix><name>a</name><longflag>a</longflag></matrix>", "unrecognized element <name>" },
    { "<integer><name>a</name><longflag>a</longflag><location>x</location></integer>", "unknown element <location>" },
    { "<integer><name>a</name><longflag>a</longflag><channel>sideways</channel></integer>", "input or output" },
  };
  for (const auto & [parameters, expected] : cases)
  {
    const std::string error = ParseError(WithParameters(parameters));
    EXPECT_NE(error.find(expected), std::string::npos) << parameters << "\n  gave: '" << error << "'";
  }
}

TEST(ModuleDescription, ReportsMalformedXMLWithItsLine)
{
  const std::string error = ParseError("<?xml version=\"1.0\"?>\n<executable>\n<title>T</titel>\n</executable>\n");
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
  EXPECT_NE(ParseError("<?xml version=\"1.0\"?>\n<module/>\n").find("<executable> must be the outermost element"),
            std::string::npos);
  EXPECT_NE(ParseError("").find("XML error"), std::string::npos);
  EXPECT_NE(ParseError("<executable/>").find("must be an XML declaration"), std::string::npos);
}

TEST(ModuleDescription, ProjectRules)
{
  const auto  d = ParseModuleDescription("<?xml version=\"1.0\"?><executable><category>C</category>"
                                         "<parameters><integer><name>a</name><longflag>a</longflag></integer>"
                                         "</parameters></executable>");
  const auto  problems = CheckProjectRules(d);
  std::string all;
  for (const auto & p : problems)
    all += p + "\n";
  for (const char * expected : { "<title> is missing",
                                 "<description> is missing",
                                 "<version> is missing",
                                 "group 1 has no <label>",
                                 "'a' has no <label>",
                                 "'a' has no <description>" })
    EXPECT_NE(all.find(expected), std::string::npos) << expected << " not in\n" << all;
  EXPECT_EQ(all.find("<category>"), std::string::npos) << all;
}

// Slicer's own parser (SlicerExecutionModel's ModuleDescriptionParser.cxx) refuses these descriptions, and Slicer
// then shows no module at all; CheckSlicerRules must refuse each of them too.
TEST(SlicerRules, RejectsAHyphenatedLongflag)
{
  const auto problems = CheckSlicerRules(
    WithParameters("<file><name>outputCSV</name><longflag>output-csv</longflag><channel>output</channel></file>"));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("<longflag> can only contain letters, numbers and underscores"), std::string::npos)
    << problems[0];
  EXPECT_NE(problems[0].find("\"output-csv\""), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("line 5"), std::string::npos) << problems[0];
  // Leading dashes are stripped as Slicer does; camelCase is what Slicer accepts.
  EXPECT_TRUE(CheckSlicerRules(WithParameters("<file><name>outputCSV</name><longflag>--outputCSV</longflag>"
                                              "<channel>output</channel></file>"))
                .empty());
}

TEST(SlicerRules, RejectsAnInvalidName)
{
  for (const char * name : { "1a", "output.csv", "output-csv", "", "dice mean" })
  {
    const auto problems =
      CheckSlicerRules(WithParameters(std::string("<double><name>") + name + "</name><longflag>x</longflag></double>"));
    ASSERT_EQ(problems.size(), 1u) << name;
    EXPECT_NE(problems[0].find("<name> can only contain letters"), std::string::npos) << problems[0];
  }
  EXPECT_TRUE(CheckSlicerRules(WithParameters("<double><name>_dice2</name><longflag>x</longflag></double>")).empty());
}

TEST(SlicerRules, RejectsAnUnknownElement)
{
  // In a parameter, in a group and in the module.
  for (const std::string & xml :
       { WithParameters("<integer><name>a</name><longflag>a</longflag><colour>red</colour></integer>"),
         WithParameters("<integer><name>a</name><longflag>a</longflag></integer><note>x</note>"),
         std::string("<?xml version=\"1.0\"?>\n<executable><title>T</title><summary>S</summary></executable>\n") })
  {
    const auto problems = CheckSlicerRules(xml);
    ASSERT_FALSE(problems.empty()) << xml;
    EXPECT_NE(problems[0].find("unrecognized element"), std::string::npos) << problems[0];
  }
  // pointfile is not among the element types of the parser's source.
  EXPECT_FALSE(CheckSlicerRules(WithParameters("<pointfile><name>p</name><longflag>p</longflag><channel>input</channel>"
                                               "</pointfile>"))
                 .empty());
}

TEST(SlicerRules, StructureAndAttributes)
{
  const std::pair<std::string, std::string> cases[] = {
    { "<integer><name>a</name><flag>ab</flag></integer>", "can only hold one character" },
    { "<integer><name>a</name><index>0</index><flag>a</flag></integer>", "has an <index>" },
    { "<integer><name>a</name><longflag>a</longflag><index>0</index></integer>", "<index> cannot be given" },
    { "<integer hidden=\"yes\"><name>a</name><longflag>a</longflag></integer>", "\"yes\" is not a valid value" },
    { "<boolean hidden=\"1\"><name>a</name><longflag>a</longflag></boolean>", "\"hidden\"" },
    { "<image type=\"rgb\"><name>a</name><longflag>a</longflag><channel>input</channel></image>",
      "\"rgb\" is not a valid value for the attribute \"type\"" },
    { "<image colour=\"x\"><name>a</name><longflag>a</longflag><channel>input</channel></image>",
      "\"colour\" is not a valid attribute for <image>" },
    { "<file multiple=\"maybe\"><name>a</name><longflag>a</longflag><channel>input</channel></file>",
      "\"maybe\" is not a valid value" },
    { "<file type=\"text\"><name>a</name><longflag>a</longflag><channel>input</channel></file>",
      "\"type\" is not a valid attribute for <file>" },
    { "<transform type=\"affine\"><name>a</name><longflag>a</longflag><channel>input</channel></transform>",
      "\"affine\"" },
    { "<point coordinateSystem=\"xyz\"><name>a</name><longflag>a</longflag></point>", "\"xyz\"" },
    { "<geometry aggregate=\"no\"><name>a</name><longflag>a</longflag><channel>input</channel></geometry>", "\"no\"" },
    { "<table type=\"csv\"><name>a</name><longflag>a</longflag><channel>input</channel></table>", "\"csv\"" },
    { "<integer><name>a</name><longflag>a</longflag><constraints><minimum>0</minimum></constraints></integer>"
      "<parameters><label>inner</label></parameters>",
      "<parameters> can only be inside <executable>" },
    { "<integer><name>a</name><longflag>a</longflag><float><name>b</name></float></integer>",
      "<float> can only be used inside <parameters>" },
    { "<integer><name>a</name><longflag>a</longflag><executable/></integer>", "<executable> was found inside" },
    { "<integer><name>a</name><longflag>a</longflag><constraints><minimum><a><b><c><d><e><f>0</f></e></d></c></b></a>"
      "</minimum></constraints></integer>",
      "levels deep" },
  };
  for (const auto & [parameters, expected] : cases)
  {
    const auto problems = CheckSlicerRules(WithParameters(parameters));
    ASSERT_FALSE(problems.empty()) << parameters;
    EXPECT_NE(problems[0].find(expected), std::string::npos) << parameters << "\n  gave: '" << problems[0] << "'";
  }
  // Outside <parameters>, a parameter or a <flag> is not Slicer's.
  EXPECT_FALSE(
    CheckSlicerRules("<?xml version=\"1.0\"?>\n<executable><integer><name>a</name></integer></executable>").empty());
  EXPECT_FALSE(CheckSlicerRules("<?xml version=\"1.0\"?>\n<executable><label>x</label></executable>").empty());
  // The declaration must come first, exactly as "<?xml ".
  EXPECT_FALSE(CheckSlicerRules("\n<?xml version=\"1.0\"?><executable/>").empty());
  EXPECT_FALSE(CheckSlicerRules("<executable/>").empty());
  // Malformed XML.
  EXPECT_NE(CheckSlicerRules("<?xml version=\"1.0\"?>\n<executable><title>T</titel></executable>")[0].find("XML error"),
            std::string::npos);
  // What Slicer accepts, even if unusual: attributes it ignores, the module <index> and <location>, a <flag> of any
  // one character, empty flags.
  EXPECT_TRUE(CheckSlicerRules("<?xml version=\"1.0\"?>\n<executable><index>3</index><location>x</location>"
                               "<parameters advanced=\"true\"><label>L</label>"
                               "<integer multiple=\"true\" colour=\"red\"><name>a</name><flag>1</flag></integer>"
                               "<directory><name>d</name><longflag>_d</longflag><channel>input</channel></directory>"
                               "<image type=\"label\" reference=\"a\" hidden=\"false\"><name>i</name><index>0</index>"
                               "<channel>input</channel></image></parameters></executable>")
                .empty());
}

TEST(SlicerRules, TheExampleModuleFollowsThem)
{
  EXPECT_TRUE(CheckSlicerRules(ExampleXML()).empty());
}
