// senti compile's engine: a checkpoint folder -> one compiled model file (see model/compiled_file.h)
// with the weights fused and packed for the CPU backend at one precision.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace senti {

struct CompileSummary {
  std::string precision;     // fp32 | bf16 | int8
  std::string precision_choice;  // why (what auto measured, or the precision asked for)
  std::string backend;       // the backend that packed it (kernel, ISA)
  std::size_t bytes = 0;     // file size
  double pack_seconds = 0;   // load + pack + write
};

// Throws ModelError / InvalidInputError like Classifier::load. precision "auto" is chosen by measurement on
// this host with num_threads (runtime/auto_precision.h), as a load of the folder would choose it.
CompileSummary compile_model(const std::filesystem::path& model_dir, const std::filesystem::path& output,
                             const std::string& precision, int num_threads = 0);

}  // namespace senti
