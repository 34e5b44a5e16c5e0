// SPDX-License-Identifier: Apache-2.0
// Arithmetic precision of inference, and the CPU features that decide which precisions can run.
//
// fp32: single precision everywhere (the reference). fp16: feature maps, depthwise and pointwise products in IEEE half
// precision (AVX512-FP16), the head and softmax in fp32. bf16: feature maps and depthwise convolutions in fp32, the
// pointwise (1x1) products on bfloat16 inputs with fp32 accumulation (AVX512-BF16 dot products, or AMX tiles where
// the CPU and the operating system allow them). auto: the fastest reduced precision this CPU runs whose self-check
// against fp32 passes for the model (see FusedInference::SelfCheck), else fp32.
//
// Detection follows CPUID, the operating system's saved register state (XCR0) and, for AMX, Linux's permission
// request (arch_prctl ARCH_REQ_XCOMP_PERM). For measurements on virtual machines whose hypervisor hides features the
// host has, the environment variable RESCRNET_ASSUME_ISA (comma-separated: avx512fp16, avx512bf16) declares them
// present for explicit fp16/bf16 requests. It is a developer override: a CPU without the instructions then dies of
// SIGILL. auto never uses a declared feature, and nothing enables AMX but CPUID, the OS and its permission.
#ifndef rescrnet_Precision_h
#define rescrnet_Precision_h

#include <string>

namespace rescrnet
{

enum class Precision
{
  Float32,
  BFloat16,
  Float16,
  Auto
};

// "fp32", "bf16", "fp16", "auto".
const char *
ToString(Precision p);
// Parses the names above; throws std::invalid_argument naming the accepted values.
Precision
ParsePrecision(const std::string & name);

struct CpuFeatures
{
  bool avx512 = false;     // AVX-512 F/BW/VL/DQ with the ZMM state enabled by the OS (XCR0)
  bool avx512fp16 = false; // CPUID (or assumed, see below)
  bool avx512bf16 = false; // CPUID (or assumed)
  bool amx = false;        // AMX-TILE and AMX-BF16 in CPUID, tile state in XCR0 and granted by arch_prctl
  // Features taken from RESCRNET_ASSUME_ISA rather than CPUID.
  bool assumedFp16 = false;
  bool assumedBf16 = false;

  // e.g. "avx512 avx512fp16(assumed) avx512bf16(assumed)".
  std::string
  describe() const;
};

// Detected once per process (thread-safe); the AMX permission request happens at most once.
const CpuFeatures &
DetectedCpuFeatures();

// Whether this CPU (as detected, declared features included) runs the kernels of a precision; fp32 and auto always.
bool
PrecisionAvailable(Precision p);
// The same from CPUID alone (declared features excluded): what auto may choose.
bool
PrecisionReported(Precision p);

} // namespace rescrnet

#endif
