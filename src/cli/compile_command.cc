// senti compile: a checkpoint folder -> one compiled model file (weights fused and pre-packed for
// this CPU at one precision). With --calibration, also reports the compiled model's accuracy (for
// labelled lines) and its argmax agreement with the fp32 model on those texts.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "runtime/backend.h"
#include "cli/default_model.h"
#include "cli/label_resolution.h"
#include "cli/record_io.h"
#include "runtime/compile.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti::cli {
namespace {

struct CompileOptions {
  std::string model;
  std::string output;
  std::string precision = "auto";
  std::string device = "auto";
  std::string calibration;
  std::size_t limit = 0;
  std::size_t max_length = 0;  // 0: 128, or the model's maximum when that is smaller
  int threads = 0;
};

struct Example {
  std::string text;
  long label = -1;  // -1: unlabelled
};

// The calibration file's texts and labels (optional per line; the same label names as `senti eval`).
// Every error names the file and line.
std::vector<Example> read_examples(const std::string& path, const Classifier& reference, std::size_t limit) {
  RecordReader reader(path, FileFormat::kJsonl, "text");
  std::vector<Example> out;
  InputRecord record;
  while ((limit == 0 || out.size() < limit) && reader.next(record)) {
    const std::string where = path + ":" + std::to_string(record.line) + ": ";
    if (!record.error.empty()) throw InvalidInputError(where + record.error);
    try {
      encode_nonempty(reference.tokenizer(), record.text);
    } catch (const InvalidInputError& e) {
      throw InvalidInputError(where + e.what());
    }
    Example e;
    e.text = std::move(record.text);
    if (auto it = record.fields.find("label"); it != record.fields.end() && !it->is_null())
      e.label = static_cast<long>(resolve_label(*it, reference.config(), where));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Prediction> classify_all(Classifier& classifier, const std::vector<Example>& examples) {
  std::vector<Prediction> out;
  std::vector<std::string> batch;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    batch.push_back(examples[i].text);
    if (batch.size() == 32 || i + 1 == examples.size()) {
      for (auto& p : classifier.classify(batch)) out.push_back(std::move(p));
      batch.clear();
    }
  }
  return out;
}

void evaluate(const CompileOptions& options, const std::filesystem::path& model, Classifier& compiled) {
  ClassifierOptions reference_options;
  reference_options.precision = "fp32";
  reference_options.max_length = options.max_length;
  reference_options.num_threads = options.threads;
  Classifier reference = Classifier::load(model, reference_options);
  const auto examples = read_examples(options.calibration, reference, options.limit);
  if (examples.empty()) throw InvalidInputError("calibration file " + options.calibration + " has no examples");
  const auto start = std::chrono::steady_clock::now();
  const auto ours = classify_all(compiled, examples);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto want = classify_all(reference, examples);
  std::size_t agree = 0, labelled = 0, correct = 0, reference_correct = 0;
  float worst = 0.f;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    agree += ours[i].label_id == want[i].label_id;
    for (std::size_t k = 0; k < ours[i].logits.size(); ++k)
      worst = std::max(worst, std::fabs(ours[i].logits[k] - want[i].logits[k]));
    if (examples[i].label >= 0) {
      ++labelled;
      correct += static_cast<long>(ours[i].label_id) == examples[i].label;
      reference_correct += static_cast<long>(want[i].label_id) == examples[i].label;
    }
  }
  const double n = static_cast<double>(examples.size());
  std::cout << fmt::format("calibration: {} texts from {} (max_length {}), {:.1f} texts/s compiled\n", examples.size(),
                           options.calibration, options.max_length, n / seconds);
  std::cout << fmt::format("  argmax agreement with fp32: {}/{} = {:.2f}%  (max |logit diff| {:.4f})\n", agree,
                           examples.size(), 100.0 * static_cast<double>(agree) / n, static_cast<double>(worst));
  if (labelled > 0) {
    const double l = static_cast<double>(labelled);
    std::cout << fmt::format("  accuracy on {} labelled texts: compiled {:.2f}%, fp32 {:.2f}% ({:+.2f} points)\n",
                             labelled, 100.0 * static_cast<double>(correct) / l,
                             100.0 * static_cast<double>(reference_correct) / l,
                             100.0 * (static_cast<double>(correct) - static_cast<double>(reference_correct)) / l);
  }
}

// Removes the temporary output unless the compile succeeded and renamed it into place.
class TemporaryOutput {
 public:
  explicit TemporaryOutput(const std::filesystem::path& final_path)
      : final_(final_path), temp_(final_path.string() + ".tmp-" + std::to_string(::getpid())) {}
  ~TemporaryOutput() {
    std::error_code ec;
    if (!committed_) std::filesystem::remove(temp_, ec);
  }
  TemporaryOutput(const TemporaryOutput&) = delete;
  TemporaryOutput& operator=(const TemporaryOutput&) = delete;
  const std::filesystem::path& path() const { return temp_; }
  void commit() {
    std::filesystem::rename(temp_, final_);
    committed_ = true;
  }

