#include "runtime/cpu/activation_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "runtime/cpu/simd_intrinsics.h"

#include "runtime/cpu/compute_pool.h"
#include "runtime/cpu/kernel_isa.h"
#include "runtime/cpu/vector_math.h"

namespace senti::cpu {
namespace {

// Below this many elements the work runs on the calling thread: a fork/join costs more.
constexpr std::size_t kParallelElements = 1 << 16;

SENTI_ALWAYS_INLINE void to_bf16_body(const float* x, std::size_t n, uint16_t* out) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t u = std::bit_cast<uint32_t>(x[i]);
    out[i] = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

SENTI_ALWAYS_INLINE void quantize_body(const float* x, std::size_t rows, std::size_t cols, uint8_t* q,
                                       float* row_scales, int limit) {
  const auto l = static_cast<float>(limit), offset = l + 1.5f;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float amax = 0.f;
#pragma omp simd reduction(max : amax)
    for (std::size_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(row[c]));
    const float scale = amax > 0.f ? amax / l : 1.f;
    const float inv = amax > 0.f ? l / amax : 0.f;
    row_scales[r] = scale;
    uint8_t* out = q + r * cols;
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c) {
      // Constants first: a NaN becomes -limit instead of reaching the float -> int conversion (undefined
      // behaviour; found by fuzz/senti_file_fuzzer).
      const float v = std::min(l, std::max(-l, row[c] * inv)) + offset;  // in [1.5, 2·limit + 1.5]
      out[c] = static_cast<uint8_t>(static_cast<int32_t>(v));                 // floor: round half up
    }
  }
}

SENTI_ALWAYS_INLINE void dequantize_body(const int32_t* acc, float* y, std::size_t rows, std::size_t cols,
                                         const float* scale, const float* compensation, const float* row_scales,
                                         const float* bias, bool gelu) {
  for (std::size_t r = 0; r < rows; ++r) {
    const int32_t* in = acc + r * cols;
    float* row = y + r * cols;
    const float s = row_scales[r];
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c)
      row[c] = std::fma(std::fma(static_cast<float>(in[c]), scale[c], compensation[c]), s, bias[c]);
    if (gelu) {
#pragma omp simd
      for (std::size_t c = 0; c < cols; ++c) row[c] = gelu_erf(row[c]);
    }
  }
}

SENTI_KERNEL_TARGET_AVX512 void to_bf16_avx512(const float* x, std::size_t n, uint16_t* out) { to_bf16_body(x, n, out); }
SENTI_KERNEL_TARGET_AVX2 void to_bf16_avx2(const float* x, std::size_t n, uint16_t* out) { to_bf16_body(x, n, out); }
void to_bf16_scalar(const float* x, std::size_t n, uint16_t* out) { to_bf16_body(x, n, out); }

// GCC 12's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own _mm512_undefined_ps().
#pragma GCC diagnostic push
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Explicit intrinsics here: GCC 12 leaves quantize_body's second loop scalar for AVX-512 (it
// vectorizes only the SSE2 build), and this pass runs before every int8 matmul.
SENTI_KERNEL_TARGET_AVX512 void quantize_avx512(const float* x, std::size_t rows, std::size_t cols, uint8_t* q,
                                                float* s, int limit) {
  const auto l = static_cast<float>(limit);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    __m512 vmax = _mm512_setzero_ps();
    std::size_t c = 0;
    // vmaxps returns its second operand when either is NaN: the running maximum goes second, so a NaN
    // is skipped as std::max skips it in quantize_body (found by tests/isa_emulation: with vmax first, a
    // NaN lane reached the reduction and the row's scale depended on where the NaN was).
    for (; c + 16 <= cols; c += 16) vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + c)), vmax);
    const __mmask16 tail = static_cast<__mmask16>((1u << (cols - c)) - 1u);
    if (c < cols) vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail, row + c)), vmax);
    const float amax = _mm512_reduce_max_ps(vmax);
    s[r] = amax > 0.f ? amax / l : 1.f;
    const __m512 inv = _mm512_set1_ps(amax > 0.f ? l / amax : 0.f);
    const __m512 lo = _mm512_set1_ps(-l), hi = _mm512_set1_ps(l), offset = _mm512_set1_ps(l + 1.5f);
    uint8_t* out = q + r * cols;
    // Truncating a positive value floors it, as quantize_body does.
