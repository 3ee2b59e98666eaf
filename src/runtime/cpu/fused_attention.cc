#include "runtime/cpu/fused_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
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

// Kᵀ of one head (head_dim 64), scaled: kt[d * padded + j] = k_j[d] * scale, zero for j >= length.
SENTI_ALWAYS_INLINE void transpose_scaled_keys(const float* k0, std::size_t row, std::size_t length, std::size_t padded,
                                               float scale, float* kt) {
  for (std::size_t j = 0; j < length; ++j) {
    const float* k = k0 + j * row;
    for (std::size_t d = 0; d < 64; ++d) kt[d * padded + j] = k[d] * scale;
  }
  for (std::size_t j = length; j < padded; ++j)
    for (std::size_t d = 0; d < 64; ++d) kt[d * padded + j] = 0.f;
}

// AVX-512, head_dim 64 (BERT-base family): accumulators stay in registers. GCC's vectorization
// of attend_body reloads and stores the score row for every one of the 64 dims, and the context
// row for every key; this keeps 4 zmm of scores (64 keys) across the dims and the 64-float context
// row in 4 zmm across the keys: ~3x less time at 55 tokens.
// kQueries (1 or 2) query rows at once share each load of Kᵀ and V.
template <int kVectors, int kQueries>
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE void scores_block(const float* q, std::size_t q_stride, const float* kt,
                                                                 std::size_t stride, float* out,
                                                                 std::size_t out_stride) {
  __m512 acc[kQueries][kVectors];
  for (int r = 0; r < kQueries; ++r)
    for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm512_setzero_ps();
  for (std::size_t d = 0; d < 64; ++d) {
    const float* kd = kt + d * stride;
    __m512 k[kVectors];
    for (int v = 0; v < kVectors; ++v) k[v] = _mm512_loadu_ps(kd + 16 * v);
    for (int r = 0; r < kQueries; ++r) {
      const __m512 qd = _mm512_set1_ps(q[r * q_stride + d]);
      for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm512_fmadd_ps(qd, k[v], acc[r][v]);
    }
  }
  for (int r = 0; r < kQueries; ++r)
    for (int v = 0; v < kVectors; ++v) _mm512_storeu_ps(out + r * out_stride + 16 * v, acc[r][v]);
}

template <int kQueries>
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE void all_scores(const float* q, std::size_t q_stride, const float* kt,
                                                               std::size_t padded, float* scores) {
  for (std::size_t j = 0; j < padded; j += 64) {
    switch (std::min<std::size_t>(4, (padded - j) / 16)) {
      case 4: scores_block<4, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
      case 3: scores_block<3, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
      case 2: scores_block<2, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
      default: scores_block<1, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
    }
  }
}

// Softmax numerators in place over `length` scores; returns 1 / their sum. No target of its own: it
// inlines into the AVX-512 and the AVX2 kernels alike.
SENTI_ALWAYS_INLINE float exp_scores(float* scores, std::size_t length) {
  float max_score = -INFINITY;
#pragma omp simd reduction(max : max_score)
  for (std::size_t j = 0; j < length; ++j) max_score = std::max(max_score, scores[j]);
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (std::size_t j = 0; j < length; ++j) {
    scores[j] = fast_exp(scores[j] - max_score);
    sum += scores[j];
  }
  return 1.f / sum;
}