 private:
  std::filesystem::path final_, temp_;
  bool committed_ = false;
};

int run_compile(const CompileOptions& options) {
  // A .senti file holds weights packed for oneDNN: it runs on the CPU (auto resolves there too).
  if (resolve_device(options.device, options.precision) == "cuda" && options.device == "cuda") {
    throw ModelError("senti compile packs the weights for the CPU; the CUDA backend uploads a checkpoint folder "
                     "as it loads (use --device cpu or auto)");
  }
  const std::filesystem::path model = resolve_model(options.model);
  // Written under a temporary name and renamed at the very end: a compile that fails (bad model, bad
  // calibration file, interrupted) leaves no output file behind, nor replaces an older one.
  TemporaryOutput output(options.output);
  const CompileSummary s = compile_model(model, output.path(), options.precision, options.threads);
  std::cout << fmt::format("compiled {} -> {}: {}, {:.1f} MB, QKV fused, weights packed for oneDNN {} ({:.2f} s)\n",
                           model.string(), options.output, s.precision, static_cast<double>(s.bytes) / 1e6, s.backend,
                           s.pack_seconds);
  if (options.precision == "auto") std::cout << "precision: " << s.precision_choice << "\n";
  ClassifierOptions classifier_options;
  classifier_options.max_length = options.max_length;
  classifier_options.num_threads = options.threads;
  const auto start = std::chrono::steady_clock::now();
  Classifier compiled = Classifier::load(output.path(), classifier_options);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  CompileOptions effective = options;
  if (effective.max_length == 0) {
    effective.max_length = std::min<std::size_t>(128, compiled.config().max_position_embeddings);
    classifier_options.max_length = effective.max_length;
    compiled = Classifier::load(output.path(), classifier_options);
  }
  std::cout << fmt::format("load check: {:.1f} ms, backend {}\n", load_ms, compiled.backend_name());
  if (!options.calibration.empty()) evaluate(effective, model, compiled);
  output.commit();
  return 0;
}

}  // namespace

Action add_compile_command(CLI::App& app) {
  auto options = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Compile a checkpoint folder into one .senti file (fused, pre-packed weights; fast to load)");
  cmd->add_option("model", options->model, "Checkpoint folder (Hugging Face layout); default: the embedded model");
  cmd->add_option("--output,-o", options->output, "File to write, e.g. model.senti")->required();
  cmd->add_option("--precision", options->precision, "fp32, bf16, int8 or auto (default: auto, as predict picks)")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8"}));
  cmd->add_option("--calibration", options->calibration,
                  "JSON lines with \"text\" (and optional \"label\"): report accuracy and agreement with fp32");
  cmd->add_option("--limit", options->limit, "Use at most this many calibration lines (0: all)");
  cmd->add_option("--max-length", options->max_length, "Truncation for calibration texts (default: 128, or the model's maximum when smaller)");
  add_device_option(cmd, options->device);
  cmd->add_option("--threads", options->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  return [options] { return run_compile(*options); };
}

}  // namespace senti::cli
