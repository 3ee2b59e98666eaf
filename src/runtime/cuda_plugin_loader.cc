// senti's side of the CUDA plugin (cuda_plugin.h): finds libsenti_cuda.so, loads it only once the
// CUDA driver reports a device (or `senti info` asks), and answers cuda_availability(),
// make_cuda_backend() and detect_cuda_runtime() through it. senti itself links no CUDA library.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "runtime/cuda_info.h"
#include "runtime/cuda_plugin.h"
#include "senti/error.h"

namespace senti {
namespace {

constexpr const char* kPluginFile = "libsenti_cuda.so";

// Where the plugin may be: $SENTI_CUDA_PLUGIN, then next to the binary (or the Python module) this
// code is linked into, then its ../lib/senti, then the build tree (tests run from their own folders).
std::vector<std::filesystem::path> plugin_candidates() {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("SENTI_CUDA_PLUGIN"); env != nullptr && *env != '\0') return {env};
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&plugin_candidates), &self) != 0 && self.dli_fname != nullptr) {
    std::error_code ec;
    std::filesystem::path module = std::filesystem::canonical("/proc/self/exe", ec);
    if (std::string(self.dli_fname).find(".so") != std::string::npos) module = self.dli_fname;
    if (!module.empty()) {
      out.push_back(module.parent_path() / kPluginFile);
      out.push_back(module.parent_path() / "../lib/senti" / kPluginFile);
    }
  }
#ifdef SENTI_CUDA_PLUGIN_BUILD_DIR
  out.push_back(std::filesystem::path(SENTI_CUDA_PLUGIN_BUILD_DIR) / kPluginFile);
#endif
  return out;
}

struct Loaded {
  const CudaPluginApi* api = nullptr;
  std::string error;  // why api is null
};

Loaded load_plugin() {
  Loaded out;
  std::string tried;
  for (const auto& path : plugin_candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path.string();
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // kept open for the process's life
    if (handle == nullptr) {
      const char* e = dlerror();
      out.error = "the CUDA plugin " + path.string() + " failed to load: " + (e != nullptr ? e : "?");
      return out;
    }
    auto entry = reinterpret_cast<const CudaPluginApi* (*)()>(dlsym(handle, "senti_cuda_plugin_v1"));
    const CudaPluginApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || api->abi != kCudaPluginAbi || api->build_id == nullptr ||
        std::string(api->build_id) != cuda_plugin_build_id()) {
      out.error = "the CUDA plugin " + path.string() + " is from another senti build (" +
                  (api != nullptr && api->build_id != nullptr ? api->build_id : "no build id") + ", this is " +
                  cuda_plugin_build_id() + ")";
      return out;
    }
    out.api = api;
    return out;
  }
  out.error = "this senti has no CUDA plugin (" + std::string(kPluginFile) + " not found: " + tried +
              "; it is built when CMake finds nvcc, SENTI_CUDA=ON)";
  return out;
}

const Loaded& plugin() {
  static const Loaded loaded = load_plugin();
  return loaded;
}

// The driver's device count through libcuda (dlopen; no CUDA library of senti's is loaded): the
// plugin, and with it the CUDA runtime and cuBLASLt, is loaded only when there is a device.
bool driver_has_device(std::string& why) {
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);  // kept open: the runtime uses it
  if (lib == nullptr) {
    why = "no CUDA driver (libcuda.so.1 not found)";
    return false;
  }
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(lib, "cuDeviceGetCount"));
  int n = 0;
  if (init == nullptr || count == nullptr) {
    why = "the CUDA driver lacks cuInit/cuDeviceGetCount";
    return false;
  }
  if (const int status = init(0); status != 0) {
    why = "no usable CUDA device: cuInit returned " + std::to_string(status);
    return false;
  }
  if (count(&n) != 0 || n == 0) {
    why = "no CUDA device found";
    return false;
  }
  return true;
}

CudaAvailability probe() {
  CudaAvailability a;
  if (!driver_has_device(a.reason)) return a;
  const Loaded& p = plugin();
  if (p.api == nullptr) {
    a.reason = p.error;
    return a;
  }
  return p.api->availability();
}

}  // namespace

const CudaAvailability& cuda_availability() {
  static const CudaAvailability availability = probe();
  return availability;
}

std::unique_ptr<Backend> make_cuda_backend(const Checkpoint& checkpoint, const BackendOptions& options) {
  const CudaAvailability& availability = cuda_availability();
  if (!availability.usable) throw ModelError("--device cuda: " + availability.reason);
  return plugin().api->make_backend(checkpoint, options);
}

// `senti info` loads the plugin even without a GPU, to name the runtime it was built with.
void detect_cuda_runtime(HostInfo& info) {
  const Loaded& p = plugin();
  info.cuda_runtime = p.api != nullptr ? p.api->runtime_version() + " (plugin)" : "no plugin";
  const CudaAvailability& a = cuda_availability();
  if (a.usable) {
    info.cuda_status = "ok";
  } else {
    info.cuda_status = "no CUDA device (" + a.reason + ")";
    if (p.api == nullptr && a.reason != p.error) info.cuda_status += "; " + p.error;
  }
}

}  // namespace senti
