// Run-time ISA dispatch for senti's own kernels (oneDNN dispatches its own). The same source is
// compiled for AVX-512, AVX2 and baseline x86-64 (see SENTI_KERNEL_TARGET_* below) and one version
// is picked per call from the host's features, capped by the SENTI_MAX_ISA environment variable
// (avx512 | avx_vnni | avx2 | scalar) so tests can force the fallback paths (avx_vnni also lets
// the int8 GEMM use 256-bit VNNI, gemm_kernels.h).
#pragma once

namespace senti::cpu {

enum class KernelIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

KernelIsa kernel_isa();  // detected once
const char* kernel_isa_name(KernelIsa isa);

}  // namespace senti::cpu

#define SENTI_KERNEL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#ifndef SENTI_ISA_EMULATION
#define SENTI_KERNEL_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#else  // the AVX-512 intrinsics are SIMDe's (simd_intrinsics.h): the whole build targets AVX2 + FMA
#define SENTI_KERNEL_TARGET_AVX512 SENTI_KERNEL_TARGET_AVX2
#endif
#define SENTI_ALWAYS_INLINE inline __attribute__((always_inline))
