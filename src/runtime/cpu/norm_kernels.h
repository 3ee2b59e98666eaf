// Per-token kernels around the matmuls: embedding gather + LayerNorm, residual add + LayerNorm.
// Hand-written because they are memory-bound loops oneDNN would need several passes for.
#pragma once

#include <cstddef>
#include <cstdint>

#include "senti/checkpoint.h"

namespace senti::cpu {

// out[t] = LayerNorm(word[ids[t]] + position[positions[t]] + token_type[types[t]]).
void embed_and_normalize(const BertWeights& weights, const int32_t* ids, const int32_t* types,
                         const std::size_t* positions, std::size_t tokens, std::size_t hidden, float eps,
                         float* out);

// x[t] = LayerNorm(x[t] + delta[t]) for each of `tokens` rows of width `hidden`.
void add_and_normalize(float* x, const float* delta, const LayerNormWeights& norm, std::size_t tokens,
                       std::size_t hidden, float eps);

}  // namespace senti::cpu
