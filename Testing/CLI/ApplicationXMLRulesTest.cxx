// SPDX-License-Identifier: Apache-2.0
// Every Applications/*/*.xml in the repository (globbed at configure time) follows the project's rules: Slicer's own
// parser accepts it (CheckSlicerRules), it parses (structural rules: one-letter flags, identifier longflags, no flag
// with an index, booleans default false, ...),
// has a category, title, description and version, labels and descriptions everywhere, is well-formed for xmllint,
// and sits in a folder named like the module with the module's source beside it.
#include "rescrnet/cli/ModuleDescription.h"

#include "ResCRNetTestSupport.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

using namespace rescrnet::cli;

namespace
{

std::vector<std::string>
ApplicationXMLFiles()
{
  std::vector<std::string> files;
  std::ifstream            in(RESCRNET_APPLICATION_XML_LIST);
  std::string              line;
  while (std::getline(in, line))
    if (!line.empty())
      files.push_back(line);
  return files;
}

std::string
ReadFile(const std::string & path)
{
  std::ifstream      in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ApplicationXML : public ::testing::TestWithParam<std::string>
{};

} // namespace

TEST(ApplicationXMLList, FoundTheApplications)
{
  const auto files = ApplicationXMLFiles();
  EXPECT_FALSE(files.empty()) << "no Applications/*/*.xml listed in " << RESCRNET_APPLICATION_XML_LIST;
  bool importKeras = false, pipeline = false;
  for (const auto & f : files)
  {
    importKeras = importKeras || f.find("ResCRNetImportKeras.xml") != std::string::npos;
    pipeline = pipeline || f.find("ResCRNetPipeline.xml") != std::string::npos; // generated from its template
  }
  EXPECT_TRUE(importKeras);
  EXPECT_TRUE(pipeline);
}

TEST_P(ApplicationXML, FollowsTheProjectRules)
{
  const std::filesystem::path path = GetParam();
  const std::string           xml = ReadFile(path.string());
  ASSERT_FALSE(xml.empty()) << path;
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << path << ": must begin with <?xml (Slicer drops what comes before)";

  for (const auto & problem : CheckSlicerRules(xml))
    ADD_FAILURE() << path << ":" << problem << " (Slicer would not load this module)";

  ModuleDescription d;
  try
  {
    d = ParseModuleDescription(xml);
  }
  catch (const DescriptionError & e)
  {
    FAIL() << path << ": " << e.what();
  }
  for (const auto & problem : CheckProjectRules(d))
    ADD_FAILURE() << path << ": " << problem;

  // The version follows the project's: the placeholder, or the project version itself.
  EXPECT_TRUE(d.version == "@PROJECT_VERSION@" || d.version == RESCRNET_PROJECT_VERSION)
    << path << ": <version> is '" << d.version << "'; write @PROJECT_VERSION@";

  // The rules again, explicitly, as the project states them.
  for (const auto * p : d.Parameters())
  {
    if (p->IsBoolean())
    {
      EXPECT_TRUE(!p->defaultValue || *p->defaultValue == "false") << p->name;
    }
    if (!p->flag.empty())
    {
      EXPECT_EQ(p->flag.size(), 1u) << p->name;
    }
    if (!p->longflag.empty())
    {
      // Slicer's rule, camelCase in practice: no '-' (Slicer refuses --output-csv and drops the whole module).
      EXPECT_TRUE(std::regex_match(p->longflag, std::regex("[A-Za-z_][A-Za-z0-9_]*"))) << p->longflag;
    }
    if (p->index)
    {
      EXPECT_TRUE(p->flag.empty() && p->longflag.empty()) << p->name;
    }
  }

  // Applications/<Name>/<Name>.xml beside <Name>.cxx; <Name> is a valid Slicer CLI file name (no '.').
  const std::string name = path.stem().string();
  EXPECT_EQ(path.parent_path().filename().string(), name) << path;
  EXPECT_TRUE(std::regex_match(name, std::regex("[A-Za-z][A-Za-z0-9_]*"))) << name;
  // (A description generated from <Name>.xml.in lies in the build tree; its source beside the template.)
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(RESCRNET_APPLICATIONS_SOURCE_DIR) / name / (name + ".cxx")))
    << path;
}

TEST_P(ApplicationXML, IsWellFormedForXmllint)
{
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0)
  {
    GTEST_SKIP() << "xmllint not installed (package libxml2-utils)";
  }
  const std::string command = "xmllint --noout '" + GetParam() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

INSTANTIATE_TEST_SUITE_P(Applications,
                         ApplicationXML,
                         ::testing::ValuesIn(ApplicationXMLFiles()),
                         [](const ::testing::TestParamInfo<std::string> & info) {
                           return std::filesystem::path(info.param).stem().string();
                         });
