#include "runtime/cpu/norm_kernels.h"

#include <algorithm>
#include <cmath>

#include "runtime/cpu/compute_pool.h"
#include "runtime/cpu/kernel_isa.h"

namespace senti::cpu {
namespace {

// Fewer rows than this run on the calling thread: a fork/join costs more than the work.
constexpr std::size_t kParallelTokens = 64;

// Two-pass LayerNorm (mean, then variance of the centred values): the one-pass E[x²]−mean² form
// loses precision when the mean is large relative to the spread. The sums run in float across
// 8/16 SIMD lanes (partial sums of ~50-100 values each), then are combined.
SENTI_ALWAYS_INLINE void normalize_row(float* row, const float* gamma, const float* beta, std::size_t hidden,
                                       float eps) {
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < hidden; ++i) sum += row[i];
  const float mean = sum / static_cast<float>(hidden);
  float squares = 0.f;
#pragma omp simd reduction(+ : squares)
  for (std::size_t i = 0; i < hidden; ++i) {
    const float centred = row[i] - mean;
    squares += centred * centred;
  }
  const float inv_std = 1.f / std::sqrt(squares / static_cast<float>(hidden) + eps);
#pragma omp simd
  for (std::size_t i = 0; i < hidden; ++i) row[i] = (row[i] - mean) * inv_std * gamma[i] + beta[i];
}

SENTI_ALWAYS_INLINE void embed_rows(const BertWeights& weights, const int32_t* ids, const int32_t* types,
                                    const std::size_t* positions, std::size_t first, std::size_t count,
                                    std::size_t hidden, float eps, float* out) {
  for (std::size_t t = first; t < first + count; ++t) {
    const float* w = weights.word_embeddings.data + static_cast<std::size_t>(ids[t]) * hidden;
    const float* p = weights.position_embeddings.data + positions[t] * hidden;
    const float* y = weights.token_type_embeddings.data + static_cast<std::size_t>(types[t]) * hidden;
    float* row = out + t * hidden;
#pragma omp simd
    for (std::size_t i = 0; i < hidden; ++i) row[i] = w[i] + p[i] + y[i];
    normalize_row(row, weights.embedding_norm.gamma.data, weights.embedding_norm.beta.data, hidden, eps);
  }
}

SENTI_ALWAYS_INLINE void add_norm_rows(float* x, const float* delta, const LayerNormWeights& norm, std::size_t first,
                                       std::size_t count, std::size_t hidden, float eps) {
  for (std::size_t t = first; t < first + count; ++t) {
    float* row = x + t * hidden;
    const float* d = delta + t * hidden;
#pragma omp simd
    for (std::size_t i = 0; i < hidden; ++i) row[i] += d[i];
    normalize_row(row, norm.gamma.data, norm.beta.data, hidden, eps);
  }
}

SENTI_KERNEL_TARGET_AVX512 void embed_avx512(const BertWeights& w, const int32_t* ids, const int32_t* types,
                                             const std::size_t* pos, std::size_t first, std::size_t count,
                                             std::size_t hidden, float eps, float* out) {
  embed_rows(w, ids, types, pos, first, count, hidden, eps, out);
}
SENTI_KERNEL_TARGET_AVX2 void embed_avx2(const BertWeights& w, const int32_t* ids, const int32_t* types,
                                         const std::size_t* pos, std::size_t first, std::size_t count,
                                         std::size_t hidden, float eps, float* out) {
  embed_rows(w, ids, types, pos, first, count, hidden, eps, out);
}
void embed_scalar(const BertWeights& w, const int32_t* ids, const int32_t* types, const std::size_t* pos,
                  std::size_t first, std::size_t count, std::size_t hidden, float eps, float* out) {
  embed_rows(w, ids, types, pos, first, count, hidden, eps, out);
}

SENTI_KERNEL_TARGET_AVX512 void add_norm_avx512(float* x, const float* delta, const LayerNormWeights& norm,
                                                std::size_t first, std::size_t count, std::size_t hidden, float eps) {
  add_norm_rows(x, delta, norm, first, count, hidden, eps);
}
SENTI_KERNEL_TARGET_AVX2 void add_norm_avx2(float* x, const float* delta, const LayerNormWeights& norm,
                                            std::size_t first, std::size_t count, std::size_t hidden, float eps) {
  add_norm_rows(x, delta, norm, first, count, hidden, eps);
}
void add_norm_scalar(float* x, const float* delta, const LayerNormWeights& norm, std::size_t first, std::size_t count,
                     std::size_t hidden, float eps) {
  add_norm_rows(x, delta, norm, first, count, hidden, eps);
}

// Runs fn(first, count) over blocks of rows, in parallel only for enough rows.
template <class Fn>
void for_blocks(std::size_t tokens, Fn fn) {
  if (tokens < kParallelTokens) return fn(std::size_t{0}, tokens);
  constexpr std::size_t kBlock = 8;
  const std::size_t blocks = (tokens + kBlock - 1) / kBlock;
  parallel_for(compute_threads(), blocks, [&](std::size_t b) { fn(b * kBlock, std::min(kBlock, tokens - b * kBlock)); });
}

}  // namespace

void embed_and_normalize(const BertWeights& weights, const int32_t* ids, const int32_t* types,
                         const std::size_t* positions, std::size_t tokens, std::size_t hidden, float eps,
                         float* out) {
  const KernelIsa isa = kernel_isa();
  for_blocks(tokens, [&](std::size_t first, std::size_t count) {
    if (isa == KernelIsa::kAvx512) return embed_avx512(weights, ids, types, positions, first, count, hidden, eps, out);
    if (isa == KernelIsa::kAvx2) return embed_avx2(weights, ids, types, positions, first, count, hidden, eps, out);
    embed_scalar(weights, ids, types, positions, first, count, hidden, eps, out);
  });
}

void add_and_normalize(float* x, const float* delta, const LayerNormWeights& norm, std::size_t tokens,
                       std::size_t hidden, float eps) {
  const KernelIsa isa = kernel_isa();
  for_blocks(tokens, [&](std::size_t first, std::size_t count) {
    if (isa == KernelIsa::kAvx512) return add_norm_avx512(x, delta, norm, first, count, hidden, eps);
    if (isa == KernelIsa::kAvx2) return add_norm_avx2(x, delta, norm, first, count, hidden, eps);
    add_norm_scalar(x, delta, norm, first, count, hidden, eps);
  });
}

}  // namespace senti::cpu
