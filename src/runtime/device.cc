// --device resolution, shared by every command and the service.
#include <string>

#include "runtime/backend.h"
#include "senti/error.h"

namespace senti {

std::string resolve_device(const std::string& requested, const std::string& precision) {
  if (requested == "cpu") return "cpu";
  const CudaAvailability& cuda = cuda_availability();
  if (requested == "cuda") {
    if (!cuda.usable) throw ModelError("--device cuda: " + cuda.reason);
    return "cuda";
  }
  if (requested == "auto") return cuda.usable && precision != "int8" ? "cuda" : "cpu";
  throw InvalidInputError("unknown device '" + requested + "' (expected cpu, cuda or auto)");
}

}  // namespace senti