template <int kQueries>
SENTI_KERNEL_TARGET_AVX512 SENTI_ALWAYS_INLINE void weighted_values(const float* scores, std::size_t score_stride,
                                                                    const float* inv, const float* v0,
                                                                    std::size_t row, std::size_t length, float* out,
                                                                    std::size_t out_stride) {
  __m512 acc[kQueries][4];
  for (int r = 0; r < kQueries; ++r)
    for (int b = 0; b < 4; ++b) acc[r][b] = _mm512_setzero_ps();
  for (std::size_t j = 0; j < length; ++j) {
    const float* v = v0 + j * row;
    __m512 vv[4];
    for (int b = 0; b < 4; ++b) vv[b] = _mm512_loadu_ps(v + 16 * b);
    for (int r = 0; r < kQueries; ++r) {
      const __m512 p = _mm512_set1_ps(scores[r * score_stride + j]);
      for (int b = 0; b < 4; ++b) acc[r][b] = _mm512_fmadd_ps(p, vv[b], acc[r][b]);
    }
  }
  for (int r = 0; r < kQueries; ++r) {
    const __m512 scale = _mm512_set1_ps(inv[r]);
    for (int b = 0; b < 4; ++b) _mm512_storeu_ps(out + r * out_stride + 16 * b, _mm512_mul_ps(acc[r][b], scale));
  }
}

SENTI_KERNEL_TARGET_AVX512 void attend_avx512_d64(const float* qkv, std::size_t begin, std::size_t length,
                                                  std::size_t queries, std::size_t head, std::size_t head_dim,
                                                  std::size_t hidden, float scale, float* scratch, float* context) {
  (void)head_dim;  // 64
  const std::size_t row = 3 * hidden, padded = (length + 15) / 16 * 16;
  const float* q0 = qkv + head * 64;
  const float* k0 = qkv + hidden + head * 64;
  const float* v0 = qkv + 2 * hidden + head * 64 + begin * row;
  float* kt = scratch;                     // [64, padded], scaled, zero in the padding columns
  float* scores = scratch + 64 * padded;   // two rows of `padded`
  transpose_scaled_keys(k0 + begin * row, row, length, padded, scale, kt);
  std::size_t i = begin;
  for (; i + 2 <= begin + queries; i += 2) {
    all_scores<2>(q0 + i * row, row, kt, padded, scores);
    const float inv[2] = {exp_scores(scores, length), exp_scores(scores + padded, length)};
    weighted_values<2>(scores, padded, inv, v0, row, length, context + i * hidden + head * 64, hidden);
  }
  if (i < begin + queries) {
    all_scores<1>(q0 + i * row, row, kt, padded, scores);
    const float inv[1] = {exp_scores(scores, length)};
    weighted_values<1>(scores, padded, inv, v0, row, length, context + i * hidden + head * 64, hidden);
  }
}

// AVX2, head_dim 64: the same blocking in 256-bit registers (8 keys per vector, up to 32 keys per
// block; the 64-float context row in two halves of 4 ymm, so two query rows' accumulators fit in
// the 16 registers). attend_body left the tails of every 8-key row scalar (a 18-token text: 2 of 18
// keys, an FMA and a store per dim): 12% of the default model's int8 forward at batch 1.
template <int kVectors, int kQueries>
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE void scores_block256(const float* q, std::size_t q_stride, const float* kt,
                                                                 std::size_t stride, float* out,
                                                                 std::size_t out_stride) {
  __m256 acc[kQueries][kVectors];
  for (int r = 0; r < kQueries; ++r)
    for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm256_setzero_ps();
  for (std::size_t d = 0; d < 64; ++d) {
    const float* kd = kt + d * stride;
    __m256 k[kVectors];
    for (int v = 0; v < kVectors; ++v) k[v] = _mm256_loadu_ps(kd + 8 * v);
    for (int r = 0; r < kQueries; ++r) {
      const __m256 qd = _mm256_set1_ps(q[r * q_stride + d]);
      for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm256_fmadd_ps(qd, k[v], acc[r][v]);
    }
  }
  for (int r = 0; r < kQueries; ++r)
    for (int v = 0; v < kVectors; ++v) _mm256_storeu_ps(out + r * out_stride + 8 * v, acc[r][v]);
}

