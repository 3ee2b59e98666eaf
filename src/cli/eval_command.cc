// senti eval: accuracy, macro-F1, per-class precision/recall, confusion matrix and throughput of a
// model on a labelled JSONL file ({"text": ..., "label": 0|1|"positive"...} per line).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/default_model.h"
#include "cli/label_resolution.h"
#include "cli/progress_bar.h"
#include "cli/record_io.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string data;
  std::string text_field = "text";
  std::string label_field = "label";
  std::size_t max_length = 0;
  std::size_t batch_size = 32;
  int threads = 0;
  std::string precision = "auto";
  std::string device = "auto";
  bool json = false;
};

// The label id of a record's label field.
std::size_t label_id_of(const InputRecord& r, const std::string& field, const BertConfig& config,
                        const std::string& file) {
  const auto where = file + ":" + std::to_string(r.line) + ": ";
  const auto it = r.fields.find(field);
  if (it == r.fields.end()) throw InvalidInputError(where + "no \"" + field + "\" field");
  return resolve_label(*it, config, where);
}

struct Metrics {
  std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
  std::size_t total = 0;
  std::size_t truncated = 0;
};

double safe_div(double a, double b) { return b == 0 ? 0.0 : a / b; }

nlohmann::json summary(const Metrics& m, const BertConfig& config, const EvalOptions& o,
                       const std::string& model_path, const std::string& backend, std::size_t max_length,
                       double seconds) {
  const std::size_t n = config.num_labels();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) correct += m.confusion[i][i];
  nlohmann::json classes = nlohmann::json::array();
  double f1_sum = 0;
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t predicted = 0, support = 0;
    for (std::size_t i = 0; i < n; ++i) {
      predicted += m.confusion[i][c];
      support += m.confusion[c][i];
    }
    const double precision = safe_div(static_cast<double>(m.confusion[c][c]), static_cast<double>(predicted));
    const double recall = safe_div(static_cast<double>(m.confusion[c][c]), static_cast<double>(support));
    const double f1 = safe_div(2 * precision * recall, precision + recall);
    f1_sum += f1;
    classes.push_back({{"label", config.labels[c]}, {"precision", precision}, {"recall", recall}, {"f1", f1},
                       {"support", support}});
  }
  return {{"model", model_path},
          {"data", o.data},
          {"examples", m.total},
          {"accuracy", safe_div(static_cast<double>(correct), static_cast<double>(m.total))},
          {"macro_f1", n == 0 ? 0.0 : f1_sum / static_cast<double>(n)},
          {"labels", config.labels},
          {"classes", classes},
          {"confusion", m.confusion},
          {"truncated", m.truncated},
          {"seconds", seconds},
          {"texts_per_second", safe_div(static_cast<double>(m.total), seconds)},
          {"batch_size", o.batch_size},
          {"max_length", max_length},
          {"precision", o.precision},
          {"backend", backend}};
}

void print_text(const nlohmann::json& s) {
  const auto labels = s["labels"].get<std::vector<std::string>>();
  std::printf("model       %s\n", s["model"].get<std::string>().c_str());
  std::printf("data        %s (%zu examples, %zu truncated to %zu tokens)\n", s["data"].get<std::string>().c_str(),
              s["examples"].get<std::size_t>(), s["truncated"].get<std::size_t>(), s["max_length"].get<std::size_t>());
  std::printf("accuracy    %.4f\n", s["accuracy"].get<double>());
  std::printf("macro-F1    %.4f\n\n", s["macro_f1"].get<double>());
  std::printf("%-12s %9s %9s %9s %9s\n", "label", "precision", "recall", "f1", "support");
  for (const auto& c : s["classes"])
    std::printf("%-12s %9.4f %9.4f %9.4f %9zu\n", c["label"].get<std::string>().c_str(), c["precision"].get<double>(),
                c["recall"].get<double>(), c["f1"].get<double>(), c["support"].get<std::size_t>());
  std::printf("\nconfusion matrix (rows: true label, columns: predicted)\n%-12s", "");
  for (const auto& l : labels) std::printf(" %10s", l.c_str());
  std::printf("\n");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::printf("%-12s", labels[i].c_str());
    for (std::size_t j = 0; j < labels.size(); ++j) std::printf(" %10zu", s["confusion"][i][j].get<std::size_t>());
    std::printf("\n");
  }
  std::printf("\nthroughput  %.1f texts/s (%.2f s; batch %zu, precision %s, backend %s)\n",
              s["texts_per_second"].get<double>(), s["seconds"].get<double>(), s["batch_size"].get<std::size_t>(),
              s["precision"].get<std::string>().c_str(), s["backend"].get<std::string>().c_str());
}

