// Residual add + LayerNorm, one block per row.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/layer_norm.cuh"

namespace senti::cuda {
namespace {

template <typename T>
__global__ void residual_layer_norm_kernel(float* hidden, const float* delta, const float* gamma, const float* beta,
                                           std::size_t width, float eps, T* typed) {
  extern __shared__ float row[];
  __shared__ float scratch[32];
  const std::size_t base = static_cast<std::size_t>(blockIdx.x) * width;
  for (std::size_t c = threadIdx.x; c < width; c += blockDim.x) row[c] = hidden[base + c] + delta[base + c];
  __syncthreads();
  normalize_row(row, width, gamma, beta, eps, hidden + base, typed == nullptr ? nullptr : typed + base, scratch);
}

}  // namespace

void residual_layer_norm(float* hidden, const float* delta, const float* gamma, const float* beta, std::size_t rows,
                         std::size_t width, float eps, void* out_typed, DType typed, cudaStream_t stream) {
  if (rows == 0) return;
  dispatch_dtype(typed, [&](auto tag) {
    using T = decltype(tag);
    residual_layer_norm_kernel<T><<<static_cast<unsigned>(rows), norm_threads(width), width * sizeof(float), stream>>>(
        hidden, delta, gamma, beta, width, eps, static_cast<T*>(out_typed));
  });
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda
