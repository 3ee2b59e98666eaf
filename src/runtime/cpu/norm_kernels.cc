#include "runtime/cpu/norm_kernels.h"

#include <cmath>

namespace senti::cpu {
namespace {

// Fewer rows than this run on the calling thread: an OpenMP fork/join costs more than the work.
constexpr std::size_t kParallelTokens = 64;

// Two-pass LayerNorm (mean, then variance of the centred values): the one-pass E[x²]−mean² form
// loses precision when the mean is large relative to the spread.
void normalize_row(float* row, const float* gamma, const float* beta, std::size_t hidden, float eps) {
  double sum = 0.0;
  for (std::size_t i = 0; i < hidden; ++i) sum += row[i];
  const float mean = static_cast<float>(sum / static_cast<double>(hidden));
  double squares = 0.0;
  for (std::size_t i = 0; i < hidden; ++i) {
    const double centred = row[i] - mean;
    squares += centred * centred;
  }
  const float inv_std = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(hidden) + eps));
  for (std::size_t i = 0; i < hidden; ++i) row[i] = (row[i] - mean) * inv_std * gamma[i] + beta[i];
}

}  // namespace

void embed_and_normalize(const BertWeights& weights, const int32_t* ids, const int32_t* types,
                         const std::size_t* positions, std::size_t tokens, std::size_t hidden, float eps,
                         float* out) {
  const float* word = weights.word_embeddings.data;
  const float* position = weights.position_embeddings.data;
  const float* token_type = weights.token_type_embeddings.data;
#pragma omp parallel for schedule(static) if (tokens >= kParallelTokens)
  for (std::size_t t = 0; t < tokens; ++t) {
    const float* w = word + static_cast<std::size_t>(ids[t]) * hidden;
    const float* p = position + positions[t] * hidden;
    const float* y = token_type + static_cast<std::size_t>(types[t]) * hidden;
    float* row = out + t * hidden;
    for (std::size_t i = 0; i < hidden; ++i) row[i] = w[i] + p[i] + y[i];
    normalize_row(row, weights.embedding_norm.gamma.data, weights.embedding_norm.beta.data, hidden, eps);
  }
}

void add_and_normalize(float* x, const float* delta, const LayerNormWeights& norm, std::size_t tokens,
                       std::size_t hidden, float eps) {
#pragma omp parallel for schedule(static) if (tokens >= kParallelTokens)
  for (std::size_t t = 0; t < tokens; ++t) {
    float* row = x + t * hidden;
    const float* d = delta + t * hidden;
    for (std::size_t i = 0; i < hidden; ++i) row[i] += d[i];
    normalize_row(row, norm.gamma.data, norm.beta.data, hidden, eps);
  }
}

}  // namespace senti::cpu
