// senti bench: measures the engine in-process on a file of texts.
//   latency mode:    one text at a time (batch 1), tokenization included and also reported on its own;
//                    p50/p90/p99/mean per request over all texts x runs.
//   throughput mode: each run tokenizes every text, sorts by length and cuts batches under a token
//                    budget (count x longest <= --batch-tokens, at most --max-batch texts); the figure
//                    is texts/s end to end (tokenization included), median over runs.
// bench/run.py drives it next to the Python peers; --predictions-out feeds its agreement check.
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_support.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/default_model.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/host_info.h"

namespace senti::cli {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct BenchOptions {
  std::string model;
  std::string precision = "auto";
  std::string device = "auto";
  int threads = 0;
  std::string input;
  std::size_t max_length = 128;
  std::string mode = "latency";
  std::size_t batch_tokens = 8192;
  std::size_t max_batch = 64;
  int warmup = -1;  // -1: the mode's default
  int runs = 5;
  std::size_t limit = 0;
  std::string predictions_out;
  bool json = false;
};

struct Workload {
  std::vector<std::string> texts;
  std::vector<std::size_t> lengths;  // tokens per text after truncation, [CLS]/[SEP] included
};

Encoding encode(const Classifier& classifier, const std::string& text, std::size_t index) {
  try {
    return classifier.tokenizer().encode(text, std::nullopt, classifier.max_length());
  } catch (const InvalidInputError& e) {
    throw InvalidInputError("text " + std::to_string(index + 1) + " of the input: " + e.what());
  }
}

// Latency: one request = encode + classify of a single text. Returns the label id of each text
// (from the first run) and fills `result`.
std::vector<std::size_t> run_latency(Classifier& classifier, const Workload& w, const BenchOptions& o,
                                     nlohmann::json& result) {
  const int warmup = o.warmup >= 0 ? o.warmup : 10;
  for (int i = 0; i < warmup; ++i) {
    const std::size_t t = static_cast<std::size_t>(i) % w.texts.size();
    classifier.classify(std::vector<Encoding>{encode(classifier, w.texts[t], t)});
  }
  std::vector<double> total, tokenize, inference, run_p50;
  std::vector<std::size_t> labels(w.texts.size());
  for (int r = 0; r < o.runs; ++r) {
    std::vector<double> this_run;
    for (std::size_t t = 0; t < w.texts.size(); ++t) {
      const auto start = Clock::now();
      std::vector<Encoding> batch{encode(classifier, w.texts[t], t)};
      const double tok_ms = ms_since(start);
      const auto infer_start = Clock::now();
      const std::vector<Prediction> p = classifier.classify(batch);
      const double inf_ms = ms_since(infer_start);
      const double all_ms = ms_since(start);
      if (r == 0) labels[t] = p.at(0).label_id;
      total.push_back(all_ms);
      tokenize.push_back(tok_ms);
      inference.push_back(inf_ms);
      this_run.push_back(all_ms);
    }
    run_p50.push_back(bench::median(this_run));
  }
  result["warmup_requests"] = warmup;
  result["requests"] = total.size();
  result["latency_ms"] = bench::to_json(bench::summarize(total));
  result["tokenize_ms"] = bench::to_json(bench::summarize(tokenize));
  result["inference_ms"] = bench::to_json(bench::summarize(inference));
  result["run_p50_ms"] = run_p50;
  result["p50_ms_median_of_runs"] = bench::median(run_p50);
  return labels;
}

// Throughput: each run tokenizes all texts, buckets them by length and classifies batch by batch.
std::vector<std::size_t> run_throughput(Classifier& classifier, const Workload& w, const BenchOptions& o,
                                        nlohmann::json& result) {
  const int warmup = o.warmup >= 0 ? o.warmup : 2;
  const auto buckets = bench::length_buckets(w.lengths, o.batch_tokens, o.max_batch);
  for (int i = 0; i < warmup && !buckets.empty(); ++i) {
    std::vector<Encoding> batch;
    for (const std::size_t t : buckets[static_cast<std::size_t>(i) % buckets.size()])
      batch.push_back(encode(classifier, w.texts[t], t));
    classifier.classify(batch);
  }
  std::size_t total_tokens = 0;
  for (const std::size_t n : w.lengths) total_tokens += n;
  const auto n_texts = static_cast<double>(w.texts.size());
  std::vector<double> texts_per_s, inference_texts_per_s, tokens_per_s, tokenize_ms;
  std::vector<std::size_t> labels(w.texts.size());
  for (int r = 0; r < o.runs; ++r) {
    const auto start = Clock::now();
    std::vector<Encoding> encodings;
    encodings.reserve(w.texts.size());
    std::vector<std::size_t> lengths;
    lengths.reserve(w.texts.size());
    for (std::size_t t = 0; t < w.texts.size(); ++t) {
      encodings.push_back(encode(classifier, w.texts[t], t));
      lengths.push_back(encodings.back().input_ids.size());
    }
    const auto run_buckets = bench::length_buckets(lengths, o.batch_tokens, o.max_batch);
    const double tok_ms = ms_since(start);
    const auto infer_start = Clock::now();
    for (const auto& bucket : run_buckets) {
      std::vector<Encoding> batch;
      batch.reserve(bucket.size());
      for (const std::size_t t : bucket) batch.push_back(std::move(encodings[t]));
      const std::vector<Prediction> p = classifier.classify(batch);
      if (r == 0)
        for (std::size_t k = 0; k < bucket.size(); ++k) labels[bucket[k]] = p.at(k).label_id;
    }
    const double infer_ms = ms_since(infer_start);
    const double all_ms = ms_since(start);
    texts_per_s.push_back(n_texts / (all_ms / 1000.0));
    inference_texts_per_s.push_back(n_texts / (infer_ms / 1000.0));
    tokens_per_s.push_back(static_cast<double>(total_tokens) / (all_ms / 1000.0));
    tokenize_ms.push_back(tok_ms);
  }
  std::size_t largest = 0;
  for (const auto& b : buckets) largest = std::max(largest, b.size());
  result["warmup_batches"] = warmup;
  result["batches"] = buckets.size();
  result["largest_batch"] = largest;
  result["batch_tokens"] = o.batch_tokens;
  result["max_batch"] = o.max_batch;
  result["texts_per_s"] = bench::median(texts_per_s);
  result["texts_per_s_runs"] = texts_per_s;
  result["inference_texts_per_s"] = bench::median(inference_texts_per_s);
  result["tokens_per_s"] = bench::median(tokens_per_s);
  result["tokenize_ms_per_run"] = bench::median(tokenize_ms);
  return labels;
}

void write_predictions(const std::string& path, const std::vector<std::size_t>& labels) {
  std::ofstream out(path);
  if (!out) throw InvalidInputError("cannot write predictions file " + path);
  for (const std::size_t id : labels) out << id << "\n";
  if (!out.flush()) throw InvalidInputError("failed writing predictions file " + path);
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

void print_table(const nlohmann::json& r) {
  auto row = [](const std::string& k, const std::string& v) { std::cout << std::left << std::setw(22) << k << v << "\n"; };
  row("model", r["model"].get<std::string>());
  row("backend", r["backend"].get<std::string>() + " (precision requested: " + r["precision"].get<std::string>() + ")");
  row("precision", r["precision_choice"].get<std::string>());
  row("cpu", r["cpu_model"].get<std::string>());
  row("threads", std::to_string(r["threads"].get<int>()));
  row("load", fixed(r["load_ms"].get<double>(), 1) + " ms");
  row("texts", std::to_string(r["texts"].get<std::size_t>()) + " (mean " + fixed(r["tokens"]["mean"].get<double>(), 1) +
                   " tokens, max " + std::to_string(r["tokens"]["max"].get<std::size_t>()) + ", max_length " +
                   std::to_string(r["max_length"].get<std::size_t>()) + ")");
  row("runs", std::to_string(r["runs"].get<int>()));
  if (r["mode"] == "latency") {
    std::cout << "\n" << std::left << std::setw(22) << "per request (ms)" << std::right << std::setw(10) << "p50"
              << std::setw(10) << "p90" << std::setw(10) << "p99" << std::setw(10) << "mean" << "\n";
    const std::pair<const char*, const char*> rows[] = {
        {"latency_ms", "total"}, {"tokenize_ms", "  tokenization"}, {"inference_ms", "  inference"}};
    for (const auto& [key, name] : rows) {
      const auto& s = r[key];
      std::cout << std::left << std::setw(22) << name << std::right << std::setw(10) << fixed(s["p50"], 3)
                << std::setw(10) << fixed(s["p90"], 3) << std::setw(10) << fixed(s["p99"], 3) << std::setw(10)
                << fixed(s["mean"], 3) << "\n";
    }
  } else {
    std::cout << "\n";
    row("batches", std::to_string(r["batches"].get<std::size_t>()) + " (<= " +
                       std::to_string(r["batch_tokens"].get<std::size_t>()) + " padded tokens, <= " +
                       std::to_string(r["max_batch"].get<std::size_t>()) + " texts)");
    row("texts/s (median)", fixed(r["texts_per_s"], 1) + " end to end, " + fixed(r["inference_texts_per_s"], 1) +
                                " without tokenization");
    row("tokens/s (median)", fixed(r["tokens_per_s"], 0));
    row("tokenize per run", fixed(r["tokenize_ms_per_run"], 1) + " ms");
  }
}

int run_bench(const BenchOptions& o) {
  ClassifierOptions classifier_options;
  classifier_options.max_length = o.max_length;
  classifier_options.num_threads = o.threads;
  classifier_options.precision = o.precision;
  classifier_options.device = o.device;
  const auto model = resolve_model(o.model);
  const auto load_start = Clock::now();
  Classifier classifier = Classifier::load(model, classifier_options);
  const double load_ms = ms_since(load_start);

  Workload w;
  w.texts = bench::read_texts(o.input, o.limit);
  for (std::size_t t = 0; t < w.texts.size(); ++t) w.lengths.push_back(encode(classifier, w.texts[t], t).input_ids.size());
  std::size_t total_tokens = 0, max_tokens = 0;
  for (const std::size_t n : w.lengths) {
    total_tokens += n;
    max_tokens = std::max(max_tokens, n);
  }

  const HostInfo host = detect_host();
  nlohmann::json result = {
      {"tool", "senti bench"},
      {"version", SENTI_VERSION},
      {"mode", o.mode},
      {"model", model.string()},
      {"input", o.input},
      {"precision", o.precision},
      {"precision_run", classifier.precision()},
      {"precision_choice", classifier.precision_choice()},
      {"backend", classifier.backend_name()},
      {"cpu_model", host.cpu_model},
      {"logical_cores", host.logical_cores},
      {"threads", o.threads > 0 ? o.threads : static_cast<int>(host.logical_cores)},
      {"load_ms", load_ms},
      {"max_length", classifier.max_length()},
      {"texts", w.texts.size()},
      {"runs", o.runs},
      {"tokens",
       {{"total", total_tokens},
        {"max", max_tokens},
        {"mean", static_cast<double>(total_tokens) / static_cast<double>(w.texts.size())}}}};
  const std::vector<std::size_t> labels =
      o.mode == "latency" ? run_latency(classifier, w, o, result) : run_throughput(classifier, w, o, result);
  if (!o.predictions_out.empty()) {
    write_predictions(o.predictions_out, labels);
    result["predictions_out"] = o.predictions_out;
  }
  if (o.json) {
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_table(result);
  }
  return 0;
}

}  // namespace

Action add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure latency (batch 1) or throughput (length-bucketed batches) on a file of texts");
  cmd->add_option("--model,-m", o->model, "Model folder or compiled file; default: the embedded model");
  cmd->add_option("--precision", o->precision, "fp32, bf16, int8 or auto (default: auto); fp16 on CUDA")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}));
  add_device_option(cmd, o->device);
  cmd->add_option("--threads", o->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--input", o->input, "Texts: .jsonl (\"text\" field), .csv (\"text\" column) or .txt (one text per line)")->required();
  cmd->add_option("--max-length", o->max_length, "Truncate texts to this many tokens (default: 128, as the seed)")
      ->check(CLI::Range(2, 4096));
  cmd->add_option("--mode", o->mode, "latency (batch 1) or throughput (default: latency)")
      ->check(CLI::IsMember({"latency", "throughput"}));
  cmd->add_option("--batch-tokens", o->batch_tokens, "Throughput: padded-token budget per batch (default: 8192)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-batch", o->max_batch, "Throughput: texts per batch at most (default: 64)")->check(CLI::Range(1, 4096));
  cmd->add_option("--warmup", o->warmup, "Untimed requests (latency, default 10) or batches (throughput, default 2)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--runs", o->runs, "Timed passes over all texts (default: 5)")->check(CLI::Range(1, 100000));
  cmd->add_option("--limit", o->limit, "Use only the first N texts (default: all)");
  cmd->add_option("--predictions-out", o->predictions_out, "Write the argmax label id of each text, one per line (first run)");
  cmd->add_flag("--json", o->json, "Print one JSON object instead of a table");
  return [o] { return run_bench(*o); };
}

}  // namespace senti::cli
