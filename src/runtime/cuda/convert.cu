// fp32 -> storage type conversion (weights, once at load) and the DType helpers.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_util.cuh"

namespace senti::cuda {
namespace {

template <typename T>
__global__ void convert_kernel(const float* in, T* out, std::size_t count) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) out[i] = from_float<T>(in[i]);
}

}  // namespace

std::size_t dtype_size(DType type) { return type == DType::kF32 ? 4 : 2; }

const char* dtype_name(DType type) {
  switch (type) {
    case DType::kF32: return "fp32";
    case DType::kF16: return "fp16";
    case DType::kBF16: return "bf16";
  }
  return "?";
}

void convert_from_f32(const float* in, void* out, DType out_type, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  dispatch_dtype(out_type, [&](auto tag) {
    using T = decltype(tag);
    convert_kernel<T><<<blocks_for(count, 256), 256, 0, stream>>>(in, static_cast<T*>(out), count);
  });
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda

namespace senti::cuda {
namespace {

template <typename T>
__global__ void widen_kernel(const T* in, float* out, std::size_t count) {
  const std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) out[i] = to_float(in[i]);
}

}  // namespace

void convert_to_f32(const void* in, DType in_type, float* out, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  dispatch_dtype(in_type, [&](auto tag) {
    using T = decltype(tag);
    widen_kernel<T><<<blocks_for(count, 256), 256, 0, stream>>>(static_cast<const T*>(in), out, count);
  });
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda
