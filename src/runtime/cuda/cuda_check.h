// Every CUDA runtime and cuBLASLt call goes through SENTI_CUDA_CHECK: a failure throws CudaError naming
// the call, the source file and line, and the runtime's own message. Nothing aborts the process.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <string>

#include "senti/error.h"

namespace senti::cuda {

// A CUDA call failed at run time (out of memory, a driver error, a kernel fault).
class CudaError : public Error {
 public:
  using Error::Error;
};

inline void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                    cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
  }
}

inline void check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                    cublasLtGetStatusName(status) + " (" + cublasLtGetStatusString(status) + ")");
  }
}

}  // namespace senti::cuda

#define SENTI_CUDA_CHECK(call) ::senti::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch errors (bad configuration) surface here, asynchronous ones at the next sync.
#define SENTI_CUDA_CHECK_LAUNCH() ::senti::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