#define SENTI_QUANTIZE16(v) \
  _mm512_cvttps_epi32(_mm512_add_ps(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, inv), lo), hi), offset))
    for (c = 0; c + 16 <= cols; c += 16)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c), _mm512_cvtusepi32_epi8(SENTI_QUANTIZE16(_mm512_loadu_ps(row + c))));
    if (c < cols) _mm512_mask_cvtusepi32_storeu_epi8(out + c, tail, SENTI_QUANTIZE16(_mm512_maskz_loadu_ps(tail, row + c)));
#undef SENTI_QUANTIZE16
  }
}
#pragma GCC diagnostic pop
// Eight values: max(v, lo) makes a NaN product lo (-limit), as std::max(-limit, NaN) does.
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE __m256i quantize8_avx2(const float* p, __m256 inv, __m256 lo, __m256 hi,
                                                                   __m256 offset) {
  return _mm256_cvttps_epi32(
      _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(p), inv), lo), hi), offset));
}

// Explicit intrinsics for AVX2 too: GCC 12 also left quantize_body's second loop scalar there (one
// vcvttss2si and one byte store per element: 8.5% of the default model's int8 forward at batch 1).
// The same arithmetic as quantize_body in the same order (max|x| ignoring NaN, x * inv, clamp with a
// NaN going to -limit, + limit + 1.5, truncate), so the result is identical to the scalar reference's.
SENTI_KERNEL_TARGET_AVX2 void quantize_avx2(const float* x, std::size_t rows, std::size_t cols, uint8_t* q, float* s,
                                            int limit) {
  const auto l = static_cast<float>(limit);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 lo = _mm256_set1_ps(-l), hi = _mm256_set1_ps(l), offset = _mm256_set1_ps(l + 1.5f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    __m256 vmax = _mm256_setzero_ps();
    std::size_t c = 0;
    // max_ps returns its second operand when either is NaN: a NaN element leaves the maximum as it
    // was, as std::max(amax, NaN) does.
    for (; c + 8 <= cols; c += 8) vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(row + c), abs_mask), vmax);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vmax);
    float amax = 0.f;
    for (float v : lanes) amax = std::max(amax, v);
    for (; c < cols; ++c) amax = std::max(amax, std::fabs(row[c]));
    s[r] = amax > 0.f ? amax / l : 1.f;
    const float inv_scalar = amax > 0.f ? l / amax : 0.f;
    const __m256 inv = _mm256_set1_ps(inv_scalar);
    uint8_t* out = q + r * cols;
    for (c = 0; c + 32 <= cols; c += 32) {
      // Values are in [1, 2·limit + 1]: the signed 32 -> 16 and unsigned 16 -> 8 packs never saturate; they
      // interleave 128-bit lanes, which the permutation puts back in order.
      const __m256i ab = _mm256_packs_epi32(quantize8_avx2(row + c, inv, lo, hi, offset),
                                            quantize8_avx2(row + c + 8, inv, lo, hi, offset));
      const __m256i cd = _mm256_packs_epi32(quantize8_avx2(row + c + 16, inv, lo, hi, offset),
                                            quantize8_avx2(row + c + 24, inv, lo, hi, offset));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c),
                          _mm256_permutevar8x32_epi32(_mm256_packus_epi16(ab, cd), order));
    }
    for (; c < cols; ++c) {
      const float v = std::min(l, std::max(-l, row[c] * inv_scalar)) + (l + 1.5f);
      out[c] = static_cast<uint8_t>(static_cast<int32_t>(v));
    }
  }
}
void quantize_scalar(const float* x, std::size_t rows, std::size_t cols, uint8_t* q, float* s, int limit) {
  quantize_body(x, rows, cols, q, s, limit);
}

