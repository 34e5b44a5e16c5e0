// SPDX-License-Identifier: Apache-2.0
#include "rescrnet/Precision.h"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  include <cpuid.h>
#  define RESCRNET_CPUID 1
#  if defined(__linux__) && defined(__x86_64__)
#    include <sys/syscall.h>
#    include <unistd.h>
#    define RESCRNET_ARCH_PRCTL 1
#  endif
#endif

namespace rescrnet
{

const char *
ToString(Precision p)
{
  switch (p)
  {
    case Precision::Float32:
      return "fp32";
    case Precision::BFloat16:
      return "bf16";
    case Precision::Float16:
      return "fp16";
    case Precision::Auto:
      return "auto";
  }
  return "?";
}

Precision
ParsePrecision(const std::string & name)
{
  for (Precision p : { Precision::Float32, Precision::BFloat16, Precision::Float16, Precision::Auto })
  {
    if (name == ToString(p))
    {
      return p;
    }
  }
  throw std::invalid_argument("unknown precision '" + name + "' (expected fp32, bf16, fp16 or auto)");
}

std::string
CpuFeatures::describe() const
{
  std::ostringstream s;
  s << (avx512 ? "avx512" : "no-avx512");
  if (avx512fp16)
  {
    s << " avx512fp16" << (assumedFp16 ? "(assumed: RESCRNET_ASSUME_ISA)" : "");
  }
  if (avx512bf16)
  {
    s << " avx512bf16" << (assumedBf16 ? "(assumed: RESCRNET_ASSUME_ISA)" : "");
  }
  if (amx)
  {
    s << " amx-bf16";
  }
  return s.str();
}

namespace
{
#if defined(RESCRNET_CPUID)
uint64_t
readXcr0()
{
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// Linux keeps AMX tile data off until a process asks for it (kernel 5.16+).
bool
requestAmxPermission()
{
#  if defined(RESCRNET_ARCH_PRCTL)
  constexpr int kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0)
  {
    return false;
  }
  unsigned long mask = 0;
  return syscall(SYS_arch_prctl, kArchGetXcompPerm, &mask) == 0 && (mask & (1ul << kXfeatureXtiledata)) != 0;
#  else
  return false;
#  endif
}
#endif

CpuFeatures
detect()
{
  CpuFeatures f;
#if defined(RESCRNET_CPUID)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || (c & (1u << 27)) == 0) // OSXSAVE
  {
    return f;
  }
  const uint64_t xcr0 = readXcr0();
  const bool     zmmState = (xcr0 & 0xE6) == 0xE6; // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  const bool     tileState = (xcr0 & 0x60000) == 0x60000;
  if (__get_cpuid_max(0, nullptr) < 7)
  {
    return f;
  }
  __cpuid_count(7, 0, a, b, c, d);
  const bool     avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
  const bool     fp16 = (d & (1u << 23)) != 0;
  const bool     amxBf16 = (d & (1u << 22)) != 0, amxTile = (d & (1u << 24)) != 0;
  const unsigned maxSub = a;
  bool           bf16 = false;
  if (maxSub >= 1)
  {
    __cpuid_count(7, 1, a, b, c, d);
    bf16 = (a & (1u << 5)) != 0;
  }
  f.avx512 = avx512 && zmmState;
  f.avx512fp16 = f.avx512 && fp16;
  f.avx512bf16 = f.avx512 && bf16;
  f.amx = f.avx512 && amxTile && amxBf16 && tileState && requestAmxPermission();

  // Developer override for virtual machines that hide features (never AMX, which needs the OS's tile state).
  if (const char * assume = std::getenv("RESCRNET_ASSUME_ISA"); assume != nullptr && f.avx512)
  {
    std::stringstream list(assume);
    std::string       item;
    while (std::getline(list, item, ','))
    {
      if (item == "avx512fp16" && !f.avx512fp16)
      {
        f.avx512fp16 = f.assumedFp16 = true;
      }
      else if (item == "avx512bf16" && !f.avx512bf16)
      {
        f.avx512bf16 = f.assumedBf16 = true;
      }
    }
  }
#endif
  return f;
}
} // namespace

const CpuFeatures &
DetectedCpuFeatures()
{
  static const CpuFeatures features = detect();
  return features;
}

bool
PrecisionAvailable(Precision p)
{
  const CpuFeatures & f = DetectedCpuFeatures();
  switch (p)
  {
    case Precision::Float16:
      return f.avx512fp16;
    case Precision::BFloat16:
      return f.avx512bf16; // AMX CPUs have AVX512-BF16, which packs the tiles' inputs
    default:
      return true;
  }
}

bool
PrecisionReported(Precision p)
{
  const CpuFeatures & f = DetectedCpuFeatures();
  switch (p)
  {
    case Precision::Float16:
      return f.avx512fp16 && !f.assumedFp16;
    case Precision::BFloat16:
      return f.avx512bf16 && !f.assumedBf16;
    default:
      return true;
  }
}

} // namespace rescrnet
