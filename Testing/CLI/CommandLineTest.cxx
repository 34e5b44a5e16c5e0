// SPDX-License-Identifier: Apache-2.0
// The argument parser, --help, the return-parameter file and Run(), against the example module's description.
#include "rescrnet/cli/CommandLine.h"

#include "ResCRNetTestSupport.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

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

const std::string &
ExampleXML()
{
  static const std::string xml =
    ReadFile(rescrnet::testing::SourceDirectory() / "Testing" / "CLI" / "ResCRNetCLIExample.xml");
  return xml;
}

const ModuleDescription &
Example()
{
  static const ModuleDescription d = ParseModuleDescription(ExampleXML());
  return d;
}

// An existing input file for the positional arguments.
std::string
InputFile()
{
  static const std::string path = [] {
    const auto p = rescrnet::testing::TemporaryDirectory() / "input.txt";
    std::ofstream(p) << "hello\n";
    return p.string();
  }();
  return path;
}

Arguments
Parse(std::vector<std::string> args)
{
  return ParseArguments(Example(), args);
}

// The CommandLineError message for `args` (the two positional arguments come first), or "" when they parse.
std::string
ParseError(std::vector<std::string> args, bool withPositional = true)
{
  if (withPositional)
    args.insert(args.begin(), { InputFile(), "out.txt" });
  try
  {
    ParseArguments(Example(), args);
  }
  catch (const CommandLineError & e)
  {
    return e.what();
  }
  return std::string();
}

// Runs Run() in-process with std::cout and std::cerr captured.
struct RunResult
{
  int         status{ -1 };
  std::string out;
  std::string err;
};

