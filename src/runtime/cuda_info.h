// Fills HostInfo's CUDA runtime fields (runtime version, whether a device is usable and why not);
// implemented by the CUDA backend, or by cuda_unavailable.cc in a build without CUDA.
#pragma once

#include "senti/host_info.h"

namespace senti {

void detect_cuda_runtime(HostInfo& info);

}  // namespace senti
