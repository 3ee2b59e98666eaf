// Helpers for `senti bench`: reading benchmark texts, summary statistics, length-bucketed batching.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace senti::cli::bench {

// Texts from a .jsonl (the "text" field of each object), .csv (the "text" column) or .txt file (one
// text per line, blank lines skipped), read by RecordReader like eval and classify. At most `limit`
// texts when limit > 0. Throws InvalidInputError with the file
// and line on a malformed line, and when the file yields no text.
std::vector<std::string> read_texts(const std::filesystem::path& path, std::size_t limit);

struct Summary {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, min = 0, max = 0;
};

// Percentiles by linear interpolation between closest ranks (numpy's default), so Python and C++
// figures in the same report mean the same thing. Empty input gives an all-zero summary.
Summary summarize(std::vector<double> values);
double median(std::vector<double> values);
nlohmann::json to_json(const Summary& s);

// Batches of indices into `lengths`: indices sorted by length (stable), cut so that each batch holds
// at most max_batch sequences and its padded size (count x longest) stays within batch_tokens. A
// sequence longer than the budget gets a batch of its own.
std::vector<std::vector<std::size_t>> length_buckets(const std::vector<std::size_t>& lengths,
                                                     std::size_t batch_tokens, std::size_t max_batch);

}  // namespace senti::cli::bench
