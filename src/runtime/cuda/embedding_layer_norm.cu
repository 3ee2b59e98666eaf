// Fused embedding gather (word + position + token type) and LayerNorm, one block per token.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/layer_norm.cuh"

namespace senti::cuda {
namespace {

template <typename T>
__global__ void embedding_layer_norm_kernel(const float* word, const float* position, const float* token_type,
                                            const float* gamma, const float* beta, const int32_t* ids,
                                            const int32_t* types, const int32_t* positions, std::size_t hidden,
                                            float eps, float* out, T* typed) {
  extern __shared__ float row[];
  __shared__ float scratch[32];
  const std::size_t token = blockIdx.x;
  const float* w = word + static_cast<std::size_t>(ids[token]) * hidden;
  const float* p = position + static_cast<std::size_t>(positions[token]) * hidden;
  const float* t = token_type + static_cast<std::size_t>(types[token]) * hidden;
  for (std::size_t c = threadIdx.x; c < hidden; c += blockDim.x) row[c] = w[c] + p[c] + t[c];
  __syncthreads();
  normalize_row(row, hidden, gamma, beta, eps, out + token * hidden,
                typed == nullptr ? nullptr : typed + token * hidden, scratch);
}

}  // namespace

void embedding_layer_norm(const float* word, const float* position, const float* token_type, const float* gamma,
                          const float* beta, const int32_t* ids, const int32_t* types, const int32_t* positions,
                          std::size_t tokens, std::size_t hidden, float eps, float* out, void* out_typed,
                          DType typed, cudaStream_t stream) {
  if (tokens == 0) return;
  dispatch_dtype(typed, [&](auto tag) {
    using T = decltype(tag);
    embedding_layer_norm_kernel<T><<<static_cast<unsigned>(tokens), norm_threads(hidden), hidden * sizeof(float),
                                     stream>>>(word, position, token_type, gamma, beta, ids, types, positions, hidden,
                                               eps, out, static_cast<T*>(out_typed));
  });
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda
