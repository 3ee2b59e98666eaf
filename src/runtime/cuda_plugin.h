// The boundary between senti and its CUDA backend, built apart as the plugin libsenti_cuda.so
// (src/runtime/cuda) and loaded with dlopen only when --device cuda|auto finds a GPU (or `senti info`
// asks), so that a CPU-only process never maps the CUDA libraries (cuBLASLt alone is ~150 MB resident).
//
// The plugin exports one C function, senti_cuda_plugin_v1, returning a table of entry points. Both
// sides are built from one source tree by one compiler, so the entry points use senti's C++ types;
// the build id below refuses a plugin from another build.
#pragma once

#include <memory>
#include <string>

#include "runtime/backend.h"
#include "senti/host_info.h"

namespace senti {

inline constexpr int kCudaPluginAbi = 1;

struct CudaPluginApi {
  int abi = kCudaPluginAbi;
  const char* build_id = nullptr;  // must equal the loader's cuda_plugin_build_id()
  CudaAvailability (*availability)() = nullptr;   // CUDA runtime's view: a device it can use, or why not
  std::string (*runtime_version)() = nullptr;     // e.g. "13.0"
  // Throws like make_cuda_backend (ModelError, InvalidInputError, cuda::CudaError).
  std::unique_ptr<Backend> (*make_backend)(const Checkpoint& checkpoint, const BackendOptions& options) = nullptr;
};

// senti's version and compiler, compiled into both sides.
inline const char* cuda_plugin_build_id() {
#ifndef SENTI_PLUGIN_BUILD_ID
#define SENTI_PLUGIN_BUILD_ID "unversioned"
#endif
  return SENTI_PLUGIN_BUILD_ID " " __VERSION__;
}

}  // namespace senti

extern "C" {
// The plugin's only export. Never throws.
const senti::CudaPluginApi* senti_cuda_plugin_v1();
}
