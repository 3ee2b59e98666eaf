#include "runtime/compile.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>

#include "model/compiled_file.h"
#include "model/compiled_model.h"
#include "runtime/auto_precision.h"
#include "runtime/cpu/compiled_cpu_model.h"
#include "runtime/cpu/cpu_model.h"
#include "senti/checkpoint.h"
#include "senti/error.h"
#include "senti/host_info.h"

namespace senti {

CompileSummary compile_model(const std::filesystem::path& model_dir, const std::filesystem::path& output,
                             const std::string& precision, int num_threads) {
  const auto start = std::chrono::steady_clock::now();
  const Checkpoint checkpoint = Checkpoint::load(model_dir);
  const BertConfig& config = checkpoint.config();
  const BertTokenizer tokenizer = BertTokenizer::from_folder(model_dir, config.max_position_embeddings);
  nlohmann::json config_json;
  try {
    std::ifstream in(model_dir / "config.json");
    config_json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError((model_dir / "config.json").string() + ": " + e.what());
  }

  const CpuFeatures features = detect_cpu_features();
  std::string precision_choice = "asked for " + precision;
  std::string name = precision;
  const AutoPrecisionSettings auto_settings = auto_precision_settings_from_env();
  if (precision == "auto" && auto_settings.measure) {
    BackendOptions options;
    options.num_threads = num_threads;
    PrecisionChoice choice = choose_cpu_precision(
        checkpoint, tokenizer, std::min(tokenizer.options().model_max_length, config.max_position_embeddings), options,
        auto_settings);
    name = choice.precision;
    precision_choice = choice.reason;
  }
  const cpu::Precision p = cpu::parse_precision(name, features);
  if (precision == "auto" && name == "auto") precision_choice = std::string("auto by the CPU's features: ") + cpu::precision_name(p);
  if (!cpu::host_supports(p, features)) {
    throw InvalidInputError(std::string("cannot compile for ") + cpu::precision_name(p) +
                            " on this CPU (bf16 needs AVX512-BF16 or AMX-BF16)");
  }
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const cpu::CpuModel model = cpu::pack_checkpoint(engine, checkpoint, p);

  model::CompiledFileWriter writer;
  nlohmann::json metadata = cpu::add_cpu_model(model, writer);
  metadata["format"] = "senti-compiled-model";
  metadata["format_version"] = model::kCompiledFormatVersion;
  metadata["config"] = config_json;
  metadata["tokenizer"] = model::tokenizer_to_json(tokenizer);
  metadata["source"] = {{"folder", model_dir.string()}, {"weights_file", checkpoint.weights_file()}};
  writer.write(output, std::move(metadata));

  CompileSummary summary;
  summary.precision = cpu::precision_name(p);
  summary.precision_choice = precision_choice;
  summary.backend = model.layers.empty() ? "" : model.layers.front().qkv.implementation();
  summary.bytes = std::filesystem::file_size(output);
  summary.pack_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace senti
