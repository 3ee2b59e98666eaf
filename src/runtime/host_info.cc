#include "senti/host_info.h"

#include <dlfcn.h>

#include <fstream>
#include <string>
#include <thread>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/cuda_info.h"

namespace senti {

std::string detect_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

namespace {

std::string isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "SSE4.1";
    case dnnl::cpu_isa::avx: return "AVX";
    case dnnl::cpu_isa::avx2: return "AVX2";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2 + VNNI";
    case dnnl::cpu_isa::avx512_core: return "AVX-512";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 + VNNI";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 + VNNI + BF16";
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 + AMX (BF16, INT8)";
    default: return "other";
  }
}

// The CUDA driver API, loaded on demand so the binary neither links nor needs CUDA.
void detect_gpus(HostInfo& info) {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    info.cuda_driver = "not found (no libcuda.so.1)";
    return;
  }
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  using GetFn = int (*)(int*, int);
  using NameFn = int (*)(char*, int, int);
  using MemFn = int (*)(std::size_t*, int);
  using AttrFn = int (*)(int*, int, int);
  using VersionFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(lib, "cuDeviceGetCount"));
  auto get = reinterpret_cast<GetFn>(dlsym(lib, "cuDeviceGet"));
  auto name = reinterpret_cast<NameFn>(dlsym(lib, "cuDeviceGetName"));
  auto mem = reinterpret_cast<MemFn>(dlsym(lib, "cuDeviceTotalMem_v2"));
  auto attr = reinterpret_cast<AttrFn>(dlsym(lib, "cuDeviceGetAttribute"));
  auto version = reinterpret_cast<VersionFn>(dlsym(lib, "cuDriverGetVersion"));
  int driver = 0;
  if (version != nullptr && version(&driver) == 0)
    info.cuda_driver = std::to_string(driver / 1000) + "." + std::to_string((driver % 1000) / 10);
  int n = 0;
  if (init == nullptr || count == nullptr || init(0) != 0 || count(&n) != 0) {
    info.cuda_driver += " (no usable device)";
    n = 0;
  }
  for (int i = 0; i < n; ++i) {
    int device = 0;
    if (get == nullptr || get(&device, i) != 0) continue;
    GpuInfo gpu;
    char buffer[256] = {};
    if (name != nullptr && name(buffer, sizeof buffer, device) == 0) gpu.name = buffer;
    if (mem != nullptr) mem(&gpu.memory_bytes, device);
    if (attr != nullptr) {
      attr(&gpu.compute_major, 75, device);  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
      attr(&gpu.compute_minor, 76, device);  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
    }
    info.gpus.push_back(gpu);
  }
  // The handle stays open: the driver does not support being unloaded after cuInit.
}

}  // namespace

HostInfo detect_host() {
  HostInfo info;
  info.cpu_model = detect_cpu_model();
  info.logical_cores = std::thread::hardware_concurrency();
  info.features = detect_cpu_features();
  const dnnl_version_t* v = dnnl_version();
  info.onednn_version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  info.onednn_isa = isa_name(dnnl::get_effective_cpu_isa());
  detect_gpus(info);
  detect_cuda_runtime(info);
  return info;
}

}  // namespace senti
