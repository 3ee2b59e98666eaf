// The exact (erf) GELU in place, for when the GEMM's GELU epilogue is not used (SENTI_CUDA_GELU=erf).
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_util.cuh"

namespace senti::cuda {
namespace {

template <typename T>
__global__ void gelu_erf_kernel(T* x, std::size_t count) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) {
    const float v = to_float(x[i]);
    x[i] = from_float<T>(0.5f * v * (1.f + erff(v * 0.70710678118654752f)));
  }
}

}  // namespace

void gelu_erf(void* x, DType type, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  dispatch_dtype(type, [&](auto tag) {
    using T = decltype(tag);
    gelu_erf_kernel<T><<<blocks_for(count, 256), 256, 0, stream>>>(static_cast<T*>(x), count);
  });
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda
