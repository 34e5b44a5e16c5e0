// SPDX-License-Identifier: Apache-2.0
// The example module, built with rescrnet_add_cli() and run as Slicer runs it: --xml, --help, --version, a run with
// --returnparameterfile and progress tags, and the error paths.
#include "rescrnet/cli/CommandLine.h"

#include "RunProgram.h"

#include <regex>

using namespace rescrnet::testing;
using rescrnet::cli::ParseModuleDescription;
using rescrnet::cli::ReadReturnParameterFile;

namespace
{

const std::string Name = "ResCRNetCLIExample";

std::filesystem::path
Example()
{
  return ModulePath(Name);
}

std::filesystem::path
Input()
{
  static const auto path = [] {
    const auto p = TemporaryDirectory() / "input.txt";
    std::ofstream(p) << "some text\n";
    return p;
  }();
  return path;
}

} // namespace

TEST(CLIModule, XmlIsTheEmbeddedDescriptionFirstAndAlone)
{
  ASSERT_TRUE(std::filesystem::exists(Example())) << Example();
  const auto r = RunProgram(Example(), { "--xml" });
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("<?xml", 0), 0u) << r.out.substr(0, 80);
  EXPECT_EQ(r.out, EmbeddedXML(SourceDirectory() / "Testing" / "CLI" / (Name + ".xml"), RESCRNET_PROJECT_VERSION));
  EXPECT_EQ(r.out.find("@PROJECT_VERSION@"), std::string::npos);
  EXPECT_NE(r.out.find(std::string("<version>") + RESCRNET_PROJECT_VERSION + "</version>"), std::string::npos);
  const auto lint = XmllintAccepts(r.out);
  if (lint)
  {
    EXPECT_TRUE(*lint);
  }
  EXPECT_NO_THROW(ParseModuleDescription(r.out));
}

TEST(CLIModule, HelpAndVersion)
{
  const auto help = RunProgram(Example(), { "--help" });
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_EQ(help.err, "");
  const auto d = ParseModuleDescription(RunProgram(Example(), { "--xml" }).out);
  for (const auto * p : d.Parameters())
    if (!p->longflag.empty())
    {
      EXPECT_NE(help.out.find("--" + p->longflag), std::string::npos) << p->longflag;
    }
  EXPECT_EQ(RunProgram(Example(), { "-h" }).out, help.out);

  const auto version = RunProgram(Example(), { "--version" });
  EXPECT_EQ(version.exitCode, 0);
  EXPECT_EQ(version.out, Name + " " + RESCRNET_PROJECT_VERSION + "\n");
}

TEST(CLIModule, RunsAndReturnsParameters)
{
  const auto dir = TemporaryDirectory();
  const auto output = dir / "copy.txt";
  const auto params = dir / "r.params";
  const auto r = RunProgram(Example(),
                            { "--returnparameterfile",
                              params.string(),
                              "--processinformationaddress",
                              "0x0",
                              "-t",
                              "0.125",
                              "--iterations=4",
                              "--verbose",
                              "--size",
                              "3,4,5",
                              "--extra",
                              Input().string(),
                              "--extra",
                              Input().string(),
                              Input().string(),
                              output.string() });
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ReadWholeFile(output), "some text\n");
  EXPECT_NE(r.out.find("copied 10 bytes"), std::string::npos) << r.out;
  // Progress for Slicer on stdout.
  EXPECT_NE(r.out.find("<filter-start>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<filter-progress>1.0000</filter-progress>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<filter-end>"), std::string::npos) << r.out;

  const auto values = ReadReturnParameterFile(params.string());
  EXPECT_EQ(values.size(), 3u);
  EXPECT_EQ(values.at("doubledThreshold"), "0.25");
  EXPECT_EQ(values.at("inputBytes"), "10");
  EXPECT_EQ(values.at("summary"), "iterations=4 device=cpu spacing=2 size=3 extra=2 tag=lungs");
  // "name = value" lines, as Slicer reads them.
  EXPECT_TRUE(std::regex_search(ReadWholeFile(params), std::regex("^doubledThreshold = 0\\.25\n")));
}

TEST(CLIModule, ErrorsAreOneLineWithTheToolName)
{
  const auto                                                          dir = TemporaryDirectory();
  const auto                                                          output = dir / "copy.txt";
  const auto                                                          params = dir / "r.params";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
    { { "--threshold", "abc", Input().string(), output.string() }, "--threshold expects a number, got 'abc'" },
    { { "--device", "tpu", Input().string(), output.string() }, "--device must be one of cpu, cuda; got 'tpu'" },
    { { Input().string() }, "missing argument <outputFile> (Output file) (see --help)" },
    { { "--bogus", Input().string(), output.string() }, "unknown option --bogus (see --help)" },
    { { (dir / "absent.txt").string(), output.string() },
      "<inputFile>: '" + (dir / "absent.txt").string() + "' does not exist" },
    { { "--fail", Input().string(), output.string() }, "failing as asked (second line of the message)" },
  };
  for (const auto & [args, message] : cases)
  {
    std::vector<std::string> all{ "--returnparameterfile", params.string() };
    all.insert(all.end(), args.begin(), args.end());
    const auto r = RunProgram(Example(), all);
    EXPECT_EQ(r.exitCode, 1) << message;
    EXPECT_EQ(r.err, Name + ": " + message + "\n");
    EXPECT_FALSE(std::filesystem::exists(output)) << message;
    EXPECT_FALSE(std::filesystem::exists(params)) << message;
  }
}

// A person at a terminal sees one updating progress line, not Slicer's tags; Slicer, reading a pipe, sees the tags.
TEST(CLIModule, ProgressLineOnATerminalTagsThroughAPipe)
{
  const auto dir = TemporaryDirectory();
  std::ofstream(dir / "in.txt") << "some text\n";
  const auto terminal = RunInTerminal(ModulePath(Name), { (dir / "in.txt").string(), (dir / "out1.txt").string() });
  ASSERT_EQ(terminal.exitCode, 0) << terminal.err;
  EXPECT_EQ(terminal.out.find("<filter-"), std::string::npos) << terminal.out;
  EXPECT_NE(terminal.out.find("\r[####################] 100%"), std::string::npos) << terminal.out;
  EXPECT_NE(terminal.out.find("ETA 00:00"), std::string::npos) << terminal.out;
  const auto pipe = RunProgram(ModulePath(Name), { (dir / "in.txt").string(), (dir / "out2.txt").string() });
  ASSERT_EQ(pipe.exitCode, 0) << pipe.err;
  EXPECT_NE(pipe.out.find("<filter-progress>1.0000</filter-progress>"), std::string::npos) << pipe.out;
  EXPECT_NE(pipe.out.find("<filter-start>"), std::string::npos) << pipe.out;
  EXPECT_EQ(pipe.out.find('\r'), std::string::npos) << pipe.out;
  // RESCRNET_PROGRESS overrides the choice (a log that wants the line, a terminal that wants the tags).
  ::setenv("RESCRNET_PROGRESS", "tags", 1);
  const auto forced = RunInTerminal(ModulePath(Name), { (dir / "in.txt").string(), (dir / "out3.txt").string() });
  ::unsetenv("RESCRNET_PROGRESS");
  EXPECT_NE(forced.out.find("<filter-progress>"), std::string::npos) << forced.out;
}