RunResult
RunExample(std::vector<std::string> args, const ModuleBody & body)
{
  args.insert(args.begin(), "ResCRNetCLIExample");
  std::vector<char *> argv;
  for (auto & a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  auto *             oldOut = std::cout.rdbuf(out.rdbuf());
  auto *             oldErr = std::cerr.rdbuf(err.rdbuf());
  RunResult          r;
  r.status = rescrnet::cli::Run(static_cast<int>(args.size()), argv.data(), "ResCRNetCLIExample", ExampleXML(), body);
  std::cout.rdbuf(oldOut);
  std::cerr.rdbuf(oldErr);
  r.out = out.str();
  r.err = err.str();
  return r;
}

int
Succeed(const Arguments &, ReturnParameters &)
{
  return 0;
}

size_t
Lines(const std::string & s)
{
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

} // namespace

TEST(CommandLine, DefaultsWhenOnlyPositionalArguments)
{
  const Arguments a = Parse({ InputFile(), "out.txt" });
  EXPECT_EQ(a.GetString("inputFile"), InputFile());
  EXPECT_EQ(a.GetString("outputFile"), "out.txt");
  EXPECT_TRUE(a.IsSet("inputFile"));
  EXPECT_FALSE(a.IsSet("threshold"));
  EXPECT_DOUBLE_EQ(a.GetDouble("threshold"), 0.5);
  EXPECT_EQ(a.GetInt("iterations"), 3);
  EXPECT_DOUBLE_EQ(a.GetDouble("iterations"), 3.0);
  EXPECT_FALSE(a.GetBool("verbose"));
  EXPECT_EQ(a.GetString("verbose"), "false");
  EXPECT_EQ(a.GetString("device"), "cpu");
  EXPECT_EQ(a.GetDoubleVector("spacing"), (std::vector<double>{ 1.0, 1.0 }));
  EXPECT_TRUE(a.GetIntVector("size").empty());
  EXPECT_EQ(a.GetString("tag"), "lungs");
  EXPECT_EQ(a.GetString("workDir"), "");
  EXPECT_TRUE(a.GetAll("extra").empty());
  EXPECT_FALSE(a.HelpRequested());
  EXPECT_FALSE(a.EchoRequested());
  EXPECT_EQ(a.ReturnParameterFile(), "");
}

TEST(CommandLine, LongShortAndEqualsForms)
{
  for (const auto & form : std::vector<std::vector<std::string>>{
         { "--threshold", "0.25" }, { "--threshold=0.25" }, { "-t", "0.25" }, { "-t=0.25" } })
  {
    std::vector<std::string> args = form;
    args.insert(args.end(), { InputFile(), "out.txt" });
    const Arguments a = Parse(args);
    EXPECT_TRUE(a.IsSet("threshold")) << form[0];
    EXPECT_DOUBLE_EQ(a.GetDouble("threshold"), 0.25) << form[0];
  }
  // Options and positional arguments mix in any order.
  const Arguments a = Parse({ InputFile(), "-n", "7", "out.txt", "--device", "cuda", "--spacing", "0.5, 2" });
  EXPECT_EQ(a.GetInt("iterations"), 7);
  EXPECT_EQ(a.GetString("device"), "cuda");
  EXPECT_EQ(a.GetDoubleVector("spacing"), (std::vector<double>{ 0.5, 2.0 }));
  EXPECT_EQ(a.GetString("outputFile"), "out.txt");
}

TEST(CommandLine, BooleansByPresence)
{
  EXPECT_TRUE(Parse({ "--verbose", InputFile(), "out.txt" }).GetBool("verbose"));
  EXPECT_TRUE(Parse({ InputFile(), "out.txt", "-v" }).GetBool("verbose"));
  EXPECT_TRUE(Parse({ InputFile(), "out.txt", "-v" }).IsSet("verbose"));
  EXPECT_FALSE(Parse({ InputFile(), "out.txt" }).GetBool("verbose"));
  // Slicer never passes a value to a boolean: one given is an error, not a silent toggle.
  EXPECT_EQ(ParseError({ "--verbose=true" }), "--verbose is a switch and takes no value");
  EXPECT_EQ(ParseError({ "--verbose=false" }), "--verbose is a switch and takes no value");
}

TEST(CommandLine, ValuesAreChecked)
{
  EXPECT_EQ(ParseError({ "--threshold", "abc" }), "--threshold expects a number, got 'abc'");
  EXPECT_EQ(ParseError({ "-t", "0.5x" }), "--threshold expects a number, got '0.5x'");
  EXPECT_EQ(ParseError({ "--iterations", "2.5" }), "--iterations expects an integer, got '2.5'");
  EXPECT_EQ(ParseError({ "--threshold", "1.5" }), "--threshold must be between 0 and 1, got 1.5");
  EXPECT_EQ(ParseError({ "--threshold", "-0.5" }), "--threshold must be between 0 and 1, got -0.5");
  EXPECT_EQ(ParseError({ "--iterations", "0" }), "--iterations must be at least 1, got 0");
  EXPECT_EQ(ParseError({ "--device", "gpu" }), "--device must be one of cpu, cuda; got 'gpu'");
  EXPECT_EQ(ParseError({ "--spacing", "1,x" }), "--spacing expects comma-separated numbers, got '1,x'");
  EXPECT_EQ(ParseError({ "--size", "3,4.5" }), "--size expects comma-separated integers, got '3,4.5'");
  EXPECT_EQ(ParseError({ "--threshold" }), "--threshold expects a value");
  EXPECT_EQ(ParseError({ "--threshold", "--verbose" }), "--threshold expects a value");
  EXPECT_EQ(ParseError({ "-t", "0.1", "-t", "0.2" }), "--threshold is given more than once");
  EXPECT_EQ(ParseError({ "--workDir", "/no/such/directory" }), "--workDir: '/no/such/directory' does not exist");
  EXPECT_EQ(ParseError({ "--workDir", InputFile() }), "--workDir: '" + InputFile() + "' is not a directory");
  EXPECT_EQ(ParseError({ "--threshold", "0.1", "--size", "3,4", "--workDir", "/tmp" }), "");
}

TEST(CommandLine, UnknownOptionsAndPositionalCount)
{
  EXPECT_EQ(ParseError({ "--thresold", "1" }), "unknown option --thresold (see --help)");
  EXPECT_EQ(ParseError({ "-x" }), "unknown option -x (see --help)");
  EXPECT_EQ(ParseError({ "-tv" }), "unknown option -tv (see --help)");
  EXPECT_EQ(ParseError({ "--", "--threshold" }), "unexpected argument '--threshold' (see --help)");
  EXPECT_EQ(ParseError({ "third" }), "unexpected argument 'third' (see --help)");
  EXPECT_EQ(ParseError({}, false), "missing argument <inputFile> (Input file) (see --help)");
  EXPECT_EQ(ParseError({ InputFile() }, false), "missing argument <outputFile> (Output file) (see --help)");
  EXPECT_EQ(ParseError({ "/no/such/input", "out.txt" }, false), "<inputFile>: '/no/such/input' does not exist");
  // "--" ends the options; a lone "-" and negative numbers are values.
  EXPECT_EQ(Parse({ "--", InputFile(), "-" }).GetString("outputFile"), "-");
  EXPECT_EQ(Parse({ InputFile(), "-5" }).GetString("outputFile"), "-5");
}

TEST(CommandLine, MultipleValues)
{
  const Arguments a = Parse({ InputFile(), "out.txt", "--extra", InputFile(), "--extra=" + InputFile() });
  EXPECT_EQ(a.GetAll("extra"), (std::vector<std::string>{ InputFile(), InputFile() }));
}

TEST(CommandLine, AutomaticFlags)
{
  const Arguments a = Parse(
    { "--echo", "--returnparameterfile", "r.params", "--processinformationaddress", "0x1234", InputFile(), "out.txt" });
  EXPECT_TRUE(a.EchoRequested());
  EXPECT_EQ(a.ReturnParameterFile(), "r.params");
  EXPECT_EQ(a.ProcessInformationAddress(), "0x1234");
  EXPECT_EQ(Parse({ "--returnparameterfile=x.params", InputFile(), "out.txt" }).ReturnParameterFile(), "x.params");
  // --help and --version win, whatever else is there.
  EXPECT_TRUE(Parse({ "--threshold", "abc", "--help" }).HelpRequested());
  EXPECT_TRUE(Parse({ "-h" }).HelpRequested());
  EXPECT_TRUE(Parse({ "--version" }).VersionRequested());
  EXPECT_EQ(ParseError({ "--xml" }), "--xml is accepted only as the first argument");
  EXPECT_EQ(ParseError({ "--returnparameterfile" }), "--returnparameterfile expects a value");
}

TEST(CommandLine, GettersCheckNamesAndTypes)
{
  const Arguments a = Parse({ InputFile(), "out.txt" });
  EXPECT_THROW(a.GetString("nope"), std::invalid_argument);
  EXPECT_THROW(a.IsSet("nope"), std::invalid_argument);
  EXPECT_THROW(a.GetInt("threshold"), std::invalid_argument);
  EXPECT_THROW(a.GetBool("threshold"), std::invalid_argument);
  EXPECT_THROW(a.GetDouble("tag"), std::invalid_argument);
  EXPECT_THROW(a.GetDoubleVector("tag"), std::invalid_argument);
  EXPECT_THROW(a.GetInt("size"), std::invalid_argument);
}

TEST(CommandLine, HelpListsEveryFlag)
{
  const std::string help = UsageText("ResCRNetCLIExample", Example());
  EXPECT_EQ(help.rfind("Usage: ResCRNetCLIExample [options] <inputFile> <outputFile>\n", 0), 0u) << help;
  for (const auto * p : Example().Parameters())
  {
    if (!p->longflag.empty())
    {
      EXPECT_NE(help.find("--" + p->longflag), std::string::npos) << p->longflag;
    }
    if (!p->flag.empty())
    {
      EXPECT_NE(help.find("-" + p->flag + ","), std::string::npos) << p->flag;
    }
    EXPECT_NE(help.find(p->description.substr(0, 20)), std::string::npos) << p->name;
  }
  for (const char * automatic :
       { "--help", "--version", "--xml", "--echo", "--returnparameterfile", "--processinformationaddress" })
    EXPECT_NE(help.find(automatic), std::string::npos) << automatic;
  for (const char * detail : { "Options (advanced):",
                               "default: 0.5",
                               "range 0 to 1",
                               "at least 1",
                               "one of: cpu, cuda",
                               "may be repeated",
                               "Return parameters",
                               "doubledThreshold" })
    EXPECT_NE(help.find(detail), std::string::npos) << detail << "\n" << help;
  // Wrapped at 100 columns.
  std::istringstream lines(help);
  std::string        line;
  while (std::getline(lines, line))
    EXPECT_LE(line.size(), 100u) << line;
}

TEST(ReturnParameters, OnlyDeclaredNames)
{
  ReturnParameters r(Example());
  EXPECT_THROW(r.Set("threshold", 1.0), std::invalid_argument) << "an input parameter";
  EXPECT_THROW(r.Set("outputFile", "x"), std::invalid_argument) << "an output file, not a return parameter";
  EXPECT_THROW(r.Set("undeclared", 1), std::invalid_argument);
  EXPECT_THROW(r.Set("summary", "two\nlines"), std::invalid_argument);
  EXPECT_NO_THROW(r.Set("summary", "a = b"));
}

TEST(ReturnParameters, RoundTrip)
{
  ReturnParameters r(Example());
  r.Set("summary", "device=cpu, tag = lungs");
  r.Set("inputBytes", 58309);
  r.Set("doubledThreshold", 0.1);
  EXPECT_EQ(r.Text(), "doubledThreshold = 0.1\ninputBytes = 58309\nsummary = device=cpu, tag = lungs\n");
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto path = (dir / "out.params").string();
  r.Write(path);
  const auto values = ReadReturnParameterFile(path);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values.at("doubledThreshold"), "0.1");
  EXPECT_EQ(values.at("inputBytes"), "58309");
  EXPECT_EQ(values.at("summary"), "device=cpu, tag = lungs");
  // Atomic: nothing but the file itself is left.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  EXPECT_THROW(r.Write((dir / "no-such-dir" / "out.params").string()), std::runtime_error);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
}

TEST(ReturnParameters, NumberFormats)
{
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(58309), "58309");
  EXPECT_EQ(FormatNumber(1e-7), "1e-07");
  EXPECT_EQ(std::stod(FormatNumber(1.0 / 3.0)), 1.0 / 3.0);
  ReturnParameters r(Example());
  r.Set("summary", true);
  EXPECT_EQ(r.Values().at("summary"), "true");
  r.Set("summary", std::vector<double>{ 0.5, 2 });
  EXPECT_EQ(r.Values().at("summary"), "0.5,2");
  r.Set("summary", std::vector<int64_t>{ 3, -4 });
  EXPECT_EQ(r.Values().at("summary"), "3,-4");
}

TEST(Run, XmlFirstPrintsExactlyTheDescription)
{
  bool            ran = false;
  const RunResult r = RunExample({ "--xml" }, [&](const Arguments &, ReturnParameters &) {
    ran = true;
    return 0;
  });
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(ran);
  EXPECT_EQ(r.out, ExampleXML());
  EXPECT_EQ(r.out.rfind("<?xml", 0), 0u);
  EXPECT_EQ(r.err, "");
}

TEST(Run, HelpAndVersion)
{
  RunResult r = RunExample({ "--help" }, Succeed);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, UsageText("ResCRNetCLIExample", Example()));
  EXPECT_EQ(r.err, "");
  r = RunExample({ "--version" }, Succeed);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "ResCRNetCLIExample @PROJECT_VERSION@\n");
}