#define SENTI_DEQUANTIZE_ARGS                                                                              \
  const int32_t *acc, float *y, std::size_t rows, std::size_t cols, const float *scale, const float *compensation, \
      const float *row_scales, const float *bias, bool gelu
SENTI_KERNEL_TARGET_AVX512 void dequantize_avx512(SENTI_DEQUANTIZE_ARGS) {
  dequantize_body(acc, y, rows, cols, scale, compensation, row_scales, bias, gelu);
}
SENTI_KERNEL_TARGET_AVX2 void dequantize_avx2(SENTI_DEQUANTIZE_ARGS) {
  dequantize_body(acc, y, rows, cols, scale, compensation, row_scales, bias, gelu);
}
void dequantize_scalar(SENTI_DEQUANTIZE_ARGS) {
  dequantize_body(acc, y, rows, cols, scale, compensation, row_scales, bias, gelu);
}
#undef SENTI_DEQUANTIZE_ARGS

// Runs fn(first_row, row_count) over row blocks, in parallel only when the work is big enough.
template <class Fn>
void for_row_blocks(std::size_t rows, std::size_t cols, Fn fn) {
  if (rows * cols < kParallelElements || rows < 2) {
    fn(std::size_t{0}, rows);
    return;
  }
  constexpr std::size_t kBlock = 16;
  const std::size_t blocks = (rows + kBlock - 1) / kBlock;
  parallel_for(compute_threads(), blocks, [&](std::size_t b) { fn(b * kBlock, std::min(kBlock, rows - b * kBlock)); });
}

}  // namespace

void to_bf16(const float* x, std::size_t n, uint16_t* out) {
  switch (kernel_isa()) {
    case KernelIsa::kAvx512: return to_bf16_avx512(x, n, out);
    case KernelIsa::kAvx2: return to_bf16_avx2(x, n, out);
    case KernelIsa::kScalar: return to_bf16_scalar(x, n, out);
  }
}

void quantize_rows_u8(const float* x, std::size_t rows, std::size_t cols, uint8_t* q, float* row_scales,
                      int limit) {
  quantize_rows_u8(kernel_isa(), x, rows, cols, q, row_scales, limit);
}

void quantize_rows_u8(KernelIsa isa, const float* x, std::size_t rows, std::size_t cols, uint8_t* q,
                      float* row_scales, int limit) {
  for_row_blocks(rows, cols, [&](std::size_t first, std::size_t count) {
    const float* src = x + first * cols;
    uint8_t* dst = q + first * cols;
    if (isa == KernelIsa::kAvx512) return quantize_avx512(src, count, cols, dst, row_scales + first, limit);
    if (isa == KernelIsa::kAvx2) return quantize_avx2(src, count, cols, dst, row_scales + first, limit);
    quantize_scalar(src, count, cols, dst, row_scales + first, limit);
  });
}

void dequantize_s32_rows(const int32_t* acc, float* y, std::size_t rows, std::size_t cols, const float* scale,
                         const float* compensation, const float* row_scales, const float* bias, bool gelu) {
  const KernelIsa isa = kernel_isa();
  for_row_blocks(rows, cols, [&](std::size_t first, std::size_t count) {
    const int32_t* in = acc + first * cols;
    float* dst = y + first * cols;
    const float* rs = row_scales + first;
    if (isa == KernelIsa::kAvx512) return dequantize_avx512(in, dst, count, cols, scale, compensation, rs, bias, gelu);
    if (isa == KernelIsa::kAvx2) return dequantize_avx2(in, dst, count, cols, scale, compensation, rs, bias, gelu);
    dequantize_scalar(in, dst, count, cols, scale, compensation, rs, bias, gelu);
  });
}

}  // namespace senti::cpu
