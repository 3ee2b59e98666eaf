// senti predict: classify texts given as arguments, or one per line on stdin, one JSON line each (or,
// with --human, readable lines). --explain, --granularity and --long-text add the analysis fields.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/analysis_batch.h"
#include "cli/analysis_flags.h"
#include "cli/analysis_json.h"
#include "cli/analysis_text.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/default_model.h"
#include "senti/analysis.h"
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
  AnalysisFlags analysis;
  bool human = false;
  bool json = false;  // the default output; the flag only says so
};

// What run_group needs besides the texts.
struct PredictOutput {
  AnalysisOptions analysis;
  bool human = false;
  bool colour = false;
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

void print_json(const nlohmann::json& j) {  // keys in name order, as predict has always printed them
  // Invalid UTF-8 never reaches here as text (the tokenizer rejects it first); replace defensively.
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void print_error(const std::string& text, const std::string& error, const PredictOutput& out) {
  if (out.human) std::cout << "error: " << error << "  " << text << "\n";
  else print_json({{"text", text}, {"error", error}, {"error_type", "validation"}});
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Analyses one group of texts in a single batch (explain, sentences, chunks as asked).
bool run_analysis_group(Classifier& classifier, const std::vector<std::string>& texts, const PredictOutput& out) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<AnalysisOutcome> outcomes = analyze_each(classifier, texts, out.analysis);
  const double latency_ms = milliseconds_since(start);
  bool ok = true;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!outcomes[i].analysis) {
      ok = false;
      print_error(texts[i], outcomes[i].error, out);
    } else if (out.human) {
      std::cout << human_analysis(texts[i], *outcomes[i].analysis, out.analysis, out.colour);
    } else {
      nlohmann::json j = prediction_json(texts[i], outcomes[i].analysis->prediction, classifier.config(), latency_ms);
      const nlohmann::ordered_json fields = analysis_json(*outcomes[i].analysis, out.analysis);
      for (const auto& [key, value] : fields.items()) j[key] = nlohmann::json(value);
      print_json(j);
    }
  }
  std::cout.flush();
  return ok;
}

// Classifies one group of texts in a single batch; texts the tokenizer rejects get an error line.
// Returns false when any text failed.
bool run_group(Classifier& classifier, const std::vector<std::string>& texts, const PredictOutput& out) {
  if (wants_analysis(out.analysis)) return run_analysis_group(classifier, texts, out);
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
  const double latency_ms = milliseconds_since(start);
  bool ok = true;
  std::size_t next = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!encodings[i]) {
      ok = false;
      print_error(texts[i], errors[i], out);
    } else if (out.human) {
      std::cout << human_prediction(texts[i], predictions[next++]);
    } else {
      print_json(prediction_json(texts[i], predictions[next++], classifier.config(), latency_ms));
    }
  }
  std::cout.flush();
  return ok;
}

int run_predict(const PredictOptions& options) {
  PredictOutput out;
  out.analysis = analysis_options(options.analysis);  // a bad value fails before the model loads
  out.human = options.human;
  out.colour = options.human && stdout_wants_colour();
  ClassifierOptions classifier_options;
  classifier_options.max_length = options.max_length;
  classifier_options.num_threads = options.threads;
  classifier_options.precision = options.precision;
  classifier_options.device = options.device;
  Classifier classifier = Classifier::load(resolve_model(options.model), classifier_options);
  bool ok = true;
  if (!options.texts.empty()) {
    // Arguments are classified one at a time so latency_ms is each text's own.
    for (const auto& text : options.texts) ok = run_group(classifier, {text}, out) && ok;
    return ok ? 0 : 2;
  }
  std::vector<std::string> group;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    group.push_back(std::move(line));
    if (group.size() >= options.batch_size) {
      ok = run_group(classifier, group, out) && ok;
      group.clear();
    }
  }
  if (!group.empty()) ok = run_group(classifier, group, out) && ok;
  return ok ? 0 : 2;
}

}  // namespace

Action add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify texts (arguments, or one per line on stdin); prints one JSON line per text (--human: readable lines)");
  cmd->add_option("--model,-m", options->model, "Model folder (Hugging Face checkpoint); default: the embedded model");
  cmd->add_option("--max-length", options->max_length, "Truncate to this many tokens (default: the model's maximum)");
  add_device_option(cmd, options->device);
  cmd->add_option("--threads", options->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", options->precision, "fp32, bf16, int8 or auto (default: auto); fp16 on CUDA")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}));
  cmd->add_option("--batch-size", options->batch_size, "Texts per batch when reading stdin")->check(CLI::Range(1, 4096));
  add_analysis_flags(cmd, options->analysis);
  auto* human = cmd->add_flag("--human", options->human,
                              "Readable lines instead of JSON (colour when stdout is a terminal and NO_COLOR is unset)");
  cmd->add_flag("--json", options->json, "One JSON line per text (the default)")->excludes(human);
  cmd->add_option("texts", options->texts, "Texts to classify; none: read lines from stdin");
  return [options] { return run_predict(*options); };
}

}  // namespace senti::cli
