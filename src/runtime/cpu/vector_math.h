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

// erf(u) as u·P(u²)/Q(u²) on |u| <= 3.9 (beyond, erf differs from erf(3.9) by < 4e-8): a rational fit,
// P of degree 6 and Q of degree 4 in u², made by tools/fit_erf_rational.py (weighted least squares
// iterated towards equal ripple). Evaluated in float: |error| < 4e-7, relative error < 5e-7 near 0
// (tests/runtime/vector_math_test.cc). It replaced Abramowitz & Stegun 7.1.26, which needs an exp besides
// the division: GELU was 3% of rbt3's int8 forward at batch 1 (the epilogue of the FFN's first matmul);
// this form takes 0.64 against 1.1 ns an element on one AVX2 core (Zen 3). NaN gives NaN.
SENTI_ALWAYS_INLINE float erf_rational(float u) {
  // std::min returns its first argument for a NaN, so a NaN goes through to the result.
  const float z = std::min(std::fabs(u), 3.9f);
  const float s = z * z;
  float p = 2.01120454e-08f;
  p = p * s - 1.99755209e-06f;
  p = p * s + 1.47667815e-04f;
  p = p * s + 3.90452379e-03f;
  p = p * s + 5.11759296e-02f;
  p = p * s + 2.04414606e-01f;
  p = p * s + 1.12837887f;
  float q = 1.00857287e-03f;
  q = q * s + 1.47476196e-02f;
  q = q * s + 1.16865434e-01f;
  q = q * s + 5.14486790e-01f;
  q = q * s + 1.0f;
  return std::copysign(std::min(z * p / q, 1.0f), u);
}

// GELU with the exact erf form BERT uses: x/2 · (1 + erf(x/√2)).
SENTI_ALWAYS_INLINE float gelu_erf(float x) {
  const float half = 0.5f * x;
  return half + half * erf_rational(x * 0.70710678118654752f);
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