template <int kQueries>
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE void all_scores256(const float* q, std::size_t q_stride, const float* kt,
                                                               std::size_t padded, float* scores) {
  for (std::size_t j = 0; j < padded; j += 32) {
    switch (std::min<std::size_t>(4, (padded - j) / 8)) {
      case 4: scores_block256<4, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
      case 3: scores_block256<3, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
      case 2: scores_block256<2, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
      default: scores_block256<1, kQueries>(q, q_stride, kt + j, padded, scores + j, padded); break;
    }
  }
}

template <int kQueries>
SENTI_KERNEL_TARGET_AVX2 SENTI_ALWAYS_INLINE void weighted_values256(const float* scores, std::size_t score_stride,
                                                                    const float* inv, const float* v0,
                                                                    std::size_t row, std::size_t length, float* out,
                                                                    std::size_t out_stride) {
  for (std::size_t half = 0; half < 64; half += 32) {
    __m256 acc[kQueries][4];
    for (int r = 0; r < kQueries; ++r)
      for (int b = 0; b < 4; ++b) acc[r][b] = _mm256_setzero_ps();
    for (std::size_t j = 0; j < length; ++j) {
      const float* v = v0 + j * row + half;
      __m256 vv[4];
      for (int b = 0; b < 4; ++b) vv[b] = _mm256_loadu_ps(v + 8 * b);
      for (int r = 0; r < kQueries; ++r) {
        const __m256 p = _mm256_set1_ps(scores[r * score_stride + j]);
        for (int b = 0; b < 4; ++b) acc[r][b] = _mm256_fmadd_ps(p, vv[b], acc[r][b]);
      }
    }
    for (int r = 0; r < kQueries; ++r) {
      const __m256 scale = _mm256_set1_ps(inv[r]);
      for (int b = 0; b < 4; ++b)
        _mm256_storeu_ps(out + r * out_stride + half + 8 * b, _mm256_mul_ps(acc[r][b], scale));
    }
  }
}

SENTI_KERNEL_TARGET_AVX2 void attend_avx2_d64(const float* qkv, std::size_t begin, std::size_t length,
                                              std::size_t queries, std::size_t head, std::size_t head_dim,
                                              std::size_t hidden, float scale, float* scratch, float* context) {
  (void)head_dim;  // 64
  const std::size_t row = 3 * hidden, padded = (length + 7) / 8 * 8;
  const float* q0 = qkv + head * 64;
  const float* v0 = qkv + 2 * hidden + head * 64 + begin * row;
  float* kt = scratch;                    // [64, padded], scaled, zero in the padding columns
  float* scores = scratch + 64 * padded;  // two rows of `padded`
  transpose_scaled_keys(qkv + hidden + head * 64 + begin * row, row, length, padded, scale, kt);
  std::size_t i = begin;
  for (; i + 2 <= begin + queries; i += 2) {
    all_scores256<2>(q0 + i * row, row, kt, padded, scores);
    const float inv[2] = {exp_scores(scores, length), exp_scores(scores + padded, length)};
    weighted_values256<2>(scores, padded, inv, v0, row, length, context + i * hidden + head * 64, hidden);
  }
  if (i < begin + queries) {
    all_scores256<1>(q0 + i * row, row, kt, padded, scores);
    const float inv[1] = {exp_scores(scores, length)};
    weighted_values256<1>(scores, padded, inv, v0, row, length, context + i * hidden + head * 64, hidden);
  }
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
    case KernelIsa::kAvx512: return head_dim == 64 ? attend_avx512_d64 : attend_avx512;
    case KernelIsa::kAvx2: return head_dim == 64 ? attend_avx2_d64 : attend_avx2;
    case KernelIsa::kScalar: return attend_scalar;
  }
  return attend_scalar;
}

// Per-thread scratch (Kᵀ and one score row), grown to the longest sequence seen (no allocation
// once warm).
float* scratch_buffer(std::size_t length, std::size_t head_dim) {
  thread_local std::vector<float> buffer;
  const std::size_t need = (head_dim + 2) * (std::max<std::size_t>(length, 128) + 16);
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
