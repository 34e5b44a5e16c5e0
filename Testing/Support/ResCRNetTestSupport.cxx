// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetTestSupport.h"

#include <cstdlib>
#include <system_error>
#include <unistd.h>

namespace rescrnet::testing
{

std::filesystem::path
SourceDirectory()
{
  if (const char * env = std::getenv("RESCRNET_SOURCE_DIR"))
  {
    return env;
  }
  return RESCRNET_SOURCE_DIR;
}

std::filesystem::path
BinaryDirectory()
{
  if (const char * env = std::getenv("RESCRNET_BINARY_DIR"))
  {
    return env;
  }
  return RESCRNET_BINARY_DIR;
}

std::optional<std::filesystem::path>
SharedDirectory()
{
  std::error_code ec;
  if (const char * env = std::getenv("ITKRESCRNET_SHARED"))
  {
    if (std::filesystem::is_directory(env, ec))
    {
      return std::filesystem::path(env);
    }
    return std::nullopt;
  }
  const auto beside = SourceDirectory().parent_path() / "shared";
  if (std::filesystem::is_directory(beside, ec))
  {
    return beside;
  }
  return std::nullopt;
}

std::optional<std::filesystem::path>
SharedPath(const std::string & relative)
{
  const auto dir = SharedDirectory();
  if (!dir)
  {
    return std::nullopt;
  }
  std::error_code ec;
  const auto      p = *dir / relative;
  if (!std::filesystem::exists(p, ec))
  {
    return std::nullopt;
  }
  return p;
}

std::string
SharedSkipReason(const std::string & relative)
{
  if (!SharedDirectory())
  {
    if (const char * env = std::getenv("ITKRESCRNET_SHARED"))
    {
      return std::string("shared data not found: $ITKRESCRNET_SHARED=") + env + " is not a directory";
    }
    return "shared data not found: neither $ITKRESCRNET_SHARED nor " +
           (SourceDirectory().parent_path() / "shared").string() + " exists";
  }
  return "shared data incomplete: " + (*SharedDirectory() / relative).string() + " does not exist";
}

std::filesystem::path
TemporaryDirectory()
{
  const auto * info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string  name = info ? std::string(info->test_suite_name()) + "." + info->name() : "test";
  const auto   dir =
    std::filesystem::temp_directory_path() / ("rescrnet-test-" + std::to_string(::getpid()) + "-" + name);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  return dir;
}

} // namespace rescrnet::testing
