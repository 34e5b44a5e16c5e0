// SPDX-License-Identifier: Apache-2.0
// Test helpers: locating the shared data (../shared beside the checkout, or $ITKRESCRNET_SHARED) and reporting
// SKIPPED, with the reason, when it is absent.
#ifndef ResCRNetTestSupport_h
#define ResCRNetTestSupport_h

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

namespace rescrnet::testing
{

// The shared directory, or nothing when neither $ITKRESCRNET_SHARED nor ../shared (beside the source tree) exists.
std::optional<std::filesystem::path>
SharedDirectory();

// A file or folder inside the shared directory, or nothing when it (or the shared directory) is absent.
std::optional<std::filesystem::path>
SharedPath(const std::string & relative);

// Why SharedPath(relative) found nothing, for GTEST_SKIP().
std::string
SharedSkipReason(const std::string & relative);

// The project's source and build trees (for Data/ and built executables).
std::filesystem::path
SourceDirectory();
std::filesystem::path
BinaryDirectory();

// A fresh, empty temporary directory unique to the running test.
std::filesystem::path
TemporaryDirectory();

// Tests of the reduced-precision kernels on machines whose hypervisor hides CPU features the host has: runs a few
// AVX512-FP16 and AVX512-BF16 instructions in a child process and, for those that execute and compute correctly,
// declares them through the developer override RESCRNET_ASSUME_ISA (see rescrnet/Precision.h) unless it is set
// already. Call before anything detects the CPU (a static initializer of the test file). Returns the override set,
// empty when none. On CPUs without the instructions the child dies of SIGILL and nothing is declared.
std::string
AssumeReducedPrecisionWhereItExecutes();

} // namespace rescrnet::testing

// Declares `var` as the path of `relative` inside the shared data, or skips the test with the reason.
#define RESCRNET_SHARED_OR_SKIP(var, relative)                                                                         \
  const auto var##_found = ::rescrnet::testing::SharedPath(relative);                                                  \
  if (!var##_found)                                                                                                    \
  {                                                                                                                    \
    GTEST_SKIP() << ::rescrnet::testing::SharedSkipReason(relative);                                                   \
  }                                                                                                                    \
  const std::filesystem::path var = *var##_found

#endif