TEST(Run, UsageErrorIsOneLineOnStderr)
{
  bool            ran = false;
  const RunResult r =
    RunExample({ InputFile(), "out.txt", "--threshold", "abc" }, [&](const Arguments &, ReturnParameters &) {
      ran = true;
      return 0;
    });
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(ran);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ResCRNetCLIExample: --threshold expects a number, got 'abc'\n");
}

TEST(Run, ExceptionsBecomeOneLine)
{
  const auto throwing = [](const std::string & what) {
    return [what](const Arguments &, ReturnParameters &) -> int { throw std::runtime_error(what); };
  };
  RunResult r = RunExample({ InputFile(), "out.txt" }, throwing("disk full"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "ResCRNetCLIExample: disk full\n");
  // ITK's "file:line:\nITK ERROR: ..." and LibTorch's backtrace are reduced to the message.
  r = RunExample({ InputFile(), "out.txt" },
                 throwing("/usr/include/ITK-5.2/itkImageFileReader.hxx:100:\nITK ERROR: ImageFileReader(0x1): Could "
                          "not open x.png"));
  EXPECT_EQ(r.err, "ResCRNetCLIExample: ImageFileReader(0x1): Could not open x.png\n");
  r = RunExample({ InputFile(), "out.txt" },
                 throwing("shape mismatch\nException raised from check at x.cpp:1 (most recent call first):\nframe #0: "
                          "f()\n"));
  EXPECT_EQ(r.err, "ResCRNetCLIExample: shape mismatch\n");
  EXPECT_EQ(Lines(r.err), 1u);
}

TEST(Run, WritesReturnParametersOnSuccessOnly)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto params = (dir / "r.params").string();
  RunResult  r = RunExample({ InputFile(), "out.txt", "--returnparameterfile", params },
                           [](const Arguments & a, ReturnParameters & out) {
                             out.Set("doubledThreshold", 2 * a.GetDouble("threshold"));
                             return 0;
                           });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ReadReturnParameterFile(params).at("doubledThreshold"), "1");

  std::filesystem::remove(params);
  r = RunExample({ InputFile(), "out.txt", "--returnparameterfile", params },
                 [](const Arguments &, ReturnParameters & out) {
                   out.Set("inputBytes", 1);
                   return 3;
                 });
  EXPECT_EQ(r.status, 3);
  EXPECT_FALSE(std::filesystem::exists(params));

  // A return parameter the XML does not declare is an error.
  r = RunExample({ InputFile(), "out.txt", "--returnparameterfile", params },
                 [](const Arguments &, ReturnParameters & out) {
                   out.Set("dice", 0.9);
                   return 0;
                 });
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("'dice' is not a return parameter"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(params));
}

