// senti compile: a checkpoint folder -> one compiled model file (weights fused and pre-packed for
// this CPU at one precision). With --calibration, also reports the compiled model's accuracy (for
// labelled lines) and its argmax agreement with the fp32 model on those texts.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "runtime/backend.h"
#include "runtime/compile.h"
#include "senti/classifier.h"
#include "senti/error.h"

namespace senti::cli {
namespace {

struct CompileOptions {
  std::string model;
  std::string output;
  std::string precision = "auto";
  std::string device = "auto";
  std::string calibration;
  std::size_t limit = 0;
  std::size_t max_length = 128;
  int threads = 0;
};

struct Example {
  std::string text;
  long label = -1;  // -1: unlabelled
};

std::vector<Example> read_examples(const std::string& path, const BertConfig& config, std::size_t limit) {
  std::ifstream in(path);
  if (!in) throw InvalidInputError("cannot read calibration file " + path);
  std::vector<Example> out;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line) && (limit == 0 || out.size() < limit)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto j = nlohmann::json::parse(line);
      Example e;
      e.text = j.at("text").get<std::string>();
      if (auto it = j.find("label"); it != j.end() && !it->is_null()) {
        if (it->is_number_integer()) {
          e.label = it->get<long>();
        } else {
          const auto name = it->get<std::string>();
          const auto found = std::find(config.labels.begin(), config.labels.end(), name);
          if (found == config.labels.end()) throw InvalidInputError("unknown label " + name);
          e.label = found - config.labels.begin();
        }
      }
      out.push_back(std::move(e));
    } catch (const nlohmann::json::exception& e) {
      throw InvalidInputError(fmt::format("{}:{}: not a JSON object with \"text\": {}", path, number, e.what()));
    }
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

void evaluate(const CompileOptions& options, Classifier& compiled) {
  ClassifierOptions reference_options;
  reference_options.precision = "fp32";
  reference_options.max_length = options.max_length;
  reference_options.num_threads = options.threads;
  Classifier reference = Classifier::load(options.model, reference_options);
  const auto examples = read_examples(options.calibration, reference.config(), options.limit);
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

int run_compile(const CompileOptions& options) {
  // A .senti file holds weights packed for oneDNN: it runs on the CPU (auto resolves there too).
  if (resolve_device(options.device, options.precision) == "cuda" && options.device == "cuda") {
    throw ModelError("senti compile packs the weights for the CPU; the CUDA backend uploads a checkpoint folder "
                     "as it loads (use --device cpu or auto)");
  }
  const CompileSummary s = compile_model(options.model, options.output, options.precision);
  std::cout << fmt::format("compiled {} -> {}: {}, {:.1f} MB, QKV fused, weights packed for oneDNN {} ({:.2f} s)\n",
                           options.model, options.output, s.precision, static_cast<double>(s.bytes) / 1e6, s.backend,
                           s.pack_seconds);
  ClassifierOptions classifier_options;
  classifier_options.max_length = options.max_length;
  classifier_options.num_threads = options.threads;
  const auto start = std::chrono::steady_clock::now();
  Classifier compiled = Classifier::load(options.output, classifier_options);
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format("load check: {:.1f} ms, backend {}\n", load_ms, compiled.backend_name());
  if (!options.calibration.empty()) evaluate(options, compiled);
  return 0;
}

}  // namespace

Action add_compile_command(CLI::App& app) {
  auto options = std::make_shared<CompileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Compile a checkpoint folder into one .senti file (fused, pre-packed weights; fast to load)");
  cmd->add_option("model", options->model, "Checkpoint folder (Hugging Face layout)")->required();
  cmd->add_option("--output,-o", options->output, "File to write, e.g. model.senti")->required();
  cmd->add_option("--precision", options->precision, "fp32, bf16, int8 or auto (default: auto, as predict picks)")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "int8"}));
  cmd->add_option("--calibration", options->calibration,
                  "JSON lines with \"text\" (and optional \"label\"): report accuracy and agreement with fp32");
  cmd->add_option("--limit", options->limit, "Use at most this many calibration lines (0: all)");
  cmd->add_option("--max-length", options->max_length, "Truncation for calibration texts (default 128)");
  add_device_option(cmd, options->device);
  cmd->add_option("--threads", options->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  return [options] { return run_compile(*options); };
}

}  // namespace senti::cli
