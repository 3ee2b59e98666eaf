// senti predict: classify texts given as arguments, or one per line on stdin, one JSON line each.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/default_model.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti::cli {
namespace {

struct PredictOptions {
  std::string model;
  std::size_t max_length = 0;
  int threads = 0;
  std::string precision = "auto";
  std::string device = "auto";
  std::size_t batch_size = 32;
  std::vector<std::string> texts;
};

nlohmann::json prediction_json(const std::string& text, const Prediction& p, const BertConfig& config,
                               double latency_ms) {
  nlohmann::json scores = nlohmann::json::object();
  for (std::size_t i = 0; i < p.scores.size(); ++i) scores[config.labels[i]] = p.scores[i];
  nlohmann::json out = {{"text", text},   {"label", p.label},        {"score", p.score},
                        {"scores", scores}, {"tokens", p.num_tokens}, {"truncated", p.truncated},
                        {"latency_ms", latency_ms}};
  if (p.display_label != p.label) out["display_label"] = p.display_label;
  return out;
}

void print_json(const nlohmann::json& j) {
  // Invalid UTF-8 never reaches here as text (the tokenizer rejects it first); replace defensively.
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

// Classifies one group of texts in a single batch; texts the tokenizer rejects get an error line.
// Returns false when any text failed.
bool run_group(Classifier& classifier, const std::vector<std::string>& texts) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::optional<Encoding>> encodings(texts.size());
  std::vector<std::string> errors(texts.size());
  std::vector<Encoding> valid;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    try {
      encodings[i] = encode_nonempty(classifier.tokenizer(), texts[i], std::nullopt, classifier.max_length());
      valid.push_back(*encodings[i]);
    } catch (const InvalidInputError& e) {
      errors[i] = e.what();
    }
  }
  const std::vector<Prediction> predictions = classifier.classify(valid);
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  bool ok = true;
  std::size_t next = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (encodings[i]) {
      print_json(prediction_json(texts[i], predictions[next++], classifier.config(), latency_ms));
    } else {
      ok = false;
      print_json({{"text", texts[i]}, {"error", errors[i]}, {"error_type", "validation"}});
    }
  }
  std::cout.flush();
  return ok;
}

int run_predict(const PredictOptions& options) {
  ClassifierOptions classifier_options;
  classifier_options.max_length = options.max_length;
  classifier_options.num_threads = options.threads;
  classifier_options.precision = options.precision;
  classifier_options.device = options.device;
  Classifier classifier = Classifier::load(resolve_model(options.model), classifier_options);
  bool ok = true;
  if (!options.texts.empty()) {
    // Arguments are classified one at a time so latency_ms is each text's own.
    for (const auto& text : options.texts) ok = run_group(classifier, {text}) && ok;
    return ok ? 0 : 2;
  }
  std::vector<std::string> group;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    group.push_back(std::move(line));
    if (group.size() >= options.batch_size) {
      ok = run_group(classifier, group) && ok;
      group.clear();
    }
  }
  if (!group.empty()) ok = run_group(classifier, group) && ok;
  return ok ? 0 : 2;
}

}  // namespace

Action add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify texts (arguments, or one per line on stdin); prints one JSON line per text");
  cmd->add_option("--model,-m", options->model, "Model folder (Hugging Face checkpoint); default: the embedded model");
  cmd->add_option("--max-length", options->max_length, "Truncate to this many tokens (default: the model's maximum)");
  add_device_option(cmd, options->device);
  cmd->add_option("--threads", options->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", options->precision, "fp32, bf16, int8 or auto (default: auto); fp16 on CUDA")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}));
  cmd->add_option("--batch-size", options->batch_size, "Texts per batch when reading stdin")->check(CLI::Range(1, 4096));
  cmd->add_option("texts", options->texts, "Texts to classify; none: read lines from stdin");
  return [options] { return run_predict(*options); };
}

}  // namespace senti::cli
