// libsenti_cuda.so's only export: the entry points senti's loader (cuda_plugin_loader.cc) calls.
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda_plugin.h"

extern "C" __attribute__((visibility("default"))) const senti::CudaPluginApi* senti_cuda_plugin_v1() {
  static const senti::CudaPluginApi api = [] {
    senti::CudaPluginApi a;
    a.build_id = senti::cuda_plugin_build_id();
    a.availability = [] { return senti::cuda::availability(); };
    a.runtime_version = &senti::cuda::cuda_runtime_version;
    a.make_backend = &senti::cuda::make_backend;
    return a;
  }();
  return &api;
}
