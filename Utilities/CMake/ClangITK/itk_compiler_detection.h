// SPDX-License-Identifier: Apache-2.0
// Debian's ITK 5.2 was generated for GCC alone: its itk_compiler_detection.h stops any other compiler with "error
// Unsupported compiler". The clang build (the asan-ubsan preset: sanitizers and libFuzzer) includes this file first
// in every translation unit (-include): it reads ITK's file (RESCRNET_ITK_COMPILER_DETECTION, its path) as GCC 12
// would, whose C++ features clang 14 has, and restores the compiler's macros; ITK's own #include of the file is then
// a no-op (include guard).
#pragma push_macro("__clang__")
#pragma push_macro("__GNUC__")
#pragma push_macro("__GNUC_MINOR__")
#pragma push_macro("__GNUC_PATCHLEVEL__")
#undef __clang__
#undef __GNUC__
#undef __GNUC_MINOR__
#undef __GNUC_PATCHLEVEL__
#define __GNUC__ 12
#define __GNUC_MINOR__ 2
#define __GNUC_PATCHLEVEL__ 0
#include RESCRNET_ITK_COMPILER_DETECTION
#pragma pop_macro("__GNUC_PATCHLEVEL__")
#pragma pop_macro("__GNUC_MINOR__")
#pragma pop_macro("__GNUC__")
#pragma pop_macro("__clang__")
