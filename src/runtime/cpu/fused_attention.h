// Multi-head self-attention over packed variable-length sequences, reading the fused QKV matmul's
// output directly. Hand-written: at BERT's typical lengths (10-128 tokens) the per-head oneDNN
// matmuls (attention.h) spend more time in dispatch than in arithmetic, and this kernel keeps the
// scores in a per-thread row buffer (softmax fused, no [heads, L, L] tensor).
#pragma once

#include <cstddef>

#include "runtime/cpu/kernel_isa.h"

namespace senti::cpu {

// qkv: [tokens, 3 * heads * head_dim] rows laid out q | k | v; context: [tokens, heads * head_dim].
// Sequence s is rows [offsets[s], offsets[s + 1]); tokens attend only within their sequence.
// first_query_only: only each sequence's first row ([CLS]) is computed (the last layer of a classifier
// needs no other); the other context rows are left as they were.
void fused_attention(const float* qkv, const std::size_t* offsets, std::size_t num_sequences, std::size_t heads,
                     std::size_t head_dim, float* context, bool first_query_only = false);
// The same on the given ISA's kernels (the host must run it): tests compare each with kScalar.
void fused_attention(KernelIsa isa, const float* qkv, const std::size_t* offsets, std::size_t num_sequences,
                     std::size_t heads, std::size_t head_dim, float* context, bool first_query_only = false);

}  // namespace senti::cpu
