// The x86 intrinsics of senti's CPU kernels: <immintrin.h>.
//
// Built with SENTI_ISA_EMULATION (tests/isa_emulation only, never the senti binary), the AVX-512,
// AVX512-VNNI, AVX512-BF16 and AVX-VNNI intrinsics the kernels use come from SIMDe (Debian's
// libsimde-dev: portable implementations, here on AVX2) instead, so that the 512-bit and VNNI kernels'
// own logic (tiles, masks, panel layout, epilogues, batch == single) runs and is tested against the
// scalar reference on a host without those extensions. What it cannot show: the hardware's own rounding
// of vdpbf16ps and anything about speed. The few intrinsics SIMDe 0.7.4 lacks are written out below as
// plain loops over the lanes, from Intel's definitions.
#pragma once

#include <immintrin.h>

#ifdef SENTI_ISA_EMULATION

#include <cstdint>
#include <cstring>
#include <limits>

#include <simde/x86/avx512.h>

namespace senti::cpu::emulated {

struct F32x16 {
  float v[16];
};
struct I32x16 {
  int32_t v[16];
};

inline F32x16 lanes(simde__m512 x) {
  F32x16 r;
  std::memcpy(&r, &x, sizeof r);
  return r;
}
inline I32x16 lanes(simde__m512i x) {
  I32x16 r;
  std::memcpy(&r, &x, sizeof r);
  return r;
}
inline simde__m512 vector(const F32x16& r) {
  simde__m512 x;
  std::memcpy(&x, &r, sizeof x);
  return x;
}
inline simde__m512i vector(const I32x16& r) {
  simde__m512i x;
  std::memcpy(&x, &r, sizeof x);
  return x;
}
inline bool selected(simde__mmask16 k, int lane) { return ((k >> lane) & 1u) != 0; }

// Masked loads read only the selected lanes (the kernels rely on that at the end of a buffer).
inline simde__m512 maskz_loadu_ps(simde__mmask16 k, const void* p) {
  F32x16 r{};
  for (int i = 0; i < 16; ++i)
    if (selected(k, i)) std::memcpy(&r.v[i], static_cast<const char*>(p) + 4 * i, 4);
  return vector(r);
}
inline simde__m512i maskz_loadu_epi32(simde__mmask16 k, const void* p) {
  I32x16 r{};
  for (int i = 0; i < 16; ++i)
    if (selected(k, i)) std::memcpy(&r.v[i], static_cast<const char*>(p) + 4 * i, 4);
  return vector(r);
}
inline void mask_storeu_ps(void* p, simde__mmask16 k, simde__m512 x) {
  const F32x16 r = lanes(x);
  for (int i = 0; i < 16; ++i)
    if (selected(k, i)) std::memcpy(static_cast<char*>(p) + 4 * i, &r.v[i], 4);
}
inline void mask_storeu_epi32(void* p, simde__mmask16 k, simde__m512i x) {
  const I32x16 r = lanes(x);
  for (int i = 0; i < 16; ++i)
    if (selected(k, i)) std::memcpy(static_cast<char*>(p) + 4 * i, &r.v[i], 4);
}
// maxps: the first operand if it is greater, else the second (a NaN in either gives the second).
inline float max_ps_lane(float a, float b) { return a > b ? a : b; }
// _mm512_reduce_max_ps is not one instruction but GCC's sequence of maxps (avx512fintrin.h): the upper
// half against the lower, then 128-bit halves, then lanes {2,3,0,1} and {1,0,3,2}. The same order here,
// so that NaNs come out as they do on the hardware.
inline float reduce_max_ps(simde__m512 x) {
  const F32x16 r = lanes(x);
  float t3[8], t6[4], t8[4];
  for (int i = 0; i < 8; ++i) t3[i] = max_ps_lane(r.v[8 + i], r.v[i]);
  for (int i = 0; i < 4; ++i) t6[i] = max_ps_lane(t3[4 + i], t3[i]);
  for (int i = 0; i < 4; ++i) t8[i] = max_ps_lane(t6[i], t6[i ^ 2]);
  return max_ps_lane(t8[0], t8[1]);
}
// vcvttps2dq: truncation; NaN and out-of-range give 0x80000000 (the "integer indefinite").
inline simde__m512i cvttps_epi32(simde__m512 x) {
  const F32x16 f = lanes(x);
  I32x16 r;
  for (int i = 0; i < 16; ++i) {
    const float v = f.v[i];
    const bool in_range = v > -2147483904.0f && v < 2147483648.0f;  // NaN fails both
    r.v[i] = in_range ? static_cast<int32_t>(v) : std::numeric_limits<int32_t>::min();
  }
  return vector(r);
}
inline simde__m512 cvtepi32_ps(simde__m512i x) {
  const I32x16 a = lanes(x);
  F32x16 r;
  for (int i = 0; i < 16; ++i) r.v[i] = static_cast<float>(a.v[i]);  // round to nearest, as MXCSR's default
  return vector(r);
}
// vpmovusdb: each unsigned 32-bit lane saturated to 255.
inline uint8_t saturate_u8(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  return u > 255u ? uint8_t{255} : static_cast<uint8_t>(u);
}
inline simde__m128i cvtusepi32_epi8(simde__m512i x) {
  const I32x16 a = lanes(x);
  uint8_t r[16];
  for (int i = 0; i < 16; ++i) r[i] = saturate_u8(a.v[i]);
  simde__m128i out;
  std::memcpy(&out, r, sizeof out);
  return out;
}
inline void mask_cvtusepi32_storeu_epi8(void* p, simde__mmask16 k, simde__m512i x) {
  const I32x16 a = lanes(x);
  for (int i = 0; i < 16; ++i)
    if (selected(k, i)) static_cast<uint8_t*>(p)[i] = saturate_u8(a.v[i]);
}

}  // namespace senti::cpu::emulated

