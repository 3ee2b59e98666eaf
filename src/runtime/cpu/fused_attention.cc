#include "runtime/cpu/fused_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "runtime/cpu/simd_intrinsics.h"

#include "runtime/cpu/compute_pool.h"
#include "runtime/cpu/kernel_isa.h"
#include "runtime/cpu/vector_math.h"

namespace senti::cpu {
namespace {

// Below this many multiply-adds the whole attention runs on the calling thread.
constexpr std::size_t kParallelWork = 1 << 18;

// One (sequence, head). Kᵀ is copied once into `kt` ([head_dim, L]) so that each query's scores
// are vector FMAs across keys (a per-key dot product would end in a horizontal sum per key); then
// softmax in place and context = P·V vectorized across head_dim.
SENTI_ALWAYS_INLINE void attend_body(const float* qkv, std::size_t begin, std::size_t length, std::size_t queries,
                                     std::size_t head, std::size_t head_dim, std::size_t hidden, float scale,
                                     float* scratch, float* context) {
  const std::size_t row = 3 * hidden;
  const float* q0 = qkv + head * head_dim;
  const float* k0 = qkv + hidden + head * head_dim;
  const float* v0 = qkv + 2 * hidden + head * head_dim;
  float* kt = scratch;
  float* scores = scratch + head_dim * length;
  for (std::size_t j = 0; j < length; ++j) {
    const float* k = k0 + (begin + j) * row;
    for (std::size_t d = 0; d < head_dim; ++d) kt[d * length + j] = k[d] * scale;
  }
  for (std::size_t i = begin; i < begin + queries; ++i) {
    const float* q = q0 + i * row;
#pragma omp simd
    for (std::size_t j = 0; j < length; ++j) scores[j] = 0.f;
    for (std::size_t d = 0; d < head_dim; ++d) {
      const float qd = q[d];
      const float* ktd = kt + d * length;
#pragma omp simd
      for (std::size_t j = 0; j < length; ++j) scores[j] += qd * ktd[j];
    }
    float max_score = -INFINITY;
#pragma omp simd reduction(max : max_score)
    for (std::size_t j = 0; j < length; ++j) max_score = std::max(max_score, scores[j]);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (std::size_t j = 0; j < length; ++j) {
      scores[j] = fast_exp(scores[j] - max_score);
      sum += scores[j];
    }
    const float inv = 1.f / sum;
    float* out = context + i * hidden + head * head_dim;
#pragma omp simd
    for (std::size_t d = 0; d < head_dim; ++d) out[d] = 0.f;
    for (std::size_t j = 0; j < length; ++j) {
      const float p = scores[j] * inv;
      const float* v = v0 + (begin + j) * row;
#pragma omp simd
      for (std::size_t d = 0; d < head_dim; ++d) out[d] += p * v[d];
    }
  }
}

// Kᵀ of one head (head_dim 64), scaled: kt[d * padded + j] = k_j[d] · scale, zero for j >= length
// (padded: a multiple of 8). By 8 x 8 register transposes (AVX2; both kernels call it): a
// scalar copy stored one float per 2-KB-strided line, 18% of the blocked AVX2 kernel's time at 485
// tokens. Rows past `length` read a zero row.
SENTI_KERNEL_TARGET_AVX2 void transpose_scaled_keys_avx2(const float* k0, std::size_t row, std::size_t length,
                                                         std::size_t padded, float scale, float* kt) {
  alignas(32) static constexpr float kZeros[64] = {};  // a zero row: rows[x] + d for every d
  const __m256 vscale = _mm256_set1_ps(scale);
  for (std::size_t j = 0; j < padded; j += 8) {
    const float* rows[8];
    for (std::size_t x = 0; x < 8; ++x) rows[x] = j + x < length ? k0 + (j + x) * row : kZeros;
    for (std::size_t d = 0; d < 64; d += 8) {
      __m256 r[8];
      for (std::size_t x = 0; x < 8; ++x) r[x] = _mm256_mul_ps(_mm256_loadu_ps(rows[x] + d), vscale);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float* out = kt + d * padded + j;
      _mm256_storeu_ps(out, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(out + padded, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(out + 2 * padded, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(out + 3 * padded, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(out + 4 * padded, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(out + 5 * padded, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(out + 6 * padded, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(out + 7 * padded, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
  }
}

// e^x on 8 lanes: fast_exp's clamp, range reduction and polynomial (vector_math.h) with FMAs; a NaN
// lane gives NaN.
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE __m256 fast_exp256(__m256 x_in) {
  const __m256 x = _mm256_min_ps(_mm256_max_ps(x_in, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 shifter = _mm256_set1_ps(12582912.f);
  const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), shifter), shifter);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  return _mm256_blendv_ps(result, x_in, _mm256_cmp_ps(x_in, x_in, _CMP_UNORD_Q));
}

// The lanes of a fixed-order tree sum (the same on every run and for every batch).
inline float sum_lanes(float* lanes, std::size_t count) {
  for (std::size_t w = count / 2; w > 0; w /= 2)
    for (std::size_t i = 0; i < w; ++i) lanes[i] += lanes[i + w];
  return lanes[0];
}

// Softmax numerators in place over `length` scores, 8 lanes at a time with the tail masked; returns 1 /
// their sum. What GCC made of the plain loops (`#pragma omp simd` max and sum reductions) ran the max and
// the last (length mod 8, or 16 with AVX-512) exponentials one lane at a time and added the lanes of the
// sum from memory in order: on the AVX-512 Zen 4 VM ~35% of attend_block512's samples (perf annotate, rbt3
// int8 throughput, 1 thread), more than its score or context tiles.
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE float exp_scores256(float* scores, std::size_t length) {
  const std::size_t full = length / 8 * 8, left = length - full;
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
  __m256 vmax = neg_inf;
  for (std::size_t j = 0; j < full; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(scores + j));
  if (left != 0)
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(scores + full, tail), _mm256_castsi256_ps(tail)));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float max_score = lanes[0];
  for (std::size_t i = 1; i < 8; ++i) max_score = lanes[i] > max_score ? lanes[i] : max_score;
  const __m256 vm = _mm256_set1_ps(max_score);
  __m256 vsum = _mm256_setzero_ps();
  for (std::size_t j = 0; j < full; j += 8) {
    const __m256 e = fast_exp256(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vm));
    _mm256_storeu_ps(scores + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  if (left != 0) {
    const __m256 e = fast_exp256(_mm256_sub_ps(_mm256_maskload_ps(scores + full, tail), vm));
    _mm256_maskstore_ps(scores + full, tail, e);
    vsum = _mm256_add_ps(vsum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
  }
  _mm256_store_ps(lanes, vsum);
  return 1.f / sum_lanes(lanes, 8);
}

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own _mm512_undefined_*() (in the
// reductions and masked operations of exp_scores512, inlined into attend_block512).
#pragma GCC diagnostic push
#if !defined(__clang__)  // GCC-only warnings
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// e^x on 16 lanes: fast_exp's clamp, range reduction and polynomial (vector_math.h) with FMAs; a NaN
// lane gives NaN.
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE __m512 fast_exp512(__m512 x_in) {
  const __m512 x = _mm512_min_ps(_mm512_max_ps(x_in, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 shifter = _mm512_set1_ps(12582912.f);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), shifter), shifter);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __m512 result = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
  return _mm512_mask_mov_ps(result, _mm512_cmp_ps_mask(x_in, x_in, _CMP_UNORD_Q), x_in);
}

// exp_scores256 on 16 lanes (the tail masked).
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE float exp_scores512(float* scores, std::size_t length) {
  const std::size_t full = length / 16 * 16;
  const auto tail = static_cast<__mmask16>((1u << (length - full)) - 1u);
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (std::size_t j = 0; j < full; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(scores + j));
  if (tail != 0)
    vmax = _mm512_max_ps(vmax, _mm512_mask_blend_ps(tail, vmax, _mm512_maskz_loadu_ps(tail, scores + full)));
  const __m512 max_score = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (std::size_t j = 0; j < full; j += 16) {
    const __m512 e = fast_exp512(_mm512_sub_ps(_mm512_loadu_ps(scores + j), max_score));
    _mm512_storeu_ps(scores + j, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  if (tail != 0) {
    const __m512 e = fast_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, scores + full), max_score));
    _mm512_mask_storeu_ps(scores + full, tail, e);
    vsum = _mm512_add_ps(vsum, _mm512_mask_blend_ps(tail, _mm512_setzero_ps(), e));
  }
  alignas(64) float lanes[16];
  _mm512_storeu_ps(lanes, vsum);
  return 1.f / sum_lanes(lanes, 16);
}

// Where value j's dims [c, c + 2 · lanes) are: packed (chunk after chunk, each key's 2 · lanes floats
// after the previous key's) or in place (the qkv rows).
struct ValueLayout {
  const float* base;
  std::size_t key_stride, chunk_stride;  // floats
};

// AVX-512, head_dim 64: the AVX2 kernel's blocking below on 12 x 32 tiles (24 zmm accumulators, two
// vectors of the other operand, one broadcast, of 32 registers): scores of 12 queries x 32 keys over
// the dims of Kᵀ, context of 12 queries x 32 dims over the keys of V (packed in two 32-dim chunks).
// Replaces 2-query tiles that streamed all of Kᵀ and V per pair of queries. Checked against the scalar
// reference (tests/runtime/fused_attention_test.cc, and under emulation on AVX2 hosts). Measured on the
// AVX-512 Zen 4 VM (senti_kernel_bench --attention 20,50,128, one core, 12 heads): 34.5 / 54.9 / 67.6
// GFLOP/s at 20 / 50 / 128 tokens, 29-58% of the measured FMA peak (117), 1.5-2.2x oneDNN's per-head
// matmuls and 1.06-1.15x the AVX2 kernel on the same core; with the vector softmax (exp_scores512) 48.3 /
// 70.6 / 86.7 GFLOP/s, 2.1-2.3x oneDNN's matmuls (the AVX2 kernel there: 50.4 / 69.4 / 83.9).
constexpr std::size_t kQueryTile512 = 12;

template <int MQ>
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE void scores_tile512(const float* q, std::size_t q_stride, const float* kt,
                                                                  std::size_t padded, std::size_t j, float* s,
                                                                  std::size_t s_stride) {
  __m512 acc[MQ][2];
#pragma GCC unroll 12
  for (int r = 0; r < MQ; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const float* k = kt + j;
  for (std::size_t d = 0; d < 64; ++d, k += padded) {
    const __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MQ; ++r) {
      const __m512 qd = _mm512_set1_ps(q[static_cast<std::size_t>(r) * q_stride + d]);
      acc[r][0] = _mm512_fmadd_ps(qd, k0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(qd, k1, acc[r][1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MQ; ++r) {
    _mm512_storeu_ps(s + static_cast<std::size_t>(r) * s_stride + j, acc[r][0]);
    _mm512_storeu_ps(s + static_cast<std::size_t>(r) * s_stride + j + 16, acc[r][1]);
  }
}

template <int MQ>
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE void values_tile512(const float* p, std::size_t p_stride,
                                                                  const float* inv, const float* v,
                                                                  std::size_t v_stride, std::size_t length,
                                                                  float* out, std::size_t out_stride) {
  __m512 acc[MQ][2];
#pragma GCC unroll 12
  for (int r = 0; r < MQ; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (std::size_t j = 0; j < length; ++j, v += v_stride) {
    const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MQ; ++r) {
      const __m512 pj = _mm512_set1_ps(p[static_cast<std::size_t>(r) * p_stride + j]);
      acc[r][0] = _mm512_fmadd_ps(pj, v0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(pj, v1, acc[r][1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MQ; ++r) {
    const __m512 scale = _mm512_set1_ps(inv[r]);
    _mm512_storeu_ps(out + static_cast<std::size_t>(r) * out_stride, _mm512_mul_ps(acc[r][0], scale));
    _mm512_storeu_ps(out + static_cast<std::size_t>(r) * out_stride + 16, _mm512_mul_ps(acc[r][1], scale));
  }
}

template <int MQ>
SENTI_KERNEL_TARGET_AVX512 void attend_block512(const float* q, std::size_t row, const float* kt, std::size_t padded,
                                               std::size_t length, ValueLayout values, float* scores, float* out,
                                               std::size_t hidden) {
  for (std::size_t j = 0; j < padded; j += 32) scores_tile512<MQ>(q, row, kt, padded, j, scores, padded);
  float inv[MQ];
  for (int r = 0; r < MQ; ++r) inv[r] = exp_scores512(scores + static_cast<std::size_t>(r) * padded, length);
  for (std::size_t c = 0; c < 2; ++c)
    values_tile512<MQ>(scores, padded, inv, values.base + c * values.chunk_stride, values.key_stride, length,
                       out + c * 32, hidden);
}

#pragma GCC diagnostic pop

// AVX2, head_dim 64: both products of a head as small GEMMs on 6 x 16 register tiles (12 ymm
// accumulators, the two vectors of the other operand loaded once for six rows and one broadcast: the
// tile of senti's fp32 GEMM). Scores: 6 queries x 16 keys over the 64 dims of Kᵀ; context: 6 queries x
// 16 dims over the keys of V. The previous kernel (2 queries x 32 keys / 2 queries x 32 dims) let GCC
// fold every load into the FMAs (10 loads per 8 FMAs) and streamed all of Kᵀ and twice all of the
// head's V from L2 for every pair of queries, the V rows 9 KB apart (a new page per key): 33 GFLOP/s
// on one core of the AVX2 host, a third of its FMA peak, at every length; attention was 37% of rbt3's
// int8 forward at 485 tokens. Now 58-66 GFLOP/s from 64 to 485 tokens (one head set of 12, one
// thread), and rbt3 int8 at batch 1, 1 thread: 485 tokens 111-121 -> 95-97 ms, 256 tokens 51-52 ->
// 45-50 ms, the seed sentences (18 tokens) 0.98x. The arithmetic per query (sums over the dims, then
// over the keys, in order) is the previous kernel's: the same logits, bit for bit.
constexpr std::size_t kQueryTile256 = 6;

// Scores of MQ queries (rows q_stride apart) for the 16 keys from j: s[r * s_stride + j + x].
template <int MQ>
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE void scores_tile256(const float* q, std::size_t q_stride, const float* kt,
                                                                std::size_t padded, std::size_t j, float* s,
                                                                std::size_t s_stride) {
  __m256 acc[MQ][2];
#pragma GCC unroll 6
  for (int r = 0; r < MQ; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  const float* k = kt + j;
  for (std::size_t d = 0; d < 64; ++d, k += padded) {
    const __m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MQ; ++r) {
      const __m256 qd = _mm256_broadcast_ss(q + static_cast<std::size_t>(r) * q_stride + d);
      acc[r][0] = _mm256_fmadd_ps(qd, k0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(qd, k1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MQ; ++r) {
    _mm256_storeu_ps(s + static_cast<std::size_t>(r) * s_stride + j, acc[r][0]);
    _mm256_storeu_ps(s + static_cast<std::size_t>(r) * s_stride + j + 8, acc[r][1]);
  }
}

// 16 context dims of MQ queries: Σ_j p[r][j] · v_j, times inv[r]. Value j's 16 dims are at v + j · v_stride
// (the caller points v at the chunk: packed, 16 floats per key; in place, the qkv rows).
template <int MQ>
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE void values_tile256(const float* p, std::size_t p_stride, const float* inv,
                                                                const float* v, std::size_t v_stride,
                                                                std::size_t length, float* out,
                                                                std::size_t out_stride) {
  __m256 acc[MQ][2];
#pragma GCC unroll 6
  for (int r = 0; r < MQ; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (std::size_t j = 0; j < length; ++j, v += v_stride) {
    const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MQ; ++r) {
      const __m256 pj = _mm256_broadcast_ss(p + static_cast<std::size_t>(r) * p_stride + j);
      acc[r][0] = _mm256_fmadd_ps(pj, v0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(pj, v1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MQ; ++r) {
    const __m256 scale = _mm256_set1_ps(inv[r]);
    _mm256_storeu_ps(out + static_cast<std::size_t>(r) * out_stride, _mm256_mul_ps(acc[r][0], scale));
    _mm256_storeu_ps(out + static_cast<std::size_t>(r) * out_stride + 8, _mm256_mul_ps(acc[r][1], scale));
  }
}

// MQ queries from row i: scores, softmax, context.
template <int MQ>
SENTI_KERNEL_TARGET_AVX2 void attend_block256(const float* q, std::size_t row, const float* kt, std::size_t padded,
                                             std::size_t length, ValueLayout values, float* scores, float* out,
                                             std::size_t hidden) {
  for (std::size_t j = 0; j < padded; j += 16) scores_tile256<MQ>(q, row, kt, padded, j, scores, padded);
  float inv[MQ];
  for (int r = 0; r < MQ; ++r) inv[r] = exp_scores256(scores + static_cast<std::size_t>(r) * padded, length);
  for (std::size_t c = 0; c < 4; ++c)
    values_tile256<MQ>(scores, padded, inv, values.base + c * values.chunk_stride, values.key_stride, length,
                       out + c * 16, hidden);
}

// The blocked kernels of one width: kChunk keys per scores tile, which is also the dims per context tile
// (64 / kChunk chunks of V): 16 on AVX2, 32 on AVX-512; a tile of kQueryTile queries.
template <std::size_t kChunkFloats>
struct Blocks {
  static constexpr std::size_t kChunk = kChunkFloats, kQueryTile = kChunk == 16 ? kQueryTile256 : kQueryTile512;
  template <int MQ>
  static void run(const float* q, std::size_t row, const float* kt, std::size_t padded, std::size_t length,
                  ValueLayout values, float* scores, float* out, std::size_t hidden) {
    if constexpr (kChunk == 16) {
      attend_block256<MQ>(q, row, kt, padded, length, values, scores, out, hidden);
    } else {
      attend_block512<MQ>(q, row, kt, padded, length, values, scores, out, hidden);
    }
  }
};

// The last, shorter tile: Tiles::run<left> for left in [1, kQueryTile).
template <class Tiles, std::size_t... M>
void attend_tail(std::size_t left, std::index_sequence<M...>, const float* q, std::size_t row, const float* kt,
                 std::size_t padded, std::size_t length, ValueLayout values, float* scores, float* out,
                 std::size_t hidden) {
  (void)((left == M + 1 &&
          (Tiles::template run<static_cast<int>(M + 1)>(q, row, kt, padded, length, values, scores, out, hidden),
           true)) ||
         ...);
}

// One (sequence, head), head_dim 64, on the blocked kernels Tiles (a Blocks<width>): Kᵀ transposed
// and scaled, V packed in chunks when a whole tile of queries reads it (each chunk then one sequential
// stream per pass; the [CLS]-only layer reads V once, in place), then the queries tile by tile. No target
// of its own: the ISA-specific work is in the calls.
template <class Tiles>
void attend_d64(const float* qkv, std::size_t begin, std::size_t length, std::size_t queries, std::size_t head,
                std::size_t head_dim, std::size_t hidden, float scale, float* scratch, float* context) {
  (void)head_dim;  // 64
  constexpr std::size_t kTile = Tiles::kQueryTile, kChunk = Tiles::kChunk;
  const std::size_t row = 3 * hidden, padded = (length + kChunk - 1) / kChunk * kChunk;
  const float* q = qkv + head * 64 + begin * row;
  const float* v0 = qkv + 2 * hidden + head * 64 + begin * row;
  float* kt = scratch;               // [64, padded], scaled, zero in the padding columns
  float* vp = kt + 64 * padded;      // [64 / kChunk][length][kChunk]: V in chunks, key after key
  float* scores = vp + 64 * padded;  // kTile rows of `padded`
  transpose_scaled_keys_avx2(qkv + hidden + head * 64 + begin * row, row, length, padded, scale, kt);
  ValueLayout values{v0, row, kChunk};
  if (queries >= kTile) {
    for (std::size_t j = 0; j < length; ++j)
      for (std::size_t c = 0; c < 64 / kChunk; ++c)
        std::memcpy(vp + (c * length + j) * kChunk, v0 + j * row + c * kChunk, kChunk * sizeof(float));
    values = {vp, kChunk, kChunk * length};
  }
  float* out = context + begin * hidden + head * 64;
  std::size_t i = 0;
  for (; i + kTile <= queries; i += kTile)
    Tiles::template run<static_cast<int>(kTile)>(q + i * row, row, kt, padded, length, values, scores,
                                                   out + i * hidden, hidden);
  attend_tail<Tiles>(queries - i, std::make_index_sequence<kTile - 1>(), q + i * row, row, kt, padded, length,
                      values, scores, out + i * hidden, hidden);
}

using AttendFn = void (*)(const float*, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t,
                          float, float*, float*);

SENTI_KERNEL_TARGET_AVX512 void attend_avx512(const float* qkv, std::size_t begin, std::size_t length, std::size_t queries, std::size_t head,
    std::size_t head_dim, std::size_t hidden, float scale, float* scores, float* context) {
  attend_body(qkv, begin, length, queries, head, head_dim, hidden, scale, scores, context);
}
SENTI_KERNEL_TARGET_AVX2 void attend_avx2(const float* qkv, std::size_t begin, std::size_t length, std::size_t queries, std::size_t head,
    std::size_t head_dim, std::size_t hidden, float scale, float* scores, float* context) {
  attend_body(qkv, begin, length, queries, head, head_dim, hidden, scale, scores, context);
}
void attend_scalar(const float* qkv, std::size_t begin, std::size_t length, std::size_t queries, std::size_t head,
    std::size_t head_dim, std::size_t hidden, float scale, float* scores, float* context) {
  attend_body(qkv, begin, length, queries, head, head_dim, hidden, scale, scores, context);
}

AttendFn pick(KernelIsa isa, std::size_t head_dim) {
  switch (isa) {
    case KernelIsa::kAvx512: return head_dim == 64 ? attend_d64<Blocks<32>> : attend_avx512;
    case KernelIsa::kAvx2: return head_dim == 64 ? attend_d64<Blocks<16>> : attend_avx2;
    case KernelIsa::kScalar: return attend_scalar;
  }
  return attend_scalar;
}

// Per-thread scratch (Kᵀ, packed V and a tile of score rows), grown to the longest sequence seen
// (no allocation once warm).
float* scratch_buffer(std::size_t length, std::size_t head_dim) {
  thread_local std::vector<float> buffer;
  const std::size_t need = (2 * head_dim + kQueryTile512) * (std::max<std::size_t>(length, 128) + 32);
  if (buffer.size() < need) buffer.resize(need);
  return buffer.data();
}

}  // namespace

void fused_attention(const float* qkv, const std::size_t* offsets, std::size_t num_sequences, std::size_t heads,
                     std::size_t head_dim, float* context, bool first_query_only) {
  fused_attention(kernel_isa(), qkv, offsets, num_sequences, heads, head_dim, context, first_query_only);
}

void fused_attention(KernelIsa isa, const float* qkv, const std::size_t* offsets, std::size_t num_sequences,
                     std::size_t heads, std::size_t head_dim, float* context, bool first_query_only) {
  const AttendFn attend = pick(isa, head_dim);
  const std::size_t hidden = heads * head_dim;
  const float scale = 1.f / std::sqrt(static_cast<float>(head_dim));
  std::size_t work = 0;
  for (std::size_t s = 0; s < num_sequences; ++s) {
    const std::size_t length = offsets[s + 1] - offsets[s];
    work += length * (first_query_only ? 1 : length);
  }
  work *= hidden;
  const std::size_t tasks = num_sequences * heads;
  auto run = [&](std::size_t t) {
    const std::size_t s = t / heads, begin = offsets[s], length = offsets[s + 1] - begin;
    if (length == 0) return;
    attend(qkv, begin, length, first_query_only ? 1 : length, t % heads, head_dim, hidden, scale,
           scratch_buffer(length, head_dim), context);
  };
  if (work < kParallelWork) {
    for (std::size_t t = 0; t < tasks; ++t) run(t);
    return;
  }
  // Tasks (a sequence's head) differ in length: taken one at a time by whichever thread is free.
  std::atomic<std::size_t> next{0};
  parallel_run(static_cast<int>(std::min<std::size_t>(tasks, static_cast<std::size_t>(compute_threads()))),
               [&](int, int) {
                 for (std::size_t t = next.fetch_add(1, std::memory_order_relaxed); t < tasks;
                      t = next.fetch_add(1, std::memory_order_relaxed))
                   run(t);
               });
}

}  // namespace senti::cpu
