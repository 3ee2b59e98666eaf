#include "serving/metrics.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace senti::serving {
namespace {

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string bound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string escape_label(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void render_histogram(std::ostringstream& out, const std::string& name, const std::string& labels,
                      const Histogram& h) {
  const auto snap = h.snapshot();
  std::uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < h.bounds().size(); ++i) {
    cumulative += snap.counts[i];
    out << name << "_bucket{" << labels << sep << "le=\"" << bound(h.bounds()[i]) << "\"} " << cumulative << "\n";
  }
  cumulative += snap.counts.back();
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << cumulative << "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out << name << "_sum" << braces << " " << number(snap.sum) << "\n";
  out << name << "_count" << braces << " " << snap.count << "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  std::lock_guard lock(mutex_);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mutex_);
  return Snapshot{counts_, sum_, count_};
}

Metrics::Metrics()
    : queue_(latency_buckets()),
      tokenization_(latency_buckets()),
      inference_(latency_buckets()),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      batch_tokens_({16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384}) {}

void Metrics::count_request(std::string_view endpoint, int status, std::string_view outcome, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(endpoint), status, std::string(outcome)}];
  auto it = durations_.find(std::string(endpoint));
  if (it == durations_.end()) it = durations_.try_emplace(std::string(endpoint), latency_buckets()).first;
  it->second.observe(seconds);
  if (status >= 400) ++errors_;
  request_seconds_ += seconds;
  ++request_count_;
}

void Metrics::observe_batch(std::size_t items, std::size_t tokens) {
  batch_size_.observe(static_cast<double>(items));
  batch_tokens_.observe(static_cast<double>(tokens));
  ++batches_;
  batch_items_ += items;
}

MetricsTotals Metrics::totals() const {
  std::lock_guard lock(mutex_);
  MetricsTotals t;
  t.requests = request_count_;
  t.errors = errors_;
  t.request_seconds = request_seconds_;
  t.texts = texts_.load();
  t.batches = batches_.load();
  t.batch_items = static_cast<double>(batch_items_.load());
  return t;
}

std::string Metrics::render() const {
  std::ostringstream out;
  {
    std::lock_guard lock(mutex_);
    out << "# HELP senti_requests_total HTTP requests by endpoint, status code and outcome.\n"
        << "# TYPE senti_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      const auto& [endpoint, status, outcome] = key;
      out << "senti_requests_total{endpoint=\"" << escape_label(endpoint) << "\",code=\"" << status
          << "\",outcome=\"" << escape_label(outcome) << "\"} " << count << "\n";
    }
    out << "# HELP senti_request_duration_seconds Time from a request read to its response, by endpoint.\n"
        << "# TYPE senti_request_duration_seconds histogram\n";
    for (const auto& [endpoint, h] : durations_)
      render_histogram(out, "senti_request_duration_seconds", "endpoint=\"" + escape_label(endpoint) + "\"", h);
  }
  out << "# HELP senti_texts_total Texts classified.\n# TYPE senti_texts_total counter\n"
      << "senti_texts_total " << texts_.load() << "\n";
  out << "# HELP senti_queue_duration_seconds Time a text waited in the batch queue.\n"
      << "# TYPE senti_queue_duration_seconds histogram\n";
  render_histogram(out, "senti_queue_duration_seconds", "", queue_);
  out << "# HELP senti_tokenization_duration_seconds Time to tokenize a request.\n"
      << "# TYPE senti_tokenization_duration_seconds histogram\n";
  render_histogram(out, "senti_tokenization_duration_seconds", "", tokenization_);
  out << "# HELP senti_inference_duration_seconds Model time of a batch.\n"
      << "# TYPE senti_inference_duration_seconds histogram\n";
  render_histogram(out, "senti_inference_duration_seconds", "", inference_);
  out << "# HELP senti_batch_size Texts per batch.\n# TYPE senti_batch_size histogram\n";
  render_histogram(out, "senti_batch_size", "", batch_size_);
  out << "# HELP senti_batch_tokens Tokens per batch.\n# TYPE senti_batch_tokens histogram\n";
  render_histogram(out, "senti_batch_tokens", "", batch_tokens_);
  out << "# HELP senti_queue_depth Texts waiting for the engine.\n# TYPE senti_queue_depth gauge\n"
      << "senti_queue_depth " << (queue_depth ? queue_depth() : 0) << "\n";
  out << "# HELP senti_requests_in_flight Prediction requests being served.\n# TYPE senti_requests_in_flight gauge\n"
      << "senti_requests_in_flight " << in_flight.load() << "\n";
  return out.str();
}

}  // namespace senti::serving
