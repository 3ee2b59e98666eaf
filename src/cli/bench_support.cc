#include "cli/bench_support.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cli/record_io.h"
#include "senti/error.h"

namespace senti::cli::bench {

std::vector<std::string> read_texts(const std::filesystem::path& path, std::size_t limit) {
  RecordReader reader(path, input_format_of(path), "text");
  std::vector<std::string> texts;
  InputRecord record;
  while ((limit == 0 || texts.size() < limit) && reader.next(record)) texts.push_back(std::move(record.text));
  if (texts.empty()) throw InvalidInputError("input file " + path.string() + " holds no text");
  return texts;
}

namespace {

// values must be sorted and non-empty; q in [0, 1].
double quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

}  // namespace

Summary summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = values.size();
  s.p50 = quantile(values, 0.50);
  s.p90 = quantile(values, 0.90);
  s.p99 = quantile(values, 0.99);
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  s.min = values.front();
  s.max = values.back();
  return s;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return quantile(values, 0.5);
}

nlohmann::json to_json(const Summary& s) {
  return {{"count", s.count}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99},
          {"mean", s.mean},   {"min", s.min}, {"max", s.max}};
}

std::vector<std::vector<std::size_t>> length_buckets(const std::vector<std::size_t>& lengths,
                                                     std::size_t batch_tokens, std::size_t max_batch) {
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::size_t> current;
  for (const std::size_t i : order) {
    // Sorted ascending: the newcomer is the longest, so the padded size is (count + 1) x its length.
    const bool full = current.size() >= max_batch || (current.size() + 1) * lengths[i] > batch_tokens;
    if (!current.empty() && full) {
      batches.push_back(std::move(current));
      current.clear();
    }
    current.push_back(i);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

}  // namespace senti::cli::bench