// The kernels' names for the 512-bit types and intrinsics, redirected. Defined after <immintrin.h>,
// so GCC's own declarations keep their names and only the kernels' uses are renamed.
#define __m512 simde__m512
#define __m512i simde__m512i
#define __m512bh simde__m512bh
#define __mmask16 simde__mmask16
#define _mm512_abs_ps simde_mm512_abs_ps
#define _mm512_add_ps simde_mm512_add_ps
#define _mm512_add_epi32 simde_mm512_add_epi32
#define _mm512_castsi512_ps simde_mm512_castsi512_ps
// Clang's headers define the immediate-operand intrinsics as macros of their own: replaced, not redefined.
#undef _mm512_cmp_ps_mask
#define _mm512_cmp_ps_mask simde_mm512_cmp_ps_mask
#define _mm512_mask_blend_ps simde_mm512_mask_blend_ps
#define _mm512_mask_mov_ps simde_mm512_mask_mov_ps
#undef _mm512_slli_epi32
#define _mm512_slli_epi32 simde_mm512_slli_epi32
#define _mm512_sub_ps simde_mm512_sub_ps
#define _mm512_dpbf16_ps simde_mm512_dpbf16_ps
#define _mm512_dpbusd_epi32 simde_mm512_dpbusd_epi32
#define _mm512_fmadd_ps simde_mm512_fmadd_ps
#define _mm512_loadu_ps simde_mm512_loadu_ps
#define _mm512_loadu_si512 simde_mm512_loadu_si512
#define _mm512_max_ps simde_mm512_max_ps
#define _mm512_min_ps simde_mm512_min_ps
#define _mm512_mul_ps simde_mm512_mul_ps
#define _mm512_set1_epi32 simde_mm512_set1_epi32
#define _mm512_set1_ps simde_mm512_set1_ps
#define _mm512_setzero_ps simde_mm512_setzero_ps
#define _mm512_setzero_si512 simde_mm512_setzero_si512
#define _mm512_storeu_ps simde_mm512_storeu_ps
#define _mm512_cvtepi32_ps senti::cpu::emulated::cvtepi32_ps
#define _mm512_cvttps_epi32 senti::cpu::emulated::cvttps_epi32
#define _mm512_cvtusepi32_epi8 senti::cpu::emulated::cvtusepi32_epi8
#define _mm512_mask_cvtusepi32_storeu_epi8 senti::cpu::emulated::mask_cvtusepi32_storeu_epi8
#define _mm512_mask_storeu_epi32 senti::cpu::emulated::mask_storeu_epi32
#define _mm512_mask_storeu_ps senti::cpu::emulated::mask_storeu_ps
#define _mm512_maskz_loadu_epi32 senti::cpu::emulated::maskz_loadu_epi32
#define _mm512_maskz_loadu_ps senti::cpu::emulated::maskz_loadu_ps
#define _mm512_reduce_max_ps senti::cpu::emulated::reduce_max_ps
// AVX-VNNI's 256-bit vpdpbusd: the same operation as AVX512-VNNI's (VL) form.
#define _mm256_dpbusd_avx_epi32 simde_mm256_dpbusd_epi32

#endif  // SENTI_ISA_EMULATION
