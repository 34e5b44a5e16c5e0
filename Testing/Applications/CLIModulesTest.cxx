// SPDX-License-Identifier: Apache-2.0
// The Slicer contract, checked on every module built with rescrnet_add_cli(): --xml prints the embedded description
// first and alone (well-formed, parseable, following the project rules), --help lists every flag, --version prints
// the project version, and a bad option is one line on stderr with a non-zero exit code.
#include "rescrnet/cli/CommandLine.h"

#include "RunProgram.h"

using namespace rescrnet::testing;
using namespace rescrnet::cli;

namespace
{

struct Module
{
  std::string name;
  std::string xml;
};

std::vector<Module>
Modules()
{
  std::vector<Module> modules;
  std::ifstream       in(RESCRNET_CLI_MODULE_LIST);
  std::string         line;
  while (std::getline(in, line))
  {
    const auto tab = line.find('\t');
    if (tab != std::string::npos)
      modules.push_back({ line.substr(0, tab), line.substr(tab + 1) });
  }
  return modules;
}

class CLIModules : public ::testing::TestWithParam<Module>
{};

} // namespace

TEST(CLIModuleList, ListsTheApplications)
{
  bool importKeras = false;
  for (const auto & m : Modules())
    importKeras = importKeras || m.name == "ResCRNetImportKeras";
  EXPECT_TRUE(importKeras) << RESCRNET_CLI_MODULE_LIST;
}

TEST_P(CLIModules, XmlFirstAndWellFormed)
{
  const Module & m = GetParam();
  EXPECT_EQ(m.name.find('.'), std::string::npos) << "Slicer only runs file names without '.'";
  ASSERT_TRUE(std::filesystem::exists(ModulePath(m.name))) << ModulePath(m.name);
  const auto r = RunProgram(ModulePath(m.name), { "--xml" });
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.err, "") << "Slicer treats stderr output during discovery as an error";
  EXPECT_EQ(r.out.rfind("<?xml", 0), 0u) << r.out.substr(0, 80);
  EXPECT_EQ(r.out, EmbeddedXML(m.xml, RESCRNET_PROJECT_VERSION)) << "the build embeds a stale XML";
  if (const auto lint = XmllintAccepts(r.out))
  {
    EXPECT_TRUE(*lint) << "xmllint rejects the --xml output of " << m.name;
  }
  ModuleDescription d;
  ASSERT_NO_THROW(d = ParseModuleDescription(r.out));
  EXPECT_EQ(d.version, RESCRNET_PROJECT_VERSION);
  for (const auto & problem : CheckProjectRules(d))
    ADD_FAILURE() << m.name << ": " << problem;
}

TEST_P(CLIModules, HelpListsEveryFlag)
{
  const Module & m = GetParam();
  const auto     d = ParseModuleDescription(EmbeddedXML(m.xml, RESCRNET_PROJECT_VERSION));
  const auto     r = RunProgram(ModulePath(m.name), { "--help" });
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("Usage: " + m.name, 0), 0u) << r.out;
  for (const auto * p : d.Parameters())
  {
    if (!p->longflag.empty())
    {
      EXPECT_NE(r.out.find("--" + p->longflag), std::string::npos) << m.name << " --" << p->longflag;
    }
    if (!p->flag.empty())
    {
      EXPECT_NE(r.out.find("-" + p->flag + ", "), std::string::npos) << m.name << " -" << p->flag;
    }
    if (p->index)
    {
      EXPECT_NE(r.out.find("<" + p->name + ">"), std::string::npos) << m.name << " <" << p->name << ">";
    }
  }
}

TEST_P(CLIModules, VersionAndBadOption)
{
  const Module & m = GetParam();
  const auto     version = RunProgram(ModulePath(m.name), { "--version" });
  EXPECT_EQ(version.exitCode, 0);
  EXPECT_EQ(version.out, m.name + " " + RESCRNET_PROJECT_VERSION + "\n");

  const auto bad = RunProgram(ModulePath(m.name), { "--no-such-option" });
  EXPECT_NE(bad.exitCode, 0);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(bad.err, m.name + ": unknown option --no-such-option (see --help)\n");
}

INSTANTIATE_TEST_SUITE_P(Modules,
                         CLIModules,
                         ::testing::ValuesIn(Modules()),
                         [](const ::testing::TestParamInfo<Module> & info) { return info.param.name; });
