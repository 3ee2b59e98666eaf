// RAII owners of device memory (cudaMalloc) and pinned host memory (cudaMallocHost).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

#include "runtime/cuda/cuda_check.h"

namespace senti::cuda {

template <typename T, cudaError_t (*Alloc)(void**, std::size_t), cudaError_t (*Free)(void*)>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t count) : count_(count) {
    if (count > 0) SENTI_CUDA_CHECK(Alloc(reinterpret_cast<void**>(&data_), count * sizeof(T)));
  }
  Buffer(Buffer&& other) noexcept : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  Buffer& operator=(Buffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (data_ != nullptr) Free(data_);  // errors at teardown cannot be reported
  }
  T* get() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

inline cudaError_t device_alloc(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t device_free(void* p) { return cudaFree(p); }
inline cudaError_t pinned_alloc(void** p, std::size_t bytes) { return cudaMallocHost(p, bytes); }
inline cudaError_t pinned_free(void* p) { return cudaFreeHost(p); }

template <typename T>
using DeviceBuffer = Buffer<T, device_alloc, device_free>;
template <typename T>
using PinnedBuffer = Buffer<T, pinned_alloc, pinned_free>;

}  // namespace senti::cuda
