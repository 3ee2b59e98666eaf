// Multi-head self-attention over packed variable-length sequences with per-head oneDNN matmuls:
// each sequence attends only to its own tokens, so no padding is computed and no mask is needed.
// The backend uses fused_attention.h; this one stays for comparison (SENTI_ATTENTION=onednn).
#pragma once

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace senti::cpu {

class PackedAttention {
 public:
  PackedAttention(const dnnl::engine& engine, std::size_t num_heads, std::size_t head_dim);

  // qkv: [total_tokens, 3*heads*head_dim] rows (q | k | v), context: [total_tokens, heads*head_dim];
  // sequence i is rows [offsets[i], offsets[i+1]).
  void forward(dnnl::stream& stream, const float* qkv, const std::vector<std::size_t>& offsets, float* context);

 private:
  struct Kernels {
    dnnl::matmul scores;   // Q·Kᵀ per head
    dnnl::matmul context;  // P·V per head
  };
  const Kernels& kernels_for(std::size_t length);

  dnnl::engine engine_;
  std::size_t heads_, head_dim_, hidden_;
  float scale_;
  std::map<std::size_t, Kernels> kernels_;
  std::vector<float> probabilities_;  // [heads, L, L] scratch, grown on demand
};

}  // namespace senti::cpu
