// The CUDA entry points of a build without CUDA (SENTI_CUDA=OFF, or no CUDA compiler found): CUDA is
// never usable, and asking for it is a clear error.
#include "runtime/backend.h"
#include "senti/error.h"
#include "runtime/cuda_info.h"

namespace senti {

const CudaAvailability& cuda_availability() {
  static const CudaAvailability availability{false, false, "this senti was built without CUDA (SENTI_CUDA=OFF or no nvcc)"};
  return availability;
}

std::unique_ptr<Backend> make_cuda_backend(const Checkpoint&, const BackendOptions&) {
  throw ModelError("--device cuda: " + cuda_availability().reason);
}

void detect_cuda_runtime(HostInfo& info) {
  info.cuda_runtime = "not built in";
  info.cuda_status = "no CUDA device (" + cuda_availability().reason + ")";
}

}  // namespace senti
