#include "runtime/cpu/kernel_isa.h"

#include <cstdlib>
#include <string>

#include "senti/host_info.h"

namespace senti::cpu {
namespace {

KernelIsa detect() {
  const CpuFeatures f = detect_cpu_features();
  KernelIsa isa = KernelIsa::kScalar;
  if (f.avx2 && f.fma) isa = KernelIsa::kAvx2;
  if (f.avx512f && f.avx512bw && f.avx512vl && f.fma) isa = KernelIsa::kAvx512;
  if (const char* cap = std::getenv("SENTI_MAX_ISA"); cap != nullptr) {
    const std::string value(cap);
    KernelIsa limit = isa;
    if (value == "avx2" || value == "avx_vnni") limit = KernelIsa::kAvx2;  // avx_vnni: see gemm_kernels.h
    if (value == "scalar" || value == "sse" || value == "none") limit = KernelIsa::kScalar;
    if (static_cast<int>(limit) < static_cast<int>(isa)) isa = limit;
  }
  return isa;
}

}  // namespace

KernelIsa kernel_isa() {
  static const KernelIsa isa = detect();
  return isa;
}

const char* kernel_isa_name(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAvx512: return "avx512";
    case KernelIsa::kAvx2: return "avx2";
    case KernelIsa::kScalar: return "scalar";
  }
  return "?";
}

}  // namespace senti::cpu
