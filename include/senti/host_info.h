// What the host offers the runtime: CPU model, cores, the ISA extensions that matter for BERT
// inference, the ISA oneDNN will actually use, and any CUDA GPU the driver reports.
#pragma once

#include <string>
#include <vector>

namespace senti {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false, avx512_bf16 = false;
  bool avx_vnni = false;
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;
  bool os_avx512 = false;  // the OS saves ZMM state (XCR0)
  bool os_amx = false;     // the OS saves AMX tile state (XCR0)
};

struct GpuInfo {
  std::string name;
  std::size_t memory_bytes = 0;
  int compute_major = 0, compute_minor = 0;
};

struct HostInfo {
  std::string cpu_model;
  unsigned logical_cores = 0;
  CpuFeatures features;
  std::string onednn_version;
  std::string onednn_isa;  // the ISA oneDNN dispatches to on this host
  std::string cuda_driver;  // "not found" when libcuda is absent
  std::string cuda_runtime;  // the CUDA plugin's runtime ("13.0 (plugin)"), "no plugin" without libsenti_cuda.so
  std::string cuda_status;   // "ok" when the CUDA backend can run, else "no CUDA device (reason)"
  std::vector<GpuInfo> gpus;
};

CpuFeatures detect_cpu_features();
// /proc/cpuinfo's model name ("unknown" if none). Cheap: unlike detect_host(), it loads no CUDA plugin.
std::string detect_cpu_model();
// Everything above; asks the CUDA driver and loads the CUDA plugin when there is one (senti info).
HostInfo detect_host();

}  // namespace senti
