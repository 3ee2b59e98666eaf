// Unit tests of the senti bench helpers: input reading, percentiles (numpy's definition), length buckets.
#include "cli/bench_support.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "senti/error.h"

namespace senti::cli::bench {
namespace {

std::filesystem::path write_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::path(testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(BenchReadTexts, JsonlTakesTheTextFieldAndSkipsBlankLines) {
  const auto path = write_file("bench_in.jsonl", "{\"label\": 1, \"text\": \"好\\n评\"}\n\n{\"text\": \"差\"}\r\n");
  EXPECT_EQ(read_texts(path, 0), (std::vector<std::string>{"好\n评", "差"}));
  EXPECT_EQ(read_texts(path, 1), (std::vector<std::string>{"好\n评"}));
}

TEST(BenchReadTexts, TxtIsOneTextPerLine) {
  const auto path = write_file("bench_in.txt", "a b\r\n\n  \nc\n");
  EXPECT_EQ(read_texts(path, 0), (std::vector<std::string>{"a b", "c"}));
}

TEST(BenchReadTexts, ErrorsNameTheFileAndLine) {
  const auto bad = write_file("bench_bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": 3}\n");
  try {
    read_texts(bad, 0);
    FAIL() << "no error";
  } catch (const InvalidInputError& e) {
    EXPECT_NE(std::string(e.what()).find("bench_bad.jsonl:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_texts(write_file("bench_empty.txt", "\n\n"), 0), InvalidInputError);
  EXPECT_THROW(read_texts("/nonexistent/texts.txt", 0), InvalidInputError);
}

TEST(BenchSummary, PercentilesInterpolateLikeNumpy) {
  // numpy.percentile([1..10], [50, 90, 99]) = 5.5, 9.1, 9.91
  std::vector<double> v;
  for (int i = 10; i >= 1; --i) v.push_back(i);
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 10u);
  EXPECT_DOUBLE_EQ(s.p50, 5.5);
  EXPECT_NEAR(s.p90, 9.1, 1e-12);
  EXPECT_NEAR(s.p99, 9.91, 1e-12);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(summarize({}).count, 0u);
}

TEST(BenchBuckets, SortedByLengthUnderTheTokenBudgetAndBatchCap) {
  const std::vector<std::size_t> lengths = {10, 3, 50, 3, 20, 100, 7};
  const auto batches = length_buckets(lengths, 60, 3);
  std::vector<std::size_t> seen;
  std::size_t previous_longest = 0;
  for (const auto& b : batches) {
    ASSERT_FALSE(b.empty());
    EXPECT_LE(b.size(), 3u);
    std::size_t longest = 0;
    for (const std::size_t i : b) {
      longest = std::max(longest, lengths[i]);
      seen.push_back(i);
    }
    // Padded size within budget, except a lone text longer than the budget.
    if (b.size() > 1) {
      EXPECT_LE(b.size() * longest, 60u);
    }
    EXPECT_GE(longest, previous_longest);
    previous_longest = longest;
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6}));
  // {3,3,7} is closed by the cap of 3 texts, {10,20} by the budget (3 x 50 > 60), 100 alone exceeds it.
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[0], (std::vector<std::size_t>{1, 3, 6}));
  EXPECT_EQ(batches[1], (std::vector<std::size_t>{0, 4}));
  EXPECT_EQ(batches[2], (std::vector<std::size_t>{2}));
  EXPECT_EQ(batches[3], (std::vector<std::size_t>{5}));
}

}  // namespace
}  // namespace senti::cli::bench
