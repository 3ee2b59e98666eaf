// The CUDA runtime's view of this host (the plugin's availability and runtime_version entries).
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <string>

#include "runtime/backend.h"
#include "runtime/cuda/cuda_backend.h"

namespace senti::cuda {
namespace {

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

CudaAvailability probe() {
  CudaAvailability a;
  a.built = true;
  // The runtime would only say "driver version insufficient" when there is no driver at all.
  if (dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) == nullptr) {  // kept open: the runtime uses it
    a.reason = "no CUDA driver (libcuda.so.1 not found)";
    return a;
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    a.reason = std::string("no usable CUDA device: ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
    cudaGetLastError();  // clear it
    return a;
  }
  if (count == 0) {
    a.reason = "no CUDA device found";
    return a;
  }
  a.usable = true;
  return a;
}

}  // namespace

const CudaAvailability& availability() {
  static const CudaAvailability a = probe();
  return a;
}

std::string cuda_runtime_version() {
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) return "unknown";
  return version_string(runtime);
}

}  // namespace senti::cuda