TEST(Run, Echo)
{
  const RunResult r = RunExample({ "--echo", "-v", "-t", "0.2", InputFile(), "out.txt" }, Succeed);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("ResCRNetCLIExample arguments:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("threshold (--threshold) = 0.2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verbose (--verbose) = true\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("iterations (--iterations) = 3 [default]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("outputFile (argument 2) = out.txt"), std::string::npos) << r.out;
}

TEST(Run, InvalidDescription)
{
  std::string         name = "Broken";
  std::vector<char *> argv{ name.data(), nullptr };
  std::ostringstream  err;
  auto *              old = std::cerr.rdbuf(err.rdbuf());
  const int status = rescrnet::cli::Run(1, argv.data(), "Broken", "<?xml version=\"1.0\"?><executable>", Succeed);
  std::cerr.rdbuf(old);
  EXPECT_EQ(status, 1);
  EXPECT_EQ(err.str().rfind("Broken: invalid XML description: XML error at line 1", 0), 0u) << err.str();
}

// Untrusted command lines: integers that do not fit a C++ int are refused (never wrapped), inputs that would block or
// never end are refused, and no output may be one of the inputs.
TEST(CommandLine, IntegersThatDoNotFitAreRefused)
{
  EXPECT_EQ(ParseError({ "--size", "4294967360,64" }),
            "--size expects comma-separated integers between -2147483648 and 2147483647, got '4294967360'");
  EXPECT_EQ(ParseError({ "--iterations", "2147483648" }),
            "--iterations expects an integer between -2147483648 and 2147483647, got '2147483648'");
  EXPECT_EQ(ParseError({ "--iterations", "99999999999999999999999" }),
            "--iterations expects an integer, got '99999999999999999999999'");
  EXPECT_EQ(ParseError({ "--size", "2147483647,1" }), "");
}

TEST(CommandLine, NonRegularInputsAreRefused)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto fifo = (dir / "x.png").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ParseError({ fifo, "out.txt" }, false), "<inputFile>: '" + fifo + "' is not a regular file (a FIFO)");
  EXPECT_EQ(ParseError({ "/dev/zero", "out.txt" }, false),
            "<inputFile>: '/dev/zero' is not a regular file (a character device)");
  const auto loop = (dir / "loop").string();
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  EXPECT_EQ(ParseError({ loop, "out.txt" }, false), "<inputFile>: '" + loop + "' is a loop of symbolic links");
}

TEST(CommandLine, OutputThatIsAnInputIsRefused)
{
  const auto dir = rescrnet::testing::TemporaryDirectory();
  const auto link = (dir / "link.txt").string();
  ASSERT_EQ(::symlink(InputFile().c_str(), link.c_str()), 0);
  for (const std::string & out : { InputFile(), link })
  {
    const std::string err = ParseError({ InputFile(), out }, false);
    EXPECT_NE(err.find("'" + out + "' is the input"), std::string::npos) << err;
    EXPECT_NE(err.find("never overwrites its input"), std::string::npos) << err;
  }
  EXPECT_EQ(ParseError({ InputFile(), (dir / "new.txt").string() }, false), "");
}
