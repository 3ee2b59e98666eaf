#include <cpuid.h>

#include <cstdint>

#include "senti/host_info.h"

namespace senti {
namespace {

uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool bit(uint32_t value, int n) { return (value >> n) & 1u; }

}  // namespace

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = bit(ecx, 27);
  f.fma = bit(ecx, 12);
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  f.os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
  f.os_amx = (xcr0 & 0x60000) == 0x60000;

  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.avx2 = os_avx && bit(ebx, 5);
  f.avx512f = f.os_avx512 && bit(ebx, 16);
  f.avx512bw = f.os_avx512 && bit(ebx, 30);
  f.avx512vl = f.os_avx512 && bit(ebx, 31);
  f.avx512_vnni = f.os_avx512 && bit(ecx, 11);
  f.amx_bf16 = bit(edx, 22);
  f.amx_tile = bit(edx, 24);
  f.amx_int8 = bit(edx, 25);
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  f.avx512_bf16 = f.os_avx512 && bit(eax, 5);
  f.avx_vnni = os_avx && bit(eax, 4);
#ifdef SENTI_ISA_EMULATION
  // tests/isa_emulation: the kernels' AVX-512, VNNI and BF16 intrinsics are SIMDe's (simd_intrinsics.h),
  // which need AVX2 + FMA underneath; AMX stays absent (no emulation).
  if (f.avx2 && f.fma) {
    f.os_avx512 = f.avx512f = f.avx512bw = f.avx512vl = true;
    f.avx512_vnni = f.avx512_bf16 = f.avx_vnni = true;
  }
#endif
  return f;
}

}  // namespace senti
