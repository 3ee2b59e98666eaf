// Branch-free float math that GCC vectorizes inside `#pragma omp simd` loops (std::exp and std::erf
// are scalar library calls, which made softmax and GELU the slowest part of short sequences).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "runtime/cpu/kernel_isa.h"

namespace senti::cpu {

// e^x, relative error < 2e-7 on [-87, 88] (Cephes' expf polynomial after range reduction);
// inputs are clamped to that range; NaN gives NaN.
SENTI_ALWAYS_INLINE float fast_exp(float x_in) {
  // The constant first: std::max/min return it for a NaN, so a NaN never reaches the float -> int
  // conversion below (undefined behaviour; found by the checkpoint fuzzer with NaN weights).
  const float x = std::min(88.0f, std::max(-87.0f, x_in));
  // Round to nearest by the 1.5·2^23 trick: plain arithmetic, so the loop stays vectorizable
  // (std::floor/nearbyint are library calls without SSE4.1).
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  const float result = p * std::bit_cast<float>(bits);
  return x_in == x_in ? result : x_in;  // a select, so the loop stays vectorizable
}

// GELU with the exact erf form BERT uses; erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
SENTI_ALWAYS_INLINE float gelu_erf(float x) {
  const float u = x * 0.70710678118654752f;
  const float z = std::fabs(u);
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  const float e = 1.0f - poly * t * fast_exp(-z * z);
  const float erf_u = std::copysign(e, u);
  return 0.5f * x * (1.0f + erf_u);
}

// tanh, |error| < 3e-7 (relative < 2e-6 where |x| >= 2^-3; near 0 the odd Taylor series to x^7).
// The pooler's 768 outputs per text went through glibc's tanhf (and its expm1f), one scalar call each:
// 20 µs of a 3.3 ms int8 request at one thread. NaN gives NaN; ±inf gives ±1.
SENTI_ALWAYS_INLINE float fast_tanh(float x) {
  const float z = std::fabs(x);
  // 1 - 2/(e^{2z}+1): fast_exp clamps at 88, so from z = 44 on this is exactly 1.
  const float large = 1.0f - 2.0f / (fast_exp(2.0f * z) + 1.0f);
  const float z2 = z * z;
  const float small = z + z * z2 * (-0.333333333f + z2 * (0.133333333f + z2 * -0.0539682540f));
  return std::copysign(z < 0.125f ? small : large, x);  // selects: the loop stays vectorizable
}

}  // namespace senti::cpu
