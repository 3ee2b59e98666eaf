#include "runtime/cpu/precision.h"

#include "senti/error.h"

namespace senti::cpu {

Precision resolve_auto_precision(const CpuFeatures& f) {
  if (host_supports(Precision::kInt8, f) && (f.avx512_vnni || f.avx_vnni || f.amx_int8)) return Precision::kInt8;
  if (host_supports(Precision::kBf16, f)) return Precision::kBf16;
  return Precision::kFp32;
}

bool host_supports(Precision precision, const CpuFeatures& f) {
  switch (precision) {
    case Precision::kFp32: return true;
    // oneDNN 2.6 has no bf16 matmul below AVX-512 (primitive creation fails); int8 runs everywhere
    // (VNNI or not), only slower without it.
    case Precision::kBf16: return f.avx512_bf16 || (f.amx_bf16 && f.os_amx);
    case Precision::kInt8: return f.avx2 || f.avx512f;
  }
  return false;
}

Precision parse_precision(const std::string& name, const CpuFeatures& features) {
  if (name == "auto") return resolve_auto_precision(features);
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "int8") return Precision::kInt8;
  if (name == "fp16") throw InvalidInputError("precision fp16 runs on CUDA only (--device cuda); the CPU runs fp32, bf16 or int8");
  throw InvalidInputError("unknown precision '" + name + "' (expected fp32, bf16, int8 or auto)");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

}  // namespace senti::cpu
