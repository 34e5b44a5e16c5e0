// SPDX-License-Identifier: Apache-2.0
#include "ResCRNetTestSupport.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__)
#  include <immintrin.h>
#  define RESCRNET_TEST_ISA_PROBES 1
#endif

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

namespace
{
#if defined(RESCRNET_TEST_ISA_PROBES)
// 1.5 * 2 + 0.25 in half precision, over 32 lanes.
__attribute__((target("avx512fp16,avx512bw,avx512vl,avx512f"), noinline)) bool
fp16Works()
{
  const __m512h r = _mm512_fmadd_ph(_mm512_set1_ph(static_cast<_Float16>(1.5f)),
                                    _mm512_set1_ph(static_cast<_Float16>(2.0f)),
                                    _mm512_set1_ph(static_cast<_Float16>(0.25f)));
  _Float16      out[32];
  _mm512_storeu_ph(out, r);
  for (const _Float16 v : out)
  {
    if (static_cast<float>(v) != 3.25f)
    {
      return false;
    }
  }
  return true;
}

// Dot products of bfloat16 pairs added to 1: words 0-15 of a are 1.5 and of b 2, words 16-31 of a are 2 and of b
// 0.25, so lanes 0-7 give 1 + 2 (1.5 x 2) = 7 and lanes 8-15 give 1 + 2 (2 x 0.25) = 2.
__attribute__((target("avx512bf16,avx512bw,avx512vl,avx512f"), noinline)) bool
bf16Works()
{
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(2.0f), _mm512_set1_ps(1.5f));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.25f), _mm512_set1_ps(2.0f));
  const __m512   r = _mm512_dpbf16_ps(_mm512_set1_ps(1.0f), a, b);
  float          out[16];
  _mm512_storeu_ps(out, r);
  float expected[16];
  for (int lane = 0; lane < 16; ++lane)
  {
    float s = 1.0f;
    for (int w = 2 * lane; w < 2 * lane + 2; ++w)
    {
      s += (w < 16 ? 1.5f : 2.0f) * (w < 16 ? 2.0f : 0.25f);
    }
    expected[lane] = s;
  }
  return std::memcmp(out, expected, sizeof(out)) == 0;
}

bool
worksInChild(bool (*probe)())
{
  const pid_t pid = ::fork();
  if (pid < 0)
  {
    return false;
  }
  if (pid == 0)
  {
    ::_exit(probe() ? 0 : 1);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
  {
    return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif
} // namespace

std::string
AssumeReducedPrecisionWhereItExecutes()
{
  std::string isas;
#if defined(RESCRNET_TEST_ISA_PROBES)
  if (std::getenv("RESCRNET_ASSUME_ISA") != nullptr || !__builtin_cpu_supports("avx512f"))
  {
    return isas;
  }
  if (worksInChild(&fp16Works))
  {
    isas = "avx512fp16";
  }
  if (worksInChild(&bf16Works))
  {
    isas += std::string(isas.empty() ? "" : ",") + "avx512bf16";
  }
  if (!isas.empty())
  {
    ::setenv("RESCRNET_ASSUME_ISA", isas.c_str(), 0);
  }
#endif
  return isas;
}

} // namespace rescrnet::testing
