// Prometheus metrics of the service, rendered in the text exposition format by GET /metrics.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace senti::serving {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative; last one is +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// Totals for the periodic log summary.
struct MetricsTotals {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;  // status >= 400
  std::uint64_t texts = 0;
  std::uint64_t batches = 0;
  double request_seconds = 0;
  double batch_items = 0;
};

class Metrics {
 public:
  Metrics();

  // One finished HTTP request. outcome: "success" or the error_type.
  void count_request(std::string_view endpoint, int status, std::string_view outcome, double seconds);
  void observe_texts(std::size_t n) { texts_ += n; }
  void observe_queue(double seconds) { queue_.observe(seconds); }
  void observe_tokenization(double seconds) { tokenization_.observe(seconds); }
  void observe_inference(double seconds) { inference_.observe(seconds); }
  void observe_batch(std::size_t items, std::size_t tokens);

  std::atomic<std::int64_t> in_flight{0};
  std::function<std::size_t()> queue_depth;

  std::string render() const;
  MetricsTotals totals() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, int, std::string>, std::uint64_t> requests_;
  std::map<std::string, Histogram> durations_;  // by endpoint
  std::uint64_t errors_ = 0;
  double request_seconds_ = 0;
  std::uint64_t request_count_ = 0;
  std::atomic<std::uint64_t> texts_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> batch_items_{0};
  Histogram queue_, tokenization_, inference_, batch_size_, batch_tokens_;
};

}  // namespace senti::serving
