// Compute precisions of the CPU backend and how "auto" picks one for the host.
#pragma once

#include <string>

#include "senti/host_info.h"

namespace senti::cpu {

enum class Precision { kFp32, kBf16, kInt8 };

// "fp32" | "bf16" | "int8"; "auto" resolves with resolve_auto_precision. Throws InvalidInputError.
Precision parse_precision(const std::string& name, const CpuFeatures& features);
const char* precision_name(Precision precision);

// int8 when the host has int8 dot-product instructions (AVX512-VNNI, AVX-VNNI or AMX-INT8), else bf16
// when it has bf16 ones (AVX512-BF16 or AMX-BF16), else fp32.
Precision resolve_auto_precision(const CpuFeatures& features);

// Whether oneDNN can run this precision's matmuls fast on the host (bf16 needs AVX512-BF16/AMX).
bool host_supports(Precision precision, const CpuFeatures& features);

}  // namespace senti::cpu