int run_eval(const EvalOptions& o) {
  ClassifierOptions classifier_options;
  classifier_options.max_length = o.max_length;
  classifier_options.num_threads = o.threads;
  classifier_options.precision = o.precision;
  classifier_options.device = o.device;
  const auto model_path = resolve_model(o.model);
  RecordReader reader(o.data, FileFormat::kJsonl, o.text_field);  // opens (and fails) before the model loads
  Classifier classifier = Classifier::load(model_path, classifier_options);
  const BertConfig& config = classifier.config();
  const std::size_t n = config.num_labels();
  Metrics m;
  m.confusion.assign(n, std::vector<std::size_t>(n, 0));

  ProgressBar progress("eval", reader.size());
  double seconds = 0;  // tokenize + classify only: file parsing is not the model's throughput
  std::vector<Encoding> encodings;
  std::vector<std::size_t> gold;
  InputRecord record;
  const auto flush = [&] {
    if (encodings.empty()) return;
    const auto start = std::chrono::steady_clock::now();
    const auto predictions = classifier.classify(encodings);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (std::size_t i = 0; i < predictions.size(); ++i) ++m.confusion[gold[i]][predictions[i].label_id];
    m.total += predictions.size();
    encodings.clear();
    gold.clear();
    progress.update(reader.bytes_read(), m.total);
  };
  while (reader.next(record)) {
    gold.push_back(label_id_of(record, o.label_field, config, o.data));
    const auto start = std::chrono::steady_clock::now();
    try {
      if (!record.error.empty()) throw InvalidInputError(record.error);
      encodings.push_back(encode_nonempty(classifier.tokenizer(), record.text, std::nullopt, classifier.max_length()));
    } catch (const InvalidInputError& e) {
      throw InvalidInputError(o.data + ":" + std::to_string(record.line) + ": " + e.what());
    }
    m.truncated += encodings.back().truncated;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (encodings.size() >= o.batch_size) flush();
  }
  flush();
  progress.finish();
  if (m.total == 0) throw InvalidInputError(o.data + ": no examples");
  const auto s = summary(m, config, o, model_path.string(), classifier.backend_name(), classifier.max_length(), seconds);
  if (o.json) {
    std::cout << s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_text(s);
  }
  return 0;
}

}  // namespace

Action add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Measure a model on a labelled JSONL file: accuracy, macro-F1, "
                                             "per-class precision/recall, confusion matrix, throughput");
  cmd->add_option("--model,-m", o->model, "Model folder (Hugging Face checkpoint); default: the embedded model");
  cmd->add_option("--data,-d", o->data, "JSONL file, one {\"text\": ..., \"label\": ...} object per line")->required();
  cmd->add_option("--text-field", o->text_field, "Field holding the text (default: text)");
  cmd->add_option("--label-field", o->label_field, "Field holding the label: an id or a label name (default: label)");
  cmd->add_option("--max-length", o->max_length, "Truncate to this many tokens (default: the model's maximum)");
  cmd->add_option("--batch-size", o->batch_size, "Texts per batch (default: 32)")->check(CLI::Range(1, 4096));
  add_device_option(cmd, o->device);
  cmd->add_option("--threads", o->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", o->precision, "fp32, bf16, int8 or auto (default: auto); fp16 on CUDA")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}));
  cmd->add_flag("--json", o->json, "Print one machine-readable JSON object instead of the report");
  return [o] { return run_eval(*o); };
}

}  // namespace senti::cli
