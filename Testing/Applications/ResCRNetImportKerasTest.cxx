// SPDX-License-Identifier: Apache-2.0
// ResCRNetImportKeras on bad input: a non-zero exit code, one line on stderr naming the tool, no output file left.
#include "RunProgram.h"

using namespace rescrnet::testing;

namespace
{

const std::string Name = "ResCRNetImportKeras";

void
ExpectCleanFailure(const std::vector<std::string> & args,
                   const std::filesystem::path &    output,
                   const std::string &              expected)
{
  const auto r = RunProgram(ModulePath(Name), args);
  EXPECT_NE(r.exitCode, 0) << r.out;
  EXPECT_EQ(LineCount(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind(Name + ": ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(output)) << output;
  // Nothing half-written beside it either (SaveModel writes a temporary file, then renames).
  if (std::filesystem::is_directory(output.parent_path()))
  {
    for (const auto & entry : std::filesystem::directory_iterator(output.parent_path()))
      EXPECT_EQ(entry.path().filename().string().find(output.filename().string()), std::string::npos) << entry.path();
  }
}

} // namespace

TEST(ResCRNetImportKeras, MissingInput)
{
  const auto dir = TemporaryDirectory();
  ExpectCleanFailure(
    { (dir / "absent_weights.h5").string(), (dir / "model.rcn").string() }, dir / "model.rcn", "does not exist");
}

TEST(ResCRNetImportKeras, NotAnHDF5File)
{
  const auto dir = TemporaryDirectory();
  const auto fake = dir / "fake_weights.h5";
  std::ofstream(fake) << "this is not HDF5\n";
  ExpectCleanFailure({ fake.string(), (dir / "model.rcn").string() }, dir / "model.rcn", "not an HDF5 file");
}

TEST(ResCRNetImportKeras, MissingArguments)
{
  const auto dir = TemporaryDirectory();
  const auto fake = dir / "fake_weights.h5";
  std::ofstream(fake) << "x";
  ExpectCleanFailure({ fake.string() }, dir / "model.rcn", "missing argument <outputModel>");
  ExpectCleanFailure({ "--config", (dir / "absent.json").string(), fake.string(), (dir / "model.rcn").string() },
                     dir / "model.rcn",
                     "--config: '");
}

TEST(ResCRNetImportKeras, UnwritableOutputDirectory)
{
  // Needs a valid Keras file so that the failure is the write, not the read.
  RESCRNET_SHARED_OR_SKIP(weights, "models/cxr-net/model_16F_5R1_0R2_2020-10-02_13_50_weights.h5");
  const auto dir = TemporaryDirectory();
  ExpectCleanFailure({ weights.string(), (dir / "no-such-dir" / "model.rcn").string() },
                     dir / "no-such-dir" / "model.rcn",
                     "cannot write");
  if (::geteuid() != 0) // root writes anywhere
  {
    const auto locked = dir / "locked";
    std::filesystem::create_directory(locked);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    ExpectCleanFailure({ weights.string(), (locked / "model.rcn").string() }, locked / "model.rcn", "cannot write");
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
  }
}
