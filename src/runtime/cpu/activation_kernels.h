// Conversions around the low-precision matmuls. Hand-written because each is one pass over the
// activations that must fuse several steps (oneDNN would need a reorder per step, and it has no
// per-row dynamic quantisation).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/cpu/kernel_isa.h"

namespace senti::cpu {

// fp32 -> bf16, round to nearest even.
void to_bf16(const float* x, std::size_t n, uint16_t* out);

// Symmetric per-row (per-token) quantisation to `limit` levels each side, stored as u8 with the zero
// point limit + 1 (VNNI and vpmaddubsw multiply u8 by s8): q = round(x / scale) + limit + 1, scale =
// max|x_row| / limit. limit 127 (8 bits: [1, 255]), or on the AVX2 GEMM 63 ([1, 127]) or 42 ([1, 85]):
// gemm_activation_limit, gemm_fast_activation_limit.
void quantize_rows_u8(const float* x, std::size_t rows, std::size_t cols, uint8_t* q, float* row_scales,
                      int limit = 127);
// The same on the given ISA's kernel (the host must run it): tests compare each with kScalar.
void quantize_rows_u8(KernelIsa isa, const float* x, std::size_t rows, std::size_t cols, uint8_t* q,
                      float* row_scales, int limit = 127);

// y[r, c] = act(fma(fma(float(acc[r, c]), scale[c], compensation[c]), row_scales[r], bias[c])), act =
// GELU (erf) when gelu is set: two fused multiply-adds, the arithmetic of senti's int8 GEMM epilogue
// (gemm_kernels.cc), so that oneDNN's s32 sums and senti's give identical outputs.
void dequantize_s32_rows(const int32_t* acc, float* y, std::size_t rows, std::size_t cols, const float* scale,
                         const float* compensation, const float* row_scales, const float* bias, bool gelu);

}  // namespace senti::cpu
