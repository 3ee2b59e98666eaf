// The CPU backend's side of `senti compile`: a CpuModel (packed, fused weights, oneDNN layouts) to
// and from a compiled model file.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>

#include "model/compiled_file.h"
#include "runtime/cpu/cpu_model.h"

namespace senti::cpu {

// Adds the model's tensors to `writer` and returns the metadata describing them and the target
// (precision, oneDNN version and ISA, matmul kernel).
nlohmann::json add_cpu_model(const CpuModel& model, model::CompiledFileWriter& writer);

// Rebuilds a CpuModel whose weights point into the mapped file (which must outlive it); layouts
// the host's kernels do not take are re-packed (reorder). Throws ModelError when the file's
// weights cannot run here (e.g. bf16 without AVX512-BF16, int8 packed for VNNI on a CPU without it).
CpuModel load_cpu_model(const dnnl::engine& engine, const model::CompiledFile& file, const BertConfig& config);

}  // namespace senti::cpu
