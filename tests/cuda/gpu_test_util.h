// Helpers of the GPU tests: skipping without a usable GPU, moving vectors to and from the device.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "runtime/backend.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/cuda/kernels.h"

#define SENTI_SKIP_WITHOUT_GPU()                                                           \
  do {                                                                                    \
    if (!::senti::cuda_availability().usable)                                             \
      GTEST_SKIP() << "no usable CUDA GPU: " << ::senti::cuda_availability().reason;      \
  } while (0)

namespace senti::cuda::test {

inline DeviceBuffer<float> to_device(const std::vector<float>& host) {
  DeviceBuffer<float> d(host.size());
  SENTI_CUDA_CHECK(cudaMemcpy(d.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}

inline DeviceBuffer<int32_t> to_device(const std::vector<int32_t>& host) {
  DeviceBuffer<int32_t> d(host.size());
  SENTI_CUDA_CHECK(cudaMemcpy(d.get(), host.data(), host.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
  return d;
}

inline std::vector<float> to_host(const float* device, std::size_t count) {
  std::vector<float> host(count);
  SENTI_CUDA_CHECK(cudaDeviceSynchronize());
  SENTI_CUDA_CHECK(cudaMemcpy(host.data(), device, count * sizeof(float), cudaMemcpyDeviceToHost));
  return host;
}

// A typed device copy of `host` (rounded to the type); `host` is replaced by the rounded values, so a
// reference computed from it sees exactly what the kernel sees.
inline DeviceBuffer<unsigned char> to_device_typed(std::vector<float>& host, DType type) {
  DeviceBuffer<float> f = to_device(host);
  DeviceBuffer<unsigned char> typed(host.size() * dtype_size(type));
  convert_from_f32(f.get(), typed.get(), type, host.size(), nullptr);
  DeviceBuffer<float> back(host.size());
  convert_to_f32(typed.get(), type, back.get(), host.size(), nullptr);
  host = to_host(back.get(), host.size());
  return typed;
}

inline std::vector<float> typed_to_host(const void* device, DType type, std::size_t count) {
  DeviceBuffer<float> f(count);
  convert_to_f32(device, type, f.get(), count, nullptr);
  return to_host(f.get(), count);
}

// The rounding step of a type near 1.0, used to scale tolerances.
inline float type_epsilon(DType type) {
  switch (type) {
    case DType::kF32: return 1.2e-7f;
    case DType::kF16: return 9.8e-4f;
    case DType::kBF16: return 7.8e-3f;
  }
  return 1.f;
}

}  // namespace senti::cuda::test
