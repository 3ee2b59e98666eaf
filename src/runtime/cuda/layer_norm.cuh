// The LayerNorm both norm kernels share: a row staged in shared memory (fp32), then two passes over
// it (mean; then the mean of squared deviations), so no E[x^2] - mean^2 cancellation.
#pragma once

#include "runtime/cuda/device_util.cuh"

namespace senti::cuda {

// row: `width` fp32 values in shared memory, already written (and the block synchronised by the caller
// or by block_sum). Writes out[c] (fp32) and, when typed != nullptr, typed[c].
template <typename T>
__device__ __forceinline__ void normalize_row(const float* row, std::size_t width, const float* gamma,
                                              const float* beta, float eps, float* out, T* typed, float* scratch) {
  float sum = 0.f;
  for (std::size_t c = threadIdx.x; c < width; c += blockDim.x) sum += row[c];
  const float mean = block_sum(sum, scratch) / static_cast<float>(width);
  float squares = 0.f;
  for (std::size_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float d = row[c] - mean;
    squares += d * d;
  }
  const float rstd = rsqrtf(block_sum(squares, scratch) / static_cast<float>(width) + eps);
  for (std::size_t c = threadIdx.x; c < width; c += blockDim.x) {
    const float y = (row[c] - mean) * rstd * gamma[c] + beta[c];
    out[c] = y;
    if (typed != nullptr) typed[c] = from_float<T>(y);
  }
}

// Threads per row: a warp per 32 values up to 256 threads (hidden 256: 256 threads, one value each).
inline unsigned norm_threads(std::size_t width) {
  const std::size_t t = (width + 31) / 32 * 32;
  return static_cast<unsigned>(t < 256 ? t : 256);
}

}  // namespace senti::cuda
